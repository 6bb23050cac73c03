// Statements that could run without end (a running statement cannot be
// interrupted) or build a value over the WAL's largest record are refused:
// before proposing, at apply, and before a query.

import { describe, expect, it } from 'vitest';
import { findStatementProblem, StatementError, storeLimits } from '../../cluster/store/index.js';
import { unboundedProblem } from '../../cluster/store/bounds.js';
import { sqlEntry, useStores } from './helpers.js';

const stores = useStores();
const max = storeLimits.generatedBytesMax;

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
    expect(() => store.query('SELECT zeroblob(?) AS a, zeroblob(?) AS b', [max, max])).toThrow(/over the limit of 16777216 bytes \(queryBytesMax\)/);
  });
});
