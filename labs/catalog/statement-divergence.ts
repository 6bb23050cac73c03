// statement-divergence: replica-lab's log carries SQL statements, which every
// node runs itself when it applies them. The default refuses statements that
// give a different result on each node (random(), clock reads); a cluster
// started with `unsafe: ['allow-nondeterministic']` lets them through, and the
// replicas diverge: different rows, different state checksums at the same
// applied index, with no error anywhere.

import type { NodeId } from '../../cluster/index.js';
import { actionsOf, actionsSince } from '../analysis.js';
import type { Baseline, LabSetup, Observation } from '../types.js';
import { defineLab } from '../types.js';
import { leaderAndFollowers, okExecutes, okQueries, type OkExecute } from './common.js';

interface Facts {
  refusedSql: string;
  refusal: string;
  randomSql: string;
  randomIndex: number;
  checksumIndex: number;
  checksums: string;
  distinctChecksums: number;
  randomReads: string;
  clockSql: string;
  clockReads: string;
}

const seed = 91;
const randomKey = 'dice';
const clockKey = 'when';
const randomSql = `INSERT OR REPLACE INTO kv(k, v) VALUES ('${randomKey}', random())`;
/** Milliseconds: datetime('now') has whole seconds, so nodes applying within the same second would agree. */
const clockSql = `INSERT OR REPLACE INTO kv(k, v) VALUES ('${clockKey}', strftime('%Y-%m-%d %H:%M:%f', 'now'))`;
const readSql = (key: string): string => `SELECT v FROM kv WHERE k = '${key}'`;

const setup = (unsafe: boolean): LabSetup => ({
  cluster: { nodes: 3, replication: { mode: 'quorum', ackLevel: 'flushed' }, failover: 'raft', seed, ...(unsafe ? { unsafe: ['allow-nondeterministic'] } : {}) },
  // No workload: the nodes then settle at one applied index, where their checksums can be compared.
  workload: null,
});

const callsRandom = (sql: string): boolean => /\brandom(blob)?\s*\(/i.test(sql);
const readsClock = (sql: string): boolean => /'now'|\bcurrent_(timestamp|time|date)\b/i.test(sql);

/** The newest acknowledged write since the step began whose SQL matches. */
function lastWrite(o: Observation, before: Pick<Baseline, 'actionCount'>, matches: (sql: string) => boolean): OkExecute | null {
  return okExecutes(o, before).filter((a) => matches(a.sql)).at(-1) ?? null;
}

/** The key a write sets, when it is a kv write with a literal key. */
function keyOf(sql: string): string | null {
  return /kv\s*\(\s*k\s*,\s*v\s*\)\s*VALUES\s*\(\s*'([^']*)'/i.exec(sql)?.[1] ?? null;
}

/** Nodes reporting a checksum at the same applied index (at or past `fromIndex`), when they do not all agree. */
function divergentChecksums(o: Observation, fromIndex: number): { index: number; byNode: [NodeId, string][] } | null {
  const byIndex = new Map<number, [NodeId, string][]>();
  for (const n of o.status) {
    if (!n.up || n.checksum === null || n.checksum.index < fromIndex) continue;
    byIndex.set(n.checksum.index, [...(byIndex.get(n.checksum.index) ?? []), [n.id, n.checksum.value]]);
  }
  for (const [index, byNode] of [...byIndex].sort((a, b) => b[0] - a[0])) {
    if (byNode.length >= 2 && new Set(byNode.map(([, value]) => value)).size > 1) return { index, byNode };
  }
  return null;
}

/** Local reads of `key` since the step began, on nodes that had applied `index`, one (the last) per node. */
function readsOfKey(o: Observation, before: Pick<Baseline, 'actionCount'>, key: string, index: number): Map<NodeId, string> {
  const values = new Map<NodeId, string>();
  for (const read of okQueries(o, before)) {
    if (read.consistency !== 'local' || read.outcome.index < index || !read.sql.includes(`'${key}'`)) continue;
    values.set(read.outcome.node, read.outcome.rows.length === 0 ? '(no row)' : String(Object.values(read.outcome.rows[0]!)[0]));
  }
  return values;
}

/** Two nodes' reads of the key the last matching write set, showing different values. */
/** Clock writes the autopilot tries before it waits: each is a fresh chance for two nodes to apply in different milliseconds. */
const clockAttemptsMax = 10;

function divergentReads(o: Observation, before: Pick<Baseline, 'actionCount'>, matches: (sql: string) => boolean, what: string): { passed: boolean; detail: string; write?: OkExecute; reads?: string } {
  // The write may come from an earlier step (on this cluster: the journal's actions are this cluster's); the reads from this one.
  const write = lastWrite(o, { actionCount: 0 }, matches);
  if (write === null) return { passed: false, detail: `no acknowledged write with ${what} on this cluster yet` };
  const key = keyOf(write.sql);
  if (key === null) return { passed: false, detail: `the write at index ${write.outcome.index} sets no kv key this lab can read back; write kv(k, v) with a literal key` };
  const values = readsOfKey(o, before, key, write.outcome.index);
  const shown = [...values].map(([node, value]) => `${node} ${value}`).join(', ');
  if (new Set(values.values()).size < 2) return { passed: false, detail: values.size === 0 ? `written at index ${write.outcome.index}; now read '${key}' on two nodes` : `read '${key}' so far: ${shown}; read it on another node` };
  return { passed: true, detail: `'${key}' written once at index ${write.outcome.index} reads ${shown}`, write, reads: shown };
}

function short(checksums: readonly [NodeId, string][]): string {
  return checksums.map(([node, value]) => `${node} ${value.slice(0, 8)}`).join(', ');
}

export const statementDivergence = defineLab<Facts>({
  id: 'statement-divergence',
  title: 'Statement divergence: random() and the clock',
  level: 'intermediate',
  minutes: 8,
  concepts: ['statement-based replication', 'row-based replication', 'determinism', 'replica divergence', 'checksums', 'binlog_format'],
  summary:
    'replica-lab replicates SQL statements: every node runs each one itself. Try a write that calls random() and the leader refuses it. Then, on a cluster started with the rule off (--unsafe allow-nondeterministic), the same write is acknowledged and every replica stores its own number: the D line shows their checksums differ at the same index, and no error says so.',
  setup: setup(false),
  steps: [
    {
      title: 'The default refuses random()',
      instruction: `Write a random number: :sql ${randomSql}`,
      hint: 'The leader checks each write before it enters the log. A statement that every node would evaluate differently is refused with the reason and the fix.',
      check: (o, before) => {
        const refused = actionsOf(actionsSince(o, before), 'execute').find((a) => !a.outcome.ok && a.outcome.error.kind === 'bad-statement' && (callsRandom(a.sql) || readsClock(a.sql)));
        if (refused === undefined || refused.outcome.ok) return { passed: false, detail: 'no write calling random() (or reading the clock) has been refused yet' };
        const message = refused.outcome.error.message.split('\n')[0]!;
        return { passed: true, detail: `refused: ${message}`, facts: { refusedSql: refused.sql, refusal: message } };
      },
      autopilot: async (context) => {
        await leaderAndFollowers(context);
        await context.cluster.execute(randomSql).catch(() => undefined);
        await context.waitFor('the refusal', (o) => actionsOf(o.actions, 'execute').some((a) => !a.outcome.ok));
      },
    },
    {
      title: 'With the rule off, replicas diverge',
      freshCluster: setup(true),
      instruction: `A new cluster, started as replica-lab --unsafe allow-nondeterministic would start it. The same write again: :sql ${randomSql}. Then watch the D (divergent replicas) line of the chart and the nodes' checksum@index column (wide terminal): once the nodes settle at one index, their checksums differ.`,
      hint: 'Each node runs random() itself when it applies the entry. Nodes report a checksum of their state about once a second, with the index it is for; two different checksums at the same index are two different states from one log.',
      check: (o, before) => {
        const write = lastWrite(o, before, (sql) => callsRandom(sql) || readsClock(sql));
        if (write === null) return { passed: false, detail: 'no write calling random() has been acknowledged on this cluster yet' };
        const diverged = divergentChecksums(o, write.outcome.index);
        if (diverged === null) return { passed: false, detail: `acknowledged at index ${write.outcome.index}; waiting for two nodes to report checksums at the same index` };
        const distinct = new Set(diverged.byNode.map(([, value]) => value)).size;
        return {
          passed: true,
          detail: `at index ${diverged.index}: ${short(diverged.byNode)} (${distinct} different states)`,
          facts: { randomSql: write.sql, randomIndex: write.outcome.index, checksumIndex: diverged.index, checksums: short(diverged.byNode), distinctChecksums: distinct },
        };
      },
      autopilot: async (context) => {
        await leaderAndFollowers(context);
        const written = await context.cluster.execute(randomSql);
        await context.waitFor('checksums that differ at one index', (o) => divergentChecksums(o, written.index) !== null);
      },
    },
    {
      title: 'Read the row on each node',
      instruction: `Read it where it lives: :read n1 ${readSql(randomKey)}, then the same on n2 and n3.`,
      hint: 'A local read answers from that node\'s own SQLite. Nothing failed when the write was applied: every node did exactly what the log said.',
      check: (o, before) => {
        const r = divergentReads(o, before, callsRandom, 'random()');
        return r.passed ? { passed: true, detail: r.detail, facts: { randomReads: r.reads! } } : { passed: false, detail: r.detail };
      },
      autopilot: async (context) => {
        const { leader, followers } = await leaderAndFollowers(context);
        for (const node of [leader, ...followers]) await context.cluster.query(readSql(randomKey), [], { node, consistency: 'local' });
        await context.waitFor('reads that differ', (o) => divergentReads(o, context.before, callsRandom, 'random()').passed);
      },
    },
    {
      title: 'The clock diverges too',
      instruction: `Store the time: :sql ${clockSql}, then :read it (${readSql(clockKey)}) on two nodes.`,
      hint: 'Each node reads its own clock when it applies the entry, a few milliseconds apart. With datetime(\'now\') (whole seconds) they would agree most of the time and differ only when applies straddle a second: divergence that shows up rarely is worse, because tests pass.',
      check: (o, before) => {
        const r = divergentReads(o, before, readsClock, "a clock read ('now')");
        return r.passed ? { passed: true, detail: r.detail, facts: { clockSql: r.write!.sql, clockReads: r.reads! } } : { passed: false, detail: r.detail };
      },
      autopilot: async (context) => {
        const { leader, followers } = await leaderAndFollowers(context);
        // The clock has millisecond resolution: on an idle machine every node may apply within the
        // same millisecond and store the same value. Write again (a person would) until two differ.
        for (let attempt = 0; attempt < clockAttemptsMax; attempt++) {
          await context.cluster.execute(clockSql);
          // A follower applies once it hears the commit; read after the leader's next heartbeat.
          await context.pause(300);
          for (const node of [leader, ...followers]) await context.cluster.query(readSql(clockKey), [], { node, consistency: 'local' });
          if (divergentReads(context.observe(), context.before, readsClock, 'a clock read').passed) break;
        }
        await context.waitFor('clock reads that differ', (o) => divergentReads(o, context.before, readsClock, 'a clock read').passed);
      },
    },
  ],
  debrief: (f) => {
    const lines: string[] = [];
    if (f.refusal !== undefined) lines.push(`By default the leader refused ${f.refusedSql}: ${f.refusal}`);
    if (f.checksums !== undefined) {
      lines.push(
        `With the rule off, the same write was acknowledged at index ${f.randomIndex}, and at index ${f.checksumIndex} the nodes' state checksums were ${f.checksums}: ${f.distinctChecksums} different states from one log. No apply failed and no error was raised; only comparing checksums at the same index showed it (the D line).`,
      );
    }
    if (f.randomReads !== undefined) lines.push(`Read back locally, '${randomKey}' was ${f.randomReads}. Every node did exactly what the log said: the log said "run random()".`);
    if (f.clockReads !== undefined) lines.push(`The clock the same way: ${f.clockSql} stored ${f.clockReads}.`);
    lines.push(
      "This is statement-based replication's weakness. MySQL's binlog_format names the choices: STATEMENT logs the SQL and each replica re-executes it; ROW logs the changed rows' values, so a replica stores what the source computed; MIXED logs statements and switches to rows for statements MySQL flags unsafe. STATEMENT can make some non-determinism safe by logging context with each statement: the binary log carries the statement's timestamp, so NOW() returns the source's time on the replica, and RAND()'s seeds, so a single RAND() call repeats the source's number (RAND() is flagged unsafe all the same: a statement that calls it once per row can meet the rows in another order on a replica). UUID() and SYSDATE() (which reads the clock when it runs) get no such context: they are flagged unsafe, and under STATEMENT an unsafe statement is logged anyway, with only a warning. They diverge as random() and 'now' did here.",
    );
    lines.push(
      "replica-lab's log carries a statement and its parameters, no context, so its default refuses these statements instead of warning. The fix is to compute the value once, in the client, and pass it as a ? parameter: the value is then in the log, and every replica stores the same one, as a row-based log would have it. Physical logs (PostgreSQL's WAL) and Raft logs of commands that are deterministic do not have the problem at all.",
    );
    return lines;
  },
  quiz: ['statement-vs-row', 'replica-lab-random', 'nondeterministic-sql', 'now-in-binlog', 'binlog-mixed', 'divergence-checksums', 'unsafe-statement-fix'],
});
