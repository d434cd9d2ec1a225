// SPDX-License-Identifier: Apache-2.0
// Adversarial review of the artifact verifier (issue 12): one `it` per attack, named after it. The
// attacker holds some of: a delegate key with a narrow grant, an old or revoked artifact, an approver key
// of another policy, a revocation-list signing key, and write access to everything unsigned (the
// unprotected header: chain and countersignatures). Every test asserts the verifier's refusal (or, for an
// edge that must stay valid, its acceptance); the attacks that once worked say so above their `it`.
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { chainEntry, MAX_ARTIFACT_BYTES, withUnprotected } from '../../agent/artifact/artifact.js';
import { encodeClaims } from '../../agent/artifact/claims.js';
import { COSE_ALG, countersignStructure, encodeCoseSign1, sigStructure1 } from '../../agent/artifact/cose.js';
import {
  type ArtifactClaims,
  type ArtifactVerdict,
  approveArtifact,
  decodeArtifact,
  delegateArtifact,
  issueArtifact,
  issueRevocationList,
  RevocationState,
  type Revocations,
  type Scope,
  verifyArtifact,
  verifyArtifacts,
  verifyRevocationList,
} from '../../agent/artifact/index.js';
import { MAX_BATCH_BYTES } from '../../agent/artifact/verify.js';
import {
  generateSigningKey,
  KeyError,
  keyId,
  type PublicKey,
  parsePublicKey,
  parseSigningKey,
  publicKeyOf,
  type SigningAlg,
  type SigningKey,
  signWith,
} from '../../agent/crypto/keys.js';
import { initVerification } from '../../agent/crypto/verify.js';
import { toHex } from '../../agent/encoding/bytes.js';
import { type CborKey, CborTag, type CborValue, encodeCbor } from '../../agent/encoding/cbor.js';

// What the verifier hands to the batched signature check: counted to bound its work on hostile input.
const batches = vi.hoisted(() => ({ calls: 0, items: 0, messageBytes: 0, maxCallBytes: 0 }));
vi.mock('../../agent/crypto/verify.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../agent/crypto/verify.js')>();
  return {
    ...real,
    verifySignatures: (items: Parameters<typeof real.verifySignatures>[0]) => {
      const bytes = items.reduce((n, i) => n + i.message.length, 0);
      batches.calls++;
      batches.items += items.length;
      batches.messageBytes += bytes;
      batches.maxCallBytes = Math.max(batches.maxCallBytes, bytes);
      return real.verifySignatures(items);
    },
  };
});
const resetBatches = () => Object.assign(batches, { calls: 0, items: 0, messageBytes: 0, maxCallBytes: 0 });

const keys = new Map<string, SigningKey>();
/** A signing key, made once per name. */
function key(name: string, alg: SigningAlg = 'ed25519'): SigningKey {
  let k = keys.get(name);
  if (!k) {
    k = parseSigningKey(Buffer.from(generateSigningKey(alg).privatePem));
    keys.set(name, k);
  }
  return k;
}
const pub = (k: SigningKey): PublicKey => publicKeyOf(k.spki);

const NOW = 1_800_000_000;
const HOST = `000b${'ab'.repeat(32)}`;
const DIGEST = new Uint8Array(32).fill(7);
let serial = 0;
/** A fresh cti. */
function cti(): Uint8Array {
  const b = new Uint8Array(16);
  new DataView(b.buffer).setUint32(12, ++serial);
  return b;
}

function claims(over: Partial<ArtifactClaims> = {}): ArtifactClaims {
  return {
    iss: 'ops',
    sub: HOST,
    iat: NOW,
    exp: NOW + 600,
    cti: cti(),
    scope: { exe: '/usr/bin/true', sha256: DIGEST },
    ...over,
  };
}

/** A root granting `to` the `grant` scope (depth levels below the child). */
function rootWith(grant: Scope, to: SigningKey, depth = 0, over: Partial<ArtifactClaims> = {}): Uint8Array {
  return issueArtifact(claims({ delegate: { key: to.spki, depth, scope: grant }, ...over }), key('root'));
}

// ── The attacker's tools: signing anything with a key held, editing what is unsigned ──────────────────

/** A COSE_Sign1 over `payload` signed by `k`, with any header values (nothing checked: an attacker's signer). */
function signRaw(
  payload: CborValue | Uint8Array,
  k: SigningKey,
  opts: {
    alg?: number;
    kid?: Uint8Array;
    unprotected?: Map<CborKey, CborValue>;
    extra?: [number, CborValue][];
  } = {},
): Uint8Array {
  const payloadBytes = payload instanceof Uint8Array ? payload : encodeCbor(payload);
  const protectedBytes = encodeCbor(
    new Map<CborKey, CborValue>([
      [1, opts.alg ?? COSE_ALG[k.alg]],
      [4, opts.kid ?? k.kid],
      ...(opts.extra ?? []),
    ]),
  );
  const signature = signWith(k, sigStructure1(protectedBytes, payloadBytes));
  return encodeCoseSign1({
    protectedBytes,
    protectedHeader: new Map(),
    unprotected: opts.unprotected ?? new Map(),
    payload: payloadBytes,
    signature,
  });
}

/** A child of `parent` signed by `k` with no lineage check (what a delegate key holder can make). */
function childRaw(
  parent: Uint8Array,
  c: Omit<ArtifactClaims, 'parent'>,
  k: SigningKey,
  opts: { kid?: Uint8Array; patch?: (m: Map<CborKey, CborValue>) => void } = {},
): Uint8Array {
  const p = decodeArtifact(parent);
  const chain = [...p.chain.map(chainEntry), chainEntry(p)];
  const m = new Map(encodeClaims({ ...c, parent: p.digest }));
  opts.patch?.(m);
  return signRaw(m, k, {
    ...(opts.kid ? { kid: opts.kid } : {}),
    unprotected: new Map<CborKey, CborValue>([['chain', chain]]),
  });
}

/** `m.get(outer)` (a map) with `inner` set to `value`, for claims an honest encoder would refuse. */
function setIn(m: Map<CborKey, CborValue>, path: CborKey[], value: CborValue): void {
  let at = m;
  for (const k of path.slice(0, -1)) {
    const next = new Map(at.get(k) as Map<CborKey, CborValue>);
    at.set(k, next);
    at = next;
  }
  at.set(path[path.length - 1] as CborKey, value);
}

/** `bytes` with its unprotected header edited. */
function editUnprotected(bytes: Uint8Array, edit: (u: Map<CborKey, CborValue>) => void): Uint8Array {
  const a = decodeArtifact(bytes);
  const u = new Map(a.cose.unprotected);
  edit(u);
  return withUnprotected(a.cose, u);
}

/** One countersignature on `target` by `k`, naming `kid` (default k's). */
function countersig(target: Uint8Array, k: SigningKey, kid = k.kid): CborValue {
  const a = decodeArtifact(target);
  const p = encodeCbor(
    new Map<CborKey, CborValue>([
      [1, COSE_ALG[k.alg]],
      [4, kid],
    ]),
  );
  return [p, new Map(), signWith(k, countersignStructure(a.cose, p))];
}

const withApprovals = (bytes: Uint8Array, list: CborValue[]) =>
  editUnprotected(bytes, (u) => {
    u.set(11, list.length === 1 ? (list[0] as CborValue) : list);
  });

/** The compressed-point SPKI of a P-256 key (SEC 1 §2.3.3: 02/03 ‖ x), same key as `spki`. */
function compressedSpki(spki: Uint8Array): Uint8Array {
  expect(spki.length).toBe(91);
  const algId = spki.subarray(2, 23); // 30 13 06 07 <ecPublicKey> 06 08 <P-256>
  const x = spki.subarray(27, 59);
  const odd = ((spki[90] as number) & 1) === 1;
  const bits = new Uint8Array([0x03, 0x22, 0x00, odd ? 0x03 : 0x02, ...x]);
  return new Uint8Array([0x30, algId.length + bits.length, ...algId, ...bits]);
}

const ctis = (...list: Uint8Array[]): Revocations => ({ ctis: new Set(list.map(toHex)), kids: new Set() });
const kids = (...list: Uint8Array[]): Revocations => ({ ctis: new Set(), kids: new Set(list.map(toHex)) });

function code(v: ArtifactVerdict): string {
  return v.ok ? 'ok' : v.code;
}

const trust = () => [pub(key('root'))];
const at = NOW + 1;

beforeAll(() => initVerification());

describe('adversary 12: chain splicing', () => {
  it('a sibling chain spliced into a child (same root, other intermediate): E_LINEAGE', () => {
    const d = key('d1');
    const e = key('e1');
    const root = rootWith({ exe: '/usr/bin/' }, d, 1);
    const midA = delegateArtifact(
      root,
      { ...claims(), delegate: { key: e.spki, depth: 0, scope: { exe: '/usr/bin/true' } } },
      d,
    );
    const midB = delegateArtifact(
      root,
      { ...claims(), delegate: { key: e.spki, depth: 0, scope: { exe: '/usr/bin/true' } } },
      d,
    );
    const leafA = delegateArtifact(midA, claims(), e);
    expect(code(verifyArtifact(leafA, { trust: trust(), at }))).toBe('ok');
    const spliced = editUnprotected(leafA, (u) => {
      u.set('chain', [...decodeArtifact(midB).chain.map(chainEntry), chainEntry(decodeArtifact(midB))]);
    });
    expect(code(verifyArtifact(spliced, { trust: trust(), at }))).toBe('E_LINEAGE');
  });

  it('the chain dropped, reordered, duplicated or cut to the parent: never valid', () => {
    const d = key('d1');
    const e = key('e1');
    const root = rootWith({ exe: '/usr/bin/' }, d, 1);
    const mid = delegateArtifact(
      root,
      { ...claims(), delegate: { key: e.spki, depth: 0, scope: { exe: '/usr/bin/true' } } },
      d,
    );
    const leaf = delegateArtifact(mid, claims(), e);
    const [r, m] = decodeArtifact(leaf).cose.unprotected.get('chain') as Uint8Array[];
    const o = { trust: [...trust(), pub(d), pub(e)], at };
    for (const chain of [undefined, [m], [m, r], [r, r, m], [r, m, m]]) {
      const bytes = editUnprotected(leaf, (u) => {
        if (chain) u.set('chain', chain as CborValue);
        else u.delete('chain');
      });
      expect(code(verifyArtifact(bytes, o)), String(chain?.length)).not.toBe('ok');
    }
  });

  it('a root carried as the chain of an unrelated artifact signed by its delegate: E_LINEAGE', () => {
    const d = key('d1');
    const root = rootWith({ exe: '/usr/bin/' }, d);
    // d signs a child of nothing (no parent claim) and glues the root's bytes on as a chain.
    const orphan = signRaw(encodeCbor(encodeClaims(claims())), d, {
      unprotected: new Map<CborKey, CborValue>([['chain', [chainEntry(decodeArtifact(root))]]]),
    });
    expect(code(verifyArtifact(orphan, { trust: trust(), at }))).toBe('E_LINEAGE');
  });

  it('an ancestor in a chain with a non-empty unprotected header (approvals smuggled in): E_FORMAT', () => {
    const d = key('d1');
    const root = approveArtifact(rootWith({ exe: '/usr/bin/' }, d), key('appr1'));
    const leaf = delegateArtifact(root, claims(), d);
    const smuggled = editUnprotected(leaf, (u) => {
      u.set('chain', [root]);
    });
    expect(code(verifyArtifact(smuggled, { trust: trust(), at }))).toBe('E_FORMAT');
  });
});

describe('adversary 12: revoked ancestors and keys', () => {
  it('a grant reused after its parent is revoked (cti), and after the delegate key is revoked (kid)', () => {
    const d = key('d1');
    const root = rootWith({ exe: '/usr/bin/' }, d);
    const leaf = delegateArtifact(root, claims(), d);
    const rootCti = decodeArtifact(root).claims.cti;
    expect(code(verifyArtifact(leaf, { trust: trust(), at, revoked: ctis(rootCti) }))).toBe('E_REVOKED');
    expect(code(verifyArtifact(leaf, { trust: trust(), at, revoked: kids(d.kid) }))).toBe('E_REVOKED');
    expect(code(verifyArtifact(leaf, { trust: trust(), at, revoked: kids(key('root').kid) }))).toBe(
      'E_REVOKED',
    );
    // Re-issued root with the same grant: the old child names the old parent's digest.
    const again = rootWith({ exe: '/usr/bin/' }, d);
    const rechained = editUnprotected(leaf, (u) => {
      u.set('chain', [chainEntry(decodeArtifact(again))]);
    });
    expect(code(verifyArtifact(rechained, { trust: trust(), at, revoked: ctis(rootCti) }))).toBe('E_LINEAGE');
  });

  it('an older revocation list replayed after a newer one: refused; a list never reads as an artifact', () => {
    const r = key('root');
    const l1 = issueRevocationList({ iss: 'ops', seq: 1, iat: NOW, ctis: [], kids: [key('d1').kid] }, r);
    const l2 = issueRevocationList({ iss: 'ops', seq: 2, iat: NOW, ctis: [], kids: [key('d1').kid] }, r);
    const state = new RevocationState();
    state.accept(verifyRevocationList(l2, trust()));
    expect(() => state.accept(verifyRevocationList(l1, trust()))).toThrow(/older/);
    expect(code(verifyArtifact(l2, { trust: trust(), at }))).toBe('E_FORMAT');
    expect(() => verifyRevocationList(rootWith({ exe: '/usr/bin/' }, key('d1')), trust())).toThrow(
      /revocation list|not allowed|must be/,
    );
    // The list signer's key is not an artifact issuer just by signing lists.
    const lister = key('lister');
    const byLister = issueArtifact(claims(), lister);
    expect(code(verifyArtifact(byLister, { trust: trust(), at }))).toBe('E_UNTRUSTED_ISSUER');
  });

  it("a revocation-list key holder cannot un-revoke another signer's entries with a newer, empty list", () => {
    const lister = key('lister');
    const listTrust = [...trust(), pub(lister)];
    const d = key('d1');
    const leaf = delegateArtifact(rootWith({ exe: '/usr/bin/' }, d), claims(), d);
    const state = new RevocationState();
    state.accept(
      verifyRevocationList(
        issueRevocationList({ iss: 'ops', seq: 1, iat: NOW, ctis: [], kids: [d.kid] }, key('root')),
        listTrust,
      ),
    );
    state.accept(
      verifyRevocationList(
        issueRevocationList({ iss: 'x', seq: 2 ** 40, iat: NOW, ctis: [], kids: [] }, lister),
        listTrust,
      ),
    );
    expect(code(verifyArtifact(leaf, { trust: trust(), at, revoked: state.revocations() }))).toBe(
      'E_REVOKED',
    );
    // A list signed by a key outside the list trust is refused outright.
    const stranger = issueRevocationList({ iss: 'x', seq: 3, iat: NOW, ctis: [], kids: [] }, key('mallory'));
    expect(() => verifyRevocationList(stranger, listTrust)).toThrow(/not a trusted/);
  });

  it('an artifact payload signed under a revocation-list protected header (label 3): E_FORMAT', () => {
    const bytes = signRaw(encodeCbor(encodeClaims(claims())), key('root'), {
      extra: [[3, 'application/execgate-revocation+cbor']],
    });
    expect(code(verifyArtifact(bytes, { trust: trust(), at }))).toBe('E_FORMAT');
  });
});

describe('adversary 12: a child wider than its grant', () => {
  /** The verdict on a leaf with `scope` (and `delegate`) signed by d under a root granting `grant`. */
  function leafUnder(
    grant: Scope,
    own: Partial<ArtifactClaims>,
    depth = 1,
    patch?: (m: Map<CborKey, CborValue>) => void,
  ): string {
    const d = key('d1');
    const root = rootWith(grant, d, depth);
    return code(
      verifyArtifact(childRaw(root, claims(own), d, patch ? { patch } : {}), { trust: trust(), at }),
    );
  }
  const exe = (e: string): Partial<ArtifactClaims> => ({ scope: { exe: e, sha256: DIGEST } });
  const grantOf = (s: Scope): Partial<ArtifactClaims> => ({
    delegate: { key: key('e1').spki, depth: 0, scope: s },
  });

  it('exe prefix tricks: "/usr/bin" vs "/usr/bin/" vs "/usr/binx/", case, NFD, "/" itself', () => {
    expect(leafUnder({ exe: '/usr/bin/' }, exe('/usr/bin/true'))).toBe('ok');
    expect(leafUnder({ exe: '/usr/bin' }, exe('/usr/bin/true'))).toBe('E_LINEAGE');
    expect(leafUnder({ exe: '/usr/bin/' }, exe('/usr/binx/true'))).toBe('E_LINEAGE');
    expect(leafUnder({ exe: '/usr/bin/' }, exe('/usr/binx'))).toBe('E_LINEAGE');
    expect(leafUnder({ exe: '/usr/bin/' }, exe('/usr/bin'))).toBe('E_LINEAGE');
    expect(leafUnder({ exe: '/' }, exe('/sbin/reboot'))).toBe('ok');
    expect(leafUnder({ exe: '/' }, grantOf({ exe: '/' }))).toBe('ok');
    expect(leafUnder({ exe: '/usr/bin/' }, exe('/USR/BIN/true'))).toBe('E_LINEAGE');
    expect(leafUnder({ exe: '/opt/caf\u00e9/' }, exe('/opt/cafe\u0301/x'))).toBe('E_LINEAGE');
    expect(leafUnder({ exe: '/usr/bin/true' }, exe('/usr/bin/true2'))).toBe('E_LINEAGE');
    // A child grant wider than or beside the parent's prefix.
    expect(leafUnder({ exe: '/usr/bin/' }, grantOf({ exe: '/usr/' }))).toBe('E_LINEAGE');
    expect(leafUnder({ exe: '/usr/bin/' }, grantOf({ exe: '/usr/bin' }))).toBe('E_LINEAGE');
    expect(leafUnder({ exe: '/usr/bin/' }, grantOf({ exe: '/usr/binx/' }))).toBe('E_LINEAGE');
    expect(leafUnder({ exe: '/usr/bin/true' }, grantOf({ exe: '/usr/bin/' }))).toBe('E_LINEAGE');
    expect(leafUnder({ exe: '/usr/bin/' }, grantOf({ exe: '/usr/bin/sub/' }))).toBe('ok');
  });

  it('path normalisation gaps (NUL, trailing "/", "//", ".", "..", relative): E_FORMAT before any prefix test', () => {
    for (const p of [
      '/usr/bin/../sbin/reboot',
      '/usr/bin/./true',
      '/usr/bin//true',
      '/usr/bin/true/',
      '/usr/bin/tr\0ue',
      'usr/bin/true',
      '/usr/bin/..',
    ])
      expect(
        leafUnder({ exe: '/usr/bin/' }, {}, 1, (m) => setIn(m, ['scope', 'exe'], p)),
        JSON.stringify(p),
      ).toBe('E_FORMAT');
    for (const g of ['/usr/bin/../', '/usr/bin//', '/usr/./bin/', '//', '/usr/bin/x\0/'])
      expect(
        leafUnder({ exe: '/usr/bin/' }, grantOf({ exe: '/usr/bin/' }), 1, (m) =>
          setIn(m, ['delegate', 'scope', 'exe'], g),
        ),
        g,
      ).toBe('E_FORMAT');
    // Percent-encoding means nothing to the kernel: "%2e%2e" is a file name under the prefix, not "..".
    expect(leafUnder({ exe: '/usr/bin/' }, exe('/usr/bin/%2e%2e'))).toBe('ok');
  });

  it('absence semantics: a child drops argv, env, cwd, uid, caller, sha256 or uses the grant sets', () => {
    const full: Scope = {
      exe: '/usr/bin/true',
      sha256: DIGEST,
      argv: ['--safe'],
      cwd: '/srv',
      uid: 1000,
      env: ['PATH'],
      uses: 2,
      caller: '/usr/sbin/cron',
    };
    expect(leafUnder(full, { scope: full })).toBe('ok');
    for (const drop of ['argv', 'env', 'cwd', 'uid', 'caller'] as const) {
      const { [drop]: _, ...wider } = full;
      expect(leafUnder(full, { scope: wider }), `scope without ${drop}`).toBe('E_LINEAGE');
      expect(leafUnder(full, grantOf(wider)), `grant without ${drop}`).toBe('E_LINEAGE');
    }
    const { sha256: _, ...anyDigest } = full;
    expect(leafUnder(full, grantOf(anyDigest))).toBe('E_LINEAGE');
    expect(leafUnder(full, { scope: { ...full, uses: 3 } })).toBe('E_LINEAGE');
    expect(leafUnder(full, grantOf({ ...full, uses: 3 }))).toBe('E_LINEAGE');
    expect(leafUnder(full, { scope: { ...full, env: ['HOME', 'PATH'] } })).toBe('E_LINEAGE');
    expect(leafUnder(full, { scope: { ...full, argv: ['--safe', '--and-more'] } })).toBe('E_LINEAGE');
    expect(leafUnder(full, { scope: { ...full, argv: [] } })).toBe('E_LINEAGE');
    expect(leafUnder({ ...full, argv: [] }, { scope: { ...full, argv: [''] } })).toBe('E_LINEAGE');
    expect(leafUnder({ ...full, env: [] }, { scope: { ...full, env: ['PATH'] } })).toBe('E_LINEAGE');
    // A grant without uses allows one, as a scope without uses does.
    const { uses: __, ...oneUse } = full;
    expect(leafUnder(oneUse, { scope: { ...full, uses: 2 } })).toBe('E_LINEAGE');
  });

  it('state, boot, epoch, sub dropped or changed by the child: E_LINEAGE', () => {
    const bind: Partial<ArtifactClaims> = {
      state: { ref: DIGEST },
      boot: 3,
      epoch: 5,
    };
    const d = key('d1');
    const root = rootWith({ exe: '/usr/bin/' }, d, 0, bind);
    const v = (own: Partial<ArtifactClaims>, drop?: 'state' | 'boot' | 'epoch') => {
      const c: Partial<ArtifactClaims> = { ...bind, ...own };
      if (drop) delete c[drop];
      return code(verifyArtifact(childRaw(root, claims(c), d), { trust: trust(), at }));
    };
    expect(v({})).toBe('ok');
    expect(v({}, 'state')).toBe('E_LINEAGE');
    expect(v({ state: { bank: 'sha256', pcrs: [0], digest: DIGEST } })).toBe('E_LINEAGE');
    expect(v({}, 'boot')).toBe('E_LINEAGE');
    expect(v({ boot: 4 })).toBe('E_LINEAGE');
    expect(v({}, 'epoch')).toBe('E_LINEAGE');
    expect(v({ epoch: 4 })).toBe('E_LINEAGE');
    expect(v({ epoch: 6 })).toBe('ok');
    expect(v({ sub: 'group:web' })).toBe('E_LINEAGE');
  });

  it('depth arithmetic: depth 0 delegating, equal depth, negative or oversized depth', () => {
    const e = key('e1');
    const g = (depth: number): Partial<ArtifactClaims> => ({
      delegate: { key: e.spki, depth, scope: { exe: '/usr/bin/' } },
    });
    expect(leafUnder({ exe: '/usr/bin/' }, g(0), 0)).toBe('E_LINEAGE');
    expect(leafUnder({ exe: '/usr/bin/' }, g(0), 1)).toBe('ok');
    expect(leafUnder({ exe: '/usr/bin/' }, g(1), 1)).toBe('E_LINEAGE');
    // Out-of-range depths cannot even be written by encodeClaims; forge the payload map directly.
    const d = key('d1');
    const root = rootWith({ exe: '/usr/bin/' }, d, 1);
    for (const depth of [-1, 9, 2n ** 53n, 2n ** 64n - 1n, -(2n ** 64n)]) {
      const bytes = childRaw(root, claims(g(0)), d, {
        patch: (m) => setIn(m, ['delegate', 'depth'], depth),
      });
      expect(code(verifyArtifact(bytes, { trust: trust(), at })), String(depth)).toBe('E_FORMAT');
    }
  });
});

describe('adversary 12: depth to the limit', () => {
  // Found while attacking depth: a grant of the largest depth (8) allows 9 ancestors above the deepest
  // child, but the chain header held at most 8, so that child was E_FORMAT (fail-closed, not a bypass).
  it('a depth-8 grant is usable to its full depth, and not one level further', () => {
    const ks = Array.from({ length: 10 }, (_, i) => key(`deep${i}`));
    const grant = (i: number, depth: number) => ({
      delegate: { key: (ks[i] as SigningKey).spki, depth, scope: { exe: '/usr/bin/' } },
    });
    let bytes = issueArtifact(claims(grant(0, 8)), key('root'));
    for (let i = 0; i < 8; i++)
      bytes = delegateArtifact(bytes, claims(grant(i + 1, 7 - i)), ks[i] as SigningKey);
    const deepest = delegateArtifact(bytes, claims(), ks[8] as SigningKey);
    expect(decodeArtifact(deepest).chain).toHaveLength(9);
    expect(code(verifyArtifact(deepest, { trust: trust(), at }))).toBe('ok');
    // One level further: the depth-0 grant of the deepest intermediate refuses it, and so does the chain limit.
    const further = childRaw(bytes, claims(grant(9, 0)), ks[8] as SigningKey);
    expect(code(verifyArtifact(further, { trust: trust(), at }))).toBe('E_LINEAGE');
    const tooLong = editUnprotected(deepest, (u) => {
      const c = u.get('chain') as Uint8Array[];
      u.set('chain', [c[0] as Uint8Array, ...c]);
    });
    expect(code(verifyArtifact(tooLong, { trust: trust(), at }))).toBe('E_FORMAT');
  });
});

describe('adversary 12: time edges', () => {
  it('exp == at is expired, nbf == at is valid; skew widens by exactly skew, no more', () => {
    const a = issueArtifact(claims({ nbf: NOW + 100, exp: NOW + 200 }), key('root'));
    const v = (t: number, skew?: number) =>
      code(verifyArtifact(a, { trust: trust(), at: t, ...(skew === undefined ? {} : { skew }) }));
    expect(v(NOW + 99)).toBe('E_NOT_YET_VALID');
    expect(v(NOW + 100)).toBe('ok');
    expect(v(NOW + 199)).toBe('ok');
    expect(v(NOW + 200)).toBe('E_EXPIRED');
    expect(v(NOW + 209, 10)).toBe('ok');
    expect(v(NOW + 210, 10)).toBe('E_EXPIRED');
    expect(v(NOW + 90, 10)).toBe('ok');
    expect(v(NOW + 89, 10)).toBe('E_NOT_YET_VALID');
    expect(() => v(NOW, -1)).toThrow(RangeError);
    expect(() => v(NOW, 0.5)).toThrow(RangeError);
    expect(() => v(-1)).toThrow(RangeError);
    expect(() => v(Number.NaN)).toThrow(RangeError);
  });

  it('no nbf and iat in the future: not yet valid (iat is the start)', () => {
    const a = issueArtifact(claims({ iat: NOW + 50, exp: NOW + 100 }), key('root'));
    expect(code(verifyArtifact(a, { trust: trust(), at: NOW }))).toBe('E_NOT_YET_VALID');
  });

  it('a child longer-lived or starting earlier than its parent: E_LINEAGE even while both windows hold at', () => {
    const d = key('d1');
    const root = rootWith({ exe: '/usr/bin/' }, d, 0, { nbf: NOW, exp: NOW + 100 });
    const v = (own: Partial<ArtifactClaims>) =>
      code(verifyArtifact(childRaw(root, claims(own), d), { trust: trust(), at: NOW + 10 }));
    expect(v({ nbf: NOW, exp: NOW + 100 })).toBe('ok');
    expect(v({ nbf: NOW, exp: NOW + 101 })).toBe('E_LINEAGE');
    expect(v({ iat: NOW - 1, exp: NOW + 100 })).toBe('E_LINEAGE');
    expect(v({ iat: NOW + 5, nbf: NOW - 1, exp: NOW + 100 })).toBe('E_LINEAGE');
  });

  it('an expired parent cannot lend its child a window: the leaf is judged, inside the parent', () => {
    const d = key('d1');
    const root = rootWith({ exe: '/usr/bin/' }, d, 0, { exp: NOW + 100 });
    const leaf = delegateArtifact(root, claims({ exp: NOW + 100 }), d);
    expect(code(verifyArtifact(leaf, { trust: trust(), at: NOW + 100 }))).toBe('E_EXPIRED');
  });
});

describe('adversary 12: alg and kid confusion', () => {
  it('ES256 declared over an Ed25519 key; EdDSA over a P-256 key; ES384 over a P-256 key: E_SIGNATURE', () => {
    const ed = key('root');
    const p256 = key('p256', 'p256');
    const p384 = key('p384', 'p384');
    const body = encodeCbor(encodeClaims(claims()));
    const o = (k: SigningKey) => ({ trust: [pub(k)], at });
    expect(code(verifyArtifact(signRaw(body, ed, { alg: -7 }), o(ed)))).toBe('E_SIGNATURE');
    expect(code(verifyArtifact(signRaw(body, p256, { alg: -8 }), o(p256)))).toBe('E_SIGNATURE');
    expect(code(verifyArtifact(signRaw(body, p256, { alg: -35 }), o(p256)))).toBe('E_SIGNATURE');
    expect(code(verifyArtifact(signRaw(body, p384, { alg: -7 }), o(p384)))).toBe('E_SIGNATURE');
    // Other alg values (RS256, ES512, EdDSA as text) are not artifacts at all.
    for (const alg of [-257, -36, 0, 8])
      expect(code(verifyArtifact(signRaw(body, ed, { alg }), o(ed)))).toBe('E_FORMAT');
  });

  it('a kid naming a trusted key over a signature by another key: E_SIGNATURE, never trusted', () => {
    const body = encodeCbor(encodeClaims(claims()));
    const forged = signRaw(body, key('mallory'), { kid: key('root').kid, alg: COSE_ALG.ed25519 });
    expect(code(verifyArtifact(forged, { trust: trust(), at }))).toBe('E_SIGNATURE');
  });

  // Not fixed (reported): ECDSA signatures are malleable (s → n − s; wasm-core has no low-S rule, and
  // node:crypto signers emit high S half the time), so one signed artifact has two encodings and two
  // digests. What binds is unaffected: the cti (replay and revocation key) is the same, approvals and
  // children name one exact form.
  it('ECDSA high-S twin of a P-256 artifact: same cti, revoked alike, and no child or approval carries over', () => {
    const n = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
    const signer = key('root-p256', 'p256');
    const d = key('d1');
    const root = approveArtifact(
      issueArtifact(claims({ delegate: { key: d.spki, depth: 0, scope: { exe: '/usr/bin/' } } }), signer),
      key('apprA'),
    );
    const a = decodeArtifact(root);
    const s = BigInt(`0x${toHex(a.cose.signature.subarray(32))}`);
    const twinSig = new Uint8Array(64);
    twinSig.set(a.cose.signature.subarray(0, 32));
    twinSig.set(Buffer.from((n - s).toString(16).padStart(64, '0'), 'hex'), 32);
    const twin = encodeCoseSign1({ ...a.cose, signature: twinSig });
    const o = { trust: [pub(signer)], at };
    expect(code(verifyArtifact(twin, o))).toBe('ok');
    expect(toHex(decodeArtifact(twin).digest)).not.toBe(toHex(a.digest));
    expect(code(verifyArtifact(twin, { ...o, revoked: ctis(a.claims.cti) }))).toBe('E_REVOKED');
    const approvals = { approvers: [pub(key('apprA'))], required: 1 };
    expect(code(verifyArtifact(root, { ...o, approvals }))).toBe('ok');
    const twinApproved = editUnprotected(twin, (u) => {
      u.set(11, a.cose.unprotected.get(11) as CborValue);
    });
    expect(code(verifyArtifact(twinApproved, { ...o, approvals }))).toBe('E_APPROVAL');
    const child = delegateArtifact(root, claims(), d);
    const onTwin = editUnprotected(child, (u) => {
      u.set('chain', [chainEntry(decodeArtifact(twin))]);
    });
    expect(code(verifyArtifact(child, o))).toBe('ok');
    expect(code(verifyArtifact(onTwin, o))).toBe('E_LINEAGE');
  });

  it('SPKI re-encodings of one key (Ed25519 with NULL parameters, non-minimal DER length): not keys', () => {
    const ed = key('root').spki; // 30 2a 30 05 06 03 2b6570 03 21 00 <32>
    const withNull = new Uint8Array([
      0x30,
      0x2c,
      0x30,
      0x07,
      ...ed.subarray(4, 9),
      0x05,
      0x00,
      ...ed.subarray(9),
    ]);
    const longLength = new Uint8Array([0x30, 0x81, 0x2a, ...ed.subarray(2)]);
    for (const spki of [withNull, longLength]) expect(() => publicKeyOf(spki)).toThrow(KeyError);
  });

  // Worked before the fix: a compressed-point SPKI is the same P-256 key under another kid, so an
  // approver directory holding both encodings of one key counted one approver as two of K distinct ones.
  it('one approver key under two kids (uncompressed and compressed SPKI) counted as two approvals', () => {
    const a = key('appr-p256', 'p256');
    const compressed = compressedSpki(a.spki);
    expect(toHex(keyId(compressed))).not.toBe(toHex(a.kid));
    const leaf = issueArtifact(claims(), key('root'));
    const twice = withApprovals(leaf, [countersig(leaf, a), countersig(leaf, a, keyId(compressed))]);
    let approvers: PublicKey[];
    try {
      approvers = [pub(a), parsePublicKey(compressed)];
    } catch (e) {
      // The compressed encoding is refused as a key: one key, one SPKI, one kid.
      expect(e).toBeInstanceOf(KeyError);
      expect((e as Error).message).toMatch(/compressed/);
      approvers = [pub(a)];
    }
    const approvals = { approvers, required: 2 };
    expect(code(verifyArtifact(twice, { trust: trust(), at, approvals }))).toBe('E_APPROVAL');
  });

  // Worked before the fix: a grant naming the compressed SPKI of a delegate key let that key sign
  // children under a kid that its revocation (by the kid `key id` prints: of the uncompressed SPKI) missed.
  it('a revoked delegate key named by its compressed SPKI in a grant escapes kid revocation', () => {
    const d = key('d-p256', 'p256');
    const compressed = compressedSpki(d.spki);
    const m = new Map(
      encodeClaims(claims({ delegate: { key: d.spki, depth: 0, scope: { exe: '/usr/bin/' } } })),
    );
    setIn(m, ['delegate', 'key'], compressed);
    // The root's own bytes are its chain entry (its unprotected header is empty); d signs under the alias kid.
    const root = signRaw(m, key('root'));
    const child = signRaw(
      encodeClaims({ ...claims(), parent: new Uint8Array(createHash('sha256').update(root).digest()) }),
      d,
      { kid: keyId(compressed), unprotected: new Map<CborKey, CborValue>([['chain', [root]]]) },
    );
    const v = verifyArtifact(child, { trust: trust(), at, revoked: kids(d.kid) });
    expect(v.ok).toBe(false);
    expect(code(v)).toBe('E_FORMAT'); // the grant's key is not an accepted key encoding
  });
});

describe('adversary 12: approvals', () => {
  const A = () => key('apprA');
  const B = () => key('apprB', 'p256');
  const C = () => key('apprC', 'p384');
  const policy = (required = 2) => ({ approvers: [pub(A()), pub(B())], required });
  const o = (required = 2) => ({ trust: trust(), at, approvals: policy(required) });

  it('the same approver twice (array form, and the single form inside an array): E_APPROVAL', () => {
    const leaf = issueArtifact(claims(), key('root'));
    const one = countersig(leaf, A());
    expect(code(verifyArtifact(withApprovals(leaf, [one, one]), o()))).toBe('E_APPROVAL');
    // ECDSA signs afresh each time: two different valid countersignatures by one approver.
    const b1 = countersig(leaf, B());
    const b2 = countersig(leaf, B());
    expect(code(verifyArtifact(withApprovals(leaf, [b1, b2]), o()))).toBe('E_APPROVAL');
    expect(code(verifyArtifact(withApprovals(leaf, [one, countersig(leaf, B())]), o()))).toBe('ok');
    // An array of one countersignature reads as one approval, not as a countersignature.
    const nested = editUnprotected(leaf, (u) => {
      u.set(11, [one]);
    });
    expect(code(verifyArtifact(nested, o(1)))).toBe('ok');
    expect(code(verifyArtifact(nested, o(2)))).toBe('E_APPROVAL');
  });

  it('a policy listing one approver twice (same encoding) still needs two distinct approvers', () => {
    const leaf = approveArtifact(issueArtifact(claims(), key('root')), A());
    const approvals = { approvers: [pub(A()), pub(A())], required: 2 };
    expect(code(verifyArtifact(leaf, { trust: trust(), at, approvals }))).toBe('E_APPROVAL');
  });

  it('an approver of a different policy, or one naming a policy kid with its own key: E_APPROVAL', () => {
    const leaf = issueArtifact(claims(), key('root'));
    const outsider = withApprovals(leaf, [countersig(leaf, A()), countersig(leaf, C())]);
    expect(code(verifyArtifact(outsider, o()))).toBe('E_APPROVAL');
    const impostor = withApprovals(leaf, [countersig(leaf, A()), countersig(leaf, key('mallory'), B().kid)]);
    expect(code(verifyArtifact(impostor, o()))).toBe('E_APPROVAL');
    const wrongAlg = editUnprotected(leaf, (u) => {
      const p = encodeCbor(
        new Map<CborKey, CborValue>([
          [1, COSE_ALG.ed25519],
          [4, B().kid],
        ]),
      );
      u.set(11, [
        countersig(leaf, A()),
        [p, new Map(), signWith(A(), countersignStructure(decodeArtifact(leaf).cose, p))],
      ]);
    });
    expect(code(verifyArtifact(wrongAlg, o()))).toBe('E_APPROVAL');
  });

  it('an approval of a sibling with the same payload (re-signed: another signature) transplanted', () => {
    const c = claims({ gov: new Map([['ticket', 'CHG-1']]) });
    const p256Root = key('root-p256', 'p256');
    const first = issueArtifact(c, p256Root);
    const second = issueArtifact(c, p256Root);
    expect(toHex(decodeArtifact(first).cose.payload)).toBe(toHex(decodeArtifact(second).cose.payload));
    const approved = approveArtifact(approveArtifact(first, A()), B());
    const moved = editUnprotected(second, (u) => {
      u.set(11, decodeArtifact(approved).cose.unprotected.get(11) as CborValue);
    });
    const opts = { trust: [pub(p256Root)], at, approvals: policy() };
    expect(code(verifyArtifact(approved, opts))).toBe('ok');
    expect(code(verifyArtifact(moved, opts))).toBe('E_APPROVAL');
  });

  it("approvals of an ancestor moved onto its child, and a child's onto another chain: E_APPROVAL", () => {
    const d = key('d1');
    const root = approveArtifact(approveArtifact(rootWith({ exe: '/usr/bin/' }, d), A()), B());
    const leaf = delegateArtifact(root, claims(), d);
    const moved = editUnprotected(leaf, (u) => {
      u.set(11, decodeArtifact(root).cose.unprotected.get(11) as CborValue);
    });
    expect(code(verifyArtifact(root, o()))).toBe('ok');
    expect(code(verifyArtifact(moved, o()))).toBe('E_APPROVAL');
  });

  it('a countersignature replayed as the artifact signature, and the reverse (domain separation)', () => {
    // The approver is also a trusted issuer here: its countersignature must not stand for its signature.
    const both = A();
    const leaf = issueArtifact(claims(), key('root'));
    const [cp, , cs] = countersig(leaf, both) as [Uint8Array, unknown, Uint8Array];
    const a = decodeArtifact(leaf);
    const asSign1 = encodeCoseSign1({ ...a.cose, protectedBytes: cp, signature: cs });
    expect(code(verifyArtifact(asSign1, { trust: [pub(both)], at }))).toBe('E_SIGNATURE');
    // The signer's Sig_structure signature presented as a countersignature by the same key.
    const signed = issueArtifact(claims(), both);
    const s = decodeArtifact(signed);
    const asCounter = withApprovals(signed, [[s.cose.protectedBytes, new Map(), s.cose.signature]]);
    expect(code(verifyArtifact(asCounter, { trust: [pub(both)], at, approvals: policy(1) }))).toBe(
      'E_APPROVAL',
    );
  });

  it('a countersignature survives a chain swap only when the swap is refused anyway', () => {
    const d = key('d1');
    const rootA = rootWith({ exe: '/usr/bin/' }, d);
    const rootB = rootWith({ exe: '/usr/bin/' }, d);
    const leaf = approveArtifact(approveArtifact(delegateArtifact(rootA, claims(), d), A()), B());
    expect(code(verifyArtifact(leaf, o()))).toBe('ok');
    const swapped = editUnprotected(leaf, (u) => {
      u.set('chain', [chainEntry(decodeArtifact(rootB))]);
    });
    expect(code(verifyArtifact(swapped, o()))).toBe('E_LINEAGE');
  });

  // Worked before the fix: an approver whose key is on a revocation list (its kid revoked) still counted.
  it('an approval by a revoked approver key counted toward K', () => {
    const leaf = approveArtifact(approveArtifact(issueArtifact(claims(), key('root')), A()), B());
    expect(code(verifyArtifact(leaf, o()))).toBe('ok');
    const v = verifyArtifact(leaf, { ...o(), revoked: kids(B().kid) });
    expect(code(v)).toBe('E_APPROVAL');
    expect(v.ok ? '' : v.detail).toMatch(/revoked/);
    // Its countersignature never counts, even beside enough others.
    const three = approveArtifact(leaf, C());
    const big = { approvers: [pub(A()), pub(B()), pub(C())], required: 2 };
    expect(code(verifyArtifact(three, { trust: trust(), at, approvals: big, revoked: kids(B().kid) }))).toBe(
      'E_APPROVAL',
    );
  });
});

describe('adversary 12: CBOR tricks', () => {
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
  const unhex = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));
  /** The verdict on a root whose payload bytes are `payload`, validly signed by the trusted key. */
  const signedPayload = (payload: Uint8Array) =>
    code(verifyArtifact(signRaw(payload, key('root')), { trust: trust(), at }));

  it('claims in a non-deterministic encoding, signed: non-shortest key, duplicate key, indefinite map', () => {
    const good = encodeCbor(encodeClaims(claims()));
    expect(signedPayload(good)).toBe('ok');
    const h = hex(good);
    expect(h.slice(0, 4)).toBe('a601'); // map(6), key 1
    expect(signedPayload(unhex(`a61801${h.slice(4)}`))).toBe('E_FORMAT'); // key 1 as 18 01
    expect(signedPayload(unhex(`a7016161${h.slice(2)}`))).toBe('E_FORMAT'); // 1: "a" twice
    expect(signedPayload(unhex(`bf${h.slice(2)}ff`))).toBe('E_FORMAT'); // indefinite length
    expect(signedPayload(unhex(`${h}00`))).toBe('E_FORMAT'); // a byte after the map
  });

  it('claim values of the wrong CBOR type: bigint time, negative, float -0, tag 1 date, bool uses', () => {
    const v = (path: CborKey[], value: CborValue) => {
      const m = new Map(encodeClaims(claims()));
      setIn(m, path, value);
      return signedPayload(encodeCbor(m));
    };
    expect(v([4], 2n ** 64n - 1n)).toBe('E_FORMAT');
    expect(v([4], -1)).toBe('E_FORMAT');
    expect(v([4], new CborTag(1, NOW + 600))).toBe('E_FORMAT');
    expect(v(['scope', 'uses'], true)).toBe('E_FORMAT');
    expect(v(['scope', 'uid'], -1)).toBe('E_FORMAT');
    expect(v(['scope', 'sha256'], new CborTag(18, DIGEST))).toBe('E_FORMAT');
    // Float -0 (f9 8000) where an integer belongs: not in the supported subset.
    const m = new Map(encodeClaims(claims()));
    setIn(m, ['scope', 'uid'], 1);
    const h = hex(encodeCbor(m));
    const at0 = h.indexOf(hex(encodeCbor('uid')));
    expect(at0).toBeGreaterThan(0);
    const uidAt = at0 + hex(encodeCbor('uid')).length;
    expect(h.slice(uidAt, uidAt + 2)).toBe('01');
    const floated = `${h.slice(0, uidAt)}f98000${h.slice(uidAt + 2)}`;
    expect(signedPayload(unhex(floated))).toBe('E_FORMAT');
  });

  it('unprotected header tricks: label "11" as text, 11 holding a tagged COSE_Sign1, alg moved there', () => {
    const leaf = issueArtifact(claims(), key('root'));
    const one = countersig(leaf, key('apprA'));
    const o = { trust: trust(), at, approvals: { approvers: [pub(key('apprA'))], required: 1 } };
    expect(code(verifyArtifact(withApprovals(leaf, [one]), o))).toBe('ok');
    for (const [label, value] of [
      ['11', one],
      [11, new CborTag(18, one)],
      [1, -8],
      [4, key('root').kid],
      [33, []],
    ] as [CborKey, CborValue][]) {
      const bytes = editUnprotected(leaf, (u) => {
        u.set(label, value);
      });
      expect(code(verifyArtifact(bytes, o)), String(label)).toBe('E_FORMAT');
    }
  });

  it('wrong envelopes: untagged, COSE_Sign (98), COSE_Mac0 (17), nested tag 18, protected crit', () => {
    const leaf = issueArtifact(claims(), key('root'));
    const body = hex(leaf).slice(2); // after d2
    for (const h of [body, `d862${body}`, `d1${body}`, `d2d2${body}`])
      expect(code(verifyArtifact(unhex(h), { trust: trust(), at })), h.slice(0, 6)).toBe('E_FORMAT');
    const crit = signRaw(encodeCbor(encodeClaims(claims())), key('root'), { extra: [[2, [1]]] });
    expect(code(verifyArtifact(crit, { trust: trust(), at }))).toBe('E_FORMAT');
  });
});

describe('adversary 12: resource exhaustion', () => {
  /**
   * A forgery as big as an artifact may be: the trusted root's kid (public), a garbage signature, a
   * payload of long arguments, and MAX_APPROVALS countersignatures that all name approver A (public too).
   */
  function hostile(): { bytes: Uint8Array; payload: number } {
    const arg = 'x'.repeat(60_000);
    const m = new Map(
      encodeClaims(claims({ scope: { exe: '/usr/bin/true', sha256: DIGEST, argv: [arg, arg, arg, arg] } })),
    );
    const payload = encodeCbor(m);
    const a = key('apprA');
    const prot = encodeCbor(
      new Map<CborKey, CborValue>([
        [1, COSE_ALG.ed25519],
        [4, a.kid],
      ]),
    );
    const cs = Array.from({ length: 32 }, () => [prot, new Map(), new Uint8Array(64).fill(1)] as CborValue);
    const bytes = encodeCoseSign1({
      protectedBytes: encodeCbor(
        new Map<CborKey, CborValue>([
          [1, COSE_ALG.ed25519],
          [4, key('root').kid],
        ]),
      ),
      protectedHeader: new Map(),
      unprotected: new Map<CborKey, CborValue>([[11, cs]]),
      payload,
      signature: new Uint8Array(64),
    });
    expect(bytes.length).toBeLessThanOrEqual(MAX_ARTIFACT_BYTES);
    return { bytes, payload: payload.length };
  }

  /** A forged chain as long as allowed: the root's kid over garbage, then 8 links signed by one P-384 key. */
  function forgedChain(): Uint8Array {
    const m = key('mallory-p384', 'p384');
    const grant = (depth: number) => ({ key: m.spki, depth, scope: { exe: '/usr/bin/' } });
    const rootPayload = encodeCbor(encodeClaims(claims({ delegate: grant(7) })));
    let bytes = encodeCoseSign1({
      protectedBytes: encodeCbor(
        new Map<CborKey, CborValue>([
          [1, COSE_ALG.ed25519],
          [4, key('root').kid],
        ]),
      ),
      protectedHeader: new Map(),
      unprotected: new Map(),
      payload: rootPayload,
      signature: new Uint8Array(64).fill(3),
    });
    for (let depth = 6; depth >= -1; depth--)
      bytes = childRaw(bytes, claims(depth >= 0 ? { delegate: grant(depth) } : {}), m);
    expect(decodeArtifact(bytes).chain).toHaveLength(8);
    return bytes;
  }

  const policy = () => ({ approvers: [pub(key('apprA')), pub(key('apprB', 'p256'))], required: 2 });

  // Worked before the fix: every one of MAX_APPROVALS countersignatures naming a policy approver was
  // planned for verification, each a Countersign_structure holding the whole payload: 32 × 240 KB of
  // structures and hashing per forged 245 KB input, 7.9 GB for a thousand of them.
  it('MAX_APPROVALS countersignatures repeating one public approver kid over a forged maximal payload', () => {
    const { bytes, payload } = hostile();
    resetBatches();
    const [v] = verifyArtifacts([bytes], { trust: trust(), at, approvals: policy() });
    expect(code(v as ArtifactVerdict)).toBe('E_SIGNATURE');
    // The artifact's own signature and one countersignature of approver A: each over the payload once.
    expect(batches.items).toBe(2);
    expect(batches.messageBytes).toBeLessThan(2 * (payload + 1024));
  });

  // Worked before the fix: a thousand such inputs made one batch of 7.9 GB of to-be-signed structures.
  it('1000 hostile inputs in one verifyArtifacts call: bounded batch memory, linear time', () => {
    const big = hostile().bytes;
    const chain = forgedChain();
    const list = Array.from({ length: 1000 }, (_, i) => (i % 2 ? big : chain));
    resetBatches();
    const t0 = performance.now();
    const verdicts = verifyArtifacts(list, { trust: trust(), at, approvals: policy() });
    const ms = performance.now() - t0;
    expect(verdicts.map(code)).toEqual(list.map(() => 'E_SIGNATURE'));
    expect(batches.items).toBe(500 * 2 + 500 * 9);
    expect(batches.maxCallBytes).toBeLessThan(MAX_BATCH_BYTES + 2 * MAX_ARTIFACT_BYTES);
    expect(batches.calls).toBeGreaterThan(1);
    // About 10 s on one slow core; quadratic or per-countersignature work would be minutes.
    expect(ms).toBeLessThan(60_000);
  }, 120_000);
});
