// Raft messages between nodes over TCP: one connection per pair of nodes
// (the lower id dials, the higher accepts), carrying every group's messages.
// Messages for one peer are gathered for one event-loop turn and written as
// one frame. Queues are bounded: when a peer is unreachable or slow, new
// messages beyond queueBytesMax are dropped and counted (Raft retransmits).
//
// Handshake, each side on connect (9 bytes): magic u32 0x5054524d, version
// u8 = 1, node id u32. A wrong magic, version or unknown id closes the socket.
// Frames: length u32, masked CRC32C u32 of the payload, payload = message
// count u32 then the messages (message-codec.ts).

import { connect, createServer, type Server, type Socket } from "node:net";
import { crc32c, maskCrc, unmaskCrc } from "../../util/crc32c.js";
import type { Logger } from "../../util/logger.js";
import type { Message, NodeId } from "../types.js";
import {
  ByteReader,
  ByteWriter,
  DecodeError,
  decodeMessage,
  encodeMessage,
} from "./message-codec.js";

export const handshakeMagic = 0x5054524d;
export const protocolVersion = 1;
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
  readonly logger: Logger;
  readonly queueBytesMax?: number;
  readonly frameBytesMax?: number;
  readonly reconnectDelayMsMin?: number;
  readonly reconnectDelayMsMax?: number;
}

interface Peer {
  readonly id: NodeId;
  readonly address: PeerAddress;
  socket: Socket | undefined;
  queue: Message[];
  queueBytes: number;
  reconnectDelayMs: number;
  reconnectTimer: NodeJS.Timeout | undefined;
}

export class TcpTransport {
  private readonly peers = new Map<NodeId, Peer>();
  private server: Server | undefined;
  private flushScheduled = false;
  private closed = false;
  private readonly writer = new ByteWriter(64 * 1024);
  private readonly queueBytesMax: number;
  private readonly frameBytesMax: number;
  droppedMessages = 0;
  sentFrames = 0;

  constructor(private readonly options: TcpTransportOptions) {
    this.queueBytesMax = options.queueBytesMax ?? 64 * 1024 * 1024;
    this.frameBytesMax = options.frameBytesMax ?? 256 * 1024 * 1024;
    for (const [id, address] of options.peers) {
      if (id === options.nodeId) continue;
      this.peers.set(id, {
        id,
        address,
        socket: undefined,
        queue: [],
        queueBytes: 0,
        reconnectDelayMs: options.reconnectDelayMsMin ?? 20,
        reconnectTimer: undefined,
      });
    }
  }

  async start(): Promise<void> {
    const server = createServer((socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.options.listen.port, this.options.listen.host, () => resolve());
    });
    for (const peer of this.peers.values()) if (peer.id > this.options.nodeId) this.dial(peer);
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
    if (peer.queueBytes + bytes > this.queueBytesMax) {
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

  connected(peerId: NodeId): boolean {
    return this.peers.get(peerId)?.socket !== undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
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
    if (socket === undefined || peer.queue.length === 0 || socket.writableNeedDrain) return;
    const writer = this.writer;
    writer.reset();
    writer.u32(0);
    writer.u32(0);
    writer.u32(peer.queue.length);
    for (const message of peer.queue) encodeMessage(writer, message);
    peer.queue = [];
    peer.queueBytes = 0;
    const payloadBytes = writer.length - frameHeaderBytes;
    writer.patchU32(0, payloadBytes);
    writer.patchU32(4, maskCrc(crc32c(writer.view(), frameHeaderBytes)));
    // The writer is reused: hand the socket its own copy.
    socket.write(Buffer.from(writer.view()));
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
      if (peer.socket === socket) peer.socket = undefined;
      if (this.closed) return;
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
        if (peer.socket === socket) peer.socket = undefined;
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
    let pending: Buffer = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      try {
        pending = this.readFrames(pending);
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

  /** Delivers every complete frame in `data`; returns the incomplete rest. */
  private readFrames(data: Buffer): Buffer {
    let at = 0;
    while (data.length - at >= frameHeaderBytes) {
      const length = data.readUInt32LE(at);
      if (length > this.frameBytesMax) throw new DecodeError(`frame of ${length} bytes`);
      if (data.length - at - frameHeaderBytes < length) break;
      const payload = data.subarray(at + frameHeaderBytes, at + frameHeaderBytes + length);
      if (unmaskCrc(data.readUInt32LE(at + 4)) !== crc32c(payload))
        throw new DecodeError("frame checksum mismatch");
      const reader = new ByteReader(payload);
      const count = reader.u32();
      const messages: Message[] = [];
      for (let i = 0; i < count; i++) messages.push(decodeMessage(reader));
      if (!reader.done()) throw new DecodeError("bytes after the last message");
      this.options.deliver(messages);
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
