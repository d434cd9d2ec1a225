// SPDX-License-Identifier: Apache-2.0
// The randomness of the randomised tests, from one seed: $EXECGATE_TEST_SEED (an integer in [0, 2^32)),
// else a fresh one per test file. test/helpers/seed-setup.ts (a vitest setup file) derives from it, before
// each test, fast-check's seed and the state of the generator below, and prints it when a test fails, so
// `EXECGATE_TEST_SEED=<seed> npx vitest run <file> -t <test>` repeats that test's inputs. Inputs drawn at
// collection time (in a describe body) come from the file's first stream and repeat for the whole file.
// Not covered: keys and signatures that node:crypto makes itself (its CSPRNG); the suites that use them
// report a failing item in full instead.
import { getRandomValues } from 'node:crypto';

function readSeed(text: string | undefined): number {
  if (text === undefined || text === '') return getRandomValues(new Uint32Array(1))[0] ?? 0;
  if (!/^[0-9]{1,10}$/.test(text) || Number(text) >= 2 ** 32) {
    throw new RangeError(`EXECGATE_TEST_SEED must be an integer in [0, 2^32), got "${text}"`);
  }
  return Number(text);
}

/** The seed of this test file's run. */
export const TEST_SEED: number = readSeed(process.env.EXECGATE_TEST_SEED);

/** A 32-bit seed for the stream named `label` (FNV-1a over the label, then murmur3's finaliser). */
export function deriveSeed(seed: number, label: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

// sfc32 (Chris Doty-Humphrey's Small Fast Chaotic generator, from PractRand): 128 bits of state, passes
// PractRand to terabytes, and is a few adds and rotates per 32-bit word. Test inputs only, never secrets.
let a = 0;
let b = 0;
let c = 0;
let d = 0;

function nextU32(): number {
  const t = (((a + b) | 0) + d) | 0;
  d = (d + 1) | 0;
  a = b ^ (b >>> 9);
  b = (c + (c << 3)) | 0;
  c = (c << 21) | (c >>> 11);
  c = (c + t) | 0;
  return t >>> 0;
}

/** Restart the generator at the stream of `seed` (the setup file does this before each test). */
export function reseed(seed: number): void {
  a = 0x9e3779b9;
  b = 0x243f6a88;
  c = 0xb7e15162;
  d = seed | 0;
  for (let i = 0; i < 15; i++) nextU32();
}

reseed(deriveSeed(TEST_SEED, 'collect'));

/** n bytes from the seeded generator. */
export function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const w = nextU32();
    out[i] = w;
    out[i + 1] = w >>> 8;
    out[i + 2] = w >>> 16;
    out[i + 3] = w >>> 24;
  }
  if (i < n) {
    const w = nextU32();
    for (; i < n; i++) out[i] = w >>> (8 * (i & 3));
  }
  return out;
}

/**
 * An integer in [min, max) from the seeded generator, or in [0, min) when `max` is omitted (the
 * signature of node:crypto's `randomInt`). Uniform to within 2^−53 of each value's probability.
 */
export function randomInt(min: number, max?: number): number {
  const [lo, hi] = max === undefined ? [0, min] : [min, max];
  if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hi) || hi <= lo) {
    throw new RangeError(`randomInt: need integers min < max, got ${lo}, ${hi}`);
  }
  const unit = ((nextU32() >>> 5) * 2 ** 26 + (nextU32() >>> 6)) / 2 ** 53;
  return lo + Math.floor(unit * (hi - lo));
}
