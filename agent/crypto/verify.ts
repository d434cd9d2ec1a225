// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/crypto/verify
 *
 * The one place the agent verifies signatures (DESIGN §2): Ed25519, ECDSA P-256/P-384, RSASSA-PKCS1-v1_5
 * and RSASSA-PSS over DER SubjectPublicKeyInfo keys, with the item shape of wasm-core/verify
 * (`VerifyItem`). Each call goes to the engine measured faster for it (see `route`), and both engines give
 * the same verdict on every input, because every key first passes wasm-core's strict SPKI parser and key
 * policy here (node:crypto alone would accept BER-encoded SPKIs, trailing bytes, RSA keys below 2048
 * bits, RSA signatures shorter than the modulus and the hybrid EC point form that RFC 5480 §2.2 forbids).
 * test/wasm-core/verify-facade.test.ts runs every Wycheproof and NIST vector and random cases with
 * one-bit mutants through both engines and asserts equal verdicts.
 *
 * Call `await initVerification()` once; until it resolves, every call throws (there is no fallback that
 * could change a verdict). A process that verifies a few signatures and exits (`execgate exec`) calls
 * `initVerification({ oneShot: true })` instead: no wasm-core instance up front, node:crypto wherever its
 * verdict is wasm-core's (`oneShotVerdict`), the same verdicts.
 *
 * In a browser bundle (backend.browser.ts: no node:crypto) every verdict is wasm-core's, in every mode.
 *
 * Not covered: what wasm-core/verify does not cover (other curves, prehashed messages, PSS with an MGF1
 * hash other than the message hash).
 */
import type { KeyObject } from 'node:crypto';
import {
  checkVerifyItem,
  createWasmCoreSync,
  DerError,
  ECDSA_TABLE_MIN_GROUP,
  init,
  KeyCache,
  type PublicKeyInfo,
  parseSpki,
  type VerifyItem,
  type WasmCore,
} from '../../wasm-core/index.js';
import { fromHex, toHex } from '../encoding/bytes.js';
import { digestByteLen } from './algorithms.js';
import { native as nodeCrypto } from './backend.js';

export type { VerifyItem } from '../../wasm-core/index.js';

/**
 * Measured with `npm run bench -- sig` (2 × AMD EPYC Zen 4, Node 20.20; medians of round-robin samples,
 * µs per verification, wasm-core SIMD build; node:crypto with its KeyObject created once):
 *
 * | call | wasm-core | node:crypto | route |
 * | --- | --- | --- | --- |
 * | Ed25519 | — | — | wasm-core: node:crypto's rule (cofactorless) differs on the speccheck cases |
 * | ECDSA P-256, a new key | 130 | 66 | node:crypto |
 * | ECDSA P-256, the key of the previous P-256 call | 37 (comb table cached) | 66 | wasm-core |
 * | ECDSA P-256, same-key group of ≥ 12 in a batch | 35 per signature | 66 | wasm-core |
 * | ECDSA P-384, any | 327 new key, 94 repeated | 635 | wasm-core |
 * | RSA-2048 PKCS#1 v1.5 / PSS | 48 / 50 | 21 / 22 | node:crypto |
 *
 * wasm-core keeps one key per curve with a comb table, built once the key has come 8 times in a row
 * (wasm-core/assembly/weierstrass.ts, "Key cache"); routing a repeated P-256 key to it from its second
 * use on lets that table pay for itself, while a stream of different keys stays on node:crypto.
 */
export type Engine = 'wasm-core' | 'node:crypto';

/** The previous single ECDSA P-256 key, by its parsed entry (equal bytes give the same entry). */
let lastP256: NodeKey | undefined;

/** Which engine verifies this single item (after its misuse checks). */
export function route(item: VerifyItem): Engine {
  if (item.alg === 'ed25519' || nodeCrypto === undefined) return 'wasm-core';
  if (item.alg !== 'ecdsa') return 'node:crypto';
  const k = nodeKeys.get(item.publicKey, makeNodeKey);
  if (k.info?.kind !== 'ec' || k.info.curve !== 'P-256') return 'wasm-core';
  const repeated = k === lastP256;
  lastP256 = k;
  return repeated ? 'wasm-core' : 'node:crypto';
}

/** wasm-core's default instance, once `initVerification()` has resolved (in one-shot mode, once needed). */
let verifier: WasmCore | undefined;
/** Whether `initVerification({ oneShot: true })` is in force. */
let oneShot = false;

/** Options of `initVerification`. */
export interface VerificationOptions {
  /**
   * For a process that verifies a few signatures and exits (`execgate exec`, `check`): do not
   * instantiate wasm-core up front (the largest part of such a process's verification cost, BENCHMARKS.md
   * "The gate"); verify each item as `oneShotVerdict` says. A later call without it instantiates wasm-core
   * and routes by `route` again. Default false.
   */
  readonly oneShot?: boolean;
}

/** Instantiate wasm-core (idempotent, unless `options.oneShot`); it verifies through `verify` and `verifyBatch`. */
export async function initVerification(options: VerificationOptions = {}): Promise<void> {
  oneShot = options.oneShot === true;
  if (!oneShot) verifier ??= await init();
}

function wasmVerifier(): WasmCore {
  // One-shot mode instantiates wasm-core only for a verdict that needs it, inside a synchronous call.
  if (verifier === undefined && oneShot) verifier = createWasmCoreSync();
  if (verifier === undefined) throw new Error('agent/crypto/verify: call `await initVerification()` first');
  return verifier;
}

// ---------------------------------------------------------------------------------------------------
// node:crypto with wasm-core's key policy in front of it

/** RSA modulus bounds and exponent rule of wasm-core/assembly/rsa.ts, restated for the keys node:crypto gets. */
const RSA_MIN_BITS = 2048;
const RSA_MAX_BITS = 4096;

function bitLength(bigEndian: Uint8Array): number {
  const top = bigEndian[0];
  return top === undefined ? 0 : (bigEndian.length - 1) * 8 + (32 - Math.clz32(top));
}

/** Whether wasm-core's policy admits the key (SPKI already strictly parsed). */
function keyAdmitted(info: PublicKeyInfo): boolean {
  if (info.kind === 'rsa') {
    const bits = bitLength(info.modulus);
    const e = info.exponent;
    const eLast = e[e.length - 1] ?? 0;
    const eValue = e.reduce((acc, b) => acc * 256 + b, 0);
    return (
      bits >= RSA_MIN_BITS &&
      bits <= RSA_MAX_BITS &&
      ((info.modulus[info.modulus.length - 1] ?? 0) & 1) === 1 &&
      e.length <= 4 &&
      (eLast & 1) === 1 &&
      eValue >= 3
    );
  }
  if (info.kind === 'ec') {
    // Uncompressed (04) or compressed (02/03) of the curve's size; no hybrid (06/07) form.
    const n = info.curve === 'P-256' ? 32 : 48;
    const tag = info.point[0];
    return (
      (tag === 4 && info.point.length === 1 + 2 * n) ||
      ((tag === 2 || tag === 3) && info.point.length === 1 + n)
    );
  }
  return true;
}

/** A key as node:crypto gets it: parsed strictly first; `key` only when wasm-core's policy admits it. */
interface NodeKey {
  readonly info: PublicKeyInfo | undefined;
  readonly key: KeyObject | undefined;
}

const nodeKeys = new KeyCache<NodeKey>(64);

function makeNodeKey(spki: Uint8Array): NodeKey {
  let info: PublicKeyInfo | undefined;
  try {
    info = parseSpki(spki);
  } catch (err) {
    if (!(err instanceof DerError)) throw err;
  }
  let key: KeyObject | undefined;
  if (nodeCrypto !== undefined && info !== undefined && keyAdmitted(info)) {
    try {
      // node:crypto reads any Uint8Array (its types say Buffer); the Buffer global is Node's alone.
      key = nodeCrypto.createPublicKey({ key: spki as Buffer, format: 'der', type: 'spki' });
    } catch {
      key = undefined;
    }
  }
  return { info, key };
}

/** The parsed key and its KeyObject (cached), or undefined when wasm-core would refuse the key. */
function nodeKey(spki: Uint8Array): { info: PublicKeyInfo; key: KeyObject } | undefined {
  const entry = nodeKeys.get(spki, makeNodeKey);
  return entry.info === undefined || entry.key === undefined
    ? undefined
    : { info: entry.info, key: entry.key };
}

/**
 * node:crypto's verdict for an item whose misuse checks wasm-core has already run (wasm-core's where
 * there is no node:crypto).
 */
function nodeVerdict(item: VerifyItem): boolean {
  if (nodeCrypto === undefined) return wasmVerifier().verify(item);
  const nodeVerify = nodeCrypto.verify;
  const k = nodeKey(item.publicKey);
  if (k === undefined) return false;
  const { info, key } = k;
  const hash = item.hash ?? 'sha256';
  try {
    if (item.alg === 'ecdsa') {
      if (info.kind !== 'ec') return false;
      return nodeVerify(
        hash,
        item.message,
        { key, dsaEncoding: item.sigEncoding === 'der' ? 'der' : 'ieee-p1363' },
        item.signature,
      );
    }
    if (info.kind !== 'rsa') return false;
    // RSA signatures are exactly k bytes (RFC 8017 §8.2.2 step 1); OpenSSL also accepts shorter ones.
    if (item.signature.length !== (bitLength(info.modulus) + 7) >> 3) return false;
    if (item.alg === 'rsa-pkcs1v15') {
      if (info.pssOnly) return false;
      return nodeVerify(hash, item.message, key, item.signature);
    }
    const saltLength = item.saltLength ?? digestByteLen(hash);
    if (
      info.pss !== undefined &&
      (info.pss.hash !== hash || info.pss.mgf1Hash !== hash || saltLength < info.pss.saltLength)
    ) {
      return false;
    }
    return nodeVerify(
      hash,
      item.message,
      { key, padding: nodeCrypto.constants.RSA_PKCS1_PSS_PADDING, saltLength },
      item.signature,
    );
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------------
// Ed25519 on node:crypto, where its verdict is wasm-core's

/** p = 2^255 − 19 and the group order L = 2^252 + 27742317777372353535851937790883648493, little-endian. */
const P_LE = fromHex('edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f');
const L_LE = fromHex('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010');
/**
 * The y coordinates (little-endian, sign bit clear) of the 8 points of small order: 1 (the identity),
 * p − 1 (order 2), 0 (the two of order 4) and the two of order 8, each with both signs of x. The only
 * points with x = 0 are the first two, so refusing these y also refuses every "negative zero".
 */
const SMALL_ORDER_Y = new Set([
  '0100000000000000000000000000000000000000000000000000000000000000',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  '0000000000000000000000000000000000000000000000000000000000000000',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
]);

/** Whether the little-endian number `a` is below `b` (both 32 bytes). */
function lessLe(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 31; i >= 0; i--) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x < y;
  }
  return false;
}

/**
 * Whether a 32-byte point encoding passes wasm-core's rules 2 and 3 as far as they need no curve
 * arithmetic (wasm-core/assembly/ed25519-rule.ts): y < p, not one of the 8 points of small order. A y
 * with no point on the curve is left to node:crypto, which cannot accept it.
 */
function pointAdmitted(enc: Uint8Array): boolean {
  const y = enc.slice();
  y[31] = (y[31] ?? 0) & 0x7f;
  return lessLe(y, P_LE) && !SMALL_ORDER_Y.has(toHex(y));
}

/**
 * node:crypto's Ed25519 verdict where it is wasm-core's: false when wasm-core's rule rejects the key or
 * the encodings (rules 1–3), true when node:crypto accepts, undefined when it rejects. node:crypto
 * (OpenSSL) checks the cofactorless equation [S]B = R + [k]A; multiplied by 8 it gives wasm-core's
 * cofactored one, so its acceptance stands once rules 1–3 hold; its rejection does not (a signature
 * with a torsion component can pass the cofactored equation only: ed25519-speccheck cases 4 and 5).
 */
function ed25519OnNode(item: VerifyItem): boolean | undefined {
  const entry = nodeKeys.get(item.publicKey, makeNodeKey);
  if (entry.info?.kind !== 'ed25519') return false;
  const sig = item.signature;
  if (sig.length !== 64) return false;
  if (
    !lessLe(sig.subarray(32), L_LE) ||
    !pointAdmitted(sig.subarray(0, 32)) ||
    !pointAdmitted(entry.info.key)
  )
    return false;
  if (entry.key === undefined || nodeCrypto === undefined) return undefined;
  try {
    return nodeCrypto.verify(null, item.message, entry.key, sig) ? true : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The verdict in one-shot mode: ECDSA and RSA on node:crypto behind wasm-core's key policy (the same
 * verdict on every input, test/wasm-core/verify-facade.test.ts), Ed25519 on node:crypto where
 * `ed25519OnNode` decides, else on wasm-core (instantiated then).
 */
function oneShotVerdict(item: VerifyItem): boolean {
  if (item.alg !== 'ed25519') return nodeVerdict(item);
  return ed25519OnNode(item) ?? wasmVerifier().verify(item);
}

// ---------------------------------------------------------------------------------------------------
// The facade

/**
 * Whether item's signature is valid. Throws only on misuse (wasm-core/verify's rules: unknown `alg`,
 * missing `hash`, a field that is not a Uint8Array…), and before `initVerification()` has resolved.
 */
export function verifySignature(item: VerifyItem): boolean {
  checkVerifyItem(item, 'item');
  if (oneShot) return oneShotVerdict(item);
  return verifyWith(route(item), item);
}

/**
 * The verdict of one engine, whatever `route` would choose: for the tests that hold both engines to the
 * same verdicts, and for the benchmarks.
 */
export function verifyWith(engine: Engine, item: VerifyItem): boolean {
  const v = wasmVerifier();
  checkVerifyItem(item, 'item');
  return engine === 'wasm-core' ? v.verify(item) : nodeVerdict(item);
}

/**
 * For each item, whether its signature is valid. ECDSA items under one key that number at least
 * ECDSA_TABLE_MIN_GROUP go to wasm-core's comb-table path, with all Ed25519 items (batch verification);
 * the rest are routed one by one as `verifySignature`.
 */
export function verifySignatures(items: readonly VerifyItem[]): boolean[] {
  const v = oneShot ? undefined : wasmVerifier();
  if (!Array.isArray(items)) throw new TypeError('items must be an array of VerifyItem');
  if (v === undefined) {
    items.forEach((item, i) => {
      checkVerifyItem(item, `items[${i}]`);
    });
    return items.map(oneShotVerdict);
  }
  // ECDSA items grouped by key: the cache gives one entry object per distinct key's bytes.
  const groups = new Map<NodeKey, number[]>();
  const itemKey: (NodeKey | undefined)[] = [];
  items.forEach((item, i) => {
    checkVerifyItem(item, `items[${i}]`);
    if (item.alg !== 'ecdsa') {
      itemKey.push(undefined);
      return;
    }
    const k = nodeKeys.get(item.publicKey, makeNodeKey);
    itemKey.push(k);
    const g = groups.get(k);
    if (g === undefined) groups.set(k, [i]);
    else g.push(i);
  });
  const toWasm: number[] = [];
  const verdicts = new Array<boolean>(items.length).fill(false);
  items.forEach((item, i) => {
    const k = itemKey[i];
    const bigGroup = k !== undefined && (groups.get(k)?.length ?? 0) >= ECDSA_TABLE_MIN_GROUP;
    if (bigGroup || item.alg === 'ed25519' || (k === undefined ? false : route(item) === 'wasm-core'))
      toWasm.push(i);
    else verdicts[i] = nodeVerdict(item);
  });
  const out = v.verifyBatch(toWasm.map((i) => items[i] as VerifyItem));
  toWasm.forEach((i, j) => {
    verdicts[i] = out[j] === true;
  });
  return verdicts;
}
