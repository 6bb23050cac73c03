// A node's side of the network: it listens on its Unix domain socket, opens one
// connection to each peer's, and applies the supervisor's link rules to its own
// traffic (cuts, delay and jitter, loss and duplication on egress; cuts on
// ingress too). Every connection starts with a hello carrying the cluster's
// secret; anything else is refused and counted. Every outbox is bounded: a
// peer that does not drain (SIGSTOPped, slow) loses messages, as on a real
// network, and Raft retransmits.

import { timingSafeEqual } from 'node:crypto';
import { chmodSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { Entry, Message, NodeId, Prng } from '../core/index.js';
import { Invalid, ipcLimits, parseHello, raftMessage, unbatch, type LinkRule, type NetworkTelemetry } from '../protocol.js';
import { encodeFrame, encodeText, FrameDecoder, frameBytesMax, helloBytesMax, readFrames } from '../wire/frames.js';
import { isSnapshotFrameType } from '../snapshot/frames.js';

/** Bytes a peer connection may hold unsent before messages to it are dropped. */
export const outboxBytesMax = 8 * 1024 * 1024;
/** Bytes held for a peer while its connection is being (re)opened. */
const connectingBytesMax = 1024 * 1024;
/** Messages held back by delay rules on one link at most; past that they are dropped. */
const delayedPerLinkMax = 50_000;
/** A connection that has not said hello by then is closed. */
const helloTimeoutMs = 2_000;
/** Reconnect backoff to a peer that is down or not yet listening. */
const reconnectMsMin = 10;
const reconnectMsMax = 200;

/** The socket of node `id` in the cluster's socket dir. */
export function socketPath(socketDir: string, id: NodeId): string {
  return `${socketDir}/${id}.sock`;
}

/** Someone connected as a client: it sends requests, the node answers on the same connection. */
export interface ClientConnection {
  send(frame: unknown): void;
  readonly closed: boolean;
}

export interface PeersOptions {
  readonly id: NodeId;
  readonly peers: readonly NodeId[];
  readonly socketDir: string;
  readonly secret: string;
  readonly prng: Prng;
  /** Raft messages from a peer, checked and past the ingress rules. */
  onRaft(messages: Message[]): void;
  /** A snapshot transfer's frame from a peer, past the ingress rules, unchecked (the snapshot code checks it). */
  onSnapshotFrame(from: NodeId, frame: unknown): void;
  /** A frame from a client connection, unchecked (the host checks it). */
  onClientFrame(connection: ClientConnection, frame: unknown): void;
  /** A peer frame that failed its check. */
  onMalformed(reason: string): void;
  onRefused(reason: string): void;
}

const noRule: LinkRule = { from: 'n0', to: 'n0', cut: false, delayMs: 0, jitterMs: 0, loss: 0, duplicate: 0 };

export class Peers {
  private readonly options: PeersOptions;
  private readonly server: Server;
  private readonly links = new Map<NodeId, PeerLink>();
  /** Rules for links from this node, by destination. */
  private egress = new Map<NodeId, LinkRule>();
  /** Sources whose messages to this node are cut. */
  private ingressCut = new Set<NodeId>();
  private readonly delayedOnLink = new Map<NodeId, number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly accepted = new Set<Socket>();
  private flushScheduled = false;
  private closed = false;
  private listening = false;
  readonly stats = { delivered: 0, dropped: 0, delayed: 0, refused: 0 };

  constructor(options: PeersOptions) {
    this.options = options;
    for (const peer of options.peers) this.addLink(peer);
    this.server = createServer((socket) => this.accept(socket));
  }

  /** Binds the socket (0600), replacing one a previous incarnation left behind. */
  listen(): Promise<void> {
    const path = socketPath(this.options.socketDir, this.options.id);
    rmSync(path, { force: true });
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(path, () => {
        this.server.off('error', reject);
        chmodSync(path, 0o600);
        this.listening = true;
        for (const link of this.links.values()) link.open();
        resolve();
      });
    });
  }

  /**
   * The nodes of the cluster now (a membership change added or removed one):
   * a link opens to each new node, and the link to a node no longer named
   * closes, its unsent messages dropped. Only named nodes may say hello.
   */
  setPeers(nodes: readonly NodeId[]): void {
    if (this.closed) return;
    const wanted = new Set(nodes.filter((node) => node !== this.options.id));
    for (const [peer, link] of this.links) {
      if (wanted.has(peer)) continue;
      this.stats.dropped += link.batch.length;
      link.close();
      this.links.delete(peer);
    }
    for (const peer of wanted) if (!this.links.has(peer)) this.addLink(peer)?.open();
  }

  /** A link to `peer` (opened once this node listens); null for itself or one it has. */
  private addLink(peer: NodeId): PeerLink | null {
    if (peer === this.options.id || this.links.has(peer)) return null;
    const link = new PeerLink(socketPath(this.options.socketDir, peer), encodeFrame({ type: 'hello', secret: this.options.secret, from: this.options.id }));
    this.links.set(peer, link);
    if (!this.listening) return null;
    return link;
  }

  setRules(rules: readonly LinkRule[]): void {
    const { id } = this.options;
    this.egress = new Map(rules.filter((rule) => rule.from === id).map((rule) => [rule.to, rule]));
    this.ingressCut = new Set(rules.filter((rule) => rule.to === id && rule.cut).map((rule) => rule.from));
  }

  /** Messages from this node's core, each through its link's rule, batched per destination for this turn. */
  send(messages: readonly Message[]): void {
    for (const message of messages) {
      const rule = this.egress.get(message.to) ?? noRule;
      if (rule === noRule) {
        this.enqueue(message);
        continue;
      }
      if (rule.cut || (rule.loss > 0 && this.options.prng.next() < rule.loss)) {
        this.stats.dropped++;
        continue;
      }
      const copies = rule.duplicate > 0 && this.options.prng.next() < rule.duplicate ? 2 : 1;
      for (let copy = 0; copy < copies; copy++) {
        const delayMs = rule.delayMs + this.options.prng.next() * rule.jitterMs;
        if (delayMs <= 0) this.enqueue(message);
        else this.delay(message, delayMs);
      }
    }
  }

  telemetry(): NetworkTelemetry {
    return { ...this.stats };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    for (const link of this.links.values()) link.close();
    for (const socket of this.accepted) socket.destroy();
    this.server.close();
    rmSync(socketPath(this.options.socketDir, this.options.id), { force: true });
  }

  /**
   * A snapshot transfer's frame (cluster/snapshot/frames.ts), written as a
   * frame of its own rather than in the per-turn raft batch. The link's rule
   * applies as to a message: cut or lost frames are dropped (the transfer's
   * flow control resends), delayed ones held; not duplicated (the transfer
   * gains nothing from it). False when it was dropped.
   */
  sendFrame(to: NodeId, frame: object): boolean {
    const rule = this.egress.get(to) ?? noRule;
    if (rule.cut || (rule.loss > 0 && this.options.prng.next() < rule.loss)) {
      this.stats.dropped++;
      return false;
    }
    const delayMs = rule === noRule ? 0 : rule.delayMs + this.options.prng.next() * rule.jitterMs;
    if (delayMs <= 0) return this.writeFrame(to, frame);
    const held = this.delayedOnLink.get(to) ?? 0;
    if (held >= delayedPerLinkMax) {
      this.stats.dropped++;
      return false;
    }
    this.delayedOnLink.set(to, held + 1);
    this.stats.delayed++;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.delayedOnLink.set(to, (this.delayedOnLink.get(to) ?? 1) - 1);
      if (this.egress.get(to)?.cut === true) this.stats.dropped++;
      else this.writeFrame(to, frame);
    }, delayMs);
    this.timers.add(timer);
    return true;
  }

  private writeFrame(to: NodeId, frame: object): boolean {
    const link = this.links.get(to);
    if (link === undefined || this.closed) {
      this.stats.dropped++;
      return false;
    }
    if (link.write(encodeFrame(frame))) return true;
    this.stats.dropped++;
    return false;
  }

  private delay(message: Message, delayMs: number): void {
    const held = this.delayedOnLink.get(message.to) ?? 0;
    if (held >= delayedPerLinkMax) {
      this.stats.dropped++;
      return;
    }
    this.delayedOnLink.set(message.to, held + 1);
    this.stats.delayed++;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.delayedOnLink.set(message.to, (this.delayedOnLink.get(message.to) ?? 1) - 1);
      // A cut made while the message was on the wire still stops it.
      if (this.egress.get(message.to)?.cut === true) this.stats.dropped++;
      else this.enqueue(message);
    }, delayMs);
    this.timers.add(timer);
  }

  private enqueue(message: Message): void {
    const link = this.links.get(message.to);
    if (link === undefined || this.closed) {
      this.stats.dropped++;
      return;
    }
    link.batch.push(message);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /**
   * One frame per peer per turn of the loop: run by setImmediate, or earlier
   * by the host when a message must not wait for the rest of the turn (a
   * follower's ack before its SQLite apply).
   */
  flush(): void {
    this.flushScheduled = false;
    const entriesJson: EntriesJson = new Map();
    for (const link of this.links.values()) {
      if (link.batch.length === 0) continue;
      const batch = link.batch;
      link.batch = [];
      if (link.write(encodeRaftFrame(batch, entriesJson))) this.stats.delivered += batch.length;
      else this.stats.dropped += batch.length;
    }
  }

  // -------------------------------------------------------------------------
  // Inbound connections

  private accept(socket: Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    this.accepted.add(socket);
    const decoder = new FrameDecoder(frameBytesMax, helloBytesMax);
    let peer: NodeId | 'client' | null = null;
    // Replies of one turn of the loop go out as one frame: one write instead of one per Ready loop.
    let replies: unknown[] = [];
    const flushReplies = (): void => {
      const out = replies;
      replies = [];
      if (!socket.destroyed && socket.writableLength < outboxBytesMax) socket.write(encodeFrame(out.length === 1 ? out[0] : { type: 'batch', messages: out }));
    };
    const client: ClientConnection = {
      send: (frame) => {
        if (replies.length === 0) setImmediate(flushReplies);
        for (const part of unbatch(frame)) replies.push(part);
      },
      get closed() {
        return socket.destroyed;
      },
    };
    const refuse = (reason: string): void => {
      this.stats.refused++;
      this.options.onRefused(reason);
      socket.destroy();
    };
    const helloTimer = setTimeout(() => refuse(`no hello within ${helloTimeoutMs} ms`), helloTimeoutMs);
    const broken = (reason: string): void => {
      if (peer === null) {
        clearTimeout(helloTimer);
        refuse(reason);
      } else {
        this.options.onMalformed(`${peer}: ${reason}; connection closed`);
        socket.destroy();
      }
    };
    readFrames(socket, decoder, (frames) => {
      for (const frame of frames) {
        if (socket.destroyed) return;
        if (peer === null) {
          clearTimeout(helloTimer);
          const hello = this.checkHello(frame);
          if ('refused' in hello) {
            refuse(hello.refused);
            return;
          }
          peer = hello.from;
        } else if (peer === 'client') {
          this.options.onClientFrame(client, frame);
        } else {
          this.fromPeer(peer, frame);
        }
      }
    }, broken);
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      clearTimeout(helloTimer);
      this.accepted.delete(socket);
    });
  }

  /** Who said hello, or why the connection is refused. */
  private checkHello(frame: unknown): { from: NodeId | 'client' } | { refused: string } {
    const hello = parseHello(frame);
    if (hello instanceof Invalid) return { refused: `a first frame that is not a hello (${hello.reason})` };
    const expected = Buffer.from(this.options.secret);
    const given = Buffer.from(hello.secret);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { refused: `a hello from ${hello.from} with the wrong secret` };
    if (hello.from !== 'client' && (hello.from === this.options.id || !this.links.has(hello.from))) return { refused: `a hello from ${hello.from}, which is not a peer` };
    return { from: hello.from };
  }

  private fromPeer(peer: NodeId, frame: unknown): void {
    if (isSnapshotFrameType(frame)) {
      if (this.ingressCut.has(peer)) this.stats.dropped++;
      else this.options.onSnapshotFrame(peer, frame);
      return;
    }
    if (typeof frame !== 'object' || frame === null || (frame as { type?: unknown }).type !== 'raft' || !Array.isArray((frame as { messages?: unknown }).messages)) {
      this.options.onMalformed(`${peer}: a frame that is not a batch of raft messages`);
      return;
    }
    const raw = (frame as { messages: unknown[] }).messages;
    if (raw.length > ipcLimits.messagesPerEnvelope) {
      this.options.onMalformed(`${peer}: a frame of ${raw.length} raft messages, over the limit of ${ipcLimits.messagesPerEnvelope}`);
      return;
    }
    // A node the supervisor no longer names (removed from the cluster) is not heard any more.
    if (this.ingressCut.has(peer) || !this.links.has(peer)) {
      this.stats.dropped += raw.length;
      return;
    }
    const messages: Message[] = [];
    raw.forEach((value, i) => {
      let message: Message;
      try {
        message = raftMessage(value, `messages[${i}]`);
      } catch (error) {
        if (!(error instanceof Invalid)) throw error;
        this.options.onMalformed(`${peer}: ${error.reason}`);
        return;
      }
      // A peer speaks only for itself, and only to us.
      if (message.from !== peer || message.to !== this.options.id) this.options.onMalformed(`${peer}: a message from ${message.from} to ${message.to}`);
      else messages.push(message);
    });
    if (messages.length > 0) this.options.onRaft(messages);
  }
}

/** The connection to one peer, reopened with backoff whenever it drops. */
class PeerLink {
  batch: Message[] = [];
  private socket: Socket | null = null;
  private connected = false;
  /** Whether this link ever connected: before that, frames wait (bounded) for the peer to listen; after, a lost connection loses them. */
  private everConnected = false;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private retryMs = reconnectMsMin;
  private retryTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly path: string,
    private readonly hello: Buffer,
  ) {}

  open(): void {
    if (this.closed || this.socket !== null) return;
    const socket = createConnection(this.path);
    this.socket = socket;
    socket.on('connect', () => {
      this.connected = true;
      this.everConnected = true;
      this.retryMs = reconnectMsMin;
      socket.write(this.hello);
      for (const frame of this.pending) socket.write(frame);
      this.pending = [];
      this.pendingBytes = 0;
    });
    // Nothing comes back on this connection: replies travel on the peer's own.
    socket.on('data', () => {});
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      this.socket = null;
      this.connected = false;
      if (this.closed) return;
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        this.open();
      }, this.retryMs);
      this.retryMs = Math.min(reconnectMsMax, this.retryMs * 2);
    });
  }

  /** False when the frame is dropped: the outbox is full, or the peer is unreachable and the wait buffer full. */
  write(frame: Buffer): boolean {
    if (this.connected && this.socket !== null) {
      if (this.socket.writableLength >= outboxBytesMax) return false;
      this.socket.write(frame);
      return true;
    }
    if (this.everConnected || this.pendingBytes + frame.length > connectingBytesMax) return false;
    this.pending.push(frame);
    this.pendingBytes += frame.length;
    return true;
  }

  close(): void {
    this.closed = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.socket?.destroy();
  }
}

/** Appends' entries as JSON, by their first entry and count: one turn's batches share it. */
export type EntriesJson = Map<Entry, { readonly count: number; readonly json: string }>;

/**
 * The frame of one turn's raft messages to one peer: the same bytes as
 * encodeFrame({ type: 'raft', messages }), with each append's entries last.
 * A leader sends its followers the same new entries (one array each, of the
 * same entry objects): their JSON is made once per turn and reused, where
 * serializing every entry's text once per follower was the leader's largest
 * JSON cost.
 */
export function encodeRaftFrame(messages: readonly Message[], entriesJson: EntriesJson): Buffer {
  const parts = messages.map((message) => {
    if (message.type !== 'append' || message.entries.length === 0) return JSON.stringify(message);
    const { entries, ...rest } = message;
    const first = entries[0]!;
    let shared = entriesJson.get(first);
    if (shared === undefined || shared.count !== entries.length) {
      shared = { count: entries.length, json: JSON.stringify(entries) };
      entriesJson.set(first, shared);
    }
    // `rest` keeps at least the type, so its JSON ends in '}' after a field: the entries go in before that brace.
    return `${JSON.stringify(rest).slice(0, -1)},"entries":${shared.json}}`;
  });
  return encodeText(`{"type":"raft","messages":[${parts.join(',')}]}`);
}
