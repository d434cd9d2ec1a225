// SPDX-License-Identifier: Apache-2.0
/**
 * The values of the commands' flags (indices, handles, hex, nonces, times, durations), each refused
 * with a UsageError naming the flag. Browser-safe, so that the auditor page reads its fields as the CLI
 * reads the same flags; ./args.ts (node:util parseArgs) re-exports them.
 */
import type { EkAlg } from '../attest/ek.js';
import { DURATION_EXAMPLES, durationSeconds } from '../config/duration.js';
import { fromHex, isHex } from '../encoding/bytes.js';
import { TPM_HT } from '../tpm/constants.js';
import { UsageError } from './exit-codes.js';

/** A non-negative integer flag or argument, else a UsageError naming it. */
export function parseIndex(value: string, what: string, max: number): number {
  if (!/^\d+$/.test(value) || Number(value) > max)
    throw new UsageError(`${what} must be an integer 0..${max}, got "${value}"`);
  return Number(value);
}

/** "0,1,7" or "0-7,16" → sorted unique indices. */
export function parseIndexList(value: string, what: string, max: number): number[] {
  const out = new Set<number>();
  for (const part of value.split(',')) {
    const range = /^(\d+)-(\d+)$/.exec(part);
    if (range) {
      const lo = parseIndex(range[1] ?? '', what, max);
      const hi = parseIndex(range[2] ?? '', what, max);
      if (lo > hi) throw new UsageError(`${what}: range ${part} is reversed`);
      for (let i = lo; i <= hi; i++) out.add(i);
    } else out.add(parseIndex(part, what, max));
  }
  return [...out].sort((a, b) => a - b);
}

/**
 * A persistent handle flag (every handle the CLI takes names a persistent AK): 0x-prefixed hex or decimal,
 * as tpm2-tools reads handles (strtoul base 0), of handle type TPM_HT_PERSISTENT 0x81 (Part 2 §7.2).
 * Bare hex digits read as decimal, so "81010002" is refused rather than guessed to be 0x81010002; a
 * leading 0 (octal to strtoul) is refused too.
 */
export function parseHandle(value: string, what: string): number {
  if (!/^(0x[0-9a-fA-F]{1,8}|0|[1-9]\d{0,9})$/.test(value) || Number(value) > 0xffff_ffff)
    throw new UsageError(`${what} must be a handle like 0x81010002, got "${value}"`);
  const handle = Number(value);
  if (handle >>> 24 !== TPM_HT.PERSISTENT) {
    throw new UsageError(
      `${what} must be a persistent handle 0x81xxxxxx, got "${value}" (0x${handle.toString(16)})`,
    );
  }
  return handle;
}

/** `--ek-alg`: which TCG default EK (attest/ek.ts), rsa2048 when not given. */
export function parseEkAlg(value: string | undefined): EkAlg {
  if (value === undefined) return 'rsa2048';
  if (value === 'rsa2048' || value === 'eccP256' || value === 'eccP384') return value;
  throw new UsageError(`--ek-alg must be rsa2048, eccP256 or eccP384, got "${value}"`);
}

/** Even-length hex (no 0x prefix needed, but allowed) to bytes, else a UsageError naming the flag. */
export function parseHex(value: string, what: string): Uint8Array {
  const hex = value.startsWith('0x') ? value.slice(2) : value;
  if (!isHex(hex)) {
    // An odd count of hex digits is hex with a digit missing: say so rather than "not hex".
    const odd = /^[0-9a-fA-F]*$/.test(hex) && hex.length % 2 === 1;
    throw new UsageError(
      odd
        ? `${what} has an odd number of hex digits (${hex.length}): give whole bytes, two digits each, got "${value}"`
        : `${what} must be hex (digits 0-9a-f, two per byte), got "${value}"`,
    );
  }
  return fromHex(hex);
}

// The commands print bytes with the shared codec; re-exported so they import flags and hex from one place.
export { toHex } from '../encoding/bytes.js';

/**
 * A --nonce: hex, at least one byte. A quote over an empty nonce proves no freshness, so anyone holding
 * one could replay it; refusing "" keeps a script's empty variable from turning freshness off.
 */
export function parseNonce(value: string, what = '--nonce'): Uint8Array {
  const nonce = parseHex(value, what);
  if (nonce.length === 0)
    throw new UsageError(`${what} must not be empty: give the nonce the quote was made with (hex)`);
  return nonce;
}

const TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?(Z|[+-]\d{2}:\d{2})$/;

/**
 * A point in time, in seconds since the epoch: ISO 8601 with its zone (2026-12-07T10:00:00Z,
 * 2026-12-07T11:00+01:00), or @UNIXSECONDS. A time without a zone is refused: read on another host
 * it would mean another instant. Seconds are the unit of the artifact claims, so no fractions.
 */
export function parseTime(value: string, what: string): number {
  const unix = /^@(\d{1,15})$/.exec(value);
  if (unix) return Number(unix[1]);
  const m = TIME.exec(value);
  const bad = () =>
    new UsageError(
      `${what} must be ISO 8601 with a zone (e.g. 2026-12-07T10:00:00Z) or @UNIXSECONDS, got "${value}"`,
    );
  if (!m) throw bad();
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map((x) => Number(x ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  const t = new Date(ms);
  // Date.UTC rolls 2026-02-30 over to March: a date that does not round-trip does not exist.
  if (
    t.getUTCFullYear() !== y ||
    t.getUTCMonth() !== mo - 1 ||
    t.getUTCDate() !== d ||
    h > 23 ||
    mi > 59 ||
    s > 59
  )
    throw bad();
  const zone = m[7] ?? 'Z';
  const offset =
    zone === 'Z' ? 0 : (zone[0] === '-' ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4)));
  const seconds = ms / 1000 - offset * 60;
  if (seconds < 0) throw new UsageError(`${what} is before 1970: "${value}"`);
  return seconds;
}

/** A duration in seconds: 90s, 10m, 2h, 1d, or a bare number of seconds; more than 0 unless `zero`. */
export function parseDuration(value: string, what: string, opts: { zero?: boolean } = {}): number {
  const seconds = durationSeconds(value);
  if (seconds === undefined || !(seconds > 0 || (opts.zero === true && seconds === 0)))
    throw new UsageError(`${what} must be a duration like ${DURATION_EXAMPLES}, got "${value}"`);
  return seconds;
}

/** An ISO 8601 UTC time of seconds since the epoch, without fractions: 2026-12-07T10:00:00Z. */
export function isoTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
}
