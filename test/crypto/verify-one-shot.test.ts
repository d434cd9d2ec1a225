// SPDX-License-Identifier: Apache-2.0
// agent/crypto/verify.ts in one-shot mode (`initVerification({ oneShot: true })`, as execgate exec runs
// it): every item on node:crypto behind wasm-core's key policy, except an Ed25519 signature node:crypto
// rejects, which wasm-core decides. That is allowed only because the verdicts are wasm-core's; this suite
// compares them, item by item and through verifySignatures, with a wasm-core instance's on every Ed25519
// vector (Wycheproof, ring's RFC 8032 files, SUPERCOP, ed25519-speccheck with its small- and mixed-order
// cases), encodings at each boundary of wasm-core's rule (S = L − 1, L; y = p − 1, p, …; every point of
// small order, with either sign), random signatures with one-bit mutants, every ECDSA and RSA vector of
// verify-facade.test.ts, and artifacts of every signing algorithm (with approvals and delegation) and
// their mutants through agent/artifact/verify.ts, in both modes.
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { beforeAll, describe, expect, test } from 'vitest';
import { approveArtifact, delegateArtifact, issueArtifact } from '../../agent/artifact/issue.js';
import { verifyArtifact } from '../../agent/artifact/verify.js';
import { generateSigningKey, parseSigningKey, type SigningAlg } from '../../agent/crypto/keys.js';
import { initVerification, verifySignature, verifySignatures } from '../../agent/crypto/verify.js';
import { createWasmCore, type WasmCore } from '../../wasm-core/index.js';
import type { VerifyItem } from '../../wasm-core/verify/index.js';
import {
  loadRingEd25519,
  loadSpeccheck,
  loadSupercop,
  loadWycheproofEd25519,
} from '../wasm-core/ed25519-harness.js';
import { describeItems } from '../wasm-core/verify-differential.js';
import { ringItems, wycheproofItems } from '../wasm-core/verify-items.js';

/** RFC 8410 SubjectPublicKeyInfo of a raw Ed25519 key. */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const spki = (raw: Uint8Array) => new Uint8Array(Buffer.concat([ED25519_SPKI_PREFIX, raw]));
const ed25519 = (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): VerifyItem => ({
  alg: 'ed25519',
  publicKey: spki(publicKey),
  message,
  signature,
});

const le = (n: bigint) => {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number((n >> BigInt(8 * i)) & 0xffn);
  return out;
};
const P = 2n ** 255n - 19n;
const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const SIGN = 2n ** 255n;
/** y of the points of small order (1, p − 1, 0 and the two of order 8). */
const SMALL_Y = [
  1n,
  P - 1n,
  0n,
  0x05fc536d880238b13933c6d305acdfd5f098eff289f4c345b027b2c28f95e826n,
  P - 0x05fc536d880238b13933c6d305acdfd5f098eff289f4c345b027b2c28f95e826n,
];

/** Encodings at the boundaries of wasm-core's rules 2 and 3: small order (both signs), y ≥ p, y = p − 2. */
function boundaryPoints(): Uint8Array[] {
  const ys = [...SMALL_Y, P - 2n, P, P + 1n, P + 18n, 2n ** 255n - 1n];
  return ys.flatMap((y) => [le(y), le(y | SIGN)]);
}

let core: WasmCore;

beforeAll(async () => {
  core = await createWasmCore();
  await initVerification({ oneShot: true });
});

function ed25519Items(): VerifyItem[] {
  const items: VerifyItem[] = [];
  for (const c of loadWycheproofEd25519().cases) items.push(ed25519(c.publicKey, c.message, c.signature));
  for (const file of ['ed25519_tests.txt', 'ed25519_verify_tests.txt'] as const)
    for (const c of loadRingEd25519(file)) items.push(ed25519(c.publicKey, c.message, c.signature));
  for (const c of loadSupercop().slice(0, 256)) items.push(ed25519(c.publicKey, c.message, c.signature));
  for (const c of loadSpeccheck()) items.push(ed25519(c.publicKey, c.message, c.signature));
  return items;
}

/** Valid signatures by fresh keys, each with one bit flipped in the signature, message or key, and the boundary encodings. */
function randomEd25519(): VerifyItem[] {
  const items: VerifyItem[] = [];
  for (let i = 0; i < 200; i++) {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const raw = new Uint8Array(publicKey.export({ format: 'der', type: 'spki' })).subarray(12);
    const message = new Uint8Array(randomBytes(i % 70));
    const signature = new Uint8Array(sign(null, message, privateKey));
    items.push(ed25519(raw, message, signature));
    const flip = (b: Uint8Array) => {
      const out = b.slice();
      const at = (i * 7) % out.length;
      out[at] = (out[at] ?? 0) ^ (1 << (i % 8));
      return out;
    };
    if (i % 3 === 0) items.push(ed25519(raw, message, flip(signature)));
    else if (i % 3 === 1 && message.length > 0) items.push(ed25519(raw, flip(message), signature));
    else items.push(ed25519(flip(raw), message, signature));
    if (i < 4) {
      const s = BigInt(`0x${Buffer.from(signature.subarray(32)).reverse().toString('hex')}`);
      for (const big of [s + L, L, L - 1n, 2n ** 256n - 1n])
        items.push(ed25519(raw, message, Uint8Array.from([...signature.subarray(0, 32), ...le(big)])));
      for (const point of boundaryPoints()) {
        items.push(ed25519(raw, message, Uint8Array.from([...point, ...signature.subarray(32)])));
        items.push(ed25519(point, message, signature));
      }
    }
  }
  return items;
}

function expectWasmVerdicts(items: readonly VerifyItem[]): void {
  const want = items.map((item) => core.verify(item));
  const got = items.map((item) => verifySignature(item));
  const differs = items.flatMap((_, i) => (want[i] === got[i] ? [] : [i]));
  expect(differs, `one-shot verdict differs\n${describeItems(items, differs)}`).toEqual([]);
  expect(verifySignatures(items)).toEqual(want);
  // Both verdicts in quantity: a suite that only saw rejections would prove little.
  expect(want.filter(Boolean).length).toBeGreaterThan(items.length / 20);
  expect(want.filter((v) => !v).length).toBeGreaterThan(items.length / 20);
}

describe('agent/crypto/verify one-shot mode gives wasm-core verdicts', () => {
  test('every Ed25519 vector', () => {
    expectWasmVerdicts(ed25519Items());
  });

  test('random Ed25519 signatures, one-bit mutants and boundary encodings', () => {
    expectWasmVerdicts(randomEd25519());
  });

  test('every Wycheproof and ring ECDSA and RSA vector', () => {
    expectWasmVerdicts([...wycheproofItems(), ...ringItems()]);
  }, 60_000);

  test('artifacts of every algorithm, approved and delegated, and their mutants', async () => {
    const key = (alg: SigningAlg) => parseSigningKey(Buffer.from(generateSigningKey(alg).privatePem));
    const now = 1_800_000_000;
    const claims = (i: number) => ({
      iss: 'ops',
      sub: `000b${'ab'.repeat(32)}`,
      iat: now,
      exp: now + 600,
      cti: new Uint8Array(randomBytes(16)),
      scope: { exe: `/usr/bin/tool${i}`, sha256: new Uint8Array(32) },
    });
    const cases: { bytes: Uint8Array; options: Parameters<typeof verifyArtifact>[1] }[] = [];
    const algs: SigningAlg[] = ['ed25519', 'p256', 'p384'];
    algs.forEach((alg, i) => {
      const root = key(alg);
      const other = key(algs[(i + 1) % 3] as SigningAlg);
      const approver = key(algs[(i + 2) % 3] as SigningAlg);
      const trust = [root];
      const plain = issueArtifact(claims(i), root);
      const parent = issueArtifact(
        { ...claims(i), delegate: { key: other.spki, depth: 0, scope: { exe: '/usr/bin/' } } },
        root,
      );
      const child = delegateArtifact(parent, { ...claims(i), exp: now + 300 }, other);
      const approved = approveArtifact(child, approver);
      const approvals = { approvers: [approver], required: 1 };
      for (const bytes of [plain, child, approved]) {
        cases.push({ bytes, options: { trust, at: now, approvals } });
        cases.push({ bytes, options: { trust, at: now } });
        for (let k = 0; k < 24; k++) {
          const mutant = bytes.slice();
          const at = (k * 37 + i) % mutant.length;
          mutant[at] = (mutant[at] ?? 0) ^ (1 << (k % 8));
          cases.push({ bytes: mutant, options: { trust, at: now, approvals } });
        }
      }
    });
    const verdict = (c: (typeof cases)[number]) => {
      const v = verifyArtifact(c.bytes, c.options);
      return v.ok ? 'ok' : v.code;
    };
    const oneShot = cases.map(verdict);
    await initVerification();
    const routed = cases.map(verdict);
    await initVerification({ oneShot: true });
    expect(oneShot).toEqual(routed);
    expect(routed.filter((v) => v === 'ok').length).toBeGreaterThan(5);
    expect(routed.filter((v) => v === 'E_SIGNATURE').length).toBeGreaterThan(5);
  });
});
