// SPDX-License-Identifier: Apache-2.0
/**
 * Schema combinators for TCG Part 2 structures (STYLE.md principle 1, after go-tpm's reflect.go).
 * A structure is declared once as a schema value; its TypeScript type is inferred from the schema, and
 * marshal/unmarshal are the generic `write`/`read` of the combinators, so no structure has a hand-written
 * encoder or decoder. Each schema also carries a plain description (`desc`) that tests walk to derive
 * arbitrary values.
 *
 * A structure with TPMU fields (`union(name, selector, cases)`) infers a discriminated union keyed on
 * its selector field: TPMS_ATTEST is `{type: 0x8018, attested: TPMS_QUOTE_INFO, …} | {type: 0x8017, …}`,
 * so checking `type` narrows `attested` with no cast (go-tpm needs a checked accessor per member for
 * this; TypeScript proves it). A value read from the wire always has a selector its union declares:
 * `read` refuses any other.
 *
 * Writing our own values checks them (RangeError/TypeError name the field: caller misuse); reading
 * checks every size against its declared maximum and fails with TpmParseError (hostile bytes).
 */
import { TpmParseError } from './errors.js';
import { Reader, Writer } from './marshal.js';

type Parent = Readonly<Record<string, unknown>>;

export type Desc =
  | { readonly kind: 'uint'; readonly byteLen: 1 | 2 | 4 }
  | { readonly kind: 'u64' }
  | { readonly kind: 'bytes'; readonly prefixLen: 1 | 2; readonly max: number }
  | { readonly kind: 'fixed'; readonly byteLen: number }
  | { readonly kind: 'sized'; readonly inner: Schema<unknown> }
  | { readonly kind: 'struct'; readonly fields: readonly (readonly [string, Schema<unknown>])[] }
  | { readonly kind: 'list'; readonly elem: Schema<unknown>; readonly max: number }
  | {
      readonly kind: 'union';
      readonly selector: string;
      readonly cases: ReadonlyMap<number, Schema<unknown>>;
    }
  | { readonly kind: 'bits'; readonly byteLen: 1 | 2 | 4; readonly fields: BitFields }
  | { readonly kind: 'empty' };

/** A TCG structure: its spec name, its description, and the generic codec derived from them. */
export interface Schema<T> {
  readonly name: string;
  readonly desc: Desc;
  // Method syntax on purpose: it keeps Schema<number> assignable to Schema<unknown>.
  write(w: Writer, value: T, parent?: Parent): void;
  read(r: Reader, parent?: Parent): T;
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

/** Same wire form under another TCG name (e.g. TPMI_ALG_HASH is a UINT16). */
export function alias<T>(name: string, schema: Schema<T>): Schema<T> {
  return { ...schema, name };
}

function uint(name: string, byteLen: 1 | 2 | 4): Schema<number> {
  const max = 2 ** (8 * byteLen) - 1;
  return {
    name,
    desc: { kind: 'uint', byteLen },
    write(w, v) {
      if (!Number.isInteger(v) || v < 0 || v > max) throw new RangeError(`${name}: ${v} is not in 0..${max}`);
      if (byteLen === 1) w.u8(v);
      else if (byteLen === 2) w.u16(v);
      else w.u32(v);
    },
    read(r) {
      return byteLen === 1 ? r.u8(name) : byteLen === 2 ? r.u16(name) : r.u32(name);
    },
  };
}

export const u8 = uint('UINT8', 1);
export const u16 = uint('UINT16', 2);
export const u32 = uint('UINT32', 4);

export const u64: Schema<bigint> = {
  name: 'UINT64',
  desc: { kind: 'u64' },
  write(w, v) {
    if (typeof v !== 'bigint' || v < 0n || v > 0xffff_ffff_ffff_ffffn) {
      throw new RangeError(`UINT64: ${String(v)} is not a 64-bit unsigned bigint`);
    }
    w.u64(v);
  },
  read(r) {
    return r.u64('UINT64');
  },
};

/** Signed 32-bit (INT32, e.g. PolicySecret's expiration). */
export const i32: Schema<number> = {
  name: 'INT32',
  desc: { kind: 'uint', byteLen: 4 },
  write(w, v) {
    if (!Number.isInteger(v) || v < -0x8000_0000 || v > 0x7fff_ffff) throw new RangeError(`INT32: ${v}`);
    w.u32(v >>> 0);
  },
  read(r) {
    return r.u32('INT32') | 0;
  },
};

function checkBytes(name: string, v: unknown): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new TypeError(`${name}: expected a Uint8Array`);
  return v;
}

/** A size-prefixed byte buffer (TPM2B_*, or a u8-prefixed array such as pcrSelect) with its maximum. */
export function bytes(name: string, max: number, prefixLen: 1 | 2 = 2): Schema<Uint8Array> {
  return {
    name,
    desc: { kind: 'bytes', prefixLen, max },
    write(w, v) {
      const b = checkBytes(name, v);
      if (b.length > max) throw new RangeError(`${name}: ${b.length} bytes exceeds the maximum ${max}`);
      if (prefixLen === 1) w.u8(b.length);
      else w.u16(b.length);
      w.bytes(b);
    },
    read(r) {
      const at = r.offset;
      const len = prefixLen === 1 ? r.u8(`${name}.size`) : r.u16(`${name}.size`);
      if (len > max) throw new TpmParseError(`${name}: size ${len} exceeds the maximum ${max}`, at);
      return r.bytes(len, name);
    },
  };
}

/** A fixed-length byte array (a digest inside TPMU_HA). */
export function fixed(name: string, byteLen: number): Schema<Uint8Array> {
  return {
    name,
    desc: { kind: 'fixed', byteLen },
    write(w, v) {
      const b = checkBytes(name, v);
      if (b.length !== byteLen) throw new RangeError(`${name}: expected ${byteLen} bytes, got ${b.length}`);
      w.bytes(b);
    },
    read(r) {
      return r.bytes(byteLen, name);
    },
  };
}

/** A TPM2B that wraps a structure: u16 size, then exactly that many bytes holding `inner`. */
export function sized<T>(name: string, inner: Schema<T>): Schema<T> {
  return {
    name,
    desc: { kind: 'sized', inner },
    write(w, v) {
      const at = w.length;
      w.u16(0);
      inner.write(w, v);
      const len = w.length - at - 2;
      if (len > 0xffff) throw new RangeError(`${name}: contents of ${len} bytes do not fit a TPM2B`);
      w.patchU16(at, len);
    },
    read(r) {
      const len = r.u16(`${name}.size`);
      const sub = r.sub(len, name);
      const v = inner.read(sub);
      sub.done(name);
      return v;
    },
  };
}

/** Members of a TPMU, by selector value (a TPM_ALG_ID, TPM_ST or TPM_CAP constant). */
type Cases = Readonly<Record<number, Schema<unknown>>>;

/** A TPMU union: its selector field and its members, kept in the type so `struct` can discriminate. */
export interface UnionSchema<S extends string, C extends Cases> extends Schema<Infer<C[keyof C]>> {
  /** The sibling field whose value selects the member. */
  readonly selector: S;
  readonly cases: C;
}

type Fields = Record<string, Schema<unknown>>;
/**
 * The fields of F that are unions, matched on the two fields a union adds: a UnionSchema<S, C> does not
 * extend UnionSchema<string, Cases> (tsc relates C through the conditional type Infer<C[keyof C]> as if
 * invariant), so the interface itself cannot be the test.
 */
type UnionKeys<F extends Fields> = {
  [K in keyof F]: F[K] extends { readonly selector: string; readonly cases: Cases } ? K : never;
}[keyof F];
type CasesOf<U> = U extends { readonly cases: infer C } ? C : never;
type SelectorOf<U> = U extends { readonly selector: infer S extends string } ? S : never;
/** Every selector value some union of F declares. */
type SelectorValues<F extends Fields> = { [K in UnionKeys<F>]: keyof CasesOf<F[K]> }[UnionKeys<F>];
/**
 * One member of the discriminated union for selector value V: the selector field is V and each union
 * field is its member for V (`never` when that union lacks V, which no value can then satisfy).
 */
type Member<F extends Fields, S extends string, V> = {
  -readonly [K in keyof F]: K extends S
    ? V
    : K extends UnionKeys<F>
      ? V extends keyof CasesOf<F[K]>
        ? Infer<CasesOf<F[K]>[V]>
        : never
      : Infer<F[K]>;
};
// Distributes over V. Part 2's structures select all their unions by one field (TPMT_PUBLIC.type selects
// both parameters and unique), so S is a single name.
type Discriminated<F extends Fields, S extends string, V> = V extends number ? Member<F, S, V> : never;

/**
 * The member of a discriminated structure value T whose selector K is V, e.g.
 * `Selected<TPMT_PUBLIC, 'type', typeof TPM_ALG.RSA>`: an RSA public area, `parameters` TPMS_RSA_PARMS.
 */
export type Selected<T, K extends keyof T, V extends T[K]> = Extract<T, { readonly [P in K]: V }>;

/** The value of a struct: plain fields, or a discriminated union when some fields are TPMU unions. */
type StructValue<F extends Fields> = [UnionKeys<F>] extends [never]
  ? { -readonly [K in keyof F]: Infer<F[K]> }
  : Discriminated<F, SelectorOf<F[UnionKeys<F>]>, SelectorValues<F>>;

/** A TPMS/TPMT structure: fields in wire order (object key order). */
export function struct<F extends Record<string, Schema<unknown>>>(
  name: string,
  fields: F,
): Schema<StructValue<F>> {
  const list = Object.entries(fields) as [string, Schema<unknown>][];
  return {
    name,
    desc: { kind: 'struct', fields: list },
    write(w, v) {
      if (typeof v !== 'object' || v === null) throw new TypeError(`${name}: expected an object`);
      const rec = v as Parent;
      for (const [key, schema] of list) {
        if (!(key in rec)) throw new TypeError(`${name}: missing field ${key}`);
        try {
          schema.write(w, rec[key], rec);
        } catch (e) {
          // Name the path to the bad field (TPMT_PUBLIC.parameters…) in the caller's error.
          if (e instanceof RangeError) throw new RangeError(`${name}.${key}: ${e.message}`);
          if (e instanceof TypeError) throw new TypeError(`${name}.${key}: ${e.message}`);
          throw e;
        }
      }
    },
    read(r) {
      const out: Record<string, unknown> = {};
      for (const [key, schema] of list) out[key] = schema.read(r, out);
      return out as StructValue<F>;
    },
  };
}

/** A TPML list: u32 count, then the elements; `max` is the spec's array bound. */
export function list<T>(name: string, elem: Schema<T>, max: number): Schema<T[]> {
  return {
    name,
    desc: { kind: 'list', elem, max },
    write(w, v) {
      if (!Array.isArray(v)) throw new TypeError(`${name}: expected an array`);
      if (v.length > max) throw new RangeError(`${name}: ${v.length} elements exceeds the maximum ${max}`);
      w.u32(v.length);
      for (const e of v) elem.write(w, e);
    },
    read(r) {
      const at = r.offset;
      const count = r.u32(`${name}.count`);
      if (count > max) throw new TpmParseError(`${name}: count ${count} exceeds the maximum ${max}`, at);
      const out: T[] = [];
      for (let i = 0; i < count; i++) out.push(elem.read(r));
      return out;
    },
  };
}

/** The TPMS_EMPTY member of a union (a NULL algorithm selects nothing). */
export const empty: Schema<null> = {
  name: 'TPMS_EMPTY',
  desc: { kind: 'empty' },
  write() {},
  read() {
    return null;
  },
};

/**
 * A TPMU union inside a structure, selected by an earlier sibling field (`selector`), as in Part 2
 * where e.g. TPMT_PUBLIC.type selects both `parameters` and `unique`.
 */
export function union<S extends string, C extends Cases>(
  name: string,
  selector: S,
  cases: C,
): UnionSchema<S, C> {
  const map = new Map<number, Schema<unknown>>(
    Object.entries(cases).map(([k, s]) => [Number(k), s as Schema<unknown>]),
  );
  const pick = (parent: Parent | undefined): [number, Schema<unknown> | undefined] => {
    const sel = parent?.[selector];
    if (typeof sel !== 'number') throw new TypeError(`${name}: selector ${selector} is not a number`);
    return [sel, map.get(sel)];
  };
  return {
    name,
    selector,
    cases,
    desc: { kind: 'union', selector, cases: map },
    write(w, v, parent) {
      const [sel, schema] = pick(parent);
      if (!schema) throw new RangeError(`${name}: no member for ${selector} 0x${sel.toString(16)}`);
      schema.write(w, v);
    },
    read(r, parent) {
      const at = r.offset;
      const [sel, schema] = pick(parent);
      if (!schema) throw new TpmParseError(`${name}: no member for ${selector} 0x${sel.toString(16)}`, at);
      return schema.read(r) as Infer<C[keyof C]>;
    },
  };
}

/** Bit positions of a TPMA_*: a number is a one-bit flag, [lsb, width] a multi-bit field. */
export type BitFields = Readonly<Record<string, number | readonly [number, number]>>;

export type BitsValue<F extends BitFields> = {
  -readonly [K in keyof F]: F[K] extends number ? boolean : number;
} & {
  /** Bits the spec reserves, kept as read so that re-marshalling is exact. */
  reservedBits: number;
};

/** A TPMA_* attribute word; reserved bits are kept in `reservedBits`. */
export function bits<F extends BitFields>(name: string, byteLen: 1 | 2 | 4, fields: F): Schema<BitsValue<F>> {
  const spans = Object.entries(fields).map(([key, f]) => {
    const [lsb, width] = typeof f === 'number' ? [f, 1] : f;
    return { key, lsb, width, flag: typeof f === 'number', mask: ((2 ** width - 1) * 2 ** lsb) >>> 0 };
  });
  const known = spans.reduce((m, s) => (m | s.mask) >>> 0, 0);
  const word = uint(name, byteLen);
  return {
    name,
    desc: { kind: 'bits', byteLen, fields },
    write(w, v) {
      if (typeof v !== 'object' || v === null) throw new TypeError(`${name}: expected an object`);
      const rec = v as Parent;
      const reserved = rec.reservedBits ?? 0;
      if (typeof reserved !== 'number' || (reserved & known) !== 0) {
        throw new RangeError(`${name}: reservedBits overlaps named bits`);
      }
      let out = reserved;
      for (const s of spans) {
        const f = rec[s.key];
        const n = s.flag ? (f === true ? 1 : 0) : f;
        if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n >= 2 ** s.width) {
          throw new RangeError(`${name}.${s.key}: ${String(f)} does not fit ${s.width} bit(s)`);
        }
        out = (out | (n * 2 ** s.lsb)) >>> 0;
      }
      word.write(w, out);
    },
    read(r) {
      const raw = word.read(r);
      const out: Record<string, unknown> = { reservedBits: (raw & ~known) >>> 0 };
      for (const s of spans) {
        const n = ((raw & s.mask) >>> 0) / 2 ** s.lsb;
        out[s.key] = s.flag ? n === 1 : n;
      }
      return out as BitsValue<F>;
    },
  };
}

/** Builds a TPMA_* value from the flags that are set; everything else is clear. */
export function attrs<F extends BitFields>(
  schema: Schema<BitsValue<F>>,
  set: Partial<BitsValue<F>>,
): BitsValue<F> {
  const { desc } = schema;
  if (desc.kind !== 'bits') throw new TypeError(`${schema.name} is not a bits schema`);
  const out: Record<string, unknown> = { reservedBits: 0 };
  for (const [key, f] of Object.entries(desc.fields)) out[key] = typeof f === 'number' ? false : 0;
  return { ...out, ...set } as BitsValue<F>;
}

/** Marshals a value of a schema to its wire bytes. */
export function marshal<T>(schema: Schema<T>, value: T): Uint8Array {
  const w = new Writer();
  schema.write(w, value);
  return w.finish();
}

/** Unmarshals exactly one value; trailing bytes are an error. */
export function unmarshal<T>(schema: Schema<T>, data: Uint8Array): T {
  const r = new Reader(data);
  const v = schema.read(r);
  r.done(schema.name);
  return v;
}
