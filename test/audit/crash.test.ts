// SPDX-License-Identifier: Apache-2.0
// Crash safety of the audit store (issue 13): an appender process is SIGKILLed at seeded random moments,
// 20 times, restarted each time; after each kill every entry whose append had returned (reported over a
// pipe) is in the log with intact bytes and leaf, sequence numbers are dense from 0, and the use counter
// of the cti it consumes equals the allowed uses the log records. Some kills land before or while the
// child opens the store (the first one may hit the schema migration). On tmpfs (audit-children.ts
// fastTmpdir); the slow suite repeats it on the disk with 10,000 entries.
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { crashRounds, fastTmpdir, verifiedSize } from '../helpers/audit-children.js';
import { randomInt, TEST_SEED } from '../helpers/random.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(fastTmpdir(), 'execgate-crash-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

it('loses no returned append across 20 SIGKILLs', { timeout: 180_000 }, async () => {
  console.info(`[audit crash] EXECGATE_TEST_SEED=${TEST_SEED} repeats these kill moments`);
  const r = await crashRounds({
    dir: join(root, 'state'),
    kills: 20,
    until: 3000,
    maxDelayMs: 40,
    earlyEvery: 5,
    verdictEvery: 3,
    uses: 100,
    delay: (max) => randomInt(0, max),
  });
  expect(r.kills).toBe(20);
  expect(r.size).toBe(3000);
  expect(await verifiedSize(join(root, 'state'))).toBe(3000);
});
