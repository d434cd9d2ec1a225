// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/crypto
 * Cryptography for the agent (DESIGN §2): hashing through ./hash.js (wasm-core or node:crypto by measured
 * crossover) and signature verification through ./verify.js (wasm-core or node:crypto by measured
 * route, one verdict either way). Key formats and signing join this module in later issues.
 */
export * from './hash.js';
export * from './verify.js';
