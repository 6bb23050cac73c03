// WAL disk use over a run at a steady write rate, with snapshots and
// compaction on or off (issue 14: "WAL disk use stays bounded over a 2-minute
// run at 2,000 writes/s with compaction on"). Not a test: it takes minutes.
//
//   npm run build
//   node scripts/compaction-disk.mjs [--seconds 120] [--rate 2000] [--off]
//
// Every 10 s it prints, per node, the bytes of its wal/ dir on disk (segment
// files as allocated, preallocation included), the WAL record bytes it
// reports as retained, and its snapshot index; then the peak of each.

import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Cluster } from '../dist/cluster/index.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '120' }, rate: { type: 'string', default: '2000' }, off: { type: 'boolean', default: false } } });
const seconds = Number(values.seconds);
const rate = Number(values.rate);
const snapshot = values.off ? { everyEntries: 0 } : {};

function walDiskBytes(dir) {
  let total = 0;
  for (const name of readdirSync(join(dir, 'wal'))) total += statSync(join(dir, 'wal', name)).blocks * 512;
  return total;
}

const mib = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
const cluster = await Cluster.start({ nodes: 3, seed: 1, snapshot });
try {
  await cluster.waitForLeader({ timeoutMs: 10_000 });
  cluster.workload.start({ rate, readFraction: 0, concurrency: Math.max(16, Math.ceil(rate / 50)), history: false });
  const started = Date.now();
  const peak = Object.fromEntries(cluster.ids.map((id) => [id, { disk: 0, retained: 0 }]));
  let lastIndex = 0;
  console.log(`compaction ${values.off ? 'off' : 'on (defaults)'}, ${rate} writes/s for ${seconds} s`);
  while (Date.now() - started < seconds * 1000) {
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    const status = cluster.status();
    const parts = status.map((n) => {
      const disk = walDiskBytes(cluster.nodeDir(n.id));
      peak[n.id].disk = Math.max(peak[n.id].disk, disk);
      peak[n.id].retained = Math.max(peak[n.id].retained, n.walBytesRetained ?? 0);
      return `${n.id} disk ${mib(disk)} kept ${mib(n.walBytesRetained ?? 0)} snap ${n.snapshotIndex}`;
    });
    const leader = status.find((n) => n.role === 'leader');
    const index = leader?.lastIndex ?? 0;
    console.log(`${Math.round((Date.now() - started) / 1000)} s: index ${index} (+${Math.round((index - lastIndex) / 10)}/s) | ${parts.join(' | ')}`);
    lastIndex = index;
  }
  await cluster.workload.stop();
  console.log(`peak: ${cluster.ids.map((id) => `${id} disk ${mib(peak[id].disk)} kept ${mib(peak[id].retained)}`).join(' | ')}`);
} finally {
  await cluster.stop();
}
