// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/artifact/verify
 *
 * The offline verdict on an artifact: pure (bytes, trusted keys, approval policy, revocations and the
 * time in; a verdict with one reason code out; no I/O, no clock), so the gate, a service and the
 * auditor page share it. `verifyArtifacts` judges many at once with one batched signature call
 * (agent/crypto verifySignatures → wasm-core verifyBatch). Call `await initVerification()` first.
 *
 * The checks, and the code of the first that fails in this order:
 *   E_FORMAT            decodeArtifact (artifact.ts)
 *   E_UNTRUSTED_ISSUER  the chain's root is signed under a kid that names no trusted key
 *   E_SIGNATURE         a signature of the root, of an ancestor or of the artifact does not verify, or its
 *                       alg is not its key's
 *   E_LINEAGE           a child's kid is not its parent's delegate key, its parent digest is not its
 *                       parent's, or it is wider, longer-lived or deeper than granted (lineage.ts); a root
 *                       with a parent claim
 *   E_NOT_YET_VALID, E_EXPIRED   the artifact's window at `at` (± `skew`): nbf (else iat) ≤ at < exp
 *   E_REVOKED           its cti, an ancestor's cti, or the kid of any key that signed one is revoked
 *   E_APPROVAL          (with an approval policy) fewer than `required` distinct approvers of the set
 *                       countersigned validly; any countersignature by a key outside the set, by one
 *                       approver twice, or that does not verify
 * Without an approval policy, countersignatures are decoded but not verified (the verdict says so).
 */
import { KeyCache } from '../../wasm-core/index.js';
import { type PublicKey, publicKeyOf } from '../crypto/keys.js';
import { type VerifyItem, verifySignatures } from '../crypto/verify.js';
import { equalBytes, toHex } from '../encoding/bytes.js';
import { type Artifact, type ArtifactLink, decodeArtifact } from './artifact.js';
import { countersignStructure, sigStructure1, verifyItemFor } from './cose.js';
import { type ArtifactCode, ArtifactError } from './errors.js';
import { linkWithin, notBefore } from './lineage.js';

export interface ApprovalPolicy {
  readonly approvers: readonly PublicKey[];
  /** K of K-of-N, at least 1. */
  readonly required: number;
}

/** Revoked artifact ids and key ids (lowercase hex), from verified revocation lists (revocation.ts). */
export interface Revocations {
  readonly ctis: ReadonlySet<string>;
  readonly kids: ReadonlySet<string>;
}

export interface VerifyOptions {
  /** Keys whose artifacts are trusted as roots. */
  readonly trust: readonly PublicKey[];
  readonly approvals?: ApprovalPolicy;
  readonly revoked?: Revocations;
  /** The time to judge at, in seconds since the epoch. */
  readonly at: number;
  /** Tolerated clock difference, in seconds (default 0). */
  readonly skew?: number;
}

export type ArtifactVerdict =
  | {
      readonly ok: true;
      readonly artifact: Artifact;
      /** The trusted key the chain's root is signed by. */
      readonly issuer: PublicKey;
      /** kids (hex) of the approvers whose countersignatures counted; undefined when none was required. */
      readonly approvedBy?: readonly string[];
    }
  | {
      readonly ok: false;
      readonly code: ArtifactCode;
      readonly detail: string;
      /** The decoded artifact, unless E_FORMAT. */
      readonly artifact?: Artifact;
    };

/** One artifact's signature checks and everything else, before the batch answers. */
interface Pending {
  readonly artifact: Artifact;
  readonly issuer: PublicKey;
  /** Indexes into the batch, with what each proves. */
  readonly links: readonly { index: number; what: string }[];
  readonly approvals: readonly { index: number; kid: string }[];
  readonly lineage: string | undefined;
}

/**
 * Delegate keys as parsed (wasm-core's strict SPKI parser, and the kid's SHA-256), by their bytes: a
 * deployment has a few delegate keys and each artifact names one per link. Bounded; least recently
 * used out.
 */
const delegateKeys = new KeyCache<PublicKey>(64);

const fail = (code: ArtifactCode, detail: string, artifact?: Artifact): ArtifactVerdict =>
  artifact ? { ok: false, code, detail, artifact } : { ok: false, code, detail };

function checkOptions(o: VerifyOptions): void {
  if (!Array.isArray(o.trust)) throw new TypeError('options.trust must be an array of PublicKey');
  if (!Number.isSafeInteger(o.at) || o.at < 0)
    throw new RangeError('options.at must be seconds since the epoch');
  if (o.skew !== undefined && (!Number.isSafeInteger(o.skew) || o.skew < 0))
    throw new RangeError('options.skew must be a non-negative integer');
  if (o.approvals && (!Number.isSafeInteger(o.approvals.required) || o.approvals.required < 1))
    throw new RangeError('options.approvals.required must be a positive integer');
}

/** Plans one artifact's signatures into `batch`; a verdict when it fails before any signature matters. */
function plan(bytes: Uint8Array, o: VerifyOptions, batch: VerifyItem[]): Pending | ArtifactVerdict {
  let artifact: Artifact;
  try {
    artifact = decodeArtifact(bytes);
  } catch (e) {
    if (e instanceof ArtifactError) return fail(e.code, e.message);
    throw e;
  }
  const links: readonly ArtifactLink[] = [...artifact.chain, artifact];
  const root = links[0] as ArtifactLink;
  const issuer = o.trust.find((k) => equalBytes(k.kid, root.kid));
  if (!issuer)
    return fail(
      'E_UNTRUSTED_ISSUER',
      `the root is signed by kid ${toHex(root.kid)}, not a trusted key`,
      artifact,
    );
  const signed: { index: number; what: string }[] = [];
  let lineage: string | undefined;
  if (root.claims.parent) lineage = 'the root of the chain names a parent';
  let key: PublicKey = issuer;
  for (let i = 0; i < links.length; i++) {
    const link = links[i] as ArtifactLink;
    const what = i === links.length - 1 ? 'the artifact' : `chain[${i}]`;
    if (i > 0) {
      const parent = links[i - 1] as ArtifactLink;
      const grant = parent.claims.delegate;
      if (!grant) {
        lineage ??= `${what}: its parent grants no delegation`;
        break;
      }
      key = delegateKeys.get(grant.key, (spki) => publicKeyOf(spki));
      if (!equalBytes(link.kid, key.kid)) {
        lineage ??= `${what} is signed by kid ${toHex(link.kid)}, not by its parent's delegate key`;
        break;
      }
      if (!link.claims.parent || !equalBytes(link.claims.parent, parent.digest))
        lineage ??= `${what}: parent is not the digest of ${i === 1 ? 'the root' : `chain[${i - 1}]`}`;
      const rule = linkWithin(link.claims, parent.claims);
      if (rule) lineage ??= `${what}: ${rule}`;
    }
    if (link.alg !== key.alg)
      return fail('E_SIGNATURE', `${what}: alg is ${link.alg} but its key is ${key.alg}`, artifact);
    signed.push({ index: batch.length, what });
    batch.push(
      verifyItemFor(
        key.alg,
        key.spki,
        sigStructure1(link.cose.protectedBytes, link.cose.payload),
        link.cose.signature,
      ),
    );
  }
  if (artifact.chain.length === 0 && artifact.claims.parent)
    lineage ??= 'it names a parent but carries no chain';
  const approvals: { index: number; kid: string }[] = [];
  if (o.approvals) {
    for (const a of artifact.approvals) {
      const approver = o.approvals.approvers.find((k) => equalBytes(k.kid, a.kid));
      if (!approver || approver.alg !== a.alg) {
        approvals.push({ index: -1, kid: toHex(a.kid) });
        continue;
      }
      approvals.push({ index: batch.length, kid: toHex(a.kid) });
      const cs = a.countersignature;
      batch.push(
        verifyItemFor(
          approver.alg,
          approver.spki,
          countersignStructure(artifact.cose, cs.protectedBytes),
          cs.signature,
        ),
      );
    }
  }
  return { artifact, issuer, links: signed, approvals, lineage };
}

function judge(p: Pending, ok: readonly boolean[], o: VerifyOptions): ArtifactVerdict {
  const { artifact } = p;
  for (const s of p.links)
    if (!ok[s.index]) return fail('E_SIGNATURE', `${s.what}: the signature does not verify`, artifact);
  if (p.lineage) return fail('E_LINEAGE', p.lineage, artifact);
  const skew = o.skew ?? 0;
  const c = artifact.claims;
  if (o.at + skew < notBefore(c))
    return fail('E_NOT_YET_VALID', `valid from ${iso(notBefore(c))}, now ${iso(o.at)}`, artifact);
  if (o.at - skew >= c.exp) return fail('E_EXPIRED', `expired at ${iso(c.exp)}, now ${iso(o.at)}`, artifact);
  if (o.revoked) {
    for (const [i, link] of [...artifact.chain, artifact].entries()) {
      const what = i === artifact.chain.length ? 'the artifact' : `its ancestor chain[${i}]`;
      const cti = toHex(link.claims.cti);
      if (o.revoked.ctis.has(cti)) return fail('E_REVOKED', `${what} (cti ${cti}) is revoked`, artifact);
      const kid = toHex(link.kid);
      if (o.revoked.kids.has(kid))
        return fail('E_REVOKED', `${what} is signed by revoked key ${kid}`, artifact);
    }
  }
  if (!o.approvals) return { ok: true, artifact, issuer: p.issuer };
  const seen = new Set<string>();
  for (const a of p.approvals) {
    if (a.index < 0)
      return fail('E_APPROVAL', `countersignature by ${a.kid}, not an approver of the policy`, artifact);
    if (seen.has(a.kid)) return fail('E_APPROVAL', `approver ${a.kid} countersigned twice`, artifact);
    if (!ok[a.index])
      return fail('E_APPROVAL', `the countersignature of approver ${a.kid} does not verify`, artifact);
    seen.add(a.kid);
  }
  if (seen.size < o.approvals.required)
    return fail('E_APPROVAL', `${seen.size} of the ${o.approvals.required} required approvals`, artifact);
  return { ok: true, artifact, issuer: p.issuer, approvedBy: [...seen] };
}

const iso = (s: number) => new Date(s * 1000).toISOString().replace('.000Z', 'Z');

/** The verdicts on many artifacts under the same options, with one batched signature verification. */
export function verifyArtifacts(list: readonly Uint8Array[], options: VerifyOptions): ArtifactVerdict[] {
  checkOptions(options);
  const batch: VerifyItem[] = [];
  const planned = list.map((bytes) => plan(bytes, options, batch));
  const ok = batch.length ? verifySignatures(batch) : [];
  return planned.map((p) => ('ok' in p ? p : judge(p, ok, options)));
}

/** The verdict on one artifact. */
export function verifyArtifact(bytes: Uint8Array, options: VerifyOptions): ArtifactVerdict {
  return verifyArtifacts([bytes], options)[0] as ArtifactVerdict;
}
