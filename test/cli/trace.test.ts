// `replica-lab trace` as a script uses it: --json on a 3-node quorum cluster
// gives lanes and a critical path whose spans sum to the client's latency, and
// bad flags are one line and exit 2.

import { beforeAll, describe, expect, it } from 'vitest';
import type { WriteTrace } from '../../cluster/index.js';
import { assertBuilt, runCli } from './run-cli.js';

beforeAll(() => assertBuilt());

describe('replica-lab trace', () => {
  it('--json on a 3-node quorum cluster: every process reports, and the path sums to the latency within 10%', () => {
    const run = runCli(['trace', '--json', '--nodes', '3', '--mode', 'quorum', '--ack', 'flushed', '--warmup', '5']);
    expect(run.stderr.replace(/^replica-lab: leadership moved.*\n/gm, '')).toBe('');
    expect(run.status).toBe(0);
    const trace = JSON.parse(run.stdout) as WriteTrace;
    expect(trace.lanes.map((lane) => lane.role)).toEqual(['client', 'leader', 'follower', 'follower']);
    expect(trace.missing).toEqual([]);
    expect(trace.problems).toEqual([]);
    const sum = trace.criticalPath.reduce((total, step) => total + step.durationUs, 0);
    expect(Math.abs(sum - trace.clientLatencyUs)).toBeLessThanOrEqual(0.1 * trace.clientLatencyUs);
    expect(trace.criticalPath[0]!.label).toBe(`client → ${trace.leader}: the request`);
    expect(trace.criticalPath.at(-1)!.label).toBe(`${trace.leader} → client: the reply`);
    // The warm-up wrote the default statement itself, so its text was not new to the leader.
    expect(trace.explanation.join(' ')).not.toContain('for the first time');
  }, 30_000);

  it("says when the traced statement's text was new to the leader (its validation then ran in full)", () => {
    const run = runCli(['trace', '--json', '--warmup', '2', "INSERT INTO kv (k, v) VALUES ('mine', 'x') ON CONFLICT(k) DO UPDATE SET v = excluded.v"]);
    expect(run.status).toBe(0);
    const trace = JSON.parse(run.stdout) as WriteTrace;
    expect(trace.explanation[0]).toBe(
      `${trace.leader} met this statement's text for the first time: 'validate the statement' includes the analysis it does once per text (tokens, rules, a trial prepare) and keeps, so the next write of the same text spends less there.`,
    );
    // With no warm-up the default statement is new to the leader too: the leader says so, not a guess of the CLI's.
    const cold = JSON.parse(runCli(['trace', '--json', '--warmup', '0']).stdout) as WriteTrace;
    expect(cold.explanation[0]).toContain('for the first time');
  }, 30_000);

  it('prints the timeline for people, and refuses bad flags in one line', () => {
    const text = runCli(['trace', '--mode', 'sync', '--ack', 'applied', '--warmup', '2']);
    expect(text.status).toBe(0);
    expect(text.stdout).toContain('critical path, client send → client receive');
    expect(text.stdout).toContain('sync: ');
    const bad = runCli(['trace', '--mode', 'fast']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe("replica-lab: --mode must be one of async, sync, quorum, got 'fast'; see 'replica-lab trace --help'\n");
    const quorum = runCli(['trace', '--nodes', '3', '--quorum', '4']);
    expect(quorum.status).toBe(2);
    expect(quorum.stderr).toContain('--quorum must be a whole number from 1 to 3');
    // k counts only in quorum mode: refused with another mode, not ignored.
    const ignored = runCli(['trace', '--quorum', '3', '--mode', 'async']);
    expect(ignored.status).toBe(2);
    expect(ignored.stderr).toBe("replica-lab: --quorum applies only with --mode quorum (got --mode async); see 'replica-lab trace --help'\n");
  }, 30_000);
});
