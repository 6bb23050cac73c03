// The built bin in a real terminal (tmux): a person opens the dashboard, waits
// for a leader, selects it and presses k, watches the election in the event
// log and a new leader in the table, presses q — and no node process is left.

import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, builtMain, projectRoot } from '../cli/run-cli.js';
import { Terminal, descendants, hasTmux, isAlive } from './terminal.js';

/** Our own tmux server, so a person's tmux sessions are never touched. */
const socket = `replica-lab-e2e-${process.pid}`;
const session = 'dashboard';
const size = { columns: 100, rows: 30 };

const terminal = new Terminal(socket, session);
const tmux = (...args: string[]): string => terminal.tmux(...args);
const screen = (): string => terminal.screen();
const waitForScreen = terminal.waitForScreen.bind(terminal);







/** The data dir the node processes have files open in (their WAL and SQLite files). */
function dataDirOf(pids: readonly number[]): string | null {
  for (const pid of pids) {
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const match = /^(.*)\/n\d+\/(wal|state\.db)/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (match !== null) return match[1]!;
      } catch {
        // closed meanwhile
      }
    }
  }
  return null;
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
  } catch {
    return '?';
  }
}


afterEach(() => {
  terminal.cleanUp();
});

describe('the dashboard in a real terminal (tmux)', () => {
  beforeAll(() => {
    assertBuilt();
    if (!hasTmux()) throw new Error("tmux is needed for this test: 'apt-get install -y tmux' (.ci/run installs it)");
  });

  it('kills the leader on k, shows the election and the new leader, and leaves no process behind on q', async () => {
    // The shell prints the bin's exit status after it, and remain-on-exit keeps that last screen to read.
    const command = `'${process.execPath}' '${builtMain}' --nodes 3; echo "exit status $?"`;
    const shellPid = terminal.start(command, size, projectRoot);

    // The header names the leader the supervisor knows; wait until the leader's own report agrees.
    const leaderInTable = (text: string): boolean => {
      const leader = /│ leader (n\d) │/.exec(text)?.[1];
      return leader !== undefined && new RegExp(`^. ${leader}\\s+leader\\s`, 'm').test(text);
    };
    const ready = await waitForScreen((text) => leaderInTable(text) && /^▸ n1 /m.test(text), 'a leader in the header and the table');
    const leader = /│ leader (n\d) │/.exec(ready)![1]!;
    const term = Number(/│ term (\d+) │/.exec(ready)![1]);
    expect(ready).toMatch(new RegExp(`^. ${leader}\\s+leader\\s+${term}\\s`, 'm'));
    const nodePids = descendants(shellPid);
    for (const pid of nodePids) terminal.seen.add(pid);
    expect(nodePids.length).toBeGreaterThanOrEqual(3);
    const dataDir = dataDirOf(nodePids);
    expect(dataDir, 'the nodes keep their files in a temporary data dir').toMatch(/replica-lab-/);

    tmux('send-keys', '-t', session, leader.slice(1));
    await waitForScreen((text) => new RegExp(`^▸ ${leader} `, 'm').test(text), `${leader} selected`);
    tmux('send-keys', '-t', session, 'k');

    const after = await waitForScreen(
      (text) => new RegExp(`✓ ${leader} killed`).test(text) && /│ leader (n\d) │/.exec(text)?.[1] !== leader && leaderInTable(text) && /elected leader of term (\d+)/.test(text),
      'the election and a new leader',
    );
    const newLeader = /│ leader (n\d) │/.exec(after)![1]!;
    expect(newLeader).not.toBe(leader);
    expect(after).toMatch(new RegExp(`fault: ${leader} killed \\(SIGKILL\\)`));
    expect(after).toMatch(new RegExp(`${newLeader} elected leader of term (\\d+), votes`));
    const newTerm = Number(new RegExp(`${newLeader} elected leader of term (\\d+)`).exec(after)![1]);
    expect(newTerm).toBeGreaterThan(term);
    expect(after).toMatch(new RegExp(`^. ${newLeader}\\s+leader\\s+${newTerm}\\s`, 'm'));
    expect(after).toMatch(new RegExp(`^. ${leader}\\s+down\\s.*✕ killed`, 'm'));
    for (const pid of descendants(shellPid)) terminal.seen.add(pid);

    tmux('send-keys', '-t', session, 'q');
    const final = await waitForScreen((text) => /exit status \d+/.test(text), 'the bin exiting', 10_000);
    expect(final).toContain('exit status 0');
    // The goodbye line names the removed dir (tmux may lose the line the moment the alternate screen ends).
    if (final.includes('every node stopped')) expect(final).toContain(`removed the temporary data dir ${dataDir}`);
    expect(existsSync(dataDir!), `${dataDir} removed`).toBe(false);
    const deadline = Date.now() + 3_000;
    while ([...terminal.seen].some(isAlive) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    const left = [...terminal.seen].filter(isAlive).map((pid) => `${pid} ${commandLine(pid)}`);
    expect(left, 'processes left behind').toEqual([]);
  });
});
