// What machine a bench ran on, and what each process cost: CPU time from
// /proc/<pid>/stat and resident memory, read from the running processes.

import { cpus, totalmem } from 'node:os';
import { readdirSync, readFileSync } from 'node:fs';

export interface Machine {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryGb: number;
  readonly node: string;
  readonly platform: string;
}

export function machine(): Machine {
  const list = cpus();
  return {
    cpus: list.length,
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    memoryGb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
}

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ, 100 on Linux). */
const clockTicksPerSecond = 100;

/** utime, stime, cutime and cstime (fields 14-17 of /proc/<pid>/stat) and the parent pid; null when gone. */
function procTimes(pid: number): { readonly ticks: number; readonly ppid: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may contain spaces: fields start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
    return Number.isFinite(ticks) ? { ticks, ppid: Number(fields[1]) } : null;
  } catch {
    return null;
  }
}

/**
 * CPU seconds (user + system) a process has used, with its children's: those
 * running now and those it has reaped (cutime, cstime). A replica-lab node has
 * no children; a PostgreSQL postmaster's work is done by its backends,
 * walsenders and walreceiver, which are its children. Null when the process
 * is gone or /proc is absent.
 */
export function cpuSeconds(pid: number): number | null {
  const own = procTimes(pid);
  if (own === null) return null;
  let ticks = own.ticks;
  let names: string[] = [];
  try {
    names = readdirSync('/proc');
  } catch {
    return ticks / clockTicksPerSecond;
  }
  for (const name of names) {
    if (!/^\d+$/.test(name) || Number(name) === pid) continue;
    const child = procTimes(Number(name));
    if (child !== null && child.ppid === pid) ticks += child.ticks;
  }
  return ticks / clockTicksPerSecond;
}
