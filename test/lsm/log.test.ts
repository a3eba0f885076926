import assert from "node:assert/strict";
import test from "ava";
import fc from "fast-check";
import { blockBytes, headerBytes, LogKind } from "../../src/lsm/log-format.js";
import { readLog } from "../../src/lsm/log-reader.js";
import { encodeLogHeader, LogEncoder, LogWriter } from "../../src/lsm/log-writer.js";
import { MemraftError } from "../../src/util/errors.js";
import { FaultFileSystem } from "../helpers/fault-fs.js";
import { runs } from "../helpers/property.js";

const expected = { kind: LogKind.wal, fileNumber: 7 };

/** A log image: header, then `groups` of records; each group promises everything before it was synced. */
function buildLog(
  groups: readonly (readonly Buffer[])[],
  syncedGroups = groups.length,
): { bytes: Buffer; groupEnds: number[] } {
  const encoder = new LogEncoder(0);
  const parts = [encoder.encode([encodeLogHeader(LogKind.wal, 7)], 0)];
  let size = parts[0]!.length;
  const groupEnds: number[] = [];
  groups.forEach((group, i) => {
    const synced = i < syncedGroups ? size : 0;
    const part = encoder.encode(group, synced);
    parts.push(part);
    size += part.length;
    groupEnds.push(size);
  });
  return { bytes: Buffer.concat(parts), groupEnds };
}

const record = fc.uint8Array({ maxLength: 3 * blockBytes }).map((bytes) => Buffer.from(bytes));
const groupsArbitrary = fc.array(fc.array(record, { minLength: 1, maxLength: 4 }), {
  minLength: 1,
  maxLength: 5,
});

test("records of any size, spanning blocks, read back in order", (t) => {
  fc.assert(
    fc.property(groupsArbitrary, (groups) => {
      const { bytes } = buildLog(groups);
      const contents = readLog(bytes, "000007.wal", expected);
      assert.equal(contents.tornTail, undefined);
      assert.deepEqual(
        contents.records.map((r) => r.toString("hex")),
        groups.flat().map((r) => r.toString("hex")),
      );
    }),
    { numRuns: runs(100) },
  );
  t.pass();
});

test("a log cut at any byte of its unsynced tail keeps exactly the whole records before the cut", (t) => {
  fc.assert(
    fc.property(groupsArbitrary, fc.double({ min: 0, max: 1, noNaN: true }), (groups, where) => {
      // Nothing after group 0 was promised synced: the cut may land anywhere after it.
      const { bytes, groupEnds } = buildLog(groups, 1);
      const cut = groupEnds[0]! + Math.floor(where * (bytes.length - groupEnds[0]!));
      const contents = readLog(bytes.subarray(0, cut), "000007.wal", expected);
      const whole = groups.flat();
      assert.deepEqual(
        contents.records.map((r) => r.toString("hex")),
        whole.slice(0, contents.records.length).map((r) => r.toString("hex")),
      );
      assert.ok(contents.records.length >= groups[0]!.length, "a synced record was lost");
      const tornTail = contents.tornTail;
      if (tornTail !== undefined)
        assert.ok(tornTail.droppedBytes > 0 && tornTail.droppedBytes <= cut);
    }),
    { numRuns: runs(200) },
  );
  t.pass();
});

test("garbage after the synced prefix is a torn tail, not corruption", (t) => {
  const groups = [[Buffer.from("synced")], [Buffer.alloc(100, 1), Buffer.alloc(100, 2)]];
  const { bytes, groupEnds } = buildLog(groups, 1);
  const damaged = Buffer.from(bytes);
  damaged.fill(0x5a, groupEnds[0]! + 10);
  const contents = readLog(damaged, "000007.wal", expected);
  t.deepEqual(
    contents.records.map((r) => r.toString()),
    ["synced"],
  );
  t.is(contents.tornTail?.offset, groupEnds[0]);
  t.is(contents.tornTail?.droppedBytes, bytes.length - groupEnds[0]!);
});

test("a flipped byte in a record that a later record promises synced is corruption, named by file and offset", (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.array(record, { minLength: 1, maxLength: 3 }), { minLength: 2, maxLength: 4 }),
      fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      (groups, where) => {
        const { bytes, groupEnds } = buildLog(groups);
        // Any byte before the last group's start is promised by the last group.
        const lastStart = groupEnds[groupEnds.length - 2]!;
        const position = Math.floor(where * lastStart);
        if (position % blockBytes > blockBytes - headerBytes) return; // block trailer padding carries no data
        const damaged = Buffer.from(bytes);
        damaged[position]! ^= 0x10;
        assert.throws(
          () => readLog(damaged, "db/000007.wal", expected),
          (error: unknown) => {
            assert.ok(MemraftError.is(error, "ERR_CORRUPTION"), String(error));
            assert.match(error.message, /db\/000007\.wal at offset \d+/);
            const offset = error.context.offset as number;
            // The defect is reported at the chunk holding the flipped byte (or the record it starts).
            assert.ok(
              offset <= position && position - offset < blockBytes + headerBytes,
              `${offset} vs ${position}`,
            );
            return true;
          },
        );
      },
    ),
    { numRuns: runs(200) },
  );
  t.pass();
});

test("a log of another kind or number is refused", (t) => {
  const { bytes } = buildLog([[Buffer.from("x")]]);
  t.throws(() => readLog(bytes, "f", { kind: LogKind.manifest, fileNumber: 7 }), {
    message: /log kind/,
  });
  t.throws(() => readLog(bytes, "f", { kind: LogKind.wal, fileNumber: 8 }), {
    message: /file number 7, expected 8/,
  });
});

test("the writer promises in each chunk what its last sync made durable", async (t) => {
  const fs = new FaultFileSystem();
  const writer = await LogWriter.create(fs, "000007.wal", LogKind.wal, 7);
  await writer.append([Buffer.from("a")]);
  await writer.sync();
  const synced = writer.size;
  await writer.append([Buffer.from("b")]);
  await writer.append([Buffer.from("c")]);
  const bytes = fs.contents("000007.wal");
  // The chunk of "c" starts where "b" ended; its header holds the promise.
  const cStart = bytes.length - headerBytes - 1;
  t.is(bytes.readUInt32LE(cStart + 7), synced);
  t.true(writer.hasUnsyncedRecords);
  t.true(bytes.length > synced);
  t.deepEqual(
    readLog(bytes, "f", expected).records.map((r) => r.toString()),
    ["a", "b", "c"],
  );
});

test("a synced marker promises the records before it, so damage in the last of them is corruption", async (t) => {
  const fs = new FaultFileSystem();
  const writer = await LogWriter.create(fs, "000007.wal", LogKind.wal, 7);
  await writer.append([Buffer.from("first"), Buffer.from("last")]);
  await writer.sync();
  await writer.appendMarker();
  await writer.appendMarker();
  const bytes = fs.contents("000007.wal");
  t.is(
    bytes.length,
    4 * headerBytes + 21 + 9,
    "a second marker with nothing new to promise is not written",
  );
  t.deepEqual(
    readLog(bytes, "f", expected).records.map((r) => r.toString()),
    ["first", "last"],
  );
  const damaged = Buffer.from(bytes);
  damaged[bytes.length - headerBytes - 2]! ^= 1;
  t.throws(() => readLog(damaged, "f", expected), { message: /checksum mismatch/ });
  const markerLost = bytes.subarray(0, bytes.length - headerBytes);
  const tornDamage = Buffer.from(markerLost);
  tornDamage[markerLost.length - 2]! ^= 1;
  t.not(
    readLog(tornDamage, "f", expected).tornTail,
    undefined,
    "without the marker the same damage reads as a torn tail",
  );
});
