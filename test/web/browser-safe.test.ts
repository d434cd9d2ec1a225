// SPDX-License-Identifier: Apache-2.0
// The verification modules the auditor page runs (docs/auditor.md) bundle for a browser with esbuild
// (platform browser, the page's own settings: scripts/browser-bundle.mjs) without any Node built-in, so
// that the page runs the library's own code; the guard itself refuses a Node import (the attack it is
// there for). And the byte codecs' portable path, run where there is no Buffer (a fresh V8 context),
// gives what Node's Buffer gives.
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { type BuildOptions, build } from 'esbuild';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { browserOptions, root, VERIFICATION_ENTRIES } from '../../scripts/browser-bundle.mjs';

/** A browser bundle in memory: of `entries` (paths from the root), or of the `stdin` module in `extra`. */
async function bundle(entries: readonly string[], extra: BuildOptions = {}) {
  const r = await build({
    ...browserOptions,
    write: false,
    ...(entries.length === 0
      ? {}
      : { entryPoints: entries.map((e) => join(root, e)), outdir: join(root, '.tmp', 'browser-safe') }),
    ...extra,
  });
  return { errors: r.errors, outputFiles: r.outputFiles ?? [] };
}

describe('browser bundle of the verification path', () => {
  it('bundles every verification entry point without a Node built-in', async () => {
    const r = await bundle(VERIFICATION_ENTRIES);
    expect(r.errors).toEqual([]);
    expect(r.outputFiles.length).toBe(VERIFICATION_ENTRIES.length);
    const NODE_IMPORT =
      /\b(?:from|import|require)\s*\(?\s*["'](?:node:[\w/]+|crypto|fs|os|path|worker_threads)["']/g;
    for (const f of r.outputFiles) expect(f.text.match(NODE_IMPORT) ?? []).toEqual([]);
  });

  it('fails on a Node built-in anywhere below an entry point, naming the importer', async () => {
    const failure = await bundle([], {
      stdin: {
        contents:
          "import { verifyArtifact } from './agent/artifact/verify.js';\nimport { createHash } from 'node:crypto';\nexport { verifyArtifact, createHash };\n",
        resolveDir: root,
        sourcefile: 'attack.ts',
        loader: 'ts',
      },
    }).then(
      () => undefined,
      (e: { errors: { text: string }[] }) => e.errors.map((x) => x.text),
    );
    expect(failure).toEqual(['Node built-in "node:crypto" imported by attack.ts: not in a browser']);
  });

  it('swaps the crypto backend: the same module in Node uses node:crypto', async () => {
    const node = await build({
      entryPoints: [join(root, 'agent/crypto/hash.ts')],
      bundle: true,
      write: false,
      platform: 'node',
      format: 'esm',
      logLevel: 'silent',
    });
    expect(node.outputFiles[0]?.text).toMatch(/from "node:crypto"/);
  });
});

describe('byte codecs without Buffer', () => {
  it('give what Buffer gives: hex, base64 both alphabets, lenient base64 decoding, latin1, UTF-8 length', async () => {
    const r = await bundle([], {
      stdin: {
        contents: "export * from './agent/encoding/bytes.js';",
        resolveDir: root,
        sourcefile: 'bytes-entry.ts',
        loader: 'ts',
      },
      format: 'iife',
      globalName: 'bytes',
    });
    const context: { bytes?: Record<string, (...a: unknown[]) => unknown>; Buffer?: unknown } = {};
    runInNewContext(r.outputFiles[0]?.text ?? '', context);
    expect(context.Buffer).toBeUndefined();
    const b = context.bytes as {
      toHex(x: Uint8Array): string;
      toBase64(x: Uint8Array, url?: boolean): string;
      fromBase64(t: string): Uint8Array;
      latin1(x: Uint8Array): string;
      utf8ByteLength(t: string): number;
    };
    // Typed arrays from this context are instances of the other context's Uint8Array only when made there.
    const there = (x: Uint8Array) => runInNewContext('(a) => Uint8Array.from(a)', context)(Array.from(x));
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 70 }), fc.string({ maxLength: 40 }), (x, s) => {
        const buf = Buffer.from(x);
        expect(b.toHex(there(x))).toBe(buf.toString('hex'));
        expect(b.toBase64(there(x))).toBe(buf.toString('base64'));
        expect(b.toBase64(there(x), true)).toBe(buf.toString('base64url'));
        expect(b.latin1(there(x))).toBe(buf.toString('latin1'));
        expect(Array.from(b.fromBase64(buf.toString('base64')))).toEqual(Array.from(x));
        expect(Array.from(b.fromBase64(s))).toEqual(Array.from(Buffer.from(s, 'base64')));
        expect(b.utf8ByteLength(s)).toBe(Buffer.byteLength(s, 'utf8'));
      }),
    );
  });
});
