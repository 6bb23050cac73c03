// A real terminal for end-to-end tests: our own tmux server (so a person's
// sessions are never touched), the screen as text, and the processes below it.

import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';

export class Terminal {
  /** Every process seen under the pane, killed in cleanUp() if the program did not stop it. */
  readonly seen = new Set<number>();
  private shellPid: number | null = null;
  private socketPath: string | null = null;

  constructor(
    readonly socket: string,
    readonly session: string,
  ) {}

  /**
   * Runs `command` in a new session of this size; the pane stays after it
   * exits (remain-on-exit) so its last screen can be read. Returns the pane's shell pid.
   */
  start(command: string, size: { columns: number; rows: number }, cwd: string): number {
    this.tmux('-f', '/dev/null', 'new-session', '-d', '-s', this.session, '-x', String(size.columns), '-y', String(size.rows), '-c', cwd, command);
    this.socketPath = this.tmux('display-message', '-p', '#{socket_path}').trim();
    this.tmux('set-option', '-t', this.session, 'remain-on-exit', 'on');
    this.shellPid = Number(this.tmux('display-message', '-p', '-t', this.session, '#{pane_pid}').trim());
    this.seen.add(this.shellPid);
    return this.shellPid;
  }

  /** Whatever happened: the processes under the pane are found and SIGKILLed, the server and its socket file removed. */
  cleanUp(): void {
    if (this.shellPid !== null) for (const pid of descendants(this.shellPid)) this.seen.add(pid);
    this.shellPid = null;
    this.killServer();
    // tmux leaves its socket file behind.
    if (this.socketPath !== null) rmSync(this.socketPath, { force: true });
    this.socketPath = null;
    for (const pid of [...this.seen].filter(isAlive)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    this.seen.clear();
  }

  tmux(...args: string[]): string {
    const result = spawnSync('tmux', ['-L', this.socket, ...args], { encoding: 'utf8', timeout: 10_000 });
    if (result.error !== undefined) throw result.error;
    if (result.status !== 0) throw new Error(`tmux ${args.join(' ')} failed: ${result.stderr}`);
    return result.stdout;
  }

  screen(): string {
    return this.tmux('capture-pane', '-p', '-t', this.session);
  }

  async waitForScreen(check: (text: string) => boolean, what: string, timeoutMs = 15_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const text = this.screen();
      if (check(text)) return text;
      if (Date.now() > deadline) throw new Error(`the screen never showed ${what}; it shows:\n${text}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Stops the tmux server and everything in it (the afterEach of every e2e test). */
  killServer(): void {
    spawnSync('tmux', ['-L', this.socket, 'kill-server'], { encoding: 'utf8' });
  }
}

export function hasTmux(): boolean {
  return spawnSync('tmux', ['-V'], { encoding: 'utf8' }).status === 0;
}

/** Running, that is: a zombie waiting for its parent (tmux, for the pane's shell) to reap it is gone. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Every process below `root` (the node processes, the guardian), via ps. */
export function descendants(root: number): number[] {
  const rows = spawnSync('ps', ['-eo', 'pid=,ppid='], { encoding: 'utf8' }).stdout.trim().split('\n');
  const children = new Map<number, number[]>();
  for (const row of rows) {
    const [pid, ppid] = row.trim().split(/\s+/).map(Number) as [number, number];
    children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  }
  const found: number[] = [];
  const visit = (pid: number): void => {
    for (const child of children.get(pid) ?? []) {
      found.push(child);
      visit(child);
    }
  };
  visit(root);
  return found;
}
