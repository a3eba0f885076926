// Crash tests on the fault file system: what a power loss may leave behind.
// Every synced write must be there after reopen, nothing may appear half
// written, and the recovered state must be a prefix of the writes (no holes).

import test from "ava";
import { FaultFileSystem, type TearMode } from "../helpers/fault-fs.js";
import { contents, openSmall, seededRandom, valueFor } from "./engine-helpers.js";

test("a synced write in a new log brings back the unsynced writes of the log before it (no holes)", async (t) => {
  for (const mode of ["drop", "torn", "garbage"] as TearMode[]) {
    const fs = new FaultFileSystem();
    const engine = await openSmall(fs.processView(), {
      memtableBytes: 1024,
      immutableMemtablesMax: 3,
    });
    // Unsynced writes fill the memtable; the next group rotates to a new log.
    let i = 0;
    while (engine.stats().immutableMemtables === 0) {
      await engine.put(`k${String(i).padStart(3, "0")}`, valueFor("k", i));
      i++;
    }
    await engine.put("synced", Buffer.from("yes"), { sync: true });
    fs.crash({ mode, random: seededRandom(i) });
    const recovered = await contents(await openSmall(fs.processView()));
    t.is(recovered.get("synced"), "yes", mode);
    for (let j = 0; j < i; j++)
      t.true(recovered.has(`k${String(j).padStart(3, "0")}`), `${mode}: k${j} lost`);
  }
});
