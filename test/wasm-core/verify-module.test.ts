// SPDX-License-Identifier: Apache-2.0
// The public entry `execgate/wasm-core` exposes verify/verifyBatch on the default instance and on
// createWasmCore instances, for every algorithm, with the same verdicts as node:crypto.
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { VerifyItem } from '../../wasm-core/index.js';
import * as wasmCore from '../../wasm-core/index.js';

const spki = (k: KeyObject) => new Uint8Array(k.export({ type: 'spki', format: 'der' }));

function items(): VerifyItem[] {
  const message = new TextEncoder().encode('execgate: a command runs only after it is verified');
  const ed = generateKeyPairSync('ed25519');
  const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return [
    { alg: 'ed25519', publicKey: spki(ed.publicKey), message, signature: sign(null, message, ed.privateKey) },
    {
      alg: 'ecdsa',
      hash: 'sha256',
      publicKey: spki(p256.publicKey),
      message,
      signature: sign('sha256', message, { key: p256.privateKey, dsaEncoding: 'ieee-p1363' }),
    },
    {
      alg: 'ecdsa',
      hash: 'sha384',
      sigEncoding: 'der',
      publicKey: spki(p384.publicKey),
      message,
      signature: sign('sha384', message, p384.privateKey),
    },
    {
      alg: 'rsa-pkcs1v15',
      hash: 'sha256',
      publicKey: spki(rsa.publicKey),
      message,
      signature: sign('sha256', message, rsa.privateKey),
    },
  ];
}

describe('execgate/wasm-core verify and verifyBatch', () => {
  beforeAll(async () => {
    await wasmCore.init();
  });

  it('accept valid signatures of every algorithm and reject a flipped bit, singly and in one batch', async () => {
    const good = items();
    const bad = good.map((it) => {
      const signature = new Uint8Array(it.signature); // a copy: Buffer#slice would share memory
      signature[signature.length - 1] = (signature[signature.length - 1] ?? 0) ^ 1;
      return { ...it, signature };
    });
    expect(good.map((it) => wasmCore.verify(it))).toEqual(good.map(() => true));
    for (const it of bad) expect(wasmCore.verify(it)).toBe(false);
    expect(wasmCore.verifyBatch([...good, ...bad])).toEqual([
      ...good.map(() => true),
      ...bad.map(() => false),
    ]);
    const scalar = await wasmCore.createWasmCore({ variant: 'scalar' });
    expect(scalar.verifyBatch([...bad, ...good])).toEqual([...bad.map(() => false), ...good.map(() => true)]);
  });

  it('misuse throws TypeError; hostile bytes give false', () => {
    const [ed] = items();
    if (!ed) throw new Error('no item');
    expect(() => wasmCore.verify({ ...ed, alg: 'dsa' as never })).toThrow(TypeError);
    expect(() => wasmCore.verify({ ...ed, alg: 'ecdsa' })).toThrow(TypeError); // missing hash
    expect(wasmCore.verify({ ...ed, publicKey: new Uint8Array([0x30, 0x03, 0x02, 0x01]) })).toBe(false);
  });
});
