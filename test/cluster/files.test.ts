// Files under a data dir (issue 13, rows 11, 12 and 15): private modes, no
// symbolic link followed, no file of the user's overwritten, one cluster per
// data dir, and a temporary data dir gone when its supervisor is SIGKILLed.

import { spawn } from 'node:child_process';
import { closeSync, existsSync, lstatSync, writeSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { BadRequestError, Cluster } from '../../cluster/index.js';
import { openFreshName } from '../../cluster/supervisor/files.js';
import { eventually, isAlive, startCluster } from './helpers.js';

function scratchDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'replica-lab-files-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function mode(path: string): number {
  return statSync(path).mode & 0o777;
}

async function write(cluster: Cluster, key: string): Promise<number> {
  await cluster.waitForLeader({ timeoutMs: 5_000 });
  const { index } = await cluster.execute('INSERT INTO kv(k, v, idx) VALUES (?, ?, log_index())', [key, 'v'], { timeoutMs: 5_000 });
  return index;
}

/** Every path under `dir`, depth first. */
function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? [path, ...walk(path)] : [path];
  });
}

describe('files under the data dir', () => {
  it('makes the data dir and every dir 0700, every file 0600 (wal, meta, state.db, node.log, history, lock)', async () => {
    const dataDir = join(scratchDir(), 'mydir');
    const cluster = await startCluster({ nodes: 3, dataDir });
    cluster.workload.start({ rate: 50 });
    expect(await write(cluster, 'modes')).toBeGreaterThan(0);
    await eventually(() => cluster.workload.stats().writes.ok > 5, 5_000);
    await cluster.workload.stop();
    // A node writes meta when it first hears of a term: a slow one may not have yet when the quorum answered.
    expect(await eventually(() => cluster.ids.every((id) => existsSync(join(dataDir, id, 'meta'))), 5_000)).toBe(true);
    expect(mode(dataDir)).toBe(0o700);
    const paths = walk(dataDir);
    for (const name of ['wal', 'state.db', 'node.log', 'meta']) expect(paths.filter((path) => path.endsWith(`/${name}`)), name).toHaveLength(3);
    for (const name of ['history.jsonl', 'replica-lab.lock']) expect(paths).toContain(join(dataDir, name));
    for (const path of paths) {
      const stats = lstatSync(path);
      if (stats.isSocket()) continue;
      expect(`${path} ${(stats.mode & 0o777).toString(8)}`).toBe(`${path} ${stats.isDirectory() ? '700' : '600'}`);
    }
    await cluster.stop();
    expect(existsSync(join(dataDir, 'replica-lab.lock')), 'stop() releases the lock').toBe(false);
  });

  it("refuses to overwrite a history.jsonl replica-lab did not write, names it, and keeps it; the cluster still takes writes", async () => {
    const dataDir = scratchDir();
    const mine = join(dataDir, 'history.jsonl');
    writeFileSync(mine, 'my own notes\n');
    const cluster = await startCluster({ nodes: 3, dataDir });
    expect(() => cluster.workload.start({ rate: 20 })).toThrow(BadRequestError);
    expect(() => cluster.workload.start({ rate: 20 })).toThrow(`${mine} exists and replica-lab did not write it`);
    expect(readFileSync(mine, 'utf8')).toBe('my own notes\n');
    expect(await write(cluster, 'after-refusal')).toBeGreaterThan(0);
    // Another path works, and a history of replica-lab's own is replaced on the next run.
    const other = join(dataDir, 'run-history.jsonl');
    cluster.workload.start({ rate: 50, history: other });
    await eventually(() => cluster.workload.stats().writes.ok > 3, 5_000);
    await cluster.workload.stop();
    expect(JSON.parse(readFileSync(other, 'utf8').split('\n')[0]!)).toMatchObject({ type: 'run' });
    expect(mode(other)).toBe(0o600);
  });

  it('does not write through a symbolic link at history.jsonl: the target is untouched', async () => {
    const dataDir = scratchDir();
    const target = join(scratchDir(), 'precious.txt');
    writeFileSync(target, 'precious\n');
    symlinkSync(target, join(dataDir, 'history.jsonl'));
    const cluster = await startCluster({ nodes: 3, dataDir });
    expect(() => cluster.workload.start({ rate: 20 })).toThrow(`${join(dataDir, 'history.jsonl')} is a symbolic link`);
    expect(readFileSync(target, 'utf8')).toBe('precious\n');
    expect(await write(cluster, 'after-symlink')).toBeGreaterThan(0);
  });

  it('does not append a node log through a symbolic link', async () => {
    const dataDir = scratchDir();
    const target = join(scratchDir(), 'precious.txt');
    writeFileSync(target, 'precious\n');
    mkdirSync(join(dataDir, 'n1'));
    symlinkSync(target, join(dataDir, 'n1', 'node.log'));
    await expect(Cluster.start({ nodes: 3, dataDir, fsync: false })).rejects.toThrow(`${join(dataDir, 'n1', 'node.log')} is a symbolic link`);
    expect(readFileSync(target, 'utf8')).toBe('precious\n');
    expect(existsSync(join(dataDir, 'replica-lab.lock')), 'a failed start releases the lock').toBe(false);
  });

  it("refuses to start a node whose dir holds a symbolic link it would follow (state.db, a WAL segment)", async () => {
    const dataDir = scratchDir();
    const target = join(scratchDir(), 'precious.db');
    writeFileSync(target, 'precious\n');
    mkdirSync(join(dataDir, 'n2', 'wal'), { recursive: true });
    symlinkSync(target, join(dataDir, 'n2', 'state.db'));
    await expect(Cluster.start({ nodes: 3, dataDir, fsync: false })).rejects.toThrow(`${join(dataDir, 'n2', 'state.db')} is a symbolic link`);
    rmSync(join(dataDir, 'n2', 'state.db'));
    symlinkSync(target, join(dataDir, 'n2', 'wal', '00000000000000000001.wal'));
    await expect(Cluster.start({ nodes: 3, dataDir, fsync: false })).rejects.toThrow(`${join(dataDir, 'n2', 'wal', '00000000000000000001.wal')} is a symbolic link`);
    expect(readFileSync(target, 'utf8')).toBe('precious\n');
    rmSync(join(dataDir, 'n2'), { recursive: true });
    const cluster = await startCluster({ nodes: 3, dataDir });
    expect(await write(cluster, 'after-links')).toBeGreaterThan(0);
  });

  it("writes a report under a fresh name when report.md is not one of replica-lab's, and replaces its own", () => {
    const dir = scratchDir();
    writeFileSync(join(dir, 'report.md'), '# my report\n');
    const ours = (line: string): boolean => line === '# replica-lab nemesis';
    const first = openFreshName(dir, 'report', '.md', 'a replica-lab nemesis report', ours);
    writeSync(first.fd, '# replica-lab nemesis\nrun 1\n');
    closeSync(first.fd);
    expect(first.path).toBe(join(dir, 'report-2.md'));
    expect(readFileSync(join(dir, 'report.md'), 'utf8')).toBe('# my report\n');
    expect(mode(first.path)).toBe(0o600);
    const second = openFreshName(dir, 'report', '.md', 'a replica-lab nemesis report', ours);
    closeSync(second.fd);
    expect(second.path).toBe(join(dir, 'report-2.md'));
    expect(readFileSync(second.path, 'utf8')).toBe('');
  });

  it('replaces a history replica-lab wrote (first record `run`), keeping nothing of the old run', async () => {
    const dataDir = scratchDir();
    const first = await startCluster({ nodes: 1, dataDir });
    first.workload.start({ rate: 50 });
    await eventually(() => first.workload.stats().writes.ok > 3, 5_000);
    await first.workload.stop();
    await first.stop();
    const before = readFileSync(join(dataDir, 'history.jsonl'), 'utf8').split('\n').length;
    const second = await startCluster({ nodes: 1, dataDir });
    second.workload.start({ rate: 50 });
    await second.workload.stop();
    const lines = readFileSync(join(dataDir, 'history.jsonl'), 'utf8').trim().split('\n');
    expect(lines.filter((line) => line.includes('"type":"run"'))).toHaveLength(1);
    expect(lines.length).toBeLessThan(before + 3);
    expect(await write(second, 'second-run')).toBeGreaterThan(0);
  });
});

describe('one cluster per data dir', () => {
  it('refuses a second cluster on the same data dir with the pid that holds it, and frees it on stop()', async () => {
    const dataDir = scratchDir();
    const first = await startCluster({ nodes: 3, dataDir });
    const lock = join(dataDir, 'replica-lab.lock');
    expect(readFileSync(lock, 'utf8')).toBe(`${process.pid}\n`);
    expect(mode(lock)).toBe(0o600);
    const second = Cluster.start({ nodes: 3, dataDir, fsync: false });
    await expect(second).rejects.toThrow(BadRequestError);
    await expect(second).rejects.toThrow(`data dir ${dataDir} is in use by pid ${process.pid}`);
    expect(await write(first, 'still-first')).toBeGreaterThan(0);
    await first.stop();
    expect(existsSync(lock)).toBe(false);
    const third = await startCluster({ nodes: 3, dataDir });
    expect(third.lockTakenOverFrom).toBeNull();
    expect(await write(third, 'third')).toBeGreaterThan(0);
  });

  it('takes over a stale lock whose process is dead, and says so', async () => {
    const dataDir = scratchDir();
    // A pid that surely is not running: a child that has exited.
    const dead = spawn(process.execPath, ['-e', '']);
    const deadPid = dead.pid!;
    await new Promise((resolve) => dead.on('exit', resolve));
    expect(isAlive(deadPid)).toBe(false);
    writeFileSync(join(dataDir, 'replica-lab.lock'), `${deadPid}\n`);
    const cluster = await startCluster({ nodes: 3, dataDir });
    expect(cluster.lockTakenOverFrom).toBe(deadPid);
    expect(readFileSync(join(dataDir, 'replica-lab.lock'), 'utf8')).toBe(`${process.pid}\n`);
    expect(await write(cluster, 'after-takeover')).toBeGreaterThan(0);
  });

  it('refuses a data dir held by another live process', async () => {
    const dataDir = scratchDir();
    const holder = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    onTestFinished(() => {
      holder.kill('SIGKILL');
    });
    writeFileSync(join(dataDir, 'replica-lab.lock'), `${holder.pid}\n`);
    await expect(Cluster.start({ nodes: 1, dataDir, fsync: false })).rejects.toThrow(`data dir ${dataDir} is in use by pid ${holder.pid}`);
    expect(readdirSync(dataDir)).toEqual(['replica-lab.lock']);
  });
});

describe('SIGKILL of the supervisor', () => {
  it('removes the temporary data dir (and kills every node) once the supervisor is gone', async () => {
    const fixture = fileURLToPath(new URL('./fixtures/hold-cluster.mjs', import.meta.url));
    const child = spawn(process.execPath, [fixture], { stdio: ['ignore', 'pipe', 'inherit'] });
    onTestFinished(() => {
      child.kill('SIGKILL');
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    expect(await eventually(() => output.includes('\n'), 10_000), 'the fixture started its cluster').toBe(true);
    const { pids, dataDir } = JSON.parse(output.trim()) as { pids: number[]; dataDir: string };
    onTestFinished(() => rmSync(dataDir, { recursive: true, force: true }));
    expect(existsSync(join(dataDir, 'n1', 'state.db'))).toBe(true);
    expect(mode(dataDir)).toBe(0o700);
    child.kill('SIGKILL');
    // (orphans.test.ts holds the 2 s promise; here the point is the dir, so allow for a loaded machine.)
    expect(await eventually(() => pids.every((pid) => !isAlive(pid)), 5_000), `still alive: ${pids.filter(isAlive).join(', ')}`).toBe(true);
    expect(await eventually(() => !existsSync(dataDir), 5_000), `${dataDir} is still there`).toBe(true);
    // Nothing of the old cluster is in the way of a new one.
    const cluster = await startCluster({ nodes: 3 });
    expect(await write(cluster, 'after-sigkill')).toBeGreaterThan(0);
  });

  it('removes a temporary socket dir but keeps a named data dir, whose stale lock the next cluster takes over', async () => {
    // A data dir so deep that <dataDir>/run/n3.sock would not fit a socket path: the sockets go to a mkdtemp dir.
    const dataDir = join(scratchDir(), 'a-data-dir-with-a-long-name'.repeat(3));
    const fixture = fileURLToPath(new URL('./fixtures/hold-cluster.mjs', import.meta.url));
    const child = spawn(process.execPath, [fixture, dataDir], { stdio: ['ignore', 'pipe', 'inherit'] });
    onTestFinished(() => {
      child.kill('SIGKILL');
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    expect(await eventually(() => output.includes('\n'), 10_000), 'the fixture started its cluster').toBe(true);
    const { pids, socketDir } = JSON.parse(output.trim()) as { pids: number[]; socketDir: string };
    onTestFinished(() => rmSync(socketDir, { recursive: true, force: true }));
    expect(socketDir.startsWith(join(tmpdir(), 'rl-'))).toBe(true);
    expect(readFileSync(join(dataDir, 'replica-lab.lock'), 'utf8')).toBe(`${child.pid}\n`);
    child.kill('SIGKILL');
    expect(await eventually(() => pids.every((pid) => !isAlive(pid)), 5_000), `still alive: ${pids.filter(isAlive).join(', ')}`).toBe(true);
    expect(await eventually(() => !existsSync(socketDir), 5_000), `${socketDir} is still there`).toBe(true);
    expect(existsSync(join(dataDir, 'n1', 'state.db')), 'the named data dir is kept').toBe(true);
    const cluster = await startCluster({ nodes: 3, dataDir });
    expect(cluster.lockTakenOverFrom).toBe(child.pid);
    expect(await write(cluster, 'after-stale-lock')).toBeGreaterThan(0);
  });
});
