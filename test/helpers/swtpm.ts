// SPDX-License-Identifier: Apache-2.0
// Vitest helper: one throw-away swtpm per test file (files run in parallel, tests in a file share it).
import { afterAll, beforeAll } from 'vitest';
import { type StartSwtpmOptions, type SwtpmInstance, startSwtpm } from '../../swtpm/harness.js';

/**
 * Starts a swtpm before the file's tests and stops it after them, failed or not. Returns an accessor that
 * is valid inside tests and hooks that run after this one's beforeAll.
 */
export function useSwtpm(options: StartSwtpmOptions = {}): () => SwtpmInstance {
  let instance: SwtpmInstance | undefined;
  beforeAll(async () => {
    instance = await startSwtpm(options);
  });
  afterAll(async () => {
    await instance?.stop();
  });
  return () => {
    if (!instance) throw new Error('useSwtpm: swtpm is not running (use the accessor inside a test)');
    return instance;
  };
}
