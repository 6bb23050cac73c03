// Cluster membership: which nodes vote and which only learn (thesis §4).
// A configuration is a `config` entry in the log whose data is the whole new
// Membership as JSON. It takes effect on a node as soon as the entry is in its
// log, committed or not (thesis §4.1), and a truncation that removes the entry
// brings back the configuration before it. `ConfigHistory` tracks exactly that:
// the configuration the log starts from (the host's initial peers, or a
// snapshot's) and every config entry after it.

import { majority } from './quorum.js';
import { assert, type ConfChange, type Entry, type Membership, type NodeId } from './types.js';

/** Voters plus learners a configuration may hold (node ids n1..n9). */
export const membersMax = 9;
/** Longest node id accepted in a configuration. */
export const nodeIdLengthMax = 64;

export const emptyMembership: Membership = { voters: [], learners: [] };

export function isVoter(membership: Membership, id: NodeId): boolean {
  return membership.voters.includes(id);
}

export function isMember(membership: Membership, id: NodeId): boolean {
  return membership.voters.includes(id) || membership.learners.includes(id);
}

/** Every node a leader replicates to under `membership`, voters first. */
export function members(membership: Membership): NodeId[] {
  return [...membership.voters, ...membership.learners];
}

/** Majority of the voters; 0 with no voter at all (a brand-new node that knows nothing yet). */
export function voterMajority(membership: Membership): number {
  return membership.voters.length === 0 ? 0 : majority(membership.voters.length);
}

/** Voters in one configuration and not in the other, both ways: 0 or 1 for a single-server change. */
export function votersChanged(a: readonly NodeId[], b: readonly NodeId[]): number {
  return a.filter((id) => !b.includes(id)).length + b.filter((id) => !a.includes(id)).length;
}

function validId(id: unknown): id is NodeId {
  return typeof id === 'string' && id.length > 0 && id.length <= nodeIdLengthMax;
}

/** A person-readable reason why `membership` cannot be used, or null. */
export function membershipProblem(membership: Membership): string | null {
  const all = [...membership.voters, ...membership.learners];
  if (!all.every(validId)) return `node ids are non-empty strings of at most ${nodeIdLengthMax} characters`;
  if (new Set(all).size !== all.length) return 'a node is listed twice (voters and learners are distinct)';
  if (all.length > membersMax) return `at most ${membersMax} nodes, voters and learners together`;
  return null;
}

/** The configuration in a config entry's data; a malformed one is a bug (only leaders write them). */
export function parseMembership(data: string): Membership {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    value = null;
  }
  const record = value as { voters?: unknown; learners?: unknown } | null;
  assert(
    record !== null && typeof record === 'object' && Array.isArray(record.voters) && Array.isArray(record.learners),
    `config entry holds a membership: ${data.slice(0, 200)}`,
  );
  const membership: Membership = { voters: record.voters as NodeId[], learners: record.learners as NodeId[] };
  const problem = membershipProblem(membership);
  assert(problem === null, `config entry is valid: ${problem}`);
  return membership;
}

export function encodeMembership(membership: Membership): string {
  return JSON.stringify({ voters: membership.voters, learners: membership.learners });
}

/**
 * The configuration after `change`, or the reason it is refused. Single-server
 * changes only: each one adds or removes at most one voter, so a majority of
 * the old voters and a majority of the new ones always share a node.
 */
export function applyChange(current: Membership, change: ConfChange): Membership | string {
  const { node } = change;
  if (!validId(node)) return `node ids are non-empty strings of at most ${nodeIdLengthMax} characters`;
  const voter = current.voters.includes(node);
  const learner = current.learners.includes(node);
  let next: Membership;
  switch (change.type) {
    case 'add-learner':
    case 'add-voter':
      if (voter || learner) return `${node} is already a ${voter ? 'voter' : 'learner'}`;
      if (current.voters.length + current.learners.length >= membersMax) return `the cluster already has ${membersMax} nodes`;
      next =
        change.type === 'add-voter'
          ? { voters: [...current.voters, node], learners: current.learners }
          : { voters: current.voters, learners: [...current.learners, node] };
      break;
    case 'promote-learner':
      if (!learner) return voter ? `${node} is already a voter` : `${node} is not a learner`;
      next = { voters: [...current.voters, node], learners: current.learners.filter((id) => id !== node) };
      break;
    case 'remove':
      if (!voter && !learner) return `${node} is not in the cluster`;
      if (voter && current.voters.length === 1) return `${node} is the last voter`;
      next = { voters: current.voters.filter((id) => id !== node), learners: current.learners.filter((id) => id !== node) };
      break;
  }
  assert(votersChanged(current.voters, next.voters) <= 1, 'a single-server change moves at most one voter');
  return next;
}

interface ConfigEntry {
  readonly index: number;
  readonly membership: Membership;
}

/** Config entries kept beyond the base; older committed ones fold into the base. */
const historyMax = 64;

/**
 * The configurations of one node's log: a base (in force at `baseIndex`, from
 * the host's peers or a snapshot) and the config entries after it, ascending.
 * The latest one is in force. Committed entries beyond `historyMax` fold into
 * the base, so memory stays bounded however many changes a cluster sees.
 */
export class ConfigHistory {
  private base: ConfigEntry;
  private readonly entries: ConfigEntry[] = [];

  constructor(base: Membership, baseIndex = 0) {
    this.base = { index: baseIndex, membership: base };
  }

  /** The configuration in force: the latest in the log. */
  current(): Membership {
    return (this.entries[this.entries.length - 1] ?? this.base).membership;
  }

  /** Index of the config entry in force (the base's index when the log holds none). */
  currentIndex(): number {
    return (this.entries[this.entries.length - 1] ?? this.base).index;
  }

  /** The configuration in force just before the latest one. */
  previous(): Membership {
    return (this.entries[this.entries.length - 2] ?? this.base).membership;
  }

  /** The configuration in force at `index` (the latest config entry at or before it). */
  at(index: number): Membership {
    assert(index >= this.base.index, `configuration at ${index} is not older than the base at ${this.base.index}`);
    for (let i = this.entries.length - 1; i >= 0; i--) if (this.entries[i]!.index <= index) return this.entries[i]!.membership;
    return this.base.membership;
  }

  /** The configuration before the config entry at `index`. */
  before(index: number): Membership {
    return this.at(index - 1);
  }

  /** Config entries after `index`, ascending. */
  since(index: number): readonly { readonly index: number; readonly membership: Membership }[] {
    return this.entries.filter((entry) => entry.index > index);
  }

  /** An entry was appended to the log: a config entry takes effect now. Returns true when the configuration changed. */
  appended(entry: Entry): boolean {
    if (entry.kind !== 'config') return false;
    assert(entry.index > this.currentIndex(), `config entry ${entry.index} follows ${this.currentIndex()}`);
    this.entries.push({ index: entry.index, membership: parseMembership(entry.data) });
    return true;
  }

  /** The log lost every entry from `index` on: their configurations no longer hold. Returns true when the configuration changed. */
  truncatedFrom(index: number): boolean {
    let dropped = false;
    while (this.entries.length > 0 && this.entries[this.entries.length - 1]!.index >= index) {
      this.entries.pop();
      dropped = true;
    }
    return dropped;
  }

  /** Folds committed config entries beyond `historyMax` into the base. */
  committed(commitIndex: number): void {
    while (this.entries.length > historyMax && this.entries[0]!.index <= commitIndex) this.base = this.entries.shift()!;
  }

  /** The log now starts after `index` (a snapshot holding `membership`): older history goes. */
  restore(index: number, membership: Membership): void {
    while (this.entries.length > 0 && this.entries[0]!.index <= index) this.entries.shift();
    this.base = { index, membership };
  }

  /** Voter majority of the configuration in force. */
  majority(): number {
    return voterMajority(this.current());
  }
}
