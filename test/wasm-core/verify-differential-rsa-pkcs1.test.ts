// SPDX-License-Identifier: Apache-2.0
// RSASSA-PKCS1-v1_5 differential, 500 cases (the 10,000-case run is in
// test/slow/signature-differential.slow.ts): signatures made by node:crypto (verify-differential.ts
// makeRsaCases: 3 fresh 2048-bit keys and 1 fresh 3072-bit key, random messages, every hash), plus one
// single-bit mutant of each (signature, message, or modulus/exponent): wasm-core's verdict equals
// node:crypto's on all 1,000, in one batch and one at a time; the scalar build runs them too, 100 one at
// a time.
import { test } from 'vitest';
import { rsaDifferential } from './verify-differential.js';
import { cores } from './verify-harness.js';

const [simd, scalar] = await cores();

test('rsa-pkcs1v15: 500 node:crypto cases and their one-bit mutants, verdicts equal node:crypto', () => {
  if (simd === undefined || scalar === undefined) throw new Error('missing builds');
  rsaDifferential('rsa-pkcs1v15', simd, scalar, 500);
}, 60_000);
