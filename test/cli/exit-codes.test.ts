// SPDX-License-Identifier: Apache-2.0
// Every stable error code the agent can throw has a documented exit code: none falls through to 1
// ("internal error"), and docs/cli.md's exit-code table names each one.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT, exitCodeOf } from '../../agent/cli/exit.js';
import { ExecgateError } from '../../agent/errors.js';

function* sources(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* sources(path);
    else if (path.endsWith('.ts')) yield path;
  }
}

const codes = new Set<string>();
for (const file of sources('agent')) {
  for (const m of readFileSync(file, 'utf8').matchAll(/'(E_[A-Z0-9_]+)'/g)) if (m[1]) codes.add(m[1]);
}

describe('exit codes', () => {
  it('finds the error codes (guards the scan itself)', () => {
    expect(codes.size).toBeGreaterThan(20);
    expect(codes.has('E_TPM_UNAVAILABLE')).toBe(true);
  });

  for (const code of [...codes].sort()) {
    it(`${code} maps to a documented exit code other than FAILURE`, () => {
      const exit = exitCodeOf(new ExecgateError(code, 'x'));
      expect(exit).not.toBe(EXIT.FAILURE);
      expect(readFileSync('docs/cli.md', 'utf8')).toContain(`\`${code}\``);
    });
  }
});
