import { beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, packageVersion, runCli, type CliRun } from './run-cli.js';

const escape = '\u001b[';

/** A usage error is one line on stderr, nothing on stdout, exit 2, and never a stack trace. */
function expectOneLineUsageError(run: CliRun, message: RegExp): void {
  expect(run.status).toBe(2);
  expect(run.stdout).toBe('');
  expect(run.stderr).toMatch(/^replica-lab: [^\n]+\n$/);
  expect(run.stderr).toMatch(message);
  expect(run.stderr).not.toMatch(/\n\s+at /);
}

describe('replica-lab (the built bin)', () => {
  beforeAll(assertBuilt);

  it('prints help on --help and -h, naming what works', () => {
    const run = runCli(['--help']);
    expect(run.status).toBe(0);
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(/^Usage: replica-lab \[options\] \[command\]/);
    expect(run.stdout).toContain('Works today: the dashboard, --help, --version');
    expect(run.stdout).toMatch(/With no command, replica-lab starts a 3-node cluster/);
    expect(run.stdout).toMatch(/--nodes <n>\s+dashboard: number of nodes \(1-7\)/);
    expect(run.stdout).not.toContain('TUI dashboard');
    expect(run.stdout).not.toContain('Until the dashboard exists');
    expect(run.stdout).toMatch(/start \[options\]\s+start a cluster/);
    expect(run.stdout).toMatch(/sim \[options\]\s+run the Raft core/);
    // Every command the design promises is built and listed under Commands.
    const commands = run.stdout.split('\nCommands:\n')[1]?.split('\n\n')[0] ?? '';
    for (const name of ['start', 'lab', 'labs', 'quiz', 'bench', 'nemesis', 'sim', 'check']) {
      expect(commands, name).toMatch(new RegExp(`^ {2}${name}\\b`, 'm'));
    }
    expect(run.stdout).not.toContain('Coming');
    expect(runCli(['-h'])).toEqual(run);
  });

  it('prints the same help with `help` as with --help', () => {
    expect(runCli(['help'])).toEqual(runCli(['--help']));
  });

  it('with no command and no terminal, says the dashboard needs one and points at the headless form', () => {
    // spawnSync gives the bin pipes, not a TTY.
    const run = runCli([]);
    expectOneLineUsageError(run, /^replica-lab: the dashboard needs an interactive terminal \(stdin and stdout must be a TTY\); for scripts and pipes use 'replica-lab start --headless'\n$/);
    expectOneLineUsageError(runCli(['--nodes', '5', '--mode', 'async']), /needs an interactive terminal/);
  });

  it("checks the dashboard's flags before anything else", () => {
    expectOneLineUsageError(runCli(['--nodes', '12']), /--nodes must be a whole number from 1 to 7, got '12'; see 'replica-lab --help'/);
    expectOneLineUsageError(runCli(['--mode', 'eventual']), /--mode must be one of async, sync, quorum, got 'eventual'/);
    expectOneLineUsageError(runCli(['--failover', 'auto']), /--failover must be one of raft, manual/);
  });

  it('prints the package.json version on --version and -V', () => {
    const run = runCli(['--version']);
    expect(run).toEqual({ status: 0, stdout: `${packageVersion()}\n`, stderr: '' });
    expect(runCli(['-V'])).toEqual(run);
  });

  it('rejects an unknown command in one line with exit 2', () => {
    expectOneLineUsageError(runCli(['frobnicate']), /unknown command 'frobnicate'; see 'replica-lab --help'/);
    expectOneLineUsageError(runCli(['help', 'frobnicate']), /unknown command 'frobnicate'/);
  });

  it('rejects an unknown flag in one line with exit 2, with a suggestion when one is close', () => {
    expectOneLineUsageError(runCli(['--bogus']), /^replica-lab: unknown option '--bogus'; see 'replica-lab --help'$/m);
    expectOneLineUsageError(runCli(['--hepl']), /unknown option '--hepl' \(did you mean --help\?\)/);
    expectOneLineUsageError(runCli(['help', 'a', 'b']), /too many arguments for 'help'/);
  });

  it('writes no colour escapes, with NO_COLOR set or not', () => {
    for (const env of [{ NO_COLOR: '1' }, { FORCE_COLOR: '1' }]) {
      for (const args of [['--help'], ['--bogus']]) {
        const run = runCli(args, env);
        expect(run.stdout + run.stderr).not.toContain(escape);
      }
    }
  });
});
