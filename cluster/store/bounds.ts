// What cannot be bounded once it runs. better-sqlite3 is built without
// SQLite's progress handler, so a running statement cannot be interrupted: a
// statement that runs without end wedges the node's event loop (and, for a
// write, every node that applies it). These rules refuse, from the text and
// the parameters alone, what could run without end or build a value larger
// than the WAL's largest record. They run on the leader before it proposes a
// write, again at apply (so a leader that skipped them cannot wedge its
// replicas), and before every query.

import { generatedBytesMax, statementCacheMax } from './constants.js';
import { StatementError } from './errors.js';
import { memoizeText } from './memo.js';
import { matchingParen, tokenize, TokenizeError, type Token } from './sql-tokens.js';
import type { SqlParam } from './statement.js';

const uninterruptible = 'a running statement cannot be interrupted (better-sqlite3 has no progress handler), so one that does not end would wedge the node';

export const recursiveCteMessage = `recursive common table expressions are refused: ${uninterruptible}; compute the rows in the client and send them as ? parameters`;

/** Functions whose first argument is a size in bytes they allocate at once. */
const sizedFunctions: ReadonlySet<string> = new Set(['ZEROBLOB', 'RANDOMBLOB']);
/** Functions whose first argument is a printf format: widths and precisions are sizes. */
const formatFunctions: ReadonlySet<string> = new Set(['PRINTF', 'FORMAT']);

const isName = (token: Token | undefined): boolean => token?.type === 'word' || token?.type === 'quoted';
const symbol = (token: Token | undefined, text: string): boolean => token?.type === 'symbol' && token.text === text;
const word = (token: Token | undefined, value: string): boolean => token?.type === 'word' && token.value === value;

/** A check that needs the parameters: the value of one argument (a literal or a ? parameter). */
interface ArgumentCheck {
  readonly name: string;
  readonly kind: 'size' | 'format';
  /** The argument's only token; null when the argument is an expression. */
  readonly token: Token | null;
  /** Which ? parameter it is (0-based), when it is one. */
  readonly param: number;
}

type TextVerdict = StatementError | readonly ArgumentCheck[];

/** The CTE defined at `at` (its name), when its body refers to its own name: a recursive CTE, with or without RECURSIVE. */
function selfReferencingCte(tokens: readonly Token[], at: number): boolean {
  const name = tokens[at];
  const before = tokens[at - 1];
  if (!isName(name) || !(word(before, 'WITH') || word(before, 'RECURSIVE') || symbol(before, ','))) return false;
  let next = at + 1;
  if (symbol(tokens[next], '(')) next = matchingParen(tokens, next);
  if (!word(tokens[next++], 'AS')) return false;
  if (word(tokens[next], 'NOT')) next++;
  if (word(tokens[next], 'MATERIALIZED')) next++;
  if (!symbol(tokens[next], '(')) return false;
  const own = name!.value.toLowerCase();
  // Conservative: a column spelled like the CTE counts too (a false alarm, never a miss).
  return tokens.slice(next + 1, matchingParen(tokens, next) - 1).some((token) => isName(token) && token.value.toLowerCase() === own);
}

function analyze(sql: string): TextVerdict {
  let tokens: Token[];
  try {
    tokens = tokenize(sql);
  } catch (error) {
    if (error instanceof TokenizeError) return []; // the other checks report it
    throw error;
  }
  const checks: ArgumentCheck[] = [];
  const params = tokens.filter((token) => token.type === 'param');
  for (const [at, token] of tokens.entries()) {
    if (word(token, 'RECURSIVE') || selfReferencingCte(tokens, at)) return new StatementError('unbounded', recursiveCteMessage);
    if (!isName(token) || !symbol(tokens[at + 1], '(') || symbol(tokens[at - 1], '.')) continue;
    const name = token.value.toUpperCase();
    const kind = sizedFunctions.has(name) ? 'size' : formatFunctions.has(name) ? 'format' : null;
    if (kind === null) continue;
    const end = matchingParen(tokens, at + 1) - 1;
    let depth = 0;
    let comma = at + 2;
    while (comma < end && !(depth === 0 && symbol(tokens[comma], ','))) {
      if (symbol(tokens[comma], '(')) depth++;
      else if (symbol(tokens[comma], ')')) depth--;
      comma++;
    }
    const argument = tokens.slice(at + 2, comma);
    const only = argument.length === 1 ? argument[0]! : null;
    checks.push({ name: name.toLowerCase(), kind, token: only, param: only === null ? -1 : params.indexOf(only) });
  }
  return checks;
}

const textVerdict = memoizeText(analyze, statementCacheMax);

function literal(check: ArgumentCheck, params: readonly SqlParam[]): SqlParam | undefined {
  const token = check.token;
  if (token === null) return undefined;
  if (token.type === 'param') return token.text === '?' ? params[check.param] : undefined;
  if (token.type === 'number') return Number(token.text);
  if (token.type === 'string') return token.value;
  return undefined;
}

/** The largest width or precision in a printf format, Infinity for `*` (taken from an argument). */
function largestFormatSize(format: string): number {
  let largest = 0;
  for (const match of format.matchAll(/%[-+ 0#,!]*(\*|\d*)(?:\.(\*|\d*))?/g)) {
    for (const size of [match[1], match[2]]) {
      if (size === '*') return Infinity;
      if (size !== undefined && size !== '') largest = Math.max(largest, Number(size));
    }
  }
  return largest;
}

function argumentProblem(check: ArgumentCheck, params: readonly SqlParam[]): StatementError | null {
  const value = literal(check, params);
  if (check.kind === 'size') {
    if (typeof value === 'number' && Number.isFinite(value) && value <= generatedBytesMax) return null;
    const size = value === undefined ? 'a size that is not a number literal or a ? parameter' : `a size of ${String(value)}`;
    return new StatementError('unbounded', `${check.name}() with ${size}: its size must be a number up to ${generatedBytesMax} bytes (generatedBytesMax, the WAL's largest record), since ${uninterruptible}`);
  }
  if (typeof value === 'string' && largestFormatSize(value) <= generatedBytesMax) return null;
  const format = typeof value === 'string' ? 'a width or precision that is * or over the limit' : 'a format that is not a string literal or a ? parameter';
  return new StatementError('unbounded', `${check.name}() with ${format}: widths and precisions must be numbers up to ${generatedBytesMax} (generatedBytesMax, the WAL's largest record), since ${uninterruptible}`);
}

/** Null when nothing in `sql` with `params` can run without end or build an oversized value; else why, as a StatementError('unbounded'). */
export function unboundedProblem(sql: string, params: readonly SqlParam[]): StatementError | null {
  if (typeof sql !== 'string') return null;
  const verdict = textVerdict(sql);
  if (verdict instanceof StatementError) return verdict;
  for (const check of verdict) {
    const problem = argumentProblem(check, params);
    if (problem !== null) return problem;
  }
  return null;
}
