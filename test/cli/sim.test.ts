// `replica-lab sim` as a user runs it: the built bin, its JSON contract, its
// exit status, and the replay command a failing seed prints.

import { beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, runCli } from './run-cli.js';

beforeAll(() => assertBuilt());

describe('replica-lab sim', () => {
  it('prints the documented JSON object and exits 0 when no invariant broke', () => {
    const run = runCli(['sim', '--seeds', '1..4', '--nodes', '3', '--json']);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const report = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(report).toMatchObject({ seeds: 4, violations: [], lostAcknowledgedWrites: [] });
    expect(report['seedsPerSecond']).toBeGreaterThan(0);
    expect(report['perSeed']).toMatchObject({ virtualMsMin: expect.any(Number) });
    expect((report['perSeed'] as { writesMin: number }).writesMin).toBeGreaterThanOrEqual(200);
  });

  it('prints a table of invariants for people', () => {
    const run = runCli(['sim', '--seeds', '5', '--nodes', '3']);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/election-safety\s+ok/);
    expect(run.stdout).toMatch(/acknowledged-write-lost\s+ok/);
    expect(run.stdout).toMatch(/seeds\/s/);
  });

  it('lists lost acknowledged writes in async, each with seed and index', () => {
    const run = runCli(['sim', '--seeds', '1..30', '--mode', 'async', '--json']);
    expect(run.status).toBe(0);
    const report = JSON.parse(run.stdout) as { lostAcknowledgedWrites: { seed: number; index: number }[] };
    expect(report.lostAcknowledgedWrites.length).toBeGreaterThan(0);
    expect(report.lostAcknowledgedWrites[0]).toEqual({ seed: expect.any(Number), index: expect.any(Number), term: expect.any(Number) });
  });

  it('exits 1 with a replay command and a trace when an invariant breaks, and the replay reproduces it', () => {
    // With every fault (compaction included) the first seed it breaks is 48.
    const run = runCli(['sim', '--seeds', '1..50', '--unsafe', 'skip-vote-log-check']);
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/BROKEN/);
    const replay = /replay: npx replica-lab (sim .*)/.exec(run.stdout)?.[1];
    expect(replay).toBeDefined();
    expect(run.stdout).toMatch(/trace of seed \d+/);
    const again = runCli([...replay!.split(' '), '--json']);
    expect(again.status).toBe(1);
    const report = JSON.parse(again.stdout) as { violations: { invariant: string }[] };
    expect(report.violations.length).toBeGreaterThan(0);
  });

  it.each([
    [['--seeds', 'ten'], /--seeds takes numbers and ranges/],
    [['--seeds', '9..3'], /smaller to a larger/],
    [['--nodes', '12'], /--nodes must be a whole number from 3 to 7/],
    [['--mode', 'semi'], /--mode must be one of async, sync, quorum/],
    [['--faults', 'crash,meteor'], /--faults must be one of/],
    [['--unsafe', 'yolo'], /--unsafe must be one of/],
  ])('rejects %j with one clear line and exit 2', (args, message) => {
    const run = runCli(['sim', ...args]);
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(message);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  });
});
