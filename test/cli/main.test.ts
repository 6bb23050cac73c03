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

/** The names under "Coming (not built yet):" in the help, to test a planned command that does not exist yet. */
function comingCommandNames(help: string): string[] {
  const section = help.split('Coming (not built yet):\n')[1] ?? '';
  return [...section.matchAll(/^ {2}replica-lab ([a-z]+)/gm)].map((match) => match[1] ?? '');
}

describe('replica-lab (the built bin)', () => {
  beforeAll(assertBuilt);

  it('prints help on --help and -h, naming what works and what is coming', () => {
    const run = runCli(['--help']);
    expect(run.status).toBe(0);
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(/^Usage: replica-lab \[options\] \[command\]/);
    expect(run.stdout).toContain('Works today: --help, --version');
    expect(run.stdout).toMatch(/start \[options\]\s+start a cluster/);
    expect(run.stdout).toMatch(/sim \[options\]\s+run the Raft core/);
    for (const coming of [
      'TUI dashboard',
      'replica-lab lab [id]',
      'replica-lab labs',
      'replica-lab quiz',
      'replica-lab bench',
      'replica-lab nemesis',
      'replica-lab check <history>',
    ]) {
      expect(run.stdout).toContain(coming);
    }
    expect(runCli(['-h'])).toEqual(run);
  });

  it('prints the same help with no command and with `help`', () => {
    const help = runCli(['--help']);
    expect(runCli([])).toEqual(help);
    expect(runCli(['help'])).toEqual(help);
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

  it('says a planned command is not built yet rather than unknown', () => {
    const names = comingCommandNames(runCli(['--help']).stdout);
    const planned = names[0];
    if (planned === undefined) return; // every planned command exists: nothing left to say "not yet" about
    expectOneLineUsageError(runCli([planned]), new RegExp(`'${planned}' is planned but not built yet`));
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
