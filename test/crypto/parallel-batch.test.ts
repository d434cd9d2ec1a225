// SPDX-License-Identifier: Apache-2.0
// Two-thread sha256Batch (agent/crypto/parallel-batch.ts): agreement with node:crypto per message above
// and below the threshold, chunking through a small shared area, messages too large for it, views into
// one buffer, every failure of the worker (cannot start, throws, reports failure, hangs, exits, is
// terminated) falling back to correct digests, the facade's `threads` option, and a process with the
// worker alive exiting on its own, from the TypeScript sources (from tsc's JavaScript output: the slow
// suite, test/slow/parallel-batch-tsc.slow.ts). Waits are on events (the worker's report through
// `whenSettled`, its 'exit'), never on a polling loop.
import { hash } from 'node:crypto';
import { once } from 'node:events';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { afterAll, describe, expect, test } from 'vitest';
import * as facade from '../../agent/crypto/hash.js';
import {
  type BatchWorkerData,
  batchThreadsFor,
  type ParallelBatchOptions,
  ParallelSha256Batch,
  spawnBatchWorker,
} from '../../agent/crypto/parallel-batch.js';
import { createWasmCore } from '../../wasm-core/index.js';
import { randomBytes } from '../helpers/random.js';
import { hex } from '../wasm-core/hash-contract.js';
import { ROOT, runChild } from './parallel-batch-child.js';

const core = await createWasmCore({ variant: 'simd' });
const moduleBytes = core.moduleBytes();
const open: ParallelSha256Batch[] = [];

afterAll(async () => {
  await Promise.all(open.map((p) => p.close()));
});

/** Per-message SHA-256 with node:crypto, concatenated: what sha256Batch must return. */
function expected(messages: readonly Uint8Array[]): string {
  return messages.map((m) => hash('sha256', m, 'hex')).join('');
}

function batcher(options: Partial<ParallelBatchOptions> = {}): ParallelSha256Batch {
  const p = new ParallelSha256Batch({
    moduleBytes,
    imageByteLen: core.arenaByteLen,
    local: (messages, out) => core.sha256BatchInto(messages, out),
    minBlocks: 0,
    ...options,
  });
  open.push(p);
  return p;
}

/**
 * Start the worker with one batch above the threshold (hashed locally while the worker boots) and wait
 * until it settles (ready or failed) without giving it a job; no time limit but vitest's.
 */
async function started(p: ParallelSha256Batch): Promise<ParallelSha256Batch> {
  const msgs = Array.from({ length: 2000 }, () => randomBytes(64));
  expect(hex(p.sha256Batch(msgs))).toBe(expected(msgs));
  await p.whenSettled();
  return p;
}

/** A worker from `source` (CommonJS, eval), standing in for a broken one. */
function spawnSource(source: string): (data: BatchWorkerData) => Worker {
  return (data) => new Worker(source, { eval: true, workerData: data, execArgv: [] });
}

// Lengths around the padding boundaries of FIPS 180-4 §5.1.1.
const EDGE_LENGTHS = [0, 1, 55, 56, 63, 64, 65, 119, 120, 127, 128, 129, 1000];

describe('ParallelSha256Batch with a worker', () => {
  test('the worker starts, and a batch split with it agrees with node:crypto', async () => {
    const p = await started(batcher());
    expect(p.state).toBe('ready');
    const all = randomBytes(20_000 * 64);
    const msgs = Array.from({ length: 20_000 }, (_, i) => all.subarray(i * 64, (i + 1) * 64));
    const before = p.stats.workerMessages;
    expect(hex(p.sha256Batch(msgs))).toBe(expected(msgs));
    // The worker hashed a share of it (its digests are the ones compared above).
    expect(p.stats.workerMessages - before).toBeGreaterThan(5000);
    expect(p.stats.workerMessages - before).toBeLessThan(20_000);
  });

  test('mixed lengths including 0, 55, 56, 63, 64, 65, 119, 120, in every rotation, and an empty batch', async () => {
    const p = await started(batcher());
    expect(p.sha256Batch([]).length).toBe(0);
    const base = EDGE_LENGTHS.map((n) => randomBytes(n));
    for (let r = 0; r < base.length; r++) {
      const rotated = [...base.slice(r), ...base.slice(0, r)];
      expect(hex(p.sha256Batch(rotated)), `rotation ${r}`).toBe(expected(rotated));
    }
    // One length per batch (the worker's lock-step kernel), every count 1..12.
    for (const n of EDGE_LENGTHS) {
      for (let count = 1; count <= 12; count++) {
        const msgs = Array.from({ length: count }, () => randomBytes(n));
        expect(hex(p.sha256Batch(msgs)), `${count} × ${n}`).toBe(expected(msgs));
      }
    }
    expect(p.stats.failures).toBe(0);
  });

  test('random batches agree with node:crypto, below the threshold (local) and above (split)', async () => {
    const split = await started(batcher());
    const local = batcher({ minBlocks: 1e9 });
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 400 }), (msgs) => {
        const want = expected(msgs);
        expect(hex(split.sha256Batch(msgs))).toBe(want);
        expect(hex(local.sha256Batch(msgs))).toBe(want);
      }),
      { numRuns: 150 },
    );
    // Batches of two or more messages give the worker a part (most of the 150 runs).
    expect(split.stats.workerRounds).toBeGreaterThan(75);
    expect(local.state).toBe('idle');
    expect(local.stats.workerMessages).toBe(0);
  });

  test('views with non-zero byteOffset into one buffer, overlapping and back to back', async () => {
    const p = await started(batcher());
    const buf = randomBytes(70_000);
    const msgs: Uint8Array[] = [];
    for (let i = 0; i < 3000; i++) msgs.push(buf.subarray(i * 17 + 3, i * 17 + 3 + (i % 130)));
    for (let i = 0; i < 1000; i++) msgs.push(buf.subarray(1 + i * 64, 1 + (i + 1) * 64));
    const before = p.stats.workerMessages;
    expect(hex(p.sha256Batch(msgs))).toBe(expected(msgs));
    expect(p.stats.workerMessages).toBeGreaterThan(before);
  });

  test('a share larger than the shared area goes in rounds; a message larger than it stays local', async () => {
    const p = await started(batcher({ imageByteLen: 4096 }));
    const msgs = Array.from({ length: 1500 }, (_, i) => randomBytes(i % 3 === 0 ? 64 : i % 200));
    msgs[1400] = randomBytes(5000);
    msgs[1401] = randomBytes(4096);
    const rounds = p.stats.workerRounds;
    expect(hex(p.sha256Batch(msgs))).toBe(expected(msgs));
    expect(p.stats.workerRounds - rounds).toBeGreaterThan(10);
    // With the arena-sized area: a 9 MiB message in the worker's share (larger than the arena).
    const q = await started(batcher());
    const big = [...Array.from({ length: 50 }, () => randomBytes(64)), randomBytes(9 << 20)];
    expect(hex(q.sha256Batch(big))).toBe(expected(big));
    expect(q.stats.failures).toBe(0);
  });

  test('argument checks name the argument, before any work', async () => {
    const p = await started(batcher());
    const untyped = p as unknown as { sha256Batch(m: unknown): Uint8Array };
    expect(() => untyped.sha256Batch('x')).toThrow(TypeError);
    expect(() => untyped.sha256Batch([new Uint8Array(1), new Uint16Array(1)])).toThrow(/messages\[1\]/);
    const rounds = p.stats.workerRounds;
    expect(() =>
      untyped.sha256Batch([...Array.from({ length: 5000 }, () => new Uint8Array(64)), 'x']),
    ).toThrow(/messages\[5000\]/);
    expect(p.stats.workerRounds).toBe(rounds);
  });
});

describe('ParallelSha256Batch when the worker fails', () => {
  const msgs = Array.from({ length: 3000 }, (_, i) => randomBytes(i % 150));
  const want = expected(msgs);

  test('spawn throws: local, correct, failed', () => {
    const p = batcher({
      spawn: () => {
        throw new Error('no threads here');
      },
    });
    expect(hex(p.sha256Batch(msgs))).toBe(want);
    expect(p.state).toBe('failed');
    expect(p.stats.failures).toBe(1);
    expect(hex(p.sha256Batch(msgs))).toBe(want);
  });

  test('the module does not compile in the worker: it reports failure; local, correct', async () => {
    const p = await started(batcher({ moduleBytes: new Uint8Array([0, 97, 115, 109, 9, 9, 9, 9]) }));
    expect(p.state).toBe('failed');
    expect(hex(p.sha256Batch(msgs))).toBe(want);
    expect(p.stats.workerMessages).toBe(0);
  });

  test('an uncaught exception in the worker is handled (no unhandled error event); local, correct', async () => {
    const p = batcher({ spawn: spawnSource("throw new Error('worker boom');") });
    expect(hex(p.sha256Batch(msgs))).toBe(want);
    // The worker never reports: its 'error' event settles it.
    expect(await p.whenSettled()).toBe('failed');
    expect(p.state).toBe('failed');
    expect(hex(p.sha256Batch(msgs))).toBe(want);
  });

  test('the worker reports a failure on a job: its share is hashed locally', async () => {
    const source = `const { workerData } = require('node:worker_threads');
      const c = new Int32Array(workerData.shared, 0, 16);
      Atomics.store(c, 0, 1); Atomics.notify(c, 0);
      while (Atomics.load(c, 0) !== 2) Atomics.wait(c, 0, Atomics.load(c, 0));
      new Uint8Array(workerData.shared).fill(0xee, 64);
      Atomics.store(c, 0, 4); Atomics.notify(c, 0);`;
    const p = batcher({ spawn: spawnSource(source), minBlocks: 1000 });
    const one = [randomBytes(1)];
    expect(hex(p.sha256Batch(one))).toBe(expected(one));
    expect(p.state).toBe('idle'); // below the threshold: not started
    await started(p);
    expect(p.state).toBe('ready');
    expect(hex(p.sha256Batch(msgs))).toBe(want);
    expect(p.state).toBe('failed');
    expect(p.stats).toMatchObject({ workerMessages: 0, workerRounds: 0, failures: 1 });
  });

  test('the worker never answers: after timeoutMs its share is hashed locally, and it is given up', async () => {
    const source = `const { workerData } = require('node:worker_threads');
      const c = new Int32Array(workerData.shared, 0, 16);
      Atomics.store(c, 0, 1); Atomics.notify(c, 0);
      for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);`;
    const p = await started(batcher({ spawn: spawnSource(source), timeoutMs: 50, minBlocks: 1000 }));
    expect(p.state).toBe('ready');
    expect(hex(p.sha256Batch(msgs))).toBe(want);
    expect(p.state).toBe('failed');
    expect(p.stats.failures).toBe(1);
    expect(hex(p.sha256Batch(msgs))).toBe(want);
  });

  test('the worker exits when given a job: timeout, local, correct', async () => {
    const source = `const { workerData, parentPort } = require('node:worker_threads');
      const c = new Int32Array(workerData.shared, 0, 16);
      Atomics.store(c, 0, 1); Atomics.notify(c, 0);
      while (Atomics.load(c, 0) !== 2) Atomics.wait(c, 0, Atomics.load(c, 0));
      parentPort.close(); process.exit(3);`;
    const p = await started(batcher({ spawn: spawnSource(source), timeoutMs: 200, minBlocks: 1000 }));
    expect(hex(p.sha256Batch(msgs))).toBe(want);
    expect(p.state).toBe('failed');
  });

  test('the real worker terminated from outside (test hook): falls back, correct', async () => {
    let worker: Worker | undefined;
    const p = await started(
      batcher({
        spawn: (data) => {
          worker = spawnBatchWorker(data);
          return worker;
        },
        timeoutMs: 200,
      }),
    );
    expect(hex(p.sha256Batch(msgs))).toBe(want);
    const used = p.stats.workerMessages;
    expect(used).toBeGreaterThan(0);
    if (worker === undefined) throw new Error('the worker did not start');
    // The batcher's 'exit' listener was added first, so it has run when this one resolves.
    const exited = once(worker, 'exit');
    await worker.terminate();
    await exited;
    expect(p.state).toBe('failed');
    expect(hex(p.sha256Batch(msgs))).toBe(want);
    expect(p.stats.workerMessages).toBe(used);
  });

  test('close() terminates the worker; later batches are local and correct', async () => {
    const p = await started(batcher());
    await p.close();
    expect(p.state).toBe('closed');
    expect(hex(p.sha256Batch(msgs))).toBe(want);
    expect(p.stats.workerMessages).toBe(0);
  });
});

describe('agent/crypto facade sha256Batch and its threads option', () => {
  test('a debug build or one core keep batches on one thread', async () => {
    expect(batchThreadsFor(await createWasmCore({ debug: true }))).toBeUndefined();
    const on = batchThreadsFor(core);
    expect(on === undefined).toBe(availableParallelism() < 2);
    await on?.close();
  });

  test('one thread unless the caller asks for more; a later call changes it; bad counts throw', async () => {
    await facade.initHashing();
    expect(facade.batchThreads()).toBeUndefined();
    await facade.initHashing({ threads: 1 });
    expect(facade.batchThreads()).toBeUndefined();
    await facade.initHashing({ threads: 2 });
    const threads = facade.batchThreads();
    expect(threads === undefined).toBe(availableParallelism() < 2);
    // No `threads`: the setting stays; the same count again: the same batcher.
    await facade.initHashing();
    await facade.initHashing({ threads: 4 });
    expect(facade.batchThreads()).toBe(threads);
    await facade.initHashing({ threads: 1 });
    expect(facade.batchThreads()).toBeUndefined();
    if (threads !== undefined) expect(threads.state).toBe('closed');
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      await expect(facade.initHashing({ threads: bad }), String(bad)).rejects.toThrow(RangeError);
    }
    const untyped = facade.initHashing as (options: unknown) => Promise<void>;
    await expect(untyped({ threads: '2' })).rejects.toThrow(TypeError);
    expect(facade.batchThreads()).toBeUndefined();
  });

  test('with two threads, large and small batches through the facade agree with node:crypto', async () => {
    await facade.initHashing({ threads: 2 });
    const threads = facade.batchThreads();
    expect(threads === undefined).toBe(availableParallelism() < 2);
    const big = Array.from({ length: 12_000 }, (_, i) => randomBytes(i % 7 === 0 ? 200 : 64));
    const small = Array.from({ length: 20 }, (_, i) => randomBytes(i * 5));
    // The first large batch starts the worker and is hashed here meanwhile; the next one is split.
    expect(hex(facade.sha256Batch(big))).toBe(expected(big));
    if (threads !== undefined) expect(await threads.whenSettled()).toBe('ready');
    expect(hex(facade.sha256Batch(big))).toBe(expected(big));
    expect(hex(facade.sha256Batch(small))).toBe(expected(small));
    if (threads !== undefined) expect(threads.stats.workerMessages).toBeGreaterThan(0);
    await facade.initHashing({ threads: 1 });
  });
});

describe('a process with the worker alive exits by itself', () => {
  test('from the TypeScript sources (tsx)', () => {
    const out = runChild(['--import', 'tsx'], join(ROOT, 'agent/crypto/hash.ts'));
    expect(out.ok).toBe(true);
    if (availableParallelism() >= 2) {
      expect(out.state).toBe('ready');
      expect(out.workerMessages).toBeGreaterThan(0);
    }
  });
});
