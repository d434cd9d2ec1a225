// SPDX-License-Identifier: Apache-2.0
// The AK on swtpm: created under the TCG-default EK (PolicySecret session, as tpm2_createak does), its
// Name and qualified Name (which proves the EK is its parent), the saved TPM2B_PUBLIC/TPM2B_PRIVATE pair
// reloaded after a power cycle, a persistent AK surviving a swtpm restart, and what is refused.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AkError,
  akPublicPem,
  checkAkPublic,
  checkPersistentHandle,
  createAk,
  evictPersistent,
  loadAk,
  parseAkPair,
  persistAk,
  qualifiedNameUnder,
  readAk,
  saveAkPair,
} from '../../agent/attest/ak.js';
import { readPublicOrUndefined, withEk } from '../../agent/attest/ek.js';
import { ReadPublic } from '../../agent/tpm/commands.js';
import { TPM_ALG } from '../../agent/tpm/constants.js';
import { objectName } from '../../agent/tpm/names.js';
import { startSwtpm } from '../../swtpm/harness.js';
import { useSwtpm } from '../helpers/swtpm.js';
import { hex, openTpm, publicKeyOf, transientHandles } from '../tpm/swtpm-kit.js';

const swtpm = useSwtpm({ ek: true });

afterEach(async () => {
  expect(await transientHandles(openTpm(swtpm()))).toEqual([]);
});

describe('createAk / loadAk', () => {
  it.each(['rsa', 'ecc'] as const)(
    '%s AK under the RSA EK: restricted signing key, Name and qualified Name as the TPM reports them',
    async (alg) => {
      const tpm = openTpm(swtpm());
      await withEk(tpm, 'rsa2048', async (ek) => {
        const pair = await createAk(tpm, ek, alg);
        expect(checkAkPublic(pair.public)).toBe(alg);
        expect(pair.public.type).toBe(alg === 'rsa' ? TPM_ALG.RSA : TPM_ALG.ECC);
        expect(hex(pair.name)).toBe(hex(objectName(pair.public)));
        const handle = await loadAk(tpm, ek, pair);
        try {
          const rp = await tpm.run(ReadPublic, { objectHandle: handle });
          expect(hex(rp.name)).toBe(hex(pair.name));
          expect(hex(rp.qualifiedName)).toBe(hex(qualifiedNameUnder(ek, pair.public)));
          // The PEM is the same key node:crypto builds independently from the public area.
          expect(akPublicPem(pair.public)).toBe(
            String(publicKeyOf(pair.public).export({ type: 'spki', format: 'pem' })),
          );
        } finally {
          await tpm.flush(handle);
        }
      });
    },
  );

  it('an AK pair made under one EK does not load under another (P-256) EK', async () => {
    const tpm = openTpm(swtpm());
    const pair = await withEk(tpm, 'rsa2048', (ek) => createAk(tpm, ek, 'ecc'));
    await withEk(tpm, 'eccP256', async (other) => {
      await expect(loadAk(tpm, other, pair)).rejects.toMatchObject({ code: 'E_TPM_RC' });
    });
  });

  it('saveAkPair / parseAkPair round-trip; an EK public area is not accepted as an AK', async () => {
    const tpm = openTpm(swtpm());
    await withEk(tpm, 'rsa2048', async (ek) => {
      const pair = await createAk(tpm, ek, 'rsa');
      const back = parseAkPair(saveAkPair(pair));
      expect(hex(back.name)).toBe(hex(pair.name));
      expect(hex(back.private)).toBe(hex(pair.private));
      expect(() => checkAkPublic(ek.public)).toThrow(AkError);
    });
  });

  it('checkPersistentHandle accepts only owner persistent handles', () => {
    expect(() => checkPersistentHandle(0x81010002)).not.toThrow();
    for (const h of [0x80000000, 0x81800000, 0x01c00002])
      expect(() => checkPersistentHandle(h)).toThrow(AkError);
  });
});

describe('across a power cycle (swtpm stopped and started again on the same state)', () => {
  it('the saved pair reloads to the same Name, and the persistent AK is still at its handle', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'execgate-ak-test-'));
    try {
      const first = await startSwtpm({ ek: true, stateDir });
      let saved: { public: Uint8Array; private: Uint8Array };
      let persistentName: Uint8Array;
      let leftLoaded: number;
      try {
        const tpm = openTpm(first);
        const made = await withEk(tpm, 'rsa2048', async (ek) => {
          const pair = await createAk(tpm, ek, 'rsa');
          const persistent = await createAk(tpm, ek, 'ecc');
          const h = await loadAk(tpm, ek, persistent);
          await persistAk(tpm, h, 0x81010007);
          await tpm.flush(h);
          // Left loaded on purpose: a power cycle must drop it.
          const loaded = await loadAk(tpm, ek, pair);
          return { pair, persistent, loaded };
        });
        saved = saveAkPair(made.pair);
        persistentName = made.persistent.name;
        leftLoaded = made.loaded;
      } finally {
        await first.stop();
      }
      const second = await startSwtpm({ stateDir });
      try {
        const tpm = openTpm(second);
        expect(await transientHandles(tpm)).toEqual([]);
        expect(await readPublicOrUndefined(tpm, leftLoaded)).toBeUndefined();
        const ak = await readAk(tpm, 0x81010007);
        expect(hex(ak?.name ?? new Uint8Array(0))).toBe(hex(persistentName));
        await withEk(tpm, 'rsa2048', async (ek) => {
          const pair = parseAkPair(saved);
          const h = await loadAk(tpm, ek, pair);
          try {
            expect(hex((await tpm.run(ReadPublic, { objectHandle: h })).name)).toBe(hex(pair.name));
          } finally {
            await tpm.flush(h);
          }
        });
        await evictPersistent(tpm, 0x81010007);
        expect(await readAk(tpm, 0x81010007)).toBeUndefined();
      } finally {
        await second.stop();
      }
    } finally {
      await rm(stateDir, { recursive: true, force: true });
    }
  });
});
