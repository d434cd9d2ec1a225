// SPDX-License-Identifier: Apache-2.0
/**
 * Hashing: wasm-core against node:crypto, hash-wasm and @noble/hashes (STYLE principle 13). Sections:
 * the batch kernel (100,000 × 64 B; also the facade's batch on two threads), the two-thread batch by
 * batch size (its threshold), a Merkle root of 1,000,000 leaves, single messages from 32 B to 1 MiB, the
 * agent facade, and the facade's crossover length. Prints markdown tables of medians and ratios for
 * BENCHMARKS.md; asserts nothing.
 */
import { hash as nodeHash } from 'node:crypto';
import { sha256 as nobleSha256, sha512 as nobleSha512 } from '@noble/hashes/sha2.js';
import { createSHA256, createSHA512 } from 'hash-wasm';
import * as facade from '../agent/crypto/hash.js';
import { MIN_PARALLEL_BLOCKS, ParallelSha256Batch } from '../agent/crypto/parallel-batch.js';
import { createWasmCore, type WasmCore } from '../wasm-core/index.js';
import { type Case, compare, formatNs, ratio, table } from './measure.js';

function randomFill(out: Uint8Array): Uint8Array {
  for (let i = 0; i < out.length; i += 65536)
    crypto.getRandomValues(out.subarray(i, Math.min(out.length, i + 65536)));
  return out;
}

/** n messages of len bytes as subarrays of one buffer (how parsed log entries arrive). */
function sliced(n: number, len: number): Uint8Array[] {
  const all = randomFill(new Uint8Array(n * len));
  return Array.from({ length: n }, (_, i) => all.subarray(i * len, (i + 1) * len));
}

/** n messages of len bytes, each with its own ArrayBuffer. */
function separate(n: number, len: number): Uint8Array[] {
  return Array.from({ length: n }, () => randomFill(new Uint8Array(len)));
}

/** The tree of RFC 9162 §2.1.1 on node:crypto, as a caller without wasm-core would write it. */
function nodeMerkleRoot(leaves: readonly Uint8Array[]): Uint8Array {
  const msg = new Uint8Array(65);
  let level: Uint8Array[] = leaves.map((leaf) => {
    if (leaf.length === 64) {
      msg[0] = 0x00;
      msg.set(leaf, 1);
      return nodeHash('sha256', msg, 'buffer');
    }
    const m = new Uint8Array(leaf.length + 1);
    m.set(leaf, 1);
    return nodeHash('sha256', m, 'buffer');
  });
  msg[0] = 0x01;
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) {
      msg.set(level[i] as Uint8Array, 1);
      msg.set(level[i + 1] as Uint8Array, 33);
      next.push(nodeHash('sha256', msg, 'buffer'));
    }
    if (level.length % 2 === 1) next.push(level[level.length - 1] as Uint8Array);
    level = next;
  }
  return level[0] ?? nodeHash('sha256', new Uint8Array(0), 'buffer');
}

async function batchSection(simd: WasmCore, scalar: WasmCore): Promise<void> {
  const n = 100_000;
  const msgs = sliced(n, 64);
  const own = separate(n, 64);
  const hw = await createSHA256();
  const perMessage = (f: (m: Uint8Array) => Uint8Array, list: readonly Uint8Array[]) => () => list.map(f);
  const cases: Case[] = [
    { name: 'wasm-core SIMD sha256Batch', run: () => simd.sha256Batch(msgs), reps: 3 },
    { name: 'wasm-core scalar sha256Batch', run: () => scalar.sha256Batch(msgs), reps: 1 },
    {
      name: 'node:crypto crypto.hash per message',
      run: perMessage((m) => nodeHash('sha256', m, 'buffer'), msgs),
      reps: 1,
    },
    {
      name: 'hash-wasm per message (one reused hasher)',
      run: perMessage((m) => hw.init().update(m).digest('binary'), msgs),
      reps: 1,
    },
    { name: '@noble/hashes per message', run: perMessage((m) => nobleSha256(m), msgs), reps: 1 },
    {
      name: 'wasm-core SIMD sha256Batch, separately allocated messages',
      run: () => simd.sha256Batch(own),
      reps: 3,
    },
    {
      name: 'node:crypto per message, separately allocated messages',
      run: perMessage((m) => nodeHash('sha256', m, 'buffer'), own),
      reps: 1,
    },
    { name: 'agent facade sha256Batch (two threads)', run: () => facade.sha256Batch(msgs), reps: 3 },
    {
      name: 'agent facade sha256Batch (two threads), separately allocated messages',
      run: () => facade.sha256Batch(own),
      reps: 3,
    },
  ];
  const threads = facade.batchThreads();
  const before = threads?.stats.workerMessages ?? 0;
  const t = compare(cases, 15);
  const [simdT = 0, , nodeT = 0, , , simdOwnT = 0, nodeOwnT = 0, facadeT = 0, facadeOwnT = 0] = t;
  const separately = (i: number) => i === 5 || i === 6 || i === 8;
  table(
    'SHA-256 of 100,000 × 64-byte messages (subarrays of one buffer unless noted)',
    ['implementation', 'median per batch', 'per message', 'node:crypto / this'],
    cases.map((c, i) => {
      const ns = t[i] ?? 0;
      const ref = separately(i) ? nodeOwnT : nodeT;
      return [c.name, formatNs(ns), formatNs(ns / n), ratio(ref, ns)];
    }),
  );
  // The facade's rows mean two threads only if its worker ran: say how much of the work it took.
  const workerMessages = (threads?.stats.workerMessages ?? 0) - before;
  const facadeBatches = (3 + 15) * 3 * 2;
  process.stdout.write(
    [
      '',
      `Target ≥ 6×: wasm-core sha256Batch (one thread) is ${ratio(nodeT, simdT)} node:crypto (sliced messages), ${ratio(nodeOwnT, simdOwnT)} (separately allocated).`,
      `Target ≥ 6×: the agent facade's sha256Batch (two threads) is ${ratio(nodeT, facadeT)} node:crypto (sliced messages), ${ratio(nodeOwnT, facadeOwnT)} (separately allocated).`,
      `Facade worker: ${threads === undefined ? 'off' : `${threads.state}, hashed ${((100 * workerMessages) / (facadeBatches * n)).toFixed(1)}% of the facade's messages, ${threads.stats.failures} failures`}.`,
      '',
    ].join('\n'),
  );
}

/** The two-thread batch against one thread by batch size (64-byte messages): where splitting pays. */
async function threadsSection(simd: WasmCore): Promise<void> {
  const two = new ParallelSha256Batch({
    moduleBytes: simd.moduleBytes(),
    imageByteLen: simd.arenaByteLen,
    local: (messages, out) => simd.sha256BatchInto(messages, out),
    minBlocks: 0,
  });
  two.sha256Batch(sliced(1000, 64));
  await two.whenSettled();
  const rows: string[][] = [];
  for (const count of [250, 500, 1000, 2000, 4000, 8000, 16000, 100_000]) {
    const msgs = sliced(count, 64);
    const reps = Math.max(1, Math.floor(400_000 / count));
    const [one = 0, both = 0] = compare(
      [
        { name: 'one thread', run: () => simd.sha256Batch(msgs), reps },
        { name: 'two threads', run: () => two.sha256Batch(msgs), reps },
      ],
      15,
    );
    const share = two.stats.workerShare.toFixed(2);
    rows.push([String(count), formatNs(one / count), formatNs(both / count), ratio(one, both), share]);
  }
  await two.close();
  table(
    `two threads by batch size: 64-byte messages (3 work units each; the facade splits from MIN_PARALLEL_BLOCKS = ${MIN_PARALLEL_BLOCKS}); worker ${two.stats.failures === 0 ? 'ok' : 'FAILED'}`,
    ['messages', 'one thread, per message', 'two threads, per message', 'one / two', 'worker share after'],
    rows,
  );
}

function merkleSection(simd: WasmCore, scalar: WasmCore): void {
  const n = 1_000_000;
  const leaves = sliced(n, 64);
  const ours = simd.merkleRoot(leaves);
  if (Buffer.compare(Buffer.from(ours), Buffer.from(nodeMerkleRoot(leaves))) !== 0) {
    throw new Error('merkle bench: wasm-core and node:crypto roots differ');
  }
  const cases: Case[] = [
    { name: 'wasm-core SIMD merkleRoot', run: () => simd.merkleRoot(leaves), reps: 1 },
    { name: 'wasm-core scalar merkleRoot', run: () => scalar.merkleRoot(leaves), reps: 1 },
    { name: 'node:crypto crypto.hash, level by level', run: () => nodeMerkleRoot(leaves), reps: 1 },
  ];
  const t = compare(cases, 5, 1);
  const nodeT = t[2] ?? 0;
  table(
    'RFC 9162 Merkle root of 1,000,000 leaves × 64 bytes (2,000,000 SHA-256 of 65 bytes)',
    ['implementation', 'median', 'node:crypto / this'],
    cases.map((c, i) => [c.name, formatNs(t[i] ?? 0), ratio(nodeT, t[i] ?? 0)]),
  );
  process.stdout.write(`\nTarget ≥ 5×: merkleRoot is ${ratio(nodeT, t[0] ?? 0)} node:crypto.\n`);
}

async function singleSection(simd: WasmCore, scalar: WasmCore): Promise<void> {
  const hw256 = await createSHA256();
  const hw512 = await createSHA512();
  const rows: string[][] = [];
  for (const alg of ['sha256', 'sha512'] as const) {
    for (const size of [32, 1024, 8192, 65536, 1 << 20]) {
      const data = randomFill(new Uint8Array(size));
      const hw = alg === 'sha256' ? hw256 : hw512;
      const noble = alg === 'sha256' ? nobleSha256 : nobleSha512;
      const reps = Math.max(1, Math.floor(2_000_000 / (size + 200)));
      const cases: Case[] = [
        { name: 'wasm-core SIMD', run: () => simd[alg](data), reps },
        { name: 'wasm-core scalar', run: () => scalar[alg](data), reps },
        { name: 'hash-wasm', run: () => hw.init().update(data).digest('binary'), reps },
        { name: '@noble/hashes', run: () => noble(data), reps: Math.max(1, reps >> 2) },
        { name: 'node:crypto', run: () => nodeHash(alg, data, 'buffer'), reps },
      ];
      const [w = 0, ws = 0, h = 0, nb = 0, nd = 0] = compare(cases, 11);
      rows.push([
        alg,
        size >= 1024 ? `${size / 1024} KiB` : `${size} B`,
        formatNs(w),
        formatNs(ws),
        formatNs(h),
        formatNs(nb),
        formatNs(nd),
        ratio(h, w),
        ratio(nb, w),
        ratio(h, ws),
        ratio(nd, w),
      ]);
    }
  }
  table(
    'One message (medians; ratios are other / wasm-core, so > 1 means wasm-core is faster)',
    [
      'hash',
      'size',
      'wasm-core SIMD',
      'wasm-core scalar',
      'hash-wasm',
      'noble',
      'node:crypto',
      'hash-wasm / SIMD',
      'noble / SIMD',
      'hash-wasm / scalar',
      'node / SIMD',
    ],
    rows,
  );
}

function facadeSection(): void {
  const rows: string[][] = [];
  for (const size of [64, 1 << 20]) {
    const data = randomFill(new Uint8Array(size));
    const reps = Math.max(1, Math.floor(2_000_000 / (size + 200)));
    const [f = 0, n = 0] = compare(
      [
        { name: 'facade', run: () => facade.sha256(data), reps },
        { name: 'node', run: () => nodeHash('sha256', data, 'buffer'), reps },
      ],
      15,
    );
    rows.push([size >= 1024 ? `${size >> 20} MiB` : `${size} B`, formatNs(f), formatNs(n), ratio(n, f)]);
  }
  table(
    'agent/crypto facade sha256 against node:crypto (target at 1 MiB ≥ 0.95×)',
    ['size', 'facade', 'node:crypto', 'node / facade'],
    rows,
  );
}

function crossoverSection(simd: WasmCore): void {
  const sizes = [64, 128, 256, 384, 512, 768, 1024, 1536, 2048, 4096];
  const rows: string[][] = [];
  for (const alg of ['sha1', 'sha256', 'sha384', 'sha512'] as const) {
    let crossover = '> 4096';
    const cells: string[] = [];
    for (const size of sizes) {
      const data = randomFill(new Uint8Array(size));
      const reps = Math.floor(1_000_000 / (size + 300));
      const [w = 0, n = 0] = compare(
        [
          { name: 'wasm', run: () => simd[alg](data), reps },
          { name: 'node', run: () => nodeHash(alg, data, 'buffer'), reps },
        ],
        11,
      );
      cells.push(ratio(n, w));
      if (crossover === '> 4096' && n < w) crossover = `${size}`;
    }
    rows.push([alg, ...cells, crossover, String(facade.NATIVE_MIN_BYTES[alg])]);
  }
  table(
    'facade crossover: node:crypto / wasm-core one-shot by message size (< 1 means node:crypto is faster)',
    ['hash', ...sizes.map((s) => `${s} B`), 'first size where node wins', 'NATIVE_MIN_BYTES'],
    rows,
  );
}

/** `BENCH_SECTIONS=batch,merkle npm run bench -- hash` runs only the named sections. */
export async function main(): Promise<void> {
  const only = process.env.BENCH_SECTIONS?.split(',');
  const want = (name: string) => only === undefined || only.includes(name);
  const simd = await createWasmCore({ variant: 'simd' });
  const scalar = await createWasmCore({ variant: 'scalar' });
  // Two threads, as the CLI asks for them (the library's default is one).
  await facade.initHashing({ threads: 2 });
  // Start the facade's worker (lazily, on a large batch) before anything is timed.
  facade.sha256Batch(sliced(20_000, 64));
  await facade.batchThreads()?.whenSettled();
  if (want('batch')) await batchSection(simd, scalar);
  if (want('threads')) await threadsSection(simd);
  if (want('merkle')) merkleSection(simd, scalar);
  if (want('single')) await singleSection(simd, scalar);
  if (want('facade')) facadeSection();
  if (want('crossover')) crossoverSection(simd);
}
