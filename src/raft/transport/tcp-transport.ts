// Raft messages between nodes over TCP: one connection per pair of nodes
// (the lower id dials, the higher accepts), carrying every group's messages.
// Messages for one peer are gathered for one event-loop turn and written as
// one frame. Messages for a peer that is not connected are dropped, and
// queues are bounded: when a peer is slow, new messages beyond queueBytesMax
// are dropped; both are counted (Raft retransmits).
//
// The same connection carries the owner's application payloads (requests
// between nodes: forwarded client commands, snapshot files), which are
// queued apart from Raft messages and never dropped for a full Raft queue.
//
// Heartbeats of many groups are coalesced: when one pass holds two or more
// heartbeats or heartbeat responses for a peer (one per group), they travel
// as one compact frame, and the receiver turns it back into the individual
// messages, so the core never knows. The frames of one pass leave in one
// socket write.
//
// The transport is also the node-level failure detector that quiet groups
// need (Raft.quiesced): a connection that carried nothing for keepaliveMs
// carries an empty keepalive frame, so a peer that is up is heard from
// however idle its groups are, at a cost per peer, not per group.
//
// Handshake, each side on connect (9 bytes): magic u32 0x5054524d, version
// u8 = 4, node id u32. A wrong magic, version or unknown id closes the socket.
// (Version 3 had no quiescing heartbeats; version 2 no coalesced heartbeats
// and no outgoing voters in snapshots.)
// Frames: length u32, masked CRC32C u32 of the payload, then the payload:
//   kind u8 = 1 (Raft): message count u32, then the messages (message-codec.ts)
//   kind u8 = 2 (application): payload count u32, then each as length u32 + bytes
//   kind u8 = 3 (coalesced heartbeats): message count u32, then the versioned
//                compact form of message-codec.ts
//   kind u8 = 4 (keepalive): count u32 = 0

import { connect, createServer, type Server, type Socket } from "node:net";
import { crc32c, maskCrc, unmaskCrc } from "../../util/crc32c.js";
import type { Logger } from "../../util/logger.js";
import type { Message, NodeId } from "../types.js";
import {
  ByteReader,
  ByteWriter,
  DecodeError,
  decodeCoalescedHeartbeats,
  decodeMessage,
  encodeCoalescedHeartbeats,
  encodeMessage,
  type HeartbeatLike,
  isHeartbeatLike,
} from "./message-codec.js";

export const handshakeMagic = 0x5054524d;
export const protocolVersion = 4;
const frameKindRaft = 1;
const frameKindApplication = 2;
const frameKindHeartbeats = 3;
const frameKindKeepalive = 4;
const handshakeBytes = 9;
const frameHeaderBytes = 8;

export interface PeerAddress {
  readonly host: string;
  readonly port: number;
}

export interface TcpTransportOptions {
  readonly nodeId: NodeId;
  readonly listen: PeerAddress;
  readonly peers: ReadonlyMap<NodeId, PeerAddress>;
  /** Called with every message batch that arrives, in arrival order. */
  readonly deliver: (messages: Message[]) => void;
  /** Called with application payloads from a peer, in the order it sent them. */
  readonly deliverApplication?: (from: NodeId, payloads: Buffer[]) => void;
  /**
   * Called when the connection to a peer is lost: payloads sent on it may
   * or may not have arrived, and their answers will not come on it.
   */
  readonly peerLost?: (peerId: NodeId) => void;
  readonly logger: Logger;
  readonly queueBytesMax?: number;
  readonly frameBytesMax?: number;
  readonly reconnectDelayMsMin?: number;
  readonly reconnectDelayMsMax?: number;
  /** Send heartbeats of many groups as one compact frame (default true; off to measure). */
  readonly coalesceHeartbeats?: boolean;
  /** A connection idle this long carries a keepalive frame (default 100 ms). */
  readonly keepaliveMs?: number;
}

interface Peer {
  readonly id: NodeId;
  readonly address: PeerAddress;
  socket: Socket | undefined;
  queue: Message[];
  queueBytes: number;
  applicationQueue: Buffer[];
  applicationQueueBytes: number;
  reconnectDelayMs: number;
  reconnectTimer: NodeJS.Timeout | undefined;
  /** performance.now() when bytes last arrived from it, or the connection opened. */
  lastHeardMs: number;
  lastSentMs: number;
}

export class TcpTransport {
  private readonly peers = new Map<NodeId, Peer>();
  private server: Server | undefined;
  private flushScheduled = false;
  private closed = false;
  private readonly writer = new ByteWriter(64 * 1024);
  private readonly queueBytesMax: number;
  private readonly frameBytesMax: number;
  private readonly keepaliveMs: number;
  private keepaliveTimer: NodeJS.Timeout | undefined;
  droppedMessages = 0;
  sentFrames = 0;
  /** Bytes handed to sockets, frame headers included. */
  sentBytes = 0;
  /** Socket writes (each pass to a peer is one). */
  socketWrites = 0;
  /** Heartbeats and heartbeat responses sent inside coalesced frames. */
  coalescedHeartbeats = 0;
  keepalivesSent = 0;

  constructor(private readonly options: TcpTransportOptions) {
    this.queueBytesMax = options.queueBytesMax ?? 64 * 1024 * 1024;
    this.frameBytesMax = options.frameBytesMax ?? 256 * 1024 * 1024;
    this.keepaliveMs = options.keepaliveMs ?? 100;
    for (const [id, address] of options.peers) {
      if (id !== options.nodeId) this.peers.set(id, this.newPeer(id, address));
    }
  }

  /**
   * Follows a change of the cluster's nodes: new peers are added (and
   * dialled, by the side that dials), peers whose address changed are
   * reconnected, and peers no longer listed are disconnected and forgotten.
   */
  setPeers(peers: ReadonlyMap<NodeId, PeerAddress>): void {
    for (const [id, peer] of this.peers) {
      const address = peers.get(id);
      if (address !== undefined && sameAddress(address, peer.address)) continue;
      clearTimeout(peer.reconnectTimer);
      peer.socket?.destroy();
      this.peers.delete(id);
    }
    for (const [id, address] of peers) {
      if (id === this.options.nodeId || this.peers.has(id)) continue;
      const peer = this.newPeer(id, address);
      this.peers.set(id, peer);
      if (this.server !== undefined && !this.closed && id > this.options.nodeId) this.dial(peer);
    }
  }

  private newPeer(id: NodeId, address: PeerAddress): Peer {
    return {
      id,
      address,
      socket: undefined,
      queue: [],
      queueBytes: 0,
      applicationQueue: [],
      applicationQueueBytes: 0,
      reconnectDelayMs: this.options.reconnectDelayMsMin ?? 20,
      reconnectTimer: undefined,
      lastHeardMs: Number.NEGATIVE_INFINITY,
      lastSentMs: Number.NEGATIVE_INFINITY,
    };
  }

  async start(): Promise<void> {
    const server = createServer((socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.options.listen.port, this.options.listen.host, () => resolve());
    });
    for (const peer of this.peers.values()) if (peer.id > this.options.nodeId) this.dial(peer);
    this.keepaliveTimer = setInterval(() => this.sendKeepalives(), this.keepaliveMs);
    this.keepaliveTimer.unref();
  }

  /** The port actually listened on (for port 0). */
  port(): number {
    const address = this.server?.address();
    return typeof address === "object" && address !== null
      ? address.port
      : this.options.listen.port;
  }

  send(message: Message): void {
    const peer = this.peers.get(message.to);
    if (peer === undefined || this.closed) return;
    const bytes = estimateBytes(message);
    // Nothing waits for a peer that is not connected: Raft sends again what
    // matters, and a backlog kept for it would reach it stale, all at once,
    // costing both nodes seconds of encoding and rejecting.
    if (peer.socket === undefined || peer.queueBytes + bytes > this.queueBytesMax) {
      this.droppedMessages++;
      return;
    }
    peer.queue.push(message);
    peer.queueBytes += bytes;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /**
   * Queues an application payload for `to`; false when it cannot be queued
   * (unknown peer, closed, or queueBytesMax of payloads already waiting).
   * Nothing is promised about delivery: the owner's requests time out.
   */
  sendApplication(to: NodeId, payload: Buffer): boolean {
    const peer = this.peers.get(to);
    if (peer === undefined || this.closed) return false;
    if (peer.applicationQueueBytes + payload.length > this.queueBytesMax) return false;
    peer.applicationQueue.push(payload);
    peer.applicationQueueBytes += payload.length;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
    return true;
  }

  connected(peerId: NodeId): boolean {
    return this.peers.get(peerId)?.socket !== undefined;
  }

  /**
   * Whether `peerId`'s node seems down: no connection to it, or nothing
   * heard on it for `silenceMs` (an up peer sends keepalives). Unknown
   * peers count as down.
   */
  suspects(peerId: NodeId, silenceMs: number): boolean {
    const peer = this.peers.get(peerId);
    if (peer?.socket === undefined) return true;
    return performance.now() - peer.lastHeardMs > silenceMs;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.keepaliveTimer);
    for (const peer of this.peers.values()) {
      clearTimeout(peer.reconnectTimer);
      peer.socket?.destroy();
      peer.socket = undefined;
    }
    await new Promise<void>((resolve) =>
      this.server ? this.server.close(() => resolve()) : resolve(),
    );
  }

  private flush(): void {
    this.flushScheduled = false;
    for (const peer of this.peers.values()) this.flushPeer(peer);
  }

  private flushPeer(peer: Peer): void {
    const socket = peer.socket;
    if (socket === undefined || socket.writableNeedDrain) return;
    if (peer.queue.length === 0 && peer.applicationQueue.length === 0) return;
    const writer = this.writer;
    writer.reset();
    if (peer.queue.length > 0) {
      this.writeRaftFrames(writer, peer.queue);
      peer.queue = [];
      peer.queueBytes = 0;
    }
    if (peer.applicationQueue.length > 0) {
      const frame = this.startFrame(writer, frameKindApplication, peer.applicationQueue.length);
      for (const payload of peer.applicationQueue) {
        writer.u32(payload.length);
        writer.bytes(payload);
      }
      this.endFrame(writer, frame);
      peer.applicationQueue = [];
      peer.applicationQueueBytes = 0;
    }
    this.writePass(peer, socket);
  }

  private sendKeepalives(): void {
    const now = performance.now();
    for (const peer of this.peers.values()) {
      const socket = peer.socket;
      if (socket === undefined || socket.writableNeedDrain) continue;
      if (now - peer.lastSentMs < this.keepaliveMs) continue;
      this.writer.reset();
      this.endFrame(this.writer, this.startFrame(this.writer, frameKindKeepalive, 0));
      this.writePass(peer, socket);
      this.keepalivesSent++;
    }
  }

  /** Writes what the writer holds to `peer` as one socket write. */
  private writePass(peer: Peer, socket: Socket): void {
    // The writer is reused: hand the socket its own copy.
    socket.write(Buffer.from(this.writer.view()));
    this.sentBytes += this.writer.length;
    this.socketWrites++;
    peer.lastSentMs = performance.now();
  }

  private writeRaftFrames(writer: ByteWriter, queue: readonly Message[]): void {
    const heartbeats: HeartbeatLike[] = [];
    const others: Message[] = [];
    if (this.options.coalesceHeartbeats === false) others.push(...queue);
    else
      for (const message of queue) (isHeartbeatLike(message) ? heartbeats : others).push(message);
    if (heartbeats.length === 1) others.push(heartbeats.pop()!);
    if (others.length > 0) {
      const frame = this.startFrame(writer, frameKindRaft, others.length);
      for (const message of others) encodeMessage(writer, message);
      this.endFrame(writer, frame);
    }
    if (heartbeats.length > 0) {
      const frame = this.startFrame(writer, frameKindHeartbeats, heartbeats.length);
      encodeCoalescedHeartbeats(writer, heartbeats);
      this.endFrame(writer, frame);
      this.coalescedHeartbeats += heartbeats.length;
    }
  }

  /** Starts a frame at the writer's end; returns where it starts. */
  private startFrame(writer: ByteWriter, kind: number, count: number): number {
    const start = writer.length;
    writer.u32(0);
    writer.u32(0);
    writer.u8(kind);
    writer.u32(count);
    return start;
  }

  private endFrame(writer: ByteWriter, start: number): void {
    writer.patchU32(start, writer.length - start - frameHeaderBytes);
    writer.patchU32(start + 4, maskCrc(crc32c(writer.view(start + frameHeaderBytes))));
    this.sentFrames++;
  }

  private dial(peer: Peer): void {
    if (this.closed) return;
    const socket = connect({
      host: peer.address.host,
      port: peer.address.port,
      localAddress: this.options.listen.host,
    });
    socket.setNoDelay(true);
    socket.once("connect", () => socket.write(this.handshake()));
    this.readHandshake(socket, (remoteId) => {
      if (remoteId !== peer.id) {
        this.options.logger.warn(
          { expected: peer.id, remoteId },
          "raft transport: peer answered with another id",
        );
        socket.destroy();
        return;
      }
      peer.reconnectDelayMs = this.options.reconnectDelayMsMin ?? 20;
      this.attach(peer, socket);
    });
    socket.once("close", () => {
      if (peer.socket === socket) {
        peer.socket = undefined;
        this.options.peerLost?.(peer.id);
      }
      // A peer forgotten by setPeers is not dialled again.
      if (this.closed || this.peers.get(peer.id) !== peer) return;
      peer.reconnectTimer = setTimeout(() => this.dial(peer), peer.reconnectDelayMs);
      peer.reconnectDelayMs = Math.min(
        peer.reconnectDelayMs * 2,
        this.options.reconnectDelayMsMax ?? 1000,
      );
    });
    socket.on("error", (error) =>
      this.options.logger.debug(
        { peer: peer.id, err: error.message },
        "raft transport: dial failed",
      ),
    );
  }

  private accept(socket: Socket): void {
    socket.setNoDelay(true);
    socket.on("error", (error) =>
      this.options.logger.debug({ err: error.message }, "raft transport: inbound socket error"),
    );
    this.readHandshake(socket, (remoteId) => {
      const peer = this.peers.get(remoteId);
      if (peer === undefined || remoteId > this.options.nodeId) {
        this.options.logger.warn(
          { remoteId },
          "raft transport: refusing connection from unexpected node",
        );
        socket.destroy();
        return;
      }
      socket.write(this.handshake());
      peer.socket?.destroy();
      socket.once("close", () => {
        if (peer.socket !== socket) return;
        peer.socket = undefined;
        this.options.peerLost?.(peer.id);
      });
      this.attach(peer, socket);
    });
  }

  private handshake(): Buffer {
    const bytes = Buffer.alloc(handshakeBytes);
    bytes.writeUInt32LE(handshakeMagic, 0);
    bytes.writeUInt8(protocolVersion, 4);
    bytes.writeUInt32LE(this.options.nodeId, 5);
    return bytes;
  }

  /** Reads the 9-byte handshake, then hands the socket over with any bytes after it. */
  private readHandshake(socket: Socket, onReady: (remoteId: NodeId) => void): void {
    let received: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < handshakeBytes) return;
      socket.off("data", onData);
      const magic = received.readUInt32LE(0);
      const version = received.readUInt8(4);
      if (magic !== handshakeMagic || version !== protocolVersion) {
        this.options.logger.warn({ magic, version }, "raft transport: bad handshake");
        socket.destroy();
        return;
      }
      onReady(received.readUInt32LE(5));
      const rest = received.subarray(handshakeBytes);
      if (rest.length > 0 && !socket.destroyed) socket.emit("data", rest);
    };
    socket.on("data", onData);
  }

  private attach(peer: Peer, socket: Socket): void {
    peer.socket = socket;
    peer.lastHeardMs = performance.now();
    let pending: Buffer = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      peer.lastHeardMs = performance.now();
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      try {
        pending = this.readFrames(peer.id, pending);
      } catch (error) {
        this.options.logger.warn(
          { peer: peer.id, err: (error as Error).message },
          "raft transport: bad frame, dropping connection",
        );
        socket.destroy();
      }
    });
    socket.on("drain", () => this.flushPeer(peer));
    this.flushPeer(peer);
  }

  private deliverFrame(peerId: NodeId, payload: Buffer): void {
    const reader = new ByteReader(payload);
    const kind = reader.u8();
    const count = reader.u32();
    if (kind === frameKindRaft) {
      const messages: Message[] = [];
      for (let i = 0; i < count; i++) messages.push(decodeMessage(reader));
      if (!reader.done()) throw new DecodeError("bytes after the last message");
      this.options.deliver(messages);
      return;
    }
    if (kind === frameKindHeartbeats) {
      const route = { from: peerId, to: this.options.nodeId };
      const messages = decodeCoalescedHeartbeats(reader, count, route);
      if (!reader.done()) throw new DecodeError("bytes after the last heartbeat");
      this.options.deliver(messages);
      return;
    }
    if (kind === frameKindKeepalive) {
      if (count !== 0 || !reader.done()) throw new DecodeError("keepalive frame with a body");
      return;
    }
    if (kind !== frameKindApplication) throw new DecodeError(`frame kind ${kind}`);
    const payloads: Buffer[] = [];
    for (let i = 0; i < count; i++) {
      const bytes = reader.bytes(reader.u32());
      // A copy: the frame buffer is reused for the next frames.
      payloads.push(Buffer.from(bytes));
    }
    if (!reader.done()) throw new DecodeError("bytes after the last payload");
    this.options.deliverApplication?.(peerId, payloads);
  }

  /** Delivers every complete frame in `data`; returns the incomplete rest. */
  private readFrames(peerId: NodeId, data: Buffer): Buffer {
    let at = 0;
    while (data.length - at >= frameHeaderBytes) {
      const length = data.readUInt32LE(at);
      if (length > this.frameBytesMax) throw new DecodeError(`frame of ${length} bytes`);
      if (data.length - at - frameHeaderBytes < length) break;
      const payload = data.subarray(at + frameHeaderBytes, at + frameHeaderBytes + length);
      if (unmaskCrc(data.readUInt32LE(at + 4)) !== crc32c(payload))
        throw new DecodeError("frame checksum mismatch");
      this.deliverFrame(peerId, payload);
      at += frameHeaderBytes + length;
    }
    return at === data.length ? Buffer.alloc(0) : data.subarray(at);
  }
}

function estimateBytes(message: Message): number {
  let bytes = 64;
  if (message.type === 1) for (const entry of message.entries) bytes += 21 + entry.data.length;
  else if (message.type === 9) bytes += message.chunk.length;
  return bytes;
}

function sameAddress(a: PeerAddress, b: PeerAddress): boolean {
  return a.host === b.host && a.port === b.port;
}
