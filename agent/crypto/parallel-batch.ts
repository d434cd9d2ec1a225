// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/crypto/parallel-batch
 *
 * SHA-256 of many messages (FIPS 180-4 §6.2) on two threads behind a synchronous API: the calling
 * thread and one worker thread, each running wasm-core's multi-buffer kernel. One thread is at V8's
 * vector throughput (BENCHMARKS.md, "What was tried"); the machine's second core is the remaining lever.
 *
 * How: the calling thread copies the worker's share of a batch (the tail, by estimated work) into a
 * SharedArrayBuffer (message bytes back to back, their lengths beside), raises a job flag with
 * `Atomics.notify`, hashes its own share with wasm-core meanwhile, then blocks in `Atomics.wait` (with a
 * timeout) until the worker has written the digests into the same area. The worker instantiates the
 * same wasm-core module itself and drives the raw ABI (`sha256_batch_fixed` for equal lengths,
 * `sha256_batch` with (ptr, byteLen) records otherwise). A share larger than the area goes in rounds.
 * The share is rebalanced after each large split from both threads' measured times.
 *
 * Fail safe: the worker starts lazily on the first large batch, is `unref()`'d (it never keeps the
 * process alive), and until it reports ready the batch is hashed locally in slices. If it fails to
 * start, reports a failure, exits, or does not answer within `timeoutMs`, it is terminated, its area is
 * abandoned (a late write can land only there), its share is hashed locally, and every later batch runs
 * on the calling thread. No digest is ever taken from an area the worker did not mark done.
 *
 * Not covered: batches below `minBlocks` of work (the hand-off costs more than it saves), a message too
 * large for the shared area on its own (hashed on the calling thread), more than one worker (the target
 * machine has two cores), and concurrency: like wasm-core, every call is synchronous and owns the area.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { ABI_VERSION, assertArray, isBytes, notBytesError, type WasmCore } from '../../wasm-core/index.js';

const DIGEST_BYTES = 32;
/** Arena bytes per message beyond its data: one (ptr, byteLen) record of two u32 and its digest. */
const PER_MESSAGE_BYTES = 8 + DIGEST_BYTES;

/**
 * Work estimate of one message in SHA-256 blocks: its padded length (FIPS 180-4 §5.1.1, 1 + 8 bytes
 * of padding at least) plus one block's worth for the per-message cost of copying and lane bookkeeping.
 */
function blocks(byteLen: number): number {
  return Math.floor((byteLen + 8) / 64) + 2;
}

/**
 * Batches of less work than this stay on the calling thread: 2,000 messages of 64 bytes (3 units each).
 * Measured crossover (`npm run bench -- hash`, "two threads by batch size", BENCHMARKS.md): one / two
 * threads was 0.56× at 250 messages, 0.81× at 500, 1.04× at 1,000 and 1.20× at 2,000 on the quietest
 * run; the hand-off (waking the worker, packing, waiting) costs tens of µs per batch.
 */
export const MIN_PARALLEL_BLOCKS = 6_000;

/**
 * Fraction of a batch's work first given to the worker; each split then rebalances it from the measured
 * times of both threads, within [MIN_SHARE, MAX_SHARE], so that a second core busy with other work gets
 * less. The worker runs only the kernel; the calling thread also packs the worker's share and copies
 * its digests back, so the worker takes more than half. Profiled with 100,000 × 64 B: 186 ns per
 * message on the calling thread, 139 ns on the worker, 19 ns to pack one, which balance near 0.6.
 */
export const WORKER_SHARE = 0.6;
const MIN_SHARE = 0.1;
const MAX_SHARE = 0.9;
/** Work each side must have done in a split for its times to rebalance the share (about 0.2 ms). */
const REBALANCE_MIN_BLOCKS = 3_000;

/** Work the calling thread hashes between checks whether a starting worker has become ready. */
const STARTING_SLICE_BLOCKS = 12_000;

// Control words at the start of the shared area (Int32 indices), and the job states the worker and the
// calling thread hand back and forth in STATE.
const STATE = 0;
const COUNT = 1;
const FIXED_BYTE_LEN = 2;
const DATA_BYTE_LEN = 3;
/** The worker's time on its last job, in µs. */
const BUSY_US = 4;
const HEADER_BYTES = 64;
const S_STARTING = 0;
const S_READY = 1;
const S_JOB = 2;
const S_DONE = 3;
const S_FAILED = 4;

/** What the worker receives as `workerData`. */
export interface BatchWorkerData {
  /** Control words, then lengths (u32 × maxCount), then the image (imageByteLen bytes). */
  readonly shared: SharedArrayBuffer;
  readonly maxCount: number;
  readonly imageByteLen: number;
  /** The wasm-core module bytes, the same build the calling thread runs. */
  readonly moduleBytes: Uint8Array;
}

/**
 * The worker, as CommonJS source for `new Worker(…, { eval: true })`: a string, so that it is the same
 * code whether the agent runs from TypeScript sources (vitest, tsx) or from dist/. It trusts the calling
 * thread (our own code) but checks each job's counts against its arena before any pointer reaches
 * WebAssembly, and reports any failure through STATE rather than an exception.
 */
export const WORKER_SOURCE = `'use strict';
const { workerData } = require('node:worker_threads');
const { shared, maxCount, imageByteLen, moduleBytes } = workerData;
const ctl = new Int32Array(shared, 0, ${HEADER_BYTES / 4});
const lens = new Uint32Array(shared, ${HEADER_BYTES}, maxCount);
const image = new Uint8Array(shared, ${HEADER_BYTES} + 4 * maxCount, imageByteLen);
function report(state) { Atomics.store(ctl, ${STATE}, state); Atomics.notify(ctl, ${STATE}); }
try {
  const x = new WebAssembly.Instance(new WebAssembly.Module(moduleBytes), {}).exports;
  for (const f of ['abi_version', 'arena_ptr', 'arena_byte_len', 'sha256_batch', 'sha256_batch_fixed'])
    if (typeof x[f] !== 'function') throw new Error('wasm-core export missing: ' + f);
  if (x.abi_version() !== ${ABI_VERSION}) throw new Error('wasm-core ABI ' + x.abi_version());
  const base = x.arena_ptr();
  if (x.arena_byte_len() < imageByteLen) throw new Error('wasm-core arena smaller than the shared image');
  const mem = new Uint8Array(x.memory.buffer);
  const u32 = new Uint32Array(x.memory.buffer);
  report(${S_READY});
  for (;;) {
    let s;
    while ((s = Atomics.load(ctl, ${STATE})) !== ${S_JOB}) Atomics.wait(ctl, ${STATE}, s);
    const started = performance.now();
    const count = ctl[${COUNT}], fixed = ctl[${FIXED_BYTE_LEN}], dataLen = ctl[${DATA_BYTE_LEN}];
    if (!(count >= 0 && count <= maxCount && dataLen >= 0 && dataLen + ${PER_MESSAGE_BYTES} * count <= imageByteLen))
      throw new Error('bad job');
    let out;
    if (fixed >= 0) {
      if (fixed * count !== dataLen) throw new Error('bad job');
      mem.set(image.subarray(0, dataLen), base);
      out = base + dataLen;
      x.sha256_batch_fixed(base, fixed, count, out);
    } else {
      // Records first, then the data they point to, then the digests.
      const data = base + 8 * count;
      let p = data;
      for (let i = 0, r = base >>> 2; i < count; i++) { u32[r++] = p; u32[r++] = lens[i]; p += lens[i]; }
      if (p - data !== dataLen) throw new Error('bad job');
      mem.set(image.subarray(0, dataLen), data);
      out = p;
      x.sha256_batch(base, count, out);
    }
    image.set(mem.subarray(out, out + ${DIGEST_BYTES} * count), 0);
    ctl[${BUSY_US}] = Math.round((performance.now() - started) * 1000);
    report(${S_DONE});
  }
} catch {
  report(${S_FAILED});
}
`;

// Atomics.waitAsync (ES2024, in Node since 16), typed locally: the project's TypeScript lib is ES2023.
type WaitAsync = (
  array: Int32Array<ArrayBufferLike>,
  index: number,
  value: number,
) =>
  | { readonly async: false; readonly value: string }
  | { readonly async: true; readonly value: Promise<string> };
const waitAsync: WaitAsync = (array, index, value) =>
  (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync(array, index, value);

/** Starts the worker; a test passes its own to simulate a worker that fails, hangs or exits. */
export type SpawnBatchWorker = (data: BatchWorkerData) => Worker;

/** The default: WORKER_SOURCE, without the parent's execArgv (a TypeScript loader it does not need). */
export const spawnBatchWorker: SpawnBatchWorker = (data) =>
  new Worker(WORKER_SOURCE, { eval: true, workerData: data, execArgv: [] });

/** Options of `ParallelSha256Batch`. */
export interface ParallelBatchOptions {
  /** The wasm-core module bytes the calling thread runs (the worker instantiates the same build). */
  readonly moduleBytes: Uint8Array;
  /** Byte length of the shared image: at most the module's arena (`WasmCore.arenaByteLen`). */
  readonly imageByteLen: number;
  /** The single-threaded batch into out[0 .. 32 n): wasm-core's `sha256BatchInto`. */
  readonly local: (messages: readonly Uint8Array[], out: Uint8Array) => void;
  /** Batches of less work (SHA-256 blocks plus one per message) stay local. Default MIN_PARALLEL_BLOCKS. */
  readonly minBlocks?: number;
  /** How long one round may take the worker before it is given up. Default 2000 ms. */
  readonly timeoutMs?: number;
  /** Default `spawnBatchWorker`. */
  readonly spawn?: SpawnBatchWorker;
}

/** Where the worker is: not yet started, booting, ready, given up after a failure, or closed. */
export type BatchWorkerState = 'idle' | 'starting' | 'ready' | 'failed' | 'closed';

/** Counters for tests and the benchmark: how much work actually went to the worker. */
export interface ParallelBatchStats {
  /** Messages the worker hashed (and whose digests were used). */
  workerMessages: number;
  /** Jobs the worker completed. */
  workerRounds: number;
  /** Times the worker was given up (failure, exit, timeout). */
  failures: number;
  /** The fraction of a batch's work the next split gives the worker (rebalanced after each split). */
  workerShare: number;
}

/** SHA-256 batches split between the calling thread and one lazily started worker thread. */
export class ParallelSha256Batch {
  readonly #moduleBytes: Uint8Array;
  readonly #imageByteLen: number;
  readonly #maxCount: number;
  readonly #local: (messages: readonly Uint8Array[], out: Uint8Array) => void;
  readonly #minBlocks: number;
  readonly #timeoutMs: number;
  readonly #spawn: SpawnBatchWorker;
  #state: BatchWorkerState = 'idle';
  #worker: Worker | undefined;
  #ctl: Int32Array<ArrayBufferLike> = new Int32Array(0);
  #lens: Uint32Array<ArrayBufferLike> = new Uint32Array(0);
  #image: Uint8Array<ArrayBufferLike> = new Uint8Array(0);
  /** Resolves `#stopped`: called when the worker is given up or closed. */
  #onStop: () => void = () => undefined;
  readonly #stopped = new Promise<void>((resolve) => {
    this.#onStop = resolve;
  });
  readonly stats: ParallelBatchStats = {
    workerMessages: 0,
    workerRounds: 0,
    failures: 0,
    workerShare: WORKER_SHARE,
  };

  constructor(options: ParallelBatchOptions) {
    const { imageByteLen } = options;
    if (!Number.isSafeInteger(imageByteLen) || imageByteLen < 1024) {
      throw new RangeError(`imageByteLen must be an integer ≥ 1024, got ${imageByteLen}`);
    }
    this.#moduleBytes = options.moduleBytes;
    this.#imageByteLen = imageByteLen;
    this.#maxCount = Math.floor(imageByteLen / PER_MESSAGE_BYTES);
    this.#local = options.local;
    this.#minBlocks = options.minBlocks ?? MIN_PARALLEL_BLOCKS;
    this.#timeoutMs = options.timeoutMs ?? 2000;
    this.#spawn = options.spawn ?? spawnBatchWorker;
  }

  get state(): BatchWorkerState {
    if (this.#state === 'starting') this.#pollReady();
    return this.#state;
  }

  /**
   * The state once the worker is no longer starting: waits for its report (`Atomics.waitAsync` on the
   * state word) or its failure (an 'error' or 'exit' event); resolves at once when it is not starting.
   * Batches never wait for the worker (they hash locally meanwhile); this is for a caller that wants it
   * ready before it measures, and for tests. No timeout: a worker that neither reports nor exits leaves
   * the promise pending, which does not keep the process alive.
   */
  async whenSettled(): Promise<BatchWorkerState> {
    while (this.state === 'starting') {
      const wait = waitAsync(this.#ctl, STATE, S_STARTING);
      if (wait.async) await Promise.race([wait.value, this.#stopped]);
    }
    return this.#state;
  }

  /** SHA-256 of each message: n × 32 bytes, digest i at offset 32 i (the contract of wasm-core's). */
  sha256Batch(messages: readonly Uint8Array[]): Uint8Array {
    assertArray(messages, 'messages');
    const n = messages.length;
    const out = new Uint8Array(n * DIGEST_BYTES);
    // One pass checks every element before any work and sums the work estimate.
    let total = 0;
    for (let i = 0; i < n; i++) {
      const m = messages[i];
      if (!isBytes(m)) throw notBytesError('messages', i, m);
      total += blocks(m.length);
    }
    if (total < this.#minBlocks || this.#state === 'failed' || this.#state === 'closed') {
      this.#local(messages, out);
      return out;
    }
    if (this.#state === 'idle') this.#start();
    let i = 0;
    while (i < n && this.#state === 'starting' && !this.#pollReady()) {
      const end = advance(messages, i, n, STARTING_SLICE_BLOCKS);
      this.#hashLocal(messages, i, end, out);
      total -= workOf(messages, i, end);
      i = end;
    }
    if (i < n) {
      if (this.#state === 'ready') this.#split(messages, i, n, total, out);
      else this.#hashLocal(messages, i, n, out);
    }
    return out;
  }

  /** Terminate the worker; later batches run on the calling thread. */
  async close(): Promise<void> {
    this.#state = 'closed';
    this.#onStop();
    const w = this.#worker;
    this.#worker = undefined;
    if (w !== undefined) await w.terminate();
  }

  #start(): void {
    const shared = new SharedArrayBuffer(HEADER_BYTES + 4 * this.#maxCount + this.#imageByteLen);
    this.#ctl = new Int32Array(shared, 0, HEADER_BYTES / 4);
    this.#lens = new Uint32Array(shared, HEADER_BYTES, this.#maxCount);
    this.#image = new Uint8Array(shared, HEADER_BYTES + 4 * this.#maxCount, this.#imageByteLen);
    this.#state = 'starting';
    try {
      const w = this.#spawn({
        shared,
        maxCount: this.#maxCount,
        imageByteLen: this.#imageByteLen,
        moduleBytes: this.#moduleBytes,
      });
      this.#worker = w;
      // Listeners on 'error' keep an exception in the worker from becoming an uncaught one here.
      w.on('error', () => this.#fail(w));
      w.on('exit', () => this.#fail(w));
      w.unref();
    } catch {
      this.#fail(this.#worker);
    }
  }

  /** Give the worker up for good (only the worker `w` that is current; a stale one's events are ignored). */
  #fail(w: Worker | undefined): void {
    if (w !== this.#worker || this.#state === 'failed' || this.#state === 'closed') return;
    this.#state = 'failed';
    this.#onStop();
    this.stats.failures++;
    this.#worker = undefined;
    w?.terminate().catch(() => undefined);
  }

  #pollReady(): boolean {
    const s = Atomics.load(this.#ctl, STATE);
    if (s === S_READY) this.#state = 'ready';
    else if (s === S_FAILED) this.#fail(this.#worker);
    return s !== S_STARTING;
  }

  #hashLocal(messages: readonly Uint8Array[], start: number, end: number, out: Uint8Array): void {
    if (end <= start) return;
    const part = start === 0 && end === messages.length ? messages : messages.slice(start, end);
    this.#local(part, out.subarray(start * DIGEST_BYTES, end * DIGEST_BYTES));
  }

  /**
   * Hash messages [start, end) of `total` work: the worker takes the tail from k, where the head's work
   * is (1 − share) of the total, in rounds that fit the image; during each round the calling thread
   * hashes a matching part of the head. Falls back to local hashing on any failure. Times both sides to
   * rebalance the next batch.
   */
  #split(messages: readonly Uint8Array[], start: number, end: number, total: number, out: Uint8Array): void {
    const share = this.stats.workerShare;
    const k = advance(messages, start, end, total * (1 - share));
    const ratio = (1 - share) / share;
    const ctl = this.#ctl;
    const spent = { workerWork: 0, workerMs: 0, localWork: 0, localMs: 0 };
    let head = start;
    let w = k;
    while (w < end) {
      const [count, dataByteLen, fixed] = this.#pack(messages, w, end);
      if (count === 0) {
        // messages[w] alone does not fit the image.
        this.#hashLocal(messages, w, w + 1, out);
        w++;
        continue;
      }
      ctl[COUNT] = count;
      ctl[FIXED_BYTE_LEN] = fixed;
      ctl[DATA_BYTE_LEN] = dataByteLen;
      Atomics.store(ctl, STATE, S_JOB);
      Atomics.notify(ctl, STATE);
      const posted = performance.now();
      const roundWork = workOf(messages, w, w + count);
      const headEnd = w + count >= end ? k : advance(messages, head, k, roundWork * ratio);
      spent.localWork += workOf(messages, head, headEnd);
      this.#hashLocal(messages, head, headEnd, out);
      head = headEnd;
      const localDone = performance.now();
      if (!this.#await()) {
        this.#fail(this.#worker);
        this.#hashLocal(messages, head, k, out);
        this.#hashLocal(messages, w, end, out);
        return;
      }
      // The worker's own measure, from taking the job to done: a rate per unit of work, without the
      // wake-up latency (a fixed cost per round, which the threshold accounts for).
      spent.workerMs += (ctl[BUSY_US] ?? 0) / 1000;
      spent.workerWork += roundWork;
      spent.localMs += localDone - posted;
      out.set(this.#image.subarray(0, count * DIGEST_BYTES), w * DIGEST_BYTES);
      this.stats.workerMessages += count;
      this.stats.workerRounds++;
      w += count;
    }
    const t = performance.now();
    spent.localWork += workOf(messages, head, k);
    this.#hashLocal(messages, head, k, out);
    spent.localMs += performance.now() - t;
    this.#rebalance(spent);
  }

  /**
   * Move the share a quarter of the way to where both threads would have finished together. Packing the
   * worker's share comes before both start and copying its digests back after both end, so the hand-off
   * delays both alike and does not move the balance point: x · worker rate = (1 − x) · local rate.
   */
  #rebalance(spent: { workerWork: number; workerMs: number; localWork: number; localMs: number }): void {
    // Below a few hundred µs a side, timer resolution and call overheads are the measure, not the rates.
    if (spent.workerWork < REBALANCE_MIN_BLOCKS || spent.localWork < REBALANCE_MIN_BLOCKS) return;
    if (spent.workerMs <= 0 || spent.localMs <= 0) return;
    const worker = spent.workerMs / spent.workerWork;
    const local = spent.localMs / spent.localWork;
    const target = local / (worker + local);
    const clamped = Math.min(MAX_SHARE, Math.max(MIN_SHARE, target));
    this.stats.workerShare += (clamped - this.stats.workerShare) / 4;
  }

  /**
   * Copy as many of messages [from, end) as fit into the image, back to back, with their lengths.
   * Returns the count, the data byte length, and the common length (−1 when lengths differ). One
   * `set` per message: measured 19 ns per 64-byte message, where detecting runs of messages that lie
   * back to back in one buffer (as wasm-core's packer does) cost 27 ns in `buffer` and `byteOffset`
   * alone on Node 20.
   */
  #pack(messages: readonly Uint8Array[], from: number, end: number): [number, number, number] {
    const image = this.#image;
    const lens = this.#lens;
    const limit = Math.min(end - from, this.#maxCount);
    let p = 0;
    let count = 0;
    let fixed = (messages[from] as Uint8Array).length;
    for (; count < limit; count++) {
      const m = messages[from + count] as Uint8Array;
      const len = m.length;
      if (p + len + (count + 1) * PER_MESSAGE_BYTES > this.#imageByteLen) break;
      lens[count] = len;
      if (len !== fixed) fixed = -1;
      image.set(m, p);
      p += len;
    }
    return [count, p, fixed];
  }

  /** Block until the worker marks the job done (true), fails, or the timeout passes (false). */
  #await(): boolean {
    const ctl = this.#ctl;
    const deadline = performance.now() + this.#timeoutMs;
    for (;;) {
      const s = Atomics.load(ctl, STATE);
      if (s === S_DONE) return true;
      const left = deadline - performance.now();
      if (s !== S_JOB || left <= 0) return false;
      Atomics.wait(ctl, STATE, S_JOB, left);
    }
  }
}

/** Work estimate of messages [start, end) (all checked to be Uint8Array). */
function workOf(messages: readonly Uint8Array[], start: number, end: number): number {
  let w = 0;
  for (let i = start; i < end; i++) w += blocks((messages[i] as Uint8Array).length);
  return w;
}

/** The first index from start at which the work of [start, index) reaches `work` (at most end). */
function advance(messages: readonly Uint8Array[], start: number, end: number, work: number): number {
  let w = 0;
  let i = start;
  while (i < end && w < work) w += blocks((messages[i++] as Uint8Array).length);
  return i;
}

/**
 * Two-thread batches over `core` (the instance the calling thread hashes with; the worker runs the very
 * module it runs, `core.moduleBytes()`), or undefined on a machine with one core
 * (`os.availableParallelism()`) and for a debug build (the share and threshold above are measured on
 * release builds, and a debug instance is for stack traces, not speed). Whether to use threads at all is
 * the caller's choice (hash.ts `initHashing({ threads })`).
 */
export function batchThreadsFor(core: WasmCore): ParallelSha256Batch | undefined {
  if (availableParallelism() < 2 || core.debug) return undefined;
  return new ParallelSha256Batch({
    moduleBytes: core.moduleBytes(),
    imageByteLen: core.arenaByteLen,
    local: (messages, out) => core.sha256BatchInto(messages, out),
  });
}
