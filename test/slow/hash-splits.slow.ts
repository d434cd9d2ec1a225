// SPDX-License-Identifier: Apache-2.0
// The long version of the hash contract's split-point sweep (test/wasm-core/hash-contract.ts): every split
// of a 768-byte buffer into three pieces at i and i + j, 0 ≤ i, j < 256 (noble's `partial` test), as views
// and as copies at a non-zero byteOffset, on both wasm-core builds and both oracles. `npm test` runs every
// i with j at the block boundaries and at random.
import { describe, test } from 'vitest';
import { createWasmCore } from '../../wasm-core/index.js';
import {
  allSplitPairs,
  expectSplitsAgree,
  NOBLE_IMPL,
  NODE_IMPL,
  wasmCoreImpl,
} from '../wasm-core/hash-contract.js';
import { SHA_ALGORITHMS } from '../wasm-core/vectors.js';

const impls = [
  wasmCoreImpl('wasm-core SIMD', await createWasmCore({ variant: 'simd' })),
  wasmCoreImpl('wasm-core scalar', await createWasmCore({ variant: 'scalar' })),
  NOBLE_IMPL,
  NODE_IMPL,
];

for (const impl of impls) {
  describe(`256×256 split-point sweep: ${impl.name}`, () => {
    for (const alg of SHA_ALGORITHMS) test(alg, () => expectSplitsAgree(impl, alg, allSplitPairs()));
  });
}
