// SPDX-License-Identifier: Apache-2.0
/**
 * The arithmetic of HMAC authorization sessions, TCG TPM 2.0 Library Part 1 §19.6 — session key, cpHash,
 * rpHash and the command/response HMAC — with no TPM I/O. The session layer decides which key, nonces
 * and attributes go in; this module only computes.
 *
 * Byte rules shared by every formula here (Part 1 §19.6.5): TPM2B values (names, nonces, digests,
 * authValues) enter without their size field; the command code and response code enter as big-endian
 * u32; sessionAttributes enters as its one marshalled byte (TPMA_SESSION, Part 2 §8.4).
 *
 * Not covered: choosing the HMAC key (whether the authValue is included: not when the session is bound
 * to the entity it authorizes, Part 1 §19.6.5), the TPM's empty-HMAC rule (when both the key and the
 * caller's HMAC are empty the TPM accepts an empty HMAC), policy-session specifics, and constant-time
 * comparison of a response HMAC (use crypto.timingSafeEqual on the result of responseHmac).
 */
// HMAC keys (session key ‖ authValue) are secrets and stay in node:crypto; cpHash/rpHash hash public
// parameters through the agent's hashing facade.
import { createHmac } from 'node:crypto';
import { digestByteLen, type HashAlgorithm } from '../crypto/algorithms.js';
import { createHasher } from '../crypto/hash.js';
import { kdfa, requireBytes } from './kdf.js';

function requireU32(value: number, name: string): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffff_ffff) {
    throw new RangeError(`${name} must be an integer in [0, 2^32-1]; got ${String(value)}`);
  }
}

function u32be(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, false);
  return b;
}

function requireDigest(hash: HashAlgorithm, value: Uint8Array, name: string): void {
  requireBytes(value, name);
  const size = digestByteLen(hash);
  if (value.length !== size) {
    throw new RangeError(`${name} must be a ${hash} digest (${size} bytes); got ${value.length} bytes`);
  }
}

/**
 * An authValue as the TPM uses it in an HMAC or KDF key: with trailing zero octets removed (Part 1
 * §19.6.5 note 2; the reference implementation's EntityGetAuthValue, tpm2-tss iesys_strip_trailing_zeros).
 * Only trailing zeros go: 00 01 00 becomes 00 01. Returns a copy.
 */
export function stripTrailingZeros(authValue: Uint8Array): Uint8Array {
  requireBytes(authValue, 'authValue');
  let end = authValue.length;
  while (end > 0 && authValue[end - 1] === 0) end--;
  return authValue.slice(0, end);
}

/**
 * The session key, Part 1 §19.6.8:
 *   sessionKey = KDFa(authHash, bind.authValue ‖ salt, "ATH", nonceTPM, nonceCaller, 8·digestSize)
 * where `hmacKey` is that concatenation (the bind entity's authValue with trailing zeros stripped, then
 * the decrypted salt; either may be absent) and the nonces are those of TPM2_StartAuthSession.
 *
 * The TPM derives a key whenever the session is bound or salted (reference implementation SessionCreate:
 * `bind != TPM_RH_NULL || seed.size != 0`), so:
 * - an empty `hmacKey` without `bound` is an unbound, unsalted session: the session key is empty;
 * - an empty `hmacKey` with `{ bound: true }` (bound to an entity whose authValue is empty, no salt) still
 *   runs KDFa over the empty key, as the TPM does. The session layer must say so.
 * A non-empty `hmacKey` always runs KDFa.
 */
export function sessionKey(
  hash: HashAlgorithm,
  hmacKey: Uint8Array,
  nonceTPM: Uint8Array,
  nonceCaller: Uint8Array,
  options: { readonly bound?: boolean } = {},
): Uint8Array {
  const size = digestByteLen(hash);
  requireBytes(hmacKey, 'hmacKey');
  requireBytes(nonceTPM, 'nonceTPM');
  requireBytes(nonceCaller, 'nonceCaller');
  if (options.bound !== undefined && typeof options.bound !== 'boolean') {
    throw new TypeError('options.bound must be a boolean');
  }
  if (hmacKey.length === 0 && options.bound !== true) return new Uint8Array(0);
  return kdfa(hash, hmacKey, 'ATH', nonceTPM, nonceCaller, 8 * size);
}

/**
 * The command parameter hash (Part 1 §18, "Command Parameter Hash (cpHash)"):
 *   cpHash = H(commandCode ‖ name₁ ‖ name₂ ‖ name₃ ‖ parameters)
 * with one Name per handle in the handle area, in order, and `parameters` the marshalled parameter area
 * as sent: with the first parameter already encrypted when a session encrypts it (the TPM checks the
 * HMAC before it decrypts; shown on swtpm by test/tpm/sessions.test.ts).
 */
export function cpHash(
  hash: HashAlgorithm,
  commandCode: number,
  names: readonly Uint8Array[],
  parameters: Uint8Array,
): Uint8Array {
  digestByteLen(hash);
  requireU32(commandCode, 'commandCode');
  if (!Array.isArray(names)) throw new TypeError('names must be an array of Uint8Array');
  names.forEach((name, i) => {
    requireBytes(name, `names[${i}]`);
  });
  requireBytes(parameters, 'parameters');
  const h = createHasher(hash).update(u32be(commandCode));
  for (const name of names) h.update(name);
  return h.update(parameters).digest();
}

/**
 * The response parameter hash (Part 1 §18, "Response Parameter Hash (rpHash)"):
 *   rpHash = H(responseCode ‖ commandCode ‖ parameters)
 * with `parameters` the marshalled response parameter area as received (still encrypted when the TPM
 * encrypted the first parameter). Sessions are only returned
 * with TPM_RC_SUCCESS, so responseCode is 0 in practice.
 */
export function rpHash(
  hash: HashAlgorithm,
  responseCode: number,
  commandCode: number,
  parameters: Uint8Array,
): Uint8Array {
  digestByteLen(hash);
  requireU32(responseCode, 'responseCode');
  requireU32(commandCode, 'commandCode');
  requireBytes(parameters, 'parameters');
  return createHasher(hash)
    .update(u32be(responseCode))
    .update(u32be(commandCode))
    .update(parameters)
    .digest();
}

function sessionHmac(hash: HashAlgorithm, key: Uint8Array, parts: readonly Uint8Array[], attributes: number) {
  const mac = createHmac(hash, key);
  for (const p of parts) mac.update(p);
  return new Uint8Array(mac.update(Uint8Array.of(attributes)).digest());
}

function requireAttributes(sessionAttributes: number): void {
  if (
    typeof sessionAttributes !== 'number' ||
    !Number.isInteger(sessionAttributes) ||
    sessionAttributes < 0 ||
    sessionAttributes > 0xff
  ) {
    throw new RangeError(
      `sessionAttributes must be a TPMA_SESSION byte in [0, 255]; got ${String(sessionAttributes)}`,
    );
  }
}

/**
 * The command HMAC of one authorization session, Part 1 §19.6.5:
 *   HMAC_authHash(sessionKey ‖ authValue,
 *                 cpHash ‖ nonceNewer ‖ nonceOlder ‖ nonceTPM_decrypt ‖ nonceTPM_encrypt ‖ sessionAttributes)
 * For a command nonceNewer is this command's nonceCaller and nonceOlder the session's last nonceTPM.
 * `nonceDecrypt`/`nonceEncrypt` are the nonceTPM of a *different* session used for parameter decryption
 * or encryption; they go only into the first authorization session's HMAC, the encrypt one only if that
 * session is not also the decrypt session, and are otherwise empty (reference implementation
 * ComputeCommandHMAC). `cpHash` must be computed with the session's authHash.
 */
export function commandHmac(
  hash: HashAlgorithm,
  key: Uint8Array,
  cpHash: Uint8Array,
  nonceNewer: Uint8Array,
  nonceOlder: Uint8Array,
  nonceDecrypt: Uint8Array,
  nonceEncrypt: Uint8Array,
  sessionAttributes: number,
): Uint8Array {
  requireBytes(key, 'key');
  requireDigest(hash, cpHash, 'cpHash');
  requireBytes(nonceNewer, 'nonceNewer');
  requireBytes(nonceOlder, 'nonceOlder');
  requireBytes(nonceDecrypt, 'nonceDecrypt');
  requireBytes(nonceEncrypt, 'nonceEncrypt');
  requireAttributes(sessionAttributes);
  return sessionHmac(
    hash,
    key,
    [cpHash, nonceNewer, nonceOlder, nonceDecrypt, nonceEncrypt],
    sessionAttributes,
  );
}

/**
 * The response HMAC of one authorization session, Part 1 §19.6.5 (response form):
 *   HMAC_authHash(sessionKey ‖ authValue, rpHash ‖ nonceNewer ‖ nonceOlder ‖ sessionAttributes)
 * For a response nonceNewer is the nonceTPM the response carries and nonceOlder the nonceCaller of the
 * command; sessionAttributes are the ones in the response. No decrypt/encrypt nonces are included
 * (reference implementation ComputeResponseHMAC).
 */
export function responseHmac(
  hash: HashAlgorithm,
  key: Uint8Array,
  rpHash: Uint8Array,
  nonceNewer: Uint8Array,
  nonceOlder: Uint8Array,
  sessionAttributes: number,
): Uint8Array {
  requireBytes(key, 'key');
  requireDigest(hash, rpHash, 'rpHash');
  requireBytes(nonceNewer, 'nonceNewer');
  requireBytes(nonceOlder, 'nonceOlder');
  requireAttributes(sessionAttributes);
  return sessionHmac(hash, key, [rpHash, nonceNewer, nonceOlder], sessionAttributes);
}
