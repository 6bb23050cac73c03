// validateStatement: the leader's check before it proposes a write. Table
// driven: what must pass, and each way a statement can be refused, with the
// message a person gets.

import { describe, expect, it } from 'vitest';
import { findStatementProblem, validateStatement, type StatementProblem } from '../../cluster/store/index.js';
import { tokenize } from '../../cluster/store/sql-tokens.js';
import { upsert } from './helpers.js';

type Case = readonly [sql: string, params?: readonly unknown[]];

const accepted: readonly Case[] = [
  ['CREATE TABLE accounts (id INTEGER PRIMARY KEY, owner TEXT NOT NULL, balance INTEGER DEFAULT 0)'],
  ['CREATE TABLE IF NOT EXISTS t (a INTEGER, b TEXT) STRICT'],
  ['CREATE INDEX accounts_owner ON accounts (owner)'],
  ['CREATE UNIQUE INDEX IF NOT EXISTS by_day ON date (a)'],
  ['CREATE VIEW recent AS SELECT * FROM kv WHERE idx > 10'],
  ['CREATE TRIGGER kv_audit AFTER UPDATE ON kv BEGIN INSERT INTO audit (k, idx) VALUES (new.k, new.idx); UPDATE stats SET n = CASE WHEN n IS NULL THEN 1 ELSE n + 1 END; END'],
  ['ALTER TABLE accounts ADD COLUMN note TEXT'],
  ['DROP TABLE IF EXISTS old'],
  [upsert, ['a', '1']],
  ['UPDATE accounts SET balance = balance - ? WHERE id = ?', [10, 1]],
  ['DELETE FROM kv WHERE k = ?', ['a']],
  ['REPLACE INTO kv VALUES (?, ?, 1)', ['a', true]],
  ["INSERT INTO kv(k, v) VALUES ('x', 'y');  -- a trailing semicolon and comment"],
  ['INSERT INTO kv (k, v) VALUES (?, ?) RETURNING k, idx', ['a', 'b']],
  ["WITH fresh(k, v) AS (SELECT 'a', 'b') INSERT INTO kv(k, v) SELECT k, v FROM fresh"],
  ['WITH date(d) AS (SELECT 1) INSERT INTO kv(k) SELECT d FROM date'],
  // Lexical traps: the dangerous words appear only inside literals, quoted names or comments.
  ["INSERT INTO kv VALUES ('now', 'x', 1)"],
  ['INSERT INTO kv VALUES (?, ?, 1)', ['now', 'random()']],
  ["INSERT INTO kv VALUES ('it''s random()', 'datetime(''now'')', 1)"],
  ['INSERT INTO t ("random", [changes], `date`) VALUES (1, 2, 3)'],
  ['CREATE TABLE t ("random" INTEGER, [changes] TEXT, `date` TEXT, current_date_text TEXT)'],
  ["-- random() and datetime('now') in a comment\nINSERT INTO kv VALUES (?, ?, 1)", ['a', 'b']],
  ["/* CURRENT_TIMESTAMP; BEGIN; ROLLBACK; _replica_state */ INSERT INTO kv VALUES ('a', 'b', 1)"],
  ['CREATE TABLE events (at TEXT, d datetime(3), random INTEGER, date TEXT)'],
  ['CREATE TABLE child (id INTEGER PRIMARY KEY, parent REFERENCES date (id))'],
  ["INSERT INTO kv VALUES ('_replica_state', x'00ff', 1)"],
  // Deterministic uses of the date functions: a fixed time value, or one passed as a parameter.
  ["INSERT INTO kv VALUES ('d', date('2024-01-31', '+1 month'), 1)"],
  ['INSERT INTO kv VALUES (?, datetime(?), 1)', ['d', '2024-01-01 10:00:00']],
  ["INSERT INTO kv VALUES ('s', strftime('%Y', ?), unixepoch('2024-01-01'))", ['2024-05-05']],
  ["INSERT INTO kv VALUES ('e', datetime(1700000000, 'unixepoch'), julianday(-1.5))"],
  ["INSERT INTO kv(k, v) SELECT k, strftime(v, '2024-01-01', ?) FROM kv", ['+1 day']],
  ['INSERT INTO kv VALUES (?, ?, log_index())', ['a', 'b']],
  ['ANALYZE'],
  // log_index() where it is evaluated during apply: the write itself, a trigger body.
  ['UPDATE kv SET idx = log_index() WHERE k = ?', ['a']],
  ['CREATE TRIGGER kv_stamp AFTER INSERT ON kv BEGIN UPDATE kv SET idx = log_index() WHERE k = new.k; END'],
  ['INSERT INTO kv VALUES (?, ?, 1)', ['pragma_database_list', 'dbstat']],
];

const refused: readonly [sql: string, params: readonly unknown[], problem: StatementProblem, message: RegExp][] = [
  ['', [], 'empty', /no SQL statement/],
  ['  -- only a comment', [], 'empty', /no SQL statement/],
  ['INSERT INTO kv VALUES (1, 2, 3); DELETE FROM kv', [], 'multiple-statements', /2 statements; send one statement per call/],
  ['CREATE TRIGGER t AFTER INSERT ON kv BEGIN UPDATE kv SET v = CASE WHEN v IS NULL THEN 1 END; END; DELETE FROM kv', [], 'multiple-statements', /2 statements/],
  ['INSERT INTO kv VALUS (1)', [], 'syntax', /cannot parse.*syntax error/],
  ["INSERT INTO kv VALUES ('abc", [], 'syntax', /unterminated string literal/],
  ['INSERT INTO kv VALUES ("abc', [], 'syntax', /unterminated quoted identifier/],
  ['INSERT INTO missing VALUES (1,', [], 'syntax', /incomplete input/],
  ['INSERT INTO kv VALUES (nosuchfn(1), 1, 1)', [], 'invalid', /no such function: nosuchfn/],
  // Non-deterministic SQL.
  ['INSERT INTO kv VALUES (random(), 1, 1)', [], 'non-deterministic', /random\(\) returns a different number on every node.*same result on every node.*rqlite/],
  ['INSERT INTO kv VALUES (hex(RANDOMBLOB(4)), 1, 1)', [], 'non-deterministic', /randomblob\(\)/],
  ['INSERT INTO kv VALUES ("random"(), 1, 1)', [], 'non-deterministic', /random\(\)/],
  ["INSERT INTO kv VALUES ('a', datetime('now'), 1)", [], 'non-deterministic', /datetime\(\) with 'now' reads each node's clock.*as a \? parameter/],
  ["INSERT INTO kv VALUES ('a', date('NOW'), 1)", [], 'non-deterministic', /date\(\) with 'NOW'/],
  ["INSERT INTO kv VALUES ('a', time('now', 'localtime'), 1)", [], 'non-deterministic', /time\(\) with 'now'/],
  ["INSERT INTO kv VALUES ('a', julianday('now'), 1)", [], 'non-deterministic', /julianday\(\)/],
  ["INSERT INTO kv VALUES ('a', strftime('%s', 'now'), 1)", [], 'non-deterministic', /strftime\(\) with 'now'/],
  ["INSERT INTO kv VALUES ('a', strftime('%s'), 1)", [], 'non-deterministic', /strftime\(\) without a time value means 'now'/],
  ["INSERT INTO kv VALUES ('a', unixepoch(), 1)", [], 'non-deterministic', /unixepoch\(\) without a time value/],
  ["INSERT INTO kv VALUES ('a', date(coalesce(NULL, 'now')), 1)", [], 'non-deterministic', /date\(\) with the argument coalesce \( NULL , 'now' \), which is neither a literal nor a \? parameter/],
  // 'now' (or 'localtime') built at run time: every time value and modifier must be a literal or a ? parameter.
  ["INSERT INTO kv(k,v) VALUES ('a9', datetime('n'||'ow'))", [], 'non-deterministic', /datetime\(\) with the argument 'n' \|\| 'ow', which is neither a literal nor a \? parameter: an expression or a column could hold 'now' \(read from each node's own clock.*Compute the time in the client and pass it as a \? parameter instead/],
  ["INSERT INTO kv(k,v) SELECT 'a10', datetime(v) FROM kv WHERE k='nowkey'", [], 'non-deterministic', /datetime\(\) with the argument v, which is neither a literal nor a \? parameter/],
  ["INSERT INTO kv(k,v) VALUES ('a', strftime('%f', 'n'||'ow'))", [], 'non-deterministic', /strftime\(\) with the argument/],
  ["INSERT INTO kv(k,v) SELECT k, date('2024-01-01', v) FROM kv", [], 'non-deterministic', /date\(\) with the argument v.*'localtime'\/'utc'/],
  ["INSERT INTO kv(k,v) SELECT k, timediff('2024-01-01', v) FROM kv", [], 'non-deterministic', /timediff\(\) with the argument v/],
  ["INSERT INTO kv(k,v) VALUES ('a', unixepoch(?, lower(?)))", ['2024-01-01', 'LOCALTIME'], 'non-deterministic', /unixepoch\(\) with the argument lower/],
  ["INSERT INTO kv(k,v) VALUES ('a', datetime(' now '))", [], 'non-deterministic', /datetime\(\) with ' now '/],
  ["INSERT INTO kv VALUES ('a', datetime('2024-01-01', 'localtime'), 1)", [], 'non-deterministic', /time zone/],
  ["INSERT INTO kv VALUES ('a', datetime(?), 1)", ['now'], 'non-deterministic', /a parameter holding 'now'/],
  ["INSERT INTO kv VALUES ('a', CURRENT_TIMESTAMP, 1)", [], 'non-deterministic', /CURRENT_TIMESTAMP reads each node's clock/],
  ["INSERT INTO kv VALUES ('a', current_date, 1)", [], 'non-deterministic', /CURRENT_DATE/],
  ['CREATE TABLE t (at TEXT DEFAULT CURRENT_TIME)', [], 'non-deterministic', /CURRENT_TIME .*in a DEFAULT too/],
  ["CREATE TABLE t (at TEXT DEFAULT (datetime('now')))", [], 'non-deterministic', /datetime\(\)/],
  ["CREATE TRIGGER stamp AFTER INSERT ON kv BEGIN UPDATE kv SET v = datetime('now') WHERE k = new.k; END", [], 'non-deterministic', /datetime\(\)/],
  ['INSERT INTO kv VALUES (last_insert_rowid(), 1, 1)', [], 'non-deterministic', /last_insert_rowid\(\).*restart/],
  ['UPDATE kv SET v = changes()', [], 'non-deterministic', /changes\(\)/],
  ['UPDATE kv SET v = total_changes()', [], 'non-deterministic', /total_changes\(\)/],
  ['DELETE FROM kv WHERE k IN (SELECT k FROM kv ORDER BY random() LIMIT 1)', [], 'non-deterministic', /random\(\)/],
  // Issue 13, rows 5-7 and 10: what depends on one node's file, connection or library, and log_index() outside apply.
  ["INSERT INTO kv(k,v) SELECT 'f', file FROM pragma_database_list WHERE name='main'", [], 'non-deterministic', /pragma_database_list is a table-valued pragma: it reports on this node's own file or connection/],
  ["INSERT INTO kv(k,v) SELECT name, 1 FROM pragma_table_info('kv')", [], 'non-deterministic', /pragma_table_info is a table-valued pragma/],
  ["INSERT INTO kv(k,v) SELECT 'p', page_count FROM main.\"PRAGMA_PAGE_COUNT\"", [], 'non-deterministic', /pragma_page_count/],
  ["INSERT INTO kv(k,v) SELECT 'pages', count(*) FROM dbstat", [], 'non-deterministic', /dbstat lists this node's database pages, whose layout differs between nodes/],
  ["INSERT INTO kv(k,v) SELECT 'pages', count(*) FROM dbstat('main')", [], 'non-deterministic', /dbstat/],
  ['CREATE VIRTUAL TABLE pages USING dbstat', [], 'non-deterministic', /dbstat/],
  ["INSERT INTO kv(k,v) SELECT name, rootpage FROM sqlite_schema", [], 'non-deterministic', /sqlite_schema holds each table's rootpage/],
  ["INSERT INTO kv(k,v) SELECT name, sql FROM sqlite_master", [], 'non-deterministic', /sqlite_master/],
  ["INSERT INTO kv(k,v) SELECT tbl, stat FROM sqlite_stat1", [], 'non-deterministic', /sqlite_stat1 holds ANALYZE's statistics/],
  ["DELETE FROM sqlite_stat4", [], 'non-deterministic', /sqlite_stat4/],
  ["INSERT INTO kv(k,v) SELECT 'p', data FROM sqlite_dbpage", [], 'non-deterministic', /sqlite_dbpage reads this node's raw database pages/],
  ["INSERT INTO kv(k,v) SELECT name, 1 FROM sqlite_temp_master", [], 'non-deterministic', /sqlite_temp_master lists the temporary objects of this node's own connection/],
  ["INSERT INTO kv(k,v) VALUES ('v', sqlite_version())", [], 'non-deterministic', /sqlite_version\(\) describes the SQLite library this node runs: the same on every node today, but a node upgraded later/],
  ["INSERT INTO kv(k,v) VALUES ('v', sqlite_source_id())", [], 'non-deterministic', /sqlite_source_id\(\)/],
  ["INSERT INTO kv(k,v) VALUES ('v', sqlite_compileoption_used('ENABLE_DBSTAT_VTAB'))", [], 'non-deterministic', /sqlite_compileoption_used\(\)/],
  ["INSERT INTO kv(k,v) VALUES ('x', load_extension('x'))", [], 'non-deterministic', /load_extension\(\)/],
  ['CREATE TABLE g(a, b AS (log_index()))', [], 'forbidden', /log_index\(\) in CREATE TABLE, CREATE INDEX or CREATE VIEW: SQLite would evaluate it outside apply too/],
  ['CREATE TABLE g(a, b INTEGER GENERATED ALWAYS AS (log_index() + a) STORED)', [], 'forbidden', /log_index\(\) in CREATE TABLE/],
  ['CREATE TABLE g(a DEFAULT (log_index()))', [], 'forbidden', /log_index\(\)/],
  ['CREATE TABLE g(a CHECK (a < log_index()))', [], 'forbidden', /log_index\(\)/],
  ['CREATE INDEX g_idx ON kv(log_index())', [], 'forbidden', /log_index\(\)/],
  ['CREATE VIEW g AS SELECT log_index() AS i', [], 'forbidden', /log_index\(\) in CREATE TABLE, CREATE INDEX or CREATE VIEW/],
  ['ALTER TABLE kv ADD COLUMN b AS (log_index())', [], 'forbidden', /log_index\(\) in ALTER TABLE/],
  // Transaction control and connection-level statements.
  ['BEGIN', [], 'forbidden', /BEGIN is transaction control/],
  ['BEGIN IMMEDIATE TRANSACTION', [], 'forbidden', /transaction control/],
  ['COMMIT', [], 'forbidden', /COMMIT is transaction control/],
  ['END TRANSACTION', [], 'forbidden', /transaction control/],
  ['ROLLBACK', [], 'forbidden', /ROLLBACK is transaction control/],
  ['SAVEPOINT s1', [], 'forbidden', /transaction control/],
  ['RELEASE s1', [], 'forbidden', /transaction control/],
  ["ATTACH 'other.db' AS other", [], 'forbidden', /ATTACH acts on one node's connection/],
  ['DETACH other', [], 'forbidden', /DETACH/],
  ['PRAGMA foreign_keys = OFF', [], 'forbidden', /PRAGMA/],
  ['VACUUM', [], 'forbidden', /VACUUM/],
  ['INSERT OR ROLLBACK INTO kv VALUES (?, ?, 1)', ['a', 'b'], 'forbidden', /use ABORT or FAIL/],
  ["CREATE TRIGGER no AFTER INSERT ON kv BEGIN SELECT RAISE(ROLLBACK, 'no'); END", [], 'forbidden', /ROLLBACK/],
  ['CREATE TEMP TABLE scratch (a)', [], 'forbidden', /temporary objects/],
  ['INSERT INTO temp.scratch VALUES (1)', [], 'forbidden', /temporary objects/],
  ['CREATE TABLE c (p REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)', [], 'forbidden', /INITIALLY DEFERRED/],
  // The store's own tables.
  ['INSERT INTO _replica_state VALUES (9, 9)', [], 'internal-table', /_replica_state: names starting with _replica_ belong to the store/],
  ['UPDATE "_replica_requests" SET request = 0', [], 'internal-table', /_replica_requests/],
  ['DELETE FROM _REPLICA_REQUESTS', [], 'internal-table', /_replica_/],
  ['DROP TABLE _replica_state', [], 'internal-table', /_replica_/],
  ['CREATE TRIGGER t AFTER INSERT ON kv BEGIN DELETE FROM _replica_requests; END', [], 'internal-table', /_replica_/],
  ['CREATE TABLE _replica_mine (a)', [], 'internal-table', /_replica_/],
  // Reads belong to query().
  ['SELECT * FROM kv', [], 'read-only', /only reads: send it with query\(\)/],
  ['WITH x AS (SELECT 1) SELECT * FROM x', [], 'read-only', /query\(\)/],
  ['VALUES (1), (2)', [], 'read-only', /query\(\)/],
  ['EXPLAIN QUERY PLAN SELECT * FROM kv', [], 'read-only', /query\(\)/],
  // Parameters.
  ['INSERT INTO kv VALUES (?, ?, 1)', ['a'], 'params', /2 \? placeholders but 1 parameter was given/],
  ['DELETE FROM kv WHERE k = ?', ['a', 'b'], 'params', /1 \? placeholder but 2 parameters were given/],
  ['DELETE FROM kv', ['a'], 'params', /0 \? placeholders but 1 parameter was given/],
  ['INSERT INTO kv VALUES (:k, :v, 1)', [], 'params', /:k: use plain \? placeholders/],
  ['INSERT INTO kv VALUES (?1, ?2, 1)', ['a', 'b'], 'params', /\?1: use plain \? placeholders/],
  ['DELETE FROM kv WHERE k = ?', [{ k: 'a' }], 'params', /parameter 1 is object: parameters must be JSON scalars/],
  ['DELETE FROM kv WHERE k = ?', [Number.NaN], 'params', /parameter 1 is NaN/],
  ['DELETE FROM kv WHERE k = ?', [undefined], 'params', /parameter 1 is undefined/],
];

describe('validateStatement', () => {
  const acceptedCases = accepted.map(([sql, params = []]): [string, readonly unknown[]] => [sql, params]);
  it.each(acceptedCases)('accepts %s', (sql, params) => {
    expect(validateStatement(sql, params)).toBeNull();
  });

  it.each(refused)('refuses %j %j as %s', (sql, params, problem, message) => {
    const error = findStatementProblem(sql, params);
    expect(error).toMatchObject({ kind: 'bad-statement', problem });
    expect(error?.message).toMatch(message);
    expect(validateStatement(sql, params)).toBe(error?.message);
  });

  it('refuses a statement longer than the limit and parameters that are not an array', () => {
    expect(findStatementProblem(`INSERT INTO kv VALUES ('${'x'.repeat(70_000)}', 1, 1)`)?.problem).toBe('too-large');
    expect(findStatementProblem('DELETE FROM kv', 'a' as unknown as unknown[])?.problem).toBe('params');
  });
});

describe('the tokenizer behind the lexical rules', () => {
  it('keeps strings, quoted names, blobs and parameters whole and drops comments', () => {
    const tokens = tokenize(`SELECT 'it''s -- not a comment', "a ""b""", [c d], \`e\`, x'0F', ?, :name, 1.5e-3 -- gone\n/* gone */ FROM t`);
    expect(tokens.map((t) => [t.type, t.value])).toEqual([
      ['word', 'SELECT'],
      ['string', "it's -- not a comment"],
      ['symbol', ','],
      ['quoted', 'a "b"'],
      ['symbol', ','],
      ['quoted', 'c d'],
      ['symbol', ','],
      ['quoted', 'e'],
      ['symbol', ','],
      ['blob', "x'0F'"],
      ['symbol', ','],
      ['param', '?'],
      ['symbol', ','],
      ['param', ':name'],
      ['symbol', ','],
      ['number', '1.5e-3'],
      ['word', 'FROM'],
      ['word', 'T'],
    ]);
  });

  it('lets an unterminated block comment run to the end, as SQLite does', () => {
    expect(tokenize('SELECT 1 /* open').map((t) => t.text)).toEqual(['SELECT', '1']);
  });
});
