// SPDX-License-Identifier: Apache-2.0
// wasm-core/verify/der.ts: SubjectPublicKeyInfo for RSA, RSA-PSS, EC and Ed25519 keys as node:crypto
// writes them, each strictness rule on a hand-made violation (the Wycheproof ECDSA files cover many
// more through the verifier), and, for arbitrary and for mutated bytes, a value or a DerError and
// nothing else (STYLE principle 9).
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { DerError, parseEcdsaSignature, parseSpki } from '../../wasm-core/verify/der.js';
import { concat, derSequence, derTlv, fromHex, toHex } from './verify-harness.js';

const spki = (key: KeyObject): Uint8Array => new Uint8Array(key.export({ type: 'spki', format: 'der' }));

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
const rsaPssBare = generateKeyPairSync('rsa-pss', { modulusLength: 2048 }).publicKey;
const rsaPssParams = generateKeyPairSync('rsa-pss', {
  modulusLength: 2048,
  hashAlgorithm: 'sha256',
  mgf1HashAlgorithm: 'sha256',
  // @types/node 20 declares saltLength a string; node:crypto takes the number of bytes.
  saltLength: 32 as unknown as string,
}).publicKey;
const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey;
const ed = generateKeyPairSync('ed25519').publicKey;

function expectDerError(f: () => unknown, message?: RegExp): void {
  let caught: unknown;
  try {
    f();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(DerError);
  expect((caught as DerError).code).toBe('E_DER');
  if (message) expect((caught as DerError).message).toMatch(message);
}

describe('parseSpki on node:crypto keys', () => {
  test('RSA (rsaEncryption): modulus and exponent without sign bytes', () => {
    const info = parseSpki(spki(rsa));
    const jwk = rsa.export({ format: 'jwk' });
    expect(info.kind).toBe('rsa');
    if (info.kind !== 'rsa') return;
    expect(toHex(info.modulus)).toBe(Buffer.from(jwk.n ?? '', 'base64url').toString('hex'));
    expect(toHex(info.exponent)).toBe('010001');
    expect(info.pssOnly).toBe(false);
    expect(info.pss).toBeUndefined();
  });

  test('RSA-PSS: id-RSASSA-PSS without and with RSASSA-PSS-params', () => {
    const bare = parseSpki(spki(rsaPssBare));
    expect(bare.kind === 'rsa' && bare.pssOnly && bare.pss === undefined).toBe(true);
    const restricted = parseSpki(spki(rsaPssParams));
    expect(restricted.kind).toBe('rsa');
    if (restricted.kind !== 'rsa') return;
    expect(restricted.pssOnly).toBe(true);
    expect(restricted.pss).toEqual({ hash: 'sha256', mgf1Hash: 'sha256', saltLength: 32 });
  });

  test('EC: the curve and the SEC 1 point', () => {
    for (const [key, curve, len] of [
      [p256, 'P-256', 65],
      [p384, 'P-384', 97],
    ] as const) {
      const info = parseSpki(spki(key));
      expect(
        info.kind === 'ec' && info.curve === curve && info.point.length === len && info.point[0] === 4,
      ).toBe(true);
    }
  });

  test('Ed25519: the raw 32-byte key', () => {
    const info = parseSpki(spki(ed));
    const jwk = ed.export({ format: 'jwk' });
    expect(
      info.kind === 'ed25519' && toHex(info.key) === Buffer.from(jwk.x ?? '', 'base64url').toString('hex'),
    ).toBe(true);
  });
});

describe('strict DER: each violation is a DerError', () => {
  const good = spki(p256);
  // good = 30 59 | 30 13 (06 07 ecPublicKey) (06 08 prime256v1) | 03 42 00 04 …
  const algId = good.subarray(2, 2 + 0x15);
  const bitString = good.subarray(2 + 0x15);

  test('the unmodified key parses', () => {
    expect(parseSpki(concat([new Uint8Array([0x30, 0x59]), algId, bitString])).kind).toBe('ec');
  });

  test('lengths: long form below 128, leading zero length byte, indefinite, too long, truncated', () => {
    expectDerError(
      () => parseSpki(concat([new Uint8Array([0x30, 0x81, 0x59]), algId, bitString])),
      /non-minimal/,
    );
    expectDerError(
      () => parseSpki(concat([new Uint8Array([0x30, 0x82, 0x00, 0x59]), algId, bitString])),
      /non-minimal/,
    );
    expectDerError(
      () => parseSpki(concat([new Uint8Array([0x30, 0x80]), algId, bitString, new Uint8Array([0, 0])])),
      /indefinite/,
    );
    expectDerError(
      () => parseSpki(concat([new Uint8Array([0x30, 0x85, 0, 0, 0, 0, 0x59]), algId, bitString])),
      /too long/,
    );
    expectDerError(() => parseSpki(good.subarray(0, good.length - 1)), /truncated/);
    expectDerError(() => parseSpki(new Uint8Array(0)), /missing SubjectPublicKeyInfo/);
  });

  test('trailing bytes after the structure, and inside it', () => {
    expectDerError(() => parseSpki(concat([good, new Uint8Array([0])])), /trailing/);
    const inner = derSequence([algId, bitString, derTlv(0x05, new Uint8Array(0))]);
    expectDerError(() => parseSpki(inner), /trailing/);
  });

  test('BIT STRING with unused bits, wrong tags, multi-byte tags', () => {
    const unused = new Uint8Array(bitString);
    unused[2] = 1;
    expectDerError(() => parseSpki(derSequence([algId, unused])), /unused bits/);
    expectDerError(() => parseSpki(derSequence([algId, derTlv(0x04, bitString.subarray(2))])), /BIT STRING/);
    expectDerError(() => parseSpki(concat([new Uint8Array([0x3f, 0x01, 0x00])])), /multi-byte tag/);
  });

  test('algorithm parameters: RSA needs NULL, Ed25519 none, EC a known named curve', () => {
    const rsaDer = spki(rsa);
    // 30 82 01 22 | 30 0d 06 09 <rsaEncryption> 05 00 | 03 82 01 0f …
    const rsaOid = rsaDer.subarray(6, 17);
    const rsaKey = rsaDer.subarray(19);
    expectDerError(() => parseSpki(derSequence([derSequence([rsaOid]), rsaKey])), /NULL/);
    expectDerError(
      () => parseSpki(derSequence([derSequence([rsaOid, derTlv(0x05, new Uint8Array([0]))]), rsaKey])),
      /NULL/,
    );
    const edDer = spki(ed);
    const edOid = edDer.subarray(4, 9);
    const edKey = edDer.subarray(9);
    expectDerError(
      () => parseSpki(derSequence([derSequence([edOid, derTlv(0x05, new Uint8Array(0))]), edKey])),
      /Ed25519/,
    );
    expectDerError(
      () => parseSpki(derSequence([derSequence([edOid]), derTlv(0x03, new Uint8Array(32))])),
      /32 bytes/,
    );
    const secp256k1 = fromHex('06052b8104000a');
    expectDerError(
      () => parseSpki(derSequence([derSequence([algId.subarray(2, 11), secp256k1]), bitString])),
      /unsupported curve/,
    );
    expectDerError(
      () => parseSpki(derSequence([derSequence([fromHex('06032b6571')]), bitString])),
      /unsupported algorithm/,
    );
  });

  test('INTEGERs: non-minimal, negative, empty', () => {
    const modulus = fromHex(`00${'c3'.repeat(256)}`);
    const rsaKey = (n: Uint8Array, e: Uint8Array): Uint8Array =>
      derSequence([
        derSequence([fromHex('06092a864886f70d010101'), fromHex('0500')]),
        derTlv(0x03, concat([new Uint8Array([0]), derSequence([derTlv(0x02, n), derTlv(0x02, e)])])),
      ]);
    expect(parseSpki(rsaKey(modulus, fromHex('010001'))).kind).toBe('rsa');
    expectDerError(
      () => parseSpki(rsaKey(concat([new Uint8Array([0]), modulus]), fromHex('010001'))),
      /non-minimal/,
    );
    expectDerError(() => parseSpki(rsaKey(modulus.subarray(1), fromHex('010001'))), /negative/);
    expectDerError(() => parseSpki(rsaKey(modulus, fromHex('00010001'))), /non-minimal/);
    expectDerError(() => parseSpki(rsaKey(modulus, new Uint8Array(0))), /empty/);
    expectDerError(() => parseSpki(rsaKey(modulus, fromHex('ff'))), /negative/);
  });
});

describe('parseEcdsaSignature', () => {
  const int = (hex: string): Uint8Array => derTlv(0x02, fromHex(hex));

  test('strips the sign byte and keeps short values short', () => {
    const sig = parseEcdsaSignature(derSequence([int('00ff01'), int('05')]));
    expect([toHex(sig.r), toHex(sig.s)]).toEqual(['ff01', '05']);
    const zero = parseEcdsaSignature(derSequence([int('00'), int('01')]));
    expect(zero.r.length).toBe(0);
  });

  test('rejects BER and malformed INTEGERs', () => {
    expectDerError(() => parseEcdsaSignature(derSequence([int('0001'), int('01')])), /non-minimal/);
    expectDerError(() => parseEcdsaSignature(derSequence([int('80'), int('01')])), /negative/);
    expectDerError(() => parseEcdsaSignature(derSequence([int('01')])), /missing s/);
    expectDerError(() => parseEcdsaSignature(derSequence([int('01'), int('01'), int('01')])), /trailing/);
    expectDerError(
      () => parseEcdsaSignature(concat([derSequence([int('01'), int('01')]), new Uint8Array([0])])),
      /trailing/,
    );
    expectDerError(
      () => parseEcdsaSignature(derSequence([derTlv(0x03, fromHex('01')), int('01')])),
      /expected r/,
    );
  });
});

describe('hostile bytes: a value or a DerError, never anything else', () => {
  const samples = [spki(rsa), spki(rsaPssParams), spki(p256), spki(p384), spki(ed)];

  function valueOrDerError(f: () => unknown): void {
    try {
      f();
    } catch (err) {
      if (!(err instanceof DerError)) throw err;
    }
  }

  test('arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        valueOrDerError(() => parseSpki(bytes));
        valueOrDerError(() => parseEcdsaSignature(bytes));
      }),
      { numRuns: 2000 },
    );
  });

  test('valid encodings with bytes changed, inserted or removed', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...samples),
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        fc.constantFrom('set', 'insert', 'delete'),
        (sample, at, value, how) => {
          const i = at % sample.length;
          const head = sample.subarray(0, i);
          const tail = sample.subarray(how === 'delete' ? i + 1 : how === 'set' ? i + 1 : i);
          const mutated = concat([
            head,
            how === 'delete' ? new Uint8Array(0) : new Uint8Array([value]),
            tail,
          ]);
          valueOrDerError(() => parseSpki(mutated));
        },
      ),
      { numRuns: 3000 },
    );
  });
});
