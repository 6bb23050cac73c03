// The network's control plane. Nodes talk to each other directly; this table
// holds the fault rules of every directed link (cut, delay with jitter, loss,
// duplication), and the supervisor pushes the whole table to every node when
// it changes. Each node applies the rules to its own traffic (cluster/node/peers.ts).

import type { NodeId } from '../core/index.js';
import { crossLinks } from '../links.js';
import type { LinkRule } from '../protocol.js';

export interface LinkOptions {
  readonly delayMs?: number;
  readonly jitterMs?: number;
  /** Probability from 0 to 1 that a message is dropped. */
  readonly loss?: number;
  /** Probability from 0 to 1 that a message is sent twice. */
  readonly duplicate?: number;
}

type Shaping = Required<LinkOptions>;
const unshaped: Shaping = { delayMs: 0, jitterMs: 0, loss: 0, duplicate: 0 };

/** What is wrong with a link's options, or null: delay and jitter in ms up to an hour, loss and duplication probabilities. */
export function linkOptionsProblem(options: LinkOptions): string | null {
  const { delayMs = 0, jitterMs = 0, loss = 0, duplicate = 0 } = options;
  const ms = (value: number): boolean => Number.isFinite(value) && value >= 0 && value <= 3_600_000;
  const probability = (value: number): boolean => value >= 0 && value <= 1;
  if (ms(delayMs) && ms(jitterMs) && probability(loss) && probability(duplicate)) return null;
  return 'delayMs and jitterMs must be from 0 to 3600000, loss and duplicate from 0 to 1';
}

export class LinkTable {
  private readonly shaping = new Map<string, Shaping>();
  private readonly cuts = new Set<string>();

  setLink(from: NodeId, to: NodeId, options: LinkOptions): void {
    const next = { ...this.link(from, to), ...options };
    if (next.delayMs === 0 && next.jitterMs === 0 && next.loss === 0 && next.duplicate === 0) this.shaping.delete(linkKey(from, to));
    else this.shaping.set(linkKey(from, to), next);
  }

  link(from: NodeId, to: NodeId): Shaping {
    return this.shaping.get(linkKey(from, to)) ?? unshaped;
  }

  /** Cuts every link between different groups, both ways. */
  partition(groups: readonly (readonly NodeId[])[]): void {
    for (const [from, to] of crossLinks(groups)) this.cuts.add(linkKey(from, to));
  }

  cutOneWay(from: NodeId, to: NodeId): void {
    this.cuts.add(linkKey(from, to));
  }

  isCut(from: NodeId, to: NodeId): boolean {
    return this.cuts.has(linkKey(from, to));
  }

  /** True when `id` can reach no other node and no other node can reach it. */
  isIsolated(id: NodeId, all: readonly NodeId[]): boolean {
    const others = all.filter((other) => other !== id);
    return others.length > 0 && others.every((other) => this.cuts.has(linkKey(id, other)) && this.cuts.has(linkKey(other, id)));
  }

  /** Drops every rule of `id`'s links (the node left the cluster). */
  forget(id: NodeId): void {
    for (const key of [...this.shaping.keys()]) if (key.split('>').includes(id)) this.shaping.delete(key);
    for (const key of [...this.cuts]) if (key.split('>').includes(id)) this.cuts.delete(key);
  }

  heal(): void {
    this.cuts.clear();
    this.shaping.clear();
  }

  /** Every link with a rule, as the nodes apply them. */
  rules(): LinkRule[] {
    const keys = new Set([...this.cuts, ...this.shaping.keys()]);
    return [...keys].map((key) => {
      const [from, to] = key.split('>') as [NodeId, NodeId];
      return { from, to, cut: this.cuts.has(key), ...this.link(from, to) };
    });
  }
}

function linkKey(from: NodeId, to: NodeId): string {
  return `${from}>${to}`;
}
