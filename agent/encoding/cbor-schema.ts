// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/encoding/cbor-schema
 *
 * CBOR structures declared once, with decode and encode derived from the declaration (as tpm/schema.ts
 * does for TPM structures). A `record` is a map with a closed set of keys: an undeclared key, a missing
 * required one or a value of the wrong shape is a SchemaError naming its path (`scope.env[2]`), so a
 * reader never ignores what a writer meant as a condition.
 */
import { ExecgateError } from '../errors.js';
import type { CborKey, CborValue } from './cbor.js';

/** A value that does not fit its declaration; `message` names the path. */
export class SchemaError extends ExecgateError<'E_SCHEMA'> {
  constructor(message: string) {
    super('E_SCHEMA', message);
  }
}

export interface Codec<T> {
  decode(v: CborValue, path: string): T;
  encode(x: T): CborValue;
}

const bad = (message: string): never => {
  throw new SchemaError(message);
};

export const text = (max: number): Codec<string> => ({
  decode(v, path) {
    if (typeof v !== 'string') return bad(`${path} is not text`);
    if (v.length === 0 || v.length > max) bad(`${path} must have 1 to ${max} characters`);
    if (v.includes('\0')) bad(`${path} contains NUL`);
    return v;
  },
  encode: (x) => x,
});

export const uint = (min: number, max: number): Codec<number> => ({
  decode(v, path) {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max)
      return bad(`${path} is not an integer from ${min} to ${max}`);
    return v;
  },
  encode: (x) => x,
});

export const bytes = (min: number, max = min): Codec<Uint8Array> => ({
  decode(v, path) {
    if (!(v instanceof Uint8Array)) return bad(`${path} is not a byte string`);
    if (v.length < min || v.length > max)
      bad(`${path} must be ${min === max ? min : `${min} to ${max}`} bytes, got ${v.length}`);
    return v;
  },
  encode: (x) => x,
});

export const literal = <L extends string>(value: L): Codec<L> => ({
  decode: (v, path) => (v === value ? value : bad(`${path} must be ${JSON.stringify(value)}`)),
  encode: (x) => x,
});

/** An array of `item`, at most `max` long; `order` compares neighbours (must be < 0: ascending, unique). */
export function list<T>(item: Codec<T>, max: number, order?: (a: T, b: T) => number): Codec<readonly T[]> {
  return {
    decode(v, path) {
      if (!Array.isArray(v)) return bad(`${path} is not an array`);
      if (v.length > max) bad(`${path} has more than ${max} entries`);
      const out = v.map((x, i) => item.decode(x, `${path}[${i}]`));
      if (order)
        for (let i = 1; i < out.length; i++)
          if (order(out[i - 1] as T, out[i] as T) >= 0) bad(`${path} must be ascending and unique`);
      return out;
    },
    encode: (xs) => xs.map((x) => item.encode(x)),
  };
}

/** A map of text to `value`, at most `max` entries. */
export function textMap<T>(key: Codec<string>, value: Codec<T>, max: number): Codec<ReadonlyMap<string, T>> {
  return {
    decode(v, path) {
      if (!(v instanceof Map)) return bad(`${path} is not a map`);
      if (v.size > max) bad(`${path} has more than ${max} entries`);
      const out = new Map<string, T>();
      for (const [k, x] of v) {
        if (typeof k !== 'string') bad(`${path}: keys are text`);
        const name = key.decode(k, `${path} key`);
        out.set(name, value.decode(x, `${path}.${name}`));
      }
      return out;
    },
    encode: (m) => new Map([...m].map(([k, x]) => [k, value.encode(x)])),
  };
}

/** A codec that also checks a rule on the decoded value (and before encoding). */
export function refine<T>(codec: Codec<T>, rule: (x: T, path: string) => string | undefined): Codec<T> {
  return {
    decode(v, path) {
      const x = codec.decode(v, path);
      const why = rule(x, path);
      return why === undefined ? x : bad(why);
    },
    encode(x) {
      const why = rule(x, 'value');
      return why === undefined ? codec.encode(x) : bad(why);
    },
  };
}

interface FieldSpec<T, Optional extends boolean> {
  readonly key: CborKey;
  readonly codec: Codec<T>;
  readonly optional: Optional;
}

export const required = <T>(key: CborKey, codec: Codec<T>): FieldSpec<T, false> => ({
  key,
  codec,
  optional: false,
});
export const optional = <T>(key: CborKey, codec: Codec<T>): FieldSpec<T, true> => ({
  key,
  codec,
  optional: true,
});

/** The field declarations of T: optional properties need `optional(…)`, the others `required(…)`. */
export type Fields<T> = {
  readonly [K in keyof T]-?: undefined extends T[K]
    ? FieldSpec<Exclude<T[K], undefined>, true>
    : FieldSpec<T[K], false>;
};

/** A map with exactly the declared keys (each optional one may be absent). */
export function record<T extends object>(fields: Fields<T>): Codec<T> {
  const specs = Object.entries(fields) as [string, FieldSpec<unknown, boolean>][];
  const declared = new Set<CborKey>(specs.map(([, s]) => s.key));
  return {
    decode(v, path) {
      if (!(v instanceof Map)) return bad(`${path || 'the value'} is not a map`);
      for (const k of v.keys())
        if (!declared.has(k)) bad(`${path ? `${path}: ` : ''}unknown key ${JSON.stringify(String(k))}`);
      const out: Record<string, unknown> = {};
      for (const [name, s] of specs) {
        const at = path ? `${path}.${name}` : name;
        if (v.has(s.key)) out[name] = s.codec.decode(v.get(s.key) as CborValue, at);
        else if (!s.optional) bad(`${at} is required`);
      }
      return out as T;
    },
    encode(x) {
      const m = new Map<CborKey, CborValue>();
      for (const [name, s] of specs) {
        const value = (x as Record<string, unknown>)[name];
        if (value !== undefined) m.set(s.key, s.codec.encode(value));
      }
      return m;
    },
  };
}
