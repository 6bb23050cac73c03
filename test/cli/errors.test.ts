import { CommanderError } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { describeError, runMain, UsageError } from '../../cli/errors.js';

describe('describeError', () => {
  it('lets help and version finish with exit 0 and no message', () => {
    expect(describeError(new CommanderError(0, 'commander.helpDisplayed', '(outputHelp)'))).toEqual({ exitCode: 0 });
    expect(describeError(new CommanderError(0, 'commander.version', '1.0.0'))).toEqual({ exitCode: 0 });
  });

  it("turns commander's two-line errors into one line with exit 2", () => {
    const error = new CommanderError(1, 'commander.unknownOption', "error: unknown option '--hepl'\n(Did you mean --help?)");
    expect(describeError(error)).toEqual({
      exitCode: 2,
      message: "unknown option '--hepl' (did you mean --help?); see 'replica-lab --help'",
    });
  });

  it('points a usage error at the help of its command', () => {
    expect(describeError(new UsageError('--nodes must be 1 to 9'))).toEqual({
      exitCode: 2,
      message: "--nodes must be 1 to 9; see 'replica-lab --help'",
    });
    expect(describeError(new UsageError('--seeds must be positive', { command: 'sim' }))).toEqual({
      exitCode: 2,
      message: "--seeds must be positive; see 'replica-lab sim --help'",
    });
  });

  it('leaves out the pointer to --help when the message already says what to do', () => {
    expect(describeError(new UsageError("the dashboard needs a terminal; use 'replica-lab start --headless'", { seeHelp: false }))).toEqual({
      exitCode: 2,
      message: "the dashboard needs a terminal; use 'replica-lab start --headless'",
    });
  });

  it('reports any other failure with exit 1, keeping the stack for REPLICA_LAB_DEBUG', () => {
    const outcome = describeError(new Error('the leader did not answer'));
    expect(outcome.exitCode).toBe(1);
    expect(outcome.message).toBe('the leader did not answer');
    expect(outcome.stack).toContain('the leader did not answer');
    expect(describeError('a string')).toEqual({ exitCode: 1, message: 'a string' });
  });
});

describe('runMain', () => {
  const exitCodeBefore = process.exitCode;

  afterEach(() => {
    process.exitCode = exitCodeBefore;
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });

  /** Runs `main` under runMain, capturing stderr and the exit code it chose. */
  async function capture(main: () => void | Promise<void>): Promise<{ exitCode: unknown; stderr: string }> {
    let stderr = '';
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stderr += String(chunk);
      return true;
    });
    process.exitCode = undefined;
    await runMain(main);
    const exitCode = process.exitCode;
    process.exitCode = exitCodeBefore;
    return { exitCode, stderr };
  }

  it('leaves the exit code alone when the command succeeds', async () => {
    expect(await capture(() => {})).toEqual({ exitCode: undefined, stderr: '' });
  });

  it('prints a usage error as one prefixed line and exits 2', async () => {
    const result = await capture(() => {
      throw new UsageError("unknown node 'n7'");
    });
    expect(result).toEqual({ exitCode: 2, stderr: "replica-lab: unknown node 'n7'; see 'replica-lab --help'\n" });
  });

  it('prints a failure without its stack and exits 1', async () => {
    vi.stubEnv('REPLICA_LAB_DEBUG', '');
    const result = await capture(async () => {
      throw new Error('cluster did not start');
    });
    expect(result).toEqual({ exitCode: 1, stderr: 'replica-lab: cluster did not start\n' });
  });
});
