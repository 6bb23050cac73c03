// The network of a real cluster: nodes never talk to each other directly;
// every Raft message goes node -> supervisor -> node, through here. A link can
// be delayed (with jitter, which also reorders), made lossy, or cut one way or
// both ways. What passes goes to `deliver`, which batches per destination.

import { Prng, type Message, type NodeId } from '../core/index.js';
import { crossLinks } from '../links.js';

export interface LinkOptions {
  readonly delayMs?: number;
  readonly jitterMs?: number;
  /** Probability from 0 to 1 that a message is dropped. */
  readonly loss?: number;
}

interface Link {
  readonly delayMs: number;
  readonly jitterMs: number;
  readonly loss: number;
}

/** Messages held for one delayed link at most; past that the oldest are dropped like a full buffer. */
const delayedPerLinkMax = 50_000;

export interface NetworkStats {
  delivered: number;
  dropped: number;
  delayed: number;
}

export class Network {
  private readonly links = new Map<string, Link>();
  private readonly blocked = new Set<string>();
  private readonly delayedCount = new Map<string, number>();
  private closed = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  readonly stats: NetworkStats = { delivered: 0, dropped: 0, delayed: 0 };

  constructor(
    private readonly prng: Prng,
    private readonly deliver: (message: Message) => void,
  ) {}

  /** Routes an envelope of messages a node sent. */
  route(messages: readonly Message[]): void {
    for (const message of messages) {
      const key = linkKey(message.from, message.to);
      if (this.blocked.has(key)) {
        this.stats.dropped++;
        continue;
      }
      const link = this.links.get(key);
      if (link === undefined) {
        this.enqueue(message);
        continue;
      }
      if (link.loss > 0 && this.prng.next() < link.loss) {
        this.stats.dropped++;
        continue;
      }
      const delayMs = link.delayMs + this.prng.next() * link.jitterMs;
      if (delayMs <= 0) this.enqueue(message);
      else this.delay(key, message, delayMs);
    }
  }

  setLink(from: NodeId, to: NodeId, options: LinkOptions): void {
    const current = this.links.get(linkKey(from, to)) ?? { delayMs: 0, jitterMs: 0, loss: 0 };
    const next = { ...current, ...options };
    if (next.delayMs === 0 && next.jitterMs === 0 && next.loss === 0) this.links.delete(linkKey(from, to));
    else this.links.set(linkKey(from, to), next);
  }

  link(from: NodeId, to: NodeId): Link {
    return this.links.get(linkKey(from, to)) ?? { delayMs: 0, jitterMs: 0, loss: 0 };
  }

  /** Cuts every link between different groups, both ways. */
  partition(groups: readonly (readonly NodeId[])[]): void {
    for (const [from, to] of crossLinks(groups)) this.blocked.add(linkKey(from, to));
  }

  cutOneWay(from: NodeId, to: NodeId): void {
    this.blocked.add(linkKey(from, to));
  }

  isCut(from: NodeId, to: NodeId): boolean {
    return this.blocked.has(linkKey(from, to));
  }

  /** True when `id` can reach no other node and no other node can reach it. */
  isIsolated(id: NodeId, all: readonly NodeId[]): boolean {
    const others = all.filter((other) => other !== id);
    return others.length > 0 && others.every((other) => this.blocked.has(linkKey(id, other)) && this.blocked.has(linkKey(other, id)));
  }

  heal(): void {
    this.blocked.clear();
    this.links.clear();
  }

  close(): void {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private delay(key: string, message: Message, delayMs: number): void {
    const held = this.delayedCount.get(key) ?? 0;
    if (held >= delayedPerLinkMax) {
      this.stats.dropped++;
      return;
    }
    this.delayedCount.set(key, held + 1);
    this.stats.delayed++;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.delayedCount.set(key, (this.delayedCount.get(key) ?? 1) - 1);
      // A cut made while the message was on the wire still stops it.
      if (this.blocked.has(key)) this.stats.dropped++;
      else this.enqueue(message);
    }, delayMs);
    this.timers.add(timer);
  }

  private enqueue(message: Message): void {
    if (this.closed) return;
    this.stats.delivered++;
    this.deliver(message);
  }
}

function linkKey(from: NodeId, to: NodeId): string {
  return `${from}>${to}`;
}
