// SPDX-License-Identifier: Apache-2.0
// The two-thread sha256Batch from tsc's JavaScript output (what npm run build:ts puts in dist/): a process
// with the worker alive exits by itself, as it does from the TypeScript sources (parallel-batch.test.ts).
// Compiling agent/crypto/hash.ts with tsc takes seconds, so this runs in `npm run test:slow`.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { ROOT, runChild } from '../crypto/parallel-batch-child.js';

test("from tsc's JavaScript output, a process with the worker alive exits by itself", () => {
  const dir = mkdtempSync(join(tmpdir(), 'execgate-build-'));
  try {
    const tsc = spawnSync(
      process.execPath,
      [
        join(ROOT, 'node_modules/typescript/bin/tsc'),
        ...['--outDir', dir, '--rootDir', ROOT, '--module', 'nodenext', '--moduleResolution', 'nodenext'],
        ...['--target', 'es2022', '--lib', 'es2023', '--types', 'node', '--skipLibCheck'],
        join(ROOT, 'agent/crypto/hash.ts'),
      ],
      { cwd: ROOT, encoding: 'utf8', timeout: 60_000 },
    );
    expect(tsc.status, tsc.stdout + tsc.stderr).toBe(0);
    const out = runChild([], join(dir, 'agent/crypto/hash.js'));
    expect(out.ok).toBe(true);
    if (availableParallelism() >= 2) {
      expect(out.state).toBe('ready');
      expect(out.workerMessages).toBeGreaterThan(0);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
