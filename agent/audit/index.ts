// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/audit
 *
 * The audit log's API (issue 13, DESIGN §7): the SQLite store, entries, the Merkle tree and its proofs,
 * TPM-anchored checkpoints, whole-log verification and the exported bundle.
 */
export {
  BUNDLE_FORMAT,
  BUNDLE_VERSION,
  type BundleHeader,
  exportBundle,
  type ReadBundle,
  readBundle,
  verifyBundle,
} from './bundle.js';
export {
  type Checkpoint as TpmCheckpoint,
  CheckpointError,
  checkCounters,
  checkTpmCounter,
  completeCheckpoint,
  formatCheckpointBody,
  makeCheckpoint,
  originOf,
  parseCheckpointBody,
  verifyCheckpoint,
} from './checkpoint.js';
export {
  type AnyEntry,
  type AuditEntry,
  decodeEntry,
  decodeVerdict,
  type EntryInput,
  encodeEntry,
  type HeartbeatEntry,
  isHeartbeat,
  leafHash,
} from './entry.js';
export { AUDIT_CODES, type AuditCode, AuditError } from './errors.js';
export { appendHeartbeat, heartbeatNonce, heartbeatProblem } from './heartbeat.js';
export {
  type AuditVerdict,
  type CheckpointMade,
  type CheckpointNowOptions,
  type CheckpointRecord,
  type CheckpointSchedule,
  checkpointDue,
  checkpointIfDue,
  checkpointNow,
  storedCheckpoints,
  type VerifyAuditLogInput,
  verifyAuditLog,
  verifyAuditLogAsync,
} from './log.js';
export {
  type ConsistencyProofJson,
  consistencyProofJson,
  type InclusionProofJson,
  inclusionProofJson,
  verifyConsistencyProofJson,
  verifyInclusionProofJson,
} from './proofs.js';
export { AUDIT_DB_FILE, AuditStore, type Checkpoint, type NewCheckpoint, type StoredEntry } from './store.js';
export { LogVerifier, verifyLog } from './tree.js';
