// Fixtures for the snapshot tests: node dirs with a real store, entries that
// each add one row, and metas the way the core would give them.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import type { Entry } from '../../cluster/core/index.js';
import type { SnapshotMeta } from '../../cluster/snapshot/index.js';
import { encodeStatement, Store } from '../../cluster/store/index.js';

export const upsert = 'INSERT INTO kv(k, v, idx) VALUES (?, ?, log_index()) ON CONFLICT(k) DO UPDATE SET v = excluded.v, idx = excluded.idx';

/** Entry `index` of term `term`: a new row k<index> (so the row count equals the applied index). */
export function rowEntry(index: number, term = 1, tag = 'v'): Entry {
  return { index, term, lsn: index * 100, kind: 'sql', data: encodeStatement(upsert, [`k${index}`, `${tag}-${index}-${'x'.repeat(40)}`]) };
}

export function rowEntries(from: number, to: number, term = 1, tag = 'v'): Entry[] {
  return Array.from({ length: to - from + 1 }, (_, i) => rowEntry(from + i, term, tag));
}

/** The meta the core's snapshotAt would give for these entries. */
export function metaAt(index: number, term = 1): SnapshotMeta {
  return { index, term, lsn: index * 100, membership: { voters: ['n1', 'n2', 'n3'], learners: [] } };
}

/** Temp dirs and stores, all closed and removed after each test. */
export function useNodeDirs(): { dir: () => string; open: (dir: string) => Store; close: (store: Store) => void } {
  const dirs: string[] = [];
  const stores = new Set<Store>();
  afterEach(() => {
    for (const store of stores) store.close();
    stores.clear();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  return {
    dir: () => {
      const made = mkdtempSync(join(tmpdir(), 'replica-lab-snap-'));
      dirs.push(made);
      return made;
    },
    open: (dir) => {
      const store = Store.open({ dir });
      stores.add(store);
      return store;
    },
    close: (store) => {
      store.close();
      stores.delete(store);
    },
  };
}

/** Rows of a state, as a comparable value. */
export function rows(store: Store): readonly (readonly unknown[])[] {
  return store.query('SELECT k, v, idx FROM kv ORDER BY k').rows;
}
