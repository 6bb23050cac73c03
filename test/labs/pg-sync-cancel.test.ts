// The checks and debrief of pg-sync-cancel as pure functions of hand-built
// observations, both ways (the real run is test/postgres/sync-cancel.test.ts
// and `lab pg-sync-cancel --auto --engine postgres`).

import { describe, expect, it } from 'vitest';
import { pgSyncCancel } from '../../labs/catalog/pg-sync-cancel.js';
import { labEngineRefusal } from '../../labs/catalog/index.js';
import type { Action, Observation, RunSummary } from '../../labs/types.js';
import { action, baseline, nodeStatus, observation, replication } from './snapshot.js';

const check = (step: number, o: Observation) => pgSyncCancel.steps[step]!.check(o, baseline());

const upsert = "INSERT INTO kv(k, v) VALUES ('order-42', 'paid') ON CONFLICT(k) DO UPDATE SET v = excluded.v";
const warning =
  'WARNING: canceling wait for synchronous replication due to user request (DETAIL: The transaction has already committed locally, but might not have been replicated to the standby.)';
const cancelledMessage = `the commit's wait for the standbys was cancelled on n1: it is committed there, but not replicated as the mode asks. PostgreSQL said ${warning}`;

/** A PostgreSQL cluster in sync mode with n2 its one sync standby (FIRST 1 (n2)). */
function pg(change: Partial<Observation> = {}): Observation {
  return observation({
    engine: 'postgres',
    replication: replication({ mode: 'sync', syncStandbys: ['n2'] }),
    status: [nodeStatus('n1', { role: 'leader' }), nodeStatus('n2'), nodeStatus('n3')],
    ...change,
  });
}

const cut = (atMs = 100): Action => action({ kind: 'partition', groups: [['n2'], ['n1', 'n3']] }, atMs);
const heal = (atMs: number): Action => action({ kind: 'heal' }, atMs);

/** The write sent at `atMs`, answered `waitedMs` later with `outcome`. */
function write(atMs: number, outcome: 'cancelled' | 'ok' | 'refused', waitedMs = 2_060, sql = upsert): Action {
  const body = { kind: 'execute' as const, sql, params: [], node: 'n1', timeoutMs: 2_000, endMono: 1_000 + atMs + waitedMs };
  if (outcome === 'ok') return action({ ...body, outcome: { ok: true, index: 9_463_672, term: 1, leader: 'n1', latencyMs: 3 } }, atMs);
  const error = outcome === 'cancelled' ? { kind: 'timeout', message: cancelledMessage, leader: null } : { kind: 'not-leader', message: 'n1 is a standby', leader: 'n2' };
  return action({ ...body, outcome: { ok: false, error } }, atMs);
}

/** A local read of order-42 on `node` at `atMs` (answered 5 ms later) that saw `v` (null: no row). */
function read(node: string, atMs: number, v: string | null, lsn = 9_463_672): Action {
  return action(
    {
      kind: 'query',
      sql: "SELECT k, v FROM kv WHERE k = 'order-42'",
      params: [],
      node,
      consistency: 'local',
      minIndex: null,
      endMono: 1_000 + atMs + 5,
      outcome: { ok: true, node, index: lsn, columns: ['k', 'v'], rows: v === null ? [] : [{ k: 'order-42', v }], latencyMs: 5 },
    },
    atMs,
  );
}

describe('pg-sync-cancel', () => {
  it('runs on PostgreSQL only: the replica-lab engine refuses it in one line', () => {
    expect(pgSyncCancel.engines).toEqual(['postgres']);
    const refusal = labEngineRefusal(pgSyncCancel, 'replica-lab');
    expect(refusal).toMatch(/^lab pg-sync-cancel does not run on the replica-lab engine \(it runs on PostgreSQL\)/);
    expect(refusal).not.toContain('\n');
    expect(labEngineRefusal(pgSyncCancel, 'postgres')).toBeNull();
    // Its cluster names n2 as the one sync standby, starting async.
    expect(pgSyncCancel.setup.cluster.replication).toMatchObject({ mode: 'async', syncStandbys: ['n2'] });
  });

  it('step 1 passes once the mode is sync, naming FIRST 1 (n2)', () => {
    expect(check(0, pg({ replication: replication({ mode: 'async', syncStandbys: ['n2'] }) }))).toMatchObject({ passed: false, detail: expect.stringContaining(':mode sync') });
    expect(check(0, pg())).toMatchObject({ passed: true, facts: { primary: 'n1', syncStandby: 'n2', standbyNames: 'FIRST 1 (n2)' } });
  });

  it('step 2 passes on a write after the cut that PostgreSQL answered with the cancelled-wait WARNING', () => {
    const passed = check(1, pg({ actions: [cut(), write(200, 'cancelled')] }));
    expect(passed).toMatchObject({ passed: true, facts: { key: 'order-42', value: 'paid', waitedMs: 2_060, timeoutMs: 2_000, warning } });
    expect(passed.detail).toContain('canceling wait for synchronous replication');
  });

  it('step 2 does not pass without the cut, without the write, on an acknowledged or refused write, after a heal, or in async mode', () => {
    expect(check(1, pg({ actions: [write(200, 'cancelled')] })).passed).toBe(false); // no cut
    expect(check(1, pg({ actions: [cut()] })).detail).toContain(':write n1 --timeout 2s');
    expect(check(1, pg({ actions: [cut(), write(200, 'ok')] }))).toMatchObject({ passed: false, detail: expect.stringContaining('acknowledged') });
    expect(check(1, pg({ actions: [cut(), write(200, 'refused')] }))).toMatchObject({ passed: false, detail: expect.stringContaining('n1 is a standby') });
    expect(check(1, pg({ actions: [write(50, 'cancelled'), cut(100)] })).passed).toBe(false); // the write came before the cut
    expect(check(1, pg({ actions: [cut(), heal(150), write(200, 'cancelled')] })).passed).toBe(false); // healed before the write
    expect(check(1, pg({ replication: replication({ mode: 'async', syncStandbys: ['n2'] }), actions: [cut(), write(200, 'cancelled')] })).passed).toBe(false);
  });

  const waited = [cut(), write(200, 'cancelled')];

  it('step 3 passes on the row read on the primary and missing on the cut-off standby, with the reads made during the wait as facts', () => {
    const plain = check(2, pg({ actions: [...waited, read('n1', 3_000, 'paid'), read('n2', 3_100, null, 9_437_184)] }));
    expect(plain).toMatchObject({ passed: true, facts: { primaryValue: 'paid', primaryReadLsn: 9_463_672, standbyReadLsn: 9_437_184 } });
    expect(plain.facts).not.toHaveProperty('hiddenWhileWaiting');
    expect(plain.facts).not.toHaveProperty('asyncWhileWaiting');
    // Reads begun after the write and answered before its cancel came back (it ended at 1000 + 200 + 2060).
    const during = check(2, pg({ actions: [...waited, read('n1', 800, null), read('n3', 900, 'paid'), read('n1', 3_000, 'paid'), read('n2', 3_100, null)] }));
    expect(during).toMatchObject({ passed: true, facts: { hiddenWhileWaiting: true, asyncWhileWaiting: 'n3' } });
    // A read answered after the cancel is no read "during the wait".
    const late = check(2, pg({ actions: [...waited, read('n1', 2_258, null), read('n1', 3_000, 'paid'), read('n2', 3_100, null)] }));
    expect(late.facts).not.toHaveProperty('hiddenWhileWaiting');
  });

  it('step 3 does not pass without both reads, with the row missing on the primary, or on a standby read after the heal', () => {
    expect(check(2, pg({ actions: [...waited] })).detail).toContain(':read n1');
    expect(check(2, pg({ actions: [...waited, read('n1', 3_000, 'paid')] })).detail).toContain(':read n2');
    expect(check(2, pg({ actions: [...waited, read('n1', 3_000, null), read('n2', 3_100, null)] })).passed).toBe(false);
    expect(check(2, pg({ actions: [...waited, read('n1', 3_000, 'paid'), heal(3_050), read('n2', 3_100, null)] })).passed).toBe(false);
    expect(check(2, pg({ actions: [read('n1', 3_000, 'paid'), read('n2', 3_100, null)] })).detail).toContain('no cancelled write');
  });

  it('step 4 passes once the standby shows the row after a heal, not before', () => {
    const base = [...waited, read('n1', 3_000, 'paid'), read('n2', 3_100, null)];
    expect(check(3, pg({ actions: base })).detail).toContain('press h');
    expect(check(3, pg({ actions: [...base, heal(4_000)] })).passed).toBe(false);
    expect(check(3, pg({ actions: [...base, read('n2', 3_900, 'paid'), heal(4_000)] })).passed).toBe(false);
    expect(check(3, pg({ actions: [...base, heal(4_000), read('n2', 5_100, 'paid', 9_500_000)] }))).toMatchObject({ passed: true, facts: { healToSeenMs: 1_105, seenLsn: 9_500_000 } });
  });

  it('every step speaks of the first cancelled write, the one step 2 passed on', () => {
    const second = write(2_400, 'cancelled', 2_050, "INSERT INTO kv(k, v) VALUES ('other', 'x') ON CONFLICT(k) DO UPDATE SET v = excluded.v");
    const o = pg({ actions: [...waited, second, read('n1', 5_000, 'paid'), read('n2', 5_100, null)] });
    expect(check(1, o).facts).toMatchObject({ key: 'order-42' });
    expect(check(2, o).passed).toBe(true);
  });

  it('the debrief quotes the measured figures, and leaves out what was not measured', () => {
    const run: RunSummary = { stepsPassed: 4, steps: 4, elapsedMs: 10_000, writesAcknowledged: 0, lostWrites: 0, engine: 'postgres' };
    const full = pgSyncCancel
      .debrief(
        {
          primary: 'n1', syncStandby: 'n2', standbyNames: 'FIRST 1 (n2)', key: 'order-42', value: 'paid', waitedMs: 2_060, timeoutMs: 2_000, warning,
          primaryValue: 'paid', primaryReadLsn: 9_463_672, standbyReadLsn: 9_437_184, hiddenWhileWaiting: true, asyncWhileWaiting: 'n3', healToSeenMs: 1_105, seenLsn: 9_500_000,
        },
        run,
      )
      .join('\n');
    expect(full).toContain("FIRST 1 (n2)");
    expect(full).toContain(warning);
    expect(full).toContain('While the write still waited');
    expect(full).toContain('If primary restarts while commits are waiting for acknowledgment');
    const partial = pgSyncCancel.debrief({ primary: 'n1', syncStandby: 'n2', standbyNames: 'FIRST 1 (n2)' }, { ...run, stepsPassed: 1 }).join('\n');
    expect(partial).not.toContain('While the write still waited');
    expect(partial).not.toContain('undefined');
    expect(partial).toContain('1 of 4 steps passed');
  });
});
