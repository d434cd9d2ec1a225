// SPDX-License-Identifier: Apache-2.0
// Banned-pattern check (STYLE.md, cross-cutting habits): no `as any`, no console/process.exit below cli/,
// no Math.random anywhere in shipped code; and agent/ reaches wasm-core through its public entry only
// (wasm-core/index.ts; STYLE.md §4, "Reaching into another package's internals").
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, sep } from 'node:path';

// The wasm-core loader is the top-level wasm-core/*.ts files (index.ts is its entry); the walk below
// recurses, so they are listed one by one rather than through wasm-core/ with its generated code;
// wasm-core/verify/ (the signature loader) is walked whole.
const wasmLoader = readdirSync('wasm-core')
  .filter((name) => name.endsWith('.ts'))
  .map((name) => join('wasm-core', name));
const roots = ['agent', ...wasmLoader, 'wasm-core/verify', 'wasm-core/assembly', 'swtpm', 'web'];
const rules = [
  { re: /\bas any\b/, why: '`as any`', applies: () => true },
  { re: /\bMath\.random\(/, why: 'Math.random (use crypto.getRandomValues)', applies: () => true },
  { re: /\bconsole\./, why: 'console output outside cli/', applies: (f) => !f.startsWith('agent/cli/') },
  { re: /\bprocess\.exit\(/, why: 'process.exit outside cli/', applies: (f) => !f.startsWith('agent/cli/') },
];

function* files(path) {
  let st;
  try {
    st = statSync(path);
  } catch {
    return;
  }
  if (st.isDirectory()) {
    for (const name of readdirSync(path)) yield* files(join(path, name));
  } else if (path.endsWith('.ts')) yield path;
}

// Module specifiers of static imports and re-exports (`from '…'`, also at the end of a multi-line import),
// side-effect imports (`import '…'`) and dynamic imports (`import('…')`).
const SPECIFIER = /(?:\bfrom|\bimport)\s*\(?\s*['"]([^'"]+)['"]/g;
const WASM_CORE = `wasm-core${sep}`;
const WASM_CORE_ENTRY = new Set([join('wasm-core', 'index.js'), join('wasm-core', 'index.ts')]);

/** Whether `specifier`, imported by agent file `f`, names a wasm-core module other than its entry. */
function wasmCoreInternal(f, specifier) {
  if (specifier.startsWith('execgate/wasm-core/')) return true;
  if (!specifier.startsWith('.')) return false;
  const target = normalize(join(dirname(f), specifier));
  return target.startsWith(WASM_CORE) && !WASM_CORE_ENTRY.has(target);
}

let bad = 0;
for (const root of roots) {
  for (const f of files(root)) {
    const lines = readFileSync(f, 'utf8').split('\n');
    lines.forEach((line, i) => {
      for (const r of rules) {
        if (r.applies(f) && r.re.test(line)) {
          console.error(`${f}:${i + 1}: banned: ${r.why}`);
          bad++;
        }
      }
      if (!f.startsWith(`agent${sep}`)) return;
      for (const [, specifier] of line.matchAll(SPECIFIER)) {
        if (wasmCoreInternal(f, specifier)) {
          console.error(
            `${f}:${i + 1}: banned: import of '${specifier}' (agent/ uses wasm-core/index.js only)`,
          );
          bad++;
        }
      }
    });
  }
}
if (bad) process.exit(1);
