// In-process figures behind issue 12's changes, from the built code (run `npm run build` first):
//   1. what checking a peer's message costs (cluster/protocol.ts raftMessage), against parsing its JSON;
//   2. what one apply of the bench's upsert costs in a node's Store, with state.db made at 4 KiB pages
//      (SQLite's default) and at the 1 KiB the Store now uses: the mean, and the longest (a checkpoint);
//   3. an apply in batches of 64 (as at 64 clients), per entry;
//   4. decoding an entry's payload: decodeStatement (which slices the common form apart) against
//      parseStatement (JSON.parse, which it used to be), on fresh payloads as a replica meets them;
//   5. CRC-32C of a 250-byte record;
//   6. one turn's frames to two followers with the same 64 new entries: each encoded whole (encodeFrame)
//      against sharing the entries' JSON (encodeRaftFrame, cluster/node/peers.ts).
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
import { decodeStatement, encodeStatement, parseStatement } from '../dist/cluster/store/statement.js';
import { crc32c } from '../dist/cluster/wal/crc32.js';
import { encodeRaftFrame } from '../dist/cluster/node/peers.js';
import { encodeFrame } from '../dist/cluster/wire/frames.js';
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

/** Mean µs of `run()` over `rounds`, after as many rounds of warm-up. */
function timed(rounds, run) {
  for (let i = 0; i < rounds; i++) run(i);
  const started = performance.now();
  for (let i = 0; i < rounds; i++) run(i);
  return ((performance.now() - started) * 1000) / rounds;
}

{
  const dir = mkdtempSync(join(tmpdir(), 'replica-lab-hot-path-'));
  try {
    const store = Store.open({ dir });
    let index = 0;
    const batch = () => Array.from({ length: 64 }, () => {
      index++;
      return { index, term: 1, lsn: index * 200, kind: 'sql', data: encodeStatement(upsertSql, [`k${index % 10_000}`, `v${index}`]), client: 'c1', request: index };
    });
    const batches = Array.from({ length: 600 }, batch);
    let next = 0; // entries apply in order: warm-up and measured rounds take the batches one after another
    const perBatch = timed(300, () => store.applyBatch(batches[next++]));
    store.close();
    console.log(`apply in batches of 64: ${(perBatch / 64).toFixed(2)} µs an entry`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

{
  const payloads = Array.from({ length: 400_000 }, (_, i) => encodeStatement(upsertSql, [`k${i % 10_000}`, `v${i}`]));
  const half = payloads.length / 2;
  const sliced = timed(half, (i) => decodeStatement(payloads[i + half]));
  const parsed = timed(half, (i) => parseStatement(payloads[i]));
  console.log(`decode a fresh payload: decodeStatement ${sliced.toFixed(2)} µs, JSON.parse path ${parsed.toFixed(2)} µs`);
}

{
  const record = Buffer.alloc(250, 7);
  console.log(`CRC-32C of a 250-byte record: ${timed(200_000, () => crc32c(record)).toFixed(3)} µs`);
}

{
  const entries = Array.from({ length: 64 }, (_, i) => ({ index: 1000 + i, term: 3, lsn: 200_000 + i * 230, kind: 'sql', data: encodeStatement(upsertSql, [`k${i}`, `v${i}`]), client: 'c-abcdef', request: i }));
  const appendTo = (to) => [{ type: 'append', from: 'n1', to, term: 3, prevIndex: 999, prevTerm: 3, entries: entries.slice(), commit: 990 }];
  const whole = timed(5_000, () => {
    encodeFrame({ type: 'raft', messages: appendTo('n2') });
    encodeFrame({ type: 'raft', messages: appendTo('n3') });
  });
  const shared = timed(5_000, () => {
    const json = new Map();
    encodeRaftFrame(appendTo('n2'), json);
    encodeRaftFrame(appendTo('n3'), json);
  });
  console.log(`a turn's frames to two followers, 64 entries: each whole ${whole.toFixed(1)} µs, entries shared ${shared.toFixed(1)} µs`);
}
