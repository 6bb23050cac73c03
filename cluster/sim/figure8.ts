// The Raft paper's Figure 8, replayed on five copies of the real consensus
// core, one event per step: a message delivered or lost, or a scripted action
// (a crash, a restart, a campaign). Nothing here is animated from a script of
// outcomes: the script says who crashes and which links carry messages, and
// the cores decide everything else (votes, what is appended, what commits).
// The simulator's SafetyChecker watches every commit, so with the unsafe rule
// (commit an earlier term's entry by counting replicas) it names the violation
// the figure warns about, and with the paper's rule it finds none.
//
// One difference from the figure, said in the captions: this core appends a
// no-op when it wins an election (the paper's §8) and ships it in the same
// append as older entries. In panel (c) the followers therefore receive index
// 3 together with index 2; their disks are slow, so index 3 is not yet
// durable when the power goes, which recreates the paper's panel (d).

import { RaftCore, entryBytes, type CoreConfig, type Entry, type HardState, type Message, type NodeId, type Role } from '../core/index.js';
import { SafetyChecker, type Violation } from './checker.js';

/** `safe`: the paper's rule. `unsafe`: commit-previous-term by counting. `current-term-first`: the paper's (e). */
export type Figure8Variant = 'safe' | 'unsafe' | 'current-term-first';
export const figure8Variants: readonly Figure8Variant[] = ['safe', 'unsafe', 'current-term-first'];

export const figure8Nodes: readonly NodeId[] = ['n1', 'n2', 'n3', 'n4', 'n5'];

/** The index whose fate the figure is about. */
export const figure8Index = 2;

export interface ReplayEntryView {
  readonly index: number;
  readonly term: number;
  /** On this node's disk (false: written, its fsync still running). */
  readonly durable: boolean;
}

export interface ReplayNodeView {
  readonly id: NodeId;
  readonly up: boolean;
  readonly role: Role | null;
  readonly term: number;
  readonly vote: NodeId | null;
  readonly commitIndex: number;
  readonly log: readonly ReplayEntryView[];
}

export type ReplayStepKind = 'action' | 'deliver' | 'lose' | 'scene';

export interface ReplayStep {
  /** 1-based count of steps taken. */
  readonly number: number;
  readonly kind: ReplayStepKind;
  readonly text: string;
}

export interface ReplayFrame {
  readonly variant: Figure8Variant;
  /** The paper's panel, (a) to (d)/(e), and what it shows. */
  readonly scene: string;
  readonly sceneIndex: number;
  readonly scenes: number;
  /** The newest steps, oldest first (bounded). */
  readonly steps: readonly ReplayStep[];
  readonly nodes: readonly ReplayNodeView[];
  /** Messages sent and not yet delivered or lost. */
  readonly inFlight: number;
  readonly violations: readonly Violation[];
  readonly done: boolean;
}

/** What the replay measured, for a lab's check and debrief. */
export interface Figure8Facts {
  readonly variant: Figure8Variant;
  readonly steps: number;
  readonly done: boolean;
  /** Most nodes that held index 2 of term 2 on disk at one time, and who they were. */
  readonly term2Holders: readonly NodeId[];
  /** Who counted index 2 of term 2 as committed (by the leader of term 4), or null. */
  readonly term2CommittedBy: NodeId | null;
  /** The term of the entry at index 2 that the last leader committed, or null. */
  readonly finalTermAtIndex2: number | null;
  /** The term n5 led in the end, or null when it never won again. */
  readonly n5LedTerm: number | null;
  /** The last term n1 led (term 4 in the figure), or null. */
  readonly n1LedTerm: number | null;
  /** Each node's last log entry's term when the replay ended (0: an empty log). */
  readonly lastLogTerms: Readonly<Record<NodeId, number>>;
  /** n5's last election: who refused it and why ("n2: log-behind"). */
  readonly n5Denials: readonly string[];
  readonly violations: readonly Violation[];
}

interface Host {
  core: RaftCore | null;
  /** The log as written (memory and disk). */
  log: Entry[];
  /** How much of `log` is on disk. */
  durable: number;
  hardState: HardState;
  /** The state machine (durable, like SQLite). */
  applied: Entry[];
  /** Entries at or above this index wait for a slow disk; null: every write is flushed at once. */
  slowFrom: number | null;
  lastCommit: number;
}

interface Scene {
  readonly title: string;
  readonly actions: readonly { readonly text: string; readonly run: (replay: Figure8Replay) => void }[];
  /** Whether a message of this scene crosses its link; the reason when it is lost. */
  readonly lost: (m: Message) => string | null;
}

const stepsKeptMax = 200;
const stepsMax = 1_000;

function initialLog(): Entry[] {
  const data = 'x=1';
  return [{ index: 1, term: 1, lsn: entryBytes('sql', data, undefined), kind: 'sql', data }];
}

function coreConfig(id: NodeId, variant: Figure8Variant): CoreConfig {
  return {
    id,
    peers: figure8Nodes,
    electionTicks: [10, 20],
    heartbeatTicks: 2,
    failover: 'raft',
    fencing: true,
    preVote: false,
    checkQuorum: false,
    seed: 8,
    replication: { mode: 'quorum', ackLevel: 'flushed', quorum: null, syncStandbys: null, syncTimeoutTicks: null, syncFallback: 'block' },
    ...(variant === 'unsafe' ? { unsafe: { commitPreviousTermByCount: true } } : {}),
  };
}

export function describeMessage(m: Message): string {
  const head = `${m.from} → ${m.to}`;
  switch (m.type) {
    case 'vote':
      return `${head} vote request, term ${m.term}, last entry ${m.lastIndex}:t${m.lastTerm}`;
    case 'vote-resp':
      return `${head} vote ${m.granted ? 'granted' : `denied (${m.reason ?? 'no reason'})`}, term ${m.term}`;
    case 'append': {
      const entries = m.entries.length === 0 ? 'no entries' : `entries ${m.entries.map((e) => `${e.index}:t${e.term}`).join(' ')}`;
      return `${head} append, term ${m.term}, prev ${m.prevIndex}:t${m.prevTerm}, ${entries}, commit ${m.commit}`;
    }
    case 'append-resp':
      return m.reject
        ? `${head} append rejected, term ${m.term}: no match at ${m.index} (hint ${m.hintIndex}:t${m.hintTerm})`
        : `${head} append accepted, term ${m.term}: has up to ${m.index}, on disk up to ${m.positions.flushed}`;
    case 'heartbeat':
      return `${head} heartbeat, term ${m.term}, commit ${m.commit}`;
    case 'heartbeat-resp':
      return `${head} heartbeat reply, term ${m.term}`;
    case 'timeout-now':
      return `${head} timeout-now, term ${m.term}`;
    default:
      return `${head} ${(m as Message).type}`;
  }
}

export class Figure8Replay {
  readonly variant: Figure8Variant;
  readonly checker = new SafetyChecker();
  private readonly hosts = new Map<NodeId, Host>();
  private queue: Message[] = [];
  private readonly scenes: readonly Scene[];
  private sceneIndex = -1;
  private actionIndex = 0;
  private stepCount = 0;
  private readonly steps: ReplayStep[] = [];
  private term2HoldersMax: NodeId[] = [];
  private term2CommittedBy: NodeId | null = null;
  private n5LedTerm: number | null = null;
  private n1LedTerm: number | null = null;
  private n5Denials: { term: number; denials: string[] } = { term: 0, denials: [] };

  constructor(variant: Figure8Variant) {
    this.variant = variant;
    for (const id of figure8Nodes) {
      const log = initialLog();
      const hardState: HardState = { term: 1, vote: null };
      const host: Host = { core: null, log, durable: log.length, hardState, applied: [...log], slowFrom: null, lastCommit: 0 };
      this.hosts.set(id, host);
      this.boot(id);
    }
    this.scenes = this.script();
  }

  // -------------------------------------------------------------------------
  // The script: who crashes, who campaigns, which links carry messages.

  private script(): Scene[] {
    const slowDisks = this.variant !== 'current-term-first';
    const only = (from: NodeId, to: readonly NodeId[], why: string) => (m: Message) =>
      m.from === from && (m.type === 'append' || m.type === 'heartbeat') && !to.includes(m.to) ? why : null;
    return [
      {
        title: '(a) n1 leads term 2 and replicates index 2 to n2 only',
        actions: [{ text: 'n1 campaigns', run: (r) => r.campaign('n1') }],
        lost: only('n1', ['n2'], 'n1 reaches only n2 before it crashes'),
      },
      {
        title: '(b) n1 crashes; n5 wins term 3 with votes from n3, n4 and itself, and appends a different index 2',
        actions: [
          { text: 'n1 crashes', run: (r) => r.crash('n1') },
          { text: 'n5 campaigns', run: (r) => r.campaign('n5') },
        ],
        lost: only('n5', [], 'n5 crashes before its appends leave'),
      },
      {
        title: slowDisks
          ? '(c) n5 crashes; n1 restarts, wins term 4 and copies index 2 to n3 (n2 has had it since (a)): index 2 is on a majority (n1, n2, n3)'
          : '(e) as (c), but the disks of n2 and n3 are fast: the term-4 entry reaches a majority too',
        actions: [
          { text: 'n5 crashes', run: (r) => r.crash('n5') },
          { text: 'n1 restarts (its log: 1:t1 2:t2)', run: (r) => r.restart('n1') },
          ...(slowDisks
            ? [{ text: 'n2 and n3 get slow disks: what they write from index 3 on stays unflushed', run: (r: Figure8Replay) => r.slowDisks(['n2', 'n3'], 3) }]
            : []),
          { text: 'n1 campaigns (term 3: n3 and n4 already voted for n5 in it)', run: (r) => r.campaign('n1') },
          { text: 'n1 campaigns again', run: (r) => r.campaignUnlessLeader('n1') },
        ],
        lost: only('n1', ['n2', 'n3'], 'n1 reaches only n2 and n3 before it crashes'),
      },
      {
        title: slowDisks
          ? '(d) n1 crashes, and a power cut takes n2 and n3 before index 3 is on their disks; n5 wins term 5 with votes from n2, n3, n4'
          : '(e) n1 crashes; n5 restarts and campaigns, but n2 and n3 hold index 3 of term 4 and refuse it',
        actions: [
          { text: 'n1 crashes', run: (r) => r.crash('n1') },
          { text: slowDisks ? 'n2 and n3 lose power: what was not on their disks is gone' : 'n2 and n3 lose power too (their disks held everything)', run: (r) => (r.crash('n2'), r.crash('n3')) },
          { text: 'n2, n3 and n5 restart', run: (r) => (r.restart('n2'), r.restart('n3'), r.restart('n5')) },
          { text: 'n5 campaigns (term 4: the others voted for n1 in it)', run: (r) => r.campaign('n5') },
          { text: 'n5 campaigns again', run: (r) => r.campaignUnlessLeader('n5') },
        ],
        lost: () => null,
      },
    ];
  }

  // -------------------------------------------------------------------------
  // Stepping

  /** Takes one step; false once the replay is over. */
  next(): boolean {
    if (this.isDone()) return false;
    this.stepCount++;
    const scene = this.scenes[this.sceneIndex];
    // A message in flight goes first: the scene plays out before the next action.
    if (scene !== undefined && this.queue.length > 0) {
      const m = this.queue.shift()!;
      const host = this.hosts.get(m.to)!;
      const lost = host.core === null ? `${m.to} is down` : (this.hosts.get(m.from)!.core === null ? `${m.from} crashed` : scene.lost(m));
      if (lost !== null) this.record('lose', `lost: ${describeMessage(m)} (${lost})`);
      else {
        this.record('deliver', describeMessage(m));
        host.core!.step(m);
        this.drain(m.to);
      }
      return true;
    }
    if (scene !== undefined && this.actionIndex < scene.actions.length) {
      const action = scene.actions[this.actionIndex++]!;
      this.record('action', action.text);
      action.run(this);
      for (const id of figure8Nodes) this.drain(id);
      return true;
    }
    this.sceneIndex++;
    this.actionIndex = 0;
    const next = this.scenes[this.sceneIndex];
    if (next !== undefined) this.record('scene', next.title);
    return true;
  }

  /** Steps to the end; returns the number of steps taken. */
  runToEnd(): number {
    let taken = 0;
    while (this.next()) taken++;
    return taken;
  }

  /** The script has run out (a violation does not stop it: the overwrite it allows should be seen). */
  isDone(): boolean {
    if (this.stepCount >= stepsMax) return true;
    const last = this.sceneIndex === this.scenes.length - 1;
    return last && this.queue.length === 0 && this.actionIndex >= this.scenes[this.sceneIndex]!.actions.length;
  }

  frame(): ReplayFrame {
    const scene = this.scenes[Math.max(0, this.sceneIndex)]!;
    return {
      variant: this.variant,
      scene: this.sceneIndex < 0 ? 'before (a): every node holds index 1 of term 1' : scene.title,
      sceneIndex: Math.max(0, this.sceneIndex),
      scenes: this.scenes.length,
      steps: [...this.steps],
      nodes: figure8Nodes.map((id) => this.nodeView(id)),
      inFlight: this.queue.length,
      violations: [...this.checker.violations],
      done: this.isDone(),
    };
  }

  facts(): Figure8Facts {
    const finalLeader = figure8Nodes.map((id) => this.hosts.get(id)!).find((h) => h.core?.getRole() === 'leader');
    const finalTerm = finalLeader?.core !== null && finalLeader !== undefined && finalLeader.core.getCommitIndex() >= figure8Index ? finalLeader.core.termAt(figure8Index) : null;
    return {
      variant: this.variant,
      steps: this.stepCount,
      done: this.isDone(),
      term2Holders: [...this.term2HoldersMax],
      term2CommittedBy: this.term2CommittedBy,
      finalTermAtIndex2: finalTerm,
      n5LedTerm: this.n5LedTerm,
      n1LedTerm: this.n1LedTerm,
      lastLogTerms: Object.fromEntries(figure8Nodes.map((id) => [id, this.hosts.get(id)!.log.at(-1)?.term ?? 0])),
      n5Denials: [...this.n5Denials.denials],
      violations: [...this.checker.violations],
    };
  }

  // -------------------------------------------------------------------------
  // Actions

  private campaign(id: NodeId): void {
    // promote() under Raft failover starts an election at once, which the log must still win.
    this.hosts.get(id)!.core!.promote();
  }

  private campaignUnlessLeader(id: NodeId): void {
    if (this.hosts.get(id)!.core?.getRole() !== 'leader') this.campaign(id);
  }

  private crash(id: NodeId): void {
    const host = this.hosts.get(id)!;
    host.core = null;
    host.log = host.log.slice(0, host.durable);
    host.slowFrom = null;
  }

  private restart(id: NodeId): void {
    this.boot(id);
  }

  private slowDisks(ids: readonly NodeId[], from: number): void {
    for (const id of ids) this.hosts.get(id)!.slowFrom = from;
  }

  private boot(id: NodeId): void {
    const host = this.hosts.get(id)!;
    host.log = host.log.slice(0, host.durable);
    host.core = new RaftCore(coreConfig(id, this.variant), { hardState: host.hardState, snapshot: null, entries: host.log, appliedIndex: host.applied.length });
    host.lastCommit = 0;
  }

  // -------------------------------------------------------------------------
  // The host loop of one node: persist, write, flush, send, roll back, apply.

  private drain(id: NodeId): void {
    const host = this.hosts.get(id)!;
    const core = host.core;
    if (core === null) return;
    while (core.hasReady()) {
      const rd = core.ready();
      if (rd.hardState !== null) host.hardState = rd.hardState;
      if (rd.writeFrom !== null) {
        host.log.length = rd.writeFrom - 1;
        host.durable = Math.min(host.durable, host.log.length);
        host.log.push(...rd.entries);
        this.checker.entriesWritten(id, rd.entries, (i) => core.termAt(i));
      }
      this.queue.push(...rd.messages);
      for (const entry of rd.rollback) {
        const undone = host.applied.pop();
        if (undone?.index !== entry.index) throw new Error(`${id} rolls back ${entry.index} but last applied ${undone?.index}`);
      }
      host.applied.push(...rd.apply);
      for (const event of rd.events) {
        if (event.type === 'leader-elected') {
          this.checker.leaderElected(event.node, event.term, (i) => core.termAt(i));
          if (event.node === 'n5' && event.term > 3) this.n5LedTerm = event.term;
          if (event.node === 'n1') this.n1LedTerm = event.term;
        } else if (event.type === 'vote-denied' && event.candidate === 'n5' && !event.pre) {
          if (event.term > this.n5Denials.term) this.n5Denials = { term: event.term, denials: [] };
          if (event.term === this.n5Denials.term) this.n5Denials.denials.push(`${event.node}: ${event.reason}`);
        }
      }
      core.advance();
      // Entry by entry, as a disk that fsyncs each record: a slow disk holds back the tail.
      while (host.durable < host.log.length && (host.slowFrom === null || host.durable + 1 < host.slowFrom)) {
        host.durable++;
        const entry = host.log[host.durable - 1]!;
        core.persisted(entry.index, entry.term);
      }
      this.noteCommit(id, host, core);
    }
    this.noteHolders();
  }

  private noteCommit(id: NodeId, host: Host, core: RaftCore): void {
    const commit = core.getCommitIndex();
    if (commit <= host.lastCommit) return;
    this.checker.commitAdvanced(id, core.getTerm(), host.lastCommit, commit, (lo, hi) => core.entries(lo, hi));
    if (host.lastCommit < figure8Index && commit >= figure8Index && core.termAt(figure8Index) === 2 && core.getRole() === 'leader' && this.term2CommittedBy === null) {
      this.term2CommittedBy = id;
    }
    host.lastCommit = commit;
  }

  private noteHolders(): void {
    const holders = figure8Nodes.filter((id) => {
      const host = this.hosts.get(id)!;
      return host.durable >= figure8Index && host.log[figure8Index - 1]?.term === 2;
    });
    if (holders.length > this.term2HoldersMax.length) this.term2HoldersMax = holders;
  }

  private nodeView(id: NodeId): ReplayNodeView {
    const host = this.hosts.get(id)!;
    const core = host.core;
    return {
      id,
      up: core !== null,
      role: core?.getRole() ?? null,
      term: core?.getTerm() ?? host.hardState.term,
      vote: host.hardState.vote,
      commitIndex: core?.getCommitIndex() ?? 0,
      log: host.log.map((e, i) => ({ index: e.index, term: e.term, durable: i < host.durable })),
    };
  }

  private record(kind: ReplayStepKind, text: string): void {
    this.steps.push({ number: this.stepCount, kind, text });
    if (this.steps.length > stepsKeptMax) this.steps.shift();
  }
}
