// SPDX-License-Identifier: Apache-2.0
// The claims schema (agent/artifact/claims.ts over encoding/cbor-schema.ts): closed at every level, each
// rule refused with E_FORMAT naming the claim path, and encode/decode derived from one declaration.
import { describe, expect, it } from 'vitest';
import { type ArtifactClaims, decodeClaims, encodeClaims, pathProblem } from '../../agent/artifact/claims.js';
import { generateSigningKey, parseSigningKey } from '../../agent/crypto/keys.js';
import { type CborKey, type CborValue, decodeCbor, encodeCbor } from '../../agent/encoding/cbor.js';

const delegateKey = parseSigningKey(Buffer.from(generateSigningKey('ed25519').privatePem)).spki;

const full: ArtifactClaims = {
  iss: 'ops',
  sub: `000b${'0f'.repeat(32)}`,
  exp: 2000,
  nbf: 1000,
  iat: 999,
  cti: new Uint8Array(16).fill(9),
  scope: {
    exe: '/usr/bin/env',
    sha256: new Uint8Array(32).fill(1),
    argv: ['', '-i', 'x y'],
    cwd: '/srv',
    uid: 0,
    env: ['HOME', 'PATH'],
    uses: 3,
    caller: '/usr/bin/make',
  },
  state: { bank: 'sha256', pcrs: [0, 7, 14], digest: new Uint8Array(32).fill(2) },
  boot: 12,
  epoch: 4,
  gov: new Map([
    ['ticket', 'CHG-1'],
    ['__proto__', 'data, not a prototype'],
  ]),
  parent: new Uint8Array(32).fill(3),
  delegate: { key: delegateKey, depth: 2, scope: { exe: '/usr/bin/', env: ['PATH'] } },
};

/** The payload map of `full` with `edit` applied to the map at `path` (CBOR keys). */
function edited(path: CborKey[], edit: (m: Map<CborKey, CborValue>) => void): CborValue {
  const root = decodeCbor(encodeCbor(encodeClaims(full)), { tags: [] }) as Map<CborKey, CborValue>;
  let m = root;
  for (const k of path) m = m.get(k) as Map<CborKey, CborValue>;
  edit(m);
  return root;
}

const refused = (v: CborValue) => {
  try {
    decodeClaims(v);
  } catch (e) {
    return `${(e as { code: string }).code}: ${(e as Error).message}`;
  }
  return 'accepted';
};

describe('artifact claims', () => {
  it('every claim round-trips through the one declaration; the minimal set too', () => {
    const back = decodeClaims(decodeCbor(encodeCbor(encodeClaims(full)), { tags: [] }));
    expect(back).toEqual(full);
    const { iss, sub, exp, iat, cti } = full;
    const minimal: ArtifactClaims = {
      iss,
      sub,
      exp,
      iat,
      cti,
      scope: { exe: '/bin/true', sha256: new Uint8Array(32) },
    };
    expect(decodeClaims(encodeClaims(minimal))).toEqual(minimal);
    expect([...encodeClaims(minimal).keys()]).toEqual([1, 2, 4, 6, 7, 'scope']);
  });

  it('an unknown key at any level is E_FORMAT naming it', () => {
    expect(refused(edited([], (m) => m.set(3, 'aud')))).toMatch(/^E_FORMAT: unknown key "3"$/);
    expect(refused(edited(['scope'], (m) => m.set('path', '/x')))).toMatch(
      /^E_FORMAT: scope: unknown key "path"/,
    );
    expect(refused(edited(['state'], (m) => m.set('alg', 1)))).toMatch(/^E_FORMAT: state: unknown key "alg"/);
    expect(refused(edited(['delegate'], (m) => m.set('until', 1)))).toMatch(/delegate: unknown key "until"/);
    expect(refused(edited(['delegate', 'scope'], (m) => m.set('host', 'x')))).toMatch(
      /delegate.scope: unknown key "host"/,
    );
  });

  it('required claims, shapes and ranges', () => {
    for (const [k, why] of [
      [1, /iss is required/],
      [2, /sub is required/],
      [4, /exp is required/],
      [6, /iat is required/],
      [7, /cti is required/],
      ['scope', /scope is required/],
    ] as const)
      expect(refused(edited([], (m) => m.delete(k)))).toMatch(why);
    expect(refused(edited(['scope'], (m) => m.delete('sha256')))).toMatch(/scope.sha256 is required/);
    expect(refused(edited([], (m) => m.set(4, 1000)))).toMatch(/exp must be later than nbf/);
    expect(refused(edited([], (m) => m.set(7, new Uint8Array(15))))).toMatch(/cti must be 16 to 64 bytes/);
    expect(refused(edited([], (m) => m.set(4, -1)))).toMatch(/exp is not an integer/);
    expect(refused(edited([], (m) => m.set(2, 'host1')))).toMatch(/sub must be a lowercase hex AK Name/);
    expect(refused(edited([], (m) => m.set(2, `000B${'0F'.repeat(32)}`)))).toMatch(/sub must be/);
    expect(refused(edited(['scope'], (m) => m.set('uses', 0)))).toMatch(
      /scope.uses is not an integer from 1/,
    );
    expect(refused(edited(['scope'], (m) => m.set('env', ['PATH', 'HOME'])))).toMatch(
      /scope.env must be ascending/,
    );
    expect(refused(edited(['scope'], (m) => m.set('env', ['A-B'])))).toMatch(
      /scope.env\[0\] is not a variable name/,
    );
    expect(refused(edited(['scope'], (m) => m.set('argv', ['a\0b'])))).toMatch(
      /scope.argv\[0\] is too long or contains NUL/,
    );
    expect(refused(edited(['state'], (m) => m.set('pcrs', [7, 7])))).toMatch(/state.pcrs must be ascending/);
    expect(refused(edited(['state'], (m) => m.set('pcrs', [24])))).toMatch(/state.pcrs\[0\]/);
    expect(refused(edited(['state'], (m) => m.set('bank', 'sha1')))).toMatch(/state.bank must be "sha256"/);
    expect(refused(edited(['delegate'], (m) => m.set('depth', 9)))).toMatch(/delegate.depth/);
    expect(refused(edited(['delegate'], (m) => m.set('key', new Uint8Array(32))))).toMatch(/delegate.key/);
    expect(refused(edited(['gov'], (m) => m.set(5, 'x')))).toMatch(/gov: keys are text/);
    expect(refused(edited([], (m) => m.set('state', new Map([['ref', new Uint8Array(31)]]))))).toMatch(
      /state.ref/,
    );
  });

  it('paths: absolute and normalised; only a grant may name a directory prefix', () => {
    for (const p of ['bin/true', '/usr//bin', '/usr/./bin', '/usr/../bin', '/usr/bin/', '/', ''])
      expect(pathProblem(p, 'exe'), p).toBeDefined();
    expect(pathProblem('/usr/bin/', 'exe', { prefix: true })).toBeUndefined();
    expect(pathProblem('/', 'exe', { prefix: true })).toBeUndefined();
    expect(refused(edited(['scope'], (m) => m.set('exe', '/usr/bin/')))).toMatch(
      /scope.exe is not a normalised path/,
    );
    expect(refused(edited(['delegate', 'scope'], (m) => m.set('exe', '/opt/../usr/')))).toMatch(
      /delegate.scope.exe is not a normalised/,
    );
  });
});
