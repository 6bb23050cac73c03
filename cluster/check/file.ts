// Reading a history file from disk: the only I/O in cluster/check, kept apart
// so the checkers themselves stay pure functions over records. Files are read
// a chunk at a time and handed on a line at a time: a history of any size is
// checked in memory bounded by what the checkers keep, not by the file.

import { readFileSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { historyChunkBytes, historyLineBytesMax } from './constants.js';
import { HistoryChecker, type CheckReport } from './check.js';
import { HistoryLimitError } from './final.js';
import { HistoryFormatError, HistoryParser, parseHistory, type HistoryRecord } from './records.js';

/** A history that cannot be read at all: missing, a directory, not text. */
export class HistoryReadError extends Error {
  override name = 'HistoryReadError';
}

function readError(path: string, error: unknown): HistoryReadError {
  const code = (error as NodeJS.ErrnoException).code;
  const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory, not a history file' : code === 'EACCES' ? 'permission denied' : (error as Error).message;
  return new HistoryReadError(`cannot read ${path}: ${why}`);
}

/** Reads and parses all of `path` into memory; throws HistoryReadError or HistoryFormatError (with the line) on bad input. For small files (tests); `check` and `nemesis` stream with checkHistoryFile. */
export function readHistoryFile(path: string): HistoryRecord[] {
  let content: string;
  try {
    content = readFileSync(path, 'utf8');
  } catch (error) {
    throw readError(path, error);
  }
  if (content.trim() === '') throw new HistoryFormatError(1, 'the file is empty: no history was recorded');
  return parseHistory(content);
}

/**
 * Calls `onLine` with each line of `path` (without its '\n', decoded as UTF-8,
 * 1-based line number), reading `chunkBytes` at a time; returns the number of
 * lines. A line longer than `lineBytesMax` is a HistoryFormatError: a file of
 * random bytes may have no newline at all.
 */
export async function forEachLine(
  path: string,
  onLine: (text: string, line: number) => void,
  options: { readonly chunkBytes?: number; readonly lineBytesMax?: number } = {},
): Promise<number> {
  const chunkBytes = options.chunkBytes ?? historyChunkBytes;
  const lineBytesMax = options.lineBytesMax ?? historyLineBytesMax;
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw readError(path, error);
  }
  let line = 0;
  try {
    const buffer = Buffer.allocUnsafe(chunkBytes);
    /** The start of the current line, from earlier chunks. */
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    for (;;) {
      let read: number;
      try {
        ({ bytesRead: read } = await handle.read(buffer, 0, chunkBytes, null));
      } catch (error) {
        throw readError(path, error);
      }
      if (read === 0) break;
      const chunk = read === chunkBytes ? buffer : buffer.subarray(0, read);
      let start = 0;
      for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
        line++;
        if (pendingBytes + nl - start > lineBytesMax) throw tooLong(line, lineBytesMax);
        if (pendingBytes === 0) onLine(chunk.toString('utf8', start, nl), line);
        else {
          pending.push(chunk.subarray(start, nl));
          onLine(Buffer.concat(pending).toString('utf8'), line);
          pending = [];
          pendingBytes = 0;
        }
        start = nl + 1;
      }
      if (start < read) {
        pendingBytes += read - start;
        if (pendingBytes > lineBytesMax) throw tooLong(line + 1, lineBytesMax);
        // Copied: the buffer is reused for the next chunk.
        pending.push(Buffer.from(chunk.subarray(start, read)));
      }
    }
    if (pendingBytes > 0) {
      line++;
      onLine(Buffer.concat(pending).toString('utf8'), line);
    }
  } finally {
    await handle.close();
  }
  return line;
}

function tooLong(line: number, max: number): HistoryFormatError {
  return new HistoryFormatError(line, `longer than ${Math.round(max / 1024 / 1024)} MiB with no line break: not a history line (is this a history file?)`);
}

/** Parses `path` record by record (strictly, see HistoryParser); returns how many records it held. */
export async function forEachRecord(path: string, onRecord: (record: HistoryRecord) => void): Promise<number> {
  const parser = new HistoryParser();
  await forEachLine(path, (text, line) => {
    const record = parser.line(text, line);
    if (record === null) return;
    try {
      onRecord(record);
    } catch (error) {
      // The checker's limits are the file's fault: name the line.
      if (error instanceof HistoryLimitError) throw new HistoryFormatError(line, error.message);
      throw error;
    }
  });
  parser.end();
  return parser.records();
}

/**
 * checkHistory over a file, streamed: the file is read once per pass the
 * checker asks for (two, sometimes three), never held whole.
 */
export async function checkHistoryFile(path: string, options: { readonly examplesMax?: number } = {}): Promise<{ readonly report: CheckReport; readonly records: number }> {
  // A pipe or a device cannot be read twice (and opening a FIFO blocks until it has a writer): refuse it up front.
  let kind;
  try {
    kind = await stat(path);
  } catch (error) {
    throw readError(path, error);
  }
  if (kind.isDirectory()) throw new HistoryReadError(`cannot read ${path}: is a directory, not a history file`);
  if (!kind.isFile()) throw new HistoryReadError(`cannot read ${path}: not a regular file (check reads a history twice: save it to a file first)`);
  const checker = new HistoryChecker(options);
  let records: number | null = null;
  while (checker.nextPass()) {
    const count = await forEachRecord(path, (record) => checker.visit(record));
    if (records !== null && count !== records) throw new HistoryReadError(`cannot read ${path}: it changed while it was being checked (${records} records, then ${count})`);
    records = count;
  }
  return { report: checker.report(), records: records ?? 0 };
}
