// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/crypto/backend
 *
 * The engines agent/crypto has beside wasm-core, chosen at bundle time: in Node (the CLI, the library)
 * node:crypto and the two-thread batch (parallel-batch.ts); in the auditor page's bundle
 * (scripts/browser-bundle.mjs, docs/auditor.md) ./backend.browser.ts takes this file's place and has none,
 * so that hash.ts and verify.ts route everything to wasm-core there and nothing of Node is bundled.
 */
import {
  constants,
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  hash,
  sign,
  verify,
} from 'node:crypto';
import { batchThreadsFor } from './parallel-batch.js';

/**
 * What agent/crypto (and the keys and AK formats above it) take from node:crypto: a plain object of the
 * functions, not the module namespace, since a bundle wraps a namespace in getters that each call would
 * go through.
 */
const nodeCrypto = {
  constants,
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  hash,
  sign,
  verify,
};
export type NativeCrypto = typeof nodeCrypto;

/** node:crypto, or undefined where there is none (the browser). */
export const native: NativeCrypto | undefined = nodeCrypto;

/** The two-thread SHA-256 batch maker, or undefined where there are no worker threads. */
export const twoThreadBatch: typeof batchThreadsFor | undefined = batchThreadsFor;
