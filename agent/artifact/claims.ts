// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/artifact/claims
 *
 * The CWT claims set (RFC 8392) an artifact carries, declared once (CLAIMS, SCOPE, …, with
 * encoding/cbor-schema.ts) and both decoded and encoded from that declaration. Decoding is closed: a key that is not declared is E_FORMAT
 * naming it, at every level, so an issuer cannot add a restriction a verifier would silently ignore.
 * The CDDL is in docs/formats.md ("Artifact format").
 */
import { publicKeyOf } from '../crypto/public-key.js';
import type { CborKey, CborMap, CborValue } from '../encoding/cbor.js';
import {
  bytes,
  type Codec,
  list,
  literal,
  optional,
  record,
  refine,
  required,
  SchemaError,
  text,
  textMap,
  uint,
} from '../encoding/cbor-schema.js';
import { ExecgateError } from '../errors.js';
import { isSecretName, MAX_SECRETS_PER_ARTIFACT, secretFdVariable } from '../secrets/name.js';
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
  /**
   * Names of secrets sealed on the host that the execution receives (issue 17; ascending, unique). In a
   * delegation chain each must be named by every ancestor too.
   */
  readonly secrets?: readonly string[];
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
  secrets: 'secrets',
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

const MAX_TIME = Number.MAX_SAFE_INTEGER;

/**
 * Why `p` is not an absolute path in normal form (no empty, "." or ".." segment; a trailing "/" only as
 * a directory prefix); `root` lets "/" itself through (a working directory), `prefix` any "DIR/".
 */
export function pathProblem(
  p: string,
  path: string,
  opts: { prefix?: boolean; root?: boolean } = {},
): string | undefined {
  if (!p.startsWith('/')) return `${path} must be an absolute path, got ${JSON.stringify(p)}`;
  const body = opts.prefix && p.endsWith('/') ? p.slice(0, -1) : p;
  if (body === '' || p === '/') return opts.prefix || opts.root ? undefined : `${path} is not a file: "/"`;
  if (
    body
      .split('/')
      .slice(1)
      .some((s) => s === '' || s === '.' || s === '..')
  )
    return `${path} is not a normalised path (no "//", "." or ".." segments, no trailing "/"): ${JSON.stringify(p)}`;
  return undefined;
}

const filePath = refine(text(LIMITS.path), (p, path) => pathProblem(p, path));
const dirPath = refine(text(LIMITS.path), (p, path) => pathProblem(p, path, { root: true }));
const exePrefix = refine(text(LIMITS.path), (p, path) => pathProblem(p, path, { prefix: true }));
const ascending = (a: string, b: string) => (a < b ? -1 : a === b ? 0 : 1);
const envName = refine(text(255), (n, path) =>
  /^[A-Za-z_][A-Za-z0-9_]*$/.test(n) ? undefined : `${path} is not a variable name: ${JSON.stringify(n)}`,
);
/** One argument: any text (an empty argument is one), bounded, without NUL (execve could not pass it). */
const arg: Codec<string> = {
  decode(v, path) {
    if (typeof v !== 'string') throw new SchemaError(`${path} is not text`);
    if (v.length > LIMITS.arg || v.includes('\0'))
      throw new SchemaError(`${path} is too long or contains NUL`);
    return v;
  },
  encode: (x) => x,
};

/** The fields of a scope; `exe` is a file in an artifact's scope and may be a prefix in a grant. */
function scopeFields(exe: Codec<string>) {
  return record<Scope>({
    exe: required('exe', exe),
    sha256: optional('sha256', bytes(32)),
    argv: optional('argv', list(arg, LIMITS.argv)),
    cwd: optional('cwd', dirPath),
    uid: optional('uid', uint(0, 0xfffffffe)),
    env: optional('env', list(envName, LIMITS.env, ascending)),
    uses: optional('uses', uint(1, 0xffffffff)),
    caller: optional('caller', filePath),
  });
}

/** An artifact's own scope: a file and its digest. */
export const SCOPE: Codec<Scope> = refine(scopeFields(filePath), (s, path) =>
  s.sha256 ? undefined : `${path}.sha256 is required`,
);
/** The widest scope a delegate's children may have. */
export const GRANT_SCOPE: Codec<Scope> = scopeFields(exePrefix);

const PCR_STATE = record<{ bank: 'sha256'; pcrs: readonly number[]; digest: Uint8Array }>({
  bank: required('bank', literal('sha256')),
  pcrs: required(
    'pcrs',
    refine(
      list(uint(0, 23), 24, (a, b) => a - b),
      (p, path) => (p.length ? undefined : `${path} is empty`),
    ),
  ),
  digest: required('digest', bytes(32)),
});
const REF_STATE = record<{ ref: Uint8Array }>({ ref: required('ref', bytes(32)) });

export const STATE: Codec<StateBinding> = {
  decode: (v, path) => (v instanceof Map && v.has('ref') ? REF_STATE : PCR_STATE).decode(v, path),
  encode: (s) => ('ref' in s ? REF_STATE.encode(s) : PCR_STATE.encode(s)),
};

const SPKI = refine(bytes(1, 1024), (key, path) => {
  try {
    publicKeyOf(key, path);
    return undefined;
  } catch (e) {
    if (e instanceof ExecgateError) return e.message;
    throw e;
  }
});

export const DELEGATE: Codec<DelegateGrant> = record<DelegateGrant>({
  key: required('key', SPKI),
  depth: required('depth', uint(0, LIMITS.depth)),
  scope: required('scope', GRANT_SCOPE),
});

const secretName = refine(text(64), (n, path) =>
  isSecretName(n) ? undefined : `${path} is not a secret name ([a-z0-9_-]{1,64}): ${JSON.stringify(n)}`,
);
// Two names the descriptor variable does not tell apart (a-b, a_b): the command could read only one.
const SECRETS = refine(list(secretName, MAX_SECRETS_PER_ARTIFACT, ascending), (l, path) =>
  !l.length
    ? `${path} is empty`
    : new Set(l.map(secretFdVariable)).size < l.length
      ? `${path} names two secrets of one descriptor variable ("-" and "_" are the same there)`
      : undefined,
);

const SUB = /^(?:000b[0-9a-f]{64}|000c[0-9a-f]{96}|000d[0-9a-f]{128}|group:[A-Za-z0-9._-]{1,64})$/;

/** Whether `sub` names a host (AK Name, SHA-256/384/512) or a group, in the one accepted spelling. */
export function isSubject(sub: string): boolean {
  return SUB.test(sub);
}

const time = uint(0, MAX_TIME);

export const CLAIMS: Codec<ArtifactClaims> = refine(
  record<ArtifactClaims>({
    iss: required(CLAIM_KEY.iss, text(256)),
    sub: required(
      CLAIM_KEY.sub,
      refine(text(200), (s, path) =>
        isSubject(s)
          ? undefined
          : `${path} must be a lowercase hex AK Name or "group:NAME", got ${JSON.stringify(s)}`,
      ),
    ),
    exp: required(CLAIM_KEY.exp, time),
    nbf: optional(CLAIM_KEY.nbf, time),
    iat: required(CLAIM_KEY.iat, time),
    cti: required(CLAIM_KEY.cti, bytes(LIMITS.ctiMin, LIMITS.ctiMax)),
    scope: required(CLAIM_KEY.scope, SCOPE),
    state: optional(CLAIM_KEY.state, STATE),
    boot: optional(CLAIM_KEY.boot, uint(0, 0xffffffff)),
    epoch: optional(CLAIM_KEY.epoch, time),
    gov: optional(CLAIM_KEY.gov, textMap(text(LIMITS.text), text(LIMITS.text), LIMITS.gov)),
    parent: optional(CLAIM_KEY.parent, bytes(32)),
    delegate: optional(CLAIM_KEY.delegate, DELEGATE),
    secrets: optional(CLAIM_KEY.secrets, SECRETS),
  }),
  (c) => (c.exp > (c.nbf ?? c.iat) ? undefined : 'exp must be later than nbf (or iat)'),
);

/** Schema failures are E_FORMAT at this layer. */
function asFormat<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof SchemaError) throw new ArtifactError('E_FORMAT', e.message, { cause: e });
    throw e;
  }
}

/** The claims of an artifact's payload map; E_FORMAT for anything undeclared, missing or malformed. */
export function decodeClaims(v: CborValue): ArtifactClaims {
  return asFormat(() => CLAIMS.decode(v, ''));
}

/** The payload map of `c`; E_FORMAT when `c` breaks a rule the reader would refuse. */
export function encodeClaims(c: ArtifactClaims): CborMap {
  return asFormat(() => CLAIMS.encode(c) as CborMap);
}
