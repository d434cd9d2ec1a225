// SPDX-License-Identifier: Apache-2.0
// Vitest setup file (vitest.config.ts, vitest.slow.config.ts): before each test, fast-check's global seed
// and the seeded generator of test/helpers/random.ts are set from $EXECGATE_TEST_SEED (or this file's
// fresh seed) and the test's name, so that one seed repeats every randomised input of a test whether it
// runs alone or with its file; when a test fails, the seed is printed with how to repeat the run.
// fast-check's own report adds the derived seed and the counterexample's path.
import fc from 'fast-check';
import { beforeEach } from 'vitest';
import { deriveSeed, reseed, TEST_SEED } from './random.js';

// Inputs drawn while the file is collected come from its 'collect' stream, also when the file shares
// random.ts with the files before it in one worker (vitest.config.ts, isolate: false): this file runs
// before each test file, random.ts's own start only before the first.
reseed(deriveSeed(TEST_SEED, 'collect'));

beforeEach(({ task, onTestFailed }) => {
  // fast-check takes a 32-bit signed seed (its reports print it that way).
  const seed = deriveSeed(TEST_SEED, task.fullTestName ?? task.name) | 0;
  reseed(seed);
  fc.configureGlobal({ ...fc.readConfigureGlobal(), seed });
  onTestFailed(() => {
    console.error(
      `[test seed] EXECGATE_TEST_SEED=${TEST_SEED} repeats this test's random inputs (fast-check seed ` +
        `${seed}): EXECGATE_TEST_SEED=${TEST_SEED} npx vitest run ${task.file.name} -t ${JSON.stringify(task.name)}`,
    );
  });
});
