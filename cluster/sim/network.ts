// The simulated network between cores: per-link delay, jitter, loss and
// duplication, and one-way or two-way partitions. Every random choice comes
// from the simulation's seeded PRNG, so a seed replays the same deliveries.

import type { NodeId, Prng } from '../core/index.js';
import { crossLinks } from '../links.js';

export interface LinkSettings {
  /** Fixed one-way delay. */
  readonly delayMs: number;
  /** Extra delay drawn uniformly from [0, jitterMs]; large jitter reorders messages. */
  readonly jitterMs: number;
  /** Probability that a message is dropped. */
  readonly loss: number;
  /** Probability that a message is delivered twice. */
  readonly duplicate: number;
}

export const defaultLink: LinkSettings = { delayMs: 1, jitterMs: 2, loss: 0, duplicate: 0 };

export class SimNetwork {
  private readonly links = new Map<string, LinkSettings>();
  /** Directed links that deliver nothing: "a>b" blocks a's messages to b. */
  private readonly blocked = new Set<string>();
  dropped = 0;
  duplicated = 0;

  constructor(
    private readonly prng: Prng,
    private base: LinkSettings = defaultLink,
  ) {}

  /** Delivery delays for one message from -> to: none when dropped, two when duplicated. */
  delays(from: NodeId, to: NodeId): number[] {
    if (this.blocked.has(linkKey(from, to))) {
      this.dropped++;
      return [];
    }
    const link = this.links.get(linkKey(from, to)) ?? this.base;
    if (this.prng.chance(link.loss)) {
      this.dropped++;
      return [];
    }
    const first = link.delayMs + this.prng.next() * link.jitterMs;
    if (!this.prng.chance(link.duplicate)) return [first];
    this.duplicated++;
    return [first, link.delayMs + this.prng.next() * link.jitterMs];
  }

  setLink(from: NodeId, to: NodeId, settings: Partial<LinkSettings>): void {
    const current = this.links.get(linkKey(from, to)) ?? this.base;
    this.links.set(linkKey(from, to), { ...current, ...settings });
  }

  /** Both directions between every pair of groups are cut; links inside a group work. */
  partition(groups: readonly (readonly NodeId[])[]): void {
    for (const [from, to] of crossLinks(groups)) this.blocked.add(linkKey(from, to));
  }

  /** Messages from `from` to `to` are lost; the other direction still works. */
  cutOneWay(from: NodeId, to: NodeId): void {
    this.blocked.add(linkKey(from, to));
  }

  isBlocked(from: NodeId, to: NodeId): boolean {
    return this.blocked.has(linkKey(from, to));
  }

  /** Every partition lifted and every link back to the base settings. */
  heal(): void {
    this.blocked.clear();
    this.links.clear();
  }

  healPartitions(): void {
    this.blocked.clear();
  }

  healLinks(): void {
    this.links.clear();
  }
}

function linkKey(from: NodeId, to: NodeId): string {
  return `${from}>${to}`;
}
