// status(): when a running node shows as wedged (cluster/supervisor/status.ts),
// from its own report or from its silence, and when it does not.

import { describe, expect, it } from 'vitest';
import type { NodeTelemetry } from '../../cluster/protocol.js';
import { nodeStatus, wedgedAfterMs, type NodeView } from '../../cluster/supervisor/status.js';

const report = (fields: Partial<NodeTelemetry> = {}): NodeTelemetry =>
  ({ id: 'n1', role: 'leader', term: 3, leader: 'n1', followers: [], wedged: null, lastStatement: { index: 7, sql: 'DELETE FROM kv' }, ...fields }) as unknown as NodeTelemetry;

const view = (fields: Partial<NodeView> = {}): NodeView => ({
  id: 'n1',
  pid: 42,
  up: true,
  paused: false,
  isolated: false,
  telemetry: report(),
  reportAgeMs: 50,
  silentMs: 50,
  wedgedAfterMs: wedgedAfterMs(50, 100),
  faults: { diskSlowMs: 0, applySlowMs: 0 },
  clockRate: 1,
  member: 'voter',
  ...fields,
});

describe('wedged in status()', () => {
  it('waits 20 heartbeats and 10 reports, and at least 2 s', () => {
    expect(wedgedAfterMs(50, 100)).toBe(2_000);
    expect(wedgedAfterMs(200, 100)).toBe(4_000);
    expect(wedgedAfterMs(50, 500)).toBe(5_000);
  });

  it('marks a running, unpaused node silent that long, with the last statement it began, and no longer as leader', () => {
    const status = nodeStatus(view({ reportAgeMs: 2_500, silentMs: 2_500 }), null);
    expect(status.wedged).toEqual({
      reason: 'no report for 2500 ms while running and not paused: its event loop is blocked (the last statement it reported beginning: entry 7)',
      statement: 'DELETE FROM kv',
    });
    expect(status.role).toBe('follower');
  });

  it('does not mark a node that reports, is paused, has just resumed, is down, or has not reported yet', () => {
    expect(nodeStatus(view(), null)).toMatchObject({ wedged: null, role: 'leader' });
    expect(nodeStatus(view({ paused: true, reportAgeMs: 9_000, silentMs: 9_000 }), null).wedged).toBeNull();
    expect(nodeStatus(view({ reportAgeMs: 9_000, silentMs: 30 }), null).wedged).toBeNull();
    expect(nodeStatus(view({ up: false, reportAgeMs: 9_000, silentMs: 9_000 }), null)).toMatchObject({ wedged: null, role: 'down' });
    expect(nodeStatus(view({ telemetry: null, reportAgeMs: 9_000, silentMs: 9_000 }), null).wedged).toBeNull();
  });

  it("passes on the node's own reason when an error of its environment stopped it", () => {
    const wedged = { reason: 'state.db failed applying entry 9 with SQLITE_FULL', statement: 'INSERT INTO kv VALUES (1, 2, 3)' };
    expect(nodeStatus(view({ telemetry: report({ role: 'follower', wedged }) }), null).wedged).toEqual(wedged);
  });
});
