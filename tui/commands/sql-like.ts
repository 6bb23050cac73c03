// Telling SQL typed without `sql` in front from a mistyped command. `:slect *
// from kv` is a SELECT with a typo, not the node command `select`, and
// `:delete from kv` is not a misspelt `delay`: the parser should say "that is
// SQL, it goes after sql" instead of suggesting a fault or a node command.

import type { NodeId } from '../../cluster/index.js';

/** The words SQLite statements start with. */
const sqlFirstWords = ['select', 'insert', 'update', 'delete', 'create', 'drop', 'alter', 'with', 'replace', 'pragma', 'explain', 'begin', 'vacuum', 'analyze', 'reindex', 'values'] as const;

/** Words (or characters) that only a statement has after its first word. */
const sqlBody = /[*(),=;'"<>]|\b(from|into|set|where|table|values|index|view|join|order|group|limit|distinct|count|as|and|or|not|null|exists|if)\b/i;

export type SqlReading =
  /** Nothing but SQL reads it this way. */
  | { readonly kind: 'sql'; readonly statement: string }
  /** Both a command and a statement, e.g. `slect 1`: SELECT 1, or `select 1` (the node). */
  | { readonly kind: 'either'; readonly statement: string };

/**
 * Reads `word rest` as a statement when `word` is (nearly) an SQL first word. The statement is
 * what to suggest after `sql`, its first word spelt right; null when it does not read as SQL.
 */
export function readAsSql(word: string, rest: string, ids: readonly NodeId[]): SqlReading | null {
  const keyword = nearestSqlWord(word.toLowerCase());
  if (keyword === null) return null;
  const statement = `${keyword}${rest === '' ? '' : ` ${rest}`}`;
  const args = rest.split(/\s+/).filter((part) => part !== '');
  // `slect 1` is SELECT 1 or the node command `select 1`; `delet n1 n2 50ms` may be a misspelt delay.
  const fitsNodeCommand = args.length === 1 && isNodeToken(args[0]!, ids) && !sqlBody.test(rest);
  const clearlySql = !fitsNodeCommand && (keyword === word.toLowerCase() || sqlBody.test(rest));
  return { kind: clearlySql ? 'sql' : 'either', statement };
}

/** True when the arguments of a node command read as a statement's body instead (`select * from kv`). */
export function looksLikeStatementBody(rest: string): boolean {
  return sqlBody.test(rest);
}

function isNodeToken(token: string, ids: readonly NodeId[]): boolean {
  return ids.includes(/^\d+$/.test(token) ? `n${token}` : token.toLowerCase());
}

/** The SQL first word `word` is, or is one typo from (two for longer words). */
function nearestSqlWord(word: string): string | null {
  if ((sqlFirstWords as readonly string[]).includes(word)) return word;
  const allowed = word.length <= 5 ? 1 : 2;
  let best: { word: string; distance: number } | null = null;
  for (const candidate of sqlFirstWords) {
    const distance = editDistance(word, candidate);
    if (distance <= allowed && (best === null || distance < best.distance)) best = { word: candidate, distance };
  }
  return best?.word ?? null;
}

/** Levenshtein distance: how many letters to add, drop or change to turn `a` into `b`. */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}
