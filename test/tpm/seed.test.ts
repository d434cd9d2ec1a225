// SPDX-License-Identifier: Apache-2.0
import {
  constants,
  createPrivateKey,
  generateKeyPairSync,
  type KeyObject,
  privateDecrypt,
} from 'node:crypto';
import { p256, p384, p521 } from '@noble/curves/nist.js';
import { concatBytes } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { digestByteLen, type HashAlgorithm, hashAlgOf } from '../../agent/crypto/algorithms.js';
import { TPM_ECC_CURVE } from '../../agent/tpm/constants.js';
import {
  createSeed,
  type EccCurve,
  type EccSeedTarget,
  type RandomBytes,
  type RsaSeedTarget,
  recoverSeedEcc,
  recoverSeedRsa,
} from '../../agent/tpm/seed.js';
import { ECC_SEED_VECTORS, RSA_SEED_VECTORS, type RsaSeedVector } from './fixtures/tpm-kdf-seed-vectors.js';
import { HASHES, hex, nobleHash, refKdfe, unhex } from './reference.js';

// ---- helpers -------------------------------------------------------------------------------------------

const NOBLE = { p256, p384, p521 } as const;
const SIZE: Record<EccCurve, number> = { p256: 32, p384: 48, p521: 66 };
const JWK_CRV: Record<EccCurve, string> = { p256: 'P-256', p384: 'P-384', p521: 'P-521' };
const CURVE_OF: Record<number, EccCurve> = {
  [TPM_ECC_CURVE.NIST_P256]: 'p256',
  [TPM_ECC_CURVE.NIST_P384]: 'p384',
  [TPM_ECC_CURVE.NIST_P521]: 'p521',
};

const b64u = (b: Uint8Array): string => Buffer.from(b).toString('base64url');
const fromB64u = (s: string | undefined): Uint8Array => new Uint8Array(Buffer.from(s ?? '', 'base64url'));
const toBig = (b: Uint8Array): bigint => (b.length === 0 ? 0n : BigInt(`0x${hex(b)}`));
function fromBig(v: bigint, size?: number): Uint8Array {
  let h = v.toString(16);
  if (h.length % 2) h = `0${h}`;
  return size === undefined ? unhex(h) : unhex(h.padStart(2 * size, '0'));
}
function modInv(a: bigint, m: bigint): bigint {
  let [r0, r1, s0, s1] = [((a % m) + m) % m, m, 1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1, s0, s1] = [r1, r0 - q * r1, s1, s0 - q * s1];
  }
  if (r0 !== 1n) throw new Error('not invertible');
  return ((s0 % m) + m) % m;
}

/** The RSA private key of a vector, rebuilt from its modulus and the prime p of TPMT_SENSITIVE. */
function rsaPrivateFromPrime(v: RsaSeedVector): KeyObject {
  const n = toBig(unhex(v.modulus));
  const p = toBig(unhex(v.prime));
  const q = n / p;
  expect(p * q).toBe(n);
  const e = v.exponent === 0 ? 65537n : BigInt(v.exponent);
  const d = modInv(e, (p - 1n) * (q - 1n));
  const jwk = {
    kty: 'RSA',
    n: b64u(unhex(v.modulus)),
    e: b64u(fromBig(e)),
    d: b64u(fromBig(d)),
    p: b64u(fromBig(p)),
    q: b64u(fromBig(q)),
    dp: b64u(fromBig(d % (p - 1n))),
    dq: b64u(fromBig(d % (q - 1n))),
    qi: b64u(fromBig(modInv(q, p))),
  };
  return createPrivateKey({ key: jwk, format: 'jwk' });
}

/** A random source that hands out the given byte strings in order and records the lengths asked for. */
function scripted(...chunks: Uint8Array[]): RandomBytes & { asked: number[] } {
  const asked: number[] = [];
  const f = (length: number): Uint8Array => {
    asked.push(length);
    const next = chunks.shift();
    if (next === undefined) throw new Error('scripted random source exhausted');
    return next.slice();
  };
  return Object.assign(f, { asked });
}

/** Independent RSAES-OAEP decoding (RFC 8017 §7.1.2 step 3) of a raw RSA decryption, on noble hashes. */
function oaepDecode(em: Uint8Array, h: HashAlgorithm, label: Uint8Array): Uint8Array {
  const H = nobleHash(h);
  const hLen = H.outputLen;
  const mgf1 = (seed: Uint8Array, len: number): Uint8Array => {
    const out: Uint8Array[] = [];
    for (let c = 0; out.length * hLen < len; c++) out.push(H(concatBytes(seed, fromBig(BigInt(c), 4))));
    return concatBytes(...out).slice(0, len);
  };
  expect(em[0]).toBe(0);
  const maskedSeed = em.subarray(1, 1 + hLen);
  const maskedDb = em.subarray(1 + hLen);
  const seed = maskedSeed.map((b, i) => b ^ (mgf1(maskedDb, hLen)[i] ?? 0));
  const dbMask = mgf1(seed, maskedDb.length);
  const db = maskedDb.map((b, i) => b ^ (dbMask[i] ?? 0));
  expect(hex(db.subarray(0, hLen))).toBe(hex(H(label)));
  const one = db.indexOf(1, hLen);
  expect(db.subarray(hLen, one).every((b) => b === 0)).toBe(true);
  return db.subarray(one + 1);
}

function rawRsaDecrypt(key: KeyObject, ct: Uint8Array): Uint8Array {
  return new Uint8Array(privateDecrypt({ key, padding: constants.RSA_NO_PADDING }, ct));
}

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

let rsa2048: { privateKey: KeyObject; target: (h: HashAlgorithm) => RsaSeedTarget } | undefined;
function getRsa2048() {
  if (rsa2048 === undefined) {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = publicKey.export({ format: 'jwk' });
    const modulus = fromB64u(jwk.n);
    rsa2048 = { privateKey, target: (nameAlg) => ({ type: 'rsa', nameAlg, modulus, exponent: 0 }) };
  }
  return rsa2048;
}

function eccKeyPair(
  curve: EccCurve,
  nameAlg: HashAlgorithm,
): { privateKey: KeyObject; target: EccSeedTarget } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: JWK_CRV[curve] });
  const jwk = publicKey.export({ format: 'jwk' });
  return { privateKey, target: { type: 'ecc', nameAlg, curve, x: fromB64u(jwk.x), y: fromB64u(jwk.y) } };
}

// ---- RSA -----------------------------------------------------------------------------------------------

describe('createSeed / recoverSeedRsa (Part 1 Annex B.10.3)', () => {
  it.each(RSA_SEED_VECTORS)('go-tpm vector $name: the TPM-validated ciphertext decrypts to the seed', (v) => {
    const key = rsaPrivateFromPrime(v);
    const hash = hashAlgOf(v.oaepHashAlg ?? v.nameAlg);
    expect(hex(recoverSeedRsa(key, unhex(v.ciphertext), hash, v.label))).toBe(v.secret);
  });

  it.each(RSA_SEED_VECTORS)('go-tpm vector $name: createSeed encrypts that seed for that key', (v) => {
    const key = rsaPrivateFromPrime(v);
    const target: RsaSeedTarget = {
      type: 'rsa',
      nameAlg: hashAlgOf(v.nameAlg),
      modulus: unhex(v.modulus),
      exponent: v.exponent,
      ...(v.oaepHashAlg === null ? {} : { oaepHash: hashAlgOf(v.oaepHashAlg) }),
    };
    const random = scripted(unhex(v.secret));
    const { seed, encryptedSeed } = createSeed(target, v.label, random);
    const hash = target.oaepHash ?? target.nameAlg;
    expect(random.asked).toEqual([digestByteLen(hash)]);
    expect(hex(seed)).toBe(v.secret);
    expect(encryptedSeed.length).toBe(unhex(v.modulus).length);
    // Decoded independently of node's OAEP: hash and MGF1 hash are `hash`, the label carries its NUL.
    const em = rawRsaDecrypt(key, encryptedSeed);
    expect(hex(oaepDecode(em, hash, ascii(`${v.label}\0`)))).toBe(v.secret);
  });

  it.each(HASHES)('round trip with a node:crypto RSA-2048 key, nameAlg %s', (h) => {
    const { privateKey, target } = getRsa2048();
    for (const label of ['SECRET', 'IDENTITY', 'DUPLICATE']) {
      const { seed, encryptedSeed } = createSeed(target(h), label);
      expect(seed.length).toBe(digestByteLen(h));
      expect(hex(recoverSeedRsa(privateKey, encryptedSeed, h, label))).toBe(hex(seed));
    }
  });

  it('uses the label with its NUL as the OAEP label: node:crypto decrypts with it and fails without', () => {
    const { privateKey, target } = getRsa2048();
    const { seed, encryptedSeed } = createSeed(target('sha256'), 'IDENTITY');
    const dec = (oaepLabel: Uint8Array) =>
      privateDecrypt(
        { key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256', oaepLabel },
        encryptedSeed,
      );
    expect(hex(new Uint8Array(dec(ascii('IDENTITY\0'))))).toBe(hex(seed));
    expect(() => dec(ascii('IDENTITY'))).toThrow();
    expect(() => dec(ascii('SECRET\0'))).toThrow();
    // A label already ending in NUL is not terminated twice.
    const again = createSeed(target('sha256'), 'IDENTITY\0');
    expect(
      hex(oaepDecode(rawRsaDecrypt(privateKey, again.encryptedSeed), 'sha256', ascii('IDENTITY\0'))),
    ).toBe(hex(again.seed));
  });

  it('uses the OAEP hash for MGF1 too, and the wrong hash does not decrypt', () => {
    const { privateKey, target } = getRsa2048();
    const { seed, encryptedSeed } = createSeed({ ...target('sha256'), oaepHash: 'sha384' }, 'SECRET');
    expect(seed.length).toBe(48);
    expect(hex(oaepDecode(rawRsaDecrypt(privateKey, encryptedSeed), 'sha384', ascii('SECRET\0')))).toBe(
      hex(seed),
    );
    expect(() => recoverSeedRsa(privateKey, encryptedSeed, 'sha256', 'SECRET')).toThrow();
  });

  it('draws fresh randomness by default', () => {
    const { target } = getRsa2048();
    const a = createSeed(target('sha256'), 'SECRET');
    const b = createSeed(target('sha256'), 'SECRET');
    expect(hex(a.seed)).not.toBe(hex(b.seed));
    expect(hex(a.encryptedSeed)).not.toBe(hex(b.encryptedSeed));
  });

  it('refuses a malformed target or random source with TypeError/RangeError naming it', () => {
    const { target } = getRsa2048();
    const t = target('sha256');
    const short = { ...t, nameAlg: 'sha512' as const, modulus: t.modulus.subarray(0, 128) };
    expect(() => createSeed(short, 'SECRET')).toThrow(/target\.modulus/);
    expect(() => createSeed({ ...t, modulus: concatBytes(Uint8Array.of(0), t.modulus) }, 'SECRET')).toThrow(
      RangeError,
    );
    expect(() => createSeed({ ...t, exponent: 4 }, 'SECRET')).toThrow(/target\.exponent/);
    expect(() => createSeed({ ...t, exponent: 1.5 }, 'SECRET')).toThrow(TypeError);
    expect(() => createSeed({ ...t, modulus: 'n' as unknown as Uint8Array }, 'SECRET')).toThrow(TypeError);
    expect(() => createSeed(t, 'SECRET', () => new Uint8Array(31))).toThrow(/randomBytes/);
    expect(() => createSeed(t, 'SEC\0RET')).toThrow(/label/);
    expect(() => createSeed({ ...t, type: 'dsa' } as unknown as RsaSeedTarget, 'SECRET')).toThrow(TypeError);
  });
});

// ---- ECC -----------------------------------------------------------------------------------------------

describe('createSeed / recoverSeedEcc (Part 1 Annex C.6.4)', () => {
  it.each(ECC_SEED_VECTORS)('go-tpm vector $name: same ephemeral point and seed', (v) => {
    const curve = CURVE_OF[v.curveId];
    if (curve === undefined) throw new Error(`vector curve ${v.curveId}`);
    const nameAlg = hashAlgOf(v.nameAlg);
    const target: EccSeedTarget = { type: 'ecc', nameAlg, curve, x: unhex(v.x), y: unhex(v.y) };
    const random = scripted(unhex(v.ephemeralPrivate));
    const { seed, ephemeral } = createSeed(target, v.label, random);
    expect(random.asked).toEqual([SIZE[curve]]);
    expect(hex(ephemeral.x)).toBe(v.ephemeralX);
    expect(hex(ephemeral.y)).toBe(v.ephemeralY);
    expect(hex(seed)).toBe(v.secret);
    // And the TPM side recovers it from the vector's own private key.
    const privateKey = createPrivateKey({
      key: { kty: 'EC', crv: JWK_CRV[curve], x: b64u(unhex(v.x)), y: b64u(unhex(v.y)), d: b64u(unhex(v.d)) },
      format: 'jwk',
    });
    const ct = { x: unhex(v.ephemeralX), y: unhex(v.ephemeralY) };
    expect(hex(recoverSeedEcc(privateKey, ct, nameAlg, v.label))).toBe(v.secret);
  });

  it.each([
    ['p256', 'sha256'],
    ['p256', 'sha1'],
    ['p384', 'sha384'],
    ['p384', 'sha512'],
    ['p521', 'sha256'],
  ] as const)('round trip with a node:crypto %s key, nameAlg %s', (curve, h) => {
    const { privateKey, target } = eccKeyPair(curve, h);
    for (const label of ['SECRET', 'IDENTITY']) {
      const { seed, ephemeral } = createSeed(target, label);
      expect(seed.length).toBe(digestByteLen(h));
      expect(ephemeral.x.length).toBe(SIZE[curve]);
      expect(ephemeral.y.length).toBe(SIZE[curve]);
      expect(hex(recoverSeedEcc(privateKey, ephemeral, h, label))).toBe(hex(seed));
      expect(
        hex(recoverSeedEcc(privateKey, ephemeral, h, label === 'SECRET' ? 'IDENTITY' : 'SECRET')),
      ).not.toBe(hex(seed));
    }
  });

  it.each(['p256', 'p384'] as const)('%s: ephemeral point and Z agree with @noble/curves', (curve) => {
    const noble = NOBLE[curve];
    const tpmSecret = noble.utils.randomSecretKey();
    const tpmPub = noble.getPublicKey(tpmSecret, false);
    const size = SIZE[curve];
    const target: EccSeedTarget = {
      type: 'ecc',
      nameAlg: 'sha256',
      curve,
      x: tpmPub.slice(1, 1 + size),
      y: tpmPub.slice(1 + size),
    };
    const eph = noble.utils.randomSecretKey();
    const { seed, ephemeral } = createSeed(target, 'SECRET', scripted(eph));
    const ephPub = noble.getPublicKey(eph, false);
    expect(hex(concatBytes(Uint8Array.of(4), ephemeral.x, ephemeral.y))).toBe(hex(ephPub));
    const z = noble.getSharedSecret(eph, tpmPub, true).slice(1); // x-coordinate of eph·Q
    expect(z.length).toBe(size);
    expect(hex(seed)).toBe(hex(refKdfe('sha256', z, 'SECRET', ephemeral.x, target.x, 256)));
    // The TPM's view (d·E) gives the same Z.
    expect(hex(noble.getSharedSecret(tpmSecret, ephPub, true).slice(1))).toBe(hex(z));
  });

  it('draws the scalar by rejection: 0 and n are refused, the P-521 top byte is masked to one bit', () => {
    const n256 = fromBig(p256.Point.CURVE().n, 32);
    const k = fromBig(12345n, 32);
    const { target } = eccKeyPair('p256', 'sha256');
    const random = scripted(n256, new Uint8Array(32), k);
    const { ephemeral } = createSeed(target, 'SECRET', random);
    expect(random.asked).toEqual([32, 32, 32]);
    expect(hex(concatBytes(Uint8Array.of(4), ephemeral.x, ephemeral.y))).toBe(
      hex(p256.getPublicKey(k, false)),
    );
    // n - 1 is the largest valid scalar and is accepted as is.
    const nMinus1 = fromBig(p256.Point.CURVE().n - 1n, 32);
    const last = createSeed(target, 'SECRET', scripted(nMinus1)).ephemeral;
    expect(hex(concatBytes(Uint8Array.of(4), last.x, last.y))).toBe(hex(p256.getPublicKey(nMinus1, false)));

    const { target: t521 } = eccKeyPair('p521', 'sha512');
    const raw = new Uint8Array(66).fill(0);
    raw[0] = 0xff;
    raw[65] = 7;
    const masked = raw.slice();
    masked[0] = 0x01;
    const e521 = createSeed(t521, 'SECRET', scripted(raw)).ephemeral;
    expect(hex(concatBytes(Uint8Array.of(4), e521.x, e521.y))).toBe(hex(p521.getPublicKey(masked, false)));
  });

  it('gives up with RangeError on a source that never yields a valid scalar', () => {
    const { target } = eccKeyPair('p256', 'sha256');
    expect(() => createSeed(target, 'SECRET', () => new Uint8Array(32))).toThrow(/randomBytes/);
    expect(() => createSeed(target, 'SECRET', () => new Uint8Array(31))).toThrow(RangeError);
  });

  it('uses target.x as given in KDFe, so a Q.x held without its leading zero stays without it', () => {
    // The smallest scalar whose public x starts with 0x00 (deterministic search).
    let k = 1n;
    let pub = p256.getPublicKey(fromBig(k, 32), false);
    while (pub[1] !== 0) {
      k++;
      pub = p256.getPublicKey(fromBig(k, 32), false);
    }
    const shortX = pub.slice(2, 33);
    const target: EccSeedTarget = {
      type: 'ecc',
      nameAlg: 'sha256',
      curve: 'p256',
      x: shortX,
      y: pub.slice(33),
    };
    const eph = fromBig(987654321n, 32);
    const { seed, ephemeral } = createSeed(target, 'SECRET', scripted(eph));
    const z = p256.getSharedSecret(eph, pub, true).slice(1);
    expect(hex(seed)).toBe(hex(refKdfe('sha256', z, 'SECRET', ephemeral.x, shortX, 256)));
    expect(hex(seed)).not.toBe(hex(refKdfe('sha256', z, 'SECRET', ephemeral.x, pub.slice(1, 33), 256)));
  });

  it('refuses a point off the curve, an oversized coordinate and an unknown curve', () => {
    const { target } = eccKeyPair('p256', 'sha256');
    const y = target.y.slice();
    y[31] = (y[31] ?? 0) ^ 1;
    expect(() => createSeed({ ...target, y }, 'SECRET')).toThrow(RangeError);
    expect(() => createSeed({ ...target, y }, 'SECRET')).toThrow(/target/);
    expect(() => createSeed({ ...target, x: new Uint8Array(33) }, 'SECRET')).toThrow(/target\.x/);
    expect(() => createSeed({ ...target, curve: 'p192' as EccCurve }, 'SECRET')).toThrow(/target\.curve/);
    expect(() => createSeed({ ...target, nameAlg: 'md5' as HashAlgorithm }, 'SECRET')).toThrow(TypeError);
    const { privateKey } = generateKeyPairSync('ed25519');
    expect(() => recoverSeedEcc(privateKey, target, 'sha256', 'SECRET')).toThrow(/privateKey/);
  });

  it('draws a fresh ephemeral key by default', () => {
    const { target } = eccKeyPair('p384', 'sha384');
    const a = createSeed(target, 'SECRET');
    const b = createSeed(target, 'SECRET');
    expect(hex(a.ephemeral.x)).not.toBe(hex(b.ephemeral.x));
    expect(hex(a.seed)).not.toBe(hex(b.seed));
  });
});
