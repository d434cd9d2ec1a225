// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/artifact/cose
 *
 * COSE_Sign1 (RFC 9052 §4.2) and its V2 countersignature (RFC 9338 §3.1), as much of them as artifacts
 * and revocation lists use: the message structure, the two to-be-signed structures, and the three
 * signature algorithms (RFC 9053 §2: EdDSA −8 with Ed25519, ES256 −7, ES384 −35; ECDSA signatures as r‖s).
 *
 *   COSE_Sign1 = #6.18([ protected: bstr .cbor header_map / bstr .size 0, unprotected: header_map,
 *                        payload: bstr, signature: bstr ])
 *   Sig_structure = [ "Signature1", body_protected, external_aad, payload ]
 *   COSE_Countersignature = [ protected, unprotected, signature ]
 *   Countersign_structure = [ "CounterSignatureV2", body_protected, sign_protected, external_aad,
 *                             payload, [ signature ] ]          (other_fields of a COSE_Sign1 target)
 *
 * Decoding is strict (deterministic CBOR throughout, RFC 8949 §4.2.1) unless a caller reading someone
 * else's examples asks otherwise; what a header means is decided by the layer above.
 */
import type { SigningAlg } from '../crypto/public-key.js';
import type { VerifyItem } from '../crypto/verify.js';
import {
  CborError,
  type CborMap,
  CborTag,
  type CborValue,
  decodeCbor,
  encodeCbor,
} from '../encoding/cbor.js';
import { ArtifactError } from './errors.js';

export const COSE_SIGN1_TAG = 18;

/** Header labels (RFC 9052 §3.1, RFC 9338 §3.1). */
export const HEADER = { alg: 1, crit: 2, contentType: 3, kid: 4, countersignature: 11 } as const;

/** The COSE algorithms of artifacts, and the key algorithm each needs. */
export const COSE_ALG: Readonly<Record<SigningAlg, number>> = { ed25519: -8, p256: -7, p384: -35 };
const ALG_OF_COSE: ReadonlyMap<number, SigningAlg> = new Map(
  Object.entries(COSE_ALG).map(([k, v]) => [v, k as SigningAlg]),
);

/** The key algorithm a COSE alg value names, or undefined for any other value. */
export function signingAlgOf(coseAlg: CborValue | undefined): SigningAlg | undefined {
  return typeof coseAlg === 'number' ? ALG_OF_COSE.get(coseAlg) : undefined;
}

/** The COSE name of a key algorithm, for messages. */
export const COSE_ALG_NAME: Readonly<Record<SigningAlg, string>> = {
  ed25519: 'EdDSA',
  p256: 'ES256',
  p384: 'ES384',
};

export interface CoseSign1 {
  /** The protected header as signed: the bstr's content (empty, or one encoded map). */
  readonly protectedBytes: Uint8Array;
  readonly protectedHeader: CborMap;
  readonly unprotected: CborMap;
  readonly payload: Uint8Array;
  readonly signature: Uint8Array;
}

/** A COSE_Countersignature (same shape as COSE_Signature). */
export interface CoseCountersignature {
  readonly protectedBytes: Uint8Array;
  readonly protectedHeader: CborMap;
  readonly unprotected: CborMap;
  readonly signature: Uint8Array;
}

export interface CoseDecodeOptions {
  /** Accept well-formed but non-deterministic CBOR (others' examples: cbor.ts `deterministic`); default false. */
  readonly lenient?: boolean;
}

const EMPTY = new Uint8Array(0);
const EMPTY_MAP: CborMap = new Map();

const formatError = (what: string, cause?: unknown) =>
  new ArtifactError('E_FORMAT', what, cause === undefined ? undefined : { cause });

/** A header map from its protected bstr: zero bytes is the empty map (RFC 9052 §3). */
export function decodeProtected(bytes: Uint8Array, what: string, opts: CoseDecodeOptions = {}): CborMap {
  if (bytes.length === 0) return EMPTY_MAP;
  let v: CborValue;
  try {
    v = decodeCbor(bytes, { tags: [], maxBytes: 4096, maxDepth: 4, deterministic: opts.lenient !== true });
  } catch (e) {
    if (e instanceof CborError) throw formatError(`${what}: protected header: ${e.code}: ${e.message}`, e);
    throw e;
  }
  if (!(v instanceof Map)) throw formatError(`${what}: the protected header is not a map`);
  return v;
}

/** A COSE_Sign1 from its decoded CBOR value (tag 18 required when `tagged`). */
export function coseSign1FromValue(
  value: CborValue,
  what: string,
  opts: CoseDecodeOptions & { readonly tagged?: boolean } = {},
): CoseSign1 {
  let body = value;
  if (value instanceof CborTag) {
    if (value.tag !== COSE_SIGN1_TAG) throw formatError(`${what}: tag ${value.tag}, not COSE_Sign1 (18)`);
    body = value.value;
  } else if (opts.tagged !== false) {
    throw formatError(`${what}: not a tagged COSE_Sign1 (CBOR tag 18)`);
  }
  if (!Array.isArray(body) || body.length !== 4)
    throw formatError(`${what}: a COSE_Sign1 is an array of 4 items`);
  const [p, u, payload, signature] = body as CborValue[];
  if (!(p instanceof Uint8Array)) throw formatError(`${what}: the protected header is not a byte string`);
  if (!(u instanceof Map)) throw formatError(`${what}: the unprotected header is not a map`);
  if (!(payload instanceof Uint8Array))
    throw formatError(`${what}: the payload is not a byte string (detached payloads are not used)`);
  if (!(signature instanceof Uint8Array)) throw formatError(`${what}: the signature is not a byte string`);
  return {
    protectedBytes: p,
    protectedHeader: decodeProtected(p, what, opts),
    unprotected: u,
    payload,
    signature,
  };
}

/** A COSE_Countersignature from its decoded CBOR value. */
export function countersignatureFromValue(value: CborValue, what: string): CoseCountersignature {
  if (!Array.isArray(value) || value.length !== 3)
    throw formatError(`${what}: a COSE_Countersignature is an array of 3 items`);
  const [p, u, signature] = value as CborValue[];
  if (!(p instanceof Uint8Array)) throw formatError(`${what}: the protected header is not a byte string`);
  if (!(u instanceof Map)) throw formatError(`${what}: the unprotected header is not a map`);
  if (!(signature instanceof Uint8Array)) throw formatError(`${what}: the signature is not a byte string`);
  return { protectedBytes: p, protectedHeader: decodeProtected(p, what), unprotected: u, signature };
}

/** The CBOR value of a COSE_Sign1, tagged. */
export function coseSign1Value(m: CoseSign1): CborTag {
  return new CborTag(COSE_SIGN1_TAG, [m.protectedBytes, m.unprotected, m.payload, m.signature]);
}

export function countersignatureValue(c: CoseCountersignature): CborValue {
  return [c.protectedBytes, c.unprotected, c.signature];
}

/** The deterministic encoding of a tagged COSE_Sign1. */
export function encodeCoseSign1(m: CoseSign1): Uint8Array {
  if (m.unprotected.size === 0)
    return writeParts([SIGN1_HEAD, m.protectedBytes, EMPTY_MAP_ITEM, m.payload, m.signature]);
  return encodeCbor(coseSign1Value(m));
}

// ── To-be-signed structures, written directly ───────────────────────────────────────────────────────
//
// Sig_structure, Countersign_structure and the signed form of a COSE_Sign1 (empty unprotected header)
// are arrays of byte strings behind a constant prefix, written here in one exact-size allocation
// instead of through the generic encoder (which allocates per item and per map key): measured with
// `npm run bench -- artifact`, 5 of them took ~35 µs per verified 3-link artifact that way. The bytes are
// the same as encodeCbor's (test/artifact/properties.test.ts compares them across head-size boundaries).

/** An already encoded item, copied as it is; any other part is a byte string's content. */
class Encoded {
  constructor(readonly bytes: Uint8Array) {}
}

const SIGN1_HEAD = new Encoded(Uint8Array.of(0xd2, 0x84)); // tag 18, array of 4
const EMPTY_MAP_ITEM = new Encoded(Uint8Array.of(0xa0));
const SIG_STRUCTURE_HEAD = new Encoded(concat(0x84, 'Signature1'));
const COUNTERSIGN_HEAD = new Encoded(concat(0x86, 'CounterSignatureV2'));
const ONE_ITEM_ARRAY = new Encoded(Uint8Array.of(0x81));

/** An array head byte followed by the encoding of an ASCII text. */
function concat(arrayHead: number, textValue: string): Uint8Array {
  const t = encodeCbor(textValue);
  const out = new Uint8Array(1 + t.length);
  out[0] = arrayHead;
  out.set(t, 1);
  return out;
}

/** Bytes of the shortest head for a byte string of `n` bytes (RFC 8949 §4.2.1). */
const headByteLen = (n: number): number =>
  n < 24 ? 1 : n < 0x100 ? 2 : n < 0x1_0000 ? 3 : n < 0x1_0000_0000 ? 5 : 9;

function writeParts(parts: readonly (Uint8Array | Encoded)[]): Uint8Array {
  let size = 0;
  for (const p of parts) size += p instanceof Encoded ? p.bytes.length : headByteLen(p.length) + p.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    if (p instanceof Encoded) {
      out.set(p.bytes, at);
      at += p.bytes.length;
      continue;
    }
    const n = p.length;
    if (n < 24) out[at++] = 0x40 | n;
    else if (n < 0x100) {
      out[at++] = 0x58;
      out[at++] = n;
    } else if (n < 0x1_0000) {
      out[at++] = 0x59;
      out[at++] = n >>> 8;
      out[at++] = n & 0xff;
    } else if (n < 0x1_0000_0000) {
      out[at++] = 0x5a;
      new DataView(out.buffer).setUint32(at, n);
      at += 4;
    } else {
      out[at++] = 0x5b;
      new DataView(out.buffer).setBigUint64(at, BigInt(n));
      at += 8;
    }
    out.set(p, at);
    at += n;
  }
  return out;
}

/** The bytes of a protected header map (zero bytes for an empty one, RFC 9052 §3). */
export function encodeProtected(header: CborMap): Uint8Array {
  return header.size === 0 ? EMPTY : encodeCbor(header);
}

/**
 * A protected header as the to-be-signed structures carry it: zero bytes when it has no parameters.
 * RFC 9052 §3: a sender may send an empty map encoded in the bstr (h'a0') and recipients must accept it,
 * but the zero-length bstr "is the version used in the serialization structures for cryptographic
 * computation" (cose-wg/Examples sign1-tests/sign-pass-01 is signed that way). Only a lenient read lets
 * a non-shortest empty map (b8 00 …) through; it is one too. Any other bytes are carried as sent.
 */
export function protectedForSigning(protectedBytes: Uint8Array): Uint8Array {
  const head = protectedBytes[0];
  if (head === 0xa0) return protectedBytes.length === 1 ? EMPTY : protectedBytes;
  if (head === undefined || head < 0xb8 || head > 0xbb) return protectedBytes;
  const emptyMap =
    protectedBytes.length === 1 + (1 << (head - 0xb8)) && protectedBytes.subarray(1).every((b) => b === 0);
  return emptyMap ? EMPTY : protectedBytes;
}

/** Sig_structure for COSE_Sign1 (RFC 9052 §4.4). */
export function sigStructure1(
  protectedBytes: Uint8Array,
  payload: Uint8Array,
  externalAad: Uint8Array = EMPTY,
): Uint8Array {
  return writeParts([SIG_STRUCTURE_HEAD, protectedForSigning(protectedBytes), externalAad, payload]);
}

/** Countersign_structure of a V2 countersignature on a COSE_Sign1 (RFC 9338 §3.3). */
export function countersignStructure(
  target: Pick<CoseSign1, 'protectedBytes' | 'payload' | 'signature'>,
  signProtected: Uint8Array,
  externalAad: Uint8Array = EMPTY,
): Uint8Array {
  return writeParts([
    COUNTERSIGN_HEAD,
    protectedForSigning(target.protectedBytes),
    protectedForSigning(signProtected),
    externalAad,
    target.payload,
    ONE_ITEM_ARRAY,
    target.signature,
  ]);
}

/** The wasm-core verification of one COSE signature by `spki` under `alg`. */
export function verifyItemFor(
  alg: SigningAlg,
  spki: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): VerifyItem {
  if (alg === 'ed25519') return { alg: 'ed25519', publicKey: spki, message, signature };
  return { alg: 'ecdsa', hash: alg === 'p256' ? 'sha256' : 'sha384', publicKey: spki, message, signature };
}

/** A COSE_Sign1 from bytes: one data item, nothing after it, at most `maxBytes`. */
export function decodeCoseSign1(
  bytes: Uint8Array,
  what: string,
  opts: CoseDecodeOptions & { readonly tagged?: boolean; readonly maxBytes?: number } = {},
): CoseSign1 {
  let v: CborValue;
  try {
    v = decodeCbor(bytes, {
      tags: [COSE_SIGN1_TAG],
      deterministic: opts.lenient !== true,
      ...(opts.maxBytes === undefined ? {} : { maxBytes: opts.maxBytes }),
    });
  } catch (e) {
    if (e instanceof CborError) throw formatError(`${what}: ${e.code}: ${e.message}`, e);
    throw e;
  }
  return coseSign1FromValue(v, what, opts);
}
