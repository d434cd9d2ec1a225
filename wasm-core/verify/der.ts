// SPDX-License-Identifier: Apache-2.0
/**
 * @module wasm-core/verify/der
 *
 * Strict DER (ITU-T X.690 §10) for the two structures signature verification reads: a public key's
 * SubjectPublicKeyInfo (RFC 5280 §4.1.2.7) for RSA (RFC 8017 §A.1.1, with the rsaEncryption or
 * id-RSASSA-PSS algorithm of RFC 4055), EC (RFC 5480 §2, named curves P-256 and P-384) and Ed25519
 * (RFC 8410 §4), and an ECDSA signature `SEQUENCE { r INTEGER, s INTEGER }` (RFC 3279 §2.2.3).
 *
 * "Strict" means: definite lengths in their shortest form only (no indefinite length, no long form
 * below 128, no leading zero length byte), single-byte tags, INTEGERs in their minimal two's-complement
 * form and positive where a positive value is expected, BIT STRINGs with no unused bits, NULL empty,
 * and no byte after the outermost structure. BER leniencies, such as those Wycheproof flags as `BerEncoding`,
 * `InvalidEncoding`, `ModifiedInteger` or `IntegerOverflow`, are errors.
 *
 * Each parser returns a value or throws `DerError` (with `code` 'E_DER'), whatever the input bytes;
 * `verify` turns the error into `false`.
 *
 * Not covered: anything beyond these structures (certificates, explicit curve parameters, compressed
 * point validation — the point bytes are returned as they are and checked by the curve arithmetic).
 */

/** A malformed or unsupported DER structure. */
export class DerError extends Error {
  readonly code = 'E_DER' as const;
  constructor(message: string) {
    super(`DER: ${message}`);
    this.name = 'DerError';
  }
}

/** The named curves wasm-core verifies ECDSA on. */
export type NamedCurve = 'P-256' | 'P-384';

/** Hash algorithms an RSASSA-PSS key's parameters may name (RFC 8017 §A.2.3). */
export type PssHash = 'sha1' | 'sha224' | 'sha256' | 'sha384' | 'sha512' | 'sha512-224' | 'sha512-256';

/** RSASSA-PSS-params of a key restricted to PSS (RFC 4055 §3.1); absent fields take their DEFAULT. */
export interface PssKeyParams {
  readonly hash: PssHash;
  readonly mgf1Hash: PssHash;
  /** The minimum salt length a signature under this key may use (RFC 4055 §3.1). */
  readonly saltLength: number;
}

/** A parsed SubjectPublicKeyInfo. Byte arrays are views into the input. */
export type PublicKeyInfo =
  | {
      readonly kind: 'rsa';
      /** n, big-endian, without the sign byte (so its first byte is non-zero). */
      readonly modulus: Uint8Array;
      /** e, big-endian, without the sign byte. */
      readonly exponent: Uint8Array;
      /** The algorithm was id-RSASSA-PSS: the key may only verify PSS signatures. */
      readonly pssOnly: boolean;
      /** id-RSASSA-PSS parameters, when the key carries them. */
      readonly pss?: PssKeyParams;
    }
  | { readonly kind: 'ec'; readonly curve: NamedCurve; readonly point: Uint8Array }
  | { readonly kind: 'ed25519'; readonly key: Uint8Array };

// Object identifiers as their DER content bytes (X.690 §8.19).
/** rsaEncryption, 1.2.840.113549.1.1.1 (RFC 8017 §A.1). */
const OID_RSA = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
/** id-RSASSA-PSS, 1.2.840.113549.1.1.10 (RFC 8017 §A.2.3). */
const OID_RSA_PSS = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a];
/** id-mgf1, 1.2.840.113549.1.1.8 (RFC 8017 §B.2.1). */
const OID_MGF1 = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08];
/** id-ecPublicKey, 1.2.840.10045.2.1 (RFC 5480 §2.1.1). */
const OID_EC = [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
/** secp256r1 (prime256v1), 1.2.840.10045.3.1.7 (RFC 5480 §2.1.1.1). */
const OID_P256 = [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/** secp384r1, 1.3.132.0.34 (RFC 5480 §2.1.1.1). */
const OID_P384 = [0x2b, 0x81, 0x04, 0x00, 0x22];
/** id-Ed25519, 1.3.101.112 (RFC 8410 §3). */
const OID_ED25519 = [0x2b, 0x65, 0x70];
/** Hash OIDs of RFC 8017 §A.2.3's OAEP-PSSDigestAlgorithms: id-sha1 1.3.14.3.2.26, id-sha2 family. */
const HASH_OIDS: readonly (readonly [PssHash, readonly number[]])[] = [
  ['sha1', [0x2b, 0x0e, 0x03, 0x02, 0x1a]],
  ['sha224', [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x04]],
  ['sha256', [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01]],
  ['sha384', [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02]],
  ['sha512', [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03]],
  ['sha512-224', [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x05]],
  ['sha512-256', [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x06]],
];

// Universal tags (X.690 §8, X.680 §8.4) and the context-specific constructed tags of RSASSA-PSS-params.
const TAG_INTEGER = 0x02;
const TAG_BIT_STRING = 0x03;
const TAG_NULL = 0x05;
const TAG_OID = 0x06;
const TAG_SEQUENCE = 0x30;
const TAG_CONTEXT_0 = 0xa0;

/** One TLV: its tag and its content as a view into the input. */
interface Tlv {
  readonly tag: number;
  readonly content: Uint8Array;
}

/** Reads consecutive TLVs from a byte range, strictly. */
class Reader {
  #pos = 0;
  constructor(private readonly bytes: Uint8Array) {}

  get done(): boolean {
    return this.#pos === this.bytes.length;
  }

  read(): Tlv {
    const b = this.bytes;
    const tag = b[this.#pos];
    if (tag === undefined) throw new DerError('truncated: missing tag');
    // Tag number 31 means a multi-byte tag (X.690 §8.1.2.4); none of ours has one.
    if ((tag & 0x1f) === 0x1f) throw new DerError('multi-byte tag');
    const first = b[this.#pos + 1];
    if (first === undefined) throw new DerError('truncated: missing length');
    let pos = this.#pos + 2;
    let length: number;
    if (first < 0x80) {
      length = first;
    } else {
      const count = first & 0x7f;
      // 0x80 is the indefinite form (BER only); more than 4 length bytes cannot describe our inputs.
      if (count === 0) throw new DerError('indefinite length');
      if (count > 4) throw new DerError('length too long');
      length = 0;
      for (let i = 0; i < count; i++) {
        const v = b[pos + i];
        if (v === undefined) throw new DerError('truncated: length bytes');
        if (i === 0 && v === 0) throw new DerError('non-minimal length (leading zero)');
        length = length * 256 + v;
      }
      if (length < 0x80) throw new DerError('non-minimal length (long form below 128)');
      pos += count;
    }
    if (length > b.length - pos) throw new DerError('truncated: content shorter than its length');
    this.#pos = pos + length;
    return { tag, content: b.subarray(pos, pos + length) };
  }

  expect(tag: number, what: string): Uint8Array {
    if (this.done) throw new DerError(`missing ${what}`);
    const tlv = this.read();
    if (tlv.tag !== tag) throw new DerError(`expected ${what}`);
    return tlv.content;
  }

  end(what: string): void {
    if (!this.done) throw new DerError(`trailing bytes after ${what}`);
  }
}

function equalBytes(a: Uint8Array, b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The magnitude of a positive INTEGER's content (X.690 §8.3): minimal (no redundant leading 00 or FF
 * byte) and non-negative; the single sign byte 00 that a value with its top bit set needs is removed.
 * Zero is returned as an empty array.
 */
export function positiveInteger(content: Uint8Array, what: string): Uint8Array {
  const b0 = content[0];
  if (b0 === undefined) throw new DerError(`${what}: empty INTEGER`);
  const b1 = content[1];
  if (b1 !== undefined && ((b0 === 0x00 && b1 < 0x80) || (b0 === 0xff && b1 >= 0x80))) {
    throw new DerError(`${what}: non-minimal INTEGER`);
  }
  if (b0 >= 0x80) throw new DerError(`${what}: negative INTEGER`);
  return b0 === 0x00 ? content.subarray(1) : content;
}

/** Content of a BIT STRING with no unused bits (X.690 §8.6.2.2: the first content byte counts them). */
function bitStringBytes(content: Uint8Array, what: string): Uint8Array {
  if (content[0] !== 0) throw new DerError(`${what}: BIT STRING with unused bits`);
  return content.subarray(1);
}

function hashOf(oid: Uint8Array): PssHash {
  for (const [name, bytes] of HASH_OIDS) if (equalBytes(oid, bytes)) return name;
  throw new DerError('unknown hash algorithm');
}

/**
 * A hash AlgorithmIdentifier (RFC 8017 §A.2.3): the OID with NULL or absent parameters (RFC 4055 §2.1
 * asks for absent; NULL is what many encoders write, so both are read).
 */
function hashAlgorithm(content: Uint8Array): PssHash {
  const r = new Reader(content);
  const hash = hashOf(r.expect(TAG_OID, 'hash OID'));
  if (!r.done) {
    if (r.expect(TAG_NULL, 'NULL hash parameters').length !== 0) throw new DerError('NULL with content');
  }
  r.end('hash AlgorithmIdentifier');
  return hash;
}

/** RSASSA-PSS-params (RFC 8017 §A.2.3, RFC 4055 §3.1), with its DEFAULTs (SHA-1, MGF1-SHA-1, 20, BC). */
function pssParams(content: Uint8Array): PssKeyParams {
  const r = new Reader(content);
  let hash: PssHash = 'sha1';
  let mgf1Hash: PssHash = 'sha1';
  let saltLength = 20;
  let last = -1;
  while (!r.done) {
    const tlv = r.read();
    const field = tlv.tag - TAG_CONTEXT_0;
    // Fields come in order, each at most once (DER, X.690 §10.2 for SEQUENCE with DEFAULT components).
    if (field < 0 || field > 3 || field <= last) throw new DerError('RSASSA-PSS-params: unexpected field');
    last = field;
    const inner = new Reader(tlv.content);
    if (field === 0) {
      hash = hashAlgorithm(inner.expect(TAG_SEQUENCE, 'hashAlgorithm'));
    } else if (field === 1) {
      const mgf = new Reader(inner.expect(TAG_SEQUENCE, 'maskGenAlgorithm'));
      if (!equalBytes(mgf.expect(TAG_OID, 'MGF OID'), OID_MGF1)) throw new DerError('MGF is not MGF1');
      mgf1Hash = hashAlgorithm(mgf.expect(TAG_SEQUENCE, 'MGF1 hash'));
      mgf.end('maskGenAlgorithm');
    } else if (field === 2) {
      const v = positiveInteger(inner.expect(TAG_INTEGER, 'saltLength'), 'saltLength');
      if (v.length > 4) throw new DerError('saltLength out of range');
      saltLength = 0;
      for (const byte of v) saltLength = saltLength * 256 + byte;
    } else {
      // trailerFieldBC (1) is the only trailer RFC 8017 defines and it is the DEFAULT, which DER leaves
      // out (X.690 §11.5): any trailerField is either non-DER or unsupported.
      throw new DerError('RSASSA-PSS-params: trailerField present');
    }
    inner.end('RSASSA-PSS-params field');
  }
  return { hash, mgf1Hash, saltLength };
}

/**
 * Parse a DER SubjectPublicKeyInfo (RFC 5280 §4.1.2.7) holding an RSA, EC (P-256, P-384) or Ed25519 key.
 * Throws DerError for malformed DER, trailing bytes, an unsupported algorithm or curve, or algorithm
 * parameters that the key's RFC forbids.
 */
export function parseSpki(der: Uint8Array): PublicKeyInfo {
  const outer = new Reader(der);
  const spki = new Reader(outer.expect(TAG_SEQUENCE, 'SubjectPublicKeyInfo SEQUENCE'));
  outer.end('SubjectPublicKeyInfo');
  const algorithm = new Reader(spki.expect(TAG_SEQUENCE, 'AlgorithmIdentifier SEQUENCE'));
  const keyBits = bitStringBytes(
    spki.expect(TAG_BIT_STRING, 'subjectPublicKey BIT STRING'),
    'subjectPublicKey',
  );
  spki.end('subjectPublicKey');
  const oid = algorithm.expect(TAG_OID, 'algorithm OID');

  if (equalBytes(oid, OID_RSA) || equalBytes(oid, OID_RSA_PSS)) {
    const pssOnly = equalBytes(oid, OID_RSA_PSS);
    let pss: PssKeyParams | undefined;
    if (pssOnly) {
      // RFC 4055 §3.1: absent parameters leave the key unrestricted within PSS.
      if (!algorithm.done) pss = pssParams(algorithm.expect(TAG_SEQUENCE, 'RSASSA-PSS-params'));
    } else if (algorithm.expect(TAG_NULL, 'NULL parameters (RFC 3279 §2.3.1)').length !== 0) {
      throw new DerError('NULL with content');
    }
    algorithm.end('AlgorithmIdentifier');
    const rsa = new Reader(keyBits);
    const seq = new Reader(rsa.expect(TAG_SEQUENCE, 'RSAPublicKey SEQUENCE'));
    rsa.end('RSAPublicKey');
    const modulus = positiveInteger(seq.expect(TAG_INTEGER, 'modulus'), 'modulus');
    const exponent = positiveInteger(seq.expect(TAG_INTEGER, 'publicExponent'), 'publicExponent');
    seq.end('RSAPublicKey');
    return pss === undefined
      ? { kind: 'rsa', modulus, exponent, pssOnly }
      : { kind: 'rsa', modulus, exponent, pssOnly, pss };
  }

  if (equalBytes(oid, OID_EC)) {
    // RFC 5480 §2.1.1: ECParameters is a CHOICE; only namedCurve is allowed.
    const curveOid = algorithm.expect(TAG_OID, 'namedCurve OID');
    algorithm.end('AlgorithmIdentifier');
    let curve: NamedCurve;
    if (equalBytes(curveOid, OID_P256)) curve = 'P-256';
    else if (equalBytes(curveOid, OID_P384)) curve = 'P-384';
    else throw new DerError('unsupported curve');
    return { kind: 'ec', curve, point: keyBits };
  }

  if (equalBytes(oid, OID_ED25519)) {
    // RFC 8410 §3: the parameters MUST be absent.
    algorithm.end('AlgorithmIdentifier (Ed25519 has no parameters)');
    if (keyBits.length !== 32) throw new DerError('Ed25519 key is not 32 bytes');
    return { kind: 'ed25519', key: keyBits };
  }

  throw new DerError('unsupported algorithm');
}

/** The magnitudes of r and s of a DER ECDSA-Sig-Value (RFC 3279 §2.2.3). Views into the input. */
export interface DerEcdsaSignature {
  readonly r: Uint8Array;
  readonly s: Uint8Array;
}

/**
 * Parse `SEQUENCE { r INTEGER, s INTEGER }` strictly: both INTEGERs minimal and non-negative, nothing
 * after them or after the SEQUENCE. Range checks (0 < r, s < n) belong to the verifier.
 */
export function parseEcdsaSignature(der: Uint8Array): DerEcdsaSignature {
  const outer = new Reader(der);
  const seq = new Reader(outer.expect(TAG_SEQUENCE, 'ECDSA-Sig-Value SEQUENCE'));
  outer.end('ECDSA-Sig-Value');
  const r = positiveInteger(seq.expect(TAG_INTEGER, 'r'), 'r');
  const s = positiveInteger(seq.expect(TAG_INTEGER, 's'), 's');
  seq.end('ECDSA-Sig-Value');
  return { r, s };
}
