// Every message survives encode/decode unchanged; damaged bytes are refused.

import test from "ava";
import fc from "fast-check";
import {
  ByteReader,
  ByteWriter,
  DecodeError,
  decodeCoalescedHeartbeats,
  decodeMessage,
  encodeCoalescedHeartbeats,
  encodeMessage,
  type HeartbeatLike,
} from "../../../src/raft/transport/message-codec.js";
import { type Entry, type Message, MessageType } from "../../../src/raft/types.js";
import { runs } from "../../helpers/property.js";

const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const u64 = fc.oneof(
  fc.integer({ min: 0, max: 1000 }),
  fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
);
const envelope = fc.record({ groupId: u32, from: u32, to: u32, term: u64 });
const entry: fc.Arbitrary<Entry> = fc.record({
  index: u64,
  term: u64,
  type: fc.constantFrom(0 as const, 1 as const),
  data: fc.uint8Array({ maxLength: 64 }),
});
const ids = fc.array(u32, { maxLength: 5 });

const message: fc.Arbitrary<Message> = fc.oneof(
  fc
    .record({
      e: envelope,
      index: u64,
      logTerm: u64,
      commit: u64,
      entries: fc.array(entry, { maxLength: 4 }),
    })
    .map(({ e, ...rest }) => ({ ...e, type: MessageType.append, ...rest })),
  fc
    .record({ e: envelope, index: u64, reject: fc.boolean(), rejectHint: u64, logTermHint: u64 })
    .map(({ e, ...rest }) => ({ ...e, type: MessageType.appendResponse, ...rest })),
  fc
    .record({
      e: envelope,
      t: fc.constantFrom(MessageType.vote, MessageType.preVote),
      index: u64,
      logTerm: u64,
      transfer: fc.boolean(),
    })
    .map(({ e, t, ...rest }) => ({ ...e, type: t, ...rest })),
  fc
    .record({
      e: envelope,
      t: fc.constantFrom(MessageType.voteResponse, MessageType.preVoteResponse),
      reject: fc.boolean(),
    })
    .map(({ e, t, ...rest }) => ({ ...e, type: t, ...rest })),
  fc
    .record({ e: envelope, commit: u64, context: u64, quiesce: fc.boolean() })
    .map(({ e, ...rest }) => ({ ...e, type: MessageType.heartbeat, ...rest })),
  fc
    .record({ e: envelope, context: u64 })
    .map(({ e, ...rest }) => ({ ...e, type: MessageType.heartbeatResponse, ...rest })),
  fc
    .record({
      e: envelope,
      index: u64,
      term: u64,
      voters: ids,
      learners: ids,
      votersOutgoing: ids,
      totalBytes: u64,
      offset: u64,
      chunk: fc.uint8Array({ maxLength: 64 }),
    })
    .map(({ e, index, term, voters, learners, votersOutgoing, ...rest }) => ({
      ...e,
      type: MessageType.snapshot,
      meta: { index, term, conf: { voters, learners, votersOutgoing } },
      ...rest,
    })),
  fc
    .record({ e: envelope, snapshotIndex: u64, nextOffset: u64 })
    .map(({ e, ...rest }) => ({ ...e, type: MessageType.snapshotResponse, ...rest })),
  envelope.map((e) => ({ ...e, type: MessageType.timeoutNow })),
);

function normalize(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (_key, v) => (v instanceof Uint8Array ? [...v] : v)));
}

test("any message decodes to what was encoded", (t) => {
  fc.assert(
    fc.property(fc.array(message, { minLength: 1, maxLength: 5 }), (messages) => {
      const writer = new ByteWriter(16);
      for (const m of messages) encodeMessage(writer, m);
      const reader = new ByteReader(Buffer.from(writer.view()));
      const decoded = messages.map(() => decodeMessage(reader));
      return (
        reader.done() && JSON.stringify(normalize(decoded)) === JSON.stringify(normalize(messages))
      );
    }),
    { numRuns: runs(300) },
  );
  t.pass();
});

test("a truncated message is refused with a decode error, never half-read", (t) => {
  fc.assert(
    fc.property(message, fc.nat(), (m, cut) => {
      const writer = new ByteWriter(16);
      encodeMessage(writer, m);
      const bytes = Buffer.from(writer.view());
      const truncated = bytes.subarray(0, cut % bytes.length);
      try {
        decodeMessage(new ByteReader(truncated));
        return false;
      } catch (error) {
        return error instanceof DecodeError;
      }
    }),
    { numRuns: runs(300) },
  );
  t.pass();
});

test("an unknown message type is refused", (t) => {
  const bytes = Buffer.alloc(21);
  bytes.writeUInt8(99, 0);
  t.throws(() => decodeMessage(new ByteReader(bytes)), {
    instanceOf: DecodeError,
    message: /unknown message type 99/,
  });
});

const heartbeatLike: fc.Arbitrary<HeartbeatLike> = fc.oneof(
  fc
    .record({ groupId: u32, term: u64, commit: u64, context: u64, quiesce: fc.boolean() })
    .map((m) => ({ ...m, from: 4, to: 9, type: MessageType.heartbeat })),
  fc
    .record({ groupId: u32, term: u64, context: u64 })
    .map((m) => ({ ...m, from: 4, to: 9, type: MessageType.heartbeatResponse })),
);

function coalesced(messages: readonly HeartbeatLike[]): Buffer {
  const writer = new ByteWriter(16);
  encodeCoalescedHeartbeats(writer, messages);
  return Buffer.from(writer.view());
}

test("coalesced heartbeats decode to the messages encoded, envelope restored from the route", (t) => {
  fc.assert(
    fc.property(fc.array(heartbeatLike, { maxLength: 20 }), (messages) => {
      const reader = new ByteReader(coalesced(messages));
      const decoded = decodeCoalescedHeartbeats(reader, messages.length, { from: 4, to: 9 });
      t.true(reader.done());
      t.deepEqual(decoded, messages);
    }),
    { numRuns: runs(300) },
  );
});

test("truncated coalesced heartbeats are refused with a decode error", (t) => {
  fc.assert(
    fc.property(
      fc.array(heartbeatLike, { minLength: 1, maxLength: 5 }),
      fc.nat(),
      (messages, cut) => {
        const bytes = coalesced(messages);
        const reader = new ByteReader(bytes.subarray(0, cut % bytes.length));
        t.throws(() => decodeCoalescedHeartbeats(reader, messages.length, { from: 4, to: 9 }), {
          instanceOf: DecodeError,
        });
      },
    ),
    { numRuns: runs(200) },
  );
});

test("coalesced heartbeats of another version, or holding another message type, are refused", (t) => {
  const heartbeat: HeartbeatLike = {
    groupId: 1,
    from: 4,
    to: 9,
    term: 2,
    type: MessageType.heartbeat,
    commit: 3,
    context: 4,
    quiesce: false,
  };
  const wrongVersion = coalesced([heartbeat]);
  wrongVersion[0] = 1;
  t.throws(() => decodeCoalescedHeartbeats(new ByteReader(wrongVersion), 1, { from: 4, to: 9 }), {
    message: /version 1, expected 2/,
  });
  const wrongType = coalesced([heartbeat]);
  wrongType[1] = MessageType.append;
  t.throws(() => decodeCoalescedHeartbeats(new ByteReader(wrongType), 1, { from: 4, to: 9 }), {
    message: /message type 1 among coalesced heartbeats/,
  });
  const overlong = Buffer.from([2, 7, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
  t.throws(() => decodeCoalescedHeartbeats(new ByteReader(overlong), 1, { from: 4, to: 9 }), {
    message: /varint longer than 8 bytes/,
  });
});
