// Parsing flag values, shared by every command: a bad value becomes one
// UsageError line naming the flag, the allowed values and what was given
// (`command` picks the help it points at; undefined for the dashboard's own flags).

import { UsageError } from './errors.js';

export function wholeFlag(flag: string, text: string, min: number, max: number, command: string | undefined): number {
  const value = Number(text);
  if (!/^\s*\d+\s*$/.test(text) || value < min || value > max) throw new UsageError(`${flag} must be a whole number from ${min} to ${max}, got '${text}'`, { command });
  return value;
}

export function decimal(flag: string, text: string, min: number, max: number, command: string | undefined): number {
  const value = Number(text);
  if (!/^\s*\d+(\.\d+)?\s*$/.test(text) || value < min || value > max) throw new UsageError(`${flag} must be a number from ${min} to ${max}, got '${text}'`, { command });
  return value;
}

export function choiceFlag<T extends string>(flag: string, text: string, allowed: readonly T[], command: string | undefined): T {
  if (!(allowed as readonly string[]).includes(text)) throw new UsageError(`${flag} must be one of ${allowed.join(', ')}, got '${text}'`, { command });
  return text as T;
}

/** A comma-separated list of allowed values, without repeats. */
export function choiceList<T extends string>(flag: string, text: string, allowed: readonly T[], command: string | undefined): T[] {
  return [...new Set(text.split(',').map((part) => choiceFlag(flag, part.trim(), allowed, command)))];
}
