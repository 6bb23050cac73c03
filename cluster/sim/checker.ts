// Safety invariants, checked online after every step of the simulation. Each
// check is incremental (constant work per entry written or committed), so the
// simulator can afford to run them all the time.

import { votersChanged, type Entry, type NodeId } from '../core/index.js';

export type Invariant =
  | 'election-safety' // at most one leader per term
  | 'log-matching' // same index and term => same entry and same predecessor
  | 'leader-completeness' // a new leader holds every committed entry
  | 'committed-prefix' // the committed prefix is identical on every node
  | 'config-majorities' // no two majorities of configurations more than one voter apart in one term
  | 'state-machine' // nodes apply and roll back exactly the entries of their log
  | 'acknowledged-write-lost' // an acknowledged write is absent from the final committed log
  | 'liveness' // after healing, a leader and every write committed within a bound
  | 'convergence' // after settling, every node holds the same log
  | 'snapshot-uncommitted' // a snapshot holds an entry that is not the committed one
  | 'snapshot-state' // a state installed from a snapshot differs from the state by replay
  | 'core-assertion' // the core itself caught a broken invariant
  | 'stale-lease-read' // a lease read missed a write acknowledged before it was invoked
  | 'stale-read-index'; // a ReadIndex read missed a write acknowledged before it was invoked

export const invariants: readonly Invariant[] = [
  'election-safety',
  'log-matching',
  'leader-completeness',
  'committed-prefix',
  'config-majorities',
  'state-machine',
  'acknowledged-write-lost',
  'liveness',
  'convergence',
  'snapshot-uncommitted',
  'snapshot-state',
  'core-assertion',
  'stale-lease-read',
  'stale-read-index',
];

export interface Violation {
  readonly invariant: Invariant;
  readonly atMs: number;
  readonly detail: string;
}

/** Entries are keyed by (index, term); by log matching that pair names one entry cluster-wide. */
function entryKey(index: number, term: number): number {
  return index * 1_048_576 + term;
}

const violationsKeptMax = 20;
/** Terms whose last-used configuration is remembered. */
const termConfigsMax = 4096;

export class SafetyChecker {
  private readonly leaders = new Map<number, NodeId>();
  private readonly seen = new Map<number, { readonly data: string; readonly prevTerm: number }>();
  /** committed[i - 1] is the entry committed at index i, as the first node to commit it saw it. */
  readonly committed: Entry[] = [];
  /** The term in which each committed entry was first seen committed (the committing node's term). */
  private readonly commitTerms: number[] = [];
  readonly violations: Violation[] = [];
  now = 0;

  /** Per term: the voters last used to decide something (winning an election, committing). */
  private readonly termConfigs = new Map<number, { readonly node: NodeId; readonly voters: readonly NodeId[]; readonly what: string }>();

  report(invariant: Invariant, detail: string): void {
    if (this.violations.length < violationsKeptMax) this.violations.push({ invariant, atMs: this.now, detail });
  }

  /**
   * At most one leader per term; the new leader holds every entry committed
   * in an earlier term. (A leader of an old term can still be elected late,
   * e.g. a candidate paused mid-election counting its votes on resume; the
   * paper promises completeness only for leaders of later terms.)
   */
  leaderElected(node: NodeId, term: number, termAt: (index: number) => number): void {
    const previous = this.leaders.get(term);
    if (previous !== undefined && previous !== node) {
      this.report('election-safety', `${previous} and ${node} both led term ${term}`);
    }
    this.leaders.set(term, node);
    for (const entry of this.committed) {
      if (this.commitTerms[entry.index - 1]! >= term) continue;
      if (termAt(entry.index) !== entry.term) {
        this.report('leader-completeness', `${node} became leader of term ${term} without committed entry ${entry.index} (term ${entry.term})`);
        return;
      }
    }
  }

  /**
   * No two majorities of different configurations in one term. Within a term
   * each decision (a won election, a commit) counts a majority of some
   * configuration; two configurations that differ by at most one voter have
   * majorities that always share a node, so at most one side can decide. A
   * term's leader moves on to a configuration two voters away only through a
   * committed one in between (one change at a time), so each decision is
   * checked against the one before it in the same term. Terms are few and
   * each keeps one entry; old terms are dropped to bound memory.
   */
  configUsed(node: NodeId, term: number, voters: readonly NodeId[], what: string): void {
    const previous = this.termConfigs.get(term);
    if (previous !== undefined && votersChanged(previous.voters, voters) > 1) {
      this.report(
        'config-majorities',
        `in term ${term} ${previous.node} used voters ${previous.voters.join(',')} (${previous.what}) and ${node} voters ${voters.join(',')} (${what})`,
      );
    }
    this.termConfigs.set(term, { node, voters: [...voters], what });
    if (this.termConfigs.size > termConfigsMax) this.termConfigs.delete(this.termConfigs.keys().next().value!);
  }

  /** A leader appended a config entry: a single-server change moves at most one voter. */
  configAppended(node: NodeId, index: number, before: readonly NodeId[], after: readonly NodeId[]): void {
    if (votersChanged(before, after) > 1) {
      this.report('config-majorities', `${node} appended config ${index} with voters ${after.join(',')}, more than one voter from ${before.join(',')}`);
    }
  }

  /**
   * Every entry a node writes must agree with every other copy of the same
   * (index, term). A lagging node may still write a stale entry at an index
   * committed elsewhere: that is legal until it commits or leads with it.
   */
  entriesWritten(node: NodeId, entries: readonly Entry[], termAt: (index: number) => number): void {
    for (const entry of entries) {
      const prevTerm = termAt(entry.index - 1);
      const key = entryKey(entry.index, entry.term);
      const other = this.seen.get(key);
      if (other === undefined) this.seen.set(key, { data: entry.data, prevTerm });
      else if (other.data !== entry.data || other.prevTerm !== prevTerm) {
        this.report('log-matching', `${node} holds entry ${entry.index} of term ${entry.term} unlike another node's copy`);
      }
    }
  }

  /** A node in `term` moved its commit index from `from` to `to`: its entries there must match everyone's. */
  commitAdvanced(node: NodeId, term: number, from: number, to: number, entries: (lo: number, hi: number) => Entry[]): void {
    let index = from + 1;
    for (const entry of entries(from + 1, to + 1)) {
      const committed = this.committed[index - 1];
      if (committed === undefined) {
        if (index === this.committed.length + 1) {
          this.committed.push(entry);
          this.commitTerms.push(term);
        }
      } else if (committed.term !== entry.term || committed.data !== entry.data) {
        this.report('committed-prefix', `${node} committed entry ${index} of term ${entry.term}, another node committed term ${committed.term}`);
      }
      index++;
    }
  }
}
