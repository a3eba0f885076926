import assert from "node:assert/strict";
import test from "ava";
import fc from "fast-check";
import { BlockCache } from "../../src/lsm/block-cache.js";
import { found } from "../../src/lsm/block-reader.js";
import { bloomHash } from "../../src/lsm/bloom.js";
import { CorruptionError } from "../../src/lsm/corruption-error.js";
import { EntryKind } from "../../src/lsm/entry-kind.js";
import { SstBuilder } from "../../src/lsm/sst-builder.js";
import { SstReader } from "../../src/lsm/sst-reader.js";
import { FaultFileSystem } from "../helpers/fault-fs.js";
import { runs } from "../helpers/property.js";
import { openTableBytes } from "./sst-helpers.js";

const table = { blockBytes: 256, blockRestartInterval: 4, bloomBitsPerKey: 10 };
const noCloseErrors = (error: unknown): void => {
  throw error;
};

function buildTable(keys: readonly string[]): Uint8Array {
  const builder = new SstBuilder(table, 1024);
  for (const key of keys) {
    const bytes = Buffer.from(key, "latin1");
    const value = Buffer.from(`value of ${key}`);
    const deleted = key.endsWith("d");
    builder.add(
      bytes,
      0,
      bytes.length,
      deleted ? EntryKind.deletion : EntryKind.value,
      value,
      0,
      value.length,
    );
  }
  return builder.finish().bytes;
}

function openTable(bytes: Uint8Array): Promise<SstReader> {
  return openTableBytes(new FaultFileSystem(), 1, bytes);
}

/** Looks a key up the way the engine does: filter, index, block. */
async function lookup(reader: SstReader, key: string): Promise<string | null | undefined> {
  const bytes = Buffer.from(key, "latin1");
  if (!reader.mayContain(bloomHash(bytes, 0, bytes.length))) return undefined;
  const ordinal = reader.findBlock(bytes);
  if (ordinal < 0) return undefined;
  const block = reader.cachedBlock(ordinal) ?? (await reader.readBlock(ordinal));
  if (!block.find(bytes, 0, bytes.length)) return undefined;
  if (found.kind === EntryKind.deletion) return null;
  return Buffer.from(block.data.subarray(found.valueStart, found.valueEnd)).toString();
}

const keysArbitrary = fc
  .uniqueArray(
    fc.string({
      unit: fc.integer({ min: 0x20, max: 0xff }).map((c) => String.fromCharCode(c)),
      minLength: 1,
      maxLength: 20,
    }),
    {
      minLength: 1,
      maxLength: 300,
    },
  )
  .map((keys) => keys.sort());

test("an SST answers every key it holds, deletions included, and none it does not", async (t) => {
  await fc.assert(
    fc.asyncProperty(
      keysArbitrary,
      fc.array(fc.string({ maxLength: 20 }), { maxLength: 30 }),
      async (keys, probes) => {
        const reader = await openTable(buildTable(keys));
        assert.equal(reader.properties.entryCount, keys.length);
        assert.equal(Buffer.from(reader.properties.smallest).toString("latin1"), keys[0]);
        assert.equal(
          Buffer.from(reader.properties.largest).toString("latin1"),
          keys[keys.length - 1],
        );
        for (const key of keys) {
          assert.equal(await lookup(reader, key), key.endsWith("d") ? null : `value of ${key}`);
        }
        const present = new Set(keys);
        for (const probe of probes)
          if (!present.has(probe)) assert.equal(await lookup(reader, probe), undefined);
      },
    ),
    { numRuns: runs(100) },
  );
  t.pass();
});

test("a flipped byte anywhere in an SST is reported with the file and an offset, never served", async (t) => {
  const keys = Array.from({ length: 40 }, (_, i) => `key-${String(i).padStart(3, "0")}`);
  const bytes = buildTable(keys);
  for (let position = 0; position < bytes.length; position++) {
    const damaged = Uint8Array.from(bytes);
    damaged[position]! ^= 0x04;
    let error: unknown;
    try {
      const reader = await openTable(damaged);
      for (const key of keys) assert.equal(await lookup(reader, key), `value of ${key}`);
    } catch (caught) {
      error = caught;
    }
    t.true(error instanceof CorruptionError, `byte ${position}: ${String(error)}`);
    const corruption = error as CorruptionError;
    t.is(corruption.file, "000001.sst");
    t.true(
      corruption.offset >= 0 && corruption.offset <= bytes.length,
      `byte ${position}: offset ${corruption.offset}`,
    );
  }
});

test("an SST shorter or longer than the manifest says is refused", async (t) => {
  const bytes = buildTable(["a", "b"]);
  const fs = new FaultFileSystem();
  const file = await fs.create("000001.sst");
  await file.append(Buffer.from(bytes));
  await t.throwsAsync(
    SstReader.open(fs, "000001.sst", 1, bytes.length + 1, new BlockCache(1 << 20), noCloseErrors),
    {
      instanceOf: CorruptionError,
      message: /the manifest says/,
    },
  );
});
