import { defineConfig } from 'vitest/config';

// Each TPM test file starts its own swtpm (fresh state, ~20 ms), so files can run in parallel;
// tests inside a file share that swtpm and run one after another.
export default defineConfig({
  test: {
    // One worker per core: vitest's default leaves one core idle (availableParallelism − 1), which on the
    // 2-core machines here ran every file one after another.
    maxWorkers: '100%',
    include: ['test/**/*.test.ts'],
    // Seeds every randomised test from $EXECGATE_TEST_SEED (or a fresh seed) and prints it on failure.
    setupFiles: ['test/helpers/seed-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    reporters: ['default', 'json'],
    // .ci/run reads this report to print its closing 'N passed, N failed' line.
    outputFile: { json: '.tmp/vitest.json' },
  },
});
