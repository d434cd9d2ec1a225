// SPDX-License-Identifier: Apache-2.0
// sha256Batch in both builds: agreement with per-message hashing (node:crypto), lane refill across
// mixed lengths, chunking when a batch or a single message exceeds the arena, and argument checks.
import { hash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { createWasmCore, type WasmCore } from '../../wasm-core/index.js';
import { randomBytes } from '../helpers/random.js';
import { hex } from './hash-contract.js';

const cores: Record<'simd' | 'scalar', WasmCore> = {
  simd: await createWasmCore({ variant: 'simd' }),
  scalar: await createWasmCore({ variant: 'scalar' }),
};

/** Per-message SHA-256 with node:crypto, concatenated: what sha256Batch must return. */
function expected(messages: readonly Uint8Array[]): string {
  return messages.map((m) => hash('sha256', m, 'hex')).join('');
}

// Lengths around the padding boundaries of FIPS 180-4 §5.1.1: 55 is the longest one-block message,
// 56..63 need a second block, 64 ends a block exactly, 119/120 repeat that one block later.
const EDGE_LENGTHS = [0, 1, 55, 56, 63, 64, 65, 119, 120, 127, 128, 129, 1000];

for (const variant of ['simd', 'scalar'] as const) {
  const core = cores[variant];

  describe(`sha256Batch (${variant})`, () => {
    test('an empty batch gives an empty result', () => {
      expect(core.sha256Batch([]).length).toBe(0);
    });

    test('mixed lengths including 0, 55, 56, 63, 64, 65, 119, 120, in every rotation', () => {
      const base = EDGE_LENGTHS.map((n) => randomBytes(n));
      for (let r = 0; r < base.length; r++) {
        const rotated = [...base.slice(r), ...base.slice(0, r)];
        expect(hex(core.sha256Batch(rotated)), `rotation ${r}`).toBe(expected(rotated));
      }
      // Every length 0..130 at one length per batch (lock-step kernel tails), five messages each.
      for (let n = 0; n <= 130; n++) {
        const msgs = Array.from({ length: 5 }, () => randomBytes(n));
        expect(hex(core.sha256Batch(msgs)), `5 × ${n}`).toBe(expected(msgs));
      }
      // Every count 1..12 of equal-length messages (full and partial lane groups).
      for (const n of EDGE_LENGTHS) {
        for (let count = 1; count <= 12; count++) {
          const msgs = Array.from({ length: count }, () => randomBytes(n));
          expect(hex(core.sha256Batch(msgs)), `${count} × ${n}`).toBe(expected(msgs));
        }
      }
    });

    test('random batches of random lengths agree with per-message hashing', () => {
      fc.assert(
        fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 40 }), (msgs) => {
          expect(hex(core.sha256Batch(msgs))).toBe(expected(msgs));
        }),
        { numRuns: 200 },
      );
    });

    test('subarrays with non-zero byteOffset and Buffer inputs', () => {
      const backing = randomBytes(5000);
      const msgs = Array.from({ length: 50 }, (_, i) =>
        backing.subarray(i * 7 + 1, i * 7 + 1 + ((i * 37) % 150)),
      );
      const withBuffers = [...msgs, Buffer.from(randomBytes(70))];
      expect(hex(core.sha256Batch(withBuffers))).toBe(expected(withBuffers));
    });

    test('views into one buffer: back-to-back runs, gaps, repeats and overlaps all hash as given', () => {
      const backing = randomBytes(64 * 40);
      fc.assert(
        fc.property(
          fc.array(fc.tuple(fc.integer({ min: 0, max: 4 }), fc.constantFrom(0, 64, 64, 64, 63)), {
            maxLength: 60,
          }),
          (steps) => {
            // Each step moves the cursor by a whole number of 16-byte units (0 repeats, 4 is back to back
            // for 64-byte views, other values overlap or leave a gap), then takes a view there.
            let at = 0;
            const msgs: Uint8Array[] = [];
            for (const [advance, len] of steps) {
              at = (at + advance * 16) % (backing.length - 64);
              msgs.push(backing.subarray(at, at + len));
            }
            expect(hex(core.sha256Batch(msgs))).toBe(expected(msgs));
          },
        ),
        { numRuns: 200 },
      );
    });

    test('batches larger than the arena are processed in chunks', () => {
      // 3,000 × 4 KiB = 12 MB of messages, more than the 8 MB arena: equal lengths (the lock-step
      // kernel) and alternating lengths (the lane-refilling kernel with its records).
      const big = Array.from({ length: 3000 }, () => randomBytes(4096));
      expect(hex(core.sha256Batch(big))).toBe(expected(big));
      const mixed = Array.from({ length: 3000 }, (_, i) => randomBytes(4096 + (i % 2)));
      expect(hex(core.sha256Batch(mixed))).toBe(expected(mixed));
      // More messages than one kernel call takes records for (65,536), then the same at one length.
      const many = Array.from({ length: 70_000 }, (_, i) =>
        Uint8Array.of(i & 0xff, i >> 8, i >> 16).subarray(i % 2),
      );
      expect(hex(core.sha256Batch(many))).toBe(expected(many));
      const manyEqual = Array.from({ length: 70_000 }, (_, i) => Uint8Array.of(i & 0xff, i >> 8, i >> 16));
      expect(hex(core.sha256Batch(manyEqual))).toBe(expected(manyEqual));
      // A single message larger than the arena, between small ones.
      const huge = [randomBytes(10), randomBytes(9_000_000), randomBytes(64)];
      expect(hex(core.sha256Batch(huge))).toBe(expected(huge));
    });

    test('sha256BatchInto writes n × 32 bytes and nothing past them', () => {
      const msgs = EDGE_LENGTHS.map((n) => randomBytes(n));
      const out = new Uint8Array(msgs.length * 32 + 16).fill(0xcc);
      core.sha256BatchInto(msgs, out);
      expect(hex(out.subarray(0, msgs.length * 32))).toBe(expected(msgs));
      expect(out.subarray(msgs.length * 32).every((b) => b === 0xcc)).toBe(true);
      expect(() => core.sha256BatchInto(msgs, new Uint8Array(msgs.length * 32 - 1))).toThrow(RangeError);
    });

    test('non-Uint8Array input throws TypeError naming the argument', () => {
      const untyped = core as unknown as Record<string, (...args: unknown[]) => unknown>;
      const call =
        (name: string, ...args: unknown[]) =>
        () =>
          (untyped[name] as (...a: unknown[]) => unknown).apply(core, args);
      expect(call('sha256Batch', 'abc')).toThrow(TypeError);
      expect(call('sha256Batch', 'abc')).toThrow(/messages/);
      expect(call('sha256Batch', [new Uint8Array(1), [1, 2]])).toThrow(/messages\[1\]/);
      expect(call('sha256Batch', [new Uint16Array(2)])).toThrow(
        /messages\[0\] must be a Uint8Array, got Uint16Array/,
      );
      expect(call('sha256BatchInto', [new Uint8Array(1)], new Array(32))).toThrow(/out/);
      for (const name of ['sha1', 'sha256', 'sha384', 'sha512']) {
        expect(call(name, 'abc')).toThrow(TypeError);
        expect(call(name, 'abc')).toThrow(/data/);
        expect(call(name, new DataView(new ArrayBuffer(4)))).toThrow(/data/);
      }
      expect(() => (core.createSha256().update as (d: unknown) => unknown)(null)).toThrow(TypeError);
    });
  });
}
