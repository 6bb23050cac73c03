// The node's term and vote in `<dir>/meta`. Raft's safety rests on them
// surviving a crash (a node must never vote twice in one term), so a save is
// durable before it returns: write a temporary file, fsync it, rename it over
// the old one, fsync the directory. A reader sees the old state or the new,
// never half of one.

import * as path from 'node:path';
import type { HardState } from '../core/types.js';
import { syncDirectory, writeAll } from './files.js';
import { WalError, type WalFs } from './types.js';

const metaName = 'meta';
const metaTemporaryName = 'meta.tmp';

/** The state a node that never voted starts from. */
export const initialHardState: HardState = { term: 0, vote: null };

/** Reads `<dir>/meta`; a missing file is a fresh node, an unreadable one an error to stop for. */
export function readHardState(options: { fs: WalFs; dir: string }): HardState {
  const file = path.join(options.dir, metaName);
  let text: string;
  try {
    text = options.fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return initialHardState;
    throw error;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new WalError('corrupt-meta', `${file} is not JSON; refusing to guess the term and vote`, { cause: error, file });
  }
  if (!isHardState(value)) throw new WalError('corrupt-meta', `${file} does not hold { "term": n, "vote": "id" | null }: ${text.slice(0, 200)}`, { file });
  return { term: value.term, vote: value.vote };
}

/** Replaces `<dir>/meta` atomically; with `fsync` it is on disk when this returns. */
export function writeHardState(options: { fs: WalFs; dir: string; fsync: boolean; hardState: HardState }): void {
  const { fs, dir, hardState } = options;
  if (!isHardState(hardState)) throw new TypeError(`not a hard state: ${JSON.stringify(hardState)}`);
  const temporary = path.join(dir, metaTemporaryName);
  const fd = fs.openSync(temporary, 'w');
  try {
    writeAll(fs, fd, Buffer.from(`${JSON.stringify({ term: hardState.term, vote: hardState.vote })}\n`, 'utf8'), 0);
    if (options.fsync) fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(temporary, path.join(dir, metaName));
  if (options.fsync) syncDirectory(fs, dir);
}

function isHardState(value: unknown): value is HardState {
  if (typeof value !== 'object' || value === null) return false;
  const { term, vote } = value as Record<string, unknown>;
  return Number.isSafeInteger(term) && (term as number) >= 0 && (vote === null || typeof vote === 'string');
}
