// A node's side of `trace`: the supervisor arms a tag (over IPC) before the
// traced write; the write carries the tag as its client id, so the leader
// knows it when it proposes and each follower when the append holding it
// arrives (the core's Entry is unchanged). While a tag is armed, the host's
// hooks stamp each stage of that one entry with CLOCK_MONOTONIC. Nothing is
// recorded while no tag is armed, and at most `armedMax` are.

import type { Entry, Message, NodeId } from '../core/index.js';
import type { NodeStamp, NodeTraceRecord, PeerStamp } from '../trace/types.js';

/** Tags armed at once at most; an arm past that is refused. */
export const armedMax = 4;
/** An armed tag nobody asked about for this long is dropped (its supervisor went away mid-trace). */
const armedTtlUs = 120_000_000;
const tagPattern = /^trace-[0-9a-f]{8,32}$/;

/** CLOCK_MONOTONIC in microseconds: the same clock in every process of the machine. */
export function monotonicUs(): number {
  return Number(process.hrtime.bigint()) / 1_000;
}

export function traceTagProblem(tag: string): string | null {
  return tagPattern.test(tag) ? null : `a trace tag is 'trace-' and 8 to 32 hex digits, got ${JSON.stringify(tag.slice(0, 40))}`;
}

interface Traced {
  readonly tag: string;
  readonly armedAtUs: number;
  role: 'leader' | 'follower' | null;
  index: number | null;
  term: number | null;
  commitVia: 'append' | 'heartbeat' | null;
  /** Leader: the statement's text was new to it (its check did the once-per-text analysis); null before the check. */
  firstText: boolean | null;
  readonly stamps: Partial<Record<NodeStamp, number>>;
  readonly peers: Record<NodeId, Partial<Record<PeerStamp, number>>>;
  writing: boolean;
  applying: boolean;
}

export class TraceRecorder {
  private readonly traced = new Map<string, Traced>();
  /** When the client frame being handled arrived (stamped only while armed). */
  private clientFrameUs = 0;

  constructor(
    private readonly id: NodeId,
    private readonly pid: number,
    private readonly fsync: boolean,
  ) {}

  get armed(): boolean {
    return this.traced.size > 0;
  }

  arm(tag: string): string | null {
    const now = monotonicUs();
    for (const [key, t] of this.traced) if (now - t.armedAtUs > armedTtlUs) this.traced.delete(key);
    if (this.traced.has(tag)) return null;
    if (this.traced.size >= armedMax) return `${this.id} is already tracing ${armedMax} writes; wait for them to finish`;
    this.traced.set(tag, { tag, armedAtUs: now, role: null, index: null, term: null, commitVia: null, firstText: null, stamps: {}, peers: {}, writing: false, applying: false });
    return null;
  }

  disarm(tag: string): void {
    this.traced.delete(tag);
  }

  report(tag: string): NodeTraceRecord | null {
    const t = this.traced.get(tag);
    if (t === undefined) return null;
    const record = { node: this.id, pid: this.pid, tag, role: t.role, index: t.index, term: t.term, fsync: this.fsync, commitVia: t.commitVia, stamps: { ...t.stamps }, peers: structuredClone(t.peers) };
    return t.firstText === null ? record : { ...record, firstText: t.firstText };
  }

  // -------------------------------------------------------------------------
  // Hooks (the host calls them only while `armed`)

  clientFrame(): void {
    this.clientFrameUs = monotonicUs();
  }

  /** The leader took a client write: true when it is a traced one (then `proposed` follows). */
  executing(client: string | null): boolean {
    if (client === null) return false;
    const t = this.traced.get(client);
    if (t === undefined || t.role !== null) return false;
    t.stamps.receive = this.clientFrameUs;
    return true;
  }

  validated(client: string, firstText: boolean): void {
    const t = this.traced.get(client);
    if (t === undefined) return;
    t.stamps.validated = monotonicUs();
    t.firstText = firstText;
  }

  proposed(client: string, index: number, term: number): void {
    const t = this.traced.get(client);
    if (t === undefined) return;
    t.stamps.appended = monotonicUs();
    t.role = 'leader';
    t.index = index;
    t.term = term;
  }

  /** Raft messages as they arrive, before the core steps them. */
  raftIn(messages: readonly Message[]): void {
    const now = monotonicUs();
    for (const t of this.traced.values()) {
      for (const m of messages) {
        if (t.role === null && m.type === 'append') {
          const entry = m.entries.find((e) => e.client === t.tag);
          if (entry !== undefined) {
            t.role = 'follower';
            t.index = entry.index;
            t.term = entry.term;
            t.stamps.receive = now;
          }
        }
        if (t.index === null) continue;
        if (t.role === 'follower' && (m.type === 'append' || m.type === 'heartbeat') && m.commit >= t.index && t.stamps['commit-learned'] === undefined) {
          t.stamps['commit-learned'] = now;
          t.commitVia = m.type;
        }
        if (t.role === 'leader' && (m.type === 'append-resp' || m.type === 'heartbeat-resp') && !(m.type === 'append-resp' && m.reject)) {
          const peer = (t.peers[m.from] ??= {});
          if (m.positions.received >= t.index) peer['ack-received'] ??= now;
          if (m.positions.flushed >= t.index) peer['ack-flushed'] ??= now;
          if (m.positions.applied >= t.index) peer['ack-applied'] ??= now;
        }
      }
    }
  }

  /** Raft messages as they leave (handed to the links). */
  raftOut(messages: readonly Message[]): void {
    const now = monotonicUs();
    for (const t of this.traced.values()) {
      const index = t.index;
      if (index === null) continue;
      for (const m of messages) {
        if (t.role === 'leader') {
          if (m.type !== 'append' && m.type !== 'heartbeat') continue;
          const peer = (t.peers[m.to] ??= {});
          if (m.type === 'append' && m.entries.some((e) => e.index === index)) peer['append-sent'] ??= now;
          if (m.commit >= index) peer['commit-sent'] ??= now;
        } else if (m.type === 'append-resp' || m.type === 'heartbeat-resp') {
          if (m.type === 'append-resp' && m.reject) continue;
          if (m.positions.received >= index) t.stamps['ack-sent-received'] ??= now;
          if (m.positions.flushed >= index) t.stamps['ack-sent-flushed'] ??= now;
          if (m.positions.applied >= index) t.stamps['ack-sent-applied'] ??= now;
        }
      }
    }
  }

  beforeWrite(entries: readonly Entry[]): void {
    for (const t of this.traced.values()) {
      if (t.index !== null && t.stamps['wal-write-start'] === undefined && entries.some((e) => e.index === t.index)) {
        t.writing = true;
        t.stamps['wal-write-start'] = monotonicUs();
      }
    }
  }

  afterWrite(): void {
    for (const t of this.traced.values()) {
      if (!t.writing) continue;
      t.writing = false;
      t.stamps['wal-write-end'] = monotonicUs();
    }
  }

  /** A flush is running: the written entry waits for the next group-commit round. */
  flushQueued(): void {
    for (const t of this.traced.values()) {
      if (t.stamps['wal-write-end'] !== undefined && t.stamps['fsync-start'] === undefined) t.stamps['fsync-queued'] ??= monotonicUs();
    }
  }

  /** A group-commit round starts that covers the log up to `lastIndex`. */
  flushStarted(lastIndex: number): void {
    for (const t of this.traced.values()) {
      if (t.index !== null && t.index <= lastIndex && t.stamps['wal-write-end'] !== undefined && t.stamps['fsync-start'] === undefined) t.stamps['fsync-start'] = monotonicUs();
    }
  }

  flushed(durableIndex: number): void {
    for (const t of this.traced.values()) {
      if (t.index !== null && durableIndex >= t.index && t.stamps['fsync-start'] !== undefined && t.stamps['fsync-end'] === undefined) t.stamps['fsync-end'] = monotonicUs();
    }
  }

  commitIndex(commit: number): void {
    for (const t of this.traced.values()) {
      if (t.role === 'leader' && t.index !== null && commit >= t.index && t.stamps.commit === undefined) t.stamps.commit = monotonicUs();
    }
  }

  beforeApply(entries: readonly Entry[]): void {
    for (const t of this.traced.values()) {
      if (t.index !== null && t.stamps['apply-start'] === undefined && entries.some((e) => e.index === t.index)) {
        t.applying = true;
        t.stamps['apply-start'] = monotonicUs();
      }
    }
  }

  afterApply(): void {
    for (const t of this.traced.values()) {
      if (!t.applying) continue;
      t.applying = false;
      t.stamps['apply-end'] = monotonicUs();
    }
  }

  replied(index: number): void {
    for (const t of this.traced.values()) if (t.role === 'leader' && t.index === index) t.stamps.reply ??= monotonicUs();
  }

  /** The loop's replies went to their channels. */
  outputFlushed(): void {
    for (const t of this.traced.values()) {
      if (t.stamps.reply !== undefined && t.stamps['reply-sent'] === undefined) t.stamps['reply-sent'] = monotonicUs();
    }
  }
}
