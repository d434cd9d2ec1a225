// SPDX-License-Identifier: Apache-2.0
import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  approveArtifact,
  delegateArtifact,
  issueArtifact,
  verifyArtifact,
} from '../../agent/artifact/index.js';
import { generateSigningKey, parsePublicKey, parseSigningKey } from '../../agent/crypto/keys.js';
import { initVerification } from '../../agent/crypto/verify.js';

const key = (alg: 'ed25519' | 'p256' | 'p384') => {
  const g = generateSigningKey(alg);
  return parseSigningKey(Buffer.from(g.privatePem));
};

beforeAll(() => initVerification());

describe('artifact smoke', () => {
  it('issue, delegate, approve, verify', () => {
    const root = key('ed25519');
    const del = key('p256');
    const appr = key('p384');
    const now = 1_800_000_000;
    const base = {
      iss: 'ops',
      sub: `000b${'ab'.repeat(32)}`,
      iat: now,
      exp: now + 600,
      cti: new Uint8Array(randomBytes(16)),
      scope: { exe: '/usr/bin/true', sha256: new Uint8Array(32) },
    };
    const a = issueArtifact(
      { ...base, delegate: { key: del.spki, depth: 0, scope: { exe: '/usr/bin/' } } },
      root,
    );
    const trust = [parsePublicKey(Buffer.from(root.spki))];
    expect(verifyArtifact(a, { trust, at: now })).toMatchObject({ ok: true });
    const c = delegateArtifact(a, { ...base, cti: new Uint8Array(randomBytes(16)), exp: now + 300 }, del);
    expect(verifyArtifact(c, { trust, at: now })).toMatchObject({ ok: true });
    const ap = approveArtifact(c, appr);
    const approvals = { approvers: [appr], required: 1 };
    expect(verifyArtifact(ap, { trust, at: now, approvals })).toMatchObject({ ok: true });
    expect(verifyArtifact(c, { trust, at: now, approvals })).toMatchObject({ ok: false, code: 'E_APPROVAL' });
    expect(verifyArtifact(c, { trust, at: now + 400 })).toMatchObject({ ok: false, code: 'E_EXPIRED' });
    expect(verifyArtifact(c, { trust: [del], at: now })).toMatchObject({
      ok: false,
      code: 'E_UNTRUSTED_ISSUER',
    });
  });
});
