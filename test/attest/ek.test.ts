// SPDX-License-Identifier: Apache-2.0
// The EK on a swtpm manufactured by swtpm_setup (SWTPM.md §2.3): persistent EKs at 0x81010001 (RSA-2048)
// and 0x81010016 (P-384) match the TCG default templates, a P-256 EK is created from its template and
// flushed, the EK certificates read from NV equal the files swtpm_setup wrote, and NV contents larger
// than one NV_Read are read in chunks.
import { createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import {
  derToPem,
  EK_CERT_NV_INDEX,
  ekPublicFromSpki,
  loadEk,
  NV_CHUNK,
  pemBlocks,
  pemToDer,
  readEkCertificate,
  readNvIndex,
  releaseEk,
  spkiPemOf,
  withEk,
} from '../../agent/attest/ek.js';
import { NV_DefineSpace, NV_UndefineSpace, NV_Write } from '../../agent/tpm/commands.js';
import { TPM_ALG, TPM_NT, TPM_RH } from '../../agent/tpm/constants.js';
import { objectName } from '../../agent/tpm/names.js';
import { attrs } from '../../agent/tpm/schema.js';
import { TPMA_NV, type TPMT_PUBLIC } from '../../agent/tpm/structures.js';
import { ekEccP256Template, ekEccP384Template, ekRsa2048Template } from '../../agent/tpm/templates.js';
import { useSwtpm } from '../helpers/swtpm.js';
import { createPrimary, EMPTY, hex, openTpm, tpm2, transientHandles, withTempDir } from '../tpm/swtpm-kit.js';

const swtpm = useSwtpm({ ek: true });

afterEach(async () => {
  expect(await transientHandles(openTpm(swtpm()))).toEqual([]);
});

/** The DER of a swtpm_setup certificate file (it writes DER; accept PEM too). */
async function certFile(path: string): Promise<Uint8Array> {
  const raw = await readFile(path);
  return pemToDer(raw.toString('latin1'), 'CERTIFICATE') ?? new Uint8Array(raw);
}

describe('loadEk', () => {
  it('RSA-2048: uses the persistent EK at 0x81010001, which is the key Template L-1 derives', async () => {
    const tpm = openTpm(swtpm());
    const ek = await loadEk(tpm, 'rsa2048');
    expect(ek.transient).toBe(false);
    expect(ek.handle).toBe(0x81010001);
    const fresh = await createPrimary(tpm, TPM_RH.ENDORSEMENT, ekRsa2048Template());
    await tpm.flush(fresh.objectHandle);
    expect(hex(ek.name)).toBe(hex(fresh.name));
    await releaseEk(tpm, ek); // no-op for a persistent EK
    expect((await loadEk(tpm, 'rsa2048')).handle).toBe(0x81010001);
  });

  it('P-384: uses the persistent EK at 0x81010016 (Template H-3)', async () => {
    const tpm = openTpm(swtpm());
    const ek = await loadEk(tpm, 'eccP384');
    expect([ek.handle, ek.transient]).toEqual([0x81010016, false]);
    const fresh = await createPrimary(tpm, TPM_RH.ENDORSEMENT, ekEccP384Template());
    await tpm.flush(fresh.objectHandle);
    expect(hex(ek.name)).toBe(hex(fresh.name));
  });

  it('P-256: creates a transient EK from Template L-2 and withEk flushes it', async () => {
    const tpm = openTpm(swtpm());
    const handle = await withEk(tpm, 'eccP256', async (ek) => {
      expect(ek.transient).toBe(true);
      expect(await transientHandles(tpm)).toEqual([ek.handle]);
      expect(hex(objectName(ek.public))).toBe(hex(ek.name));
      expect(ek.public.parameters).toEqual(ekEccP256Template().parameters);
      return ek.handle;
    });
    expect(handle >>> 24).toBe(0x80);
  });

  it("a pinned EK must equal the TPM's byte for byte, unique included (persistent and created): E_EK_MISMATCH otherwise, the created EK flushed", async () => {
    const tpm = openTpm(swtpm());
    const rsa = await loadEk(tpm, 'rsa2048');
    expect((await loadEk(tpm, 'rsa2048', { pinned: rsa.public })).handle).toBe(0x81010001);
    const other = { ...rsa.public, unique: new Uint8Array(randomBytes(256)) } as TPMT_PUBLIC;
    const refused = await loadEk(tpm, 'rsa2048', { pinned: other }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'E_EK_MISMATCH' });
    const p256 = await withEk(tpm, 'eccP256', async (ek) => ek.public);
    expect((await withEk(tpm, 'eccP256', async (ek) => ek.name, { pinned: p256 })).length).toBe(34);
    const wrongPoint = {
      ...p256,
      unique: { x: new Uint8Array(randomBytes(32)), y: new Uint8Array(randomBytes(32)) },
    } as TPMT_PUBLIC;
    // The created one is flushed before the refusal (afterEach: no transient handle left).
    await expect(loadEk(tpm, 'eccP256', { pinned: wrongPoint })).rejects.toMatchObject({
      code: 'E_EK_MISMATCH',
    });
    // A pin of another EK type is never the TPM's either.
    await expect(loadEk(tpm, 'eccP256', { pinned: rsa.public })).rejects.toMatchObject({
      code: 'E_EK_MISMATCH',
    });
  });

  it('the SPKI PEM equals tpm2_createek -f pem, and ekPublicFromSpki rebuilds the same public area (same Name)', async () => {
    const tpm = openTpm(swtpm());
    for (const alg of ['rsa2048', 'eccP384'] as const) {
      await withEk(tpm, alg, async (ek) => {
        const pem = spkiPemOf(ek.public);
        const back = ekPublicFromSpki(pem);
        expect(back.alg).toBe(alg);
        expect(hex(objectName(back.public))).toBe(hex(ek.name));
      });
    }
    await withTempDir(async (dir) => {
      await tpm2(swtpm(), 'tpm2_createek', [
        '-c',
        `${dir}/ek.ctx`,
        '-G',
        'rsa',
        '-u',
        `${dir}/ek.pem`,
        '-f',
        'pem',
      ]);
      await tpm2(swtpm(), 'tpm2_flushcontext', ['-t']);
      const theirs = createPublicKey(await readFile(`${dir}/ek.pem`, 'utf8')).export({ format: 'jwk' });
      const ours = await withEk(tpm, 'rsa2048', async (ek) =>
        createPublicKey(spkiPemOf(ek.public)).export({ format: 'jwk' }),
      );
      expect(ours).toEqual(theirs);
    });
  });
});

describe('EK certificates in NV', () => {
  it('RSA-2048 (0x01c00002) and P-384 (0x01c00016) equal the files swtpm_setup wrote; P-256 (0x01c0000a) is absent', async () => {
    const tpm = openTpm(swtpm());
    const ca = swtpm().ca;
    if (!ca) throw new Error('swtpm without CA');
    expect(hex((await readEkCertificate(tpm, 'rsa2048')) ?? EMPTY)).toBe(hex(await certFile(ca.ekCertRsa)));
    expect(hex((await readEkCertificate(tpm, 'eccP384')) ?? EMPTY)).toBe(hex(await certFile(ca.ekCertEcc)));
    expect(await readEkCertificate(tpm, 'eccP256')).toBeUndefined();
    expect(EK_CERT_NV_INDEX).toEqual({ rsa2048: 0x01c00002, eccP256: 0x01c0000a, eccP384: 0x01c00016 });
  });

  it('an index larger than one NV_Read chunk is read whole, in order', async () => {
    const tpm = openTpm(swtpm());
    const nvIndex = 0x01500020;
    const data = new Uint8Array(randomBytes(NV_CHUNK + 476));
    await tpm.run(NV_DefineSpace, {
      authHandle: TPM_RH.OWNER,
      auth: EMPTY,
      publicInfo: {
        nvIndex,
        nameAlg: TPM_ALG.SHA256,
        attributes: attrs(TPMA_NV, {
          TPM_NT: TPM_NT.ORDINARY,
          AUTHWRITE: true,
          AUTHREAD: true,
          NO_DA: true,
        }),
        authPolicy: EMPTY,
        dataSize: data.length,
      },
    });
    try {
      for (let offset = 0; offset < data.length; offset += 512) {
        await tpm.run(NV_Write, {
          authHandle: nvIndex,
          nvIndex,
          data: data.subarray(offset, offset + 512),
          offset,
        });
      }
      expect(hex((await readNvIndex(tpm, nvIndex)) ?? EMPTY)).toBe(hex(data));
    } finally {
      await tpm.run(NV_UndefineSpace, { authHandle: TPM_RH.OWNER, nvIndex });
    }
    expect(await readNvIndex(tpm, nvIndex)).toBeUndefined();
  });
});

describe('PEM helpers', () => {
  it('derToPem / pemToDer / pemBlocks round-trip', () => {
    const a = new Uint8Array(randomBytes(200));
    const b = new Uint8Array(randomBytes(65));
    const text = `junk\n${derToPem(a, 'CERTIFICATE')}between\n${derToPem(b, 'CERTIFICATE')}`;
    expect(
      derToPem(a, 'CERTIFICATE')
        .split('\n')
        .every((l) => l.length <= 64),
    ).toBe(true);
    expect(hex(pemToDer(text, 'CERTIFICATE') ?? EMPTY)).toBe(hex(a));
    expect(pemBlocks(text).map(hex)).toEqual([hex(a), hex(b)]);
    expect(pemToDer(text, 'PUBLIC KEY')).toBeUndefined();
  });

  it('ekPublicFromSpki refuses keys that are not default EK types', () => {
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({
      type: 'spki',
      format: 'pem',
    });
    expect(() => ekPublicFromSpki(String(small))).toThrow(/2048-bit/);
    expect(() => ekPublicFromSpki('not a key')).toThrow(/SubjectPublicKeyInfo/);
  });
});
