// Statements that could run without end (a running statement cannot be
// interrupted) or build a value over the WAL's largest record are refused:
// before proposing, at apply, and before a query.

import { describe, expect, it } from 'vitest';
import { findStatementProblem, StatementError, storeLimits } from '../../cluster/store/index.js';
import { unboundedProblem } from '../../cluster/store/bounds.js';
import { sqlEntry, useStores } from './helpers.js';

const stores = useStores();
const max = storeLimits.generatedBytesMax;

/** n cross-joined 10-row VALUES lists. */
const tenValues = (n: number): string => Array.from({ length: n }, (_, i) => `(VALUES ${rows(10)}) t${i}`).join(', ');
/** `(0), (1), …` n rows. */
const rows = (n: number): string => Array.from({ length: n }, (_, i) => `(${i})`).join(', ');

const loopWrite = "INSERT INTO kv(k,v) WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT 'loop', max(x) FROM c";

describe('unbounded statements', () => {
  it.each([
    [loopWrite, []],
    // RECURSIVE is optional in SQLite: a CTE that names itself recurses without it.
    ["INSERT INTO kv(k,v) WITH c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT 'loop', max(x) FROM c", []],
    ["INSERT INTO kv(k,v) WITH a(y) AS (SELECT 1), \"C\"(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT 'loop', max(x) FROM c", []],
    ['CREATE VIEW forever AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT x FROM c', []],
    ["INSERT INTO kv(k,v) VALUES ('z', zeroblob(1e9))", []],
    ["INSERT INTO kv(k,v) VALUES ('z', zeroblob(?))", [max + 1]],
    ["INSERT INTO kv(k,v) VALUES ('z', zeroblob(length(v) * 1000))", []],
    ["INSERT INTO kv(k,v) VALUES ('p', printf('%.*c', 1e9, 'x'))", []],
    ["INSERT INTO kv(k,v) VALUES ('p', printf('%600000000c', 'x'))", []],
    ["INSERT INTO kv(k,v) VALUES ('p', format(?, 'x'))", ['%.900000000c']],
    ["INSERT INTO kv(k,v) SELECT 'p', printf(v, 1) FROM kv", []],
    // Together over the limit, each alone under it: five 16 MB printf()s concatenated, two widths in one format.
    [`INSERT INTO kv(k,v) VALUES ('huge', ${Array.from({ length: 5 }, () => "printf('%16000000c', 'x')").join(' || ')})`, []],
    ["INSERT INTO kv(k,v) VALUES ('p', printf('%9000000c%9000000c', 'x', 'y'))", []],
    ["INSERT INTO kv(k,v) VALUES ('p', zeroblob(?) || printf('%9000000c', 'x'))", [9_000_000]],
    // Joins: ten 10-row VALUES lists cross-joined (10^10 rows) wedged every node; the sources are counted through subqueries and CTEs.
    [`INSERT INTO kv(k,v) SELECT 'x', count(*) FROM ${tenValues(10)}`, []],
    [`INSERT INTO kv(k,v) SELECT 'x', count(*) FROM ${tenValues(5)}`, []],
    ["INSERT INTO kv(k,v) SELECT 'x', count(*) FROM kv a JOIN kv b ON 1 CROSS JOIN kv c, kv d LEFT JOIN kv e", []],
    ["INSERT INTO kv(k,v) SELECT 'x', count(*) FROM kv a, (SELECT 1 FROM kv b, kv c, (kv d JOIN kv e))", []],
    ["INSERT INTO kv(k,v) WITH w AS (SELECT 1 FROM kv a, kv b, kv c) SELECT 'x', count(*) FROM w x, w y", []],
    [`INSERT INTO kv(k,v) WITH n(x) AS (VALUES ${rows(200)}) SELECT 'x', count(*) FROM n a, n b, n c`, []],
    [`INSERT INTO kv(k,v) SELECT 'x', count(*) FROM (${Array.from({ length: 101 }, () => 'SELECT 1').join(' UNION ALL ')}) a, (VALUES ${rows(100)}) b, (VALUES ${rows(100)}) c`, []],
    [`CREATE VIEW big AS SELECT 1 FROM ${tenValues(5)}`, []],
    // UPDATE … FROM joins the updated table as well.
    ['UPDATE kv SET v = a.v FROM kv a, kv b, kv c, kv d', []],
    // Nested past what the analysis follows: refused, never a stack overflow (which at apply would crash the node).
    [`INSERT INTO kv(k,v) SELECT 'x', 1 FROM ${'(SELECT * FROM '.repeat(3000)}kv${') x'.repeat(3000)}`, []],
    [`CREATE TRIGGER t AFTER INSERT ON kv BEGIN INSERT INTO kv(k,v) SELECT 'x', count(*) FROM ${tenValues(5)}; END`, []],
  ])('refuses %s (%j) before proposing, naming why', (sql, params) => {
    const problem = findStatementProblem(sql, params);
    expect(problem).toBeInstanceOf(StatementError);
    expect(problem?.problem).toBe('unbounded');
    expect(problem?.message).toMatch(/cannot be interrupted/);
  });

  it.each([
    ["INSERT INTO kv(k,v) VALUES ('z', zeroblob(1024))", []],
    ["INSERT INTO kv(k,v) VALUES ('z', zeroblob(?))", [max]],
    ["INSERT INTO kv(k,v) VALUES ('p', printf('%05d-%.2f %s', 3, 2.5, 'x'))", []],
    ["INSERT INTO kv(k,v) VALUES ('p', printf(?, 3))", ['%10d']],
    ["INSERT INTO kv(k,v) WITH a(x) AS (SELECT 1), b(y) AS (SELECT x + 1 FROM a) SELECT 'cte', y FROM b", []],
    ["INSERT INTO kv(k,v) VALUES ('recursive', 'WITH RECURSIVE in a string')", []],
    ["INSERT INTO kv(k,v) VALUES ('p', printf('%8000000c', 'x') || zeroblob(8000000))", []],
    [`INSERT INTO kv(k,v) SELECT 'x', count(*) FROM ${tenValues(4)}`, []],
    ["INSERT INTO kv(k,v) SELECT a.k, b.v FROM kv a JOIN kv b ON a.k = b.k WHERE a.k IN (SELECT k FROM kv) UNION ALL SELECT k, v FROM kv c, kv d", []],
    ["DELETE FROM kv WHERE k IN (SELECT a.k FROM kv a, kv b WHERE a.v IS DISTINCT FROM b.v)", []],
    [`INSERT INTO kv(k,v) WITH n(x) AS (VALUES ${rows(100)}) SELECT 'x', count(*) FROM n a, n b, n c`, []],
    ['UPDATE kv SET v = a.v FROM kv a, kv b, kv c WHERE a.k = kv.k', []],
    ["UPDATE kv SET v = (SELECT max(v) FROM kv a, kv b, kv c, kv d) WHERE k = 'x'", []],
  ])('accepts %s (%j)', (sql, params) => {
    expect(findStatementProblem(sql, params)).toBeNull();
  });

  it('refuses the loop at apply on every replica even if a leader logged it, and the index advances', () => {
    const [first, second] = [stores.open(), stores.open()];
    for (const store of [first, second]) {
      expect(store.apply(sqlEntry(1, loopWrite))).toMatchObject({ ok: false, code: 'unbounded' });
      expect(store.apply(sqlEntry(2, "INSERT INTO kv(k,v) VALUES ('after', 1)"))).toMatchObject({ ok: true, changes: 1 });
      expect(store.appliedIndex()).toBe(2);
    }
    expect(first.checksum()).toBe(second.checksum());
  });

  it('refuses the ten-way cross join at apply on every replica even if a leader logged it, and on a local read', () => {
    const join = `INSERT INTO kv(k,v) SELECT 'x', count(*) FROM ${tenValues(10)}`;
    const [first, second] = [stores.open(), stores.open()];
    for (const store of [first, second]) {
      const result = store.apply(sqlEntry(1, join));
      expect(result).toMatchObject({ ok: false, code: 'unbounded' });
      expect(result.ok === false && result.error).toMatch(/a FROM clause that joins 10 row sources.*at most 4/);
      expect(store.apply(sqlEntry(2, "INSERT INTO kv(k,v) VALUES ('after', 1)"))).toMatchObject({ ok: true, changes: 1 });
    }
    expect(first.checksum()).toBe(second.checksum());
    expect(() => first.query(`SELECT count(*) FROM ${tenValues(10)}`)).toThrow(expect.objectContaining({ problem: 'unbounded' }));
    expect(first.query(`SELECT count(*) FROM ${tenValues(3)}`).rows).toEqual([[1000]]);
    const huge = `INSERT INTO kv(k,v) VALUES ('huge', ${Array.from({ length: 5 }, () => "printf('%16000000c', 'x')").join(' || ')})`;
    expect(first.apply(sqlEntry(3, huge))).toMatchObject({ ok: false, code: 'unbounded' });
    expect(() => first.query("SELECT length(printf('%16777216c', 'x') || printf('%16777216c', 'x'))")).toThrow(/generate up to 33554432 bytes together/);
  });

  it('refuses the same CTE, and oversized values, on a read before it runs', () => {
    const store = stores.open();
    const read = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT max(x) FROM c';
    expect(() => store.query(read)).toThrow(expect.objectContaining({ problem: 'unbounded' }));
    expect(() => store.query('SELECT length(randomblob(?))', [1e9])).toThrow(/randomblob\(\) with a size of 1000000000/);
    expect(() => store.query("SELECT printf('%.*c', 1e9, 'x')")).toThrow(/printf\(\)/);
    expect(store.query('SELECT length(randomblob(16))').rows).toEqual([[16]]);
    expect(unboundedProblem('SELECT 1', [])).toBeNull();
  });

  it(`cuts a query's answer at ${storeLimits.queryBytesMax} bytes, and refuses a first row over it`, () => {
    const store = stores.open();
    const mib = 2 ** 20;
    for (let i = 1; i <= 3; i++) expect(store.apply(sqlEntry(i, 'INSERT INTO kv(k, v) VALUES (?, zeroblob(?))', [`big${i}`, 7 * mib])).ok).toBe(true);
    const answer = store.query('SELECT v FROM kv ORDER BY k');
    expect([answer.rows.length, answer.truncated]).toEqual([2, true]);
    // Generated values are capped per statement (generatedBytesMax), so the oversized first row is built from stored ones.
    const firstRow = "SELECT a.v, b.v, c.v FROM kv a, kv b, kv c WHERE a.k = 'big1' AND b.k = 'big2' AND c.k = 'big3'";
    expect(() => store.query(firstRow)).toThrow(/over the limit of 16777216 bytes \(queryBytesMax\)/);
  });
});
