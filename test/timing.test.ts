// SPDX-License-Identifier: Apache-2.0
// agent/timing.ts: off until started (a lap records nothing), then laps add up per stage in first-seen
// order, after Node's own `node` and `load`. Only the shape is checked: timings are never asserted.
import { expect, test } from 'vitest';
import { lap, startTiming, timings } from '../agent/timing.js';

test('stage laps: nothing until started, then per stage in order', () => {
  lap('before');
  expect(timings()).toBeUndefined();
  startTiming();
  lap('policy');
  lap('quote');
  lap('policy');
  const t = timings();
  expect(Object.keys(t ?? {})).toEqual(['node', 'load', 'policy', 'quote']);
  for (const v of Object.values(t ?? {})) expect(v).toBeGreaterThanOrEqual(0);
});
