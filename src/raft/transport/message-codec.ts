// Binary encoding of Raft messages for the TCP transport. Little-endian;
// u64 fields hold safe integers only. Layout of one message:
//   type u8, group u32, from u32, to u32, term u64, then per type:
//   append            index u64, logTerm u64, commit u64, count u32,
//                     count x (index u64, term u64, entryType u8, length u32, data)
//   append-response   index u64, reject u8, rejectHint u64, logTermHint u64
//   vote, pre-vote    index u64, logTerm u64, transfer u8
//   *vote-response    reject u8
//   heartbeat         commit u64, context u64, quiesce u8
//   heartbeat-resp    context u64
//   snapshot          meta (index u64, term u64, voterCount u32, voters u32..,
//                     learnerCount u32, learners u32.., outgoingCount u32,
//                     votersOutgoing u32..), totalBytes u64, offset u64,
//                     length u32, chunk
//   snapshot-resp     snapshotIndex u64, nextOffset u64
//   timeout-now       (nothing)
// Type codes are MessageType's, frozen.
//
// Coalesced heartbeats: the heartbeats and heartbeat responses one node
// sends another in one pass, one per group, without the envelope they share
// (sender and receiver are the connection's ends). Numbers are LEB128
// varints (7 bits a byte, low bits first, high bit set on all but the last):
//   version u8 = 2, then per message:
//   type u8 (heartbeat 7, quiescing heartbeat 9, or heartbeat-resp 8),
//   group varint, term varint,
//   heartbeat: commit varint, context varint; heartbeat-resp: context varint
// (Version 1 had no quiescing heartbeats.) Code 9 exists only here: in the
// full form the quiesce flag is a field.

import { assert } from "../../util/assert.js";
import {
  type ConfState,
  type Entry,
  type EntryType,
  type HeartbeatMessage,
  type HeartbeatResponseMessage,
  type Message,
  MessageType,
  type NodeId,
} from "../types.js";

export class ByteWriter {
  private buffer: Buffer;
  length = 0;

  constructor(initialBytes = 4096) {
    this.buffer = Buffer.allocUnsafe(initialBytes);
  }

  private reserve(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + bytes));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }

  u8(value: number): void {
    this.reserve(1);
    this.buffer.writeUInt8(value, this.length);
    this.length += 1;
  }

  u32(value: number): void {
    this.reserve(4);
    this.buffer.writeUInt32LE(value, this.length);
    this.length += 4;
  }

  u64(value: number): void {
    assert(Number.isSafeInteger(value) && value >= 0, () => `codec: ${value} is not a u64`);
    this.reserve(8);
    this.buffer.writeUInt32LE(value % 0x1_0000_0000, this.length);
    this.buffer.writeUInt32LE(Math.floor(value / 0x1_0000_0000), this.length + 4);
    this.length += 8;
  }

  /** An unsigned LEB128 varint of a safe integer: 1 byte below 128, at most 8. */
  varint(value: number): void {
    assert(Number.isSafeInteger(value) && value >= 0, () => `codec: ${value} is not a varint`);
    this.reserve(8);
    let rest = value;
    while (rest >= 0x80) {
      this.buffer[this.length++] = (rest % 0x80) | 0x80;
      rest = Math.floor(rest / 0x80);
    }
    this.buffer[this.length++] = rest;
  }

  bytes(data: Uint8Array): void {
    this.reserve(data.length);
    this.buffer.set(data, this.length);
    this.length += data.length;
  }

  /** Overwrites a u32 written earlier (frame lengths). */
  patchU32(at: number, value: number): void {
    this.buffer.writeUInt32LE(value, at);
  }

  /** The bytes written so far; valid until the next write. */
  view(from = 0): Buffer {
    return this.buffer.subarray(from, this.length);
  }

  reset(): void {
    this.length = 0;
  }
}

/** Thrown for bytes that do not decode: the connection is dropped. */
export class DecodeError extends Error {
  override readonly name = "DecodeError";
}

export class ByteReader {
  at = 0;
  constructor(private readonly buffer: Buffer) {}

  private need(bytes: number): void {
    if (this.at + bytes > this.buffer.length)
      throw new DecodeError(`message truncated at ${this.at}`);
  }

  u8(): number {
    this.need(1);
    return this.buffer.readUInt8(this.at++);
  }

  u32(): number {
    this.need(4);
    const value = this.buffer.readUInt32LE(this.at);
    this.at += 4;
    return value;
  }

  u64(): number {
    this.need(8);
    const value =
      this.buffer.readUInt32LE(this.at) + this.buffer.readUInt32LE(this.at + 4) * 0x1_0000_0000;
    this.at += 8;
    if (!Number.isSafeInteger(value)) throw new DecodeError(`u64 beyond 2^53 at ${this.at - 8}`);
    return value;
  }

  varint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const byte = this.u8();
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) {
        if (!Number.isSafeInteger(value))
          throw new DecodeError(`varint beyond 2^53 at ${this.at - i - 1}`);
        return value;
      }
      scale *= 0x80;
    }
    throw new DecodeError(`varint longer than 8 bytes at ${this.at - 8}`);
  }

  bytes(length: number): Uint8Array {
    this.need(length);
    const copy = new Uint8Array(length);
    copy.set(this.buffer.subarray(this.at, this.at + length));
    this.at += length;
    return copy;
  }

  done(): boolean {
    return this.at === this.buffer.length;
  }
}

export function encodeMessage(writer: ByteWriter, message: Message): void {
  writer.u8(message.type);
  writer.u32(message.groupId);
  writer.u32(message.from);
  writer.u32(message.to);
  writer.u64(message.term);
  switch (message.type) {
    case MessageType.append:
      writer.u64(message.index);
      writer.u64(message.logTerm);
      writer.u64(message.commit);
      writer.u32(message.entries.length);
      for (const entry of message.entries) {
        writer.u64(entry.index);
        writer.u64(entry.term);
        writer.u8(entry.type);
        writer.u32(entry.data.length);
        writer.bytes(entry.data);
      }
      return;
    case MessageType.appendResponse:
      writer.u64(message.index);
      writer.u8(message.reject ? 1 : 0);
      writer.u64(message.rejectHint);
      writer.u64(message.logTermHint);
      return;
    case MessageType.vote:
    case MessageType.preVote:
      writer.u64(message.index);
      writer.u64(message.logTerm);
      writer.u8(message.transfer ? 1 : 0);
      return;
    case MessageType.voteResponse:
    case MessageType.preVoteResponse:
      writer.u8(message.reject ? 1 : 0);
      return;
    case MessageType.heartbeat:
      writer.u64(message.commit);
      writer.u64(message.context);
      writer.u8(message.quiesce ? 1 : 0);
      return;
    case MessageType.heartbeatResponse:
      writer.u64(message.context);
      return;
    case MessageType.snapshot:
      writer.u64(message.meta.index);
      writer.u64(message.meta.term);
      writeIds(writer, message.meta.conf.voters);
      writeIds(writer, message.meta.conf.learners);
      writeIds(writer, message.meta.conf.votersOutgoing);
      writer.u64(message.totalBytes);
      writer.u64(message.offset);
      writer.u32(message.chunk.length);
      writer.bytes(message.chunk);
      return;
    case MessageType.snapshotResponse:
      writer.u64(message.snapshotIndex);
      writer.u64(message.nextOffset);
      return;
    case MessageType.timeoutNow:
      return;
  }
}

function writeIds(writer: ByteWriter, ids: readonly number[]): void {
  writer.u32(ids.length);
  for (const id of ids) writer.u32(id);
}

function readIds(reader: ByteReader): number[] {
  const count = reader.u32();
  if (count > 65_536) throw new DecodeError(`${count} ids in a configuration`);
  return Array.from({ length: count }, () => reader.u32());
}

export function decodeMessage(reader: ByteReader): Message {
  const type = reader.u8();
  // Every message is built as one literal, envelope first: a spread of a
  // shared envelope made V8 create hidden classes on the hot path.
  const groupId = reader.u32();
  const from = reader.u32();
  const to = reader.u32();
  const term = reader.u64();
  switch (type) {
    case MessageType.append: {
      const index = reader.u64();
      const logTerm = reader.u64();
      const commit = reader.u64();
      const count = reader.u32();
      const entries: Entry[] = [];
      for (let i = 0; i < count; i++) {
        const entryIndex = reader.u64();
        const entryTerm = reader.u64();
        const entryType = reader.u8();
        if (entryType > 1) throw new DecodeError(`entry type ${entryType}`);
        entries.push({
          index: entryIndex,
          term: entryTerm,
          type: entryType as EntryType,
          data: reader.bytes(reader.u32()),
        });
      }
      return { groupId, from, to, term, type, index, logTerm, commit, entries };
    }
    case MessageType.appendResponse:
      return {
        groupId,
        from,
        to,
        term,
        type,
        index: reader.u64(),
        reject: reader.u8() === 1,
        rejectHint: reader.u64(),
        logTermHint: reader.u64(),
      };
    case MessageType.vote:
    case MessageType.preVote:
      return {
        groupId,
        from,
        to,
        term,
        type,
        index: reader.u64(),
        logTerm: reader.u64(),
        transfer: reader.u8() === 1,
      };
    case MessageType.voteResponse:
    case MessageType.preVoteResponse:
      return { groupId, from, to, term, type, reject: reader.u8() === 1 };
    case MessageType.heartbeat:
      return {
        groupId,
        from,
        to,
        term,
        type,
        commit: reader.u64(),
        context: reader.u64(),
        quiesce: reader.u8() === 1,
      };
    case MessageType.heartbeatResponse:
      return { groupId, from, to, term, type, context: reader.u64() };
    case MessageType.snapshot: {
      const index = reader.u64();
      const snapshotTerm = reader.u64();
      const conf: ConfState = {
        voters: readIds(reader),
        learners: readIds(reader),
        votersOutgoing: readIds(reader),
      };
      const totalBytes = reader.u64();
      const offset = reader.u64();
      const chunk = reader.bytes(reader.u32());
      return {
        groupId,
        from,
        to,
        term,
        type,
        meta: { index, term: snapshotTerm, conf },
        totalBytes,
        offset,
        chunk,
      };
    }
    case MessageType.snapshotResponse:
      return {
        groupId,
        from,
        to,
        term,
        type,
        snapshotIndex: reader.u64(),
        nextOffset: reader.u64(),
      };
    case MessageType.timeoutNow:
      return { groupId, from, to, term, type };
    default:
      throw new DecodeError(`unknown message type ${type}`);
  }
}

export const coalescedHeartbeatsVersion = 2;
const quiescingHeartbeatCode = 9;

export type HeartbeatLike = HeartbeatMessage | HeartbeatResponseMessage;

export function isHeartbeatLike(message: Message): message is HeartbeatLike {
  return message.type === MessageType.heartbeat || message.type === MessageType.heartbeatResponse;
}

/** Writes `messages` coalesced. REQUIRES: all from one sender to one receiver. */
export function encodeCoalescedHeartbeats(
  writer: ByteWriter,
  messages: readonly HeartbeatLike[],
): void {
  writer.u8(coalescedHeartbeatsVersion);
  for (const message of messages) {
    writer.u8(
      message.type === MessageType.heartbeat && message.quiesce
        ? quiescingHeartbeatCode
        : message.type,
    );
    writer.varint(message.groupId);
    writer.varint(message.term);
    if (message.type === MessageType.heartbeat) writer.varint(message.commit);
    writer.varint(message.context);
  }
}

/** Reads `count` coalesced messages back into whole ones sent by `from` to `to`. */
export function decodeCoalescedHeartbeats(
  reader: ByteReader,
  count: number,
  route: { readonly from: NodeId; readonly to: NodeId },
): HeartbeatLike[] {
  const version = reader.u8();
  if (version !== coalescedHeartbeatsVersion)
    throw new DecodeError(
      `coalesced heartbeats version ${version}, expected ${coalescedHeartbeatsVersion}`,
    );
  const messages: HeartbeatLike[] = [];
  for (let i = 0; i < count; i++) {
    const type = reader.u8();
    const groupId = reader.varint();
    if (groupId > 0xffff_ffff) throw new DecodeError(`group ${groupId} beyond u32`);
    const { from, to } = route;
    const term = reader.varint();
    if (type === MessageType.heartbeat || type === quiescingHeartbeatCode) {
      messages.push({
        groupId,
        from,
        to,
        term,
        type: MessageType.heartbeat,
        commit: reader.varint(),
        context: reader.varint(),
        quiesce: type === quiescingHeartbeatCode,
      });
    } else if (type === MessageType.heartbeatResponse) {
      messages.push({ groupId, from, to, term, type, context: reader.varint() });
    } else {
      throw new DecodeError(`message type ${type} among coalesced heartbeats`);
    }
  }
  return messages;
}
