import assert from "node:assert/strict";
import test from "ava";
import fc from "fast-check";
import { FormatDefect } from "../../src/lsm/corruption-error.js";
import { decodeEdit, encodeEdit, type VersionEdit } from "../../src/lsm/version-edit.js";
import { runs } from "../helpers/property.js";

const key = fc.string({
  unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)),
  maxLength: 30,
});
const editArbitrary: fc.Arbitrary<VersionEdit> = fc
  .record({
    logNumber: fc.option(fc.maxSafeNat(), { nil: undefined }),
    nextFileNumber: fc.option(fc.maxSafeNat(), { nil: undefined }),
    appliedIndex: fc.option(fc.maxSafeNat(), { nil: undefined }),
    compactPointers: fc.array(fc.record({ level: fc.nat(6), key })),
    deletedFiles: fc.array(fc.record({ level: fc.nat(6), number: fc.maxSafeNat() })),
    addedFiles: fc.array(
      fc
        .record({
          level: fc.nat(6),
          file: fc.record({
            number: fc.maxSafeNat(),
            fileBytes: fc.maxSafeNat(),
            entryCount: fc.nat(),
            deletionCount: fc.nat(),
            smallest: key,
            largest: key,
          }),
        })
        .map(({ level, file }) => ({
          level,
          file:
            file.smallest <= file.largest
              ? file
              : { ...file, smallest: file.largest, largest: file.smallest },
        })),
    ),
  })
  .map((edit) => {
    // fast-check records have no prototype; the decoder builds plain objects.
    const clean: VersionEdit = {
      compactPointers: edit.compactPointers.map((pointer) => ({ ...pointer })),
      deletedFiles: edit.deletedFiles.map((deleted) => ({ ...deleted })),
      addedFiles: edit.addedFiles.map(({ level, file }) => ({ level, file: { ...file } })),
    };
    if (edit.logNumber !== undefined) clean.logNumber = edit.logNumber;
    if (edit.nextFileNumber !== undefined) clean.nextFileNumber = edit.nextFileNumber;
    if (edit.appliedIndex !== undefined) clean.appliedIndex = edit.appliedIndex;
    return clean;
  });

test("a version edit decodes to what was encoded", (t) => {
  fc.assert(
    fc.property(editArbitrary, (edit) => {
      assert.deepEqual(decodeEdit(encodeEdit(edit)), edit);
    }),
    { numRuns: runs(500) },
  );
  t.pass();
});

test("a damaged edit decodes to an edit or a FormatDefect, nothing else", (t) => {
  fc.assert(
    fc.property(editArbitrary, fc.nat(), fc.nat(255), (edit, where, flip) => {
      const bytes = encodeEdit(edit);
      if (bytes.length === 0) return;
      bytes[where % bytes.length]! ^= flip;
      try {
        decodeEdit(bytes.subarray(0, bytes.length - (where % 3)));
      } catch (error) {
        assert.ok(error instanceof FormatDefect, String(error));
      }
    }),
    { numRuns: runs(500) },
  );
  t.pass();
});
