// SPDX-License-Identifier: Apache-2.0
// ECDSA differential: 10,000 signatures made by node:crypto under 4 fresh P-256 and 2 fresh P-384 keys
// (one case in ten on P-384), random messages of 0–300 bytes, every hash, DER and P1363 alternating,
// plus one single-bit mutant of each (signature, message or key material): wasm-core's verdict equals
// node:crypto's on all 20,000, in one batch (the comb-table path for the six big key groups) and one at a
// time for the first 1,000 cases (the wNAF path). The scalar build runs the first 1,000 cases.
import { createPublicKey, generateKeyPairSync, randomBytes, randomInt, sign } from 'node:crypto';
import { expect, test } from 'vitest';
import { type Case, compareWithNode } from './verify-differential.js';
import { cores } from './verify-harness.js';

type Hash = 'sha1' | 'sha256' | 'sha384' | 'sha512';

const [simd, scalar] = await cores();

function makeCases(count: number): Case[] {
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
  const p256Hashes: Hash[] = [
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
  const p384Hashes: Hash[] = ['sha384', 'sha384', 'sha256', 'sha512'];
  const cases: Case[] = [];
  for (let i = 0; i < count; i++) {
    const key =
      i % 10 === 9
        ? (keys[4 + ((i / 10) & 1)] as (typeof keys)[number])
        : (keys[i % 4] as (typeof keys)[number]);
    const hashes = key.curve === 'P-256' ? p256Hashes : p384Hashes;
    const hash = hashes[randomInt(0, hashes.length)] as Hash;
    const message = new Uint8Array(randomBytes(randomInt(0, 301)));
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

test('ecdsa: 10,000 node:crypto cases and their one-bit mutants, verdicts equal node:crypto', () => {
  if (simd === undefined || scalar === undefined) throw new Error('missing builds');
  const cases = makeCases(10_000);
  expect(cases.filter((c) => c.item.publicKey.length === 91).length).toBe(9_000);
  compareWithNode(simd, cases, 1_000);
  compareWithNode(scalar, cases.slice(0, 1_000), 200);
}, 120_000);
