// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/measure/state/errors
 *
 * The errors a caller throws when a measured-state verdict says no, one code per kind of evidence: the
 * verdicts themselves return values (verdict.ts, eventlog-verdict.ts, ima-verdict.ts) and never throw.
 */
import { ExecgateError } from '../../errors.js';

export type MeasuredStateErrorCode = 'E_STATE_MISMATCH' | 'E_EVENTLOG_MISMATCH' | 'E_IMA_MISMATCH';

/**
 * E_STATE_MISMATCH: the state is not what the reference (or claim) allows, or its evidence does not hold
 * together; E_EVENTLOG_MISMATCH: the replayed event log disagrees with the quote; E_IMA_MISMATCH: the IMA
 * list disagrees with the quote, or an entry's data is not what its template hash covers.
 */
export class MeasuredStateError extends ExecgateError<MeasuredStateErrorCode> {}
