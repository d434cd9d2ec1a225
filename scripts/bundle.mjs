// SPDX-License-Identifier: Apache-2.0
// Bundles the execgate CLI (`npm run build`) into dist/execgate.mjs, the file package.json's `bin` names:
// agent/cli/main.ts and everything it imports as one ESM file (esbuild transpiles and bundles), whitespace
// and syntax minified, names kept for stack traces. Every command is a process of its own and the gate's
// start-up is on the path of every command it runs: as tsc's 120 separate modules its code loads much
// slower than as one file (BENCHMARKS.md, "The gate", with the code-split, code-cache and snapshot
// variants measured against it). The library (package.json `exports`) stays tsc's output.
//
// Not in the bundle, loaded at run time as before: better-sqlite3 (a native addon, found from the
// bundle's directory) and wasm-core's debug build (3 MB of base64, loaded only on request, from
// dist/wasm-core/generated/). cbor-x is bundled from its pure JavaScript entry: its Node entry's optional
// native string extractor (cbor-extract) costs an addon lookup and load in every process, for the few
// small quote bundles the CLI decodes. `node scripts/bundle.mjs OUTFILE` bundles elsewhere (the test of
// the bundle, test/cli/bundle.test.ts, does).
import { chmod } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

const outfile = process.argv[2] ?? join(root, 'dist', 'execgate.mjs');
await build({
  entryPoints: [join(root, 'agent', 'cli', 'main.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minifyWhitespace: true,
  minifySyntax: true,
  external: ['better-sqlite3'],
  logLevel: 'warning',
  plugins: [
    {
      name: 'execgate',
      setup(b) {
        b.onResolve({ filter: /\/generated\/wasm-debug\.js$/ }, () => ({
          path: './wasm-core/generated/wasm-debug.js',
          external: true,
        }));
        b.onResolve({ filter: /^cbor-x$/ }, () => ({
          path: join(dirname(require.resolve('cbor-x/package.json')), 'index.js'),
        }));
      },
    },
  ],
});
await chmod(outfile, 0o755);
