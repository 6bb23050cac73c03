// The WAL's few file-system moves, each written once: writing every byte,
// writing zeros, reading a window, syncing a directory, and an fsync off the
// main thread so a node keeps serving IPC while the disk works.

import * as path from 'node:path';
import { segmentNameDigits, writeChunkBytesMax } from './constants.js';
import type { WalFs } from './types.js';

/** The file name of the segment whose first record has `firstIndex`. */
export function segmentName(firstIndex: number): string {
  return `${String(firstIndex).padStart(segmentNameDigits, '0')}.seg`;
}

/** The first index a segment file name stands for; null for any other file. */
export function parseSegmentName(name: string): number | null {
  const match = /^(\d+)\.seg$/.exec(name);
  if (match === null || match[1]!.length !== segmentNameDigits) return null;
  const index = Number(match[1]);
  return Number.isSafeInteger(index) && index >= 1 ? index : null;
}

/** Segment files in `walDir`, oldest first; other files are left alone. */
export function listSegments(fs: WalFs, walDir: string): { firstIndex: number; name: string; path: string }[] {
  const out: { firstIndex: number; name: string; path: string }[] = [];
  for (const name of fs.readdirSync(walDir)) {
    const firstIndex = parseSegmentName(name);
    if (firstIndex !== null) out.push({ firstIndex, name, path: path.join(walDir, name) });
  }
  return out.sort((a, b) => a.firstIndex - b.firstIndex);
}

/** pwrite of the whole buffer: a regular file may still take it in several pieces. */
export function writeAll(fs: WalFs, fd: number, bytes: Uint8Array, position: number): void {
  let done = 0;
  while (done < bytes.length) done += fs.writeSync(fd, bytes, done, bytes.length - done, position + done);
}

let zeroChunkShared: Buffer | null = null;

/** `writeChunkBytesMax` zeros, allocated on first use and shared: never write into it. */
export function zeroChunk(): Buffer {
  zeroChunkShared ??= Buffer.alloc(writeChunkBytesMax);
  return zeroChunkShared;
}

/**
 * Writes zeros over [from, to) of a file, a chunk per call: it preallocates a
 * segment, and erases records cut away so none is ever read back as valid.
 */
export function writeZeros(fs: WalFs, fd: number, from: number, to: number): void {
  const zeros = zeroChunk();
  for (let at = from; at < to; at += zeros.length) writeAll(fs, fd, zeros.subarray(0, Math.min(zeros.length, to - at)), at);
}

/** True when every byte of `bytes` is zero. */
export function isZero(bytes: Uint8Array): boolean {
  const zeros = zeroChunk();
  for (let at = 0; at < bytes.length; at += zeros.length) {
    const piece = bytes.subarray(at, Math.min(bytes.length, at + zeros.length));
    if (!zeros.subarray(0, piece.length).equals(piece)) return false;
  }
  return true;
}

/** unlink that is content when there is nothing to remove. */
export function removeIfPresent(fs: WalFs, file: string): void {
  try {
    fs.unlinkSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/** pread of exactly `length` bytes at `position`; the caller knows the file holds them. */
export function readExactly(fs: WalFs, fd: number, position: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const read = fs.readSync(fd, out, done, length - done, position + done);
    if (read === 0) throw new Error(`unexpected end of file at ${position + done}`);
    done += read;
  }
  return out;
}

// Windows cannot open a directory to fsync it; its directory entries are durable by other means.
const directoriesSync = process.platform !== 'win32';

/** Makes a directory's entries (files created, renamed, deleted) durable, synchronously. */
export function syncDirectory(fs: WalFs, dir: string): void {
  if (!directoriesSync) return;
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Opens a directory for `syncAsync`; null where directories cannot be synced. */
export function openDirectory(fs: WalFs, dir: string): number | null {
  return directoriesSync ? fs.openSync(dir, 'r') : null;
}

/** fdatasync (data = true) or fsync on the libuv thread pool, so the event loop keeps running. */
export function syncAsync(fs: WalFs, fd: number, options: { data: boolean }): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (error: NodeJS.ErrnoException | null): void => (error === null ? resolve() : reject(error));
    if (options.data) fs.fdatasync(fd, done);
    else fs.fsync(fd, done);
  });
}
