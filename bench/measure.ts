// SPDX-License-Identifier: Apache-2.0
/**
 * Timing for bench/*.bench.ts: every case of a comparison is warmed up, then sampled round-robin (A, B,
 * C, A, B, C, …) so that a burst of load from other processes on this shared machine lands on all of
 * them alike; the result is the median time per operation. Numbers are recorded, never asserted.
 * (Forcing a full GC before each sample was tried and dropped: it made @noble/hashes 3× and the Merkle
 * packing loop 1.4× slower, apparently by throwing away optimised code.)
 */

export interface Case {
  readonly name: string;
  /** One operation; its result feeds a sink so that the engine cannot drop the work. */
  readonly run: () => unknown;
  /** Operations per sample (one sample should take a few milliseconds or more). */
  readonly reps: number;
}

let sink = 0;

function consume(value: unknown): void {
  if (value instanceof Uint8Array) sink ^= value[0] ?? 0;
  else if (Array.isArray(value)) sink ^= value.length;
}

function sampleNs(c: Case): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < c.reps; i++) consume(c.run());
  return Number(process.hrtime.bigint() - t0) / c.reps;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] ?? Number.NaN) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

/** Median ns per operation of each case, in the order given. */
export function compare(cases: readonly Case[], rounds: number, warmupRounds = 3): number[] {
  for (let r = 0; r < warmupRounds; r++) for (const c of cases) sampleNs(c);
  const samples = cases.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) {
    cases.forEach((c, i) => {
      samples[i]?.push(sampleNs(c));
    });
  }
  if (sink === 0x1234_5678) process.stdout.write(''); // keeps `sink` observable
  return samples.map(median);
}

/** A case of `sampleAsync`: one operation that returns a promise (a whole verify, seconds long). */
export interface AsyncCase {
  readonly name: string;
  readonly run: () => Promise<unknown>;
}

/**
 * `compare` for operations that return a promise (one awaited operation per sample, round-robin), as
 * the samples: ns, one array per case with one sample per round. Sample r of every case was taken in
 * the same round, so the ratio of two cases' samples r pairs them under the same load; `median` of
 * each gives what `compare` gives.
 */
export async function sampleAsync(
  cases: readonly AsyncCase[],
  rounds: number,
  warmupRounds = 1,
): Promise<number[][]> {
  const sample = async (c: AsyncCase): Promise<number> => {
    const t0 = process.hrtime.bigint();
    consume(await c.run());
    return Number(process.hrtime.bigint() - t0);
  };
  for (let r = 0; r < warmupRounds; r++) for (const c of cases) await sample(c);
  const samples = cases.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) {
    for (const [i, c] of cases.entries()) samples[i]?.push(await sample(c));
  }
  return samples;
}

export function formatNs(ns: number): string {
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(2)} µs`;
  return `${ns.toFixed(0)} ns`;
}

export function ratio(slow: number, fast: number): string {
  return `${(slow / fast).toFixed(2)}×`;
}

/** Print a markdown table. */
export function table(title: string, head: readonly string[], rows: readonly (readonly string[])[]): void {
  const lines = [`\n### ${title}`, `| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`];
  for (const r of rows) lines.push(`| ${r.join(' | ')} |`);
  process.stdout.write(`${lines.join('\n')}\n`);
}
