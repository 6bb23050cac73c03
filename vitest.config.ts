import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Simulation property tests run many seeds; give them room on a 2-core CI box.
    testTimeout: 60_000,
    pool: 'forks',
  },
});
