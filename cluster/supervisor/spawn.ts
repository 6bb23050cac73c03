// Spawning node processes (and the guardian) with execa: an IPC channel and
// nothing else — no port, no shell. Output goes to the node's own log file,
// which the supervisor opens (files.ts) and hands over as a descriptor.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import type { NodeId } from '../core/index.js';
import { nodeConfigVariable, type NodeConfig } from '../node/config.js';

/**
 * The compiled script for `relative` (e.g. '../node/main.js'). Running from the
 * TypeScript sources (vitest), the sibling .js does not exist, so use dist/.
 */
export function compiledScript(relative: string): string {
  const beside = fileURLToPath(new URL(relative, import.meta.url));
  if (existsSync(beside)) return beside;
  const fromDist = fileURLToPath(new URL(`../../dist/cluster/supervisor/${relative}`, import.meta.url));
  if (existsSync(fromDist)) return fromDist;
  throw new Error(`cannot find ${relative} next to ${fileURLToPath(import.meta.url)} or in dist/: run 'npm run build'`);
}

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: string | null;
}

/**
 * Node.js flags for node processes. A node's live heap after a full GC is
 * ~9 MB, but with V8's defaults its young generation and an old space full of
 * promoted garbage (entries and messages that lived a few milliseconds) took
 * it to 90-100 MB RSS at 64 clients, against 40 MB for a bare node process.
 * A 2 MB semi-space and an old space that grows by only 1% over what
 * survives a full GC (V8 still grows it by its minimum step, so a growing
 * live heap does not thrash) keep it at 76-78 MB in `bench throughput` at 64
 * async clients (5%: 79-82 MB), at a cost within run-to-run noise (async
 * 22.3-22.5k writes/s vs 22.8-23.2k; quorum 19.3k both; catch-up 73k vs 75k
 * entries/s). Then any extra flags from `REPLICA_LAB_NODE_ARGS` (e.g.
 * '--cpu-prof' for profiling).
 */
function nodeArguments(): string[] {
  const text = process.env['REPLICA_LAB_NODE_ARGS'];
  const extra = text === undefined || text.trim() === '' ? [] : text.trim().split(/\s+/);
  return ['--max-semi-space-size=2', '--heap-growing-percent=1', ...extra];
}

/**
 * Test hooks a node reads from its environment, passed through when the
 * supervisor has them: `REPLICA_LAB_TEST_CRASH_INSTALL=<node>:<step>` kills
 * that node before a step of a snapshot install (cluster/node/snapshots.ts),
 * `REPLICA_LAB_TEST_CRASH_ROLLBACK=<node>:<step>` after a step of a rollback
 * (cluster/node/main.ts).
 */
function testHooks(): Record<string, string> {
  const hooks: Record<string, string> = {};
  for (const name of ['REPLICA_LAB_TEST_CRASH_INSTALL', 'REPLICA_LAB_TEST_CRASH_ROLLBACK']) {
    const value = process.env[name];
    if (value !== undefined) hooks[name] = value;
  }
  return hooks;
}

/** A running node process: send it messages, hear its messages, see it exit. */
export class NodeProcess {
  readonly id: NodeId;
  readonly pid: number;
  readonly exited: Promise<ExitInfo>;
  private readonly subprocess: ResultPromise;
  private gone = false;

  constructor(options: { config: NodeConfig; logFd: number; onMessage: (message: unknown) => void }) {
    this.id = options.config.id;
    this.subprocess = execa(process.execPath, [...nodeArguments(), compiledScript('../node/main.js')], {
      ipc: true,
      serialization: 'json',
      env: { [nodeConfigVariable]: JSON.stringify(options.config), ...testHooks() },
      stdin: 'ignore',
      // The node's log, opened by the supervisor (execa's types take only literal descriptors; any works).
      stdout: options.logFd as 3,
      stderr: options.logFd as 3,
      reject: false,
      buffer: false,
      cleanup: true,
    });
    const pid = this.subprocess.pid;
    if (pid === undefined) throw new Error(`could not start node ${this.id}`);
    this.pid = pid;
    this.subprocess.on('message', options.onMessage);
    this.exited = this.subprocess.then((result) => {
      this.gone = true;
      return { code: result.exitCode ?? null, signal: result.signal ?? null };
    });
  }

  /** Sends one message; false when the channel is closed (the node died or is exiting). */
  send(message: unknown): boolean {
    if (this.gone || !this.subprocess.connected) return false;
    try {
      this.subprocess.send(message as never);
      return true;
    } catch {
      return false;
    }
  }

  signal(name: 'SIGKILL' | 'SIGSTOP' | 'SIGCONT' | 'SIGTERM'): void {
    if (this.gone) return;
    try {
      process.kill(this.pid, name);
    } catch {
      // Already gone: the exit promise reports it.
    }
  }
}

/** The guardian that SIGKILLs every node if the supervisor dies, paused ones included, then removes the temporary dirs. */
/** Starts a watchdog process (watchdog.ts) from a compiled script, relative to this module: IPC only, no output kept. */
export function spawnWatchdog(script: string): ResultPromise {
  return execa(process.execPath, [compiledScript(script)], {
    ipc: true,
    serialization: 'json',
    stdin: 'ignore',
    stdout: 'ignore',
    stderr: 'ignore',
    reject: false,
    buffer: false,
    cleanup: true,
  });
}

export class Guardian {
  private readonly subprocess: ResultPromise;

  constructor() {
    this.subprocess = spawnWatchdog('./guardian.js');
  }

  /** A dir (one this supervisor made with mkdtemp) the guardian removes if the supervisor dies. */
  removeOnExit(path: string): void {
    this.send({ remove: path });
  }

  watch(pid: number): void {
    this.send({ watch: pid });
  }

  forget(pid: number): void {
    this.send({ forget: pid });
  }

  async stop(): Promise<void> {
    this.subprocess.kill('SIGKILL');
    await this.subprocess;
  }

  private send(message: object): void {
    if (!this.subprocess.connected) return;
    try {
      this.subprocess.send(message as never);
    } catch {
      // The guardian died; nodes still exit on their own when the channel closes.
    }
  }
}
