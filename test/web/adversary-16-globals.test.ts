// SPDX-License-Identifier: Apache-2.0
// Adversary test of the browser-safe verification path (issue 16): test/web/browser-safe.test.ts fails
// on an import of a Node built-in, but Node's globals need no import. A `Buffer.from(…)` or a
// `process.env` planted in a verification module bundled cleanly and failed only in the auditor's
// browser, when that code ran. Here the path's own code (its packages left out: cbor-x tests for Buffer
// itself) is bundled as the page bundles it and may name none of Node's globals; and a planted one is
// caught (the attack this is for).
import { join } from 'node:path';
import { type BuildOptions, build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { browserOptions, root, VERIFICATION_ENTRIES } from '../../scripts/browser-bundle.mjs';

/** Node's globals a browser lacks, where the bundled code names them (not as a property: globalThis.Buffer). */
const NODE_GLOBAL = /(?<![\w$.])(?:Buffer|process|require|__dirname|__filename|setImmediate)\b(?!\s*:)/g;

async function nodeGlobals(extra: BuildOptions): Promise<string[]> {
  const r = await build({ ...browserOptions, write: false, packages: 'external', ...extra });
  return (r.outputFiles ?? []).flatMap((f) => f.text.match(NODE_GLOBAL) ?? []);
}

describe("the verification path's own code names no Node global", () => {
  it('none in any verification entry point and what it imports', async () => {
    expect(
      await nodeGlobals({
        entryPoints: VERIFICATION_ENTRIES.map((e) => join(root, e)),
        outdir: join(root, '.tmp', 'browser-globals'),
      }),
    ).toEqual([]);
  });

  it('a planted Buffer or process is caught', async () => {
    const planted = await nodeGlobals({
      stdin: {
        contents:
          "import { verifyArtifact } from './agent/artifact/verify.js';\nexport const f = (b: Uint8Array) => [verifyArtifact, Buffer.from(b), process.env.X];\n",
        resolveDir: root,
        sourcefile: 'attack.ts',
        loader: 'ts',
      },
    });
    expect(planted).toEqual(['Buffer', 'process']);
  });
});
