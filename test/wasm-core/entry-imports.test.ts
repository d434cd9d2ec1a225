// SPDX-License-Identifier: Apache-2.0
// agent/ reaches wasm-core only through its public entry (wasm-core/index.ts; STYLE.md §4): the rule in
// scripts/banned-patterns.mjs, run on a scratch tree, flags every form of import of a wasm-core internal
// from agent/ (static, type-only, multi-line, re-export, dynamic, side-effect, through the package name)
// and none of the entry or of files outside agent/; and the repository's agent/ passes it.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, expect, test } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');
const SCRIPT = join(ROOT, 'scripts/banned-patterns.mjs');
const scratch = mkdtempSync(join(tmpdir(), 'execgate-entry-imports-'));

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

function write(path: string, text: string): void {
  mkdirSync(dirname(join(scratch, path)), { recursive: true });
  writeFileSync(join(scratch, path), text);
}

/** Runs the banned-pattern check with `cwd` as the repository root. */
function check(cwd: string): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [SCRIPT], { cwd, encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, stderr: r.stderr };
}

test('an agent/ file importing a wasm-core internal fails the check, in every import form', () => {
  write('wasm-core/index.ts', 'export const x = 1;\n');
  write('wasm-core/checks.ts', 'export const y = 1;\n');
  write(
    'agent/crypto/ok.ts',
    [
      "import { x } from '../../wasm-core/index.js';",
      "export type { X } from '../../wasm-core/index.js';",
      "import { z } from 'execgate/wasm-core';",
      "const m = await import('../../wasm-core/index.js');",
      "import { helper } from './helper.js';",
      '',
    ].join('\n'),
  );
  write(
    'agent/crypto/bad.ts',
    [
      "import { DerError } from '../../wasm-core/verify/der.js';",
      "import type { KeyCache } from '../../wasm-core/verify/key-cache.js';",
      'import {',
      '  assertArray,',
      '  isBytes,',
      "} from '../../wasm-core/checks.js';",
      "export { ABI_VERSION } from '../../wasm-core/boundary.js';",
      "const g = await import('../../wasm-core/generated/wasm.js');",
      "import '../../wasm-core/core.js';",
      "import { parseSpki } from 'execgate/wasm-core/verify/der.js';",
      '',
    ].join('\n'),
  );
  // Outside agent/ (tests and benchmarks may reach internals), and a path that only looks like one.
  write('swtpm/tool.ts', "import { y } from '../wasm-core/checks.js';\n");
  write('agent/wasm-core/local.ts', "import { w } from './checks.js';\n");
  const { status, stderr } = check(scratch);
  expect(status).toBe(1);
  const flagged = stderr
    .trim()
    .split('\n')
    .map((line) => line.replace(/: banned: .*/, ''));
  expect(flagged).toEqual([
    'agent/crypto/bad.ts:1',
    'agent/crypto/bad.ts:2',
    'agent/crypto/bad.ts:6',
    'agent/crypto/bad.ts:7',
    'agent/crypto/bad.ts:8',
    'agent/crypto/bad.ts:9',
    'agent/crypto/bad.ts:10',
  ]);
  expect(stderr).toContain("import of '../../wasm-core/verify/der.js' (agent/ uses wasm-core/index.js only)");
});

test("the repository's agent/ imports wasm-core through its entry only", () => {
  // Other banned patterns are lint's to report; this test is about the entry.
  const { stderr } = check(ROOT);
  expect(stderr.split('\n').filter((line) => line.includes('agent/ uses wasm-core/index.js only'))).toEqual(
    [],
  );
});
