// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/serve/backoff
 *
 * Capped exponential backoff for `execgate serve`'s retries of an unavailable TPM: the delay after the
 * n-th failure in a row is min(initial · 2^(n−1), max), so 100 ms, 200 ms, … 5 s, then 5 s until a
 * success resets it. No jitter: one service retries one local TPM, so there is no herd to spread out.
 * Pure: the caller passes the time.
 */

/** Backoff limits, in ms. */
export interface BackoffOptions {
  /** The delay after the first failure (default 100). */
  readonly initialMs?: number;
  /** The longest delay (default 5000). */
  readonly maxMs?: number;
}

/** Failures in a row and when the next attempt is due. */
export class Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
  #failures = 0;
  #retryAt = 0;

  constructor(opts: BackoffOptions = {}) {
    this.initialMs = opts.initialMs ?? 100;
    this.maxMs = opts.maxMs ?? 5000;
    if (!(Number.isSafeInteger(this.initialMs) && this.initialMs > 0))
      throw new RangeError(`initialMs must be a positive integer, got ${this.initialMs}`);
    if (!(Number.isSafeInteger(this.maxMs) && this.maxMs >= this.initialMs))
      throw new RangeError(`maxMs must be an integer ≥ initialMs, got ${this.maxMs}`);
  }

  /** Failures since the last success (0: not backing off). */
  get failures(): number {
    return this.#failures;
  }

  /** The delay after the current number of failures (0 when there are none). */
  get delayMs(): number {
    if (this.#failures === 0) return 0;
    // 2^(n−1) is capped before it can overflow: past 2^32 the cap has long applied.
    const factor = 2 ** Math.min(this.#failures - 1, 32);
    return Math.min(this.initialMs * factor, this.maxMs);
  }

  /** Records a failure at `now` (ms); returns the time the next attempt is due. */
  fail(now: number): number {
    this.#failures++;
    this.#retryAt = now + this.delayMs;
    return this.#retryAt;
  }

  /** Records a success: the next failure starts again at `initialMs`. */
  succeed(): void {
    this.#failures = 0;
    this.#retryAt = 0;
  }

  /** When the next attempt is due, ms (0 when not backing off). */
  get retryAt(): number {
    return this.#retryAt;
  }

  /** Whether an attempt may be made at `now`. */
  ready(now: number): boolean {
    return now >= this.#retryAt;
  }
}
