// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/crypto/backend.browser
 *
 * backend.ts for a browser bundle (scripts/browser-bundle.mjs swaps it in): no node:crypto, no worker
 * threads. hash.ts and verify.ts then run every hash and every signature on wasm-core.
 */
import type { NativeCrypto } from './backend.js';
import type { batchThreadsFor } from './parallel-batch.js';

export const native: NativeCrypto | undefined = undefined;

export const twoThreadBatch: typeof batchThreadsFor | undefined = undefined;
