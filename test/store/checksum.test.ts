// The checksum is how replicas are compared: equal histories agree, and any
// difference a read could see makes them disagree.

import { describe, expect, it } from 'vitest';
import type { Entry } from '../../cluster/core/index.js';
import { applyAll, history, noopEntry, sqlEntry, upsert, useStores } from './helpers.js';

const stores = useStores();

const base = [
  'CREATE TABLE accounts (id INTEGER PRIMARY KEY AUTOINCREMENT, owner TEXT UNIQUE, balance)',
  'CREATE TABLE tags (name TEXT PRIMARY KEY, n INTEGER) WITHOUT ROWID',
  'CREATE INDEX accounts_balance ON accounts (balance)',
  'CREATE VIEW rich AS SELECT owner FROM accounts WHERE balance > 100',
  "INSERT INTO accounts (owner, balance) VALUES ('ada', 10), ('bob', 200.5)",
  "INSERT INTO tags VALUES ('b', 2), ('a', 1)",
  "INSERT INTO accounts (owner) VALUES ('ada')", // fails: UNIQUE
] as const;

function digest(entries: readonly Entry[]): string {
  const store = stores.open();
  applyAll(store, entries);
  return store.checksum();
}

describe('checksum', () => {
  it('is equal for equal histories and for replicas that replayed the same log', () => {
    const log = [...history(base), sqlEntry(8, upsert, ['a', '1'], { client: 'c', request: 1 }), noopEntry(9)];
    const [first, second] = [stores.open(), stores.open()];
    applyAll(first, log);
    applyAll(second, log);
    expect(first.checksum()).toMatch(/^[0-9a-f]{64}$/);
    expect(first.checksum()).toBe(second.checksum());
  });

  it.each<[string, string | readonly [string, readonly unknown[]]]>([
    ['a different value', "UPDATE tags SET n = 3 WHERE name = 'a'"],
    ['the same value with another type', "UPDATE accounts SET balance = '10' WHERE owner = 'ada'"],
    ['an integer instead of an equal real', "UPDATE accounts SET balance = 10.0 WHERE owner = 'ada'"],
    ['an extra row', "INSERT INTO tags VALUES ('c', 3)"],
    ['a deleted row', "DELETE FROM tags WHERE name = 'b'"],
    ['a row under another rowid', "UPDATE accounts SET id = 7 WHERE owner = 'ada'"],
    ['an empty extra table', 'CREATE TABLE empty (a)'],
    ['an extra index', 'CREATE INDEX tags_n ON tags (n)'],
    ['an extra trigger', 'CREATE TRIGGER t AFTER INSERT ON tags BEGIN DELETE FROM kv; END'],
    ['a changed view', 'DROP VIEW rich'],
    ['a kv row', [upsert, ['a', '1']]],
  ])('changes with %s', (_, change) => {
    const unchanged = digest([...history(base), noopEntry(8)]);
    expect(digest(history([...base, change]))).not.toBe(unchanged);
  });

  it('changes when only the dedupe table differs, since it decides whether a retry runs', () => {
    const plain = digest([...history(base), sqlEntry(8, 'DELETE FROM tags WHERE n > 5')]);
    expect(digest([...history(base), sqlEntry(8, 'DELETE FROM tags WHERE n > 5', [], { client: 'c', request: 1 })])).not.toBe(plain);
  });

  it('does not depend on the order rows were inserted in, only on what the table holds', () => {
    const forward = digest(history(['CREATE TABLE t (k TEXT PRIMARY KEY, v) WITHOUT ROWID', "INSERT INTO t VALUES ('a', 1)", "INSERT INTO t VALUES ('b', 2)"]));
    const backward = digest(history(['CREATE TABLE t (k TEXT PRIMARY KEY, v) WITHOUT ROWID', "INSERT INTO t VALUES ('b', 2)", "INSERT INTO t VALUES ('a', 1)"]));
    expect(forward).toBe(backward);
  });

  it('handles tables whose columns shadow every rowid alias', () => {
    const log = history(['CREATE TABLE odd (rowid, _rowid_, oid)', 'INSERT INTO odd VALUES (1, 2, 3), (1, 2, 3), (0, 0, 0)']);
    expect(digest(log)).toBe(digest(log));
    expect(digest([...log, sqlEntry(3, 'DELETE FROM odd WHERE rowid = 0')])).not.toBe(digest([...log, noopEntry(3)]));
  });
});

describe('checksum in the background', () => {
  /** 3,500 kv rows: several steps of checksumRowsPerStep, so other work runs between them. */
  function bigState(): Entry[] {
    const inserts = Array.from({ length: 7 }, (_, chunk) => {
      const rows = Array.from({ length: 500 }, (_, i) => `('k${chunk * 500 + i}', 'v${i}', 0)`).join(', ');
      return `INSERT INTO kv (k, v, idx) VALUES ${rows}`;
    });
    return history([...base, ...inserts]);
  }

  it('gives the digest a blocking checksum gives, with the applied index it is for', async () => {
    const store = stores.open();
    applyAll(store, bigState());
    expect(store.query('SELECT count(*) FROM kv').rows).toEqual([[3_500]]);
    const expected = { index: store.appliedIndex(), digest: store.checksum() };
    await expect(store.checksumInBackground()).resolves.toEqual(expected);
  });

  it('hashes the state as it was when it started while entries keep applying, and shares one run between callers', async () => {
    const store = stores.open();
    const log = bigState();
    applyAll(store, log);
    const before = { index: store.appliedIndex(), digest: store.checksum() };
    const running = store.checksumInBackground();
    expect(store.checksumInBackground()).toBe(running);
    // Applied while the checksum is between steps: it must not see these.
    await new Promise((resolve) => setImmediate(resolve));
    applyAll(store, [sqlEntry(log.length + 1, upsert, ['late', 'write']), sqlEntry(log.length + 2, "DELETE FROM kv WHERE k = 'k1'")]);
    await expect(running).resolves.toEqual(before);
    await expect(store.checksumInBackground()).resolves.toEqual({ index: store.appliedIndex(), digest: store.checksum() });
    expect(store.checksum()).not.toBe(before.digest);
  });

  it('resolves to null, without throwing, when the store closes during it', async () => {
    const store = stores.open();
    applyAll(store, bigState());
    const running = store.checksumInBackground();
    await new Promise((resolve) => setImmediate(resolve));
    store.close();
    await expect(running).resolves.toBeNull();
  });
});
