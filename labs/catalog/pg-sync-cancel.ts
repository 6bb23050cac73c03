// pg-sync-cancel (PostgreSQL only): with the synchronous standby cut off, a
// commit waits for it; cancel the wait and PostgreSQL answers with a WARNING,
// not an error: the transaction had already committed locally. The row is
// there on the primary, not on the cut-off standby, and reaches it after the
// heal. A cancelled wait is not an abort.

import type { NodeId } from '../../cluster/index.js';
import { actionsOf, actionsSince, formatMs, listing, type ActionOf } from '../analysis.js';
import type { Action, AutopilotContext, Observation } from '../types.js';
import { defineLab } from '../types.js';

interface Facts {
  primary: string;
  syncStandby: string;
  /** synchronous_standby_names as the engine sets it: FIRST 1 (n2). */
  standbyNames: string;
  key: string;
  value: string;
  /** How long the client waited before its cancelled write came back. */
  waitedMs: number;
  /** The deadline the client gave; absent: the engine's default. */
  timeoutMs: number;
  /** What PostgreSQL sent back with the cancelled commit. */
  warning: string;
  primaryValue: string;
  /** LSNs (bytes) at the reads. */
  primaryReadLsn: number;
  standbyReadLsn: number;
  /** From the heal to the first read on the standby that showed the row (the reads are the person's, so this is an upper bound). */
  healToSeenMs: number;
  seenLsn: number;
  /** Other standbys the person read while the sync standby was cut off, that had the row. */
  asyncHolders: string;
  /** A read on the primary while the write still waited, that did not show it. */
  hiddenWhileWaiting: boolean;
  /** Other standbys read while the write still waited, that showed it. */
  asyncWhileWaiting: string;
}

type Execute = ActionOf<'execute'>;
type Query = ActionOf<'query'>;

const key = 'order-42';
const value = 'paid';
const upsertSql = `INSERT INTO kv(k, v) VALUES ('${key}', '${value}') ON CONFLICT(k) DO UPDATE SET v = excluded.v`;
const readSql = `SELECT k, v FROM kv WHERE k = '${key}'`;
const timeoutMs = 2_000;
/** The WARNING PostgreSQL sends when a commit's wait for its synchronous standbys is cancelled. */
const syncCancelled = /canceling wait for synchronous replication/i;
/** How long the autopilot reads the standby after the heal for the row to arrive. */
const arriveWaitMs = 30_000;

function primaryOf(o: Observation): NodeId {
  return o.leader ?? 'n1';
}

function syncStandbyOf(o: Observation): NodeId {
  return o.replication.syncStandbys?.[0] ?? 'n2';
}

/** FIRST k (…), as the PostgreSQL engine writes synchronous_standby_names for sync mode (cluster/postgres/replication.ts). */
function standbyNames(o: Observation): string {
  const primary = primaryOf(o);
  const listed = (o.replication.syncStandbys ?? o.status.map((n) => n.id)).filter((id) => id !== primary);
  return `FIRST ${listed.length} (${listed.join(', ')})`;
}

/** The key and value an upsert wrote (`… VALUES ('order-42', 'paid')`), from its SQL. */
function written(write: Execute): { key: string; value: string } | null {
  const match = /VALUES\s*\(\s*'([^']*)'\s*,\s*'([^']*)'/i.exec(write.sql);
  return match === null ? null : { key: match[1]!, value: match[2]! };
}

/** The newest partition since `after` that put `a` and `b` on different sides, with no heal after it. */
function cutBetween(actions: readonly Action[], a: NodeId, b: NodeId): ActionOf<'partition'> | null {
  let cut: ActionOf<'partition'> | null = null;
  for (const action of actions) {
    if (action.kind === 'heal') cut = null;
    if (action.kind !== 'partition') continue;
    const side = (id: NodeId) => action.groups.findIndex((group) => group.includes(id));
    if (side(a) !== side(b)) cut = action;
  }
  return cut;
}

/** A write whose commit wait PostgreSQL cancelled: it failed to the client, and the server's WARNING is in its message. */
function cancelledWrites(actions: readonly Action[], sinceMono: number): Execute[] {
  return actionsOf(actions, 'execute').filter((a) => a.mono >= sinceMono && !a.outcome.ok && syncCancelled.test(a.outcome.error.message));
}

/** The text PostgreSQL sent, as the engine quotes it after "PostgreSQL said". */
function warningOf(write: Execute): string {
  if (write.outcome.ok) return '';
  const message = write.outcome.error.message;
  const at = message.search(/WARNING:/);
  return at < 0 ? message : message.slice(at);
}

/** Local reads on `node` ended after `sinceMono`, answered, whose rows do (or do not) hold the key. */
function readsOf(actions: readonly Action[], node: NodeId, sinceMono: number): (Query & { outcome: Extract<Query['outcome'], { ok: true }> })[] {
  return actionsOf(actions, 'query').filter(
    (a): a is Query & { outcome: Extract<Query['outcome'], { ok: true }> } => a.mono >= sinceMono && a.outcome.ok && a.outcome.node === node && a.consistency === 'local',
  );
}

function valueIn(read: Query, wanted: string): string | null {
  if (!read.outcome.ok) return null;
  const row = read.outcome.rows.find((r) => r['k'] === wanted);
  return row === undefined ? null : String(row['v']);
}

/**
 * The lab's cancelled write: the first in the journal, the one step 2 passed on
 * (a step's facts are kept from its first pass), so every step and the debrief
 * speak of the same write even when the person sends more.
 */
function firstCancelled(o: Observation): { write: Execute; key: string; value: string } | null {
  const write = cancelledWrites(o.actions, -Infinity)[0];
  if (write === undefined) return null;
  const kv = written(write) ?? { key, value };
  return { write, ...kv };
}

async function readUntil(context: AutopilotContext, node: NodeId, what: string, until: (found: string | null) => boolean): Promise<void> {
  const deadline = performance.now() + arriveWaitMs;
  for (;;) {
    let found: string | null = null;
    try {
      const result = await context.cluster.query(readSql, [], { node, consistency: 'local', timeoutMs: 2_000 });
      const row = result.rows.find((r) => r['k'] === key);
      found = row === undefined ? null : String(row['v']);
    } catch {
      found = null;
    }
    if (until(found)) return;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await context.pause(250);
  }
}

export const pgSyncCancel = defineLab<Facts>({
  id: 'pg-sync-cancel',
  title: 'PostgreSQL: a cancelled sync wait is not an abort',
  level: 'intermediate',
  minutes: 8,
  concepts: ['synchronous replication', 'synchronous_standby_names', 'query cancel', 'indeterminate writes', 'committed locally'],
  summary:
    'PostgreSQL writes a commit to the primary\'s WAL first, then waits for the synchronous standby. Cut that standby off and a write waits; cancel it (a client deadline, Ctrl-C) and PostgreSQL answers with a WARNING, not an error: the transaction has already committed locally. Read it on the primary (there) and on the standby (not there), then heal and watch it arrive.',
  engines: ['postgres'],
  setup: {
    // async to start, n2 named as the only sync standby: `:mode sync` makes it FIRST 1 (n2).
    cluster: { nodes: 3, replication: { mode: 'async', ackLevel: 'flushed', syncStandbys: ['n2'] }, failover: 'manual', seed: 17 },
    workload: null,
  },
  steps: [
    {
      title: 'Make n2 the synchronous standby',
      instruction: (o) =>
        `The cluster runs async (synchronous_standby_names = ''), with ${syncStandbyOf(o)} named as the one sync standby. Type :mode sync — the header then shows FIRST 1 (${syncStandbyOf(o)}): every commit on ${primaryOf(o)} waits until ${syncStandbyOf(o)} has flushed it; n3 stays asynchronous.`,
      hint: 'FIRST 1 (n2) names one synchronous standby and no other candidate, so when n2 is gone no other standby takes its place: commits wait. A listed later standby (FIRST 1 (n2, n3)) would take over at once.',
      check: (o) => {
        if (o.replication.mode !== 'sync') return { passed: false, detail: `the mode is ${o.replication.mode}; type :mode sync` };
        const names = standbyNames(o);
        return {
          passed: true,
          detail: `synchronous_standby_names = '${names}' on ${primaryOf(o)}: a commit is acknowledged once ${syncStandbyOf(o)} has flushed it`,
          facts: { primary: primaryOf(o), syncStandby: syncStandbyOf(o), standbyNames: names },
        };
      },
      autopilot: async (context) => {
        await context.cluster.setReplication({ mode: 'sync' });
        await context.waitFor('mode sync', (o) => o.replication.mode === 'sync');
      },
    },
    {
      title: 'Cut n2 off; a write waits, and is cancelled',
      instruction: (o) =>
        `Cut ${syncStandbyOf(o)} off: :isolate ${syncStandbyOf(o)}. Then send a write with a 2 s deadline: :write ${primaryOf(o)} --timeout 2s ${upsertSql} — ${primaryOf(o)} writes the commit to its WAL at once, then waits for ${syncStandbyOf(o)}, which cannot answer. At 2 s the client cancels the statement (pg_cancel_backend; psql's Ctrl-C sends the same cancel as a protocol cancel request). Read what PostgreSQL answers.`,
      hint: 'The answer is a WARNING, not an ERROR: the commit record was already in the primary\'s WAL when the wait began, so PostgreSQL cannot roll the transaction back; it can only stop waiting. The engine reports the write as timed out (in doubt), with the server\'s words.',
      check: (o, before) => {
        const primary = primaryOf(o);
        const standby = syncStandbyOf(o);
        if (o.replication.mode !== 'sync') return { passed: false, detail: `the mode is ${o.replication.mode}: :mode sync first` };
        const since = actionsSince(o, before);
        const cut = cutBetween(since, primary, standby);
        if (cut === null) return { passed: false, detail: `${standby} is still linked to ${primary}: :isolate ${standby}` };
        const after = actionsOf(since, 'execute').filter((a) => a.mono >= cut.mono);
        const write = cancelledWrites(since, cut.mono)[0];
        if (write === undefined) {
          const last = after[after.length - 1];
          if (last === undefined) return { passed: false, detail: `${standby} is cut off; now :write ${primary} --timeout 2s ${upsertSql}` };
          if (last.outcome.ok) return { passed: false, detail: `a write after the cut was acknowledged (at ${last.outcome.index}): was it sent before the mode was sync?` };
          return { passed: false, detail: `the write after the cut failed without a cancelled commit wait: ${last.outcome.error.message.split('\n')[0]}` };
        }
        const kv = written(write) ?? { key, value };
        const waited = write.endMono - write.mono;
        return {
          passed: true,
          detail: `${kv.key} = ${kv.value}: the commit on ${write.node ?? primary} waited ${formatMs(waited)} for ${standby}, then was cancelled; PostgreSQL answered ${warningOf(write)}`,
          facts: { key: kv.key, value: kv.value, waitedMs: waited, warning: warningOf(write), ...(write.timeoutMs === undefined ? {} : { timeoutMs: write.timeoutMs }) },
        };
      },
      autopilot: async (context) => {
        const o = context.observe();
        const primary = primaryOf(o);
        const standby = syncStandbyOf(o);
        context.cluster.partition([[standby], o.status.map((n) => n.id).filter((id) => id !== standby)]);
        const write = context.cluster.execute(upsertSql, [], { node: primary, timeoutMs, cancelAtDeadline: true }).catch(() => undefined);
        // While it waits: the primary does not show it yet, an asynchronous standby may already.
        await context.pause(timeoutMs / 3);
        for (const node of o.status.map((n) => n.id).filter((id) => id !== standby)) {
          await context.cluster.query(readSql, [], { node, consistency: 'local', timeoutMs: timeoutMs / 3 }).catch(() => undefined);
        }
        await write;
        await context.waitFor('a write whose commit wait was cancelled', (x) => cancelledWrites(x.actions, -Infinity).length > 0, 5_000);
      },
    },
    {
      title: 'Read it on the primary and on n2',
      instruction: (o) => {
        const cancelled = firstCancelled(o);
        const k = cancelled?.key ?? key;
        return `The client was told its write did not finish. Look: :read ${primaryOf(o)} SELECT k, v FROM kv WHERE k = '${k}' — then :read ${syncStandbyOf(o)} SELECT k, v FROM kv WHERE k = '${k}' (still cut off).`;
      },
      hint: 'On the primary the cancelled transaction is committed like any other: every new reader sees it. The sync standby has not received it. An asynchronous standby still linked (n3) is streamed the WAL as usual, commit record included, even while the primary still waits: :read n3. (To watch the wait itself, send a write with --timeout 20s and read n1 and n3 before it comes back.)',
      check: (o) => {
        const cancelled = firstCancelled(o);
        if (cancelled === null) return { passed: false, detail: 'no cancelled write yet: do the step before' };
        const primary = primaryOf(o);
        const standby = syncStandbyOf(o);
        const since = cancelled.write.endMono;
        const onPrimary = readsOf(o.actions, primary, since).find((r) => valueIn(r, cancelled.key) !== null);
        // The standby's read must come while it is still cut off: before any heal after the write.
        const healAt = actionsOf(o.actions, 'heal').find((h) => h.mono >= since)?.mono ?? Infinity;
        const onStandby = readsOf(o.actions, standby, since).find((r) => r.mono < healAt && valueIn(r, cancelled.key) === null);
        const missing = [onPrimary === undefined ? `:read ${primary} ${`SELECT k, v FROM kv WHERE k = '${cancelled.key}'`}` : null, onStandby === undefined ? `:read ${standby} (before the heal)` : null].filter((x) => x !== null);
        if (onPrimary === undefined || onStandby === undefined) return { passed: false, detail: `still to read: ${missing.join(', ')}` };
        const others = o.status
          .map((n) => n.id)
          .filter((id) => id !== primary && id !== standby)
          .filter((id) => readsOf(o.actions, id, since).some((r) => r.mono < healAt && valueIn(r, cancelled.key) !== null));
        const primaryValue = valueIn(onPrimary, cancelled.key)!;
        // Reads made while the write still waited (begun after it, answered before its cancel came back).
        const during = (node: NodeId) => readsOf(o.actions, node, cancelled.write.mono).filter((r) => r.endMono < cancelled.write.endMono);
        const hidden = during(primary).some((r) => valueIn(r, cancelled.key) === null);
        const asyncDuring = o.status.map((n) => n.id).filter((id) => id !== primary && id !== standby && during(id).some((r) => valueIn(r, cancelled.key) !== null));
        return {
          passed: true,
          detail: `${primary} shows ${cancelled.key} = ${primaryValue} (at LSN ${onPrimary.outcome.index}); ${standby} has no such row (at LSN ${onStandby.outcome.index})${others.length > 0 ? `; ${listing(others)}, asynchronous, has it` : ''}`,
          facts: {
            primaryValue,
            primaryReadLsn: onPrimary.outcome.index,
            standbyReadLsn: onStandby.outcome.index,
            ...(others.length > 0 ? { asyncHolders: listing(others) } : {}),
            ...(hidden ? { hiddenWhileWaiting: true } : {}),
            ...(asyncDuring.length > 0 ? { asyncWhileWaiting: listing(asyncDuring) } : {}),
          },
        };
      },
      autopilot: async (context) => {
        const o = context.observe();
        await context.cluster.query(readSql, [], { node: primaryOf(o), consistency: 'local' });
        await context.cluster.query(readSql, [], { node: syncStandbyOf(o), consistency: 'local' });
      },
    },
    {
      title: 'Heal: the row reaches n2',
      instruction: (o) =>
        `Press h (or :heal). ${syncStandbyOf(o)} reconnects within about a second (wal_retrieve_retry_interval) and replays what it missed. Then :read ${syncStandbyOf(o)} ${readSql.replace(key, firstCancelled(o)?.key ?? key)}`,
      hint: 'Nothing was undone while the standby was away: the row was committed on the primary, and the standby receives it like any other WAL. Read again if it is not there yet.',
      check: (o, before) => {
        const cancelled = firstCancelled(o);
        if (cancelled === null) return { passed: false, detail: 'no cancelled write yet' };
        const standby = syncStandbyOf(o);
        const heals = actionsOf(actionsSince(o, before), 'heal');
        const heal = heals[heals.length - 1];
        if (heal === undefined) return { passed: false, detail: `${standby} is still cut off: press h` };
        const seen = readsOf(o.actions, standby, heal.mono).find((r) => valueIn(r, cancelled.key) !== null);
        if (seen === undefined) return { passed: false, detail: `healed; :read ${standby} SELECT k, v FROM kv WHERE k = '${cancelled.key}' until it shows the row` };
        return {
          passed: true,
          detail: `${standby} shows ${cancelled.key} = ${valueIn(seen, cancelled.key)} at LSN ${seen.outcome.index}, ${formatMs(seen.endMono - heal.mono)} after the heal`,
          facts: { healToSeenMs: seen.endMono - heal.mono, seenLsn: seen.outcome.index },
        };
      },
      autopilot: async (context) => {
        const standby = syncStandbyOf(context.observe());
        context.cluster.heal();
        await readUntil(context, standby, `${key} on ${standby}`, (found) => found !== null);
      },
    },
  ],
  debrief: (f, run) => {
    const lines: string[] = [];
    const primary = f.primary ?? 'the primary';
    const standby = f.syncStandby ?? 'the sync standby';
    if (f.standbyNames !== undefined) lines.push(`synchronous_standby_names = '${f.standbyNames}' on ${primary}: a commit is acknowledged only once ${standby} has flushed it. No other standby may stand in for it.`);
    if (f.waitedMs !== undefined) {
      lines.push(
        `With ${standby} cut off, your write of ${f.key} = ${f.value} waited ${formatMs(f.waitedMs)}${f.timeoutMs === undefined ? '' : ` (its deadline was ${formatMs(f.timeoutMs)})`}; then the client cancelled it, and PostgreSQL answered ${f.warning}. A WARNING, not an ERROR: the statement completed. The engine reports it as a timeout (in doubt), never as failed.`,
      );
    }
    if (f.primaryValue !== undefined) {
      lines.push(
        `Right after, ${primary} served ${f.key} = ${f.primaryValue} to a new reader (at LSN ${f.primaryReadLsn}) while ${standby} had no such row (at LSN ${f.standbyReadLsn}). The commit record was in ${primary}'s WAL before the wait began, so cancelling can only end the wait: the transaction had already committed locally, and is now visible on ${primary} though ${standby} does not hold it.${f.asyncHolders === undefined ? '' : ` ${f.asyncHolders}, an asynchronous standby still linked, had it too: WAL goes to every standby, the sync setting only decides whom the commit waits for.`}`,
      );
    }
    if (f.hiddenWhileWaiting === true || f.asyncWhileWaiting !== undefined) {
      const parts = [
        f.hiddenWhileWaiting === true ? `a read on ${primary} did not show it (the transaction still counts as running there, holding its locks, until the wait ends)` : null,
        f.asyncWhileWaiting === undefined ? null : `${f.asyncWhileWaiting}, asynchronous, already showed it: the commit record was streamed and replayed there before the client had any answer`,
      ].filter((part) => part !== null);
      lines.push(`While the write still waited, ${parts.join('; ')}.`);
    }
    if (f.healToSeenMs !== undefined) lines.push(`After the heal ${standby} showed it (at LSN ${f.seenLsn}, within ${formatMs(f.healToSeenMs)} of the heal, as you read it): nothing was undone, the standby caught up.`);
    lines.push(
      'The PostgreSQL 15 manual (§27.2.8.4, "Planning for High Availability", under Synchronous Replication) gives the same lesson for a restart: "If primary restarts while commits are waiting for acknowledgment, those waiting transactions will be marked fully committed once the primary database recovers." Its promise is only that "the application will not receive explicit acknowledgment of the successful commit of a transaction until the WAL data is known to be safely received by all the synchronous standbys." A cancelled wait is no acknowledgment, and no abort either.',
    );
    lines.push(
      `What it costs: a client that takes the cancel or timeout for "failed" and retries a non-idempotent write does it twice; and if ${primary} died now and ${standby} were promoted, a row every reader of ${primary} saw would be gone. Check for that WARNING (a driver may hand it over only as a notice: node-postgres, which this engine uses, emits a \'notice\' event that nothing hears unless you listen), treat the write as in doubt, and retry idempotently or read it back.`,
    );
    lines.push(
      'On the replica-lab engine a leader in sync mode makes a write visible only once its sync standbys have acknowledged it (cluster/core: the leader applies up to its acknowledged frontier), so a local read on the leader never shows a write it has not acknowledged; a client deadline there cancels nothing: the entry stays in the leader\'s log, unseen on the leader until the standby has it (or the mode changes), then applied. Its followers, like PostgreSQL\'s standbys, apply what they have flushed, acknowledged or not.',
    );
    if (run.stepsPassed < run.steps) lines.push(`${run.stepsPassed} of ${run.steps} steps passed.`);
    return lines;
  },
  quiz: ['pg-sync-cancel-warning', 'pg-sync-cancel-visible', 'timeout-is-indeterminate'],
});
