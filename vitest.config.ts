import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    // Builds dist/ once per run for the tests of the built bin and the packed tarball (test/cli).
    globalSetup: ['test/global-setup.ts'],
    // Simulation property tests run many seeds; give them room on a 2-core CI box.
    testTimeout: 60_000,
    pool: 'forks',
  },
});
