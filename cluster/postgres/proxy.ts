// The replication link of one standby, as a proxy the supervisor runs: the
// standby's `primary_conninfo` names this proxy's socket dir, and every
// connection it accepts is forwarded to the socket of whichever server is the
// primary now. Faults act here, on the byte stream:
//
// - cut (either direction, or a partition between the two): every connection
//   is destroyed and new ones are refused (accepted and closed at once). A
//   replication connection is a request/response stream, so a one-way cut
//   cannot leave it half working: it ends like a two-way one.
// - delay and jitter: each chunk is held by a timer; chunks stay in order (a
//   byte stream cannot reorder), so jitter only varies the wait.
// - loss: a byte stream cannot lose a chunk and go on; each chunk is, with the
//   given probability, the end of the connection (destroyed both ways). The
//   standby reconnects after `wal_retrieve_retry_interval`.
// - duplication has no meaning on a byte stream and is refused by the caller.
//
// Every buffer is bounded: a direction whose held chunks exceed
// `heldBytesMax` stops reading its source (back-pressure to the sender's
// socket buffer) until the timer has released half of them.

import { chownSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { NodeId } from '../core/index.js';
import { Prng } from '../core/index.js';

/** Bytes a direction may hold for delay before it stops reading its source. */
export const heldBytesMax = 4 * 1024 * 1024;
/** Connections one proxy keeps at once (a standby opens one; pg_basebackup or pg_rewind a few more). */
export const connectionsMax = 16;

export interface Shaping {
  readonly delayMs: number;
  readonly jitterMs: number;
  readonly loss: number;
}

export interface ProxyPort {
  /** The primary now and its server socket path, or null when there is none up. */
  primary(): { readonly id: NodeId; readonly socket: string } | null;
  /** Whether the link between these two nodes is cut in either direction. */
  isCut(a: NodeId, b: NodeId): boolean;
  /** The shaping of one direction. */
  shaping(from: NodeId, to: NodeId): Shaping;
  /** A connection the proxy ended or refused, for the counters. */
  counted(what: 'refused' | 'dropped'): void;
}

class Direction {
  private readonly held: { chunk: Buffer; at: number }[] = [];
  private heldBytes = 0;
  private timer: NodeJS.Timeout | null = null;
  private lastRelease = 0;

  constructor(
    private readonly source: Socket,
    private readonly sink: Socket,
    private readonly shaping: () => Shaping,
    private readonly prng: Prng,
    private readonly drop: () => void,
  ) {
    source.on('data', (chunk: Buffer) => this.data(chunk));
    sink.on('drain', () => {
      if (this.heldBytes <= heldBytesMax / 2) source.resume();
    });
  }

  private data(chunk: Buffer): void {
    const { delayMs, jitterMs, loss } = this.shaping();
    if (loss > 0 && this.prng.next() < loss) {
      this.drop();
      return;
    }
    if (delayMs === 0 && jitterMs === 0 && this.held.length === 0) {
      if (!this.sink.write(chunk)) this.source.pause();
      return;
    }
    const now = performance.now();
    const at = Math.max(this.lastRelease, now + delayMs + (jitterMs > 0 ? this.prng.next() * jitterMs : 0));
    this.lastRelease = at;
    this.held.push({ chunk, at });
    this.heldBytes += chunk.length;
    if (this.heldBytes > heldBytesMax) this.source.pause();
    this.schedule();
  }

  private schedule(): void {
    if (this.timer !== null || this.held.length === 0) return;
    const wait = Math.max(0, this.held[0]!.at - performance.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      this.release();
    }, wait);
  }

  private release(): void {
    const now = performance.now();
    let writable = true;
    while (this.held.length > 0 && this.held[0]!.at <= now) {
      const { chunk } = this.held.shift()!;
      this.heldBytes -= chunk.length;
      writable = this.sink.write(chunk) && writable;
    }
    if (writable && this.heldBytes <= heldBytesMax / 2) this.source.resume();
    this.schedule();
  }

  close(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.held.length = 0;
    this.heldBytes = 0;
  }
}

interface Pair {
  readonly standby: Socket;
  readonly primary: Socket;
  readonly primaryId: NodeId;
  readonly directions: Direction[];
}

export class LinkProxy {
  private readonly server: Server;
  private readonly pairs = new Set<Pair>();
  private readonly prng: Prng;
  private closed = false;

  /** Listens on `<dir>/.s.PGSQL.5432` (the name libpq looks for with host=<dir>); owned by `owner` so the server's OS user can connect. */
  static async listen(standbyId: NodeId, dir: string, port: ProxyPort, seed: number, owner: { uid: number; gid: number } | null): Promise<LinkProxy> {
    const proxy = new LinkProxy(standbyId, port, seed);
    const path = `${dir}/.s.PGSQL.5432`;
    rmSync(path, { force: true });
    await new Promise<void>((resolve, reject) => {
      proxy.server.once('error', reject);
      proxy.server.listen(path, () => {
        proxy.server.off('error', reject);
        resolve();
      });
    });
    if (owner !== null) chownSync(path, owner.uid, owner.gid);
    return proxy;
  }

  private constructor(
    readonly standbyId: NodeId,
    private readonly port: ProxyPort,
    seed: number,
  ) {
    this.prng = new Prng(seed);
    this.server = createServer((socket) => this.accept(socket));
    this.server.maxConnections = connectionsMax;
  }

  /** Connections open now. */
  get connections(): number {
    return this.pairs.size;
  }

  private accept(standby: Socket): void {
    const target = this.port.primary();
    if (this.closed || target === null || target.id === this.standbyId || this.port.isCut(this.standbyId, target.id)) {
      this.port.counted('refused');
      standby.destroy();
      return;
    }
    standby.pause();
    const primary = createConnection(target.socket);
    const pair: Pair = { standby, primary, primaryId: target.id, directions: [] };
    this.pairs.add(pair);
    const end = (): void => this.end(pair);
    standby.on('error', end).on('close', end);
    primary.on('error', end).on('close', end);
    primary.once('connect', () => {
      pair.directions.push(
        new Direction(standby, primary, () => this.port.shaping(this.standbyId, target.id), this.prng, () => this.drop(pair)),
        new Direction(primary, standby, () => this.port.shaping(target.id, this.standbyId), this.prng, () => this.drop(pair)),
      );
      standby.resume();
    });
  }

  private drop(pair: Pair): void {
    this.port.counted('dropped');
    this.end(pair);
  }

  private end(pair: Pair): void {
    if (!this.pairs.delete(pair)) return;
    for (const direction of pair.directions) direction.close();
    pair.standby.destroy();
    pair.primary.destroy();
  }

  /** Applies the rules now: a connection over a link that is now cut, or to a server that is no longer the primary, ends. */
  enforce(): void {
    const target = this.port.primary();
    for (const pair of [...this.pairs]) {
      if (target === null || pair.primaryId !== target.id || this.port.isCut(this.standbyId, pair.primaryId)) this.end(pair);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const pair of [...this.pairs]) this.end(pair);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
