// Rollback: undone entries are written to <dir>/rollback/*.jsonl, and the
// rebuilt state is exactly what a fresh store gets from the kept log.

import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Entry } from '../../cluster/core/index.js';
import { StoreAssertionError } from '../../cluster/store/index.js';
import { applyAll, history, noopEntry, sqlEntry, upsert, useStores } from './helpers.js';

const stores = useStores();

const kept: Entry[] = [
  ...history([
    'CREATE TABLE parent (id INTEGER PRIMARY KEY)',
    'CREATE TABLE child (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES parent (id))',
    'INSERT INTO parent VALUES (1)',
    'INSERT INTO child VALUES (10, 1)',
  ]),
  sqlEntry(5, upsert, ['a', 'kept'], { client: 'c1', request: 1 }),
];

/** Undone entries in log order: new tables of every kind, kv altered, a dedupe record, a noop. */
const undoneAscending: Entry[] = [
  sqlEntry(6, upsert, ['a', 'undone'], { term: 2, client: 'c1', request: 2 }),
  sqlEntry(7, 'CREATE TABLE counters (id INTEGER PRIMARY KEY AUTOINCREMENT, n)', [], { term: 2 }),
  sqlEntry(8, 'INSERT INTO counters (n) VALUES (?)', [41], { term: 2 }),
  sqlEntry(9, 'CREATE VIEW doomed AS SELECT * FROM counters', [], { term: 2 }),
  sqlEntry(10, 'CREATE TRIGGER bump AFTER INSERT ON parent BEGIN UPDATE counters SET n = n + 1; END', [], { term: 2 }),
  sqlEntry(11, 'CREATE INDEX child_parent ON child (parent)', [], { term: 2 }),
  sqlEntry(12, 'ALTER TABLE kv ADD COLUMN extra TEXT', [], { term: 2 }),
  sqlEntry(13, 'INSERT INTO parent VALUES (2)', [], { term: 2 }),
  noopEntry(14, 2),
  sqlEntry(15, 'ANALYZE', [], { term: 2 }),
];

describe('rollbackAndRebuild', () => {
  it('writes the undone entries to a jsonl file and rebuilds exactly the state of the kept log', () => {
    const dir = stores.dir();
    const store = stores.open(dir);
    applyAll(store, [...kept, ...undoneAscending]);
    expect(store.query('SELECT n FROM counters').rows).toEqual([[42]]);

    const now = new Date('2024-03-01T12:34:56.789Z');
    const path = store.rollbackAndRebuild({ undone: [...undoneAscending].reverse(), log: kept, now });
    expect(dirname(path)).toBe(join(dir, 'rollback'));
    expect(basename(path)).toBe('2024-03-01T12-34-56.789Z-6-15.jsonl');
    const lines = readFileSync(path, 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.map((line) => line.index)).toEqual([6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    expect(lines[0]).toEqual({ index: 6, term: 2, lsn: 600, kind: 'sql', sql: upsert, params: ['a', 'undone'], client: 'c1', request: 2 });
    expect(lines[2]).toMatchObject({ sql: 'INSERT INTO counters (n) VALUES (?)', params: [41], client: null, request: null });
    expect(lines[8]).toEqual({ index: 14, term: 2, lsn: 1400, kind: 'noop', sql: null, params: null, client: null, request: null });

    const fresh = stores.open();
    applyAll(fresh, kept);
    expect([store.appliedIndex(), store.appliedTerm()]).toEqual([5, 1]);
    expect(store.checksum()).toBe(fresh.checksum());
    expect(store.query('SELECT k, v, idx FROM kv').rows).toEqual([['a', 'kept', 5]]);
    expect(store.query("SELECT name FROM sqlite_schema WHERE name NOT LIKE 'sqlite%' ORDER BY name").rows.flat()).toEqual([
      '_replica_requests',
      '_replica_rollbacks',
      '_replica_state',
      'child',
      'kv',
      'parent',
    ]);
  });

  it('lets an undone client request run again, and the node go on from the kept index', () => {
    const store = stores.open();
    applyAll(store, [...kept, ...undoneAscending]);
    store.rollbackAndRebuild({ undone: [...undoneAscending].reverse(), log: kept });
    const retry = sqlEntry(6, upsert, ['a', 'retried'], { term: 3, client: 'c1', request: 2 });
    expect(store.apply(retry)).toMatchObject({ ok: true, duplicate: false });
    expect(store.query("SELECT v FROM kv WHERE k = 'a'").rows).toEqual([['retried']]);
  });

  it('survives a reopen: the rebuilt state is what is on disk', () => {
    const dir = stores.dir();
    const store = stores.open(dir);
    applyAll(store, [...kept, ...undoneAscending]);
    store.rollbackAndRebuild({ undone: [...undoneAscending].reverse(), log: kept });
    const checksum = store.checksum();
    store.close();
    const reopened = stores.open(dir);
    expect([reopened.appliedIndex(), reopened.checksum()]).toEqual([5, checksum]);
  });

  it('gives each rollback its own file, even within one millisecond', () => {
    const dir = stores.dir();
    const store = stores.open(dir);
    const now = new Date('2024-03-01T00:00:00.000Z');
    applyAll(store, history(['CREATE TABLE t (a)', 'INSERT INTO t VALUES (1)']));
    store.rollbackAndRebuild({ undone: [sqlEntry(2, 'INSERT INTO t VALUES (1)')], log: history(['CREATE TABLE t (a)']), now });
    store.apply(sqlEntry(2, 'INSERT INTO t VALUES (2)'));
    store.rollbackAndRebuild({ undone: [sqlEntry(2, 'INSERT INTO t VALUES (2)')], log: history(['CREATE TABLE t (a)']), now });
    expect(readdirSync(join(dir, 'rollback')).sort()).toEqual(['2024-03-01T00-00-00.000Z-2-2-2.jsonl', '2024-03-01T00-00-00.000Z-2-2.jsonl']);
  });

  it('asserts that the undone entries are the last applied ones and the log leads up to them', () => {
    const store = stores.open();
    applyAll(store, [...kept, ...undoneAscending]);
    const undone = [...undoneAscending].reverse();
    expect(() => store.rollbackAndRebuild({ undone: undone.slice(1), log: kept })).toThrow(StoreAssertionError);
    expect(() => store.rollbackAndRebuild({ undone, log: kept.slice(1) })).toThrow(StoreAssertionError);
    expect(() => store.rollbackAndRebuild({ undone: [], log: kept })).toThrow(StoreAssertionError);
    expect(store.appliedIndex()).toBe(15);
    expect(existsSync(join(store.dir, 'rollback'))).toBe(false);
  });
});

describe('a rollback a crash interrupted between its two steps', () => {
  const undone = [...undoneAscending].reverse();
  const wholeLog = [...kept, ...undoneAscending];

  it('is completed from its file on start when the log was truncated, and recorded as done', () => {
    const dir = stores.dir();
    const store = stores.open(dir);
    applyAll(store, wholeLog);
    const record = store.recordRollback(undone);
    // The crash: the log is cut at 6 and a new leader's entry written there; state.db still has 15 applied.
    const newLog = [...kept, noopEntry(6, 3)];
    expect(store.finishInterruptedRollback(newLog)).toEqual(record);
    const fresh = stores.open();
    applyAll(fresh, kept);
    expect([store.appliedIndex(), store.checksum()]).toEqual([5, fresh.checksum()]);
    expect(store.query('SELECT file FROM _replica_rollbacks').rows).toEqual([[record.name]]);
    // Done: a second start finds nothing to finish.
    expect(store.finishInterruptedRollback(newLog)).toBeNull();
    expect(readdirSync(join(dir, 'rollback'))).toEqual([record.name]);
  });

  it('is removed on start when the log still holds the applied entries: nothing was undone', () => {
    const dir = stores.dir();
    const store = stores.open(dir);
    applyAll(store, wholeLog);
    store.recordRollback(undone);
    writeFileSync(join(dir, 'rollback', 'torn.jsonl.tmp'), '{"index":6,"te');
    expect(store.finishInterruptedRollback(wholeLog)).toBeNull();
    expect(readdirSync(join(dir, 'rollback'))).toEqual([]);
    expect(store.appliedIndex()).toBe(15);
  });

  it('leaves alone the files of rollbacks that completed, even when the same entry is applied again', () => {
    const dir = stores.dir();
    const store = stores.open(dir);
    applyAll(store, wholeLog);
    const first = store.rollbackAndRebuild({ undone, log: kept });
    // A later leader that still had entries 6-15 brings them back (manual failover), and they are applied again.
    applyAll(store, undoneAscending);
    expect(store.finishInterruptedRollback(wholeLog)).toBeNull();
    const second = store.rollbackAndRebuild({ undone, log: kept });
    expect(readdirSync(join(dir, 'rollback')).sort()).toEqual([basename(first), basename(second)].sort());
  });
});

describe('rebuild', () => {
  it('replays the log from scratch without writing a rollback file', () => {
    const dir = stores.dir();
    const store = stores.open(dir);
    applyAll(store, [...kept, ...undoneAscending]);
    store.rebuild(kept.slice(0, 3));
    const fresh = stores.open();
    applyAll(fresh, kept.slice(0, 3));
    expect([store.appliedIndex(), store.checksum()]).toEqual([3, fresh.checksum()]);
    expect(readdirSync(dir)).not.toContain('rollback');
  });
});
