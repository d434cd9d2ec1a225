// SPDX-License-Identifier: Apache-2.0
// Concurrent writers (issue 13): 8 appender processes, started together (each waits for "go" after
// opening the store, and they race to create it), append 1,000 entries each: all 8,000 are there with
// distinct, dense sequence numbers, each process saw its own in increasing order, and of the verdicts
// that consume uses of one 37-use cti across all 8 processes exactly 37 were allowed. On tmpfs
// (audit-children.ts fastTmpdir); the slow suite repeats it on the disk.
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { concurrentAppenders, fastTmpdir, verifiedSize } from '../helpers/audit-children.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(fastTmpdir(), 'execgate-concurrent-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

it('8 processes x 1,000 entries: 8,000 distinct dense seqs; a 37-use cti allows 37', {
  timeout: 120_000,
}, async () => {
  await concurrentAppenders(join(root, 'state'), 8, 1000, 37);
  expect(await verifiedSize(join(root, 'state'))).toBe(8000);
});
