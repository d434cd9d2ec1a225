// SPDX-License-Identifier: Apache-2.0
// Ed25519 verification (wasm-core/verify/ed25519.ts over both release builds) against the vendored
// vectors: RFC 8032 §7.1, ring's Ed25519 files, SUPERCOP sign.input, Wycheproof and ed25519-speccheck.
// Every file is checked by single and by batch verification on the release builds, and by batch
// verification with both multi-scalar multiplications forced on the testing builds (the release builds
// have no MSM switch), which must give the same verdicts.
import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import { ED25519_TORSION_SUBGROUP } from '@noble/curves/ed25519.js';
import { describe, expect, test } from 'vitest';
import {
  type Ed25519Item,
  type Ed25519Verdict,
  ed25519VerifyBatchDetailed,
  ed25519VerifyDetailed,
} from '../../wasm-core/verify/ed25519.js';
import {
  type CorePair,
  corePairs,
  hex,
  loadRingEd25519,
  loadSpeccheck,
  loadSupercop,
  loadWycheproofEd25519,
  type TestingCore,
  unhex,
} from './ed25519-harness.js';

const PAIRS = await corePairs();

/**
 * ed25519_batch_set_msm modes (testing builds): the size-based choice, Straus forced, Pippenger forced
 * (window 4 and 7).
 */
const MSM_MODES = [
  { mode: 0, name: 'auto' },
  { mode: 1, name: 'Straus' },
  { mode: 4, name: 'Pippenger c=4' },
  { mode: 7, name: 'Pippenger c=7' },
] as const;

function withMsm<T>(core: TestingCore, mode: number, f: () => T): T {
  const old = core.exports.ed25519_batch_set_msm(mode);
  try {
    return f();
  } finally {
    core.exports.ed25519_batch_set_msm(old);
  }
}

/**
 * The release build's batch verdicts for `items`, which it returns, after asserting that the testing
 * build of the same variant gives the same under every MSM mode (its last batch is under the last mode).
 */
function batchAllModes(pair: CorePair, items: readonly Ed25519Item[]): Ed25519Verdict[] {
  const verdicts = ed25519VerifyBatchDetailed(pair.release, items);
  for (const { mode, name } of MSM_MODES) {
    const again = withMsm(pair.testing, mode, () => ed25519VerifyBatchDetailed(pair.testing, items));
    expect(again, `testing build, batch with ${name}`).toEqual(verdicts);
  }
  return verdicts;
}

/** Node's verdict, with the raw key wrapped in an SPKI (RFC 8410 §4) as OpenSSL wants it. */
const SPKI_PREFIX = unhex('302a300506032b6570032100');
function nodeVerdict(pk: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean {
  try {
    const key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, pk]), format: 'der', type: 'spki' });
    return nodeVerify(null, msg, key, sig);
  } catch {
    return false;
  }
}

/**
 * ed25519-speccheck's 12 cases (README condition table) and our decision for each, with the rule that
 * decides it (wasm-core/assembly/ed25519-rule.ts). `openssl` is node:crypto's verdict (cofactorless,
 * RFC 8032 decoding but y = p − 1 with the sign bit accepted), for the record.
 */
const SPECCHECK_DECISIONS: readonly { verdict: Ed25519Verdict; openssl: boolean; why: string }[] = [
  {
    verdict: 'r-small-order',
    openssl: true,
    why: '0: S = 0, A and R of small order: rejected (R checked first)',
  },
  { verdict: 'key-small-order', openssl: true, why: '1: A of small order, R mixed: rejected' },
  { verdict: 'r-small-order', openssl: true, why: '2: R of small order, A mixed: rejected' },
  { verdict: 'valid', openssl: true, why: '3: A and R mixed order, both equations hold: accepted' },
  { verdict: 'valid', openssl: false, why: '4: mixed order, only the cofactored equation holds: accepted' },
  { verdict: 'valid', openssl: false, why: '5: [8] applied after reducing k mod L: accepted' },
  { verdict: 's-not-canonical', openssl: false, why: '6: S ≥ L: rejected' },
  { verdict: 's-not-canonical', openssl: false, why: '7: S ≫ L: rejected' },
  { verdict: 'r-negative-zero', openssl: false, why: '8: R = (0, −1) encoded with x sign set: rejected' },
  { verdict: 'r-negative-zero', openssl: false, why: '9: same R, hash over the bytes as given: rejected' },
  { verdict: 'key-negative-zero', openssl: false, why: '10: A = (0, −1) encoded with x sign set: rejected' },
  { verdict: 'key-negative-zero', openssl: true, why: '11: same A, hash over the bytes as given: rejected' },
];

/** RFC 8032 §7.1 TEST 1, 2, 3, 1024 and SHA(abc), found in ring's ed25519_tests.txt by public key. */
const RFC8032_KEYS = [
  'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
  '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
  'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
  '278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e',
  'ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf',
];

/**
 * Wycheproof `acceptable` cases and our decision for each, by tcId. This file version has none; any
 * acceptable case a future copy brings must be added here, or the suite fails.
 */
const WYCHEPROOF_ACCEPTABLE: ReadonlyMap<number, boolean> = new Map();

/** What each Wycheproof flag of an invalid case must be rejected for. */
const WYCHEPROOF_INVALID_VERDICTS: Readonly<Record<string, readonly Ed25519Verdict[]>> = {
  TruncatedSignature: ['malformed-length'],
  SignatureWithGarbage: ['malformed-length'],
  CompressedSignature: ['malformed-length'],
  SignatureMalleability: ['s-not-canonical'],
  InvalidKtv: ['s-not-canonical'],
  InvalidEncoding: ['r-not-on-curve', 'r-negative-zero', 'r-small-order', 'r-non-canonical', 'equation'],
  InvalidSignature: ['equation', 's-not-canonical', 'r-small-order', 'r-not-on-curve', 'r-non-canonical'],
};

const P = 2n ** 255n - 19n;
const D = (((-121665n * powMod(121666n, P - 2n)) % P) + P) % P;
function powMod(b: bigint, e: bigint): bigint {
  let r = 1n;
  let x = ((b % P) + P) % P;
  for (let k = e; k > 0n; k >>= 1n) {
    if (k & 1n) r = (r * x) % P;
    x = (x * x) % P;
  }
  return r;
}
function le32(n: bigint): Uint8Array {
  const out = new Uint8Array(32);
  let x = n;
  for (let i = 0; i < 32; i++) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}
/** The smallest y ≥ 2 for which no x exists: (y^2 − 1)/(d y^2 + 1) is not a square mod p. */
function yOffCurve(): bigint {
  for (let y = 2n; ; y++) {
    const ratio = ((y * y - 1n) * powMod(D * y * y + 1n, P - 2n)) % P;
    if (powMod(ratio, (P - 1n) / 2n) === P - 1n) return y;
  }
}

function flip(bytes: Uint8Array, bit: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  out[bit >> 3] = (out[bit >> 3] ?? 0) ^ (1 << (bit & 7));
  return out;
}

for (const pair of PAIRS) {
  const core = pair.release;
  const combined = (): number => pair.testing.exports.ed25519_batch_combined();
  describe(`Ed25519 vectors (wasm-core ${pair.name})`, () => {
    test('RFC 8032 §7.1: TEST 1, 2, 3, 1024 and SHA(abc) verify; one flipped bit fails', () => {
      const records = loadRingEd25519('ed25519_tests.txt');
      for (const pk of RFC8032_KEYS) {
        const r = records.find((c) => hex(c.publicKey) === pk);
        expect(r, pk).toBeDefined();
        if (r === undefined) continue;
        expect(ed25519VerifyDetailed(core, r.publicKey, r.message, r.signature), r.id).toBe('valid');
        expect(ed25519VerifyDetailed(core, r.publicKey, r.message, flip(r.signature, 300)), r.id).not.toBe(
          'valid',
        );
      }
    });

    test("ring's ed25519_tests.txt: all 514 records verify, single and batch", () => {
      const records = loadRingEd25519('ed25519_tests.txt');
      expect(records.length).toBe(514);
      for (const r of records) {
        expect(ed25519VerifyDetailed(core, r.publicKey, r.message, r.signature), r.id).toBe('valid');
      }
      const verdicts = batchAllModes(pair, records);
      expect(verdicts.every((v) => v === 'valid')).toBe(true);
      expect(combined()).toBe(1);
    });

    test("ring's ed25519_verify_tests.txt (BoringSSL malleability): 3 P verify, 2 F fail on S ≥ L", () => {
      const records = loadRingEd25519('ed25519_verify_tests.txt');
      expect(records.map((r) => r.valid)).toEqual([true, false, true, true, false]);
      const single = records.map((r) => ed25519VerifyDetailed(core, r.publicKey, r.message, r.signature));
      expect(single).toEqual(records.map((r) => (r.valid ? 'valid' : 's-not-canonical')));
      expect(batchAllModes(pair, records)).toEqual(single);
    });

    test('SUPERCOP sign.input: all 1024 verify, single and batch; corrupted copies all fail', () => {
      const records = loadSupercop();
      expect(records.length).toBe(1024);
      for (const r of records) {
        expect(ed25519VerifyDetailed(core, r.publicKey, r.message, r.signature), r.id).toBe('valid');
      }
      expect(batchAllModes(pair, records).every((v) => v === 'valid')).toBe(true);
      // Every 16th record with a bit of S flipped: exactly those fail in the batch.
      const bad = records.map((r, i) =>
        i % 16 === 5 ? { ...r, signature: flip(r.signature, 256 + (i % 200)) } : r,
      );
      const verdicts = batchAllModes(pair, bad);
      verdicts.forEach((v, i) => {
        expect(v === 'valid', `item ${i}`).toBe(i % 16 !== 5);
      });
    });

    test('Wycheproof ed25519_test.json: 88 valid accepted, 63 invalid rejected, 0 acceptable', () => {
      const file = loadWycheproofEd25519();
      expect(file.cases.length).toBe(file.numberOfTests);
      const counts = { valid: 0, invalid: 0, acceptable: 0 };
      const single: Ed25519Verdict[] = [];
      for (const c of file.cases) {
        const v = ed25519VerifyDetailed(core, c.publicKey, c.message, c.signature);
        single.push(v);
        counts[c.result]++;
        const label = `tcId ${c.tcId} (${c.comment})`;
        switch (c.result) {
          case 'valid':
            expect(v, label).toBe('valid');
            break;
          case 'invalid': {
            expect(v, label).not.toBe('valid');
            const allowed = c.flags.flatMap((f) => WYCHEPROOF_INVALID_VERDICTS[f] ?? []);
            expect(allowed, `${label}: rejected as ${v}`).toContain(v);
            break;
          }
          case 'acceptable': {
            const decision = WYCHEPROOF_ACCEPTABLE.get(c.tcId);
            expect(decision, `${label}: acceptable without a recorded decision`).toBeDefined();
            expect(v === 'valid', label).toBe(decision);
            break;
          }
        }
      }
      expect(counts).toEqual({ valid: 88, invalid: 63, acceptable: WYCHEPROOF_ACCEPTABLE.size });
      // Which rule rejects the 63 invalid cases (recorded, so that a change of rule shows up here).
      const rejectedBy: Record<string, number> = {};
      file.cases.forEach((c, i) => {
        if (c.result === 'invalid')
          rejectedBy[single[i] as string] = (rejectedBy[single[i] as string] ?? 0) + 1;
      });
      expect(rejectedBy).toEqual({
        'malformed-length': 12,
        's-not-canonical': 17,
        'r-non-canonical': 4,
        'r-not-on-curve': 10,
        'r-negative-zero': 1,
        'r-small-order': 7,
        equation: 12,
      });
      expect(batchAllModes(pair, file.cases)).toEqual(single);
    });

    test('crafted encodings of A and R: each RFC 8032 §5.1.3 failure and each small-order point', () => {
      const base = loadSupercop()[7] as Ed25519Item;
      const r = base.signature.subarray(0, 32);
      const s = base.signature.subarray(32);
      const crafted: { item: Ed25519Item; verdict: Ed25519Verdict; what: string }[] = [];
      const withKey = (pk: Uint8Array, verdict: Ed25519Verdict, what: string) =>
        crafted.push({ item: { ...base, publicKey: pk }, verdict, what: `A = ${what}` });
      const withR = (enc: Uint8Array, verdict: Ed25519Verdict, what: string) => {
        const signature = new Uint8Array(64);
        signature.set(enc);
        signature.set(s, 32);
        crafted.push({ item: { ...base, signature }, verdict, what: `R = ${what}` });
      };
      // The eight points of order dividing 8 (noble-curves' list of the torsion subgroup's encodings).
      for (const t of ED25519_TORSION_SUBGROUP) {
        withKey(unhex(t), 'key-small-order', `torsion ${t}`);
        withR(unhex(t), 'r-small-order', `torsion ${t}`);
      }
      // y + p for y < 19: the non-canonical twins of (y, ±x), with either sign bit.
      for (let y = 0n; y < 19n; y++) {
        for (const sign of [0n, 1n << 255n]) {
          withKey(le32(y + P + sign), 'key-non-canonical', `${y} + p`);
          withR(le32(y + P + sign), 'r-non-canonical', `${y} + p`);
        }
      }
      // x = 0 with the sign bit set: (0, 1) and (0, −1).
      for (const y of [1n, P - 1n]) {
        withKey(le32(y + (1n << 255n)), 'key-negative-zero', `(0, ${y}) with sign`);
        withR(le32(y + (1n << 255n)), 'r-negative-zero', `(0, ${y}) with sign`);
      }
      // A y without a point.
      const off = yOffCurve();
      withKey(le32(off), 'key-not-on-curve', `y = ${off}`);
      withR(le32(off), 'r-not-on-curve', `y = ${off}`);
      // Controls: the untouched signature, and R replaced by itself.
      withR(r, 'valid', 'itself');
      const single = crafted.map(({ item }) =>
        ed25519VerifyDetailed(core, item.publicKey, item.message, item.signature),
      );
      crafted.forEach((c, i) => {
        expect(single[i], c.what).toBe(c.verdict);
      });
      expect(
        batchAllModes(
          pair,
          crafted.map((c) => c.item),
        ),
      ).toEqual(single);
    });

    test('ed25519-speccheck: the decision on each of the 12 cases, single = batch (every MSM)', () => {
      const cases = loadSpeccheck();
      expect(cases.length).toBe(SPECCHECK_DECISIONS.length);
      const single = cases.map((c) => ed25519VerifyDetailed(core, c.publicKey, c.message, c.signature));
      expect(single).toEqual(SPECCHECK_DECISIONS.map((d) => d.verdict));
      expect(cases.map((c) => nodeVerdict(c.publicKey, c.message, c.signature))).toEqual(
        SPECCHECK_DECISIONS.map((d) => d.openssl),
      );
      // All twelve in one batch; each alone; and each inside a batch of valid SUPERCOP items, where the
      // accepted ones (3, 4, 5: mixed order) must pass the combined equation itself, not the fallback.
      expect(batchAllModes(pair, cases)).toEqual(single);
      const fillers = loadSupercop().slice(0, 40);
      cases.forEach((c, i) => {
        expect(batchAllModes(pair, [c]), `case ${i} alone`).toEqual([single[i]]);
        const mixed = batchAllModes(pair, [...fillers.slice(0, 20), c, ...fillers.slice(20)]);
        expect(mixed[20], `case ${i} among valid items`).toBe(single[i]);
        expect(mixed.filter((v) => v !== 'valid').length).toBe(single[i] === 'valid' ? 0 : 1);
        if (single[i] === 'valid') expect(combined(), `case ${i}`).toBe(1);
      });
    });
  });
}
