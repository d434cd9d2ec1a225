// SPDX-License-Identifier: Apache-2.0
// The hash-algorithm registry (agent/crypto/algorithms.ts) against independent sources: the TPM_ALG ids
// of TCG Part 2 §6.3 as printed there, @noble/hashes' sizes, node:crypto's names and wasm-core's own table
// (wasm-core cannot import the registry, so the two must be shown to agree here).
import { getHashes, hash as nodeHash } from 'node:crypto';
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  BANK_NAMES,
  bankName,
  digestByteLen,
  HASH_ALGORITHM_NAMES,
  HASH_ALGORITHMS,
  type HashAlgorithm,
  hashAlgOf,
  hashByName,
  hashByTpmAlg,
  hashOfTpmAlg,
  isBankName,
  isHashAlgorithm,
  tpmAlgOf,
} from '../../agent/crypto/algorithms.js';
import { TPM_ALG } from '../../agent/tpm/constants.js';
import type { VerifyHash } from '../../wasm-core/index.js';
import { HASHES as WASM_HASHES } from '../../wasm-core/verify/digest.js';
import { HASHES, nobleHash } from '../tpm/reference.js';

/** Part 2 §6.3 Table 9, typed in from the spec rather than taken from agent/tpm/constants.ts. */
const SPEC_IDS = { sha1: 0x0004, sha256: 0x000b, sha384: 0x000c, sha512: 0x000d, sm3_256: 0x0012 } as const;

describe('hash registry', () => {
  it('lists the tpm2-tools bank names in tpm2-tools order, and the four it computes', () => {
    expect(BANK_NAMES).toEqual(['sha1', 'sha256', 'sha384', 'sha512', 'sm3_256']);
    expect(HASH_ALGORITHM_NAMES).toEqual(HASHES);
    expect(isBankName('sm3_256')).toBe(true);
    expect(isHashAlgorithm('sm3_256')).toBe(false);
    for (const bad of ['SHA256', 'md5', 'sha3_256', '', 'toString', undefined, 11]) {
      expect(isBankName(bad)).toBe(false);
      expect(isHashAlgorithm(bad)).toBe(false);
    }
  });

  it('has the TPM_ALG ids of Part 2 §6.3, and tpm/constants.ts takes them from it', () => {
    for (const name of BANK_NAMES) {
      expect(HASH_ALGORITHMS[name].tpmAlg).toBe(SPEC_IDS[name]);
      expect(tpmAlgOf(name)).toBe(SPEC_IDS[name]);
      expect(hashByTpmAlg(SPEC_IDS[name])?.name).toBe(name);
      expect(hashByName(name)?.tpmAlg).toBe(SPEC_IDS[name]);
      expect(bankName(SPEC_IDS[name])).toBe(name);
    }
    expect([TPM_ALG.SHA1, TPM_ALG.SHA256, TPM_ALG.SHA384, TPM_ALG.SHA512, TPM_ALG.SM3_256]).toEqual(
      Object.values(SPEC_IDS),
    );
  });

  it('has the digest and block sizes @noble/hashes reports (SM3: GB/T 32905 §4, 256-bit digest, 512-bit block)', () => {
    for (const h of HASHES) {
      expect(digestByteLen(h)).toBe(nobleHash(h).outputLen);
      expect(HASH_ALGORITHMS[h].blockByteLen).toBe(nobleHash(h).blockLen);
    }
    expect(HASH_ALGORITHMS.sm3_256.digestByteLen).toBe(32);
    expect(HASH_ALGORITHMS.sm3_256.blockByteLen).toBe(64);
  });

  it('names the hashes as node:crypto does', () => {
    const node = new Set(getHashes());
    for (const h of HASH_ALGORITHM_NAMES) {
      expect(node.has(h)).toBe(true);
      expect(nodeHash(h, 'abc', 'buffer').length).toBe(digestByteLen(h));
    }
  });

  it("agrees with wasm-core's own table (names and sizes)", () => {
    // The names as types too: a HashAlgorithm is exactly what wasm-core's public VerifyItem.hash takes.
    expectTypeOf<HashAlgorithm>().toEqualTypeOf<VerifyHash>();
    expect(Object.keys(WASM_HASHES).sort()).toEqual([...HASH_ALGORITHM_NAMES].sort());
    for (const h of HASH_ALGORITHM_NAMES) {
      expect(WASM_HASHES[h].digestByteLen).toBe(digestByteLen(h));
      expect(WASM_HASHES[h].blockByteLen).toBe(HASH_ALGORITHMS[h].blockByteLen);
    }
  });

  it('marks SHA-1 alone as legacy', () => {
    expect(BANK_NAMES.filter((n) => HASH_ALGORITHMS[n].legacy)).toEqual(['sha1']);
  });

  it('looks up unknown ids and names as undefined, and names them in hex', () => {
    for (const alg of [TPM_ALG.NULL, TPM_ALG.SHA3_256, TPM_ALG.HMAC, 0xffff, -1]) {
      expect(hashByTpmAlg(alg)).toBeUndefined();
      expect(hashOfTpmAlg(alg)).toBeUndefined();
    }
    expect(hashOfTpmAlg(TPM_ALG.SM3_256)).toBeUndefined();
    expect(hashByName('SHA256')).toBeUndefined();
    expect(hashByName('hasOwnProperty')).toBeUndefined();
    expect(bankName(TPM_ALG.SHA3_256)).toBe('0x0027');
    expect(() => tpmAlgOf('md5' as HashAlgorithm)).toThrow(TypeError);
  });
});

// Moved here with the functions from agent/tpm/kdf.ts.
describe('hashAlgOf / digestByteLen / tpmAlgOf', () => {
  it('maps the four TPM_ALG hash ids and back, with the digest sizes noble reports', () => {
    const ids = [TPM_ALG.SHA1, TPM_ALG.SHA256, TPM_ALG.SHA384, TPM_ALG.SHA512];
    expect(ids.map(hashAlgOf)).toEqual(HASHES);
    for (const h of HASHES) {
      expect(tpmAlgOf(h)).toBe(ids[HASHES.indexOf(h)]);
      expect(digestByteLen(h)).toBe(nobleHash(h).outputLen);
    }
  });

  it('refuses other algorithms with RangeError and non-integers with TypeError', () => {
    for (const alg of [TPM_ALG.NULL, TPM_ALG.SM3_256, TPM_ALG.SHA3_256, TPM_ALG.HMAC, 0xffff, -1]) {
      expect(() => hashAlgOf(alg)).toThrow(RangeError);
    }
    for (const alg of [1.5, Number.NaN, '11' as unknown as number]) {
      expect(() => hashAlgOf(alg)).toThrow(TypeError);
    }
    expect(() => digestByteLen('md5' as HashAlgorithm)).toThrow(/hash/);
    expect(() => digestByteLen('md5' as HashAlgorithm)).toThrow(TypeError);
    expect(() => digestByteLen('sm3_256' as HashAlgorithm)).toThrow(TypeError);
  });
});
