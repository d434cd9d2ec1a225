import { defineConfig } from 'vitest/config';

// The slow suite (`npm run test:slow`): measurements that need quiet time and repetition, such as
// "parse time is linear in log size", and the long versions of suites whose short versions run in
// `npm test` (the 10,000-case signature differentials, the parallel-batch process built with tsc). Kept
// out of `npm test`, which never asserts timings and stays under 3 minutes.
export default defineConfig({
  test: {
    include: ['test/slow/**/*.slow.ts'],
    // Seeds every randomised test from $EXECGATE_TEST_SEED (or a fresh seed) and prints it on failure.
    setupFiles: ['test/helpers/seed-setup.ts'],
    testTimeout: 300_000,
    fileParallelism: false,
  },
});
