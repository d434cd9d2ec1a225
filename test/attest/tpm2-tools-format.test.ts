// SPDX-License-Identifier: Apache-2.0
// tpm2-tools' quote file formats (SWTPM.md §4.1): the serialized PCR file byte for byte against
// keylime's real tpm2_quote output, strict readers, and fuzzing. Interop with the tools themselves
// (tpm2_quote, tpm2_checkquote) is in test/cli/quote.test.ts.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pemToSpki, QuoteError, spkiToPem } from '../../agent/attest/quote.js';
import { parsePcrs, serializePcrs, splitValues } from '../../agent/attest/tpm2-tools-format.js';
import { concatBytes } from '../../agent/encoding/bytes.js';
import { parseSelection } from '../../agent/tpm/pcr-selection.js';

const V = 'test/vectors/tpm';
const keylimePcrs = new Uint8Array(readFileSync(`${V}/keylime/quotepcr.out`));

function code(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    if (!(e instanceof QuoteError)) throw e;
    return e.code;
  }
}

describe('quote.pcrs (tpm2-tools serialized format)', () => {
  it("parses keylime's real file and re-serializes it byte for byte", () => {
    const { selection, values } = parsePcrs(keylimePcrs);
    expect(selection).toEqual(parseSelection('sha256:15,16,22'));
    const expected = JSON.parse(readFileSync(`${V}/expected.json`, 'utf8'))['keylime/'];
    expect(values.map((v) => Buffer.from(v).toString('hex'))).toEqual([
      expected.pcr_values['15'],
      expected.pcr_values['16'],
      expected.pcr_values['22'],
    ]);
    expect(createHash('sha256').update(concatBytes(values)).digest('hex')).toBe(expected.attest.pcrDigest);
    expect(Buffer.from(serializePcrs(selection, values))).toEqual(Buffer.from(keylimePcrs));
  });

  it('is 1200 bytes for 9 PCRs of one bank (two TPML_DIGEST structs), as tpm2_quote writes', () => {
    const sel = parseSelection('sha256:0-7,16');
    const values = Array.from({ length: 9 }, (_, i) => new Uint8Array(32).fill(i));
    const bytes = serializePcrs(sel, values);
    expect(bytes.length).toBe(1200);
    expect(parsePcrs(bytes)).toEqual({ selection: sel, values });
  });

  it('round trips any multi-bank selection (fast-check)', () => {
    const arb = fc
      .uniqueArray(fc.constantFrom('sha1', 'sha256', 'sha384', 'sha512'), { minLength: 1, maxLength: 4 })
      .chain((banks) =>
        fc.tuple(
          fc.constant(banks),
          fc.array(fc.uniqueArray(fc.integer({ min: 0, max: 23 }), { minLength: 1, maxLength: 24 }), {
            minLength: banks.length,
            maxLength: banks.length,
          }),
        ),
      );
    fc.assert(
      fc.property(arb, ([banks, lists]) => {
        const sel = parseSelection(banks.map((b, i) => `${b}:${(lists[i] ?? []).join(',')}`).join('+'));
        const sizes: Record<string, number> = { sha1: 20, sha256: 32, sha384: 48, sha512: 64 };
        const values = sel.flatMap((b, i) =>
          b.pcrs.map((p) => new Uint8Array(sizes[banks[i] ?? 'sha1'] ?? 20).fill(p + 1)),
        );
        if (Math.ceil(values.length / 8) > 16) return;
        expect(parsePcrs(serializePcrs(sel, values))).toEqual({ selection: sel, values });
        expect(splitValues(sel, concatBytes(values))).toEqual(values);
      }),
    );
  });

  it('rejects wrong sizes, counts and inconsistent values with E_QUOTE_PARSE', () => {
    const bad = (mutate: (b: Uint8Array, dv: DataView) => void) => {
      const b = Uint8Array.from(keylimePcrs);
      mutate(b, new DataView(b.buffer));
      return code(() => parsePcrs(b));
    };
    expect(code(() => parsePcrs(keylimePcrs.subarray(0, 667)))).toBe('E_QUOTE_PARSE');
    expect(code(() => parsePcrs(new Uint8Array(10)))).toBe('E_QUOTE_PARSE');
    expect(bad((_b, dv) => dv.setUint32(0, 17, true))).toBe('E_QUOTE_PARSE'); // 17 banks
    expect(bad((b) => (b[6] = 5))).toBe('E_QUOTE_PARSE'); // sizeofSelect 5
    expect(bad((_b, dv) => dv.setUint16(4, 0x0999, true))).toBe('E_QUOTE_PARSE'); // unknown hash
    expect(bad((_b, dv) => dv.setUint32(132, 2, true))).toBe('E_QUOTE_PARSE'); // 2 lists, 1 present
    expect(bad((_b, dv) => dv.setUint32(136, 9, true))).toBe('E_QUOTE_PARSE'); // 9 digests
    expect(bad((_b, dv) => dv.setUint32(136, 2, true))).toBe('E_QUOTE_PARSE'); // 2 values for 3 PCRs
    expect(bad((_b, dv) => dv.setUint16(140, 20, true))).toBe('E_QUOTE_PARSE'); // 20-byte sha256 value
    expect(bad((_b, dv) => dv.setUint16(140, 65, true))).toBe('E_QUOTE_PARSE'); // size beyond 64
  });

  it('fuzz: arbitrary bytes parse or give E_QUOTE_PARSE, never another exception', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1400 }), (b) => {
        expect([undefined, 'E_QUOTE_PARSE']).toContain(code(() => parsePcrs(b)));
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.nat(keylimePcrs.length - 1), fc.integer({ min: 1, max: 255 }), (i, x) => {
        const m = Uint8Array.from(keylimePcrs);
        m[i] = (m[i] ?? 0) ^ x;
        expect([undefined, 'E_QUOTE_PARSE']).toContain(code(() => parsePcrs(m)));
      }),
      { numRuns: 500 },
    );
  });
});

describe('quote.pcrs.values and ak.pem', () => {
  it('splits concatenated values by bank digest size, exactly', () => {
    const sel = parseSelection('sha1:0+sha256:1,2');
    const bytes = new Uint8Array(20 + 64).map((_, i) => i);
    const vals = splitValues(sel, bytes);
    expect(vals.map((v) => v.length)).toEqual([20, 32, 32]);
    expect(code(() => splitValues(sel, bytes.subarray(1)))).toBe('E_QUOTE_PARSE');
    expect(code(() => splitValues(sel, new Uint8Array(85)))).toBe('E_QUOTE_PARSE');
  });

  it('PEM round trip equals keylime akpub.pem', () => {
    const pem = readFileSync(`${V}/keylime/akpub.pem`, 'utf8');
    const spki = pemToSpki(pem);
    expect(spki.length).toBeGreaterThan(290);
    expect(pemToSpki(spkiToPem(spki))).toEqual(spki);
    expect(spkiToPem(spki).trim()).toBe(pem.trim());
    expect(code(() => pemToSpki('no pem here'))).toBe('E_QUOTE_AK');
  });
});
