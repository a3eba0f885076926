// One node of the idle-groups benchmark (bench/sections/raft-idle.ts), run
// as a child process so that its CPU time and system calls are its own.
// Hosts `groups` three-voter groups over TCP with a real disk log, campaigns
// for every third of them, and answers the parent's "sample" requests with
// its counters.
//
// argv: nodeId ports(comma-separated, node 1 first) groupCount coalesce(0|1) quiesce(0|1) tickMs directory

import { join } from "node:path";
import { NodeFileSystem } from "../src/fs/node-file-system.js";
import { RaftLogStorage } from "../src/raft/log-storage/log-storage.js";
import { silentRaftLogger } from "../src/raft/logger.js";
import { startNode } from "../src/raft/node-host.js";
import { Prng } from "../src/raft/prng.js";
import { RawNode } from "../src/raft/raw-node.js";
import type { PeerAddress } from "../src/raft/transport/tcp-transport.js";
import { silentLogger } from "../src/util/logger.js";

export interface IdleSample {
  readonly cpuMicros: number;
  readonly sentBytes: number;
  readonly socketWrites: number;
  readonly frames: number;
  readonly readies: number;
  readonly leading: number;
  /** Members of this node that are quiet (Raft.quiesced). */
  readonly quiet: number;
  /** Quiet members woken because their leader's node seemed down. */
  readonly detectorWakes: number;
}

const [nodeId, , groupCount, coalesce, quiesce, tickMs] = process.argv.slice(2, 8).map(Number) as [
  number,
  number,
  number,
  number,
  number,
  number,
];
const ports = process.argv[3]!.split(",").map(Number);
const directory = process.argv[8]!;

let readies = 0;
const ready = RawNode.prototype.ready;
RawNode.prototype.ready = function countedReady(this: RawNode) {
  readies++;
  return ready.call(this);
};
let detectorWakes = 0;
const wake = RawNode.prototype.wake;
RawNode.prototype.wake = function countedWake(this: RawNode) {
  detectorWakes++;
  wake.call(this);
};

const addresses = new Map<number, PeerAddress>(
  [1, 2, 3].map((id) => [id, { host: `127.0.0.${id}`, port: ports[id - 1]! }]),
);
const storage = await RaftLogStorage.open(
  new NodeFileSystem(),
  join(directory, `node-${nodeId}`, "raft-log"),
);
const groupIds = Array.from({ length: groupCount }, (_, i) => i + 1);
const { host, transport } = await startNode({
  nodeId,
  storage,
  addresses,
  groups: groupIds.map((groupId) => ({
    groupId,
    config: {
      random: new Prng(nodeId * 100_003 + groupId),
      logger: silentRaftLogger,
      electionTicks: 20,
      heartbeatTicks: 2,
      quiesce: quiesce === 1,
    },
    bootstrap: { voters: [1, 2, 3], learners: [] },
    apply: () => {},
  })),
  tickMs,
  logger: silentLogger,
  transportOptions: { coalesceHeartbeats: coalesce === 1 },
});
const mine = groupIds.filter((groupId) => groupId % 3 === nodeId - 1);
setTimeout(() => {
  for (const groupId of mine) host.group(groupId)!.campaign();
}, 500);

function sample(): IdleSample {
  const cpu = process.cpuUsage();
  return {
    cpuMicros: cpu.user + cpu.system,
    sentBytes: transport.sentBytes,
    socketWrites: transport.socketWrites,
    frames: transport.sentFrames,
    readies,
    leading: groupIds.filter((groupId) => host.group(groupId)!.raft.role === "leader").length,
    quiet: groupIds.filter((groupId) => host.group(groupId)!.quiesced).length,
    detectorWakes,
  };
}

process.on("message", (request: string) => {
  if (request === "sample") process.send!(sample());
  if (request === "stop") {
    host.stop();
    void transport
      .close()
      .then(() => storage.close())
      .then(() => process.exit(0));
  }
});
process.send!("started");
