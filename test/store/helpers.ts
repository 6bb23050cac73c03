// Fixtures for the store tests: fresh temp dirs removed after each test, and
// log entries built the way the leader builds them.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import type { Entry } from '../../cluster/core/index.js';
import { encodeStatement, Store } from '../../cluster/store/index.js';

/** Opens stores in fresh temp dirs; every store is closed and every dir removed after each test. */
export function useStores(): { open: (dir?: string) => Store; dir: () => string } {
  const dirs: string[] = [];
  const stores: Store[] = [];
  afterEach(() => {
    for (const store of stores.splice(0)) store.close();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const dir = (): string => {
    const made = mkdtempSync(join(tmpdir(), 'replica-lab-store-'));
    dirs.push(made);
    return made;
  };
  const open = (at?: string): Store => {
    const store = Store.open({ dir: at ?? dir() });
    stores.push(store);
    return store;
  };
  return { open, dir };
}

export interface EntryFields {
  readonly term?: number;
  readonly client?: string;
  readonly request?: number;
}

/** A 'sql' entry at `index`; lsn grows with the index as a real log's would. */
export function sqlEntry(index: number, sql: string, params: readonly unknown[] = [], fields: EntryFields = {}): Entry {
  const { term = 1, ...client } = fields;
  return { index, term, lsn: index * 100, kind: 'sql', data: encodeStatement(sql, params), ...client };
}

export function noopEntry(index: number, term = 1): Entry {
  return { index, term, lsn: index * 100, kind: 'noop', data: '' };
}

/** Entries numbered from `first`, one per statement. */
export function history(statements: readonly (string | readonly [string, readonly unknown[]])[], first = 1, term = 1): Entry[] {
  return statements.map((statement, i) =>
    typeof statement === 'string' ? sqlEntry(first + i, statement, [], { term }) : sqlEntry(first + i, statement[0], statement[1], { term }),
  );
}

export const upsert = 'INSERT INTO kv(k, v, idx) VALUES (?, ?, log_index()) ON CONFLICT(k) DO UPDATE SET v = excluded.v, idx = excluded.idx';

export function applyAll(store: Store, entries: readonly Entry[]): void {
  for (const entry of entries) store.apply(entry);
}
