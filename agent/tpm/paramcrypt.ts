// SPDX-License-Identifier: Apache-2.0
/**
 * Session-based parameter encryption, TCG TPM 2.0 Library Part 1 §21 ("Session-based encryption"): the
 * first parameter of a command (session attribute `decrypt`) or response (`encrypt`), when it is a TPM2B,
 * has its buffer — not its size field — encrypted with AES in CFB mode or obfuscated with an XOR mask,
 * under a key derived from the session.
 *
 * Which nonce is "newer": for a command, nonceNewer = nonceCaller and nonceOlder = nonceTPM; for a
 * response, nonceNewer = nonceTPM and nonceOlder = nonceCaller (Part 1 §21; the reference implementation's
 * CryptParameterDecryption/-Encryption). The extra key is the authValue of the entity the session
 * authorizes, trailing zeros removed (see `stripTrailingZeros` in hmac.ts), and unlike the HMAC key it is
 * included even when the session is bound to that entity; it is empty for a session that authorizes
 * nothing (e.g. a pure encrypt/decrypt session).
 *
 * Not covered: SM4 and Camellia (only AES is offered); which parameter is encrypted and the size check
 * against it belong to the command layer.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { digestByteLen, type HashAlgorithm } from '../crypto/algorithms.js';
import { concatBytes } from '../encoding/bytes.js';
import { kdfa, requireBytes } from './kdf.js';

/** AES key sizes a session's TPMT_SYM_DEF can name (Part 2 TPMI_AES_KEY_BITS). */
export type AesKeyBits = 128 | 192 | 256;

/** AES-CFB key and IV for one parameter (Part 1 §21, "CFB mode parameter encryption"). */
export interface CfbKeyIv {
  readonly key: Uint8Array;
  readonly iv: Uint8Array;
}

const AES_BLOCK_BYTES = 16;

/**
 * Key and IV for AES-CFB parameter encryption (Part 1 §21, CFB mode):
 *   KDFa(hash, sessionKey ‖ authValue, "CFB", nonceNewer, nonceOlder, keyBits + 128)
 * whose first keyBits/8 bytes are the key and whose next 16 bytes are the IV. `hash` is the session's
 * authHash.
 */
export function cfbKeyIv(
  hash: HashAlgorithm,
  sessionKey: Uint8Array,
  authValue: Uint8Array,
  nonceNewer: Uint8Array,
  nonceOlder: Uint8Array,
  keyBits: AesKeyBits = 128,
): CfbKeyIv {
  digestByteLen(hash);
  requireBytes(sessionKey, 'sessionKey');
  requireBytes(authValue, 'authValue');
  requireBytes(nonceNewer, 'nonceNewer');
  requireBytes(nonceOlder, 'nonceOlder');
  if (keyBits !== 128 && keyBits !== 192 && keyBits !== 256) {
    throw new RangeError(`keyBits must be 128, 192 or 256; got ${String(keyBits)}`);
  }
  const hmacKey = concatBytes([sessionKey, authValue]);
  const keyIv = kdfa(hash, hmacKey, 'CFB', nonceNewer, nonceOlder, keyBits + 8 * AES_BLOCK_BYTES);
  hmacKey.fill(0);
  const keyBytes = keyBits / 8;
  return { key: keyIv.slice(0, keyBytes), iv: keyIv.slice(keyBytes) };
}

function cfbCipherName(key: Uint8Array, iv: Uint8Array): 'aes-128-cfb' | 'aes-192-cfb' | 'aes-256-cfb' {
  requireBytes(key, 'key');
  requireBytes(iv, 'iv');
  if (iv.length !== AES_BLOCK_BYTES) throw new RangeError(`iv must be 16 bytes; got ${iv.length}`);
  switch (key.length) {
    case 16:
      return 'aes-128-cfb';
    case 24:
      return 'aes-192-cfb';
    case 32:
      return 'aes-256-cfb';
    default:
      throw new RangeError(`key must be 16, 24 or 32 bytes (AES-128/192/256); got ${key.length}`);
  }
}

/**
 * AES-CFB encryption with a full-block (128-bit) feedback, no padding: the ciphertext has the length of
 * `data` (Part 1 §21 uses CFB so that the parameter keeps its size; the last partial block is XORed with
 * the start of the key stream). The caller encrypts a command's first parameter with a key from cfbKeyIv.
 */
export function cfbEncrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  const name = cfbCipherName(key, iv);
  requireBytes(data, 'data');
  const c = createCipheriv(name, key, iv);
  return concatBytes([c.update(data), c.final()]);
}

/** The inverse of cfbEncrypt: decrypts a response's first parameter (or a test's ciphertext). */
export function cfbDecrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  const name = cfbCipherName(key, iv);
  requireBytes(data, 'data');
  const d = createDecipheriv(name, key, iv);
  return concatBytes([d.update(data), d.final()]);
}

/**
 * XOR parameter obfuscation (Part 1 §21, "XOR parameter obfuscation"): data ⊕ mask with
 *   mask = KDFa(hash, sessionKey ‖ authValue, "XOR", nonceNewer, nonceOlder, 8·data.length)
 * The same call undoes it. Empty data stays empty (KDFa is not called for zero bits). XOR obfuscation
 * hides values from a passive observer only; it is not encryption.
 */
export function xorObfuscate(
  hash: HashAlgorithm,
  sessionKey: Uint8Array,
  authValue: Uint8Array,
  nonceNewer: Uint8Array,
  nonceOlder: Uint8Array,
  data: Uint8Array,
): Uint8Array {
  digestByteLen(hash);
  requireBytes(sessionKey, 'sessionKey');
  requireBytes(authValue, 'authValue');
  requireBytes(nonceNewer, 'nonceNewer');
  requireBytes(nonceOlder, 'nonceOlder');
  requireBytes(data, 'data');
  const out = new Uint8Array(data.length);
  if (data.length === 0) return out;
  const hmacKey = concatBytes([sessionKey, authValue]);
  const mask = kdfa(hash, hmacKey, 'XOR', nonceNewer, nonceOlder, 8 * data.length);
  hmacKey.fill(0);
  for (let i = 0; i < data.length; i++) out[i] = (data[i] ?? 0) ^ (mask[i] ?? 0);
  mask.fill(0);
  return out;
}
