// The WAL hosting the real consensus core: a one-node cluster persists every
// Ready through the WAL, restarts from what it recovered, and agrees with the
// core on every entry and lsn.

import * as fs from 'node:fs';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { RaftCore, type CoreConfig, type InitialState } from '../../cluster/core/index.js';
import { openWal, type Wal } from '../../cluster/wal/index.js';
import { logBytes, makeTempDir } from './helpers.js';

let dir: string;
beforeEach(() => {
  dir = makeTempDir();
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const config: CoreConfig = {
  id: 'n1',
  peers: ['n1'],
  electionTicks: [10, 20],
  heartbeatTicks: 2,
  failover: 'raft',
  fencing: true,
  preVote: true,
  checkQuorum: true,
  seed: 1,
  replication: { mode: 'quorum', ackLevel: 'flushed', quorum: null, syncStandbys: null, syncTimeoutTicks: null, syncFallback: 'block' },
};

/** Runs the host loop until the core has nothing left to do, flushing through the WAL. */
async function drain(core: RaftCore, wal: Wal): Promise<void> {
  while (core.hasReady()) {
    const ready = core.ready();
    if (ready.hardState !== null) wal.saveHardState(ready.hardState);
    if (ready.writeFrom !== null) wal.write(ready.writeFrom, ready.entries);
    core.advance();
    const durable = await wal.flush();
    if (durable !== null) core.persisted(durable.index, durable.term);
  }
}

function start(wal: Wal): RaftCore {
  const initial: InitialState = { hardState: wal.hardState(), snapshot: null, entries: wal.entries(), appliedIndex: 0 };
  return new RaftCore(config, initial);
}

it('a one-node core persists through the WAL and restarts from it with the same entries and lsn', async () => {
  let { wal } = openWal({ dir, fsync: true });
  let core = start(wal);
  for (let i = 0; i < 30 && core.getRole() !== 'leader'; i++) {
    core.tick();
    await drain(core, wal);
  }
  expect(core.getRole()).toBe('leader');
  const values = ['plain', 'ünïcödé', '日本語', '🚀🧪', ''];
  for (let i = 0; i < 25; i++) {
    const result = core.propose({ id: i, data: JSON.stringify({ sql: 'INSERT INTO kv VALUES (?, ?)', params: [i, values[i % values.length]] }), client: `c${i % 3}`, request: i });
    expect(result.ok).toBe(true);
    if (i % 4 === 0) await drain(core, wal);
  }
  await drain(core, wal);
  const before = core.status();
  const written = core.entries(1, before.lastIndex + 1);
  expect(wal.entries()).toEqual(written);
  expect(logBytes(dir)).toBe(before.lastLsn);
  await wal.close();

  const reopened = openWal({ dir, fsync: true });
  wal = reopened.wal;
  expect(reopened.recovery.problem).toBeNull();
  expect(wal.entries()).toEqual(written);
  core = start(wal);
  expect(core.status().lastLsn).toBe(before.lastLsn);
  expect(core.getTerm()).toBe(before.term);
  expect(wal.hardState()).toEqual({ term: before.term, vote: 'n1' });
  await wal.close();
});
