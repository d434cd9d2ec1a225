// SPDX-License-Identifier: Apache-2.0
import { createHash } from 'node:crypto';
import { hmac as nobleHmac } from '@noble/hashes/hmac.js';
import { concatBytes } from '@noble/hashes/utils.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { digestByteLen, type HashAlgorithm } from '../../agent/crypto/algorithms.js';
import { TPM_CC } from '../../agent/tpm/constants.js';
import {
  commandHmac,
  cpHash,
  responseHmac,
  rpHash,
  sessionKey,
  stripTrailingZeros,
} from '../../agent/tpm/hmac.js';
import { HASHES, hex, nobleHash, refKdfa, unhex } from './reference.js';

const hashArb = fc.constantFrom(...HASHES);
const bytesArb = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max });
const u32Arb = fc.integer({ min: 0, max: 0xffff_ffff });
const be32 = (n: number) => Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
const digestArb = (h: HashAlgorithm) => bytesArb(digestByteLen(h), digestByteLen(h));

describe('sessionKey (Part 1 §19.6.8)', () => {
  it('is KDFa(hash, bindAuth ‖ salt, "ATH", nonceTPM, nonceCaller, digest bits) for a non-empty key', () => {
    fc.assert(
      fc.property(hashArb, bytesArb(1, 96), bytesArb(16, 64), bytesArb(16, 64), (h, key, nTpm, nCaller) => {
        const sk = sessionKey(h, key, nTpm, nCaller);
        expect(sk.length).toBe(digestByteLen(h));
        expect(hex(sk)).toBe(hex(refKdfa(h, key, 'ATH', nTpm, nCaller, 8 * digestByteLen(h))));
        // nonceTPM comes first: swapping the nonces changes the key.
        if (hex(nTpm) !== hex(nCaller)) expect(hex(sessionKey(h, key, nCaller, nTpm))).not.toBe(hex(sk));
      }),
      { numRuns: 100 },
    );
  });

  it('is empty for an unbound, unsalted session, but derived from the empty key when bound', () => {
    const nTpm = unhex('11'.repeat(32));
    const nCaller = unhex('22'.repeat(32));
    expect(sessionKey('sha256', new Uint8Array(0), nTpm, nCaller).length).toBe(0);
    expect(sessionKey('sha256', new Uint8Array(0), nTpm, nCaller, { bound: false }).length).toBe(0);
    const bound = sessionKey('sha256', new Uint8Array(0), nTpm, nCaller, { bound: true });
    expect(hex(bound)).toBe(hex(refKdfa('sha256', new Uint8Array(0), 'ATH', nTpm, nCaller, 256)));
    expect(() =>
      sessionKey('sha256', new Uint8Array(0), nTpm, nCaller, { bound: 1 as unknown as boolean }),
    ).toThrow(TypeError);
  });
});

describe('stripTrailingZeros (Part 1 §19.6.5 note 2)', () => {
  it('removes trailing zero octets only', () => {
    expect(hex(stripTrailingZeros(unhex('00010000')))).toBe('0001');
    expect(hex(stripTrailingZeros(unhex('01000200')))).toBe('010002');
    expect(stripTrailingZeros(unhex('000000')).length).toBe(0);
    expect(hex(stripTrailingZeros(unhex('616263')))).toBe('616263');
  });
});

describe('cpHash / rpHash (Part 1 §18)', () => {
  it('cpHash = H(commandCode ‖ names ‖ parameters) with names and parameters as raw bytes', () => {
    // TPM2_Unseal of one object: handle-area Name (sha256 nameAlg: 0x000b ‖ digest), no parameters.
    const name = unhex(`000b${'ab'.repeat(32)}`);
    const expected = createHash('sha256')
      .update(unhex(`0000015e000b${'ab'.repeat(32)}`))
      .digest('hex');
    expect(hex(cpHash('sha256', TPM_CC.Unseal, [name], new Uint8Array(0)))).toBe(expected);
  });

  it('cpHash agrees with a noble-based computation for any names and parameters', () => {
    fc.assert(
      fc.property(
        hashArb,
        u32Arb,
        fc.array(bytesArb(0, 70), { maxLength: 3 }),
        bytesArb(0, 200),
        (h, cc, names, p) => {
          const expected = nobleHash(h)(concatBytes(be32(cc), ...names, p));
          expect(hex(cpHash(h, cc, names, p))).toBe(hex(expected));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('rpHash = H(responseCode ‖ commandCode ‖ parameters)', () => {
    fc.assert(
      fc.property(hashArb, u32Arb, u32Arb, bytesArb(0, 200), (h, rc, cc, p) => {
        expect(hex(rpHash(h, rc, cc, p))).toBe(hex(nobleHash(h)(concatBytes(be32(rc), be32(cc), p))));
      }),
      { numRuns: 100 },
    );
  });

  it('refuses codes outside u32 and non-byte names', () => {
    const e = new Uint8Array(0);
    expect(() => cpHash('sha256', -1, [], e)).toThrow(/commandCode/);
    expect(() => cpHash('sha256', 2 ** 32, [], e)).toThrow(RangeError);
    expect(() => cpHash('sha256', 1, [e, 'n' as unknown as Uint8Array], e)).toThrow(/names\[1\]/);
    expect(() => rpHash('sha256', 0.5, 1, e)).toThrow(/responseCode/);
  });
});

describe('commandHmac / responseHmac (Part 1 §19.6.5)', () => {
  const sessionArb = hashArb.chain((h) =>
    fc.record({
      h: fc.constant(h),
      key: bytesArb(0, 96),
      pHash: digestArb(h),
      newer: bytesArb(16, 64),
      older: bytesArb(16, 64),
      dec: fc.oneof(fc.constant(new Uint8Array(0)), bytesArb(16, 64)),
      enc: fc.oneof(fc.constant(new Uint8Array(0)), bytesArb(16, 64)),
      attrs: fc.integer({ min: 0, max: 255 }),
    }),
  );

  it('command: HMAC(key, cpHash ‖ nonceNewer ‖ nonceOlder ‖ nonceDecrypt ‖ nonceEncrypt ‖ attributes)', () => {
    fc.assert(
      fc.property(sessionArb, ({ h, key, pHash, newer, older, dec, enc, attrs }) => {
        const got = commandHmac(h, key, pHash, newer, older, dec, enc, attrs);
        const msg = concatBytes(pHash, newer, older, dec, enc, Uint8Array.of(attrs));
        expect(hex(got)).toBe(hex(nobleHmac(nobleHash(h), key, msg)));
      }),
      { numRuns: 150 },
    );
  });

  it('response: HMAC(key, rpHash ‖ nonceNewer ‖ nonceOlder ‖ attributes), no extra nonces', () => {
    fc.assert(
      fc.property(sessionArb, ({ h, key, pHash, newer, older, attrs }) => {
        const got = responseHmac(h, key, pHash, newer, older, attrs);
        const msg = concatBytes(pHash, newer, older, Uint8Array.of(attrs));
        expect(hex(got)).toBe(hex(nobleHmac(nobleHash(h), key, msg)));
      }),
      { numRuns: 150 },
    );
  });

  it('every input matters: order of the nonces, each extra nonce, each attribute bit', () => {
    const key = unhex('6b6579');
    const p = unhex('00'.repeat(32));
    const a = unhex('aa'.repeat(16));
    const b = unhex('bb'.repeat(16));
    const e = new Uint8Array(0);
    const base = hex(commandHmac('sha256', key, p, a, b, e, e, 0x01));
    expect(hex(commandHmac('sha256', key, p, b, a, e, e, 0x01))).not.toBe(base);
    expect(hex(commandHmac('sha256', key, p, a, b, a, e, 0x01))).not.toBe(base);
    expect(hex(commandHmac('sha256', key, p, a, b, e, b, 0x01))).not.toBe(base);
    // The decrypt nonce comes before the encrypt nonce (with only one present they are just concatenated).
    expect(hex(commandHmac('sha256', key, p, a, b, a, b, 0x01))).not.toBe(
      hex(commandHmac('sha256', key, p, a, b, b, a, 0x01)),
    );
    for (let bit = 0; bit < 8; bit++) {
      if (bit !== 0) expect(hex(commandHmac('sha256', key, p, a, b, e, e, 1 << bit))).not.toBe(base);
    }
    // Without extra nonces the command and response formulas coincide byte for byte.
    expect(hex(responseHmac('sha256', key, p, a, b, 0x01))).toBe(base);
  });

  it('an end-to-end command authorization recomputed as the TPM does it', () => {
    // Caller: a salted session (sha256) authorizing TPM2_Unseal of an object with authValue "secret\0\0".
    const salt = unhex('5a'.repeat(32));
    const nonceCaller0 = unhex('01'.repeat(16));
    const nonceTPM0 = unhex('02'.repeat(16));
    const sk = sessionKey('sha256', salt, nonceTPM0, nonceCaller0);
    const auth = stripTrailingZeros(new TextEncoder().encode('secret\0\0'));
    const name = unhex(`000b${'cd'.repeat(32)}`);
    const nonceCaller1 = unhex('03'.repeat(16));
    const cp = cpHash('sha256', TPM_CC.Unseal, [name], new Uint8Array(0));
    const mac = commandHmac(
      'sha256',
      concatBytes(sk, auth),
      cp,
      nonceCaller1,
      nonceTPM0,
      new Uint8Array(0),
      new Uint8Array(0),
      0x01,
    );
    // TPM side from the formulas alone (reference implementation SessionCreate and ComputeCommandHMAC).
    const tpmKey = refKdfa('sha256', salt, 'ATH', nonceTPM0, nonceCaller0, 256);
    const tpmCp = createHash('sha256')
      .update(concatBytes(be32(0x15e), name))
      .digest();
    const tpmMac = nobleHmac(
      nobleHash('sha256'),
      concatBytes(tpmKey, unhex('736563726574')),
      concatBytes(tpmCp, nonceCaller1, nonceTPM0, Uint8Array.of(1)),
    );
    expect(hex(mac)).toBe(hex(tpmMac));
  });

  it('refuses a pHash of the wrong size and attributes outside one byte', () => {
    const e = new Uint8Array(0);
    const d32 = new Uint8Array(32);
    expect(() => commandHmac('sha384', e, d32, e, e, e, e, 0)).toThrow(/cpHash/);
    expect(() => responseHmac('sha1', e, d32, e, e, 0)).toThrow(RangeError);
    expect(() => commandHmac('sha256', e, d32, e, e, e, e, 256)).toThrow(/sessionAttributes/);
    expect(() => responseHmac('sha256', e, d32, e, e, -1)).toThrow(RangeError);
    expect(() => commandHmac('sha256', e, d32, e, e, null as unknown as Uint8Array, e, 0)).toThrow(
      /nonceDecrypt/,
    );
  });
});
