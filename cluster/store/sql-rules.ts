// The lexical rules a replicated statement must follow. They run on the leader
// before it proposes a write and again on every replica when it applies one,
// so a rule broken in the log fails the same way everywhere. They look at
// tokens only, never at the schema, so they give the same answer on every node.

import { statementBytesMax, statementCacheMax } from './constants.js';
import { memoizeText } from './memo.js';
import { StatementError } from './errors.js';
import { isIdentifier, matchingParen, tokenize, TokenizeError, type Token } from './sql-tokens.js';
import type { SqlParam } from './statement.js';

const replicated =
  'statements are replicated: every node runs the statement itself, so it must give the same result on every node (rqlite, which replicates statements too, meets this by rewriting random() into a value before logging it)';

const nonDeterministicFunctions: ReadonlyMap<string, string> = new Map([
  ['RANDOM', 'random() returns a different number on every node; generate the value in the client and pass it as a ? parameter'],
  ['RANDOMBLOB', 'randomblob() returns different bytes on every node; generate them in the client and pass them as a ? parameter'],
  ['LAST_INSERT_ROWID', "last_insert_rowid() reports on this node's own connection, which a restart or a rebuild resets; use RETURNING or a subquery"],
  ['CHANGES', "changes() reports on this node's own connection, which a restart or a rebuild resets"],
  ['TOTAL_CHANGES', "total_changes() counts what this node's connection did since it opened, which differs between nodes"],
  ['SQLITE_OFFSET', "sqlite_offset() is where a row happens to sit in this node's database file, which differs between nodes"],
  ...['SQLITE_VERSION', 'SQLITE_SOURCE_ID', 'SQLITE_COMPILEOPTION_GET', 'SQLITE_COMPILEOPTION_USED'].map(
    (name): [string, string] => [name, `${name.toLowerCase()}() describes the SQLite library this node runs: the same on every node today, but a node upgraded later, or one replaying the log after an upgrade, would store a different value`],
  ),
  ['LOAD_EXTENSION', "load_extension() loads a file from this node's disk into its connection"],
]);

/**
 * Tables and table-valued functions whose rows describe one node's file or
 * connection, not the replicated data: refused anywhere in a write, by name
 * (`pragma_*` by prefix), as a table, a call or a virtual table module.
 */
const fileTables: ReadonlyMap<string, string> = new Map([
  ['DBSTAT', "dbstat lists this node's database pages, whose layout differs between nodes"],
  ['SQLITE_DBPAGE', "sqlite_dbpage reads this node's raw database pages, whose layout differs between nodes"],
  ['SQLITE_SCHEMA', "sqlite_schema holds each table's rootpage, where it happens to start in this node's file, which differs between nodes; write the names you need as literals"],
  ['SQLITE_MASTER', "sqlite_master holds each table's rootpage, where it happens to start in this node's file, which differs between nodes; write the names you need as literals"],
  ['SQLITE_STMT', "sqlite_stmt lists the statements this node's connection has prepared"],
  ['SQLITE_TEMP_SCHEMA', "sqlite_temp_schema lists the temporary objects of this node's own connection"],
  ['SQLITE_TEMP_MASTER', "sqlite_temp_master lists the temporary objects of this node's own connection"],
]);
const statTable = /^SQLITE_STAT[0-9]+$/;
const pragmaTable = /^PRAGMA_/;

/** Why naming `name` (upper-cased) in a write reads one node's file or connection, or null. */
function fileTableProblem(name: string): string | null {
  const known = fileTables.get(name);
  if (known !== undefined) return known;
  if (pragmaTable.test(name)) return `${name.toLowerCase()} is a table-valued pragma: it reports on this node's own file or connection (its path, pages, settings), which differs between nodes`;
  if (statTable.test(name)) return `${name.toLowerCase()} holds ANALYZE's statistics, which steer SQLite's query plans and are rebuilt per node; write to your own tables instead`;
  return null;
}

/**
 * CREATE and ALTER statements whose expressions SQLite may evaluate outside
 * apply: a generated column when a row is read (by query() or the checksum),
 * a view when it is queried, an index expression or CHECK when it is rebuilt
 * or checked. A trigger body runs only inside a write, and writes run only
 * during apply, so log_index() stays allowed there.
 */
function logIndexOutsideApplyProblem(tokens: readonly Token[], at: number): string | null {
  const verb = tokens[0]?.type === 'word' ? tokens[0].value : '';
  if (verb === 'ALTER') return 'log_index() in ALTER TABLE';
  if (verb !== 'CREATE') return null;
  if (tokens.slice(0, at).some((t) => word(t, 'TRIGGER'))) return null;
  return 'log_index() in CREATE TABLE, CREATE INDEX or CREATE VIEW';
}

/** Date and time functions: with 'now' (or no time value) they read the node's clock. */
const clockFunctions: ReadonlySet<string> = new Set(['DATE', 'TIME', 'DATETIME', 'JULIANDAY', 'UNIXEPOCH', 'STRFTIME', 'TIMEDIFF']);
const clockKeywords: ReadonlySet<string> = new Set(['CURRENT_DATE', 'CURRENT_TIME', 'CURRENT_TIMESTAMP']);
const transactionVerbs: ReadonlySet<string> = new Set(['BEGIN', 'COMMIT', 'END', 'ROLLBACK', 'SAVEPOINT', 'RELEASE']);
const connectionVerbs: ReadonlySet<string> = new Set(['ATTACH', 'DETACH', 'PRAGMA', 'VACUUM']);
const readVerbs: ReadonlySet<string> = new Set(['SELECT', 'VALUES', 'EXPLAIN']);
const mainVerbs: ReadonlySet<string> = new Set(['SELECT', 'VALUES', 'INSERT', 'REPLACE', 'UPDATE', 'DELETE']);
/** Keywords after which `name(` is a table or view name with its column list, not a call. */
const beforeTableName: ReadonlySet<string> = new Set(['TABLE', 'INTO', 'VIEW', 'REFERENCES', 'EXISTS', 'USING', 'TRIGGER', 'INDEX']);

const word = (token: Token | undefined, value: string): boolean => token?.type === 'word' && token.value === value;
const isIdentifierLike = (token: Token): boolean => token.type === 'word' || token.type === 'quoted';
const symbol = (token: Token | undefined, text: string): boolean => token?.type === 'symbol' && token.text === text;

/** The statements in `tokens`, split at semicolons that are not inside a trigger body. */
export function splitStatements(tokens: readonly Token[]): Token[][] {
  const statements: Token[][] = [];
  let current: Token[] = [];
  let inTriggerBody = false;
  let caseDepth = 0;
  for (const token of tokens) {
    if (symbol(token, ';') && !inTriggerBody) {
      if (current.length > 0) statements.push(current);
      current = [];
      continue;
    }
    current.push(token);
    if (token.type !== 'word') continue;
    if (!inTriggerBody && token.value === 'BEGIN' && isCreateTrigger(current)) {
      inTriggerBody = true;
      caseDepth = 0;
    } else if (inTriggerBody && token.value === 'CASE') {
      caseDepth++;
    } else if (inTriggerBody && token.value === 'END') {
      if (caseDepth > 0) caseDepth--;
      else inTriggerBody = false;
    }
  }
  if (current.length > 0) statements.push(current);
  return statements;
}

function isCreateTrigger(tokens: readonly Token[]): boolean {
  if (!word(tokens[0], 'CREATE')) return false;
  const temporary = word(tokens[1], 'TEMP') || word(tokens[1], 'TEMPORARY');
  return word(tokens[temporary ? 2 : 1], 'TRIGGER');
}

/** The verb that decides what a statement does: after a WITH clause, the first verb outside parentheses. */
export function mainVerb(tokens: readonly Token[]): string {
  const first = tokens[0];
  if (first?.type !== 'word') return '';
  if (first.value !== 'WITH') return first.value;
  let depth = 0;
  for (const token of tokens) {
    if (symbol(token, '(')) depth++;
    else if (symbol(token, ')')) depth--;
    else if (depth === 0 && token.type === 'word' && mainVerbs.has(token.value)) return token.value;
  }
  return 'WITH';
}

/** True when tokens[at] followed by `(` calls a function rather than naming a table, a CTE or a column type. */
function isCall(tokens: readonly Token[], at: number): boolean {
  if (!symbol(tokens[at + 1], '(')) return false;
  const previous = tokens[at - 1];
  if (symbol(previous, '.') || isIdentifier(previous)) return false;
  if (previous?.type === 'word' && beforeTableName.has(previous.value)) return false;
  const creatingIndex = word(tokens[0], 'CREATE') && (word(tokens[1], 'INDEX') || word(tokens[2], 'INDEX'));
  if (word(previous, 'ON') && creatingIndex && tokens.findIndex((t) => word(t, 'ON')) === at - 1) return false;
  // A common table expression: name(columns) AS [NOT] [MATERIALIZED] (select).
  let after = matchingParen(tokens, at + 1);
  if (!word(tokens[after++], 'AS')) return true;
  if (word(tokens[after], 'NOT')) after++;
  if (word(tokens[after], 'MATERIALIZED')) after++;
  return !symbol(tokens[after], '(');
}

/** The arguments of a call, split at top-level commas (each a token list; none for `name()`). */
function callArguments(tokens: readonly Token[]): Token[][] {
  if (tokens.length === 0) return [];
  const args: Token[][] = [[]];
  let depth = 0;
  for (const token of tokens) {
    if (symbol(token, '(')) depth++;
    else if (symbol(token, ')')) depth--;
    if (depth === 0 && symbol(token, ',')) args.push([]);
    else args.at(-1)!.push(token);
  }
  return args;
}

/** True for an argument the rules can read before the statement runs: a string or number literal (optionally signed), NULL, or a ? parameter. */
function isPlainValue(arg: readonly Token[]): boolean {
  const [first, second] = arg;
  if (arg.length === 1) return first!.type === 'string' || first!.type === 'number' || first!.type === 'param' || word(first, 'NULL');
  return arg.length === 2 && (symbol(first, '-') || symbol(first, '+')) && second!.type === 'number';
}

/** Why a call to a date/time function reads the node's clock or time zone, or null. */
function clockProblem(tokens: readonly Token[], at: number, params: readonly SqlParam[], paramIndex: (t: Token) => number): string | null {
  const name = tokens[at]?.value.toLowerCase() ?? '';
  const args = callArguments(tokens.slice(at + 2, matchingParen(tokens, at + 1) - 1));
  if ((args.length === 0 && name !== 'timediff') || (name === 'strftime' && args.length === 1)) {
    return `${name}() without a time value means 'now' and reads each node's clock`;
  }
  // strftime's format cannot read the clock; every time value and modifier can (a time value 'now', a modifier 'localtime' or 'utc').
  const checked = name === 'strftime' ? args.slice(1) : args;
  for (const arg of checked) {
    if (!isPlainValue(arg)) {
      const text = arg.map((t) => t.text).join(' ');
      return `${name}() with the argument ${text.length > 60 ? `${text.slice(0, 60)}…` : text}, which is neither a literal nor a ? parameter: an expression or a column could hold 'now' (read from each node's own clock as it applies the statement) or 'localtime'/'utc' (each node's time zone), and the store cannot see its value before the statement runs`;
    }
    const token = arg.at(-1)!;
    const value = token.type === 'string' ? token.value : token.type === 'param' ? params[paramIndex(token) - 1] : null;
    if (typeof value !== 'string') continue;
    const lower = value.trim().toLowerCase();
    const shown = token.type === 'param' ? `a parameter holding '${value}'` : `'${value}'`;
    if (lower === 'now') return `${name}() with ${shown} reads each node's clock, so every node would store a different time`;
    if (lower === 'localtime' || lower === 'utc') return `${name}() with ${shown} depends on each node's time zone`;
  }
  return null;
}

/**
 * What a cluster started with `unsafe: ['allow-nondeterministic']` lets
 * through: random() and randomblob(), and reading the clock (datetime('now'),
 * CURRENT_TIMESTAMP, …). Each node then evaluates them itself when it
 * applies the entry, and the replicas diverge: the statement-divergence lab.
 */
export interface RuleOptions {
  readonly allowNondeterministic?: boolean;
}

/** The non-deterministic functions the unsafe option lets through; the rest (connection state, the SQLite build, files) stay refused. */
const unsafeAllowed: ReadonlySet<string> = new Set(['RANDOM', 'RANDOMBLOB']);

/** Checks one statement's tokens; see checkStatementText. */
function statementProblem(tokens: readonly Token[], params: readonly SqlParam[], rules: RuleOptions = {}): StatementError | null {
  const allowUnsafe = rules.allowNondeterministic === true;
  const verb = mainVerb(tokens);
  if (transactionVerbs.has(verb)) {
    return new StatementError('forbidden', `${verb} is transaction control: every replicated statement already runs in its own transaction, committed together with its log index; send the statements one by one`);
  }
  if (connectionVerbs.has(verb)) {
    return new StatementError('forbidden', `${verb} acts on one node's connection or file, not on the replicated data, so it cannot be replicated`);
  }
  if (readVerbs.has(verb)) return new StatementError('read-only', `this ${verb} statement only reads: send it with query(), which reads one node without going through the log`);
  const placeholders = tokens.filter((t) => t.type === 'param');
  const named = placeholders.find((t) => t.text !== '?');
  if (named !== undefined) return new StatementError('params', `${named.text}: use plain ? placeholders; parameters are a list matched to them in order`);
  for (const [at, token] of tokens.entries()) {
    if (isIdentifierLike(token) && token.value.toLowerCase().startsWith('_replica_')) {
      return new StatementError('internal-table', `${token.text}: names starting with _replica_ belong to the store's own bookkeeping (applied index, request dedupe); read them with query(), never write them`);
    }
    if (word(token, 'ROLLBACK')) return new StatementError('forbidden', 'ROLLBACK (as a conflict clause or a RAISE action) would end the transaction the store applies the entry in; use ABORT or FAIL, which undo just this statement');
    if (word(token, 'INITIALLY') && word(tokens[at + 1], 'DEFERRED')) {
      return new StatementError('forbidden', 'INITIALLY DEFERRED: each replicated statement commits on its own, so a deferred constraint would fail the commit instead of the statement; declare it without INITIALLY DEFERRED');
    }
    const temporary = (at === 1 && word(tokens[0], 'CREATE') && (word(token, 'TEMP') || word(token, 'TEMPORARY'))) || (isIdentifierLike(token) && token.value.toLowerCase() === 'temp' && symbol(tokens[at + 1], '.'));
    if (temporary) return new StatementError('forbidden', "temporary objects live only in one node's connection and vanish on restart; create an ordinary one");
    if (token.type === 'word' && clockKeywords.has(token.value) && !allowUnsafe) {
      return new StatementError('non-deterministic', `${token.value} reads each node's clock when it applies the statement (in a DEFAULT too), so nodes would store different times; ${replicated}. Pass the time as a ? parameter instead`);
    }
    if (!isIdentifierLike(token)) continue;
    const fileTable = fileTableProblem(token.value.toUpperCase());
    if (fileTable !== null) return new StatementError('non-deterministic', `${fileTable}; ${replicated}`);
    if (!isCall(tokens, at)) continue;
    const name = token.value.toUpperCase();
    if (name === 'LOG_INDEX') {
      const where = logIndexOutsideApplyProblem(tokens, at);
      if (where !== null) {
        return new StatementError(
          'forbidden',
          `${where}: SQLite would evaluate it outside apply too (a generated column or a view when read, an index or CHECK when rebuilt), where there is no entry being applied and log_index() has no value; call log_index() in the INSERT or UPDATE itself, or in a trigger`,
        );
      }
    }
    const reason = allowUnsafe && unsafeAllowed.has(name) ? undefined : nonDeterministicFunctions.get(name);
    if (reason !== undefined) return new StatementError('non-deterministic', `${reason}; ${replicated}`);
    const clock = clockFunctions.has(name) && !allowUnsafe ? clockProblem(tokens, at, params, (t) => placeholders.indexOf(t) + 1) : null;
    if (clock !== null) return new StatementError('non-deterministic', `${clock}; ${replicated}. Compute the time in the client and pass it as a ? parameter instead`);
  }
  if (placeholders.length !== params.length) {
    return new StatementError('params', `the statement has ${placeholders.length} ? placeholder${placeholders.length === 1 ? '' : 's'} but ${params.length} parameter${params.length === 1 ? ' was' : 's were'} given`);
  }
  return null;
}

/**
 * Everything about a write that can be checked from its text alone: one
 * statement, no transaction control or connection-level verb, not a read, only
 * ? placeholders and as many parameters, no `_replica_*` table, nothing that
 * reads the clock, a random source or connection state. Null when it passes.
 */
/** The statements of `sql` as token lists, memoized per text: the leader and every replica check each write. */
const statementsOf = memoizeText((sql: string): Token[][] | StatementError => {
  try {
    return splitStatements(tokenize(sql));
  } catch (error) {
    if (error instanceof TokenizeError) return new StatementError('syntax', `syntax error: ${error.message}`);
    throw error;
  }
}, statementCacheMax);

export function checkStatementText(sql: string, params: readonly SqlParam[], rules: RuleOptions = {}): StatementError | null {
  if (Buffer.byteLength(sql, 'utf8') > statementBytesMax) {
    return new StatementError('too-large', `the statement is longer than ${statementBytesMax} bytes; split it or pass large values as ? parameters`);
  }
  const statements = statementsOf(sql);
  if (statements instanceof StatementError) return statements;
  const [statement] = statements;
  if (statement === undefined) return new StatementError('empty', 'there is no SQL statement to run');
  if (statements.length > 1) {
    return new StatementError('multiple-statements', `found ${statements.length} statements; send one statement per call (each one is a separate log entry)`);
  }
  // The unsafe option is for one lab's clusters: its verdicts are not cached.
  if (rules.allowNondeterministic === true) return statementProblem(statement, params, rules);
  return cachedStatementProblem(statement, params);
}

/**
 * What statementProblem says about a statement's text, kept per token list
 * (statementsOf memoizes those per text): without a date/time function call,
 * only the placeholder count depends on the parameters, so every other check
 * runs once per text instead of once per write on every node.
 */
const textVerdicts = new WeakMap<readonly Token[], { readonly problem: StatementError | null; readonly placeholders: number } | 'depends-on-params'>();

function cachedStatementProblem(tokens: readonly Token[], params: readonly SqlParam[]): StatementError | null {
  let verdict = textVerdicts.get(tokens);
  if (verdict === undefined) {
    const callsClock = tokens.some((token, at) => isIdentifierLike(token) && clockFunctions.has(token.value.toUpperCase()) && isCall(tokens, at));
    const placeholders = tokens.filter((t) => t.type === 'param').length;
    // With placeholders-many parameters the count check passes, so what is left is the text's own verdict.
    verdict = callsClock ? 'depends-on-params' : { problem: statementProblem(tokens, new Array<SqlParam>(placeholders).fill(null)), placeholders };
    textVerdicts.set(tokens, verdict);
  }
  if (verdict === 'depends-on-params') return statementProblem(tokens, params);
  if (verdict.problem !== null || verdict.placeholders === params.length) return verdict.problem;
  return statementProblem(tokens, params);
}

/**
 * What the store needs to know about a statement it applies, per text:
 * `mayFailPartway`: it names the FAIL conflict algorithm (OR FAIL, ON CONFLICT
 * FAIL, RAISE(FAIL)), the one way a failing statement keeps the changes it
 * made before the error; any other failure SQLite undoes by itself (its
 * statement journal), so only these need a SAVEPOINT of their own.
 * `changesSchema`: CREATE, ALTER or DROP, after which the store prepares its
 * rowid check again and looks for FAIL in the schema. Conservative on text
 * that cannot be tokenized.
 */
export const statementTraits = memoizeText((sql: string): { readonly mayFailPartway: boolean; readonly changesSchema: boolean } => {
  const statements = statementsOf(sql);
  if (statements instanceof StatementError) return { mayFailPartway: true, changesSchema: true };
  const tokens = statements.flat();
  const verb = tokens[0]?.type === 'word' ? tokens[0].value : '';
  return {
    mayFailPartway: tokens.some((token) => word(token, 'FAIL')),
    changesSchema: verb === 'CREATE' || verb === 'ALTER' || verb === 'DROP',
  };
}, statementCacheMax);
