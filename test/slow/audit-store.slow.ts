// SPDX-License-Identifier: Apache-2.0
// The long versions of the audit store's crash and concurrency tests (test/audit/crash.test.ts,
// concurrent.test.ts), on the disk rather than tmpfs, so every commit pays its fsync (synchronous=FULL):
// - an appender filling a log to 10,000 entries, SIGKILLed at seeded moments 30 times on the way (some
//   before or while it opens the store), restarted each time; after each kill every append that had
//   returned is there, intact, seqs dense, and the use counter equals the allowed uses recorded;
// - 8 and then 16 processes appending at once: all entries, distinct dense seqs, exact use counts.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { concurrentAppenders, crashRounds } from '../helpers/audit-children.js';
import { randomInt, TEST_SEED } from '../helpers/random.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'execgate-audit-slow-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

it('10,000 entries, 30 SIGKILLs on the way, on the disk', async () => {
  console.info(`[audit crash, slow] EXECGATE_TEST_SEED=${TEST_SEED} repeats these kill moments`);
  const r = await crashRounds({
    dir: join(root, 'state'),
    kills: 30,
    until: 10_000,
    maxDelayMs: 150,
    earlyEvery: 6,
    verdictEvery: 3,
    uses: 1000,
    delay: (max) => randomInt(0, max),
  });
  expect(r).toMatchObject({ size: 10_000, kills: 30 });
});

it('8 processes x 1,000 entries on the disk', async () => {
  await concurrentAppenders(join(root, 'state8'), 8, 1000, 37);
});

it('16 processes x 500 entries on the disk', async () => {
  await concurrentAppenders(join(root, 'state16'), 16, 500, 101);
});
