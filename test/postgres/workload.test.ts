// The built-in clients and their online checker on PostgreSQL: the same WorkloadEngine,
// its reads and writes through the engine's query and execute.
import { existsSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { PostgresCluster } from '../../cluster/postgres/index.js';
import { eventually, noPostgres, suiteName } from './helpers.js';

let cluster: PostgresCluster | null = null;
afterEach(async () => {
  await cluster?.stop();
  cluster = null;
});

describe.skipIf(noPostgres)(suiteName('postgres engine workload'), () => {
  it('runs closed-loop clients with read-your-writes sessions on standbys: writes acknowledged, no read-your-writes violation', async () => {
    cluster = await PostgresCluster.start({ nodes: 3, mode: 'async', ack: 'flushed' });
    cluster.workload.start({ rate: null, concurrency: 8, readFraction: 0.5, keys: 20, readTarget: 'follower', sessions: 'read-your-writes', seed: 7 });
    expect(await eventually(() => cluster!.workload.stats().writes.ok >= 200 && cluster!.workload.stats().reads.ok >= 200, 15_000)).toBe(true);
    await cluster.workload.stop();
    const stats = cluster.workload.stats();
    expect(stats.writes.fail + stats.writes.info).toBe(0);
    expect(stats.consistency.readYourWrites).toBe(0);
    const history = cluster.workload.historyFile();
    expect(history).not.toBeNull();
    expect(existsSync(history!)).toBe(true);
    const records = readFileSync(history!, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { type: string });
    expect(records[0]!.type).toBe('run');
    expect(records.filter((r) => r.type === 'ok').length).toBeGreaterThanOrEqual(400);
  });
});
