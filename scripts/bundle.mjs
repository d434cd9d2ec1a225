// SPDX-License-Identifier: Apache-2.0
// Bundles the execgate CLI (`npm run build`) for package.json's `bin`. Every command is a process of its
// own and the gate's start-up is on the path of every command it runs; as tsc's 120 separate modules the
// gate's code loaded ~70 ms slower than as one file, and compiling that file from a code cache saved
// ~45 ms more (BENCHMARKS.md, "The gate", with the code-split and snapshot variants measured beside).
// Into DIR (default dist/), from agent/cli/main.ts (esbuild transpiles and bundles):
//   execgate-bundle.cjs        the CLI as one CommonJS file, whitespace and syntax minified, names kept
//   execgate-bundle.cjs.cache  V8's code cache of it, made here by this Node (V8 refuses it under another)
//   execgate-exec.cjs(.cache)  `execgate exec` as a client of `execgate serve` alone (agent/cli/exec-main.ts),
//                              with its cache: what a gated command loads when a service judges it
//   execgate.cjs               scripts/execgate.cjs, the `bin`: runs the bundle with its cache
// The library (package.json `exports`) stays tsc's output. Not in the bundle, loaded at run time as
// before: better-sqlite3 (a native addon, found from DIR) and wasm-core's debug build (3 MB of base64,
// loaded only on request, from dist/wasm-core/generated/). cbor-x is bundled from its pure JavaScript
// entry: its Node entry's optional native string extractor (cbor-extract) costs an addon lookup and load
// in every process, for the few small quote bundles the CLI decodes.
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import Module, { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { constants, Script } from 'node:vm';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const dir = process.argv[2] ?? join(root, 'dist');

/**
 * Bundles agent/cli/ENTRY into BUNDLE and makes its code cache beside it: after running `warmUp` on the
 * bundle's exports, when given, so that the cache also holds the functions that run compiled (V8
 * compiles a function when first called; a cache made before running holds the top level only).
 */
async function bundleOne(entry, bundle, warmUp) {
  await build({
    entryPoints: [join(root, 'agent', 'cli', entry)],
    outfile: bundle,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    minifyWhitespace: true,
    minifySyntax: true,
    external: ['better-sqlite3'],
    // agent/audit/sqlite.ts finds better-sqlite3 from its own module URL: in CommonJS, the bundle's.
    banner: { js: 'var __execgate_url = require("node:url").pathToFileURL(__filename).href;' },
    define: { 'import.meta.url': '__execgate_url' },
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
  // Without main.ts's #! line (the loader wraps the source in a function), then compiled exactly as
  // scripts/execgate.cjs compiles it, so that V8 takes the cache there.
  const source = (await readFile(bundle, 'utf8')).replace(/^#!.*\n/, '');
  await writeFile(bundle, source);
  const script = new Script(Module.wrap(source), {
    filename: bundle,
    importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  if (warmUp !== undefined) {
    const module = { exports: {} };
    script.runInThisContext()(module.exports, createRequire(bundle), module, bundle, dirname(bundle));
    await warmUp(module.exports);
  }
  await writeFile(`${bundle}.cache`, script.createCachedData());
}

/**
 * The exec client's whole path up to the service's answer, once: a policy in a temporary directory
 * whose gate.sock is a stand-in service that declines every request (with the bundle's own wire
 * encoding), so the client reads the policy, opens and hashes an executable, connects, sends its request
 * and reads the answer, then gives undefined ("judge in this process"). A gated command's start then
 * compiles none of that path (BENCHMARKS.md, "With execgate serve").
 */
async function warmExecClient(client) {
  const tmp = await mkdtemp(join(tmpdir(), 'execgate-bundle-'));
  const server = createServer((socket) => {
    socket.once('data', () =>
      socket.end(client.frame(client.encodeAnswer({ kind: 'decline', reason: 'build warm-up' }))),
    );
    socket.on('error', () => {});
  });
  try {
    await mkdir(join(tmp, 'state'), { mode: 0o700 });
    const policy = join(tmp, 'policy.toml');
    await writeFile(
      policy,
      '[host]\nstate_dir = "state"\ntcti = "device:/dev/tpmrm0"\n\n' +
        '[[issuer]]\nname = "ops"\nkey = "ops.pub"\nexe = ["/usr/bin/"]\nmax_ttl = "1h"\n',
      { mode: 0o600 },
    );
    await new Promise((done, fail) =>
      server.once('error', fail).listen(join(tmp, 'state', 'gate.sock'), done),
    );
    const code = await client.main(['exec', '--policy', policy, '--', process.execPath]);
    if (code !== undefined)
      throw new Error(`the exec client's warm-up gave ${code}, not undefined (a decline)`);
  } finally {
    await new Promise((done) => server.close(done));
    await rm(tmp, { recursive: true, force: true });
  }
}

await bundleOne('main.ts', join(dir, 'execgate-bundle.cjs'));
await bundleOne('exec-main.ts', join(dir, 'execgate-exec.cjs'), warmExecClient);
await copyFile(join(root, 'scripts', 'execgate.cjs'), join(dir, 'execgate.cjs'));
await chmod(join(dir, 'execgate.cjs'), 0o755);
