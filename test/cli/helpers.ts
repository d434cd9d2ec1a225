// SPDX-License-Identifier: Apache-2.0
// Runs the CLI in-process with captured output, the way a shell would see it.
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../agent/cli/run.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Where this test file's host state (host.json) goes: never the default /var/lib/execgate. */
const stateRoot = mkdtempSync(join(tmpdir(), 'execgate-state-'));

/**
 * The state directory of the host behind `tcti`: one per TPM, as on real hosts (a test that reaches one
 * TPM through two TCTIs, a proxy, gives EXECGATE_STATE_DIR itself).
 */
export function stateDirFor(tcti: string): string {
  return join(stateRoot, createHash('sha256').update(tcti).digest('hex').slice(0, 16));
}

export async function cli(argv: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const i = argv.indexOf('--tcti');
  const tcti = i >= 0 ? argv[i + 1] : env.EXECGATE_TCTI;
  const code = await run(argv, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env: { EXECGATE_STATE_DIR: stateDirFor(tcti ?? 'none'), ...env },
  });
  return { code, stdout, stderr };
}
