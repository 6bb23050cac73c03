// What cannot be bounded once it runs. better-sqlite3 is built without
// SQLite's progress handler, so a running statement cannot be interrupted: a
// statement that runs without end wedges the node's event loop (and, for a
// write, every node that applies it). These rules refuse, from the text and
// the parameters alone, what could run without end or build a value larger
// than the WAL's largest record. They run on the leader before it proposes a
// write, again at apply (so a leader that skipped them cannot wedge its
// replicas), and before every query.

import { generatedBytesMax, joinRowsMax, joinSourcesMax, statementCacheMax } from './constants.js';
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


/**
 * What one row source can contribute to a join: `sources` row sources joined
 * (a subquery or a CTE counts the sources of its own FROM), `rows` an upper
 * bound on its rows where the text gives one (a VALUES list), else 1 (a table,
 * a view or a table-valued function: its size is not in the text).
 */
interface JoinWeight {
  readonly sources: number;
  readonly rows: number;
}

const compoundWords: ReadonlySet<string> = new Set(['UNION', 'INTERSECT', 'EXCEPT']);
/** How deep the join analysis follows subqueries and CTEs inside a FROM; deeper is refused (the analysis recurses, and no real statement nests so far). */
const nestingMax = 64;

class NestedTooDeep extends Error {}
/** Keywords that end a FROM clause at its own depth. */
const fromEnd: ReadonlySet<string> = new Set(['WHERE', 'GROUP', 'HAVING', 'WINDOW', 'ORDER', 'LIMIT', 'UNION', 'INTERSECT', 'EXCEPT', 'RETURNING']);

/** Splits tokens at depth-0 tokens for which `at` is true (the separators dropped). */
export function splitAt(tokens: readonly Token[], at: (token: Token) => boolean): Token[][] {
  const parts: Token[][] = [[]];
  let depth = 0;
  for (const token of tokens) {
    if (symbol(token, '(')) depth++;
    else if (symbol(token, ')')) depth--;
    if (depth === 0 && at(token)) parts.push([]);
    else parts.at(-1)!.push(token);
  }
  return parts.filter((part) => part.length > 0);
}

/** The rows of a VALUES list (its depth-0 tuples). */
function valuesRows(tokens: readonly Token[]): number {
  return splitAt(tokens.slice(1), (token) => symbol(token, ',')).length;
}

/** The tokens of the depth-0 FROM clause of one SELECT (no compound), or null when it has none. */
function fromClause(select: readonly Token[]): Token[] | null {
  let depth = 0;
  let start = -1;
  for (let i = 0; i < select.length; i++) {
    const token = select[i]!;
    if (symbol(token, '(')) depth++;
    else if (symbol(token, ')')) depth--;
    else if (depth !== 0) continue;
    else if (start < 0 && word(token, 'FROM')) start = i + 1;
    else if (start >= 0 && token.type === 'word' && fromEnd.has(token.value)) return select.slice(start, i);
  }
  return start < 0 ? null : select.slice(start);
}

/** The weight of a SELECT, VALUES or WITH … SELECT: members of a compound add their rows; the most sources of any member. */
function selectWeight(tokens: readonly Token[], ctes: Map<string, JoinWeight>, depth: number): JoinWeight {
  if (depth > nestingMax) throw new NestedTooDeep();
  let body = tokens;
  if (word(body[0], 'WITH')) {
    collectCtes(body, ctes, depth + 1);
    let parens = 0;
    const main = body.findIndex((token) => {
      if (symbol(token, '(')) parens++;
      else if (symbol(token, ')')) parens--;
      return parens === 0 && (word(token, 'SELECT') || word(token, 'VALUES'));
    });
    body = main < 0 ? [] : body.slice(main);
  }
  let sources = 1;
  let rows = 0;
  for (const part of splitAt(body, (token) => token.type === 'word' && compoundWords.has(token.value))) {
    const member = word(part[0], 'ALL') ? part.slice(1) : part;
    if (word(member[0], 'VALUES')) {
      rows += valuesRows(member);
      continue;
    }
    const from = fromClause(member);
    const weight = from === null ? { sources: 1, rows: 1 } : fromWeight(from, ctes, depth + 1);
    sources = Math.max(sources, weight.sources);
    rows += weight.rows;
  }
  return { sources, rows: Math.max(rows, 1) };
}

/** The weight of a FROM clause: its sources add up, their row bounds multiply. */
function fromWeight(from: readonly Token[], ctes: Map<string, JoinWeight>, depth: number): JoinWeight {
  if (depth > nestingMax) throw new NestedTooDeep();
  let sources = 0;
  let rows = 1;
  for (const source of splitAt(from, (token) => symbol(token, ',') || word(token, 'JOIN'))) {
    const first = source[0]!;
    let weight: JoinWeight = { sources: 1, rows: 1 };
    if (symbol(first, '(')) {
      const inner = source.slice(1, matchingParen(source, 0) - 1);
      weight = word(inner[0], 'SELECT') || word(inner[0], 'VALUES') || word(inner[0], 'WITH') ? selectWeight(inner, ctes, depth + 1) : fromWeight(inner, ctes, depth + 1);
    } else if (isName(first) && !symbol(source[1], '.') && !symbol(source[1], '(')) {
      weight = ctes.get(first.value.toLowerCase()) ?? weight;
    }
    sources += weight.sources;
    rows *= weight.rows;
  }
  return { sources: Math.max(sources, 1), rows };
}

/** Records the weight of each CTE a WITH clause at tokens[0] defines, in order (a CTE may name an earlier one). */
function collectCtes(tokens: readonly Token[], ctes: Map<string, JoinWeight>, depth: number): void {
  let at = word(tokens[1], 'RECURSIVE') ? 2 : 1;
  for (;;) {
    const name = tokens[at];
    if (!isName(name)) return;
    let next = at + 1;
    if (symbol(tokens[next], '(')) next = matchingParen(tokens, next);
    if (!word(tokens[next++], 'AS')) return;
    if (word(tokens[next], 'NOT')) next++;
    if (word(tokens[next], 'MATERIALIZED')) next++;
    if (!symbol(tokens[next], '(')) return;
    const end = matchingParen(tokens, next);
    ctes.set(name!.value.toLowerCase(), selectWeight(tokens.slice(next + 1, end - 1), ctes, depth + 1));
    if (!symbol(tokens[end], ',')) return;
    at = end + 1;
  }
}

/** Refuses a join whose row sources, or whose rows the text bounds, are too many to run in bounded time; see README, Bounds. */
function joinProblem(tokens: readonly Token[]): StatementError | null {
  try {
    return joinWeightProblem(tokens);
  } catch (error) {
    if (!(error instanceof NestedTooDeep)) throw error;
    return new StatementError('unbounded', `subqueries, joins or CTEs nested more than ${nestingMax} deep in a FROM clause: the join bound cannot follow them, and ${uninterruptible}; nest less deeply`);
  }
}

/** True when the FROM at tokens[at] is an UPDATE's (UPDATE … SET … FROM): a SET before it at its own depth, with no SELECT in between. */
function updateFrom(tokens: readonly Token[], at: number): boolean {
  let depth = 0;
  for (let i = at - 1; i >= 0; i--) {
    const token = tokens[i]!;
    if (symbol(token, ')')) depth++;
    else if (symbol(token, '(') && --depth < 0) return false;
    else if (depth === 0 && (symbol(token, ';') || word(token, 'SELECT'))) return false;
    else if (depth === 0 && word(token, 'SET')) return true;
  }
  return false;
}

function joinWeightProblem(tokens: readonly Token[]): StatementError | null {
  const ctes = new Map<string, JoinWeight>();
  for (const [at, token] of tokens.entries()) {
    if (word(token, 'WITH')) collectCtes(tokens.slice(at), ctes, 0);
  }
  for (const [at, token] of tokens.entries()) {
    if (!word(token, 'FROM') || word(tokens[at - 1], 'DELETE') || word(tokens[at - 1], 'DISTINCT')) continue;
    // The clause runs to a keyword that ends it at its own depth, or to the `)` that closes its subquery.
    let depth = 0;
    let end = at + 1;
    for (; end < tokens.length; end++) {
      const next = tokens[end]!;
      if (symbol(next, '(')) depth++;
      else if (symbol(next, ')') && --depth < 0) break;
      else if (depth === 0 && (symbol(next, ';') || (next.type === 'word' && fromEnd.has(next.value)))) break;
    }
    const joined = fromWeight(tokens.slice(at + 1, end), ctes, 0);
    // UPDATE … SET … FROM joins the updated table too.
    const weight = updateFrom(tokens, at) ? { sources: joined.sources + 1, rows: joined.rows } : joined;
    if (weight.sources > joinSourcesMax) {
      return new StatementError('unbounded', `a FROM clause that joins ${weight.sources} row sources (tables, views, subqueries and VALUES lists, counting those inside subqueries and CTEs): at most ${joinSourcesMax} are allowed, since the rows a join runs through grow as the product of its sources and ${uninterruptible}; join fewer at a time, or compute the rows in the client`);
    }
    if (weight.rows > joinRowsMax) {
      return new StatementError('unbounded', `a FROM clause whose VALUES lists give up to ${weight.rows} rows joined (their row counts multiply): at most ${joinRowsMax} are allowed, since ${uninterruptible}; send fewer rows, or compute them in the client`);
    }
  }
  return null;
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
  return joinProblem(tokens) ?? checks;
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

/** The bytes a printf format may generate from its widths and precisions (each conversion's larger one), Infinity for `*` (taken from an argument). */
function formatSize(format: string): number {
  let total = 0;
  for (const match of format.matchAll(/%[-+ 0#,!]*(\*|\d*)(?:\.(\*|\d*))?/g)) {
    let largest = 0;
    for (const size of [match[1], match[2]]) {
      if (size === '*') return Infinity;
      if (size !== undefined && size !== '') largest = Math.max(largest, Number(size));
    }
    total += largest;
  }
  return total;
}

/** The problem with one call's argument, or the bytes the call may generate. */
function argumentProblem(check: ArgumentCheck, params: readonly SqlParam[]): StatementError | number {
  const value = literal(check, params);
  if (check.kind === 'size') {
    if (typeof value === 'number' && Number.isFinite(value) && value <= generatedBytesMax) return Math.max(value, 0);
    const size = value === undefined ? 'a size that is not a number literal or a ? parameter' : `a size of ${String(value)}`;
    return new StatementError('unbounded', `${check.name}() with ${size}: its size must be a number up to ${generatedBytesMax} bytes (generatedBytesMax, the WAL's largest record), since ${uninterruptible}`);
  }
  const size = typeof value === 'string' ? formatSize(value) : Infinity;
  if (size <= generatedBytesMax) return size;
  const format = typeof value === 'string' ? 'a width or precision that is * or over the limit' : 'a format that is not a string literal or a ? parameter';
  return new StatementError('unbounded', `${check.name}() with ${format}: widths and precisions must be numbers up to ${generatedBytesMax} (generatedBytesMax, the WAL's largest record), since ${uninterruptible}`);
}

/** Null when nothing in `sql` with `params` can run without end or build an oversized value; else why, as a StatementError('unbounded'). */
export function unboundedProblem(sql: string, params: readonly SqlParam[]): StatementError | null {
  if (typeof sql !== 'string') return null;
  const verdict = textVerdict(sql);
  if (verdict instanceof StatementError) return verdict;
  let total = 0;
  for (const check of verdict) {
    const bytes = argumentProblem(check, params);
    if (bytes instanceof StatementError) return bytes;
    total += bytes;
  }
  // Each call alone may build up to the limit, but not the statement's calls together (five 16 MB printf()s concatenated made an 80 MB value).
  if (total > generatedBytesMax) {
    const names = [...new Set(verdict.map((check) => `${check.name}()`))].join(', ');
    return new StatementError('unbounded', `the ${names} calls of this statement generate up to ${total} bytes together: at most ${generatedBytesMax} (generatedBytesMax, the WAL's largest record) per statement, since ${uninterruptible}; build large values in the client and pass them as ? parameters`);
  }
  return null;
}
