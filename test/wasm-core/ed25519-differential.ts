// SPDX-License-Identifier: Apache-2.0
// The Ed25519 differential against node:crypto (OpenSSL), shared by ed25519-differential.test.ts (500
// cases) and test/slow/signature-differential.slow.ts (10,000): keys from seeded private-key bytes,
// random messages, and each case with one bit flipped in the signature, the message or the key. Every
// input comes from the seeded generator (test/helpers/random.ts) and Ed25519 signing is deterministic
// (RFC 8032 §5.1.6), so $EXECGATE_TEST_SEED repeats a run exactly. The two rules differ only on crafted
// small-order or mixed-order inputs (OpenSSL is cofactorless and keeps small-order keys), which random
// cases never produce, so every verdict must agree.
import { createPrivateKey, createPublicKey, type KeyObject, verify as nodeVerify, sign } from 'node:crypto';
import { expect } from 'vitest';
import { ed25519Verify, ed25519VerifyBatch } from '../../wasm-core/verify/ed25519.js';
import { randomBytes, randomInt } from '../helpers/random.js';
import { type TestCore, type TestingCore, unhex } from './ed25519-harness.js';

const SPKI_PREFIX = unhex('302a300506032b6570032100'); // RFC 8410 §4 SubjectPublicKeyInfo, Ed25519

export interface Case {
  readonly publicKey: Uint8Array;
  readonly message: Uint8Array;
  readonly signature: Uint8Array;
  readonly expected: boolean;
  readonly what: string;
}

export interface Signed {
  readonly publicKey: Uint8Array;
  readonly message: Uint8Array;
  readonly signature: Uint8Array;
}

export function nodeVerdict(pk: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean {
  try {
    const key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, pk]), format: 'der', type: 'spki' });
    return nodeVerify(null, msg, key, sig);
  } catch {
    return false;
  }
}

/**
 * A key pair from 32 seeded private-key bytes (RFC 8032 §5.1.5), through node:crypto. Imported as a JWK
 * (RFC 8037 §2): node:crypto derives the public key from `d` and does not read `x` (Node 20; a JWK
 * without `x` is refused, so an empty one is given), and the derived `x` is read back. Measured per key:
 * 0.1 ms, where PKCS#8 import cost 0.85 ms (OpenSSL 3's DER decoders), generating 0.25 ms, and
 * @noble/curves' getPublicKey 1.6 ms.
 */
export function keyPair(): { publicKey: Uint8Array; privateKey: KeyObject } {
  const d = Buffer.from(randomBytes(32)).toString('base64url');
  const privateKey = createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d, x: '' }, format: 'jwk' });
  const { x } = privateKey.export({ format: 'jwk' });
  if (typeof x !== 'string') throw new Error('node:crypto exported an Ed25519 JWK without x');
  return { publicKey: new Uint8Array(Buffer.from(x, 'base64url')), privateKey };
}

/** A fresh key and a random message of 0..maxMessage bytes, signed by node:crypto. */
export function freshCase(maxMessage = 1000): Signed {
  const { publicKey, privateKey } = keyPair();
  const message = randomBytes(randomInt(0, maxMessage + 1));
  const signature = new Uint8Array(sign(null, message, privateKey));
  return { publicKey, message, signature };
}

export function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  out[bit >> 3] = (out[bit >> 3] ?? 0) ^ (1 << (bit & 7));
  return out;
}

/** The case with one bit flipped in the signature, the message (when it has one) or the key. */
export function mutate(c: Signed, i: number): Case {
  const where = c.message.length === 0 && i % 3 === 1 ? 0 : i % 3;
  if (where === 0) {
    const bit = randomInt(512);
    const signature = flipBit(c.signature, bit);
    return {
      ...c,
      signature,
      expected: nodeVerdict(c.publicKey, c.message, signature),
      what: `sig bit ${bit}`,
    };
  }
  if (where === 1) {
    const bit = randomInt(c.message.length * 8);
    const message = flipBit(c.message, bit);
    return {
      ...c,
      message,
      expected: nodeVerdict(c.publicKey, message, c.signature),
      what: `msg bit ${bit}`,
    };
  }
  const bit = randomInt(256);
  const publicKey = flipBit(c.publicKey, bit);
  return {
    ...c,
    publicKey,
    expected: nodeVerdict(publicKey, c.message, c.signature),
    what: `key bit ${bit}`,
  };
}

/** Random-size batches over `cases`; each verdict must equal `expected`. */
export function checkInBatches(core: TestCore, cases: readonly Case[]): void {
  for (let i = 0; i < cases.length; ) {
    const n = Math.min(cases.length - i, 1 + randomInt(96));
    const chunk = cases.slice(i, i + n);
    const got = ed25519VerifyBatch(core, chunk);
    chunk.forEach((c, k) => {
      if (got[k] !== c.expected) expect.fail(`${core.name} batch item ${i + k}: ${c.what}: got ${got[k]}`);
    });
    i += n;
  }
}

/** checkInBatches on a testing build under ed25519_batch_set_msm(mode). */
export function checkInBatchesWithMsm(core: TestingCore, cases: readonly Case[], mode: number): void {
  const old = core.exports.ed25519_batch_set_msm(mode);
  try {
    checkInBatches({ ...core, name: `${core.name} (MSM mode ${mode})` }, cases);
  } finally {
    core.exports.ed25519_batch_set_msm(old);
  }
}

/**
 * `count` random cases and their one-bit mutants: each verdict, single (every 8th item on the scalar
 * build, the rest on SIMD) and in random-size batches (the first 30% of the items on SIMD, the next 15%
 * each under forced MSM modes 1 and 5 on the testing SIMD build, the next 10% on scalar), equals
 * node:crypto's.
 */
export function ed25519Differential(
  [simd, scalar]: readonly [TestCore, TestCore],
  [testingSimd]: readonly [TestingCore, TestingCore],
  count: number,
): void {
  const cases: Case[] = [];
  for (let i = 0; i < count; i++) {
    const c = freshCase();
    cases.push({ ...c, expected: true, what: `case ${i}` });
    cases.push(mutate(c, i));
  }
  cases.forEach((c, i) => {
    // The scalar build takes every 8th case (the field code is shared; SHA-512 differs between builds).
    const core = i % 8 === 7 ? scalar : simd;
    const got = ed25519Verify(core, c.publicKey, c.message, c.signature);
    if (got !== c.expected) expect.fail(`${core.name} ${c.what}: got ${got}, node:crypto ${c.expected}`);
  });
  // Almost every mutant is refused (a flipped bit that leaves a valid signature would need a collision).
  const rejected = cases.filter((c) => !c.expected).length;
  expect(rejected).toBeGreaterThan(count * 0.99);
  const at = (fraction: number) => Math.round(2 * count * fraction);
  checkInBatches(simd, cases.slice(0, at(0.3)));
  checkInBatchesWithMsm(testingSimd, cases.slice(at(0.3), at(0.45)), 1);
  checkInBatchesWithMsm(testingSimd, cases.slice(at(0.45), at(0.6)), 5);
  checkInBatches(scalar, cases.slice(at(0.6), at(0.7)));
}
