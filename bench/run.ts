// SPDX-License-Identifier: Apache-2.0
/**
 * `npm run bench [-- FILTER…]`: runs every bench/*.bench.ts in this one process, in name order, or only
 * those whose file name contains one of the FILTER words (`npm run bench -- hash`). Each module exports
 * `main(): Promise<void>`, which prints its own markdown tables of medians and ratios; this runner prints
 * the machine header that BENCHMARKS.md records beside them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

interface BenchModule {
  main(): Promise<void>;
}

function cpuFlag(flag: string): boolean {
  try {
    return new RegExp(`^flags\\s*:.*\\b${flag}\\b`, 'm').test(readFileSync('/proc/cpuinfo', 'utf8'));
  } catch {
    return false;
  }
}

function header(): string {
  const model = cpus()[0]?.model.trim() ?? 'unknown CPU';
  return [
    `machine: ${availableParallelism()} × ${model}; SHA-NI ${cpuFlag('sha_ni') ? 'yes' : 'no'}; AVX2 ${cpuFlag('avx2') ? 'yes' : 'no'}`,
    `node ${process.version} (V8 ${process.versions.v8}); ${new Date().toISOString().slice(0, 10)}`,
  ].join('\n');
}

async function main(): Promise<void> {
  const dir = import.meta.dirname;
  const filters = process.argv.slice(2);
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.bench.ts'))
    .filter((f) => filters.length === 0 || filters.some((w) => f.includes(w)))
    .sort();
  if (files.length === 0) throw new Error(`no bench/*.bench.ts matches ${filters.join(', ')}`);
  console.log(header());
  for (const file of files) {
    console.log(`\n## ${file}`);
    const mod = (await import(pathToFileURL(join(dir, file)).href)) as Partial<BenchModule>;
    if (typeof mod.main !== 'function') throw new Error(`${file} does not export main()`);
    await mod.main();
  }
}

await main();
