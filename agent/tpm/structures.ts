// SPDX-License-Identifier: Apache-2.0
/**
 * TCG TPM 2.0 Library Part 2 (rev 1.59) structures used by execgate, each declared once as a schema.
 * Types are inferred from the declarations (`type TPMT_PUBLIC = Infer<typeof TPMT_PUBLIC>`), and
 * marshal/unmarshal are derived from them (schema.ts). Maxima follow the reference implementation's
 * sizes (MAX_DIGEST_BUFFER, MAX_RSA_KEY_BYTES for 4096-bit keys, MAX_CAP_BUFFER 1024, …).
 */
import { HASH_ALGORITHMS as HASH } from '../crypto/algorithms.js';
import { TPM_ALG, TPM_CAP, TPM_ST } from './constants.js';
import {
  alias,
  bits,
  bytes,
  empty,
  fixed,
  type Infer,
  list,
  type Schema,
  sized,
  struct,
  u8,
  u16,
  u32,
  u64,
  union,
} from './schema.js';

// ── Interface types (Part 2 §9) ─────────────────────────────────────────────────────────────────────
export const TPM_HANDLE = alias('TPM_HANDLE', u32);
export const TPMI_ALG_HASH = alias('TPMI_ALG_HASH', u16);
export const TPMI_YES_NO = alias('TPMI_YES_NO', u8);
export const TPMI_ST_ATTEST = alias('TPMI_ST_ATTEST', u16);
export const TPM_GENERATED = alias('TPM_GENERATED', u32);

// ── Buffers (Part 2 §10.4) ──────────────────────────────────────────────────────────────────────────
/** sizeof(TPMU_HA): the largest digest in the hash registry (SHA-512's). */
const MAX_DIGEST = Math.max(...Object.values(HASH).map((h) => h.digestByteLen));
/** Part 2 §10.4.2 */
export const TPM2B_DIGEST = bytes('TPM2B_DIGEST', MAX_DIGEST);
/** Part 2 §10.4.3: sizeof(TPMT_HA). */
export const TPM2B_DATA = bytes('TPM2B_DATA', MAX_DIGEST + 2);
/** Part 2 §10.4.4 */
export const TPM2B_NONCE = alias('TPM2B_NONCE', TPM2B_DIGEST);
/** Part 2 §10.4.5 */
export const TPM2B_AUTH = alias('TPM2B_AUTH', TPM2B_DIGEST);
/** Part 2 §10.4.8 (MAX_DIGEST_BUFFER). */
export const TPM2B_MAX_BUFFER = bytes('TPM2B_MAX_BUFFER', 1024);
/** Part 2 §10.4.9 (MAX_NV_BUFFER_SIZE; swtpm reports 1024, kept generous for other TPMs). */
export const TPM2B_MAX_NV_BUFFER = bytes('TPM2B_MAX_NV_BUFFER', 2048);
/** Part 2 §10.4.10 */
export const TPM2B_TIMEOUT = bytes('TPM2B_TIMEOUT', 8);
/** Part 2 §10.5.3: a digest of nameAlg‖H, or a 4-byte handle. */
export const TPM2B_NAME = bytes('TPM2B_NAME', MAX_DIGEST + 2);
/** Part 2 §10.12.9, kept as bytes so the exact signed bytes survive; parse with TPMS_ATTEST. */
export const TPM2B_ATTEST = bytes('TPM2B_ATTEST', 2048);

// ── Hash-agile digest (Part 2 §10.3) ────────────────────────────────────────────────────────────────
/** Part 2 §10.3.2 TPMT_HA */
export const TPMT_HA = struct('TPMT_HA', {
  hashAlg: TPMI_ALG_HASH,
  digest: union('TPMU_HA', 'hashAlg', {
    [TPM_ALG.SHA1]: fixed('SHA1_DIGEST', HASH.sha1.digestByteLen),
    [TPM_ALG.SHA256]: fixed('SHA256_DIGEST', HASH.sha256.digestByteLen),
    [TPM_ALG.SHA384]: fixed('SHA384_DIGEST', HASH.sha384.digestByteLen),
    [TPM_ALG.SHA512]: fixed('SHA512_DIGEST', HASH.sha512.digestByteLen),
    [TPM_ALG.SM3_256]: fixed('SM3_256_DIGEST', HASH.sm3_256.digestByteLen),
    [TPM_ALG.NULL]: empty,
  }),
});

// ── Attributes (Part 2 §8) ──────────────────────────────────────────────────────────────────────────
/** Part 2 §8.2 TPMA_ALGORITHM */
export const TPMA_ALGORITHM = bits('TPMA_ALGORITHM', 4, {
  asymmetric: 0,
  symmetric: 1,
  hash: 2,
  object: 3,
  signing: 8,
  encrypting: 9,
  method: 10,
});

/** Part 2 §8.3 TPMA_OBJECT */
export const TPMA_OBJECT = bits('TPMA_OBJECT', 4, {
  fixedTPM: 1,
  stClear: 2,
  fixedParent: 4,
  sensitiveDataOrigin: 5,
  userWithAuth: 6,
  adminWithPolicy: 7,
  noDA: 10,
  encryptedDuplication: 11,
  restricted: 16,
  decrypt: 17,
  sign: 18,
  x509sign: 19,
});

/** Part 2 §8.4 TPMA_SESSION */
export const TPMA_SESSION = bits('TPMA_SESSION', 1, {
  continueSession: 0,
  auditExclusive: 1,
  auditReset: 2,
  decrypt: 5,
  encrypt: 6,
  audit: 7,
});

/** Part 2 §8.5 TPMA_LOCALITY */
export const TPMA_LOCALITY = bits('TPMA_LOCALITY', 1, {
  locZero: 0,
  locOne: 1,
  locTwo: 2,
  locThree: 3,
  locFour: 4,
  extended: [5, 3],
} as const);

/** Part 2 §8.9 TPMA_CC */
export const TPMA_CC = bits('TPMA_CC', 4, {
  commandIndex: [0, 16],
  nv: 22,
  extensive: 23,
  flushed: 24,
  cHandles: [25, 3],
  rHandle: 28,
  V: 29,
  Res: [30, 2],
} as const);

/** Part 2 §13.4 TPMA_NV (TPM_NT in bits 4..7) */
export const TPMA_NV = bits('TPMA_NV', 4, {
  PPWRITE: 0,
  OWNERWRITE: 1,
  AUTHWRITE: 2,
  POLICYWRITE: 3,
  TPM_NT: [4, 4],
  POLICY_DELETE: 10,
  WRITELOCKED: 11,
  WRITEALL: 12,
  WRITEDEFINE: 13,
  WRITE_STCLEAR: 14,
  GLOBALLOCK: 15,
  PPREAD: 16,
  OWNERREAD: 17,
  AUTHREAD: 18,
  POLICYREAD: 19,
  NO_DA: 25,
  ORDERLY: 26,
  CLEAR_STCLEAR: 27,
  READLOCKED: 28,
  WRITTEN: 29,
  PLATFORMCREATE: 30,
  READ_STCLEAR: 31,
} as const);

// ── PCR selections (Part 2 §10.6, §10.9.7) ──────────────────────────────────────────────────────────
/** Part 2 §10.6.2 TPMS_PCR_SELECTION: sizeofSelect (u8) then that many bitmap bytes. */
export const TPMS_PCR_SELECTION = struct('TPMS_PCR_SELECTION', {
  hash: TPMI_ALG_HASH,
  pcrSelect: bytes('pcrSelect', 4, 1),
});
/** Part 2 §10.9.7 (HASH_COUNT) */
export const TPML_PCR_SELECTION = list('TPML_PCR_SELECTION', TPMS_PCR_SELECTION, 16);
/** Part 2 §10.9.4 */
export const TPML_DIGEST = list('TPML_DIGEST', TPM2B_DIGEST, 8);
/** Part 2 §10.9.6 */
export const TPML_DIGEST_VALUES = list('TPML_DIGEST_VALUES', TPMT_HA, 16);

// ── Capabilities (Part 2 §10.8, §10.9, §10.10) ──────────────────────────────────────────────────────
/** Part 2 §10.8.1 */
export const TPMS_ALG_PROPERTY = struct('TPMS_ALG_PROPERTY', { alg: u16, algProperties: TPMA_ALGORITHM });
/** Part 2 §10.8.2 */
export const TPMS_TAGGED_PROPERTY = struct('TPMS_TAGGED_PROPERTY', { property: u32, value: u32 });
/** Part 2 §10.8.3 */
export const TPMS_TAGGED_PCR_SELECT = struct('TPMS_TAGGED_PCR_SELECT', {
  tag: u32,
  pcrSelect: bytes('pcrSelect', 4, 1),
});
/** Part 2 §10.8.4 */
export const TPMS_TAGGED_POLICY = struct('TPMS_TAGGED_POLICY', { handle: TPM_HANDLE, policyHash: TPMT_HA });

/** Part 2 §10.10.2 TPMS_CAPABILITY_DATA; list maxima are MAX_CAP_* for a 1024-byte MAX_CAP_BUFFER. */
export const TPMS_CAPABILITY_DATA = struct('TPMS_CAPABILITY_DATA', {
  capability: u32,
  data: union('TPMU_CAPABILITIES', 'capability', {
    [TPM_CAP.ALGS]: list('TPML_ALG_PROPERTY', TPMS_ALG_PROPERTY, 169),
    [TPM_CAP.HANDLES]: list('TPML_HANDLE', TPM_HANDLE, 254),
    [TPM_CAP.COMMANDS]: list('TPML_CCA', TPMA_CC, 254),
    [TPM_CAP.PP_COMMANDS]: list('TPML_CC', u32, 254),
    [TPM_CAP.AUDIT_COMMANDS]: list('TPML_CC', u32, 254),
    [TPM_CAP.PCRS]: TPML_PCR_SELECTION,
    [TPM_CAP.TPM_PROPERTIES]: list('TPML_TAGGED_TPM_PROPERTY', TPMS_TAGGED_PROPERTY, 127),
    [TPM_CAP.PCR_PROPERTIES]: list('TPML_TAGGED_PCR_PROPERTY', TPMS_TAGGED_PCR_SELECT, 127),
    [TPM_CAP.ECC_CURVES]: list('TPML_ECC_CURVE', u16, 508),
    [TPM_CAP.AUTH_POLICIES]: list('TPML_TAGGED_POLICY', TPMS_TAGGED_POLICY, 14),
  }),
});

// ── Schemes (Part 2 §11) ────────────────────────────────────────────────────────────────────────────
/** Part 2 §11.1.17 TPMS_SCHEME_HASH (also TPMS_SIG_SCHEME_*, TPMS_ENC_SCHEME_OAEP, TPMS_KEY_SCHEME_*). */
export const TPMS_SCHEME_HASH = struct('TPMS_SCHEME_HASH', { hashAlg: TPMI_ALG_HASH });
/** Part 2 §11.1.18 */
export const TPMS_SCHEME_ECDAA = struct('TPMS_SCHEME_ECDAA', { hashAlg: TPMI_ALG_HASH, count: u16 });
/** Part 2 §11.1.20 */
export const TPMS_SCHEME_XOR = struct('TPMS_SCHEME_XOR', { hashAlg: TPMI_ALG_HASH, kdf: u16 });

/** Part 2 §11.1.22 TPMT_KEYEDHASH_SCHEME */
export const TPMT_KEYEDHASH_SCHEME = struct('TPMT_KEYEDHASH_SCHEME', {
  scheme: u16,
  details: union('TPMU_SCHEME_KEYEDHASH', 'scheme', {
    [TPM_ALG.HMAC]: TPMS_SCHEME_HASH,
    [TPM_ALG.XOR]: TPMS_SCHEME_XOR,
    [TPM_ALG.NULL]: empty,
  }),
});

/** Part 2 §11.1.26 TPMT_SIG_SCHEME */
export const TPMT_SIG_SCHEME = struct('TPMT_SIG_SCHEME', {
  scheme: u16,
  details: union('TPMU_SIG_SCHEME', 'scheme', {
    [TPM_ALG.HMAC]: TPMS_SCHEME_HASH,
    [TPM_ALG.RSASSA]: TPMS_SCHEME_HASH,
    [TPM_ALG.RSAPSS]: TPMS_SCHEME_HASH,
    [TPM_ALG.ECDSA]: TPMS_SCHEME_HASH,
    [TPM_ALG.ECDAA]: TPMS_SCHEME_ECDAA,
    [TPM_ALG.SM2]: TPMS_SCHEME_HASH,
    [TPM_ALG.ECSCHNORR]: TPMS_SCHEME_HASH,
    [TPM_ALG.NULL]: empty,
  }),
});

/** Part 2 §11.2.3.5 TPMT_KDF_SCHEME */
export const TPMT_KDF_SCHEME = struct('TPMT_KDF_SCHEME', {
  scheme: u16,
  details: union('TPMU_KDF_SCHEME', 'scheme', {
    [TPM_ALG.MGF1]: TPMS_SCHEME_HASH,
    [TPM_ALG.KDF1_SP800_56A]: TPMS_SCHEME_HASH,
    [TPM_ALG.KDF2]: TPMS_SCHEME_HASH,
    [TPM_ALG.KDF1_SP800_108]: TPMS_SCHEME_HASH,
    [TPM_ALG.NULL]: empty,
  }),
});

/** Part 2 §11.2.4.2 TPMT_RSA_SCHEME */
export const TPMT_RSA_SCHEME = struct('TPMT_RSA_SCHEME', {
  scheme: u16,
  details: union('TPMU_ASYM_SCHEME', 'scheme', {
    [TPM_ALG.RSASSA]: TPMS_SCHEME_HASH,
    [TPM_ALG.RSAPSS]: TPMS_SCHEME_HASH,
    [TPM_ALG.OAEP]: TPMS_SCHEME_HASH,
    [TPM_ALG.RSAES]: empty,
    [TPM_ALG.NULL]: empty,
  }),
});

/** Part 2 §11.2.5.6 TPMT_ECC_SCHEME */
export const TPMT_ECC_SCHEME = struct('TPMT_ECC_SCHEME', {
  scheme: u16,
  details: union('TPMU_ASYM_SCHEME', 'scheme', {
    [TPM_ALG.ECDSA]: TPMS_SCHEME_HASH,
    [TPM_ALG.ECDH]: TPMS_SCHEME_HASH,
    [TPM_ALG.ECDAA]: TPMS_SCHEME_ECDAA,
    [TPM_ALG.SM2]: TPMS_SCHEME_HASH,
    [TPM_ALG.ECSCHNORR]: TPMS_SCHEME_HASH,
    [TPM_ALG.ECMQV]: TPMS_SCHEME_HASH,
    [TPM_ALG.NULL]: empty,
  }),
});

// ── Symmetric definitions (Part 2 §11.1.6, §11.1.7) ─────────────────────────────────────────────────
const symKeyBits = {
  [TPM_ALG.AES]: alias('TPMI_AES_KEY_BITS', u16),
  [TPM_ALG.SM4]: alias('TPMI_SM4_KEY_BITS', u16),
  [TPM_ALG.CAMELLIA]: alias('TPMI_CAMELLIA_KEY_BITS', u16),
  [TPM_ALG.NULL]: empty,
};
const symMode = {
  [TPM_ALG.AES]: alias('TPMI_ALG_SYM_MODE', u16),
  [TPM_ALG.SM4]: alias('TPMI_ALG_SYM_MODE', u16),
  [TPM_ALG.CAMELLIA]: alias('TPMI_ALG_SYM_MODE', u16),
  [TPM_ALG.NULL]: empty,
};

/** Part 2 §11.1.6 TPMT_SYM_DEF: a session's parameter-encryption algorithm (XOR allowed). */
export const TPMT_SYM_DEF = struct('TPMT_SYM_DEF', {
  algorithm: u16,
  keyBits: union('TPMU_SYM_KEY_BITS', 'algorithm', { ...symKeyBits, [TPM_ALG.XOR]: TPMI_ALG_HASH }),
  mode: union('TPMU_SYM_MODE', 'algorithm', { ...symMode, [TPM_ALG.XOR]: empty }),
});

/** Part 2 §11.1.7 TPMT_SYM_DEF_OBJECT: a storage key's symmetric algorithm (no XOR). */
export const TPMT_SYM_DEF_OBJECT = struct('TPMT_SYM_DEF_OBJECT', {
  algorithm: u16,
  keyBits: union('TPMU_SYM_KEY_BITS', 'algorithm', symKeyBits),
  mode: union('TPMU_SYM_MODE', 'algorithm', symMode),
});

// ── Keys (Part 2 §11.2, §12.2) ──────────────────────────────────────────────────────────────────────
/** Part 2 §11.2.4.5 (MAX_RSA_KEY_BYTES for RSA-4096). */
export const TPM2B_PUBLIC_KEY_RSA = bytes('TPM2B_PUBLIC_KEY_RSA', 512);
/** Part 2 §11.2.5.1 (MAX_ECC_KEY_BYTES for P-521). */
export const TPM2B_ECC_PARAMETER = bytes('TPM2B_ECC_PARAMETER', 66);
/** Part 2 §11.2.5.2 */
export const TPMS_ECC_POINT = struct('TPMS_ECC_POINT', { x: TPM2B_ECC_PARAMETER, y: TPM2B_ECC_PARAMETER });
/** Part 2 §11.2.5.3 */
export const TPM2B_ECC_POINT = sized('TPM2B_ECC_POINT', TPMS_ECC_POINT);

/** Part 2 §12.2.3.5 TPMS_RSA_PARMS */
export const TPMS_RSA_PARMS = struct('TPMS_RSA_PARMS', {
  symmetric: TPMT_SYM_DEF_OBJECT,
  scheme: TPMT_RSA_SCHEME,
  keyBits: u16,
  exponent: u32,
});
/** Part 2 §12.2.3.6 TPMS_ECC_PARMS */
export const TPMS_ECC_PARMS = struct('TPMS_ECC_PARMS', {
  symmetric: TPMT_SYM_DEF_OBJECT,
  scheme: TPMT_ECC_SCHEME,
  curveID: u16,
  kdf: TPMT_KDF_SCHEME,
});
/** Part 2 §12.2.3.3 */
export const TPMS_KEYEDHASH_PARMS = struct('TPMS_KEYEDHASH_PARMS', { scheme: TPMT_KEYEDHASH_SCHEME });
/** Part 2 §12.2.3.4 */
export const TPMS_SYMCIPHER_PARMS = struct('TPMS_SYMCIPHER_PARMS', { sym: TPMT_SYM_DEF_OBJECT });

/** Part 2 §12.2.4 TPMT_PUBLIC: `type` selects both `parameters` and `unique`. */
export const TPMT_PUBLIC = struct('TPMT_PUBLIC', {
  type: u16,
  nameAlg: TPMI_ALG_HASH,
  objectAttributes: TPMA_OBJECT,
  authPolicy: TPM2B_DIGEST,
  parameters: union('TPMU_PUBLIC_PARMS', 'type', {
    [TPM_ALG.RSA]: TPMS_RSA_PARMS,
    [TPM_ALG.ECC]: TPMS_ECC_PARMS,
    [TPM_ALG.KEYEDHASH]: TPMS_KEYEDHASH_PARMS,
    [TPM_ALG.SYMCIPHER]: TPMS_SYMCIPHER_PARMS,
  }),
  unique: union('TPMU_PUBLIC_ID', 'type', {
    [TPM_ALG.RSA]: TPM2B_PUBLIC_KEY_RSA,
    [TPM_ALG.ECC]: TPMS_ECC_POINT,
    [TPM_ALG.KEYEDHASH]: TPM2B_DIGEST,
    [TPM_ALG.SYMCIPHER]: TPM2B_DIGEST,
  }),
});
/** Part 2 §12.2.5 */
export const TPM2B_PUBLIC = sized('TPM2B_PUBLIC', TPMT_PUBLIC);

/** Part 2 §11.1.14 TPM2B_SENSITIVE_DATA (sized for a 128-byte keyed-hash key or sealed secret). */
export const TPM2B_SENSITIVE_DATA = bytes('TPM2B_SENSITIVE_DATA', 256);
/** Part 2 §11.1.15 */
export const TPMS_SENSITIVE_CREATE = struct('TPMS_SENSITIVE_CREATE', {
  userAuth: TPM2B_AUTH,
  data: TPM2B_SENSITIVE_DATA,
});
/** Part 2 §11.1.16 */
export const TPM2B_SENSITIVE_CREATE = sized('TPM2B_SENSITIVE_CREATE', TPMS_SENSITIVE_CREATE);
/**
 * Part 2 §12.3.3 TPM2B_SENSITIVE, kept opaque: execgate loads only public keys with TPM2_LoadExternal,
 * where it is empty (a TPMT_SENSITIVE of an RSA-4096 key is under 1 KiB).
 */
export const TPM2B_SENSITIVE = bytes('TPM2B_SENSITIVE', 1024);
/** Part 2 §12.3.7 (an encrypted blob: opaque to the host). */
export const TPM2B_PRIVATE = bytes('TPM2B_PRIVATE', 2048);
/** Part 2 §12.4.3 (an encrypted credential: opaque). */
export const TPM2B_ID_OBJECT = bytes('TPM2B_ID_OBJECT', 256);
/** Part 2 §11.4.33 TPM2B_ENCRYPTED_SECRET (an RSA-4096 ciphertext or a marshalled ECC point). */
export const TPM2B_ENCRYPTED_SECRET = bytes('TPM2B_ENCRYPTED_SECRET', 512);

// ── Signatures (Part 2 §11.3) ───────────────────────────────────────────────────────────────────────
/** Part 2 §11.3.1 */
export const TPMS_SIGNATURE_RSA = struct('TPMS_SIGNATURE_RSA', {
  hash: TPMI_ALG_HASH,
  sig: TPM2B_PUBLIC_KEY_RSA,
});
/** Part 2 §11.3.2 */
export const TPMS_SIGNATURE_ECC = struct('TPMS_SIGNATURE_ECC', {
  hash: TPMI_ALG_HASH,
  signatureR: TPM2B_ECC_PARAMETER,
  signatureS: TPM2B_ECC_PARAMETER,
});
/** Part 2 §11.3.4 TPMT_SIGNATURE */
export const TPMT_SIGNATURE = struct('TPMT_SIGNATURE', {
  sigAlg: u16,
  signature: union('TPMU_SIGNATURE', 'sigAlg', {
    [TPM_ALG.RSASSA]: TPMS_SIGNATURE_RSA,
    [TPM_ALG.RSAPSS]: TPMS_SIGNATURE_RSA,
    [TPM_ALG.ECDSA]: TPMS_SIGNATURE_ECC,
    [TPM_ALG.ECDAA]: TPMS_SIGNATURE_ECC,
    [TPM_ALG.SM2]: TPMS_SIGNATURE_ECC,
    [TPM_ALG.ECSCHNORR]: TPMS_SIGNATURE_ECC,
    [TPM_ALG.HMAC]: TPMT_HA,
    [TPM_ALG.NULL]: empty,
  }),
});

// ── Tickets (Part 2 §10.7) ──────────────────────────────────────────────────────────────────────────
/** Part 2 §10.7.3 TPMT_TK_CREATION */
export const TPMT_TK_CREATION = struct('TPMT_TK_CREATION', {
  tag: u16,
  hierarchy: TPM_HANDLE,
  digest: TPM2B_DIGEST,
});
/** Part 2 §10.7.4 TPMT_TK_VERIFIED */
export const TPMT_TK_VERIFIED = struct('TPMT_TK_VERIFIED', {
  tag: u16,
  hierarchy: TPM_HANDLE,
  digest: TPM2B_DIGEST,
});
/** Part 2 §10.7.5 TPMT_TK_AUTH */
export const TPMT_TK_AUTH = struct('TPMT_TK_AUTH', { tag: u16, hierarchy: TPM_HANDLE, digest: TPM2B_DIGEST });
/** Part 2 §10.7.6 TPMT_TK_HASHCHECK */
export const TPMT_TK_HASHCHECK = struct('TPMT_TK_HASHCHECK', {
  tag: u16,
  hierarchy: TPM_HANDLE,
  digest: TPM2B_DIGEST,
});

/** A NULL hash-check ticket: tells TPM2_Sign the digest was not made by the TPM (Part 3 §20.2). */
export function nullHashcheck(): TPMT_TK_HASHCHECK {
  return { tag: TPM_ST.HASHCHECK, hierarchy: 0x40000007, digest: new Uint8Array(0) };
}

// ── Creation data (Part 2 §15) ──────────────────────────────────────────────────────────────────────
/** Part 2 §15.1 TPMS_CREATION_DATA */
export const TPMS_CREATION_DATA = struct('TPMS_CREATION_DATA', {
  pcrSelect: TPML_PCR_SELECTION,
  pcrDigest: TPM2B_DIGEST,
  locality: TPMA_LOCALITY,
  parentNameAlg: u16,
  parentName: TPM2B_NAME,
  parentQualifiedName: TPM2B_NAME,
  outsideInfo: TPM2B_DATA,
});
/** Part 2 §15.2 */
export const TPM2B_CREATION_DATA = sized('TPM2B_CREATION_DATA', TPMS_CREATION_DATA);

// ── Attestation (Part 2 §10.11, §10.12) ─────────────────────────────────────────────────────────────
/** Part 2 §10.11.1 TPMS_CLOCK_INFO */
export const TPMS_CLOCK_INFO = struct('TPMS_CLOCK_INFO', {
  clock: u64,
  resetCount: u32,
  restartCount: u32,
  safe: TPMI_YES_NO,
});
/** Part 2 §10.11.6 TPMS_TIME_INFO */
export const TPMS_TIME_INFO = struct('TPMS_TIME_INFO', { time: u64, clockInfo: TPMS_CLOCK_INFO });

/** Part 2 §10.12.12 TPMS_ATTEST: `type` selects `attested`. The magic is checked by verifiers, not here. */
export const TPMS_ATTEST = struct('TPMS_ATTEST', {
  magic: TPM_GENERATED,
  type: TPMI_ST_ATTEST,
  qualifiedSigner: TPM2B_NAME,
  extraData: TPM2B_DATA,
  clockInfo: TPMS_CLOCK_INFO,
  firmwareVersion: u64,
  attested: union('TPMU_ATTEST', 'type', {
    [TPM_ST.ATTEST_CERTIFY]: struct('TPMS_CERTIFY_INFO', { name: TPM2B_NAME, qualifiedName: TPM2B_NAME }),
    [TPM_ST.ATTEST_CREATION]: struct('TPMS_CREATION_INFO', {
      objectName: TPM2B_NAME,
      creationHash: TPM2B_DIGEST,
    }),
    [TPM_ST.ATTEST_QUOTE]: struct('TPMS_QUOTE_INFO', {
      pcrSelect: TPML_PCR_SELECTION,
      pcrDigest: TPM2B_DIGEST,
    }),
    [TPM_ST.ATTEST_COMMAND_AUDIT]: struct('TPMS_COMMAND_AUDIT_INFO', {
      auditCounter: u64,
      digestAlg: u16,
      auditDigest: TPM2B_DIGEST,
      commandDigest: TPM2B_DIGEST,
    }),
    [TPM_ST.ATTEST_SESSION_AUDIT]: struct('TPMS_SESSION_AUDIT_INFO', {
      exclusiveSession: TPMI_YES_NO,
      sessionDigest: TPM2B_DIGEST,
    }),
    [TPM_ST.ATTEST_TIME]: struct('TPMS_TIME_ATTEST_INFO', { time: TPMS_TIME_INFO, firmwareVersion: u64 }),
    [TPM_ST.ATTEST_NV]: struct('TPMS_NV_CERTIFY_INFO', {
      indexName: TPM2B_NAME,
      offset: u16,
      nvContents: TPM2B_MAX_NV_BUFFER,
    }),
    [TPM_ST.ATTEST_NV_DIGEST]: struct('TPMS_NV_DIGEST_CERTIFY_INFO', {
      indexName: TPM2B_NAME,
      nvDigest: TPM2B_DIGEST,
    }),
  }),
});

// ── Sessions and contexts (Part 2 §10.13, §14) ──────────────────────────────────────────────────────
/** Part 2 §10.13.2 TPMS_AUTH_COMMAND */
export const TPMS_AUTH_COMMAND = struct('TPMS_AUTH_COMMAND', {
  sessionHandle: TPM_HANDLE,
  nonce: TPM2B_NONCE,
  sessionAttributes: TPMA_SESSION,
  hmac: TPM2B_AUTH,
});
/** Part 2 §10.13.3 TPMS_AUTH_RESPONSE */
export const TPMS_AUTH_RESPONSE = struct('TPMS_AUTH_RESPONSE', {
  nonce: TPM2B_NONCE,
  sessionAttributes: TPMA_SESSION,
  hmac: TPM2B_AUTH,
});

/** Part 2 §14.3 (MAX_CONTEXT_SIZE, generous: contexts are opaque to the host). */
export const TPM2B_CONTEXT_DATA = bytes('TPM2B_CONTEXT_DATA', 5120);
/** Part 2 §14.5 TPMS_CONTEXT */
export const TPMS_CONTEXT = struct('TPMS_CONTEXT', {
  sequence: u64,
  savedHandle: TPM_HANDLE,
  hierarchy: TPM_HANDLE,
  contextBlob: TPM2B_CONTEXT_DATA,
});

// ── NV (Part 2 §13.5) ───────────────────────────────────────────────────────────────────────────────
/** Part 2 §13.5 TPMS_NV_PUBLIC */
export const TPMS_NV_PUBLIC = struct('TPMS_NV_PUBLIC', {
  nvIndex: TPM_HANDLE,
  nameAlg: TPMI_ALG_HASH,
  attributes: TPMA_NV,
  authPolicy: TPM2B_DIGEST,
  dataSize: u16,
});
/** Part 2 §13.6 */
export const TPM2B_NV_PUBLIC = sized('TPM2B_NV_PUBLIC', TPMS_NV_PUBLIC);

export type TPMT_HA = Infer<typeof TPMT_HA>;
export type TPMS_PCR_SELECTION = Infer<typeof TPMS_PCR_SELECTION>;
export type TPML_PCR_SELECTION = Infer<typeof TPML_PCR_SELECTION>;
export type TPMS_CAPABILITY_DATA = Infer<typeof TPMS_CAPABILITY_DATA>;
export type TPMT_SIG_SCHEME = Infer<typeof TPMT_SIG_SCHEME>;
export type TPMT_SYM_DEF = Infer<typeof TPMT_SYM_DEF>;
export type TPMT_SYM_DEF_OBJECT = Infer<typeof TPMT_SYM_DEF_OBJECT>;
export type TPMS_RSA_PARMS = Infer<typeof TPMS_RSA_PARMS>;
export type TPMS_ECC_PARMS = Infer<typeof TPMS_ECC_PARMS>;
export type TPMS_ECC_POINT = Infer<typeof TPMS_ECC_POINT>;
export type TPMT_PUBLIC = Infer<typeof TPMT_PUBLIC>;
export type TPMA_OBJECT = Infer<typeof TPMA_OBJECT>;
export type TPMA_SESSION = Infer<typeof TPMA_SESSION>;
export type TPMA_NV = Infer<typeof TPMA_NV>;
export type TPMS_SENSITIVE_CREATE = Infer<typeof TPMS_SENSITIVE_CREATE>;
export type TPMT_SIGNATURE = Infer<typeof TPMT_SIGNATURE>;
export type TPMT_TK_HASHCHECK = Infer<typeof TPMT_TK_HASHCHECK>;
export type TPMT_TK_VERIFIED = Infer<typeof TPMT_TK_VERIFIED>;
export type TPMS_CLOCK_INFO = Infer<typeof TPMS_CLOCK_INFO>;
export type TPMS_TIME_INFO = Infer<typeof TPMS_TIME_INFO>;
export type TPMS_ATTEST = Infer<typeof TPMS_ATTEST>;
export type TPMS_AUTH_COMMAND = Infer<typeof TPMS_AUTH_COMMAND>;
export type TPMS_AUTH_RESPONSE = Infer<typeof TPMS_AUTH_RESPONSE>;
export type TPMS_CONTEXT = Infer<typeof TPMS_CONTEXT>;
export type TPMS_NV_PUBLIC = Infer<typeof TPMS_NV_PUBLIC>;

/** Every declared structure, for the round-trip property tests. */
export const ALL_STRUCTURES: readonly Schema<unknown>[] = [
  TPMT_HA,
  TPMA_ALGORITHM,
  TPMA_OBJECT,
  TPMA_SESSION,
  TPMA_LOCALITY,
  TPMA_CC,
  TPMA_NV,
  TPMS_PCR_SELECTION,
  TPML_PCR_SELECTION,
  TPML_DIGEST,
  TPML_DIGEST_VALUES,
  TPMS_CAPABILITY_DATA,
  TPMT_KEYEDHASH_SCHEME,
  TPMT_SIG_SCHEME,
  TPMT_KDF_SCHEME,
  TPMT_RSA_SCHEME,
  TPMT_ECC_SCHEME,
  TPMT_SYM_DEF,
  TPMT_SYM_DEF_OBJECT,
  TPM2B_ECC_POINT,
  TPMT_PUBLIC,
  TPM2B_PUBLIC,
  TPM2B_SENSITIVE_CREATE,
  TPMT_SIGNATURE,
  TPMT_TK_CREATION,
  TPMT_TK_AUTH,
  TPMT_TK_VERIFIED,
  TPMT_TK_HASHCHECK,
  TPM2B_CREATION_DATA,
  TPMS_TIME_INFO,
  TPMS_ATTEST,
  TPMS_AUTH_COMMAND,
  TPMS_AUTH_RESPONSE,
  TPMS_CONTEXT,
  TPM2B_NV_PUBLIC,
];
