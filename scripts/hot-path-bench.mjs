// Two in-process figures behind issue 12's changes, from the built code (run `npm run build` first):
//   1. what checking a peer's message costs (cluster/protocol.ts raftMessage), against parsing its JSON;
//   2. what one apply of the bench's upsert costs in a node's Store, with state.db made at 4 KiB pages
//      (SQLite's default) and at the 1 KiB the Store now uses: the mean, and the longest (a checkpoint).
//
//   node scripts/hot-path-bench.mjs
//
// Nothing is left behind: the stores live in temp dirs removed at the end.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { raftMessage } from '../dist/cluster/protocol.js';
import { Store } from '../dist/cluster/store/store.js';
import { encodeStatement } from '../dist/cluster/store/statement.js';
import { upsertSql } from '../dist/cluster/bench/load.js';

const data = encodeStatement(upsertSql, ['k1', 'v1']);
const messages = {
  "an append's answer": { type: 'append-resp', from: 'n2', to: 'n1', term: 3, index: 12345, reject: false, hintIndex: 0, hintTerm: 0, positions: { received: 12345, flushed: 12345, applied: 12340 } },
  'an append of one entry': {
    type: 'append', from: 'n1', to: 'n2', term: 3, prevIndex: 12344, prevTerm: 3, commit: 12340,
    entries: [{ index: 12345, term: 3, lsn: 999_999, kind: 'sql', data, client: 'c-abc', request: 17 }],
  },
};
const rounds = 200_000;
for (const [name, message] of Object.entries(messages)) {
  const text = JSON.stringify(message);
  let started = performance.now();
  for (let i = 0; i < rounds; i++) raftMessage(JSON.parse(text), 'messages[0]');
  const checked = ((performance.now() - started) * 1000) / rounds;
  started = performance.now();
  for (let i = 0; i < rounds; i++) JSON.parse(text);
  const parsed = ((performance.now() - started) * 1000) / rounds;
  console.log(`${name}: parse and check ${checked.toFixed(2)} µs, parse alone ${parsed.toFixed(2)} µs`);
}

const applies = 20_000;
const measured = 15_000; // the first 5,000 warm the statement cache and the table up
for (const pageBytes of [4096, 1024]) {
  const dir = mkdtempSync(join(tmpdir(), 'replica-lab-hot-path-'));
  try {
    const made = new Database(join(dir, 'state.db'));
    made.pragma(`page_size = ${pageBytes}`);
    made.pragma('journal_mode = WAL');
    made.close();
    const store = Store.open({ dir });
    const times = [];
    for (let index = 1; index <= applies; index++) {
      const entry = { index, term: 1, lsn: index * 200, kind: 'sql', data: encodeStatement(upsertSql, [`k${index % 10_000}`, `v${index}`]), client: 'c1', request: index };
      const started = process.hrtime.bigint();
      store.applyBatch([entry]);
      times.push(Number(process.hrtime.bigint() - started) / 1000);
    }
    store.close();
    const kept = times.slice(applies - measured);
    const mean = kept.reduce((a, b) => a + b, 0) / kept.length;
    console.log(`apply at ${pageBytes}-byte pages: mean ${mean.toFixed(1)} µs, longest ${(Math.max(...kept) / 1000).toFixed(2)} ms (${measured} applies)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
