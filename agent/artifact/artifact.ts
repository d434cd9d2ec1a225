// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/artifact/artifact
 *
 * One artifact file decoded, nothing verified: the COSE_Sign1, its signer (alg, kid), its claims, its
 * ancestors (unprotected header `chain`) and its approvals (countersignatures, header 11). Everything
 * is read strictly (deterministic CBOR, closed header and claim sets, bounded sizes), so two readers see
 * the same artifact. What is trusted is decided by verify.ts.
 *
 * The artifact digest (the `parent` claim of a child, the audit log's artifact digest) is SHA-256 of the
 * tagged COSE_Sign1 encoded with an empty unprotected header: it covers exactly what the signature
 * covers plus the signature, so adding an approval or carrying a chain does not change it. A chain entry
 * is stored in that form, so its digest is SHA-256 of its bytes.
 */
import { sha256 } from '../crypto/hash.js';
import type { SigningAlg } from '../crypto/public-key.js';
import { CborError, type CborMap, type CborValue, decodeCbor } from '../encoding/cbor.js';
import { type ArtifactClaims, decodeClaims, LIMITS } from './claims.js';
import {
  COSE_SIGN1_TAG,
  type CoseCountersignature,
  type CoseSign1,
  coseSign1FromValue,
  countersignatureFromValue,
  encodeCoseSign1,
  HEADER,
  signingAlgOf,
} from './cose.js';
import { ArtifactError } from './errors.js';
import { MAX_ARTIFACT_BYTES } from './limits.js';

export { MAX_ARTIFACT_BYTES } from './limits.js';
/** Most countersignatures one artifact may carry. */
export const MAX_APPROVALS = 32;
/**
 * Most ancestors a chain holds: a root granting the largest depth (LIMITS.depth levels below its child)
 * has descendants LIMITS.depth + 1 levels down, and the deepest of them carries LIMITS.depth + 1 ancestors.
 */
export const MAX_ANCESTORS = LIMITS.depth + 1;
/** The unprotected header label of the ancestors. */
export const CHAIN_LABEL = 'chain';

/** A signed COSE_Sign1 whose payload is a claims set: an artifact, or one of its ancestors. */
export interface ArtifactLink {
  readonly cose: CoseSign1;
  readonly alg: SigningAlg;
  readonly kid: Uint8Array;
  readonly claims: ArtifactClaims;
  /** SHA-256 of the COSE_Sign1 with an empty unprotected header. */
  readonly digest: Uint8Array;
}

/** One approval: a countersignature and the approver it names. */
export interface Approval {
  readonly countersignature: CoseCountersignature;
  readonly alg: SigningAlg;
  readonly kid: Uint8Array;
}

export interface Artifact extends ArtifactLink {
  /** Ancestors, root first; empty for a root artifact. */
  readonly chain: readonly ArtifactLink[];
  readonly approvals: readonly Approval[];
}

const bad = (what: string, cause?: unknown): never => {
  throw new ArtifactError('E_FORMAT', what, cause === undefined ? undefined : { cause });
};

/** alg and kid: exactly labels 1 and 4 in the protected header, nothing else (no crit, no content type). */
export function signerOf(
  header: CborMap,
  what: string,
  extra: ReadonlyMap<number, CborValue> = new Map(),
): {
  alg: SigningAlg;
  kid: Uint8Array;
} {
  for (const k of header.keys())
    if (k !== HEADER.alg && k !== HEADER.kid && !extra.has(k as number))
      bad(`${what}: protected header label ${String(k)} is not allowed`);
  for (const [k, v] of extra)
    if (header.get(k) !== v) bad(`${what}: protected header ${k} must be ${JSON.stringify(v)}`);
  const alg = signingAlgOf(header.get(HEADER.alg));
  if (alg === undefined)
    bad(`${what}: alg ${String(header.get(HEADER.alg))} is not EdDSA (-8), ES256 (-7) or ES384 (-35)`);
  const kid = header.get(HEADER.kid);
  if (!(kid instanceof Uint8Array) || kid.length !== 32) bad(`${what}: kid must be a 32-byte SHA-256 key id`);
  return { alg: alg as SigningAlg, kid: kid as Uint8Array };
}

/** The digest of a COSE_Sign1's signed form (empty unprotected header). */
export function artifactDigest(cose: CoseSign1): Uint8Array {
  return sha256(encodeCoseSign1({ ...cose, unprotected: new Map() }));
}

/**
 * The link of `cose`; `signedForm`, when given, is its bytes in the signed form (a chain entry, read
 * strictly deterministic with an empty unprotected header, is exactly that), hashed instead of re-encoded.
 */
function linkOf(cose: CoseSign1, what: string, signedForm?: Uint8Array): ArtifactLink {
  const { alg, kid } = signerOf(cose.protectedHeader, what);
  let payload: CborValue;
  try {
    payload = decodeCbor(cose.payload, { tags: [], maxBytes: MAX_ARTIFACT_BYTES, maxDepth: 8 });
  } catch (e) {
    if (e instanceof CborError) return bad(`${what}: payload: ${e.code}: ${e.message}`, e);
    throw e;
  }
  let claims: ArtifactClaims;
  try {
    claims = decodeClaims(payload);
  } catch (e) {
    if (e instanceof ArtifactError) return bad(`${what}: ${e.message}`, e);
    throw e;
  }
  return { cose, alg, kid, claims, digest: signedForm ? sha256(signedForm) : artifactDigest(cose) };
}

function decodeChain(v: CborValue, what: string): ArtifactLink[] {
  if (!Array.isArray(v) || v.length === 0)
    return bad(`${what}: "chain" must be a non-empty array of byte strings`);
  if (v.length > MAX_ANCESTORS) bad(`${what}: "chain" has more than ${MAX_ANCESTORS} ancestors`);
  return v.map((entry, i) => {
    const at = `${what}: chain[${i}]`;
    if (!(entry instanceof Uint8Array)) return bad(`${at} is not a byte string`);
    let value: CborValue;
    try {
      value = decodeCbor(entry, { tags: [COSE_SIGN1_TAG], maxBytes: MAX_ARTIFACT_BYTES, maxDepth: 8 });
    } catch (e) {
      if (e instanceof CborError) return bad(`${at}: ${e.code}: ${e.message}`, e);
      throw e;
    }
    const cose = coseSign1FromValue(value, at);
    if (cose.unprotected.size !== 0) bad(`${at}: an ancestor in a chain has an empty unprotected header`);
    return linkOf(cose, at, entry);
  });
}

function decodeApprovals(v: CborValue, what: string): Approval[] {
  // RFC 9338 §3.1: one COSE_Countersignature, or an array of them.
  const list = Array.isArray(v) && v.length > 0 && !(v[0] instanceof Uint8Array) ? v : [v];
  if (list.length > MAX_APPROVALS) bad(`${what}: more than ${MAX_APPROVALS} countersignatures`);
  return list.map((c, i) => {
    const at = `${what}: countersignature ${i}`;
    const countersignature = countersignatureFromValue(c, at);
    if (countersignature.unprotected.size !== 0) bad(`${at}: the unprotected header must be empty`);
    return { countersignature, ...signerOf(countersignature.protectedHeader, at) };
  });
}

/** Decodes an artifact file; ArtifactError E_FORMAT for anything that is not exactly one valid artifact. */
export function decodeArtifact(bytes: Uint8Array, what = 'artifact'): Artifact {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('bytes must be a Uint8Array');
  if (bytes.length > MAX_ARTIFACT_BYTES)
    bad(`${what}: ${bytes.length} bytes, more than ${MAX_ARTIFACT_BYTES}`);
  let value: CborValue;
  try {
    value = decodeCbor(bytes, { tags: [COSE_SIGN1_TAG], maxBytes: MAX_ARTIFACT_BYTES, maxDepth: 8 });
  } catch (e) {
    if (e instanceof CborError) return bad(`${what}: ${e.code}: ${e.message}`, e);
    throw e;
  }
  const cose = coseSign1FromValue(value, what);
  for (const k of cose.unprotected.keys())
    if (k !== CHAIN_LABEL && k !== HEADER.countersignature)
      bad(`${what}: unprotected header label ${JSON.stringify(String(k))} is not allowed`);
  const link = linkOf(cose, what);
  const chainValue = cose.unprotected.get(CHAIN_LABEL);
  const approvalsValue = cose.unprotected.get(HEADER.countersignature);
  return {
    ...link,
    chain: chainValue === undefined ? [] : decodeChain(chainValue, what),
    approvals: approvalsValue === undefined ? [] : decodeApprovals(approvalsValue, what),
  };
}

/** The signed form of a link, as a chain entry carries it. */
export function chainEntry(link: Pick<ArtifactLink, 'cose'>): Uint8Array {
  return encodeCoseSign1({ ...link.cose, unprotected: new Map() });
}

/** The artifact file with `unprotected` replacing its unprotected header (chain, approvals). */
export function withUnprotected(cose: CoseSign1, unprotected: CborMap): Uint8Array {
  return encodeCoseSign1({ ...cose, unprotected });
}
