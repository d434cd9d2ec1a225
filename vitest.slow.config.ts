import { defineConfig } from 'vitest/config';

// The slow suite (`npm run test:slow`): measurements that need quiet time and repetition, such as
// "parse time is linear in log size". Kept out of `npm test`, which never asserts timings.
export default defineConfig({
  test: {
    include: ['test/slow/**/*.slow.ts'],
    // Seeds every randomised test from $EXECGATE_TEST_SEED (or a fresh seed) and prints it on failure.
    setupFiles: ['test/helpers/seed-setup.ts'],
    testTimeout: 300_000,
    fileParallelism: false,
  },
});
