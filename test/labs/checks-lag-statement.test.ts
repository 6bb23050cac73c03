// The checks of lag-causes and statement-divergence as pure functions of
// hand-built snapshots, both ways (steps.test.ts runs them on real clusters).

import { describe, expect, it } from 'vitest';
import type { NodeStatus } from '../../cluster/index.js';
import { lagCauses } from '../../labs/catalog/lag-causes.js';
import { statementDivergence } from '../../labs/catalog/statement-divergence.js';
import type { Action, AnyLab, AutopilotContext, LagSample, Observation } from '../../labs/types.js';
import { action, baseline, event, nodeStatus, observation } from './snapshot.js';

const check = (lab: AnyLab, step: number, o: Observation) => lab.steps[step]!.check(o, baseline());

/** Now is 10 s after the step began; a fault event at 1 s, then lag samples every 50 ms from 2 s on. */
const at = { mono: 11_000, wall: 1_700_000_011_000 };
const faultEvent = (fault: 'disk' | 'apply' | 'link') => event(1_000, { type: 'fault', fault, detail: 'n2 …' });

function samples(lags: { write: number; flush: number; replay: number }, count = 40, node = 'n2'): LagSample[] {
  return Array.from({ length: count }, (_, i) => ({ mono: 3_000 + i * 50, node, leader: 'n1', writeLagMs: lags.write, flushLagMs: lags.flush, replayLagMs: lags.replay }));
}

function withFaults(faults: Partial<NodeStatus['faults']>): NodeStatus[] {
  return [nodeStatus('n1', { role: 'leader' }), nodeStatus('n2', { faults: { diskSlowMs: 0, applySlowMs: 0, ...faults } }), nodeStatus('n3')];
}

const slowLink = (ms: number): Action[] => [action({ kind: 'link', from: 'n1', to: 'n2', options: { delayMs: ms } }, 900), action({ kind: 'link', from: 'n2', to: 'n1', options: { delayMs: ms } }, 900)];

describe('lag-causes', () => {
  const lagObservation = (change: Partial<Observation>, fault: 'disk' | 'apply' | 'link'): Observation => observation({ ...at, events: [faultEvent(fault)], ...change });

  it('slow disk: flush and replay up, write flat passes; write up too, too few samples, or no fault does not', () => {
    const o = lagObservation({ status: withFaults({ diskSlowMs: 20 }), lagSamples: samples({ write: 0, flush: 27, replay: 27 }) }, 'disk');
    expect(check(lagCauses, 0, o)).toMatchObject({ passed: true, facts: { disk: { node: 'n2', faultMs: 20 } } });
    expect(check(lagCauses, 0, { ...o, lagSamples: samples({ write: 25, flush: 27, replay: 27 }) }).passed).toBe(false);
    expect(check(lagCauses, 0, { ...o, lagSamples: samples({ write: 0, flush: 27, replay: 27 }, 10) }).passed).toBe(false);
    expect(check(lagCauses, 0, { ...o, status: withFaults({}) }).passed).toBe(false);
    // Two causes at once tell nothing about either.
    expect(check(lagCauses, 0, { ...o, status: withFaults({ diskSlowMs: 20, applySlowMs: 5 }) }).passed).toBe(false);
  });

  it('slow disk: samples from before the fault (or under another leader) do not count', () => {
    const early = samples({ write: 0, flush: 27, replay: 27 }).map((s) => ({ ...s, mono: s.mono - 2_900 }));
    const o = lagObservation({ status: withFaults({ diskSlowMs: 20 }), lagSamples: early }, 'disk');
    expect(check(lagCauses, 0, o).passed).toBe(false);
    const otherLeader = samples({ write: 0, flush: 27, replay: 27 }).map((s) => ({ ...s, leader: 'n3' }));
    expect(check(lagCauses, 0, { ...o, lagSamples: otherLeader }).passed).toBe(false);
  });

  it('slow apply: replay up alone passes; flush up too does not', () => {
    const o = lagObservation({ status: withFaults({ applySlowMs: 5 }), lagSamples: samples({ write: 0, flush: 0.4, replay: 6 }) }, 'apply');
    expect(check(lagCauses, 1, o)).toMatchObject({ passed: true, facts: { apply: { node: 'n2', faultMs: 5, replayMs: 6 } } });
    expect(check(lagCauses, 1, { ...o, lagSamples: samples({ write: 0, flush: 20, replay: 26 }) }).passed).toBe(false);
    expect(check(lagCauses, 1, { ...o, lagSamples: samples({ write: 0, flush: 0.2, replay: 0.3 }) }).passed).toBe(false);
  });

  it('slow link: all three up passes; write flat does not, nor a link with the apply fault still on', () => {
    const o = lagObservation({ status: withFaults({}), actions: slowLink(20), lagSamples: samples({ write: 36, flush: 39, replay: 39 }) }, 'link');
    expect(check(lagCauses, 2, o)).toMatchObject({ passed: true, facts: { link: { node: 'n2', delayMs: 20 } } });
    expect(check(lagCauses, 2, { ...o, lagSamples: samples({ write: 0, flush: 39, replay: 39 }) }).passed).toBe(false);
    expect(check(lagCauses, 2, { ...o, status: withFaults({ applySlowMs: 5 }) }).passed).toBe(false);
  });
});

describe('lag-causes names the node actually used, and its autopilot a running follower', () => {
  const text = (step: number, o: Observation): string => {
    const instruction = lagCauses.steps[step]!.instruction;
    return typeof instruction === 'string' ? instruction : instruction(o, baseline(o));
  };
  const faulted = (id: string, faults: Partial<NodeStatus['faults']>, change: Partial<NodeStatus> = {}) => nodeStatus(id, { faults: { diskSlowMs: 0, applySlowMs: 0, ...faults }, ...change });

  it('the step after a slow disk on n3 says n3, not the first follower', () => {
    const o = observation({ status: [nodeStatus('n1', { role: 'leader' }), nodeStatus('n2'), faulted('n3', { diskSlowMs: 20 })] });
    expect(text(1, o)).toBe('Put the disk back and slow the apply instead: :disk n3 normal, then :apply n3 slow 5ms (each entry it applies takes 5 ms longer).');
    const apply = observation({ status: [nodeStatus('n1', { role: 'leader' }), nodeStatus('n2'), faulted('n3', { applySlowMs: 5 })] });
    expect(text(2, apply)).toBe('Put the apply back and slow the link instead: :apply n3 normal, then :delay n1 n3 20.');
  });

  it('says when the slowed node is down, and goes on with a running follower', () => {
    const o = observation({ status: [nodeStatus('n1', { role: 'leader' }), faulted('n2', { diskSlowMs: 20 }, { up: false }), nodeStatus('n3')] });
    expect(text(1, o)).toBe('n2 is down (:restart n2). Go on with n3. Put the disk back and slow the apply instead: :disk n2 normal, then :apply n3 slow 5ms (each entry it applies takes 5 ms longer).');
    const none = observation({ status: [nodeStatus('n1', { role: 'leader' }), faulted('n2', { diskSlowMs: 20 }, { up: false }), nodeStatus('n3', { up: false })] });
    expect(text(1, none)).toMatch(/^n2 is down \(:restart n2\)\. No follower is running to slow; restart one first\./);
    // The check says why nothing shows, rather than only 'no follower has it'.
    const stuck = observation({ ...at, status: [nodeStatus('n1', { role: 'leader' }), faulted('n2', { applySlowMs: 5 }, { up: false }), nodeStatus('n3')] });
    expect(check(lagCauses, 1, stuck).detail).toBe('n2 has a slow apply, but n2 is down (:restart n2): its lag cannot show');
  });

  function fakeContext(o: Observation): { context: AutopilotContext; calls: unknown[][]; waits: string[] } {
    const calls: unknown[][] = [];
    const waits: string[] = [];
    const record = (name: string) => (...args: unknown[]) => void calls.push([name, ...args]);
    const raft = { setNodeFault: record('setNodeFault') };
    const cluster = { setLink: record('setLink') };
    const context = {
      cluster,
      raft,
      before: baseline(o),
      observe: () => o,
      waitFor: async (what: string) => {
        waits.push(what);
        return o;
      },
      pause: async () => undefined,
    } as unknown as AutopilotContext;
    return { context, calls, waits };
  }

  it('the autopilot slows the apply on a running follower when the slowed disk\'s node is down, and fails at once with none', async () => {
    const o = observation({ status: [nodeStatus('n1', { role: 'leader' }), faulted('n2', { diskSlowMs: 20 }, { up: false }), nodeStatus('n3')] });
    const { context, calls, waits } = fakeContext(o);
    await lagCauses.steps[1]!.autopilot(context);
    expect(calls).toEqual([
      ['setNodeFault', 'n2', { diskSlowMs: 0 }],
      ['setNodeFault', 'n3', { applySlowMs: 5 }],
    ]);
    expect(waits.at(-1)).toBe('replay lag from the slow apply on n3');
    const none = observation({ status: [nodeStatus('n1', { role: 'leader' }), faulted('n2', { diskSlowMs: 20 }, { up: false }), nodeStatus('n3', { paused: true })] });
    await expect(lagCauses.steps[1]!.autopilot(fakeContext(none).context)).rejects.toThrow('no follower to slow: n2 is down (:restart n2). No follower is running to slow; restart one first.');
  });
});

describe('statement-divergence', () => {
  const random = "INSERT OR REPLACE INTO kv(k, v) VALUES ('dice', random())";
  const refused = action({ kind: 'execute', sql: random, params: [], node: null, endMono: 1_020, outcome: { ok: false, error: { kind: 'bad-statement', message: 'random() returns a different number on every node; …', leader: null } } });
  const acked = action({ kind: 'execute', sql: random, params: [], node: null, endMono: 1_020, outcome: { ok: true, index: 2, term: 2, leader: 'n1', latencyMs: 3 } });
  const localRead = (node: string, v: string, index = 2) =>
    action({ kind: 'query', sql: "SELECT v FROM kv WHERE k = 'dice'", params: [], node, consistency: 'local', minIndex: null, endMono: 1_040, outcome: { ok: true, node, index, columns: ['v'], rows: [{ v }], latencyMs: 1 } }, 30);
  const checksums = (values: string[]) => values.map((value, i) => nodeStatus(`n${i + 1}`, { role: i === 0 ? 'leader' : 'follower', checksum: { index: 2, value } }));

  it('the refusal: a bad-statement refusal of random() passes; a refusal for another reason, or none, does not', () => {
    expect(check(statementDivergence, 0, observation({ actions: [refused] }))).toMatchObject({ passed: true, facts: { refusedSql: random } });
    const other = action({ kind: 'execute', sql: "INSERT INTO kv(k, v) VALUES ('a', 'b')", params: [], node: null, endMono: 1_020, outcome: { ok: false, error: { kind: 'bad-statement', message: 'no such table', leader: null } } });
    expect(check(statementDivergence, 0, observation({ actions: [other] })).passed).toBe(false);
    expect(check(statementDivergence, 0, observation()).passed).toBe(false);
  });

  it('divergence: checksums that differ at the write\'s index pass; equal ones, or no acknowledged write, do not', () => {
    const o = observation({ actions: [acked], status: checksums(['aaaa', 'bbbb', 'cccc']) });
    expect(check(statementDivergence, 1, o)).toMatchObject({ passed: true, facts: { randomIndex: 2, checksumIndex: 2, distinctChecksums: 3 } });
    expect(check(statementDivergence, 1, { ...o, status: checksums(['aaaa', 'aaaa', 'aaaa']) }).passed).toBe(false);
    expect(check(statementDivergence, 1, { ...o, actions: [refused] }).passed).toBe(false);
  });

  it('reads: two nodes answering differently at or past the write passes; the same answer, or a read from before the write, does not', () => {
    expect(check(statementDivergence, 2, observation({ actions: [acked, localRead('n1', '17'), localRead('n2', '-4')] }))).toMatchObject({ passed: true });
    expect(check(statementDivergence, 2, observation({ actions: [acked, localRead('n1', '17'), localRead('n2', '17')] })).passed).toBe(false);
    expect(check(statementDivergence, 2, observation({ actions: [acked, localRead('n1', '17'), localRead('n2', '-4', 1)] })).passed).toBe(false);
  });

  it('the clock: a write reading \'now\' read differently on two nodes passes; a random() write does not count', () => {
    const clock = action({ kind: 'execute', sql: "INSERT OR REPLACE INTO kv(k, v) VALUES ('when', strftime('%Y-%m-%d %H:%M:%f', 'now'))", params: [], node: null, endMono: 1_020, outcome: { ok: true, index: 3, term: 2, leader: 'n1', latencyMs: 3 } });
    const readWhen = (node: string, v: string) =>
      action({ kind: 'query', sql: "SELECT v FROM kv WHERE k = 'when'", params: [], node, consistency: 'local', minIndex: null, endMono: 1_040, outcome: { ok: true, node, index: 3, columns: ['v'], rows: [{ v }], latencyMs: 1 } }, 30);
    expect(check(statementDivergence, 3, observation({ actions: [clock, readWhen('n1', '12:00:00.001'), readWhen('n3', '12:00:00.004')] })).passed).toBe(true);
    expect(check(statementDivergence, 3, observation({ actions: [acked, localRead('n1', '17'), localRead('n2', '-4')] })).passed).toBe(false);
  });
});

describe('debriefs', () => {
  it.each([lagCauses, statementDivergence].map((lab) => [lab.id, lab] as const))('%s writes no "undefined" when nothing was measured', (_, lab) => {
    const lines = lab.debrief({}, { stepsPassed: 0, steps: lab.steps.length, elapsedMs: 0, writesAcknowledged: 0, lostWrites: 0 });
    expect(lines.join('\n')).not.toMatch(/undefined|NaN/);
  });
});
