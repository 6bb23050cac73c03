// No node process outlives the process that started it, whatever the way it
// ends: stop(), or SIGKILL of the supervisor itself (with a node paused, which
// cannot notice its parent is gone — the guardian handles that one).

import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { eventually, isAlive, startCluster } from './helpers.js';

describe('no orphans', () => {
  it('leaves no node process after stop(), even with a node paused', async () => {
    const cluster = await startCluster({ nodes: 3 });
    await cluster.waitForLeader();
    cluster.pause('n3');
    const pids = cluster.status().map((n) => n.pid!);
    await cluster.stop();
    expect(await eventually(() => pids.every((pid) => !isAlive(pid)), 2_000)).toBe(true);
  });

  it('leaves no node process within 2 s after SIGKILL of the process that started the cluster', async () => {
    const fixture = fileURLToPath(new URL('./fixtures/hold-cluster.mjs', import.meta.url));
    const child = spawn(process.execPath, [fixture], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const ready = await eventually(() => output.includes('\n'), 10_000);
    expect(ready, 'the fixture started its cluster').toBe(true);
    const { pids, dataDir } = JSON.parse(output.trim()) as { pids: number[]; dataDir: string };
    expect(pids.every(isAlive)).toBe(true);
    child.kill('SIGKILL');
    const gone = await eventually(() => pids.every((pid) => !isAlive(pid)), 2_000);
    rmSync(dataDir, { recursive: true, force: true });
    expect(gone, `still alive: ${pids.filter(isAlive).join(', ')}`).toBe(true);
  });
});
