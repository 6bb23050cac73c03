// A node's snapshots on disk, `<node dir>/snapshots/`:
//
//   snapshot-<index, 20 digits>-<term>.db     a complete SQLite copy of state.db at that applied index
//   snapshot-<index, 20 digits>-<term>.json   {"format":"replica-lab snapshot 1","meta":{…},"bytes":n,"sha256":"…"}
//   .partial-<random>.db / .json              being written; never read, removed on open
//
// A snapshot exists once its .json does: the .db is renamed into place (after
// an fsync) before the .json is written (temp, fsync, rename, fsync of the
// dir), so a .json always names a complete file, and its sha256 catches one
// damaged since. The newest `keep` (default 2) are kept.

import { randomBytes } from 'node:crypto';
import { closeSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Invalid } from '../protocol.js';
import { createFile, hashFile, removeFile, replaceable, syncDir, syncFile, ownDir, writeNewFile } from './files.js';
import { isSha256, snapshotMeta } from './validate.js';
import { SnapshotError, type SavedSnapshot, type SnapshotLog, type SnapshotMeta } from './types.js';

export const snapshotsDirName = 'snapshots';
/** Snapshots kept: the newest, and the one before it while the newest is being sent or checked. */
export const keepSnapshotsDefault = 2;
/** The first line of every snapshot .json: how a file is recognised as one replica-lab wrote. */
export const metaFormat = 'replica-lab snapshot 1';

const snapshotName = /^snapshot-(\d{20})-(\d{1,15})\.(db|json)$/;
/** Files a write in progress leaves (and the journal SQLite's backup keeps beside its target): never a snapshot, removed on open. */
const temporaryName = /^\.(partial|receiving)-[0-9a-f]{12}\.(db|json)(-journal)?$/;

export function snapshotsDir(nodeDir: string): string {
  return join(nodeDir, snapshotsDirName);
}

export function snapshotBaseName(meta: { index: number; term: number }): string {
  return `snapshot-${String(meta.index).padStart(20, '0')}-${meta.term}`;
}

/** A fresh temporary name in the snapshots dir (`kind` says who writes it). */
export function temporaryPath(dir: string, kind: 'partial' | 'receiving', ext: 'db' | 'json'): string {
  return join(dir, `.${kind}-${randomBytes(6).toString('hex')}.${ext}`);
}

export interface OpenedSnapshots {
  /** Valid snapshots, newest first. */
  readonly snapshots: readonly SavedSnapshot[];
  /** What was wrong with the files removed, one line each (also sent to the log). */
  readonly removed: readonly string[];
}

/**
 * Reads the snapshots dir (making it 0700): checks each snapshot's .json and
 * the size and sha256 of its .db; removes partial files, and snapshots that
 * are incomplete or damaged, with a log line each saying why. Run
 * `recoverInstall` (install.ts) first: an install in progress names its file.
 */
export function openSnapshots(nodeDir: string, log: SnapshotLog): OpenedSnapshots {
  const dir = snapshotsDir(nodeDir);
  ownDir(dir);
  const removed: string[] = [];
  const drop = (name: string, why: string): void => {
    if (removeFile(join(dir, name))) {
      const line = `snapshot file ${join(dir, name)} removed: ${why}`;
      removed.push(line);
      log(line);
    }
  };
  const names = readdirSync(dir);
  for (const name of names) if (temporaryName.test(name)) drop(name, 'a partial write, left by a crash or a stop');
  const metas = names.filter((name) => snapshotName.exec(name)?.[3] === 'json');
  const snapshots: SavedSnapshot[] = [];
  for (const name of metas) {
    const result = readSnapshot(dir, name);
    if (typeof result === 'string') {
      drop(name, result);
      drop(name.replace(/\.json$/, '.db'), `its .json was bad (${result})`);
    } else {
      snapshots.push(result);
    }
  }
  // A .db without its .json: renamed into place by a write that did not finish.
  const kept = new Set(snapshots.map((s) => s.path));
  for (const name of names) {
    if (snapshotName.exec(name)?.[3] === 'db' && !kept.has(join(dir, name))) drop(name, 'a snapshot file without its .json (a write that did not finish)');
  }
  snapshots.sort((a, b) => b.meta.index - a.meta.index || b.meta.term - a.meta.term);
  return { snapshots, removed };
}

/** A snapshot read back and checked, or why it cannot be used. */
function readSnapshot(dir: string, metaName: string): SavedSnapshot | string {
  let text: string;
  try {
    if (!replaceable(join(dir, metaName))) return 'not a regular file';
    text = readFileSync(join(dir, metaName), 'utf8');
  } catch (error) {
    return `unreadable (${String(error)})`;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'its .json is not JSON';
  }
  const record = value as Record<string, unknown> | null;
  if (typeof record !== 'object' || record === null || record.format !== metaFormat) return `its .json is not a ${metaFormat} file`;
  let meta: SnapshotMeta;
  try {
    meta = snapshotMeta(record.meta, 'meta');
  } catch (error) {
    if (error instanceof Invalid) return `its .json holds a bad meta (${error.reason})`;
    throw error;
  }
  if (!isSha256(record.sha256) || typeof record.bytes !== 'number' || !Number.isSafeInteger(record.bytes) || record.bytes < 0) return 'its .json has no size or sha256';
  if (`${snapshotBaseName(meta)}.json` !== metaName) return `its name does not match its meta (index ${meta.index}, term ${meta.term})`;
  const path = join(dir, metaName.replace(/\.json$/, '.db'));
  let found;
  try {
    found = hashFile(path);
  } catch (error) {
    return `its .db cannot be read (${error instanceof Error ? error.message : String(error)})`;
  }
  if (found === null) return 'its .db is missing';
  if (found.bytes !== record.bytes) return `its .db holds ${found.bytes} bytes, not ${record.bytes}: truncated or damaged`;
  if (found.sha256 !== record.sha256) return `its .db does not match its sha256 (${found.sha256.slice(0, 12)}… instead of ${record.sha256.slice(0, 12)}…): damaged`;
  return { meta, path, bytes: found.bytes, sha256: found.sha256 };
}

/**
 * Makes `temporary` (a complete, fsynced database file in the snapshots dir)
 * the snapshot for `meta`: renames it into place, writes its .json durably,
 * and keeps only the newest `keep`. When a snapshot of that index and term
 * exists already, the temporary file is removed and the existing one returned.
 */
export function commitSnapshotFile(options: { nodeDir: string; temporary: string; meta: SnapshotMeta; bytes: number; sha256: string; fsync: boolean; keep?: number }): SavedSnapshot {
  const { nodeDir, temporary, meta, fsync } = options;
  const dir = snapshotsDir(nodeDir);
  const base = join(dir, snapshotBaseName(meta));
  const existing = readSnapshot(dir, `${snapshotBaseName(meta)}.json`);
  if (typeof existing !== 'string' && existing.sha256 === options.sha256) {
    removeFile(temporary);
    return existing;
  }
  for (const path of [`${base}.db`, `${base}.json`]) {
    if (!replaceable(path)) throw new SnapshotError(`${path} exists and is not a regular file: not replacing it`);
  }
  // A .json that does not match (an older attempt) goes first, so the .db is never named by a stale .json.
  removeFile(`${base}.json`);
  renameSync(temporary, `${base}.db`);
  const metaTemporary = temporaryPath(dir, 'partial', 'json');
  writeNewFile(metaTemporary, `${JSON.stringify({ format: metaFormat, meta, bytes: options.bytes, sha256: options.sha256 })}\n`, fsync);
  renameSync(metaTemporary, `${base}.json`);
  if (fsync) syncDir(dir);
  const saved: SavedSnapshot = { meta, path: `${base}.db`, bytes: options.bytes, sha256: options.sha256 };
  pruneSnapshots(nodeDir, options.keep ?? keepSnapshotsDefault, fsync);
  return saved;
}

/** Removes all but the newest `keep` snapshots (each .json before its .db). */
export function pruneSnapshots(nodeDir: string, keep: number, fsync: boolean): number {
  if (!Number.isSafeInteger(keep) || keep < 1) throw new SnapshotError(`keep ${keep}: at least one snapshot is kept`);
  const dir = snapshotsDir(nodeDir);
  const bases = readdirSync(dir)
    .map((name) => snapshotName.exec(name))
    .filter((match): match is RegExpExecArray => match !== null && match[3] === 'json')
    .map((match) => ({ base: match[0].replace(/\.json$/, ''), index: Number(match[1]), term: Number(match[2]) }))
    .sort((a, b) => b.index - a.index || b.term - a.term);
  const gone = bases.slice(keep);
  for (const { base } of gone) {
    removeFile(join(dir, `${base}.json`));
    removeFile(join(dir, `${base}.db`));
  }
  if (gone.length > 0 && fsync) syncDir(dir);
  return gone.length;
}

export interface TakenSnapshot {
  readonly saved: SavedSnapshot;
  /** From the start of the copy to the snapshot being durable. */
  readonly durationMs: number;
}

/**
 * Takes a snapshot of `<nodeDir>/state.db` as it is at its applied index,
 * while the node keeps applying: a read-only connection of its own opens a
 * read transaction (a WAL snapshot of the database) and SQLite's online
 * backup copies it 100 pages per event-loop turn (measured against
 * serialize(), see cluster/node/README.md), so the copy holds exactly the
 * state at the applied index the transaction sees. `metaFor(index)` gives
 * that index's meta (the core's `snapshotAt(index)`); it must agree on the
 * term. The file is fsynced, hashed and committed under snapshots/.
 */
export async function takeSnapshot(options: { nodeDir: string; metaFor: (index: number) => SnapshotMeta; fsync: boolean; keep?: number }): Promise<TakenSnapshot> {
  const { nodeDir, fsync } = options;
  const started = performance.now();
  const dir = snapshotsDir(nodeDir);
  ownDir(dir);
  const temporary = temporaryPath(dir, 'partial', 'db');
  const source = new Database(join(nodeDir, 'state.db'), { readonly: true, fileMustExist: true });
  let position: { index: number; term: number };
  try {
    source.pragma('cache_size = -256');
    source.exec('BEGIN');
    // The first read starts the read transaction: from here the copy sees this state only.
    position = source.prepare('SELECT applied_index AS "index", applied_term AS term FROM _replica_state').get() as { index: number; term: number };
    if (position.index < 1) throw new SnapshotError('nothing is applied yet: there is no state to snapshot');
    // Created here (0600, O_EXCL, never through a link) so SQLite only writes into a file this code made.
    closeSync(createFile(temporary));
    await source.backup(temporary);
    source.exec('COMMIT');
  } catch (error) {
    removeFile(temporary);
    throw error;
  } finally {
    source.close();
  }
  try {
    removeFile(`${temporary}-journal`);
    if (fsync) syncFile(temporary);
    const found = hashFile(temporary);
    if (found === null) throw new SnapshotError(`${temporary} vanished while the snapshot was taken`);
    const meta = options.metaFor(position.index);
    if (meta.index !== position.index || meta.term !== position.term) {
      throw new SnapshotError(`the snapshot holds index ${position.index} of term ${position.term}, but its meta says ${meta.index} of term ${meta.term}`);
    }
    const saved = commitSnapshotFile({ nodeDir, temporary, meta, bytes: found.bytes, sha256: found.sha256, fsync, keep: options.keep });
    return { saved, durationMs: performance.now() - started };
  } catch (error) {
    removeFile(temporary);
    throw error;
  }
}
