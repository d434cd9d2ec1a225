// SPDX-License-Identifier: Apache-2.0
/**
 * Part 3 command declarations: code, handle area (with the authorization role of each handle), parameter
 * and response schemas. Run them with `Tpm.run` (tpm.ts). Field names follow Part 3's tables.
 */
import { command } from './command.js';
import { TPM_CC } from './constants.js';
import { i32, struct, u8, u16, u32 } from './schema.js';
import {
  TPM_HANDLE,
  TPM2B_ATTEST,
  TPM2B_AUTH,
  TPM2B_CREATION_DATA,
  TPM2B_DATA,
  TPM2B_DIGEST,
  TPM2B_ENCRYPTED_SECRET,
  TPM2B_ID_OBJECT,
  TPM2B_MAX_NV_BUFFER,
  TPM2B_NAME,
  TPM2B_NONCE,
  TPM2B_NV_PUBLIC,
  TPM2B_PRIVATE,
  TPM2B_PUBLIC,
  TPM2B_SENSITIVE,
  TPM2B_SENSITIVE_CREATE,
  TPM2B_SENSITIVE_DATA,
  TPM2B_TIMEOUT,
  TPMI_ALG_HASH,
  TPMI_YES_NO,
  TPML_DIGEST,
  TPML_DIGEST_VALUES,
  TPML_PCR_SELECTION,
  TPMS_CAPABILITY_DATA,
  TPMS_CONTEXT,
  TPMS_TIME_INFO,
  TPMT_SIG_SCHEME,
  TPMT_SIGNATURE,
  TPMT_SYM_DEF,
  TPMT_TK_AUTH,
  TPMT_TK_CREATION,
  TPMT_TK_HASHCHECK,
  TPMT_TK_VERIFIED,
} from './structures.js';

const none = struct('(none)', {});

/** Part 3 §9.3 */
export const Startup = command({
  name: 'Startup',
  cc: TPM_CC.Startup,
  handles: [],
  params: struct('TPM2_Startup', { startupType: u16 }),
  responseHandles: [],
  response: none,
});

/** Part 3 §9.4 */
export const Shutdown = command({
  name: 'Shutdown',
  cc: TPM_CC.Shutdown,
  handles: [],
  params: struct('TPM2_Shutdown', { shutdownType: u16 }),
  responseHandles: [],
  response: none,
});

/** Part 3 §30.2 */
export const GetCapability = command({
  name: 'GetCapability',
  cc: TPM_CC.GetCapability,
  handles: [],
  params: struct('TPM2_GetCapability', { capability: u32, property: u32, propertyCount: u32 }),
  responseHandles: [],
  response: struct('TPM2_GetCapability_Response', {
    moreData: TPMI_YES_NO,
    capabilityData: TPMS_CAPABILITY_DATA,
  }),
});

/** Part 3 §16.1 */
export const GetRandom = command({
  name: 'GetRandom',
  cc: TPM_CC.GetRandom,
  handles: [],
  params: struct('TPM2_GetRandom', { bytesRequested: u16 }),
  responseHandles: [],
  response: struct('TPM2_GetRandom_Response', { randomBytes: TPM2B_DIGEST }),
});

/** Part 3 §22.4 */
export const PCR_Read = command({
  name: 'PCR_Read',
  cc: TPM_CC.PCR_Read,
  handles: [],
  params: struct('TPM2_PCR_Read', { pcrSelectionIn: TPML_PCR_SELECTION }),
  responseHandles: [],
  response: struct('TPM2_PCR_Read_Response', {
    pcrUpdateCounter: u32,
    pcrSelectionOut: TPML_PCR_SELECTION,
    pcrValues: TPML_DIGEST,
  }),
});

/** Part 3 §22.2 */
export const PCR_Extend = command({
  name: 'PCR_Extend',
  cc: TPM_CC.PCR_Extend,
  handles: [{ name: 'pcrHandle', auth: 'USER' }],
  params: struct('TPM2_PCR_Extend', { digests: TPML_DIGEST_VALUES }),
  responseHandles: [],
  response: none,
});

const createParams = {
  inSensitive: TPM2B_SENSITIVE_CREATE,
  inPublic: TPM2B_PUBLIC,
  outsideInfo: TPM2B_DATA,
  creationPCR: TPML_PCR_SELECTION,
};

/** Part 3 §24.1 */
export const CreatePrimary = command({
  name: 'CreatePrimary',
  cc: TPM_CC.CreatePrimary,
  handles: [{ name: 'primaryHandle', auth: 'USER' }],
  params: struct('TPM2_CreatePrimary', createParams),
  responseHandles: ['objectHandle'],
  response: struct('TPM2_CreatePrimary_Response', {
    outPublic: TPM2B_PUBLIC,
    creationData: TPM2B_CREATION_DATA,
    creationHash: TPM2B_DIGEST,
    creationTicket: TPMT_TK_CREATION,
    name: TPM2B_NAME,
  }),
});

/** Part 3 §12.1 */
export const Create = command({
  name: 'Create',
  cc: TPM_CC.Create,
  handles: [{ name: 'parentHandle', auth: 'USER' }],
  params: struct('TPM2_Create', createParams),
  responseHandles: [],
  response: struct('TPM2_Create_Response', {
    outPrivate: TPM2B_PRIVATE,
    outPublic: TPM2B_PUBLIC,
    creationData: TPM2B_CREATION_DATA,
    creationHash: TPM2B_DIGEST,
    creationTicket: TPMT_TK_CREATION,
  }),
});

/** Part 3 §12.2 */
export const Load = command({
  name: 'Load',
  cc: TPM_CC.Load,
  handles: [{ name: 'parentHandle', auth: 'USER' }],
  params: struct('TPM2_Load', { inPrivate: TPM2B_PRIVATE, inPublic: TPM2B_PUBLIC }),
  responseHandles: ['objectHandle'],
  response: struct('TPM2_Load_Response', { name: TPM2B_NAME }),
});

/** Part 3 §12.4 */
export const ReadPublic = command({
  name: 'ReadPublic',
  cc: TPM_CC.ReadPublic,
  handles: [{ name: 'objectHandle' }],
  params: none,
  responseHandles: [],
  response: struct('TPM2_ReadPublic_Response', {
    outPublic: TPM2B_PUBLIC,
    name: TPM2B_NAME,
    qualifiedName: TPM2B_NAME,
  }),
});

/** Part 3 §18.4 */
export const Quote = command({
  name: 'Quote',
  cc: TPM_CC.Quote,
  handles: [{ name: 'signHandle', auth: 'USER' }],
  params: struct('TPM2_Quote', {
    qualifyingData: TPM2B_DATA,
    inScheme: TPMT_SIG_SCHEME,
    PCRselect: TPML_PCR_SELECTION,
  }),
  responseHandles: [],
  response: struct('TPM2_Quote_Response', { quoted: TPM2B_ATTEST, signature: TPMT_SIGNATURE }),
});

/** Part 3 §20.2 */
export const Sign = command({
  name: 'Sign',
  cc: TPM_CC.Sign,
  handles: [{ name: 'keyHandle', auth: 'USER' }],
  params: struct('TPM2_Sign', {
    digest: TPM2B_DIGEST,
    inScheme: TPMT_SIG_SCHEME,
    validation: TPMT_TK_HASHCHECK,
  }),
  responseHandles: [],
  response: struct('TPM2_Sign_Response', { signature: TPMT_SIGNATURE }),
});

/** Part 3 §18.2 */
export const Certify = command({
  name: 'Certify',
  cc: TPM_CC.Certify,
  handles: [
    { name: 'objectHandle', auth: 'ADMIN' },
    { name: 'signHandle', auth: 'USER' },
  ],
  params: struct('TPM2_Certify', { qualifyingData: TPM2B_DATA, inScheme: TPMT_SIG_SCHEME }),
  responseHandles: [],
  response: struct('TPM2_Certify_Response', { certifyInfo: TPM2B_ATTEST, signature: TPMT_SIGNATURE }),
});

/** Part 3 §28.4: the handle to flush is a parameter, not a handle-area entry. */
export const FlushContext = command({
  name: 'FlushContext',
  cc: TPM_CC.FlushContext,
  handles: [],
  params: struct('TPM2_FlushContext', { flushHandle: TPM_HANDLE }),
  responseHandles: [],
  response: none,
});

/** Part 3 §28.2 */
export const ContextSave = command({
  name: 'ContextSave',
  cc: TPM_CC.ContextSave,
  handles: [{ name: 'saveHandle' }],
  params: none,
  responseHandles: [],
  response: struct('TPM2_ContextSave_Response', { context: TPMS_CONTEXT }),
});

/** Part 3 §28.3 */
export const ContextLoad = command({
  name: 'ContextLoad',
  cc: TPM_CC.ContextLoad,
  handles: [],
  params: struct('TPM2_ContextLoad', { context: TPMS_CONTEXT }),
  responseHandles: ['loadedHandle'],
  response: none,
});

/** Part 3 §28.5 */
export const EvictControl = command({
  name: 'EvictControl',
  cc: TPM_CC.EvictControl,
  handles: [{ name: 'auth', auth: 'USER' }, { name: 'objectHandle' }],
  params: struct('TPM2_EvictControl', { persistentHandle: TPM_HANDLE }),
  responseHandles: [],
  response: none,
});

/** Part 3 §11.1 */
export const StartAuthSession = command({
  name: 'StartAuthSession',
  cc: TPM_CC.StartAuthSession,
  handles: [{ name: 'tpmKey' }, { name: 'bind' }],
  params: struct('TPM2_StartAuthSession', {
    nonceCaller: TPM2B_NONCE,
    encryptedSalt: TPM2B_ENCRYPTED_SECRET,
    sessionType: u8,
    symmetric: TPMT_SYM_DEF,
    authHash: TPMI_ALG_HASH,
  }),
  responseHandles: ['sessionHandle'],
  response: struct('TPM2_StartAuthSession_Response', { nonceTPM: TPM2B_NONCE }),
});

/** Part 3 §23.7 */
export const PolicyPCR = command({
  name: 'PolicyPCR',
  cc: TPM_CC.PolicyPCR,
  handles: [{ name: 'policySession' }],
  params: struct('TPM2_PolicyPCR', { pcrDigest: TPM2B_DIGEST, pcrs: TPML_PCR_SELECTION }),
  responseHandles: [],
  response: none,
});

/** Part 3 §23.4 */
export const PolicySecret = command({
  name: 'PolicySecret',
  cc: TPM_CC.PolicySecret,
  handles: [{ name: 'authHandle', auth: 'USER' }, { name: 'policySession' }],
  params: struct('TPM2_PolicySecret', {
    nonceTPM: TPM2B_NONCE,
    cpHashA: TPM2B_DIGEST,
    policyRef: TPM2B_NONCE,
    expiration: i32,
  }),
  responseHandles: [],
  response: struct('TPM2_PolicySecret_Response', { timeout: TPM2B_TIMEOUT, policyTicket: TPMT_TK_AUTH }),
});

/** Part 3 §23.18: the authorized entity's authValue enters the session's HMAC (Part 1 §19.7.9). */
export const PolicyAuthValue = command({
  name: 'PolicyAuthValue',
  cc: TPM_CC.PolicyAuthValue,
  handles: [{ name: 'policySession' }],
  params: none,
  responseHandles: [],
  response: none,
});

/**
 * Part 3 §23.16: replaces the session's policyDigest, when it equals approvedPolicy and `checkTicket`
 * shows keySign signed H(approvedPolicy ‖ policyRef), with the digest PolicyAuthorize(keySign) itself.
 */
export const PolicyAuthorize = command({
  name: 'PolicyAuthorize',
  cc: TPM_CC.PolicyAuthorize,
  handles: [{ name: 'policySession' }],
  params: struct('TPM2_PolicyAuthorize', {
    approvedPolicy: TPM2B_DIGEST,
    policyRef: TPM2B_NONCE,
    keySign: TPM2B_NAME,
    checkTicket: TPMT_TK_VERIFIED,
  }),
  responseHandles: [],
  response: none,
});

/** Part 3 §23.19 */
export const PolicyGetDigest = command({
  name: 'PolicyGetDigest',
  cc: TPM_CC.PolicyGetDigest,
  handles: [{ name: 'policySession' }],
  params: none,
  responseHandles: [],
  response: struct('TPM2_PolicyGetDigest_Response', { policyDigest: TPM2B_DIGEST }),
});

/** Part 3 §12.7: the sensitive data of a sealed-data object, which must be authorized (USER role). */
export const Unseal = command({
  name: 'Unseal',
  cc: TPM_CC.Unseal,
  handles: [{ name: 'itemHandle', auth: 'USER' }],
  params: none,
  responseHandles: [],
  response: struct('TPM2_Unseal_Response', { outData: TPM2B_SENSITIVE_DATA }),
});

/** Part 3 §12.3: a key from outside the TPM; with an empty inPrivate only its public part (to verify signatures). */
export const LoadExternal = command({
  name: 'LoadExternal',
  cc: TPM_CC.LoadExternal,
  handles: [],
  params: struct('TPM2_LoadExternal', {
    inPrivate: TPM2B_SENSITIVE,
    inPublic: TPM2B_PUBLIC,
    hierarchy: TPM_HANDLE,
  }),
  responseHandles: ['objectHandle'],
  response: struct('TPM2_LoadExternal_Response', { name: TPM2B_NAME }),
});

/**
 * Part 3 §20.1: verifies a signature over a digest with a loaded key; the ticket proves it to
 * PolicyAuthorize. A NULL-hierarchy key (LoadExternal) gives a NULL ticket, which PolicyAuthorize refuses:
 * load the key in the owner hierarchy.
 */
export const VerifySignature = command({
  name: 'VerifySignature',
  cc: TPM_CC.VerifySignature,
  handles: [{ name: 'keyHandle' }],
  params: struct('TPM2_VerifySignature', { digest: TPM2B_DIGEST, signature: TPMT_SIGNATURE }),
  responseHandles: [],
  response: struct('TPM2_VerifySignature_Response', { validation: TPMT_TK_VERIFIED }),
});

/** Part 3 §12.6 (a software version for verifiers lives with attestation). */
export const MakeCredential = command({
  name: 'MakeCredential',
  cc: TPM_CC.MakeCredential,
  handles: [{ name: 'handle' }],
  params: struct('TPM2_MakeCredential', { credential: TPM2B_DIGEST, objectName: TPM2B_NAME }),
  responseHandles: [],
  response: struct('TPM2_MakeCredential_Response', {
    credentialBlob: TPM2B_ID_OBJECT,
    secret: TPM2B_ENCRYPTED_SECRET,
  }),
});

/** Part 3 §12.5 */
export const ActivateCredential = command({
  name: 'ActivateCredential',
  cc: TPM_CC.ActivateCredential,
  handles: [
    { name: 'activateHandle', auth: 'ADMIN' },
    { name: 'keyHandle', auth: 'USER' },
  ],
  params: struct('TPM2_ActivateCredential', {
    credentialBlob: TPM2B_ID_OBJECT,
    secret: TPM2B_ENCRYPTED_SECRET,
  }),
  responseHandles: [],
  response: struct('TPM2_ActivateCredential_Response', { certInfo: TPM2B_DIGEST }),
});

/** Part 3 §31.3 */
export const NV_DefineSpace = command({
  name: 'NV_DefineSpace',
  cc: TPM_CC.NV_DefineSpace,
  handles: [{ name: 'authHandle', auth: 'USER' }],
  params: struct('TPM2_NV_DefineSpace', { auth: TPM2B_AUTH, publicInfo: TPM2B_NV_PUBLIC }),
  responseHandles: [],
  response: none,
});

/** Part 3 §31.4 */
export const NV_UndefineSpace = command({
  name: 'NV_UndefineSpace',
  cc: TPM_CC.NV_UndefineSpace,
  handles: [{ name: 'authHandle', auth: 'USER' }, { name: 'nvIndex' }],
  params: none,
  responseHandles: [],
  response: none,
});

/** Part 3 §31.6 */
export const NV_ReadPublic = command({
  name: 'NV_ReadPublic',
  cc: TPM_CC.NV_ReadPublic,
  handles: [{ name: 'nvIndex' }],
  params: none,
  responseHandles: [],
  response: struct('TPM2_NV_ReadPublic_Response', { nvPublic: TPM2B_NV_PUBLIC, nvName: TPM2B_NAME }),
});

/** Part 3 §31.7 */
export const NV_Write = command({
  name: 'NV_Write',
  cc: TPM_CC.NV_Write,
  handles: [{ name: 'authHandle', auth: 'USER' }, { name: 'nvIndex' }],
  params: struct('TPM2_NV_Write', { data: TPM2B_MAX_NV_BUFFER, offset: u16 }),
  responseHandles: [],
  response: none,
});

/** Part 3 §31.8 */
export const NV_Increment = command({
  name: 'NV_Increment',
  cc: TPM_CC.NV_Increment,
  handles: [{ name: 'authHandle', auth: 'USER' }, { name: 'nvIndex' }],
  params: none,
  responseHandles: [],
  response: none,
});

/** Part 3 §31.13 */
export const NV_Read = command({
  name: 'NV_Read',
  cc: TPM_CC.NV_Read,
  handles: [{ name: 'authHandle', auth: 'USER' }, { name: 'nvIndex' }],
  params: struct('TPM2_NV_Read', { size: u16, offset: u16 }),
  responseHandles: [],
  response: struct('TPM2_NV_Read_Response', { data: TPM2B_MAX_NV_BUFFER }),
});

/**
 * Part 3 §31.16: the AK signs a TPMS_NV_CERTIFY_INFO (the index's Name and the bytes read) over
 * qualifyingData. authHandle authorizes the read, as for NV_Read (the index itself, or owner/platform).
 */
export const NV_Certify = command({
  name: 'NV_Certify',
  cc: TPM_CC.NV_Certify,
  handles: [{ name: 'signHandle', auth: 'USER' }, { name: 'authHandle', auth: 'USER' }, { name: 'nvIndex' }],
  params: struct('TPM2_NV_Certify', {
    qualifyingData: TPM2B_DATA,
    inScheme: TPMT_SIG_SCHEME,
    size: u16,
    offset: u16,
  }),
  responseHandles: [],
  response: struct('TPM2_NV_Certify_Response', { certifyInfo: TPM2B_ATTEST, signature: TPMT_SIGNATURE }),
});

/** Part 3 §29.1 */
export const ReadClock = command({
  name: 'ReadClock',
  cc: TPM_CC.ReadClock,
  handles: [],
  params: none,
  responseHandles: [],
  response: struct('TPM2_ReadClock_Response', { currentTime: TPMS_TIME_INFO }),
});

/** Every declared command, for tests that check declarations against the TPM's command list. */
export const ALL_COMMANDS = [
  Startup,
  Shutdown,
  GetCapability,
  GetRandom,
  PCR_Read,
  PCR_Extend,
  CreatePrimary,
  Create,
  Load,
  ReadPublic,
  Quote,
  Sign,
  Certify,
  FlushContext,
  ContextSave,
  ContextLoad,
  EvictControl,
  StartAuthSession,
  PolicyPCR,
  PolicySecret,
  PolicyAuthValue,
  PolicyAuthorize,
  PolicyGetDigest,
  Unseal,
  LoadExternal,
  VerifySignature,
  MakeCredential,
  ActivateCredential,
  NV_DefineSpace,
  NV_UndefineSpace,
  NV_ReadPublic,
  NV_Write,
  NV_Increment,
  NV_Read,
  NV_Certify,
  ReadClock,
] as const;
