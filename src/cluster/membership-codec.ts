// A group's Raft configuration as the member stores it with its applied
// state (store/state-machine.ts keeps it opaque), so a restart resumes from
// the configuration the data is at, not the one the group started with.
//
//   u8 version, then three lists (voters, learners, outgoing voters of a
//   joint configuration), each u32 count, u32 ids...

import type { ConfState } from "../raft/types.js";
import { MemraftError } from "../util/errors.js";

const version = 1;

export function encodeMembership(conf: ConfState): Buffer {
  const lists = [conf.voters, conf.learners, conf.votersOutgoing];
  const bytes = Buffer.alloc(1 + lists.reduce((sum, list) => sum + 4 + 4 * list.length, 0));
  bytes[0] = version;
  let at = 1;
  for (const list of lists) {
    at = bytes.writeUInt32LE(list.length, at);
    for (const id of list) at = bytes.writeUInt32LE(id, at);
  }
  return bytes;
}

export function decodeMembership(bytes: Buffer, source: string): ConfState {
  const corrupt = (offset: number, why: string) =>
    new MemraftError("ERR_CORRUPTION", `${source}: membership record at offset ${offset}: ${why}`, {
      file: source,
      offset,
    });
  if (bytes[0] !== version) throw corrupt(0, `version ${bytes[0]}, this build reads ${version}`);
  let at = 1;
  const list = (): number[] => {
    if (at + 4 > bytes.length) throw corrupt(at, "ends early");
    const count = bytes.readUInt32LE(at);
    at += 4;
    if (at + 4 * count > bytes.length) throw corrupt(at, `${count} ids do not fit`);
    const ids: number[] = [];
    for (let i = 0; i < count; i++, at += 4) ids.push(bytes.readUInt32LE(at));
    return ids;
  };
  const voters = list();
  const learners = list();
  const votersOutgoing = list();
  if (at !== bytes.length) throw corrupt(at, `${bytes.length - at} bytes left over`);
  return { voters, learners, votersOutgoing };
}
