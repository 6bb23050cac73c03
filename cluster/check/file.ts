// Reading a history file from disk: the only I/O in cluster/check, kept apart
// so the checkers themselves stay pure functions over records.

import { readFileSync } from 'node:fs';
import { HistoryFormatError, parseHistory, type HistoryRecord } from './records.js';

/** A history that cannot be read at all: missing, a directory, not text. */
export class HistoryReadError extends Error {
  override name = 'HistoryReadError';
}

/** Reads and parses `path`; throws HistoryReadError or HistoryFormatError (with the line) on bad input. */
export function readHistoryFile(path: string): HistoryRecord[] {
  let content: string;
  try {
    content = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory, not a history file' : code === 'EACCES' ? 'permission denied' : (error as Error).message;
    throw new HistoryReadError(`cannot read ${path}: ${why}`);
  }
  if (content.trim() === '') throw new HistoryFormatError(1, 'the file is empty: no history was recorded');
  return parseHistory(content);
}
