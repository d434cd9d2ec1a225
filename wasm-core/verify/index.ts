// SPDX-License-Identifier: Apache-2.0
/**
 * @module wasm-core/verify
 *
 * Signature verification over one wasm-core instance: Ed25519 (RFC 8032), ECDSA over P-256 and P-384
 * (SEC 1 v2 §4.1.4), RSASSA-PKCS1-v1_5 and RSASSA-PSS (RFC 8017 §8). Every public key is a DER
 * SubjectPublicKeyInfo (der.ts); every message is hashed here, by wasm-core's own SHA kernels.
 *
 * `createVerifier(core)` takes the boundary of an instance the caller owns (`WasmCore.boundary()`:
 * exports, memory, arena) and returns `verify` and `verifyBatch`. Each call is synchronous, uses the
 * whole arena for its duration and leaves nothing in it. Parsed keys (and an RSA key's Montgomery
 * constants) are kept in a small least-recently-used cache on the JavaScript side, so a key is parsed
 * once per batch and once across calls while it stays in the cache. The module itself keeps one ECDSA
 * key per curve with a comb table in its static memory (assembly/weierstrass.ts, "Key cache"): a
 * same-key batch builds it, and so does a key that comes 8 times in a row.
 *
 * Verdicts: hostile bytes (a malformed or unsupported key, signature or encoding; a key of one
 * algorithm used with another) give `false`. Only misuse throws: an item that is not an object, an
 * unknown `alg`, a missing or unknown `hash` (required except for Ed25519), a field that is not a
 * Uint8Array, an unknown `sigEncoding` (TypeError), or a `saltLength` that is not a non-negative safe
 * integer (RangeError).
 *
 * Policy (each documented where it is enforced):
 * - RSA: 2048–4096-bit odd modulus, odd 3 ≤ e < 2^32, signature of exactly the modulus length
 *   (assembly/rsa.ts); a key whose SPKI algorithm is id-RSASSA-PSS verifies only PSS signatures, with the
 *   hash and the minimum salt length its parameters name (RFC 4055 §3.1, §3.3). PKCS#1 v1.5's encoded
 *   message is built and compared whole, so the Wycheproof "MissingNull" DigestInfo is rejected.
 * - ECDSA: the key's curve comes from its SPKI (uncompressed or compressed point; the hybrid form is
 *   refused, RFC 5480 §2.2); any of the four hashes may be used with either curve (the digest is
 *   truncated to the order's length, SEC 1 §4.1.4 step 5); high-S signatures are valid (no low-S rule).
 * - Ed25519: the rule of assembly/ed25519-rule.ts (cofactored, canonical S), shared by single and batch.
 *
 * Uses no Node built-ins (it runs in a browser). Not covered: other curves or algorithms, prehashed
 * messages, and RSASSA-PSS with an MGF1 hash different from the message hash.
 */
import { assertFunctions, type CoreExports, SHA_EXPORTS } from '../boundary.js';
import { assertBytes } from '../checks.js';
import { DerError, type PssKeyParams, type PublicKeyInfo, parseSpki } from './der.js';
import { HASHES, type HashName } from './digest.js';
import {
  type EcdsaExports,
  type EcdsaJob,
  type EcKey,
  ecdsaVerifyGroup,
  ecdsaVerifyOne,
  type SigCore,
} from './ecdsa.js';
import { type Ed25519Core, type Ed25519Exports, ed25519Verify, ed25519VerifyBatch } from './ed25519.js';
import { KeyCache } from './key-cache.js';
import { prepareRsaKey, type RsaCore, type RsaExports, rsaVerifyOne } from './rsa.js';

export { DerError, type PublicKeyInfo, parseEcdsaSignature, parseSpki } from './der.js';

/** The algorithms of `VerifyItem.alg`. */
export type VerifyAlgorithm = 'ed25519' | 'ecdsa' | 'rsa-pkcs1v15' | 'rsa-pss';
/** The hashes of `VerifyItem.hash`. */
export type VerifyHash = HashName;

/** One signature to verify. */
export interface VerifyItem {
  readonly alg: VerifyAlgorithm;
  /** Required except for Ed25519 (RFC 8032 PureEdDSA hashes with SHA-512 by definition; ignored). */
  readonly hash?: VerifyHash;
  /** DER SubjectPublicKeyInfo, for every algorithm. */
  readonly publicKey: Uint8Array;
  /** The message itself, not its digest. */
  readonly message: Uint8Array;
  /** Ed25519: 64 bytes; ECDSA: IEEE P1363 r‖s unless sigEncoding is 'der'; RSA: the raw k bytes. */
  readonly signature: Uint8Array;
  /** ECDSA only. Default 'p1363'. */
  readonly sigEncoding?: 'p1363' | 'der';
  /** RSA-PSS only: the salt length in bytes. Default: the hash's digest length. */
  readonly saltLength?: number;
}

/** What `createVerifier` needs of an instance: `WasmCore.boundary()` provides exactly this. */
export interface VerifierCore {
  readonly exports: object;
  readonly memory: { readonly buffer: ArrayBuffer };
  readonly arenaPtr: number;
  readonly arenaByteLen: number;
}

/** `verify` and `verifyBatch` bound to one instance. */
export interface Verifier {
  /** Whether item's signature is valid. */
  verify(item: VerifyItem): boolean;
  /** For each item, whether its signature is valid: one call, any mix of algorithms and keys. */
  verifyBatch(items: readonly VerifyItem[]): boolean[];
}

type SignatureExports = CoreExports & EcdsaExports & RsaExports & Ed25519Exports;

/** Every export the verifiers call, checked once by createVerifier. */
const REQUIRED_EXPORTS = [
  ...SHA_EXPORTS,
  'ecdsa_verify',
  'ecdsa_key_table',
  'ecdsa_batch_scratch_bytes',
  'ecdsa_verify_batch',
  'rsa_key_byte_len',
  'rsa_key_init',
  'rsa_verify_pkcs1',
  'rsa_verify_pss',
  'ed25519_verify',
  'ed25519_verify_digest',
  'ed25519_batch_scratch_byte_len',
  'ed25519_verify_batch',
] as const;

/**
 * A same-key group of at least this many ECDSA signatures in one batch is verified with a comb table
 * of its key: building the table (1.1 ms for P-256, 3.3 ms for P-384) costs about as much as 7 single
 * verifications with a new key (150 µs, 410 µs), after which each signature costs about a quarter of one
 * (40 µs, 115 µs); measured with `npm run bench -- sig`. The break-even is near 10; the table also stays
 * in the module's key cache for the next batch or single verifications under the same key.
 */
export const ECDSA_TABLE_MIN_GROUP = 12;

/** Parsed keys kept across calls (least recently used first out). */
const KEY_CACHE_SIZE = 64;
/** Keys longer than this are parsed every time rather than cached (no supported SPKI is this long). */
const KEY_CACHE_MAX_BYTES = 2048;

/** A parsed key; RSA keys also keep their prepared kernel record once one has been made. */
type CachedKey =
  | { readonly kind: 'invalid' }
  | { readonly kind: 'ed25519'; readonly key: Uint8Array }
  | { readonly kind: 'ec'; readonly key: EcKey }
  | {
      readonly kind: 'rsa';
      readonly modulus: Uint8Array;
      readonly exponent: Uint8Array;
      readonly pssOnly: boolean;
      readonly pss: PssKeyParams | undefined;
      /** The prepared record, undefined before preparation, null when the key breaks the policy. */
      record: Uint8Array | null | undefined;
    };

const ALGORITHMS: ReadonlySet<string> = new Set(['ed25519', 'ecdsa', 'rsa-pkcs1v15', 'rsa-pss']);
// Names and sizes from digest.ts's table, the one wasm-core keeps (agent/crypto/algorithms.ts agrees with it).
const HASH_NAMES: ReadonlySet<string> = new Set(Object.keys(HASHES));

/**
 * The misuse checks of verify and verifyBatch (STYLE principle 5: misuse by our own code throws, naming
 * the argument), for callers that route items elsewhere but must refuse the same misuse.
 */
export function checkVerifyItem(item: unknown, name: string): asserts item is VerifyItem {
  if (typeof item !== 'object' || item === null) throw new TypeError(`${name} must be an object`);
  const it = item as Record<string, unknown>;
  if (typeof it.alg !== 'string' || !ALGORITHMS.has(it.alg)) {
    throw new TypeError(
      `${name}.alg must be one of ed25519, ecdsa, rsa-pkcs1v15, rsa-pss, got ${String(it.alg)}`,
    );
  }
  if (it.alg !== 'ed25519' && (typeof it.hash !== 'string' || !HASH_NAMES.has(it.hash))) {
    throw new TypeError(
      `${name}.hash must be one of ${[...HASH_NAMES].join(', ')} for ${it.alg}, got ${String(it.hash)}`,
    );
  }
  assertBytes(it.publicKey, `${name}.publicKey`);
  assertBytes(it.message, `${name}.message`);
  assertBytes(it.signature, `${name}.signature`);
  if (it.sigEncoding !== undefined && it.sigEncoding !== 'p1363' && it.sigEncoding !== 'der') {
    throw new TypeError(`${name}.sigEncoding must be 'p1363' or 'der', got ${String(it.sigEncoding)}`);
  }
  if (it.saltLength !== undefined) {
    if (typeof it.saltLength !== 'number') throw new TypeError(`${name}.saltLength must be a number`);
    if (!Number.isSafeInteger(it.saltLength) || it.saltLength < 0) {
      throw new RangeError(`${name}.saltLength must be a non-negative integer, got ${it.saltLength}`);
    }
  }
}

function toCached(info: PublicKeyInfo): CachedKey {
  switch (info.kind) {
    case 'ed25519':
      return { kind: 'ed25519', key: info.key.slice() };
    case 'ec':
      return { kind: 'ec', key: { curve: info.curve, point: info.point.slice() } };
    case 'rsa':
      return {
        kind: 'rsa',
        modulus: info.modulus.slice(),
        exponent: info.exponent.slice(),
        pssOnly: info.pssOnly,
        pss: info.pss,
        record: undefined,
      };
  }
}

/**
 * The verifier of one instance. Throws Error if the instance lacks an export the verifiers need (a
 * module built without them).
 */
export function createVerifier(core: VerifierCore): Verifier {
  assertFunctions(core.exports as Readonly<Record<string, unknown>>, REQUIRED_EXPORTS);
  const x = core.exports as SignatureExports;
  const u8 = new Uint8Array(core.memory.buffer);
  const dv = new DataView(core.memory.buffer);
  const sigCore: SigCore & RsaCore = { x, u8, dv, arenaPtr: core.arenaPtr, arenaByteLen: core.arenaByteLen };
  const edCore: Ed25519Core = {
    exports: x,
    memory: core.memory,
    arenaPtr: core.arenaPtr,
    arenaByteLen: core.arenaByteLen,
  };
  const cache = new KeyCache<CachedKey>(KEY_CACHE_SIZE);

  function parse(spki: Uint8Array): CachedKey {
    try {
      return toCached(parseSpki(spki));
    } catch (err) {
      if (!(err instanceof DerError)) throw err;
      return { kind: 'invalid' };
    }
  }

  /** The parsed key: cached, so that equal key bytes give the same object (batches group by it). */
  function keyFor(item: VerifyItem): CachedKey {
    const spki = item.publicKey;
    return spki.length <= KEY_CACHE_MAX_BYTES ? cache.get(spki, parse) : parse(spki);
  }

  function rsaRecord(key: Extract<CachedKey, { kind: 'rsa' }>): Uint8Array | null {
    if (key.record === undefined) key.record = prepareRsaKey(sigCore, key.modulus, key.exponent) ?? null;
    return key.record;
  }

  function ecdsaJob(item: VerifyItem, key: EcKey): EcdsaJob {
    return {
      key,
      hash: item.hash as HashName,
      message: item.message,
      signature: item.signature,
      encoding: item.sigEncoding ?? 'p1363',
    };
  }

  /** Every algorithm but the batched paths: one item against its parsed key. */
  function verifyParsed(item: VerifyItem, key: CachedKey): boolean {
    switch (item.alg) {
      case 'ed25519':
        return key.kind === 'ed25519' && ed25519Verify(edCore, key.key, item.message, item.signature);
      case 'ecdsa':
        return key.kind === 'ec' && ecdsaVerifyOne(sigCore, ecdsaJob(item, key.key));
      case 'rsa-pkcs1v15': {
        // RFC 4055 §1.2: a key published for RSASSA-PSS must not verify PKCS#1 v1.5 signatures.
        if (key.kind !== 'rsa' || key.pssOnly) return false;
        const record = rsaRecord(key);
        if (record === null) return false;
        const hash = item.hash as HashName;
        return rsaVerifyOne(sigCore, {
          key: record,
          scheme: 'pkcs1v15',
          hash,
          message: item.message,
          signature: item.signature,
          saltLength: 0,
        });
      }
      case 'rsa-pss': {
        if (key.kind !== 'rsa') return false;
        const hash = item.hash as HashName;
        const saltLength = item.saltLength ?? HASHES[hash].digestByteLen;
        // RFC 4055 §3.3: the hash and MGF1 hash must be the key's, the salt at least its saltLength.
        if (
          key.pss !== undefined &&
          (key.pss.hash !== hash || key.pss.mgf1Hash !== hash || saltLength < key.pss.saltLength)
        ) {
          return false;
        }
        const record = rsaRecord(key);
        if (record === null) return false;
        return rsaVerifyOne(sigCore, {
          key: record,
          scheme: 'pss',
          hash,
          message: item.message,
          signature: item.signature,
          saltLength,
        });
      }
    }
  }

  function verify(item: VerifyItem): boolean {
    checkVerifyItem(item, 'item');
    return verifyParsed(item, keyFor(item));
  }

  function verifyBatch(items: readonly VerifyItem[]): boolean[] {
    if (!Array.isArray(items)) throw new TypeError('items must be an array of VerifyItem');
    items.forEach((item, i) => {
      checkVerifyItem(item, `items[${i}]`);
    });
    const n = items.length;
    const verdicts = new Array<boolean>(n).fill(false);
    // Each distinct key is parsed once: the cache returns one object per distinct key's bytes.
    const edIndex: number[] = [];
    const edItems: { publicKey: Uint8Array; message: Uint8Array; signature: Uint8Array }[] = [];
    const ecGroups = new Map<CachedKey, number[]>();
    for (let i = 0; i < n; i++) {
      const item = items[i] as VerifyItem;
      const key = keyFor(item);
      if (item.alg === 'ed25519') {
        if (key.kind === 'ed25519') {
          edIndex.push(i);
          edItems.push({ publicKey: key.key, message: item.message, signature: item.signature });
        }
      } else if (item.alg === 'ecdsa' && key.kind === 'ec') {
        const group = ecGroups.get(key);
        if (group === undefined) ecGroups.set(key, [i]);
        else group.push(i);
      } else {
        verdicts[i] = verifyParsed(item, key);
      }
    }
    if (edItems.length > 0) {
      const ed = ed25519VerifyBatch(edCore, edItems);
      edIndex.forEach((i, j) => {
        verdicts[i] = ed[j] === true;
      });
    }
    for (const [key, group] of ecGroups) {
      if (key.kind !== 'ec') continue;
      if (group.length < ECDSA_TABLE_MIN_GROUP) {
        for (const i of group)
          verdicts[i] = ecdsaVerifyOne(sigCore, ecdsaJob(items[i] as VerifyItem, key.key));
        continue;
      }
      const out = ecdsaVerifyGroup(
        sigCore,
        key.key,
        group.map((i) => ecdsaJob(items[i] as VerifyItem, key.key)),
      );
      group.forEach((i, j) => {
        verdicts[i] = out[j] === true;
      });
    }
    return verdicts;
  }

  return { verify, verifyBatch };
}
