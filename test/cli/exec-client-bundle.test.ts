// SPDX-License-Identifier: Apache-2.0
// What `execgate exec` loads when `execgate serve` judges it (agent/cli/exec-main.ts, bundled by
// scripts/bundle.mjs into dist/execgate-exec.cjs): only what asking the service and running the command
// take. The verification code, the audit store, the TPM client, wasm-core and their dependencies belong
// to the service and the in-process gate; one of them imported here by a change would be loaded and
// compiled at the start of every gated command (BENCHMARKS.md, "With execgate serve").
import { build } from 'esbuild';
import { describe, expect, test } from 'vitest';

/** Module paths the client may not reach, with the few small leaf modules it may. */
const FORBIDDEN = [
  /^agent\/(attest|audit|measure|serve)\//,
  /^agent\/secrets\/(?!name\.ts$)/,
  /^agent\/artifact\/(?!limits\.ts$)/,
  /^agent\/tpm\/(?!constants\.ts$)/,
  /^agent\/crypto\/(?!algorithms\.ts$)/,
  /^wasm-core\//,
  /^node_modules\/(?!smol-toml\/)/,
];

describe('the exec client bundle', () => {
  test('reaches none of the verification, audit, TPM or wasm code, and stays small', async () => {
    const { metafile } = await build({
      entryPoints: ['agent/cli/exec-main.ts'],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      write: false,
      metafile: true,
      outfile: 'execgate-exec.cjs',
      external: ['better-sqlite3'],
      logLevel: 'silent',
    });
    const inputs = Object.keys(metafile.inputs);
    expect(inputs).toContain('agent/cli/exec-client.ts');
    expect(inputs.filter((p) => FORBIDDEN.some((re) => re.test(p)))).toEqual([]);
    // ~210 KB of source today (the bundle: ~65 KB minified); the whole CLI's is 6.4 MB.
    const bytes = Object.values(metafile.inputs).reduce((n, i) => n + i.bytes, 0);
    expect(bytes).toBeLessThan(300_000);
  });
});
