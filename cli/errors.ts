import { CommanderError } from 'commander';

/** The name every CLI message starts with, so a user can tell who is speaking. */
export const cliName = 'replica-lab';

/** Exit codes, after the BSD/GNU habit: 1 when the work failed, 2 when the command line was wrong. */
export const exitCodeFailure = 1;
export const exitCodeUsage = 2;

/**
 * Thrown by a command when the user asked for something malformed or impossible
 * (bad flag value, unknown node id, missing file). `runMain` prints the message
 * as one line and exits 2, without a stack trace.
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  /** The subcommand whose `--help` the message points at; the whole program's when absent. */
  readonly command: string | undefined;
  /** False when the message already says what to do instead, so pointing at --help would only add noise. */
  readonly seeHelp: boolean;

  constructor(message: string, options: { readonly command?: string; readonly seeHelp?: boolean } = {}) {
    super(message);
    this.command = options.command;
    this.seeHelp = options.seeHelp ?? true;
  }
}

/** The hint appended to usage errors, so every one of them says where to look next. */
function helpHint(command?: string): string {
  return command === undefined ? `see '${cliName} --help'` : `see '${cliName} ${command} --help'`;
}

/** Turns commander's "error: unknown option '--x'\n(Did you mean --y?)" into one plain line. */
function commanderMessage(error: CommanderError): string {
  const text = error.message
    .replace(/^error:\s*/, '')
    .replace(/\s*\n\s*/g, ' ')
    .replace(/\(Did you mean/g, '(did you mean')
    .trim()
    .replace(/\.$/, '');
  return `${text}; ${helpHint()}`;
}

export type ErrorOutcome = { readonly exitCode: number; readonly message?: string; readonly stack?: string };

/** Decides what the user sees and the exit code for anything a command threw. */
export function describeError(error: unknown): ErrorOutcome {
  if (error instanceof CommanderError) {
    // Help and version "errors" are commander's way of saying it is done: exit 0, print nothing more.
    if (error.exitCode === 0) return { exitCode: 0 };
    // `help({ error: true })` has already printed the help to stderr; a message would only repeat it.
    if (error.code === 'commander.help') return { exitCode: exitCodeUsage };
    return { exitCode: exitCodeUsage, message: commanderMessage(error) };
  }
  if (error instanceof UsageError) {
    return { exitCode: exitCodeUsage, message: error.seeHelp ? `${error.message}; ${helpHint(error.command)}` : error.message };
  }
  if (error instanceof Error) {
    return error.stack === undefined
      ? { exitCode: exitCodeFailure, message: error.message }
      : { exitCode: exitCodeFailure, message: error.message, stack: error.stack };
  }
  return { exitCode: exitCodeFailure, message: String(error) };
}

/**
 * Runs a CLI entry point so that no error reaches the user as a stack trace:
 * messages go to stderr as `replica-lab: <message>`, usage errors exit 2, other
 * failures exit 1. Set REPLICA_LAB_DEBUG=1 to also print the stack of a failure.
 *
 * It sets `process.exitCode` rather than calling `process.exit()`, so buffered
 * stdout (help text into a pipe) is flushed before the process ends.
 */
export async function runMain(main: () => Promise<void> | void): Promise<void> {
  ignoreClosedStdout();
  try {
    await main();
  } catch (error: unknown) {
    const outcome = describeError(error);
    if (outcome.message !== undefined) {
      process.stderr.write(`${cliName}: ${outcome.message}\n`);
    }
    if (outcome.stack !== undefined && process.env['REPLICA_LAB_DEBUG'] === '1') {
      process.stderr.write(`${outcome.stack}\n`);
    }
    process.exitCode = outcome.exitCode;
  }
}

let closedStdoutIgnored = false;

/** `replica-lab … | head -1` closes the pipe early; that is the reader's choice, not a failure. */
function ignoreClosedStdout(): void {
  if (closedStdoutIgnored) return;
  closedStdoutIgnored = true;
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    // The terminal is gone (its window closed, a hangup): nothing more can be drawn, and the
    // dashboard, told by SIGHUP, is stopping its cluster. Crashing here would leave that half done.
    if (error.code === 'EIO') return;
    throw error;
  });
}
