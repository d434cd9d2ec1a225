// SPDX-License-Identifier: Apache-2.0
/**
 * Independent second implementations for the session-crypto tests, written straight from the formulas
 * of TCG TPM 2.0 Part 1 §11.4.10 (KDFa, KDFe) and NIST SP 800-38A §6.3 (CFB), on @noble/hashes and on
 * the raw AES block (aes-*-ecb) rather than on the code under test. They share nothing with agent/tpm
 * except the HashAlgorithm spelling.
 */
import { createCipheriv } from 'node:crypto';
import { hmac } from '@noble/hashes/hmac.js';
import { sha1 } from '@noble/hashes/legacy.js';
import { sha256, sha384, sha512 } from '@noble/hashes/sha2.js';
import { bytesToHex, type CHash, concatBytes, hexToBytes } from '@noble/hashes/utils.js';
import type { HashAlgorithm } from '../../agent/crypto/algorithms.js';

export const HASHES: readonly HashAlgorithm[] = ['sha1', 'sha256', 'sha384', 'sha512'];

export function nobleHash(h: HashAlgorithm): CHash {
  switch (h) {
    case 'sha1':
      return sha1;
    case 'sha256':
      return sha256;
    case 'sha384':
      return sha384;
    case 'sha512':
      return sha512;
  }
}

export const hex = (b: Uint8Array): string => bytesToHex(b);
export const unhex = (s: string): Uint8Array => hexToBytes(s);

function be32(n: number): Uint8Array {
  return Uint8Array.of((n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

/** Label octets: the ASCII text, then one 0x00 unless the text already ends in one. */
export function refLabel(label: string): Uint8Array {
  const text = Uint8Array.from(label, (c) => c.charCodeAt(0));
  return text.at(-1) === 0 ? text : concatBytes(text, Uint8Array.of(0));
}

function truncateAndMask(stream: Uint8Array, bits: number): Uint8Array {
  const out = stream.slice(0, Math.ceil(bits / 8));
  if (bits % 8 !== 0) out[0] = (out[0] ?? 0) & (0xff >> (8 - (bits % 8)));
  return out;
}

/** KDFa: K(i) = HMAC(key, [i]32 || label || contextU || contextV || [bits]32), leftmost `bits`. */
export function refKdfa(
  h: HashAlgorithm,
  key: Uint8Array,
  label: string,
  u: Uint8Array,
  v: Uint8Array,
  bits: number,
): Uint8Array {
  const blocks: Uint8Array[] = [];
  let have = 0;
  for (let i = 1; have * 8 < bits; i++) {
    const k = hmac(nobleHash(h), key, concatBytes(be32(i), refLabel(label), u, v, be32(bits)));
    blocks.push(k);
    have += k.length;
  }
  return truncateAndMask(concatBytes(...blocks), bits);
}

/** KDFe: K(i) = H([i]32 || Z || label || partyUInfo || partyVInfo), leftmost `bits`. */
export function refKdfe(
  h: HashAlgorithm,
  z: Uint8Array,
  label: string,
  u: Uint8Array,
  v: Uint8Array,
  bits: number,
): Uint8Array {
  const blocks: Uint8Array[] = [];
  let have = 0;
  for (let i = 1; have * 8 < bits; i++) {
    const k = nobleHash(h)(concatBytes(be32(i), z, refLabel(label), u, v));
    blocks.push(k);
    have += k.length;
  }
  return truncateAndMask(concatBytes(...blocks), bits);
}

/** One raw AES block encryption (the forward cipher CIPH_K of SP 800-38A) via a one-block ECB. */
function aesBlock(key: Uint8Array, block: Uint8Array): Uint8Array {
  const c = createCipheriv(`aes-${key.length * 8}-ecb`, key, null);
  c.setAutoPadding(false);
  return new Uint8Array(c.update(block));
}

/**
 * CFB128 from SP 800-38A §6.3: O_j = CIPH_K(I_j), C_j = P_j ⊕ O_j, I_{j+1} = C_j; the last partial block
 * uses the leftmost bytes of its O_j. `decrypt` feeds back the input (ciphertext) instead of the output.
 */
export function refCfb(key: Uint8Array, iv: Uint8Array, data: Uint8Array, decrypt: boolean): Uint8Array {
  const out = new Uint8Array(data.length);
  let feedback = iv.slice();
  for (let off = 0; off < data.length; off += 16) {
    const o = aesBlock(key, feedback);
    const n = Math.min(16, data.length - off);
    for (let i = 0; i < n; i++) out[off + i] = (data[off + i] ?? 0) ^ (o[i] ?? 0);
    feedback = (decrypt ? data : out).slice(off, off + 16);
  }
  return out;
}
