// Runs a byte script against a server and normalises the reply so that two
// servers' replies can be compared: cas uniques become their order of first
// appearance (c#1, c#2, …), the version text is dropped, and times that tick
// (meta t and l, me exp and la) are compared within one second.

import { RawClient } from "../../helpers/raw-client.js";

export type Bytes = string | Buffer;

/** One step: sent, then the script waits until the server has answered it. */
export type Step =
  | Bytes
  | { readonly pieces: readonly Bytes[]; readonly pauseMs?: number }
  | ((repliesSoFar: string) => Bytes);

export interface Script {
  readonly name: string;
  readonly steps: readonly Step[];
  /** The server is expected to close the connection after the last step. */
  readonly closes?: boolean;
}

/**
 * Sent after each step; its reply marks the end of the step's replies. A miss
 * with a fresh opaque, so that a script's own replies cannot look like it.
 */
let sentinelCount = 0;
const sentinelKey = "memraft_differential_sentinel";

/** The raw reply bytes (latin1) a server gives to a script. */
export async function runScript(port: number, script: Script, host = "127.0.0.1"): Promise<string> {
  const client = await RawClient.connect(port, host);
  try {
    await client.request("flush_all\r\n");
    const start = client.bytes.length;
    for (const [index, step] of script.steps.entries()) {
      const last = index === script.steps.length - 1;
      const repliesSoFar = client.bytes.subarray(start).toString("latin1");
      if (typeof step === "function") await client.write(step(repliesSoFar));
      else if (typeof step === "string" || Buffer.isBuffer(step)) await client.write(step);
      else await client.writePieces(step.pieces, step.pauseMs);
      if (last && script.closes === true) {
        await client.closedByServer();
        break;
      }
      const before = client.bytes.length;
      const opaque = `O${++sentinelCount}`;
      const sentinelReply = Buffer.from(`EN ${opaque}\r\n`, "latin1");
      await client.write(`mg ${sentinelKey} ${opaque}\r\n`);
      await client.until(
        (received) =>
          received.length >= before + sentinelReply.length &&
          received.subarray(received.length - sentinelReply.length).equals(sentinelReply),
      );
    }
    const reply = client.bytes.subarray(start).toString("latin1");
    return script.closes === true ? `${reply}[closed]` : reply;
  } finally {
    client.close();
  }
}

export interface Normalized {
  readonly text: string;
  /** Values that tick with the clock, compared within one second. */
  readonly ticking: readonly number[];
}

const metaLine = /^(HD|VA \d+|EN|NF|NS|EX)( [^\r\n]*)?$/;
const sentinelLine = /^EN O\d+$/;

export function normalize(reply: string): Normalized {
  const casIds = new Map<string, number>();
  const casId = (cas: string) => {
    let id = casIds.get(cas);
    if (id === undefined) {
      id = casIds.size + 1;
      casIds.set(cas, id);
    }
    return `#${id}`;
  };
  const ticking: number[] = [];
  const tick = (value: string) => {
    ticking.push(Number(value));
    return "~";
  };
  const lines = reply.split("\r\n").map((line) => {
    if (line.startsWith("VERSION ")) return "VERSION <version>";
    if (sentinelLine.test(line)) return "EN <sentinel>";
    const value = /^VALUE (\S+) (\d+) (\d+) (\d+)$/.exec(line);
    if (value !== null) return `VALUE ${value[1]} ${value[2]} ${value[3]} ${casId(value[4]!)}`;
    if (metaLine.test(line)) {
      return line
        .replace(/ c(\d+)/g, (_m, cas: string) => ` c${casId(cas)}`)
        .replace(
          / ([tl])(\d+)/g,
          (_m, flag: string, seconds: string) => ` ${flag}${tick(seconds)}`,
        );
    }
    if (line.startsWith("ME ")) {
      return line
        .replace(/ exp=(-?\d+)/, (_m, exp: string) => ` exp=${exp === "-1" ? "-1" : tick(exp)}`)
        .replace(/ la=(\d+)/, (_m, la: string) => ` la=${tick(la)}`)
        .replace(/ cas=(\d+)/, (_m, cas: string) => ` cas=${casId(cas)}`);
    }
    return line;
  });
  return { text: lines.join("\r\n"), ticking };
}

/** Undefined when the replies agree; otherwise why not. */
export function compareReplies(expected: string, actual: string): string | undefined {
  const a = normalize(expected);
  const b = normalize(actual);
  if (a.text !== b.text) {
    return `replies differ\nmemcached: ${JSON.stringify(shorten(a.text))}\nmemraft:   ${JSON.stringify(shorten(b.text))}`;
  }
  for (let i = 0; i < a.ticking.length; i++) {
    if (Math.abs(a.ticking[i]! - b.ticking[i]!) > 1) {
      return `a time differs by more than a second: memcached ${a.ticking[i]}, memraft ${b.ticking[i]}`;
    }
  }
  return undefined;
}

function shorten(text: string): string {
  return text.length <= 2000
    ? text
    : `${text.slice(0, 1000)}…(${text.length} chars)…${text.slice(-500)}`;
}
