// SPDX-License-Identifier: Apache-2.0
// ECDSA differential, 500 cases (the 10,000-case run is in test/slow/signature-differential.slow.ts):
// signatures made by node:crypto under 4 fresh P-256 and 2 fresh P-384 keys (one case in ten on P-384),
// random messages of 0–300 bytes, every hash, DER and P1363 alternating, plus one single-bit mutant of
// each (signature, message or key material): wasm-core's verdict equals node:crypto's on all 1,000, in one
// batch (the comb-table path for the six key groups, each above ECDSA_TABLE_MIN_GROUP) and one at a time
// (the wNAF path); the scalar build runs them too (verify-differential.ts `ecdsaDifferential`).
import { test } from 'vitest';
import { ecdsaDifferential } from './verify-differential.js';
import { cores } from './verify-harness.js';

const [simd, scalar] = await cores();

test('ecdsa: 500 node:crypto cases and their one-bit mutants, verdicts equal node:crypto', () => {
  if (simd === undefined || scalar === undefined) throw new Error('missing builds');
  ecdsaDifferential(simd, scalar, 500);
}, 60_000);
