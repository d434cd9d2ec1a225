// SPDX-License-Identifier: Apache-2.0
// An independent second implementation of the artifact format (issue 12, "Format"), both directions:
// artifacts made by agent/artifact (issueArtifact, delegateArtifact, approveArtifact) are verified by the
// oracle below, and artifacts, chains and countersignatures made by the oracle verify with verifyArtifact.
//
// The oracle shares none of agent/'s code path: CBOR is cbor-x (which agent/artifact does not use), keys,
// hashes and signatures are node:crypto, and the structures are written here from the RFCs:
//   RFC 9052 §4.2   COSE_Sign1 = #6.18([protected: bstr, unprotected: map, payload: bstr, signature: bstr])
//   RFC 9052 §4.4   Sig_structure = ["Signature1", body_protected, external_aad, payload]
//   RFC 9338 §3.1   COSE_Countersignature = [protected, unprotected, signature], header label 11, one or
//                   an array of several; §3.3 Countersign_structure (V2) for a COSE_Sign1 target =
//                   ["CounterSignatureV2", body_protected, sign_protected, external_aad, payload, [signature]]
//   RFC 9053 §2     EdDSA −8 (Ed25519), ES256 −7, ES384 −35; ECDSA signatures r‖s
//   RFC 8392 §3/§4  CWT claims 1 iss, 2 sub, 4 exp, 5 nbf, 6 iat, 7 cti
//   RFC 8949 §4.2.1 core deterministic encoding: cbor-x writes shortest heads and definite lengths for the
//                   values used here (integers below 2^32, strings, bytes, arrays, maps, tags), but keeps a
//                   Map's insertion order, so the oracle sorts every map's keys by their encoded bytes first.
//                   On reading, "deterministic" is checked by re-encoding: what cbor-x decodes must encode
//                   back to exactly the input (catching non-shortest heads, indefinite lengths, key order,
//                   duplicate keys, which cbor-x keeps the last of, and invalid UTF-8, which it replaces).
// What the oracle checks of a chain: each link signed by the key its parent's `delegate` grant names, its
// `parent` the SHA-256 of the parent's signed form, same sub, window inside the parent's, delegate depth
// strictly decreasing. It does not re-implement the scope-narrowing rules (lineage.ts; property tests).
// Our code is used here only to make and judge artifacts on our side, and (agent/encoding/cbor strict
// decode) to confirm that the oracle's bytes are deterministic.
import {
  createHash,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign as nodeSign,
  verify as nodeVerify,
} from 'node:crypto';
import { Decoder, Encoder, Tag } from 'cbor-x';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type ArtifactClaims,
  type ArtifactVerdict,
  approveArtifact,
  delegateArtifact,
  issueArtifact,
  type Scope,
  verifyArtifact,
  verifyArtifacts,
} from '../../agent/artifact/index.js';
import {
  type PublicKey,
  parseSigningKey,
  publicKeyOf,
  type SigningAlg,
  type SigningKey,
} from '../../agent/crypto/keys.js';
import { initVerification } from '../../agent/crypto/verify.js';
import { decodeCbor, encodeCbor } from '../../agent/encoding/cbor.js';
import { randomBytes, randomInt, TEST_SEED } from '../helpers/random.js';

// ═══ The oracle ═══════════════════════════════════════════════════════════════════════════════════════

/** A refusal by the oracle (anything else thrown inside it is a bug of the test and propagates). */
class OracleError extends Error {}

const refuse = (why: string): never => {
  throw new OracleError(why);
};

type CoseAlg = -8 | -7 | -35;
const EMPTY = new Uint8Array(0);
const HASH_OF: Readonly<Record<CoseAlg, string | null>> = { [-8]: null, [-7]: 'sha256', [-35]: 'sha384' };

const cx = new Encoder({
  useRecords: false,
  mapsAsObjects: false,
  variableMapSize: true,
  tagUint8Array: false,
});
const cxDecoder = new Decoder({ useRecords: false, mapsAsObjects: false });

const sha256 = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest());
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));
const isBytes = (v: unknown): v is Uint8Array => v instanceof Uint8Array;
const hexOf = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** cbor-x's encoding of `v`, copied out of the encoder's reused buffer. */
const cxEncode = (v: unknown): Uint8Array => Uint8Array.from(cx.encode(v));

/** `v` with every map's keys in RFC 8949 §4.2.1 order (bytewise by encoding); only values cbor-x writes shortest. */
function canonical(v: unknown): unknown {
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || Math.abs(v) >= 2 ** 32) refuse(`oracle encoder: ${v} is not a small integer`);
    return v;
  }
  if (typeof v === 'string' || typeof v === 'boolean' || v === null || isBytes(v)) return v;
  if (Array.isArray(v)) return v.map(canonical);
  if (v instanceof Tag) return new Tag(canonical(v.value), v.tag);
  if (v instanceof Map) {
    const entries = [...v].map(([k, x]) => ({ enc: cxEncode(k), k, x: canonical(x) }));
    entries.sort((a, b) => Buffer.compare(a.enc, b.enc));
    for (let i = 1; i < entries.length; i++)
      if (same((entries[i - 1] as { enc: Uint8Array }).enc, (entries[i] as { enc: Uint8Array }).enc))
        refuse('oracle encoder: duplicate map key');
    return new Map(entries.map((e) => [e.k, e.x]));
  }
  return refuse(`oracle encoder: a ${typeof v} is not written`);
}

/** The deterministic encoding of `v`. */
const encode = (v: unknown): Uint8Array => cxEncode(canonical(v));

/** One deterministically encoded item (cbor-x refuses truncation and trailing bytes; re-encoding the rest). */
function decodeStrict(bytes: Uint8Array, what: string): unknown {
  let v: unknown;
  try {
    v = cxDecoder.decode(Buffer.from(bytes));
  } catch (e) {
    return refuse(`${what}: not CBOR: ${(e as Error).message}`);
  }
  if (!same(encode(v), bytes)) refuse(`${what}: not in deterministic encoding`);
  return v;
}

/** A public key by its DER SPKI; alg from the key type. */
interface OracleKey {
  readonly alg: CoseAlg;
  readonly spki: Uint8Array;
  /** SHA-256 of the DER SPKI. */
  readonly kid: Uint8Array;
  readonly publicKey: KeyObject;
}

interface OracleSigner extends OracleKey {
  readonly privateKey: KeyObject;
}

function oracleKey(spki: Uint8Array): OracleKey {
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  } catch {
    return refuse('not a DER SPKI');
  }
  const curve = publicKey.asymmetricKeyDetails?.namedCurve;
  const alg: CoseAlg | undefined =
    publicKey.asymmetricKeyType === 'ed25519'
      ? -8
      : curve === 'prime256v1'
        ? -7
        : curve === 'secp384r1'
          ? -35
          : undefined;
  if (alg === undefined) refuse('the key is not Ed25519, P-256 or P-384');
  return { alg: alg as CoseAlg, spki: new Uint8Array(spki), kid: sha256(spki), publicKey };
}

function oracleSign(s: OracleSigner, message: Uint8Array): Uint8Array {
  const key = s.alg === -8 ? s.privateKey : { key: s.privateKey, dsaEncoding: 'ieee-p1363' as const };
  return new Uint8Array(nodeSign(HASH_OF[s.alg], message, key));
}

function oracleCheck(k: OracleKey, message: Uint8Array, signature: Uint8Array): boolean {
  const key = k.alg === -8 ? k.publicKey : { key: k.publicKey, dsaEncoding: 'ieee-p1363' as const };
  try {
    return nodeVerify(HASH_OF[k.alg], message, key, signature);
  } catch {
    return false;
  }
}

const sigStructure = (prot: Uint8Array, payload: Uint8Array) => encode(['Signature1', prot, EMPTY, payload]);

const countersignStructure = (target: Sign1, signProtected: Uint8Array) =>
  encode(['CounterSignatureV2', target.prot, signProtected, EMPTY, target.payload, [target.signature]]);

/** The protected header of a signer: exactly alg (1) and kid (4). */
const signerHeader = (s: OracleKey) =>
  encode(
    new Map<number, unknown>([
      [1, s.alg],
      [4, s.kid],
    ]),
  );

interface Sign1 {
  readonly prot: Uint8Array;
  readonly alg: CoseAlg;
  readonly kid: Uint8Array;
  readonly unprotected: Map<unknown, unknown>;
  readonly payload: Uint8Array;
  readonly signature: Uint8Array;
}

/** alg and kid from a protected header that holds exactly those two. */
function headerOf(prot: unknown, what: string): { alg: CoseAlg; kid: Uint8Array } {
  if (!isBytes(prot)) return refuse(`${what}: protected is not a bstr`);
  const h = decodeStrict(prot, `${what}: protected`);
  if (!(h instanceof Map) || h.size !== 2) return refuse(`${what}: protected must be {1: alg, 4: kid}`);
  const alg = h.get(1);
  const kid = h.get(4);
  if (alg !== -8 && alg !== -7 && alg !== -35) refuse(`${what}: alg ${String(alg)}`);
  if (!isBytes(kid) || kid.length !== 32) refuse(`${what}: kid is not 32 bytes`);
  return { alg: alg as CoseAlg, kid: kid as Uint8Array };
}

function sign1Of(v: unknown, what: string): Sign1 {
  if (!(v instanceof Tag) || v.tag !== 18) return refuse(`${what}: not tag 18`);
  const a: unknown = v.value;
  if (!Array.isArray(a) || a.length !== 4) return refuse(`${what}: not an array of 4`);
  const [prot, unprotected, payload, signature] = a as unknown[];
  if (!(unprotected instanceof Map)) return refuse(`${what}: unprotected is not a map`);
  if (!isBytes(payload) || !isBytes(signature)) return refuse(`${what}: payload/signature not bstr`);
  return { prot: prot as Uint8Array, ...headerOf(prot, what), unprotected, payload, signature };
}

const CLAIMS: readonly unknown[] = [
  1,
  2,
  4,
  5,
  6,
  7,
  'scope',
  'state',
  'boot',
  'epoch',
  'gov',
  'parent',
  'delegate',
];
const SUB = /^(?:000b[0-9a-f]{64}|000c[0-9a-f]{96}|000d[0-9a-f]{128}|group:[A-Za-z0-9._-]{1,64})$/;
const uint = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** The claims map of a payload, as far as the issue's "Format" says (closed key set, types). */
function claimsOf(payload: Uint8Array, what: string): Map<unknown, unknown> {
  const c = decodeStrict(payload, `${what}: payload`);
  if (!(c instanceof Map)) return refuse(`${what}: the payload is not a map`);
  for (const k of c.keys()) if (!CLAIMS.includes(k)) refuse(`${what}: unknown claim ${String(k)}`);
  if (typeof c.get(1) !== 'string') refuse(`${what}: iss`);
  if (typeof c.get(2) !== 'string' || !SUB.test(c.get(2))) refuse(`${what}: sub`);
  if (!uint(c.get(4)) || !uint(c.get(6)) || (c.has(5) && !uint(c.get(5)))) refuse(`${what}: exp/nbf/iat`);
  if (!isBytes(c.get(7)) || c.get(7).length < 16) refuse(`${what}: cti`);
  const scope = c.get('scope');
  if (!(scope instanceof Map) || typeof scope.get('exe') !== 'string' || !scope.get('exe').startsWith('/'))
    refuse(`${what}: scope.exe`);
  if (!isBytes(scope.get('sha256')) || scope.get('sha256').length !== 32) refuse(`${what}: scope.sha256`);
  if (c.get(4) <= start(c)) refuse(`${what}: exp not after nbf/iat`);
  const d = c.get('delegate');
  if (d !== undefined && (!(d instanceof Map) || !isBytes(d.get('key')) || !uint(d.get('depth'))))
    refuse(`${what}: delegate`);
  if (c.has('parent') && !(isBytes(c.get('parent')) && c.get('parent').length === 32))
    refuse(`${what}: parent`);
  return c;
}

const start = (c: Map<unknown, unknown>) => (c.get(5) ?? c.get(6)) as number;

interface OracleOptions {
  readonly trust: readonly OracleKey[];
  /** When given, every countersignature must verify under an approver, distinct, at least `required`. */
  readonly approvals?: { readonly approvers: readonly OracleKey[]; readonly required: number };
  readonly at: number;
}

type OracleVerdict =
  | { readonly ok: true; readonly claims: Map<unknown, unknown>; readonly approvedBy: readonly string[] }
  | { readonly ok: false; readonly why: string };

/** The countersignatures of label 11: one, or an array of several. */
function countersignaturesOf(v: unknown): unknown[] {
  if (v === undefined) return [];
  return Array.isArray(v) && v.length > 0 && Array.isArray(v[0]) ? v : [v];
}

function oracleVerify(bytes: Uint8Array, o: OracleOptions): OracleVerdict {
  try {
    return { ok: true, ...judge(bytes, o) };
  } catch (e) {
    if (e instanceof OracleError) return { ok: false, why: e.message };
    throw e;
  }
}

function judge(bytes: Uint8Array, o: OracleOptions) {
  const top = sign1Of(decodeStrict(bytes, 'artifact'), 'artifact');
  for (const k of top.unprotected.keys())
    if (k !== 'chain' && k !== 11) refuse(`unprotected label ${String(k)} not allowed`);
  const chain: unknown = top.unprotected.get('chain');
  if (chain !== undefined && !(Array.isArray(chain) && chain.length > 0 && chain.every(isBytes)))
    refuse('chain is not a non-empty array of bstr');
  const entries = (chain ?? []) as Uint8Array[];
  const links = entries.map((e, i) => {
    const s = sign1Of(decodeStrict(e, `chain[${i}]`), `chain[${i}]`);
    if (s.unprotected.size !== 0) refuse(`chain[${i}]: unprotected not empty`);
    return s;
  });
  const all = [...links, top];
  let key = o.trust.find((k) => same(k.kid, (all[0] as Sign1).kid)) ?? refuse('untrusted issuer');
  let parent: Map<unknown, unknown> | undefined;
  let claims = new Map<unknown, unknown>();
  for (const [i, s] of all.entries()) {
    const what = i === links.length ? 'artifact' : `chain[${i}]`;
    claims = claimsOf(s.payload, what);
    if (parent === undefined) {
      if (claims.has('parent')) refuse(`${what}: a root names a parent`);
    } else {
      const grant = parent.get('delegate') as Map<unknown, unknown> | undefined;
      if (grant === undefined) refuse(`${what}: the parent grants no delegation`);
      key = oracleKey((grant as Map<unknown, unknown>).get('key') as Uint8Array);
      if (!same(s.kid, key.kid)) refuse(`${what}: not signed by the parent's delegate key`);
      const named = claims.get('parent');
      if (!isBytes(named) || !same(named, sha256(entries[i - 1] as Uint8Array)))
        refuse(`${what}: parent is not the digest of its parent`);
      if (claims.get(2) !== parent.get(2)) refuse(`${what}: sub differs from the parent's`);
      if (start(claims) < start(parent) || (claims.get(4) as number) > (parent.get(4) as number))
        refuse(`${what}: window outside the parent's`);
      const depth = (grant as Map<unknown, unknown>).get('depth') as number;
      const own = claims.get('delegate') as Map<unknown, unknown> | undefined;
      if (own !== undefined && (own.get('depth') as number) > depth - 1) refuse(`${what}: too deep`);
    }
    if (s.alg !== key.alg) refuse(`${what}: alg ${s.alg} is not the key's ${key.alg}`);
    if (!oracleCheck(key, sigStructure(s.prot, s.payload), s.signature)) refuse(`${what}: bad signature`);
    parent = claims;
  }
  if (o.at < start(claims)) refuse('not yet valid');
  if (o.at >= (claims.get(4) as number)) refuse('expired');
  const seen = new Set<string>();
  for (const [i, cs] of countersignaturesOf(top.unprotected.get(11)).entries()) {
    const what = `countersignature ${i}`;
    if (!Array.isArray(cs) || cs.length !== 3) return refuse(`${what}: not an array of 3`);
    const [prot, u, signature] = cs as unknown[];
    const h = headerOf(prot, what);
    if (!(u instanceof Map) || u.size !== 0 || !isBytes(signature)) return refuse(`${what}: malformed`);
    if (!o.approvals) continue;
    const approver =
      o.approvals.approvers.find((k) => same(k.kid, h.kid)) ?? refuse(`${what}: not an approver`);
    if (approver.alg !== h.alg) refuse(`${what}: alg is not the approver's`);
    if (seen.has(hexOf(h.kid))) refuse(`${what}: approver twice`);
    if (!oracleCheck(approver, countersignStructure(top, prot as Uint8Array), signature))
      refuse(`${what}: bad countersignature`);
    seen.add(hexOf(h.kid));
  }
  if (o.approvals && seen.size < o.approvals.required) refuse(`${seen.size} approvals`);
  return { claims, approvedBy: [...seen] };
}

// ── The oracle's issuer side ─────────────────────────────────────────────────────────────────────────

/** The CWT claims map of the issue's "Format", from the test's description of an artifact. */
function cwtMap(c: ArtifactClaims): Map<string | number, unknown> {
  const scope = (s: Scope) => {
    const m = new Map<string, unknown>([['exe', s.exe]]);
    if (s.sha256) m.set('sha256', s.sha256);
    if (s.argv) m.set('argv', [...s.argv]);
    if (s.cwd !== undefined) m.set('cwd', s.cwd);
    if (s.uid !== undefined) m.set('uid', s.uid);
    if (s.env) m.set('env', [...s.env]);
    if (s.uses !== undefined) m.set('uses', s.uses);
    if (s.caller !== undefined) m.set('caller', s.caller);
    return m;
  };
  const m = new Map<string | number, unknown>([
    [1, c.iss],
    [2, c.sub],
    [4, c.exp],
    [6, c.iat],
    [7, c.cti],
    ['scope', scope(c.scope)],
  ]);
  if (c.nbf !== undefined) m.set(5, c.nbf);
  if (c.state)
    m.set(
      'state',
      'ref' in c.state
        ? new Map([['ref', c.state.ref]])
        : new Map<string, unknown>([
            ['bank', c.state.bank],
            ['pcrs', [...c.state.pcrs]],
            ['digest', c.state.digest],
          ]),
    );
  if (c.boot !== undefined) m.set('boot', c.boot);
  if (c.epoch !== undefined) m.set('epoch', c.epoch);
  if (c.gov) m.set('gov', new Map(c.gov));
  if (c.parent) m.set('parent', c.parent);
  if (c.delegate)
    m.set(
      'delegate',
      new Map<string, unknown>([
        ['key', c.delegate.key],
        ['depth', c.delegate.depth],
        ['scope', scope(c.delegate.scope)],
      ]),
    );
  return m;
}

function oracleIssue(claims: Map<unknown, unknown>, s: OracleSigner, unprotected = new Map()): Uint8Array {
  const prot = signerHeader(s);
  const payload = encode(claims);
  const signature = oracleSign(s, sigStructure(prot, payload));
  return encode(new Tag([prot, unprotected, payload, signature], 18));
}

/** The tagged COSE_Sign1 with an empty unprotected header (what a chain entry and a parent digest cover). */
function signedForm(bytes: Uint8Array): Uint8Array {
  const s = sign1Of(decodeStrict(bytes, 'parent'), 'parent');
  return encode(new Tag([s.prot, new Map(), s.payload, s.signature], 18));
}

function oracleDelegate(parentBytes: Uint8Array, claims: Map<unknown, unknown>, s: OracleSigner): Uint8Array {
  const parent = sign1Of(decodeStrict(parentBytes, 'parent'), 'parent');
  const chain = [
    ...((parent.unprotected.get('chain') as Uint8Array[] | undefined) ?? []),
    signedForm(parentBytes),
  ];
  const child = new Map(claims);
  child.set('parent', sha256(signedForm(parentBytes)));
  return oracleIssue(child, s, new Map([['chain', chain]]));
}

function oracleCountersign(bytes: Uint8Array, s: OracleSigner): Uint8Array {
  const target = sign1Of(decodeStrict(bytes, 'target'), 'target');
  const sp = signerHeader(s);
  const mine = [sp, new Map(), oracleSign(s, countersignStructure(target, sp))];
  const all = [...countersignaturesOf(target.unprotected.get(11)), mine];
  const unprotected = new Map(target.unprotected);
  unprotected.set(11, all.length === 1 ? mine : all);
  return encode(new Tag([target.prot, unprotected, target.payload, target.signature], 18));
}

// ═══ The tests ════════════════════════════════════════════════════════════════════════════════════════

const NOW = 1_800_000_000;
const ALGS: readonly SigningAlg[] = ['ed25519', 'p256', 'p384'];
const COSE_ALG_OF: Readonly<Record<SigningAlg, CoseAlg>> = { ed25519: -8, p256: -7, p384: -35 };
const next = (alg: SigningAlg, n = 1) => ALGS[(ALGS.indexOf(alg) + n) % ALGS.length] as SigningAlg;

/** One key pair, as our side holds it (SigningKey from PKCS#8 PEM) and as the oracle does (KeyObjects). */
interface Party {
  readonly ours: SigningKey;
  readonly pub: PublicKey;
  readonly oracle: OracleSigner;
}

function party(alg: SigningAlg): Party {
  const pair =
    alg === 'ed25519'
      ? generateKeyPairSync('ed25519')
      : generateKeyPairSync('ec', { namedCurve: alg === 'p256' ? 'P-256' : 'P-384' });
  const spki = new Uint8Array(pair.publicKey.export({ format: 'der', type: 'spki' }));
  const ours = parseSigningKey(Buffer.from(pair.privateKey.export({ format: 'pem', type: 'pkcs8' })));
  return { ours, pub: publicKeyOf(spki), oracle: { ...oracleKey(spki), privateKey: pair.privateKey } };
}

const HOST = `000b${'3c'.repeat(32)}`;

/** A root's claims using every claim of the format; `delegate` grants `to` one level below it. */
function rootClaims(to: Party, depth = 1): ArtifactClaims {
  return {
    iss: 'ops@example.org',
    sub: HOST,
    iat: NOW - 60,
    nbf: NOW - 30,
    exp: NOW + 3600,
    cti: randomBytes(16),
    scope: {
      exe: '/usr/bin/backup',
      sha256: randomBytes(32),
      argv: ['--full', '/srv'],
      cwd: '/srv',
      uid: 1000,
      env: ['HOME', 'PATH'],
      uses: 3,
      caller: '/usr/sbin/cron',
    },
    state: { bank: 'sha256', pcrs: [0, 7, 14], digest: randomBytes(32) },
    boot: 42,
    epoch: 3,
    gov: new Map([
      ['ticket', 'CHG-1234'],
      ['reason', 'nightly backup'],
    ]),
    delegate: { key: to.pub.spki, depth, scope: { exe: '/usr/bin/', uses: 5 } },
  };
}

/** A child's claims within `parent`'s grant; it delegates to `to` when given. */
function childClaims(parent: ArtifactClaims, exe: string, to?: Party): Omit<ArtifactClaims, 'parent'> {
  const { delegate: _, parent: __, ...rest } = parent;
  return {
    ...rest,
    iat: NOW - 10,
    nbf: NOW - 10,
    exp: NOW + 1800,
    cti: randomBytes(16),
    scope: { exe, sha256: randomBytes(32), uses: 2 },
    ...(to ? { delegate: { key: to.pub.spki, depth: 0, scope: { exe, uses: 2 } } } : {}),
  };
}

/** cbor-x's reading in plain types (Buffer → Uint8Array), for comparing with what was issued. */
function plain(v: unknown): unknown {
  if (isBytes(v)) return new Uint8Array(v);
  if (Array.isArray(v)) return v.map(plain);
  if (v instanceof Map) return new Map([...v].map(([k, x]) => [k, plain(x)]));
  return v;
}

/** The oracle's reading of an artifact's parts. */
const partsOf = (bytes: Uint8Array) => sign1Of(decodeStrict(bytes, 'artifact'), 'artifact');

/** Our strict deterministic reader accepts `bytes` and re-encodes them identically. */
function expectDeterministic(bytes: Uint8Array): void {
  expect(encodeCbor(decodeCbor(bytes, { tags: [18] }))).toStrictEqual(bytes);
}

beforeAll(() => initVerification());

describe('the oracle itself', () => {
  it('writes deterministic CBOR with cbor-x: map keys sorted by encoding, shortest heads', () => {
    const v = new Map<unknown, unknown>([
      ['scope', 1],
      [7, 'x'.repeat(24)],
      [-35, new Uint8Array(300)],
      [1, [2 ** 32 - 1, 65_536, 256, 24, 23, -24, -25]],
      [
        'a',
        new Map([
          ['zz', 1],
          ['b', 2],
        ]),
      ],
    ]);
    const bytes = encode(v);
    expectDeterministic(bytes);
    expect([...(decodeCbor(bytes, { tags: [] }) as Map<unknown, unknown>).keys()]).toStrictEqual([
      1,
      7,
      -35,
      'a',
      'scope',
    ]);
    // cbor-x alone keeps insertion order: the sort is what makes it deterministic.
    expect(() => decodeCbor(cxEncode(v), { tags: [] })).toThrow(/not in bytewise order/);
  });

  it('refuses what is not deterministic, though cbor-x reads it', () => {
    expect(() => decodeStrict(Uint8Array.from([0x18, 0x01]), 'x')).toThrow(/deterministic/); // 1 in 2 bytes
    expect(() => decodeStrict(Uint8Array.from([0xa2, 0x02, 0x00, 0x01, 0x00]), 'x')).toThrow(/deterministic/);
    expect(() => decodeStrict(Uint8Array.from([0xa2, 0x01, 0x00, 0x01, 0x01]), 'x')).toThrow(/deterministic/);
    expect(() => decodeStrict(Uint8Array.from([0x9f, 0x01, 0xff]), 'x')).toThrow(/deterministic/);
    expect(() => decodeStrict(Uint8Array.from([0x62, 0xc3, 0x28]), 'x')).toThrow(/deterministic/);
    expect(() => decodeStrict(Uint8Array.from([0x01, 0x00]), 'x')).toThrow(/not CBOR/);
  });
});

describe.each(ALGS)('issuer %s', (alg) => {
  const issuer = party(alg);
  const delegate1 = party(next(alg));
  const delegate2 = party(next(alg, 2));
  const approvers = [party(alg), party(next(alg))];
  const trust = [issuer.pub];
  const oracleTrust = [issuer.oracle];

  it('(a) an issued root: the oracle checks tag 18, alg, kid = SHA-256(SPKI), signature, and reads the claims', () => {
    const claims = rootClaims(delegate1);
    const bytes = issueArtifact(claims, issuer.ours);
    expect(bytes[0]).toBe(0xd2); // tag 18
    expect(hexOf(issuer.ours.kid)).toBe(hexOf(issuer.oracle.kid));
    const verdict = oracleVerify(bytes, { trust: oracleTrust, at: NOW });
    if (!verdict.ok) throw new Error(`oracle: ${verdict.why}`);
    const parts = partsOf(bytes);
    expect(parts.alg).toBe(COSE_ALG_OF[alg]);
    expect(hexOf(parts.kid)).toBe(hexOf(sha256(issuer.pub.spki)));
    expect(parts.unprotected.size).toBe(0);
    const read = plain(verdict.claims) as Map<unknown, unknown>;
    expect(read).toStrictEqual(plain(cwtMap(claims)));
    expect([...read.keys()].filter((k) => typeof k === 'number')).toStrictEqual([1, 2, 4, 5, 6, 7]);
    expect(new Set([...read.keys()].filter((k) => typeof k === 'string'))).toStrictEqual(
      new Set(['scope', 'state', 'boot', 'epoch', 'gov', 'delegate']),
    );
    // Not trusted, not yet valid, expired: the oracle's window and trust agree with ours.
    const cases = [
      { trust: [approvers[0] as Party], at: NOW },
      { trust: [issuer], at: NOW - 31 },
      { trust: [issuer], at: NOW + 3600 },
    ];
    for (const c of cases) {
      expect(oracleVerify(bytes, { trust: c.trust.map((p) => p.oracle), at: c.at }).ok).toBe(false);
      expect(verifyArtifact(bytes, { trust: c.trust.map((p) => p.pub), at: c.at }).ok).toBe(false);
    }
  });

  it('(a) a delegated chain of three with two approvals: the oracle verifies every link and countersignature', () => {
    const rc = rootClaims(delegate1);
    const root = issueArtifact(rc, issuer.ours);
    const cc = childClaims(rc, '/usr/bin/backup', delegate2);
    const child = delegateArtifact(root, cc, delegate1.ours);
    const gc = childClaims(cc as ArtifactClaims, '/usr/bin/backup');
    let bytes = delegateArtifact(child, gc, delegate2.ours);
    for (const a of approvers) bytes = approveArtifact(bytes, a.ours);
    const approvals = { approvers: approvers.map((a) => a.oracle), required: 2 };
    const verdict = oracleVerify(bytes, { trust: oracleTrust, approvals, at: NOW });
    if (!verdict.ok) throw new Error(`oracle: ${verdict.why}`);
    expect(new Set(verdict.approvedBy)).toStrictEqual(new Set(approvers.map((a) => hexOf(a.oracle.kid))));
    expect(plain(verdict.claims)).toStrictEqual(plain(cwtMap({ ...gc, parent: sha256(signedForm(child)) })));
    const chain = partsOf(bytes).unprotected.get('chain') as Uint8Array[];
    expect(chain.map(hexOf)).toStrictEqual([signedForm(root), signedForm(child)].map(hexOf));
    expect(countersignaturesOf(partsOf(bytes).unprotected.get(11)).length).toBe(2);
    const ours = verifyArtifact(bytes, {
      trust,
      approvals: { approvers: approvers.map((a) => a.pub), required: 2 },
      at: NOW,
    });
    expect(ours).toMatchObject({ ok: true });
    // One approver short, or one outside the set: both refuse.
    expect(
      oracleVerify(bytes, { trust: oracleTrust, approvals: { ...approvals, required: 3 }, at: NOW }).ok,
    ).toBe(false);
    const fewer = { approvers: [approvals.approvers[0] as OracleKey], required: 1 };
    expect(oracleVerify(bytes, { trust: oracleTrust, approvals: fewer, at: NOW })).toMatchObject({
      ok: false,
      why: 'countersignature 1: not an approver',
    });
    expect(
      verifyArtifact(bytes, {
        trust,
        approvals: { approvers: [approvers[0]?.pub as PublicKey], required: 1 },
        at: NOW,
      }),
    ).toMatchObject({ ok: false, code: 'E_APPROVAL' });
  });

  it('(b) a root built by the oracle verifies with verifyArtifact and decodes to the claims written', () => {
    const claims = rootClaims(delegate1);
    const bytes = oracleIssue(cwtMap(claims), issuer.oracle);
    expectDeterministic(bytes);
    const verdict = verifyArtifact(bytes, { trust, at: NOW });
    if (!verdict.ok) throw new Error(`${verdict.code}: ${verdict.detail}`);
    expect(verdict.artifact.claims).toStrictEqual(claims);
    expect(verdict.artifact.alg).toBe(alg);
    expect(hexOf(verdict.artifact.kid)).toBe(hexOf(issuer.oracle.kid));
    expect(hexOf(verdict.artifact.digest)).toBe(hexOf(sha256(bytes)));
  });

  it('(b) an oracle chain of three with oracle countersignatures: verifyArtifact counts them as approvals', () => {
    const rc = rootClaims(delegate1);
    const root = oracleIssue(cwtMap(rc), issuer.oracle);
    const cc = childClaims(rc, '/usr/bin/backup', delegate2);
    const child = oracleDelegate(root, cwtMap(cc as ArtifactClaims), delegate1.oracle);
    const gc = childClaims(cc as ArtifactClaims, '/usr/bin/backup');
    let bytes = oracleDelegate(child, cwtMap(gc as ArtifactClaims), delegate2.oracle);
    for (const a of approvers) bytes = oracleCountersign(bytes, a.oracle);
    expectDeterministic(bytes);
    const policy = { approvers: approvers.map((a) => a.pub), required: 2 };
    const verdict = verifyArtifact(bytes, { trust, approvals: policy, at: NOW });
    if (!verdict.ok) throw new Error(`${verdict.code}: ${verdict.detail}`);
    expect(verdict.approvedBy).toStrictEqual(approvers.map((a) => hexOf(a.ours.kid)));
    expect(verdict.artifact.chain.length).toBe(2);
    expect(verdict.artifact.claims).toStrictEqual({ ...gc, parent: sha256(signedForm(child)) });
    // Our digest of a link is the oracle's: SHA-256 of its signed form.
    expect(verdict.artifact.chain.map((l) => hexOf(l.digest))).toStrictEqual(
      [root, child].map((b) => hexOf(sha256(signedForm(b)))),
    );
    expect(
      oracleVerify(bytes, {
        trust: oracleTrust,
        approvals: { approvers: approvers.map((a) => a.oracle), required: 2 },
        at: NOW,
      }).ok,
    ).toBe(true);
    // Our approver adds a third countersignature to the oracle's two; the oracle verifies it.
    const third = party(next(alg, 2));
    const more = approveArtifact(bytes, third.ours);
    const all = [...approvers, third];
    expect(
      oracleVerify(more, {
        trust: oracleTrust,
        approvals: { approvers: all.map((a) => a.oracle), required: 3 },
        at: NOW,
      }).ok,
    ).toBe(true);
    expect(
      verifyArtifact(more, { trust, approvals: { approvers: all.map((a) => a.pub), required: 3 }, at: NOW }),
    ).toMatchObject({ ok: true });
  });

  it("countersignatures cross over: the oracle's on our artifact count, ours on the oracle's verify there", () => {
    const ourRoot = issueArtifact(rootClaims(delegate1), issuer.ours);
    const withOracle = oracleCountersign(ourRoot, (approvers[0] as Party).oracle);
    const mixed = approveArtifact(withOracle, (approvers[1] as Party).ours);
    const policy = { approvers: approvers.map((a) => a.pub), required: 2 };
    expect(
      verifyArtifact(withOracle, { trust, approvals: { ...policy, required: 1 }, at: NOW }),
    ).toMatchObject({
      ok: true,
      approvedBy: [hexOf((approvers[0] as Party).ours.kid)],
    });
    expect(verifyArtifact(mixed, { trust, approvals: policy, at: NOW })).toMatchObject({ ok: true });
    const oracleRoot = oracleIssue(cwtMap(rootClaims(delegate1)), issuer.oracle);
    const ourCs = approveArtifact(oracleRoot, (approvers[1] as Party).ours);
    const ov = oracleVerify(ourCs, {
      trust: oracleTrust,
      approvals: { approvers: approvers.map((a) => a.oracle), required: 1 },
      at: NOW,
    });
    expect(ov).toMatchObject({ ok: true, approvedBy: [hexOf((approvers[1] as Party).oracle.kid)] });
    // A countersignature is bound to the artifact's signature: moved onto another artifact it fails in both.
    const moved = oracleCountersign(ourRoot, (approvers[0] as Party).oracle);
    const cs = partsOf(moved).unprotected.get(11);
    const target = partsOf(oracleRoot);
    const grafted = encode(new Tag([target.prot, new Map([[11, cs]]), target.payload, target.signature], 18));
    expect(verifyArtifact(grafted, { trust, approvals: { ...policy, required: 1 }, at: NOW })).toMatchObject({
      ok: false,
      code: 'E_APPROVAL',
    });
    expect(
      oracleVerify(grafted, {
        trust: oracleTrust,
        approvals: { approvers: approvers.map((a) => a.oracle), required: 1 },
        at: NOW,
      }),
    ).toMatchObject({ ok: false, why: 'countersignature 0: bad countersignature' });
  });
});

describe('both ways, across algorithms', () => {
  it('an extra claim is refused by both (fail closed): E_FORMAT naming it', () => {
    const issuer = party('ed25519');
    const claims = cwtMap(rootClaims(party('p256')));
    claims.set('color', 'red');
    const bytes = oracleIssue(claims, issuer.oracle);
    expect(verifyArtifact(bytes, { trust: [issuer.pub], at: NOW })).toMatchObject({
      ok: false,
      code: 'E_FORMAT',
      detail: expect.stringContaining('"color"'),
    });
    expect(oracleVerify(bytes, { trust: [issuer.oracle], at: NOW })).toMatchObject({
      ok: false,
      why: 'artifact: unknown claim color',
    });
  });

  it('oracle-built artifacts of all three algorithms verify in one verifyArtifacts batch', () => {
    const issuers = ALGS.map(party);
    const list = issuers.map((p) => oracleIssue(cwtMap(rootClaims(p)), p.oracle));
    const verdicts = verifyArtifacts(list, { trust: issuers.map((p) => p.pub), at: NOW });
    expect(verdicts.map((v) => (v.ok ? v.artifact.alg : v.code))).toStrictEqual(ALGS);
    const bad = list.map((b) => b.slice());
    for (const b of bad) b[b.length - 1] = (b[b.length - 1] as number) ^ 1; // the signature's last byte
    expect(
      verifyArtifacts(bad, { trust: issuers.map((p) => p.pub), at: NOW }).map((v) => v.ok),
    ).toStrictEqual([false, false, false]);
  });

  it('200 seeded single-byte mutations of an issued artifact: the oracle and verifyArtifact agree', () => {
    console.info(`[oracle mutations] EXECGATE_TEST_SEED=${TEST_SEED} repeats these mutations`);
    const issuer = party('ed25519');
    const d1 = party('p256');
    const d2 = party('p384');
    const approvers = [party('ed25519'), party('p256')];
    const rc = rootClaims(d1);
    const cc = childClaims(rc, '/usr/bin/backup', d2);
    const child = delegateArtifact(issueArtifact(rc, issuer.ours), cc, d1.ours);
    const gc = childClaims(cc as ArtifactClaims, '/usr/bin/backup');
    // One approval made by us, one by the oracle.
    const base = oracleCountersign(
      approveArtifact(delegateArtifact(child, gc, d2.ours), (approvers[0] as Party).ours),
      (approvers[1] as Party).oracle,
    );
    const ours = {
      trust: [issuer.pub],
      approvals: { approvers: approvers.map((a) => a.pub), required: 2 },
      at: NOW,
    };
    const oracle = {
      trust: [issuer.oracle],
      approvals: { approvers: approvers.map((a) => a.oracle), required: 2 },
      at: NOW,
    };
    expect(verifyArtifact(base, ours).ok).toBe(true);
    expect(oracleVerify(base, oracle).ok).toBe(true);
    const mutants = Array.from({ length: 200 }, () => {
      const at = randomInt(base.length);
      const m = base.slice();
      m[at] = (m[at] as number) ^ (1 + randomInt(255));
      return { at, m };
    });
    // Ours in one batch (verifyArtifact is verifyArtifacts of one); the oracle one by one.
    const verdicts = verifyArtifacts(
      mutants.map((x) => x.m),
      ours,
    );
    const disagreements: string[] = [];
    let accepted = 0;
    for (const [i, { at, m }] of mutants.entries()) {
      const a = verdicts[i] as ArtifactVerdict;
      const b = oracleVerify(m, oracle);
      if (a.ok || b.ok) accepted++;
      if (a.ok !== b.ok)
        disagreements.push(
          `byte ${at}: ${base[at]} → ${m[at]}: ours ${a.ok ? 'ok' : `${a.code} ${a.detail}`}, oracle ${b.ok ? 'ok' : b.why}`,
        );
    }
    // The batch and the single call agree (on a sample: the single call is the slow path).
    for (const { m } of mutants.slice(0, 20))
      expect(verifyArtifact(m, ours).ok).toBe(oracleVerify(m, oracle).ok);
    expect(disagreements).toStrictEqual([]);
    expect(accepted).toBe(0);
  });
});
