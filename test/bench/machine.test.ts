// cpuSeconds counts a process's children too: a PostgreSQL server's work is done by the
// postmaster's children, and the bench reports CPU per server.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { cpuSeconds } from '../../cluster/bench/machine.js';

describe.skipIf(process.platform !== 'linux')('cpuSeconds', () => {
  it("includes the CPU of children this process has run and reaped", () => {
    const before = cpuSeconds(process.pid)!;
    // A child that burns 300 ms of its own CPU time (not wall time), then exits.
    const burn = 'const s = process.cpuUsage(); while (true) { const u = process.cpuUsage(s); if (u.user + u.system > 300000) break; }';
    const result = spawnSync(process.execPath, ['-e', burn]);
    expect(result.status).toBe(0);
    const after = cpuSeconds(process.pid)!;
    expect(after - before).toBeGreaterThanOrEqual(0.25);
  });
});
