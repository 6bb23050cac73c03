// Files and dirs the supervisor creates under a data dir (the node processes
// create theirs under a umask of 077, node/main.ts). The data dir may be one
// the user already had, holding their own files, so:
//   - dirs are made 0700 and files 0600: a run's data is its owner's alone;
//   - no file is opened through a symbolic link (O_NOFOLLOW), so a link
//     planted at history.jsonl cannot make replica-lab truncate its target;
//   - an existing file is replaced only when replica-lab wrote it (the caller
//     says how to recognise that from its first line);
//   - a lock file holds the data dir for one cluster at a time.

import { closeSync, constants, fchmodSync, type Stats, fstatSync, ftruncateSync, linkSync, lstatSync, mkdirSync, openSync, readdirSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { BadRequestError } from './errors.js';
import { looksLikeSqlite } from '../node/rebuild.js';

export const privateDirMode = 0o700;
export const privateFileMode = 0o600;
/** The lock file in a data dir: the pid of the process whose cluster uses it. */
export const lockFileName = 'replica-lab.lock';
/** How much of an existing file is read to recognise it. */
const headBytesMax = 4096;

const { O_APPEND, O_CREAT, O_DIRECTORY, O_EXCL, O_NOFOLLOW, O_NONBLOCK, O_RDONLY, O_RDWR, O_WRONLY } = constants;

function code(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | null)?.code;
}

function symlinkRefused(path: string): BadRequestError {
  return new BadRequestError(`${path} is a symbolic link: replica-lab does not write through one; remove it or choose another data dir`);
}

/**
 * Makes `path` (and missing parents) with mode 0700; returns whether `path`
 * itself was created. An existing dir keeps its mode: it may be the user's.
 */
export function makePrivateDir(path: string): boolean {
  const created = mkdirSync(path, { recursive: true, mode: privateDirMode });
  return created !== undefined;
}

/**
 * A dir replica-lab owns (a node's dir): made 0700, or set to 0700 when it
 * exists. Refuses a symbolic link or something that is not a dir.
 */
export function makeOwnDir(path: string): void {
  try {
    makePrivateDir(path);
  } catch (error) {
    // EEXIST: something that is not a dir has the name; ENOTDIR: a parent is not a dir.
    if (code(error) !== 'EEXIST' && code(error) !== 'ENOTDIR') throw error;
  }
  let stats;
  try {
    stats = lstatSync(path);
  } catch (error) {
    if (code(error) !== 'ENOTDIR') throw error;
    throw new BadRequestError(`${path} cannot be made: a part of that path is a file, not a directory; replica-lab changed nothing: move it away or choose another data dir`);
  }
  if (stats.isSymbolicLink()) throw symlinkRefused(path);
  if (!stats.isDirectory()) throw new BadRequestError(`${path} is in the way: it is ${kindOf(stats)}, not a directory; replica-lab changed nothing (it never removes what it did not write): move it away or choose another data dir`);
  if ((stats.mode & 0o777) === privateDirMode) return;
  // Through a descriptor opened without following links: lstat just said it is a dir.
  const fd = openSync(path, O_RDONLY | O_NOFOLLOW | O_DIRECTORY);
  try {
    fchmodSync(fd, privateDirMode);
  } finally {
    closeSync(fd);
  }
}

/** What a node keeps in its dir (node/host.ts, wal/, store/): the names it opens by path. */
const nodeFileNames = ['node.log', 'meta', 'meta.tmp', 'boot-id', 'state.db', 'state.db-wal', 'state.db-shm', 'state.db-journal', 'rebuild.json', 'rebuild.json.tmp'];
const nodeDirNames = ['wal', 'rollback', 'snapshots'];

/**
 * A node opens its files by path (SQLite, the WAL, rollback files): in a data
 * dir that existed before, refuse to start it when any of them is a symbolic
 * link, which it would follow (recovery may truncate a WAL segment; SQLite
 * writes state.db). Called before the node starts.
 */
export function refuseLinksInNodeDir(dir: string): void {
  const check = (path: string): void => {
    let stats;
    try {
      stats = lstatSync(path);
    } catch (error) {
      if (code(error) === 'ENOENT') return;
      throw error;
    }
    if (stats.isSymbolicLink()) throw symlinkRefused(path);
  };
  for (const name of nodeFileNames) check(join(dir, name));
  for (const name of nodeDirNames) {
    const sub = join(dir, name);
    check(sub);
    let entries: string[];
    try {
      entries = readdirSync(sub);
    } catch (error) {
      if (code(error) === 'ENOENT' || code(error) === 'ENOTDIR') continue;
      throw error;
    }
    for (const entry of entries) check(join(sub, entry));
  }
}

/** A file's kind in words, for messages. */
function kindOf(stats: Stats): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFile()) return 'a regular file';
  if (stats.isSymbolicLink()) return 'a symbolic link';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isSocket()) return 'a socket';
  return 'a device';
}

/**
 * A node's dir, ready for its process: made (0700) if missing, and refused
 * with a BadRequestError naming the path when something is in the way that
 * the node would fail on or write over: the node dir, or a dir it keeps
 * (`wal`, `rollback`, `snapshots`), not being a directory; a file it keeps
 * (`meta`, `state.db`, …) not being a regular file; a `state.db` that is not an
 * SQLite database; a symbolic link (refuseLinksInNodeDir). Nothing is changed
 * or removed: the message says what to move away, and that a rebuild keeps
 * such things aside (cluster/node/rebuild.ts) rather than deleting them.
 */
export function prepareNodeDir(dir: string, id: string, when: 'start' | 'restart'): void {
  makeOwnDir(dir);
  refuseLinksInNodeDir(dir);
  const what =
    when === 'start'
      ? 'move it away, then start again (or choose another data dir)'
      : `move it away, then restart ${id}; or rebuild ${id} (restart with { rebuild: true }, or :rebuild ${id}), which keeps it aside and copies the node again from the others`;
  const refuse = (path: string, problem: string): never => {
    throw new BadRequestError(`${path} is in the way: ${problem}; replica-lab changed nothing (it never removes what it did not write): ${what}`);
  };
  for (const name of nodeFileNames) {
    const path = join(dir, name);
    const stats = statOrNull(path);
    if (stats === null) continue;
    if (!stats.isFile()) refuse(path, `it is ${kindOf(stats)}, where ${id} keeps a file`);
    if (name === 'state.db' && !looksLikeSqlite(path)) refuse(path, `it is not an SQLite database (it does not start with SQLite's header), where ${id} keeps its state`);
  }
  for (const name of nodeDirNames) {
    const path = join(dir, name);
    const stats = statOrNull(path);
    if (stats !== null && !stats.isDirectory()) refuse(path, `it is ${kindOf(stats)}, where ${id} keeps a directory`);
  }
}

function statOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch (error) {
    if (code(error) === 'ENOENT') return null;
    throw error;
  }
}

/** Opens `path` to append (creating it 0600); never through a symbolic link. */
export function openForAppend(path: string): number {
  try {
    return openSync(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW, privateFileMode);
  } catch (error) {
    if (code(error) === 'ELOOP') throw symlinkRefused(path);
    throw error;
  }
}

/** Appends `text` to `path` (created 0600), never through a symbolic link. */
export function appendToFile(path: string, text: string): void {
  const fd = openForAppend(path);
  try {
    const bytes = Buffer.from(text, 'utf8');
    for (let offset = 0; offset < bytes.length; ) offset += writeSync(fd, bytes, offset, bytes.length - offset);
  } finally {
    closeSync(fd);
  }
}

/** The first line of the file open as `fd` (at most headBytesMax bytes of it). */
function firstLine(fd: number): string {
  const buffer = Buffer.alloc(headBytesMax);
  const n = readSync(fd, buffer, 0, buffer.length, 0);
  const text = buffer.subarray(0, n).toString('utf8');
  const end = text.indexOf('\n');
  return end === -1 ? text : text.slice(0, end);
}

/**
 * Opens `path` to be written from empty, mode 0600: created when absent;
 * when present, truncated only if it is a regular file that is empty or whose
 * first line `ours` recognises as replica-lab's. Anything else is refused with
 * a BadRequestError naming the path: a symbolic link (never followed), a
 * non-file, or a file replica-lab did not write (`what` says what it expected).
 * Returns the open descriptor; the caller closes it.
 */
export function openForReplace(path: string, what: string, ours: (firstLine: string) => boolean): number {
  try {
    return openSync(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, privateFileMode);
  } catch (error) {
    if (code(error) !== 'EEXIST') throw error;
  }
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO planted here must not hang the open; it is refused below.
    fd = openSync(path, O_RDWR | O_NOFOLLOW | O_NONBLOCK);
  } catch (error) {
    if (code(error) === 'ELOOP') throw symlinkRefused(path);
    throw error;
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw new BadRequestError(`${path} exists and is not a regular file: replica-lab will not write ${what} there; choose another path`);
    if (stats.size > 0 && !ours(firstLine(fd))) {
      throw new BadRequestError(`${path} exists and replica-lab did not write it (it does not start like ${what}): not overwriting it; move it away or choose another path`);
    }
    ftruncateSync(fd, 0);
    fchmodSync(fd, privateFileMode);
    return fd;
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

/**
 * A free name for a new file: `dir/base.ext`, or `dir/base-2.ext`, `-3`, …
 * when that exists and `ours` does not recognise it. Opened (0600, never
 * through a symbolic link) and returned with its descriptor.
 */
export function openFreshName(dir: string, base: string, ext: string, what: string, ours: (firstLine: string) => boolean): { path: string; fd: number } {
  for (let n = 1; ; n++) {
    const path = join(dir, n === 1 ? `${base}${ext}` : `${base}-${n}${ext}`);
    try {
      return { path, fd: openForReplace(path, what, ours) };
    } catch (error) {
      if (!(error instanceof BadRequestError) || n >= 100) throw error;
    }
  }
}

// ---------------------------------------------------------------------------
// The data dir's lock

export interface DataDirLock {
  readonly path: string;
  /** The pid of a dead process whose lock this one replaced; null when the dir was free. */
  readonly takenOverFrom: number | null;
  /** Removes the lock file, if it is still this one. Safe to call twice. */
  release(): void;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, but belongs to another user.
    return code(error) === 'EPERM';
  }
}

/** The pid in a lock file and the file's inode; null when there is none. */
function readLock(path: string): { pid: number; ino: number } | null {
  let fd: number;
  try {
    fd = openSync(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch (error) {
    if (code(error) === 'ENOENT') return null;
    if (code(error) === 'ELOOP') throw symlinkRefused(path);
    throw error;
  }
  try {
    const stats = fstatSync(fd);
    const text = stats.isFile() ? firstLine(fd) : '';
    const pid = /^[1-9][0-9]{0,9}$/.test(text.trim()) ? Number(text.trim()) : null;
    if (pid === null) throw new BadRequestError(`${path} is not a replica-lab lock file (it should hold a pid): remove it if no replica-lab uses this data dir`);
    return { pid, ino: stats.ino };
  } finally {
    closeSync(fd);
  }
}

/**
 * Takes the lock on `dir` for this process: `<dir>/replica-lab.lock`, holding
 * the pid, appears at once with its content (written to a private temporary
 * file, then hard-linked into place, which fails if the name exists, like
 * O_EXCL). A lock whose process is alive refuses with `data dir … is in use by
 * pid …`; one whose process is dead is stale and replaced (`takenOverFrom`).
 */
export function lockDataDir(dir: string): DataDirLock {
  const path = join(dir, lockFileName);
  const temporary = join(dir, `.${lockFileName}.${process.pid}.${randomBytes(6).toString('hex')}`);
  const fd = openSync(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, privateFileMode);
  try {
    writeSync(fd, `${process.pid}\n`);
  } finally {
    closeSync(fd);
  }
  try {
    let takenOverFrom: number | null = null;
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        linkSync(temporary, path);
        const { ino } = lstatSync(path);
        let released = false;
        return {
          path,
          takenOverFrom,
          release: () => {
            if (released) return;
            released = true;
            try {
              if (lstatSync(path).ino === ino) unlinkSync(path);
            } catch {
              // Already gone (the dir was removed).
            }
          },
        };
      } catch (error) {
        if (code(error) !== 'EEXIST') throw error;
      }
      const holder = readLock(path);
      if (holder === null) continue;
      if (isAlive(holder.pid)) throw new BadRequestError(`data dir ${dir} is in use by pid ${holder.pid} (lock file ${path})`);
      // Stale: its process is gone. Remove it only if it is still the file just read
      // (another process may have taken it over meanwhile), then try again.
      try {
        if (lstatSync(path).ino === holder.ino) unlinkSync(path);
      } catch (error) {
        if (code(error) !== 'ENOENT') throw error;
      }
      takenOverFrom = holder.pid;
    }
    throw new BadRequestError(`data dir ${dir}: could not take its lock file ${path} (other processes keep changing it)`);
  } finally {
    try {
      unlinkSync(temporary);
    } catch {
      // Nothing to remove.
    }
  }
}
