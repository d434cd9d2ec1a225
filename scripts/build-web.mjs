// SPDX-License-Identifier: Apache-2.0
// Builds the offline auditor page (`npm run build:web`, docs/auditor.md) into DIR (default dist/web/):
//   index.html, style.css   the page (web/), unchanged
//   auditor.js              web/main.ts and everything it imports as one classic script (an IIFE: a
//                           module script does not load from file://), with the audit worker inside it
//                           as text (web/worker.ts), started from a blob: URL for the same reason
// The bundle settings (the browser crypto backend, no Node built-in) are scripts/browser-bundle.mjs's.
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';
import { browserOptions, root } from './browser-bundle.mjs';

const dir = process.argv[2] ?? join(root, 'dist', 'web');

const common = {
  ...browserOptions,
  format: 'iife',
  minifySyntax: true,
  minifyWhitespace: true,
  write: false,
};

const worker = await build({
  ...common,
  entryPoints: [join(root, 'web', 'worker.ts')],
  outfile: 'worker.js',
});
const workerText = worker.outputFiles[0].text;
const main = await build({
  ...common,
  entryPoints: [join(root, 'web', 'main.ts')],
  outfile: 'auditor.js',
  plugins: [
    ...common.plugins,
    {
      name: 'worker-source',
      setup(b) {
        b.onResolve({ filter: /^worker-source$/ }, () => ({
          path: 'worker-source',
          namespace: 'worker-source',
        }));
        b.onLoad({ filter: /.*/, namespace: 'worker-source' }, () => ({
          contents: `export default ${JSON.stringify(workerText)};`,
          loader: 'js',
        }));
      },
    },
  ],
});
await mkdir(dir, { recursive: true });
await writeFile(join(dir, 'auditor.js'), main.outputFiles[0].text);
for (const f of ['index.html', 'style.css']) await copyFile(join(root, 'web', f), join(dir, f));
console.log(`build:web: ${dir} (auditor.js ${Math.round(main.outputFiles[0].text.length / 1024)} KiB)`);
