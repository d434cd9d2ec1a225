// SPDX-License-Identifier: Apache-2.0
// hostInit / hostIdentity on a swtpm with EK certificates: idempotent init (same AK twice, --force makes
// a new one), the identity document's keys and values (against tpm2_readpublic and the EK certificate
// chain), and refusal of a missing AK or a key that is not an AK under this TPM's EK.
import { readFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { evictPersistent, persistAk } from '../../agent/attest/ak.js';
import { pemToDer, spkiPemOf, withEk } from '../../agent/attest/ek.js';
import { validateEkCertificate } from '../../agent/attest/ek-cert.js';
import { hostIdentity, hostInit } from '../../agent/attest/identity.js';
import { ExecgateError } from '../../agent/errors.js';
import { TPM_RH } from '../../agent/tpm/constants.js';
import { akEccP256Template } from '../../agent/tpm/templates.js';
import { useSwtpm } from '../helpers/swtpm.js';
import { createPrimary, hex, openTpm, tpm2, transientHandles, withTempDir } from '../tpm/swtpm-kit.js';

const swtpm = useSwtpm({ ek: true });

afterEach(async () => {
  expect(await transientHandles(openTpm(swtpm()))).toEqual([]);
});

async function codeOf(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'resolved',
    (e: unknown) => (e instanceof ExecgateError ? e.code : String(e)),
  );
}

describe('hostInit', () => {
  it('is idempotent: the second init keeps the AK (same name); --force makes a new one', async () => {
    const tpm = openTpm(swtpm());
    const first = await hostInit(tpm);
    expect(first.created).toBe(true);
    expect(first.identity.akAlg).toBe('rsa');
    const again = await hostInit(tpm);
    expect(again.created).toBe(false);
    expect(again.identity.akName).toBe(first.identity.akName);
    const forced = await hostInit(tpm, { force: true, akAlg: 'ecc' });
    expect(forced.created).toBe(true);
    expect(forced.identity.akAlg).toBe('ecc');
    expect(forced.identity.akName).not.toBe(first.identity.akName);
    expect((await hostIdentity(tpm)).akName).toBe(forced.identity.akName);
    await evictPersistent(tpm, 0x81010002);
  });

  it('at a chosen handle; the AK name equals tpm2_readpublic -n', async () => {
    const tpm = openTpm(swtpm());
    const { identity } = await hostInit(tpm, { akHandle: 0x81010010, akAlg: 'ecc' });
    await withTempDir(async (dir) => {
      await tpm2(swtpm(), 'tpm2_readpublic', ['-c', '0x81010010', '-n', `${dir}/name`]);
      expect(identity.akName).toBe(hex(await readFile(`${dir}/name`)));
    });
    await evictPersistent(tpm, 0x81010010);
  });
});

describe('hostIdentity', () => {
  it('has exactly the documented keys; the EK PEM and certificate are the TPM EK and its validating certificate', async () => {
    const tpm = openTpm(swtpm());
    await hostInit(tpm, { akHandle: 0x81010011 });
    const id = await hostIdentity(tpm, { akHandle: 0x81010011 });
    expect(Object.keys(id)).toEqual([
      'akName',
      'akPublicPem',
      'akAlg',
      'ekPublicPem',
      'ekCertificatePem',
      'tpm',
    ]);
    expect(Object.keys(id.tpm)).toEqual(['manufacturer', 'firmwareVersion']);
    expect(id.tpm).toEqual({ manufacturer: 'IBM', firmwareVersion: '2019102300163636' });
    expect(id.akName).toMatch(/^000b[0-9a-f]{64}$/);
    expect(id.akPublicPem).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    const ekPub = await withEk(tpm, 'rsa2048', async (ek) => ek.public);
    expect(id.ekPublicPem).toBe(spkiPemOf(ekPub));
    const ca = swtpm().ca;
    if (!ca || !id.ekCertificatePem) throw new Error('expected a CA and an EK certificate');
    const cert = pemToDer(id.ekCertificatePem, 'CERTIFICATE');
    if (!cert) throw new Error('ekCertificatePem is not PEM');
    const bundle = (await readFile(ca.rootCert, 'utf8')) + (await readFile(ca.issuerCert, 'utf8'));
    await validateEkCertificate({ certificate: cert, bundle, ekPublic: ekPub });
    // Asked about another EK, the AK's qualified Name gives it away: it is not under the P-256 EK.
    expect(await codeOf(hostIdentity(tpm, { akHandle: 0x81010011, ekAlg: 'eccP256' }))).toBe('E_AK_INVALID');
    await evictPersistent(tpm, 0x81010011);
  });

  it('an AK under the P-256 EK, which has no certificate in NV: ekCertificatePem is absent, not null', async () => {
    const tpm = openTpm(swtpm());
    const { identity } = await hostInit(tpm, { akHandle: 0x81010014, ekAlg: 'eccP256', akAlg: 'ecc' });
    expect(Object.keys(identity)).toEqual(['akName', 'akPublicPem', 'akAlg', 'ekPublicPem', 'tpm']);
    expect(identity.ekPublicPem).toBe(await withEk(tpm, 'eccP256', async (ek) => spkiPemOf(ek.public)));
    await evictPersistent(tpm, 0x81010014);
  });

  it('no AK at the handle: E_AK_MISSING', async () => {
    expect(await codeOf(hostIdentity(openTpm(swtpm()), { akHandle: 0x81010012 }))).toBe('E_AK_MISSING');
  });

  it('a restricted signing key that is not under the EK (a primary in the endorsement hierarchy): E_AK_INVALID, and init refuses to keep it', async () => {
    const tpm = openTpm(swtpm());
    const primary = await createPrimary(tpm, TPM_RH.ENDORSEMENT, akEccP256Template());
    try {
      await persistAk(tpm, primary.objectHandle, 0x81010013);
    } finally {
      await tpm.flush(primary.objectHandle);
    }
    expect(await codeOf(hostIdentity(tpm, { akHandle: 0x81010013 }))).toBe('E_AK_INVALID');
    expect(await codeOf(hostInit(tpm, { akHandle: 0x81010013 }))).toBe('E_AK_INVALID');
    const forced = await hostInit(tpm, { akHandle: 0x81010013, force: true });
    expect(forced.created).toBe(true);
    await evictPersistent(tpm, 0x81010013);
  });
});
