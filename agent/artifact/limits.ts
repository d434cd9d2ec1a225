// SPDX-License-Identifier: Apache-2.0
/** Artifact limits that readers of artifact files need without the artifact code (artifact.ts re-exports). */

/** Largest artifact file: a full chain of MAX_ANCESTORS and many approvals fit well inside. */
export const MAX_ARTIFACT_BYTES = 256 * 1024;
