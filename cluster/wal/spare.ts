// The next segment, zero-filled ahead of time. Filling 16 MiB inline stalls
// the node for the roll (tens of ms when the machine is busy), so once the
// segment taking appends is half full, a spare file is filled and fdatasynced
// under a name recovery ignores, through libuv's thread pool; the roll then
// renames it into place. No spare ready in time: the roll fills inline.

import * as path from 'node:path';
import { removeIfPresent, syncAsync, zeroChunk } from './files.js';
import type { WalFs } from './types.js';

/** The spare's file name in `wal/`: not a segment name, so recovery never reads it. */
export const spareName = 'next-segment.tmp';

type SpareState =
  | { readonly kind: 'none' }
  | { readonly kind: 'filling'; readonly done: Promise<void> }
  | { readonly kind: 'ready'; readonly fd: number }
  // A fill failed (the disk is full, say): the inline fill at the next roll reports it where a write can fail.
  | { readonly kind: 'off' };

/** At most one zero-filled file waiting to become the next segment. */
export class SpareSegment {
  private state: SpareState = { kind: 'none' };
  private readonly path: string;

  constructor(private readonly options: { fs: WalFs; walDir: string; bytes: number }) {
    this.path = path.join(options.walDir, spareName);
  }

  /** Starts filling a spare unless there is one, or one is being filled. */
  prepare(): void {
    if (this.state.kind !== 'none') return;
    const { fs, bytes } = this.options;
    let fd: number;
    try {
      fd = fs.openSync(this.path, 'w+');
    } catch {
      // A spare is an optimisation: failing one never fails a write.
      this.state = { kind: 'off' };
      return;
    }
    const done = fillZeros(fs, fd, bytes).then(
      () => {
        this.state = { kind: 'ready', fd };
      },
      () => {
        this.state = { kind: 'off' };
        fs.closeSync(fd);
        removeIfPresent(fs, this.path);
      },
    );
    this.state = { kind: 'filling', done };
  }

  /** Renames the ready spare to `file` and hands over its descriptor; null when none is ready. */
  take(file: string): number | null {
    if (this.state.kind !== 'ready') return null;
    const { fd } = this.state;
    // Segments past the log were removed by recovery or a cut, so nothing is replaced.
    this.options.fs.renameSync(this.path, file);
    this.state = { kind: 'none' };
    return fd;
  }

  /** Waits for a fill in flight, then removes the spare: the next open starts without one. */
  async close(): Promise<void> {
    if (this.state.kind === 'filling') await this.state.done;
    if (this.state.kind === 'ready') {
      this.options.fs.closeSync(this.state.fd);
      removeIfPresent(this.options.fs, this.path);
    }
    this.state = { kind: 'off' };
  }
}

/** Writes `bytes` zeros from the start of `fd` and fdatasyncs them, all on the thread pool. */
async function fillZeros(fs: WalFs, fd: number, bytes: number): Promise<void> {
  const zeros = zeroChunk();
  for (let at = 0; at < bytes; ) {
    const length = Math.min(zeros.length, bytes - at);
    at += await new Promise<number>((resolve, reject) => {
      fs.write(fd, zeros, 0, length, at, (error, written) => (error === null ? resolve(written) : reject(error)));
    });
  }
  await syncAsync(fs, fd, { data: true });
}
