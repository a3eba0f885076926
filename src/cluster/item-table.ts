// A group's item table on its LSM engine: the state machine's writes become
// write batches carrying the log index they apply (the engine records, with
// each flush, the index its files cover); reads go to the engine.

import { type LsmEngine, WriteBatch } from "../lsm/index.js";
import type { ItemTable, TableChanges } from "../store/state-machine.js";
import type { MaybePromise } from "../store/store.js";
import { MemraftError } from "../util/errors.js";

export class LsmItemTable implements ItemTable {
  constructor(private readonly engine: LsmEngine) {}

  get(key: string): MaybePromise<Buffer | undefined> {
    return this.engine.get(key);
  }

  /**
   * Without a write-ahead log the engine applies a batch to its memtable at
   * once. It may refuse one for backpressure (ERR_QUEUE_FULL) before
   * applying anything; an applied entry cannot be skipped, so the write
   * waits until the engine takes writes again.
   */
  async write(appliedIndex: number, changes: TableChanges): Promise<void> {
    const batch = new WriteBatch();
    batch.appliedIndex = appliedIndex;
    for (const [key, value] of changes) {
      if (value === undefined) batch.delete(key);
      else batch.put(key, value);
    }
    for (;;) {
      try {
        await this.engine.write(batch);
        return;
      } catch (error) {
        if (!MemraftError.is(error, "ERR_QUEUE_FULL")) throw error;
        await this.engine.whenWritable();
      }
    }
  }
}
