// kill -9 at random moments: a child process writes and reports every
// acknowledged operation; the parent kills it, reopens the engine, and checks
// that every acknowledged write is there (and every acknowledged delete took
// effect). A kill loses process memory only, not the page cache, so this
// tests what the engine buffers itself: with sync writes and without, an
// acknowledged write must survive. Without a WAL (the Raft mode) nothing is
// promised per write; the check is that the recovered data is exactly the
// writes up to the flushed applied index (never an index without its data).

import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import test from "ava";
import { LsmEngine } from "../../src/lsm/engine.js";
import { InlineExecutor } from "../../src/lsm/executor.js";
import { killValue } from "./fixtures/kill-values.js";

const long = process.env.MEMRAFT_LONG === "1";
const rounds = long ? 60 : 9;
const writer = fileURLToPath(new URL("./fixtures/kill-writer.js", import.meta.url));

interface Round {
  /** Puts acknowledged. */
  readonly puts: number[];
  /** Deletes acknowledged: deleted key -> the delete's operation number. */
  readonly deletes: Map<number, number>;
  /** Every put issued, acknowledged or not. */
  readonly issuedPuts: number[];
  /** Every delete issued: deleted key -> the delete's operation number. */
  readonly issuedDeletes: Map<number, number>;
}

/** Runs the writer, kills it `delayMs` after it starts writing, and reads its journal. */
async function runAndKill(
  directory: string,
  round: number,
  mode: string,
  delayMs: number,
): Promise<Round> {
  const journal = join(directory, `journal-${round}.txt`);
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [writer, directory, String(round), mode, journal], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stdout.once("data", () => setTimeout(() => child.kill("SIGKILL"), delayMs));
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on("error", reject);
    child.on("exit", (_code, signal) => {
      if (signal === "SIGKILL") resolve();
      else reject(new Error(`writer exited on its own (${signal}): ${stderr}`));
    });
  });
  const outcome: Round = { puts: [], deletes: new Map(), issuedPuts: [], issuedDeletes: new Map() };
  for (const line of readFileSync(journal, "latin1").split("\n")) {
    const [kind, a, b, c] = line.split(" ");
    if (kind === "p") outcome.puts.push(Number(a));
    else if (kind === "d") outcome.deletes.set(Number(a), Number(b));
    else if (kind === "i" && a === "p") outcome.issuedPuts.push(Number(b));
    // A key may be deleted twice: the first delete is the one that counts.
    else if (kind === "i" && a === "d" && !outcome.issuedDeletes.has(Number(b))) {
      outcome.issuedDeletes.set(Number(b), Number(c));
    }
  }
  return outcome;
}

for (const mode of ["sync", "nosync", "raft"]) {
  test(`kill -9 at random moments keeps every acknowledged write (${mode})`, async (t) => {
    const directory = mkdtempSync(join(tmpdir(), `memraft-kill9-${mode}-`));
    t.teardown(() => rmSync(directory, { recursive: true, force: true }));
    let acknowledged = 0;
    for (let round = 1; round <= rounds; round++) {
      const delayMs = 20 + Math.floor(Math.random() * 400);
      const { puts, deletes, issuedPuts, issuedDeletes } = await runAndKill(
        directory,
        round,
        mode,
        delayMs,
      );
      acknowledged += puts.length + deletes.size;
      const engine = await LsmEngine.open(directory, {
        wal: mode !== "raft",
        executor: new InlineExecutor(),
      });
      try {
        const lost: string[] = [];
        if (mode === "raft") {
          // Exactly the operations numbered up to the flushed applied index are there.
          const flushed = engine.flushedAppliedIndex;
          for (const n of issuedPuts) {
            const value = await engine.get(`${round}-${n}`);
            const deletedBy = issuedDeletes.get(n);
            const expectPresent =
              n <= flushed && !(deletedBy !== undefined && deletedBy <= flushed);
            if (expectPresent !== (value !== undefined))
              lost.push(`${round}-${n} (flushed ${flushed})`);
            if (value !== undefined && !value.equals(killValue(round, n)))
              lost.push(`${round}-${n} has a wrong value`);
          }
        } else {
          for (const n of puts) {
            const value = await engine.get(`${round}-${n}`);
            if (deletes.has(n)) {
              if (value !== undefined) lost.push(`${round}-${n} came back after its delete`);
            } else if (value === undefined) {
              // A delete in flight at the kill may or may not have happened.
              if (!issuedDeletes.has(n)) lost.push(`${round}-${n}`);
            } else if (!value.equals(killValue(round, n))) {
              lost.push(`${round}-${n} has a wrong value`);
            }
          }
        }
        t.deepEqual(
          lost,
          [],
          `round ${round}, killed after ${delayMs} ms, ${puts.length} puts acknowledged`,
        );
      } finally {
        await engine.close();
      }
    }
    t.log(`${rounds} kills, ${acknowledged} acknowledged operations checked`);
  });
}
