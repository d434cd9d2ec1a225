// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/crypto/algorithms
 *
 * The hash algorithms execgate names, each declared once with its facts: the TPM_ALG_ID (TCG TPM 2.0
 * Library Part 2 §6.3), the digest and block sizes (FIPS 180-4 §1 Figure 1; GB/T 32905-2016 for SM3),
 * whether agent/crypto can compute it, and whether it is legacy (broken for collisions). Every other
 * table of hash facts in agent/ is a lookup here; tpm/constants.ts takes its TPM_ALG hash ids from here.
 *
 * One name serves three spellings: tpm2-tools names the PCR banks `sha1`, `sha256`, `sha384`, `sha512`,
 * `sm3_256` (lib/tpm2_alg_util.c), and node:crypto and wasm-core name the four SHA algorithms the same
 * way (test/crypto/algorithms.test.ts asserts both, and that wasm-core's own table of sizes agrees:
 * wasm-core runs alone in a browser, so it keeps its table and cannot import this one).
 *
 * Not here: the kernel's names for IMA digests (`sm3`, `sha3-256`, …: measure/reference.ts
 * IMA_DIGEST_BYTES), and SHA-3, which no TPM bank execgate meets uses.
 */

interface HashFacts {
  /** TPM_ALG_ID (Part 2 §6.3). */
  readonly tpmAlg: number;
  /** Digest size in bytes: the size of its TPMU_HA member (Part 2 §10.3.1). */
  readonly digestByteLen: number;
  /** Block size in bytes (the HMAC key block, FIPS 198-1). */
  readonly blockByteLen: number;
  /** Whether agent/crypto hashes with it (node:crypto and wasm-core); false: a PCR bank name only. */
  readonly implemented: boolean;
  /** Broken for collisions (SHA-1): kept for legacy PCR banks, refused where a signature relies on it. */
  readonly legacy: boolean;
}

/** The registry, keyed by the tpm2-tools name, in the order tpm2-tools lists banks. */
export const HASH_ALGORITHMS = {
  sha1: { tpmAlg: 0x0004, digestByteLen: 20, blockByteLen: 64, implemented: true, legacy: true },
  sha256: { tpmAlg: 0x000b, digestByteLen: 32, blockByteLen: 64, implemented: true, legacy: false },
  sha384: { tpmAlg: 0x000c, digestByteLen: 48, blockByteLen: 128, implemented: true, legacy: false },
  sha512: { tpmAlg: 0x000d, digestByteLen: 64, blockByteLen: 128, implemented: true, legacy: false },
  sm3_256: { tpmAlg: 0x0012, digestByteLen: 32, blockByteLen: 64, implemented: false, legacy: false },
} as const satisfies Readonly<Record<string, HashFacts>>;

type Registry = typeof HASH_ALGORITHMS;

/** A PCR bank's hash, tpm2-tools spelling (`sha256:0-7`). */
export type BankName = keyof Registry;

/** A hash agent/crypto computes: the name node:crypto, wasm-core and tpm2-tools all use for it. */
export type HashAlgorithm = {
  [K in BankName]: Registry[K]['implemented'] extends true ? K : never;
}[BankName];

/** The TPM_ALG_ID of a hash in the registry (a literal type, so a TPMT_HA built from it type-checks). */
export type HashAlgId = Registry[BankName]['tpmAlg'];

/** One registry entry with its name. */
export interface HashInfo extends HashFacts {
  readonly name: BankName;
  readonly tpmAlg: HashAlgId;
}

const INFOS: readonly HashInfo[] = Object.keys(HASH_ALGORITHMS)
  .filter(isBankName)
  .map((name) => ({ name, ...HASH_ALGORITHMS[name] }));

/** Every bank name, registry order. */
export const BANK_NAMES: readonly BankName[] = INFOS.map((i) => i.name);

/** Every hash agent/crypto computes, registry order. */
export const HASH_ALGORITHM_NAMES: readonly HashAlgorithm[] = BANK_NAMES.filter(isHashAlgorithm);

const BY_TPM_ALG: ReadonlyMap<number, HashInfo> = new Map(INFOS.map((i) => [i.tpmAlg, i]));

export function isBankName(value: unknown): value is BankName {
  return typeof value === 'string' && Object.hasOwn(HASH_ALGORITHMS, value);
}

export function isHashAlgorithm(value: unknown): value is HashAlgorithm {
  return isBankName(value) && HASH_ALGORITHMS[value].implemented;
}

/** Misuse check: `value` must name a hash agent/crypto computes (TypeError naming the argument). */
export function assertHashAlgorithm(value: unknown, name: string): asserts value is HashAlgorithm {
  if (!isHashAlgorithm(value)) {
    throw new TypeError(`${name} must be one of ${HASH_ALGORITHM_NAMES.join(', ')}; got ${String(value)}`);
  }
}

/** The entry of a tpm2-tools bank name (case-sensitive), or undefined. */
export function hashByName(name: string): HashInfo | undefined {
  return isBankName(name) ? BY_TPM_ALG.get(HASH_ALGORITHMS[name].tpmAlg) : undefined;
}

/** The entry of a TPM_ALG_ID (Part 2 §6.3), or undefined for an algorithm that is not a hash here. */
export function hashByTpmAlg(alg: number): HashInfo | undefined {
  return BY_TPM_ALG.get(alg);
}

/** The hash agent/crypto computes for a TPM_ALG_ID, or undefined (unknown, or SM3). */
export function hashOfTpmAlg(alg: number): HashAlgorithm | undefined {
  const name = BY_TPM_ALG.get(alg)?.name;
  return isHashAlgorithm(name) ? name : undefined;
}

/**
 * The hash named by a TPM_ALG_ID (Part 2 §6.3) of our own values, e.g. a session's authHash or a key's
 * nameAlg. Throws TypeError for a non-integer, RangeError for an algorithm agent/crypto does not compute.
 */
export function hashAlgOf(alg: number): HashAlgorithm {
  if (typeof alg !== 'number' || !Number.isInteger(alg)) {
    throw new TypeError(`alg must be an integer TPM_ALG_ID; got ${String(alg)}`);
  }
  const hash = hashOfTpmAlg(alg);
  if (hash === undefined) {
    const names = HASH_ALGORITHM_NAMES.map((h) => `TPM_ALG_${h.toUpperCase()}`).join('/');
    throw new RangeError(`alg 0x${alg.toString(16).padStart(4, '0')} is not ${names}`);
  }
  return hash;
}

/** The TPM_ALG_ID of a bank's hash (Part 2 §6.3); TypeError for a name that is not in the registry. */
export function tpmAlgOf(name: BankName): HashAlgId {
  if (!isBankName(name))
    throw new TypeError(`name must be one of ${BANK_NAMES.join(', ')}; got ${String(name)}`);
  return HASH_ALGORITHMS[name].tpmAlg;
}

/** Digest size in bytes of a hash agent/crypto computes (20, 32, 48, 64); TypeError for anything else. */
export function digestByteLen(hash: HashAlgorithm): number {
  assertHashAlgorithm(hash, 'hash');
  return HASH_ALGORITHMS[hash].digestByteLen;
}

/** The tpm2-tools name of a TPM_ALG_ID's bank (`sha256`), or its hex id (`0x0027`) when it has none. */
export function bankName(alg: number): string {
  return BY_TPM_ALG.get(alg)?.name ?? `0x${alg.toString(16).padStart(4, '0')}`;
}
