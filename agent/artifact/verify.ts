// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/artifact/verify
 *
 * The offline verdict on an artifact: pure (bytes, trusted keys, approval policy, revocations and the
 * time in; a verdict with one reason code out; no I/O, no clock), so the gate, a service and the
 * auditor page share it. `verifyArtifacts` judges many at once with one batched signature call
 * (agent/crypto verifySignatures → wasm-core verifyBatch; several past MAX_BATCH_BYTES of input to it).
 * Call `await initVerification()` first.
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
 *                       approver twice, by an approver whose kid is revoked, or that does not verify
 * Without an approval policy, countersignatures are decoded but not verified (the verdict says so).
 */
import { KeyCache } from '../../wasm-core/index.js';
import { type PublicKey, publicKeyOf } from '../crypto/public-key.js';
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
  readonly approvals: readonly ApprovalCheck[];
  readonly lineage: string | undefined;
}

/** One countersignature: its index in the batch, or why it is refused without a signature check. */
type ApprovalCheck =
  | { readonly kid: string; readonly index: number; readonly refused?: undefined }
  | { readonly kid: string; readonly refused: string };

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
  // Only countersignatures that can count are verified: one per policy approver, not revoked. The others
  // decide the verdict without a signature check, so a forgery repeating a public approver kid
  // MAX_APPROVALS times costs one verification over its payload, not MAX_APPROVALS.
  const approvals: ApprovalCheck[] = [];
  if (o.approvals) {
    const planned = new Set<string>();
    for (const a of artifact.approvals) {
      const kid = toHex(a.kid);
      const approver = o.approvals.approvers.find((k) => equalBytes(k.kid, a.kid));
      if (!approver || approver.alg !== a.alg) {
        approvals.push({ kid, refused: `countersignature by ${kid}, not an approver of the policy` });
        continue;
      }
      if (planned.has(kid)) {
        approvals.push({ kid, refused: `approver ${kid} countersigned twice` });
        continue;
      }
      if (o.revoked?.kids.has(kid)) {
        approvals.push({ kid, refused: `countersignature by approver ${kid}, whose key is revoked` });
        continue;
      }
      planned.add(kid);
      approvals.push({ kid, index: batch.length });
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
    if (a.refused !== undefined) return fail('E_APPROVAL', a.refused, artifact);
    if (!ok[a.index])
      return fail('E_APPROVAL', `the countersignature of approver ${a.kid} does not verify`, artifact);
    seen.add(a.kid);
  }
  if (seen.size < o.approvals.required)
    return fail('E_APPROVAL', `${seen.size} of the ${o.approvals.required} required approvals`, artifact);
  return { ok: true, artifact, issuer: p.issuer, approvedBy: [...seen] };
}

const iso = (s: number) => new Date(s * 1000).toISOString().replace('.000Z', 'Z');

/**
 * Most bytes of to-be-signed structures held for one batched verification: a normal batch (a thousand
 * artifacts of a few kilobytes) is one call; hostile input as large as allowed is cut into several
 * calls instead of being held whole (MAX_ARTIFACT_BYTES per structure, a few structures per artifact).
 */
export const MAX_BATCH_BYTES = 32 * 1024 * 1024;

/**
 * The verdicts on many artifacts under the same options, with one batched signature verification (or a
 * few, when their to-be-signed structures exceed MAX_BATCH_BYTES).
 */
export function verifyArtifacts(list: readonly Uint8Array[], options: VerifyOptions): ArtifactVerdict[] {
  checkOptions(options);
  const verdicts: ArtifactVerdict[] = [];
  let batch: VerifyItem[] = [];
  let planned: (Pending | ArtifactVerdict)[] = [];
  let bytes = 0;
  const flush = () => {
    const ok = batch.length ? verifySignatures(batch) : [];
    for (const p of planned) verdicts.push('ok' in p ? p : judge(p, ok, options));
    batch = [];
    planned = [];
    bytes = 0;
  };
  for (const artifact of list) {
    const before = batch.length;
    planned.push(plan(artifact, options, batch));
    for (let i = before; i < batch.length; i++) bytes += (batch[i] as VerifyItem).message.length;
    if (bytes >= MAX_BATCH_BYTES) flush();
  }
  if (planned.length) flush();
  return verdicts;
}

/** The verdict on one artifact. */
export function verifyArtifact(bytes: Uint8Array, options: VerifyOptions): ArtifactVerdict {
  return verifyArtifacts([bytes], options)[0] as ArtifactVerdict;
}
