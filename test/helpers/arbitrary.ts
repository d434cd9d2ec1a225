// SPDX-License-Identifier: Apache-2.0
// Derives fast-check arbitraries from a schema's description, so every declared structure gets a
// round-trip property test without a hand-written generator.
import fc from 'fast-check';
import type { Desc, Schema } from '../../agent/tpm/schema.js';

type Rec = Record<string, unknown>;

export function arbitraryOf(schema: Schema<unknown>): fc.Arbitrary<unknown> {
  return arbitraryDesc(schema.desc, schema.name);
}

function arbitraryDesc(desc: Desc, name: string): fc.Arbitrary<unknown> {
  switch (desc.kind) {
    case 'uint':
      // INT32 shares the 4-byte description; generate values valid for both readings of it.
      return name === 'INT32'
        ? fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff })
        : fc.integer({ min: 0, max: 2 ** (8 * desc.byteLen) - 1 });
    case 'u64':
      return fc.bigInt({ min: 0n, max: 0xffff_ffff_ffff_ffffn });
    case 'bytes':
      return fc.uint8Array({ maxLength: Math.min(desc.max, 80) });
    case 'fixed':
      return fc.uint8Array({ minLength: desc.byteLen, maxLength: desc.byteLen });
    case 'sized':
      return arbitraryOf(desc.inner);
    case 'empty':
      return fc.constant(null);
    case 'list':
      return fc.array(arbitraryOf(desc.elem), { maxLength: Math.min(desc.max, 4) });
    case 'bits': {
      const rec: Record<string, fc.Arbitrary<unknown>> = {};
      let known = 0;
      for (const [key, f] of Object.entries(desc.fields)) {
        const [lsb, width] = typeof f === 'number' ? [f, 1] : f;
        known = (known | ((2 ** width - 1) * 2 ** lsb)) >>> 0;
        rec[key] = typeof f === 'number' ? fc.boolean() : fc.integer({ min: 0, max: 2 ** width - 1 });
      }
      const all = 2 ** (8 * desc.byteLen) - 1;
      rec.reservedBits = fc.integer({ min: 0, max: all }).map((n) => (n & ~known & all) >>> 0);
      return fc.record(rec);
    }
    case 'union':
      throw new TypeError(`${name}: a union has no arbitrary outside its structure`);
    case 'struct':
      return arbitraryStruct(desc.fields);
  }
}

/** Picks each union's selector from the union's own cases, then the matching member. */
function arbitraryStruct(fields: readonly (readonly [string, Schema<unknown>])[]): fc.Arbitrary<unknown> {
  const selectors = new Map<string, number[]>();
  for (const [, s] of fields) {
    if (s.desc.kind !== 'union') continue;
    const keys = [...s.desc.cases.keys()];
    const prev = selectors.get(s.desc.selector);
    selectors.set(s.desc.selector, prev ? prev.filter((k) => keys.includes(k)) : keys);
  }
  const plain: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [key, s] of fields) {
    if (s.desc.kind === 'union') continue;
    const sel = selectors.get(key);
    plain[key] = sel ? fc.constantFrom(...sel) : arbitraryOf(s);
  }
  return fc.record(plain).chain((base: Rec) => {
    const members: Record<string, fc.Arbitrary<unknown>> = {};
    for (const [key, s] of fields) {
      if (s.desc.kind !== 'union') continue;
      const member = s.desc.cases.get(base[s.desc.selector] as number);
      if (!member) throw new TypeError(`no member for ${key}`);
      members[key] = arbitraryOf(member);
    }
    // Keep the declared field order, as a value read back from the wire has it.
    return fc
      .record(members)
      .map((m) => Object.fromEntries(fields.map(([k]) => [k, k in m ? m[k] : base[k]])));
  });
}
