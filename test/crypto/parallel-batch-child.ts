// SPDX-License-Identifier: Apache-2.0
// A process that hashes large batches with two threads, then falls off the end of its script: it must
// exit by itself (the worker is unref()'d, and a pending `whenSettled` does not hold the event loop).
// spawnSync's timeout only guards against a hang. Used by parallel-batch.test.ts (from the TypeScript
// sources) and test/slow/parallel-batch-tsc.slow.ts (from tsc's output).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect } from 'vitest';

export const ROOT = join(import.meta.dirname, '../..');

function childScript(hashModule: string): string {
  return `
    import { hash } from 'node:crypto';
    const h = await import(${JSON.stringify(hashModule)});
    await h.initHashing({ threads: 2 });
    const msgs = Array.from({ length: 100000 }, (_, i) => new Uint8Array(64).fill(i & 255));
    const want = Buffer.concat(msgs.map((m) => hash('sha256', m, 'buffer')));
    // The first batch starts the worker (and is hashed here meanwhile); the second is split with it.
    let ok = Buffer.compare(Buffer.from(h.sha256Batch(msgs)), want) === 0;
    await h.batchThreads()?.whenSettled();
    ok &&= Buffer.compare(Buffer.from(h.sha256Batch(msgs)), want) === 0;
    const t = h.batchThreads();
    process.stdout.write(JSON.stringify({ ok, state: t?.state, workerMessages: t?.stats.workerMessages }));
  `;
}

/** Runs the child with node `args` and the hashing module at `hashModule`; returns what it reports. */
export function runChild(
  args: readonly string[],
  hashModule: string,
): { ok: boolean; state?: string; workerMessages?: number } {
  const r = spawnSync(process.execPath, [...args, '--input-type=module'], {
    cwd: ROOT,
    input: childScript(hashModule),
    encoding: 'utf8',
    timeout: 25_000,
  });
  expect(r.error, r.stderr).toBeUndefined();
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { ok: boolean; state?: string; workerMessages?: number };
}
