// SPDX-License-Identifier: Apache-2.0
/**
 * TPM "secret sharing": a caller makes a seed that only a given TPM key can recover, TCG TPM 2.0 Library
 * Part 1 Annex B.10.3 (RSA: RSAES-OAEP) and Annex C.6.4 (ECC: one-pass Diffie-Hellman with KDFe). It is
 * the salt of a salted session (label "SECRET", TPM2_StartAuthSession.encryptedSalt), the seed of a
 * credential (label "IDENTITY", TPM2_MakeCredential/ActivateCredential) and of a duplication blob
 * ("DUPLICATE", TPM2_Import). go-tpm calls it "labeled encapsulation".
 *
 * - RSA: seed = digestByteLen(hash) random bytes; encryptedSeed = RSAES-OAEP(hash, MGF1(hash), label ‖ 0x00).
 *   hash is the key's nameAlg, or the hash of its OAEP scheme when the key names one (`oaepHash`; the
 *   reference implementation's CryptSecretDecrypt and go-tpm do this). The result is the ciphertext the
 *   caller puts in a TPM2B_ENCRYPTED_SECRET.
 * - ECC: an ephemeral key pair on the key's curve; Z = x-coordinate of ephemeral·Q, left-padded to the
 *   curve size; seed = KDFe(nameAlg, Z, label, ephemeral.x, Q.x, 8·digestByteLen(nameAlg)). The caller
 *   marshals `ephemeral` as a TPMS_ECC_POINT into the TPM2B_ENCRYPTED_SECRET.
 *
 * Secrets are made and used inside node:crypto; intermediate copies we own are zeroed after use
 * (best effort: the JS heap gives no guarantee). The random source is injectable for tests (STYLE
 * principle 15) and defaults to crypto.randomBytes.
 *
 * Not covered: the symmetric protection of the credential or duplicate that uses the seed (the callers do
 * that with kdfa), ECMQV/SM2 schemes, and validating that the target key is a restricted decryption key
 * (the TPM refuses otherwise).
 */
import {
  createECDH,
  createPublicKey,
  constants as cryptoConstants,
  type ECDH,
  type KeyObject,
  randomBytes as nodeRandomBytes,
  privateDecrypt,
  publicEncrypt,
} from 'node:crypto';
import { digestByteLen, type HashAlgorithm } from '../crypto/algorithms.js';
import { fromHex } from '../encoding/bytes.js';
import { kdfe, labelBytes, requireBytes } from './kdf.js';

/** A source of `length` random bytes; the default is crypto.randomBytes. A test seam, not a policy knob. */
export type RandomBytes = (length: number) => Uint8Array;

/** The NIST curves a TPM ECC key can use here (Part 2 §6.4 TPM_ECC_NIST_P256/P384/P521). */
export type EccCurve = 'p256' | 'p384' | 'p521';

/** The labels Part 1 uses for secret sharing; any other ASCII label is allowed (e.g. for a vendor flow). */
export type SeedLabel = 'SECRET' | 'IDENTITY' | 'DUPLICATE' | (string & {});

/** An RSA decryption key from its TPMT_PUBLIC (Part 2 TPMS_RSA_PARMS and unique TPM2B_PUBLIC_KEY_RSA). */
export interface RsaSeedTarget {
  readonly type: 'rsa';
  readonly nameAlg: HashAlgorithm;
  /** unique.rsa: the big-endian modulus, most significant byte non-zero. */
  readonly modulus: Uint8Array;
  /** parameters.rsaDetail.exponent; 0 means the default 65537 (Part 2 TPMS_RSA_PARMS). */
  readonly exponent: number;
  /**
   * The hash of the key's scheme when it is TPM_ALG_OAEP with a hash other than TPM_ALG_NULL (only an
   * unrestricted key can have one). Omit it for scheme TPM_ALG_NULL: nameAlg is then used.
   */
  readonly oaepHash?: HashAlgorithm;
}

/** An ECC decryption key from its TPMT_PUBLIC (Part 2 TPMS_ECC_PARMS and unique TPMS_ECC_POINT). */
export interface EccSeedTarget {
  readonly type: 'ecc';
  readonly nameAlg: HashAlgorithm;
  readonly curve: EccCurve;
  /** unique.ecc.x as the TPM holds it: it enters KDFe as is (partyVInfo), so pass it unmodified. */
  readonly x: Uint8Array;
  readonly y: Uint8Array;
}

export type SeedTarget = RsaSeedTarget | EccSeedTarget;

/** An affine point, each coordinate big-endian and as long as the curve's field (32, 48 or 66 bytes). */
export interface EccPoint {
  readonly x: Uint8Array;
  readonly y: Uint8Array;
}

export interface RsaSeed {
  readonly seed: Uint8Array;
  /** The OAEP ciphertext, as long as the modulus: the buffer of TPM2B_ENCRYPTED_SECRET. */
  readonly encryptedSeed: Uint8Array;
}

export interface EccSeed {
  readonly seed: Uint8Array;
  /** The ephemeral public point: marshal it as TPMS_ECC_POINT into TPM2B_ENCRYPTED_SECRET. */
  readonly ephemeral: EccPoint;
}

interface CurveInfo {
  /** OpenSSL's name of the curve, as node:crypto's createECDH takes it. */
  readonly openssl: string;
  /** Field size in bytes: ⌈log2(p)/8⌉. */
  readonly size: number;
  /** The group order n, big-endian hex (SEC 2 v2 §2.4.2, §2.5.1, §2.6.1 / FIPS 186-4 §D.1.2.3–5). */
  readonly orderHex: string;
  /** Mask for the first byte of a scalar candidate: P-521 scalars are 521 bits, so 1 bit of the first byte. */
  readonly firstByteMask: number;
}

const CURVES: Readonly<Record<EccCurve, CurveInfo>> = {
  p256: {
    openssl: 'prime256v1',
    size: 32,
    orderHex: 'ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551',
    firstByteMask: 0xff,
  },
  p384: {
    openssl: 'secp384r1',
    size: 48,
    orderHex:
      'ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973',
    firstByteMask: 0xff,
  },
  p521: {
    openssl: 'secp521r1',
    size: 66,
    orderHex:
      '01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff' +
      'fa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409',
    firstByteMask: 0x01,
  },
};

const OPENSSL_CURVES: Readonly<Record<string, EccCurve>> = {
  prime256v1: 'p256',
  secp384r1: 'p384',
  secp521r1: 'p521',
};

/** Draws of a scalar before giving up: each draw fails with probability < 2^-32 for a random source. */
const MAX_SCALAR_DRAWS = 64;

function defaultRandomBytes(length: number): Uint8Array {
  return new Uint8Array(nodeRandomBytes(length));
}

function draw(randomBytes: RandomBytes, length: number): Uint8Array {
  const out = randomBytes(length);
  if (!(out instanceof Uint8Array) || out.length !== length) {
    throw new RangeError(`randomBytes(${length}) must return a Uint8Array of ${length} bytes`);
  }
  return out;
}

/** a < b for equal-length big-endian byte strings, without converting the secret to a number or string. */
function lessThan(a: Uint8Array, b: Uint8Array): boolean {
  let lt = 0;
  let decided = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    const undecided = decided ^ 1;
    lt |= undecided & (x < y ? 1 : 0);
    decided |= x !== y ? 1 : 0;
  }
  return lt === 1;
}

function isZero(a: Uint8Array): boolean {
  let acc = 0;
  for (const v of a) acc |= v;
  return acc === 0;
}

/** A private scalar in [1, n-1] by testing candidates (FIPS 186-4 B.4.2): no modular bias. */
function drawScalar(info: CurveInfo, randomBytes: RandomBytes): Uint8Array {
  const order = fromHex(info.orderHex);
  for (let attempt = 0; attempt < MAX_SCALAR_DRAWS; attempt++) {
    const d = new Uint8Array(draw(randomBytes, info.size));
    d[0] = (d[0] ?? 0) & info.firstByteMask;
    if (!isZero(d) && lessThan(d, order)) return d;
    d.fill(0);
  }
  throw new RangeError(
    `randomBytes gave no scalar in [1, n-1] in ${MAX_SCALAR_DRAWS} draws: it is not random`,
  );
}

function leftPad(value: Uint8Array, size: number, name: string): Uint8Array {
  if (value.length > size) throw new RangeError(`${name} is ${value.length} bytes; the curve allows ${size}`);
  const out = new Uint8Array(size);
  out.set(value, size - value.length);
  return out;
}

function uncompressed(point: EccPoint, size: number, name: string): Uint8Array {
  const out = new Uint8Array(1 + 2 * size);
  out[0] = 0x04;
  out.set(leftPad(point.x, size, `${name}.x`), 1);
  out.set(leftPad(point.y, size, `${name}.y`), 1 + size);
  return out;
}

function base64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64url');
}

function rsaPublicKey(target: RsaSeedTarget, hash: HashAlgorithm): KeyObject {
  requireBytes(target.modulus, 'target.modulus');
  const { modulus, exponent } = target;
  // RSAES-OAEP needs k ≥ 2·hLen + 2 + mLen octets (RFC 8017 §7.1.1), and the seed is hLen octets.
  const minBytes = 3 * digestByteLen(hash) + 2;
  if (modulus.length < minBytes || modulus[0] === 0) {
    throw new RangeError(
      `target.modulus must have no leading zero and at least ${minBytes} bytes for OAEP with ${hash}; ` +
        `got ${modulus.length} bytes`,
    );
  }
  if (typeof exponent !== 'number' || !Number.isInteger(exponent)) {
    throw new TypeError('target.exponent must be an integer');
  }
  const e = exponent === 0 ? 65537 : exponent;
  if (e < 3 || e > 0xffff_ffff || e % 2 === 0) {
    throw new RangeError(
      `target.exponent must be 0 (65537) or an odd integer in [3, 2^32-1]; got ${exponent}`,
    );
  }
  const eBytes = Buffer.alloc(4);
  eBytes.writeUInt32BE(e);
  let start = 0;
  while (eBytes[start] === 0) start++;
  try {
    return createPublicKey({
      key: { kty: 'RSA', n: base64url(modulus), e: base64url(eBytes.subarray(start)) },
      format: 'jwk',
    });
  } catch (cause) {
    throw new RangeError('target.modulus/exponent do not form an RSA public key', { cause });
  }
}

function createRsaSeed(target: RsaSeedTarget, label: string, randomBytes: RandomBytes): RsaSeed {
  digestByteLen(target.nameAlg);
  const hash = target.oaepHash ?? target.nameAlg;
  digestByteLen(hash);
  const oaepLabel = labelBytes(label);
  const key = rsaPublicKey(target, hash);
  const seed = new Uint8Array(draw(randomBytes, digestByteLen(hash)));
  const encryptedSeed = publicEncrypt(
    { key, padding: cryptoConstants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash, oaepLabel },
    seed,
  );
  return { seed, encryptedSeed: new Uint8Array(encryptedSeed) };
}

function curveInfo(curve: EccCurve): CurveInfo {
  if (typeof curve !== 'string' || !Object.hasOwn(CURVES, curve)) {
    throw new RangeError(`target.curve must be p256, p384 or p521; got ${String(curve)}`);
  }
  return CURVES[curve];
}

/** An ECDH context holding the private scalar `d` (big-endian, field size). */
function ecdhWith(info: CurveInfo, d: Uint8Array): ECDH {
  const ecdh = createECDH(info.openssl);
  ecdh.setPrivateKey(d);
  return ecdh;
}

/** Z = x(d·Q), left-padded to the field size. Throws RangeError if Q is not a point of the curve. */
function sharedX(info: CurveInfo, ecdh: ECDH, q: Uint8Array, name: string): Uint8Array {
  let z: Buffer;
  try {
    z = ecdh.computeSecret(q);
  } catch (cause) {
    throw new RangeError(`${name} is not a point on ${info.openssl}`, { cause });
  }
  const padded = leftPad(z, info.size, 'Z');
  z.fill(0);
  return padded;
}

function createEccSeed(target: EccSeedTarget, label: string, randomBytes: RandomBytes): EccSeed {
  const bits = 8 * digestByteLen(target.nameAlg);
  const info = curveInfo(target.curve);
  requireBytes(target.x, 'target.x');
  requireBytes(target.y, 'target.y');
  labelBytes(label);
  const q = uncompressed(target, info.size, 'target');
  const d = drawScalar(info, randomBytes);
  try {
    const ecdh = ecdhWith(info, d);
    const pub = ecdh.getPublicKey(); // 0x04 ‖ X ‖ Y, each coordinate padded to the field size
    const ephemeral = {
      x: new Uint8Array(pub.subarray(1, 1 + info.size)),
      y: new Uint8Array(pub.subarray(1 + info.size)),
    };
    const z = sharedX(info, ecdh, q, 'target');
    const seed = kdfe(target.nameAlg, z, label, ephemeral.x, target.x, bits);
    z.fill(0);
    return { seed, ephemeral };
  } finally {
    d.fill(0);
  }
}

/**
 * Makes a seed for `target` and its protected form (Part 1 Annex B.10.3 / C.6.4), returning the seed (keep
 * it secret: it keys the session or credential) and what the TPM needs to recover it. `label` is the use:
 * "SECRET" for a session salt, "IDENTITY" for a credential, "DUPLICATE" for an import; a terminating NUL
 * is added. Throws RangeError/TypeError for a malformed target (its field is named), including an ECC
 * point that is not on the curve and an RSA modulus too short for OAEP with the hash.
 */
export function createSeed(target: RsaSeedTarget, label: SeedLabel, randomBytes?: RandomBytes): RsaSeed;
export function createSeed(target: EccSeedTarget, label: SeedLabel, randomBytes?: RandomBytes): EccSeed;
export function createSeed(
  target: SeedTarget,
  label: SeedLabel,
  randomBytes?: RandomBytes,
): RsaSeed | EccSeed;
export function createSeed(
  target: SeedTarget,
  label: SeedLabel,
  randomBytes: RandomBytes = defaultRandomBytes,
): RsaSeed | EccSeed {
  if (typeof target !== 'object' || target === null) throw new TypeError('target must be a SeedTarget');
  if (typeof randomBytes !== 'function') throw new TypeError('randomBytes must be a function');
  switch (target.type) {
    case 'rsa':
      return createRsaSeed(target, label, randomBytes);
    case 'ecc':
      return createEccSeed(target, label, randomBytes);
    default:
      throw new TypeError(
        `target.type must be 'rsa' or 'ecc'; got ${String((target as { type: unknown }).type)}`,
      );
  }
}

/**
 * The TPM's half for RSA (what TPM2_StartAuthSession / ActivateCredential do inside): RSAES-OAEP decryption
 * of `encryptedSeed` with `hash` (nameAlg, or the key's OAEP scheme hash) and `label` ‖ 0x00. For tests and
 * offline tooling; node:crypto throws if the label, hash or key is wrong.
 */
export function recoverSeedRsa(
  privateKey: KeyObject,
  encryptedSeed: Uint8Array,
  hash: HashAlgorithm,
  label: SeedLabel,
): Uint8Array {
  digestByteLen(hash);
  requireBytes(encryptedSeed, 'encryptedSeed');
  const oaepLabel = labelBytes(label);
  return new Uint8Array(
    privateDecrypt(
      { key: privateKey, padding: cryptoConstants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash, oaepLabel },
      encryptedSeed,
    ),
  );
}

/**
 * The TPM's half for ECC: Z = x(d·ephemeral), seed = KDFe(nameAlg, Z, label, ephemeral.x, Q.x, digest bits)
 * with Q.x the key's own x-coordinate at full field size (as a TPM-generated key holds it). For tests and
 * offline tooling. `privateKey` must be a P-256, P-384 or P-521 private KeyObject.
 */
export function recoverSeedEcc(
  privateKey: KeyObject,
  ephemeral: EccPoint,
  nameAlg: HashAlgorithm,
  label: SeedLabel,
): Uint8Array {
  const bits = 8 * digestByteLen(nameAlg);
  const curveName = privateKey.asymmetricKeyDetails?.namedCurve ?? '';
  const curve = OPENSSL_CURVES[curveName];
  if (privateKey.type !== 'private' || curve === undefined) {
    throw new TypeError('privateKey must be a P-256, P-384 or P-521 private KeyObject');
  }
  requireBytes(ephemeral.x, 'ephemeral.x');
  requireBytes(ephemeral.y, 'ephemeral.y');
  const info = CURVES[curve];
  const jwk = privateKey.export({ format: 'jwk' });
  if (jwk.d === undefined || jwk.x === undefined)
    throw new TypeError('privateKey has no d/x in its JWK form');
  const rawD = Buffer.from(jwk.d, 'base64url');
  const d = leftPad(rawD, info.size, 'privateKey.d');
  rawD.fill(0);
  const qx = leftPad(Buffer.from(jwk.x, 'base64url'), info.size, 'privateKey.x');
  try {
    const ephX = new Uint8Array(ephemeral.x);
    const z = sharedX(info, ecdhWith(info, d), uncompressed(ephemeral, info.size, 'ephemeral'), 'ephemeral');
    const seed = kdfe(nameAlg, z, label, ephX, qx, bits);
    z.fill(0);
    return seed;
  } finally {
    d.fill(0);
  }
}
