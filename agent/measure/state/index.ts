// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/measure/state
 *
 * The measured-state verdict and what it is built from: evidence believed only as far as a verified quote
 * covers it, reference rules, capture, and the PCR selection a verifier asks a quote for.
 */
export { type CaptureOptions, captureReference } from './capture.js';
export { checkReference, RULE_PCRS, type StateCheck } from './check.js';
export { MeasuredStateError, type MeasuredStateErrorCode } from './errors.js';
export { type EventLogVerdict, judgeEventLog } from './eventlog-verdict.js';
export {
  type BootEvidence,
  bootEvidence,
  imaEvidence,
  type MeasuredEvent,
  type StateEvidence,
  UNTRUSTED_FINDINGS,
} from './evidence.js';
export type { StateFailure, StateFailureCode, StateRule } from './failure.js';
export { IMA_PCR, type ImaQuoteMatch, type ImaVerdict, judgeIma, matchImaQuote } from './ima-verdict.js';
export { eventLogSelection, imaSelection, type StateSelectionInput, stateSelection } from './selection.js';
export {
  judgeMeasuredState,
  type MeasuredStateInput,
  type MeasuredStateVerdict,
  type PcrDigestClaim,
} from './verdict.js';
