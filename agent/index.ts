// SPDX-License-Identifier: Apache-2.0
/**
 * execgate's library API: the TPM 2.0 client, attestation, authorization artifacts, public-data crypto,
 * measured state, shared encodings, typed errors.
 */

// Authorization artifacts (COSE_Sign1 + CWT): decode (inspect), issue, delegate, approve, revoke, and
// the pure offline verdict the gate, a service and the auditor page share.
export * from './artifact/index.js';
// Attestation: quotes made, bundled and verified (pure, never throws on hostile bytes).
export {
  decodeBundle,
  encodeBundle,
  makeQuote,
  pemToSpki,
  QuoteError,
  type QuoteEvidence,
  spkiToPem,
  withAk,
} from './attest/quote.js';
export {
  type QuoteVerdict,
  type VerifyQuoteInput,
  verifyQuote,
  verifyQuotes,
} from './attest/verify-quote.js';
// The audit log: SQLite store, Merkle tree and proofs, TPM-anchored checkpoints, verification, bundles.
export * from './audit/index.js';
// Public-data crypto: the hash-algorithm registry, hashing (wasm-core and node:crypto by measured
// crossover) and signature verification.
export {
  BANK_NAMES,
  type BankName,
  bankName,
  HASH_ALGORITHMS,
  type HashInfo,
  hashByName,
  hashByTpmAlg,
} from './crypto/algorithms.js';
export { digest, type HashAlgorithm, initHashing, merkleRoot, sha256Batch } from './crypto/hash.js';
export {
  generateSigningKey,
  KeyError,
  keyId,
  type PublicKey,
  parsePublicKey,
  parseSigningKey,
  publicKeyPem,
  type SigningAlg,
  type SigningKey,
} from './crypto/keys.js';
export { initVerification, verifySignature, verifySignatures } from './crypto/verify.js';
// Encodings shared by the layers: bytes and hex, canonical JSON (RFC 8785), deterministic CBOR (RFC 8949).
export { concatBytes, equalBytes, fromHex, toHex } from './encoding/bytes.js';
export {
  canonicalBytes,
  canonicalize,
  JsonError,
  type JsonValue,
  parseJson,
} from './encoding/canonical-json.js';
export {
  CBOR_DEFAULT_LIMITS,
  type CborDecodeOptions,
  type CborEncodeOptions,
  CborError,
  type CborErrorCode,
  type CborKey,
  type CborMap,
  CborTag,
  type CborValue,
  decodeCbor,
  encodeCbor,
} from './encoding/cbor.js';
export { ExecgateError } from './errors.js';
// Measured state: event log and IMA list parsed, checked, replayed, compared with a verified quote, and
// judged against a reference state.
export { type BootSummary, summarizeBoot } from './measure/boot-summary.js';
export { type Comparison, compareWithQuote, quotedPcrValues } from './measure/compare.js';
export { checkEvents, type EventFinding } from './measure/event-check.js';
export { type DecodedEventData, decodeEventData } from './measure/event-data/index.js';
export { type EventLog, EventLogError, parseEventLog, type TcgEvent } from './measure/eventlog.js';
export {
  type ImaCheckpoint,
  type ImaEntry,
  type ImaLog,
  ImaLogError,
  matchQuotedPrefix,
  parseImaLog,
  replayImaLog,
} from './measure/ima/index.js';
export {
  parseReferenceState,
  type ReferenceState,
  ReferenceStateError,
  referenceDigest,
} from './measure/reference.js';
export { type ReplayResult, replayEventLog } from './measure/replay.js';
export {
  captureReference,
  checkReference,
  eventLogSelection,
  imaSelection,
  judgeEventLog,
  judgeIma,
  judgeMeasuredState,
  MeasuredStateError,
  type MeasuredStateInput,
  type MeasuredStateVerdict,
  type StateEvidence,
  type StateFailure,
  stateSelection,
} from './measure/state/index.js';
export { type TpmInfo, tpmInfo, tpmProperties } from './tpm/capability.js';
export type { Command, HandleRef, Session } from './tpm/command.js';
export * from './tpm/commands.js';
export * from './tpm/constants.js';
export { isTpmError, TpmError, TpmParseError, TpmTransportError } from './tpm/errors.js';
export { nvName, objectName } from './tpm/names.js';
export { passwordSession } from './tpm/password.js';
export { allocatedBanks, PcrError, readPcrs } from './tpm/pcr.js';
export {
  formatSelection,
  type PcrBankSelection,
  type PcrSelection,
  type PcrValues,
  parseSelection,
  SelectionError,
} from './tpm/pcr-selection.js';
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
