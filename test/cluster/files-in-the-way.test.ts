// Something in a node's dir that is not what the node keeps there (a directory
// named state.db, a file named wal or n2, a state.db that is not an SQLite
// database): a clear one-line error naming the path, at start and at restart,
// and nothing touched; status says why the node is down, and a rebuild keeps
// the thing aside instead of deleting it.

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BadRequestError, Cluster, ClusterError } from '../../cluster/index.js';
import { eventually, startCluster } from './helpers.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'replica-lab-in-the-way-'));
  dirs.push(dir);
  return dir;
}

describe('files in the way', () => {
  it('refuse Cluster.start with a ClusterError naming the path, before any node starts, touching nothing', async () => {
    const dir = dataDir();
    mkdirSync(join(dir, 'n1'));
    writeFileSync(join(dir, 'n1', 'state.db'), 'hello');
    const start = Cluster.start({ nodes: 3, dataDir: dir, fsync: false });
    await expect(start).rejects.toThrow(BadRequestError);
    await expect(Cluster.start({ nodes: 3, dataDir: dir, fsync: false })).rejects.toThrow(
      `${join(dir, 'n1', 'state.db')} is in the way: it is not an SQLite database`,
    );
    expect(readFileSync(join(dir, 'n1', 'state.db'), 'utf8')).toBe('hello');
    // No node started: n2 and n3 have no dir yet.
    expect(readdirSync(dir).filter((n) => /^n[0-9]$/.test(n))).toEqual(['n1']);

    rmSync(join(dir, 'n1'), { recursive: true });
    writeFileSync(join(dir, 'n2'), 'mine');
    const error = await Cluster.start({ nodes: 3, dataDir: dir, fsync: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ClusterError);
    expect((error as Error).message).toMatch(new RegExp(`^${join(dir, 'n2')} is in the way: it is a regular file, not a directory;`));
    expect(readFileSync(join(dir, 'n2'), 'utf8')).toBe('mine');
  });

  it('the CLI prints it as one line', () => {
    const dir = dataDir();
    mkdirSync(join(dir, 'n1'));
    writeFileSync(join(dir, 'n1', 'wal'), 'in the way');
    let stderr = '';
    try {
      execFileSync(process.execPath, ['dist/cli/main.js', 'start', '--headless', '--data-dir', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 15_000 });
    } catch (error) {
      stderr = (error as { stderr: string }).stderr;
    }
    expect(stderr.trim().split('\n')).toEqual([`replica-lab: ${join(dir, 'n1', 'wal')} is in the way: it is a regular file, where n1 keeps a directory; replica-lab changed nothing (it never removes what it did not write): move it away, then start again (or choose another data dir)`]);
  }, 20_000);

  it('refuse a restart; status says why; a rebuild keeps the thing aside and copies the node again', async () => {
    const dir = dataDir();
    const cluster = await startCluster({ nodes: 3, seed: 133, dataDir: dir });
    const leader = await cluster.waitForLeader({ timeoutMs: 10_000 });
    for (let i = 0; i < 5; i++) await cluster.execute('INSERT INTO kv(k, v) VALUES (?, ?)', [`k${i}`, 'v']);
    const victim = cluster.ids.find((id) => id !== leader)!;
    await cluster.kill(victim);
    const node = cluster.nodeDir(victim);
    for (const name of ['state.db', 'state.db-wal', 'state.db-shm']) rmSync(join(node, name), { force: true });
    mkdirSync(join(node, 'state.db'));
    writeFileSync(join(node, 'state.db', 'mine.txt'), 'keep me');

    await expect(cluster.restart(victim)).rejects.toThrow(`${join(node, 'state.db')} is in the way: it is a directory, where ${victim} keeps a file`);
    const status = cluster.status().find((n) => n.id === victim)!;
    expect(status.up).toBe(false);
    expect(status.corrupt?.message).toContain(`${join(node, 'state.db')} is in the way`);

    await cluster.restart(victim, { rebuild: true });
    const aside = readdirSync(node).filter((n) => n.startsWith('state.db-in-the-way-'));
    expect(aside).toHaveLength(1);
    expect(readFileSync(join(node, aside[0]!, 'mine.txt'), 'utf8')).toBe('keep me');
    const { index } = await cluster.execute('INSERT INTO kv(k, v) VALUES (?, ?)', ['after', 'rebuild'], { timeoutMs: 10_000 });
    expect(await eventually(() => cluster.status().every((n) => n.up && n.appliedIndex >= index && n.corrupt == null), 10_000)).toBe(true);
    const sums = await Promise.all(cluster.ids.map((id) => cluster.checksum(id)));
    expect(new Set(sums.map((s) => `${s.index}:${s.value}`)).size, JSON.stringify(sums)).toBe(1);
    expect(statSync(join(node, 'state.db')).isFile()).toBe(true);
  }, 40_000);
});
