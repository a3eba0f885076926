// Group numbering. Data groups are 0..groups-1, as the slot map numbers
// them; the metadata group (the cluster's configuration, slot map, replica
// placement and rebalance progress) takes the largest group id, which the
// cluster file's cap on the group count (config.ts) keeps out of reach of
// data groups. Being an ordinary group id, it is placed on nodes like any
// group (ring/placement.ts).

import type { GroupId } from "../raft/types.js";
import { groupIdMax } from "../ring/limits.js";

export const metadataGroupId: GroupId = groupIdMax;

export function dataGroupIds(groupCount: number): GroupId[] {
  return Array.from({ length: groupCount }, (_, groupId) => groupId);
}

export function isDataGroup(groupId: GroupId): boolean {
  return groupId !== metadataGroupId;
}

/** How logs and status name a group. */
export function groupName(groupId: GroupId): string {
  return groupId === metadataGroupId ? "meta" : String(groupId);
}
