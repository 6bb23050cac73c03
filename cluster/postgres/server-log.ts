// Events read from the servers' own logs: what PostgreSQL says happened
// (promotion and timeline switch, walreceiver connect and disconnect,
// synchronous standby changes), as it said it. Each log is read from where
// the last read stopped, at most `readBytesMax` at a time; a partial last line
// waits for the next read.

import { closeSync, openSync, readSync, statSync } from 'node:fs';
import type { NodeId } from '../core/index.js';

export type ServerLogKind =
  | 'ready'
  | 'promoted'
  | 'timeline-selected'
  | 'streaming-started'
  | 'streaming-ended'
  | 'primary-unreachable'
  | 'sync-standby'
  | 'timeline-fork'
  | 'shutdown';

export interface ServerLogEvent {
  readonly atMs: number;
  readonly node: NodeId;
  readonly kind: ServerLogKind;
  /** The log line, without its timestamp and pid prefix. */
  readonly text: string;
}

const readBytesMax = 256 * 1024;
const partialMax = 16 * 1024;

const patterns: readonly (readonly [RegExp, ServerLogKind])[] = [
  [/database system is ready to accept (read-only )?connections/, 'ready'],
  [/received promote request/, 'promoted'],
  [/selected new timeline ID: \d+/, 'timeline-selected'],
  [/(started|restarted) (streaming WAL from primary|WAL streaming) at \S+ on timeline \d+/, 'streaming-started'],
  [/could not receive data from WAL stream|replication terminated by primary server|terminating walreceiver/, 'streaming-ended'],
  [/could not connect to the primary server/, 'primary-unreachable'],
  [/standby "[^"]+" is now a (synchronous standby with priority \d+|candidate for quorum synchronous standby)/, 'sync-standby'],
  [/new timeline \d+ forked off current database system timeline|is not a child of this server's history/, 'timeline-fork'],
  [/database system is shut down|received (fast|immediate|smart) shutdown request/, 'shutdown'],
];

/** What one line says, or null for a line of no interest. */
export function classifyLogLine(line: string): { kind: ServerLogKind; text: string } | null {
  for (const [pattern, kind] of patterns) {
    if (pattern.test(line)) {
      // log_line_prefix is '%m [%p] ': drop the timestamp and pid.
      const text = line.replace(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \S+ \[\d+\] /, '').trim();
      return { kind, text };
    }
  }
  return null;
}

export class LogTail {
  private offset = 0;
  private partial = '';

  constructor(
    readonly node: NodeId,
    private readonly path: string,
  ) {}

  /** The interesting lines written since the last read. */
  read(): ServerLogEvent[] {
    let size: number;
    try {
      size = statSync(this.path).size;
    } catch {
      return [];
    }
    if (size < this.offset) this.offset = 0;
    if (size === this.offset) return [];
    const length = Math.min(readBytesMax, size - this.offset);
    const buffer = Buffer.alloc(length);
    let fd: number;
    try {
      fd = openSync(this.path, 'r');
    } catch {
      return [];
    }
    try {
      readSync(fd, buffer, 0, length, this.offset);
    } finally {
      closeSync(fd);
    }
    this.offset += length;
    const text = this.partial + buffer.toString('utf8');
    const lines = text.split('\n');
    this.partial = (lines.pop() ?? '').slice(-partialMax);
    const atMs = Date.now();
    const events: ServerLogEvent[] = [];
    for (const line of lines) {
      const found = classifyLogLine(line);
      if (found !== null) events.push({ atMs, node: this.node, ...found });
    }
    return events;
  }
}
