// The small records a node keeps about itself (identity, hosted groups) and
// with its data (a group's configuration): they round-trip, and damage is
// reported with the file and offset, never read as something else.

import test from "ava";
import { decodeCheckedJson, encodeCheckedJson } from "../../src/cluster/checked-json.js";
import { readIdentity, writeIdentity } from "../../src/cluster/cluster-identity.js";
import { HostedGroups } from "../../src/cluster/hosted-groups.js";
import { decodeMembership, encodeMembership } from "../../src/cluster/membership-codec.js";
import { MemraftError } from "../../src/util/errors.js";
import { FaultFileSystem } from "../helpers/fault-fs.js";

const kind = { magic: 0x4d525454, version: 3, name: "test record" };

test("a checked record round-trips, and any damage is named with its offset", (t) => {
  const bytes = encodeCheckedJson(kind, { a: [1, "two"] });
  t.deepEqual(decodeCheckedJson(kind, bytes, "f"), { a: [1, "two"] });
  const damaged = (at: number) => {
    const copy = Buffer.from(bytes);
    copy[at]! ^= 0x40;
    return copy;
  };
  const corruption = (input: Buffer, pattern: RegExp) => {
    const error = t.throws(() => decodeCheckedJson(kind, input, "f"));
    t.true(MemraftError.is(error, "ERR_CORRUPTION"), String(error));
    t.regex(error!.message, pattern);
  };
  corruption(damaged(0), /^f: test record at offset 0: wrong magic/);
  corruption(damaged(4), /offset 4: format version 67, this build reads 3/);
  corruption(damaged(12), /checksum mismatch/);
  corruption(bytes.subarray(0, bytes.length - 1), /length \d+ does not match/);
  corruption(Buffer.alloc(3), /only 3 bytes/);
});

test("hosted groups survive a crash after each change, and a drop in progress is remembered", async (t) => {
  const fs = new FaultFileSystem();
  const hosted = await HostedGroups.load(fs.processView(), "/data");
  t.true(hosted.isBlank);
  await hosted.add([
    { groupId: 3, bootstrapVoters: [7, 8, 9] },
    { groupId: 1, bootstrapVoters: [] },
  ]);
  await hosted.markDropping(3);
  fs.crash({ mode: "garbage", random: () => 0.5 });
  const reloaded = await HostedGroups.load(fs, "/data");
  t.deepEqual(reloaded.list(), [{ groupId: 1, bootstrapVoters: [] }]);
  t.deepEqual(reloaded.dropping(), [3]);
  t.false(reloaded.isBlank);
  await reloaded.dropped(3);
  await reloaded.add([{ groupId: 3, bootstrapVoters: [] }]);
  t.true(reloaded.has(3));
});

test("a node's identity is kept, and a damaged one refuses to load", async (t) => {
  const fs = new FaultFileSystem();
  const identity = {
    clusterName: "demo",
    nodeId: "n2",
    origin: "founding" as const,
    foundingDigest: "0123456789abcdef",
    foundingNodes: ["n1", "n2", "n3"],
    settled: true,
  };
  t.is(await readIdentity(fs, "/data"), undefined);
  await writeIdentity(fs, "/data", identity);
  t.deepEqual(await readIdentity(fs, "/data"), identity);
  const bytes = await fs.readFile("/data/meta/identity");
  bytes[bytes.length - 1]! ^= 1;
  const file = await fs.create("/data/meta/identity");
  await file.append(bytes);
  await file.sync();
  await file.close();
  const error = await t.throwsAsync(readIdentity(fs, "/data"));
  t.regex(error!.message, /\/data\/meta\/identity: node identity at offset \d+: checksum mismatch/);
});

test("a group's configuration record round-trips, joint ones included, and rejects damage", (t) => {
  const joint = { voters: [1, 4, 9], learners: [12], votersOutgoing: [1, 2, 9] };
  t.deepEqual(decodeMembership(encodeMembership(joint), "g"), joint);
  const plain = { voters: [5], learners: [], votersOutgoing: [] };
  t.deepEqual(decodeMembership(encodeMembership(plain), "g"), plain);
  const bytes = encodeMembership(joint);
  t.throws(() => decodeMembership(bytes.subarray(0, bytes.length - 2), "g"), {
    message: /g: membership record at offset \d+: /,
  });
  t.throws(() => decodeMembership(Buffer.concat([bytes, Buffer.alloc(1)]), "g"), {
    message: /1 bytes left over/,
  });
  const wrongVersion = Buffer.from(bytes);
  wrongVersion[0] = 9;
  t.throws(() => decodeMembership(wrongVersion, "g"), { message: /version 9/ });
});
