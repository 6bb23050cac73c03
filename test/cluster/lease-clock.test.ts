// Lease reads and the clock fault on real processes: a leader answers a lease
// read on its lease once one is running; a cut-off leader whose clock runs at
// a tenth of real speed still answers on its lease after the majority elected
// another leader and acknowledged a newer write, while a ReadIndex read to it
// fails. The clock rate is checked at the API and shows in status().

import { describe, expect, it } from 'vitest';
import { BadRequestError } from '../../cluster/index.js';
import { eventually, startCluster } from './helpers.js';

const readSql = "SELECT v FROM kv WHERE k = 'color'";
const upsert = (value: string): string => `INSERT OR REPLACE INTO kv(k, v) VALUES ('color', '${value}')`;

describe('lease reads and the clock fault', () => {
  it('a slow, cut-off leader serves a stale lease read; ReadIndex to it fails', async () => {
    const cluster = await startCluster({ nodes: 3, seed: 31, tickMs: 25, electionTimeoutMs: [1_000, 1_500], heartbeatMs: 50 });
    const old = await cluster.waitForLeader();
    await cluster.execute(upsert('yellow'));
    await cluster.query(readSql, [], { node: old, consistency: 'lease' });
    // The first read starts the lease; a later one is answered on it (a late timer on a loaded machine may drop it once).
    // Ticks of 25 ms: a tick must come 50 ms late by the node's clock (500 ms at a tenth of real speed) to drop the lease.
    expect(await eventually(async () => (await cluster.query(readSql, [], { node: old, consistency: 'lease' })).lease === true, 5_000, 100)).toBe(true);
    expect(() => cluster.setClockRate(old, 0)).toThrow(BadRequestError);
    cluster.setClockRate(old, 0.1);
    expect(cluster.status().find((n) => n.id === old)?.clockRate).toBe(0.1);
    const rest = cluster.ids.filter((id) => id !== old);
    cluster.partition([[old], rest]);
    expect(await eventually(() => cluster.status().some((n) => n.id !== old && n.role === 'leader'), 8_000)).toBe(true);
    const young = cluster.status().find((n) => n.id !== old && n.role === 'leader')!.id;
    await cluster.execute(upsert('green'), [], { node: young });
    const stale = await cluster.query(readSql, [], { node: old, consistency: 'lease', timeoutMs: 1_000 });
    expect(stale).toMatchObject({ lease: true, rows: [{ v: 'yellow' }] });
    await expect(cluster.query(readSql, [], { node: old, consistency: 'linearizable', timeoutMs: 500 })).rejects.toThrow();
  }, 20_000);
});
