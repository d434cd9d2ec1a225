// SPDX-License-Identifier: Apache-2.0
/**
 * The reason codes of an artifact verdict (issue 12), each a stable string the gate, the audit log and
 * scripts match on. One verdict carries exactly one: the first check that failed, in the order of
 * verify.ts.
 */
import { ExecgateError } from '../errors.js';

export type ArtifactCode =
  /** Not one well-formed artifact: CBOR, COSE_Sign1 structure, headers, claims, chain encoding. */
  | 'E_FORMAT'
  /** A signature (the artifact's or an ancestor's) does not verify, or its alg does not fit its key. */
  | 'E_SIGNATURE'
  /** The root of the chain is signed by no trusted key (its kid names none). */
  | 'E_UNTRUSTED_ISSUER'
  /** A link of the delegation chain breaks a rule: parent digest, delegate key, scope, window, depth. */
  | 'E_LINEAGE'
  /** Fewer than the required number of distinct valid approver countersignatures. */
  | 'E_APPROVAL'
  | 'E_EXPIRED'
  | 'E_NOT_YET_VALID'
  /** The artifact, an ancestor, or a key that signed one is on a revocation list. */
  | 'E_REVOKED'
  /** A revocation list that is malformed, unsigned by a trusted key, or older than one already seen. */
  | 'E_REVOCATION_LIST';

export class ArtifactError extends ExecgateError<ArtifactCode> {}
