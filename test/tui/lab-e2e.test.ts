// The built bin in a real terminal (tmux), a person doing the first-steps lab:
// read each step's instruction on the screen, type the command it names (or
// press its key), wait for ✓, press n; at the debrief press q — the lab is
// recorded as done and no process is left.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, builtMain, projectRoot } from '../cli/run-cli.js';
import { Terminal, descendants, hasTmux, isAlive } from './terminal.js';

/** Our own tmux server, so a person's tmux sessions are never touched. */
const socket = `replica-lab-lab-e2e-${process.pid}`;
const session = 'lab';
const size = { columns: 80, rows: 24 };

const terminal = new Terminal(socket, session);
const tmux = (...args: string[]): string => terminal.tmux(...args);
const screen = (): string => terminal.screen();
const waitForScreen = terminal.waitForScreen.bind(terminal);



/** The screen's text with its lines joined: the panel wraps an instruction at spaces. */
function flat(text: string): string {
  return text.split('\n').map((line) => line.trimEnd()).join(' ');
}


const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Types a line as a person would, then Enter. */
async function type(text: string): Promise<void> {
  tmux('send-keys', '-t', session, '-l', text);
  await pause(150);
  tmux('send-keys', '-t', session, 'Enter');
}

async function key(name: string): Promise<void> {
  tmux('send-keys', '-t', session, name);
  // An Escape followed at once by a letter reads as Alt+letter.
  await pause(300);
}

let stateDir: string | null = null;

afterEach(() => {
  terminal.cleanUp();
  if (stateDir !== null) rmSync(stateDir, { recursive: true, force: true });
  stateDir = null;
});

describe('a guided lab in a real terminal (tmux)', () => {
  beforeAll(() => {
    assertBuilt();
    if (!hasTmux()) throw new Error("tmux is needed for this test: 'apt-get install -y tmux'");
  });

  it('does first-steps by keys, step by step, to the debrief, records it done, and leaves no process on q', async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'replica-lab-lab-e2e-'));
    const command = `env XDG_STATE_HOME='${stateDir}' '${process.execPath}' '${builtMain}' lab first-steps; echo "exit status $?"`;
    const shellPid = terminal.start(command, size, projectRoot);
    const passed = (text: string) => /^✓ /m.test(text.split(/^Lab: /m)[1] ?? '');

    // Step 1: the instruction names the :sql to type.
    const first = await waitForScreen((text) => text.includes('step 1/5: Write through the leader') && /:sql INSERT/.test(flat(text)), 'step 1 and its instruction', 20_000);
    expect(first).toMatch(/✗ no write acknowledged yet/);
    expect(first).toContain('A do this step for me');
    for (const pid of descendants(shellPid)) terminal.seen.add(pid);
    const sql = /:sql (INSERT .*?VALUES \(.*?\))/.exec(flat(first))![1]!;
    await key('?');
    await waitForScreen((text) => text.includes('hint, step 1/5') && text.includes('opens the command line'), 'the hint on ?');
    await key('Escape');
    await key('n');
    await waitForScreen((text) => text.includes('the check has not passed yet'), 'n refused before the check passed');
    await key(':');
    await type(`sql ${sql}`);
    await waitForScreen((text) => passed(text) && /acknowledged it at log index \d+/.test(text), 'step 1 passed');
    await key('Escape');
    await key('n');

    // Step 2: a write straight to the follower the instruction names.
    const second = await waitForScreen((text) => text.includes('step 2/5: Write to a follower') && /:write n\d /.test(flat(text)), 'step 2');
    const [, follower, statement] = /:write (n\d) (INSERT .*?VALUES \(.*?\))/.exec(flat(second))!;
    await key(':');
    await type(`write ${follower} ${statement}`);
    const refused = await waitForScreen((text) => passed(text), 'step 2 passed');
    expect(refused).toMatch(new RegExp(`${follower} refused the write and named n\\d as the leader`));
    expect(refused).toMatch(new RegExp(`refused: ${follower} is not the leader; send writes to n\\d`));
    await key('n');

    // Step 3: a local read on a follower.
    const third = await waitForScreen((text) => text.includes('step 3/5: Read from a follower') && /:read n\d SELECT/.test(flat(text)), 'step 3');
    const [, reader, select] = /:read (n\d) (SELECT .*?')(?: |$)/.exec(flat(third))!;
    await key(':');
    await type(`read ${reader} ${select}`);
    await waitForScreen((text) => passed(text) && text.includes(`${reader} answered from its own copy`), 'step 3 passed');
    await key('Escape');
    await key('n');

    // Step 4: slow the link the instruction names, and watch the lag.
    const fourth = await waitForScreen((text) => text.includes('step 4/5: Slow a link') && /:delay n\d n\d \d+/.test(flat(text)), 'step 4');
    const delay = /:delay (n\d n\d \d+)/.exec(flat(fourth))![1]!;
    await key(':');
    await type(`delay ${delay}`);
    await waitForScreen((text) => passed(text) && /behind n\d/.test(text), 'step 4 passed (lag shown)', 20_000);
    await key('n');

    // Step 5: h heals; every node catches up.
    await waitForScreen((text) => text.includes('step 5/5: Heal and catch up') && text.includes('Press h'), 'step 5');
    await key('h');
    await waitForScreen((text) => passed(text) && text.includes('every node has applied past index'), 'step 5 passed', 20_000);
    await key('n');

    const debrief = await waitForScreen((text) => text.includes('Lab complete: First steps') && text.includes('Debrief'), 'the debrief');
    expect(debrief).toContain('q quits');
    expect(flat(debrief)).toMatch(/Your write went to n\d, the leader/);
    for (const pid of descendants(shellPid)) terminal.seen.add(pid);

    await key('q');
    const final = await waitForScreen((text) => /exit status \d+/.test(text), 'the bin exiting', 15_000);
    expect(final).toContain('exit status 0');
    const progress = JSON.parse(readFileSync(join(stateDir, 'replica-lab', 'progress.json'), 'utf8')) as { labs: Record<string, { done: boolean; lastRun: { stepsByAutopilot: number } }> };
    expect(progress.labs['first-steps']).toMatchObject({ done: true, lastRun: { stepsByAutopilot: 0 } });
    const deadline = Date.now() + 3_000;
    while ([...terminal.seen].some(isAlive) && Date.now() < deadline) await pause(50);
    expect([...terminal.seen].filter(isAlive), 'processes left behind').toEqual([]);
  }, 60_000);
});
