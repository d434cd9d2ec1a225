// SPDX-License-Identifier: Apache-2.0
/**
 * TPM 2.0 constants, spelled as in TCG TPM 2.0 Library Part 2 (Structures), rev 1.59, §6.
 * Response codes live in rc.ts, beside their decoder. The hash algorithms' ids come from the hash registry
 * (crypto/algorithms.ts), where each hash's facts are declared once.
 */
import { HASH_ALGORITHMS as HASH } from '../crypto/algorithms.js';

/** Part 2 §5.3: TPM_GENERATED_VALUE, the magic at the start of every TPMS_ATTEST the TPM signs. */
export const TPM_GENERATED_VALUE = 0xff544347;

/** Part 2 §6.3 TPM_ALG_ID. */
export const TPM_ALG = {
  ERROR: 0x0000,
  RSA: 0x0001,
  TDES: 0x0003,
  SHA1: HASH.sha1.tpmAlg,
  HMAC: 0x0005,
  AES: 0x0006,
  MGF1: 0x0007,
  KEYEDHASH: 0x0008,
  XOR: 0x000a,
  SHA256: HASH.sha256.tpmAlg,
  SHA384: HASH.sha384.tpmAlg,
  SHA512: HASH.sha512.tpmAlg,
  NULL: 0x0010,
  SM3_256: HASH.sm3_256.tpmAlg,
  SM4: 0x0013,
  RSASSA: 0x0014,
  RSAES: 0x0015,
  RSAPSS: 0x0016,
  OAEP: 0x0017,
  ECDSA: 0x0018,
  ECDH: 0x0019,
  ECDAA: 0x001a,
  SM2: 0x001b,
  ECSCHNORR: 0x001c,
  ECMQV: 0x001d,
  KDF1_SP800_56A: 0x0020,
  KDF2: 0x0021,
  KDF1_SP800_108: 0x0022,
  ECC: 0x0023,
  SYMCIPHER: 0x0025,
  CAMELLIA: 0x0026,
  SHA3_256: 0x0027,
  SHA3_384: 0x0028,
  SHA3_512: 0x0029,
  CTR: 0x0040,
  OFB: 0x0041,
  CBC: 0x0042,
  CFB: 0x0043,
  ECB: 0x0044,
} as const;

/** Part 2 §6.4 TPM_ECC_CURVE. */
export const TPM_ECC_CURVE = {
  NONE: 0x0000,
  NIST_P192: 0x0001,
  NIST_P224: 0x0002,
  NIST_P256: 0x0003,
  NIST_P384: 0x0004,
  NIST_P521: 0x0005,
  BN_P256: 0x0010,
  BN_P638: 0x0011,
  SM2_P256: 0x0020,
} as const;

/** Part 2 §6.5.2 TPM_CC: the command codes execgate declares or may meet in a capability list. */
export const TPM_CC = {
  NV_UndefineSpaceSpecial: 0x011f,
  EvictControl: 0x0120,
  HierarchyControl: 0x0121,
  NV_UndefineSpace: 0x0122,
  Clear: 0x0126,
  ClearControl: 0x0127,
  HierarchyChangeAuth: 0x0129,
  NV_DefineSpace: 0x012a,
  PCR_Allocate: 0x012b,
  CreatePrimary: 0x0131,
  NV_Increment: 0x0134,
  NV_Extend: 0x0136,
  NV_Write: 0x0137,
  DictionaryAttackLockReset: 0x0139,
  PCR_Event: 0x013c,
  PCR_Reset: 0x013d,
  SelfTest: 0x0143,
  Startup: 0x0144,
  Shutdown: 0x0145,
  StirRandom: 0x0146,
  ActivateCredential: 0x0147,
  Certify: 0x0148,
  PolicyNV: 0x0149,
  CertifyCreation: 0x014a,
  GetTime: 0x014c,
  NV_Read: 0x014e,
  PolicySecret: 0x0151,
  Create: 0x0153,
  Load: 0x0157,
  Quote: 0x0158,
  RSA_Decrypt: 0x0159,
  Sign: 0x015d,
  Unseal: 0x015e,
  PolicySigned: 0x0160,
  ContextLoad: 0x0161,
  ContextSave: 0x0162,
  FlushContext: 0x0165,
  LoadExternal: 0x0167,
  MakeCredential: 0x0168,
  NV_ReadPublic: 0x0169,
  PolicyAuthorize: 0x016a,
  PolicyAuthValue: 0x016b,
  PolicyCommandCode: 0x016c,
  PolicyCpHash: 0x016e,
  PolicyLocality: 0x016f,
  PolicyOR: 0x0171,
  ReadPublic: 0x0173,
  RSA_Encrypt: 0x0174,
  StartAuthSession: 0x0176,
  VerifySignature: 0x0177,
  GetCapability: 0x017a,
  GetRandom: 0x017b,
  GetTestResult: 0x017c,
  Hash: 0x017d,
  PCR_Read: 0x017e,
  PolicyPCR: 0x017f,
  PolicyRestart: 0x0180,
  ReadClock: 0x0181,
  PCR_Extend: 0x0182,
  NV_Certify: 0x0184,
  PolicyGetDigest: 0x0189,
  PolicyPassword: 0x018c,
  CreateLoaded: 0x0191,
} as const;

/** Part 2 §6.9 TPM_ST: structure tags. */
export const TPM_ST = {
  RSP_COMMAND: 0x00c4,
  NULL: 0x8000,
  NO_SESSIONS: 0x8001,
  SESSIONS: 0x8002,
  ATTEST_NV: 0x8014,
  ATTEST_COMMAND_AUDIT: 0x8015,
  ATTEST_SESSION_AUDIT: 0x8016,
  ATTEST_CERTIFY: 0x8017,
  ATTEST_QUOTE: 0x8018,
  ATTEST_TIME: 0x8019,
  ATTEST_CREATION: 0x801a,
  ATTEST_NV_DIGEST: 0x801c,
  CREATION: 0x8021,
  VERIFIED: 0x8022,
  AUTH_SECRET: 0x8023,
  HASHCHECK: 0x8024,
  AUTH_SIGNED: 0x8025,
} as const;

/** Part 2 §6.10 TPM_SU: Startup and Shutdown types. */
export const TPM_SU = { CLEAR: 0x0000, STATE: 0x0001 } as const;

/** Part 2 §6.11 TPM_SE: session types. */
export const TPM_SE = { HMAC: 0x00, POLICY: 0x01, TRIAL: 0x03 } as const;

/** Part 2 §6.12 TPM_CAP. */
export const TPM_CAP = {
  ALGS: 0x00000000,
  HANDLES: 0x00000001,
  COMMANDS: 0x00000002,
  PP_COMMANDS: 0x00000003,
  AUDIT_COMMANDS: 0x00000004,
  PCRS: 0x00000005,
  TPM_PROPERTIES: 0x00000006,
  PCR_PROPERTIES: 0x00000007,
  ECC_CURVES: 0x00000008,
  AUTH_POLICIES: 0x00000009,
} as const;

/** Part 2 §6.13 TPM_PT: fixed (0x100 group) and variable (0x200 group) TPM properties. */
export const TPM_PT = {
  FAMILY_INDICATOR: 0x100,
  LEVEL: 0x101,
  REVISION: 0x102,
  DAY_OF_YEAR: 0x103,
  YEAR: 0x104,
  MANUFACTURER: 0x105,
  VENDOR_STRING_1: 0x106,
  VENDOR_STRING_2: 0x107,
  VENDOR_STRING_3: 0x108,
  VENDOR_STRING_4: 0x109,
  VENDOR_TPM_TYPE: 0x10a,
  FIRMWARE_VERSION_1: 0x10b,
  FIRMWARE_VERSION_2: 0x10c,
  INPUT_BUFFER: 0x10d,
  HR_TRANSIENT_MIN: 0x10e,
  HR_PERSISTENT_MIN: 0x10f,
  HR_LOADED_MIN: 0x110,
  ACTIVE_SESSIONS_MAX: 0x111,
  PCR_COUNT: 0x112,
  PCR_SELECT_MIN: 0x113,
  CONTEXT_GAP_MAX: 0x114,
  NV_COUNTERS_MAX: 0x116,
  NV_INDEX_MAX: 0x117,
  MEMORY: 0x118,
  CLOCK_UPDATE: 0x119,
  CONTEXT_HASH: 0x11a,
  CONTEXT_SYM: 0x11b,
  CONTEXT_SYM_SIZE: 0x11c,
  ORDERLY_COUNT: 0x11d,
  MAX_COMMAND_SIZE: 0x11e,
  MAX_RESPONSE_SIZE: 0x11f,
  MAX_DIGEST: 0x120,
  MAX_OBJECT_CONTEXT: 0x121,
  MAX_SESSION_CONTEXT: 0x122,
  PS_FAMILY_INDICATOR: 0x123,
  PS_LEVEL: 0x124,
  PS_REVISION: 0x125,
  PS_DAY_OF_YEAR: 0x126,
  PS_YEAR: 0x127,
  SPLIT_MAX: 0x128,
  TOTAL_COMMANDS: 0x129,
  LIBRARY_COMMANDS: 0x12a,
  VENDOR_COMMANDS: 0x12b,
  NV_BUFFER_MAX: 0x12c,
  MODES: 0x12d,
  MAX_CAP_BUFFER: 0x12e,
  PERMANENT: 0x200,
  STARTUP_CLEAR: 0x201,
  HR_NV_INDEX: 0x202,
  HR_LOADED: 0x203,
  HR_LOADED_AVAIL: 0x204,
  HR_ACTIVE: 0x205,
  HR_ACTIVE_AVAIL: 0x206,
  HR_TRANSIENT_AVAIL: 0x207,
  HR_PERSISTENT: 0x208,
  HR_PERSISTENT_AVAIL: 0x209,
  NV_COUNTERS: 0x20a,
  NV_COUNTERS_AVAIL: 0x20b,
  ALGORITHM_SET: 0x20c,
  LOADED_CURVES: 0x20d,
  LOCKOUT_COUNTER: 0x20e,
  MAX_AUTH_FAIL: 0x20f,
  LOCKOUT_INTERVAL: 0x210,
  LOCKOUT_RECOVERY: 0x211,
  NV_WRITE_RECOVERY: 0x212,
  AUDIT_COUNTER_0: 0x213,
  AUDIT_COUNTER_1: 0x214,
} as const;

/** Part 2 §7.2 TPM_HT: the handle type in a handle's most significant octet. */
export const TPM_HT = {
  PCR: 0x00,
  NV_INDEX: 0x01,
  HMAC_SESSION: 0x02,
  POLICY_SESSION: 0x03,
  PERMANENT: 0x40,
  TRANSIENT: 0x80,
  PERSISTENT: 0x81,
} as const;

/** Part 2 §7.4 TPM_RH / TPM_RS: permanent handles. */
export const TPM_RH = {
  OWNER: 0x40000001,
  NULL: 0x40000007,
  PW: 0x40000009, // TPM_RS_PW, the password pseudo-session
  LOCKOUT: 0x4000000a,
  ENDORSEMENT: 0x4000000b,
  PLATFORM: 0x4000000c,
  PLATFORM_NV: 0x4000000d,
} as const;

/** Part 2 §13.4 TPM_NT: NV index types, bits 4..7 of TPMA_NV. */
export const TPM_NT = {
  ORDINARY: 0x0,
  COUNTER: 0x1,
  BITS: 0x2,
  EXTEND: 0x4,
  PIN_FAIL: 0x8,
  PIN_PASS: 0x9,
} as const;

/** The type of a handle: its most significant octet (Part 2 §7.2). */
export function handleType(handle: number): number {
  return handle >>> 24;
}
