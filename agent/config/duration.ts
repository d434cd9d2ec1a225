// SPDX-License-Identifier: Apache-2.0
/**
 * Durations as execgate spells them, in the policy (`checkpoint_interval = "10m"`) and on the command
 * line (`--ttl 2h`): a decimal count with one unit, s, m, h or d; a bare count is seconds. One parser for
 * both: the CLI's parseDuration (cli/args.ts) turns its refusals into usage errors, the policy into E_CONFIG.
 */

const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86_400 } as const;

/** How a duration is written, for messages. */
export const DURATION_EXAMPLES = '90s, 10m, 2h or 1d';

/** "90s", "10m", "2h", "1d" or "45" (seconds) in seconds; undefined for anything else. */
export function durationSeconds(text: string): number | undefined {
  // At most 9 digits: 999999999d is still a safe integer number of seconds.
  const m = /^(\d{1,9})([smhd])?$/.exec(text);
  if (!m) return undefined;
  return Number(m[1]) * UNIT_SECONDS[(m[2] ?? 's') as keyof typeof UNIT_SECONDS];
}

/** `seconds` as the policy would write it, in the largest unit that divides it: 3600 → "1h", 90 → "90s". */
export function durationText(seconds: number): string {
  for (const unit of ['d', 'h', 'm'] as const)
    if (seconds > 0 && seconds % UNIT_SECONDS[unit] === 0) return `${seconds / UNIT_SECONDS[unit]}${unit}`;
  return `${seconds}s`;
}
