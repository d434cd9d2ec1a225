// SPDX-License-Identifier: Apache-2.0
/**
 * The two key derivation functions of TPM 2.0, TCG TPM 2.0 Library Part 1 "Architecture" §11.4.10:
 * KDFa (§11.4.10.2, SP800-108 counter mode with HMAC) and KDFe (§11.4.10.3, the SP800-56A concatenation
 * KDF). Sessions derive their session key, parameter-encryption key/IV and XOR mask with KDFa; ECC secret
 * sharing derives its seed with KDFe.
 *
 * Secrets stay in node:crypto (this runs on the host, never in wasm-core). Inputs are our own values, so
 * a wrong type or range is a programming error and throws TypeError/RangeError naming the argument.
 *
 * Not covered here: SM3 and SHA-3 session hashes (crypto/algorithms.ts `digestByteLen` rejects them), and
 * the TPM's own implementation limit on the output size (the reference implementation stops at 32767
 * bytes; we allow what the u32 `bits` field of the formula can express).
 */
// KDFa keys and KDFe's Z are secrets: they stay in node:crypto (DESIGN §2), not the hashing facade.
import { createHash, createHmac } from 'node:crypto';
import { digestByteLen, type HashAlgorithm } from '../crypto/algorithms.js';

/** Largest `bits` KDFa/KDFe accept: the formula carries it (KDFa) or the block counter (both) as a u32. */
const MAX_BITS = 0xffff_ffff;

/**
 * Shared argument check of the session-crypto modules (kdf, paramcrypt, hmac, seed): `value` must be a
 * Uint8Array (noble v2 rule: no strings, no other typed arrays).
 * @internal
 */
export function requireBytes(value: unknown, name: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array`);
}

/**
 * A KDF label or OAEP label as the octets the TPM hashes: ASCII with one terminating NUL, added unless the
 * label already ends in one (the reference implementation's CryptKDFa/CryptKDFe rule, so "CFB" and
 * "CFB\0" derive the same bits). A NUL before the end, or a non-ASCII character, is refused: it cannot be
 * what a TPM means (Part 1 labels are C strings).
 * @internal
 */
export function labelBytes(label: string, name = 'label'): Uint8Array {
  if (typeof label !== 'string') throw new TypeError(`${name} must be a string`);
  const body = label.endsWith('\0') ? label.slice(0, -1) : label;
  const out = new Uint8Array(body.length + 1);
  for (let i = 0; i < body.length; i++) {
    const c = body.charCodeAt(i);
    if (c === 0 || c > 0x7f) {
      throw new RangeError(
        `${name} must be ASCII without an inner NUL; character ${i} is 0x${c.toString(16)}`,
      );
    }
    out[i] = c;
  }
  return out; // the last byte is already 0
}

function requireBits(bits: number): void {
  if (typeof bits !== 'number' || !Number.isInteger(bits) || bits < 1 || bits > MAX_BITS) {
    throw new RangeError(`bits must be an integer in [1, 2^32-1]; got ${String(bits)}`);
  }
}

function u32be(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, false);
  return b;
}

/**
 * Runs the counter loop shared by KDFa and KDFe: block(i) for i = 1, 2, … until ⌈bits/8⌉ bytes exist, keep
 * the leftmost ⌈bits/8⌉ bytes, and clear the unused high bits of the first byte when bits is not a
 * multiple of 8 (Part 1 §11.4.10.2: "the result is the leftmost bits"; go-tpm and tpm2-tss mask the same
 * way, and the vectors validated against the reference implementation agree).
 */
function counterKdf(
  hash: HashAlgorithm,
  bits: number,
  block: (counter: Uint8Array) => Uint8Array,
): Uint8Array {
  const size = digestByteLen(hash);
  const byteLen = Math.ceil(bits / 8);
  const out = new Uint8Array(byteLen);
  for (let counter = 1, offset = 0; offset < byteLen; counter++, offset += size) {
    const k = block(u32be(counter));
    out.set(k.subarray(0, Math.min(size, byteLen - offset)), offset);
    k.fill(0);
  }
  const spare = bits % 8;
  if (spare !== 0) out[0] = (out[0] ?? 0) & ((1 << spare) - 1);
  return out;
}

/**
 * KDFa, Part 1 §11.4.10.2 (SP800-108 KDF in counter mode, HMAC as the PRF):
 *   K(i) = HMAC_hash(key, [i]₃₂ ‖ label ‖ 0x00 ‖ contextU ‖ contextV ‖ [bits]₃₂), i = 1, 2, …
 * and the result is the leftmost `bits` bits of K(1) ‖ K(2) ‖ …, returned as ⌈bits/8⌉ bytes with the
 * unused high bits of the first byte cleared. `key` may be empty (an unsalted session bound to an entity
 * with an empty authValue does that); the contexts may be empty.
 */
export function kdfa(
  hash: HashAlgorithm,
  key: Uint8Array,
  label: string,
  contextU: Uint8Array,
  contextV: Uint8Array,
  bits: number,
): Uint8Array {
  digestByteLen(hash);
  requireBytes(key, 'key');
  requireBytes(contextU, 'contextU');
  requireBytes(contextV, 'contextV');
  requireBits(bits);
  const l = labelBytes(label);
  const tail = u32be(bits);
  return counterKdf(hash, bits, (counter) =>
    createHmac(hash, key).update(counter).update(l).update(contextU).update(contextV).update(tail).digest(),
  );
}

/**
 * KDFe, Part 1 §11.4.10.3 (SP800-56A §5.8.1 concatenation KDF with OtherInfo = label ‖ 0x00 ‖ partyUInfo
 * ‖ partyVInfo):
 *   K(i) = hash([i]₃₂ ‖ Z ‖ label ‖ 0x00 ‖ partyUInfo ‖ partyVInfo), i = 1, 2, …
 * truncated and masked like kdfa (unlike KDFa, `bits` itself is not hashed). For ECC secret sharing Z is
 * the x-coordinate of the shared point, partyUInfo the ephemeral key's x and partyVInfo the TPM key's x.
 */
export function kdfe(
  hash: HashAlgorithm,
  z: Uint8Array,
  label: string,
  partyUInfo: Uint8Array,
  partyVInfo: Uint8Array,
  bits: number,
): Uint8Array {
  digestByteLen(hash);
  requireBytes(z, 'z');
  requireBytes(partyUInfo, 'partyUInfo');
  requireBytes(partyVInfo, 'partyVInfo');
  requireBits(bits);
  const l = labelBytes(label);
  return counterKdf(hash, bits, (counter) =>
    createHash(hash).update(counter).update(z).update(l).update(partyUInfo).update(partyVInfo).digest(),
  );
}
