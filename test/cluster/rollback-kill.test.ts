// The rollback crash window (issue 13) on real processes: an old async leader
// that comes back must roll back writes only it acknowledged. Its process is
// SIGKILLed (REPLICA_LAB_TEST_CRASH_ROLLBACK) right after the rollback file is
// durable and before the WAL is truncated, or right after the truncation and
// before state.db is undone. Restarted without the hook it finishes the
// rollback: one file records the undone writes, and it agrees with the others.
// test/node/rollback-crash.test.ts covers every step in-process.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Cluster, ClusterEvent } from '../../cluster/index.js';
import { eventually, startCluster } from './helpers.js';

const upsert = 'INSERT INTO kv(k, v, idx) VALUES (?, ?, log_index()) ON CONFLICT(k) DO UPDATE SET v = excluded.v, idx = excluded.idx';
const hook = 'REPLICA_LAB_TEST_CRASH_ROLLBACK';

function statusLine(cluster: Cluster): string {
  return JSON.stringify(cluster.status().map((n) => [n.id, n.up, n.role, n.term, n.lastIndex, n.appliedIndex]));
}

interface RollbackLine {
  readonly index: number;
  readonly term: number;
  readonly sql: string | null;
  readonly params: unknown[] | null;
}

/** Every rollback file of a node, with its lines. */
function rollbackFiles(cluster: Cluster, id: string): { name: string; lines: RollbackLine[] }[] {
  const dir = join(cluster.nodeDir(id), 'rollback');
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return [];
  }
  return names.map((name) => ({
    name,
    lines: readFileSync(join(dir, name), 'utf8')
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as RollbackLine),
  }));
}

/** The cluster takes a write, every node applies it, and all report one checksum at one applied index. */
async function expectAgreeing(cluster: Cluster): Promise<void> {
  const { index } = await cluster.execute(upsert, ['after-restart', 'ok'], { timeoutMs: 5_000 });
  const applied = await eventually(() => cluster.status().every((n) => n.up && n.appliedIndex >= index), 10_000);
  expect(applied, statusLine(cluster)).toBe(true);
  const checksums = await Promise.all(cluster.ids.map((id) => cluster.checksum(id)));
  expect(new Set(checksums.map((c) => c.index)).size, JSON.stringify(checksums)).toBe(1);
  expect(new Set(checksums.map((c) => c.value)).size, JSON.stringify(checksums)).toBe(1);
}

describe('a node killed in the middle of a rollback', () => {
  for (const step of ['recorded', 'truncated'] as const) {
    it(`killed after the step '${step}', it finishes the rollback on restart and records it once`, async () => {
      // Async: the leader acknowledges at its own flush. No CheckQuorum: cut off, it goes on leading and acknowledging.
      const cluster = await startCluster({ nodes: 3, seed: 31, replication: { mode: 'async' }, checkQuorum: false });
      const exits: { node: string; signal: string | null; expected: boolean }[] = [];
      cluster.on('event', (e: ClusterEvent) => {
        if (e.event.type === 'node-exited') exits.push({ node: e.event.node, signal: e.event.signal, expected: e.event.expected });
      });
      const old = await cluster.waitForLeader({ timeoutMs: 5_000 });
      const others = cluster.ids.filter((id) => id !== old);
      const kept = await cluster.execute(upsert, ['kept', 'everywhere']);
      expect(await eventually(() => cluster.status().every((n) => n.appliedIndex >= kept.index), 5_000), statusLine(cluster)).toBe(true);

      cluster.partition([[old], others]);
      const doomed = [];
      for (let i = 0; i < 4; i++) doomed.push(await cluster.execute(upsert, [`doomed${i}`, step], { node: old }));
      const last = doomed.at(-1)!;
      // Applied on the old leader (the rollback undoes state, not just log): only its disk has them.
      expect(await eventually(() => cluster.status().find((n) => n.id === old)!.appliedIndex >= last.index, 5_000), statusLine(cluster)).toBe(true);
      await cluster.kill(old);
      cluster.heal();
      expect(await eventually(() => cluster.leader() !== null && cluster.leader() !== old, 10_000), statusLine(cluster)).toBe(true);
      // The new leader's log replaces the doomed entries from their first index on.
      await cluster.execute(upsert, ['new-leader', '1'], { timeoutMs: 5_000 });

      exits.length = 0;
      process.env[hook] = `${old}:${step}`;
      try {
        await cluster.restart(old);
      } finally {
        delete process.env[hook];
      }
      // The new leader's append makes it roll back, and the hook kills it at that step.
      expect(await eventually(() => exits.some((e) => e.node === old), 15_000), statusLine(cluster)).toBe(true);
      expect(exits).toEqual([{ node: old, signal: 'SIGKILL', expected: false }]);
      expect(readFileSync(join(cluster.nodeDir(old), 'node.log'), 'utf8')).toContain(`${old}: ${hook}: exiting after the rollback's ${step} step`);
      // The record is durable before anything forgets the entries.
      const crashed = rollbackFiles(cluster, old);
      expect(crashed).toHaveLength(1);
      expect(crashed[0]!.lines.map((line) => line.index)).toEqual(doomed.map((d) => d.index));

      await cluster.restart(old);
      // Finished: its state holds the new leader's write and none of the doomed ones.
      const keys = async (): Promise<string[]> => {
        const result = await cluster.query("SELECT k FROM kv WHERE k = 'new-leader' OR k LIKE 'doomed%' ORDER BY k", [], { node: old, timeoutMs: 1_000 });
        return (result.rows as { k: string }[]).map((row) => row.k);
      };
      const finished = await eventually(async () => (await keys().catch(() => [])).join() === 'new-leader', 15_000, 100);
      expect(finished, statusLine(cluster)).toBe(true);
      const rebuilt = cluster.events().filter((e) => e.event.type === 'state-rebuilt' && e.event.node === old);
      if (step === 'truncated') {
        // The log no longer held the doomed entries: the start completed the undo from the file.
        expect(rebuilt.map((e) => (e.event as { reason: string }).reason)).toEqual([expect.stringContaining('a crash interrupted the rollback recorded in')]);
      } else {
        // The crash came before the truncation: the log still held them, nothing was undone; the leader's append rolled them back anew.
        expect(rebuilt).toEqual([]);
      }
      // The supervisor counts them as lost writes, acknowledged and then undone.
      expect(cluster.lostWrites().map((w) => w.index).sort((a, b) => a - b)).toEqual(doomed.map((d) => d.index));

      // Exactly one file records the undone writes, in order, with their statements.
      const files = rollbackFiles(cluster, old);
      expect(files, JSON.stringify(files.map((f) => f.name))).toHaveLength(1);
      const lines = files[0]!.lines;
      expect(lines.map((line) => [line.index, line.term])).toEqual(doomed.map((d) => [d.index, d.term]));
      expect(lines.map((line) => line.params)).toEqual(doomed.map((_, i) => [`doomed${i}`, step]));
      expect(lines.every((line) => line.sql === upsert)).toBe(true);

      await expectAgreeing(cluster);
      expect(exits.filter((e) => !e.expected)).toHaveLength(1);
    }, 30_000);
  }
});
