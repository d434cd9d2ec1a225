// SPDX-License-Identifier: Apache-2.0
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hashAlgOf } from '../../agent/crypto/algorithms.js';
import {
  type AesKeyBits,
  cfbDecrypt,
  cfbEncrypt,
  cfbKeyIv,
  xorObfuscate,
} from '../../agent/tpm/paramcrypt.js';
import { AuthSession } from '../../agent/tpm/sessions.js';
import { KDFA_VECTORS } from './fixtures/tpm-kdf-seed-vectors.js';
import { HASHES, hex, refCfb, refKdfa, unhex } from './reference.js';

// NIST SP 800-38A Appendix F.3.13 / F.3.15 / F.3.17 (CFB128-AES128/192/256.Encrypt), all with this IV and
// plaintext.
const SP800_38A_IV = '000102030405060708090a0b0c0d0e0f';
const SP800_38A_PT =
  '6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51' +
  '30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710';
const SP800_38A_CFB128 = [
  {
    name: 'F.3.13 AES-128',
    key: '2b7e151628aed2a6abf7158809cf4f3c',
    ct:
      '3b3fd92eb72dad20333449f8e83cfb4ac8a64537a0b3a93fcde3cdad9f1ce58b' +
      '26751f67a3cbb140b1808cf187a4f4dfc04b05357c5d1c0eeac4c66f9ff7f2e6',
  },
  {
    name: 'F.3.15 AES-192',
    key: '8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b',
    ct:
      'cdc80d6fddf18cab34c25909c99a417467ce7f7f81173621961a2b70171d3d7a' +
      '2e1e8a1dd59b88b1c8e60fed1efac4c9c05f9f9ca9834fa042ae8fba584b09ff',
  },
  {
    name: 'F.3.17 AES-256',
    key: '603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4',
    ct:
      'dc7e84bfda79164b7ecd8486985d386039ffed143b28b1c832113c6331e5407b' +
      'df10132415e54b92a13ed0a8267ae2f975a385741ab9cef82031623d55b1e471',
  },
];

const hashArb = fc.constantFrom(...HASHES);
const bytesArb = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max });
const keyArb = fc.constantFrom(16, 24, 32).chain((n) => bytesArb(n, n));
const ivArb = bytesArb(16, 16);

describe('cfbEncrypt / cfbDecrypt', () => {
  it.each(SP800_38A_CFB128)('NIST SP 800-38A $name known answer, both directions', ({ key, ct }) => {
    expect(hex(cfbEncrypt(unhex(key), unhex(SP800_38A_IV), unhex(SP800_38A_PT)))).toBe(ct);
    expect(hex(cfbDecrypt(unhex(key), unhex(SP800_38A_IV), unhex(ct)))).toBe(SP800_38A_PT);
    // The reference CFB built on the raw AES block agrees, so the reference itself is checked too.
    expect(hex(refCfb(unhex(key), unhex(SP800_38A_IV), unhex(SP800_38A_PT), false))).toBe(ct);
  });

  it('agrees with a CFB128 built from aes-ecb on random keys, IVs and lengths (partial blocks too)', () => {
    fc.assert(
      fc.property(keyArb, ivArb, bytesArb(0, 100), (key, iv, data) => {
        const ct = cfbEncrypt(key, iv, data);
        expect(ct.length).toBe(data.length);
        expect(hex(ct)).toBe(hex(refCfb(key, iv, data, false)));
        expect(hex(cfbDecrypt(key, iv, data))).toBe(hex(refCfb(key, iv, data, true)));
        expect(hex(cfbDecrypt(key, iv, ct))).toBe(hex(data));
      }),
      { numRuns: 200 },
    );
  });

  it('a wrong key or IV does not decrypt', () => {
    const key = unhex('000102030405060708090a0b0c0d0e0f');
    const iv = new Uint8Array(16);
    const pt = unhex('48656c6c6f2c2054504d21');
    const ct = cfbEncrypt(key, iv, pt);
    expect(hex(ct)).not.toBe(hex(pt));
    expect(hex(cfbDecrypt(unhex('ff0102030405060708090a0b0c0d0e0f'), iv, ct))).not.toBe(hex(pt));
    expect(hex(cfbDecrypt(key, unhex('01000000000000000000000000000000'), ct))).not.toBe(hex(pt));
  });

  it('refuses bad key and IV lengths with RangeError', () => {
    const iv = new Uint8Array(16);
    for (const n of [0, 8, 15, 17, 31, 33, 64]) {
      expect(() => cfbEncrypt(new Uint8Array(n), iv, new Uint8Array(1))).toThrow(/key must be/);
    }
    for (const n of [0, 8, 12, 15, 17, 32]) {
      expect(() => cfbDecrypt(new Uint8Array(16), new Uint8Array(n), new Uint8Array(1))).toThrow(RangeError);
    }
    expect(() => cfbEncrypt(new Uint8Array(16), iv, 'x' as unknown as Uint8Array)).toThrow(TypeError);
  });
});

describe('cfbKeyIv (Part 1 §21, CFB mode)', () => {
  it('is KDFa(hash, sessionKey ‖ authValue, "CFB", nonceNewer, nonceOlder, keyBits + 128) split key | IV', () => {
    const keyBitsArb = fc.constantFrom<AesKeyBits>(128, 192, 256);
    fc.assert(
      fc.property(
        hashArb,
        bytesArb(0, 64),
        bytesArb(0, 64),
        bytesArb(0, 64),
        bytesArb(0, 64),
        keyBitsArb,
        (h, sk, auth, newer, older, keyBits) => {
          const { key, iv } = cfbKeyIv(h, sk, auth, newer, older, keyBits);
          const expected = refKdfa(h, new Uint8Array([...sk, ...auth]), 'CFB', newer, older, keyBits + 128);
          expect(key.length).toBe(keyBits / 8);
          expect(iv.length).toBe(16);
          expect(hex(key) + hex(iv)).toBe(hex(expected));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('defaults to AES-128 and depends on the nonce order', () => {
    const a = unhex('0101010101010101');
    const b = unhex('0202020202020202');
    const k = cfbKeyIv('sha256', unhex('aa'), unhex('bb'), a, b);
    expect(k.key.length).toBe(16);
    expect(hex(cfbKeyIv('sha256', unhex('aa'), unhex('bb'), b, a).key)).not.toBe(hex(k.key));
  });

  it('a command parameter encrypted by the caller decrypts on the TPM side (nonceCaller is newer)', () => {
    const sessionKey = unhex('5e55104b6579');
    const authValue = unhex('70617373');
    const nonceCaller = unhex('c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0');
    const nonceTPM = unhex('7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e');
    const secret = unhex('736563726574206461746120666f72207468652054504d');
    const caller = cfbKeyIv('sha384', sessionKey, authValue, nonceCaller, nonceTPM, 256);
    const ct = cfbEncrypt(caller.key, caller.iv, secret);
    // The TPM (reference implementation ParmDecryptSym) derives from the same nonces in the same order.
    const tpm = refKdfa('sha384', unhex('5e55104b657970617373'), 'CFB', nonceCaller, nonceTPM, 384);
    expect(hex(refCfb(tpm.subarray(0, 32), tpm.subarray(32), ct, true))).toBe(hex(secret));
  });

  it('refuses a key size other than 128/192/256', () => {
    const e = new Uint8Array(0);
    expect(() => cfbKeyIv('sha256', e, e, e, e, 512 as AesKeyBits)).toThrow(/keyBits/);
    expect(() => cfbKeyIv('sha256', e, e, 'n' as unknown as Uint8Array, e)).toThrow(/nonceNewer/);
  });
});

describe('xorObfuscate (Part 1 §21, XOR obfuscation)', () => {
  it('is data ⊕ KDFa(hash, sessionKey ‖ authValue, "XOR", nonceNewer, nonceOlder, 8·len) on a go-tpm vector', () => {
    // 57_SHA384_280 is the one XOR-labelled KDFa vector with a whole number of bytes: obfuscating zeros
    // yields the mask itself, however the key is split between sessionKey and authValue.
    const v = KDFA_VECTORS.find((x) => x.name === '57_SHA384_280');
    if (v === undefined) throw new Error('fixture lacks 57_SHA384_280');
    const key = unhex(v.secret);
    const zeros = new Uint8Array(v.bits / 8);
    const h = hashAlgOf(v.hashAlg);
    for (const cut of [0, 5, key.length]) {
      const out = xorObfuscate(
        h,
        key.subarray(0, cut),
        key.subarray(cut),
        unhex(v.contextU),
        unhex(v.contextV),
        zeros,
      );
      expect(hex(out)).toBe(v.result);
    }
  });

  it('matches the reference, is its own inverse, and leaves the input untouched', () => {
    fc.assert(
      fc.property(
        hashArb,
        bytesArb(0, 48),
        bytesArb(0, 48),
        bytesArb(0, 48),
        bytesArb(1, 200),
        (h, sk, n1, n2, data) => {
          const before = hex(data);
          const out = xorObfuscate(h, sk, new Uint8Array(0), n1, n2, data);
          const mask = refKdfa(h, sk, 'XOR', n1, n2, 8 * data.length);
          expect(hex(out)).toBe(hex(data.map((b, i) => b ^ (mask[i] ?? 0))));
          expect(hex(xorObfuscate(h, sk, new Uint8Array(0), n1, n2, out))).toBe(before);
          expect(hex(data)).toBe(before);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('returns empty for empty data and checks its arguments', () => {
    const e = new Uint8Array(0);
    expect(xorObfuscate('sha1', e, e, e, e, e).length).toBe(0);
    expect(() => xorObfuscate('sha1', e, e, e, e, [1] as unknown as Uint8Array)).toThrow(/data/);
    expect(() => xorObfuscate('sha1', e, e, e, 'x' as unknown as Uint8Array, e)).toThrow(/nonceOlder/);
  });
});

describe('AuthSession parameter-encryption key (Part 1 §21.1: sessionValue = sessionKey ‖ authValue)', () => {
  // Deterministic session state; the key, nonces and Names are arbitrary bytes.
  const sessionKey = unhex('00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff');
  const nonceCaller = unhex('a0'.repeat(32));
  const nonceTPM = unhex('b0'.repeat(32));
  const entity = unhex(`000b${'11'.repeat(32)}`);
  const other = unhex(`000b${'22'.repeat(32)}`);
  const authValue = unhex('736563726574');
  const data = unhex('000102030405060708090a0b0c0d0e0f1011121314');

  const session = (type: 'hmac' | 'policy', bindName: Uint8Array | undefined) =>
    new AuthSession(
      0x02000000,
      type,
      'sha256',
      sessionKey,
      bindName,
      nonceCaller,
      nonceTPM,
      true,
      true,
      true,
    );

  /** The expected ciphertext: refKdfa + refCfb on sessionKey ‖ `extra` (command: nonceCaller is newer). */
  function expected(extra: Uint8Array, decrypt: boolean): string {
    const [newer, older] = decrypt ? [nonceTPM, nonceCaller] : [nonceCaller, nonceTPM];
    const keyIv = refKdfa('sha256', new Uint8Array([...sessionKey, ...extra]), 'CFB', newer, older, 256);
    return hex(refCfb(keyIv.subarray(0, 16), keyIv.subarray(16), data, decrypt));
  }

  it.each([
    ['an HMAC session bound to the entity it authorizes (the binding is ignored)', 'hmac', entity],
    ['an HMAC session bound to another entity', 'hmac', other],
    ['an unbound HMAC session', 'hmac', undefined],
    ['a policy session without PolicyAuthValue (NOTE 1)', 'policy', undefined],
  ] as const)("%s keys both directions on the authorized entity's authValue", (_, type, bindName) => {
    const use = { authValue, entityName: entity };
    expect(hex(session(type, bindName).encryptParameter(data, use))).toBe(expected(authValue, false));
    expect(hex(session(type, bindName).decryptParameter(data, use))).toBe(expected(authValue, true));
  });

  it("strips the authValue's trailing zeros (as the TPM stores it), and uses the session key alone when the session authorizes nothing", () => {
    const s = session('hmac', entity);
    const padded = { authValue: new Uint8Array([...authValue, 0, 0]), entityName: entity };
    expect(hex(s.encryptParameter(data, padded))).toBe(expected(authValue, false));
    expect(hex(s.encryptParameter(data, { authValue: new Uint8Array(0) }))).toBe(
      expected(new Uint8Array(0), false),
    );
  });
});
