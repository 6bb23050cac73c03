// lag-anomalies and ack-levels as they run on PostgreSQL (their variants):
// the checks that differ there, both ways, on hand-built observations, and
// the debriefs that set a run beside the same lab's run on the other engine.

import { describe, expect, it } from 'vitest';
import { ackLevels } from '../../labs/catalog/ack-levels.js';
import { labOn } from '../../labs/catalog/index.js';
import { lagAnomalies } from '../../labs/catalog/lag-anomalies.js';
import type { AnyLab, EarlierRun, Observation, RunSummary } from '../../labs/types.js';
import { ackedWrite, action, baseline, event, nodeStatus, observation, read, replication, workloadRecord, write } from './snapshot.js';

const onPg = (lab: AnyLab) => labOn(lab, 'postgres');
const check = (lab: AnyLab, step: number, o: Observation, b = baseline(o)) => lab.steps[step]!.check(o, b);
const slow = (a: string, b: string, delayMs: number, atMs = 10) => [action({ kind: 'link', from: a, to: b, options: { delayMs } }, atMs), action({ kind: 'link', from: b, to: a, options: { delayMs } }, atMs)];
const pgObservation = (change: Partial<Observation> = {}) => observation({ engine: 'postgres', ...change });
const run = (change: Partial<RunSummary> = {}): RunSummary => ({ stepsPassed: 3, steps: 3, elapsedMs: 1, writesAcknowledged: 100, lostWrites: 0, ...change });
const earlier = (engine: EarlierRun['engine'], facts: Record<string, unknown>): EarlierRun => ({ engine, at: '2026-12-01T10:00:00.000Z', autopilot: true, facts });

describe('lag-anomalies on PostgreSQL', () => {
  const lab = onPg(lagAnomalies);

  it('keeps the lab\'s checks, with a standby\'s words: a slowed standby with both anomalies passes; none slowed does not', () => {
    expect(lab.steps.map((s) => s.title)).toEqual(['Slow one standby', 'Fix read-your-writes', 'Fix monotonic reads']);
    expect(lab.setup.cluster.failover).toBe('manual');
    const history = [
      ...ackedWrite('k1', 9_000_100, 1_050, 'n1', 'c1.1'),
      ...read('k1', 'n2', 9_000_000, 1_060, 'c1.1'), // its own write missed
      ...read('k2', 'n3', 9_000_300, 1_070, 'c2.1'),
      ...read('k2', 'n2', 9_000_200, 1_080, 'c2.1'), // back in time
    ];
    const o = pgObservation({ actions: slow('n1', 'n2', 800), history });
    expect(check(lab, 0, o)).toMatchObject({ passed: true, facts: { slowFollower: 'n2', delayMs: 800, rywViolations: 1, monotonicViolations: 1 } });
    const none = check(lab, 0, pgObservation({ history }));
    expect(none).toMatchObject({ passed: false, detail: 'no standby is 100 ms or more from the primary yet' });
  });

  it('fix read-your-writes: reads waiting on the slow standby are reported as waits for a WAL position', () => {
    const on = workloadRecord(1_100, { sessions: 'read-your-writes', stickyReads: false });
    const reads = Array.from({ length: 40 }, (_, i) => read(`k${i % 3}`, i % 2 === 0 ? 'n2' : 'n3', 100, 1_200 + i * 2, `c${i}.2`)).flat();
    const result = check(lab, 1, pgObservation({ actions: slow('n1', 'n2', 800, -3_000), history: [on, ...reads] }));
    expect(result.passed).toBe(true);
    expect(result.detail).toMatch(/for their WAL position/);
    expect(check(lab, 1, pgObservation({ actions: [...slow('n1', 'n2', 800, -3_000), action({ kind: 'heal' }, 5)], history: [on, ...reads] })).detail).toBe(
      'no standby is slow any more: keep it slow to see the fix work under lag',
    );
  });

  it('the debriefs set the run beside the other engine\'s, both ways, and only with a run there', () => {
    const pgFacts = { slowFollower: 'n2', delayMs: 800, anomalyReads: 11, rywViolations: 2, monotonicViolations: 1, rywFixedReads: 40, slowReadMs: 791, fastReadMs: 15, monotonicLeft: 0, stickyReads: 40 };
    const rlFacts = { slowFollower: 'n2', delayMs: 800, anomalyReads: 17, rywViolations: 3, monotonicViolations: 1, rywFixedReads: 40, slowReadMs: 792, fastReadMs: 2, monotonicLeft: 0, stickyReads: 41 };
    const alone = lab.debrief(pgFacts, run({ engine: 'postgres' })).join('\n');
    expect(alone).not.toMatch(/Beside your/);
    expect(alone).toMatch(/eventually consistent/);
    const pg = lab.debrief(pgFacts, run({ engine: 'postgres', earlier: [earlier('replica-lab', rlFacts)] })).join('\n');
    expect(pg).toMatch(/Beside your replica-lab run of this lab \(2026-12-01, autopilot\): there, with a follower 800 ms behind, 3 of 17 reads missed their own write and 1 went back in time; here, on PostgreSQL, 2 of 11 and 1\./);
    expect(pg).toMatch(/reads on the slow follower there waited up to 792 ms, on the slow standby here up to 791 ms/);
    const rl = lagAnomalies.debrief(rlFacts, run({ engine: 'replica-lab', earlier: [earlier('postgres', pgFacts)] })).join('\n');
    expect(rl).toMatch(/Beside your PostgreSQL run of this lab .*with a standby 800 ms behind, 2 of 11 reads/);
    // An earlier run whose facts lack the figures says nothing rather than "undefined".
    const sparse = lab.debrief({}, run({ engine: 'postgres', earlier: [earlier('replica-lab', {})] })).join('\n');
    expect(sparse).not.toMatch(/undefined|NaN|Beside/);
  });
});

describe('ack-levels on PostgreSQL', () => {
  const lab = onPg(ackLevels);
  const kill = (atMs = 100) => action({ kind: 'kill', node: 'n1', error: null }, atMs, 'n1');
  const promoted = (atMs: number, lastIndex: number) => event(atMs, { type: 'promoted', node: 'n2', term: 2, lastIndex });
  const afterPromotion = { leader: 'n2', status: [nodeStatus('n1', { up: false }), nodeStatus('n2', { role: 'leader' }), nodeStatus('n3')] } as const;

  it('crash the primary: passes once a standby holding every write the primary acknowledged is promoted; not before, not for one short of them', () => {
    expect(lab.steps[1]!.title).toBe('Crash the primary');
    const received = action({ kind: 'replication', change: { ackLevel: 'received' }, error: null }, 5);
    const writes = [...ackedWrite('k1', 9_000_000, 1_050), ...ackedWrite('k2', 9_000_400, 1_080)];
    const done = pgObservation({ ...afterPromotion, actions: [received, kill()], events: [promoted(500, 9_000_800)], history: writes });
    expect(check(lab, 1, done)).toMatchObject({ passed: true, facts: { crashedLeader: 'n1', ackedAtReceived: 2, newLeader: 'n2', newTerm: 2, promotedBy: 'failover-manager' } });
    expect(check(lab, 1, done).detail).toMatch(/the failover manager promoted n2 \(timeline 2\)/);
    // The person promoted it first (:promote n2): the check says so, and so does the debrief.
    const byHand = { ...done, actions: [received, kill(), action({ kind: 'promote', node: 'n2', error: null }, 200, null)] };
    expect(check(lab, 1, byHand)).toMatchObject({ passed: true, facts: { promotedBy: 'person' } });
    expect(lab.debrief({ crashedLeader: 'n1', ackedAtReceived: 2, newLeader: 'n2', newTerm: 2, promotedBy: 'person' }, run({ engine: 'postgres' })).join(' ')).toMatch(/you promoted n2 \(timeline 2\)/);
    expect(check(lab, 1, pgObservation({ actions: [received], history: writes })).detail).toBe('the primary has not been killed yet');
    const waiting = check(lab, 1, pgObservation({ actions: [received, kill()], history: writes, leader: null }));
    expect(waiting).toMatchObject({ passed: false, detail: 'n1 is dead; waiting for the failover manager to promote a standby' });
    // A promotion that ended its WAL before a write n1 acknowledged: that write is not on the new primary.
    const short = check(lab, 1, { ...done, events: [promoted(500, 9_000_200)] });
    expect(short).toMatchObject({ passed: false });
    expect(short.detail).toMatch(/short of a write n1 acknowledged at 9000400/);
    // A promotion from before the kill is not this one.
    expect(check(lab, 1, { ...done, events: [promoted(-50, 9_000_800)] }).passed).toBe(false);
  });

  it('acknowledge on receipt: the latency "at flushed" counts only writes that ended before the ack level first changed', () => {
    const viaApplied = action({ kind: 'replication', change: { ackLevel: 'applied' }, error: null }, 100);
    const toReceived = action({ kind: 'replication', change: { ackLevel: 'received' }, error: null }, 200);
    const writes = (from: number, count: number, latency: number) =>
      Array.from({ length: count }, (_, i) => write(`k${i % 5}`, from + i * 3, { index: 9_000_000 + from + i }).map((r) => (r.type === 'ok' ? { ...r, mono: r.mono - 5 + latency } : r))).flat();
    const status = [nodeStatus('n1', { role: 'leader', replication: replication({ mode: 'sync', ackLevel: 'received' }) }), nodeStatus('n2'), nodeStatus('n3')];
    const o = pgObservation({ status, replication: replication({ mode: 'sync', ackLevel: 'received' }), actions: [viaApplied, toReceived], history: [...writes(1_000, 10, 10), ...writes(1_110, 10, 40), ...writes(1_250, 20, 4)] });
    expect(check(lab, 0, o)).toMatchObject({ passed: true, facts: { flushedP50Ms: 10, receivedP50Ms: 4 } });
  });

  it('rewind and applied: passes with every server up at applied and clean reads, and records that pg_rewind removed no acknowledged write; fails when it removed one', () => {
    const applied = action({ kind: 'replication', change: { ackLevel: 'applied' }, error: null }, 20, 'n2');
    const restart = action({ kind: 'restart', node: 'n1', error: null }, 10, 'n2');
    const history = [
      ...Array.from({ length: 12 }, (_, i) => ackedWrite(`k${i % 5}`, 9_100_000 + i * 100, 1_100 + i * 5, 'n2')).flat(),
      ...Array.from({ length: 50 }, (_, i) => read(`k${i % 5}`, i % 2 === 0 ? 'n1' : 'n3', 9_200_000, 1_200 + i * 2, `c${i}.3`)).flat(),
    ];
    const status = [nodeStatus('n1'), nodeStatus('n2', { role: 'leader', replication: replication({ mode: 'sync', ackLevel: 'applied' }) }), nodeStatus('n3')];
    const o = pgObservation({ leader: 'n2', status, replication: replication({ mode: 'sync', ackLevel: 'applied' }), actions: [restart, applied], history });
    const b = baseline(o, { lostWriteCount: 0 });
    expect(check(lab, 2, o, b)).toMatchObject({ passed: true, facts: { lostAtCrash: 0, appliedStale: 0 } });
    expect(check(lab, 2, o, b).detail).toMatch(/pg_rewind removed no acknowledged write/);
    const lost = { ...o, lostWrites: [{ node: 'n1', index: 9_000_400, term: 1, kind: 'sql', sql: 'INSERT …' }] } as Observation;
    expect(check(lab, 2, lost, b)).toMatchObject({ passed: false, detail: 'pg_rewind removed 1 acknowledged write: sync at remote_write should lose none when only the primary\'s processes die' });
    expect(check(lab, 2, { ...o, status: [nodeStatus('n1', { up: false }), ...status.slice(1)] }, b).passed).toBe(false);
  });

  it('the texts name PostgreSQL\'s settings, and the debriefs set the run beside the other engine\'s', () => {
    const o = pgObservation();
    const text = (t: unknown) => (typeof t === 'function' ? (t as (o: Observation, b: unknown) => string)(o, baseline(o)) : String(t));
    expect(text(lab.steps[0]!.instruction)).toMatch(/synchronous_standby_names = 'FIRST 2 \(n2, n3\)'.*remote_write/);
    expect(text(lab.steps[3]!.instruction)).toMatch(/'ANY 1 \(n2, n3\)'/);
    const pgFacts = { flushedP50Ms: 48, receivedP50Ms: 7.5, appliedP50Ms: 8.3, crashedLeader: 'n1', ackedAtReceived: 20, newLeader: 'n2', newTerm: 2, lostAtCrash: 0, quorumStale: 1, quorumReads: 5 };
    const rlFacts = { flushedP50Ms: 6.8, receivedP50Ms: 2.6, appliedP50Ms: 4.1, crashedLeader: 'n2', ackedAtReceived: 23, newLeader: 'n1', newTerm: 2, lostAtCrash: 0, quorumStale: 1, quorumReads: 1 };
    const pg = lab.debrief(pgFacts, run({ engine: 'postgres', earlier: [earlier('replica-lab', rlFacts)] })).join('\n');
    expect(pg).toMatch(/median write latency: replica-lab flushed 6\.8 ms, received 2\.6 ms, applied 4\.1 ms; PostgreSQL flushed 48 ms, received 7\.5 ms, applied 8\.3 ms/);
    expect(pg).toMatch(/on replica-lab the followers elected n1 \(term 2\), on PostgreSQL the failover manager promoted n2 \(timeline 2\)/);
    expect(pg).toMatch(/pg_rewind removed 0 acknowledged writes/);
    const rl = ackLevels.debrief(rlFacts, run({ earlier: [earlier('postgres', pgFacts)] })).join('\n');
    expect(rl).toMatch(/Beside your PostgreSQL run of this lab/);
    expect(ackLevels.debrief(rlFacts, run()).join('\n')).not.toMatch(/Beside/);
    expect(lab.debrief({}, run({ engine: 'postgres', earlier: [earlier('replica-lab', {})] })).join('\n')).not.toMatch(/undefined|NaN|Beside/);
  });
});
