// SPDX-License-Identifier: Apache-2.0
// The differential harness of the verify-differential-*.test.ts suites (500 cases each in `npm test`,
// 10,000 in test/slow/signature-differential.slow.ts): random cases made with node:crypto (a handful of
// fresh keys, random messages), one mutant per case with a single bit flipped in the signature, the
// message or the key material, and the comparison of wasm-core's verdicts (single and batch) with
// node:crypto's on every one. Messages, hashes, salt lengths and flipped bits come from the seeded
// generator (test/helpers/random.ts); keys and signatures come from node:crypto's own randomness, so an
// item whose verdicts differ is reported in full (hex), which is enough to repeat it.
import {
  constants,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  verify as nodeVerify,
  sign,
} from 'node:crypto';
import { expect } from 'vitest';
import { parseSpki } from '../../wasm-core/verify/der.js';
import type { VerifyItem } from '../../wasm-core/verify/index.js';
import { randomBytes, randomInt } from '../helpers/random.js';
import type { SigTestCore } from './verify-harness.js';

export interface Case {
  readonly item: VerifyItem;
  /** node:crypto's KeyObject for the unmodified key (created once per key). */
  readonly keyObject: KeyObject | undefined;
}

/** Flip one random bit of bytes[from .. to). */
function flipBit(bytes: Uint8Array, from: number, to: number): Uint8Array {
  const out = bytes.slice();
  const i = from + randomInt(0, to - from);
  out[i] = (out[i] ?? 0) ^ (1 << randomInt(0, 8));
  return out;
}

/**
 * The key material's byte range inside an SPKI: RSA modulus and exponent, or an EC point's coordinates
 * after its prefix byte. Bits of the DER framing are left to the DER tests (der.test.ts), and the EC
 * prefix byte is left alone because OpenSSL accepts the hybrid form (06/07) that RFC 5480 §2.2 forbids
 * and we reject (verify-api.test.ts checks that rejection).
 */
function keyMaterial(spki: Uint8Array): [number, number] {
  const info = parseSpki(spki);
  if (info.kind === 'rsa') {
    const from = info.modulus.byteOffset - spki.byteOffset;
    return [from, info.exponent.byteOffset - spki.byteOffset + info.exponent.length];
  }
  if (info.kind === 'ec') {
    const from = info.point.byteOffset - spki.byteOffset + 1;
    return [from, from + info.point.length - 1];
  }
  throw new Error('no Ed25519 here');
}

/** The case with one bit flipped: in the signature, the message or the key, by index (i mod 3). */
export function mutate(c: Case, i: number): Case {
  const { item } = c;
  switch (i % 3) {
    case 0:
      return {
        item: { ...item, signature: flipBit(item.signature, 0, item.signature.length) },
        keyObject: c.keyObject,
      };
    case 1: {
      const message =
        item.message.length === 0 ? randomBytes(1) : flipBit(item.message, 0, item.message.length);
      return { item: { ...item, message }, keyObject: c.keyObject };
    }
    default: {
      const [from, to] = keyMaterial(item.publicKey);
      return { item: { ...item, publicKey: flipBit(item.publicKey, from, to) }, keyObject: undefined };
    }
  }
}

/** node:crypto's verdict (an exception, such as an unparsable key, is a rejection). */
export function nodeVerdict(c: Case): boolean {
  const { item } = c;
  try {
    const key =
      c.keyObject ?? createPublicKey({ key: Buffer.from(item.publicKey), format: 'der', type: 'spki' });
    if (item.alg === 'ecdsa') {
      return nodeVerify(
        item.hash ?? null,
        item.message,
        { key, dsaEncoding: item.sigEncoding === 'der' ? 'der' : 'ieee-p1363' },
        item.signature,
      );
    }
    if (item.alg === 'rsa-pss') {
      return nodeVerify(
        item.hash ?? null,
        item.message,
        { key, padding: 6, saltLength: item.saltLength ?? 0 },
        item.signature,
      );
    }
    return nodeVerify(item.hash ?? null, item.message, key, item.signature);
  } catch {
    return false;
  }
}

const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/**
 * Up to three of the items at `indices`, in full (hex), for an assertion message: their keys and
 * signatures come from node:crypto's randomness, which the test seed does not repeat.
 */
export function describeItems(items: readonly VerifyItem[], indices: readonly number[]): string {
  return indices
    .slice(0, 3)
    .map((i) => {
      const { alg, hash, sigEncoding, saltLength, publicKey, message, signature } = items[i] as VerifyItem;
      const opts = JSON.stringify({ alg, hash, sigEncoding, saltLength });
      return `item ${i} ${opts} key ${hexOf(publicKey)} message ${hexOf(message)} signature ${hexOf(signature)}`;
    })
    .join('\n');
}

/**
 * Compare verdicts on cases and their mutants: node:crypto accepts every case, and wasm-core's batch
 * verdicts (all items in one call) and single verdicts (the first `singles` cases and their mutants)
 * equal node:crypto's on every item.
 */
export function compareWithNode(core: SigTestCore, cases: readonly Case[], singles: number): void {
  const all: Case[] = [];
  cases.forEach((c, i) => {
    all.push(c, mutate(c, i));
  });
  const items = all.map((c) => c.item);
  const expected = all.map(nodeVerdict);
  const refused = expected.flatMap((v, i) => (i % 2 === 0 && !v ? [i] : []));
  expect(refused, `node:crypto accepts every unmodified case\n${describeItems(items, refused)}`).toEqual([]);
  const batch = core.verifier.verifyBatch(items);
  const differ = all.flatMap((_, i) => (batch[i] === expected[i] ? [] : [i]));
  expect(
    differ,
    `${core.name}: batch verdicts differ from node:crypto\n${describeItems(items, differ)}`,
  ).toEqual([]);
  const single = items.slice(0, 2 * singles).map((item) => core.verifier.verify(item));
  const singleDiffer = single.flatMap((v, i) => (v === expected[i] ? [] : [i]));
  expect(
    singleDiffer,
    `${core.name}: single verdicts differ from node:crypto\n${describeItems(items, singleDiffer)}`,
  ).toEqual([]);
}

// ---------------------------------------------------------------------------------------------------
// RSA cases (the two verify-differential-rsa-*.test.ts suites)

type Hash = 'sha1' | 'sha256' | 'sha384' | 'sha512';
const RSA_HASHES: Hash[] = ['sha256', 'sha256', 'sha1', 'sha384', 'sha512'];
/** PSS salt lengths; −1 stands for the digest length. */
const PSS_SALTS = [0, 20, 32, 64, -1];
const DIGEST_BYTES: Record<Hash, number> = { sha1: 20, sha256: 32, sha384: 48, sha512: 64 };

/**
 * count signatures made by node:crypto under 3 fresh 2048-bit keys and 1 fresh 3072-bit key (one case in
 * ten), random messages of 0–300 bytes, every hash (PSS: salt lengths 0, 20, 32, 64 and the digest length).
 */
export function makeRsaCases(scheme: 'rsa-pkcs1v15' | 'rsa-pss', count: number): Case[] {
  const keys = [2048, 2048, 2048, 3072].map((modulusLength) => {
    const pair = generateKeyPairSync('rsa', { modulusLength });
    const der = pair.publicKey.export({ type: 'spki', format: 'der' });
    return {
      pair,
      spki: new Uint8Array(der),
      keyObject: createPublicKey({ key: der, format: 'der', type: 'spki' }),
    };
  });
  const cases: Case[] = [];
  for (let i = 0; i < count; i++) {
    const key = keys[i % 10 === 9 ? 3 : i % 3] as (typeof keys)[number];
    const hash = RSA_HASHES[randomInt(0, RSA_HASHES.length)] as Hash;
    const message = randomBytes(randomInt(0, 301));
    let item: VerifyItem;
    if (scheme === 'rsa-pss') {
      const pick = PSS_SALTS[randomInt(0, PSS_SALTS.length)] as number;
      const saltLength = pick < 0 ? DIGEST_BYTES[hash] : pick;
      const signature = new Uint8Array(
        sign(hash, message, {
          key: key.pair.privateKey,
          padding: constants.RSA_PKCS1_PSS_PADDING,
          saltLength,
        }),
      );
      item = { alg: 'rsa-pss', hash, publicKey: key.spki, message, signature, saltLength };
    } else {
      const signature = new Uint8Array(sign(hash, message, key.pair.privateKey));
      item = { alg: 'rsa-pkcs1v15', hash, publicKey: key.spki, message, signature };
    }
    cases.push({ item, keyObject: key.keyObject });
  }
  return cases;
}

// ---------------------------------------------------------------------------------------------------
// ECDSA cases (verify-differential-ecdsa.test.ts and the slow suite)

const P256_HASHES: Hash[] = [
  'sha256',
  'sha256',
  'sha256',
  'sha256',
  'sha256',
  'sha256',
  'sha256',
  'sha1',
  'sha384',
  'sha512',
];
const P384_HASHES: Hash[] = ['sha384', 'sha384', 'sha256', 'sha512'];

/**
 * count signatures made by node:crypto under 4 fresh P-256 and 2 fresh P-384 keys (one case in ten on
 * P-384), random messages of 0–300 bytes, every hash, DER and P1363 alternating.
 */
export function makeEcdsaCases(count: number): Case[] {
  const keys = [
    ...Array.from({ length: 4 }, () => ({
      curve: 'P-256',
      pair: generateKeyPairSync('ec', { namedCurve: 'P-256' }),
    })),
    ...Array.from({ length: 2 }, () => ({
      curve: 'P-384',
      pair: generateKeyPairSync('ec', { namedCurve: 'P-384' }),
    })),
  ].map(({ curve, pair }) => {
    const der = pair.publicKey.export({ type: 'spki', format: 'der' });
    return {
      curve,
      pair,
      spki: new Uint8Array(der),
      keyObject: createPublicKey({ key: der, format: 'der', type: 'spki' }),
    };
  });
  const cases: Case[] = [];
  for (let i = 0; i < count; i++) {
    const key =
      i % 10 === 9
        ? (keys[4 + ((i / 10) & 1)] as (typeof keys)[number])
        : (keys[i % 4] as (typeof keys)[number]);
    const hashes = key.curve === 'P-256' ? P256_HASHES : P384_HASHES;
    const hash = hashes[randomInt(0, hashes.length)] as Hash;
    const message = randomBytes(randomInt(0, 301));
    const sigEncoding = i % 2 === 0 ? 'der' : 'p1363';
    const signature = new Uint8Array(
      sign(hash, message, {
        key: key.pair.privateKey,
        dsaEncoding: sigEncoding === 'der' ? 'der' : 'ieee-p1363',
      }),
    );
    cases.push({
      item: { alg: 'ecdsa', hash, publicKey: key.spki, message, signature, sigEncoding },
      keyObject: key.keyObject,
    });
  }
  return cases;
}

/**
 * The ECDSA differential on `count` cases: all of them and their mutants in one batch on the SIMD build
 * (the comb-table path for the six big key groups) and the first min(count, 1,000) one at a time (the
 * wNAF path); on the scalar build the first min(count, 1,000) cases, a fifth of those one at a time.
 */
export function ecdsaDifferential(simd: SigTestCore, scalar: SigTestCore, count: number): void {
  const cases = makeEcdsaCases(count);
  expect(cases.filter((c) => c.item.publicKey.length === 91).length).toBe(count - Math.floor(count / 10));
  const some = Math.min(count, 1_000);
  compareWithNode(simd, cases, some);
  compareWithNode(scalar, cases.slice(0, some), Math.floor(some / 5));
}

/**
 * The RSA differential of one scheme on `count` cases: all of them and their mutants in one batch on the
 * SIMD build and the first min(count, 500) one at a time; on the scalar build the first
 * min(count, 1,000) cases, 100 of them one at a time.
 */
export function rsaDifferential(
  scheme: 'rsa-pkcs1v15' | 'rsa-pss',
  simd: SigTestCore,
  scalar: SigTestCore,
  count: number,
): void {
  const cases = makeRsaCases(scheme, count);
  compareWithNode(simd, cases, Math.min(count, 500));
  compareWithNode(scalar, cases.slice(0, Math.min(count, 1_000)), 100);
}
