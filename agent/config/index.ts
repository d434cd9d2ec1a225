// SPDX-License-Identifier: Apache-2.0
/** The host policy (TOML, DESIGN §1 config/): its tables declared once, read strictly, E_CONFIG otherwise. */

export { DEFAULT_AUDIT_NV_INDEX, DEFAULT_POLICY_FILE, DEFAULT_STATE_DIR } from './defaults.js';
export { DURATION_EXAMPLES, durationSeconds, durationText } from './duration.js';
export { ConfigError } from './errors.js';
export {
  type ApprovalEntry,
  addressText,
  defaultPolicy,
  type HostPolicy,
  hexIndex,
  type IssuerEntry,
  loadPolicy,
  type MetricsAddress,
  type Origin,
  POLICY,
  parseFragment,
  parsePolicy,
  servePcrs,
} from './policy.js';
export {
  boolean,
  type DocumentSpec,
  type DocumentValue,
  type Fields,
  integer,
  type KeySpec,
  key,
  list,
  oneOf,
  optionalTable,
  parsedText,
  path,
  positiveInteger,
  type ReadContext,
  readDocument,
  refuse,
  type TableProblem,
  type TableSpec,
  type TableValue,
  table,
  tableArray,
  text,
  type ValueType,
} from './schema.js';
export {
  type ApprovalTrust,
  approvalsFor,
  type BreakglassTrust,
  exeMatches,
  type HostTrust,
  type IssuerTrust,
  issuersFor,
  type KeyFile,
  type LoadedRevocationList,
  loadTrust,
} from './trust.js';
