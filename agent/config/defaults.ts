// SPDX-License-Identifier: Apache-2.0
/**
 * The host policy's defaults that other layers name too (the CLI's --state-dir, `host init`'s NV
 * counter), in a module of constants only, so that naming one loads no TOML parser.
 */

/** Where the policy is read from when `--policy` is not given. */
export const DEFAULT_POLICY_FILE = '/etc/execgate/policy.toml';

/** `[host] state_dir` when not given. */
export const DEFAULT_STATE_DIR = '/var/lib/execgate';

/**
 * `[audit] nv_counter_index` when not given: in the owner range 0x01800000–0x01BFFFFF of the TCG
 * "Registry of Reserved TPM 2.0 Handles and Localities" (v1.1, §2.2 Table 3), the platform owner's to
 * assign; beside 0x01800101, issue 14's example revocation-epoch index.
 */
export const DEFAULT_AUDIT_NV_INDEX = 0x0180_0100;
