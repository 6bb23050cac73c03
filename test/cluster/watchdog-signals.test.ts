// The watchdog (replica-lab's guardian, the PostgreSQL engine's watchdog) is
// in the terminal's foreground process group with the dashboard: closing the
// terminal sends SIGHUP to all of them, Ctrl-C SIGINT. It must not die of
// those before its parent, or the servers it holds outlive both (seen: three
// postmasters left after `tmux kill-session` of `--engine postgres`). It waits
// for its channel to close; SIGTERM makes it clean up at once.

import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { compiledScript } from '../../cluster/supervisor/spawn.js';
import { eventually, isAlive } from './helpers.js';

const started: ChildProcess[] = [];
afterEach(() => {
  for (const child of started.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

/** A guardian holding one `sleep`: what it must kill when its parent goes. */
async function guardianHoldingSleep(): Promise<{ guardian: ChildProcess; held: number }> {
  const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
  started.push(sleeper);
  const guardian = spawn(process.execPath, [compiledScript('./guardian.js')], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], serialization: 'json' });
  started.push(guardian);
  await new Promise<void>((resolve, reject) => {
    guardian.once('spawn', resolve);
    guardian.once('error', reject);
  });
  guardian.send({ watch: sleeper.pid });
  // Node itself catches SIGINT and SIGTERM from the start (to reset the terminal); SIGHUP is caught
  // only once the watchdog's handlers are in place. The watch message, sent before, is read before
  // anything that comes after it on the channel.
  const ready = await eventually(() => catches(guardian.pid!, 1), 10_000);
  if (!ready) throw new Error('the guardian never handled SIGHUP: the terminal closing would end it');
  return { guardian, held: sleeper.pid! };
}

/** Whether the process has a handler for `signal` (SigCgt in /proc/<pid>/status, Linux). */
function catches(pid: number, signal: number): boolean {
  try {
    const mask = /^SigCgt:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return mask !== undefined && (BigInt(`0x${mask}`) & (1n << BigInt(signal - 1))) !== 0n;
  } catch {
    return false;
  }
}

const running = (child: ChildProcess): boolean => child.exitCode === null && child.signalCode === null;

describe.skipIf(process.platform !== 'linux')('the watchdog and terminal signals', () => {
  it('outlives SIGHUP and SIGINT, and kills what it holds once its parent goes', async () => {
    const { guardian, held } = await guardianHoldingSleep();
    guardian.kill('SIGHUP');
    guardian.kill('SIGINT');
    expect(running(guardian), 'the guardian died of a terminal signal').toBe(true);
    expect(isAlive(held)).toBe(true);
    guardian.disconnect();
    expect(await eventually(() => !isAlive(held), 3_000), 'the held process still runs').toBe(true);
    expect(await eventually(() => !running(guardian), 3_000)).toBe(true);
  });

  it('kills what it holds on SIGTERM, as when its channel closes', async () => {
    const { guardian, held } = await guardianHoldingSleep();
    guardian.kill('SIGTERM');
    expect(await eventually(() => !isAlive(held), 3_000), 'the held process still runs').toBe(true);
    expect(await eventually(() => !running(guardian), 3_000)).toBe(true);
  });
});
