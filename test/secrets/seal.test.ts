// SPDX-License-Identifier: Apache-2.0
// Sealing and unsealing on swtpm, called directly (not through the gate), issue 17's first acceptance
// point: after a PCR extend the TPM itself refuses; a signed new PCR policy restores access with a policy
// key; a secret sealed on one swtpm cannot be unsealed on another. The SRK is tpm2-tools' default owner
// primary, checked against tpm2_createprimary.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { withEk } from '../../agent/attest/ek.js';
import { generateSigningKey, parseSigningKey } from '../../agent/crypto/keys.js';
import { SecretError } from '../../agent/secrets/errors.js';
import { signPcrPolicy } from '../../agent/secrets/policy-key.js';
import { sealPolicy, sealSecret, selectionDigest, unsealSecret } from '../../agent/secrets/seal.js';
import { decodeSealed, encodeSealed } from '../../agent/secrets/store.js';
import { PCR_Extend } from '../../agent/tpm/commands.js';
import { TPM_ALG } from '../../agent/tpm/constants.js';
import { objectName } from '../../agent/tpm/names.js';
import { readPcrs } from '../../agent/tpm/pcr.js';
import { parseSelection } from '../../agent/tpm/pcr-selection.js';
import { policyAuthorize, policyAuthValue, policyGetDigest } from '../../agent/tpm/policy.js';
import { unmarshal } from '../../agent/tpm/schema.js';
import { startAuthSession } from '../../agent/tpm/sessions.js';
import { TPM2B_PUBLIC, TPMT_PUBLIC } from '../../agent/tpm/structures.js';
import { ownerPrimaryTemplate } from '../../agent/tpm/templates.js';
import type { Tpm } from '../../agent/tpm/tpm.js';
import { startSwtpm } from '../../swtpm/harness.js';
import { useSwtpm } from '../helpers/swtpm.js';
import { hex, openTpm, tpm2, transientHandles, withPrimary, withTempDir } from '../tpm/swtpm-kit.js';

const swtpm = useSwtpm();
const SEL16 = parseSelection('sha256:0-7,16');

const extend16 = (tpm: Tpm, byte: number) =>
  tpm.run(PCR_Extend, {
    pcrHandle: 16,
    digests: [{ hashAlg: TPM_ALG.SHA256, digest: new Uint8Array(32).fill(byte) }],
  });

/** The EK as this swtpm reports it, trusted on first use as host init pins it. */
const pinEk = async (tpm: Tpm) => ({
  alg: 'rsa2048' as const,
  pinned: await withEk(tpm, 'rsa2048', async (ek) => ek.public),
});

const refusal = async (p: Promise<unknown>): Promise<string> => {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(SecretError);
  return (e as SecretError).code;
};

describe('sealed secrets on swtpm', () => {
  it("the SRK is tpm2-tools' default owner primary (tpm2_createprimary -C o)", async () => {
    const tpm = openTpm(swtpm());
    const ours = await withPrimary(tpm, 0x40000001, ownerPrimaryTemplate(), async (k) =>
      objectName(k.outPublic),
    );
    const theirs = await withTempDir(async (dir) => {
      await tpm2(swtpm(), 'tpm2_createprimary', ['-C', 'o', '-c', 'p.ctx'], dir);
      await tpm2(swtpm(), 'tpm2_readpublic', ['-c', 'p.ctx', '-o', 'p.pub'], dir);
      await tpm2(swtpm(), 'tpm2_flushcontext', ['-t']);
      return unmarshal(TPM2B_PUBLIC, new Uint8Array(await readFile(join(dir, 'p.pub'))));
    });
    expect(hex(ours)).toBe(hex(objectName(theirs)));
  });

  it("trial sessions: PolicyAuthValue and PolicyAuthorize give the offline calculator's digests", async () => {
    const tpm = openTpm(swtpm());
    const keyName = new Uint8Array([0, 0x0b, ...new Uint8Array(32).fill(7)]);
    const s = await startAuthSession(tpm, { type: 'trial' });
    try {
      await policyAuthorize(tpm, s, {
        approvedPolicy: new Uint8Array(32),
        policyRef: new Uint8Array(0),
        keySign: keyName,
        // A trial session checks no ticket (Part 3 §23.16): a NULL one.
        ticket: { tag: 0x8022, hierarchy: 0x40000007, digest: new Uint8Array(0) },
      });
      await policyAuthValue(tpm, s);
      expect(hex(await policyGetDigest(tpm, s))).toBe(hex(sealPolicy({ policyKeyName: keyName })));
    } finally {
      await tpm.flush(s.handle);
    }
  });

  it('unseals in the sealed state; after a PCR extend the TPM refuses (small and enveloped secrets)', async () => {
    const tpm = openTpm(swtpm());
    for (const size of [1, 128, 129, 65536]) {
      const data = new Uint8Array(randomBytes(size));
      const sealed = await sealSecret(tpm, {
        name: `s${size}`,
        data,
        selection: SEL16,
        ek: await pinEk(tpm),
      });
      expect(sealed.envelope === undefined).toBe(size <= 128);
      // Through the file format, as the gate reads it.
      const back = decodeSealed(encodeSealed(sealed));
      expect(hex(await unsealSecret(tpm, back))).toBe(hex(data));
      expect(encodeSealed(sealed)).not.toContain(Buffer.from(data).toString('base64').slice(0, 16));
    }
    const data = new Uint8Array(randomBytes(32));
    const sealed = await sealSecret(tpm, { name: 'pcr', data, selection: SEL16, ek: await pinEk(tpm) });
    await extend16(tpm, 1);
    expect(await refusal(unsealSecret(tpm, sealed))).toBe('E_SECRET_REFUSED');
    expect(await transientHandles(tpm)).toEqual([]);
  });

  it('a wrong authValue (a copy of the blob without the state directory) is refused by the TPM', async () => {
    const tpm = openTpm(swtpm());
    const sealed = await sealSecret(tpm, {
      name: 'auth',
      data: new Uint8Array([1, 2, 3]),
      selection: SEL16,
      ek: await pinEk(tpm),
    });
    // Only the policy releases it, it never leaves this TPM or parent, and a wrong authValue counts for no lockout.
    const a = unmarshal(TPMT_PUBLIC, sealed.public).objectAttributes;
    expect([a.userWithAuth, a.fixedTPM, a.fixedParent, a.noDA, a.sensitiveDataOrigin]).toEqual([
      false,
      true,
      true,
      true,
      false,
    ]);
    const forged = { ...sealed, authValue: new Uint8Array(randomBytes(32)) };
    expect(await refusal(unsealSecret(tpm, forged))).toBe('E_SECRET_REFUSED');
    expect(hex(await unsealSecret(tpm, sealed))).toBe('010203');
  });

  it('with a policy key, a newly signed PCR policy restores access after an extend', async () => {
    const tpm = openTpm(swtpm());
    const key = parseSigningKey(Buffer.from(generateSigningKey('p256').privatePem));
    const { policyKeyPublic } = await import('../../agent/secrets/policy-key.js');
    const data = new Uint8Array(randomBytes(200));
    const sealed = await sealSecret(tpm, {
      name: 'upd',
      data,
      selection: SEL16,
      ek: await pinEk(tpm),
      policyKey: policyKeyPublic(key),
    });
    const signNow = async () => signPcrPolicy(key, SEL16, selectionDigest(SEL16, await readPcrs(tpm, SEL16)));
    expect(await refusal(unsealSecret(tpm, sealed, []))).toBe('E_SECRET_REFUSED');
    const before = await signNow();
    expect(hex(await unsealSecret(tpm, sealed, [before]))).toBe(hex(data));
    await extend16(tpm, 2);
    expect(await refusal(unsealSecret(tpm, sealed, [before]))).toBe('E_SECRET_REFUSED');
    // Another key's signature over the new state does not do.
    const other = parseSigningKey(Buffer.from(generateSigningKey('p256').privatePem));
    const foreign = signPcrPolicy(other, SEL16, selectionDigest(SEL16, await readPcrs(tpm, SEL16)));
    expect(await refusal(unsealSecret(tpm, sealed, [before, foreign]))).toBe('E_SECRET_REFUSED');
    // A forged signature under the right key's Name is refused by TPM2_VerifySignature.
    const after = await signNow();
    const forgedSig = { ...after, signature: foreign.signature };
    expect(await refusal(unsealSecret(tpm, sealed, [forgedSig]))).toBe('E_SECRET_REFUSED');
    expect(hex(await unsealSecret(tpm, sealed, [before, after]))).toBe(hex(data));
    expect(await transientHandles(tpm)).toEqual([]);
  });

  it('a secret sealed on one swtpm is refused by another', async () => {
    const tpm = openTpm(swtpm());
    const sealed = await sealSecret(tpm, {
      name: 'moved',
      data: new Uint8Array([9]),
      selection: SEL16,
      ek: await pinEk(tpm),
    });
    const other = await startSwtpm();
    try {
      const t2 = openTpm(other);
      expect(await refusal(unsealSecret(t2, sealed))).toBe('E_SECRET_REFUSED');
      // Even with this SRK's Name the other TPM cannot load the blob (its seed differs: an integrity failure).
      const { CreatePrimary } = await import('../../agent/tpm/commands.js');
      const srk = await t2.run(CreatePrimary, {
        primaryHandle: 0x40000001,
        inSensitive: { userAuth: new Uint8Array(0), data: new Uint8Array(0) },
        inPublic: ownerPrimaryTemplate(),
        outsideInfo: new Uint8Array(0),
        creationPCR: [],
      });
      await t2.flush(srk.objectHandle);
      const e = await unsealSecret(t2, { ...sealed, srkName: objectName(srk.outPublic) }).catch(
        (x: unknown) => x,
      );
      expect((e as SecretError).code).toBe('E_SECRET_REFUSED');
      expect(String((e as Error).message)).toMatch(/INTEGRITY/);
      expect(await transientHandles(t2)).toEqual([]);
      await t2.close();
    } finally {
      await other.stop();
    }
  });
});
