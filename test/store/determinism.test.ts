// Issue 13, rows 5, 6, 7 and 10, on the store: what would let two replicas
// that apply the same log end in different states is refused at apply, the
// same way on every node, and the checksum never meets a value it cannot read.

import { describe, expect, it } from 'vitest';
import type { Store } from '../../cluster/store/index.js';
import { history, sqlEntry, useStores } from './helpers.js';

const stores = useStores();
const max = '9223372036854775807';

/** Two stores in dirs of different path lengths, as two nodes would have. */
function twoNodes(): [Store, Store] {
  const a = stores.open();
  const deeper = `${stores.dir()}/a-much-longer-directory-name`;
  return [a, stores.open(deeper)];
}

function applyBoth(nodes: readonly Store[], index: number, sql: string, params: readonly unknown[] = []) {
  const results = nodes.map((store) => store.apply(sqlEntry(index, sql, params)));
  expect(results[1]).toEqual(results[0]);
  return results[0]!;
}

describe('rowid exhaustion (row 6)', () => {
  it('refuses a write that leaves the largest rowid in a table, so later inserts keep deterministic rowids', () => {
    const nodes = twoNodes();
    const refused = applyBoth(nodes, 1, `INSERT INTO kv(rowid, k, v) VALUES (${max}, 'max', 'x')`);
    expect(refused).toMatchObject({ ok: false, code: 'non-deterministic' });
    expect(refused.ok === false && refused.error).toMatch(/table kv would hold rowid 9223372036854775807, the largest SQLite has: after it SQLite picks new rowids at random/);
    for (let i = 0; i < 5; i++) expect(applyBoth(nodes, 2 + i, 'INSERT INTO kv(k, v) VALUES (?, ?)', [`k${i}`, 'v'])).toMatchObject({ ok: true, changes: 1, lastInsertRowid: i + 1 });
    expect(nodes[0].query('SELECT count(*) FROM kv WHERE k = ?', ['max']).rows).toEqual([[0]]);
    expect(nodes[0].checksum()).toBe(nodes[1].checksum());
  });

  it('catches the largest rowid however it is reached: a parameter, arithmetic, an UPDATE, a trigger, an INTEGER PRIMARY KEY', () => {
    const nodes = twoNodes();
    let index = 0;
    const run = (sql: string, params: readonly unknown[] = []) => applyBoth(nodes, ++index, sql, params);
    expect(run('CREATE TABLE t (id INTEGER PRIMARY KEY, a)')).toMatchObject({ ok: true });
    expect(run('CREATE TABLE log (n)')).toMatchObject({ ok: true });
    const attempts: [string, unknown[]][] = [
      ['INSERT INTO t (id, a) VALUES (?, 1)', [max]],
      ['INSERT INTO t (id, a) VALUES (9223372036854775806 + 1, 1)', []],
      ['INSERT INTO t (id, a) VALUES (CAST(? AS INTEGER), 1)', [max]],
      ['INSERT INTO t (id, a) VALUES (0x7fffffffffffffff, 1)', []],
    ];
    for (const [sql, params] of attempts) expect(run(sql, params), sql).toMatchObject({ ok: false, code: 'non-deterministic' });
    expect(run('INSERT INTO t (id, a) VALUES (5, 1)')).toMatchObject({ ok: true });
    expect(run(`UPDATE t SET id = ${max} WHERE id = 5`)).toMatchObject({ ok: false, code: 'non-deterministic' });
    expect(run(`CREATE TRIGGER t_log AFTER INSERT ON t BEGIN INSERT INTO log (rowid, n) VALUES (${max}, new.id); END`)).toMatchObject({ ok: true });
    const viaTrigger = run('INSERT INTO t (id, a) VALUES (6, 1)');
    expect(viaTrigger.ok === false && viaTrigger.error).toMatch(/table log would hold rowid/);
    // Undone whole: the row the trigger's statement inserted into t is gone too.
    expect(nodes[0].query('SELECT id FROM t ORDER BY id').rows).toEqual([[5]]);
    // Just below the largest rowid is allowed; the next plain insert would land on it and is refused.
    expect(run('CREATE TABLE u (a)')).toMatchObject({ ok: true });
    expect(run('INSERT INTO u (rowid, a) VALUES (9223372036854775806, 1)')).toMatchObject({ ok: true });
    expect(run('INSERT INTO u (a) VALUES (2)')).toMatchObject({ ok: false, code: 'non-deterministic' });
    // A WITHOUT ROWID table has no rowid to exhaust.
    expect(run('CREATE TABLE w (id INTEGER PRIMARY KEY, a) WITHOUT ROWID')).toMatchObject({ ok: true });
    expect(run('INSERT INTO w VALUES (?, 1)', [max])).toMatchObject({ ok: true });
    expect(nodes[0].checksum()).toBe(nodes[1].checksum());
  });

  it('gives the same results in one batch as one entry at a time: the refused statement is undone alone, the rest of the batch kept', () => {
    const [a, b] = twoNodes();
    const log = [
      sqlEntry(1, 'CREATE TABLE t (id INTEGER PRIMARY KEY, a)'),
      sqlEntry(2, 'INSERT INTO t VALUES (1, 1)', [], { client: 'c', request: 1 }),
      sqlEntry(3, 'INSERT INTO t VALUES (?, 2)', [max], { client: 'c', request: 2 }),
      sqlEntry(4, 'INSERT INTO t VALUES (2, 3)', [], { client: 'c', request: 3 }),
      sqlEntry(5, 'CREATE TABLE u (a)'),
      sqlEntry(6, `INSERT INTO u (rowid, a) VALUES (${max}, 1)`),
      sqlEntry(7, 'INSERT INTO u (a) VALUES (2)'),
    ];
    const batched = a.applyBatch(log);
    const single = log.map((entry) => b.apply(entry));
    expect(batched).toEqual(single);
    expect(batched.map((r) => r.ok)).toEqual([true, true, false, true, true, false, true]);
    expect([a.appliedIndex(), a.checksum()]).toEqual([7, b.checksum()]);
    expect(a.query('SELECT id FROM t ORDER BY id').rows).toEqual([[1], [2]]);
    expect(a.query('SELECT rowid FROM u').rows).toEqual([[1]]);
    // The refused write's request is recorded all the same: its retry is a duplicate.
    expect(a.apply(sqlEntry(8, 'INSERT INTO t VALUES (?, 2)', [max], { client: 'c', request: 2 }))).toMatchObject({ ok: true, duplicate: true });
  });

  it('refuses an AUTOINCREMENT counter at the largest rowid, whose next insert would fail with SQLITE_FULL and stop every node as a full disk', () => {
    const nodes = twoNodes();
    let index = 0;
    const run = (sql: string, params: readonly unknown[] = []) => applyBoth(nodes, ++index, sql, params);
    expect(run('CREATE TABLE ai(id INTEGER PRIMARY KEY AUTOINCREMENT, a)')).toMatchObject({ ok: true });
    expect(run("INSERT INTO ai(a) VALUES ('first')")).toMatchObject({ ok: true });
    const counter = run(`UPDATE sqlite_sequence SET seq = ${max} WHERE name = 'ai'`);
    expect(counter).toMatchObject({ ok: false, code: 'non-deterministic' });
    expect(counter.ok === false && counter.error).toMatch(/the AUTOINCREMENT counter of table ai \(its row in sqlite_sequence\) would reach 9223372036854775807.*SQLITE_FULL, which SQLite also reports for a full disk/);
    // However it gets there: a REAL or TEXT counter SQLite reads as the maximum, an explicit id that moves the counter.
    expect(run("UPDATE sqlite_sequence SET seq = 1e19 WHERE name = 'ai'")).toMatchObject({ ok: false, code: 'non-deterministic' });
    expect(run(`UPDATE sqlite_sequence SET seq = '${max}' WHERE name = 'ai'`)).toMatchObject({ ok: false, code: 'non-deterministic' });
    expect(run("INSERT INTO sqlite_sequence(name, seq) VALUES ('ai', 9.3e18)")).toMatchObject({ ok: false, code: 'non-deterministic' });
    expect(run('INSERT INTO ai(id, a) VALUES (?, ?)', [max, 'top'])).toMatchObject({ ok: false, code: 'non-deterministic' });
    // The next plain insert is an ordinary one on every node: no SQLITE_FULL, no wedge.
    expect(run("INSERT INTO ai(a) VALUES ('x')")).toMatchObject({ ok: true, lastInsertRowid: 2 });
    expect(run("UPDATE sqlite_sequence SET seq = 100 WHERE name = 'ai'")).toMatchObject({ ok: true });
    expect(run("INSERT INTO ai(a) VALUES ('y')")).toMatchObject({ ok: true, lastInsertRowid: 101 });
    expect(nodes[0].checksum()).toBe(nodes[1].checksum());
    // In one batch (no SAVEPOINT per statement until the check trips) the same.
    const [a, b] = twoNodes();
    const log = history(['CREATE TABLE ai(id INTEGER PRIMARY KEY AUTOINCREMENT, a)', "INSERT INTO ai(a) VALUES ('first')", `UPDATE sqlite_sequence SET seq = ${max}`, "INSERT INTO ai(a) VALUES ('x')"]);
    expect(a.applyBatch(log).map((r) => r.ok)).toEqual([true, true, false, true]);
    expect(log.map((entry) => b.apply(entry)).map((r) => r.ok)).toEqual([true, true, false, true]);
    expect(a.checksum()).toBe(b.checksum());
  });

  it('checks tables created, renamed and rebuilt after the first write', () => {
    const [a, b] = twoNodes();
    const log = history(['CREATE TABLE x (a)', 'INSERT INTO x VALUES (1)', 'ALTER TABLE x RENAME TO y', `INSERT INTO y (rowid, a) VALUES (${max}, 2)`]);
    const results = log.map((entry) => a.apply(entry));
    expect(results.map((r) => r.ok)).toEqual([true, true, true, false]);
    b.rebuild(log);
    expect(b.checksum()).toBe(a.checksum());
    expect(b.query('SELECT count(*) FROM y').rows).toEqual([[1]]);
  });
});

describe('log_index() outside apply (row 10)', () => {
  it('refuses it in a generated column at apply, so the checksum and reads never evaluate it', async () => {
    const nodes = twoNodes();
    const refused = applyBoth(nodes, 1, 'CREATE TABLE g(a, b AS (log_index()))');
    expect(refused).toMatchObject({ ok: false, code: 'forbidden' });
    expect(applyBoth(nodes, 2, 'CREATE TABLE g(a, b)')).toMatchObject({ ok: true });
    expect(applyBoth(nodes, 3, 'INSERT INTO g VALUES (1, log_index())')).toMatchObject({ ok: true });
    expect(nodes[0].checksum()).toBe(nodes[1].checksum());
    expect((await nodes[0].checksumInBackground())?.digest).toBe(nodes[1].checksum());
  });

  it('keeps it in a trigger body, which runs only inside a write', () => {
    const nodes = twoNodes();
    expect(applyBoth(nodes, 1, 'CREATE TRIGGER stamp AFTER INSERT ON kv BEGIN UPDATE kv SET idx = log_index() WHERE k = new.k; END')).toMatchObject({ ok: true });
    expect(applyBoth(nodes, 2, "INSERT INTO kv(k, v) VALUES ('a', 'b')")).toMatchObject({ ok: true });
    expect(nodes[0].query("SELECT idx FROM kv WHERE k = 'a'").rows).toEqual([[2]]);
    expect(nodes[0].checksum()).toBe(nodes[1].checksum());
  });
});

describe("the clock read through an expression or a column", () => {
  it("refuses datetime('n' || 'ow') and datetime(v) with v = 'now' at apply too, the same on every node", () => {
    const nodes = twoNodes();
    expect(applyBoth(nodes, 1, "INSERT INTO kv(k, v) VALUES ('nowkey', 'now')")).toMatchObject({ ok: true });
    const statements = [
      "INSERT INTO kv(k, v) VALUES ('a9', datetime('n' || 'ow') || ' ' || strftime('%f', 'n' || 'ow'))",
      "INSERT INTO kv(k, v) SELECT 'a10', strftime('%f', v) FROM kv WHERE k = 'nowkey'",
    ];
    statements.forEach((sql, i) => {
      const result = applyBoth(nodes, i + 2, sql);
      expect(result, sql).toMatchObject({ ok: false, code: 'non-deterministic' });
      expect(result.ok === false && result.error).toMatch(/neither a literal nor a \? parameter: an expression or a column could hold 'now'/);
    });
    expect(nodes[0].checksum()).toBe(nodes[1].checksum());
  });
});

describe("one node's file and library (rows 5 and 7)", () => {
  it('refuses pragma functions, dbstat and sqlite_version() at apply too, the same on every node', () => {
    const nodes = twoNodes();
    const statements = [
      "INSERT INTO kv(k,v) SELECT 'f', file FROM pragma_database_list WHERE name='main'",
      "INSERT INTO kv(k,v) SELECT 'pages', count(*) FROM dbstat",
      "INSERT INTO kv(k,v) VALUES ('v', sqlite_version())",
    ];
    statements.forEach((sql, i) => expect(applyBoth(nodes, i + 1, sql), sql).toMatchObject({ ok: false, code: 'non-deterministic' }));
    expect(nodes[0].checksum()).toBe(nodes[1].checksum());
  });
});
