// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/crypto/backend.browser
 *
 * backend.ts for a browser bundle (scripts/build-web.mjs swaps it in): no node:crypto, no worker
 * threads. hash.ts and verify.ts then run every hash and every signature on wasm-core.
 */
import type * as nodeCrypto from 'node:crypto';
import type { batchThreadsFor } from './parallel-batch.js';

export const native: typeof nodeCrypto | undefined = undefined;

export const twoThreadBatch: typeof batchThreadsFor | undefined = undefined;
