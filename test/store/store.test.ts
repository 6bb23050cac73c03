// The store applies entries in order, each in one transaction with its log
// index, answers read-only queries, and never lets a bad statement stop a node.

import Database from 'better-sqlite3';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Entry } from '../../cluster/core/index.js';
import { StatementError, Store, storeLimits, StoreAssertionError } from '../../cluster/store/index.js';
import { isEnvironmentError, isStatementFailure } from '../../cluster/store/sqlite-errors.js';
import { applyAll, history, noopEntry, sqlEntry, upsert, useStores } from './helpers.js';

const stores = useStores();

describe('apply and query', () => {
  it('applies writes, answers queries, and keeps the applied index across a reopen', () => {
    const dir = stores.dir();
    const store = stores.open(dir);
    expect([store.appliedIndex(), store.appliedTerm()]).toEqual([0, 0]);
    expect(store.apply(sqlEntry(1, upsert, ['a', '1']))).toEqual({ ok: true, duplicate: false, changes: 1, lastInsertRowid: 1 });
    store.apply(sqlEntry(2, upsert, ['b', '2'], { term: 2 }));
    store.apply(noopEntry(3, 3));
    expect(store.query('SELECT k, v, idx FROM kv ORDER BY k')).toEqual({ columns: ['k', 'v', 'idx'], rows: [['a', '1', 1], ['b', '2', 2]], truncated: false });
    const checksum = store.checksum();
    store.close();

    const reopened = stores.open(dir);
    expect([reopened.appliedIndex(), reopened.appliedTerm()]).toEqual([3, 3]);
    expect(reopened.query('SELECT v FROM kv WHERE k = ?', ['b']).rows).toEqual([['2']]);
    expect(reopened.checksum()).toBe(checksum);
  });

  it('applies a batch in one transaction with the same results and state as entry by entry', () => {
    const log = history(['CREATE TABLE t (a UNIQUE)', 'INSERT INTO t VALUES (1)', 'INSERT INTO t VALUES (1)', [upsert, ['a', '1']]]);
    const [single, batched] = [stores.open(), stores.open()];
    const one = log.map((entry) => single.apply(entry));
    expect(batched.applyBatch(log.slice(0, 2))).toEqual(one.slice(0, 2));
    expect(batched.applyBatch(log.slice(2))).toEqual(one.slice(2));
    expect(batched.applyBatch([])).toEqual([]);
    expect([batched.appliedIndex(), batched.checksum()]).toEqual([4, single.checksum()]);
    // An entry out of order aborts the whole batch: nothing of it is applied.
    expect(() => batched.applyBatch([noopEntry(5), noopEntry(7)])).toThrow(StoreAssertionError);
    expect(batched.appliedIndex()).toBe(4);
    expect(batched.query('SELECT applied_index FROM _replica_state').rows).toEqual([[4]]);
  });

  it('opens state.db in WAL journal mode with the kv table', () => {
    const dir = stores.dir();
    stores.open(dir);
    const peek = new Database(join(dir, 'state.db'), { readonly: true });
    expect(peek.pragma('journal_mode', { simple: true })).toBe('wal');
    peek.close();
    const store = stores.open(dir);
    expect(store.query('PRAGMA table_info(kv)').rows.map((row) => row[1])).toEqual(['k', 'v', 'idx']);
  });

  it('log_index() fills idx with the index of the entry being applied, and fails outside apply', () => {
    const store = stores.open();
    applyAll(store, history([[upsert, ['a', '1']], [upsert, ['b', '1']], [upsert, ['a', '2']]], 1));
    expect(store.query('SELECT k, v, idx FROM kv ORDER BY k').rows).toEqual([['a', '2', 3], ['b', '1', 2]]);
    expect(() => store.query('SELECT log_index()')).toThrow(/only in a replicated write/);
  });

  it('noop and config entries change no table but advance the applied index', () => {
    const store = stores.open();
    const before = store.checksum();
    store.apply(noopEntry(1));
    store.apply({ index: 2, term: 1, lsn: 200, kind: 'config', data: '{"voters":["n1"]}' });
    expect(store.appliedIndex()).toBe(2);
    expect(store.checksum()).toBe(before);
  });

  it('binds integral numbers as integers and booleans as 0 and 1', () => {
    const store = stores.open();
    store.apply(sqlEntry(1, 'INSERT INTO kv(k, v, idx) VALUES (?, ?, ?)', ['a', 1, true]));
    store.apply(sqlEntry(2, 'INSERT INTO kv(k, v, idx) VALUES (?, ?, ?)', ['b', 1.5, false]));
    expect(store.query('SELECT v, typeof(idx), idx FROM kv ORDER BY k').rows).toEqual([['1', 'integer', 1], ['1.5', 'integer', 0]]);
  });

  it('refuses to open a state.db written in another store format, saying what to do', () => {
    const dir = stores.dir();
    stores.open(dir).close();
    const peek = new Database(join(dir, 'state.db'));
    peek.pragma('user_version = 7');
    peek.close();
    expect(() => Store.open({ dir })).toThrow(/store format 7.*Move the node's data dir away/);
  });

  it('makes a new state.db with 1 KiB pages, and opens one made with 4 KiB pages as it is', () => {
    const dir = stores.dir();
    const store = stores.open(dir);
    store.apply(sqlEntry(1, 'INSERT INTO kv(k, v, idx) VALUES (?, ?, ?)', ['a', 'x', 1]));
    const peek = new Database(join(dir, 'state.db'), { readonly: true });
    expect(peek.pragma('page_size', { simple: true })).toBe(1024);
    peek.close();
    const older = stores.dir();
    const made = new Database(join(older, 'state.db'));
    made.pragma('page_size = 4096');
    made.pragma('journal_mode = WAL');
    made.close();
    const reopened = stores.open(older);
    reopened.apply(sqlEntry(1, 'INSERT INTO kv(k, v, idx) VALUES (?, ?, ?)', ['b', 'y', 1]));
    expect(reopened.query('SELECT k, v FROM kv').rows).toEqual([['b', 'y']]);
    const peekOlder = new Database(join(older, 'state.db'), { readonly: true });
    expect(peekOlder.pragma('page_size', { simple: true })).toBe(4096);
    peekOlder.close();
  });

  it('asserts that entries arrive in order: a gap is a bug, not user input', () => {
    const store = stores.open();
    store.apply(noopEntry(1));
    expect(() => store.apply(noopEntry(3))).toThrow(StoreAssertionError);
    expect(() => store.apply(noopEntry(1))).toThrow(StoreAssertionError);
    expect(store.appliedIndex()).toBe(1);
  });
});

describe('atomicity', () => {
  it('a failure mid-apply leaves neither the statement nor the new applied index behind', () => {
    const dir = stores.dir();
    const store = stores.open(dir);
    store.apply(sqlEntry(1, upsert, ['a', '1']));
    // Another connection makes recording the applied index fail after the statement has run.
    const saboteur = new Database(join(dir, 'state.db'));
    saboteur.exec("CREATE TRIGGER crash BEFORE UPDATE ON _replica_state BEGIN SELECT RAISE(ABORT, 'simulated crash'); END");
    const entry = sqlEntry(2, upsert, ['b', '2']);
    expect(() => store.apply(entry)).toThrow(/simulated crash/);
    expect(store.appliedIndex()).toBe(1);
    expect(store.query('SELECT k FROM kv ORDER BY k').rows).toEqual([['a']]);

    saboteur.exec('DROP TRIGGER crash');
    saboteur.close();
    expect(store.apply(entry).ok).toBe(true);
    store.close();
    const reopened = stores.open(dir);
    expect(reopened.appliedIndex()).toBe(2);
    expect(reopened.query('SELECT k, idx FROM kv ORDER BY k').rows).toEqual([['a', 1], ['b', 2]]);
  });

  it('a failing statement is undone, advances the index, and fails identically on every replica', () => {
    const log = history([
      'CREATE TABLE accounts (id INTEGER PRIMARY KEY, owner TEXT UNIQUE)',
      "INSERT INTO accounts (owner) VALUES ('ada')",
      // The second row violates UNIQUE: the first row of the same statement must be undone too.
      "INSERT INTO accounts (owner) VALUES ('bob'), ('ada')",
      'INSERT INTO missing VALUES (1)',
      "INSERT INTO accounts (owner) VALUES ('cy')",
    ]);
    const [first, second] = [stores.open(), stores.open()];
    const results = [first, second].map((store) => log.map((entry) => store.apply(entry)));
    expect(results[0]).toEqual(results[1]);
    expect(results[0]?.[2]).toEqual({ ok: false, error: 'UNIQUE constraint failed: accounts.owner', code: 'SQLITE_CONSTRAINT_UNIQUE' });
    expect(results[0]?.[3]).toMatchObject({ ok: false, code: 'SQLITE_ERROR', error: 'no such table: missing' });
    expect(results[0]?.[4]).toEqual({ ok: true, duplicate: false, changes: 1, lastInsertRowid: 2 });
    for (const store of [first, second]) {
      expect(store.appliedIndex()).toBe(5);
      expect(store.query('SELECT owner FROM accounts ORDER BY id').rows).toEqual([['ada'], ['cy']]);
    }
    expect(first.checksum()).toBe(second.checksum());
  });

  // A failed statement is undone whole, also where SQLite's FAIL algorithm would keep its first rows:
  // the store runs statements in a SAVEPOINT when the statement or the schema names FAIL.
  it.each([
    ['OR FAIL in the statement', ['CREATE TABLE t (a UNIQUE)', 'INSERT INTO t VALUES (0)', 'INSERT OR FAIL INTO t VALUES (1), (0)']],
    ['ON CONFLICT FAIL in the table', ['CREATE TABLE t (a UNIQUE ON CONFLICT FAIL)', 'INSERT INTO t VALUES (0)', 'INSERT INTO t VALUES (1), (0)']],
    [
      'RAISE(FAIL) in a trigger',
      ['CREATE TABLE t (a)', "CREATE TRIGGER no_zero BEFORE INSERT ON t WHEN NEW.a = 0 BEGIN SELECT RAISE(FAIL, 'zero'); END", 'INSERT INTO t VALUES (1), (0)'],
    ],
    ['plain ABORT', ['CREATE TABLE t (a UNIQUE)', 'INSERT INTO t VALUES (0)', 'INSERT INTO t VALUES (1), (0)']],
  ])('a statement failing part-way is undone whole with %s, applied one by one or in one batch', (_name, statements) => {
    const log = history([...statements, 'INSERT INTO t VALUES (2)']);
    const [single, batched] = [stores.open(), stores.open()];
    const results = log.map((entry) => single.apply(entry));
    expect(batched.applyBatch(log)).toEqual(results);
    expect(results.at(-2)).toMatchObject({ ok: false });
    for (const store of [single, batched]) {
      expect(store.query('SELECT a FROM t WHERE a <> 0 ORDER BY a').rows).toEqual([[2]]);
      expect(store.appliedIndex()).toBe(log.length);
    }
  });

  it('after a rollback rebuild drops a FAIL table, statements still fail whole', () => {
    const store = stores.open();
    const log = history(['CREATE TABLE t (a UNIQUE ON CONFLICT FAIL)', 'INSERT INTO t VALUES (0)']);
    applyAll(store, log);
    store.rollbackAndRebuild({ undone: [...log].reverse(), log: [] });
    const next = history(['CREATE TABLE t (a UNIQUE)', 'INSERT INTO t VALUES (0)', 'INSERT INTO t VALUES (1), (0)']);
    expect(next.map((entry) => store.apply(entry)).at(-1)).toMatchObject({ ok: false });
    expect(store.query('SELECT a FROM t ORDER BY a').rows).toEqual([[0]]);
  });

  it('a statement that breaks a replication rule fails at apply on every replica, even if a leader logged it', () => {
    const store = stores.open();
    const random: Entry = { index: 1, term: 1, lsn: 100, kind: 'sql', data: JSON.stringify({ sql: "INSERT INTO kv VALUES ('a', random(), 1)", params: [] }) };
    expect(store.apply(random)).toMatchObject({ ok: false, code: 'non-deterministic' });
    const commit: Entry = { index: 2, term: 1, lsn: 200, kind: 'sql', data: JSON.stringify({ sql: 'COMMIT', params: [] }) };
    expect(store.apply(commit)).toMatchObject({ ok: false, code: 'forbidden' });
    expect(store.appliedIndex()).toBe(2);
    expect(store.query('SELECT count(*) FROM kv').rows).toEqual([[0]]);
  });

  it("tells a statement's own failure (the same on every replica) from this node's trouble (crash and retry)", () => {
    expect(isStatementFailure(new Database.SqliteError('UNIQUE constraint failed: t.a', 'SQLITE_CONSTRAINT_UNIQUE'))).toBe(true);
    expect(isStatementFailure(new Database.SqliteError('no such table: t', 'SQLITE_ERROR'))).toBe(true);
    expect(isStatementFailure(new RangeError('Too few parameter values were provided'))).toBe(true);
    expect(isStatementFailure(new Database.SqliteError('disk I/O error', 'SQLITE_IOERR_WRITE'))).toBe(false);
    expect(isStatementFailure(new Database.SqliteError('database or disk is full', 'SQLITE_FULL'))).toBe(false);
    expect(isStatementFailure(new Database.SqliteError('database is locked', 'SQLITE_BUSY'))).toBe(false);
    expect(isStatementFailure(new Error('a bug'))).toBe(false);
  });

  it('classifies by a deny-list of environment errors: any other SQLite error is the statement result', () => {
    const environment = ['SQLITE_IOERR', 'SQLITE_IOERR_WRITE', 'SQLITE_FULL', 'SQLITE_NOMEM', 'SQLITE_BUSY', 'SQLITE_BUSY_SNAPSHOT', 'SQLITE_LOCKED', 'SQLITE_LOCKED_SHAREDCACHE', 'SQLITE_CORRUPT', 'SQLITE_CANTOPEN', 'SQLITE_READONLY', 'SQLITE_READONLY_DBMOVED', 'SQLITE_NOTADB', 'SQLITE_PROTOCOL'];
    for (const code of environment) {
      const error = new Database.SqliteError('trouble', code);
      expect([code, isEnvironmentError(error), isStatementFailure(error)]).toEqual([code, true, false]);
    }
    // Not on the list, so the statement's result: corrupt *virtual table* or index content, and codes nobody listed.
    for (const code of ['SQLITE_CORRUPT_VTAB', 'SQLITE_CORRUPT_INDEX', 'SQLITE_CORRUPT_SEQUENCE', 'SQLITE_ABORT', 'SQLITE_NOTFOUND', 'SQLITE_SOMETHING_NEW', 'SQLITE_TOOBIG']) {
      const error = new Database.SqliteError('statement trouble', code);
      expect([code, isEnvironmentError(error), isStatementFailure(error)]).toEqual([code, false, true]);
    }
    expect(isEnvironmentError(new Error('SQLITE_FULL'))).toBe(false);
  });

  it("an fts5 integrity-check that raises SQLITE_CORRUPT_VTAB is the statement's result, and replays to the same state", () => {
    const log = history([
      "CREATE VIRTUAL TABLE ft USING fts5(v, content='kv')",
      "INSERT INTO kv(k, v) VALUES ('a', 'hello world')",
      "INSERT INTO ft(ft, rank) VALUES('integrity-check', 1)",
      "INSERT INTO kv(k, v) VALUES ('b', 'after')",
    ]);
    const [first, second] = [stores.open(), stores.open()];
    const results = [first, second].map((store) => log.map((entry) => store.apply(entry)));
    expect(results[0]).toEqual(results[1]);
    expect(results[0]?.[2]).toMatchObject({ ok: false, code: 'SQLITE_CORRUPT_VTAB' });
    expect(results[0]?.[3]).toMatchObject({ ok: true, changes: 1 });
    expect(first.checksum()).toBe(second.checksum());
    // Replaying the log (a rebuild, as on restart after a rollback) reaches the same state.
    first.rebuild(log);
    expect(first.appliedIndex()).toBe(4);
    expect(first.checksum()).toBe(second.checksum());
  });

  it('an environment error at apply stops the node with a clear message and leaves the entry to re-apply', () => {
    const dir = stores.dir();
    const store = stores.open(dir);
    store.apply(sqlEntry(1, upsert, ['a', '1']));
    // Another connection holds the write lock: SQLITE_BUSY is this node's trouble.
    const other = new Database(join(dir, 'state.db'), { timeout: 0 });
    other.exec('BEGIN IMMEDIATE');
    const entry = sqlEntry(2, upsert, ['b', '2']);
    expect(() => store.apply(entry)).toThrow(/SQLITE_BUSY/);
    expect(store.appliedIndex()).toBe(1);
    other.exec('ROLLBACK');
    other.close();
    expect(store.apply(entry).ok).toBe(true);
  });

  it('a malformed entry payload fails that entry, not the node', () => {
    const store = stores.open();
    expect(store.apply({ index: 1, term: 1, lsn: 100, kind: 'sql', data: 'not json' })).toMatchObject({ ok: false, code: 'malformed-entry' });
    expect(store.apply(sqlEntry(2, upsert, ['a', '1'])).ok).toBe(true);
  });
});

describe('dedupe', () => {
  it('applies a client request once; a repeat or an older request is skipped but advances the index', () => {
    const store = stores.open();
    const bump = 'UPDATE kv SET v = v + 1, idx = log_index() WHERE k = ?';
    store.apply(sqlEntry(1, "INSERT INTO kv VALUES ('n', 0, log_index())"));
    expect(store.apply(sqlEntry(2, bump, ['n'], { client: 'c1', request: 1 })).ok).toBe(true);
    expect(store.apply(sqlEntry(3, bump, ['n'], { client: 'c1', request: 1 }))).toEqual({ ok: true, duplicate: true, changes: 0, lastInsertRowid: 0 });
    expect(store.apply(sqlEntry(4, bump, ['n'], { client: 'c2', request: 1 })).ok).toBe(true);
    expect(store.apply(sqlEntry(5, bump, ['n'], { client: 'c1', request: 2 })).ok).toBe(true);
    expect(store.apply(sqlEntry(6, bump, ['n'], { client: 'c1', request: 1 }))).toMatchObject({ ok: true, duplicate: true });
    expect(store.appliedIndex()).toBe(6);
    expect(store.query('SELECT v, idx FROM kv').rows).toEqual([['3', 5]]);
    expect(store.query('SELECT client, request FROM _replica_requests ORDER BY client').rows).toEqual([['c1', 2], ['c2', 1]]);
  });

  it('a failed request is remembered too: its retry does not run again', () => {
    const store = stores.open();
    const insert = "INSERT INTO kv VALUES ('a', '1', 1)";
    store.apply(sqlEntry(1, insert));
    expect(store.apply(sqlEntry(2, insert, [], { client: 'c1', request: 7 })).ok).toBe(false);
    expect(store.apply(sqlEntry(3, insert, [], { client: 'c1', request: 7 }))).toMatchObject({ ok: true, duplicate: true });
  });
});

describe('query', () => {
  it.each([
    ["INSERT INTO kv VALUES ('a', '1', 1)", /execute\(\)/],
    ["UPDATE kv SET v = 'x'", /execute\(\)/],
    ['CREATE TABLE t (a)', /execute\(\)/],
    ['PRAGMA journal_mode = DELETE', /execute\(\)/],
  ])('rejects the write %s and points at execute()', (sql, message) => {
    const store = stores.open();
    const error = (() => {
      try {
        store.query(sql);
      } catch (caught) {
        return caught;
      }
      return null;
    })();
    expect(error).toBeInstanceOf(StatementError);
    expect(error).toMatchObject({ kind: 'bad-statement', problem: 'not-read-only', message: expect.stringMatching(message) });
  });

  it.each([
    ['BEGIN', 'forbidden'],
    ['SELECT 1; SELECT 2', 'multiple-statements'],
    ['SELEC 1', 'syntax'],
    ['SELECT * FROM missing', 'failed'],
    ['', 'empty'],
  ])('turns a mistake in %j into a StatementError (%s)', (sql, problem) => {
    const store = stores.open();
    expect(() => store.query(sql)).toThrow(expect.objectContaining({ kind: 'bad-statement', problem }));
  });

  it('rejects parameters that are not JSON scalars or do not match the placeholders', () => {
    const store = stores.open();
    expect(() => store.query('SELECT ?', [{}])).toThrow(expect.objectContaining({ problem: 'params' }));
    expect(() => store.query('SELECT ?', [1, 2])).toThrow(expect.objectContaining({ problem: 'params' }));
  });

  it('reads the internal tables, returns blobs as bytes and keeps duplicate column names', () => {
    const store = stores.open();
    store.apply(noopEntry(1, 4));
    expect(store.query('SELECT applied_index, applied_term FROM _replica_state').rows).toEqual([[1, 4]]);
    const { columns, rows } = store.query("SELECT x'00ff' AS a, 2 AS a");
    expect(columns).toEqual(['a', 'a']);
    expect(rows[0]?.[0]).toEqual(Buffer.from([0, 255]));
  });

  it(`returns at most ${storeLimits.queryRowsMax} rows and says when it cut the answer`, () => {
    const store = stores.open();
    const rowsMax = storeLimits.queryRowsMax;
    store.apply(
      // Recursive CTEs and joins of more than 4 sources are refused (bounds.ts): a cross join of digits makes the rows 0..rowsMax.
      sqlEntry(
        1,
        `WITH d(x) AS (VALUES ${Array.from({ length: 10 }, (_, i) => `(${i})`).join(', ')}), t(x) AS (VALUES ${Array.from({ length: 20 }, (_, i) => `(${i})`).join(', ')}) INSERT INTO kv SELECT 'k' || i, i, log_index() FROM (SELECT a.x + 10 * b.x + 100 * c.x + 1000 * e.x AS i FROM d a, d b, d c, t e) WHERE i <= ${rowsMax}`,
      ),
    );
    const all = store.query('SELECT k FROM kv');
    expect([all.rows.length, all.truncated]).toEqual([rowsMax, true]);
    const some = store.query('SELECT k FROM kv LIMIT ?', [rowsMax]);
    expect([some.rows.length, some.truncated]).toEqual([rowsMax, false]);
  });
});
