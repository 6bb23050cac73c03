// `replica-lab start --headless` as scripts use it: JSON status lines once a
// second, and SIGTERM or SIGHUP stops every node and says where the data is.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { Cluster } from '../../cluster/index.js';
import { assertBuilt, builtMain, projectRoot, runCli } from './run-cli.js';

beforeAll(() => assertBuilt());

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function eventually(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return true;
}

interface StatusLine {
  t: number;
  leader: string | null;
  term: number;
  nodes: { id: string; pid: number | null; role: string; up: boolean }[];
}

describe('replica-lab start --headless', () => {
  it('prints a JSON status line per second and stops by itself after --duration', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'replica-lab-start-'));
    onTestFinished(() => rmSync(dataDir, { recursive: true, force: true }));
    const run = runCli(['start', '--headless', '--json', '--duration', '3', '--data-dir', dataDir]);
    expect(run.status).toBe(0);
    const lines = run.stdout.trim().split('\n').map((line) => JSON.parse(line) as StatusLine);
    expect(lines.length).toBeGreaterThanOrEqual(3);
    const last = lines.at(-1)!;
    expect(Object.keys(last).sort()).toEqual(['leader', 'nodes', 't', 'term']);
    expect(last.nodes.map((n) => n.id)).toEqual(['n1', 'n2', 'n3']);
    expect(last.leader).toMatch(/^n[123]$/);
    expect(last.term).toBeGreaterThanOrEqual(1);
    expect(run.stderr).toContain(`Data is in ${dataDir}`);
    for (const node of last.nodes) expect(isAlive(node.pid!)).toBe(false);
  });

  it('stops every node on SIGTERM and says where the data is', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'replica-lab-start-'));
    onTestFinished(() => rmSync(dataDir, { recursive: true, force: true }));
    const child = spawn(process.execPath, [builtMain, 'start', '--headless', '--json', '--data-dir', dataDir], { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    onTestFinished(() => {
      child.kill('SIGKILL');
    });
    const sawLeader = await eventually(() => stdout.split('\n').some((line) => line.includes('"leader":"n')), 10_000);
    expect(sawLeader).toBe(true);
    const line = stdout.split('\n').find((l) => l.includes('"leader":"n'))!;
    const pids = (JSON.parse(line) as StatusLine).nodes.map((n) => n.pid!);
    expect(pids.every(isAlive)).toBe(true);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).toContain(`Data is in ${dataDir}`);
    expect(await eventually(() => pids.every((pid) => !isAlive(pid)), 2_000)).toBe(true);
  });

  it('treats SIGHUP like SIGTERM: the final state is appended to the history, the data dir is freed', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'replica-lab-start-'));
    onTestFinished(() => rmSync(dataDir, { recursive: true, force: true }));
    const child = spawn(process.execPath, [builtMain, 'start', '--headless', '--json', '--rate', '50', '--data-dir', dataDir], { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    onTestFinished(() => {
      child.kill('SIGKILL');
    });
    expect(await eventually(() => stdout.split('\n').filter((line) => line.includes('"leader":"n')).length >= 2, 15_000)).toBe(true);
    const line = stdout.split('\n').find((l) => l.includes('"leader":"n'))!;
    const pids = (JSON.parse(line) as StatusLine).nodes.map((n) => n.pid!);
    child.kill('SIGHUP');
    expect(await exited).toBe(0);
    const history = join(dataDir, 'history.jsonl');
    expect(stderr).toContain('hung up; every node stopped');
    expect(stderr).toContain(`history in ${history}`);
    const types = new Set(readFileSync(history, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { type: string }).type));
    expect([...types]).toEqual(expect.arrayContaining(['run', 'ok', 'final', 'log']));
    expect(await eventually(() => pids.every((pid) => !isAlive(pid)), 2_000)).toBe(true);
    expect(existsSync(join(dataDir, 'replica-lab.lock'))).toBe(false);
    // The data dir takes a new cluster, which takes writes.
    const cluster = await Cluster.start({ nodes: 3, dataDir, fsync: false });
    onTestFinished(() => cluster.stop());
    await cluster.waitForLeader({ timeoutMs: 5_000 });
    expect((await cluster.execute('INSERT INTO kv(k, v, idx) VALUES (?, ?, log_index())', ['after-hup', 'v'], { timeoutMs: 5_000 })).index).toBeGreaterThan(0);
  });

  it('refuses, in one line, a data dir another cluster is using', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'replica-lab-start-'));
    onTestFinished(() => rmSync(dataDir, { recursive: true, force: true }));
    const cluster = await Cluster.start({ nodes: 1, dataDir, fsync: false });
    onTestFinished(() => cluster.stop());
    const run = runCli(['start', '--headless', '--duration', '1', '--data-dir', dataDir]);
    expect(run.status).toBe(1);
    expect(run.stderr.trim().split('\n')).toEqual([`replica-lab: data dir ${dataDir} is in use by pid ${process.pid} (lock file ${join(dataDir, 'replica-lab.lock')})`]);
    await cluster.waitForLeader({ timeoutMs: 5_000 });
    expect((await cluster.execute('INSERT INTO kv(k, v, idx) VALUES (?, ?, log_index())', ['still-mine', 'v'], { timeoutMs: 5_000 })).index).toBeGreaterThan(0);
  });

  it("refuses, in one line, to overwrite a history.jsonl replica-lab did not write, and stops its nodes", () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'replica-lab-start-'));
    onTestFinished(() => rmSync(dataDir, { recursive: true, force: true }));
    const mine = join(dataDir, 'history.jsonl');
    writeFileSync(mine, 'my notes\n');
    const run = runCli(['start', '--headless', '--duration', '5', '--data-dir', dataDir]);
    expect(run.status).toBe(1);
    expect(run.stderr.trim().split('\n').at(-1)).toBe(
      `replica-lab: ${mine} exists and replica-lab did not write it (it does not start like a replica-lab history, whose first record is "run"): not overwriting it; move it away or choose another path`,
    );
    expect(readFileSync(mine, 'utf8')).toBe('my notes\n');
    expect(existsSync(join(dataDir, 'replica-lab.lock'))).toBe(false);
  });

  it('refuses bad flags in one line', () => {
    const run = runCli(['start', '--headless', '--nodes', '12']);
    expect(run.status).toBe(2);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/--nodes must be a whole number from 1 to 7/);
  });
});
