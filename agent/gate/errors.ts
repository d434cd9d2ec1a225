// SPDX-License-Identifier: Apache-2.0
/**
 * The gate's reason codes (issue 14, DESIGN §6): exactly one per denied verdict, the first check that
 * failed in the gate's order. They are stable strings: the audit log, `--json` output, scripts and the
 * auditor page match on them. Every denial exits 126 (a command that may not be executed).
 */
import type { ArtifactCode } from '../artifact/errors.js';
import { ExecgateError } from '../errors.js';
import type { GateVerdict } from './gate.js';

export type GateCode =
  /** No artifact given or found, or the file cannot be read. */
  | 'E_MISSING'
  /** The artifact layer's verdicts (agent/artifact/errors.ts), but not its revocation-list code. */
  | Exclude<ArtifactCode, 'E_REVOCATION_LIST'>
  /** The issuer may not authorise this executable, the lifetime is over max_ttl, or delegation is not allowed. */
  | 'E_POLICY'
  /** The artifact's `boot` is not the TPM's resetCount. */
  | 'E_BOOT'
  /** `sub` is neither this host's AK Name nor one of its groups. */
  | 'E_HOST'
  /** The quoted PCRs are not the measured state the artifact or the policy requires. */
  | 'E_STATE'
  /** The execution (executable, its digest, argv, cwd, uid, environment, caller) is not the scope's, or the executable is unsafe. */
  | 'E_SCOPE'
  /** Every use of the artifact is spent. */
  | 'E_REPLAY'
  /** The host policy is broken (or the caller may not run the gate). */
  | 'E_CONFIG'
  /** No TPM, or its answers could not be trusted. */
  | 'E_TPM_UNAVAILABLE'
  /** The verdict could not be recorded in the audit log. */
  | 'E_AUDIT'
  /** Anything unexpected, or a step that took too long. */
  | 'E_INTERNAL';

/** A denial: the reason code, what failed, and what to do about it. */
export class GateError extends ExecgateError<GateCode> {
  /** What fixes it: the flag, file or command to use (the second half of the CLI's denial line). */
  readonly remedy: string;

  constructor(code: GateCode, message: string, remedy: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.remedy = remedy;
  }
}

/**
 * Thrown by `decide` (never a verdict) when the artifact names sealed secrets and the context has no
 * GateSecrets: `execgate serve` then declines, and the client judges in its own process, which unseals
 * them itself. Nothing was recorded or consumed.
 */
export class SecretsNotServed extends Error {}

/** `e` as an enforce-mode denial that ran nothing and was not recorded (no audit store was reached). */
export function unrecordedDenial(e: GateError): GateVerdict {
  return {
    verdict: 'deny',
    reason: e.code,
    detail: e.message,
    remedy: e.remedy,
    mode: 'enforce',
    run: false,
  };
}
