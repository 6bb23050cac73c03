// pg-sync-cancel on three real PostgreSQL servers, every step both ways: its
// check does not pass when the step begins and passes once the autopilot has
// done it. Step 2 passes only if the engine hands the client PostgreSQL's own
// WARNING for the cancelled commit wait (cluster/postgres `run`), and step 3
// only if the row is then on the primary and not on the cut-off standby.

import { describe, expect, it } from 'vitest';
import type { ReplicationEngine } from '../../cluster/engine.js';
import { findLab } from '../../labs/index.js';
import { isAlive, labOnPostgres, noPostgres, suiteName } from './helpers.js';

describe.skipIf(noPostgres)(suiteName('pg-sync-cancel on PostgreSQL'), () => {
  it('each check fails before its step and passes after the autopilot; the cancelled commit is there on n1, not on n2, then on n2', async () => {
    const lab = findLab('pg-sync-cancel')!;
    const started: ReplicationEngine[] = [];
    const session = await labOnPostgres(lab, started);
    const pids = session.cluster.status().flatMap((n) => (n.pid === null ? [] : [n.pid]));
    try {
      for (const [index, step] of lab.steps.entries()) {
        const before = session.getState().step!.check;
        expect(before.passed, `step ${index + 1} (${step.title}) passed before it was done: ${before.detail}`).toBe(false);
        const outcome = await session.runAutopilot();
        expect(outcome.passed, `step ${index + 1} (${step.title}): ${session.getState().message ?? ''}`).toBe(true);
        if (session.getState().phase !== 'finished') expect(await session.next()).toBe(true);
      }
      const steps = session.getState().steps;
      expect(steps[0]!.detail).toContain("synchronous_standby_names = 'FIRST 1 (n2)'");
      expect(steps[1]!.detail).toContain('WARNING: canceling wait for synchronous replication due to user request');
      expect(steps[1]!.detail).toContain('The transaction has already committed locally, but might not have been replicated to the standby.');
      expect(steps[2]!.detail).toMatch(/^n1 shows order-42 = paid .*; n2 has no such row/);
      expect(steps[3]!.detail).toMatch(/^n2 shows order-42 = paid/);
    } finally {
      await session.stop();
      for (const cluster of started) await cluster.stop().catch(() => undefined);
    }
    expect(pids.filter(isAlive)).toEqual([]);
  }, 30_000);
});
