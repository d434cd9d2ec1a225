// SPDX-License-Identifier: Apache-2.0
/**
 * Exit codes of the `execgate` command, documented in docs/cli.md. Errors map to them by their stable
 * `code`, so a script can tell "no TPM" from "the TPM said no" from "bad flags". The table is typed over
 * every error code of agent/ (`Code`), so a code without an exit code, or a misspelled one, does not
 * compile; test/cli/exit-codes.test.ts checks that docs/cli.md documents each.
 */
import type { ArtifactCode } from '../artifact/errors.js';
import type { AkCode } from '../attest/ak.js';
import type { CredentialCode } from '../attest/credential.js';
import type { EkCode } from '../attest/ek.js';
import type { EkCertCode } from '../attest/ek-cert.js';
import type { NvCounterCode } from '../attest/nv-counter.js';
import type { QuoteErrorCode } from '../attest/quote.js';
import type { QuoteCode } from '../attest/verify-quote.js';
import type { CheckpointCode } from '../audit/checkpoint.js';
import type { AuditCode } from '../audit/errors.js';
import type { ConfigError } from '../config/errors.js';
import type { KeyError } from '../crypto/keys.js';
import type { JsonErrorCode } from '../encoding/canonical-json.js';
import type { CborErrorCode } from '../encoding/cbor.js';
import type { SchemaError } from '../encoding/cbor-schema.js';
import { ExecgateError } from '../errors.js';
import type { FileWriteErrorCode } from '../fs/atomic-write.js';
import type { InputErrorCode } from '../fs/read-bounded.js';
import type { GateCode } from '../gate/errors.js';
import type { DevicePathErrorCode } from '../measure/device-path.js';
import type { EventDataErrorCode } from '../measure/event-data/index.js';
import type { EventLogErrorCode } from '../measure/eventlog.js';
import type { ImaLogErrorCode } from '../measure/ima/index.js';
import type { ReferenceStateErrorCode } from '../measure/reference.js';
import type { SecurityfsErrorCode } from '../measure/securityfs.js';
import type { MeasuredStateErrorCode } from '../measure/state/index.js';
import type { SecretCode } from '../secrets/errors.js';
import { TpmError, type TpmParseError, type TpmTransportCode } from '../tpm/errors.js';
import type { PcrErrorCode } from '../tpm/pcr.js';
import type { SelectionError } from '../tpm/pcr-selection.js';
import { TPM_RC } from '../tpm/rc.js';
import type { TpmIntegrityError } from '../tpm/sessions.js';
import type { QuoteInvalidError } from './evidence.js';
import type { EkCertMissingError } from './host.js';

export { EXIT, UsageError } from './exit-codes.js';

import { EXIT, type UsageError } from './exit-codes.js';

/** One of the exit codes above. */
export type Exit = (typeof EXIT)[keyof typeof EXIT];

type CodeOf<E> = E extends { readonly code: infer C extends string } ? C : never;

/** Every stable error code agent/ throws: each layer's code union, and the codes of single-code classes. */
export type Code =
  | CodeOf<
      | UsageError
      | TpmParseError
      | TpmError
      | TpmIntegrityError
      | SelectionError
      | EkCertMissingError
      | QuoteInvalidError
      | KeyError
      | SchemaError
      | ConfigError
    >
  | TpmTransportCode
  | PcrErrorCode
  | AkCode
  | CredentialCode
  | EkCode
  | EkCertCode
  | NvCounterCode
  | CheckpointCode
  | QuoteErrorCode
  | QuoteCode
  | JsonErrorCode
  | CborErrorCode
  | MeasuredStateErrorCode
  | DevicePathErrorCode
  | EventDataErrorCode
  | EventLogErrorCode
  | ImaLogErrorCode
  | ReferenceStateErrorCode
  | SecurityfsErrorCode
  | FileWriteErrorCode
  | InputErrorCode
  | ArtifactCode
  | AuditCode
  | GateCode
  | SecretCode
  | 'E_WIRE';

const BY_CODE = {
  E_USAGE: EXIT.USAGE,
  E_TPM_UNAVAILABLE: EXIT.TPM_UNAVAILABLE,
  E_TPM_TIMEOUT: EXIT.TPM_UNAVAILABLE,
  E_TPM_RC: EXIT.TPM_ERROR,
  E_TPM_PROTOCOL: EXIT.TPM_PROTOCOL,
  E_TPM_PARSE: EXIT.TPM_PROTOCOL,
  E_TPM_INTEGRITY: EXIT.TPM_PROTOCOL,
  E_EK_MISMATCH: EXIT.TPM_PROTOCOL,
  // The key at the pinned AK's handle is not the pinned one: as for the EK, the bus or the TPM is not
  // what was provisioned.
  E_AK_MISMATCH: EXIT.TPM_PROTOCOL,
  E_PCR_BANK: EXIT.TPM_UNSUPPORTED,
  E_PCR_INDEX: EXIT.TPM_UNSUPPORTED,
  E_EK_CERT_MISSING: EXIT.TPM_UNSUPPORTED,
  E_PCR_SELECTION: EXIT.USAGE,
  E_AK_MISSING: EXIT.USAGE,
  E_AK_HANDLE: EXIT.USAGE,
  E_EK_KEY: EXIT.USAGE,
  E_AK_INVALID: EXIT.USAGE,
  E_QUOTE_AK: EXIT.USAGE,
  E_EK_NV: EXIT.TPM_PROTOCOL,
  E_QUOTE_PCR_CHANGED: EXIT.TPM_ERROR,
  // The audit counter's NV index: not one execgate may define, none there yet (run host init), or an
  // index there that is not execgate's counter (choose another); its certification failing is the bus.
  E_NV_COUNTER_INDEX: EXIT.USAGE,
  E_NV_COUNTER_MISSING: EXIT.USAGE,
  E_NV_COUNTER_MISMATCH: EXIT.USAGE,
  E_NV_COUNTER_CERTIFY: EXIT.TPM_PROTOCOL,
  E_EK_CERT_ALG: EXIT.EVIDENCE_INVALID,
  E_EK_CERT_CHAIN: EXIT.EVIDENCE_INVALID,
  E_EK_CERT_KEY: EXIT.EVIDENCE_INVALID,
  E_EK_CERT_PARSE: EXIT.EVIDENCE_INVALID,
  E_EVENTLOG_FORMAT: EXIT.EVIDENCE_INVALID,
  E_EVENTLOG_LIMIT: EXIT.EVIDENCE_INVALID,
  E_EVENTLOG_TRUNCATED: EXIT.EVIDENCE_INVALID,
  E_MEASURE_LIMIT: EXIT.EVIDENCE_INVALID,
  E_IMA_TRUNCATED: EXIT.EVIDENCE_INVALID,
  E_IMA_FORMAT: EXIT.EVIDENCE_INVALID,
  E_IMA_LIMIT: EXIT.EVIDENCE_INVALID,
  E_IMA_MISMATCH: EXIT.EVIDENCE_INVALID,
  E_STATE_MISMATCH: EXIT.EVIDENCE_INVALID,
  E_EVENTLOG_MISMATCH: EXIT.EVIDENCE_INVALID,
  E_EVENTDATA_MALFORMED: EXIT.EVIDENCE_INVALID,
  E_EVENTDATA_DEVICE_PATH: EXIT.EVIDENCE_INVALID,
  E_REFERENCE_FORMAT: EXIT.USAGE,
  E_REFERENCE_LIMIT: EXIT.USAGE,
  E_JSON_FORMAT: EXIT.USAGE,
  E_JSON_LIMIT: EXIT.USAGE,
  // A file the agent was told to write: refused (unsafe, exists without --force) or failed: choose another path.
  E_FILE_UNSAFE: EXIT.USAGE,
  E_FILE_EXISTS: EXIT.USAGE,
  E_FILE_WRITE: EXIT.USAGE,
  // An input file named on the command line: unreadable, or longer than the limit for its kind.
  E_INPUT_READ: EXIT.USAGE,
  E_INPUT_LIMIT: EXIT.USAGE,
  E_MEASURE_NO_LOG: EXIT.NO_MEASUREMENT_LOG,
  E_MEASURE_UNREADABLE: EXIT.NO_MEASUREMENT_LOG,
  E_CREDENTIAL_INPUT: EXIT.USAGE,
  E_CREDENTIAL_REJECTED: EXIT.TPM_ERROR,
  E_QUOTE_SIGNATURE: EXIT.EVIDENCE_INVALID,
  E_QUOTE_SIGNATURE_ALG: EXIT.EVIDENCE_INVALID,
  E_QUOTE_MAGIC: EXIT.EVIDENCE_INVALID,
  E_QUOTE_TYPE: EXIT.EVIDENCE_INVALID,
  E_QUOTE_NONCE: EXIT.EVIDENCE_INVALID,
  E_QUOTE_SELECTION: EXIT.EVIDENCE_INVALID,
  E_QUOTE_PCR_DIGEST: EXIT.EVIDENCE_INVALID,
  E_QUOTE_CLOCK: EXIT.EVIDENCE_INVALID,
  E_QUOTE_SIGNER: EXIT.EVIDENCE_INVALID,
  E_QUOTE_PARSE: EXIT.EVIDENCE_INVALID,
  // CBOR comes from outside (artifacts, audit records): a refused item is invalid evidence.
  E_CBOR_FORMAT: EXIT.EVIDENCE_INVALID,
  E_CBOR_NONCANONICAL: EXIT.EVIDENCE_INVALID,
  E_CBOR_DUPLICATE_KEY: EXIT.EVIDENCE_INVALID,
  E_CBOR_TAG: EXIT.EVIDENCE_INVALID,
  E_CBOR_UNSUPPORTED: EXIT.EVIDENCE_INVALID,
  E_CBOR_LIMIT: EXIT.EVIDENCE_INVALID,
  E_SCHEMA: EXIT.EVIDENCE_INVALID,
  // A key file named on the command line that is not a usable Ed25519/P-256/P-384 key.
  E_KEY: EXIT.USAGE,
  // An artifact or a revocation list that fails verification: one reason code each (agent/artifact).
  E_FORMAT: EXIT.EVIDENCE_INVALID,
  E_SIGNATURE: EXIT.EVIDENCE_INVALID,
  E_UNTRUSTED_ISSUER: EXIT.EVIDENCE_INVALID,
  E_LINEAGE: EXIT.EVIDENCE_INVALID,
  E_APPROVAL: EXIT.EVIDENCE_INVALID,
  E_EXPIRED: EXIT.EVIDENCE_INVALID,
  E_NOT_YET_VALID: EXIT.EVIDENCE_INVALID,
  E_REVOKED: EXIT.EVIDENCE_INVALID,
  E_REVOCATION_LIST: EXIT.EVIDENCE_INVALID,
  // The host policy file: unreadable, not TOML, an unknown table or key, a malformed value (its TOML path).
  E_CONFIG: EXIT.USAGE,
  // The audit log fails verification (agent/audit): one reason code per kind of tampering.
  E_AUDIT_ENTRY: EXIT.EVIDENCE_INVALID,
  E_AUDIT_ROOT: EXIT.EVIDENCE_INVALID,
  E_AUDIT_TRUNCATED: EXIT.EVIDENCE_INVALID,
  E_AUDIT_CHECKPOINT: EXIT.EVIDENCE_INVALID,
  E_AUDIT_CONSISTENCY: EXIT.EVIDENCE_INVALID,
  E_AUDIT_ROLLBACK: EXIT.EVIDENCE_INVALID,
  E_AUDIT_HEARTBEAT: EXIT.EVIDENCE_INVALID,
  // The audit store cannot be used (unsafe or unwritable state directory, damaged, locked, newer schema):
  // like an output file that is refused, the operator fixes the directory or names another (--state-dir).
  E_AUDIT_STORE: EXIT.USAGE,
  // The gate's own reason codes (agent/gate/errors.ts, issue 14): a denial, and nothing ran.
  E_MISSING: EXIT.DENIED,
  E_POLICY: EXIT.DENIED,
  E_BOOT: EXIT.DENIED,
  E_HOST: EXIT.DENIED,
  E_STATE: EXIT.DENIED,
  E_SCOPE: EXIT.DENIED,
  E_REPLAY: EXIT.DENIED,
  E_AUDIT: EXIT.DENIED,
  E_INTERNAL: EXIT.DENIED,
  // Sealed secrets (agent/secrets, issue 17): a bad name or size, none of that name, one there already;
  // a sealed or signed-policy file that does not parse; the TPM refusing to unseal (a TPM error answer).
  E_SECRET_NAME: EXIT.USAGE,
  E_SECRET_MISSING: EXIT.USAGE,
  E_SECRET_EXISTS: EXIT.USAGE,
  E_SECRET_SIZE: EXIT.USAGE,
  E_SECRET_FORMAT: EXIT.EVIDENCE_INVALID,
  E_SECRET_REFUSED: EXIT.TPM_ERROR,
  // A malformed message between `execgate exec` and `execgate serve` (agent/gate/wire.ts): the client then
  // judges in its own process, or (the request sent) denies with E_INTERNAL; never a verdict of its own.
  E_WIRE: EXIT.DENIED,
} as const satisfies Readonly<Record<Code, Exit>>;

function isCode(code: string): code is Code {
  return Object.hasOwn(BY_CODE, code);
}

/** The exit code of an error: its code's, or FAILURE (1) for anything that is not an ExecgateError. */
export function exitCodeOf(err: unknown): Exit {
  return err instanceof ExecgateError && isCode(err.code) ? BY_CODE[err.code] : EXIT.FAILURE;
}

/** What to do about common TPM refusals, appended to the error message. */
const TPM_HINTS: readonly (readonly [number, string])[] = [
  [TPM_RC.LOCALITY, 'PCRs 17–22 belong to dynamic launch (DRTM) and take extends only from locality 3 or 4'],
  [TPM_RC.OBJECT_MEMORY, 'the TPM has no free object slot: flush transient objects (tpm2_flushcontext -t)'],
  [TPM_RC.SESSION_MEMORY, 'the TPM has no free session slot: flush sessions (tpm2_flushcontext -s)'],
  [
    TPM_RC.LOCKOUT,
    'the TPM is in dictionary-attack lockout: wait, or reset it with the lockout authorization',
  ],
  [TPM_RC.INITIALIZE, 'the TPM has not been started: run tpm2_startup -c (swtpm: use --flags startup-clear)'],
];

export function hintFor(err: unknown): string | undefined {
  if (!(err instanceof TpmError)) return undefined;
  // A saved key pair (--ak-public/--ak-private) loads only under the parent it was made under.
  if (err.command === 'Load' && err.is(TPM_RC.INTEGRITY))
    return 'the saved key was made under another parent: give the --ek-alg it was saved with (host init --ak-save --ek-alg A; the default is rsa2048)';
  return TPM_HINTS.find(([rc]) => err.is(rc))?.[1];
}
