// SPDX-License-Identifier: Apache-2.0
// Sealed secrets' data, without a TPM: the sealed-secret and signed-policy files parsed as hostile input
// (fast-check: any text is a value or E_SECRET_FORMAT, round trips hold), the artifact's `secrets` claim
// (names, order, bounds) and its lineage rule (a child names only secrets its parent names), and the
// descriptor variable's name.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ArtifactClaims, decodeClaims, encodeClaims } from '../../agent/artifact/claims.js';
import { linkWithin } from '../../agent/artifact/lineage.js';
import { generateSigningKey, parseSigningKey } from '../../agent/crypto/keys.js';
import { SecretError } from '../../agent/secrets/errors.js';
import { isSecretFdVariable, secretFdVariable } from '../../agent/secrets/name.js';
import { policyKeyPublic } from '../../agent/secrets/policy-key.js';
import {
  decodeSealed,
  decodeSignedPolicy,
  encodeSealed,
  encodeSignedPolicy,
  type SealedSecret,
} from '../../agent/secrets/store.js';
import { parseSelection } from '../../agent/tpm/pcr-selection.js';
import { marshal } from '../../agent/tpm/schema.js';
import { TPMT_PUBLIC } from '../../agent/tpm/structures.js';
import { sealedDataTemplate } from '../../agent/tpm/templates.js';
import { HOST, NOW } from '../helpers/artifact-forge.js';

const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill);
const SEALED: SealedSecret = {
  name: 'db-pass_2',
  created: '2026-12-08T00:00:00.000Z',
  size: 200,
  srkName: bytes(34, 1),
  pcrs: parseSelection('sha256:0-7,16'),
  authValue: bytes(32, 2),
  public: marshal(TPMT_PUBLIC, sealedDataTemplate({ authPolicy: bytes(32, 3), noDA: true })),
  private: bytes(150, 4),
  envelope: { iv: bytes(12, 5), ciphertext: bytes(200, 6), tag: bytes(16, 7) },
};

const code = (f: () => unknown): string | undefined => {
  try {
    f();
    return undefined;
  } catch (e) {
    return e instanceof SecretError ? e.code : `not a SecretError: ${String(e)}`;
  }
};

describe('sealed-secret files', () => {
  it('round-trip, with and without an envelope and a policy key', () => {
    expect(decodeSealed(encodeSealed(SEALED))).toEqual(SEALED);
    const policyKey = marshal(
      TPMT_PUBLIC,
      policyKeyPublic(parseSigningKey(Buffer.from(generateSigningKey('p256').privatePem))),
    );
    const { envelope: _e, ...small } = { ...SEALED, size: 5, policyKey };
    expect(decodeSealed(encodeSealed(small))).toEqual(small);
    const p = {
      pcrs: parseSelection('sha256:0-7'),
      pcrDigest: bytes(32, 9),
      keyName: bytes(34, 1),
      signature: bytes(72, 2),
    };
    expect(decodeSignedPolicy(encodeSignedPolicy(p))).toEqual(p);
  });

  it('refuse every damaged field with E_SECRET_FORMAT', () => {
    const o = JSON.parse(encodeSealed(SEALED)) as Record<string, unknown>;
    const edits: Record<string, unknown>[] = [
      { name: 'UPPER' },
      { name: 'a'.repeat(65) },
      { size: 0 },
      { size: 65537 },
      { size: 1.5 },
      { srkName: 'zz' },
      { authValue: '00' },
      { pcrs: 'sha999:0' },
      { private: '***' },
      { public: Buffer.alloc(64, 0xff).toString('base64') },
      { policyKey: Buffer.alloc(8, 1).toString('base64') },
      { envelope: { iv: '00', ciphertext: '', tag: '' } },
      { envelope: [] },
      { extra: 1 },
      { v: 2 },
      { execgate: 'signed-pcr-policy' },
    ];
    for (const e of edits)
      expect(
        code(() => decodeSealed(JSON.stringify({ ...o, ...e }))),
        JSON.stringify(e),
      ).toBe('E_SECRET_FORMAT');
    expect(code(() => decodeSealed(JSON.stringify({ ...o, size: 100 })))).toBe('E_SECRET_FORMAT');
  });

  it('any text is a sealed secret or E_SECRET_FORMAT, never another exception (fast-check)', () => {
    const base = JSON.parse(encodeSealed(SEALED)) as Record<string, unknown>;
    const mutated = fc
      .record({ key: fc.constantFrom(...Object.keys(base), 'x'), value: fc.jsonValue() })
      .map(({ key, value }) => JSON.stringify({ ...base, [key]: value }));
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 300 }), fc.json(), mutated), (text) => {
        const c = code(() => decodeSealed(text));
        expect(c === undefined || c === 'E_SECRET_FORMAT').toBe(true);
        const d = code(() => decodeSignedPolicy(text));
        expect(d === undefined || d === 'E_SECRET_FORMAT').toBe(true);
      }),
    );
  });
});

describe('the secrets claim', () => {
  const claims: ArtifactClaims = {
    iss: 'ops',
    sub: HOST,
    iat: NOW,
    exp: NOW + 60,
    cti: bytes(16, 1),
    scope: { exe: '/usr/bin/true', sha256: bytes(32, 0) },
    secrets: ['a', 'b-c', 'd_e'],
  };

  it('round-trips; names must be [a-z0-9_-]{1,64}, ascending, unique, 1 to 16 of them', () => {
    expect(decodeClaims(encodeClaims(claims))).toEqual(claims);
    const bad: (readonly string[])[] = [
      [],
      ['B'],
      ['a b'],
      ['x'.repeat(65)],
      ['b', 'a'],
      ['a', 'a'],
      Array.from({ length: 17 }, (_, i) => `s${String(i).padStart(2, '0')}`),
    ];
    for (const secrets of bad) {
      const m = new Map(encodeClaims({ ...claims, secrets: ['ok'] }));
      m.set('secrets', [...secrets]);
      expect(() => decodeClaims(m), JSON.stringify(secrets)).toThrow(
        expect.objectContaining({ code: 'E_FORMAT' }),
      );
    }
  });

  it('a delegated child names only secrets its parent names', () => {
    const parent: ArtifactClaims = {
      ...claims,
      secrets: ['a'],
      delegate: { key: bytes(1, 0), depth: 0, scope: { exe: '/usr/bin/' } },
    };
    const child: ArtifactClaims = { ...claims, secrets: ['a'] };
    expect(linkWithin(child, parent)).toBeUndefined();
    expect(linkWithin({ ...child, secrets: ['a', 'b-c'] }, parent)).toBe(
      "secrets b-c are not among the parent's",
    );
    const { secrets: _s, ...none } = parent;
    expect(linkWithin(child, none)).toBe("secrets a are not among the parent's");
  });
});

describe('descriptor variables', () => {
  it('EXECGATE_SECRET_<NAME>_FD, upper-cased, "-" as "_"', () => {
    expect(secretFdVariable('db-pass_2')).toBe('EXECGATE_SECRET_DB_PASS_2_FD');
    expect(isSecretFdVariable('EXECGATE_SECRET_X_FD')).toBe(true);
    expect(isSecretFdVariable('EXECGATE_VERDICT')).toBe(false);
  });
});
