// The Cluster API's options are checked before anything is sent (a bad
// timeoutMs once sent and committed the write, then failed with a timeout of
// "NaN ms"), and removing a node keeps the replication setting true to the
// configuration (a removed sync standby stayed named, and every later
// setReplication or write override was refused for it).

import { describe, expect, it } from 'vitest';
import { BadRequestError, type ClusterEvent } from '../../cluster/index.js';
import { checkExecuteOptions, checkQueryOptions, checkTimeoutMs, type ExecuteOptions, type QueryOptions } from '../../cluster/supervisor/requests.js';
import { checkWorkload, defaultWorkload } from '../../cluster/supervisor/workload-options.js';
import { startCluster } from './helpers.js';

const bad = (value: unknown) => value as never;

describe('request options (pure)', () => {
  it('refuses every bad timeoutMs, naming the value, and takes a good one', () => {
    for (const value of [NaN, -1, 0, 0.5, Infinity, 1e12, '100', null]) {
      expect(() => checkTimeoutMs(value), String(value)).toThrow(BadRequestError);
      expect(() => checkExecuteOptions({ timeoutMs: bad(value) }), String(value)).toThrow(/timeoutMs must be a number of milliseconds from 1 to 3600000/);
      expect(() => checkQueryOptions({ timeoutMs: bad(value) }), String(value)).toThrow(BadRequestError);
    }
    expect(() => checkTimeoutMs(NaN)).toThrow(/got NaN/);
    expect(() => checkTimeoutMs(-1)).toThrow(/got -1/);
    for (const value of [undefined, 1, 5_000, 3_600_000]) expect(() => checkTimeoutMs(value)).not.toThrow();
  });

  it('refuses a bad consistency, minIndex or options argument', () => {
    expect(() => checkQueryOptions({ consistency: bad('bogus') })).toThrow(/consistency must be local, linearizable, lease, got "bogus"/);
    for (const minIndex of [-1, 1.5, NaN, '3']) expect(() => checkQueryOptions({ minIndex: bad(minIndex) }), String(minIndex)).toThrow(/minIndex must be a whole number/);
    expect(() => checkQueryOptions({ consistency: 'lease', minIndex: 0, timeoutMs: 10 })).not.toThrow();
    expect(() => checkExecuteOptions(bad(null) as ExecuteOptions)).toThrow(/execute options must be an object/);
    expect(() => checkQueryOptions(bad('x') as QueryOptions)).toThrow(/query options must be an object/);
    expect(() => checkExecuteOptions({ request: bad(NaN) })).toThrow(BadRequestError);
  });
});

describe('workload options (pure)', () => {
  it('refuses a timeoutMs past what a timer holds, as execute does', () => {
    for (const timeoutMs of [NaN, 0, Infinity, 1e12]) expect(() => checkWorkload({ ...defaultWorkload, timeoutMs }), String(timeoutMs)).toThrow(/bad workload: expected timeoutMs from 1 to 3600000/);
    expect(checkWorkload({ ...defaultWorkload, timeoutMs: 2_000 }).timeoutMs).toBe(2_000);
  });
});

describe('Cluster API options and removal on real processes', () => {
  it('refuses a bad option before sending, and drops a removed node from the sync standbys', async () => {
    const cluster = await startCluster({ nodes: 3, seed: 21, replication: { mode: 'sync', syncStandbys: ['n2'], quorum: 3 } });
    const events: ClusterEvent[] = [];
    cluster.on('event', (e: ClusterEvent) => events.push(e));
    let leader = await cluster.waitForLeader({ timeoutMs: 5_000 });
    await cluster.execute("INSERT INTO kv(k, v) VALUES ('first', '1')");

    // Nothing is sent: the key never reaches the log.
    for (const timeoutMs of [NaN, -1, 1e12]) {
      await expect(cluster.execute("INSERT INTO kv(k, v) VALUES ('never', '1')", [], { timeoutMs })).rejects.toThrow(BadRequestError);
      await expect(cluster.query('SELECT 1', [], { timeoutMs })).rejects.toThrow(BadRequestError);
      await expect(cluster.waitForLeader({ timeoutMs })).rejects.toThrow(BadRequestError);
      await expect(cluster.trace("INSERT INTO kv(k, v) VALUES ('never', '2')", [], { timeoutMs })).rejects.toThrow(BadRequestError);
    }
    await expect(cluster.query('SELECT 1', [], { consistency: bad('bogus') })).rejects.toThrow(BadRequestError);
    await expect(cluster.query('SELECT 1', [], { minIndex: -1 })).rejects.toThrow(BadRequestError);
    const read = await cluster.query("SELECT count(*) AS n FROM kv WHERE k = 'never'", [], { consistency: 'linearizable' });
    expect(read.rows[0]!['n']).toBe(0);

    // Remove the named sync standby (off the leader first, so the removal is an ordinary one).
    if (leader === 'n2') {
      await cluster.transferLeadership('n1');
      leader = await cluster.waitForLeader({ timeoutMs: 5_000 });
    }
    await cluster.removeNode('n2');
    expect(cluster.replicationSettings()).toMatchObject({ mode: 'sync', syncStandbys: null, quorum: 2 });
    const said = events.flatMap((e) => (e.event.type === 'replication-set' ? [e.event] : []));
    expect(said.at(-1)?.reason).toMatch(/n2 left the cluster and was the only named sync standby: sync writes now wait for every voting follower/);
    // The setting no longer names a node the API refuses: overrides and changes go through.
    await cluster.execute("INSERT INTO kv(k, v) VALUES ('after', '1')", [], { mode: 'sync' });
    await expect(cluster.setReplication({ mode: 'sync', ackLevel: 'applied' })).resolves.toMatchObject({ syncStandbys: null });
    await expect(cluster.setReplication({ syncStandbys: ['n2'] })).rejects.toThrow(/n2 was removed from the cluster/);
  }, 20_000);
});
