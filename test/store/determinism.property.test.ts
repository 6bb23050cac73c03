// Issue 13, "Determinism closed": statements drawn from a small grammar —
// writes and CREATEs over kv and three tables, with expressions from a pool of
// deterministic and non-deterministic functions, pragma functions, dbstat,
// sqlite_schema, rowids near the largest, 'now' built at run time or read from
// a column, an AUTOINCREMENT counter set near the largest rowid, and
// log_index() in every place —
// run on two fresh stores, as two nodes would apply them: at different paths,
// different wall times, and with different page layouts. Each statement is
// either refused by the validator (the leader never proposes it) or gives the
// same result on both stores and leaves them with the same checksum.

import Database from 'better-sqlite3';
import fc from 'fast-check';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findStatementProblem, Store } from '../../cluster/store/index.js';
import { sqlEntry } from './helpers.js';

const rowids = ['9223372036854775807', '9223372036854775806', '(9223372036854775806 + 1)', '0x7fffffffffffffff', "CAST('9223372036854775807' AS INTEGER)", '1', '42', '-9223372036854775808'];

const leaf = fc.constantFrom(
  '1',
  "'x'",
  'NULL',
  '3.5',
  "x'00ff'",
  ...rowids,
  'abs(-3)',
  "upper('ab')",
  "length('abc')",
  "coalesce(NULL, 'c')",
  "date('2024-01-31', '+1 month')",
  "json_array(1, 'a')",
  'random()',
  'randomblob(2)',
  'changes()',
  'total_changes()',
  'last_insert_rowid()',
  'sqlite_version()',
  'sqlite_source_id()',
  "datetime('now')",
  "'now'",
  "strftime('%f', 'n' || 'ow')",
  "(SELECT max(strftime('%f', v)) FROM kv)",
  "datetime('2024-01-01', (SELECT max(v) FROM kv))",
  "julianday('now')",
  'unixepoch()',
  'CURRENT_TIMESTAMP',
  'log_index()',
  "(SELECT file FROM pragma_database_list WHERE name = 'main')",
  '(SELECT page_count FROM pragma_page_count)',
  "(SELECT count(*) FROM pragma_table_info('kv'))",
  '(SELECT count(*) FROM dbstat)',
  "(SELECT sum(pgoffset) FROM dbstat WHERE name = 'kv')",
  '(SELECT group_concat(rootpage) FROM sqlite_schema)',
  '(SELECT max(rootpage) FROM sqlite_master)',
  '(SELECT count(*) FROM sqlite_stat1)',
  '(SELECT max(rowid) FROM kv)',
  '(SELECT count(*) FROM t)',
  '(SELECT sqlite_offset(k) FROM kv LIMIT 1)',
);

const expr: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: leaf },
  { weight: 1, arbitrary: fc.tuple(leaf, fc.constantFrom('+', '||', '*'), leaf).map(([a, op, b]) => `(${a} ${op} ${b})`) },
);
/** Expressions for CREATE statements: log_index() often, since there it is evaluated outside apply. */
const createExpr = fc.oneof(expr, fc.constantFrom('log_index()', '(log_index() + a)', 'coalesce(log_index(), 0)'));
const key = fc.constantFrom("'a'", "'b'", "'c'", 'log_index()', "(SELECT file FROM pragma_database_list WHERE name = 'main')");
const rowid = fc.constantFrom(...rowids);

const statement: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(key, expr).map(([k, v]) => `INSERT INTO kv(k, v) VALUES (${k}, ${v})`),
  fc.tuple(key, expr).map(([k, v]) => `INSERT INTO kv(k, v, idx) VALUES (${k}, ${v}, log_index()) ON CONFLICT(k) DO UPDATE SET v = excluded.v, idx = excluded.idx`),
  fc.tuple(rowid, fc.nat(9), expr).map(([r, n, v]) => `INSERT INTO kv(rowid, k, v) VALUES (${r}, 'r${n}', ${v})`),
  fc.tuple(fc.nat(99), expr).map(([n, v]) => `INSERT INTO kv(k, v) VALUES ('p${n}', ${v})`),
  fc.constant('CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, a, b)'),
  fc.tuple(rowid, expr).map(([r, a]) => `INSERT INTO t(id, a) VALUES (${r}, ${a})`),
  fc.tuple(expr, expr).map(([a, b]) => `INSERT INTO t(a, b) VALUES (${a}, ${b})`),
  expr.map((a) => `INSERT INTO t(a) SELECT ${a} FROM kv`),
  fc.tuple(expr, key).map(([v, k]) => `UPDATE kv SET v = ${v} WHERE k = ${k}`),
  rowid.map((r) => `UPDATE t SET id = ${r} WHERE id = (SELECT min(id) FROM t)`),
  key.map((k) => `DELETE FROM kv WHERE k = ${k}`),
  expr.map((a) => `DELETE FROM t WHERE a = ${a}`),
  createExpr.map((e) => `CREATE TABLE IF NOT EXISTS g (a, b AS (${e}))`),
  createExpr.map((e) => `CREATE TABLE IF NOT EXISTS d (a, b DEFAULT (${e}))`),
  createExpr.map((e) => `CREATE VIEW IF NOT EXISTS v AS SELECT ${e} AS x`),
  createExpr.map((e) => `CREATE INDEX IF NOT EXISTS t_e ON t ((${e}))`),
  expr.map((e) => `CREATE TRIGGER IF NOT EXISTS t_audit AFTER INSERT ON t BEGIN INSERT INTO kv(k, v) VALUES ('trig' || new.id, ${e}) ON CONFLICT(k) DO NOTHING; END`),
  expr.map((e) => `INSERT INTO g(a) VALUES (${e})`),
  expr.map((e) => `INSERT INTO d(a) VALUES (${e})`),
  fc.constant('CREATE TABLE IF NOT EXISTS ai (id INTEGER PRIMARY KEY AUTOINCREMENT, a)'),
  expr.map((a) => `INSERT INTO ai(a) VALUES (${a})`),
  rowid.map((r) => `UPDATE sqlite_sequence SET seq = ${r} WHERE name = 'ai'`),
  fc.constant('ANALYZE'),
  fc.constant("INSERT INTO kv(k, v) SELECT 'stat', stat FROM sqlite_stat1"),
  fc.constant('CREATE VIRTUAL TABLE IF NOT EXISTS pages USING dbstat'),
);

/** A store whose file was used before it was initialized, so its tables start on other pages. */
function openWithOtherLayout(dir: string): Store {
  mkdirSync(dir, { recursive: true });
  const db = new Database(join(dir, 'state.db'));
  db.exec('CREATE TABLE junk (a); INSERT INTO junk SELECT zeroblob(3000) FROM (SELECT 1 UNION SELECT 2 UNION SELECT 3 UNION SELECT 4); DROP TABLE junk');
  db.close();
  return Store.open({ dir });
}

function waitMs(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

describe('determinism property (issue 13)', () => {
  it('every generated statement is refused by the validator or applies alike on two different nodes', async () => {
    let accepted = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(statement, { minLength: 1, maxLength: 12 }), async (statements) => {
        const root = mkdtempSync(join(tmpdir(), 'replica-lab-prop-'));
        const a = Store.open({ dir: join(root, 'a') });
        const b = openWithOtherLayout(join(root, 'node-b-at-a-longer-path', 'data'));
        try {
          const proposed = statements.filter((sql) => findStatementProblem(sql) === null);
          accepted += proposed.length;
          refused += statements.length - proposed.length;
          const entries = proposed.map((sql, i) => sqlEntry(i + 1, sql));
          const resultsA = entries.map((entry) => [a.apply(entry), a.checksum()] as const);
          waitMs(3); // b applies the same entries later, as a follower would
          const resultsB = entries.map((entry) => [b.apply(entry), b.checksum()] as const);
          entries.forEach((_, i) => expect(resultsB[i], `after ${proposed.slice(0, i + 1).join(';\n')}`).toEqual(resultsA[i]));
          // Local reads of what the CREATEs made: the same rows, or the same error, on both nodes.
          for (const read of ['SELECT * FROM v', 'SELECT rowid, * FROM g', 'SELECT * FROM t ORDER BY id']) {
            const outcome = (store: Store) => {
              try {
                return store.query(read);
              } catch (error) {
                return (error as Error).message;
              }
            };
            expect(outcome(b), read).toEqual(outcome(a));
          }
          const background = await Promise.all([a.checksumInBackground(), b.checksumInBackground()]);
          expect(background[1]).toEqual(background[0]);
        } finally {
          a.close();
          b.close();
          rmSync(root, { recursive: true, force: true });
        }
      }),
      { numRuns: 150 },
    );
    // The grammar must exercise both sides.
    expect(accepted).toBeGreaterThan(100);
    expect(refused).toBeGreaterThan(100);
  }, 120_000);
});
