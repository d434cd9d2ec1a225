// SPDX-License-Identifier: Apache-2.0
// RSASSA-PSS differential: 10,000 signatures made by node:crypto (verify-differential.ts makeRsaCases: 3
// fresh 2048-bit keys and 1 fresh 3072-bit key, random messages, every hash, several salt lengths),
// plus one single-bit mutant of each (signature, message, or modulus/exponent): wasm-core's verdict
// equals node:crypto's on all 20,000, in one batch and, for the first 500 cases, one at a time. The
// scalar build runs the first 1,000 cases.
import { test } from 'vitest';
import { compareWithNode, makeRsaCases } from './verify-differential.js';
import { cores } from './verify-harness.js';

const [simd, scalar] = await cores();

test('rsa-pss: 10,000 node:crypto cases and their one-bit mutants, verdicts equal node:crypto', () => {
  if (simd === undefined || scalar === undefined) throw new Error('missing builds');
  const cases = makeRsaCases('rsa-pss', 10_000);
  compareWithNode(simd, cases, 500);
  compareWithNode(scalar, cases.slice(0, 1_000), 100);
}, 120_000);
