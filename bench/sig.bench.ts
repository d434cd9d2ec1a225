// SPDX-License-Identifier: Apache-2.0
/**
 * Signature verification: wasm-core (wasm-core/verify) against node:crypto (a KeyObject created once),
 * @noble/curves and, for RSA, a BigInt implementation written here. Sections: ECDSA P-256 single (one
 * key repeated, and a different key each time), P-384 single, a same-key batch of 256 per signature,
 * RSA-2048 PKCS#1 v1.5 (and PSS, 3072, 4096), and the agent facade. Prints markdown tables of medians
 * and ratios for BENCHMARKS.md; asserts nothing.
 */
import {
  constants,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  verify as nodeVerify,
  randomBytes,
  sign,
} from 'node:crypto';
import { p256 as nobleP256, p384 as nobleP384 } from '@noble/curves/nist.js';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import * as facade from '../agent/crypto/verify.js';
import { createWasmCore } from '../wasm-core/index.js';
import { createVerifier, type Verifier, type VerifyItem } from '../wasm-core/verify/index.js';
import { type Case, compare, formatNs, ratio, table } from './measure.js';

const spki = (key: KeyObject): Uint8Array => new Uint8Array(key.export({ type: 'spki', format: 'der' }));

interface Verifiers {
  readonly simd: Verifier;
  readonly scalar: Verifier;
  /** A second SIMD instance, so that a stream of different keys does not evict the first one's cached key. */
  readonly simdOther: Verifier;
}

async function verifiers(): Promise<Verifiers> {
  const make = async (variant: 'simd' | 'scalar'): Promise<Verifier> =>
    createVerifier((await createWasmCore({ variant })).boundary());
  return { simd: await make('simd'), scalar: await make('scalar'), simdOther: await make('simd') };
}

function rawPoint(key: KeyObject): Uint8Array {
  const der = spki(key);
  const len = der[1] === 0x59 ? 65 : 97;
  return der.subarray(der.length - len);
}

interface EcCase {
  readonly item: VerifyItem;
  readonly key: KeyObject;
  readonly raw: Uint8Array;
}

function ecCase(curve: 'P-256' | 'P-384'): EcCase {
  const hash = curve === 'P-256' ? 'sha256' : 'sha384';
  const pair = generateKeyPairSync('ec', { namedCurve: curve });
  const message = new Uint8Array(randomBytes(100));
  const signature = new Uint8Array(sign(hash, message, { key: pair.privateKey, dsaEncoding: 'ieee-p1363' }));
  return {
    item: { alg: 'ecdsa', hash, publicKey: spki(pair.publicKey), message, signature },
    key: createPublicKey({ key: Buffer.from(spki(pair.publicKey)), format: 'der', type: 'spki' }),
    raw: rawPoint(pair.publicKey),
  };
}

function nodeEcdsa(c: EcCase): boolean {
  return nodeVerify(
    c.item.hash ?? null,
    c.item.message,
    { key: c.key, dsaEncoding: 'ieee-p1363' },
    c.item.signature,
  );
}

async function ecdsaSingle(v: Verifiers): Promise<void> {
  for (const curve of ['P-256', 'P-384'] as const) {
    const c = ecCase(curve);
    // 64 keys in turn: no key is ever the one verified just before.
    const many = Array.from({ length: 64 }, () => ecCase(curve));
    let k = 0;
    const noble = curve === 'P-256' ? nobleP256 : nobleP384;
    const slow = curve === 'P-384' ? 0.3 : 1;
    const cases: Case[] = [
      { name: 'wasm-core SIMD, one key', run: () => v.simd.verify(c.item), reps: Math.ceil(60 * slow) },
      {
        name: 'wasm-core SIMD, a different key each time',
        run: () => v.simdOther.verify((many[k++ & 63] as EcCase).item),
        reps: Math.ceil(60 * slow),
      },
      { name: 'wasm-core scalar, one key', run: () => v.scalar.verify(c.item), reps: Math.ceil(40 * slow) },
      { name: 'node:crypto (KeyObject once)', run: () => nodeEcdsa(c), reps: Math.ceil(150 * slow) },
      {
        name: '@noble/curves',
        run: () => noble.verify(c.item.signature, c.item.message, c.raw, { lowS: false }),
        reps: Math.ceil(4 * slow),
      },
    ];
    if (!cases.every((x) => x.run() === true))
      throw new Error(`${curve}: a verifier rejected a valid signature`);
    const [wasmOne, wasmMany, wasmScalar, node, noble_] = compare(cases, 15);
    const nodeNs = node ?? Number.NaN;
    const nobleNs = noble_ ?? Number.NaN;
    table(
      `ECDSA ${curve}/${c.item.hash} single verification`,
      ['engine', 'per verification', 'verifications/s', 'vs node:crypto', 'vs @noble/curves'],
      cases.map((x, i) => {
        const ns = [wasmOne, wasmMany, wasmScalar, node, noble_][i] ?? Number.NaN;
        return [x.name, formatNs(ns), (1e9 / ns).toFixed(0), ratio(nodeNs, ns), ratio(nobleNs, ns)];
      }),
    );
    void wasmMany;
  }
}

async function ecdsaBatch(v: Verifiers): Promise<void> {
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const publicKey = spki(pair.publicKey);
  const key = createPublicKey({ key: Buffer.from(publicKey), format: 'der', type: 'spki' });
  const items: VerifyItem[] = Array.from({ length: 256 }, () => {
    const message = new Uint8Array(randomBytes(100));
    const signature = new Uint8Array(
      sign('sha256', message, { key: pair.privateKey, dsaEncoding: 'ieee-p1363' }),
    );
    return { alg: 'ecdsa', hash: 'sha256', publicKey, message, signature };
  });
  const nodeAll = (): boolean[] =>
    items.map((it) => nodeVerify('sha256', it.message, { key, dsaEncoding: 'ieee-p1363' }, it.signature));
  const cases: Case[] = [
    { name: 'wasm-core SIMD verifyBatch', run: () => v.simd.verifyBatch(items), reps: 1 },
    { name: 'wasm-core scalar verifyBatch', run: () => v.scalar.verifyBatch(items), reps: 1 },
    { name: 'wasm-core SIMD verify, one by one', run: () => items.map((it) => v.simd.verify(it)), reps: 1 },
    { name: 'node:crypto, one by one (KeyObject once)', run: nodeAll, reps: 1 },
  ];
  for (const c of cases) {
    const out = c.run() as boolean[];
    if (!out.every((x) => x)) throw new Error(`${c.name}: a valid signature was rejected`);
  }
  const ns = compare(cases, 9, 2);
  const nodeNs = ns[3] ?? Number.NaN;
  table(
    'ECDSA P-256/SHA-256, same-key batch of 256 (per signature)',
    ['engine', 'per signature', 'signatures/s', 'vs node:crypto'],
    cases.map((c, i) => {
      const per = (ns[i] ?? Number.NaN) / 256;
      return [c.name, formatNs(per), (1e9 / per).toFixed(0), ratio(nodeNs, ns[i] ?? Number.NaN)];
    }),
  );
}

/** RSASSA-PKCS1-v1_5 verification on BigInt (RFC 8017 §8.2.2), the way a caller without wasm would write it. */
function bigintPkcs1Verifier(key: KeyObject): (message: Uint8Array, signature: Uint8Array) => boolean {
  const jwk = key.export({ format: 'jwk' });
  const n = BigInt(`0x${Buffer.from(jwk.n ?? '', 'base64url').toString('hex')}`);
  const e = BigInt(`0x${Buffer.from(jwk.e ?? '', 'base64url').toString('hex')}`);
  const k = Buffer.from(jwk.n ?? '', 'base64url').length;
  const prefix = Buffer.from('3031300d060960864801650304020105000420', 'hex');
  return (message, signature) => {
    if (signature.length !== k) return false;
    const s = BigInt(`0x${Buffer.from(signature).toString('hex')}`);
    if (s >= n) return false;
    let m = 1n;
    let base = s;
    for (let x = e; x > 0n; x >>= 1n) {
      if (x & 1n) m = (m * base) % n;
      base = (base * base) % n;
    }
    const em = Buffer.from(m.toString(16).padStart(2 * k, '0'), 'hex');
    const expected = Buffer.alloc(k, 0xff);
    expected[0] = 0;
    expected[1] = 1;
    const t = Buffer.concat([prefix, nobleSha256(message)]);
    expected[k - t.length - 1] = 0;
    t.copy(expected, k - t.length);
    return em.equals(expected);
  };
}

async function rsa(v: Verifiers): Promise<void> {
  for (const bits of [2048, 3072, 4096]) {
    const pair = generateKeyPairSync('rsa', { modulusLength: bits });
    const message = new Uint8Array(randomBytes(100));
    const item: VerifyItem = {
      alg: 'rsa-pkcs1v15',
      hash: 'sha256',
      publicKey: spki(pair.publicKey),
      message,
      signature: new Uint8Array(sign('sha256', message, pair.privateKey)),
    };
    const pss: VerifyItem = {
      alg: 'rsa-pss',
      hash: 'sha256',
      publicKey: item.publicKey,
      message,
      saltLength: 32,
      signature: new Uint8Array(
        sign('sha256', message, {
          key: pair.privateKey,
          padding: constants.RSA_PKCS1_PSS_PADDING,
          saltLength: 32,
        }),
      ),
    };
    const key = pair.publicKey;
    const big = bigintPkcs1Verifier(key);
    const scale = bits === 2048 ? 1 : bits === 3072 ? 0.4 : 0.2;
    const reps = (n: number): number => Math.max(1, Math.ceil(n * scale));
    const cases: Case[] = [
      { name: 'wasm-core SIMD', run: () => v.simd.verify(item), reps: reps(150) },
      { name: 'wasm-core scalar', run: () => v.scalar.verify(item), reps: reps(60) },
      {
        name: 'node:crypto (KeyObject once)',
        run: () => nodeVerify('sha256', message, key, item.signature),
        reps: reps(400),
      },
      { name: 'BigInt (this file)', run: () => big(message, item.signature), reps: reps(20) },
      { name: 'wasm-core SIMD, PSS', run: () => v.simd.verify(pss), reps: reps(150) },
      {
        name: 'node:crypto, PSS',
        run: () =>
          nodeVerify(
            'sha256',
            message,
            { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
            pss.signature,
          ),
        reps: reps(400),
      },
    ];
    if (!cases.every((c) => c.run() === true))
      throw new Error(`RSA-${bits}: a verifier rejected a valid signature`);
    const ns = compare(cases, 15);
    const nodeNs = ns[2] ?? Number.NaN;
    const bigNs = ns[3] ?? Number.NaN;
    table(
      `RSA-${bits} verification (PKCS#1 v1.5 unless marked PSS; SHA-256, e = 65537)`,
      ['engine', 'per verification', 'verifications/s', 'vs node:crypto', 'vs BigInt'],
      cases.map((c, i) => {
        const t = ns[i] ?? Number.NaN;
        const vsNode = c.name.endsWith('PSS') ? ratio(ns[5] ?? Number.NaN, t) : ratio(nodeNs, t);
        return [c.name, formatNs(t), (1e9 / t).toFixed(0), vsNode, ratio(bigNs, t)];
      }),
    );
  }
}

async function facadeSection(): Promise<void> {
  await facade.initVerification();
  const p = ecCase('P-256');
  const many = Array.from({ length: 16 }, () => ecCase('P-256'));
  let k = 0;
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const message = new Uint8Array(randomBytes(100));
  const r: VerifyItem = {
    alg: 'rsa-pkcs1v15',
    hash: 'sha256',
    publicKey: spki(pair.publicKey),
    message,
    signature: new Uint8Array(sign('sha256', message, pair.privateKey)),
  };
  const cases: Case[] = [
    { name: 'facade ECDSA P-256, one key', run: () => facade.verifySignature(p.item), reps: 60 },
    {
      name: 'facade ECDSA P-256, a different key each time',
      run: () => facade.verifySignature((many[k++ & 15] as EcCase).item),
      reps: 60,
    },
    { name: 'facade RSA-2048', run: () => facade.verifySignature(r), reps: 150 },
  ];
  const ns = compare(cases, 9);
  table(
    'agent facade (agent/crypto/verify.ts, routes as documented there)',
    ['call', 'per verification'],
    cases.map((c, i) => [c.name, formatNs(ns[i] ?? Number.NaN)]),
  );
}

export async function main(): Promise<void> {
  const v = await verifiers();
  await ecdsaSingle(v);
  await ecdsaBatch(v);
  await rsa(v);
  await facadeSection();
}
