// `replica-lab nemesis` as a user runs it: a short run on real processes ends
// with check's JSON object (plus seed and settled) and a run directory holding
// the history and report.md; bad flags get one line and exit 2.

import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { assertBuilt, runCli } from './run-cli.js';

beforeAll(() => assertBuilt());

describe('replica-lab nemesis', () => {
  it('runs a short checked run and prints the same JSON object as check, plus seed and settled', () => {
    const dir = mkdtempSync(join(tmpdir(), 'replica-lab-nemesis-cli-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const run = runCli(['nemesis', '--nodes', '3', '--faults', 'pause', '--interval', '0.5', '--duration', '2', '--seed', '9', '--no-fsync', '--data-dir', dir, '--json']);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const summary = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(Object.keys(summary).sort()).toEqual(['anomalies', 'operations', 'runDir', 'seed', 'settled', 'unchecked', 'valid']);
    expect(summary).toMatchObject({ valid: true, runDir: dir, seed: 9, settled: true, unchecked: [] });
    expect(Object.keys(summary['anomalies'] as object).sort()).toEqual(['divergentReplicas', 'indeterminate', 'lostWrites', 'monotonicReads', 'readYourWrites', 'staleReads']);
    expect((summary['operations'] as { ok: number }).ok).toBeGreaterThan(50);
    expect(readFileSync(join(dir, 'report.md'), 'utf8')).toContain('Verdict: VALID');
    expect(existsSync(join(dir, 'history.jsonl'))).toBe(true);
    // The history it left checks the same way offline.
    const check = runCli(['check', join(dir, 'history.jsonl'), '--json']);
    expect(check.status).toBe(0);
    const { seed: _seed, settled: _settled, ...same } = summary;
    expect(JSON.parse(check.stdout)).toEqual(same);
  });

  it.each([
    [['--faults', 'kill,meteor'], /--faults must be one of kill, pause, partition, delay, loss/],
    [['--nodes', '2'], /--nodes must be a whole number from 3 to 7/],
    [['--interval', 'soon'], /--interval must be a number/],
    [['--read-target', 'follower'], /linearizable reads always go to the leader/],
    [['--sessions', 'strict'], /--sessions must be one of none, read-your-writes, causal/],
  ])('rejects %j with one clear line and exit 2', (args, message) => {
    const run = runCli(['nemesis', ...args]);
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(message);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  });
});
