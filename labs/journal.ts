// The lab's cluster: the real engine (a Cluster on replica-lab) behind a Proxy
// that writes down every client request and fault made through it, with its
// outcome. Checks need to
// know what the person did ("a write sent to a follower was refused, naming
// the leader"; "a local read on the cut-off node returned idx 112"), which no
// cluster event says. The dashboard drives this proxy, so the person's keys
// land here; the autopilot drives it too.

import { raftCluster, type Cluster, type ReplicationEngine, type ExecuteOptions, JoinAs, LinkOptions, NodeId, Param, QueryOptions, ReplicationSettings, SnapshotPolicy } from '../cluster/index.js';
import { journalActionsMax, journalRowsMax } from './constants.js';
import type { Action, ActionBase, ActionError, NodeActionKind } from './types.js';

type Distribute<T> = T extends unknown ? Omit<T, keyof ActionBase> : never;
type ActionBody = Distribute<Action>;

export class Journal {
  private readonly list: Action[] = [];
  private seq = 0;
  /** Set while an autopilot runs, so its actions are told apart from a person's. */
  autopilot = false;

  actions(): readonly Action[] {
    return this.list;
  }

  count(): number {
    return this.seq;
  }

  /** The fields every action starts with, read from the cluster now. */
  base(cluster: Pick<ReplicationEngine, 'leader' | 'status'>): ActionBase {
    const leader = cluster.leader();
    const commit = leader === null ? null : (cluster.status().find((n) => n.id === leader)?.commitIndex ?? null);
    return { seq: ++this.seq, mono: performance.now(), wall: Date.now(), leader, leaderCommitIndex: commit, by: this.autopilot ? 'autopilot' : 'person' };
  }

  add(base: ActionBase, body: ActionBody): void {
    if (this.list.length >= journalActionsMax) this.list.shift();
    this.list.push({ ...base, ...body } as Action);
  }
}

/** A typed error's kind and message, and the leader a NotLeader names. */
export function actionError(error: unknown): ActionError {
  if (error instanceof Error) {
    const { kind, leader } = error as { kind?: unknown; leader?: unknown };
    return { kind: typeof kind === 'string' ? kind : 'error', message: error.message, leader: typeof leader === 'string' ? leader : null };
  }
  return { kind: 'error', message: String(error), leader: null };
}

/** The engine behind a Proxy that journals each request and fault; everything else passes through. */
export function recordingCluster<E extends ReplicationEngine>(cluster: E, journal: Journal): E {
  /** replica-lab's own API, for the wrappers of members only it has. */
  const raft = (): Cluster => {
    const found = raftCluster(cluster);
    if (found === null) throw new Error(`this needs the replica-lab engine, not ${cluster.engine}`);
    return found;
  };
  const nodeAction = (kind: NodeActionKind, run: (id: NodeId) => Promise<void> | void) => (id: NodeId) => {
    const base = journal.base(cluster);
    const done = (error: unknown): void => journal.add(base, { kind, node: id, error: error === null ? null : actionError(error).message });
    let result: Promise<void> | void;
    try {
      result = run(id);
    } catch (error) {
      done(error);
      throw error;
    }
    if (result === undefined) {
      done(null);
      return result;
    }
    return result.then(
      () => done(null),
      (error: unknown) => {
        done(error);
        throw error;
      },
    );
  };
  const membershipAction =
    (kind: 'promote-learner' | 'remove-node', run: (id: NodeId, options: { readonly timeoutMs?: number }) => Promise<void>) =>
    async (id: NodeId, options: { readonly timeoutMs?: number } = {}) => {
      const base = journal.base(cluster);
      try {
        await run(id, options);
        journal.add(base, { kind, node: id, endMono: performance.now(), error: null });
      } catch (error) {
        journal.add(base, { kind, node: id, endMono: performance.now(), error: actionError(error).message });
        throw error;
      }
    };
  const wrappers: Record<string, unknown> = {
    execute: async (sql: string, params: readonly Param[] = [], options: ExecuteOptions = {}) => {
      const base = journal.base(cluster);
      const record = { kind: 'execute' as const, sql, params: [...params], node: options.node ?? null, ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }) };
      try {
        const result = await cluster.execute(sql, params, options);
        journal.add(base, { ...record, endMono: performance.now(), outcome: { ok: true, ...result } });
        return result;
      } catch (error) {
        journal.add(base, { ...record, endMono: performance.now(), outcome: { ok: false, error: actionError(error) } });
        throw error;
      }
    },
    query: async (sql: string, params: readonly Param[] = [], options: QueryOptions = {}) => {
      const base = journal.base(cluster);
      const record = { kind: 'query' as const, sql, params: [...params], node: options.node ?? null, consistency: options.consistency ?? 'local', minIndex: options.minIndex ?? null };
      try {
        const result = await cluster.query(sql, params, options);
        const outcome = {
          ok: true as const,
          node: result.node,
          index: result.index,
          columns: result.columns,
          rows: result.rows.slice(0, journalRowsMax),
          latencyMs: result.latencyMs,
          ...(result.lease === true ? { lease: true as const } : {}),
        };
        journal.add(base, { ...record, endMono: performance.now(), outcome });
        return result;
      } catch (error) {
        journal.add(base, { ...record, endMono: performance.now(), outcome: { ok: false, error: actionError(error) } });
        throw error;
      }
    },
    kill: nodeAction('kill', (id) => cluster.kill(id)),
    restart: nodeAction('restart', (id) => cluster.restart(id)),
    pause: nodeAction('pause', (id) => cluster.pause(id)),
    resume: nodeAction('resume', (id) => cluster.resume(id)),
    promote: nodeAction('promote', (id) => cluster.promote(id)),
    transferLeadership: nodeAction('transfer', (id) => raft().transferLeadership(id)),
    partition: (groups: readonly (readonly NodeId[])[]) => {
      const base = journal.base(cluster);
      cluster.partition(groups);
      journal.add(base, { kind: 'partition', groups: groups.map((group) => [...group]) });
    },
    setLink: (from: NodeId, to: NodeId, options: LinkOptions) => {
      const base = journal.base(cluster);
      cluster.setLink(from, to, options);
      journal.add(base, { kind: 'link', from, to, options: { ...options } });
    },
    heal: () => {
      const base = journal.base(cluster);
      cluster.heal();
      journal.add(base, { kind: 'heal' });
    },
    setClockRate: (id: NodeId, rate: number) => {
      const base = journal.base(cluster);
      try {
        raft().setClockRate(id, rate);
        journal.add(base, { kind: 'clock', node: id, rate, error: null });
      } catch (error) {
        journal.add(base, { kind: 'clock', node: id, rate, error: actionError(error).message });
        throw error;
      }
    },
    addNode: async (options: { readonly as?: JoinAs; readonly timeoutMs?: number } = {}) => {
      const base = journal.base(cluster);
      const as = options.as ?? 'learner';
      try {
        const node = await raft().addNode(options);
        journal.add(base, { kind: 'add-node', as, node, endMono: performance.now(), error: null });
        return node;
      } catch (error) {
        journal.add(base, { kind: 'add-node', as, node: null, endMono: performance.now(), error: actionError(error).message });
        throw error;
      }
    },
    promoteLearner: membershipAction('promote-learner', (id, options) => raft().promoteLearner(id, options)),
    removeNode: membershipAction('remove-node', (id, options) => raft().removeNode(id, options)),
    setSnapshotPolicy: (change: Partial<Omit<SnapshotPolicy, 'segmentBytes' | 'intervalMsMin'>>) => {
      const base = journal.base(cluster);
      try {
        const policy = raft().setSnapshotPolicy(change);
        journal.add(base, { kind: 'snapshot-policy', change: { ...change }, error: null });
        return policy;
      } catch (error) {
        journal.add(base, { kind: 'snapshot-policy', change: { ...change }, error: actionError(error).message });
        throw error;
      }
    },
    snapshot: async (id: NodeId) => {
      const base = journal.base(cluster);
      try {
        const result = await raft().snapshot(id);
        journal.add(base, { kind: 'snapshot', node: id, error: null });
        return result;
      } catch (error) {
        journal.add(base, { kind: 'snapshot', node: id, error: actionError(error).message });
        throw error;
      }
    },
    setReplication: async (change: Partial<ReplicationSettings>) => {
      const base = journal.base(cluster);
      try {
        const settings = await cluster.setReplication(change);
        journal.add(base, { kind: 'replication', change: { ...change }, error: null });
        return settings;
      } catch (error) {
        journal.add(base, { kind: 'replication', change: { ...change }, error: actionError(error).message });
        throw error;
      }
    },
  };
  return new Proxy(cluster, {
    get(target, property) {
      if (typeof property === 'string' && Object.hasOwn(wrappers, property)) return wrappers[property];
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
