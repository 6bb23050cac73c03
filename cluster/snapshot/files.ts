// The few file moves snapshots need, under the rules of
// cluster/supervisor/files.ts: dirs 0700, files 0600, nothing opened through a
// symbolic link (O_NOFOLLOW), a new file created with O_EXCL, and a name
// replaced only when it is a regular file this code wrote there.

import { createHash } from 'node:crypto';
import { closeSync, constants, fchmodSync, fstatSync, fsyncSync, lstatSync, mkdirSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { SnapshotError } from './types.js';

const { O_CREAT, O_DIRECTORY, O_EXCL, O_NOFOLLOW, O_RDONLY, O_WRONLY } = constants;

/** Bytes read or written per call while copying or hashing a snapshot file. */
export const ioChunkBytes = 1024 * 1024;

export function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | null)?.code;
}

/** `path` as a dir only this user reads: made 0700, or set to 0700; a symbolic link or a non-dir is refused. */
export function ownDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  const stats = lstatSync(path);
  if (stats.isSymbolicLink() || !stats.isDirectory()) throw new SnapshotError(`${path} is not a directory (or is a symbolic link): replica-lab keeps snapshots only in a directory of its own`);
  if ((stats.mode & 0o777) !== 0o700) {
    const fd = openSync(path, O_RDONLY | O_NOFOLLOW | O_DIRECTORY);
    try {
      fchmodSync(fd, 0o700);
    } finally {
      closeSync(fd);
    }
  }
}

/** A new file, 0600, that did not exist (O_EXCL), never through a link. */
export function createFile(path: string): number {
  try {
    return openSync(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
  } catch (error) {
    if (errorCode(error) === 'EEXIST') throw new SnapshotError(`${path} already exists: not overwriting it`);
    throw error;
  }
}

/** Opens an existing regular file to read, never through a link; null when it is absent. */
export function openRegular(path: string): number | null {
  let fd: number;
  try {
    fd = openSync(path, O_RDONLY | O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return null;
    if (errorCode(error) === 'ELOOP') throw new SnapshotError(`${path} is a symbolic link: replica-lab does not read snapshots through one`);
    throw error;
  }
  if (!fstatSync(fd).isFile()) {
    closeSync(fd);
    throw new SnapshotError(`${path} is not a regular file`);
  }
  return fd;
}

export function writeAllSync(fd: number, bytes: Uint8Array): void {
  for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, Math.min(bytes.length - at, ioChunkBytes));
}

/** Writes `text` as a new file at `temporary` (0600, fsynced when asked); the caller renames it into place. */
export function writeNewFile(temporary: string, text: string, fsync: boolean): void {
  const fd = createFile(temporary);
  try {
    writeAllSync(fd, Buffer.from(text, 'utf8'));
    if (fsync) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The size and sha256 of a regular file, read a chunk at a time (bounded memory); null when it is absent. */
export function hashFile(path: string): { bytes: number; sha256: string } | null {
  const fd = openRegular(path);
  if (fd === null) return null;
  try {
    const hash = createHash('sha256');
    const buffer = Buffer.allocUnsafe(ioChunkBytes);
    let bytes = 0;
    for (let n; (n = readSync(fd, buffer, 0, buffer.length, bytes)) > 0; bytes += n) hash.update(buffer.subarray(0, n));
    return { bytes, sha256: hash.digest('hex') };
  } finally {
    closeSync(fd);
  }
}

/** fsync of a file by path (never through a link). */
export function syncFile(path: string): void {
  const fd = openRegular(path);
  if (fd === null) throw new SnapshotError(`${path} vanished before it was synced`);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Makes a directory's entries (renames, unlinks) durable. */
export function syncDir(path: string): void {
  const fd = openSync(path, O_RDONLY | O_DIRECTORY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Removes `path` if it is there and is not a dir; a symbolic link is removed itself, never followed. */
export function removeFile(path: string): boolean {
  try {
    unlinkSync(path);
    return true;
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return false;
    throw error;
  }
}

/** True when `path` is absent or a regular file (a name this code may replace); false for a link, a dir, anything else. */
export function replaceable(path: string): boolean {
  try {
    return lstatSync(path).isFile();
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return true;
    throw error;
  }
}
