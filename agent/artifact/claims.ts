// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/artifact/claims
 *
 * The CWT claims set (RFC 8392) an artifact carries, declared once (CLAIMS, SCOPE_FIELDS, …) and both
 * decoded and encoded from that declaration. Decoding is closed: a key that is not declared is E_FORMAT
 * naming it, at every level, so an issuer cannot add a restriction a verifier would silently ignore.
 * The CDDL is in README.md ("Artifact format").
 */
import { publicKeyOf } from '../crypto/keys.js';
import type { CborKey, CborMap, CborValue } from '../encoding/cbor.js';
import { ExecgateError } from '../errors.js';
import { ArtifactError } from './errors.js';

/** What an execution may be. In a delegate grant, `exe` ending in "/" is a directory prefix and `sha256` may be absent. */
export interface Scope {
  /** Absolute, normalised path of the executable. */
  readonly exe: string;
  /** SHA-256 of the executable's bytes (required in an artifact's own scope). */
  readonly sha256?: Uint8Array;
  /** Exactly argv[1..]; absent: any arguments. */
  readonly argv?: readonly string[];
  readonly cwd?: string;
  readonly uid?: number;
  /** Environment variable names the execution may carry (ascending, unique); absent: not restricted. */
  readonly env?: readonly string[];
  /** How many executions the artifact allows (default 1). */
  readonly uses?: number;
  /** Absolute path of the executable of the gated ancestor execution this one must run under. */
  readonly caller?: string;
}

/** The measured state an artifact is bound to: PCR values (as a SHA-256 quote's pcrDigest) or a reference. */
export type StateBinding =
  | { readonly bank: 'sha256'; readonly pcrs: readonly number[]; readonly digest: Uint8Array }
  | { readonly ref: Uint8Array };

/** The grant to issue children: who signs them, how many levels deep, how wide at most. */
export interface DelegateGrant {
  /** DER SubjectPublicKeyInfo of the delegate's key. */
  readonly key: Uint8Array;
  /** Delegation levels allowed below a child (0: children may not delegate). */
  readonly depth: number;
  readonly scope: Scope;
}

export interface ArtifactClaims {
  readonly iss: string;
  /** Lowercase hex AK Name of the target host, or "group:NAME". */
  readonly sub: string;
  readonly exp: number;
  readonly nbf?: number;
  readonly iat: number;
  readonly cti: Uint8Array;
  readonly scope: Scope;
  readonly state?: StateBinding;
  /** The TPM resetCount the artifact is valid for. */
  readonly boot?: number;
  /** The lowest host revocation epoch it is valid at. */
  readonly epoch?: number;
  readonly gov?: ReadonlyMap<string, string>;
  /** SHA-256 digest (artifactDigest) of the parent artifact. */
  readonly parent?: Uint8Array;
  readonly delegate?: DelegateGrant;
}

/** CWT claim keys (RFC 8392 §4), and ours (text). */
export const CLAIM_KEY = {
  iss: 1,
  sub: 2,
  exp: 4,
  nbf: 5,
  iat: 6,
  cti: 7,
  scope: 'scope',
  state: 'state',
  boot: 'boot',
  epoch: 'epoch',
  gov: 'gov',
  parent: 'parent',
  delegate: 'delegate',
} as const satisfies Record<keyof ArtifactClaims, CborKey>;

export const LIMITS = {
  path: 4096,
  argv: 4096,
  arg: 131_072,
  env: 1024,
  gov: 64,
  text: 1024,
  ctiMin: 16,
  ctiMax: 64,
  depth: 8,
} as const;

const bad = (what: string): never => {
  throw new ArtifactError('E_FORMAT', what);
};

// ── Typed readers: one per CBOR shape, each naming the claim path on failure ──────────────────────────

/** The map's entries by declared key; an undeclared key is E_FORMAT naming it. */
function entries(v: CborValue | undefined, path: string, keys: readonly CborKey[]): CborMap {
  if (!(v instanceof Map)) return bad(`${path} is not a map`);
  for (const k of v.keys()) if (!keys.includes(k)) bad(`${path}: unknown claim ${JSON.stringify(String(k))}`);
  return v;
}

function text(v: CborValue | undefined, path: string, max: number = LIMITS.text): string {
  if (typeof v !== 'string') return bad(`${path} is not text`);
  if (v.length === 0 || v.length > max) bad(`${path} must have 1 to ${max} characters`);
  if (v.includes('\0')) bad(`${path} contains NUL`);
  return v;
}

function uint(v: CborValue | undefined, path: string, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > max)
    return bad(`${path} is not an integer from 0 to ${max}`);
  return v;
}

function bytes(v: CborValue | undefined, path: string, min: number, max = min): Uint8Array {
  if (!(v instanceof Uint8Array)) return bad(`${path} is not a byte string`);
  if (v.length < min || v.length > max)
    bad(`${path} must be ${min === max ? min : `${min} to ${max}`} bytes, got ${v.length}`);
  return v;
}

function array(v: CborValue | undefined, path: string, max: number): readonly CborValue[] {
  if (!Array.isArray(v)) return bad(`${path} is not an array`);
  if (v.length > max) bad(`${path} has more than ${max} entries`);
  return v;
}

/** An absolute path in normal form: no empty, "." or ".." segment, no trailing "/" unless `prefix`. */
export function checkPath(p: string, path: string, opts: { prefix?: boolean } = {}): string {
  if (!p.startsWith('/')) bad(`${path} must be an absolute path, got ${JSON.stringify(p)}`);
  const body = opts.prefix && p.endsWith('/') ? p.slice(0, -1) : p;
  const segments = body.split('/').slice(1);
  if (body !== '' && segments.some((s) => s === '' || s === '.' || s === '..'))
    bad(
      `${path} is not a normalised path (no "//", "." or ".." segments, no trailing "/"): ${JSON.stringify(p)}`,
    );
  if (body === '' && !opts.prefix) bad(`${path} is not a file: "/"`);
  return p;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Ascending, unique: one encoding per set, and a subset check by merge. */
function ascending(values: readonly string[], path: string): void {
  for (let i = 1; i < values.length; i++)
    if (!((values[i - 1] as string) < (values[i] as string))) bad(`${path} must be ascending and unique`);
}

// ── Scope ─────────────────────────────────────────────────────────────────────────────────────────────

const SCOPE_KEYS = ['exe', 'sha256', 'argv', 'cwd', 'uid', 'env', 'uses', 'caller'] as const;

/** A scope (grant: exe may be a directory prefix and sha256 absent). */
export function decodeScope(v: CborValue | undefined, path: string, grant: boolean): Scope {
  const m = entries(v, path, SCOPE_KEYS);
  const exe = checkPath(text(m.get('exe'), `${path}.exe`, LIMITS.path), `${path}.exe`, { prefix: grant });
  const out: { -readonly [K in keyof Scope]: Scope[K] } = { exe };
  if (m.has('sha256')) out.sha256 = bytes(m.get('sha256'), `${path}.sha256`, 32);
  else if (!grant) bad(`${path}.sha256 is required`);
  if (!grant && exe.endsWith('/')) bad(`${path}.exe names a directory`);
  if (m.has('argv'))
    out.argv = array(m.get('argv'), `${path}.argv`, LIMITS.argv).map((a, i) => {
      if (typeof a !== 'string') return bad(`${path}.argv[${i}] is not text`);
      if (a.length > LIMITS.arg || a.includes('\0')) bad(`${path}.argv[${i}] is too long or contains NUL`);
      return a;
    });
  if (m.has('cwd')) out.cwd = checkPath(text(m.get('cwd'), `${path}.cwd`, LIMITS.path), `${path}.cwd`);
  if (m.has('uid')) out.uid = uint(m.get('uid'), `${path}.uid`, 0xfffffffe);
  if (m.has('env')) {
    const env = array(m.get('env'), `${path}.env`, LIMITS.env).map((e, i) => {
      const name = text(e, `${path}.env[${i}]`, 255);
      if (!ENV_NAME.test(name)) bad(`${path}.env[${i}] is not a variable name: ${JSON.stringify(name)}`);
      return name;
    });
    ascending(env, `${path}.env`);
    out.env = env;
  }
  if (m.has('uses')) {
    out.uses = uint(m.get('uses'), `${path}.uses`, 0xffffffff);
    if (out.uses === 0) bad(`${path}.uses must be at least 1`);
  }
  if (m.has('caller'))
    out.caller = checkPath(text(m.get('caller'), `${path}.caller`, LIMITS.path), `${path}.caller`);
  return out;
}

export function encodeScope(s: Scope): CborMap {
  const m = new Map<CborKey, CborValue>([['exe', s.exe]]);
  if (s.sha256) m.set('sha256', s.sha256);
  if (s.argv) m.set('argv', [...s.argv]);
  if (s.cwd !== undefined) m.set('cwd', s.cwd);
  if (s.uid !== undefined) m.set('uid', s.uid);
  if (s.env) m.set('env', [...s.env]);
  if (s.uses !== undefined) m.set('uses', s.uses);
  if (s.caller !== undefined) m.set('caller', s.caller);
  return m;
}

// ── State, delegate grant, governance ─────────────────────────────────────────────────────────────────

function decodeState(v: CborValue | undefined, path: string): StateBinding {
  if (v instanceof Map && v.has('ref')) {
    const m = entries(v, path, ['ref']);
    return { ref: bytes(m.get('ref'), `${path}.ref`, 32) };
  }
  const m = entries(v, path, ['bank', 'pcrs', 'digest']);
  if (m.get('bank') !== 'sha256') bad(`${path}.bank must be "sha256"`);
  const pcrs = array(m.get('pcrs'), `${path}.pcrs`, 24).map((p, i) => uint(p, `${path}.pcrs[${i}]`, 23));
  if (pcrs.length === 0) bad(`${path}.pcrs is empty`);
  for (let i = 1; i < pcrs.length; i++)
    if ((pcrs[i - 1] as number) >= (pcrs[i] as number)) bad(`${path}.pcrs must be ascending and unique`);
  return { bank: 'sha256', pcrs, digest: bytes(m.get('digest'), `${path}.digest`, 32) };
}

function encodeState(s: StateBinding): CborMap {
  if ('ref' in s) return new Map([['ref', s.ref]]);
  return new Map<CborKey, CborValue>([
    ['bank', s.bank],
    ['pcrs', [...s.pcrs]],
    ['digest', s.digest],
  ]);
}

function decodeDelegate(v: CborValue | undefined, path: string): DelegateGrant {
  const m = entries(v, path, ['key', 'depth', 'scope']);
  const key = bytes(m.get('key'), `${path}.key`, 1, 1024);
  try {
    publicKeyOf(key, `${path}.key`);
  } catch (e) {
    if (e instanceof ExecgateError) bad(e.message);
    throw e;
  }
  return {
    key,
    depth: uint(m.get('depth'), `${path}.depth`, LIMITS.depth),
    scope: decodeScope(m.get('scope'), `${path}.scope`, true),
  };
}

function decodeGov(v: CborValue | undefined, path: string): ReadonlyMap<string, string> {
  if (!(v instanceof Map)) return bad(`${path} is not a map`);
  if (v.size > LIMITS.gov) bad(`${path} has more than ${LIMITS.gov} entries`);
  const out = new Map<string, string>();
  for (const [k, val] of v) {
    if (typeof k !== 'string') bad(`${path}: keys are text`);
    out.set(text(k, `${path} key`), text(val, `${path}.${String(k)}`));
  }
  return out;
}

// ── The claims set ────────────────────────────────────────────────────────────────────────────────────

const SUB = /^(?:000b[0-9a-f]{64}|000c[0-9a-f]{96}|000d[0-9a-f]{128}|group:[A-Za-z0-9._-]{1,64})$/;

/** Whether `sub` names a host (AK Name, SHA-256/384/512) or a group, in the one accepted spelling. */
export function isSubject(sub: string): boolean {
  return SUB.test(sub);
}

/** The claims of an artifact's payload map; E_FORMAT for anything undeclared, missing or malformed. */
export function decodeClaims(v: CborValue): ArtifactClaims {
  const m = entries(v, 'claims', Object.values(CLAIM_KEY));
  const sub = text(m.get(CLAIM_KEY.sub), 'sub', 200);
  if (!isSubject(sub)) bad(`sub must be a lowercase hex AK Name or "group:NAME", got ${JSON.stringify(sub)}`);
  const out: { -readonly [K in keyof ArtifactClaims]: ArtifactClaims[K] } = {
    iss: text(m.get(CLAIM_KEY.iss), 'iss', 256),
    sub,
    exp: uint(m.get(CLAIM_KEY.exp), 'exp'),
    iat: uint(m.get(CLAIM_KEY.iat), 'iat'),
    cti: bytes(m.get(CLAIM_KEY.cti), 'cti', LIMITS.ctiMin, LIMITS.ctiMax),
    scope: decodeScope(m.get(CLAIM_KEY.scope), 'scope', false),
  };
  if (m.has(CLAIM_KEY.nbf)) out.nbf = uint(m.get(CLAIM_KEY.nbf), 'nbf');
  if (out.exp <= (out.nbf ?? out.iat)) bad('exp must be later than nbf (or iat)');
  if (m.has(CLAIM_KEY.state)) out.state = decodeState(m.get(CLAIM_KEY.state), 'state');
  if (m.has(CLAIM_KEY.boot)) out.boot = uint(m.get(CLAIM_KEY.boot), 'boot', 0xffffffff);
  if (m.has(CLAIM_KEY.epoch)) out.epoch = uint(m.get(CLAIM_KEY.epoch), 'epoch');
  if (m.has(CLAIM_KEY.gov)) out.gov = decodeGov(m.get(CLAIM_KEY.gov), 'gov');
  if (m.has(CLAIM_KEY.parent)) out.parent = bytes(m.get(CLAIM_KEY.parent), 'parent', 32);
  if (m.has(CLAIM_KEY.delegate)) out.delegate = decodeDelegate(m.get(CLAIM_KEY.delegate), 'delegate');
  return out;
}

/** The payload map of `c` (deterministic order comes from the encoder). */
export function encodeClaims(c: ArtifactClaims): CborMap {
  const m = new Map<CborKey, CborValue>([
    [CLAIM_KEY.iss, c.iss],
    [CLAIM_KEY.sub, c.sub],
    [CLAIM_KEY.exp, c.exp],
    [CLAIM_KEY.iat, c.iat],
    [CLAIM_KEY.cti, c.cti],
    [CLAIM_KEY.scope, encodeScope(c.scope)],
  ]);
  if (c.nbf !== undefined) m.set(CLAIM_KEY.nbf, c.nbf);
  if (c.state) m.set(CLAIM_KEY.state, encodeState(c.state));
  if (c.boot !== undefined) m.set(CLAIM_KEY.boot, c.boot);
  if (c.epoch !== undefined) m.set(CLAIM_KEY.epoch, c.epoch);
  if (c.gov) m.set(CLAIM_KEY.gov, new Map(c.gov));
  if (c.parent) m.set(CLAIM_KEY.parent, c.parent);
  if (c.delegate)
    m.set(
      CLAIM_KEY.delegate,
      new Map<CborKey, CborValue>([
        ['key', c.delegate.key],
        ['depth', c.delegate.depth],
        ['scope', encodeScope(c.delegate.scope)],
      ]),
    );
  return m;
}
