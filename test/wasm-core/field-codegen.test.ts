// SPDX-License-Identifier: Apache-2.0
// wasm-core/assembly/generated/field-kernels.ts is generated (STYLE principle 12: nobody edits it by
// hand): the committed file must be exactly what wasm-core/codegen/field-kernels.mjs produces now.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, test } from 'vitest';

test('field-kernels.ts equals the generator output', () => {
  const generator = join(import.meta.dirname, '..', '..', 'wasm-core', 'codegen', 'field-kernels.mjs');
  // --check exits with status 1 (and execFileSync throws) when the file is out of date.
  expect(() => execFileSync(process.execPath, [generator, '--check'], { stdio: 'pipe' })).not.toThrow();
});
