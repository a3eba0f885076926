// Golden script tests in the style of etcd-io/raft's datadriven interaction
// tests: each test/raft/testdata/*.txt is a script of commands, each
// followed by "----" and the expected output (every message delivered,
// every log line, requested state). UPDATE_GOLDEN=1 rewrites the expected
// output; read the diff before committing it.
//
// Commands:
//   add-nodes <n> [pre-vote=false] [check-quorum=false] [read-mode=lease] [quiesce=false]
//     [snapshot-chunk=<bytes>]
//   campaign <id> | tick <id> [count] | stabilize | process <id>... | deliver
//   propose <id> <text> | propose-conf-change <id> [add-voter|add-learner|remove <node>]...
//     (one entry of every change listed; none: leave a joint configuration)
//   add-joiner <id> (a new empty member for the group)
//   read-index <id> <context> | transfer-leadership <from> <to>
//   isolate <id> | partition <ids> <ids> | heal | stop <id> | restart <id>
//   snapshot-compact <id> | status <id> (a leader also lists its peers) | log <id>
//   applied <id> | read-states <id> | wake <id> (as the owner does when the leader's node is down)

import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import test from "ava";
import { type ConfChange, ConfChangeType, describeConfState } from "../../src/raft/conf-change.js";
import { MemraftError } from "../../src/util/errors.js";
import { Cluster } from "./cluster.js";

const testdata = join(dirname(fileURLToPath(import.meta.url)), "../../../test/raft/testdata");

interface Block {
  readonly command: string;
  readonly expected: string;
}

function parseScript(text: string): Block[] {
  const blocks: Block[] = [];
  const lines = text.split("\n");
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    if (line.trim() === "" || line.startsWith("#")) {
      i++;
      continue;
    }
    if (lines[i + 1] !== "----")
      throw new Error(`script line ${i + 1}: expected ---- after "${line}"`);
    i += 2;
    const output: string[] = [];
    while (i < lines.length && lines[i] !== "") output.push(lines[i++]!);
    blocks.push({ command: line, expected: output.join("\n") });
  }
  return blocks;
}

const changeTypes: Record<string, ConfChangeType | undefined> = {
  "add-voter": ConfChangeType.addVoter,
  "add-learner": ConfChangeType.addLearner,
  remove: ConfChangeType.removeNode,
};

class Interpreter {
  cluster: Cluster | undefined;

  run(command: string): string {
    const [name, ...args] = command.trim().split(/\s+/);
    const c = () => {
      if (this.cluster === undefined) throw new Error("add-nodes first");
      return this.cluster;
    };
    const id = (at = 0) => Number(args[at]);
    const before = this.cluster?.lines.length ?? 0;
    let extra: string[] = [];
    try {
      switch (name) {
        case "add-nodes": {
          const options = Object.fromEntries(
            args.slice(1).map((a) => a.split("=") as [string, string]),
          );
          this.cluster = Cluster.of(id(), {
            preVote: options["pre-vote"] !== "false",
            checkQuorum: options["check-quorum"] !== "false",
            readMode: options["read-mode"] === "lease" ? "lease" : "safe",
            quiesce: options["quiesce"] !== "false",
            ...(options["snapshot-chunk"]
              ? { snapshotChunkBytes: Number(options["snapshot-chunk"]) }
              : {}),
          });
          break;
        }
        case "wake":
          c().node(id()).raw.wake();
          break;
        case "campaign":
          c().node(id()).raw.campaign();
          break;
        case "tick":
          c().tick(id(), args[1] === undefined ? 1 : Number(args[1]));
          break;
        case "stabilize":
          c().stabilize();
          break;
        case "process":
          c().process(args.map(Number));
          break;
        case "deliver":
          c().deliver();
          break;
        case "propose":
          extra = [`index ${c().propose(id(), args[1]!)}`];
          break;
        case "propose-conf-change": {
          const changes: ConfChange[] = [];
          for (let at = 1; at < args.length; at += 2) {
            const type = changeTypes[args[at]!];
            if (type === undefined) throw new Error(`unknown change ${args[at]}`);
            changes.push({ type, nodeId: id(at + 1) });
          }
          extra = [`index ${c().node(id()).raw.proposeConfChange(changes)}`];
          break;
        }
        case "read-index":
          c().node(id()).raw.readIndex(id(1));
          break;
        case "transfer-leadership":
          c().node(id()).raw.transferLeadership(id(1));
          break;
        case "isolate":
          c().isolate(id());
          break;
        case "partition":
          c().partition(...args.map((side) => side.split(",").map(Number)));
          break;
        case "heal":
          c().heal();
          break;
        case "stop":
          c().stop(id());
          break;
        case "restart":
          c().restart(id());
          break;
        case "snapshot-compact": {
          const raw = c().node(id()).raw;
          const applied = raw.raft.log.applied;
          raw.createSnapshot(applied, new TextEncoder().encode(`state@${applied}`));
          raw.compact(applied);
          extra = [`snapshot and compact at ${applied}`];
          break;
        }
        case "status": {
          const s = c().node(id()).raw.status();
          extra = [
            `${s.id} ${s.role} term=${s.hardState.term} vote=${s.hardState.vote} lead=${s.lead} commit=${s.hardState.commit} applied=${s.applied} first=${s.firstIndex} last=${s.lastIndex} ${describeConfState(s.conf)}${s.quiesced ? " quiet" : ""}`,
            ...(s.peers ?? []).map(
              (p) =>
                `  ${p.id} ${p.membership} ${p.state} match=${p.match} next=${p.next}${p.state === "snapshot" ? ` snapshot=${p.snapshotIndex}+${p.snapshotOffset}` : ""}`,
            ),
          ];
          break;
        }
        case "add-joiner":
          c().addNode(id(), { join: true });
          break;
        case "log":
          extra = c()
            .raft(id())
            .log.entries.map(
              (e) =>
                `${e.index}/${e.term} ${e.type === 1 ? "conf" : e.data.length === 0 ? "noop" : new TextDecoder().decode(e.data)}`,
            );
          break;
        case "applied":
          extra = [`[${c().appliedTexts(id()).join(" ")}]`];
          break;
        case "read-states":
          extra = c()
            .node(id())
            .readStates.map((r) => `context=${r.context} index=${r.index}`);
          break;
        default:
          throw new Error(`unknown command ${name}`);
      }
    } catch (error) {
      if (!MemraftError.is(error)) throw error;
      extra = [`error: ${error.code} ${error.message}`];
    }
    const output = [...(this.cluster?.lines.slice(before) ?? []), ...extra];
    return output.length === 0 ? "ok" : output.join("\n");
  }
}

const files = readdirSync(testdata)
  .filter((file) => file.endsWith(".txt"))
  .sort();

for (const file of files) {
  test(`script ${file}`, (t) => {
    const path = join(testdata, file);
    const blocks = parseScript(readFileSync(path, "utf8"));
    const interpreter = new Interpreter();
    const actual = blocks.map((block) => ({
      command: block.command,
      output: interpreter.run(block.command),
    }));
    const render = (items: { command: string; output: string }[]) =>
      items.map((b) => `${b.command}\n----\n${b.output}\n`).join("\n");
    const rendered = render(actual);
    if (process.env["UPDATE_GOLDEN"] === "1") {
      writeFileSync(path, rendered);
      t.pass();
      return;
    }
    t.is(rendered, render(blocks.map((b) => ({ command: b.command, output: b.expected }))));
  });
}

test("the golden scripts are present", (t) => {
  t.true(files.length >= 4, `found ${files.length} scripts in ${testdata}`);
});
