// Measures the two ways better-sqlite3 can copy a node's state.db for a
// snapshot: db.backup(file) (SQLite's online backup API, 100 pages per
// event-loop turn) and db.serialize() (the whole database as one Buffer,
// synchronously), each followed by what a snapshot needs anyway: the bytes on
// disk, fsynced, and their CRC-32C. Run:  node scripts/snapshot-copy-bench.mjs [rows...]
// Each case runs in a fresh child process so its memory figures are its own.
import { execFileSync } from 'node:child_process';
import { closeSync, fsyncSync, mkdtempSync, openSync, readSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

const table = new Uint32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  table[n] = c >>> 0;
}
function crc32c(bytes, previous = 0) {
  let crc = ~previous >>> 0;
  for (let i = 0; i < bytes.length; i++) crc = table[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return ~crc >>> 0;
}

function build(dir, rows) {
  const db = new Database(join(dir, 'state.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec('CREATE TABLE _replica_state (applied_index INTEGER NOT NULL, applied_term INTEGER NOT NULL)');
  db.exec('CREATE TABLE _replica_requests (client TEXT PRIMARY KEY, request INTEGER NOT NULL)');
  db.exec('CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT, idx INTEGER)');
  db.exec('INSERT INTO _replica_state VALUES (0, 0)');
  const insert = db.prepare('INSERT INTO kv(k, v, idx) VALUES (?, ?, ?)');
  db.transaction(() => {
    for (let i = 1; i <= rows; i++) insert.run(`k${i}`, `value-${i}-${'x'.repeat(24)}`, i);
  })();
  db.exec(`UPDATE _replica_state SET applied_index = ${rows}, applied_term = 1`);
  // Leave the last writes in state.db-wal, as a running node does.
  db.close();
}

function fileCrc(path) {
  const fd = openSync(path, 'r');
  const buffer = Buffer.allocUnsafe(1 << 20);
  let crc = 0;
  for (let n; (n = readSync(fd, buffer, 0, buffer.length, null)) > 0; ) crc = crc32c(buffer.subarray(0, n), crc);
  closeSync(fd);
  return crc;
}

async function runCase(dir, way) {
  const db = new Database(join(dir, 'state.db'), { readonly: true });
  const out = join(dir, `snap-${way}.db`);
  rmSync(out, { force: true });
  const before = process.memoryUsage();
  let peakRss = before.rss;
  let peakExternal = before.external + before.arrayBuffers;
  const sample = () => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakExternal = Math.max(peakExternal, m.external + m.arrayBuffers);
  };
  let longestBlockMs = 0;
  const t0 = performance.now();
  if (way === 'backup') {
    let last = performance.now();
    // Measures the longest turn the loop was held, as a node's other work would feel it.
    const ticker = setInterval(() => {}, 0);
    db.exec('BEGIN');
    db.prepare('SELECT applied_index FROM _replica_state').get();
    await db.backup(out, {
      progress: () => {
        const now = performance.now();
        longestBlockMs = Math.max(longestBlockMs, now - last);
        last = now;
        sample();
      },
    });
    clearInterval(ticker);
    db.exec('COMMIT');
    const fd = openSync(out, 'r+');
    fsyncSync(fd);
    closeSync(fd);
    sample();
    fileCrc(out);
  } else {
    db.exec('BEGIN');
    db.prepare('SELECT applied_index FROM _replica_state').get();
    const s0 = performance.now();
    const bytes = db.serialize();
    db.exec('COMMIT');
    sample();
    crc32c(bytes);
    const fd = openSync(out, 'wx', 0o600);
    for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, Math.min(bytes.length - at, 1 << 20));
    fsyncSync(fd);
    closeSync(fd);
    longestBlockMs = performance.now() - s0; // all of it is synchronous
    sample();
  }
  const totalMs = performance.now() - t0;
  db.close();
  const size = statSync(out).size;
  // The copy must be a database holding every row.
  const check = new Database(out, { readonly: true });
  const rows = check.prepare('SELECT count(*) AS n FROM kv').get().n;
  check.close();
  return { way, totalMs, longestBlockMs, bytes: size, rows, rssGrowthMiB: (peakRss - before.rss) / 2 ** 20, buffersGrowthMiB: (peakExternal - before.external - before.arrayBuffers) / 2 ** 20 };
}

const [mode, ...args] = process.argv.slice(2);
if (mode === '--case') {
  const [dir, way] = args;
  console.log(JSON.stringify(await runCase(dir, way)));
} else {
  const sizes = (mode === undefined ? [50_000, 200_000] : [mode, ...args].map(Number));
  const self = fileURLToPath(import.meta.url);
  for (const rows of sizes) {
    const dir = mkdtempSync(join(tmpdir(), 'snapbench-'));
    try {
      build(dir, rows);
      const dbBytes = statSync(join(dir, 'state.db')).size;
      for (let round = 1; round <= 3; round++) {
        for (const way of ['backup', 'serialize']) {
          const r = JSON.parse(execFileSync(process.execPath, [self, '--case', dir, way], { encoding: 'utf8' }));
          console.log(`${rows} rows (state.db ${(dbBytes / 2 ** 20).toFixed(1)} MiB) round ${round} ${way.padEnd(9)} total ${r.totalMs.toFixed(1)} ms, longest event-loop block ${r.longestBlockMs.toFixed(1)} ms, file ${(r.bytes / 2 ** 20).toFixed(1)} MiB (${r.rows} rows), RSS +${r.rssGrowthMiB.toFixed(1)} MiB, buffers +${r.buffersGrowthMiB.toFixed(1)} MiB`);
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}
