// SPDX-License-Identifier: Apache-2.0
/**
 * @module wasm-core/verify/rsa
 *
 * RSA signature verification (RFC 8017 §8.1.2 RSASSA-PSS, §8.2.2 RSASSA-PKCS1-v1_5) on a wasm-core
 * instance: key preparation (the policy checks and R² mod n, done once per key and kept as bytes), the
 * arena layout of one verification, and calls into wasm-core/assembly/rsa.ts, which holds the policy
 * (2048–4096-bit odd modulus, odd 3 ≤ e < 2^32) and both encodings.
 *
 * Not covered: PSS with an MGF1 hash other than the message hash (the API has one `hash`), and PSS
 * salt lengths the key's RSASSA-PSS-params forbid (they verify as false).
 */
import type { CoreExports } from '../boundary.js';
import { digestInto, type HashName } from './digest.js';

/** The RSA kernels of wasm-core/assembly/rsa.ts. */
export interface RsaExports {
  rsa_key_byte_len(modByteLen: number): number;
  rsa_key_init(keyPtr: number, modPtr: number, modByteLen: number, e: number): number;
  rsa_verify_pkcs1(
    keyPtr: number,
    sigPtr: number,
    sigByteLen: number,
    digestPtr: number,
    hashId: number,
  ): number;
  rsa_verify_pss(
    keyPtr: number,
    sigPtr: number,
    sigByteLen: number,
    mHashPtr: number,
    hashId: number,
    saltByteLen: number,
  ): number;
}

/** What the RSA glue needs of an instance. */
export interface RsaCore {
  readonly x: CoreExports & RsaExports;
  readonly u8: Uint8Array;
  readonly arenaPtr: number;
  readonly arenaByteLen: number;
}

/** hashId of the ABI. */
const HASH_IDS: Readonly<Record<HashName, number>> = { sha1: 1, sha256: 2, sha384: 3, sha512: 4 };

/** Largest modulus the kernels accept (4096 bits), hence the largest signature. */
const MAX_MODULUS_BYTES = 512;

/**
 * Prepare a key: the record rsa_key_init writes (n, Montgomery constants, R² mod n), copied out of the
 * arena so that it can be reused by later calls. Undefined when the key breaks the policy (including a
 * modulus longer than 4096 bits or an exponent of 2^32 or more).
 */
export function prepareRsaKey(
  core: RsaCore,
  modulus: Uint8Array,
  exponent: Uint8Array,
): Uint8Array | undefined {
  if (modulus.length > MAX_MODULUS_BYTES || exponent.length > 4) return undefined;
  let e = 0;
  for (const b of exponent) e = e * 256 + b;
  const { u8, x } = core;
  const modPtr = core.arenaPtr;
  const keyPtr = core.arenaPtr + 1024;
  u8.set(modulus, modPtr);
  if (x.rsa_key_init(keyPtr, modPtr, modulus.length, e) !== 1) return undefined;
  return u8.slice(keyPtr, keyPtr + x.rsa_key_byte_len(modulus.length));
}

/** One RSA verification under a prepared key. */
export interface RsaJob {
  readonly key: Uint8Array;
  readonly scheme: 'pkcs1v15' | 'pss';
  readonly hash: HashName;
  readonly message: Uint8Array;
  readonly signature: Uint8Array;
  /** PSS only: the salt length in bytes. */
  readonly saltLength: number;
}

// Layout: key record (≤ 32 + 8·147 bytes: n and R² in 28-bit limbs), signature (≤ 512), digest (64),
// then the message.
const KEY_OFFSET = 0;
const SIG_OFFSET = 1216;
const DIGEST_OFFSET = SIG_OFFSET + MAX_MODULUS_BYTES;
const MESSAGE_OFFSET = DIGEST_OFFSET + 64;

export function rsaVerifyOne(core: RsaCore, job: RsaJob): boolean {
  // A signature longer than any modulus is rejected before it could overrun its slot.
  if (job.signature.length > MAX_MODULUS_BYTES) return false;
  // The record comes from rsa_key_init (≤ 1208 bytes); a larger one would be a layout bug, not input.
  if (job.key.length > SIG_OFFSET - KEY_OFFSET) throw new RangeError('RSA key record larger than its slot');
  const { u8, x } = core;
  const base = core.arenaPtr;
  u8.set(job.key, base + KEY_OFFSET);
  u8.set(job.signature, base + SIG_OFFSET);
  digestInto(
    x,
    u8,
    job.hash,
    job.message,
    base + DIGEST_OFFSET,
    base + MESSAGE_OFFSET,
    base + core.arenaByteLen,
  );
  const id = HASH_IDS[job.hash];
  if (job.scheme === 'pkcs1v15') {
    return (
      x.rsa_verify_pkcs1(
        base + KEY_OFFSET,
        base + SIG_OFFSET,
        job.signature.length,
        base + DIGEST_OFFSET,
        id,
      ) === 1
    );
  }
  // The kernel takes the salt length as an unsigned 32-bit value; anything longer than a modulus fails.
  const salt = Math.min(job.saltLength, MAX_MODULUS_BYTES + 1);
  return (
    x.rsa_verify_pss(
      base + KEY_OFFSET,
      base + SIG_OFFSET,
      job.signature.length,
      base + DIGEST_OFFSET,
      id,
      salt,
    ) === 1
  );
}
