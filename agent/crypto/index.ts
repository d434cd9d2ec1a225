// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/crypto
 * Cryptography for the agent (DESIGN §2): hashing goes through ./hash.js (wasm-core or node:crypto by
 * measured crossover). Key formats, signing and verification join this module in later issues.
 */
export * from './hash.js';
