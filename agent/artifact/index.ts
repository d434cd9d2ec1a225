// SPDX-License-Identifier: Apache-2.0
/** Authorization artifacts (DESIGN §5, issue 12): decode, issue, delegate, approve, revoke, verify. */
export {
  type Approval,
  type Artifact,
  type ArtifactLink,
  artifactDigest,
  decodeArtifact,
  MAX_ARTIFACT_BYTES,
} from './artifact.js';
export {
  type ArtifactClaims,
  type DelegateGrant,
  isSubject,
  type Scope,
  type StateBinding,
} from './claims.js';
export { type ArtifactCode, ArtifactError } from './errors.js';
export { approveArtifact, delegateArtifact, issueArtifact } from './issue.js';
export { linkWithin, scopeWithin } from './lineage.js';
export {
  decodeRevocationList,
  issueRevocationList,
  type RevocationContent,
  type RevocationList,
  RevocationState,
  verifyRevocationList,
} from './revocation.js';
export {
  type ApprovalPolicy,
  type ArtifactVerdict,
  type Revocations,
  type VerifyOptions,
  verifyArtifact,
  verifyArtifacts,
} from './verify.js';
