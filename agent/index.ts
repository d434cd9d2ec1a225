// SPDX-License-Identifier: Apache-2.0
/** execgate's library API: the TPM 2.0 client and the typed errors. */
export { ExecgateError } from './errors.js';
export { type TpmInfo, tpmInfo, tpmProperties } from './tpm/capability.js';
export type { Command, HandleRef, Session } from './tpm/command.js';
export * from './tpm/commands.js';
export * from './tpm/constants.js';
export { isTpmError, TpmError, TpmParseError, TpmTransportError } from './tpm/errors.js';
export { nvName, objectName } from './tpm/names.js';
export { passwordSession } from './tpm/password.js';
export { allocatedBanks, type PcrBankSelection, PcrError, type PcrValues, readPcrs } from './tpm/pcr.js';
export { PolicyCalculator, pcrDigest, policyGetDigest, policyPCR, policySecret } from './tpm/policy.js';
export { decodeRc, formatRc, TPM_RC } from './tpm/rc.js';
export { attrs, type Infer, marshal, type Schema, unmarshal } from './tpm/schema.js';
export {
  AuthSession,
  type StartSessionOptions,
  startAuthSession,
  TpmIntegrityError,
} from './tpm/sessions.js';
export * as structures from './tpm/structures.js';
export { type RunOptions, Tpm } from './tpm/tpm.js';
export { openTransport, parseTcti, resolveTcti, type Transport } from './tpm/transport/index.js';
