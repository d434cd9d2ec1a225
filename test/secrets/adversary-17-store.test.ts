// SPDX-License-Identifier: Apache-2.0
// Adversary review of issue 17: what is planted under the state directory's secrets/ and
// secret-policies/ must not stop the gate. A FIFO with no writer at secrets/NAME, or among the
// *.policy files every release of a policy-key secret reads, held open(2) forever: the gate hung on
// its own state. Now each is refused as not a regular file (the other policies still read). And two
// names of one artifact that share a descriptor variable (a-b, a_b) are refused.
import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type ArtifactClaims, decodeClaims, encodeClaims } from '../../agent/artifact/claims.js';
import { generateSigningKey, parseSigningKey } from '../../agent/crypto/keys.js';
import { signPcrPolicy } from '../../agent/secrets/policy-key.js';
import {
  encodeSignedPolicy,
  readSealed,
  readSignedPolicies,
  secretsDir,
  signedPoliciesDir,
} from '../../agent/secrets/store.js';
import { parseSelection } from '../../agent/tpm/pcr-selection.js';
import { HOST, NOW } from '../helpers/artifact-forge.js';
import { withTempDir } from '../tpm/swtpm-kit.js';

const CLAIMS: ArtifactClaims = {
  iss: 'ops',
  sub: HOST,
  iat: NOW,
  exp: NOW + 60,
  cti: new Uint8Array(16).fill(1),
  scope: { exe: '/usr/bin/true', sha256: new Uint8Array(32) },
};

/** `p`'s outcome, or "blocked" if it has none once a FIFO's reader would have had to wait. */
async function settled<T>(p: Promise<T>, fifos: readonly string[]): Promise<T | Error | 'blocked'> {
  const outcome = p.then(
    (v) => v,
    (e: unknown) => e as Error,
  );
  const first = await Promise.race([
    outcome,
    new Promise<'blocked'>((r) => setTimeout(() => r('blocked'), 2000)),
  ]);
  // Release a reader stuck in open(2), so that a failing run still ends.
  for (const f of fifos)
    try {
      closeSync(openSync(f, constants.O_WRONLY | constants.O_NONBLOCK));
    } catch {
      // no reader waiting
    }
  await outcome;
  return first;
}

describe('planted files and names', () => {
  it('a FIFO at secrets/NAME is refused, not waited on', () =>
    withTempDir(async (dir) => {
      await mkdir(secretsDir(dir), { recursive: true, mode: 0o700 });
      const fifo = join(secretsDir(dir), 'tok');
      execFileSync('mkfifo', [fifo]);
      const r = await settled(readSealed(dir, 'tok'), [fifo]);
      expect(r).toBeInstanceOf(Error);
      expect((r as Error).message).toMatch(/not a regular file/);
    }));

  it('a FIFO among the signed policies is skipped; the others still read', () =>
    withTempDir(async (dir) => {
      await mkdir(signedPoliciesDir(dir), { recursive: true, mode: 0o700 });
      const key = parseSigningKey(Buffer.from(generateSigningKey('p256').privatePem));
      const sel = parseSelection('sha256:0-7');
      const good = signPcrPolicy(key, sel, new Uint8Array(32).fill(7));
      await writeFile(join(signedPoliciesDir(dir), 'b.policy'), encodeSignedPolicy(good));
      const fifo = join(signedPoliciesDir(dir), 'a.policy');
      execFileSync('mkfifo', [fifo]);
      const r = await settled(readSignedPolicies(dir), [fifo]);
      expect(r).not.toBe('blocked');
      expect((r as { pcrDigest: Uint8Array }[]).map((p) => Buffer.from(p.pcrDigest).toString('hex'))).toEqual(
        ['07'.repeat(32)],
      );
    }));

  it('an artifact may not name two secrets that share a descriptor variable (a-b and a_b)', () => {
    // Both would be handed over, and EXECGATE_SECRET_A_B_FD would name only one of them.
    const m = new Map(encodeClaims({ ...CLAIMS, secrets: ['ok'] }));
    m.set('secrets', ['a-b', 'a_b']);
    expect(() => decodeClaims(m)).toThrow(expect.objectContaining({ code: 'E_FORMAT' }));
    m.set('secrets', ['a-b', 'a_c']);
    expect(decodeClaims(m).secrets).toEqual(['a-b', 'a_c']);
  });
});
