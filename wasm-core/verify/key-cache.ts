// SPDX-License-Identifier: Apache-2.0
/**
 * @module wasm-core/verify/key-cache
 *
 * A small least-recently-used map from public key bytes to whatever a verifier derives from them (a
 * parsed key, prepared Montgomery constants, a KeyObject). Lookups hash the bytes (FNV-1a, 32 bits) and
 * then compare them with a private copy, so a caller that reuses or mutates its Uint8Array can never get
 * another key's entry. Turning the bytes into a string key instead measured about 6 µs per lookup for a
 * 2048-bit RSA SPKI, a tenth of a verification.
 *
 * Not covered: concurrency (the verifiers are synchronous) and adversarial hash flooding (a bucket is a
 * short list, and the map holds at most `capacity` buckets).
 */

interface Entry<V> {
  readonly bytes: Uint8Array;
  readonly value: V;
  next: Entry<V> | undefined;
}

/** FNV-1a over the bytes (32-bit), mixed with the length. */
function fnv1a(bytes: Uint8Array): number {
  let h = 0x811c9dc5 ^ bytes.length;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ (bytes[i] ?? 0), 0x01000193);
  return h >>> 0;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class KeyCache<V> {
  readonly #capacity: number;
  readonly #buckets = new Map<number, Entry<V>>();

  /** At most `capacity` hash buckets are kept; the least recently used goes first. */
  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  /** The value cached for these bytes, computing and caching it with `make` when absent. */
  get(bytes: Uint8Array, make: (bytes: Uint8Array) => V): V {
    const h = fnv1a(bytes);
    const head = this.#buckets.get(h);
    for (let e = head; e !== undefined; e = e.next) {
      if (equal(e.bytes, bytes)) {
        // Re-insert the bucket: Map iteration order is insertion order, so the first is the least recent.
        this.#buckets.delete(h);
        this.#buckets.set(h, head as Entry<V>);
        return e.value;
      }
    }
    const value = make(bytes);
    this.#buckets.delete(h);
    this.#buckets.set(h, { bytes: bytes.slice(), value, next: head });
    if (this.#buckets.size > this.#capacity) {
      const oldest = this.#buckets.keys().next();
      if (oldest.done !== true) this.#buckets.delete(oldest.value);
    }
    return value;
  }
}
