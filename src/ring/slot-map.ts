// slot -> group: the second of the ring's three mappings. A slot map gives
// every slot to one group as contiguous ranges, and carries an epoch that
// grows with every change, so a node can tell an old map from a new one (the
// metadata group stores it; its bytes are in slot-map-format.ts).
//
// Invariants of a valid map (slotMapDefect names the first one broken):
//   - ranges are in slot order, each firstSlot <= lastSlot, and together they
//     cover [0, slotCount) exactly once: no gap, no overlap;
//   - two neighbouring ranges belong to different groups (one way to write
//     each map, so equal maps have equal bytes);
//   - group ids are integers in [0, groupIdMax]; the epoch is a safe integer
//     >= 1.
//
// Pure: no I/O. SlotTable answers slot -> group in O(1) from a Uint16Array.

import { assert } from "../util/assert.js";
import { ConfigError } from "../util/errors.js";
import { groupCountMax, groupIdMax, slotCount, slotRangeCountMax } from "./limits.js";
import { slotOf } from "./slot.js";

/** Slots firstSlot..lastSlot, both included, belong to groupId. */
export interface SlotRange {
  readonly firstSlot: number;
  readonly lastSlot: number;
  readonly groupId: number;
}

export interface SlotMap {
  /** Grows by at least one with every change of the map; the first is 1. */
  readonly epoch: number;
  readonly ranges: readonly SlotRange[];
}

export interface SlotMapCheckOptions {
  /** When given, every range must belong to one of these groups. */
  readonly groupIds?: ReadonlySet<number>;
}

/**
 * The initial layout: groups 0..groupCount-1, each owning one contiguous
 * range, the sizes differing by at most one slot.
 */
export function evenSlotMap(groupCount: number, epoch = 1): SlotMap {
  if (!Number.isSafeInteger(groupCount) || groupCount < 1 || groupCount > groupCountMax) {
    throw new ConfigError(`a slot map needs from 1 to ${groupCountMax} groups, got ${groupCount}`, {
      groupCount,
    });
  }
  const ranges: SlotRange[] = [];
  for (let groupId = 0; groupId < groupCount; groupId++) {
    ranges.push({
      firstSlot: Math.floor((groupId * slotCount) / groupCount),
      lastSlot: Math.floor(((groupId + 1) * slotCount) / groupCount) - 1,
      groupId,
    });
  }
  return checkSlotMap({ epoch, ranges });
}

/** The first broken invariant of `map` (see the file comment), or undefined. */
export function slotMapDefect(map: SlotMap, options: SlotMapCheckOptions = {}): string | undefined {
  if (!Number.isSafeInteger(map.epoch) || map.epoch < 1) {
    return `epoch must be a safe integer >= 1, got ${map.epoch}`;
  }
  if (map.ranges.length === 0) return "has no ranges; every slot needs a group";
  if (map.ranges.length > slotRangeCountMax) {
    return `has ${map.ranges.length} ranges, more than the ${slotRangeCountMax} slots`;
  }
  let expectedFirstSlot = 0;
  let previousGroupId: number | undefined;
  for (const [index, range] of map.ranges.entries()) {
    const defect = rangeDefect(range, expectedFirstSlot, previousGroupId, options);
    if (defect !== undefined) return `range ${index} (${describeRange(range)}) ${defect}`;
    expectedFirstSlot = range.lastSlot + 1;
    previousGroupId = range.groupId;
  }
  if (expectedFirstSlot !== slotCount) {
    return `ends at slot ${expectedFirstSlot - 1}; slots ${expectedFirstSlot}-${slotCount - 1} have no group`;
  }
  return undefined;
}

function rangeDefect(
  range: SlotRange,
  expectedFirstSlot: number,
  previousGroupId: number | undefined,
  options: SlotMapCheckOptions,
): string | undefined {
  if (!Number.isInteger(range.firstSlot) || !Number.isInteger(range.lastSlot)) {
    return "has a slot that is not an integer";
  }
  if (range.firstSlot < 0) return "starts before slot 0";
  if (range.firstSlot < expectedFirstSlot) {
    return `overlaps the range before it, which ends at slot ${expectedFirstSlot - 1}`;
  }
  if (range.firstSlot > expectedFirstSlot) {
    return `leaves slots ${expectedFirstSlot}-${range.firstSlot - 1} without a group`;
  }
  if (range.lastSlot < range.firstSlot) return "ends before it starts";
  if (range.lastSlot >= slotCount) return `goes past the last slot, ${slotCount - 1}`;
  if (!Number.isInteger(range.groupId) || range.groupId < 0 || range.groupId > groupIdMax) {
    return `has group id ${range.groupId}; group ids are integers from 0 to ${groupIdMax}`;
  }
  if (options.groupIds !== undefined && !options.groupIds.has(range.groupId)) {
    return `belongs to group ${range.groupId}, which is not a known group`;
  }
  if (range.groupId === previousGroupId) {
    return `belongs to group ${range.groupId} like the range before it; neighbours of one group must be one range`;
  }
  return undefined;
}

function describeRange(range: SlotRange): string {
  return `slots ${range.firstSlot}-${range.lastSlot} -> group ${range.groupId}`;
}

/** `map` itself when it is valid; otherwise a ConfigError naming the defect. */
export function checkSlotMap(map: SlotMap, options: SlotMapCheckOptions = {}): SlotMap {
  const defect = slotMapDefect(map, options);
  if (defect !== undefined) {
    throw new ConfigError(`slot map epoch ${map.epoch} is invalid: ${defect}`, {
      epoch: map.epoch,
      reason: defect,
    });
  }
  return map;
}

/** Slot -> group lookups for one valid slot map, in O(1). */
export class SlotTable {
  readonly map: SlotMap;
  /** The groups the map names, ascending. */
  readonly groups: readonly number[];
  /** groupIds[slot] is the slot's group. */
  private readonly groupIds = new Uint16Array(slotCount);

  constructor(map: SlotMap) {
    assert(slotMapDefect(map) === undefined, () => `invalid slot map: ${slotMapDefect(map)}`);
    this.map = map;
    for (const range of map.ranges) {
      this.groupIds.fill(range.groupId, range.firstSlot, range.lastSlot + 1);
    }
    this.groups = [...new Set(map.ranges.map((range) => range.groupId))].sort((a, b) => a - b);
  }

  get epoch(): number {
    return this.map.epoch;
  }

  groupOfSlot(slot: number): number {
    const groupId = this.groupIds[slot];
    assert(groupId !== undefined, () => `slot ${slot} is not in [0, ${slotCount})`);
    return groupId;
  }

  groupOfKey(key: string | Uint8Array): number {
    return this.groupOfSlot(slotOf(key));
  }
}
