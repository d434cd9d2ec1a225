// SPDX-License-Identifier: Apache-2.0
// Shared by the adversary-14 tests (the adversary review of the gate, issue 14): a gated host per test on
// the file's swtpm, cleaned up after it, and `execgate exec` bounded in time (a hang is a finding too).
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { afterEach } from 'vitest';
import type { SwtpmInstance } from '../../swtpm/harness.js';
import { type GateHost, gateHost, type ProcessResult, runProcess } from './gate-host.js';

/** Each test of a file may take this long: a host init and a few gate processes. */
export const SLOW = 90_000;

/** A fresh gated host for the running test, removed after it. */
export function useGateHost(swtpm: () => SwtpmInstance): () => Promise<GateHost> {
  let host: GateHost | undefined;
  afterEach(async () => {
    await host?.cleanup();
    host = undefined;
  });
  return async () => {
    host = await gateHost(swtpm());
    return host;
  };
}

export const sha256File = async (path: string): Promise<Buffer> =>
  createHash('sha256')
    .update(await readFile(path))
    .digest();

/** `execgate exec ARGS` on `h`, killed and reported as undefined when it has not ended within `ms`. */
export async function execWithin(
  h: GateHost,
  args: readonly string[],
  ms: number,
  opts: { cwd?: string; env?: Record<string, string> } = {},
): Promise<ProcessResult | undefined> {
  let pid: number | undefined;
  let timer: NodeJS.Timeout | undefined;
  const run = runProcess(['--tcti', h.tcti, 'exec', '--policy', h.policy, ...args], {
    ...opts,
    onSpawn: (child) => {
      pid = child.pid;
    },
  });
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  const r = await Promise.race([run, late]);
  clearTimeout(timer);
  if (r === undefined && pid !== undefined) {
    process.kill(pid, 'SIGKILL');
    await run;
  }
  return r;
}
