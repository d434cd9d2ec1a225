// SPDX-License-Identifier: Apache-2.0
// agent/serve/backoff: 100 ms doubling to a 5 s cap, reset by a success, attempts gated by the time.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Backoff } from '../../agent/serve/backoff.js';

describe('Backoff', () => {
  it('doubles from 100 ms to a 5 s cap and resets on success', () => {
    const b = new Backoff();
    expect(b.delayMs).toBe(0);
    expect(b.ready(0)).toBe(true);
    const delays = Array.from({ length: 9 }, () => {
      b.fail(1000);
      return b.delayMs;
    });
    expect(delays).toEqual([100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
    expect(b.ready(5999)).toBe(false);
    expect(b.ready(6000)).toBe(true);
    b.succeed();
    expect([b.failures, b.delayMs, b.ready(0)]).toEqual([0, 0, true]);
    expect(b.fail(10)).toBe(110);
    expect(b.retryAt).toBe(110);
  });

  it('never exceeds the cap nor overflows, for any number of failures', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2000 }), fc.integer({ min: 1, max: 10_000 }), (n, max) => {
        const b = new Backoff({ initialMs: 1, maxMs: max });
        for (let i = 0; i < n; i++) b.fail(0);
        return b.delayMs === Math.min(2 ** Math.min(n - 1, 32), max);
      }),
    );
  });

  it('refuses limits that make no sense', () => {
    expect(() => new Backoff({ initialMs: 0 })).toThrow(RangeError);
    expect(() => new Backoff({ initialMs: 200, maxMs: 100 })).toThrow(RangeError);
    expect(() => new Backoff({ initialMs: 1.5 })).toThrow(RangeError);
  });
});
