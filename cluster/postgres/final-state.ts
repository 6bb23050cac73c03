// The end of a nemesis run on PostgreSQL (cluster/supervisor/nemesis.ts):
// settle the servers, then record the final state in the history so the
// unchanged checker (cluster/check) can judge it.
//
// replica-lab reads its committed log from a stopped node's WAL; PostgreSQL's
// WAL holds no row data a tool here can read back. So before the workload
// starts the nemesis adds `kv_writes`, filled by a trigger on `kv` in the same
// transaction as each write: a row there exists exactly when that write
// committed on the primary's line of history (a write pg_rewind removes goes
// with its row). After the run:
//
// - settle: heal, resume, restart every server (an old primary is rewound);
//   with manual failover promote the most advanced standby after a second
//   without a primary; kill and restart a server that does not follow the
//   primary's timeline for 5 s (a stray old primary, a standby on a dead
//   timeline); until every standby streams on the primary's timeline and has
//   replayed past the primary's flush LSN.
// - `final` per server: a checksum of its kv rows and the rows themselves;
//   appliedIndex is the primary's flush LSN every server had replayed (so
//   two servers with different rows are divergent, not "behind").
// - `log` and `committed`: kv_writes as the primary holds it.
// - `rolled-back`: the acknowledged writes the engine confirmed in what
//   pg_rewind removed (lostWrites(): their COMMIT records in pg_waldump of the
//   rewound WAL), with key and value from the history's acknowledgements.
//
// Everything here goes through the engine seam (execute, query, status,
// restart, promote, lostWrites), so it is tested with a stand-in.

import type { NodeId } from '../core/index.js';
import type { Param } from '../protocol.js';
import type { CommittedRecord, FinalRecord, HistoryRecord, LogRecord, RolledBackRecord } from '../check/records.js';
import { forEachRecord } from '../check/file.js';
import type { ReplicationEngine } from '../engine.js';
import { appendToFile } from '../supervisor/files.js';
import { finalRowsMax } from '../supervisor/constants.js';

/** The committed log of a nemesis run on PostgreSQL: one row per committed workload write, added by a trigger in the write's own transaction. */
export const pgWriteLogSql: readonly string[] = [
  'CREATE TABLE IF NOT EXISTS kv_writes (idx BIGINT NOT NULL, tli INT NOT NULL, k TEXT NOT NULL, v TEXT)',
  // The timeline as the engine reads it for an acknowledgement's term (cluster.ts commitBoundSql).
  `CREATE OR REPLACE FUNCTION kv_record_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO kv_writes(idx, tli, k, v) VALUES (NEW.idx, ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int, NEW.k, NEW.v);
  RETURN NULL;
END $$`,
  'DROP TRIGGER IF EXISTS kv_record_write ON kv',
  'CREATE TRIGGER kv_record_write AFTER INSERT OR UPDATE ON kv FOR EACH ROW EXECUTE FUNCTION kv_record_write()',
];

/** Adds kv_writes and its trigger on the primary (it replicates to the standbys). */
export async function addWriteLog(engine: Pick<ReplicationEngine, 'execute'>): Promise<void> {
  for (const sql of pgWriteLogSql) await engine.execute(sql, [], { timeoutMs: 10_000 });
}

/** What one server said when asked (null fields: it did not answer). */
export interface PgServerState {
  readonly id: NodeId;
  readonly up: boolean;
  readonly paused: boolean;
  /** pg_is_in_recovery(); null when it did not answer. */
  readonly recovery: boolean | null;
  /** A standby: pg_stat_wal_receiver's timeline and status; a primary: its own timeline. */
  readonly timeline: number | null;
  readonly receiver: string | null;
  /** A standby: pg_last_wal_replay_lsn(); a primary: pg_current_wal_flush_lsn(). In bytes. */
  readonly position: number | null;
}

export const stateSql = `SELECT pg_is_in_recovery() AS recovery,
  CASE WHEN pg_is_in_recovery() THEN (SELECT received_tli FROM pg_stat_wal_receiver)
       ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END AS timeline,
  (SELECT status FROM pg_stat_wal_receiver) AS receiver,
  (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_flush_lsn() END - '0/0'::pg_lsn)::bigint AS position`;

/** A server that does not follow the primary: not in recovery (a second primary), or not streaming on the primary's timeline. Null: it follows. */
export function notFollowing(state: PgServerState, primary: PgServerState): string | null {
  if (!state.up || state.paused) return null; // restarted or resumed elsewhere
  if (state.recovery === null) return 'does not answer';
  if (!state.recovery) return 'runs as a primary too';
  if (state.receiver !== 'streaming') return `is not streaming (${state.receiver ?? 'no walreceiver'})`;
  if (state.timeline !== primary.timeline) return `streams timeline ${String(state.timeline)}, the primary is on ${String(primary.timeline)}`;
  return null;
}

/**
 * Why the servers have not settled, or null once they have: every server up
 * and answering, the leader a primary, every other one a standby streaming on
 * the primary's timeline and replayed up to `target` (the primary's flush LSN).
 */
export function pgUnsettled(states: readonly PgServerState[], leader: NodeId | null, target: number | null): string | null {
  const down = states.filter((s) => !s.up || s.paused);
  if (down.length > 0) return `${down.map((s) => s.id).join(', ')} not running`;
  const primary = states.find((s) => s.id === leader);
  if (primary === undefined) return 'no primary';
  if (primary.recovery !== false || target === null) return `${primary.id} does not answer as a primary`;
  const problems: string[] = [];
  for (const state of states) {
    if (state.id === primary.id) continue;
    const why = notFollowing(state, primary);
    if (why !== null) problems.push(`${state.id} ${why}`);
    else if (state.position === null || state.position < target) problems.push(`${state.id} replayed ${String(state.position)} of ${target}`);
  }
  return problems.length === 0 ? null : problems.join('; ');
}

export interface PgSettleResult {
  readonly settled: boolean;
  readonly leader: NodeId | null;
  readonly waitedMs: number;
  readonly detail: string;
  /** The primary's flush LSN every standby had replayed; null when not settled. */
  readonly target: number | null;
  /** What settling did besides waiting: restarts, promotions, a stray server killed and rewound. */
  readonly actions: readonly string[];
}

/** Asks every running server its state (never throws: a server that does not answer has null fields). */
export async function askServers(engine: Pick<ReplicationEngine, 'status' | 'query'>): Promise<PgServerState[]> {
  return Promise.all(
    engine.status().map(async (node): Promise<PgServerState> => {
      const base = { id: node.id, up: node.up, paused: node.paused, recovery: null, timeline: null, receiver: null, position: null };
      if (!node.up || node.paused) return base;
      try {
        const row = (await engine.query(stateSql, [], { node: node.id, consistency: 'local', timeoutMs: 2_000 })).rows[0] ?? {};
        const num = (value: unknown): number | null => (typeof value === 'number' ? value : typeof value === 'string' && value !== '' ? Number(value) : null);
        return { ...base, recovery: row['recovery'] === true ? true : row['recovery'] === false ? false : null, timeline: num(row['timeline']), receiver: typeof row['receiver'] === 'string' ? row['receiver'] : null, position: num(row['position']) };
      } catch {
        return base;
      }
    }),
  );
}

/** How long a server may fail to follow the primary before settling kills and restarts it (a rejoin after a rewind takes a second or two). */
const strayMs = 5_000;
const actionsMax = 100;

/**
 * Undoes every fault and waits until the servers have settled (pgUnsettled).
 * With manual failover nobody promotes, so after a second without a primary
 * it promotes the running standby that has received the most WAL, as an
 * operator would; with the failover manager it waits for the manager.
 */
export async function settlePostgres(
  engine: Pick<ReplicationEngine, 'status' | 'query' | 'leader' | 'heal' | 'resume' | 'restart' | 'kill' | 'promote'>,
  options: { readonly timeoutMs: number; readonly manualFailover: boolean; readonly strayMs?: number },
): Promise<PgSettleResult> {
  const started = performance.now();
  const actions: string[] = [];
  const act = (what: string): void => {
    if (actions.length < actionsMax) actions.push(what);
  };
  engine.heal();
  let leaderlessSince = performance.now();
  const strayingSince = new Map<NodeId, number>();
  /** The last failed restart of each server, said if it does not settle. */
  const failures = new Map<NodeId, string>();
  let detail = 'not checked yet';
  while (performance.now() - started < options.timeoutMs) {
    for (const node of engine.status()) {
      if (node.paused) engine.resume(node.id);
      if (!node.up) {
        // A standby that must be rewound needs a primary up: it is tried again next round.
        await engine.restart(node.id).then(
          () => (failures.delete(node.id), act(`${node.id} restarted`)),
          (error: unknown) => failures.set(node.id, `${node.id} would not restart: ${firstLine(error)}`),
        );
      }
    }
    const leader = engine.leader();
    const states = await askServers(engine);
    if (leader === null) {
      detail = ['no primary', ...failures.values()].join('; ');
      if (options.manualFailover && performance.now() - leaderlessSince > 1_000) {
        const best = states.filter((s) => s.recovery === true).sort((a, b) => (b.position ?? 0) - (a.position ?? 0))[0];
        if (best !== undefined) await engine.promote(best.id).then(() => act(`${best.id} promoted (no primary)`), () => undefined);
        leaderlessSince = performance.now();
      }
      await sleep(100);
      continue;
    }
    leaderlessSince = performance.now();
    const primary = states.find((s) => s.id === leader)!;
    const target = primary.recovery === false ? primary.position : null;
    const problem = pgUnsettled(states, leader, target);
    if (problem === null) return { settled: true, leader, waitedMs: performance.now() - started, detail: '', target, actions };
    detail = [problem, ...failures.values()].join('; ');
    for (const state of states) {
      if (state.id === leader || primary.recovery !== false || notFollowing(state, primary) === null) {
        strayingSince.delete(state.id);
        continue;
      }
      const since = strayingSince.get(state.id) ?? performance.now();
      strayingSince.set(state.id, since);
      if (performance.now() - since < (options.strayMs ?? strayMs)) continue;
      // A second primary (no fencing, or an operator's promotion) or a standby on a dead timeline: restart rewinds it.
      const why = notFollowing(state, primary);
      strayingSince.delete(state.id);
      await engine.kill(state.id).catch(() => undefined);
      await engine.restart(state.id).then(
        () => (failures.delete(state.id), act(`${state.id} ${why}: killed and restarted (rewound onto ${leader}'s timeline)`)),
        (error: unknown) => failures.set(state.id, `${state.id} would not restart: ${firstLine(error)}`),
      );
    }
    await sleep(100);
  }
  return { settled: false, leader: engine.leader(), waitedMs: performance.now() - started, detail, target: null, actions };
}

/** A checksum of the kv rows (k, v, idx in k order; quote_nullable keeps NULL and quotes apart from text). */
export const checksumSql = "SELECT md5(coalesce(string_agg(quote_nullable(k) || ',' || quote_nullable(v) || ',' || quote_nullable(idx), ';' ORDER BY k), '')) AS checksum, count(*)::bigint AS rows FROM kv";
const committedPage = 5_000;
/** At most this many committed writes are kept in memory to find reads of writes that did not survive; past it that check is skipped (said). */
export const committedValuesMax = 2_000_000;

export interface PgFinalStateSummary {
  readonly finals: readonly FinalRecord[];
  readonly log: LogRecord | null;
  readonly committedWrites: number;
  /** Acknowledged writes pg_rewind removed (engine.lostWrites()), written as `rolled-back` records. */
  readonly rolledBackWrites: number;
  /** lostWrites() entries with no acknowledgement at that (index, timeline) in the history (none expected). */
  readonly unmatchedRewound: number;
  /** Reads that returned a value whose write is not in the final committed log (and was not an acknowledged write already counted lost); null when not checked. */
  readonly vanishedReads: number | null;
  readonly vanishedExamples: readonly VanishedRead[];
}

export interface VanishedRead {
  readonly op: number;
  readonly key: string;
  readonly value: string;
  readonly node: string;
  readonly mono: number;
}

/**
 * Records the final state into `historyPath` (the cluster keeps running: the
 * caller stops it). `target` is the settled primary's flush LSN (null when it
 * did not settle: each server's own position is recorded then).
 */
export async function recordPostgresFinalState(
  engine: Pick<ReplicationEngine, 'status' | 'query' | 'leader' | 'lostWrites'>,
  historyPath: string,
  target: number | null,
): Promise<PgFinalStateSummary> {
  const finals: FinalRecord[] = [];
  const states = await askServers(engine);
  for (const state of states) {
    if (!state.up || state.paused || state.position === null) continue;
    try {
      const local = { node: state.id, consistency: 'local' as const, timeoutMs: 10_000 };
      const sum = (await engine.query(checksumSql, [], local)).rows[0]!;
      const count = Number(sum['rows']);
      const rows = count > finalRowsMax ? null : (await engine.query('SELECT k, v, idx FROM kv ORDER BY k', [], local)).rows.map((row) => [String(row['k']), row['v'] === null ? null : String(row['v']), typeof row['idx'] === 'number' ? row['idx'] : null] as const);
      const appliedIndex = target !== null && state.position >= target ? target : state.position;
      finals.push({ type: 'final', node: state.id, appliedIndex, checksum: String(sum['checksum']), rows });
    } catch {
      // A server that cannot answer now has no final state to compare; the report lists who has one.
    }
  }
  const leader = engine.leader();
  let log: LogRecord | null = null;
  if (leader !== null) {
    const position = target ?? states.find((s) => s.id === leader)?.position ?? 0;
    log = { type: 'log', node: leader, commitIndex: position, lastIndex: position };
  }
  const append = (records: readonly HistoryRecord[]): void => {
    if (records.length > 0) appendToFile(historyPath, records.map((r) => `${JSON.stringify(r)}\n`).join(''));
  };
  append(log === null ? finals : [...finals, log]);
  // The committed log, a page at a time (written as read; the values kept to find reads of writes that did not survive).
  let committedWrites = 0;
  let committedValues: Set<string> | null = log === null ? null : new Set();
  if (leader !== null) {
    let after: Param[] = [-1, -1, ''];
    for (;;) {
      const page = await engine.query(`SELECT idx, tli, k, v FROM kv_writes WHERE (idx, tli, k) > (?::bigint, ?::int, ?::text) ORDER BY idx, tli, k LIMIT ${committedPage}`, after, { node: leader, consistency: 'local', timeoutMs: 30_000 });
      const records = page.rows.map((row): CommittedRecord => ({ type: 'committed', index: Number(row['idx']), term: Number(row['tli']), key: String(row['k']), value: row['v'] === null ? null : String(row['v']) }));
      append(records);
      committedWrites += records.length;
      for (const record of records) committedValues?.add(writeId(record.key, record.value));
      if (committedValues !== null && committedValues.size > committedValuesMax) committedValues = null;
      if (page.rows.length < committedPage) break;
      const last = records[records.length - 1]!;
      after = [last.index, last.term, last.key];
    }
  }
  // Pass 1: the acknowledgements of the writes pg_rewind removed, and the acknowledged writes not in the final log.
  const wanted = new Map(engine.lostWrites().map((write) => [`${write.index}:${write.term}`, write]));
  const rolledBack: RolledBackRecord[] = [];
  const lostAcks = new Set<string>();
  await forEachRecord(historyPath, (record) => {
    if (record.type !== 'ok' || record.f !== 'write') return;
    const write = wanted.get(`${record.index}:${record.term}`);
    if (write !== undefined && write.node === record.node) {
      rolledBack.push({ type: 'rolled-back', node: write.node, index: record.index, term: record.term, key: record.key, value: record.value });
      wanted.delete(`${record.index}:${record.term}`);
    }
    if (committedValues !== null && !committedValues.has(writeId(record.key, record.value))) lostAcks.add(writeId(record.key, record.value));
  });
  // Pass 2: reads that saw a value whose write is not in the final log. A read of an acknowledged write that
  // was lost is left to that lost write (as the checker leaves such reads out).
  let vanishedReads: number | null = null;
  const vanishedExamples: VanishedRead[] = [];
  if (committedValues !== null) {
    const values = committedValues;
    vanishedReads = 0;
    await forEachRecord(historyPath, (record) => {
      if (record.type !== 'ok' || record.f !== 'read' || record.value === null) return;
      const id = writeId(record.key, record.value);
      if (values.has(id) || lostAcks.has(id)) return;
      vanishedReads!++;
      if (vanishedExamples.length < 100) vanishedExamples.push({ op: record.op, key: record.key, value: record.value, node: record.node, mono: record.mono });
    });
  }
  append(rolledBack);
  return { finals, log, committedWrites, rolledBackWrites: rolledBack.length, unmatchedRewound: wanted.size, vanishedReads, vanishedExamples };
}

const writeId = (key: string, value: string | null): string => JSON.stringify([key, value]);

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
