// SPDX-License-Identifier: Apache-2.0
// The audit counter (agent/attest/nv-counter.ts) on swtpm: define (idempotent, never redefining another
// index), increment, read, with tpm2-tools as the oracle (tpm2_nvreadpublic for the attributes,
// tpm2_nvread for the value, tpm2_nvincrement from outside); NV_Certify by the AK verified offline, with
// node:crypto checking the signature independently, and refused for another AK, other qualifying data,
// a flipped signature byte and an ordinary index holding chosen bytes.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  COUNTER_ATTRIBUTES,
  certifyCounter,
  checkCounterIndex,
  counterName,
  counterPublic,
  DEFAULT_AUDIT_COUNTER_INDEX,
  defineCounter,
  incrementCounter,
  readCounter,
  readCounterCertified,
  verifyCounterCertificate,
} from '../../agent/attest/nv-counter.js';
import { spkiOfPublic, withAk } from '../../agent/attest/quote.js';
import { initVerification } from '../../agent/crypto/verify.js';
import {
  NV_DefineSpace,
  NV_Increment,
  NV_ReadPublic,
  NV_UndefineSpace,
  NV_Write,
} from '../../agent/tpm/commands.js';
import { TPM_ALG, TPM_NT, TPM_RH, TPM_ST } from '../../agent/tpm/constants.js';
import { nvName } from '../../agent/tpm/names.js';
import { attrs, unmarshal } from '../../agent/tpm/schema.js';
import { TPMA_NV, TPMS_ATTEST, TPMT_SIGNATURE } from '../../agent/tpm/structures.js';
import { useSwtpm } from '../helpers/swtpm.js';
import {
  EMPTY,
  hex,
  openTpm,
  tpm2,
  transientHandles,
  verifySignature,
  withTempDir,
} from '../tpm/swtpm-kit.js';

const swtpm = useSwtpm();

beforeAll(async () => {
  await initVerification();
});

/** The code of what `fn` throws (or rejects with), or 'no error'. */
async function codeOf(fn: () => unknown): Promise<string> {
  try {
    await fn();
    return 'no error';
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
}

const h = (i: number) => `0x${i.toString(16)}`;

async function nvreadValue(index: number): Promise<bigint> {
  return withTempDir(async (dir) => {
    await tpm2(swtpm(), 'tpm2_nvread', [h(index), '-s', '8', '-o', 'v.bin'], dir);
    return (await readFile(join(dir, 'v.bin'))).readBigUInt64BE(0);
  });
}

describe('defineCounter / incrementCounter / readCounter', () => {
  it('defines the counter with the documented attributes (tpm2_nvreadpublic agrees), readable at once; idempotent', async () => {
    const tpm = openTpm(swtpm());
    const index = 0x01500200;
    const first = await defineCounter(tpm, index);
    expect(first.created).toBe(true);
    expect(await readCounter(tpm, index)).toBe(first.value);
    expect(await nvreadValue(index)).toBe(first.value);

    const { nvPublic, nvName: name } = await tpm.run(NV_ReadPublic, { nvIndex: index });
    expect(nvPublic).toEqual(counterPublic(index, true));
    expect(hex(name)).toBe(hex(counterName(index)));
    const yaml = await tpm2(swtpm(), 'tpm2_nvreadpublic', [h(index)]);
    // tpm2-tools spells the attributes it finds: exactly ours, plus written after the first increment.
    const friendly = /attributes:\n\s+friendly: (.*)\n\s+value: (.*)/.exec(yaml);
    expect(friendly?.[1]?.split('|').sort()).toEqual(
      ['authread', 'no_da', 'nt=0x1', 'ownerread', 'ownerwrite', 'written'].sort(),
    );
    expect(friendly?.[2]).toBe('0x22060012');
    expect(yaml).toMatch(/size: 8/);
    expect(yaml).toMatch(/name: 000b/);

    // The same attributes spelled for tpm2_nvdefine give the same public area (at its own handle).
    const other = 0x01500204;
    await tpm2(swtpm(), 'tpm2_nvdefine', [
      '-C',
      'o',
      '-s',
      '8',
      '-a',
      'nt=counter|ownerwrite|authread|ownerread|no_da',
      h(other),
    ]);
    expect((await tpm.run(NV_ReadPublic, { nvIndex: other })).nvPublic).toEqual(counterPublic(other));
    expect(await defineCounter(tpm, other)).toMatchObject({ created: false });
    await tpm.run(NV_UndefineSpace, { authHandle: TPM_RH.OWNER, nvIndex: other });

    const again = await defineCounter(tpm, index);
    expect(again).toEqual({ created: false, value: first.value });
    await tpm.run(NV_UndefineSpace, { authHandle: TPM_RH.OWNER, nvIndex: index });
  });

  it('increments by exactly one and returns the new value, which tpm2_nvread reads too; tpm2_nvincrement -C o from outside is seen', async () => {
    const tpm = openTpm(swtpm());
    const index = DEFAULT_AUDIT_COUNTER_INDEX;
    const { value } = await defineCounter(tpm, index);
    expect(await incrementCounter(tpm, index)).toBe(value + 1n);
    expect(await incrementCounter(tpm, index)).toBe(value + 2n);
    expect(await nvreadValue(index)).toBe(value + 2n);
    await tpm2(swtpm(), 'tpm2_nvincrement', ['-C', 'o', h(index)]);
    expect(await readCounter(tpm, index)).toBe(value + 3n);
    // Owner-only writes: the index's own (empty) authValue does not increment it.
    expect(await codeOf(() => tpm.run(NV_Increment, { authHandle: index, nvIndex: index }))).toBe('E_TPM_RC');
  });

  it('a counter defined anew starts no lower than any counter this TPM had (why the index may be deleted)', async () => {
    const tpm = openTpm(swtpm());
    const index = 0x01500201;
    const { value } = await defineCounter(tpm, index);
    for (let i = 0; i < 3; i++) await incrementCounter(tpm, index);
    await tpm.run(NV_UndefineSpace, { authHandle: TPM_RH.OWNER, nvIndex: index });
    const redefined = await defineCounter(tpm, index);
    expect(redefined.created).toBe(true);
    expect(redefined.value).toBeGreaterThanOrEqual(value + 3n);
    await tpm.run(NV_UndefineSpace, { authHandle: TPM_RH.OWNER, nvIndex: index });
  });

  it('never redefines or reads another index: an ordinary index, or a counter with other attributes, is E_NV_COUNTER_MISMATCH', async () => {
    const tpm = openTpm(swtpm());
    const index = 0x01500202;
    const ordinary = {
      nvIndex: index,
      nameAlg: TPM_ALG.SHA256,
      attributes: attrs(TPMA_NV, { TPM_NT: TPM_NT.ORDINARY, OWNERWRITE: true, AUTHREAD: true, NO_DA: true }),
      authPolicy: EMPTY,
      dataSize: 8,
    };
    await tpm.run(NV_DefineSpace, { authHandle: TPM_RH.OWNER, auth: EMPTY, publicInfo: ordinary });
    // Bytes chosen to look like a large counter value: readCounter must not believe them.
    await tpm.run(NV_Write, {
      authHandle: TPM_RH.OWNER,
      nvIndex: index,
      data: Uint8Array.of(0, 0, 0, 0x10, 0, 0, 0, 0),
      offset: 0,
    });
    expect(await codeOf(() => defineCounter(tpm, index))).toBe('E_NV_COUNTER_MISMATCH');
    expect(await codeOf(() => readCounter(tpm, index))).toBe('E_NV_COUNTER_MISMATCH');
    expect(await codeOf(() => incrementCounter(tpm, index))).toBe('E_NV_COUNTER_MISMATCH');
    await tpm.run(NV_UndefineSpace, { authHandle: TPM_RH.OWNER, nvIndex: index });

    const anyoneWrites = { ...counterPublic(index), attributes: { ...COUNTER_ATTRIBUTES, AUTHWRITE: true } };
    await tpm.run(NV_DefineSpace, { authHandle: TPM_RH.OWNER, auth: EMPTY, publicInfo: anyoneWrites });
    expect(await codeOf(() => defineCounter(tpm, index))).toBe('E_NV_COUNTER_MISMATCH');
    await tpm.run(NV_UndefineSpace, { authHandle: TPM_RH.OWNER, nvIndex: index });
  });

  it('an undefined index is E_NV_COUNTER_MISSING; a handle that is no definable NV index is E_NV_COUNTER_INDEX', async () => {
    const tpm = openTpm(swtpm());
    expect(await codeOf(() => readCounter(tpm, 0x01500203))).toBe('E_NV_COUNTER_MISSING');
    expect(await codeOf(() => incrementCounter(tpm, 0x01500203))).toBe('E_NV_COUNTER_MISSING');
    for (const bad of [0x81010002, 0x01c00002, 0x00ffffff, -1, 1.5, Number.NaN]) {
      expect(() => checkCounterIndex(bad)).toThrow(expect.objectContaining({ code: 'E_NV_COUNTER_INDEX' }));
      expect(await codeOf(() => defineCounter(tpm, bad))).toBe('E_NV_COUNTER_INDEX');
    }
  });
});

describe('certifyCounter / verifyCounterCertificate', () => {
  const index = 0x01500210;
  const qd = Uint8Array.from({ length: 32 }, (_, i) => i);

  for (const alg of ['rsa', 'ecc'] as const) {
    it(`${alg} AK: the certificate carries the value, the counter's Name and the qualifying data; node:crypto verifies the signature`, async () => {
      const tpm = openTpm(swtpm());
      const { value } = await defineCounter(tpm, index);
      await withAk(tpm, { kind: 'primary', alg }, async (ak) => {
        const spki = spkiOfPublic(ak.public);
        const cert = await certifyCounter(tpm, ak, index, qd);
        const v = verifyCounterCertificate(cert, spki, qd);
        expect(v).toMatchObject({ ok: true, value });
        // Independently: the TPM's structure, parsed, and node:crypto over the exact bytes.
        const attest = unmarshal(TPMS_ATTEST, cert.attest);
        expect(attest.type).toBe(TPM_ST.ATTEST_NV);
        if (attest.type !== TPM_ST.ATTEST_NV) return;
        expect(hex(attest.attested.indexName)).toBe(
          hex((await tpm.run(NV_ReadPublic, { nvIndex: index })).nvName),
        );
        expect(verifySignature(ak.public, cert.attest, unmarshal(TPMT_SIGNATURE, cert.signature))).toBe(true);

        // Refusals.
        expect(
          verifyCounterCertificate(
            cert,
            spki,
            qd.map((b) => b ^ 1),
          ).ok,
        ).toBe(false);
        const flipped = Uint8Array.from(cert.signature);
        flipped[flipped.length - 5] = (flipped[flipped.length - 5] ?? 0) ^ 1;
        expect(verifyCounterCertificate({ ...cert, signature: flipped }, spki, qd).ok).toBe(false);
        const attestFlipped = Uint8Array.from(cert.attest);
        attestFlipped[attestFlipped.length - 1] = (attestFlipped[attestFlipped.length - 1] ?? 0) ^ 1;
        expect(verifyCounterCertificate({ ...cert, attest: attestFlipped }, spki, qd).ok).toBe(false);
        // The same signed bytes claimed for another index: the Name does not match.
        expect(verifyCounterCertificate({ ...cert, index: index + 1 }, spki, qd)).toMatchObject({
          ok: false,
          detail: expect.stringContaining('indexName'),
        });
        await withAk(tpm, { kind: 'primary', alg: alg === 'rsa' ? 'ecc' : 'rsa' }, async (other) => {
          expect(verifyCounterCertificate(cert, spkiOfPublic(other.public), qd).ok).toBe(false);
        });
        expect(verifyCounterCertificate({ ...cert, signature: Uint8Array.of(1, 2, 3) }, spki, qd).ok).toBe(
          false,
        );
        expect(verifyCounterCertificate({ ...cert, attest: new Uint8Array(0) }, spki, qd).ok).toBe(false);
      });
      expect(await transientHandles(tpm)).toEqual([]);
    });
  }

  it('an ordinary index holding chosen bytes certifies validly but is refused: its Name is not the counter’s', async () => {
    const tpm = openTpm(swtpm());
    const fake = 0x01500211;
    const publicInfo = {
      nvIndex: fake,
      nameAlg: TPM_ALG.SHA256,
      attributes: attrs(TPMA_NV, { TPM_NT: TPM_NT.ORDINARY, OWNERWRITE: true, AUTHREAD: true, NO_DA: true }),
      authPolicy: EMPTY,
      dataSize: 8,
    };
    await tpm.run(NV_DefineSpace, { authHandle: TPM_RH.OWNER, auth: EMPTY, publicInfo });
    await tpm.run(NV_Write, {
      authHandle: TPM_RH.OWNER,
      nvIndex: fake,
      data: new Uint8Array(8).fill(0x7f),
      offset: 0,
    });
    await withAk(tpm, { kind: 'primary', alg: 'ecc' }, async (ak) => {
      // certifyCounter checks the handle only; the TPM certifies whatever is there.
      const cert = await certifyCounter(tpm, ak, fake, qd);
      const v = verifyCounterCertificate(cert, spkiOfPublic(ak.public), qd);
      expect(v).toMatchObject({ ok: false, detail: expect.stringContaining('indexName') });
      const attest = unmarshal(TPMS_ATTEST, cert.attest);
      if (attest.type === TPM_ST.ATTEST_NV)
        expect(hex(attest.attested.indexName)).toBe(
          hex(nvName({ ...publicInfo, attributes: { ...publicInfo.attributes, WRITTEN: true } })),
        );
      expect(await codeOf(() => readCounterCertified(tpm, ak, spkiOfPublic(ak.public), fake))).toBe(
        'E_NV_COUNTER_MISMATCH',
      );
    });
    await tpm.run(NV_UndefineSpace, { authHandle: TPM_RH.OWNER, nvIndex: fake });
  });

  it('readCounterCertified: the value under a fresh nonce; a key the caller does not trust is E_NV_COUNTER_CERTIFY', async () => {
    const tpm = openTpm(swtpm());
    const { value } = await defineCounter(tpm, index);
    await withAk(tpm, { kind: 'primary', alg: 'rsa' }, async (ak) => {
      expect(await readCounterCertified(tpm, ak, spkiOfPublic(ak.public), index)).toBe(value);
      const other = await withAk(tpm, { kind: 'primary', alg: 'ecc' }, async (o) => spkiOfPublic(o.public));
      expect(await codeOf(() => readCounterCertified(tpm, ak, other, index))).toBe('E_NV_COUNTER_CERTIFY');
    });
  });
});

describe('tpm2_nvcertify as the other side', () => {
  it("tpm2-tools' certification of the counter verifies with verifyCounterCertificate, and carries the value tpm2_nvread reads", async () => {
    const tpm = openTpm(swtpm());
    const index = 0x01500220;
    await defineCounter(tpm, index);
    const value = await incrementCounter(tpm, index);
    const qd = Uint8Array.from({ length: 32 }, (_, i) => 0xa0 ^ i);
    await withAk(tpm, { kind: 'primary', alg: 'ecc' }, async (ak) => {
      await withTempDir(async (dir) => {
        await tpm2(
          swtpm(),
          'tpm2_nvcertify',
          [
            '-C',
            h(ak.handle),
            '-c',
            h(index),
            '-g',
            'sha256',
            '-q',
            hex(qd),
            '--size',
            '8',
            '--offset',
            '0',
            '-o',
            'sig.bin',
            '--attestation',
            'attest.bin',
            h(index),
          ],
          dir,
        );
        const cert = {
          index,
          attest: new Uint8Array(await readFile(join(dir, 'attest.bin'))),
          signature: new Uint8Array(await readFile(join(dir, 'sig.bin'))),
        };
        expect(verifyCounterCertificate(cert, spkiOfPublic(ak.public), qd)).toMatchObject({
          ok: true,
          value,
        });
      });
    });
    expect(await nvreadValue(index)).toBe(value);
  });
});
