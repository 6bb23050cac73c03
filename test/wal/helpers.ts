// Shared by the WAL tests: a fresh temp dir per test, entries with lsn as the
// core computes it, an fs that counts syncs, and the raw bytes of segments
// (records, and the zeros a preallocated segment holds after them).

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { entryBytes, type Entry, type EntryKind } from '../../cluster/core/index.js';
import type { WalFs } from '../../cluster/wal/index.js';
import { encodeRecord, recordBytes } from '../../cluster/wal/record.js';

/** A new empty directory under the system temp dir; the caller removes it. */
export function makeTempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'replica-lab-wal-'));
}

export interface EntrySpec {
  readonly term: number;
  readonly kind?: EntryKind;
  readonly data?: string;
  readonly client?: string;
  readonly request?: number;
}

/** Entries from `from` on, continuing the log that ends at `lsnBefore`, with lsn as the core computes it. */
export function makeEntries(options: { from?: number; lsnBefore?: number; specs: readonly EntrySpec[] }): Entry[] {
  const from = options.from ?? 1;
  let lsn = options.lsnBefore ?? 0;
  return options.specs.map((spec, i) => {
    const index = from + i;
    const kind = spec.kind ?? 'sql';
    const data = spec.data ?? `{"sql":"INSERT INTO kv VALUES (?, ?)","params":["k${index}","t${spec.term}"]}`;
    lsn += entryBytes(kind, data, spec.client);
    const base = { index, term: spec.term, lsn, kind, data };
    const withClient = spec.client === undefined ? base : { ...base, client: spec.client };
    return spec.request === undefined ? withClient : { ...withClient, request: spec.request };
  });
}

/** `count` sql entries of term `term` (or the given terms) from index 1. */
export function makeLog(terms: readonly number[]): Entry[] {
  return makeEntries({ specs: terms.map((term) => ({ term })) });
}

/** The records of `entries` back to back, bypassing the WAL's own checks; `previousTerm` is the term before the first. */
export function encodeRecords(entries: readonly Entry[], previousTerm = 0): Buffer {
  return Buffer.concat(
    entries.map((entry, i) => {
      const target = Buffer.alloc(recordBytes(entry));
      encodeRecord({ entry, previousTerm: i === 0 ? previousTerm : entries[i - 1]!.term, target, offset: 0 });
      return target;
    }),
  );
}

/** node:fs with every sync counted, and an optional hook run before each async one. */
export function countingFs(hook?: (kind: 'fdatasync' | 'fsync', fd: number) => Error | null | Promise<Error | null>): {
  fs: WalFs;
  counts: { fdatasync: number; fsync: number; fdatasyncSync: number; fsyncSync: number };
} {
  const counts = { fdatasync: 0, fsync: 0, fdatasyncSync: 0, fsyncSync: 0 };
  const wrap = (kind: 'fdatasync' | 'fsync', real: (fd: number, cb: fs.NoParamCallback) => void) =>
    (fd: number, callback: fs.NoParamCallback): void => {
      counts[kind]++;
      void Promise.resolve(hook?.(kind, fd) ?? null).then((error) => (error === null ? real(fd, callback) : callback(error)));
    };
  const wrapped: WalFs = {
    ...fs,
    fdatasync: wrap('fdatasync', fs.fdatasync) as typeof fs.fdatasync,
    fsync: wrap('fsync', fs.fsync) as typeof fs.fsync,
    fdatasyncSync: (fd: number) => {
      counts.fdatasyncSync++;
      fs.fdatasyncSync(fd);
    },
    fsyncSync: (fd: number) => {
      counts.fsyncSync++;
      fs.fsyncSync(fd);
    },
  };
  return { fs: wrapped, counts };
}

/** Segment files of a data dir's log, oldest first. */
export function segmentFiles(dir: string): string[] {
  const walDir = path.join(dir, 'wal');
  return fs
    .readdirSync(walDir)
    .filter((name) => name.endsWith('.seg'))
    .sort()
    .map((name) => path.join(walDir, name));
}

/**
 * Bytes of records in one segment file: its length fields walked from the
 * start up to a zero length (a preallocated file's padding) or the file's end.
 */
export function recordBytesIn(file: string): number {
  const bytes = fs.readFileSync(file);
  let offset = 0;
  while (offset + 4 <= bytes.length && bytes.readUInt32LE(offset) !== 0) offset += bytes.readUInt32LE(offset);
  return Math.min(offset, bytes.length);
}

/** Bytes of records in every segment file, padding left out: the log's lsn when it is intact. */
export function logBytes(dir: string): number {
  return segmentFiles(dir).reduce((sum, file) => sum + recordBytesIn(file), 0);
}

/** Total size of every segment file, padding included. */
export function fileBytes(dir: string): number {
  return segmentFiles(dir).reduce((sum, file) => sum + fs.statSync(file).size, 0);
}

/** Four entries over two terms, multi-byte text and clients included: the log the recovery tests cut and damage. */
export const sampleLog = makeEntries({
  specs: [
    { term: 1, kind: 'noop', data: '' },
    { term: 1, data: 'INSERT ü', client: 'c1', request: 1 },
    { term: 2, data: 'INSERT 🚀', client: 'c2', request: 2 },
    { term: 2, data: 'INSERT last one, a little longer than the others', client: 'c1', request: 3 },
  ],
});
