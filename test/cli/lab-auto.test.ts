// `replica-lab lab <id> --auto --json` through the built bin: a cluster lab on
// real node processes and the replay lab, one at a time. Each run stops its own
// cluster before it exits (and on SIGTERM, which a timeout sends).

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { temporaryStateHome } from '../labs/helpers.js';
import { assertBuilt, builtMain, projectRoot } from './run-cli.js';

// Every lab's autopilot runs step by step on a real cluster in test/labs/steps.test.ts; here the
// built bin runs one cluster lab and the replay lab end to end (its JSON, exit status, progress).
const labIds = ['quorum-commit', 'figure-8'];
const runTimeoutMs = 120_000;

const home = temporaryStateHome();
beforeAll(() => assertBuilt());
afterAll(() => home.remove());

function lab(args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [builtMain, 'lab', ...args], {
    cwd: projectRoot,
    encoding: 'utf8',
    env: { ...process.env, XDG_STATE_HOME: home.dir },
    timeout: runTimeoutMs,
    killSignal: 'SIGTERM',
  });
  if (result.error !== undefined) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('replica-lab lab <id> --auto --json', () => {
  it.each(labIds)('%s passes every check', { timeout: runTimeoutMs + 10_000 }, (id) => {
    const result = lab([id, '--auto', '--json']);
    expect(result.stdout, `stderr: ${result.stderr}`).not.toBe('');
    const report = JSON.parse(result.stdout) as { id: string; passed: boolean; steps: { title: string; passed: boolean; detail: string }[] };
    const failed = report.steps.filter((step) => !step.passed).map((step) => `${step.title}: ${step.detail}`);
    expect(failed, result.stderr).toEqual([]);
    expect(report.id).toBe(id);
    expect(report.passed).toBe(true);
    expect(report.steps.length).toBeGreaterThanOrEqual(3);
    for (const step of report.steps) expect(Object.keys(step)).toEqual(['title', 'passed', 'detail']);
    expect(result.status).toBe(0);
  });

  it('prints each check and the debrief as text, and records the autopilot run', { timeout: runTimeoutMs + 10_000 }, () => {
    const result = lab(['first-steps', '--auto']);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^✓ 1\/5 Write through the leader: n\d acknowledged it at log index \d+/m);
    expect(result.stdout).toMatch(/^✓ 5\/5 Heal and catch up: /m);
    expect(result.stdout).toMatch(/\nDebrief\n {2}Your write went to n\d/);
    expect(result.stdout).toMatch(/\npassed: 5 of 5 checks passed in [\d.]+ s\n$/);
    expect(result.stdout).toMatch(/\nThe temporary dir \S+ was removed when its cluster stopped, with its history\.\nTo keep the data, the history and the rollback files: replica-lab lab first-steps --auto --data-dir <empty dir>\n/);
    const labs = spawnSync(process.execPath, [builtMain, 'labs'], { encoding: 'utf8', env: { ...process.env, XDG_STATE_HOME: home.dir } });
    expect(labs.stdout).toMatch(/^first-steps .* - +\d+ runs?, (last )?passed$/m);
  });

  it('with --data-dir keeps the history and the rollback file, which holds the lost proof write to re-apply', { timeout: runTimeoutMs + 10_000 }, () => {
    const parent = mkdtempSync(join(tmpdir(), 'lab-data-dir-'));
    try {
      const dir = join(parent, 'run');
      const result = lab(['async-lost-writes', '--auto', '--data-dir', dir]);
      expect(result.status, result.stderr).toBe(0);
      expect(result.stdout).toContain(`Kept in ${join(dir, 'cluster-1')}:`);
      const history = join(dir, 'cluster-1', 'history.jsonl');
      expect(result.stdout).toContain(`history: ${history} (check it: replica-lab check ${history})`);
      expect(existsSync(history)).toBe(true);
      const file = /rollback file: (\S+\.jsonl)/.exec(result.stdout)?.[1];
      expect(file, result.stdout).toBeDefined();
      const proof = readFileSync(file!, 'utf8').split('\n').find((line) => line.includes('only-on-the-old-leader'));
      expect(proof).toBeDefined();
      const sql = (JSON.parse(proof!) as { sql: string }).sql;
      // The debrief's re-apply command is that very statement.
      expect(result.stdout).toContain(`:sql ${sql}`);
      // The lost writes add up: before the cut + after the cut = lost.
      const counts = /(\d+) acknowledged writes? (?:was|were) lost: (\d+) acknowledged before the cut .* (\d+) acknowledged after it/.exec(result.stdout);
      expect(counts, result.stdout).not.toBeNull();
      expect(Number(counts![2]) + Number(counts![3])).toBe(Number(counts![1]));
      const again = lab(['async-lost-writes', '--auto', '--data-dir', dir]);
      expect(again.status).toBe(2);
      expect(again.stderr).toMatch(/--data-dir .* is not empty/);
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });
});
