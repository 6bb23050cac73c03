// Sockets only, and nothing outlives the supervisor: no postgres process opens a TCP or UDP
// socket; stop() leaves no process, a paused server included; SIGKILL of the process that
// started the cluster leaves none either (the watchdog kills every server's process group).
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { PostgresCluster } from '../../cluster/postgres/index.js';
import { eventually, noPostgres, suiteName } from './helpers.js';

let cluster: PostgresCluster | null = null;
afterEach(async () => {
  await cluster?.stop();
  cluster = null;
});

/** A postmaster and its live children (PostgreSQL gives each child a session of its own, so not by group: by parent pid). */
function serverProcesses(postmaster: number): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] === 'Z') continue;
      if (Number(name) === postmaster || Number(fields[1]) === postmaster) found.push(Number(name));
    } catch {
      // Gone while reading.
    }
  }
  return found;
}

/** Whether a process lives (a zombie does not count). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] !== 'Z';
  } catch {
    return false;
  }
}

/** The socket inodes of every TCP and UDP socket on the machine. */
function inetInodes(): Set<string> {
  const inodes = new Set<string>();
  for (const table of ['tcp', 'tcp6', 'udp', 'udp6']) {
    let text = '';
    try {
      text = readFileSync(`/proc/net/${table}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length > 9) inodes.add(fields[9]!);
    }
  }
  return inodes;
}

function socketInodes(pid: number): string[] {
  const found: string[] = [];
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (match !== null) found.push(match[1]!);
      } catch {
        // Closed while reading.
      }
    }
  } catch {
    // Gone.
  }
  return found;
}

describe.skipIf(noPostgres || process.platform !== 'linux')(suiteName('postgres engine processes', noPostgres || process.platform !== 'linux', 'no PostgreSQL server binaries, or not Linux'), () => {
  it('opens no TCP or UDP socket in any server process, and stop() leaves no process, a paused one included', async () => {
    cluster = await PostgresCluster.start({ nodes: 3, replication: { mode: 'quorum' } });
    const postmasters = cluster.postmasterPids();
    expect(postmasters).toHaveLength(3);
    const processes = postmasters.flatMap(serverProcesses);
    // Postmaster, checkpointer, walwriter, walsenders, walreceivers, startup...: more than one per server.
    expect(processes.length).toBeGreaterThan(6);
    const inet = inetInodes();
    const sockets = processes.flatMap(socketInodes);
    expect(sockets.length).toBeGreaterThan(0);
    expect(sockets.filter((inode) => inet.has(inode))).toEqual([]);

    cluster.pause('n3');
    await cluster.stop();
    expect(await eventually(() => !processes.some(running), 5_000), `still running: ${processes.filter(running).join(', ')}`).toBe(true);
  });

  it('leaves no server process within 5 s after SIGKILL of the process that started the cluster', async () => {
    const fixture = fileURLToPath(new URL('./fixtures/hold-postgres.mjs', import.meta.url));
    const child = spawn(process.execPath, [fixture], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    try {
      expect(await eventually(() => output.includes('\n'), 15_000), 'the fixture started its cluster').toBe(true);
      const { pids, dataDir } = JSON.parse(output.trim()) as { pids: number[]; dataDir: string };
      expect(pids).toHaveLength(2);
      const processes = pids.flatMap(serverProcesses);
      // The paused standby's children too: its walreceiver and startup process, stopped.
      expect(processes.length).toBeGreaterThan(4);
      child.kill('SIGKILL');
      const gone = await eventually(() => !processes.some(running), 5_000);
      expect(gone, `still running: ${processes.filter(running).join(', ')}`).toBe(true);
      // The watchdog also removes the temporary dir it was told of.
      expect(await eventually(() => !readdirSync('/tmp').includes(dataDir.slice('/tmp/'.length)), 5_000)).toBe(true);
      rmSync(dataDir, { recursive: true, force: true });
    } finally {
      child.kill('SIGKILL');
    }
  });
});
