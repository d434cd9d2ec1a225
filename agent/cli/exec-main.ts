// SPDX-License-Identifier: Apache-2.0
/**
 * The entry of dist/execgate-exec.cjs (scripts/bundle.mjs): `execgate exec` asking a running
 * `execgate serve` (agent/cli/exec-client.ts), in a bundle that holds only what that needs, so a gated
 * command does not first compile the whole CLI. `main` resolves to the exit code, or to undefined when
 * this is not an `execgate exec` the service judges: scripts/execgate.cjs then runs the whole CLI, which
 * judges it in its own process.
 */
// First: until then a SIGUSR1 would open Node's inspector (no-inspector.ts).
import './no-inspector.js';
import { startTiming } from '../timing.js';
import { execViaServe } from './exec-client.js';
import { parseGlobal } from './global-flags.js';

// For scripts/bundle.mjs's warm-up run, which answers this client as a declining service would.
export { encodeAnswer, frame } from '../gate/wire.js';

export async function main(argv: string[]): Promise<number | undefined> {
  if (process.env.EXECGATE_TRACE_TIMING === '1') startTiming();
  let global: ReturnType<typeof parseGlobal>;
  try {
    global = parseGlobal(argv, '');
  } catch {
    return undefined; // The whole CLI says what is wrong.
  }
  const { values, positionals, rest } = global;
  if (positionals.length !== 1 || positionals[0] !== 'exec' || values.help || values.version || values.debug)
    return undefined;
  return execViaServe(rest, {
    // Made when first written to: an allowed command's start writes to neither (making both streams
    // costs ~0.5 ms when they are pipes).
    get stdout() {
      return process.stdout;
    },
    get stderr() {
      return process.stderr;
    },
    env: process.env,
    json: values.json === true,
    tcti: values.tcti,
  });
}
