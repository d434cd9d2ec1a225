// SPDX-License-Identifier: Apache-2.0
/**
 * TPMT_PUBLIC templates (Part 2 §12.2.4) for the keys execgate creates: the TCG default Endorsement
 * Keys, a Storage Root Key, Attestation Keys, a general signing key and a sealed-data object.
 *
 * Each function returns a fresh value (no shared Uint8Array to mutate by accident). A primary key is a
 * deterministic function of the hierarchy's seed and its template, so the EK templates must match the
 * TCG EK Credential Profile bit for bit: a single differing bit gives a different key, which no longer
 * matches the EK certificate. The tests compare them with `tpm2_createek` and with the EKs swtpm_setup
 * persists.
 *
 * Sources: TCG EK Credential Profile for TPM Family 2.0, Level 0, Version 2.3 and later (Annex B.3: Low
 * Range templates L-1/L-2 and PolicyA; Annex B.4: High Range templates H-1…H-7 and PolicyB/PolicyC;
 * §2.2.1.4/§2.2.1.5: the NV indices of their certificates); TCG TPM v2.0 Provisioning Guidance 1.0
 * §7.5.1 (SRK); tpm2-tools 5.4 `tpm2_createek`/`tpm2_createak` (cross-checked, not copied).
 *
 * Not covered: RSA-3072/4096 and P-521/SM2 EKs (H-4…H-7), and EK templates or nonces a manufacturer
 * stored in NV (0x01c00004/0x01c0000c), which take precedence over these defaults on some TPMs.
 */
import { fromHex } from '../encoding/bytes.js';
import { TPM_ALG, TPM_ECC_CURVE } from './constants.js';
import { attrs, type Selected } from './schema.js';
import { TPMA_OBJECT, type TPMT_PUBLIC, type TPMT_SYM_DEF_OBJECT } from './structures.js';

/** Public areas of one object type: `type` selects `parameters` and `unique` (Part 2 §12.2.4). */
export type RsaPublic = Selected<TPMT_PUBLIC, 'type', typeof TPM_ALG.RSA>;
export type EccPublic = Selected<TPMT_PUBLIC, 'type', typeof TPM_ALG.ECC>;
export type KeyedHashPublic = Selected<TPMT_PUBLIC, 'type', typeof TPM_ALG.KEYEDHASH>;

/**
 * EK Credential Profile Annex B authorization policies, as hex. Each is recomputed from its definition
 * in test/tpm/templates.test.ts:
 * - PolicyA = PolicySecret(TPM_RH_ENDORSEMENT), empty policyRef: whoever knows the endorsement
 *   hierarchy's auth may use the EK;
 * - PolicyC = PolicyAuthorizeNV(policy index I-2 at 0x01c07f02): whatever policy that index holds (it is
 *   writable only through PolicyA), so the EK's policy can be changed after manufacture;
 * - PolicyB = PolicyOR(PolicyA, PolicyC), the High Range EKs' policy.
 */
export const EK_POLICY = {
  A_SHA256: '837197674484b3f81a90cc8d46a5d724fd52d76e06520b64f2a1da1b331469aa',
  A_SHA384:
    '8bbf2266537c171cb56e403c4dc1d4b64f432611dc386e6f532050c3278c930e143e8bb1133824ccb431053871c6db53',
  C_SHA384:
    'd6032ce61f2fb3c240eb3cf6a33237ef2b6a16f4293c22b455e261cffd217ad5b4947c2d73e63005eed2dc2b3593d165',
  B_SHA384:
    'b26e7d28d11a50bc53d882bcf5fd3a1a074148bb35d3b4e4cb1c0ad9bde419cacb47ba09699646150f9fc000f3f80e12',
} as const;

function aesCfb(keyBits: 128 | 256): TPMT_SYM_DEF_OBJECT {
  return { algorithm: TPM_ALG.AES, keyBits, mode: TPM_ALG.CFB };
}

/** No symmetric algorithm: a signing key protects no children (Part 2 §12.2.3.5). */
function symNull(): TPMT_SYM_DEF_OBJECT {
  return { algorithm: TPM_ALG.NULL, keyBits: null, mode: null };
}

/**
 * EK Credential Profile Annex B.3/B.4: every default EK is a restricted decryption (storage) key
 * bound to this TPM, usable only through its policy (adminWithPolicy). The Low Range templates clear
 * userWithAuth, so even the USER role needs the policy; the High Range ones set it.
 */
function ekAttributes(highRange: boolean) {
  return attrs(TPMA_OBJECT, {
    fixedTPM: true,
    fixedParent: true,
    sensitiveDataOrigin: true,
    userWithAuth: highRange,
    adminWithPolicy: true,
    restricted: true,
    decrypt: true,
  });
}

/**
 * EK Credential Profile Annex B.3.3, Template L-1: the default RSA-2048 EK (the one whose certificate sits
 * in NV 0x01c00002). nameAlg SHA-256, PolicyA, AES-128-CFB, exponent 0 (= 65537), and `unique` of 256
 * zero bytes: the Low Range templates fill it so that a TPM without an NV template creates the same key.
 */
export function ekRsa2048Template(): RsaPublic {
  return {
    type: TPM_ALG.RSA,
    nameAlg: TPM_ALG.SHA256,
    objectAttributes: ekAttributes(false),
    authPolicy: fromHex(EK_POLICY.A_SHA256),
    parameters: {
      symmetric: aesCfb(128),
      scheme: { scheme: TPM_ALG.NULL, details: null },
      keyBits: 2048,
      exponent: 0,
    },
    unique: new Uint8Array(256),
  };
}

/**
 * EK Credential Profile Annex B.3.4, Template L-2: the default ECC NIST P-256 EK (certificate in NV
 * 0x01c0000a). As L-1, with `unique` x and y of 32 zero bytes each.
 */
export function ekEccP256Template(): EccPublic {
  return {
    type: TPM_ALG.ECC,
    nameAlg: TPM_ALG.SHA256,
    objectAttributes: ekAttributes(false),
    authPolicy: fromHex(EK_POLICY.A_SHA256),
    parameters: {
      symmetric: aesCfb(128),
      scheme: { scheme: TPM_ALG.NULL, details: null },
      curveID: TPM_ECC_CURVE.NIST_P256,
      kdf: { scheme: TPM_ALG.NULL, details: null },
    },
    unique: { x: new Uint8Array(32), y: new Uint8Array(32) },
  };
}

/**
 * EK Credential Profile Annex B.4, Template H-3: the ECC NIST P-384 EK (certificate in NV 0x01c00016;
 * swtpm_setup persists this key at 0x81010016). High Range: nameAlg SHA-384, PolicyB (SHA-384),
 * userWithAuth set, AES-256-CFB, and an empty `unique`. Same key as `tpm2_createek -G ecc384`.
 */
export function ekEccP384Template(): EccPublic {
  return {
    type: TPM_ALG.ECC,
    nameAlg: TPM_ALG.SHA384,
    objectAttributes: ekAttributes(true),
    authPolicy: fromHex(EK_POLICY.B_SHA384),
    parameters: {
      symmetric: aesCfb(256),
      scheme: { scheme: TPM_ALG.NULL, details: null },
      curveID: TPM_ECC_CURVE.NIST_P384,
      kdf: { scheme: TPM_ALG.NULL, details: null },
    },
    unique: { x: new Uint8Array(0), y: new Uint8Array(0) },
  };
}

/**
 * Provisioning Guidance §7.5.1: the SRK is the L-1/L-2 EK template with Enhanced Authorization turned
 * off (no authPolicy, userWithAuth set, adminWithPolicy clear) and noDA set, so that any process may
 * use it with the owner hierarchy's (usually empty) auth without tripping dictionary-attack lockout.
 */
function srkAttributes() {
  return attrs(TPMA_OBJECT, {
    fixedTPM: true,
    fixedParent: true,
    sensitiveDataOrigin: true,
    userWithAuth: true,
    noDA: true,
    restricted: true,
    decrypt: true,
  });
}

/** Provisioning Guidance §7.5.1: RSA-2048 SRK (create under TPM_RH_OWNER; conventionally at 0x81000001). */
export function srkRsa2048Template(): RsaPublic {
  return { ...ekRsa2048Template(), objectAttributes: srkAttributes(), authPolicy: new Uint8Array(0) };
}

/** Provisioning Guidance §7.5.1: ECC NIST P-256 SRK (conventionally at 0x81000002). */
export function srkEccP256Template(): EccPublic {
  return { ...ekEccP256Template(), objectAttributes: srkAttributes(), authPolicy: new Uint8Array(0) };
}

/**
 * tpm2-tools' default owner primary (`tpm2_createprimary -C o`, tpm2-tools 5.4): RSA-2048, AES-128-CFB,
 * attributes fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|decrypt (0x30072, without
 * noDA, unlike the Provisioning Guidance SRK above) and an empty `unique`. Sealed secrets live under it,
 * so a secret sealed by execgate and one sealed with tpm2-tools share a parent (test/secrets compares the
 * Names).
 */
export function ownerPrimaryTemplate(): RsaPublic {
  return {
    ...ekRsa2048Template(),
    objectAttributes: attrs(TPMA_OBJECT, {
      fixedTPM: true,
      fixedParent: true,
      sensitiveDataOrigin: true,
      userWithAuth: true,
      restricted: true,
      decrypt: true,
    }),
    authPolicy: new Uint8Array(0),
    unique: new Uint8Array(0),
  };
}

/**
 * An Attestation Key as tpm2-tools 5.4 `tpm2_createak` makes it: a restricted signing key (it signs only
 * TPM-generated data: quotes, certifications, and digests the TPM hashed itself), fixed to this TPM and
 * its parent, its secret generated inside the TPM, usable with its authValue (userWithAuth).
 */
function akAttributes() {
  return attrs(TPMA_OBJECT, {
    fixedTPM: true,
    fixedParent: true,
    sensitiveDataOrigin: true,
    userWithAuth: true,
    restricted: true,
    sign: true,
  });
}

/**
 * RSA-2048 AK with RSASSA-PKCS1-v1_5 over SHA-256 (`tpm2_createak -G rsa -g sha256 -s rsassa`).
 * `nameAlg` follows the EK it is created under (tpm2_createak takes the EK's). `unique` is empty: Create
 * ignores it for a non-primary key.
 */
export function akRsa2048Template(nameAlg: number = TPM_ALG.SHA256): RsaPublic {
  return {
    type: TPM_ALG.RSA,
    nameAlg,
    objectAttributes: akAttributes(),
    authPolicy: new Uint8Array(0),
    parameters: {
      symmetric: symNull(),
      scheme: { scheme: TPM_ALG.RSASSA, details: { hashAlg: TPM_ALG.SHA256 } },
      keyBits: 2048,
      exponent: 0,
    },
    unique: new Uint8Array(0),
  };
}

/** ECC NIST P-256 AK with ECDSA over SHA-256 (`tpm2_createak -G ecc -g sha256 -s ecdsa`). */
export function akEccP256Template(nameAlg: number = TPM_ALG.SHA256): EccPublic {
  return {
    type: TPM_ALG.ECC,
    nameAlg,
    objectAttributes: akAttributes(),
    authPolicy: new Uint8Array(0),
    parameters: {
      symmetric: symNull(),
      scheme: { scheme: TPM_ALG.ECDSA, details: { hashAlg: TPM_ALG.SHA256 } },
      curveID: TPM_ECC_CURVE.NIST_P256,
      kdf: { scheme: TPM_ALG.NULL, details: null },
    },
    unique: { x: new Uint8Array(0), y: new Uint8Array(0) },
  };
}

/**
 * Unrestricted signing key: TPM2_Sign accepts any digest for it with a NULL hash-check ticket (Part 3
 * §20.2), unlike an AK. Never use one as an AK: it can sign a forged TPMS_ATTEST.
 */
function signingAttributes() {
  return attrs(TPMA_OBJECT, {
    fixedTPM: true,
    fixedParent: true,
    sensitiveDataOrigin: true,
    userWithAuth: true,
    sign: true,
  });
}

/** Unrestricted RSA-2048 signing key, RSASSA-PKCS1-v1_5 with SHA-256. */
export function signingRsa2048Template(): RsaPublic {
  return { ...akRsa2048Template(), objectAttributes: signingAttributes() };
}

/** Unrestricted ECC NIST P-256 signing key, ECDSA with SHA-256. */
export function signingEccP256Template(): EccPublic {
  return { ...akEccP256Template(), objectAttributes: signingAttributes() };
}

/**
 * A sealed-data object (Part 1 §25.2.2: a KEYEDHASH object with neither sign nor decrypt): the caller
 * supplies the secret in TPM2B_SENSITIVE_CREATE.data, so sensitiveDataOrigin is clear (the TPM rejects
 * it otherwise). With an `authPolicy`, userWithAuth is clear, so only the policy releases the data.
 * `noDA`: a wrong authValue does not count towards dictionary-attack lockout (for a random 256-bit
 * authValue, which no one guesses, lockout would only let a caller deny the TPM to everyone else).
 */
export function sealedDataTemplate(
  options: { readonly authPolicy?: Uint8Array; readonly noDA?: boolean } = {},
): KeyedHashPublic {
  const authPolicy = options.authPolicy ?? new Uint8Array(0);
  return {
    type: TPM_ALG.KEYEDHASH,
    nameAlg: TPM_ALG.SHA256,
    objectAttributes: attrs(TPMA_OBJECT, {
      fixedTPM: true,
      fixedParent: true,
      userWithAuth: authPolicy.length === 0,
      noDA: options.noDA === true,
    }),
    authPolicy: authPolicy.slice(),
    parameters: { scheme: { scheme: TPM_ALG.NULL, details: null } },
    unique: new Uint8Array(0),
  };
}
