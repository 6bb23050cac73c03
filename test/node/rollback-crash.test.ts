// The rollback crash window (issue 13): a follower that rolls back applied
// entries writes the rollback file durably before it truncates its log and
// undoes state.db. A real node host is stopped, as a crash would stop it, at
// each step of the rollback, restarted from its files, and asked again by the
// leader: the rollback is recorded exactly once and the state is the kept log's.

import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { entryBytes, type Entry, type Message } from '../../cluster/core/index.js';
import { NodeHost, type HostIo, type RollbackStep } from '../../cluster/node/host.js';
import type { NodeConfig } from '../../cluster/node/config.js';
import type { FromNode } from '../../cluster/protocol.js';
import { encodeStatement, Store } from '../../cluster/store/index.js';
import { testHostIo, testNodeConfig } from './helpers.js';

const dirs: string[] = [];
const open: { close(): unknown }[] = [];
afterEach(async () => {
  for (const item of open.splice(0).reverse()) await item.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'replica-lab-rollback-crash-'));
  dirs.push(dir);
  return dir;
}

class Crash extends Error {}

// Manual failover with async replication is how applied entries get rolled back (a promoted standby lacks them).
const config = (dataDir: string): NodeConfig =>
  testNodeConfig(dataDir, {
    electionTimeoutMs: [300, 600],
    heartbeatMs: 50,
    failover: 'manual',
    preVote: true,
    replication: { mode: 'async', ackLevel: 'flushed', quorum: null, syncStandbys: null, syncTimeoutMs: null, syncFallback: 'block' },
    fsync: true,
    seed: 1,
  });

interface Started {
  readonly host: NodeHost;
  readonly events: unknown[];
}

function start(dataDir: string, crashAt: RollbackStep | null): Started {
  const events: unknown[] = [];
  const io = testHostIo({
    send: (message: FromNode) => {
      if (message.type === 'events') events.push(...message.events.map((e) => e.event));
    },
    rollbackStep: (step) => {
      if (step === crashAt) throw new Crash(`crashed after the rollback step '${step}'`);
    },
  });
  const host = new NodeHost(config(dataDir), io);
  open.push(host);
  return { host, events };
}

/** Entries with the lsn a real log gives them (the running sum of record sizes). */
function entries(specs: readonly { term: number; sql: string; params?: readonly unknown[] }[], first = 1, lsnBefore = 0): Entry[] {
  let lsn = lsnBefore;
  return specs.map((spec, i) => {
    const data = encodeStatement(spec.sql, spec.params ?? []);
    lsn += entryBytes('sql', data, undefined);
    return { index: first + i, term: spec.term, lsn, kind: 'sql', data };
  });
}

const upsert = 'INSERT INTO kv(k, v, idx) VALUES (?, ?, log_index()) ON CONFLICT(k) DO UPDATE SET v = excluded.v, idx = excluded.idx';
const kept = entries([
  { term: 1, sql: upsert, params: ['a', 'kept'] },
  { term: 1, sql: 'CREATE TABLE t (id INTEGER PRIMARY KEY, note TEXT)' },
]);
const doomed = entries(
  [
    { term: 1, sql: upsert, params: ['a', 'lost'] },
    { term: 1, sql: "INSERT INTO t VALUES (1, 'lost')" },
    { term: 1, sql: upsert, params: ['b', 'lost'] },
  ],
  3,
  kept.at(-1)!.lsn,
);
const replacement = entries([{ term: 2, sql: upsert, params: ['c', 'new leader'] }], 3, kept.at(-1)!.lsn);

/** n1, leader of term 1, replicates entries 1-5 and commits them; n2 applies them. */
const fromOldLeader: Message = { type: 'append', from: 'n1', to: 'n2', term: 1, prevIndex: 0, prevTerm: 0, entries: [...kept, ...doomed], commit: 5 };
/** n3, promoted in term 2 without entries 3-5, overwrites them from index 3. */
const fromNewLeader: Message = { type: 'append', from: 'n3', to: 'n2', term: 2, prevIndex: 2, prevTerm: 1, entries: replacement, commit: 3 };

async function appliedTo(host: NodeHost, index: number, term: number): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    const t = host.telemetry(false);
    if (t.appliedIndex === index && host.telemetry(false).lastTerm >= term) return;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  throw new Error(`n2 did not apply up to ${index}: it is at ${host.telemetry(false).appliedIndex}`);
}

function rollbackFiles(dataDir: string): string[] {
  return readdirSync(join(dataDir, 'rollback')).sort();
}

/** The state of a node that never saw entries 3-5: entries 1-2 and the new leader's 3. */
function expectedChecksum(): string {
  const store = Store.open({ dir: tempDir() });
  try {
    for (const entry of [...kept, ...replacement]) store.apply(entry);
    return store.checksum();
  } finally {
    store.close();
  }
}

function expectRecordedOnce(dataDir: string): void {
  const files = rollbackFiles(dataDir);
  expect(files).toHaveLength(1);
  expect(files[0]).toMatch(/-3-5\.jsonl$/);
  const lines = readFileSync(join(dataDir, 'rollback', files[0]!), 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line) as { index: number; term: number; params: unknown[] });
  expect(lines.map((line) => [line.index, line.term])).toEqual([
    [3, 1],
    [4, 1],
    [5, 1],
  ]);
  expect(lines[0]!.params).toEqual(['a', 'lost']);
}

describe('a rollback interrupted by a crash', () => {
  it('without a crash: the file, the truncated log and the undone state', async () => {
    const dir = tempDir();
    const { host, events } = start(dir, null);
    host.receiveRaft([fromOldLeader]);
    await appliedTo(host, 5, 1);
    host.receiveRaft([fromNewLeader]);
    await appliedTo(host, 3, 2);
    expectRecordedOnce(dir);
    expect(host.checksum().value).toBe(expectedChecksum());
    expect(events).toContainEqual(expect.objectContaining({ type: 'rollback-written', node: 'n2' }));
  });

  for (const step of ['recorded', 'truncated', 'undone'] as const) {
    it(`crashing after the step '${step}' and restarting leaves one record and the kept log's state`, async () => {
      const dir = tempDir();
      const first = start(dir, step);
      first.host.receiveRaft([fromOldLeader]);
      await appliedTo(first.host, 5, 1);
      expect(() => first.host.receiveRaft([fromNewLeader])).toThrow(Crash);
      // The record is durable from the first step on, whatever comes after.
      expectRecordedOnce(dir);
      await first.host.close();

      const second = start(dir, null);
      const rebuilt = second.events.find((e) => (e as { type: string }).type === 'state-rebuilt');
      const reported = second.events.filter((e) => (e as { type: string }).type === 'rollback-written');
      if (step === 'truncated') {
        expect(rebuilt).toMatchObject({ reason: expect.stringContaining('a crash interrupted the rollback recorded in') as unknown, appliedIndex: 2 });
        // The first start crashed before reporting the rollback; the start that completes it reports it, from the file.
        expect(reported).toEqual([
          expect.objectContaining({
            node: 'n2',
            writes: [
              { index: 3, term: 1, kind: 'sql', sql: upsert },
              { index: 4, term: 1, kind: 'sql', sql: "INSERT INTO t VALUES (1, 'lost')" },
              { index: 5, term: 1, kind: 'sql', sql: upsert },
            ],
          }),
        ]);
      } else {
        expect(rebuilt).toBeUndefined();
        expect(reported).toEqual([]);
      }
      if (step === 'recorded') {
        // Nothing was undone before the crash: the file is removed and the rollback comes again with the leader's append.
        expect(second.host.telemetry(false).appliedIndex).toBe(5);
      }
      // The new leader sends its entries again (as it does to a follower that did not answer).
      second.host.receiveRaft([fromNewLeader]);
      await appliedTo(second.host, 3, 2);
      expectRecordedOnce(dir);
      expect(second.host.checksum().value).toBe(expectedChecksum());

      // And again after a clean restart: nothing is redone or written twice.
      await second.host.close();
      const third = start(dir, null);
      expect(third.host.telemetry(false).appliedIndex).toBe(3);
      expect(third.events.find((e) => (e as { type: string }).type === 'state-rebuilt')).toBeUndefined();
      expectRecordedOnce(dir);
      expect(third.host.checksum().value).toBe(expectedChecksum());
    });
  }
});

describe('a rollback interrupted by a crash, with a snapshot below it', () => {
  it("is not taken for a log that lost its end: the node starts from the snapshot and the log after it", async () => {
    const dir = tempDir();
    const replies: unknown[] = [];
    const io = testHostIo({
      send: (message: FromNode) => {
        if (message.type === 'reply') replies.push(message);
      },
      rollbackStep: (step) => {
        if (step === 'truncated') throw new Crash('crashed after the rollback step truncated');
      },
    });
    const host = new NodeHost(config(dir), io);
    open.push(host);
    host.receiveRaft([{ type: 'append', from: 'n1', to: 'n2', term: 1, prevIndex: 0, prevTerm: 0, entries: kept, commit: 2 }]);
    await appliedTo(host, 2, 1);
    host.receive({ type: 'snapshot', id: 1 });
    for (let i = 0; i < 2000 && replies.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 2));
    expect(replies).toEqual([expect.objectContaining({ type: 'reply', id: 1, ok: true })]);
    host.receiveRaft([{ type: 'append', from: 'n1', to: 'n2', term: 1, prevIndex: 2, prevTerm: 1, entries: doomed, commit: 5 }]);
    await appliedTo(host, 5, 1);
    expect(() => host.receiveRaft([fromNewLeader])).toThrow(Crash);
    await host.close();

    // state.db applied 5, the log ends at 2, the snapshot is at 2: the rollback record explains it.
    const second = start(dir, null);
    expect(second.events).not.toContainEqual(expect.objectContaining({ type: 'node-corrupt' }));
    second.host.receiveRaft([fromNewLeader]);
    await appliedTo(second.host, 3, 2);
    expect(second.host.checksum().value).toBe(expectedChecksum());
  });
});
