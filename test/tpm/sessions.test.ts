// SPDX-License-Identifier: Apache-2.0
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreatePrimary,
  NV_DefineSpace,
  NV_Read,
  NV_UndefineSpace,
  NV_Write,
  PCR_Extend,
  PCR_Read,
} from '../../agent/tpm/commands.js';
import { TPM_ALG, TPM_CC, TPM_NT, TPM_RH } from '../../agent/tpm/constants.js';
import { TpmError } from '../../agent/tpm/errors.js';
import {
  PolicyCalculator,
  pcrDigest,
  policyGetDigest,
  policyPCR,
  policySecret,
} from '../../agent/tpm/policy.js';
import { TPM_RC } from '../../agent/tpm/rc.js';
import { attrs } from '../../agent/tpm/schema.js';
import { startAuthSession } from '../../agent/tpm/sessions.js';
import { TPMA_NV, type TPMT_PUBLIC } from '../../agent/tpm/structures.js';
import { srkEccP256Template, srkRsa2048Template } from '../../agent/tpm/templates.js';
import { Tpm } from '../../agent/tpm/tpm.js';
import { openTransport, type Transport } from '../../agent/tpm/transport/index.js';
import { useSwtpm } from '../helpers/swtpm.js';

const swtpm = useSwtpm();

/** Records every command and response on the wire, and can corrupt the next response to one command code. */
class RecordingTransport implements Transport {
  readonly wire: Uint8Array[] = [];
  corruptCc: number | undefined;
  constructor(private readonly inner: Transport) {}
  async send(cmd: Uint8Array): Promise<Uint8Array> {
    this.wire.push(cmd);
    const rsp = await this.inner.send(cmd);
    this.wire.push(rsp);
    const cc = Buffer.from(cmd).readUInt32BE(6);
    if (this.corruptCc === cc && rsp.length > 20) {
      this.corruptCc = undefined;
      const bad = rsp.slice();
      bad[18] = (bad[18] ?? 0) ^ 0x01; // a bit inside the response parameters
      return bad;
    }
    return rsp;
  }
  close(): Promise<void> {
    return this.inner.close();
  }
  contains(needle: Uint8Array): boolean {
    return this.wire.some((b) => Buffer.from(b).includes(Buffer.from(needle)));
  }
}

const RSA_STORAGE = srkRsa2048Template();
const ECC_STORAGE = srkEccP256Template();

async function createPrimary(tpm: Tpm, template: TPMT_PUBLIC) {
  return tpm.run(CreatePrimary, {
    primaryHandle: TPM_RH.OWNER,
    inSensitive: { userAuth: new Uint8Array(0), data: new Uint8Array(0) },
    inPublic: template,
    outsideInfo: new Uint8Array(0),
    creationPCR: [],
  });
}

const NV_INDEX = 0x01500010;
const NV_AUTH = new TextEncoder().encode('nv-password');

async function defineNv(tpm: Tpm, index: number, authPolicy: Uint8Array = new Uint8Array(0)) {
  await tpm.run(NV_DefineSpace, {
    authHandle: TPM_RH.OWNER,
    auth: NV_AUTH,
    publicInfo: {
      nvIndex: index,
      nameAlg: TPM_ALG.SHA256,
      attributes: attrs(
        TPMA_NV,
        authPolicy.length
          ? { POLICYWRITE: true, POLICYREAD: true, NO_DA: true, TPM_NT: TPM_NT.ORDINARY }
          : { AUTHWRITE: true, AUTHREAD: true, NO_DA: true, TPM_NT: TPM_NT.ORDINARY },
      ),
      authPolicy,
      dataSize: 32,
    },
  });
}

describe('HMAC and policy sessions on swtpm', () => {
  let rec: RecordingTransport;
  let tpm: Tpm;
  beforeAll(() => {
    rec = new RecordingTransport(openTransport(swtpm().tcti));
    tpm = new Tpm(rec);
  });
  afterAll(async () => {
    await tpm.close();
  });

  it('an unsalted, unbound HMAC session authorizes PCR_Extend over several commands (nonces roll)', async () => {
    const s = await startAuthSession(tpm);
    try {
      for (let i = 0; i < 3; i++) {
        await tpm.run(
          PCR_Extend,
          { pcrHandle: 16, digests: [{ hashAlg: TPM_ALG.SHA256, digest: new Uint8Array(32).fill(i) }] },
          { sessions: [s] },
        );
      }
    } finally {
      await tpm.flush(s.handle);
    }
  });

  it('an HMAC session proves an NV index authValue without sending it; a wrong one fails (BAD_AUTH: the index is noDA)', async () => {
    await defineNv(tpm, NV_INDEX);
    const s = await startAuthSession(tpm);
    try {
      const before = rec.wire.length;
      const data = randomBytes(32);
      await tpm.run(
        NV_Write,
        { authHandle: { handle: NV_INDEX, auth: NV_AUTH }, nvIndex: NV_INDEX, data, offset: 0 },
        { sessions: [s] },
      );
      // The Name of an NV index changes once it is written; the lookup must see the new one.
      const back = await tpm.run(
        NV_Read,
        { authHandle: { handle: NV_INDEX, auth: NV_AUTH }, nvIndex: NV_INDEX, size: 32, offset: 0 },
        { sessions: [s] },
      );
      expect(Buffer.from(back.data)).toEqual(data);
      expect(rec.wire.slice(before).some((b) => Buffer.from(b).includes(Buffer.from(NV_AUTH)))).toBe(false);
      const wrong = tpm.run(
        NV_Read,
        {
          authHandle: { handle: NV_INDEX, auth: new TextEncoder().encode('nope') },
          nvIndex: NV_INDEX,
          size: 32,
          offset: 0,
        },
        { sessions: [s] },
      );
      await expect(wrong).rejects.toSatisfy((e: unknown) => e instanceof TpmError && e.is(TPM_RC.BAD_AUTH));
    } finally {
      await tpm.flush(s.handle);
      await tpm.run(NV_UndefineSpace, { authHandle: TPM_RH.OWNER, nvIndex: NV_INDEX });
    }
  });

  for (const [kind, template] of [
    ['RSA', RSA_STORAGE],
    ['ECC', ECC_STORAGE],
  ] as const) {
    it(`a session salted to an ${kind} key encrypts the secret parameter both ways: the plaintext never crosses the wire`, async () => {
      const key = await createPrimary(tpm, template);
      await defineNv(tpm, NV_INDEX);
      const s = await startAuthSession(tpm, {
        salt: { handle: key.objectHandle, public: key.outPublic },
        decrypt: true,
        encrypt: true,
      });
      try {
        const secret = randomBytes(32);
        const before = rec.wire.length;
        await tpm.run(
          NV_Write,
          { authHandle: { handle: NV_INDEX, auth: NV_AUTH }, nvIndex: NV_INDEX, data: secret, offset: 0 },
          { sessions: [s] },
        );
        const back = await tpm.run(
          NV_Read,
          { authHandle: { handle: NV_INDEX, auth: NV_AUTH }, nvIndex: NV_INDEX, size: 32, offset: 0 },
          { sessions: [s] },
        );
        expect(Buffer.from(back.data)).toEqual(secret);
        const wire = rec.wire.slice(before);
        expect(wire.some((b) => Buffer.from(b).includes(secret))).toBe(false);
        expect(wire.some((b) => Buffer.from(b).includes(Buffer.from(NV_AUTH)))).toBe(false);
        // Control: the same read through a password session carries the secret in clear.
        const clear = rec.wire.length;
        await tpm.run(NV_Read, {
          authHandle: { handle: NV_INDEX, auth: NV_AUTH },
          nvIndex: NV_INDEX,
          size: 32,
          offset: 0,
        });
        expect(rec.wire.slice(clear).some((b) => Buffer.from(b).includes(secret))).toBe(true);
      } finally {
        await tpm.flush(s.handle);
        await tpm.flush(key.objectHandle);
        await tpm.run(NV_UndefineSpace, { authHandle: TPM_RH.OWNER, nvIndex: NV_INDEX });
      }
    });
  }

  it('a session bound to an NV index authorizes it (authValue only in the session key) and another entity', async () => {
    await defineNv(tpm, NV_INDEX);
    const s = await startAuthSession(tpm, { bind: { handle: NV_INDEX, auth: NV_AUTH } });
    try {
      const data = randomBytes(32);
      await tpm.run(
        NV_Write,
        { authHandle: { handle: NV_INDEX, auth: NV_AUTH }, nvIndex: NV_INDEX, data, offset: 0 },
        { sessions: [s] },
      );
      await tpm.run(
        PCR_Extend,
        { pcrHandle: 16, digests: [{ hashAlg: TPM_ALG.SHA1, digest: new Uint8Array(20) }] },
        { sessions: [s] },
      );
    } finally {
      await tpm.flush(s.handle);
      await tpm.run(NV_UndefineSpace, { authHandle: TPM_RH.OWNER, nvIndex: NV_INDEX });
    }
  });

  it('a response altered in transit fails the response HMAC with E_TPM_INTEGRITY', async () => {
    await defineNv(tpm, NV_INDEX);
    const s = await startAuthSession(tpm);
    try {
      const auth = { handle: NV_INDEX, auth: NV_AUTH };
      await tpm.run(
        NV_Write,
        { authHandle: auth, nvIndex: NV_INDEX, data: new Uint8Array(32), offset: 0 },
        { sessions: [s] },
      );
      rec.corruptCc = TPM_CC.NV_Read; // flips a bit of the data NV_Read returns
      const p = tpm.run(
        NV_Read,
        { authHandle: auth, nvIndex: NV_INDEX, size: 32, offset: 0 },
        { sessions: [s] },
      );
      await expect(p).rejects.toMatchObject({ code: 'E_TPM_INTEGRITY' });
    } finally {
      await tpm.flush(s.handle);
      await tpm.run(NV_UndefineSpace, { authHandle: TPM_RH.OWNER, nvIndex: NV_INDEX });
    }
  });

  it('trial PolicyPCR: PolicyGetDigest equals the offline calculator', async () => {
    const pcrs = [{ hash: TPM_ALG.SHA256, pcrSelect: new Uint8Array([0x01, 0x00, 0x01]) }]; // PCRs 0 and 16
    const read = await tpm.run(PCR_Read, { pcrSelectionIn: pcrs });
    const digest = pcrDigest('sha256', read.pcrValues);
    const s = await startAuthSession(tpm, { type: 'trial' });
    try {
      await policyPCR(tpm, s, pcrs, digest);
      expect(await policyGetDigest(tpm, s)).toEqual(
        new PolicyCalculator('sha256').policyPCR(pcrs, digest).digest,
      );
    } finally {
      await tpm.flush(s.handle);
    }
  });

  it('trial PolicySecret(TPM_RH_ENDORSEMENT) gives the TCG default EK policy digest, as the calculator does', async () => {
    const ekPolicy = '837197674484b3f81a90cc8d46a5d724fd52d76e06520b64f2a1da1b331469aa';
    const s = await startAuthSession(tpm, { type: 'trial' });
    try {
      await policySecret(tpm, s, TPM_RH.ENDORSEMENT);
      expect(Buffer.from(await policyGetDigest(tpm, s)).toString('hex')).toBe(ekPolicy);
    } finally {
      await tpm.flush(s.handle);
    }
    const handleName = Buffer.from('4000000b', 'hex');
    expect(Buffer.from(new PolicyCalculator().policySecret(handleName).digest).toString('hex')).toBe(
      ekPolicy,
    );
  });

  it('a PolicyPCR-protected NV index opens while PCR 23 holds its value and refuses after an extend', async () => {
    const pcrs = [{ hash: TPM_ALG.SHA256, pcrSelect: new Uint8Array([0, 0, 0x80]) }]; // PCR 23
    const now = await tpm.run(PCR_Read, { pcrSelectionIn: pcrs });
    const digest = pcrDigest('sha256', now.pcrValues);
    const policy = new PolicyCalculator().policyPCR(pcrs, digest).digest;
    await defineNv(tpm, NV_INDEX, policy);
    try {
      const s = await startAuthSession(tpm, { type: 'policy' });
      try {
        await policyPCR(tpm, s, pcrs, digest);
        await tpm.run(
          NV_Write,
          { authHandle: NV_INDEX, nvIndex: NV_INDEX, data: new Uint8Array(32), offset: 0 },
          { sessions: [s] },
        );
      } finally {
        await tpm.flush(s.handle);
      }
      await tpm.run(PCR_Extend, {
        pcrHandle: 23,
        digests: [{ hashAlg: TPM_ALG.SHA256, digest: createHash('sha256').update('x').digest() }],
      });
      const s2 = await startAuthSession(tpm, { type: 'policy' });
      try {
        await expect(policyPCR(tpm, s2, pcrs, digest)).rejects.toSatisfy(
          (e: unknown) => e instanceof TpmError && e.is(TPM_RC.VALUE),
        );
      } finally {
        await tpm.flush(s2.handle);
      }
    } finally {
      await tpm.run(NV_UndefineSpace, { authHandle: TPM_RH.OWNER, nvIndex: NV_INDEX });
    }
  });
});
