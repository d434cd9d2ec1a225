// SPDX-License-Identifier: Apache-2.0
// The public verification API (wasm-core/verify/index.ts) on both builds: misuse throws TypeError or
// RangeError naming the argument and hostile bytes give false; keys of every SPKI form and every hash;
// RSA-PSS keys with parameters; compressed EC points; messages larger than the arena; and batches that
// mix algorithms, keys, valid and invalid items and report exactly the invalid ones.
import { constants, createHash, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { createVerifier, type VerifyItem } from '../../wasm-core/verify/index.js';
import { randomBytes } from '../helpers/random.js';
import { cores, derSequence, derTlv, fromHex, spkiFromEcPoint } from './verify-harness.js';

const all = await cores();
const spki = (key: KeyObject): Uint8Array => new Uint8Array(key.export({ type: 'spki', format: 'der' }));
const bytes = (b: Buffer): Uint8Array => new Uint8Array(b);

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 });
const pssKey = generateKeyPairSync('rsa-pss', {
  modulusLength: 2048,
  hashAlgorithm: 'sha384',
  mgf1HashAlgorithm: 'sha384',
  // @types/node 20 declares saltLength a string; node:crypto takes the number of bytes.
  saltLength: 20 as unknown as string,
});
const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
const ed = generateKeyPairSync('ed25519');

type Hash = 'sha1' | 'sha256' | 'sha384' | 'sha512';

function ecdsaItem(
  pair: typeof p256,
  hash: Hash,
  message: Uint8Array,
  sigEncoding: 'der' | 'p1363',
): VerifyItem {
  const signature = bytes(
    sign(hash, message, { key: pair.privateKey, dsaEncoding: sigEncoding === 'der' ? 'der' : 'ieee-p1363' }),
  );
  return { alg: 'ecdsa', hash, publicKey: spki(pair.publicKey), message, signature, sigEncoding };
}

function rsaItem(hash: Hash, message: Uint8Array): VerifyItem {
  return {
    alg: 'rsa-pkcs1v15',
    hash,
    publicKey: spki(rsa.publicKey),
    message,
    signature: bytes(sign(hash, message, rsa.privateKey)),
  };
}

function pssItem(hash: Hash, message: Uint8Array, saltLength: number): VerifyItem {
  const signature = bytes(
    sign(hash, message, { key: rsa.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength }),
  );
  return { alg: 'rsa-pss', hash, publicKey: spki(rsa.publicKey), message, signature, saltLength };
}

function edItem(message: Uint8Array): VerifyItem {
  return {
    alg: 'ed25519',
    publicKey: spki(ed.publicKey),
    message,
    signature: bytes(sign(null, message, ed.privateKey)),
  };
}

function flipped(item: VerifyItem): VerifyItem {
  const signature = item.signature.slice();
  signature[signature.length >> 1] = (signature[signature.length >> 1] ?? 0) ^ 0x10;
  return { ...item, signature };
}

describe.each(all)('verify API on wasm-core $name', ({ verifier, core }) => {
  const msg = new TextEncoder().encode('execgate');

  test('misuse throws, naming the argument', () => {
    const good = rsaItem('sha256', msg);
    expect(() => verifier.verify({ ...good, alg: 'rsa' as 'rsa-pss' })).toThrow(TypeError);
    expect(() => verifier.verify({ ...good, alg: 'rsa' as 'rsa-pss' })).toThrow(/item\.alg/);
    const { hash: _omit, ...noHash } = good;
    expect(() => verifier.verify(noHash)).toThrow(/item\.hash/);
    expect(() => verifier.verify({ ...good, hash: 'md5' as Hash })).toThrow(TypeError);
    expect(() => verifier.verify({ ...good, message: 'x' as unknown as Uint8Array })).toThrow(
      /item\.message/,
    );
    expect(() =>
      verifier.verify({ ...good, signature: new Uint16Array(4) as unknown as Uint8Array }),
    ).toThrow(TypeError);
    expect(() => verifier.verify({ ...good, sigEncoding: 'ber' as 'der' })).toThrow(/sigEncoding/);
    expect(() => verifier.verify({ ...good, alg: 'rsa-pss', saltLength: -1 })).toThrow(RangeError);
    expect(() => verifier.verify({ ...good, alg: 'rsa-pss', saltLength: 1.5 })).toThrow(RangeError);
    expect(() => verifier.verify(null as unknown as VerifyItem)).toThrow(/item must be an object/);
    expect(() => verifier.verifyBatch([good, { ...good, alg: 'x' as 'ecdsa' }])).toThrow(/items\[1\]\.alg/);
    expect(() => verifier.verifyBatch('x' as unknown as VerifyItem[])).toThrow(TypeError);
    // Ed25519 needs no hash.
    const { hash: _h, ...edNoHash } = { ...edItem(msg), hash: undefined };
    expect(verifier.verify(edNoHash)).toBe(true);
    expect(() => createVerifier({ ...core, exports: {} })).toThrow(/does not export/);
  });

  test('every algorithm, every hash, both ECDSA encodings', () => {
    for (const hash of ['sha1', 'sha256', 'sha384', 'sha512'] as const) {
      for (const pair of [p256, p384]) {
        for (const enc of ['der', 'p1363'] as const) {
          const item = ecdsaItem(pair, hash, msg, enc);
          expect(verifier.verify(item)).toBe(true);
          expect(verifier.verify(flipped(item))).toBe(false);
          expect(verifier.verify({ ...item, sigEncoding: enc === 'der' ? 'p1363' : 'der' })).toBe(false);
        }
      }
      expect(verifier.verify(rsaItem(hash, msg))).toBe(true);
      expect(verifier.verify(flipped(rsaItem(hash, msg)))).toBe(false);
      for (const salt of [0, 20, 32, 64]) {
        const item = pssItem(hash, msg, salt);
        expect(verifier.verify(item)).toBe(true);
        expect(verifier.verify({ ...item, saltLength: salt + 1 })).toBe(false);
      }
      // saltLength defaults to the digest length.
      const { saltLength: _s, ...defaultSalt } = pssItem(hash, msg, createHash(hash).digest().length);
      expect(verifier.verify(defaultSalt)).toBe(true);
    }
    expect(verifier.verify(edItem(msg))).toBe(true);
    expect(verifier.verify(flipped(edItem(msg)))).toBe(false);
  });

  test('a key of one algorithm with another, and malformed keys, are false', () => {
    const r = rsaItem('sha256', msg);
    const e = ecdsaItem(p256, 'sha256', msg, 'p1363');
    expect(verifier.verify({ ...r, alg: 'rsa-pss' })).toBe(false);
    expect(verifier.verify({ ...e, publicKey: r.publicKey })).toBe(false);
    expect(verifier.verify({ ...r, publicKey: e.publicKey })).toBe(false);
    expect(verifier.verify({ ...edItem(msg), publicKey: e.publicKey })).toBe(false);
    expect(verifier.verify({ ...r, publicKey: new Uint8Array(0) })).toBe(false);
    expect(verifier.verify({ ...r, publicKey: r.publicKey.subarray(1) })).toBe(false);
    expect(verifier.verify({ ...r, signature: new Uint8Array(0) })).toBe(false);
    expect(verifier.verify({ ...r, signature: new Uint8Array(1000) })).toBe(false);
    expect(verifier.verify({ ...e, signature: e.signature.subarray(1) })).toBe(false);
    expect(verifier.verify({ ...e, sigEncoding: 'der', signature: new Uint8Array(3) })).toBe(false);
  });

  test('the key cache compares bytes: a key array reused with other contents is parsed again', () => {
    const a = ecdsaItem(p256, 'sha256', msg, 'p1363');
    const b = ecdsaItem(p384, 'sha256', msg, 'p1363');
    const shared = a.publicKey.slice();
    expect(verifier.verify({ ...a, publicKey: shared })).toBe(true);
    const other = spki(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey);
    shared.set(other);
    expect(verifier.verify({ ...a, publicKey: shared })).toBe(false);
    expect(verifier.verify(b)).toBe(true);
    expect(verifier.verify(a)).toBe(true);
  });

  test('RSA policy: a 1024-bit key is refused even with a valid signature', () => {
    const signature = bytes(sign('sha256', msg, rsa1024.privateKey));
    expect(
      verifier.verify({
        alg: 'rsa-pkcs1v15',
        hash: 'sha256',
        publicKey: spki(rsa1024.publicKey),
        message: msg,
        signature,
      }),
    ).toBe(false);
  });

  test('RSA-PSS keys: PSS only, with the hash and minimum salt length of their parameters', () => {
    // node:crypto's own restricted key, then the same restriction around the unrestricted RSA key, so
    // that signatures breaking the restriction can be made (node refuses to make them).
    const own = spki(pssKey.publicKey);
    const ownItem: VerifyItem = {
      alg: 'rsa-pss',
      hash: 'sha384',
      publicKey: own,
      message: msg,
      saltLength: 20,
      signature: bytes(
        sign('sha384', msg, {
          key: pssKey.privateKey,
          padding: constants.RSA_PKCS1_PSS_PADDING,
          saltLength: 20,
        }),
      ),
    };
    expect(verifier.verify(ownItem)).toBe(true);
    expect(verifier.verify({ ...ownItem, alg: 'rsa-pkcs1v15' })).toBe(false);
    const sha384 = derSequence([fromHex('0609608648016503040202')]);
    const params = derSequence([
      derTlv(0xa0, sha384),
      derTlv(0xa1, derSequence([fromHex('06092a864886f70d010108'), sha384])),
      derTlv(0xa2, derTlv(0x02, new Uint8Array([20]))),
    ]);
    const plain = spki(rsa.publicKey);
    const restricted = derSequence([
      derSequence([fromHex('06092a864886f70d01010a'), params]),
      plain.subarray(19),
    ]);
    const pss = (hash: Hash, saltLength: number): VerifyItem => ({
      ...pssItem(hash, msg, saltLength),
      publicKey: restricted,
    });
    expect(verifier.verify(pss('sha384', 20))).toBe(true);
    expect(verifier.verify(pss('sha384', 48))).toBe(true);
    // Below the key's minimum salt length, or another hash: refused although the arithmetic holds.
    expect(verifier.verify(pssItem('sha384', msg, 10))).toBe(true);
    expect(verifier.verify(pss('sha384', 10))).toBe(false);
    expect(verifier.verify(pss('sha256', 32))).toBe(false);
    expect(verifier.verify({ ...rsaItem('sha384', msg), publicKey: restricted })).toBe(false);
  });

  test('compressed EC public keys (02/03 ‖ X) verify like uncompressed ones', () => {
    for (const [pair, curve, n] of [
      [p256, 'P-256', 32],
      [p384, 'P-384', 48],
    ] as const) {
      const item = ecdsaItem(pair, 'sha256', msg, 'p1363');
      const jwk = pair.publicKey.export({ format: 'jwk' });
      const x = Buffer.from(jwk.x ?? '', 'base64url');
      const y = Buffer.from(jwk.y ?? '', 'base64url');
      expect(x.length).toBe(n);
      const prefix = 2 + ((y[n - 1] ?? 0) & 1);
      const compressed = spkiFromEcPoint(curve, Uint8Array.from([prefix, ...x]));
      expect(verifier.verify({ ...item, publicKey: compressed })).toBe(true);
      const wrongParity = spkiFromEcPoint(curve, Uint8Array.from([prefix ^ 1, ...x]));
      expect(verifier.verify({ ...item, publicKey: wrongParity })).toBe(false);
      // The hybrid form (06/07) is forbidden by RFC 5480 §2.2.
      const hybrid = spkiFromEcPoint(curve, Uint8Array.from([6 + ((y[n - 1] ?? 0) & 1), ...x, ...y]));
      expect(verifier.verify({ ...item, publicKey: hybrid })).toBe(false);
    }
  });

  test('messages larger than the arena stream through it', () => {
    const big = new Uint8Array(core.arenaByteLen + 12345);
    big.fill(0x5a);
    for (const item of [
      ecdsaItem(p256, 'sha384', big, 'der'),
      rsaItem('sha512', big),
      pssItem('sha1', big, 20),
    ]) {
      expect(verifier.verify(item)).toBe(true);
      expect(verifier.verify({ ...item, message: big.subarray(1) })).toBe(false);
    }
  });

  test('a mixed batch reports exactly the invalid items', () => {
    const items: VerifyItem[] = [];
    for (let i = 0; i < 40; i++) {
      const m = randomBytes(1 + (i % 50));
      // 30 ECDSA under one P-256 key (a comb-table group), the rest spread over the algorithms.
      items.push(ecdsaItem(p256, 'sha256', m, i % 2 ? 'der' : 'p1363'));
      if (i % 4 === 0) items.push(ecdsaItem(p384, 'sha384', m, 'p1363'));
      if (i % 5 === 0) items.push(rsaItem('sha256', m));
      if (i % 5 === 1) items.push(pssItem('sha256', m, 32));
      if (i % 3 === 0) items.push(edItem(m));
    }
    const bad = new Set<number>();
    const mixed = items.map((item, i) => {
      if (i % 7 === 3) {
        bad.add(i);
        return flipped(item);
      }
      if (i % 11 === 5) {
        bad.add(i);
        return { ...item, message: new Uint8Array([...item.message, 0]) };
      }
      return item;
    });
    const verdicts = verifier.verifyBatch(mixed);
    expect(verdicts.map((ok, i) => (ok ? -1 : i)).filter((i) => i >= 0)).toEqual(
      [...bad].sort((a, b) => a - b),
    );
    expect(verdicts).toEqual(mixed.map((item) => verifier.verify(item)));
    expect(verifier.verifyBatch([])).toEqual([]);
  });

  test('a large same-key ECDSA batch with every kind of failure', () => {
    const items: VerifyItem[] = [];
    for (let i = 0; i < 300; i++) items.push(ecdsaItem(p384, 'sha512', randomBytes(20), 'p1363'));
    const expected = items.map(() => true);
    for (let i = 0; i < 300; i += 9) {
      const sig = (items[i] as VerifyItem).signature.slice();
      if (i % 2)
        sig.fill(0, 0, 48); // r = 0
      else sig.fill(0xff, 48); // s ≥ n
      items[i] = { ...(items[i] as VerifyItem), signature: sig };
      expected[i] = false;
    }
    items[5] = { ...(items[5] as VerifyItem), signature: new Uint8Array(95) };
    expected[5] = false;
    expect(verifier.verifyBatch(items)).toEqual(expected);
  });
});
