// The snapshot policy as a node and the supervisor check it: every field
// named in the error, defaults filled in, unknown fields refused.

import { describe, expect, it } from 'vitest';
import { parseNodeConfig } from '../../cluster/node/config.js';
import { resolveSnapshotPolicy, snapshotPolicyDefault, snapshotPolicyProblem } from '../../cluster/node/snapshots.js';

describe('snapshot policy', () => {
  it('fills in the defaults and takes null for no byte cap', () => {
    expect(resolveSnapshotPolicy(undefined)).toEqual(snapshotPolicyDefault);
    expect(resolveSnapshotPolicy({ everyEntries: 0 })).toEqual({ ...snapshotPolicyDefault, everyEntries: 0 });
    expect(resolveSnapshotPolicy({ retainBytes: null })).toEqual({ ...snapshotPolicyDefault, retainBytes: null });
  });

  it('names the field and the range of a bad value', () => {
    expect(snapshotPolicyProblem({ everyEntries: 1.5 })).toBe('snapshot.everyEntries: expected a whole number of entries (0: only on request) from 0 to 10000000, got 1.5');
    expect(snapshotPolicyProblem({ retainEntries: -1 })).toContain('snapshot.retainEntries');
    expect(snapshotPolicyProblem({ retainBytes: 1024 })).toContain('snapshot.retainBytes: expected a whole number of bytes (or null for no cap) from 65536');
    expect(snapshotPolicyProblem({ segmentBytes: '1MiB' })).toContain('got "1MiB"');
    expect(snapshotPolicyProblem({ keep: 3 })).toContain('unknown option keep');
    expect(snapshotPolicyProblem([])).toContain('expected an object');
    expect(snapshotPolicyProblem(snapshotPolicyDefault)).toBeNull();
  });

  it('is checked in the node config before the node touches its data dir', () => {
    const config = {
      id: 'n1', peers: ['n1'], dataDir: '/tmp/x', tickMs: 10, electionTimeoutMs: [150, 300], heartbeatMs: 50, failover: 'raft',
      replication: {}, seed: 1, telemetryMs: 100, socketDir: '/tmp/s', secret: 'a-secret-of-enough-characters', fsync: false,
    };
    expect(parseNodeConfig(JSON.stringify({ ...config, snapshot: snapshotPolicyDefault })).snapshot).toEqual(snapshotPolicyDefault);
    expect(() => parseNodeConfig(JSON.stringify({ ...config, snapshot: { ...snapshotPolicyDefault, segmentBytes: 0 } }))).toThrow(/a valid snapshot policy \(snapshot\.segmentBytes/);
  });
});
