// SPDX-License-Identifier: Apache-2.0
// The TPMT_PUBLIC templates of agent/tpm/templates.ts, checked three ways: the EK policies recomputed
// from their definitions (EK Credential Profile Annex B), the keys swtpm creates from them compared with
// tpm2-tools 5.4 (tpm2_createek, tpm2_createak) as the oracle, and the other templates accepted by the
// TPM with the attributes they promise.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Create, Load } from '../../agent/tpm/commands.js';
import { TPM_ALG, TPM_CC, TPM_NT, TPM_RH } from '../../agent/tpm/constants.js';
import { nvName, objectName } from '../../agent/tpm/names.js';
import { TPM_RC } from '../../agent/tpm/rc.js';
import { attrs, marshal, unmarshal } from '../../agent/tpm/schema.js';
import { TPM2B_PUBLIC, TPMA_NV, type TPMT_PUBLIC } from '../../agent/tpm/structures.js';
import {
  akEccP256Template,
  akRsa2048Template,
  EK_POLICY,
  ekEccP256Template,
  ekEccP384Template,
  ekRsa2048Template,
  sealedDataTemplate,
  signingEccP256Template,
  signingRsa2048Template,
  srkEccP256Template,
  srkRsa2048Template,
} from '../../agent/tpm/templates.js';
import { useSwtpm } from '../helpers/swtpm.js';
import {
  EMPTY,
  expectRc,
  flushAllTransient,
  hex,
  openTpm,
  tpm2,
  transientHandles,
  unhex,
  withLoaded,
  withPrimary,
  withTempDir,
} from './swtpm-kit.js';

const u32be = (n: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
};
const H = (alg: 'sha256' | 'sha384', ...parts: Uint8Array[]) => {
  const h = createHash(alg);
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};
const zeros = (alg: 'sha256' | 'sha384') => new Uint8Array(alg === 'sha256' ? 32 : 48);

describe('EK Credential Profile policies, recomputed from their definitions', () => {
  // Part 3 §23.4 PolicySecret: digest = H(H(0…0 ‖ TPM_CC_PolicySecret ‖ authObject.Name) ‖ policyRef);
  // the Name of a permanent handle is the handle (Part 1 §16).
  const policyA = (alg: 'sha256' | 'sha384') =>
    H(alg, H(alg, zeros(alg), u32be(TPM_CC.PolicySecret), u32be(TPM_RH.ENDORSEMENT)));

  it('PolicyA is PolicySecret(TPM_RH_ENDORSEMENT) with an empty policyRef (SHA-256 and SHA-384)', () => {
    expect(hex(policyA('sha256'))).toBe(EK_POLICY.A_SHA256);
    expect(hex(policyA('sha384'))).toBe(EK_POLICY.A_SHA384);
  });

  it('PolicyC (SHA-384) is PolicyAuthorizeNV of policy index I-2, whose Name nvName() computes', () => {
    // EK Credential Profile Annex B: index I-2 at 0x01c07f02, written, readable by all, writable only
    // through its policy (PolicyA), holding a TPMT_HA (2 + 48 bytes).
    const name = nvName({
      nvIndex: 0x01c07f02,
      nameAlg: TPM_ALG.SHA384,
      attributes: attrs(TPMA_NV, {
        POLICYWRITE: true,
        TPM_NT: TPM_NT.ORDINARY,
        WRITEALL: true,
        PPREAD: true,
        OWNERREAD: true,
        AUTHREAD: true,
        POLICYREAD: true,
        NO_DA: true,
        WRITTEN: true,
      }),
      authPolicy: unhex(EK_POLICY.A_SHA384),
      dataSize: 50,
    });
    // Part 3 §23.22 PolicyAuthorizeNV: digest = H(0…0 ‖ TPM_CC_PolicyAuthorizeNV (0x192) ‖ nvIndex.Name).
    expect(hex(H('sha384', zeros('sha384'), u32be(0x192), name))).toBe(EK_POLICY.C_SHA384);
  });

  it('PolicyB (SHA-384) is PolicyOR(PolicyA, PolicyC)', () => {
    // Part 3 §23.6 PolicyOR: digest = H(0…0 ‖ TPM_CC_PolicyOR ‖ digest_1 ‖ … ‖ digest_n).
    const b = H(
      'sha384',
      zeros('sha384'),
      u32be(TPM_CC.PolicyOR),
      unhex(EK_POLICY.A_SHA384),
      unhex(EK_POLICY.C_SHA384),
    );
    expect(hex(b)).toBe(EK_POLICY.B_SHA384);
  });

  it('every call returns a fresh value', () => {
    const a = ekRsa2048Template();
    (a.unique as Uint8Array)[0] = 1;
    a.authPolicy[0] = 0;
    expect((ekRsa2048Template().unique as Uint8Array)[0]).toBe(0);
    expect(hex(ekRsa2048Template().authPolicy)).toBe(EK_POLICY.A_SHA256);
  });
});

describe('templates on swtpm, with tpm2-tools 5.4 as the oracle', () => {
  const swtpm = useSwtpm();

  const eks: [string, () => TPMT_PUBLIC][] = [
    ['rsa', ekRsa2048Template],
    ['ecc', ekEccP256Template],
    ['ecc384', ekEccP384Template],
  ];
  it.each(eks)(
    'our EK template gives the same public area as `tpm2_createek -G %s`',
    async (alg, template) => {
      const tpm = openTpm(swtpm());
      await withTempDir(async (dir) => {
        await tpm2(swtpm(), 'tpm2_createek', ['-G', alg, '-c', 'ek.ctx', '-u', 'ek.pub'], dir);
        await flushAllTransient(tpm);
        const theirs = new Uint8Array(await readFile(join(dir, 'ek.pub')));
        await withPrimary(tpm, TPM_RH.ENDORSEMENT, template(), async (ek) => {
          // A primary key is derived from the seed and the template: equal bytes mean an equal template.
          expect(hex(marshal(TPM2B_PUBLIC, ek.outPublic))).toBe(hex(theirs));
          expect(ek.name).toEqual(objectName(ek.outPublic));
        });
      });
      expect(await transientHandles(tpm)).toEqual([]);
    },
  );

  const aks: [string, string, () => TPMT_PUBLIC][] = [
    ['rsa', 'rsassa', akRsa2048Template],
    ['ecc', 'ecdsa', akEccP256Template],
  ];
  it.each(aks)(
    'our AK template is what `tpm2_createak -G %s -s %s` creates, apart from the key',
    async (alg, scheme, template) => {
      const tpm = openTpm(swtpm());
      await withTempDir(async (dir) => {
        const tool = (name: string, args: string[]) => tpm2(swtpm(), name, args, dir);
        await tool('tpm2_createek', ['-G', 'rsa', '-c', 'ek.ctx']);
        await tool('tpm2_flushcontext', ['-t']);
        await tool('tpm2_createak', [
          '-C',
          'ek.ctx',
          '-c',
          'ak.ctx',
          '-G',
          alg,
          '-g',
          'sha256',
          '-s',
          scheme,
          '-u',
          'ak.pub',
        ]);
        await tool('tpm2_flushcontext', ['-t']);
        await tool('tpm2_flushcontext', ['-s']);
        const theirs = unmarshal(TPM2B_PUBLIC, new Uint8Array(await readFile(join(dir, 'ak.pub'))));
        // Create draws a fresh key, so only `unique` differs; the rest must be the template exactly.
        expect({ ...theirs, unique: null }).toEqual({ ...template(), unique: null });
      });
      expect(await transientHandles(tpm)).toEqual([]);
    },
  );

  const srks: [string, () => TPMT_PUBLIC][] = [
    ['RSA-2048', srkRsa2048Template],
    ['ECC P-256', srkEccP256Template],
  ];
  it.each(srks)(
    'the %s SRK is a deterministic restricted decryption primary of the owner hierarchy',
    async (_, template) => {
      const tpm = openTpm(swtpm());
      const first = await withPrimary(tpm, TPM_RH.OWNER, template(), async (srk) => {
        const { objectAttributes: a, authPolicy } = srk.outPublic;
        expect([a.restricted, a.decrypt, a.sign, a.noDA, a.userWithAuth, a.adminWithPolicy]).toEqual([
          true,
          true,
          false,
          true,
          true,
          false,
        ]);
        expect(authPolicy).toEqual(EMPTY);
        return srk.name;
      });
      // Same seed, same template: the same key (Part 1 §27.1), which is why an SRK need not be persisted.
      const second = await withPrimary(tpm, TPM_RH.OWNER, template(), async (srk) => srk.name);
      expect(hex(second)).toBe(hex(first));
    },
  );

  it('signing and sealed-data templates are accepted under the SRK and load with the Name we compute', async () => {
    const tpm = openTpm(swtpm());
    await withPrimary(tpm, TPM_RH.OWNER, srkRsa2048Template(), async (srk) => {
      const secret = unhex('00112233445566778899aabbccddeeff');
      const cases: [TPMT_PUBLIC, Uint8Array][] = [
        [signingRsa2048Template(), EMPTY],
        [signingEccP256Template(), EMPTY],
        [sealedDataTemplate(), secret],
      ];
      for (const [template, data] of cases) {
        const created = await tpm.run(Create, {
          parentHandle: srk.objectHandle,
          inSensitive: { userAuth: EMPTY, data },
          inPublic: template,
          outsideInfo: EMPTY,
          creationPCR: [],
        });
        expect({ ...created.outPublic, unique: null }).toEqual({ ...template, unique: null });
        const loaded = await tpm.run(Load, {
          parentHandle: srk.objectHandle,
          inPrivate: created.outPrivate,
          inPublic: created.outPublic,
        });
        await withLoaded(tpm, loaded.objectHandle, async () => {
          expect(hex(loaded.name)).toBe(hex(objectName(created.outPublic)));
        });
      }
      // Part 3 §12.1: a sealed object gets its data from the caller, so sensitiveDataOrigin must be clear.
      const wrong = sealedDataTemplate();
      wrong.objectAttributes.sensitiveDataOrigin = true;
      await expectRc(
        tpm.run(Create, {
          parentHandle: srk.objectHandle,
          inSensitive: { userAuth: EMPTY, data: secret },
          inPublic: wrong,
          outsideInfo: EMPTY,
          creationPCR: [],
        }),
        TPM_RC.ATTRIBUTES,
      );
    });
    expect(await transientHandles(tpm)).toEqual([]);
  });
});
