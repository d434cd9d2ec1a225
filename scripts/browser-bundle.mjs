// SPDX-License-Identifier: Apache-2.0
// The esbuild settings every browser bundle of execgate's code shares (the auditor page, scripts/build-web.mjs,
// and test/web/browser-safe.test.ts): agent/crypto/backend.ts swapped for backend.browser.ts (no node:crypto,
// everything on wasm-core), wasm-core's debug build left out, and any import of a Node built-in an error naming the importer, so that a module
// of the verification path that starts to need Node fails the build instead of failing in the auditor's browser.
import { builtinModules } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const BACKEND = join(root, 'agent', 'crypto', 'backend.ts');
const BUILTINS = new Set(builtinModules);

/** Whether `spec` names a Node built-in (node:crypto, fs, worker_threads/…). */
export function isNodeBuiltin(spec) {
  return spec.startsWith('node:') || BUILTINS.has(spec.split('/')[0]);
}

/** The plugin: the backend seam and the Node built-in guard. */
export const browserSeam = {
  name: 'execgate-browser',
  setup(b) {
    b.onResolve({ filter: /\/backend\.js$/ }, (args) =>
      join(args.resolveDir, args.path.replace(/\.js$/, '.ts')) === BACKEND
        ? { path: join(root, 'agent', 'crypto', 'backend.browser.ts') }
        : undefined,
    );
    // wasm-core's debug build (3 MB of base64) is loaded only on request (variant 'debug'): not bundled.
    b.onResolve({ filter: /\/generated\/wasm-debug\.js$/ }, (args) => ({ path: args.path, external: true }));
    b.onResolve({ filter: /.*/ }, (args) =>
      isNodeBuiltin(args.path)
        ? {
            errors: [
              {
                text: `Node built-in "${args.path}" imported by ${args.importer.slice(root.length + 1)}: not in a browser`,
              },
            ],
          }
        : undefined,
    );
  },
};

/** esbuild options of a browser bundle (add entryPoints and the output). */
export const browserOptions = {
  bundle: true,
  platform: 'browser',
  format: 'esm',
  target: ['chrome110'],
  // cbor-x's browser entry: no Buffer, no native extension.
  mainFields: ['browser', 'module', 'main'],
  logLevel: 'silent',
  plugins: [browserSeam],
};

/**
 * The verification path the auditor page runs, from the repository root: each must bundle for a browser
 * (test/web/browser-safe.test.ts), with everything it imports.
 */
export const VERIFICATION_ENTRIES = [
  'agent/attest/verify-quote.ts',
  'agent/attest/quote-evidence.ts',
  'agent/measure/eventlog.ts',
  'agent/measure/replay.ts',
  'agent/measure/compare.ts',
  'agent/measure/reference.ts',
  'agent/measure/state/index.ts',
  'agent/artifact/verify.ts',
  'agent/artifact/revocation.ts',
  'agent/audit/bundle.ts',
  'agent/audit/tree.ts',
  'agent/audit/proofs.ts',
  'agent/audit/checkpoint.ts',
  'agent/cli/verdict-json.ts',
  'agent/cli/audit-tree.ts',
  'agent/cli/values.ts',
  'agent/attest/tpm2-tools-pcrs.ts',
  'agent/fs/input-limits.ts',
];
