// SPDX-License-Identifier: Apache-2.0
// Enrolment binds the key the verifier later trusts (issue 11, finding 1): `credential make --ak-public`
// checks the AK's attributes, computes its Name and records the AK public key beside the credential;
// `quote verify --ak-public` trusts only that. The attack: after a genuine activation the host hands over
// a node:crypto key as "its AK" and signs a TPMS_ATTEST it built itself; the verifier must refuse it.
import { createHash, generateKeyPairSync, type KeyObject, sign as nodeSign, randomBytes } from 'node:crypto';
import { access, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { evictPersistent, loadAk, parseAkPair, persistAk } from '../../agent/attest/ak.js';
import { spkiPemOf, withEk } from '../../agent/attest/ek.js';
import { EXIT } from '../../agent/cli/exit.js';
import { TPM_ALG, TPM_GENERATED_VALUE, TPM_ST } from '../../agent/tpm/constants.js';
import { objectName } from '../../agent/tpm/names.js';
import { parseSelection, toTpml } from '../../agent/tpm/pcr-selection.js';
import { marshal, unmarshal } from '../../agent/tpm/schema.js';
import { TPM2B_PUBLIC, TPMS_ATTEST, TPMT_PUBLIC, TPMT_SIGNATURE } from '../../agent/tpm/structures.js';
import { useSwtpm } from '../helpers/swtpm.js';
import { hex, openTpm, unhex, withTempDir } from '../tpm/swtpm-kit.js';
import { cli } from './helpers.js';

const swtpm = useSwtpm({ ek: true });
const AK_HANDLE = '0x81010002';

interface Enrolled {
  tcti: string;
  dir: string;
  akPub: string;
  init: { akName: string; akQualifiedName: string };
}

/**
 * A genuine AK: `host init --ak-save` (ak.pub as tpm2-tools writes it), made persistent for activation
 * and quoting; the EK public key as the verifier receives it.
 */
async function genuineAk(dir: string): Promise<Enrolled> {
  const tcti = swtpm().tcti;
  // RSA, not the default ECC: the AK-policy variants below edit an RSA public area.
  const init = await cli([
    '--tcti',
    tcti,
    'host',
    'init',
    '--ak-save',
    join(dir, 'ak'),
    '--ak-alg',
    'rsa',
    '--json',
  ]);
  expect(init.stderr).toBe('');
  const doc = JSON.parse(init.stdout);
  const tpm = openTpm(swtpm());
  const pair = parseAkPair({
    public: new Uint8Array(await readFile(join(dir, 'ak', 'ak.pub'))),
    private: new Uint8Array(await readFile(join(dir, 'ak', 'ak.priv'))),
  });
  // Each test makes its own AK at the same handle.
  await evictPersistent(tpm, Number(AK_HANDLE)).catch(() => undefined);
  await withEk(tpm, 'rsa2048', async (ek) => {
    await writeFile(join(dir, 'ek.pem'), spkiPemOf(ek.public));
    const h = await loadAk(tpm, ek, pair);
    try {
      await persistAk(tpm, h, Number(AK_HANDLE));
    } finally {
      await tpm.flush(h);
    }
  });
  return { tcti, dir, akPub: join(dir, 'ak', 'ak.pub'), init: doc };
}

/** A TPM2B_PUBLIC for a node:crypto RSA key, with the attributes given. */
function softwarePublic(key: KeyObject, attrs: Record<string, boolean>): Uint8Array {
  const jwk = key.export({ format: 'jwk' });
  return marshal(TPM2B_PUBLIC, {
    type: TPM_ALG.RSA,
    nameAlg: TPM_ALG.SHA256,
    objectAttributes: { sign: true, userWithAuth: true, ...attrs },
    authPolicy: new Uint8Array(0),
    parameters: {
      symmetric: { algorithm: TPM_ALG.NULL, keyBits: null, mode: null },
      scheme: { scheme: TPM_ALG.RSASSA, details: { hashAlg: TPM_ALG.SHA256 } },
      keyBits: 2048,
      exponent: 0,
    },
    unique: Uint8Array.from(Buffer.from(jwk.n ?? '', 'base64url')),
  } as TPMT_PUBLIC);
}

/** The forged quote: a TPMS_ATTEST built here (the genuine AK's qualified Name copied in), signed in software. */
async function forgeQuote(dir: string, key: KeyObject, nonce: string, qualifiedSigner: string) {
  const pcrValues = Array.from({ length: 8 }, () => new Uint8Array(32));
  const attest = marshal(TPMS_ATTEST, {
    magic: TPM_GENERATED_VALUE,
    type: TPM_ST.ATTEST_QUOTE,
    qualifiedSigner: unhex(qualifiedSigner),
    extraData: unhex(nonce),
    clockInfo: { clock: 1000n, resetCount: 0, restartCount: 0, safe: 1 },
    firmwareVersion: 0n,
    attested: {
      pcrSelect: toTpml(parseSelection('sha256:0-7')),
      pcrDigest: new Uint8Array(createHash('sha256').update(Buffer.concat(pcrValues)).digest()),
    },
  });
  const signature = marshal(TPMT_SIGNATURE, {
    sigAlg: TPM_ALG.RSASSA,
    signature: { hash: TPM_ALG.SHA256, sig: new Uint8Array(nodeSign('sha256', attest, key)) },
  });
  await writeFile(join(dir, 'forged.msg'), attest);
  await writeFile(join(dir, 'forged.sig'), signature);
  await writeFile(join(dir, 'forged.values'), Buffer.concat(pcrValues));
  return [
    ...['--msg', join(dir, 'forged.msg'), '--sig', join(dir, 'forged.sig')],
    ...['--pcrs-values', join(dir, 'forged.values'), '--pcrs', 'sha256:0-7', '--nonce', nonce],
  ];
}

function makeArgs(e: Enrolled, ...rest: string[]) {
  return ['credential', 'make', '--ek-pub', join(e.dir, 'ek.pem'), '--secret', '00112233', ...rest];
}

describe('enrolment: credential make --ak-public binds the key quote verify trusts', () => {
  it('the forged-quote attack (a software key after a genuine activation) is refused', async () => {
    await withTempDir(async (dir) => {
      const e = await genuineAk(dir);
      const secret = randomBytes(32).toString('hex');
      const cred = join(dir, 'cred');
      const made = await cli([
        ...['credential', 'make', '--ek-pub', join(dir, 'ek.pem'), '--ak-public', e.akPub],
        ...['--secret', secret, '--out', cred],
      ]);
      expect(made.stderr).toBe('');
      expect(made.code).toBe(EXIT.OK);
      // Beside the credential: the AK public key and the facts to trust once the secret comes back.
      const record = JSON.parse(await readFile(`${cred}.ak.json`, 'utf8'));
      expect(record).toMatchObject({ akName: e.init.akName, akQualifiedName: e.init.akQualifiedName });
      expect(await readFile(`${cred}.ak.pem`, 'utf8')).toBe(record.akPublicPem);

      const act = await cli(['--tcti', e.tcti, 'credential', 'activate', '--in', cred]);
      expect(act.stderr).toBe('');
      expect(act.stdout.trim()).toBe(secret);

      // The genuine AK's quote verifies against the enrolment record and against ak.pub.
      const nonce = randomBytes(16).toString('hex');
      const q = await cli([
        ...['--tcti', e.tcti, 'quote', '--ak-handle', AK_HANDLE, '--nonce', nonce],
        ...['--format', 'tpm2-tools', '--out', join(dir, 'q')],
      ]);
      expect(q.code).toBe(EXIT.OK);
      const genuine = [
        ...['--msg', join(dir, 'q', 'quote.msg'), '--sig', join(dir, 'q', 'quote.sig')],
        ...['--pcrs-values', join(dir, 'q', 'quote.pcrs.values'), '--pcrs', 'sha256:0-7', '--nonce', nonce],
      ];
      for (const ak of [`${cred}.ak.json`, e.akPub]) {
        const ok = await cli(['quote', 'verify', ...genuine, '--ak-public', ak, '--json']);
        expect(ok.stderr, ak).toBe('');
        expect(JSON.parse(ok.stdout), ak).toMatchObject({ ok: true });
      }

      // The host now claims a software key is "its AK" and signs a quote it built.
      const soft = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const forged = await forgeQuote(dir, soft.privateKey, nonce, e.init.akQualifiedName);
      // The verifier trusts the AK recorded at credential make: the forged signature does not verify.
      const byRecord = await cli(['quote', 'verify', ...forged, '--ak-public', `${cred}.ak.json`]);
      expect(byRecord.code).toBe(EXIT.EVIDENCE_INVALID);
      expect(byRecord.stderr).toContain('E_QUOTE_SIGNATURE');
      // Handed over as a PEM, or as a TPM2B_PUBLIC of what it is (an unrestricted signing key): not an AK.
      await writeFile(join(dir, 'soft.pem'), soft.publicKey.export({ type: 'spki', format: 'pem' }));
      await writeFile(join(dir, 'soft.pub'), softwarePublic(soft.publicKey, {}));
      for (const f of ['soft.pem', 'soft.pub']) {
        const r = await cli(['quote', 'verify', ...forged, '--ak-public', join(dir, f)]);
        expect(r.code, f).toBe(EXIT.USAGE);
        expect(r.stderr, f).toContain('E_AK_INVALID');
        const m = await cli(makeArgs(e, '--ak-public', join(dir, f)));
        expect(m.code, f).toBe(EXIT.USAGE);
        expect(m.stderr, f).toContain('E_AK_INVALID');
      }
      // With the AK attributes claimed falsely, its Name is not the genuine AK's: a credential made for it
      // is refused by the TPM, so the host never gets to answer for that key.
      const liar = softwarePublic(soft.publicKey, {
        restricted: true,
        fixedTPM: true,
        fixedParent: true,
        sensitiveDataOrigin: true,
        userWithAuth: true,
      });
      await writeFile(join(dir, 'liar.pub'), liar);
      const lcred = join(dir, 'liar-cred');
      expect((await cli(makeArgs(e, '--ak-public', join(dir, 'liar.pub'), '--out', lcred))).code).toBe(
        EXIT.OK,
      );
      expect(JSON.parse(await readFile(`${lcred}.ak.json`, 'utf8')).akName).not.toBe(e.init.akName);
      const refused = await cli(['--tcti', e.tcti, 'credential', 'activate', '--in', lcred]);
      expect(refused.code).toBe(EXIT.TPM_ERROR);
      expect(refused.stderr).toContain('E_CREDENTIAL_REJECTED');
    });
  });

  it('--ak-name alone is refused; --unverified-ak-name allows it and records no AK', async () => {
    await withTempDir(async (dir) => {
      const e = await genuineAk(dir);
      const alone = await cli(makeArgs(e, '--ak-name', e.init.akName, '--out', join(dir, 'c1')));
      expect(alone.code).toBe(EXIT.USAGE);
      expect(alone.stderr).toContain('--unverified-ak-name');
      await expect(access(join(dir, 'c1'))).rejects.toThrow();

      const unverified = await cli(
        makeArgs(e, '--ak-name', e.init.akName, '--unverified-ak-name', '--out', join(dir, 'c2')),
      );
      expect(unverified.code).toBe(EXIT.OK);
      await expect(access(join(dir, 'c2.ak.json'))).rejects.toThrow();
      await expect(access(join(dir, 'c2.ak.pem'))).rejects.toThrow();
      const json = JSON.parse(
        (await cli(makeArgs(e, '--ak-name', e.init.akName, '--unverified-ak-name', '--json'))).stdout,
      );
      expect(json.akBinding).toBe('unverified-ak-name');
      const act = await cli(['--tcti', e.tcti, 'credential', 'activate', '--in', join(dir, 'c2')]);
      expect(act.stdout.trim()).toBe('00112233');

      // --ak-public with --ak-name: the Name is a cross-check, refused when it differs.
      const wrongName = `000b${'ab'.repeat(32)}`;
      const cross = await cli(makeArgs(e, '--ak-public', e.akPub, '--ak-name', wrongName));
      expect(cross.code).toBe(EXIT.USAGE);
      expect(cross.stderr).toContain('E_CREDENTIAL_INPUT');
      const same = await cli(makeArgs(e, '--ak-public', e.akPub, '--ak-name', e.init.akName, '--json'));
      expect(same.code).toBe(EXIT.OK);
      expect(JSON.parse(same.stdout)).toMatchObject({ akBinding: 'ak-public', akName: e.init.akName });
    });
  });

  it('an AK public that is not a restricted, fixed, SHA-256+ signing key is refused (E_AK_INVALID); TPMT_PUBLIC is accepted', async () => {
    await withTempDir(async (dir) => {
      const e = await genuineAk(dir);
      const pub = unmarshal(TPM2B_PUBLIC, new Uint8Array(await readFile(e.akPub)));
      if (pub.type !== TPM_ALG.RSA) throw new Error('expected the RSA AK of genuineAk');
      const attrs = pub.objectAttributes;
      const variants: Record<string, TPMT_PUBLIC> = {
        decrypt: { ...pub, objectAttributes: { ...attrs, decrypt: true } },
        'not restricted': { ...pub, objectAttributes: { ...attrs, restricted: false } },
        'not fixedTPM': { ...pub, objectAttributes: { ...attrs, fixedTPM: false } },
        'not fixedParent': { ...pub, objectAttributes: { ...attrs, fixedParent: false } },
        'not sensitiveDataOrigin': { ...pub, objectAttributes: { ...attrs, sensitiveDataOrigin: false } },
        'SHA-1 scheme': {
          ...pub,
          parameters: {
            ...pub.parameters,
            scheme: { scheme: TPM_ALG.RSASSA, details: { hashAlg: TPM_ALG.SHA1 } },
          },
        },
        'SHA-1 nameAlg': { ...pub, nameAlg: TPM_ALG.SHA1 },
      };
      for (const [what, v] of Object.entries(variants)) {
        const f = join(dir, `${what.replace(/\W/g, '_')}.pub`);
        await writeFile(f, marshal(TPM2B_PUBLIC, v));
        const m = await cli(makeArgs(e, '--ak-public', f));
        expect(m.code, what).toBe(EXIT.USAGE);
        expect(m.stderr, what).toContain('E_AK_INVALID');
        const qv = await cli(['quote', 'verify', join(dir, 'none'), '--ak-public', f, '--nonce', '00']);
        expect(qv.code, what).toBe(EXIT.USAGE);
        expect(qv.stderr, what).toContain('E_AK_INVALID');
      }
      await writeFile(join(dir, 'junk.pub'), 'junk');
      const junk = await cli(makeArgs(e, '--ak-public', join(dir, 'junk.pub')));
      expect(junk.code).toBe(EXIT.USAGE);
      expect(junk.stderr).toContain('E_AK_INVALID');

      // TPMT_PUBLIC (no size prefix) is the same AK, with the same Name.
      await writeFile(join(dir, 'ak.tpmt'), marshal(TPMT_PUBLIC, pub));
      const t = await cli(makeArgs(e, '--ak-public', join(dir, 'ak.tpmt'), '--json'));
      expect(t.stderr).toBe('');
      expect(JSON.parse(t.stdout).akName).toBe(hex(objectName(pub)));
      expect(hex(objectName(pub))).toBe(e.init.akName);
    });
  });
});
