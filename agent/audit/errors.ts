// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/audit/errors
 *
 * The reason codes of the audit log (issue 13, DESIGN §7). The tamper codes are verdicts about evidence
 * (one each, the first check that failed); E_AUDIT_STORE says the log could not be used at all.
 */
import { ExecgateError } from '../errors.js';

export type AuditCode =
  /** An entry's bytes are not a well-formed entry, its seq is not its position, or its leaf hash changed. */
  | 'E_AUDIT_ENTRY'
  /** A checkpoint's root does not match the entries it covers (deletion, swap, insertion). */
  | 'E_AUDIT_ROOT'
  /** Fewer entries than a checkpoint covers. */
  | 'E_AUDIT_TRUNCATED'
  /** A checkpoint's quote or body is invalid, or signed by another AK; or one refused as out of order. */
  | 'E_AUDIT_CHECKPOINT'
  /** Two consecutive checkpoints' trees are not consistent (RFC 9162 §2.1.4). */
  | 'E_AUDIT_CONSISTENCY'
  /** The NV counter went back between checkpoints, or the TPM's counter is ahead of the newest one. */
  | 'E_AUDIT_ROLLBACK'
  /**
   * A heartbeat's quote does not verify under the log's AK at its place in the log (another AK, or a
   * heartbeat moved or copied from elsewhere: its nonce binds it to the entry before it).
   */
  | 'E_AUDIT_HEARTBEAT'
  /**
   * The store cannot be used: its state directory or database file is unsafe or unreadable, the
   * database is damaged, locked for longer than the busy timeout, or made by a newer execgate.
   */
  | 'E_AUDIT_STORE';

/** Every AuditCode, for tables and tests. */
export const AUDIT_CODES = [
  'E_AUDIT_ENTRY',
  'E_AUDIT_ROOT',
  'E_AUDIT_TRUNCATED',
  'E_AUDIT_CHECKPOINT',
  'E_AUDIT_CONSISTENCY',
  'E_AUDIT_ROLLBACK',
  'E_AUDIT_HEARTBEAT',
  'E_AUDIT_STORE',
] as const satisfies readonly AuditCode[];

export class AuditError extends ExecgateError<AuditCode> {}
