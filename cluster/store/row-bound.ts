// The join bound that needs the state: how many row combinations a
// statement's FROM clauses (and the subqueries that run once per row of them)
// can walk, from the tables' sizes. bounds.ts refuses from the text alone; a
// join of a few sources over a large table passes it and still runs without
// end, and a running statement cannot be interrupted (better-sqlite3 has no
// progress handler). Every replica holds the same state at the same log index,
// so the verdict at apply is the same everywhere, and a refused statement fails
// as its own result ('unbounded'): replaying the log does not wedge.
//
// The text analysis is memoized per SQL text; only a statement whose bound
// multiplies a table by something, or names a view, runs any SQL here. The
// workload's upsert has no table source at all, and a point read names one
// table: neither runs an extra statement.

import Database from 'better-sqlite3';
import { joinCombinationsMax, statementCacheMax } from './constants.js';
import { splitAt } from './bounds.js';
import { StatementError } from './errors.js';
import { memoizeText } from './memo.js';
import { isEnvironmentError } from './sqlite-errors.js';
import { matchingParen, tokenize, TokenizeError, type Token } from './sql-tokens.js';

/** An upper bound on rows (or row combinations walked), as a tree the state fills in. */
export type RowBound =
  | { readonly kind: 'rows'; readonly rows: number; readonly what: string }
  | { readonly kind: 'table'; readonly name: string }
  | { readonly kind: 'product'; readonly parts: readonly RowBound[] }
  | { readonly kind: 'sum'; readonly parts: readonly RowBound[] };

const one: RowBound = { kind: 'rows', rows: 1, what: '1' };
/** How deep the analysis follows subqueries, CTEs and views; deeper is refused (it recurses). */
const nestingMax = 64;
class NestedTooDeep extends Error {}

const symbol = (token: Token | undefined, text: string): boolean => token?.type === 'symbol' && token.text === text;
const word = (token: Token | undefined, value: string): boolean => token?.type === 'word' && token.value === value;
const isName = (token: Token | undefined): boolean => token?.type === 'word' || token?.type === 'quoted';
const startsSelect = (token: Token | undefined): boolean => word(token, 'SELECT') || word(token, 'VALUES') || word(token, 'WITH');

const compoundWords: ReadonlySet<string> = new Set(['UNION', 'INTERSECT', 'EXCEPT']);
const fromEnd: ReadonlySet<string> = new Set(['WHERE', 'GROUP', 'HAVING', 'WINDOW', 'ORDER', 'LIMIT', 'UNION', 'INTERSECT', 'EXCEPT', 'RETURNING']);

function product(parts: RowBound[]): RowBound {
  const kept = parts.filter((part) => !(part.kind === 'rows' && part.rows === 1));
  return kept.length === 0 ? one : kept.length === 1 ? kept[0]! : { kind: 'product', parts: kept };
}

function sum(parts: RowBound[]): RowBound {
  return parts.length === 1 ? parts[0]! : { kind: 'sum', parts };
}

type Ctes = ReadonlyMap<string, RowBound>;

/** The subqueries nested in an expression (`(SELECT …)`, EXISTS, IN): each runs once per row of the enclosing FROM, so their bounds multiply in. */
function expressionBound(tokens: readonly Token[], ctes: Ctes, depth: number): RowBound {
  const parts: RowBound[] = [];
  for (let i = 0; i < tokens.length; i++) {
    if (!symbol(tokens[i], '(') || !startsSelect(tokens[i + 1])) continue;
    const end = matchingParen(tokens, i);
    parts.push(selectBound(tokens.slice(i + 1, end - 1), ctes, depth + 1));
    i = end - 1;
  }
  return product(parts);
}

/** Records each CTE of the WITH clause at tokens[0]; returns the index of the statement after it. */
function withClause(tokens: readonly Token[], ctes: Map<string, RowBound>, depth: number): number {
  let at = word(tokens[1], 'RECURSIVE') ? 2 : 1;
  for (;;) {
    const name = tokens[at];
    if (!isName(name)) return at;
    let next = at + 1;
    if (symbol(tokens[next], '(')) next = matchingParen(tokens, next);
    if (!word(tokens[next++], 'AS')) return at;
    if (word(tokens[next], 'NOT')) next++;
    if (word(tokens[next], 'MATERIALIZED')) next++;
    if (!symbol(tokens[next], '(')) return at;
    const end = matchingParen(tokens, next);
    ctes.set(name!.value.toLowerCase(), selectBound(tokens.slice(next + 1, end - 1), ctes, depth + 1));
    if (!symbol(tokens[end], ',')) return end;
    at = end + 1;
  }
}

/** A SELECT, VALUES or WITH … SELECT: the members of a compound add up. */
function selectBound(tokens: readonly Token[], outer: Ctes, depth: number): RowBound {
  if (depth > nestingMax) throw new NestedTooDeep();
  let body = tokens;
  let ctes = outer;
  if (word(body[0], 'WITH')) {
    const own = new Map(outer);
    body = body.slice(withClause(body, own, depth));
    ctes = own;
  }
  return sum(splitAt(body, (token) => token.type === 'word' && compoundWords.has(token.value)).map((part) => memberBound(word(part[0], 'ALL') ? part.slice(1) : part, ctes, depth)));
}

/** One SELECT (or VALUES) without compounds: its FROM's product, times the subqueries in its expressions. */
function memberBound(member: readonly Token[], ctes: Ctes, depth: number, base: RowBound = one): RowBound {
  if (depth > nestingMax) throw new NestedTooDeep();
  if (word(member[0], 'VALUES')) {
    const rows = splitAt(member.slice(1), (token) => symbol(token, ',')).length;
    return product([base, { kind: 'rows', rows, what: `VALUES(${rows})` }, expressionBound(member, ctes, depth)]);
  }
  let depthHere = 0;
  let start = -1;
  let end = member.length;
  for (let i = 0; i < member.length; i++) {
    const token = member[i]!;
    if (symbol(token, '(')) depthHere++;
    else if (symbol(token, ')')) depthHere--;
    else if (depthHere !== 0) continue;
    else if (start < 0 && word(token, 'FROM')) start = i + 1;
    else if (start >= 0 && token.type === 'word' && fromEnd.has(token.value)) {
      end = i;
      break;
    }
  }
  if (start < 0) return product([base, expressionBound(member, ctes, depth)]);
  const parts: RowBound[] = [base, expressionBound(member.slice(0, start), ctes, depth), expressionBound(member.slice(end), ctes, depth)];
  for (const source of splitAt(member.slice(start, end), (token) => symbol(token, ',') || word(token, 'JOIN'))) {
    parts.push(...sourceBound(source, ctes, depth));
  }
  return product(parts);
}

/** One row source of a FROM clause (and the subqueries of its ON clause). */
function sourceBound(source: readonly Token[], ctes: Ctes, depth: number): RowBound[] {
  const first = source[0]!;
  if (symbol(first, '(')) {
    const close = matchingParen(source, 0);
    const inner = source.slice(1, close - 1);
    const own = startsSelect(inner[0]) ? selectBound(inner, ctes, depth + 1) : memberBound([{ type: 'word', text: 'FROM', value: 'FROM', start: 0 }, ...inner], ctes, depth + 1);
    return [own, expressionBound(source.slice(close), ctes, depth)];
  }
  if (!isName(first)) return [expressionBound(source, ctes, depth)];
  // schema.table: the table's name; name(…): a table-valued function, its rows are not known here (README, Bounds).
  if (symbol(source[1], '(')) return [expressionBound(source.slice(matchingParen(source, 1)), ctes, depth)];
  const qualified = symbol(source[1], '.') && isName(source[2]);
  const name = (qualified ? source[2]! : first).value.toLowerCase();
  const rest = source.slice(qualified ? 3 : 1);
  const own = (!qualified ? ctes.get(name) : undefined) ?? { kind: 'table', name };
  return [own, expressionBound(rest, ctes, depth)];
}

/** The bound of a whole statement; null when it runs no SELECT now (CREATE VIEW, CREATE TRIGGER: checked where they run). */
function statementBound(tokens: readonly Token[]): RowBound | null {
  const ctes = new Map<string, RowBound>();
  let body = tokens;
  if (word(body[0], 'WITH')) body = body.slice(withClause(body, ctes, 0));
  while (symbol(body.at(-1), ';')) body = body.slice(0, -1);
  const head = body[0];
  if (word(head, 'SELECT') || word(head, 'VALUES')) return selectBound(body, ctes, 0);
  if (word(head, 'CREATE')) {
    if (body.some((token, i) => i < 5 && (word(token, 'VIEW') || word(token, 'TRIGGER')))) return null;
    const at = body.findIndex(startsSelect);
    return at < 0 ? null : selectBound(body.slice(at), ctes, 0);
  }
  if (word(head, 'INSERT') || word(head, 'REPLACE')) {
    let depth = 0;
    const at = body.findIndex((token) => {
      if (symbol(token, '(')) depth++;
      else if (symbol(token, ')')) depth--;
      return depth === 0 && startsSelect(token);
    });
    return at < 0 ? one : selectBound(body.slice(at), ctes, 0);
  }
  if (word(head, 'UPDATE') || word(head, 'DELETE')) {
    // UPDATE [OR x] t … / DELETE FROM t …: every row of t, times its FROM (UPDATE … FROM) and the subqueries in its expressions.
    let at = 1;
    if (word(body[at], 'OR')) at += 2;
    if (word(body[at], 'FROM')) at++;
    const qualified = symbol(body[at + 1], '.');
    const nameToken = body[qualified ? at + 2 : at];
    if (!isName(nameToken)) return null;
    const base: RowBound = { kind: 'table', name: nameToken!.value.toLowerCase() };
    return memberBound(body.slice(qualified ? at + 3 : at + 1), ctes, 0, base);
  }
  return null;
}

const nestingMessage = `subqueries, CTEs or views nested more than ${nestingMax} deep: the join bound cannot follow them, and a running statement cannot be interrupted; nest less deeply`;

function analyze(sql: string): RowBound | StatementError | null {
  let tokens: Token[];
  try {
    tokens = tokenize(sql);
  } catch (error) {
    if (error instanceof TokenizeError) return null; // the text rules report it
    throw error;
  }
  try {
    return statementBound(tokens);
  } catch (error) {
    if (error instanceof NestedTooDeep) return new StatementError('unbounded', nestingMessage);
    throw error;
  }
}

/** The statement's row-bound tree, memoized per text. */
export const statementRowBound = memoizeText(analyze, statementCacheMax);

/** A view's SELECT (the text after `AS` at depth 0 of its CREATE VIEW). */
function viewBound(createSql: string): RowBound | StatementError | null {
  let tokens: Token[];
  try {
    tokens = tokenize(createSql);
  } catch {
    return null;
  }
  let depth = 0;
  const at = tokens.findIndex((token) => {
    if (symbol(token, '(')) depth++;
    else if (symbol(token, ')')) depth--;
    return depth === 0 && word(token, 'AS');
  });
  if (at < 0) return null;
  try {
    return selectBound(tokens.slice(at + 1), new Map(), 1);
  } catch (error) {
    if (error instanceof NestedTooDeep) return new StatementError('unbounded', nestingMessage);
    throw error;
  }
}
const memoViewBound = memoizeText(viewBound, statementCacheMax);

/** What the schema says about a name in FROM: null when there is no such table or view (SQLite then fails the statement itself). */
export type SchemaObject = { readonly kind: 'view'; readonly sql: string } | { readonly kind: 'table'; readonly rowid: string | null };

/** The tables and views of the main schema, by lower-case name, and how to count a table's rows cheaply. */
export function readSchemaObjects(db: Database.Database): Map<string, SchemaObject> {
  const objects = new Map<string, SchemaObject>();
  const rows = db.prepare("SELECT name, type, sql FROM sqlite_schema WHERE type IN ('table', 'view')").all() as { name: string; type: string; sql: string | null }[];
  const withoutRowid = new Set((db.prepare("SELECT name FROM pragma_table_list WHERE schema = 'main' AND wr = 1").all() as { name: string }[]).map((row) => row.name));
  for (const row of rows) {
    if (row.type === 'view') {
      objects.set(row.name.toLowerCase(), { kind: 'view', sql: row.sql ?? '' });
      continue;
    }
    let rowid: string | null = null;
    if (!withoutRowid.has(row.name)) {
      // A column may be named rowid (then it hides the rowid): use an alias no column takes.
      const columns = new Set((db.prepare('SELECT lower(name) AS name FROM pragma_table_xinfo(?)').all(row.name) as { name: string }[]).map((column) => column.name));
      rowid = ['rowid', '_rowid_', 'oid'].find((alias) => !columns.has(alias)) ?? null;
    }
    objects.set(row.name.toLowerCase(), { kind: 'table', rowid });
  }
  // The schema table lists every other object, not itself: counted like a table without rowid.
  for (const name of ['sqlite_schema', 'sqlite_master']) objects.set(name, { kind: 'table', rowid: null });
  return objects;
}

const quoteName = (name: string): string => `"${name.replaceAll('"', '""')}"`;

/** A table's row bound: its rowid span, else (WITHOUT ROWID, or a virtual table that refuses it) count(*), else 1 (SQLite then fails the statement itself). */
function tableRows(db: Database.Database, name: string, rowid: string | null): number {
  const queries = [`SELECT count(*) FROM ${quoteName(name)}`];
  if (rowid !== null) queries.unshift(`SELECT coalesce(max(${rowid}) - min(${rowid}) + 1, 0) FROM ${quoteName(name)}`);
  for (const sql of queries) {
    try {
      return Number(db.prepare(sql).pluck().get());
    } catch (error) {
      // The same state gives the same error on every node; only the node's environment (I/O, …) is not a verdict.
      if (isEnvironmentError(error) || !(error instanceof Database.SqliteError)) throw error;
    }
  }
  return 1;
}

/** True when the bound needs no table size: no table or view name, or one table alone (a scan bounded by the table itself). */
function needsState(bound: RowBound, objects: () => ReadonlyMap<string, SchemaObject>): boolean {
  if (bound.kind === 'rows') return false;
  if (bound.kind === 'table') return objects().get(bound.name)?.kind === 'view';
  return bound.parts.some((part) => part.kind !== 'rows');
}

interface Evaluated {
  readonly rows: number;
  readonly what: string;
}

/**
 * The bound's value in this state. A rowid table: max(rowid) - min(rowid) + 1
 * (two index probes, O(log n); rowids are unique integers, so it is at least
 * the row count; 0 when empty). A WITHOUT ROWID table: count(*), O(n), but
 * bounded by the table, and such tables are rare here. A view: its SELECT's
 * bound. A name that is neither: 1 (SQLite fails the statement: no such table).
 */
function evaluate(bound: RowBound, db: Database.Database, objects: ReadonlyMap<string, SchemaObject>, depth: number, seen: Map<RowBound, Evaluated | StatementError> = new Map()): Evaluated | StatementError {
  // A CTE named many times is one shared node: each is valued once, or CTEs whose subqueries name the one before thrice would take 3^n steps.
  let value = seen.get(bound);
  if (value === undefined) {
    value = evaluateOnce(bound, db, objects, depth, seen);
    seen.set(bound, value);
  }
  return value;
}

/** The longest description of a part kept in a message. */
const whatMax = 200;
const shorten = (what: string): string => (what.length > whatMax ? `${what.slice(0, whatMax)}…` : what);

function evaluateOnce(bound: RowBound, db: Database.Database, objects: ReadonlyMap<string, SchemaObject>, depth: number, seen: Map<RowBound, Evaluated | StatementError>): Evaluated | StatementError {
  if (depth > nestingMax) return new StatementError('unbounded', nestingMessage);
  switch (bound.kind) {
    case 'rows':
      return { rows: bound.rows, what: bound.what };
    case 'table': {
      const object = objects.get(bound.name);
      if (object === undefined) return { rows: 1, what: bound.name };
      if (object.kind === 'view') {
        const view = memoViewBound(object.sql);
        if (view === null) return { rows: 1, what: bound.name };
        if (view instanceof StatementError) return view;
        const inner = evaluate(view, db, objects, depth + 1, seen);
        return inner instanceof StatementError ? inner : { rows: inner.rows, what: `view ${bound.name}(${inner.what})` };
      }
      const rows = tableRows(db, bound.name, object.rowid);
      return { rows, what: `${bound.name}(${rows})` };
    }
    case 'product':
    case 'sum': {
      let rows = bound.kind === 'product' ? 1 : 0;
      const whats: string[] = [];
      for (const part of bound.parts) {
        const value = evaluate(part, db, objects, depth + 1, seen);
        if (value instanceof StatementError) return value;
        rows = bound.kind === 'product' ? rows * value.rows : rows + value.rows;
        whats.push(value.what);
      }
      const what = shorten(whats.join(bound.kind === 'product' ? ' × ' : ' + '));
      return { rows, what: bound.kind === 'sum' ? `(${what})` : what };
    }
  }
}

/**
 * Null when the statement's joins can walk at most joinCombinationsMax row
 * combinations in `db`'s state, else why, as a StatementError('unbounded').
 * `objects` gives the schema (the caller caches it until the schema changes).
 */
export function rowBoundProblem(sql: string, db: Database.Database, objects: () => ReadonlyMap<string, SchemaObject>): StatementError | null {
  if (typeof sql !== 'string') return null;
  const bound = statementRowBound(sql);
  if (bound === null || bound instanceof StatementError) return bound;
  if (!needsState(bound, objects)) return null;
  const value = evaluate(bound, db, objects(), 0);
  if (value instanceof StatementError) return value;
  if (value.rows <= joinCombinationsMax) return null;
  const what = value.what;
  return new StatementError(
    'unbounded',
    `this statement's FROM clauses, and the subqueries that run once per row of them, may walk ${Number.isFinite(value.rows) ? `up to ${value.rows.toExponential(2)}` : 'more than 1.8e+308'} row combinations (${what}; a table counts its rowid span): over the budget of ${joinCombinationsMax} (joinCombinationsMax, about a second of SQLite's work), and a running statement cannot be interrupted (better-sqlite3 has no progress handler), so it would wedge every node that runs it. The bound counts each source's whole table (it cannot see a WHERE or an index), so a WHERE alone does not lower it: read the rows you need with separate statements keyed by a WHERE on an indexed key, join fewer or smaller tables, select less at a time, or compute the result in the client`,
  );
}
