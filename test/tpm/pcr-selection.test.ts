// SPDX-License-Identifier: Apache-2.0
// tpm2-tools PCR selection syntax: parse, format, TPML_PCR_SELECTION round trips, strict errors.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TPM_ALG } from '../../agent/tpm/constants.js';
import {
  formatSelection,
  fromTpml,
  parseSelection,
  SelectionError,
  sameSelection,
  toTpml,
} from '../../agent/tpm/pcr-selection.js';
import { marshal } from '../../agent/tpm/schema.js';
import { TPML_PCR_SELECTION } from '../../agent/tpm/structures.js';

describe('PCR selection syntax', () => {
  it('parses banks in order with ranges and lists', () => {
    expect(parseSelection('sha1:0,23+sha256:0-7,16')).toEqual([
      { hash: TPM_ALG.SHA1, pcrs: [0, 23] },
      { hash: TPM_ALG.SHA256, pcrs: [0, 1, 2, 3, 4, 5, 6, 7, 16] },
    ]);
    expect(parseSelection('SHA384:all')).toEqual([{ hash: TPM_ALG.SHA384, pcrs: [...Array(24).keys()] }]);
    expect(parseSelection('sha256:16,3-4')).toEqual([{ hash: TPM_ALG.SHA256, pcrs: [3, 4, 16] }]);
  });

  it('formats canonically, compressing runs', () => {
    expect(formatSelection(parseSelection('sha256:16,0,1,2,3,4,5,6,7+sha1:23,0'))).toBe(
      'sha256:0-7,16+sha1:0,23',
    );
    expect(formatSelection(parseSelection('sha512:5'))).toBe('sha512:5');
  });

  it('marshals to the TPML_PCR_SELECTION bytes tpm2-tools sends (SWTPM.md §4.1 example)', () => {
    const tpml = toTpml(parseSelection('sha256:0-7,16'));
    expect(Buffer.from(marshal(TPML_PCR_SELECTION, tpml)).toString('hex')).toBe('00000001000b03ff0001');
    expect(fromTpml(tpml)).toEqual(parseSelection('sha256:0-7,16'));
  });

  it.each([
    '',
    'sha256',
    'sha256:',
    'md5:0',
    'sha256:24',
    'sha256:7-3',
    'sha256:1,1',
    'sha256:0-3,2',
    'sha256:01',
    'sha256:0+sha256:1',
    'sha256:0,,1',
    'sha256:0 ',
    'sha256:-1',
    'sha256:1-2-3',
    'sha256:0+',
    'sha256:a',
  ])('rejects %j with E_PCR_SELECTION', (text) => {
    expect(() => parseSelection(text)).toThrow(SelectionError);
    try {
      parseSelection(text);
    } catch (e) {
      expect((e as SelectionError).code).toBe('E_PCR_SELECTION');
    }
  });

  it('round trips: format ∘ parse and TPML conversions (fast-check)', () => {
    const banks = fc.subarray(['sha1', 'sha256', 'sha384', 'sha512']);
    const arb = banks
      .filter((b) => b.length > 0)
      .chain((names) =>
        fc.tuple(
          fc.shuffledSubarray(names, { minLength: names.length, maxLength: names.length }),
          fc.array(fc.uniqueArray(fc.integer({ min: 0, max: 23 }), { minLength: 1 }), {
            minLength: names.length,
            maxLength: names.length,
          }),
        ),
      );
    fc.assert(
      fc.property(arb, ([names, lists]) => {
        const text = names.map((n, i) => `${n}:${(lists[i] ?? []).join(',')}`).join('+');
        const sel = parseSelection(text);
        expect(parseSelection(formatSelection(sel))).toEqual(sel);
        expect(fromTpml(toTpml(sel))).toEqual(sel);
        expect(sameSelection(sel, parseSelection(formatSelection(sel)))).toBe(true);
      }),
    );
  });

  it('sameSelection is order-sensitive across banks and exact on PCRs', () => {
    const a = parseSelection('sha1:0+sha256:1');
    expect(sameSelection(a, parseSelection('sha256:1+sha1:0'))).toBe(false);
    expect(sameSelection(a, parseSelection('sha1:0+sha256:1,2'))).toBe(false);
    expect(sameSelection(a, parseSelection('sha1:0'))).toBe(false);
    expect(sameSelection(a, parseSelection('sha1:0+sha256:1'))).toBe(true);
  });
});
