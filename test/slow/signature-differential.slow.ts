// SPDX-License-Identifier: Apache-2.0
// The long signature differentials: 10,000 cases per scheme and their one-bit mutants, wasm-core's
// verdicts (SIMD and scalar builds, single and batch) against node:crypto's. `npm test` runs the same
// suites on 500 cases (test/wasm-core/ed25519-differential.test.ts, verify-differential-*.test.ts); these
// take about a minute of CPU together, so they run in `npm run test:slow`.
import { describe, test } from 'vitest';
import { ed25519Differential } from '../wasm-core/ed25519-differential.js';
import {
  cores as ed25519Cores,
  type TestCore,
  type TestingCore,
  testingCores,
} from '../wasm-core/ed25519-harness.js';
import { ecdsaDifferential, rsaDifferential } from '../wasm-core/verify-differential.js';
import { cores } from '../wasm-core/verify-harness.js';

const [simd, scalar] = await cores();
const ed25519 = (await ed25519Cores()) as [TestCore, TestCore];
const ed25519Testing = (await testingCores()) as [TestingCore, TestingCore];

describe('signature differentials against node:crypto, 10,000 cases each', () => {
  test('ed25519', () => {
    ed25519Differential(ed25519, ed25519Testing, 10_000);
  });

  test('ecdsa', () => {
    if (simd === undefined || scalar === undefined) throw new Error('missing builds');
    ecdsaDifferential(simd, scalar, 10_000);
  });

  test('rsa-pkcs1v15', () => {
    if (simd === undefined || scalar === undefined) throw new Error('missing builds');
    rsaDifferential('rsa-pkcs1v15', simd, scalar, 10_000);
  });

  test('rsa-pss', () => {
    if (simd === undefined || scalar === undefined) throw new Error('missing builds');
    rsaDifferential('rsa-pss', simd, scalar, 10_000);
  });
});
