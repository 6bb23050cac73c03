// A join of a few sources over a large table passes the text rules and still
// runs without end (a running statement cannot be interrupted): the bound from
// the tables' sizes refuses it at apply, alike on every replica, and before a
// local read. The workload's upsert runs no extra statement for it.

import Database from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { storeLimits, type Store } from '../../cluster/store/index.js';
import { rowBoundProblem, statementRowBound } from '../../cluster/store/row-bound.js';
import { sqlEntry, upsert, useStores } from './helpers.js';

const stores = useStores();
const rowsInKv = 3000;

/** A store whose kv holds `n` rows (entries 1..n), so the next entry is n + 1. */
function filled(n: number): Store {
  const store = stores.open();
  store.applyBatch(Array.from({ length: n }, (_, i) => sqlEntry(i + 1, upsert, [`k${i}`, `v${i}`])));
  return store;
}

const fourWay = "INSERT INTO kv(k,v) SELECT 'x', count(*) FROM kv a, kv b, kv c, kv d";

afterEach(() => {
  vi.restoreAllMocks();
});

describe('join bound from the state', () => {
  it('refuses a 4-way self-join over a large kv at apply, identically on two stores, and the index advances', () => {
    const [one, two] = [filled(rowsInKv), filled(rowsInKv)];
    const entry = sqlEntry(rowsInKv + 1, fourWay);
    const results = [one.apply(entry), two.apply(entry)];
    expect(results[0]).toEqual(results[1]);
    expect(results[0]).toMatchObject({ ok: false, code: 'unbounded' });
    const message = (results[0] as { error: string }).error;
    expect(message).toContain(`kv(${rowsInKv}) × kv(${rowsInKv}) × kv(${rowsInKv}) × kv(${rowsInKv})`);
    expect(message).toContain(String(storeLimits.joinCombinationsMax));
    expect(message).toMatch(/cannot be interrupted/);
    expect(one.appliedIndex()).toBe(rowsInKv + 1);
    expect(one.checksum()).toBe(two.checksum());
    expect(one.query("SELECT count(*) FROM kv WHERE k = 'x'").rows).toEqual([[0]]);
    // Replaying the log (as at a restart with a lost state.db) refuses it again and ends in the same state.
    one.rebuild([...Array.from({ length: rowsInKv }, (_, i) => sqlEntry(i + 1, upsert, [`k${i}`, `v${i}`])), entry]);
    expect(one.appliedIndex()).toBe(rowsInKv + 1);
    expect(one.checksum()).toBe(two.checksum());
  });

  it('counts through subqueries, CTEs, views, UPDATE … FROM and subqueries run per row', () => {
    const store = filled(rowsInKv);
    let index = rowsInKv;
    const apply = (sql: string) => store.apply(sqlEntry(++index, sql));
    expect(apply('CREATE VIEW pairs AS SELECT a.k FROM kv a, kv b')).toMatchObject({ ok: true });
    for (const sql of [
      "INSERT INTO kv(k,v) SELECT 'x', count(*) FROM (SELECT a.k FROM kv a, kv b) s, kv c",
      "INSERT INTO kv(k,v) WITH j AS (SELECT a.k FROM kv a CROSS JOIN kv b) SELECT 'x', count(*) FROM j, kv",
      "INSERT INTO kv(k,v) SELECT 'x', count(*) FROM pairs, kv",
      "UPDATE kv SET v = 'y' FROM kv b, kv c WHERE kv.k = 'k1'",
      "INSERT INTO kv(k,v) SELECT 'x', (SELECT count(*) FROM kv b, kv c WHERE b.v = a.v) FROM kv a",
      "DELETE FROM kv WHERE EXISTS (SELECT 1 FROM kv b, kv c WHERE b.v || c.v = kv.v)",
    ]) {
      expect(apply(sql), sql).toMatchObject({ ok: false, code: 'unbounded' });
    }
    // A local read is refused before it runs.
    expect(() => store.query('SELECT count(*) FROM kv a, kv b, kv c')).toThrow(/row combinations/);
    expect(() => store.query('SELECT count(*) FROM pairs, kv')).toThrow(/view pairs\(kv\(3000\) × kv\(3000\)\) × kv\(3000\)/);
  });

  it('lets a 2-way join over small tables, a single-table scan and a point read run', () => {
    const store = filled(100);
    expect(store.apply(sqlEntry(101, "INSERT INTO kv(k,v) SELECT 'pairs', count(*) FROM kv a, kv b"))).toMatchObject({ ok: true, changes: 1 });
    expect(store.query("SELECT v FROM kv WHERE k = 'pairs'").rows).toEqual([['10000']]);
    expect(store.query('SELECT count(*) FROM kv a JOIN kv b ON a.k = b.k').rows).toEqual([[101]]);
    expect(store.query('SELECT count(*) FROM kv').rows).toEqual([[101]]);
    expect(store.joinBound("SELECT count(*) FROM kv a, kv b, kv c, kv d")).toMatch(/unbounded|row combinations/);
  });

  it('bounds a WITHOUT ROWID table by its count and a rowid table with a column named rowid by another alias', () => {
    const store = stores.open();
    store.apply(sqlEntry(1, 'CREATE TABLE w (id INTEGER PRIMARY KEY, x) WITHOUT ROWID'));
    store.apply(sqlEntry(2, 'CREATE TABLE r (rowid TEXT, x)'));
    store.apply(sqlEntry(3, 'INSERT INTO w VALUES (1, 1), (1000000, 2)'));
    store.apply(sqlEntry(4, "INSERT INTO r(rowid, x) VALUES ('a', 1), ('b', 2)"));
    expect(store.query('SELECT count(*) FROM w a, r b').rows).toEqual([[4]]);
    expect(store.joinBound('SELECT count(*) FROM w a, r b')).toBeNull();
    // A virtual table and the schema table are bounded too.
    store.apply(sqlEntry(5, 'CREATE VIRTUAL TABLE ft USING fts5(v)'));
    store.apply(sqlEntry(6, "INSERT INTO ft(v) VALUES ('a'), ('b'), ('c')"));
    expect(store.query('SELECT count(*) FROM ft a, ft b').rows).toEqual([[9]]);
    // A rowid table counts its rowid span: 2 rows, 1,000,000 apart.
    store.apply(sqlEntry(7, 'CREATE TABLE big (x)'));
    store.apply(sqlEntry(8, 'INSERT INTO big(rowid, x) VALUES (1, 1), (1000000, 2)'));
    expect(store.joinBound('SELECT count(*) FROM ft a, ft b, ft c, ft d, big')).toMatch(/ft\(3\) × ft\(3\) × ft\(3\) × ft\(3\) × big\(1000000\)/);
    expect(store.joinBound('SELECT count(*) FROM sqlite_master a, sqlite_master b, big')).toMatch(/sqlite_master\(\d+\) × sqlite_master\(\d+\) × big\(1000000\)/);
  });

  it('runs no extra statement for the workload upsert or a point read', () => {
    const store = filled(10);
    // Warm the statement cache and the schema cache.
    store.apply(sqlEntry(11, upsert, ['a', '1']));
    store.query('SELECT v FROM kv WHERE k = ?', ['a']);
    const prepare = vi.spyOn(Database.prototype, 'prepare');
    for (let i = 0; i < 20; i++) store.apply(sqlEntry(12 + i, upsert, [`a${i}`, 'v']));
    expect(store.joinBound(upsert)).toBeNull();
    expect(prepare).not.toHaveBeenCalled();
    expect(statementRowBound(upsert)).toMatchObject({ kind: 'rows' });
    // The spy sees what the bound runs: a join asks the tables' sizes.
    store.apply(sqlEntry(32, "INSERT INTO kv(k,v) SELECT 'j', count(*) FROM kv a, kv b"));
    expect(prepare).toHaveBeenCalled();
  });

  it('values a CTE named many times once: CTEs whose subqueries name the one before thrice end quickly', () => {
    const store = filled(3);
    const ctes = ['c0 AS (SELECT 1 AS x FROM kv)'];
    for (let i = 1; i <= 20; i++) ctes.push(`c${i} AS (SELECT (SELECT x FROM c${i - 1}) + (SELECT x FROM c${i - 1}) AS x FROM c${i - 1})`);
    const sql = `INSERT INTO kv(k,v) WITH ${ctes.join(', ')} SELECT 'x', x FROM c20`;
    const result = store.apply(sqlEntry(4, sql));
    expect(result).toMatchObject({ ok: false, code: 'unbounded', error: expect.stringMatching(/more than 1\.8e\+308 row combinations/) });
  });

  it('leaves an unknown table to SQLite and needs nothing for CREATE VIEW', () => {
    const store = stores.open();
    expect(store.apply(sqlEntry(1, 'SELECT 1 FROM nosuch a, nosuch b'.replace('SELECT', "INSERT INTO kv(k,v) SELECT 'x',")))).toMatchObject({ ok: false, code: 'SQLITE_ERROR' });
    expect(rowBoundProblem('CREATE VIEW v AS SELECT 1 FROM kv a, kv b', new Database(':memory:'), () => new Map())).toBeNull();
  });
});
