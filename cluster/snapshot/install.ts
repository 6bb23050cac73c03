// Installing a snapshot received from the leader as the node's state.db, so
// that a crash at any point leaves the old state or the new one, never a mix.
//
// The old state is state.db plus, in WAL mode, state.db-wal (commits not yet
// checkpointed) and state.db-shm. A new state.db next to an old -wal would
// have the old commits replayed onto it, so they must go, but only once the
// new state is sure to land. The commit point is an intent file,
// snapshots/install.json, written durably once the received file is verified:
//
//   verify   the received file's size and sha256                     (crash: old state; the file is a leftover)
//   intent   install.json {file, meta, bytes, sha256}: commit point   (from here a restart finishes the install)
//   keep     a copy becomes the node's newest snapshot (snapshots/)
//   clear    unlink state.db-wal, -shm, -journal
//   swap     rename the received file over state.db, fsync the dir
//   finish   unlink install.json, fsync
//
// `recoverInstall` runs on start, before the store opens: with no intent it
// does nothing (openSnapshots removes the leftover file); with one it redoes
// keep, clear, swap and finish, each idempotent. It knows where it stopped
// from the received file (still there: swap not done) or state.db's sha256
// (equal to the intent's: swap done; nothing opened state.db since).
// The applied index lives inside state.db (_replica_state), so it moves with
// the state; the Raft log is aligned afterwards by `alignLog`.

import { copyFileSync, constants, existsSync, readFileSync, renameSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Invalid } from '../protocol.js';
import type { Wal } from '../wal/index.js';
import { errorCode, hashFile, removeFile, syncDir, syncFile, writeNewFile } from './files.js';
import { commitSnapshotFile, keepSnapshotsDefault, snapshotsDir, temporaryPath } from './store.js';
import { SnapshotError, type SavedSnapshot, type SnapshotLog, type SnapshotMeta } from './types.js';
import { isSha256, snapshotMeta } from './validate.js';

export const installSteps = ['verify', 'intent', 'keep', 'clear', 'swap', 'finish'] as const;
export type InstallStep = (typeof installSteps)[number];

const intentName = 'install.json';
const intentFormat = 'replica-lab snapshot install 1';
/** The files SQLite keeps beside state.db; none may outlive the state they belong to. */
const sqliteSideFiles = ['state.db-wal', 'state.db-shm', 'state.db-journal'];
const receivedName = /^\.receiving-[0-9a-f]{12}\.db$/;

interface Intent {
  readonly file: string;
  readonly meta: SnapshotMeta;
  readonly bytes: number;
  readonly sha256: string;
}

export interface InstallOptions {
  readonly nodeDir: string;
  /** The received file, in the snapshots dir (SnapshotReceiver puts it there), complete. */
  readonly file: string;
  readonly meta: SnapshotMeta;
  readonly bytes: number;
  readonly sha256: string;
  readonly fsync: boolean;
  readonly keep?: number;
  /** Called before each step; tests throw from it to stop the install there, as a crash would. */
  readonly step?: (step: InstallStep) => void;
}

export interface Installed {
  readonly saved: SavedSnapshot;
  readonly bytes: number;
  readonly durationMs: number;
}

/**
 * Makes the received snapshot the node's state.db. The store must be closed
 * (no connection may hold the old state.db); reopen it afterwards and align
 * the log with `alignLog`. Throws SnapshotError, leaving the old state, when
 * the file does not match its size and sha256.
 */
export function installSnapshot(options: InstallOptions): Installed {
  const started = performance.now();
  const { nodeDir, file, meta, fsync } = options;
  const dir = snapshotsDir(nodeDir);
  const step = options.step ?? (() => {});
  if (!receivedName.test(basename(file)) || join(dir, basename(file)) !== file) throw new SnapshotError(`${file} is not a received snapshot file in ${dir}`);
  step('verify');
  const found = hashFile(file);
  if (found === null || found.bytes !== options.bytes || found.sha256 !== options.sha256) {
    removeFile(file);
    throw new SnapshotError(`the received snapshot at index ${meta.index} does not match its checksum (${found === null ? 'missing' : `${found.bytes} bytes, sha256 ${found.sha256.slice(0, 12)}…`}; expected ${options.bytes} bytes, ${options.sha256.slice(0, 12)}…): not installed, the old state stays`);
  }
  if (fsync) syncFile(file);
  step('intent');
  const intent: Intent = { file: basename(file), meta, bytes: options.bytes, sha256: options.sha256 };
  const temporary = temporaryPath(dir, 'partial', 'json');
  writeNewFile(temporary, `${JSON.stringify({ format: intentFormat, ...intent })}\n`, fsync);
  renameSync(temporary, join(dir, intentName));
  if (fsync) syncDir(dir);
  const saved = finishInstall(nodeDir, intent, { fsync, keep: options.keep ?? keepSnapshotsDefault, step });
  return { saved, bytes: options.bytes, durationMs: performance.now() - started };
}

/** keep, clear, swap, finish: each safe to run again after a crash. */
function finishInstall(nodeDir: string, intent: Intent, options: { fsync: boolean; keep: number; step: (step: InstallStep) => void }): SavedSnapshot {
  const { fsync, step } = options;
  const dir = snapshotsDir(nodeDir);
  const received = join(dir, intent.file);
  // Still there: the swap has not happened (recoverInstall checked its sha256 before calling this).
  const swapped = !existsSync(received);
  step('keep');
  const source = swapped ? join(nodeDir, 'state.db') : received;
  const copy = temporaryPath(dir, 'partial', 'db');
  copyFileSync(source, copy, constants.COPYFILE_EXCL);
  if (fsync) syncFile(copy);
  const saved = commitSnapshotFile({ nodeDir, temporary: copy, meta: intent.meta, bytes: intent.bytes, sha256: intent.sha256, fsync, keep: options.keep });
  step('clear');
  for (const name of sqliteSideFiles) removeFile(join(nodeDir, name));
  step('swap');
  if (!swapped) renameSync(received, join(nodeDir, 'state.db'));
  if (fsync) syncDir(nodeDir);
  step('finish');
  removeFile(join(dir, intentName));
  if (fsync) syncDir(dir);
  return saved;
}

/**
 * Puts one of the node's own snapshots back as its state.db, through the same
 * crash-safe install: for a store that must go back to a snapshot and replay
 * the log after it (its state.db is behind a WAL compacted past it, or
 * entries above the snapshot are rolled back), now that the log no longer
 * starts at index 1. The store must be closed.
 */
export function restoreSnapshot(options: { nodeDir: string; snapshot: SavedSnapshot; fsync: boolean; keep?: number; step?: (step: InstallStep) => void }): Installed {
  const { nodeDir, snapshot, fsync } = options;
  const file = temporaryPath(snapshotsDir(nodeDir), 'receiving', 'db');
  copyFileSync(snapshot.path, file, constants.COPYFILE_EXCL);
  return installSnapshot({ nodeDir, file, meta: snapshot.meta, bytes: snapshot.bytes, sha256: snapshot.sha256, fsync, keep: options.keep, step: options.step });
}

export type Recovered = { readonly action: 'none' } | { readonly action: 'completed'; readonly meta: SnapshotMeta };

/**
 * Finishes an install a crash interrupted after its commit point; run on start
 * before the store opens. Throws SnapshotError when neither the received file
 * nor state.db holds the snapshot the intent names (the disk lost it): the
 * node must not start on a state it cannot vouch for.
 */
export function recoverInstall(nodeDir: string, log: SnapshotLog, options: { fsync: boolean; keep?: number }): Recovered {
  const dir = snapshotsDir(nodeDir);
  const path = join(dir, intentName);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return { action: 'none' };
    throw error;
  }
  const intent = parseIntent(text, path);
  const received = hashFile(join(dir, intent.file));
  const matches = (found: { bytes: number; sha256: string } | null): boolean => found !== null && found.bytes === intent.bytes && found.sha256 === intent.sha256;
  if (received === null ? !matches(hashFile(join(nodeDir, 'state.db'))) : !matches(received)) {
    throw new SnapshotError(
      `${path}: an install of the snapshot at index ${intent.meta.index} was interrupted, and neither ${intent.file} nor state.db holds it any more (the disk lost it); the node's state cannot be trusted: move ${nodeDir} away so the node is rebuilt`,
    );
  }
  finishInstall(nodeDir, intent, { fsync: options.fsync, keep: options.keep ?? keepSnapshotsDefault, step: () => {} });
  log(`finished installing the snapshot at index ${intent.meta.index} (term ${intent.meta.term}) that a crash interrupted`);
  return { action: 'completed', meta: intent.meta };
}

function parseIntent(text: string, path: string): Intent {
  try {
    const value = JSON.parse(text) as Record<string, unknown>;
    if (typeof value !== 'object' || value === null || value.format !== intentFormat) throw new Invalid(`not a ${intentFormat} file`);
    if (typeof value.file !== 'string' || !receivedName.test(value.file)) throw new Invalid('no received file name');
    if (!isSha256(value.sha256) || typeof value.bytes !== 'number' || !Number.isSafeInteger(value.bytes) || value.bytes < 0) throw new Invalid('no size or sha256');
    return { file: value.file, meta: snapshotMeta(value.meta, 'meta'), bytes: value.bytes, sha256: value.sha256 };
  } catch (error) {
    const reason = error instanceof Invalid ? error.reason : 'not JSON';
    throw new SnapshotError(`${path} is damaged (${reason}): an install was in progress and its state cannot be told; move the node's dir away so the node is rebuilt`);
  }
}

/**
 * Makes the Raft log agree with a snapshot now in state.db: when the log holds
 * meta.index with meta.term, it is kept (and compacted under `retain`);
 * otherwise it is discarded and begins after the snapshot (Raft §7). Also
 * right on start after a crash between the install and this call.
 */
export function alignLog(wal: Wal, meta: SnapshotMeta, retain: { retainEntries: number; retainBytes: number }): 'kept' | 'restarted' {
  if (meta.index < wal.firstIndex() - 1) return 'kept';
  if (wal.termAt(meta.index) === meta.term) {
    wal.compact({ snapshotIndex: meta.index, ...retain });
    return 'kept';
  }
  wal.restartAfter({ index: meta.index, term: meta.term, lsn: meta.lsn });
  return 'restarted';
}
