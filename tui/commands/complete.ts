// Tab completion and the live hint under the command line: which words fit
// where the cursor is (the cursor is always at the end of the line).

import type { NodeId } from '../../cluster/index.js';
import { commandSpecs, findSpec, type ArgKind, type CommandSpec } from './spec.js';
import { looksLikeStatementBody, readAsSql } from './sql-like.js';

export interface Completion {
  /** The line after completing the word being typed. */
  readonly text: string;
  /** What to show under the line: the candidates, or the usage of the command. */
  readonly hint: string | null;
}

interface Position {
  readonly words: readonly string[];
  /** The word being typed ('' right after a space). */
  readonly current: string;
}

function position(text: string): Position {
  const words = text.trimStart().split(/\s+/);
  const current = /\s$/.test(text) || text.trim() === '' ? '' : (words.pop() ?? '');
  return { words: words.filter((word) => word !== ''), current };
}

/** The words that could stand at the cursor, whether or not they match what is typed so far. */
function candidatesAt(pos: Position, ids: readonly NodeId[]): { spec: CommandSpec | null; words: readonly string[] } {
  if (pos.words.length === 0) return { spec: null, words: commandSpecs.map((spec) => spec.name) };
  const spec = findSpec(pos.words[0]!.toLowerCase());
  if (spec === undefined) return { spec: null, words: [] };
  const arg: ArgKind | undefined = spec.name === 'partition' ? spec.args[0] : spec.args[pos.words.length - 1];
  if (arg === undefined) {
    if ((spec.name === 'delay') && pos.words.length >= 3) return { spec, words: ['jitter'] };
    return { spec, words: [] };
  }
  switch (arg.kind) {
    case 'node':
      return { spec, words: ids };
    case 'groups':
      return { spec, words: [...ids.filter((id) => !pos.words.includes(id)), '|'] };
    case 'choice':
      return { spec, words: [...arg.choices, ...(arg.nodesToo === true ? ids : [])] };
    case 'free':
      return { spec, words: [] };
  }
}

/** Completes the word at the cursor as far as it is unambiguous. */
export function complete(text: string, ids: readonly NodeId[]): Completion {
  const pos = position(text);
  const { spec, words } = candidatesAt(pos, ids);
  const matching = words.filter((word) => word.startsWith(pos.current.toLowerCase()));
  const head = text.slice(0, text.length - pos.current.length);
  if (matching.length === 1) return { text: `${head}${matching[0]} `, hint: spec === null ? usageOf(matching[0]!) : spec.usage };
  if (matching.length > 1) {
    const common = commonPrefix(matching);
    return { text: `${head}${common.length > pos.current.length ? common : pos.current}`, hint: matching.join('  ') };
  }
  return { text, hint: spec?.usage ?? (pos.words.length === 0 && pos.current !== '' ? `no command starts with '${pos.current}'` : null) };
}

/** The hint while typing: the usage once the command is known, else the commands that fit. */
export function hintFor(text: string, ids: readonly NodeId[]): string | null {
  const pos = position(text);
  if (pos.words.length === 0) {
    if (pos.current === '') return 'Tab completes · Enter runs · Esc cancels · ↑ history';
    const matching = commandSpecs.filter((spec) => spec.name.startsWith(pos.current.toLowerCase()));
    if (matching.length === 1) return `${matching[0]!.usage} — ${matching[0]!.summary}`;
    if (matching.length > 1) return matching.map((spec) => spec.name).join('  ');
    return `no command starts with '${pos.current}'${sqlHint(pos.current, '', ids)}`;
  }
  const first = pos.words[0]!;
  const rest = text.trimStart().slice(first.length).trim();
  const spec = findSpec(first.toLowerCase());
  if (spec === undefined) return `unknown command '${first}'${sqlHint(first, rest, ids)}`;
  if (spec.name === 'select' && looksLikeStatementBody(rest)) return `select <node> picks a node; SQL goes after sql: sql ${first} ${rest}`;
  const { words } = candidatesAt(pos, ids);
  const matching = words.filter((word) => word.startsWith(pos.current.toLowerCase()) && word !== pos.current.toLowerCase());
  return matching.length > 0 && matching.length <= 12 ? `${spec.usage} — ${matching.join(' ')}` : `${spec.usage} — ${spec.summary}`;
}

/** "; SQL goes after sql: sql select …" while what is typed reads as a statement. */
function sqlHint(word: string, rest: string, ids: readonly NodeId[]): string {
  const sql = readAsSql(word, rest, ids);
  return sql === null ? '' : `; SQL goes after sql: sql ${sql.statement}${rest === '' ? ' …' : ''}`;
}

function usageOf(name: string): string | null {
  return findSpec(name)?.usage ?? null;
}

function commonPrefix(words: readonly string[]): string {
  let prefix = words[0] ?? '';
  for (const word of words) while (!word.startsWith(prefix)) prefix = prefix.slice(0, -1);
  return prefix;
}
