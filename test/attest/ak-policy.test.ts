// SPDX-License-Identifier: Apache-2.0
// The AK policy for keys handed over by others (issue 11 finding 1): checkAkAttributes, parseAkPublic
// (TPM2B_PUBLIC or TPMT_PUBLIC) and the enrolment record, without a TPM.
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkAkAttributes, parseAkPublic } from '../../agent/attest/ak.js';
import { akEnrolment, parseAkEnrolment } from '../../agent/attest/credential.js';
import { ekPublicFromSpki } from '../../agent/attest/ek.js';
import { ExecgateError } from '../../agent/errors.js';
import { TPM_ALG, TPM_ECC_CURVE } from '../../agent/tpm/constants.js';
import { objectName } from '../../agent/tpm/names.js';
import { marshal } from '../../agent/tpm/schema.js';
import { TPM2B_PUBLIC, TPMT_PUBLIC } from '../../agent/tpm/structures.js';
import { akEccP256Template, akRsa2048Template } from '../../agent/tpm/templates.js';

const codeOf = (fn: () => unknown): string => {
  try {
    fn();
    return 'ok';
  } catch (e) {
    return e instanceof ExecgateError ? e.code : String(e);
  }
};

const rsaAk = (): TPMT_PUBLIC => ({ ...akRsa2048Template(), unique: new Uint8Array(256).fill(7) });
const eccAk = (): TPMT_PUBLIC => ({
  ...akEccP256Template(),
  unique: { x: new Uint8Array(32).fill(1), y: new Uint8Array(32).fill(2) },
});

describe('checkAkAttributes', () => {
  it("accepts our templates and tpm2_createak's other AKs (RSAPSS, SHA-384, P-384, RSA-3072)", () => {
    const rsa = rsaAk();
    const ecc = eccAk();
    if (rsa.type !== TPM_ALG.RSA || ecc.type !== TPM_ALG.ECC) throw new Error('templates');
    const pss = {
      ...rsa,
      parameters: {
        ...rsa.parameters,
        scheme: { scheme: TPM_ALG.RSAPSS, details: { hashAlg: TPM_ALG.SHA384 } },
      },
    };
    const big = { ...rsa, parameters: { ...rsa.parameters, keyBits: 3072 } };
    const p384 = {
      ...ecc,
      nameAlg: TPM_ALG.SHA384,
      parameters: { ...ecc.parameters, curveID: TPM_ECC_CURVE.NIST_P384 },
    };
    for (const pub of [rsa, ecc, pss, big, p384] as TPMT_PUBLIC[])
      expect(codeOf(() => checkAkAttributes(pub))).toBe('ok');
  });

  it('refuses weak or unrestricted keys with E_AK_INVALID; SHA-1 only with allowSha1', () => {
    const rsa = rsaAk();
    const ecc = eccAk();
    if (rsa.type !== TPM_ALG.RSA || ecc.type !== TPM_ALG.ECC) throw new Error('templates');
    const sha1 = {
      ...rsa,
      parameters: {
        ...rsa.parameters,
        scheme: { scheme: TPM_ALG.RSASSA, details: { hashAlg: TPM_ALG.SHA1 } },
      },
    };
    const bad: Record<string, TPMT_PUBLIC> = {
      'RSA-1024': { ...rsa, parameters: { ...rsa.parameters, keyBits: 1024 } },
      'null scheme': {
        ...rsa,
        parameters: { ...rsa.parameters, scheme: { scheme: TPM_ALG.NULL, details: null } },
      },
      'OAEP scheme': {
        ...rsa,
        parameters: {
          ...rsa.parameters,
          scheme: { scheme: TPM_ALG.OAEP, details: { hashAlg: TPM_ALG.SHA256 } },
        },
      },
      'P-521': { ...ecc, parameters: { ...ecc.parameters, curveID: TPM_ECC_CURVE.NIST_P521 } },
      'symmetric AES': {
        ...rsa,
        parameters: {
          ...rsa.parameters,
          symmetric: { algorithm: TPM_ALG.AES, keyBits: 128, mode: TPM_ALG.CFB },
        },
      },
      'sign clear': { ...rsa, objectAttributes: { ...rsa.objectAttributes, sign: false } },
      'SHA-1 scheme': sha1 as TPMT_PUBLIC,
    };
    for (const [what, pub] of Object.entries(bad))
      expect(
        codeOf(() => checkAkAttributes(pub)),
        what,
      ).toBe('E_AK_INVALID');
    expect(codeOf(() => checkAkAttributes(sha1 as TPMT_PUBLIC, { allowSha1: true }))).toBe('ok');
  });
});

describe('parseAkPublic', () => {
  it('reads TPM2B_PUBLIC and TPMT_PUBLIC to the same Name; a PEM, junk or trailing bytes are E_AK_INVALID', () => {
    const pub = rsaAk();
    const name = objectName(pub);
    expect(parseAkPublic(marshal(TPM2B_PUBLIC, pub)).name).toEqual(name);
    expect(parseAkPublic(marshal(TPMT_PUBLIC, pub)).name).toEqual(name);
    const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({
      type: 'spki',
      format: 'pem',
    });
    for (const bytes of [
      Buffer.from(pem),
      Buffer.from('junk'),
      Buffer.concat([marshal(TPMT_PUBLIC, pub), Buffer.from([0])]),
    ])
      expect(codeOf(() => parseAkPublic(new Uint8Array(bytes)))).toBe('E_AK_INVALID');
  });
});

describe('enrolment record', () => {
  const ekPem = generateKeyPairSync('rsa', { modulusLength: 2048 })
    .publicKey.export({ type: 'spki', format: 'pem' })
    .toString();
  const ek = ekPublicFromSpki(ekPem);
  const record = akEnrolment(ek.public, parseAkPublic(marshal(TPM2B_PUBLIC, rsaAk())));

  it("round-trips; a record whose akName is not its akPublic's Name is E_CREDENTIAL_INPUT", () => {
    const back = parseAkEnrolment(JSON.stringify(record));
    expect(Buffer.from(back.name).toString('hex')).toBe(record.akName);
    expect(Buffer.from(back.qualifiedName).toString('hex')).toBe(record.akQualifiedName);
    const swapped = { ...record, akName: `000b${'00'.repeat(32)}` };
    expect(codeOf(() => parseAkEnrolment(JSON.stringify(swapped)))).toBe('E_CREDENTIAL_INPUT');
    expect(
      codeOf(() => parseAkEnrolment(JSON.stringify({ ...record, akBinding: 'unverified-ak-name' }))),
    ).toBe('E_CREDENTIAL_INPUT');
    expect(codeOf(() => parseAkEnrolment('{'))).toBe('E_CREDENTIAL_INPUT');
  });

  it('a record whose akPublic is not an AK is E_AK_INVALID', () => {
    const pub = rsaAk();
    const weak = { ...pub, objectAttributes: { ...pub.objectAttributes, restricted: false } };
    const akPublic = Buffer.from(marshal(TPM2B_PUBLIC, weak)).toString('hex');
    const akName = Buffer.from(objectName(weak)).toString('hex');
    expect(codeOf(() => parseAkEnrolment(JSON.stringify({ ...record, akPublic, akName })))).toBe(
      'E_AK_INVALID',
    );
  });
});
