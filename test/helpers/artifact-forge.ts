// SPDX-License-Identifier: Apache-2.0
// Artifacts made the way an attacker (or a buggy issuer) would: signed directly from the COSE pieces,
// without issue.ts's checks (encodeClaims's round trip, delegateArtifact's lineage rules), and raw CBOR
// written byte by byte, so that a test can sign exactly one defect (a wider child, a non-shortest
// integer, an unsorted map) and show the verifier refuses it for that defect alone.
import { CHAIN_LABEL, chainEntry, decodeArtifact } from '../../agent/artifact/artifact.js';
import { type ArtifactClaims, encodeClaims } from '../../agent/artifact/claims.js';
import {
  COSE_ALG,
  countersignatureValue,
  countersignStructure,
  encodeCoseSign1,
  encodeProtected,
  HEADER,
  sigStructure1,
} from '../../agent/artifact/cose.js';
import {
  generateSigningKey,
  type PublicKey,
  parseSigningKey,
  type SigningAlg,
  type SigningKey,
  signWith,
} from '../../agent/crypto/keys.js';
import { concatBytes } from '../../agent/encoding/bytes.js';
import { type CborKey, type CborValue, encodeCbor } from '../../agent/encoding/cbor.js';

export const NOW = 1_800_000_000;
export const HOST = `000b${'ab'.repeat(32)}`;

export const newKey = (alg: SigningAlg = 'ed25519'): SigningKey =>
  parseSigningKey(Buffer.from(generateSigningKey(alg).privatePem));

/** The public half, as a verifier holds it. */
export const pub = (k: SigningKey): PublicKey => ({ alg: k.alg, spki: k.spki, kid: k.kid });

/** The protected header bytes of a signer: { 1: alg, 4: kid }. */
export function protectedOf(key: SigningKey): Uint8Array {
  return encodeProtected(
    new Map<CborKey, CborValue>([
      [HEADER.alg, COSE_ALG[key.alg]],
      [HEADER.kid, key.kid],
    ]),
  );
}

/** A COSE_Sign1 over `payload` (any bytes) by `key`, nothing checked. */
export function signPayload(
  payload: Uint8Array,
  key: SigningKey,
  unprotected: ReadonlyMap<CborKey, CborValue> = new Map(),
): Uint8Array {
  const protectedBytes = protectedOf(key);
  const signature = signWith(key, sigStructure1(protectedBytes, payload));
  return encodeCoseSign1({ protectedBytes, protectedHeader: new Map(), unprotected, payload, signature });
}

/** A root artifact with these claims, signed by `key`, without issueArtifact's checks. */
export function forgeRoot(claims: ArtifactClaims, key: SigningKey): Uint8Array {
  return signPayload(encodeCbor(encodeClaims(claims)), key);
}

/**
 * A child of `parent` (an artifact file) with these claims (their `parent` set to the parent's digest),
 * signed by `key` and carrying the chain, without delegateArtifact's checks.
 */
export function forgeChild(
  parent: Uint8Array,
  claims: Omit<ArtifactClaims, 'parent'>,
  key: SigningKey,
): Uint8Array {
  const p = decodeArtifact(parent, 'parent');
  const chain = [...p.chain.map(chainEntry), chainEntry(p)];
  return signPayload(
    encodeCbor(encodeClaims({ ...claims, parent: p.digest })),
    key,
    new Map<CborKey, CborValue>([[CHAIN_LABEL, chain]]),
  );
}

/** The CBOR value of a countersignature by `key` on `artifact` (an artifact file). */
export function countersignatureBy(artifact: Uint8Array, key: SigningKey): CborValue {
  const a = decodeArtifact(artifact);
  const signProtected = protectedOf(key);
  return countersignatureValue({
    protectedBytes: signProtected,
    protectedHeader: new Map(),
    unprotected: new Map(),
    signature: signWith(key, countersignStructure(a.cose, signProtected)),
  });
}

/** `artifact` with exactly these countersignatures (CBOR values, any number, duplicates allowed). */
export function withCountersignatures(artifact: Uint8Array, list: readonly CborValue[]): Uint8Array {
  const a = decodeArtifact(artifact);
  const unprotected = new Map<CborKey, CborValue>(a.cose.unprotected);
  unprotected.delete(HEADER.countersignature);
  if (list.length === 1) unprotected.set(HEADER.countersignature, list[0] as CborValue);
  else if (list.length > 1) unprotected.set(HEADER.countersignature, [...list]);
  return encodeCoseSign1({ ...a.cose, unprotected });
}

// ── Raw CBOR, byte by byte (RFC 8949 §3) ────────────────────────────────────────────────────────────

/** A head with its argument in `width` bytes (0: in the initial byte), the shortest form unless told. */
export function head(major: number, arg: number | bigint, width?: 0 | 1 | 2 | 4 | 8): Uint8Array {
  const n = BigInt(arg);
  const w =
    width ?? (n < 24n ? 0 : n < 0x100n ? 1 : n < 0x1_0000n ? 2 : n < 0x1_0000_0000n ? 4 : (8 as const));
  const info = w === 0 ? Number(n) : ({ 1: 24, 2: 25, 4: 26, 8: 27 } as const)[w];
  const out = new Uint8Array(1 + w);
  out[0] = (major << 5) | info;
  for (let i = 0; i < w; i++) out[w - i] = Number((n >> BigInt(8 * i)) & 0xffn);
  return out;
}

/** An encoded byte string holding `b`. */
export const bstr = (b: Uint8Array, width?: 0 | 1 | 2 | 4 | 8): Uint8Array =>
  concatBytes([head(2, b.length, width), b]);
/** An encoded array of already encoded items. */
export const arr = (items: readonly Uint8Array[], width?: 0 | 1 | 2 | 4 | 8): Uint8Array =>
  concatBytes([head(4, items.length, width), ...items]);
/** An encoded map of already encoded [key, value] pairs, in the order given. */
export const mapOf = (pairs: readonly (readonly [Uint8Array, Uint8Array])[]): Uint8Array =>
  concatBytes([head(5, pairs.length), ...pairs.flat()]);
/** An encoded tag. */
export const tagged = (tag: number, item: Uint8Array): Uint8Array => concatBytes([head(6, tag), item]);
/** The deterministic encoding of a value. */
export const enc = (v: CborValue): Uint8Array => encodeCbor(v);

/** The [key, value] encodings of a map value, in deterministic order. */
export function pairsOf(m: ReadonlyMap<CborKey, CborValue>): [Uint8Array, Uint8Array][] {
  const whole = encodeCbor(m);
  const out: [Uint8Array, Uint8Array][] = [];
  for (const [k, v] of m) out.push([enc(k), enc(v)]);
  out.sort(([a], [b]) => Buffer.compare(a, b));
  // The same bytes as the encoder's, when put back together.
  if (Buffer.compare(mapOf(out), whole) !== 0) throw new Error('pairsOf: not the encoder order');
  return out;
}

/** A tagged COSE_Sign1 from raw parts, signed by `key` over exactly `protectedRaw` and `payloadRaw`. */
export function rawSign1(
  key: SigningKey,
  parts: { protectedRaw?: Uint8Array; unprotectedRaw?: Uint8Array; payloadRaw: Uint8Array },
): Uint8Array {
  const protectedRaw = parts.protectedRaw ?? protectedOf(key);
  const signature = signWith(key, sigStructure1(protectedRaw, parts.payloadRaw));
  return tagged(
    18,
    arr([
      bstr(protectedRaw),
      parts.unprotectedRaw ?? enc(new Map()),
      bstr(parts.payloadRaw),
      bstr(signature),
    ]),
  );
}
