// One PostgreSQL server's processes: the programs run as the server's OS user
// (initdb and postgres refuse root: as root they run as `postgres`, or the
// user named by REPLICA_LAB_PG_USER), and the postmaster spawned directly
// (no shell, no pg_ctl in between), detached from the supervisor's terminal.
// Its children (backends, walsender, walreceiver...) are found by parent pid.

import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The OS user the servers run as; null: this process's own user (not root). */
export interface OsUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

export class PostgresUserError extends Error {
  override name = 'PostgresUserError';
  readonly exitCode = 2;
}

/** As root, the user the servers run as (PostgreSQL refuses to run as root); null when not root. */
export function serverUser(): OsUser | null {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return null;
  const name = process.env['REPLICA_LAB_PG_USER'] ?? 'postgres';
  try {
    const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    if (!Number.isInteger(uid) || !Number.isInteger(gid) || uid === 0) throw new Error('not a usable user');
    return { name, uid, gid };
  } catch {
    throw new PostgresUserError(
      `running as root, but PostgreSQL refuses to run as root (initdb and postgres) and there is no OS user '${name}' to run the servers as; ` +
        `create one (the Debian package postgresql does), name another with REPLICA_LAB_PG_USER, or run replica-lab as a normal user`,
    );
  }
}

/** A clean environment for the programs: no PG* variable of the caller's steers them elsewhere. */
function programEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { LC_ALL: 'C', LANG: 'C', TZ: 'UTC' };
  if (process.env['PATH'] !== undefined) env['PATH'] = process.env['PATH'];
  return env;
}

export interface ToolResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs one of the PostgreSQL programs as the servers' user; output bounded to 1 MB; never rejects. */
export function runTool(
  bin: string,
  program: string,
  args: readonly string[],
  options: { user: OsUser | null; cwd: string; timeoutMs: number; onSpawn?: (pid: number) => void; onExit?: (pid: number) => void },
): Promise<ToolResult> {
  return new Promise((resolve) => {
    const child = execFile(
      join(bin, program),
      args,
      {
        cwd: options.cwd,
        env: programEnv(),
        timeout: options.timeoutMs,
        maxBuffer: 1024 * 1024,
        encoding: 'utf8',
        ...(options.user === null ? {} : { uid: options.user.uid, gid: options.user.gid }),
      },
      (error, stdout, stderr) => {
        if (child.pid !== undefined) options.onExit?.(child.pid);
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
        resolve({ code, stdout, stderr: error !== null && stderr === '' ? error.message : stderr });
      },
    );
    if (child.pid !== undefined) options.onSpawn?.(child.pid);
  });
}

/** Starts a postmaster in a session of its own (detached: setsid, so the terminal's ^C is not its), output appended to `logPath`. */
export function spawnPostmaster(bin: string, args: readonly string[], options: { user: OsUser | null; cwd: string; logPath: string }): ChildProcess {
  const fd = openSync(options.logPath, 'a', 0o600);
  try {
    return spawn(join(bin, 'postgres'), args, {
      cwd: options.cwd,
      env: programEnv(),
      detached: true,
      stdio: ['ignore', fd, fd],
      ...(options.user === null ? {} : { uid: options.user.uid, gid: options.user.gid }),
    });
  } finally {
    closeSync(fd);
  }
}

/**
 * The postmaster's children. PostgreSQL puts every child in a session (and
 * process group) of its own (InitPostmasterChild calls setsid), so a group
 * signal reaches only the postmaster: the children are found by their parent
 * pid (/proc on Linux, `pgrep -P` elsewhere).
 */
export function childPids(ppid: number): number[] {
  if (existsSync('/proc/self/stat')) {
    const found: number[] = [];
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      try {
        const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
        // The fields after the command (which may hold spaces) start after its last ')': state, ppid, ...
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        if (Number(fields[1]) === ppid && fields[0] !== 'Z') found.push(Number(name));
      } catch {
        // The process ended while being read.
      }
    }
    return found;
  }
  try {
    return execFileSync('pgrep', ['-P', String(ppid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .split('\n')
      .filter((line) => /^\d+$/.test(line.trim()))
      .map(Number);
  } catch {
    return [];
  }
}

function send(pid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Whether a process runs: a zombie (dead, not yet reaped by whoever inherited it) does not count. */
export function isAlive(pid: number): boolean {
  if (!send(pid, 0)) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    // No /proc (not Linux): signal 0 answered.
    return existsSync('/proc/self') ? false : true;
  }
}

/**
 * Signals a server: the postmaster and every child. For SIGKILL and SIGSTOP
 * the postmaster is stopped first, so it forks nothing between the listing of
 * its children and their signal. Returns every pid signalled.
 */
export function signalServer(postmaster: number, signal: 'SIGKILL' | 'SIGSTOP' | 'SIGCONT'): number[] {
  if (signal === 'SIGCONT') {
    const children = childPids(postmaster);
    for (const pid of children) send(pid, 'SIGCONT');
    send(postmaster, 'SIGCONT');
    return [postmaster, ...children];
  }
  send(postmaster, 'SIGSTOP');
  const children = childPids(postmaster);
  for (const pid of children) send(pid, signal);
  send(postmaster, signal);
  return [postmaster, ...children];
}

/** The last `lines` lines of a log file (empty when it cannot be read). */
export function logTail(path: string, lines = 20): string {
  try {
    const text = readFileSync(path, 'utf8');
    return text.split('\n').slice(-lines - 1).join('\n').trim();
  } catch {
    return '';
  }
}

/**
 * The memory of a server's processes: the sum of their proportional set sizes
 * (Pss from /proc/<pid>/smaps_rollup), which shares shared_buffers out among
 * the processes mapping it instead of counting it once per backend. Linux only;
 * null elsewhere or when nothing could be read.
 */
export function pssBytes(pids: readonly number[]): number | null {
  let total = 0;
  let read = false;
  for (const pid of pids) {
    try {
      const match = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
      if (match !== null) {
        total += Number(match[1]) * 1024;
        read = true;
      }
    } catch {
      // Ended, or no /proc.
    }
  }
  return read ? total : null;
}
