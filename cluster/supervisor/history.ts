// The history recorder: every record goes to a JSONL file through one write
// in flight at a time (many records per write, like group commit) and into a
// small ring the TUI reads. The buffer waiting for the disk is bounded: past
// a high-water mark `congested()` tells the workload to start no new
// operations, so only completions of operations already running still arrive.

import { closeSync, write as writeToFd } from 'node:fs';
import { isHistoryStart, type HistoryRecord } from '../check/records.js';
import { openForAppend, openForReplace } from './files.js';
import { historyBufferBytesHigh, historyBufferBytesMax, historyRingMax } from './constants.js';
import { Ring } from './ring.js';

/** What a file that a new history may replace starts like (for the refusal's message). */
export const historyWhat = 'a replica-lab history, whose first record is "run"';

export interface HistoryStats {
  readonly records: number;
  readonly bytesWritten: number;
  readonly bufferedBytes: number;
  /** Records not written: after a write error, after close, or past historyBufferBytesMax. */
  readonly dropped: number;
  readonly writeError: string | null;
}

export class HistoryRecorder {
  private readonly ring = new Ring<HistoryRecord>(historyRingMax);
  private buffer: string[] = [];
  private bufferedBytes = 0;
  private flushing: Promise<void> | null = null;
  private fd: number | null;
  private counters = { records: 0, bytesWritten: 0, dropped: 0 };
  private writeError: string | null = null;

  /**
   * Opens `path` (0600, never through a symbolic link), synchronously so the
   * first record cannot race the open: appending, or else from empty — which
   * replaces only a history or an empty file, never a file of the user's.
   */
  constructor(
    readonly path: string,
    options: { readonly append: boolean },
  ) {
    this.fd = options.append ? openForAppend(path) : openForReplace(path, historyWhat, isHistoryStart);
  }

  write(record: HistoryRecord): void {
    this.counters.records++;
    this.ring.push(record);
    const line = `${JSON.stringify(record)}\n`;
    if (this.fd === null || this.writeError !== null || this.bufferedBytes + line.length > historyBufferBytesMax) {
      this.counters.dropped++;
      return;
    }
    this.buffer.push(line);
    this.bufferedBytes += line.length;
    this.flushing ??= this.drain();
  }

  /** True while more than historyBufferBytesHigh waits for the disk: start nothing new. */
  congested(): boolean {
    return this.bufferedBytes > historyBufferBytesHigh;
  }

  /** The last records (at most historyRingMax), oldest first. */
  recent(): HistoryRecord[] {
    return this.ring.toArray();
  }

  stats(): HistoryStats {
    return { ...this.counters, bufferedBytes: this.bufferedBytes, writeError: this.writeError };
  }

  /** Resolves once everything written so far is in the file (not fsynced: a history is not a durability promise). */
  async flush(): Promise<void> {
    while (this.flushing !== null) await this.flushing;
  }

  /** Writes what is buffered, then closes the file; later records are dropped. */
  async close(): Promise<void> {
    await this.flush();
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private async drain(): Promise<void> {
    try {
      while (this.buffer.length > 0 && this.fd !== null && this.writeError === null) {
        const chunk = Buffer.from(this.buffer.join(''), 'utf8');
        const chars = this.bufferedBytes;
        this.buffer = [];
        try {
          await writeAll(this.fd, chunk);
          this.counters.bytesWritten += chunk.length;
        } catch (error) {
          this.writeError = error instanceof Error ? error.message : String(error);
        }
        this.bufferedBytes -= chars;
      }
      if (this.writeError !== null) {
        this.counters.dropped += this.buffer.length;
        this.buffer = [];
        this.bufferedBytes = 0;
      }
    } finally {
      this.flushing = null;
    }
  }
}

async function writeAll(fd: number, bytes: Buffer): Promise<void> {
  for (let offset = 0; offset < bytes.length; ) {
    const written = await new Promise<number>((resolve, reject) => writeToFd(fd, bytes, offset, bytes.length - offset, null, (error, n) => (error ? reject(error) : resolve(n))));
    offset += written;
  }
}
