// lag-anomalies on three real PostgreSQL servers, step by step as
// test/labs/steps.test.ts does on replica-lab: each check fails before its step
// is done and passes once the autopilot has done it (a slowed replication
// link makes hot-standby reads miss their own writes and go back in time; the
// session fixes, WAL position and sticky reads, clear both).

import { afterEach, describe, expect, it } from 'vitest';
import type { ReplicationEngine } from '../../cluster/engine.js';
import { findLab, type LabSession } from '../../labs/index.js';
import { labOnPostgres, noPostgres, suiteName } from './helpers.js';

const sessions: LabSession[] = [];
const clusters: ReplicationEngine[] = [];

afterEach(async () => {
  for (const session of sessions.splice(0)) await session.stop().catch(() => undefined);
  for (const cluster of clusters.splice(0)) await cluster.stop().catch(() => undefined);
});

describe.skipIf(noPostgres)(suiteName('lag-anomalies on PostgreSQL'), () => {
  it('each check fails before its step is done and passes after the autopilot does it, in the variant\'s words', async () => {
    const session = await labOnPostgres(findLab('lag-anomalies')!, clusters);
    sessions.push(session);
    expect(session.getState().steps.map((s) => s.title)).toEqual(['Slow one standby', 'Fix read-your-writes', 'Fix monotonic reads']);
    const details: string[] = [];
    for (let index = 0; index < 3; index++) {
      const before = session.getState().step!.check;
      expect(before.passed, `step ${index + 1} passed before it was done: ${before.detail}`).toBe(false);
      const outcome = await session.runAutopilot();
      expect(outcome.passed, `step ${index + 1} did not pass after its autopilot: ${outcome.detail} (${outcome.autopilotError ?? ''})`).toBe(true);
      details.push(outcome.detail);
      expect(await session.next()).toBe(true);
    }
    expect(details[0]).toMatch(/^with n\d 800 ms behind: \d+ of \d+ reads missed/);
    expect(details[1]).toMatch(/0 of \d+ reads missed their own write; reads on n\d waited up to .* for their WAL position/);
    expect(details[2]).toMatch(/0 of \d+ reads missed their own write or went back in time/);
    const end = session.getState();
    expect(end.phase).toBe('finished');
    expect(end.debrief!.join('\n')).toMatch(/standby reads missed their own session's write/);
    expect(end.debrief!.join('\n')).not.toMatch(/undefined|NaN/);
  }, 30_000);
});
