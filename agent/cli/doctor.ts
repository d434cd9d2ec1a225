// SPDX-License-Identifier: Apache-2.0
/**
 * `execgate doctor [--policy FILE] [--state-dir DIR] [--json]` (issue 15): runs the checks of
 * doctor-checks.ts and prints one line per check, `STATUS ID DETAIL[: REMEDY]`, and a summary line; or,
 * with --json, `{ok, checks: [{id, status, detail, remedy}]}`. Exit 0 when no check failed (a warning
 * does not fail), 9 (EXIT.UNHEALTHY) otherwise.
 */
import { DEFAULT_POLICY_FILE } from '../config/defaults.js';
import { parseFlags } from './args.js';
import type { CliContext } from './context.js';
import { CHECK_IDS, type CheckResult, runChecks } from './doctor-checks.js';
import { EXIT, UsageError } from './exit.js';
import { POLICY_FLAGS } from './host-policy.js';

export const DOCTOR_HELP = `Usage: execgate doctor [--policy FILE] [--state-dir DIR] [--json]

Checks that this host is ready to gate executions, one line each: the TPM answers (at --tcti, else
$EXECGATE_TCTI, else the policy's [host] tcti) and its PCR banks; the AK pinned in host.json is the key at
its handle; the EK certificate; the NV counters; the state directory's owner and modes; the policy, every
key file and revocation list it names, and its trust as the gate loads it; the audit log verifies against
the TPM's counter; the system clock. A check whose prerequisite failed is reported as skipped.

  --policy FILE   the host policy (default ${DEFAULT_POLICY_FILE}; it must exist: the gate needs it)
  --state-dir D   the state directory (default: the policy's [host] state_dir)
  --json          {"ok": bool, "checks": [{"id", "status": "ok|warn|fail|skip", "detail", "remedy"}]}

Example:
  execgate doctor --policy /etc/execgate/policy.toml
  ok   tpm        swtpm:host=127.0.0.1,port=2321, banks sha1 sha256
  FAIL audit      E_AUDIT_ENTRY: entry 12 …: run execgate audit verify for details; …
  …
Check ids: ${CHECK_IDS.join(' ')}.
Exit 0 when every check passes (a warning passes), 9 when any fails or is skipped.`;

const LABEL = { ok: 'ok  ', warn: 'warn', fail: 'FAIL', skip: 'skip' } as const;
const ID_WIDTH = Math.max(...CHECK_IDS.map((id) => id.length));

/** One report line: status, id, detail, and what to do when there is something to do. */
export function formatCheck(r: CheckResult): string {
  const remedy = r.remedy === null ? '' : `: ${r.remedy}`;
  return `${LABEL[r.status]} ${r.id.padEnd(ID_WIDTH)} ${r.detail}${remedy}`;
}

/** The summary line after the checks. */
function summary(results: readonly CheckResult[]): string {
  const count = (s: CheckResult['status']) => results.filter((r) => r.status === s).length;
  const [failed, skipped, warned] = [count('fail'), count('skip'), count('warn')];
  const warnings = warned ? `, ${warned} with a warning` : '';
  if (failed + skipped === 0) return `doctor: all ${results.length} checks pass${warnings}`;
  return `doctor: ${failed} failed, ${skipped} skipped${warnings}: fix the FAIL lines first, then run execgate doctor again`;
}

async function doctor(argv: string[], ctx: CliContext): Promise<number> {
  const usage = 'Usage: execgate doctor [--policy FILE] [--state-dir DIR] [--json]';
  const { values, positionals } = parseFlags(argv, POLICY_FLAGS, usage);
  if (positionals.length) throw new UsageError(`unknown argument "${positionals[0]}"\n${usage}`);
  const results = await runChecks({
    policyFile: values.policy ?? DEFAULT_POLICY_FILE,
    stateDir: values['state-dir'],
    ctx,
    now: Date.now,
  });
  const ok = results.every((r) => r.status === 'ok' || r.status === 'warn');
  if (ctx.json) ctx.out(JSON.stringify({ ok, checks: results }));
  else {
    for (const r of results) ctx.out(formatCheck(r));
    ctx.out(summary(results));
  }
  return ok ? EXIT.OK : EXIT.UNHEALTHY;
}

export const DOCTOR_DEFAULT = doctor;
