// SPDX-License-Identifier: Apache-2.0
// Credential activation (TCG Part 1 §24): the software TPM2_MakeCredential against the TPM's own
// MakeCredential (same layout, both released by ActivateCredential), an independent unwrap of the blob
// from a known seed, activation with the TCG-default EKs through a salted PolicySecret session, refusal
// for an AK or EK of another TPM (two swtpm instances), the credential file format, and input checks.
import { createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { type AkAlg, createAk, loadAk } from '../../agent/attest/ak.js';
import {
  activateCredential,
  CredentialError,
  decodeCredentialFile,
  encodeCredentialFile,
  makeCredential,
} from '../../agent/attest/credential.js';
import { type EkAlg, ekPublicFromSpki, spkiPemOf, withEk } from '../../agent/attest/ek.js';
import { digestByteLen, hashAlgOf } from '../../agent/crypto/algorithms.js';
import { MakeCredential } from '../../agent/tpm/commands.js';
import { kdfa } from '../../agent/tpm/kdf.js';
import { unmarshal } from '../../agent/tpm/schema.js';
import { createSeed, type EccSeed } from '../../agent/tpm/seed.js';
import { seedTargetOf } from '../../agent/tpm/sessions.js';
import { TPM2B_DIGEST, type TPMS_ECC_PARMS, type TPMS_RSA_PARMS } from '../../agent/tpm/structures.js';
import type { Tpm } from '../../agent/tpm/tpm.js';
import type { SwtpmInstance } from '../../swtpm/harness.js';
import { useSwtpm } from '../helpers/swtpm.js';
import { hex, openTpm, tpm2, transientHandles, withTempDir } from '../tpm/swtpm-kit.js';

const swtpmA = useSwtpm({ ek: true });
const swtpmB = useSwtpm({ ek: true });

afterEach(async () => {
  for (const s of [swtpmA, swtpmB]) expect(await transientHandles(openTpm(s()))).toEqual([]);
});

const random = (n: number) => new Uint8Array(randomBytes(n));

/** Creates an AK under the RSA EK, loads it, runs `fn`, flushes it. */
async function withAk<T>(
  tpm: Tpm,
  alg: AkAlg,
  fn: (handle: number, name: Uint8Array) => Promise<T>,
): Promise<T> {
  const pair = await withEk(tpm, 'rsa2048', (ek) => createAk(tpm, ek, alg));
  const handle = await withEk(tpm, 'rsa2048', (ek) => loadAk(tpm, ek, pair));
  try {
    return await fn(handle, pair.name);
  } finally {
    await tpm.flush(handle);
  }
}

const ekPublic = (s: SwtpmInstance, alg: EkAlg) => {
  const tpm = openTpm(s);
  return withEk(tpm, alg, async (ek) => ek.public);
};

async function rejectionCode(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'resolved',
    (e: unknown) => (e instanceof CredentialError ? e.code : String(e)),
  );
}

describe('makeCredential (software) + activateCredential (TPM)', () => {
  const cases: [EkAlg, AkAlg][] = [
    ['rsa2048', 'rsa'],
    ['rsa2048', 'ecc'],
    ['eccP256', 'rsa'],
    ['eccP384', 'ecc'],
  ];
  it.each(cases)(
    "EK %s, AK %s: the TPM releases our credential, and ours has the layout of the TPM's own MakeCredential",
    async (ekAlg, akAlg) => {
      const tpm = openTpm(swtpmA());
      await withAk(tpm, akAlg, async (ak, name) => {
        const pub = await ekPublic(swtpmA(), ekAlg);
        // The verifier only has the EK's PEM: go through it, as `credential make --ek-pub` does.
        const fromPem = ekPublicFromSpki(spkiPemOf(pub)).public;
        const credential = random(32);
        const ours = makeCredential(fromPem, name, credential);
        const theirs = await withEk(tpm, ekAlg, (ek) =>
          tpm.run(MakeCredential, { handle: ek.handle, credential, objectName: name }),
        );
        expect(ours.credentialBlob.length).toBe(theirs.credentialBlob.length);
        expect(ours.secret.length).toBe(theirs.secret.length);
        expect(hex(ours.credentialBlob.subarray(0, 2))).toBe(hex(theirs.credentialBlob.subarray(0, 2)));
        expect(hex(await activateCredential(tpm, ak, ours, ekAlg))).toBe(hex(credential));
        expect(hex(await activateCredential(tpm, ak, theirs, ekAlg))).toBe(hex(credential));
      });
    },
  );

  it('a blob unwrapped independently from a known seed: outer HMAC over encIdentity ‖ Name, AES-CFB with a zero IV', async () => {
    const pub = await ekPublic(swtpmA(), 'eccP256');
    const name = Uint8Array.from([0x00, 0x0b, ...random(32)]);
    const credential = random(20);
    const rng = () => {
      let i = 0;
      return (n: number) =>
        new Uint8Array(createHash('sha512').update(`seed ${i++}`).digest().subarray(0, n));
    };
    const blob = makeCredential(pub, name, credential, rng());
    const { seed } = createSeed(seedTargetOf(pub), 'IDENTITY', rng()) as EccSeed;
    const nameAlg = hashAlgOf(pub.nameAlg);
    const hmacLen = 2 + digestByteLen(nameAlg);
    const outer = unmarshal(TPM2B_DIGEST, blob.credentialBlob.subarray(0, hmacLen));
    const encIdentity = blob.credentialBlob.subarray(hmacLen);
    const hmacKey = kdfa(
      nameAlg,
      seed,
      'INTEGRITY',
      new Uint8Array(0),
      new Uint8Array(0),
      8 * digestByteLen(nameAlg),
    );
    expect(hex(outer)).toBe(hex(createHmac(nameAlg, hmacKey).update(encIdentity).update(name).digest()));
    const bits = (pub.parameters as TPMS_ECC_PARMS | TPMS_RSA_PARMS).symmetric.keyBits as number;
    const symKey = kdfa(nameAlg, seed, 'STORAGE', name, new Uint8Array(0), bits);
    const d = createDecipheriv(`aes-${bits}-cfb`, symKey, Buffer.alloc(16));
    const plain = Buffer.concat([d.update(encIdentity), d.final()]);
    expect(hex(plain)).toBe(`0014${hex(credential)}`);
  });
});

describe('tpm2-tools interop', () => {
  it('a credential file from `tpm2_makecredential -T none` (offline, EK PEM) decodes and is released by activateCredential', async () => {
    const tpm = openTpm(swtpmA());
    const pem = spkiPemOf(await ekPublic(swtpmA(), 'rsa2048'));
    await withAk(tpm, 'ecc', (ak, name) =>
      withTempDir(async (dir) => {
        const secret = random(32);
        await writeFile(`${dir}/ek.pem`, pem);
        await writeFile(`${dir}/secret`, secret);
        await tpm2(swtpmA(), 'tpm2_makecredential', [
          ...['-T', 'none', '-u', `${dir}/ek.pem`, '-G', 'rsa', '-s', `${dir}/secret`],
          ...['-n', hex(name), '-o', `${dir}/cred`],
        ]);
        const blob = decodeCredentialFile(new Uint8Array(await readFile(`${dir}/cred`)));
        expect(hex(await activateCredential(tpm, ak, blob, 'rsa2048'))).toBe(hex(secret));
        // Our encoding of the same parts is byte-identical to the tool's file.
        expect(hex(encodeCredentialFile(blob))).toBe(hex(await readFile(`${dir}/cred`)));
      }),
    );
  });
});

describe('another TPM', () => {
  it.each(['rsa2048', 'eccP256'] as const)(
    "EK %s: a credential for TPM A's EK and TPM B's AK is released by neither TPM",
    async (ekAlg) => {
      const a = openTpm(swtpmA());
      const b = openTpm(swtpmB());
      const ekA = await ekPublic(swtpmA(), ekAlg);
      await withAk(a, 'rsa', (akA, nameA) =>
        withAk(b, 'rsa', async (akB, nameB) => {
          expect(hex(nameA)).not.toBe(hex(nameB));
          const blob = makeCredential(ekA, nameB, random(32));
          // TPM A has the EK but not that AK; TPM B has the AK but not that EK.
          expect(await rejectionCode(activateCredential(a, akA, blob, ekAlg))).toBe('E_CREDENTIAL_REJECTED');
          expect(await rejectionCode(activateCredential(b, akB, blob, ekAlg))).toBe('E_CREDENTIAL_REJECTED');
          // Control: the same AK on its own TPM accepts a credential made for its own EK.
          const own = makeCredential(await ekPublic(swtpmB(), ekAlg), nameB, Uint8Array.of(7));
          expect(hex(await activateCredential(b, akB, own, ekAlg))).toBe('07');
        }),
      );
    },
  );
});

describe('credential file and input checks', () => {
  it('encode/decode round-trip in the tpm2-tools layout (0xBADCC0DE, version 1)', () => {
    const blob = { credentialBlob: random(70), secret: random(256) };
    const file = encodeCredentialFile(blob);
    expect(hex(file.subarray(0, 8))).toBe('badcc0de00000001');
    const back = decodeCredentialFile(file);
    expect(hex(back.credentialBlob)).toBe(hex(blob.credentialBlob));
    expect(hex(back.secret)).toBe(hex(blob.secret));
  });

  it('arbitrary bytes decode or give E_CREDENTIAL_INPUT, never another exception', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.boolean(), (body, withHeader) => {
        const bytes = withHeader ? Uint8Array.from([0xba, 0xdc, 0xc0, 0xde, 0, 0, 0, 1, ...body]) : body;
        try {
          decodeCredentialFile(bytes);
        } catch (e) {
          expect(e instanceof CredentialError && e.code === 'E_CREDENTIAL_INPUT').toBe(true);
        }
      }),
    );
  });

  it('a secret longer than the EK nameAlg digest, an empty secret, a malformed Name, a signing key: E_CREDENTIAL_INPUT', async () => {
    const pub = await ekPublic(swtpmA(), 'rsa2048');
    const name = Uint8Array.from([0x00, 0x0b, ...random(32)]);
    const code = (f: () => unknown) => {
      try {
        f();
        return 'returned';
      } catch (e) {
        return e instanceof CredentialError ? e.code : String(e);
      }
    };
    expect(code(() => makeCredential(pub, name, random(33)))).toBe('E_CREDENTIAL_INPUT');
    expect(code(() => makeCredential(pub, name, new Uint8Array(0)))).toBe('E_CREDENTIAL_INPUT');
    expect(code(() => makeCredential(pub, name.subarray(0, 20), random(16)))).toBe('E_CREDENTIAL_INPUT');
    const signer = { ...pub, objectAttributes: { ...pub.objectAttributes, decrypt: false, sign: true } };
    expect(code(() => makeCredential(signer, name, random(16)))).toBe('E_CREDENTIAL_INPUT');
    expect(code(() => makeCredential(pub, name, random(32)))).toBe('returned');
  });
});
