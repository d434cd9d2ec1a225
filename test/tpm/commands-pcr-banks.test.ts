// SPDX-License-Identifier: Apache-2.0
// A swtpm manufactured by swtpm_setup (SWTPM.md §2.3) with only the SHA-256 PCR bank allocated: readPcrs
// must refuse the other banks with E_PCR_BANK rather than return nothing. The same TPM carries the EKs
// swtpm_setup persisted, a second oracle for the EK templates: swtpm_setup derives them from the TCG
// default templates, so CreatePrimary with ours must give the same keys.
import { afterEach, describe, expect, it } from 'vitest';
import { GetCapability, PCR_Extend, ReadPublic } from '../../agent/tpm/commands.js';
import { TPM_ALG, TPM_CAP, TPM_RH } from '../../agent/tpm/constants.js';
import { allocatedBanks, PcrError, readPcrs } from '../../agent/tpm/pcr.js';
import type { TPML_PCR_SELECTION } from '../../agent/tpm/structures.js';
import { ekEccP384Template, ekRsa2048Template } from '../../agent/tpm/templates.js';
import { useSwtpm } from '../helpers/swtpm.js';
import { handlesFrom, hex, openTpm, transientHandles, withPrimary } from './swtpm-kit.js';

const swtpm = useSwtpm({ ek: true, pcrBanks: ['sha256'] });

afterEach(async () => {
  expect(await transientHandles(openTpm(swtpm()))).toEqual([]);
});

const ALL_PCRS = Array.from({ length: 24 }, (_, i) => i);

describe('a TPM with only the SHA-256 bank allocated', () => {
  it('TPM_CAP_PCRS lists SHA-256 with 24 PCRs; the other banks are listed empty or not at all', async () => {
    const tpm = openTpm(swtpm());
    expect(await allocatedBanks(tpm)).toEqual([{ hash: TPM_ALG.SHA256, pcrs: ALL_PCRS }]);
    const rsp = await tpm.run(GetCapability, { capability: TPM_CAP.PCRS, property: 0, propertyCount: 1 });
    for (const s of rsp.capabilityData.data as TPML_PCR_SELECTION) {
      if (s.hash !== TPM_ALG.SHA256) expect(s.pcrSelect.every((b) => b === 0)).toBe(true);
    }
  });

  it('readPcrs() reads the SHA-256 bank only', async () => {
    const tpm = openTpm(swtpm());
    const values = await readPcrs(tpm);
    expect([...values.keys()]).toEqual([TPM_ALG.SHA256]);
    expect([...(values.get(TPM_ALG.SHA256)?.keys() ?? [])].sort((a, b) => a - b)).toEqual(ALL_PCRS);
  });

  it.each([
    ['sha1', TPM_ALG.SHA1],
    ['sha384', TPM_ALG.SHA384],
    ['sha512', TPM_ALG.SHA512],
  ])('readPcrs for the unallocated %s bank is PcrError E_PCR_BANK', async (_, hash) => {
    const tpm = openTpm(swtpm());
    const err = await readPcrs(tpm, [
      { hash: TPM_ALG.SHA256, pcrs: [0] },
      { hash, pcrs: [0] },
    ]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PcrError);
    expect((err as PcrError).code).toBe('E_PCR_BANK');
  });

  it('extending an unallocated bank is ignored by the TPM (Part 3 §22.2), and the SHA-256 bank still changes', async () => {
    const tpm = openTpm(swtpm());
    const before = (await readPcrs(tpm, [{ hash: TPM_ALG.SHA256, pcrs: [16] }])).get(TPM_ALG.SHA256)?.get(16);
    await tpm.run(PCR_Extend, {
      pcrHandle: 16,
      digests: [
        { hashAlg: TPM_ALG.SHA1, digest: new Uint8Array(20).fill(1) },
        { hashAlg: TPM_ALG.SHA256, digest: new Uint8Array(32).fill(1) },
      ],
    });
    const after = (await readPcrs(tpm, [{ hash: TPM_ALG.SHA256, pcrs: [16] }])).get(TPM_ALG.SHA256)?.get(16);
    expect(after).not.toEqual(before);
  });
});

describe('the EKs swtpm_setup persisted match our templates', () => {
  it.each([
    ['RSA-2048 (Template L-1)', 0x81010001, ekRsa2048Template],
    ['ECC P-384 (Template H-3)', 0x81010016, ekEccP384Template],
  ])(
    '%s at its persistent handle is the key CreatePrimary makes from our template',
    async (_, handle, template) => {
      const tpm = openTpm(swtpm());
      expect(await handlesFrom(tpm, 0x81000000)).toContain(handle);
      const persisted = await tpm.run(ReadPublic, { objectHandle: handle });
      await withPrimary(tpm, TPM_RH.ENDORSEMENT, template(), async (ek) => {
        expect(hex(ek.name)).toBe(hex(persisted.name));
        expect(ek.outPublic).toEqual(persisted.outPublic);
      });
    },
  );
});
