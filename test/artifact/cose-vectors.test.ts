// SPDX-License-Identifier: Apache-2.0
// The cose-wg/Examples COSE_Sign1 files and the RFC 8392 Appendix A signed CWT (test/vectors/cose/,
// provenance in test/vectors/SOURCES.md) through agent/artifact/cose.ts: each example is decoded
// (decodeCoseSign1, lenient: they are others' encodings), its Sig_structure is rebuilt (sigStructure1, with
// the example's external AAD) and compared with the file's `ToBeSign_hex`, and its signature is checked
// with agent/crypto/verify (verifyItemFor) under the key the file gives (JWK-like x/y as base64url or hex,
// turned into a DER SPKI by node:crypto). Every file ends up accepted or refused exactly as labelled; the
// examples signed with an algorithm execgate does not use (ES512, EdDSA on Ed448) are refused by alg,
// listed by title, and shown to be valid otherwise with node:crypto, so that none is silently skipped.
import { createPrivateKey, createPublicKey, type JsonWebKey, verify as nodeVerify } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeArtifact } from '../../agent/artifact/artifact.js';
import {
  type CoseSign1,
  coseSign1FromValue,
  decodeCoseSign1,
  HEADER,
  protectedForSigning,
  signingAlgOf,
  sigStructure1,
  verifyItemFor,
} from '../../agent/artifact/cose.js';
import { ArtifactError } from '../../agent/artifact/errors.js';
import { KeyError, publicKeyOf } from '../../agent/crypto/keys.js';
import { initVerification, verifySignature } from '../../agent/crypto/verify.js';
import { CborTag, type CborValue, decodeCbor } from '../../agent/encoding/cbor.js';

const DIR = join(import.meta.dirname, '..', 'vectors', 'cose');

// ── The example files (examples.cddl of cose-wg/Examples, the parts a COSE_Sign1 example uses) ─────────

interface ExampleKey {
  readonly kty: string;
  readonly crv: string;
  readonly x?: string;
  readonly y?: string;
  readonly d?: string;
  readonly x_hex?: string;
  readonly y_hex?: string;
  readonly d_hex?: string;
}

interface Example {
  /** Path under test/vectors/cose/. */
  readonly file: string;
  readonly title: string;
  readonly fail: boolean;
  readonly plaintext: Uint8Array;
  readonly key: ExampleKey;
  readonly alg: string;
  readonly external: Uint8Array;
  readonly failures: Readonly<Record<string, unknown>>;
  readonly toBeSign: Uint8Array;
  readonly cbor: Uint8Array;
}

function hex(text: string, what: string): Uint8Array {
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(text)) throw new Error(`${what}: not hex`);
  return Uint8Array.from(Buffer.from(text, 'hex'));
}

const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function loadExample(file: string): Example {
  const doc = JSON.parse(readFileSync(join(DIR, file), 'utf8'));
  const sign0 = doc.input?.sign0;
  if (!sign0) throw new Error(`${file}: not a COSE_Sign1 example (no input.sign0)`);
  const plaintext =
    doc.input.plaintext_hex !== undefined
      ? hex(doc.input.plaintext_hex, `${file} plaintext_hex`)
      : new Uint8Array(Buffer.from(doc.input.plaintext, 'utf8'));
  return {
    file,
    title: doc.title,
    fail: doc.fail === true,
    plaintext,
    key: sign0.key,
    alg: sign0.alg,
    external: sign0.external === undefined ? new Uint8Array(0) : hex(sign0.external, `${file} external`),
    failures: doc.input.failures ?? {},
    toBeSign: hex(doc.intermediates.ToBeSign_hex, `${file} ToBeSign_hex`),
    cbor: hex(doc.output.cbor, `${file} output.cbor`),
  };
}

/** Every COSE_Sign1 file copied from cose-wg/Examples: all of sign1-tests/, the `*-sig-*` examples, CWT A.3. */
const FILES = [
  ...['sign1-tests', 'ecdsa-examples', 'eddsa-examples'].flatMap((dir) =>
    readdirSync(join(DIR, dir))
      .filter((f) => f.endsWith('.json'))
      .sort()
      .map((f) => `${dir}/${f}`),
  ),
  'CWT/A_3.json',
];
const EXAMPLES = FILES.map(loadExample);

/** The pass examples signed with an algorithm outside EdDSA/Ed25519, ES256 and ES384: refused by alg. */
const SKIPPED_BY_ALG = [
  'ECDSA-03: ECDSA - P-512 - sign0',
  'ECDSA-sig-01: ECDSA - P-256 w/ SHA-512 - implicit',
  'EdDSA-sig-02: EdDSA - 448 - sign1',
];

/** Where each negative example must be refused, and why (the file's `failures`). */
const FAIL_STAGE: Readonly<Record<string, Stage>> = {
  'sign1-tests/sign-fail-01.json': 'decode', // ChangeCBORTag 998: the signature is valid, the tag is not 18
  'sign1-tests/sign-fail-02.json': 'signature', // ChangeTag: the content's last byte changed, not the signature
  'sign1-tests/sign-fail-03.json': 'alg', // ChangeAttr alg -999
  'sign1-tests/sign-fail-04.json': 'alg', // ChangeAttr alg "unknown"
  'sign1-tests/sign-fail-06.json': 'signature', // AddProtected ctyp: the protected header is not the signed one
  'sign1-tests/sign-fail-07.json': 'signature', // RemoveProtected ctyp
};

/**
 * The negative examples whose content (fail-02) or protected header was changed after signing: their
 * ToBeSign_hex is the structure that was signed, not the one the message carries. For every other file
 * ours must equal it.
 */
const TBS_OF_ANOTHER_MESSAGE = [
  'sign1-tests/sign-fail-02.json',
  'sign1-tests/sign-fail-03.json',
  'sign1-tests/sign-fail-04.json',
  'sign1-tests/sign-fail-06.json',
  'sign1-tests/sign-fail-07.json',
];

// ── Keys: JWK-like → DER SubjectPublicKeyInfo (node:crypto) ──────────────────────────────────────────

const b64url = (k: ExampleKey, name: 'x' | 'y' | 'd'): string | undefined => {
  const h = k[`${name}_hex`];
  return h !== undefined ? Buffer.from(hex(h, name)).toString('base64url') : k[name];
};

function jwkOf(k: ExampleKey, withPrivate: boolean): JsonWebKey {
  const part = (name: 'x' | 'y' | 'd') => {
    const v = b64url(k, name);
    if (v === undefined) throw new Error(`the example key has no ${name}`);
    return v;
  };
  const jwk: JsonWebKey = { kty: k.kty, crv: k.crv, x: part('x') };
  if (k.kty === 'EC') jwk.y = part('y');
  if (withPrivate) jwk.d = part('d');
  return jwk;
}

/** The DER SPKI of an example key; its private half, when given, must derive the same public key. */
function spkiOf(k: ExampleKey): Uint8Array {
  const spki = createPublicKey({ key: jwkOf(k, false), format: 'jwk' }).export({
    type: 'spki',
    format: 'der',
  });
  if (k.d !== undefined || k.d_hex !== undefined) {
    const derived = createPublicKey(createPrivateKey({ key: jwkOf(k, true), format: 'jwk' })).export({
      type: 'spki',
      format: 'der',
    });
    if (!Buffer.from(spki).equals(derived)) throw new Error('the example key: d does not match x/y');
  }
  return new Uint8Array(spki);
}

// ── The judgement: decode, Sig_structure, alg, key, signature ──────────────────────────────────────────

type Stage = 'decode' | 'alg' | 'key' | 'signature';

interface Outcome {
  readonly accepted: boolean;
  /** Where it was refused. */
  readonly stage?: Stage;
  readonly detail?: string;
  /** Our Sig_structure, when the message decoded. */
  readonly tbs?: Uint8Array;
}

/** Untagged only where the example removed the tag (RemoveCBORTag): elsewhere tag 18 is required. */
const untagged = (e: Example) => 'RemoveCBORTag' in e.failures;

function decodeExample(e: Example): CoseSign1 {
  return decodeCoseSign1(e.cbor, e.file, { lenient: true, ...(untagged(e) ? { tagged: false } : {}) });
}

function judge(e: Example): Outcome {
  let m: CoseSign1;
  try {
    m = decodeExample(e);
  } catch (err) {
    if (err instanceof ArtifactError) return { accepted: false, stage: 'decode', detail: err.message };
    throw err;
  }
  const tbs = sigStructure1(m.protectedBytes, m.payload, e.external);
  // RFC 9052 §3: a label appears in one bucket only; alg may be in either (sign-pass-01: unprotected).
  for (const label of m.protectedHeader.keys())
    if (m.unprotected.has(label))
      return { accepted: false, stage: 'decode', detail: `label ${String(label)} in both buckets`, tbs };
  const coseAlg = m.protectedHeader.get(HEADER.alg) ?? m.unprotected.get(HEADER.alg);
  const alg = signingAlgOf(coseAlg);
  if (alg === undefined) return { accepted: false, stage: 'alg', detail: `alg ${String(coseAlg)}`, tbs };
  let spki: Uint8Array;
  try {
    spki = spkiOf(e.key);
    const key = publicKeyOf(spki, `${e.file} key`);
    if (key.alg !== alg) return { accepted: false, stage: 'key', detail: `alg ${alg}, key ${key.alg}`, tbs };
  } catch (err) {
    if (err instanceof KeyError) return { accepted: false, stage: 'key', detail: err.message, tbs };
    throw err;
  }
  if (!verifySignature(verifyItemFor(alg, spki, tbs, m.signature)))
    return { accepted: false, stage: 'signature', detail: 'the signature does not verify', tbs };
  return { accepted: true, tbs };
}

beforeAll(() => initVerification());

describe('cose-wg/Examples COSE_Sign1', () => {
  it('the vendored set: 16 COSE_Sign1 files, 10 pass and 6 fail, titles unique', () => {
    expect(EXAMPLES.length).toBe(16);
    expect(EXAMPLES.filter((e) => !e.fail).length).toBe(10);
    expect(EXAMPLES.filter((e) => e.fail).map((e) => e.file)).toStrictEqual(Object.keys(FAIL_STAGE));
    expect(new Set(EXAMPLES.map((e) => e.title)).size).toBe(EXAMPLES.length);
    // The payload is the example's plaintext, in every file but sign-fail-02 (its last byte changed).
    for (const e of EXAMPLES) {
      const v = decodeCbor(e.cbor, { tags: [18, 998], deterministic: false });
      const m = coseSign1FromValue(v instanceof CborTag ? v.value : v, e.file, {
        lenient: true,
        tagged: false,
      });
      const plaintext = e.plaintext.slice();
      if (e.file === 'sign1-tests/sign-fail-02.json') plaintext[plaintext.length - 1] = 0x2f; // '.' → '/'
      expect(toHex(m.payload), e.file).toBe(toHex(plaintext));
    }
  });

  it.each(EXAMPLES.map((e) => [e.file, e] as const))('%s: our Sig_structure is ToBeSign_hex', (file, e) => {
    const { tbs } = judge(e);
    if (FAIL_STAGE[file] === 'decode') {
      // Refused before a Sig_structure exists; the same bytes read with tag 998 allowed give the signed one.
      const v = decodeCbor(e.cbor, { tags: [998], deterministic: false });
      if (!(v instanceof CborTag)) throw new Error('expected a tagged item');
      const m = coseSign1FromValue(v.value, file, { lenient: true, tagged: false });
      expect(toHex(sigStructure1(m.protectedBytes, m.payload, e.external))).toBe(toHex(e.toBeSign));
      return;
    }
    expect(tbs).toBeDefined();
    if (TBS_OF_ANOTHER_MESSAGE.includes(file)) expect(toHex(tbs as Uint8Array)).not.toBe(toHex(e.toBeSign));
    else expect(toHex(tbs as Uint8Array)).toBe(toHex(e.toBeSign));
  });

  it.each(EXAMPLES.filter((e) => e.fail).map((e) => [e.file, e] as const))(
    '%s (fail) is refused where its mutation is',
    (file, e) => {
      const out = judge(e);
      expect(out, out.detail).toMatchObject({ accepted: false, stage: FAIL_STAGE[file] });
    },
  );

  it.each(
    EXAMPLES.filter((e) => !e.fail && !SKIPPED_BY_ALG.includes(e.title)).map((e) => [e.file, e] as const),
  )('%s (pass) decodes and verifies', (_file, e) => {
    const out = judge(e);
    expect(out, out.detail).toStrictEqual({ accepted: true, tbs: e.toBeSign });
  });

  it('the examples outside our algorithms are refused by alg or key, and are exactly the expected list', () => {
    const refused = EXAMPLES.filter((e) => !e.fail)
      .map((e) => ({ e, out: judge(e) }))
      .filter(({ out }) => !out.accepted);
    expect(refused.map(({ e }) => e.title)).toStrictEqual(SKIPPED_BY_ALG);
    for (const { e, out } of refused) {
      expect(['alg', 'key'], `${e.title}: ${out.detail}`).toContain(out.stage);
      // …and not for a bad signature: each is valid under node:crypto with its own algorithm.
      const m = decodeExample(e);
      const key = createPublicKey({ key: jwkOf(e.key, false), format: 'jwk' });
      const tbs = sigStructure1(m.protectedBytes, m.payload, e.external);
      const valid =
        e.alg === 'ES512'
          ? nodeVerify('sha512', tbs, { key, dsaEncoding: 'ieee-p1363' }, m.signature)
          : nodeVerify(null, tbs, key, m.signature);
      expect(valid, e.title).toBe(true);
    }
    const counts = { pass: 0, fail: 0, skippedByAlg: refused.length };
    for (const e of EXAMPLES) if (!SKIPPED_BY_ALG.includes(e.title)) counts[e.fail ? 'fail' : 'pass']++;
    expect(counts).toStrictEqual({ pass: 7, fail: 6, skippedByAlg: 3 });
  });

  it('sign-fail-01 carries a valid signature: only its tag (998, not 18) refuses it', () => {
    const e = EXAMPLES.find((x) => x.file === 'sign1-tests/sign-fail-01.json') as Example;
    expect(judge(e).detail).toMatch(/E_CBOR_TAG: tag 998/);
    const v = decodeCbor(e.cbor, { tags: [998], deterministic: false }) as CborTag;
    const m = coseSign1FromValue(v.value, e.file, { lenient: true, tagged: false });
    const spki = spkiOf(e.key);
    expect(
      verifySignature(verifyItemFor('p256', spki, sigStructure1(m.protectedBytes, m.payload), m.signature)),
    ).toBe(true);
  });

  it('sign-pass-03 (untagged) is refused where a tagged COSE_Sign1 is required', () => {
    const e = EXAMPLES.find((x) => x.file === 'sign1-tests/sign-pass-03.json') as Example;
    expect(untagged(e)).toBe(true);
    expect(EXAMPLES.filter(untagged).map((x) => x.file)).toStrictEqual([e.file]);
    expect(() => decodeCoseSign1(e.cbor, e.file, { lenient: true })).toThrow(/not a tagged COSE_Sign1/);
  });

  it("sign-pass-01: an empty map sent as h'a0' is signed as a zero-length bstr (RFC 9052 §3)", () => {
    const e = EXAMPLES.find((x) => x.file === 'sign1-tests/sign-pass-01.json') as Example;
    const m = decodeExample(e);
    expect(toHex(m.protectedBytes)).toBe('a0');
    expect(m.protectedHeader.size).toBe(0);
    const empty = ['a0', 'b800', 'b90000', 'ba00000000', 'bb0000000000000000'];
    for (const h of empty) expect(protectedForSigning(hex(h, h)), h).toStrictEqual(new Uint8Array(0));
    for (const h of ['a10126', 'b801', 'b8000000', 'bb00000000000000', '40', 'a0a0'])
      expect(toHex(protectedForSigning(hex(h, h))), h).toBe(h);
    // Strictly read, the non-shortest forms are not headers at all.
    expect(() => decodeCoseSign1(hex('d28442b800a04040', 'msg'), 'msg')).toThrow(/E_CBOR_NONCANONICAL/);
  });

  it('sign-pass-02: without its external AAD the signature does not verify', () => {
    const e = EXAMPLES.find((x) => x.file === 'sign1-tests/sign-pass-02.json') as Example;
    expect(e.external.length).toBe(12);
    const m = decodeExample(e);
    const item = (aad: Uint8Array) =>
      verifyItemFor('p256', spkiOf(e.key), sigStructure1(m.protectedBytes, m.payload, aad), m.signature);
    expect(verifySignature(item(e.external))).toBe(true);
    expect(verifySignature(item(new Uint8Array(0)))).toBe(false);
  });
});

// ── RFC 8392 Appendix A ─────────────────────────────────────────────────────────────────────────────────

interface Rfc8392 {
  readonly claims_A1: Readonly<Record<string, string | number>>;
  readonly hex: Readonly<Record<string, string>>;
}

const RFC8392: Rfc8392 = JSON.parse(readFileSync(join(DIR, 'rfc8392', 'rfc8392_appendix_a.json'), 'utf8'));

/** A.1 as a claims map: "4 exp": 1444064944 → 4 ↦ 1444064944, "h'0b71'" → bytes. */
function claimsA1(): Map<number, CborValue> {
  const out = new Map<number, CborValue>();
  for (const [name, value] of Object.entries(RFC8392.claims_A1)) {
    const key = Number(name.split(' ')[0]);
    const bstr = typeof value === 'string' ? /^h'([0-9a-fA-F]*)'$/.exec(value) : null;
    out.set(key, bstr ? hex(bstr[1] as string, name) : value);
  }
  return out;
}

describe('RFC 8392 A.3 (signed CWT, ES256)', () => {
  const token = hex(RFC8392.hex.A_3_signed_cwt as string, 'A_3');

  /** A.2.3: the COSE_Key (RFC 9052 §7) of the signer, as a JWK. */
  function keyA23(): { spki: Uint8Array; kid: Uint8Array } {
    const k = decodeCbor(hex(RFC8392.hex.A_2_3_key_ec_p256 as string, 'A_2_3'), {
      tags: [],
      deterministic: false,
    }) as Map<number, CborValue>;
    expect(k.get(1)).toBe(2); // kty EC2
    expect(k.get(-1)).toBe(1); // crv P-256
    expect(k.get(3)).toBe(-7); // alg ES256
    const b64 = (label: number) => Buffer.from(k.get(label) as Uint8Array).toString('base64url');
    const spki = createPublicKey({
      key: { kty: 'EC', crv: 'P-256', x: b64(-2), y: b64(-3) },
      format: 'jwk',
    }).export({ type: 'spki', format: 'der' });
    return { spki: new Uint8Array(spki), kid: k.get(2) as Uint8Array };
  }

  it('decodes as a tagged COSE_Sign1 and verifies with the A.2.3 key', () => {
    const m = decodeCoseSign1(token, 'RFC 8392 A.3', { lenient: true });
    const { spki, kid } = keyA23();
    expect(publicKeyOf(spki).alg).toBe('p256');
    expect(signingAlgOf(m.protectedHeader.get(HEADER.alg))).toBe('p256');
    expect(toHex(m.unprotected.get(HEADER.kid) as Uint8Array)).toBe(toHex(kid));
    expect(Buffer.from(kid).toString()).toBe('AsymmetricECDSA256');
    const tbs = sigStructure1(m.protectedBytes, m.payload);
    expect(verifySignature(verifyItemFor('p256', spki, tbs, m.signature))).toBe(true);
    const bad = m.signature.slice();
    bad[10] = (bad[10] as number) ^ 1;
    expect(verifySignature(verifyItemFor('p256', spki, tbs, bad))).toBe(false);
  });

  it('its payload is the A.1 claims set', () => {
    const m = decodeCoseSign1(token, 'RFC 8392 A.3', { lenient: true });
    expect(toHex(m.payload)).toBe(RFC8392.hex.A_1_claims);
    const claims = decodeCbor(m.payload, { tags: [], deterministic: false });
    const expected = claimsA1();
    expect([...expected.keys()]).toStrictEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(claims).toStrictEqual(expected);
    expect(expected.get(1)).toBe('coap://as.example.com');
    expect(expected.get(4)).toBe(1444064944);
    expect(toHex(expected.get(7) as Uint8Array)).toBe('0b71');
  });

  it('is cose-wg CWT/A_3.json with the kid left out of the unprotected header', () => {
    const rfc = decodeCoseSign1(token, 'RFC 8392 A.3', { lenient: true });
    const wg = decodeExample(EXAMPLES.find((e) => e.file === 'CWT/A_3.json') as Example);
    expect(wg.unprotected.size).toBe(0);
    expect([toHex(wg.protectedBytes), toHex(wg.payload), toHex(wg.signature)]).toStrictEqual([
      toHex(rfc.protectedBytes),
      toHex(rfc.payload),
      toHex(rfc.signature),
    ]);
  });

  it('is not an execgate artifact: decodeArtifact refuses it (E_FORMAT)', () => {
    expect(() => decodeArtifact(token)).toThrow(ArtifactError);
    // Its unprotected kid (label 4) is the first thing an artifact does not allow.
    expect(() => decodeArtifact(token)).toThrow(/unprotected header label "4" is not allowed/);
    // Without it (cose-wg CWT/A_3.json): no kid in the protected header.
    const wg = EXAMPLES.find((e) => e.file === 'CWT/A_3.json') as Example;
    expect(() => decodeArtifact(wg.cbor)).toThrow(/kid must be a 32-byte SHA-256 key id/);
  });
});
