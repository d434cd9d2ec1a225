// SPDX-License-Identifier: Apache-2.0
// agent/crypto/verify.ts routes some ECDSA and all RSA items to node:crypto; that is allowed only because
// both engines give the same verdict. This suite checks it on every Wycheproof ECDSA and RSA vector, every
// ring SigVer record, keys outside our policy, and random node:crypto cases with one-bit mutants: the
// facade's verdict (node:crypto route) equals wasm-core's, one by one and through verifySignatures.
import { constants, generateKeyPairSync, sign } from 'node:crypto';
import { beforeAll, describe, expect, test } from 'vitest';
import * as facade from '../../agent/crypto/verify.js';
import type { VerifyItem } from '../../wasm-core/verify/index.js';
import { randomBytes, randomInt } from '../helpers/random.js';
import { type Case, describeItems, mutate } from './verify-differential.js';
import { cores } from './verify-harness.js';
import { ringItems, wycheproofItems } from './verify-items.js';

const [simd] = await cores();

/** The random cases: two RSA keys and 600 signatures, made once for the file (from the file's seed). */
let random: Case[];
beforeAll(async () => {
  await facade.initVerification();
  random = randomCases();
});

function randomCases(): Case[] {
  const cases: Case[] = [];
  const ec = [
    generateKeyPairSync('ec', { namedCurve: 'P-256' }),
    generateKeyPairSync('ec', { namedCurve: 'P-384' }),
  ];
  const rsa = [
    generateKeyPairSync('rsa', { modulusLength: 2048 }),
    generateKeyPairSync('rsa', { modulusLength: 1024 }),
  ];
  const spki = (k: (typeof ec)[number]['publicKey']) =>
    new Uint8Array(k.export({ type: 'spki', format: 'der' }));
  for (let i = 0; i < 600; i++) {
    const message = randomBytes(randomInt(0, 100));
    const hash = (['sha1', 'sha256', 'sha384', 'sha512'] as const)[i % 4] ?? 'sha256';
    let item: VerifyItem;
    if (i % 3 === 0) {
      const pair = ec[i % 2] as (typeof ec)[number];
      const sigEncoding = i % 4 < 2 ? 'der' : 'p1363';
      const signature = new Uint8Array(
        sign(hash, message, {
          key: pair.privateKey,
          dsaEncoding: sigEncoding === 'der' ? 'der' : 'ieee-p1363',
        }),
      );
      item = { alg: 'ecdsa', hash, publicKey: spki(pair.publicKey), message, signature, sigEncoding };
    } else if (i % 3 === 1) {
      const pair = rsa[i % 5 === 0 ? 1 : 0] as (typeof rsa)[number];
      item = {
        alg: 'rsa-pkcs1v15',
        hash,
        publicKey: spki(pair.publicKey),
        message,
        signature: new Uint8Array(sign(hash, message, pair.privateKey)),
      };
    } else {
      const pair = rsa[0] as (typeof rsa)[number];
      const saltLength = [0, 20, 32][i % 3] ?? 0;
      const signature = new Uint8Array(
        sign(hash, message, { key: pair.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength }),
      );
      item = { alg: 'rsa-pss', hash, publicKey: spki(pair.publicKey), message, signature, saltLength };
    }
    cases.push({ item, keyObject: undefined });
  }
  return cases;
}

describe('agent/crypto/verify: node:crypto route and wasm-core agree', () => {
  test('the routes are the documented ones', () => {
    const [c] = random.filter((x) => x.item.alg === 'ecdsa' && x.item.publicKey.length === 91);
    const [r] = random.filter((x) => x.item.alg === 'rsa-pss');
    if (c === undefined || r === undefined) throw new Error('no cases');
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey;
    expect(facade.route(r.item)).toBe('node:crypto');
    expect(facade.route(c.item)).toBe('node:crypto');
    expect(facade.route(c.item)).toBe('wasm-core');
    expect(
      facade.route({ ...c.item, publicKey: new Uint8Array(p384.export({ type: 'spki', format: 'der' })) }),
    ).toBe('wasm-core');
    expect(
      facade.route({
        alg: 'ed25519',
        publicKey: new Uint8Array(0),
        message: new Uint8Array(0),
        signature: new Uint8Array(0),
      }),
    ).toBe('wasm-core');
  });

  test('every Wycheproof and ring vector, every random case and its mutant', () => {
    if (simd === undefined) throw new Error('no build');
    const items = [
      ...wycheproofItems(),
      ...ringItems(),
      ...random.flatMap((c, i) => [c.item, mutate(c, i).item]),
    ];
    const ours = items.map((item) => simd.verifier.verify(item));
    const node = items.map((item) => facade.verifyWith('node:crypto', item));
    const nodeDiffers = items.flatMap((_, i) => (ours[i] === node[i] ? [] : [i]));
    expect(nodeDiffers, `node:crypto route differs\n${describeItems(items, nodeDiffers)}`).toEqual([]);
    const routed = items.map((item) => facade.verifySignature(item));
    const routedDiffers = items.flatMap((_, i) => (ours[i] === routed[i] ? [] : [i]));
    expect(routedDiffers, `routed verdict differs\n${describeItems(items, routedDiffers)}`).toEqual([]);
    expect(facade.verifySignatures(items)).toEqual(ours);
    // Sanity: both routes see valid and invalid items in quantity.
    expect(ours.filter(Boolean).length).toBeGreaterThan(1500);
    expect(ours.filter((v) => !v).length).toBeGreaterThan(1500);
  }, 60_000);

  test('misuse throws as wasm-core does', () => {
    const item = {
      alg: 'rsa-pkcs1v15',
      publicKey: new Uint8Array(1),
      message: new Uint8Array(0),
      signature: new Uint8Array(0),
    } as VerifyItem;
    expect(() => facade.verifySignature(item)).toThrow(/item\.hash/);
    expect(() => facade.verifySignatures([item])).toThrow(/items\[0\]\.hash/);
  });
});
