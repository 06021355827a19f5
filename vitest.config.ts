import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Tests that start real processes each pick their own ports and data dirs, so files run in
    // parallel; two workers match the two cores of the CI machine.
    maxWorkers: 2,
  },
});
