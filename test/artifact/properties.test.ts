// SPDX-License-Identifier: Apache-2.0
// Properties of artifact verification (issue 12, "Acceptance"), with fast-check seeded from
// $EXECGATE_TEST_SEED (test/helpers/seed-setup.ts prints the seed of a failing test):
// - no single-byte change and no truncation of a valid artifact verifies (every position of a root, every
//   third of the chain's from a seeded offset, random positions and masks; every bit of every byte in
//   test/slow/artifact.slow.ts);
// - a child wider than its parent's grant in any field, longer-lived, of another subject, state, boot or
//   lower epoch, or deeper than allowed, signed directly (test/helpers/artifact-forge.ts), is E_LINEAGE,
//   and delegateArtifact refuses to make it;
// - a revoked ancestor (its cti or its signer's kid) denies every descendant; RevocationState keeps the
//   newest list of each signer;
// - K−1 approvals, a duplicate approver, an approver outside the set, a countersignature that does not
//   verify: E_APPROVAL;
// - claims round-trip through encode/decode for arbitrary valid claims, and verifyArtifacts on a mixed
//   batch says what verifyArtifact says one by one.
// Keys and ECDSA/EdDSA signatures come from node:crypto (not seeded); a failing case is printed in full.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { artifactDigest, decodeArtifact, withUnprotected } from '../../agent/artifact/artifact.js';
import {
  type ArtifactClaims,
  type DelegateGrant,
  decodeClaims,
  encodeClaims,
  type Scope,
  type StateBinding,
} from '../../agent/artifact/claims.js';
import {
  countersignStructure,
  encodeCoseSign1,
  protectedForSigning,
  sigStructure1,
} from '../../agent/artifact/cose.js';
import { type ArtifactCode, ArtifactError } from '../../agent/artifact/errors.js';
import { approveArtifact, delegateArtifact, issueArtifact } from '../../agent/artifact/issue.js';
import {
  issueRevocationList,
  type RevocationList,
  RevocationState,
  verifyRevocationList,
} from '../../agent/artifact/revocation.js';
import {
  type ArtifactVerdict,
  type VerifyOptions,
  verifyArtifact,
  verifyArtifacts,
} from '../../agent/artifact/verify.js';
import type { SigningKey } from '../../agent/crypto/keys.js';
import { initVerification } from '../../agent/crypto/verify.js';
import { toHex } from '../../agent/encoding/bytes.js';
import { CborTag, type CborValue, decodeCbor, encodeCbor } from '../../agent/encoding/cbor.js';
import {
  countersignatureBy,
  forgeChild,
  forgeRoot,
  HOST,
  NOW,
  newKey,
  pub,
  withCountersignatures,
} from '../helpers/artifact-forge.js';
import { randomBytes, randomInt } from '../helpers/random.js';
import { thrown } from '../helpers/thrown.js';

beforeAll(() => initVerification());

const CODES: readonly ArtifactCode[] = [
  'E_FORMAT',
  'E_SIGNATURE',
  'E_UNTRUSTED_ISSUER',
  'E_LINEAGE',
  'E_APPROVAL',
  'E_EXPIRED',
  'E_NOT_YET_VALID',
  'E_REVOKED',
];

const issuer = newKey('ed25519');
const delegate1 = newKey('ed25519');
const delegate2 = newKey('p256');
const approvers = [newKey('ed25519'), newKey('p256'), newKey('p384')] as const;
const outsider = newKey('ed25519');
const [approver1, approver2, approver3] = approvers;
const trust = [pub(issuer)];

const SHA = new Uint8Array(32).fill(0x5a);
const PCRS: StateBinding = { bank: 'sha256', pcrs: [0, 7], digest: new Uint8Array(32).fill(7) };

/** The codes of a verdict, or 'ok'. */
const codeOf = (v: ArtifactVerdict): ArtifactCode | 'ok' => (v.ok ? 'ok' : v.code);

const cti = (): Uint8Array => randomBytes(16);

/** `o` without property `k` (an absent optional claim, as exactOptionalPropertyTypes wants it). */
function without<T extends object, K extends keyof T>(o: T, k: K): Omit<T, K> {
  const { [k]: _, ...rest } = o;
  return rest;
}

// ── The chain the properties start from ─────────────────────────────────────────────────────────────
//
// root (issuer) ── grants delegate1, depth 1, every scope field set ──▶ child (delegate1)
//   ── grants delegate2, depth 0, exactly its own scope ──▶ grandchild (delegate2) + 2 approvals

/** The grant of the root: every scope field set, so each can be widened. */
const ROOT_GRANT: DelegateGrant = {
  key: delegate1.spki,
  depth: 1,
  scope: {
    exe: '/opt/app/',
    sha256: SHA,
    argv: ['--run', 'nightly'],
    cwd: '/srv/app',
    uid: 1000,
    env: ['HOME', 'LANG', 'PATH'],
    uses: 3,
    caller: '/usr/sbin/cron',
  },
};

const CHILD_SCOPE: Scope = {
  exe: '/opt/app/run',
  sha256: SHA,
  argv: ['--run', 'nightly'],
  cwd: '/srv/app',
  uid: 1000,
  env: ['HOME', 'PATH'],
  uses: 2,
  caller: '/usr/sbin/cron',
};

const rootClaims: ArtifactClaims = {
  iss: 'ops',
  sub: HOST,
  iat: NOW - 200,
  nbf: NOW - 100,
  exp: NOW + 3600,
  cti: cti(),
  scope: { ...CHILD_SCOPE, exe: '/opt/app/setup', uses: 1 },
  state: PCRS,
  boot: 5,
  epoch: 10,
  gov: new Map([['ticket', 'CHG-42']]),
  delegate: ROOT_GRANT,
};

/** A valid child of the root: narrower in every field that can narrow. */
const childClaims: Omit<ArtifactClaims, 'parent'> = {
  iss: 'team',
  sub: HOST,
  iat: NOW - 50,
  nbf: NOW - 100,
  exp: NOW + 1800,
  cti: cti(),
  scope: CHILD_SCOPE,
  state: PCRS,
  boot: 5,
  epoch: 11,
  delegate: { key: delegate2.spki, depth: 0, scope: { ...CHILD_SCOPE, uses: 1 } },
};

const grandchildClaims: Omit<ArtifactClaims, 'parent'> = {
  ...without(childClaims, 'delegate'),
  iss: 'oncall',
  iat: NOW - 10,
  exp: NOW + 900,
  cti: cti(),
  scope: { ...CHILD_SCOPE, uses: 1 },
};

const root = issueArtifact(rootClaims, issuer);
const child = delegateArtifact(root, childClaims, delegate1);
const grandchild = delegateArtifact(child, grandchildClaims, delegate2);
const approved = approveArtifact(approveArtifact(grandchild, approver1), approver2);

/** The approved grandchild's options: the full approver set of the two that signed, K = 2. */
const chainOptions: VerifyOptions = {
  trust,
  approvals: { approvers: [pub(approver1), pub(approver2)], required: 2 },
  at: NOW,
};

/** A root artifact with every optional claim, verified without an approval policy. */
const plainRoot = issueArtifact(
  {
    ...rootClaims,
    cti: cti(),
    delegate: { ...ROOT_GRANT, scope: { exe: '/' } },
  },
  issuer,
);
const plainOptions: VerifyOptions = { trust, at: NOW };

describe('the starting point', () => {
  it('the chain and the plain root verify', () => {
    expect(verifyArtifact(approved, chainOptions)).toMatchObject({ ok: true, approvedBy: expect.any(Array) });
    expect(verifyArtifact(plainRoot, plainOptions)).toMatchObject({ ok: true });
    for (const a of [root, child, grandchild]) expect(codeOf(verifyArtifact(a, plainOptions))).toBe('ok');
    expect(decodeArtifact(approved).chain).toHaveLength(2);
  });
});

// ── 1. Byte flips and truncations ───────────────────────────────────────────────────────────────────

// `stride`: the sweep below flips every stride-th byte from a seeded offset (a mutant whose signature
// fails sends its whole Ed25519 batch item by item, so the chain's full sweep, every bit of every byte,
// runs in test/slow/artifact.slow.ts).
const TARGETS = [
  { name: '3-link chain with 2 approvals, K = 2', bytes: approved, options: chainOptions, stride: 3 },
  { name: 'plain root artifact', bytes: plainRoot, options: plainOptions, stride: 1 },
] as const;

/** `bytes` with `mask` xored into byte `at`. */
function flipped(bytes: Uint8Array, at: number, mask: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  out[at] = (out[at] ?? 0) ^ mask;
  return out;
}

describe('no changed byte and no truncation verifies', () => {
  for (const t of TARGETS) {
    it(`${t.name}: every ${t.stride === 1 ? '' : `${t.stride}rd `}byte position, a seeded random mask each`, () => {
      const positions: number[] = [];
      for (let i = randomInt(t.stride); i < t.bytes.length; i += t.stride) positions.push(i);
      const mutants = positions.map((i) => flipped(t.bytes, i, randomInt(1, 256)));
      const verdicts = verifyArtifacts(mutants, t.options);
      verdicts.forEach((v, j) => {
        expect(v.ok, `byte ${positions[j]}`).toBe(false);
        expect(CODES).toContain(codeOf(v));
      });
    });

    it(`${t.name}: any position, any mask (fast-check)`, () => {
      fc.assert(
        fc.property(
          fc.nat({ max: t.bytes.length - 1 }),
          fc.integer({ min: 1, max: 255 }),
          (at, mask) => !verifyArtifact(flipped(t.bytes, at, mask), t.options).ok,
        ),
        { numRuns: 200 },
      );
    });

    it(`${t.name}: every truncation`, () => {
      const prefixes = Array.from({ length: t.bytes.length }, (_, n) => t.bytes.subarray(0, n));
      const verdicts = verifyArtifacts(prefixes, t.options);
      verdicts.forEach((v, n) => {
        expect(codeOf(v), `first ${n} bytes`).toBe('E_FORMAT');
      });
    });
  }
});

// ── 2. Lineage: a child wider than granted ──────────────────────────────────────────────────────────

type ChildClaims = Omit<ArtifactClaims, 'parent'>;

interface Widening {
  readonly name: string;
  /** Whose child it is: the root's (grant = ROOT_GRANT) or the child's (grant = exactly CHILD_SCOPE, depth 0). */
  readonly under: 'root' | 'child';
  readonly make: fc.Arbitrary<ChildClaims>;
}

const text = fc
  .string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 12 })
  .filter((s) => !s.includes('\0'));
const segment = fc.stringMatching(/^[a-z0-9_-]{1,10}$/);
const path = fc.array(segment, { minLength: 1, maxLength: 4 }).map((s) => `/${s.join('/')}`);
const otherBytes = (avoid: Uint8Array) =>
  fc.uint8Array({ minLength: 32, maxLength: 32 }).filter((b) => toHex(b) !== toHex(avoid));

const base = (under: 'root' | 'child'): ChildClaims =>
  under === 'root' ? { ...childClaims, cti: cti() } : { ...grandchildClaims, cti: cti() };
const scoped = (under: 'root' | 'child', edit: (s: Scope) => Scope): ChildClaims => {
  const c = base(under);
  return { ...c, scope: edit(c.scope) };
};
const granted = (edit: (g: DelegateGrant) => DelegateGrant): ChildClaims => {
  const c = base('root');
  return { ...c, delegate: edit(c.delegate as DelegateGrant) };
};

const WIDENINGS: readonly Widening[] = [
  {
    name: 'exe outside the grant prefix',
    under: 'root',
    make: fc
      .oneof(fc.constantFrom('/opt/apprun', '/opt/ap/run', '/opt/App/run', '/usr/bin/run'), path)
      .filter((p) => !p.startsWith('/opt/app/'))
      .map((exe) => scoped('root', (s) => ({ ...s, exe }))),
  },
  {
    name: 'exe not the granted file',
    under: 'child',
    make: path.filter((p) => p !== CHILD_SCOPE.exe).map((exe) => scoped('child', (s) => ({ ...s, exe }))),
  },
  {
    name: 'sha256 differs',
    under: 'root',
    make: otherBytes(SHA).map((sha256) => scoped('root', (s) => ({ ...s, sha256 }))),
  },
  {
    name: 'argv differs, or absent (any arguments)',
    under: 'root',
    make: fc
      .option(fc.array(text, { maxLength: 3 }), { nil: undefined })
      .filter((a) => a === undefined || a.join('\0') !== ROOT_GRANT.scope.argv?.join('\0'))
      .map((argv) => scoped('root', (s) => (argv ? { ...s, argv } : without(s, 'argv')))),
  },
  {
    name: 'cwd differs, or absent',
    under: 'root',
    make: fc
      .option(
        path.filter((p) => p !== '/srv/app'),
        { nil: undefined },
      )
      .map((cwd) => scoped('root', (s) => (cwd ? { ...s, cwd } : without(s, 'cwd')))),
  },
  {
    name: 'uid differs, or absent',
    under: 'child',
    make: fc
      .option(
        fc.integer({ min: 0, max: 0xfffffffe }).filter((u) => u !== 1000),
        { nil: undefined },
      )
      .map((uid) => scoped('child', (s) => (uid === undefined ? without(s, 'uid') : { ...s, uid }))),
  },
  {
    name: 'caller differs, or absent',
    under: 'root',
    make: fc
      .option(
        path.filter((p) => p !== '/usr/sbin/cron'),
        { nil: undefined },
      )
      .map((caller) => scoped('root', (s) => (caller ? { ...s, caller } : without(s, 'caller')))),
  },
  {
    name: 'env beyond the grant, or unrestricted',
    under: 'root',
    make: fc
      .option(fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,8}$/), { nil: undefined })
      .filter((e) => e === undefined || !ROOT_GRANT.scope.env?.includes(e))
      .map((extra) =>
        scoped('root', (s) =>
          extra === undefined ? without(s, 'env') : { ...s, env: [...(s.env ?? []), extra].sort() },
        ),
      ),
  },
  {
    name: 'uses more than granted',
    under: 'root',
    make: fc.integer({ min: 4, max: 0xffffffff }).map((uses) => scoped('root', (s) => ({ ...s, uses }))),
  },
  {
    name: 'uses more than the default 1 of a grant without uses',
    under: 'child',
    make: fc.integer({ min: 2, max: 100 }).map((uses) => scoped('child', (s) => ({ ...s, uses }))),
  },
  {
    name: 'exp after the parent’s',
    under: 'root',
    make: fc.integer({ min: 1, max: 10 ** 9 }).map((d) => ({ ...base('root'), exp: rootClaims.exp + d })),
  },
  {
    name: 'nbf before the parent’s',
    under: 'root',
    make: fc
      .integer({ min: 1, max: 10 ** 6 })
      .map((d) => ({ ...base('root'), nbf: (rootClaims.nbf as number) - d })),
  },
  {
    name: 'no nbf, iat before the parent’s window',
    under: 'root',
    make: fc
      .integer({ min: 1, max: 10 ** 6 })
      .map((d) => ({ ...without(base('root'), 'nbf'), iat: (rootClaims.nbf as number) - d })),
  },
  {
    name: 'another subject',
    under: 'child',
    make: fc
      .oneof(
        fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => `000b${toHex(b)}`),
        fc.stringMatching(/^[a-z0-9]{1,12}$/).map((g) => `group:${g}`),
      )
      .filter((s) => s !== HOST)
      .map((sub) => ({ ...base('child'), sub })),
  },
  {
    name: 'state differs, or absent',
    under: 'root',
    make: fc
      .oneof(
        fc.constant(undefined),
        otherBytes(PCRS.digest as Uint8Array).map((digest) => ({ ...PCRS, digest })),
        fc.constant({ bank: 'sha256' as const, pcrs: [0, 7, 8], digest: PCRS.digest as Uint8Array }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }).map((ref) => ({ ref })),
      )
      .map((state) => (state ? { ...base('root'), state } : without(base('root'), 'state'))),
  },
  {
    name: 'boot differs, or absent',
    under: 'child',
    make: fc
      .option(
        fc.integer({ min: 0, max: 0xffffffff }).filter((b) => b !== 5),
        { nil: undefined },
      )
      .map((boot) => (boot === undefined ? without(base('child'), 'boot') : { ...base('child'), boot })),
  },
  {
    name: 'epoch lower, or absent',
    under: 'root',
    make: fc
      .option(fc.integer({ min: 0, max: 9 }), { nil: undefined })
      .map((epoch) => (epoch === undefined ? without(base('root'), 'epoch') : { ...base('root'), epoch })),
  },
  {
    name: 'deeper: a delegate depth not below the grant’s',
    under: 'root',
    make: fc.integer({ min: 1, max: 8 }).map((depth) => granted((g) => ({ ...g, depth }))),
  },
  {
    name: 'deeper: a delegate grant under a depth-0 grant',
    under: 'child',
    make: fc.integer({ min: 0, max: 8 }).map((depth) => ({
      ...base('child'),
      delegate: { key: outsider.spki, depth, scope: { ...CHILD_SCOPE, uses: 1 } },
    })),
  },
  {
    name: 'deeper: a child’s delegate scope wider than the grant (exe prefix, sha256, env, uses)',
    under: 'root',
    make: fc
      .constantFrom<(s: Scope) => Scope>(
        (s) => ({ ...s, exe: '/opt/' }),
        (s) => ({ ...s, exe: '/' }),
        (s) => without(s, 'sha256'),
        (s) => without(s, 'env'),
        (s) => without(s, 'argv'),
        (s) => ({ ...s, uses: 4 }),
        (s) => ({ ...s, caller: '/bin/sh' }),
      )
      .map((edit) => granted((g) => ({ ...g, scope: edit(g.scope) }))),
  },
];

const parentOf = (under: 'root' | 'child') => (under === 'root' ? root : child);
const signerOf = (under: 'root' | 'child') => (under === 'root' ? delegate1 : delegate2);

describe('lineage: a child wider than its parent’s grant is E_LINEAGE', () => {
  it('the unwidened children are accepted by both (the control)', () => {
    for (const under of ['root', 'child'] as const) {
      const c = base(under);
      expect(codeOf(verifyArtifact(forgeChild(parentOf(under), c, signerOf(under)), plainOptions))).toBe(
        'ok',
      );
      expect(
        codeOf(verifyArtifact(delegateArtifact(parentOf(under), c, signerOf(under)), plainOptions)),
      ).toBe('ok');
    }
  });

  it.each(WIDENINGS)('$name', (w) => {
    fc.assert(
      fc.property(w.make, (claims) => {
        const forged = forgeChild(parentOf(w.under), claims, signerOf(w.under));
        const v = verifyArtifact(forged, { trust, at: NOW });
        expect(v).toMatchObject({ ok: false, code: 'E_LINEAGE' });
        // The same grant seen from the grandchild's side: the wider link anywhere in the chain.
        const e = thrown(ArtifactError, () => delegateArtifact(parentOf(w.under), claims, signerOf(w.under)));
        expect(e.code).toBe('E_LINEAGE');
      }),
      { numRuns: 12 },
    );
  });

  it('a grandchild under a child without a delegate claim', () => {
    const noGrant = delegateArtifact(root, without(base('root'), 'delegate'), delegate1);
    const forged = forgeChild(noGrant, base('child'), delegate2);
    expect(codeOf(verifyArtifact(forged, plainOptions))).toBe('E_LINEAGE');
    expect(thrown(ArtifactError, () => delegateArtifact(noGrant, base('child'), delegate2)).code).toBe(
      'E_LINEAGE',
    );
  });

  it('a child signed by a key other than the delegate key, or naming another parent', () => {
    const c = base('root');
    expect(codeOf(verifyArtifact(forgeChild(root, c, outsider), plainOptions))).toBe('E_LINEAGE');
    expect(thrown(ArtifactError, () => delegateArtifact(root, c, outsider)).code).toBe('E_LINEAGE');
    // A well-formed child of another root, carried in this root's chain.
    const otherRoot = issueArtifact({ ...rootClaims, cti: cti() }, issuer);
    const theirs = decodeArtifact(delegateArtifact(otherRoot, c, delegate1));
    const swapped = forgeChild(root, c, delegate1);
    const mine = decodeArtifact(swapped);
    expect(toHex(theirs.claims.parent as Uint8Array)).not.toBe(toHex(mine.claims.parent as Uint8Array));
    const wrongParent = forgeRoot({ ...c, parent: theirs.claims.parent as Uint8Array }, delegate1);
    // Same signer and claims, parent digest of the other root, chain of this root.
    const relinked = withChain(wrongParent, swapped);
    expect(codeOf(verifyArtifact(relinked, plainOptions))).toBe('E_LINEAGE');
  });
});

/** `artifact` carrying the unprotected header (chain) of `donor`. */
const withChain = (artifact: Uint8Array, donor: Uint8Array): Uint8Array =>
  withUnprotected(decodeArtifact(artifact).cose, decodeArtifact(donor).cose.unprotected);

// ── 3. Revocation ───────────────────────────────────────────────────────────────────────────────────

const LINKS = [
  { name: 'root', bytes: root, claims: rootClaims, signer: issuer },
  { name: 'child', bytes: child, claims: childClaims, signer: delegate1 },
  { name: 'grandchild', bytes: approved, claims: grandchildClaims, signer: delegate2 },
] as const;

/** A signed list by the issuer, verified and accepted as the gate would. */
function revocationsOf(seq: number, ctis: readonly Uint8Array[], kids: readonly Uint8Array[]) {
  const list = verifyRevocationList(
    issueRevocationList({ iss: 'ops', seq, iat: NOW, ctis, kids }, issuer),
    trust,
  );
  const state = new RevocationState();
  state.accept(list);
  return state.revocations();
}

describe('revocation: a revoked ancestor denies every descendant', () => {
  it('by its cti or by its signer’s kid, among unrelated entries (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: LINKS.length - 1 }),
        fc.constantFrom('cti', 'kid'),
        fc.array(fc.uint8Array({ minLength: 16, maxLength: 64 }), { maxLength: 4 }),
        fc.array(fc.uint8Array({ minLength: 32, maxLength: 32 }), { maxLength: 4 }),
        (i, by, noiseCtis, noiseKids) => {
          const target = LINKS[i] as (typeof LINKS)[number];
          const revoked = revocationsOf(
            1,
            by === 'cti' ? [...noiseCtis, target.claims.cti] : noiseCtis,
            by === 'kid' ? [...noiseKids, target.signer.kid] : noiseKids,
          );
          LINKS.forEach((link, j) => {
            const v = verifyArtifact(link.bytes, { ...plainOptions, revoked });
            expect(codeOf(v), `${target.name} revoked by ${by}; ${link.name}`).toBe(
              j >= i ? 'E_REVOKED' : 'ok',
            );
          });
          // With the approval policy too: revocation comes before approvals.
          expect(codeOf(verifyArtifact(approved, { ...chainOptions, revoked }))).toBe('E_REVOKED');
        },
      ),
      { numRuns: 40 },
    );
  });

  it('nothing revoked, or only unrelated entries: all verify', () => {
    const revoked = revocationsOf(1, [randomBytes(16)], [outsider.kid]);
    for (const link of LINKS)
      expect(codeOf(verifyArtifact(link.bytes, { ...plainOptions, revoked }))).toBe('ok');
  });
});

describe('RevocationState keeps the newest list of each signer', () => {
  const other = newKey('ed25519');
  const listOf = (key: SigningKey, seq: number, ctis: readonly Uint8Array[]): RevocationList =>
    verifyRevocationList(issueRevocationList({ iss: 'ops', seq, iat: NOW + seq, ctis, kids: [] }, key), [
      pub(issuer),
      pub(other),
    ]);
  const ctiSets = fc.array(fc.uint8Array({ minLength: 16, maxLength: 16 }), { maxLength: 3 });
  const held = (s: RevocationState) => [...s.revocations().ctis].sort();

  it('an older list is refused and changes nothing; an equal one is a no-op', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 40 }),
        fc.integer({ min: 1, max: 2 ** 40 }),
        ctiSets,
        ctiSets,
        (a, b, ctisA, ctisB) => {
          fc.pre(a !== b);
          const [older, newer] =
            a < b
              ? [listOf(issuer, a, ctisA), listOf(issuer, b, ctisB)]
              : [listOf(issuer, b, ctisB), listOf(issuer, a, ctisA)];
          const state = new RevocationState();
          state.accept(newer);
          const before = held(state);
          expect(thrown(ArtifactError, () => state.accept(older)).code).toBe('E_REVOCATION_LIST');
          expect(held(state)).toEqual(before);
          expect(state.seqOf(toHex(issuer.kid))).toBe(newer.seq);
          // The same list again (and the same content signed again under its number): no-op.
          state.accept(newer);
          state.accept(listOf(issuer, newer.seq, newer.ctis));
          expect(held(state)).toEqual(before);
          // Another signer's numbering is its own.
          state.accept(listOf(other, 1, []));
          expect(state.seqOf(toHex(issuer.kid))).toBe(newer.seq);
        },
      ),
      { numRuns: 30 },
    );
  });

  it('a different list under the same number is refused', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 40 }), ctiSets, ctiSets, (seq, x, y) => {
        const first = listOf(issuer, seq, x);
        const second = listOf(issuer, seq, y);
        fc.pre(first.ctis.map(toHex).join() !== second.ctis.map(toHex).join());
        const state = new RevocationState();
        state.accept(first);
        expect(thrown(ArtifactError, () => state.accept(second)).code).toBe('E_REVOCATION_LIST');
        expect(held(state)).toEqual(first.ctis.map(toHex).sort());
      }),
      { numRuns: 30 },
    );
  });

  it('a refused older list does not un-revoke an artifact', () => {
    const state = new RevocationState();
    state.accept(listOf(issuer, 7, [grandchildClaims.cti]));
    expect(() => state.accept(listOf(issuer, 6, []))).toThrow(ArtifactError);
    expect(codeOf(verifyArtifact(approved, { ...chainOptions, revoked: state.revocations() }))).toBe(
      'E_REVOKED',
    );
  });
});

// ── 4. Approvals ────────────────────────────────────────────────────────────────────────────────────

const APPROVER_SET = approvers.map(pub);
/** Each approver's countersignature on the grandchild. */
const signatures = approvers.map((k) => countersignatureBy(grandchild, k));
/** A valid countersignature by approver 1 over a different artifact. */
const elsewhere = countersignatureBy(child, approver1);

/** The countersignature `c` with the last byte of its signature flipped. */
function broken(c: CborValue): CborValue {
  const [p, u, sig] = c as [Uint8Array, CborValue, Uint8Array];
  return [p, u, flipped(sig, sig.length - 1, 1)];
}

describe('approvals: K distinct valid approvers of the set', () => {
  const policy = (required: number): VerifyOptions => ({
    trust,
    approvals: { approvers: APPROVER_SET, required },
    at: NOW,
  });
  /** K of the approvers, in a drawn order. */
  const chosen = fc
    .integer({ min: 1, max: 3 })
    .chain((k) => fc.tuple(fc.constant(k), fc.shuffledSubarray([0, 1, 2], { minLength: k, maxLength: k })));
  const verdict = (list: readonly CborValue[], k: number) =>
    codeOf(verifyArtifact(withCountersignatures(grandchild, list), policy(k)));

  it('K valid approvals verify; K − 1 are E_APPROVAL', () => {
    fc.assert(
      fc.property(chosen, ([k, who]) => {
        const list = who.map((i) => signatures[i] as CborValue);
        expect(verdict(list, k)).toBe('ok');
        expect(verdict(list.slice(1), k)).toBe('E_APPROVAL');
      }),
      { numRuns: 30 },
    );
  });

  it('a duplicate approver (the same countersignature again, or a second one by the same key)', () => {
    fc.assert(
      fc.property(chosen, fc.nat(), fc.boolean(), ([k, who], at, fresh) => {
        const list = who.map((i) => signatures[i] as CborValue);
        const again = who[at % who.length] as number;
        const dup = fresh
          ? countersignatureBy(grandchild, approvers[again] as SigningKey)
          : signatures[again];
        const withDup = [...list];
        withDup.splice(at % (list.length + 1), 0, dup as CborValue);
        expect(verdict(withDup, k)).toBe('E_APPROVAL');
      }),
      { numRuns: 20 },
    );
  });

  it('an approver not in the set, beside K valid ones', () => {
    fc.assert(
      fc.property(chosen, fc.nat(), ([k, who], at) => {
        const list = who.map((i) => signatures[i] as CborValue);
        list.splice(at % (list.length + 1), 0, countersignatureBy(grandchild, outsider));
        expect(verdict(list, k)).toBe('E_APPROVAL');
      }),
      { numRuns: 20 },
    );
    // A set that lacks the signer, even with K = 1 met by another.
    const onlyTwo: VerifyOptions = {
      trust,
      approvals: { approvers: [pub(approver1), pub(approver2)], required: 1 },
      at: NOW,
    };
    expect(codeOf(verifyArtifact(withCountersignatures(grandchild, signatures), onlyTwo))).toBe('E_APPROVAL');
  });

  it('a countersignature that does not verify (a flipped bit, or signed over another artifact)', () => {
    fc.assert(
      fc.property(chosen, fc.nat(), fc.boolean(), ([k, who], at, flip) => {
        const list = who.map((i) => signatures[i] as CborValue);
        const j = at % list.length;
        list[j] = flip ? broken(list[j] as CborValue) : elsewhere;
        if (!flip) fc.pre(who[j] === 0); // `elsewhere` is approver 1's
        expect(verdict(list, k)).toBe('E_APPROVAL');
      }),
      { numRuns: 20 },
    );
  });

  it('approveArtifact makes what counts, and refuses a second countersignature by one approver', () => {
    const a = approveArtifact(approveArtifact(approveArtifact(grandchild, approver3), approver1), approver2);
    const v = verifyArtifact(a, policy(3));
    expect(v).toMatchObject({ ok: true });
    expect(v.ok && [...(v.approvedBy ?? [])].sort()).toEqual(approvers.map((x) => toHex(x.kid)).sort());
    expect(thrown(ArtifactError, () => approveArtifact(a, approver2)).code).toBe('E_APPROVAL');
  });
});

// ── 5. Claims round trip ────────────────────────────────────────────────────────────────────────────

const MAX_TIME = Number.MAX_SAFE_INTEGER;
const noNul = (s: string) => !s.includes('\0');
const anyText = (max: number) =>
  fc
    .string({ unit: 'binary', minLength: 1, maxLength: Math.min(max, 16) })
    .filter((s) => noNul(s) && s.length <= max);
const anySegment = fc
  .string({ unit: 'binary', minLength: 1, maxLength: 8 })
  .filter((s) => !/[/\0]/.test(s) && s !== '.' && s !== '..');
const anyFile = fc.array(anySegment, { minLength: 1, maxLength: 4 }).map((s) => `/${s.join('/')}`);
const anyDir = fc.oneof(fc.constant('/'), anyFile);
const anyPrefix = fc.oneof(
  anyFile,
  anyFile.map((p) => `${p}/`),
  fc.constant('/'),
);
const digest = fc.uint8Array({ minLength: 32, maxLength: 32 });
const delegateKeys = [delegate1, delegate2, approver3].map((k) => k.spki);

function anyScope(grant: boolean): fc.Arbitrary<Scope> {
  return fc.record(
    {
      exe: grant ? anyPrefix : anyFile,
      sha256: digest,
      argv: fc.array(fc.string({ unit: 'binary', maxLength: 12 }).filter(noNul), { maxLength: 4 }),
      cwd: anyDir,
      uid: fc.integer({ min: 0, max: 0xfffffffe }),
      env: fc
        .uniqueArray(fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,10}$/), { maxLength: 5 })
        .map((e) => [...e].sort()),
      uses: fc.integer({ min: 1, max: 0xffffffff }),
      caller: anyFile,
    },
    { requiredKeys: grant ? ['exe'] : ['exe', 'sha256'] },
  );
}

const anyState: fc.Arbitrary<StateBinding> = fc.oneof(
  fc.record({
    bank: fc.constant('sha256' as const),
    pcrs: fc
      .uniqueArray(fc.integer({ min: 0, max: 23 }), { minLength: 1, maxLength: 24 })
      .map((p) => [...p].sort((x, y) => x - y)),
    digest,
  }),
  fc.record({ ref: digest }),
);

const anySub = fc.oneof(
  ...[32, 48, 64].map((n) =>
    fc
      .uint8Array({ minLength: n, maxLength: n })
      .map((b) => `${{ 32: '000b', 48: '000c', 64: '000d' }[n]}${toHex(b)}`),
  ),
  fc.stringMatching(/^[A-Za-z0-9._-]{1,64}$/).map((g) => `group:${g}`),
);

/** Arbitrary valid claims: every optional claim may be absent, times keep exp after nbf (or iat). */
const anyClaims: fc.Arbitrary<ArtifactClaims> = fc
  .tuple(
    fc.record(
      {
        iss: anyText(256),
        sub: anySub,
        cti: fc.uint8Array({ minLength: 16, maxLength: 64 }),
        scope: anyScope(false),
        state: anyState,
        boot: fc.integer({ min: 0, max: 0xffffffff }),
        epoch: fc.integer({ min: 0, max: MAX_TIME }),
        gov: fc
          .uniqueArray(fc.tuple(anyText(1024), anyText(1024)), { selector: ([k]) => k, maxLength: 4 })
          .map((e) => new Map(e)),
        parent: digest,
        delegate: fc.record({
          key: fc.constantFrom(...delegateKeys),
          depth: fc.integer({ min: 0, max: 8 }),
          scope: anyScope(true),
        }),
      },
      { requiredKeys: ['iss', 'sub', 'cti', 'scope'] },
    ),
    fc.integer({ min: 0, max: MAX_TIME - 1 }),
    fc.option(fc.integer({ min: 0, max: MAX_TIME - 1 }), { nil: undefined }),
    fc.double({ min: 0, max: 1, noNaN: true }),
  )
  .map(([c, iat, nbf, f]) => {
    const start = nbf ?? iat;
    const exp = start + 1 + Math.floor(f * (MAX_TIME - start - 1));
    return nbf === undefined ? { ...c, iat, exp } : { ...c, iat, nbf, exp };
  });

describe('claims round trip', () => {
  it('decode(encode(claims)) is claims, and re-encodes to the same bytes', () => {
    fc.assert(
      fc.property(anyClaims, (claims) => {
        const bytes = encodeCbor(encodeClaims(claims));
        const back = decodeClaims(decodeCbor(bytes, { tags: [] }));
        expect(back).toEqual(claims);
        expect(toHex(encodeCbor(encodeClaims(back)))).toBe(toHex(bytes));
      }),
      { numRuns: 300 },
    );
  });

  it('through a signed artifact: decodeArtifact reads the claims issueArtifact wrote', () => {
    fc.assert(
      fc.property(anyClaims, (claims) => {
        const { parent: _, ...rootOnly } = claims;
        const a = decodeArtifact(issueArtifact(rootOnly, issuer));
        expect(a.claims).toEqual(rootOnly);
      }),
      { numRuns: 60 },
    );
  });
});

// ── 6. The to-be-signed structures, written directly, are the encoder's bytes ──────────────────────

describe('Sig_structure, Countersign_structure and the signed form: the generic encoder’s bytes', () => {
  // Lengths on both sides of each head-size boundary (RFC 8949 §4.2.1), and small random ones.
  const length = fc.oneof(
    fc.constantFrom(0, 1, 23, 24, 255, 256, 65_535, 65_536, 70_000),
    fc.nat({ max: 300 }),
  );
  const bytesOf = length.chain((n) => fc.uint8Array({ minLength: n, maxLength: n }));

  it('for any byte strings (fast-check)', () => {
    fc.assert(
      fc.property(bytesOf, bytesOf, bytesOf, bytesOf, bytesOf, (p, payload, aad, sig, signProtected) => {
        const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
        // The structures carry an empty protected map as zero bytes (protectedForSigning, RFC 9052 §3).
        const signedP = protectedForSigning(p);
        const signedSp = protectedForSigning(signProtected);
        expect(hex(sigStructure1(p, payload, aad))).toBe(
          hex(encodeCbor(['Signature1', signedP, aad, payload])),
        );
        expect(hex(sigStructure1(p, payload))).toBe(
          hex(encodeCbor(['Signature1', signedP, new Uint8Array(0), payload])),
        );
        const target = { protectedBytes: p, payload, signature: sig };
        expect(hex(countersignStructure(target, signProtected, aad))).toBe(
          hex(encodeCbor(['CounterSignatureV2', signedP, signedSp, aad, payload, [sig]])),
        );
        // An empty protected map, whichever way it is written, and a non-empty one starting like it.
        for (const q of [Uint8Array.of(0xa0), Uint8Array.of(0xb8, 0), Uint8Array.of(0xa1, 1, 0x27)])
          expect(hex(sigStructure1(q, payload))).toBe(
            hex(encodeCbor(['Signature1', protectedForSigning(q), new Uint8Array(0), payload])),
          );
        const cose = {
          protectedBytes: p,
          protectedHeader: new Map(),
          unprotected: new Map(),
          payload,
          signature: sig,
        };
        expect(hex(encodeCoseSign1(cose))).toBe(
          hex(encodeCbor(new CborTag(18, [p, new Map(), payload, sig]))),
        );
      }),
      { numRuns: 60 },
    );
  });

  it('a chain entry’s digest is the artifact digest of its link', () => {
    for (const link of decodeArtifact(approved).chain)
      expect(toHex(link.digest)).toBe(toHex(artifactDigest(link.cose)));
  });
});

// ── 7. verifyArtifacts agrees with verifyArtifact ──────────────────────────────────────────────────

describe('verifyArtifacts on a mixed batch gives verifyArtifact’s verdicts', () => {
  const p256Issuer = newKey('p256');
  const p384Issuer = newKey('p384');
  const mixedTrust = [pub(issuer), pub(p256Issuer), pub(p384Issuer)];
  const simple = (key: SigningKey, over: Partial<ArtifactClaims> = {}) =>
    issueArtifact({ ...without(rootClaims, 'delegate'), cti: cti(), ...over }, key);
  const POOL: readonly Uint8Array[] = [
    approved,
    grandchild,
    child,
    root,
    plainRoot,
    approveArtifact(child, approver3),
    simple(p256Issuer),
    simple(p256Issuer),
    simple(p384Issuer),
    simple(outsider),
    simple(issuer, { exp: NOW - 1, iat: NOW - 100, nbf: NOW - 100 }),
    simple(issuer, { nbf: NOW + 100, iat: NOW, exp: NOW + 200 }),
    forgeChild(root, { ...base('root'), exp: rootClaims.exp + 1 }, delegate1),
    flipped(approved, approved.length - 1, 1),
    flipped(child, 40, 0x80),
    approved.subarray(0, 100),
    new Uint8Array([0xd2, 0x84]),
    new Uint8Array(0),
  ];
  const revoked = { ctis: new Set([toHex(childClaims.cti)]), kids: new Set<string>() };

  it('the same verdict, code and detail for each, in any order and mix (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat({ max: POOL.length - 1 }), { maxLength: 12 }),
        fc.constantFrom(NOW, NOW - 150, NOW + 2000, NOW + 5000),
        fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
        fc.boolean(),
        fc.nat({ max: 120 }),
        (picks, at, required, withRevoked, skew) => {
          const options: VerifyOptions = {
            trust: mixedTrust,
            at,
            skew,
            ...(required === undefined ? {} : { approvals: { approvers: APPROVER_SET, required } }),
            ...(withRevoked ? { revoked } : {}),
          };
          const list = picks.map((i) => POOL[i] as Uint8Array);
          const batch = verifyArtifacts(list, options);
          const single = list.map((b) => verifyArtifact(b, options));
          const summary = (v: ArtifactVerdict) =>
            v.ok ? { ok: true, approvedBy: v.approvedBy } : { ok: false, code: v.code, detail: v.detail };
          expect(batch.map(summary)).toEqual(single.map(summary));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('the pool covers every verdict code but the revocation-list one', () => {
    const seen = new Set<string>();
    for (const at of [NOW, NOW + 2000, NOW - 150])
      for (const options of [
        { trust: mixedTrust, at },
        { trust: mixedTrust, at, approvals: { approvers: APPROVER_SET, required: 2 }, revoked },
      ])
        for (const v of verifyArtifacts(POOL, options)) seen.add(codeOf(v));
    expect([...seen].sort()).toEqual(['ok', ...CODES].sort());
  });
});
