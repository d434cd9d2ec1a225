// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/timing
 *
 * Opt-in stage timings of one process, for bench/exec.bench.ts (BENCHMARKS.md, "The gate"). The CLI turns
 * them on with `startTiming()` when EXECGATE_TRACE_TIMING=1; `lap(stage)` then charges the milliseconds
 * since the previous lap to `stage`, and `timings()` returns them for the CLI to print (`execgate exec`
 * prints one JSON line on stderr once an allowed command has ended). Off (the default), `lap` returns
 * at once and nothing is recorded or printed.
 */

let laps: Record<string, number> | undefined;
let last = 0;

/**
 * Starts recording. The first two laps are Node's: `node`, from process start to the end of Node's own
 * bootstrap (what `node -e 0` also pays), and `load`, from there to now (our entry module and its
 * static imports).
 */
export function startTiming(): void {
  const boot = performance.nodeTiming.bootstrapComplete;
  last = performance.now();
  laps = { node: boot, load: last - boot };
}

/** Charges the time since the previous lap to `stage` (added up when a stage recurs). */
export function lap(stage: string): void {
  if (laps === undefined) return;
  const now = performance.now();
  laps[stage] = (laps[stage] ?? 0) + (now - last);
  last = now;
}

/** The laps so far in ms, rounded to µs, in the order first recorded; undefined when not recording. */
export function timings(): Readonly<Record<string, number>> | undefined {
  if (laps === undefined) return undefined;
  return Object.fromEntries(Object.entries(laps).map(([k, v]) => [k, Math.round(v * 1000) / 1000]));
}
