// SPDX-License-Identifier: Apache-2.0
import fc from 'fast-check';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { TPM_ALG, TPM_ST } from '../../agent/tpm/constants.js';
import { TpmParseError } from '../../agent/tpm/errors.js';
import { marshal, type Schema, type Selected, unmarshal } from '../../agent/tpm/schema.js';
import {
  ALL_STRUCTURES,
  TPM2B_PUBLIC,
  TPMA_OBJECT,
  TPML_PCR_SELECTION,
  TPMS_ATTEST,
  type TPMS_ECC_PARMS,
  type TPMS_ECC_POINT,
  type TPMS_RSA_PARMS,
  type TPMT_HA,
  type TPMT_PUBLIC,
  TPMT_SIGNATURE,
} from '../../agent/tpm/structures.js';
import { akEccP256Template, akRsa2048Template } from '../../agent/tpm/templates.js';
import { arbitraryOf } from '../helpers/arbitrary.js';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

/** A parse either succeeds or fails with TpmParseError; anything else is a bug. */
function parseOrTypedError(schema: Schema<unknown>, bytes: Uint8Array): unknown {
  try {
    return unmarshal(schema, bytes);
  } catch (e) {
    if (e instanceof TpmParseError) return e;
    throw e;
  }
}

describe('structures: round trips for every declaration', () => {
  for (const schema of ALL_STRUCTURES) {
    it(`${schema.name}: unmarshal(marshal(x)) equals x`, () => {
      fc.assert(
        fc.property(arbitraryOf(schema), (x) => {
          expect(unmarshal(schema, marshal(schema, x))).toEqual(x);
        }),
        { numRuns: 200 },
      );
    });

    it(`${schema.name}: arbitrary bytes give a value or a TpmParseError, and accepted bytes re-marshal exactly`, () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
          const v = parseOrTypedError(schema, bytes);
          if (!(v instanceof TpmParseError)) expect(marshal(schema, v)).toEqual(bytes);
        }),
        { numRuns: 300 },
      );
    });

    it(`${schema.name}: every truncation of a valid encoding is a TpmParseError`, () => {
      fc.assert(
        fc.property(arbitraryOf(schema), (x) => {
          const bytes = marshal(schema, x);
          for (let n = 0; n < bytes.length; n++) {
            expect(() => unmarshal(schema, bytes.subarray(0, n))).toThrow(TpmParseError);
          }
        }),
        { numRuns: 30 },
      );
    });
  }
});

describe('structures: known encodings', () => {
  // The RSA quote of ../shared/SWTPM.md §4.1, decoded field by field there.
  const quoteMsg = hex(`ff544347 8018 0022 000b ${'b1'.repeat(32)} 0010 00112233445566778899aabbccddeeff
    00000000000002f3 00000001 00000000 01 2019102300163636 00000001 000b 03 ff0001 0020 ${'f8'.repeat(32)}`);

  it('TPMS_ATTEST of a quote decodes as SWTPM.md describes', () => {
    const a = unmarshal(TPMS_ATTEST, quoteMsg);
    expect(a.magic).toBe(0xff544347);
    expect(a.type).toBe(TPM_ST.ATTEST_QUOTE);
    expect(a.extraData).toEqual(hex('00112233445566778899aabbccddeeff'));
    expect(a.clockInfo).toEqual({ clock: 0x2f3n, resetCount: 1, restartCount: 0, safe: 1 });
    expect(a.firmwareVersion).toBe(0x2019102300163636n);
    expect(a.attested).toEqual({
      pcrSelect: [{ hash: TPM_ALG.SHA256, pcrSelect: hex('ff0001') }],
      pcrDigest: new Uint8Array(32).fill(0xf8),
    });
    expect(marshal(TPMS_ATTEST, a)).toEqual(quoteMsg);
  });

  it('a trailing byte after a structure is an error, not ignored', () => {
    const extra = new Uint8Array([...quoteMsg, 0]);
    expect(() => unmarshal(TPMS_ATTEST, extra)).toThrow(TpmParseError);
  });

  it('an oversize TPM2B size is rejected with the offset of the size field', () => {
    // TPM2B_NAME max is 66; claim 67 bytes.
    const bad = hex('ff544347 8018 0043');
    try {
      unmarshal(TPMS_ATTEST, bad);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(TpmParseError);
      expect((e as TpmParseError).code).toBe('E_TPM_PARSE');
      expect((e as TpmParseError).offset).toBe(6);
    }
  });

  it('an unknown union selector is a parse error', () => {
    expect(() => unmarshal(TPMT_SIGNATURE, hex('7777 000b'))).toThrow(TpmParseError);
  });

  it('an ECDSA TPMT_SIGNATURE as tpm2_quote writes it', () => {
    const sig = unmarshal(TPMT_SIGNATURE, hex(`0018 000b 0020 ${'11'.repeat(32)} 0020 ${'22'.repeat(32)}`));
    expect(sig.sigAlg).toBe(TPM_ALG.ECDSA);
    expect(sig.signature).toEqual({
      hash: TPM_ALG.SHA256,
      signatureR: new Uint8Array(32).fill(0x11),
      signatureS: new Uint8Array(32).fill(0x22),
    });
  });

  it('TPMA_OBJECT keeps reserved bits so re-marshalling is exact', () => {
    const bytes = hex('80030072'); // reserved bit 31 set, plus restricted|decrypt, fixedTPM etc.
    const v = unmarshal(TPMA_OBJECT, bytes);
    expect(v.reservedBits).toBe(0x80000000);
    expect(v.restricted).toBe(true);
    expect(v.decrypt).toBe(true);
    expect(v.fixedTPM).toBe(true);
    expect(marshal(TPMA_OBJECT, v)).toEqual(bytes);
  });

  it('marshalling our own bad values throws RangeError/TypeError naming the field', () => {
    expect(() => marshal(TPML_PCR_SELECTION, [{ hash: 0x1_0000, pcrSelect: new Uint8Array(3) }])).toThrow(
      /TPMS_PCR_SELECTION\.hash/,
    );
    expect(() => marshal(TPML_PCR_SELECTION, [{ hash: 11, pcrSelect: new Uint8Array(5) }])).toThrow(
      RangeError,
    );
    expect(() => marshal(TPM2B_PUBLIC, {} as never)).toThrow(TypeError);
  });
});

// The inferred types are discriminated unions keyed on the selector (schema.ts): tsc checks this block,
// so each `@ts-expect-error` below is a proof that the unnarrowed access or the mismatched value does not
// compile, and each assignment after a selector check a proof that it does.
describe('structures: unions narrow on their selector', () => {
  const quoteMsg = hex(`ff544347 8018 0022 000b ${'b1'.repeat(32)} 0010 00112233445566778899aabbccddeeff
    00000000000002f3 00000001 00000000 01 2019102300163636 00000001 000b 03 ff0001 0020 ${'f8'.repeat(32)}`);

  it('TPMS_ATTEST.type selects attested', () => {
    const a = unmarshal(TPMS_ATTEST, quoteMsg);
    // @ts-expect-error without a check of `type`, `attested` is any of the TPMU_ATTEST members
    const unchecked: Uint8Array = a.attested.pcrDigest;
    expect(unchecked).toBeDefined();
    if (a.type !== TPM_ST.ATTEST_QUOTE) throw new Error('not a quote');
    const digest: Uint8Array = a.attested.pcrDigest;
    expect(digest).toEqual(new Uint8Array(32).fill(0xf8));
    expectTypeOf(a.attested.pcrSelect).toEqualTypeOf<TPML_PCR_SELECTION>();
  });

  it('TPMT_SIGNATURE.sigAlg selects signature', () => {
    const sig = unmarshal(TPMT_SIGNATURE, hex(`0018 000b 0020 ${'11'.repeat(32)} 0020 ${'22'.repeat(32)}`));
    if (sig.sigAlg === TPM_ALG.ECDSA) {
      expectTypeOf(sig.signature.signatureR).toEqualTypeOf<Uint8Array>();
      // @ts-expect-error an ECDSA signature has no RSA `sig`
      expect(sig.signature.sig).toBeUndefined();
    } else expect.unreachable();
  });

  it('TPMT_PUBLIC.type selects both parameters and unique', () => {
    const check = (pub: TPMT_PUBLIC): string => {
      if (pub.type === TPM_ALG.RSA) {
        expectTypeOf(pub.parameters).toEqualTypeOf<TPMS_RSA_PARMS>();
        expectTypeOf(pub.unique).toEqualTypeOf<Uint8Array>();
        return `rsa ${pub.parameters.keyBits}`;
      }
      if (pub.type === TPM_ALG.ECC) {
        expectTypeOf(pub.parameters).toEqualTypeOf<TPMS_ECC_PARMS>();
        expectTypeOf(pub.unique).toEqualTypeOf<TPMS_ECC_POINT>();
        return `ecc ${pub.parameters.curveID}`;
      }
      return 'other';
    };
    expect(check(akRsa2048Template())).toBe('rsa 2048');
    expect(check(akEccP256Template())).toBe('ecc 3');
    const rsa: Selected<TPMT_PUBLIC, 'type', typeof TPM_ALG.RSA> = akRsa2048Template();
    // @ts-expect-error an RSA public area cannot carry an ECC point
    const mixed: TPMT_PUBLIC = { ...rsa, unique: { x: new Uint8Array(0), y: new Uint8Array(0) } };
    expect(() => marshal(TPM2B_PUBLIC, mixed)).toThrow(TypeError);
  });

  it('a selector the union does not declare does not compile', () => {
    const alg: number = TPM_ALG.SHA256;
    // @ts-expect-error a TPMT_HA's hashAlg must be one of TPMU_HA's selectors, not any number
    const ha: TPMT_HA = { hashAlg: alg, digest: new Uint8Array(32) };
    expect(ha.hashAlg).toBe(TPM_ALG.SHA256);
  });
});
