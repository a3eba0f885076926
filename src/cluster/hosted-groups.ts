// The groups this node hosts, kept in <data-dir>/meta/groups so that a
// restart reopens exactly them. A group is recorded before its member is
// created, and a group being dropped is marked so before its data goes: a
// crash in between leaves either a group to reopen or a drop to finish,
// never data nobody owns or an owner without data.
//
// A group recorded with bootstrap voters was created with the cluster (its
// members start from that configuration); one with none joined later and
// starts empty, learning everything from the leader.

import { makeDirectoryDurably, writeFileDurably } from "../fs/durable-file.js";
import { type FileSystem, joinPath } from "../fs/file-system.js";
import type { GroupId, NodeId } from "../raft/types.js";
import { MemraftError } from "../util/errors.js";
import { decodeCheckedJson, encodeCheckedJson, type RecordKind } from "./checked-json.js";

export interface HostedGroup {
  readonly groupId: GroupId;
  /** The configuration the group was created with; empty for a replica that joined later. */
  readonly bootstrapVoters: readonly NodeId[];
}

const recordKind: RecordKind = { magic: 0x4d524847, version: 1, name: "hosted groups" };

interface Contents {
  readonly groups: HostedGroup[];
  readonly dropping: GroupId[];
}

export class HostedGroups {
  private constructor(
    private readonly fs: FileSystem,
    private readonly path: string,
    private contents: Contents,
  ) {}

  static async load(fs: FileSystem, dataDir: string): Promise<HostedGroups> {
    const directory = joinPath(dataDir, "meta");
    await makeDirectoryDurably(fs, directory);
    const path = joinPath(directory, "groups");
    if (!(await fs.exists(path))) return new HostedGroups(fs, path, { groups: [], dropping: [] });
    return new HostedGroups(
      fs,
      path,
      parse(decodeCheckedJson(recordKind, await fs.readFile(path), path), path),
    );
  }

  /** Whether this node's data directory has recorded anything yet (a blank node has not). */
  get isBlank(): boolean {
    return this.contents.groups.length === 0 && this.contents.dropping.length === 0;
  }

  list(): readonly HostedGroup[] {
    return this.contents.groups;
  }

  /** Groups whose drop a crash interrupted: their leftovers must go before anything else. */
  dropping(): readonly GroupId[] {
    return this.contents.dropping;
  }

  has(groupId: GroupId): boolean {
    return this.contents.groups.some((group) => group.groupId === groupId);
  }

  /** Records groups not yet recorded, in one durable write. */
  async add(groups: readonly HostedGroup[]): Promise<void> {
    const fresh = groups.filter((group) => !this.has(group.groupId));
    if (fresh.length === 0) return;
    const ids = new Set(fresh.map((group) => group.groupId));
    await this.save({
      groups: [...this.contents.groups, ...fresh].sort((a, b) => a.groupId - b.groupId),
      dropping: this.contents.dropping.filter((id) => !ids.has(id)),
    });
  }

  async markDropping(groupId: GroupId): Promise<void> {
    await this.save({
      groups: this.contents.groups.filter((group) => group.groupId !== groupId),
      dropping: [...new Set([...this.contents.dropping, groupId])],
    });
  }

  async dropped(groupId: GroupId): Promise<void> {
    await this.save({
      groups: this.contents.groups,
      dropping: this.contents.dropping.filter((id) => id !== groupId),
    });
  }

  private async save(contents: Contents): Promise<void> {
    await writeFileDurably(this.fs, this.path, encodeCheckedJson(recordKind, contents));
    this.contents = contents;
  }
}

function parse(value: unknown, path: string): Contents {
  const malformed = () =>
    new MemraftError("ERR_CORRUPTION", `${path}: hosted groups record is malformed`, {
      file: path,
      offset: 0,
    });
  const record = value as Partial<Contents> | null;
  if (record === null || !Array.isArray(record.groups) || !Array.isArray(record.dropping))
    throw malformed();
  const isId = (id: unknown) => typeof id === "number" && Number.isSafeInteger(id) && id >= 0;
  for (const group of record.groups) {
    if (!isId(group?.groupId) || !Array.isArray(group.bootstrapVoters)) throw malformed();
    if (!group.bootstrapVoters.every(isId)) throw malformed();
  }
  if (!record.dropping.every(isId)) throw malformed();
  return { groups: record.groups, dropping: record.dropping };
}
