import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    // Builds dist/ once per run for the tests of the built bin and the packed tarball (test/cli).
    globalSetup: ['test/global-setup.ts'],
    // Simulation property tests run many seeds; give them room on a 2-core CI box.
    testTimeout: 60_000,
    pool: 'forks',
    // Two test files at a time. Vitest's default is one fewer than the CPUs: one on CI's 2 cores, where most files
    // wait on real processes (elections, fsyncs, PostgreSQL). Measured on this 2-core machine: 1 worker 517 s,
    // 2 workers 495 s with three other jobs running beside it, every test passing in both.
    maxWorkers: 2,
  },
});
