// status(): a node's `applied` is its leader's view (pg_stat_replication's
// replay position), except when the node itself reports it applied less: a
// follower that restarted or restored a snapshot is behind what the leader
// last heard, and status must not claim what the node does not hold.

import { describe, expect, it } from 'vitest';
import type { NodeTelemetry } from '../../cluster/protocol.js';
import { nodeStatus, wedgedAfterMs, type NodeView } from '../../cluster/supervisor/status.js';

const follower = (appliedIndex: number, appliedLsn: number): NodeTelemetry =>
  ({ id: 'n2', role: 'follower', term: 3, leader: 'n1', followers: [], wedged: null, lastIndex: 351, appliedIndex, appliedLsn }) as unknown as NodeTelemetry;

const leaderSaw = (applied: number, lsn: number): NodeTelemetry =>
  ({
    id: 'n1', role: 'leader', term: 3, leader: 'n1', wedged: null,
    followers: [{ id: 'n2', positions: { received: 351, flushed: 351, applied }, lsn: { received: 9_000, flushed: 9_000, applied: lsn }, writeLagMs: 0, flushLagMs: 0, replayLagMs: 0, lagEntries: 0, lagBytes: 0 }],
  }) as unknown as NodeTelemetry;

const view = (telemetry: NodeTelemetry): NodeView => ({
  id: 'n2', pid: 42, up: true, paused: false, isolated: false, telemetry, reportAgeMs: 50, silentMs: 50,
  wedgedAfterMs: wedgedAfterMs(50, 100), faults: { diskSlowMs: 0, applySlowMs: 0 }, clockRate: 1, member: 'voter',
});

describe('applied in status()', () => {
  it("is the leader's view when the node holds at least that", () => {
    expect(nodeStatus(view(follower(351, 9_000)), leaderSaw(340, 8_700)).applied).toEqual({ index: 340, lsn: 8_700 });
  });

  it('is the node\'s own when it says it applied less than the leader last heard', () => {
    const status = nodeStatus(view(follower(301, 7_700)), leaderSaw(351, 9_000));
    expect(status.applied).toEqual({ index: 301, lsn: 7_700 });
    expect(status.appliedIndex).toBe(301);
  });
});
