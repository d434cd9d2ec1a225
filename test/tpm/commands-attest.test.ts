// SPDX-License-Identifier: Apache-2.0
// Integration tests on swtpm for the attestation commands: Quote (Part 3 §18.4), Sign (§20.2), Certify
// (§18.2), MakeCredential (§12.6) and ActivateCredential (§12.5). Every signature is verified with
// node:crypto from the public area the TPM returned, and every attested field is compared with a value
// computed independently (PCR values hashed with node:crypto, Names from ReadPublic).

import { createHash, randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { hashAlgOf } from '../../agent/crypto/algorithms.js';
import {
  ActivateCredential,
  Certify,
  MakeCredential,
  PCR_Extend,
  Quote,
  ReadClock,
  ReadPublic,
  Sign,
} from '../../agent/tpm/commands.js';
import { TPM_ALG, TPM_GENERATED_VALUE, TPM_RH, TPM_ST } from '../../agent/tpm/constants.js';
import { readPcrs } from '../../agent/tpm/pcr.js';
import { toTpml } from '../../agent/tpm/pcr-selection.js';
import { policySecret } from '../../agent/tpm/policy.js';
import { TPM_RC } from '../../agent/tpm/rc.js';
import { attrs, unmarshal } from '../../agent/tpm/schema.js';
import { startAuthSession } from '../../agent/tpm/sessions.js';
import { nullHashcheck, TPMA_OBJECT, TPMS_ATTEST, type TPMT_PUBLIC } from '../../agent/tpm/structures.js';
import {
  akEccP256Template,
  akRsa2048Template,
  ekEccP256Template,
  ekRsa2048Template,
  signingEccP256Template,
  signingRsa2048Template,
} from '../../agent/tpm/templates.js';
import type { Tpm } from '../../agent/tpm/tpm.js';
import { useSwtpm } from '../helpers/swtpm.js';
import {
  EMPTY,
  expectRc,
  hex,
  openTpm,
  transientHandles,
  verifySignature,
  withPrimary,
} from './swtpm-kit.js';

const swtpm = useSwtpm();

afterEach(async () => {
  expect(await transientHandles(openTpm(swtpm()))).toEqual([]);
});

const NULL_SCHEME = { scheme: TPM_ALG.NULL, details: null };

const hash = (alg: number, ...parts: Uint8Array[]) => {
  const h = createHash(hashAlgOf(alg));
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};

const random = (n: number) => new Uint8Array(randomBytes(n));

/** Flips one bit, so that a verifier that accepts anything is caught. */
function tampered(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(b);
  out[out.length - 1] = (out[out.length - 1] ?? 0) ^ 1;
  return out;
}

const aks: [string, () => TPMT_PUBLIC][] = [
  ['RSA-2048 RSASSA', akRsa2048Template],
  ['ECC P-256 ECDSA', akEccP256Template],
];

describe('TPM2_Quote', () => {
  it.each(aks)(
    '%s AK: TPMS_ATTEST carries the nonce, the selection and H(PCR values); the signature verifies',
    async (_, template) => {
      const tpm = openTpm(swtpm());
      // Make PCR 16 non-trivial in both banks quoted.
      await tpm.run(PCR_Extend, {
        pcrHandle: 16,
        digests: [
          { hashAlg: TPM_ALG.SHA1, digest: random(20) },
          { hashAlg: TPM_ALG.SHA256, digest: random(32) },
        ],
      });
      const selection = [
        { hash: TPM_ALG.SHA256, pcrs: [0, 1, 2, 3, 4, 5, 6, 7, 16, 23] },
        { hash: TPM_ALG.SHA1, pcrs: [16] },
      ];
      const nonce = random(32);
      // In the endorsement hierarchy, as AKs are: otherwise the TPM obfuscates the counters (next test).
      await withPrimary(tpm, TPM_RH.ENDORSEMENT, template(), async (ak) => {
        const { quoted, signature } = await tpm.run(Quote, {
          signHandle: ak.objectHandle,
          qualifyingData: nonce,
          inScheme: NULL_SCHEME,
          PCRselect: toTpml(selection),
        });
        const values = await readPcrs(tpm, selection);
        const clock = (await tpm.run(ReadClock, {})).currentTime.clockInfo;
        const { qualifiedName } = await tpm.run(ReadPublic, { objectHandle: ak.objectHandle });

        const attest = unmarshal(TPMS_ATTEST, quoted);
        expect(attest.magic).toBe(TPM_GENERATED_VALUE);
        expect(attest.type).toBe(TPM_ST.ATTEST_QUOTE);
        expect(hex(attest.extraData)).toBe(hex(nonce));
        expect(hex(attest.qualifiedSigner)).toBe(hex(qualifiedName));
        expect(attest.clockInfo.resetCount).toBe(clock.resetCount);
        expect(attest.clockInfo.restartCount).toBe(clock.restartCount);
        expect(attest.firmwareVersion).toBe(0x2019102300163636n); // SWTPM.md §2.1
        // Part 2 §10.12.1: pcrDigest = H_signScheme(PCR values in selection order, banks in list order).
        const concatenated = selection.flatMap((s) => s.pcrs.map((p) => values.get(s.hash)?.get(p) ?? EMPTY));
        expect(attest.attested).toEqual({
          pcrSelect: toTpml(selection),
          pcrDigest: hash(TPM_ALG.SHA256, ...concatenated),
        });

        expect(verifySignature(ak.outPublic, quoted, signature)).toBe(true);
        expect(verifySignature(ak.outPublic, tampered(quoted), signature)).toBe(false);
      });
    },
  );

  it('a signer outside the endorsement and platform hierarchies gets resetCount, restartCount and firmwareVersion obfuscated', async () => {
    // Part 3 §18.1 (privacy): such a key must not let its quotes be linked to one TPM or one boot.
    const tpm = openTpm(swtpm());
    const clock = (await tpm.run(ReadClock, {})).currentTime.clockInfo;
    await withPrimary(tpm, TPM_RH.OWNER, akEccP256Template(), async (ak) => {
      const { quoted, signature } = await tpm.run(Quote, {
        signHandle: ak.objectHandle,
        qualifyingData: EMPTY,
        inScheme: NULL_SCHEME,
        PCRselect: toTpml([{ hash: TPM_ALG.SHA256, pcrs: [0] }]),
      });
      const attest = unmarshal(TPMS_ATTEST, quoted);
      expect(attest.clockInfo.resetCount).not.toBe(clock.resetCount);
      expect(attest.firmwareVersion).not.toBe(0x2019102300163636n);
      expect(verifySignature(ak.outPublic, quoted, signature)).toBe(true);
    });
  });

  it('the quoted digest changes when a quoted PCR changes', async () => {
    const tpm = openTpm(swtpm());
    const PCRselect = toTpml([{ hash: TPM_ALG.SHA256, pcrs: [23] }]);
    await withPrimary(tpm, TPM_RH.OWNER, akEccP256Template(), async (ak) => {
      const quote = async () =>
        unmarshal(
          TPMS_ATTEST,
          (
            await tpm.run(Quote, {
              signHandle: ak.objectHandle,
              qualifyingData: EMPTY,
              inScheme: NULL_SCHEME,
              PCRselect,
            })
          ).quoted,
        ).attested;
      const before = await quote();
      await tpm.run(PCR_Extend, {
        pcrHandle: 23,
        digests: [{ hashAlg: TPM_ALG.SHA256, digest: random(32) }],
      });
      expect(await quote()).not.toEqual(before);
    });
  });
});

describe('TPM2_Sign', () => {
  const keys: [string, () => TPMT_PUBLIC][] = [
    ['RSA-2048 RSASSA', signingRsa2048Template],
    ['ECC P-256 ECDSA', signingEccP256Template],
  ];
  it.each(keys)(
    'an unrestricted %s key signs an external digest (NULL ticket); node:crypto verifies it',
    async (_, template) => {
      const tpm = openTpm(swtpm());
      const message = random(200);
      await withPrimary(tpm, TPM_RH.OWNER, template(), async (key) => {
        const { signature } = await tpm.run(Sign, {
          keyHandle: key.objectHandle,
          digest: hash(TPM_ALG.SHA256, message),
          inScheme: NULL_SCHEME,
          validation: nullHashcheck(),
        });
        expect(signature.sigAlg).toBe(template().type === TPM_ALG.RSA ? TPM_ALG.RSASSA : TPM_ALG.ECDSA);
        expect(verifySignature(key.outPublic, message, signature)).toBe(true);
        expect(verifySignature(key.outPublic, tampered(message), signature)).toBe(false);
      });
    },
  );

  it.each(aks)(
    'a restricted %s AK refuses to sign an external digest: TPM_RC_TICKET',
    async (_, template) => {
      // Part 3 §20.2: a restricted key signs a digest only with a ticket proving the TPM hashed data that
      // does not start with TPM_GENERATED_VALUE; otherwise it could sign a forged quote.
      const tpm = openTpm(swtpm());
      await withPrimary(tpm, TPM_RH.OWNER, template(), async (ak) => {
        await expectRc(
          tpm.run(Sign, {
            keyHandle: ak.objectHandle,
            digest: hash(TPM_ALG.SHA256, EMPTY),
            inScheme: NULL_SCHEME,
            validation: nullHashcheck(),
          }),
          TPM_RC.TICKET,
        );
      });
    },
  );

  it('a digest of the wrong size for the scheme is refused', async () => {
    const tpm = openTpm(swtpm());
    await withPrimary(tpm, TPM_RH.OWNER, signingRsa2048Template(), async (key) => {
      await expectRc(
        tpm.run(Sign, {
          keyHandle: key.objectHandle,
          digest: random(20),
          inScheme: NULL_SCHEME,
          validation: nullHashcheck(),
        }),
        TPM_RC.SIZE,
      );
    });
  });
});

describe('TPM2_Certify', () => {
  it('an AK certifies another key: TPMS_CERTIFY_INFO carries its Name and qualified Name, signed by the AK', async () => {
    const tpm = openTpm(swtpm());
    const nonce = random(16);
    await withPrimary(tpm, TPM_RH.OWNER, akRsa2048Template(), async (ak) =>
      withPrimary(tpm, TPM_RH.OWNER, signingEccP256Template(), async (key) => {
        const { certifyInfo, signature } = await tpm.run(Certify, {
          objectHandle: key.objectHandle,
          signHandle: ak.objectHandle,
          qualifyingData: nonce,
          inScheme: NULL_SCHEME,
        });
        const keyView = await tpm.run(ReadPublic, { objectHandle: key.objectHandle });
        const akView = await tpm.run(ReadPublic, { objectHandle: ak.objectHandle });
        const attest = unmarshal(TPMS_ATTEST, certifyInfo);
        expect(attest.magic).toBe(TPM_GENERATED_VALUE);
        expect(attest.type).toBe(TPM_ST.ATTEST_CERTIFY);
        expect(hex(attest.extraData)).toBe(hex(nonce));
        expect(hex(attest.qualifiedSigner)).toBe(hex(akView.qualifiedName));
        expect(attest.attested).toEqual({ name: key.name, qualifiedName: keyView.qualifiedName });
        expect(hex(key.name)).toBe(hex(keyView.name));
        expect(verifySignature(ak.outPublic, certifyInfo, signature)).toBe(true);
        expect(verifySignature(key.outPublic, certifyInfo, signature)).toBe(false);
      }),
    );
  });
});

/**
 * An EK with Enhanced Authorization off (no authPolicy, userWithAuth set, adminWithPolicy clear), so a
 * password session authorizes it and the tests below isolate the credential protocol. A TCG-default EK
 * (Template L-1/L-2) clears userWithAuth and needs a PolicySecret(TPM_RH_ENDORSEMENT) session: the last
 * two tests cover that.
 */
function passwordEk(template: () => TPMT_PUBLIC): TPMT_PUBLIC {
  return {
    ...template(),
    authPolicy: EMPTY,
    objectAttributes: attrs(TPMA_OBJECT, {
      fixedTPM: true,
      fixedParent: true,
      sensitiveDataOrigin: true,
      userWithAuth: true,
      restricted: true,
      decrypt: true,
    }),
  };
}

async function makeCredential(tpm: Tpm, ekHandle: number, objectName: Uint8Array, credential: Uint8Array) {
  return tpm.run(MakeCredential, { handle: ekHandle, credential, objectName });
}

describe('TPM2_MakeCredential + TPM2_ActivateCredential', () => {
  const eks: [string, () => TPMT_PUBLIC][] = [
    ['RSA-2048', ekRsa2048Template],
    ['ECC P-256', ekEccP256Template],
  ];
  it.each(eks)(
    'a credential made for the AK with the %s EK is released by ActivateCredential',
    async (_, template) => {
      const tpm = openTpm(swtpm());
      const credential = random(32);
      await withPrimary(tpm, TPM_RH.ENDORSEMENT, passwordEk(template), async (ek) =>
        withPrimary(tpm, TPM_RH.ENDORSEMENT, akRsa2048Template(), async (ak) => {
          const blob = await makeCredential(tpm, ek.objectHandle, ak.name, credential);
          const { certInfo } = await tpm.run(ActivateCredential, {
            activateHandle: ak.objectHandle,
            keyHandle: ek.objectHandle,
            ...blob,
          });
          expect(hex(certInfo)).toBe(hex(credential));
        }),
      );
    },
  );

  it('a credential made for another Name is not released (the outer HMAC binds the Name): TPM_RC_INTEGRITY', async () => {
    const tpm = openTpm(swtpm());
    await withPrimary(tpm, TPM_RH.ENDORSEMENT, passwordEk(ekRsa2048Template), async (ek) =>
      withPrimary(tpm, TPM_RH.ENDORSEMENT, akEccP256Template(), async (ak) => {
        const otherName = Uint8Array.from([0x00, 0x0b, ...random(32)]);
        const blob = await makeCredential(tpm, ek.objectHandle, otherName, random(32));
        await expectRc(
          tpm.run(ActivateCredential, {
            activateHandle: ak.objectHandle,
            keyHandle: ek.objectHandle,
            ...blob,
          }),
          TPM_RC.INTEGRITY,
        );
      }),
    );
  });

  it('a seed encrypted to another ECC EK yields the wrong seed: TPM_RC_INTEGRITY', async () => {
    // With an ECC EK the secret is an ephemeral point: ECDH with the wrong EK gives another seed, and the
    // credential's outer HMAC fails. (With RSA EKs, libtpms 0.9 answers an OAEP decoding failure with
    // TPM_RC_FAILURE, although the TPM is not in failure mode; Part 3 §12.5 expects TPM_RC_VALUE.)
    const tpm = openTpm(swtpm());
    const other = passwordEk(ekEccP256Template);
    other.unique = { x: random(32), y: random(32) }; // another primary key from the same seed
    await withPrimary(tpm, TPM_RH.ENDORSEMENT, passwordEk(ekEccP256Template), async (ek) =>
      withPrimary(tpm, TPM_RH.ENDORSEMENT, akRsa2048Template(), async (ak) => {
        const blob = await withPrimary(tpm, TPM_RH.ENDORSEMENT, other, (o) =>
          makeCredential(tpm, o.objectHandle, ak.name, random(32)),
        );
        await expectRc(
          tpm.run(ActivateCredential, {
            activateHandle: ak.objectHandle,
            keyHandle: ek.objectHandle,
            ...blob,
          }),
          TPM_RC.INTEGRITY,
        );
      }),
    );
  });

  it('the TCG-default EK (Template L-1) cannot be authorized with a password: it needs PolicySecret', async () => {
    const tpm = openTpm(swtpm());
    await withPrimary(tpm, TPM_RH.ENDORSEMENT, ekRsa2048Template(), async (ek) =>
      withPrimary(tpm, TPM_RH.ENDORSEMENT, akRsa2048Template(), async (ak) => {
        const blob = await makeCredential(tpm, ek.objectHandle, ak.name, random(32));
        await expectRc(
          tpm.run(ActivateCredential, {
            activateHandle: ak.objectHandle,
            keyHandle: ek.objectHandle,
            ...blob,
          }),
          TPM_RC.AUTH_UNAVAILABLE,
        );
      }),
    );
  });
  it.each(eks)(
    'the TCG-default %s EK releases the credential through a PolicySecret(TPM_RH_ENDORSEMENT) session salted to it',
    async (_, template) => {
      const tpm = openTpm(swtpm());
      const credential = random(32);
      await withPrimary(tpm, TPM_RH.ENDORSEMENT, template(), async (ek) =>
        withPrimary(tpm, TPM_RH.ENDORSEMENT, akRsa2048Template(), async (ak) => {
          const blob = await makeCredential(tpm, ek.objectHandle, ak.name, credential);
          const session = await startAuthSession(tpm, {
            type: 'policy',
            salt: { handle: ek.objectHandle, public: ek.outPublic },
            encrypt: true,
          });
          try {
            await policySecret(tpm, session, TPM_RH.ENDORSEMENT);
            const { certInfo } = await tpm.run(
              ActivateCredential,
              { activateHandle: ak.objectHandle, keyHandle: ek.objectHandle, ...blob },
              { sessions: [undefined, session] },
            );
            expect(hex(certInfo)).toBe(hex(credential));
          } finally {
            await tpm.flush(session.handle);
          }
        }),
      );
    },
  );
});
