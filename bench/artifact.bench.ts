// SPDX-License-Identifier: Apache-2.0
/**
 * Artifact verification (issue 12): a 3-link Ed25519 chain (root → child → grandchild, the grandchild
 * carrying the two ancestors in its `chain` header) with 2 Ed25519 approver countersignatures, so five
 * signatures per artifact, verified with the approver set and K = 2. 1,000 distinct artifacts (each its
 * own root, child and grandchild; one issuer, two delegate keys and two approvers, as one deployment
 * would have), all valid. Cases:
 *   - agent/artifact `verifyArtifact`, one artifact at a time (in rotation);
 *   - `verifyArtifacts` on all 1,000 (one verifySignatures → wasm-core verifyBatch call, 5,000 signatures);
 *   - the same checks written here over node:crypto: our decoder (`decodeArtifact`), our lineage rules
 *     (`linkWithin`) and our Sig_structure/Countersign_structure (agent/artifact/cose.ts), the trust,
 *     delegate-key, parent-digest, window and K-distinct-approvers checks written out, and the five
 *     signatures per artifact verified with `crypto.verify` and KeyObjects created once.
 * A second table times each stage alone over the same artifacts (decoding, the to-be-signed structures,
 * the batched signatures, crypto.verify), sampled in the same round-robin as the first, to show where
 * the time goes. Prints markdown tables of medians and ratios for BENCHMARKS.md; asserts nothing beyond
 * every verifier accepting every artifact (and refusing one with a flipped signature byte) before timing.
 */
import { createHash, createPublicKey, type KeyObject, verify as nodeVerify, randomBytes } from 'node:crypto';
import { type Artifact, decodeArtifact } from '../agent/artifact/artifact.js';
import type { ArtifactClaims } from '../agent/artifact/claims.js';
import { countersignStructure, sigStructure1 } from '../agent/artifact/cose.js';
import { approveArtifact, delegateArtifact, issueArtifact } from '../agent/artifact/issue.js';
import { linkWithin, notBefore } from '../agent/artifact/lineage.js';
import { type VerifyOptions, verifyArtifact, verifyArtifacts } from '../agent/artifact/verify.js';
import {
  generateSigningKey,
  type PublicKey,
  parseSigningKey,
  type SigningKey,
} from '../agent/crypto/keys.js';
import { initVerification, type VerifyItem, verifySignatures } from '../agent/crypto/verify.js';
import { equalBytes, toHex } from '../agent/encoding/bytes.js';
import { type Case, compare, formatNs, ratio, table } from './measure.js';

const ARTIFACTS = 1000;
const NOW = 1_800_000_000;

const ed25519Key = (): SigningKey => parseSigningKey(Buffer.from(generateSigningKey('ed25519').privatePem));

interface Fixture {
  readonly artifacts: readonly Uint8Array[];
  readonly options: VerifyOptions;
}

function fixture(): Fixture {
  const issuer = ed25519Key();
  const delegate1 = ed25519Key();
  const delegate2 = ed25519Key();
  const approvers = [ed25519Key(), ed25519Key()];
  const sha256 = new Uint8Array(randomBytes(32));
  const artifacts = Array.from({ length: ARTIFACTS }, () => {
    const base = (exp: number): Omit<ArtifactClaims, 'parent'> => ({
      iss: 'ops',
      sub: `000b${'ab'.repeat(32)}`,
      iat: NOW - 60,
      exp,
      cti: new Uint8Array(randomBytes(16)),
      scope: { exe: '/usr/bin/backup', sha256, argv: ['--full'] },
    });
    const root = issueArtifact(
      { ...base(NOW + 3600), delegate: { key: delegate1.spki, depth: 1, scope: { exe: '/usr/bin/' } } },
      issuer,
    );
    const child = delegateArtifact(
      root,
      {
        ...base(NOW + 1800),
        delegate: { key: delegate2.spki, depth: 0, scope: { exe: '/usr/bin/backup', sha256 } },
      },
      delegate1,
    );
    const grandchild = delegateArtifact(child, base(NOW + 900), delegate2);
    return approveArtifact(
      approveArtifact(grandchild, approvers[0] as SigningKey),
      approvers[1] as SigningKey,
    );
  });
  const pub = (k: SigningKey): PublicKey => ({ alg: k.alg, spki: k.spki, kid: k.kid });
  return {
    artifacts,
    options: { trust: [pub(issuer)], approvals: { approvers: approvers.map(pub), required: 2 }, at: NOW },
  };
}

// ── The node:crypto verifier ────────────────────────────────────────────────────────────────────────

/** Ed25519 KeyObjects by kid (hex), created once. */
class NodeKeys {
  private readonly byKid = new Map<string, KeyObject>();
  private readonly bySpki = new Map<string, KeyObject>();

  constructor(keys: readonly PublicKey[]) {
    for (const k of keys) this.byKid.set(toHex(k.kid), this.key(k.spki));
  }

  kid(kid: Uint8Array): KeyObject | undefined {
    return this.byKid.get(toHex(kid));
  }

  /** The KeyObject of a delegate key (an SPKI from a claim), made the first time it is seen. */
  key(spki: Uint8Array): KeyObject {
    const hex = toHex(spki);
    let k = this.bySpki.get(hex);
    if (k === undefined) {
      k = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
      this.bySpki.set(hex, k);
    }
    return k;
  }
}

/** Whether `bytes` verifies as verifyArtifact would say ok (Ed25519 only, which is all this bench makes). */
function nodeVerifyArtifact(bytes: Uint8Array, o: VerifyOptions, keys: NodeKeys, trust: NodeKeys): boolean {
  let a: Artifact;
  try {
    a = decodeArtifact(bytes);
  } catch {
    return false;
  }
  const links = [...a.chain, a];
  const root = links[0];
  if (root === undefined || root.claims.parent) return false;
  let key = trust.kid(root.kid);
  if (key === undefined || root.alg !== 'ed25519') return false;
  for (let i = 0; i < links.length; i++) {
    const link = links[i] as (typeof links)[number];
    if (i > 0) {
      const parent = links[i - 1] as (typeof links)[number];
      const grant = parent.claims.delegate;
      if (!grant || link.alg !== 'ed25519') return false;
      if (!equalBytes(link.kid, keyIdOf(grant.key))) return false;
      if (!link.claims.parent || !equalBytes(link.claims.parent, parent.digest)) return false;
      if (linkWithin(link.claims, parent.claims) !== undefined) return false;
      key = keys.key(grant.key);
    }
    const signed = sigStructure1(link.cose.protectedBytes, link.cose.payload);
    if (!nodeVerify(null, signed, key, link.cose.signature)) return false;
  }
  const c = a.claims;
  if (o.at < notBefore(c) || o.at >= c.exp) return false;
  const policy = o.approvals;
  if (!policy) return true;
  const seen = new Set<string>();
  for (const ap of a.approvals) {
    const kid = toHex(ap.kid);
    const approver = keys.kid(ap.kid);
    if (approver === undefined || ap.alg !== 'ed25519' || seen.has(kid)) return false;
    const signed = countersignStructure(a.cose, ap.countersignature.protectedBytes);
    if (!nodeVerify(null, signed, approver, ap.countersignature.signature)) return false;
    seen.add(kid);
  }
  return seen.size >= policy.required;
}

/** kid of a delegate key (SHA-256 of its SPKI), computed once per key. */
const kidCache = new Map<string, Uint8Array>();
function keyIdOf(spki: Uint8Array): Uint8Array {
  const hex = toHex(spki);
  let kid = kidCache.get(hex);
  if (kid === undefined) {
    kid = new Uint8Array(createHash('sha256').update(spki).digest());
    kidCache.set(hex, kid);
  }
  return kid;
}

export async function main(): Promise<void> {
  await initVerification();
  const t0 = performance.now();
  const { artifacts, options } = fixture();
  process.stdout.write(
    `(made ${ARTIFACTS} artifacts in ${((performance.now() - t0) / 1000).toFixed(1)} s)\n`,
  );
  const approvers = options.approvals?.approvers ?? [];
  const keys = new NodeKeys(approvers);
  const trust = new NodeKeys(options.trust);
  const n = artifacts.length;

  // Every verifier accepts every artifact, and refuses one whose last signature byte is flipped.
  const every = (verdicts: readonly boolean[]) => verdicts.length === n && verdicts.every((v) => v);
  if (!every(artifacts.map((b) => verifyArtifact(b, options).ok))) throw new Error('verifyArtifact refused');
  if (!every(verifyArtifacts(artifacts, options).map((v) => v.ok)))
    throw new Error('verifyArtifacts refused');
  if (!every(artifacts.map((b) => nodeVerifyArtifact(b, options, keys, trust))))
    throw new Error('the node:crypto verifier refused');
  const bad = Uint8Array.from(artifacts[0] as Uint8Array);
  bad[bad.length - 1] = (bad[bad.length - 1] ?? 0) ^ 1;
  if (verifyArtifact(bad, options).ok || nodeVerifyArtifact(bad, options, keys, trust))
    throw new Error('a verifier accepted a flipped signature');

  let k = 0;
  const next = (): Uint8Array => artifacts[k++ % n] as Uint8Array;
  const cases: Case[] = [
    { name: '`verifyArtifact`, one at a time', run: () => verifyArtifact(next(), options).ok, reps: 40 },
    { name: `\`verifyArtifacts\`, batch of ${n}`, run: () => verifyArtifacts(artifacts, options), reps: 1 },
    {
      name: 'node:crypto verifier (KeyObjects once), one at a time',
      run: () => nodeVerifyArtifact(next(), options, keys, trust),
      reps: 40,
    },
  ];
  const stages = stageCases(artifacts, options, keys);
  // One round-robin over both tables, so that the stages are measured under the same load as the whole.
  const ns = compare([...cases, ...stages], 11, 2);
  const [single = Number.NaN, batch = Number.NaN, node = Number.NaN] = ns;
  const perArtifact = [single, batch / n, node];
  table(
    `3-link Ed25519 chain + 2 Ed25519 approvals (5 signatures per artifact), K = 2, ${n} distinct artifacts`,
    ['verifier', 'per artifact', 'artifacts/s', 'per signature', 'vs node:crypto'],
    cases.map((c, i) => {
      const t = perArtifact[i] ?? Number.NaN;
      return [c.name, formatNs(t), (1e9 / t).toFixed(0), formatNs(t / 5), ratio(node, t)];
    }),
  );
  table(
    `Where the time goes: each stage alone over the ${n} artifacts, per artifact`,
    ['stage', 'per artifact', 'share of the batch'],
    stages.map((c, i) => {
      const t = (ns[cases.length + i] ?? Number.NaN) / n;
      return [c.name, formatNs(t), `${((100 * t) / (batch / n)).toFixed(0)}%`];
    }),
  );
}

/** The stages of a verification, each alone over all artifacts (one run = all of them). */
function stageCases(artifacts: readonly Uint8Array[], o: VerifyOptions, keys: NodeKeys): Case[] {
  const decoded = artifacts.map((b) => decodeArtifact(b));
  const approverKeys = o.approvals?.approvers ?? [];
  const spkiOf = (kid: Uint8Array): Uint8Array => {
    const k = [...o.trust, ...approverKeys].find((x) => equalBytes(x.kid, kid));
    if (k) return k.spki;
    for (const a of decoded)
      for (const l of [...a.chain, a]) {
        const g = l.claims.delegate;
        if (g && equalBytes(keyIdOf(g.key), kid)) return g.key;
      }
    throw new Error('unknown kid');
  };
  const toBeSigned = (a: Artifact): Uint8Array[] => [
    ...[...a.chain, a].map((l) => sigStructure1(l.cose.protectedBytes, l.cose.payload)),
    ...a.approvals.map((ap) => countersignStructure(a.cose, ap.countersignature.protectedBytes)),
  ];
  const items: VerifyItem[] = decoded.flatMap((a) => {
    const messages = toBeSigned(a);
    const sigs = [
      ...[...a.chain, a].map((l) => ({ kid: l.kid, sig: l.cose.signature })),
      ...a.approvals.map((ap) => ({ kid: ap.kid, sig: ap.countersignature.signature })),
    ];
    return sigs.map((x, i) => ({
      alg: 'ed25519' as const,
      publicKey: spkiOf(x.kid),
      message: messages[i] as Uint8Array,
      signature: x.sig,
    }));
  });
  const nodeKeyObjects = items.map((it) => keys.key(it.publicKey));
  if (!verifySignatures(items).every((x) => x)) throw new Error('breakdown: a signature failed');
  const cases: Case[] = [
    {
      name: 'decodeArtifact (CBOR, claims, digests)',
      run: () => artifacts.map((b) => decodeArtifact(b)),
      reps: 1,
    },
    {
      name: 'Sig_structure + Countersign_structure encoding (5)',
      run: () => decoded.map(toBeSigned),
      reps: 1,
    },
    {
      name: 'verifySignatures, 5,000 Ed25519 items (wasm-core verifyBatch)',
      run: () => verifySignatures(items),
      reps: 1,
    },
    {
      name: 'crypto.verify × 5,000 (KeyObjects once)',
      run: () =>
        items.map((it, i) => nodeVerify(null, it.message, nodeKeyObjects[i] as KeyObject, it.signature)),
      reps: 1,
    },
  ];
  return cases;
}
