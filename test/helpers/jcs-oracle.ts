// SPDX-License-Identifier: Apache-2.0
// An independent RFC 8785 serialization for tests of canonical JSON and of the digests built on it.
import type { JsonValue } from '../../agent/encoding/canonical-json.js';

/**
 * An independent, straightforward JCS for the property tests: names sorted by an explicit UTF-16 code
 * unit comparison, primitives through JSON.stringify (ECMAScript's serialization, which RFC 8785 adopts).
 */
export function jcsOracle(v: JsonValue): string {
  if (Array.isArray(v)) return `[${v.map(jcsOracle).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Readonly<Record<string, JsonValue>>;
    const names = Object.keys(o).sort((a, b) => {
      for (let i = 0; i < Math.min(a.length, b.length); i++) {
        const d = a.charCodeAt(i) - b.charCodeAt(i);
        if (d !== 0) return d;
      }
      return a.length - b.length;
    });
    return `{${names.map((n) => `${JSON.stringify(n)}:${jcsOracle(o[n] ?? null)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}
