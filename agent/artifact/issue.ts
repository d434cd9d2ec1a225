// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/artifact/issue
 *
 * Making artifacts: issue (a root, signed by an issuer key), delegate (a child under its parent's grant,
 * signed by the delegate key, carrying the chain), approve (one more countersignature). Signing is
 * node:crypto's (agent/crypto/keys.ts). Each result is decoded again by the verifier's own reader before
 * it is returned, and a child is checked against its parent's grant, so what is made is what verifies.
 */
import { keyId, type SigningKey, signWith } from '../crypto/keys.js';
import { equalBytes, toHex } from '../encoding/bytes.js';
import { type CborKey, type CborValue, decodeCbor, encodeCbor } from '../encoding/cbor.js';
import { CHAIN_LABEL, chainEntry, decodeArtifact } from './artifact.js';
import { type ArtifactClaims, decodeClaims, encodeClaims } from './claims.js';
import {
  COSE_ALG,
  type CoseSign1,
  countersignatureValue,
  countersignStructure,
  encodeCoseSign1,
  encodeProtected,
  HEADER,
  sigStructure1,
} from './cose.js';
import { ArtifactError } from './errors.js';
import { linkWithin } from './lineage.js';

function protectedFor(key: SigningKey): Uint8Array {
  return encodeProtected(
    new Map<CborKey, CborValue>([
      [HEADER.alg, COSE_ALG[key.alg]],
      [HEADER.kid, key.kid],
    ]),
  );
}

function sign1(claims: ArtifactClaims, key: SigningKey, unprotected: Map<CborKey, CborValue>): Uint8Array {
  // Round trip through the verifier's reader: a claim it would refuse is refused here, before signing.
  const payload = encodeCbor(encodeClaims(claims));
  decodeClaims(decodeCbor(payload, { tags: [] }));
  const protectedBytes = protectedFor(key);
  const signature = signWith(key, sigStructure1(protectedBytes, payload));
  const cose: CoseSign1 = { protectedBytes, protectedHeader: new Map(), unprotected, payload, signature };
  const bytes = encodeCoseSign1(cose);
  decodeArtifact(bytes);
  return bytes;
}

/** A root artifact signed by `key`. */
export function issueArtifact(claims: ArtifactClaims, key: SigningKey): Uint8Array {
  if (claims.parent)
    throw new ArtifactError('E_LINEAGE', 'a root artifact has no parent: use delegateArtifact');
  return sign1(claims, key, new Map());
}

/**
 * A child of `parent` (an artifact file) signed by `key`, which must be the key the parent delegates to;
 * `claims.parent` is set here. E_LINEAGE when the child would be wider than the grant.
 */
export function delegateArtifact(
  parent: Uint8Array,
  claims: Omit<ArtifactClaims, 'parent'>,
  key: SigningKey,
): Uint8Array {
  const p = decodeArtifact(parent, 'parent');
  const grant = p.claims.delegate;
  if (!grant) throw new ArtifactError('E_LINEAGE', 'the parent grants no delegation (no delegate claim)');
  if (!equalBytes(key.spki, grant.key))
    throw new ArtifactError(
      'E_LINEAGE',
      `the parent delegates to kid ${toHex(keyId(grant.key))}, not to this key (kid ${toHex(key.kid)})`,
    );
  const child: ArtifactClaims = { ...claims, parent: p.digest };
  const rule = linkWithin(child, p.claims);
  if (rule) throw new ArtifactError('E_LINEAGE', rule);
  const chain = [...p.chain.map(chainEntry), chainEntry(p)];
  return sign1(child, key, new Map<CborKey, CborValue>([[CHAIN_LABEL, chain]]));
}

/** `artifact` with one more countersignature, by `key`; refused when that approver already signed. */
export function approveArtifact(artifact: Uint8Array, key: SigningKey): Uint8Array {
  const a = decodeArtifact(artifact);
  if (a.approvals.some((x) => equalBytes(x.kid, key.kid)))
    throw new ArtifactError(
      'E_APPROVAL',
      `approver ${toHex(key.kid)} has already countersigned this artifact`,
    );
  const signProtected = protectedFor(key);
  const signature = signWith(key, countersignStructure(a.cose, signProtected));
  const mine = countersignatureValue({
    protectedBytes: signProtected,
    protectedHeader: new Map(),
    unprotected: new Map(),
    signature,
  });
  const all = [...a.approvals.map((x) => countersignatureValue(x.countersignature)), mine];
  const unprotected = new Map<CborKey, CborValue>(a.cose.unprotected);
  // RFC 9338 §3.1: one countersignature alone, several as an array.
  unprotected.set(HEADER.countersignature, all.length === 1 ? (all[0] as CborValue) : all);
  const bytes = encodeCoseSign1({ ...a.cose, unprotected });
  decodeArtifact(bytes);
  return bytes;
}
