// Where the log begins once compaction has deleted its oldest segments:
// `<dir>/wal/base` holds the position just before the first record kept (its
// index, term and lsn). Recovery needs all three: the first record's index
// must follow `index`, its checksum is chained to `term`, and every lsn is the
// running sum of record sizes from `lsn`. Absent, the log begins at index 1.
// Saved like the hard state: a temporary file, fsync, rename, fsync of wal/,
// so a reader sees the old base or the new one, never half of one. It is
// written before any segment below it is deleted, so a crash between the two
// leaves segments recovery deletes, never a log without its base.

import * as path from 'node:path';
import { positionMax, recordHeaderBytes } from './constants.js';
import { syncDirectory, writeAll } from './files.js';
import { WalError, type LogBase, type WalFs } from './types.js';

export const baseName = 'base';
const baseTemporaryName = 'base.tmp';

/** The base of a log that was never compacted: it starts at index 1. */
export const emptyBase: LogBase = { index: 0, term: 0, lsn: 0 };

/** Reads `<walDir>/base`; a missing file is the empty base, an unreadable one an error to stop for. */
export function readBase(fs: WalFs, walDir: string): LogBase {
  const file = path.join(walDir, baseName);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return emptyBase;
    throw error;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new WalError('corrupt-meta', `${file} is not JSON; refusing to guess where the log begins`, { cause: error, file });
  }
  if (!isBase(value)) throw new WalError('corrupt-meta', `${file} does not hold { "index": n, "term": n, "lsn": n }: ${text.slice(0, 200)}`, { file });
  return { index: value.index, term: value.term, lsn: value.lsn };
}

/** Replaces `<walDir>/base` atomically; with `fsync` it is on disk when this returns. */
export function writeBase(options: { fs: WalFs; walDir: string; fsync: boolean; base: LogBase }): void {
  const { fs, walDir, base } = options;
  if (!isBase(base)) throw new TypeError(`not a log base: ${JSON.stringify(base)}`);
  const temporary = path.join(walDir, baseTemporaryName);
  const fd = fs.openSync(temporary, 'w', 0o600);
  try {
    writeAll(fs, fd, Buffer.from(`${JSON.stringify({ index: base.index, term: base.term, lsn: base.lsn })}\n`, 'utf8'), 0);
    if (options.fsync) fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(temporary, path.join(walDir, baseName));
  if (options.fsync) syncDirectory(fs, walDir);
}

function isBase(value: unknown): value is LogBase {
  if (typeof value !== 'object' || value === null) return false;
  const { index, term, lsn } = value as Record<string, unknown>;
  const position = (n: unknown): boolean => Number.isSafeInteger(n) && (n as number) >= 0 && (n as number) <= positionMax;
  if (!position(index) || !position(term) || !Number.isSafeInteger(lsn)) return false;
  // Every record takes at least a header's bytes, so the lsn after `index` records is at least that many headers.
  return index === 0 ? term === 0 && lsn === 0 : (lsn as number) >= (index as number) * recordHeaderBytes;
}
