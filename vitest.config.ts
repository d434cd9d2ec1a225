import { defineConfig } from 'vitest/config';

/**
 * Folders whose tests run in-process on their own inputs only: no mocks, no module state set up or torn
 * down (such as "before initHashing()"), no process-wide settings (environment, cwd, umask, signal
 * handlers). Their files share a worker's module cache (isolate: false) instead of importing agent/ and
 * wasm-core afresh for each file, which took about a third of their CPU time.
 */
const SHARED = [
  'test/artifact/**/*.test.ts',
  'test/config/**/*.test.ts',
  'test/encoding/**/*.test.ts',
  'test/measure/**/*.test.ts',
  'test/wasm-core/**/*.test.ts',
];
/** Files in those folders that need a module cache of their own: a vi.mock, a test of the state before init(). */
const OWN_MODULES = ['test/artifact/adversary-12.test.ts', 'test/wasm-core/loader.test.ts'];

// Each TPM test file starts its own swtpm (fresh state, ~20 ms), so files can run in parallel;
// tests inside a file share that swtpm and run one after another.
export default defineConfig({
  test: {
    // One worker per core: vitest's default leaves one core idle (availableParallelism − 1), which on the
    // 2-core machines here ran every file one after another.
    maxWorkers: '100%',
    // Seeds every randomised test from $EXECGATE_TEST_SEED (or a fresh seed) and prints it on failure.
    setupFiles: ['test/helpers/seed-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    reporters: ['default', 'json'],
    // .ci/run reads this report to print its closing 'N passed, N failed' line.
    outputFile: { json: '.tmp/vitest.json' },
    projects: [
      { extends: true, test: { name: 'isolated', include: ['test/**/*.test.ts'], exclude: SHARED } },
      { extends: true, test: { name: 'own-modules', include: OWN_MODULES } },
      { extends: true, test: { name: 'shared', include: SHARED, exclude: OWN_MODULES, isolate: false } },
    ],
  },
});
