// SPDX-License-Identifier: Apache-2.0
// Canonical JSON: RFC 8785 canonicalization against the RFC's examples and its author's test data and an
// independent implementation, and the strict I-JSON parser's refusals, positions and properties.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toHex } from '../../agent/encoding/bytes.js';
import {
  canonicalBytes,
  canonicalize,
  JsonError,
  type JsonValue,
  parseJson,
} from '../../agent/encoding/canonical-json.js';
import { jcsOracle } from '../helpers/jcs-oracle.js';
import { thrown } from '../helpers/thrown.js';

/**
 * The test data of RFC 8785's first author, github.com/cyberphone/json-canonicalization testdata/input and
 * testdata/outhex (commit 19d51d7fe467d4706a3ff08adf8a748f29fc21e0): `values` is the RFC's §3.2.2 example,
 * `weird` extends its §3.2.3 sorting example. Inputs copied as text, expected outputs as the hex bytes.
 */
const CYBERPHONE: readonly { name: string; input: string; outhex: string }[] = [
  {
    name: 'arrays',
    input: '[\n  56,\n  {\n    "d": true,\n    "10": null,\n    "1": [ ]\n  }\n]\n',
    outhex: '5b35362c7b2231223a5b5d2c223130223a6e756c6c2c2264223a747275657d5d',
  },
  {
    name: 'french',
    input:
      '{\n  "peach": "This sorting order",\n  "p\u00e9ch\u00e9": "is wrong according to French",\n  "p\u00eache": "but canonicalization MUST",\n  "sin":   "ignore locale"\n}\n',
    outhex:
      '7b227065616368223a225468697320736f7274696e67206f72646572222c2270c3a96368c3a9223a2269732077726f6e67206163636f7264696e6720746f204672656e6368222c2270c3aa636865223a226275742063616e6f6e6963616c697a6174696f6e204d555354222c2273696e223a2269676e6f7265206c6f63616c65227d',
  },
  {
    name: 'structures',
    input:
      '{\n  "1": {"f": {"f": "hi","F": 5} ,"\\n": 56.0},\n  "10": { },\n  "": "empty",\n  "a": { },\n  "111": [ {"e": "yes","E": "no" } ],\n  "A": { }\n}',
    outhex:
      '7b22223a22656d707479222c2231223a7b225c6e223a35362c2266223a7b2246223a352c2266223a226869227d7d2c223130223a7b7d2c22313131223a5b7b2245223a226e6f222c2265223a22796573227d5d2c2241223a7b7d2c2261223a7b7d7d',
  },
  {
    name: 'unicode',
    input: '{\n  "Unnormalized Unicode":"A\\u030a"\n}\n',
    outhex: '7b22556e6e6f726d616c697a656420556e69636f6465223a2241cc8a227d',
  },
  {
    name: 'values',
    input:
      '{\n  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],\n  "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",\n  "literals": [null, true, false]\n}',
    outhex:
      '7b226c69746572616c73223a5b6e756c6c2c747275652c66616c73655d2c226e756d62657273223a5b3333333333333333332e333333333333332c31652b33302c342e352c302e3030322c31652d32375d2c22737472696e67223a22e282ac245c75303030665c6e4127425c225c5c5c5c5c222f227d',
  },
  {
    name: 'weird',
    input:
      '{\n  "\\u20ac": "Euro Sign",\n  "\\r": "Carriage Return",\n  "\\u000a": "Newline",\n  "1": "One",\n  "\\u0080": "Control\\u007f",\n  "\\ud83d\\ude02": "Smiley",\n  "\\u00f6": "Latin Small Letter O With Diaeresis",\n  "\\ufb33": "Hebrew Letter Dalet With Dagesh",\n  "</script>": "Browser Challenge"\n}\n',
    outhex:
      '7b225c6e223a224e65776c696e65222c225c72223a2243617272696167652052657475726e222c2231223a224f6e65222c223c2f7363726970743e223a2242726f77736572204368616c6c656e6765222c22c280223a22436f6e74726f6c7f222c22c3b6223a224c6174696e20536d616c6c204c6574746572204f205769746820446961657265736973222c22e282ac223a224575726f205369676e222c22f09f9882223a22536d696c6579222c22efacb3223a22486562726577204c65747465722044616c6574205769746820446167657368227d',
  },
];

/** RFC 8785 §3.2.3: the sorting example, its names in the order the RFC gives as canonical. */
const RFC_SORT_INPUT = String.raw`{
  "\u20ac": "Euro Sign",
  "\r": "Carriage Return",
  "\ufb33": "Hebrew Letter Dalet With Dagesh",
  "1": "One",
  "\ud83d\ude00": "Emoji: Grinning Face",
  "\u0080": "Control",
  "\u00f6": "Latin Small Letter O With Diaeresis"
}`;
const RFC_SORT_ORDER = [
  'Carriage Return',
  'One',
  'Control',
  'Latin Small Letter O With Diaeresis',
  'Euro Sign',
  'Emoji: Grinning Face',
  'Hebrew Letter Dalet With Dagesh',
];

/** RFC 8785 Appendix B: IEEE 754 bit patterns and their JSON forms (NaN and ±Infinity are errors). */
const APPENDIX_B: readonly (readonly [string, string])[] = [
  ['0000000000000000', '0'],
  ['8000000000000000', '0'],
  ['0000000000000001', '5e-324'],
  ['8000000000000001', '-5e-324'],
  ['7fefffffffffffff', '1.7976931348623157e+308'],
  ['ffefffffffffffff', '-1.7976931348623157e+308'],
  ['4340000000000000', '9007199254740992'],
  ['c340000000000000', '-9007199254740992'],
  ['4430000000000000', '295147905179352830000'],
  ['44b52d02c7e14af5', '9.999999999999997e+22'],
  ['44b52d02c7e14af6', '1e+23'],
  ['44b52d02c7e14af7', '1.0000000000000001e+23'],
  ['444b1ae4d6e2ef4e', '999999999999999700000'],
  ['444b1ae4d6e2ef4f', '999999999999999900000'],
  ['444b1ae4d6e2ef50', '1e+21'],
  ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
  ['3eb0c6f7a0b5ed8d', '0.000001'],
  ['41b3de4355555553', '333333333.3333332'],
  ['41b3de4355555554', '333333333.33333325'],
  ['41b3de4355555555', '333333333.3333333'],
  ['41b3de4355555556', '333333333.3333334'],
  ['41b3de4355555557', '333333333.33333343'],
  ['becbf647612f3696', '-0.0000033333333333333333'],
  ['43143ff3c1cb0959', '1424953923781206.2'],
];
const APPENDIX_B_ERRORS = ['7fffffffffffffff', '7ff0000000000000', 'fff0000000000000'];

const double = (bitsHex: string): number => Buffer.from(bitsHex, 'hex').readDoubleBE(0);

describe('RFC 8785 canonicalization', () => {
  for (const { name, input, outhex } of CYBERPHONE) {
    it(`cyberphone testdata ${name}`, () => {
      expect(toHex(canonicalBytes(parseJson(input)))).toBe(outhex);
      expect(toHex(canonicalBytes(JSON.parse(input) as JsonValue))).toBe(outhex);
    });
  }

  it('§3.2.3: names sort by UTF-16 code units (U+1F600 before U+FB33, unlike code point order)', () => {
    const out = canonicalize(parseJson(RFC_SORT_INPUT));
    // Object.values would reorder the integer-like name "1": read the order from the text itself.
    const at = RFC_SORT_ORDER.map((value) => out.indexOf(`"${value}"`));
    expect(at.every((x) => x > 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    expect(out.startsWith('{"\\r":"Carriage Return","1":"One","\u0080":"Control"')).toBe(true);
  });

  it('Appendix B: number serialization', () => {
    for (const [bits, json] of APPENDIX_B) expect(canonicalize(double(bits)), bits).toBe(json);
    for (const bits of APPENDIX_B_ERRORS) expect(() => canonicalize(double(bits))).toThrow(RangeError);
  });

  it('matches an independent implementation on arbitrary JSON values', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const value = v as JsonValue;
        expect(canonicalize(value)).toBe(jcsOracle(value));
      }),
    );
  });

  it('parse ∘ canonicalize is the identity on canonical text, and agrees with JSON.parse', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const text = canonicalize(v as JsonValue);
        expect(canonicalize(parseJson(text))).toBe(text);
        expect(JSON.parse(JSON.stringify(parseJson(text)))).toEqual(JSON.parse(text));
      }),
    );
  });

  it('rejects what is not JSON data', () => {
    expect(() => canonicalize('\ud800' as JsonValue)).toThrow(RangeError);
    expect(() => canonicalize({ a: undefined } as unknown as JsonValue)).toThrow(TypeError);
    expect(() => canonicalize(new Uint8Array(1) as unknown as JsonValue)).toThrow(TypeError);
    expect(() => canonicalize(1n as unknown as JsonValue)).toThrow(TypeError);
  });
});

describe('strict I-JSON parser', () => {
  const bad: readonly (readonly [string, string | Uint8Array, 'E_JSON_FORMAT' | 'E_JSON_LIMIT'])[] = [
    ['duplicate member name (RFC 7493 §2.3)', '{"a":1,"b":2,"a":1}', 'E_JSON_FORMAT'],
    ['unpaired surrogate, escaped (RFC 7493 §2.1)', '["\\ud800"]', 'E_JSON_FORMAT'],
    ['unpaired low surrogate after a pair', '"\\ud83d\\ude00\\ude00"', 'E_JSON_FORMAT'],
    ['-0 (RFC 8785 errata 7920)', '[-0.0]', 'E_JSON_FORMAT'],
    ['overflow to Infinity (RFC 7493 §2.2)', '1e400', 'E_JSON_FORMAT'],
    ['byte order mark', '\ufeff{}', 'E_JSON_FORMAT'],
    ['text after the value', '{} {}', 'E_JSON_FORMAT'],
    ['leading zero', '[01]', 'E_JSON_FORMAT'],
    ['raw control character in a string', '"a\tb"', 'E_JSON_FORMAT'],
    ['bad escape', '"\\x41"', 'E_JSON_FORMAT'],
    ['short \\u escape', '"\\u12"', 'E_JSON_FORMAT'],
    ['unterminated string', '{"a', 'E_JSON_FORMAT'],
    ['trailing comma', '[1,]', 'E_JSON_FORMAT'],
    ['empty text', '', 'E_JSON_FORMAT'],
    ['single quotes', "{'a':1}", 'E_JSON_FORMAT'],
    ['invalid UTF-8', new Uint8Array([0x22, 0xc3, 0x28, 0x22]), 'E_JSON_FORMAT'],
    ['nesting deeper than the limit', `${'['.repeat(65)}${']'.repeat(65)}`, 'E_JSON_LIMIT'],
  ];
  for (const [name, input, code] of bad) {
    it(`rejects ${name}`, () => {
      expect(thrown(JsonError, () => parseJson(input)).code).toBe(code);
    });
  }

  it('names the line and column', () => {
    const e = thrown(JsonError, () => parseJson('{\n  "a": 1,\n  "a": 2\n}'));
    expect([e.line, e.column, e.offset]).toEqual([3, 3, 14]);
  });

  it('accepts what RFC 8259 allows: escapes, pairs, exponents, nesting at the limit', () => {
    expect(parseJson('"\\ud83d\\ude00\\/\\b\\f\\n\\r\\t\\"\\\\"')).toBe('😀/\b\f\n\r\t"\\');
    expect(parseJson(' [ -1.5E+2 , 0 , true , null ] ')).toEqual([-150, 0, true, null]);
    expect(() => parseJson(`${'['.repeat(64)}${']'.repeat(64)}`)).not.toThrow();
  });

  it('a member named __proto__ is data, not a prototype', () => {
    const v = parseJson('{"__proto__":{"polluted":true}}') as Readonly<Record<string, JsonValue>>;
    expect(Object.keys(v)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(canonicalize(v)).toBe('{"__proto__":{"polluted":true}}');
  });

  it('arbitrary text: a value JSON.parse agrees with, or a JsonError', () => {
    const jsonish = fc.stringMatching(/^[\s{}[\]",:0-9eE.+\-a-z\\u]{0,40}$/);
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 64 }), jsonish), (text) => {
        let value: JsonValue;
        try {
          value = parseJson(text);
        } catch (e) {
          if (e instanceof JsonError) return;
          throw e;
        }
        expect(canonicalize(value)).toBe(jcsOracle(JSON.parse(text) as JsonValue));
      }),
      { numRuns: 2000 },
    );
  });
});
