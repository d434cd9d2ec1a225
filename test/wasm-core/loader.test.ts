// SPDX-License-Identifier: Apache-2.0
// The loader: default instance and init(), variant selection and forcing, the generated module's
// recorded hashes and bytes, the debug builds, and large single messages that stream through the arena.
import { createHash, hash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { releaseScalar, releaseSimd } from '../../wasm-core/generated/wasm.js';
import * as wasmCore from '../../wasm-core/index.js';
import { randomBytes } from '../helpers/random.js';
import { hex } from './hash-contract.js';
import { loadShavs, SHA_ALGORITHMS } from './vectors.js';

describe('wasm-core loader', () => {
  test('the free functions throw before init()', () => {
    expect(() => wasmCore.sha256(new Uint8Array(0))).toThrow(/init/);
    expect(() => wasmCore.sha256Batch([])).toThrow(/init/);
  });

  test('init() is idempotent and picks SIMD where the engine validates it', async () => {
    const [a, b] = await Promise.all([wasmCore.init(), wasmCore.init()]);
    expect(a).toBe(b);
    expect(await wasmCore.init()).toBe(a);
    expect(wasmCore.simdSupported()).toBe(true);
    expect(a.variant).toBe('simd');
    expect(a.lanes).toBe(4);
    await expect(wasmCore.init({ variant: 'scalar' })).rejects.toThrow(/already initialised/);
    expect(hex(wasmCore.sha256(new TextEncoder().encode('abc')))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });

  test('the free functions follow the default instance', async () => {
    await wasmCore.init();
    const d = randomBytes(300);
    expect(hex(wasmCore.sha1(d))).toBe(hash('sha1', d, 'hex'));
    expect(hex(wasmCore.sha384(d))).toBe(hash('sha384', d, 'hex'));
    expect(hex(wasmCore.sha512(d))).toBe(hash('sha512', d, 'hex'));
    expect(hex(wasmCore.createSha512().update(d).digest())).toBe(hash('sha512', d, 'hex'));
    expect(hex(wasmCore.createSha384().update(d).digest())).toBe(hash('sha384', d, 'hex'));
    expect(hex(wasmCore.createSha1().update(d).digest())).toBe(hash('sha1', d, 'hex'));
    const out = new Uint8Array(64);
    wasmCore.sha256BatchInto([d, d], out);
    expect(hex(out)).toBe(hash('sha256', d, 'hex').repeat(2));
    const leaves = [d, d, d];
    const root = wasmCore.merkleRoot(leaves);
    expect(wasmCore.verifyInclusion(d, 2, 3, wasmCore.inclusionProof(leaves, 2), root)).toBe(true);
    const rootM = wasmCore.merkleRoot(leaves.slice(0, 2));
    expect(wasmCore.verifyConsistency(2, 3, wasmCore.consistencyProof(leaves, 2), rootM, root)).toBe(true);
  });

  test('the scalar build can be forced, and each instance reports the hash of its module bytes', async () => {
    const simd = await wasmCore.createWasmCore({ variant: 'simd' });
    const scalar = await wasmCore.createWasmCore({ variant: 'scalar' });
    expect(scalar.variant).toBe('scalar');
    expect(scalar.lanes).toBe(1);
    for (const [core, artifact] of [
      [simd, releaseSimd],
      [scalar, releaseScalar],
    ] as const) {
      const bytes = Buffer.from(artifact.base64, 'base64');
      expect(bytes.length).toBe(artifact.byteLength);
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(artifact.sha256);
      expect(core.moduleSha256).toBe(artifact.sha256);
      // moduleBytes(): those very bytes (what a worker thread instantiates), a new copy on every call.
      const own = core.moduleBytes();
      expect(Buffer.from(own).equals(bytes)).toBe(true);
      own.fill(0);
      expect(Buffer.from(core.moduleBytes()).equals(bytes)).toBe(true);
      // The arena runs from above the static data (constant tables) to the end of the fixed memory;
      // signature tables take some of the 8 MiB, and at least 6 MiB must stay for inputs.
      const b = core.boundary();
      expect(b.arenaPtr + b.arenaByteLen).toBe(b.memory.buffer.byteLength);
      expect(core.arenaByteLen).toBe(b.arenaByteLen);
      expect(core.arenaByteLen).toBeGreaterThanOrEqual(6 * 2 ** 20);
    }
    expect(releaseSimd.sha256).not.toBe(releaseScalar.sha256);
    await expect(
      wasmCore.createWasmCore({ variant: 'avx' as unknown as wasmCore.WasmVariant }),
    ).rejects.toThrow(TypeError);
  });

  test('the debug builds pass the short-message vectors', async () => {
    for (const variant of ['simd', 'scalar'] as const) {
      const core = await wasmCore.createWasmCore({ variant, debug: true });
      expect(core.debug).toBe(true);
      for (const alg of SHA_ALGORITHMS) {
        for (const v of loadShavs(alg, 'ShortMsg'))
          expect(hex(core[alg](v.msg)), `${variant} ${v.id}`).toBe(hex(v.md));
      }
      const msgs = [randomBytes(0), randomBytes(64), randomBytes(65), randomBytes(200), randomBytes(1)];
      expect(hex(core.sha256Batch(msgs))).toBe(msgs.map((m) => hash('sha256', m, 'hex')).join(''));
    }
  });

  test('messages larger than the arena stream through it (one-shot and streaming)', async () => {
    const core = await wasmCore.createWasmCore();
    const big = randomBytes(core.arenaByteLen + 12_345);
    for (const alg of SHA_ALGORITHMS) {
      expect(hex(core[alg](big)), alg).toBe(hash(alg, big, 'hex'));
    }
    const h = core.createSha256();
    h.update(big.subarray(0, 5));
    h.update(big.subarray(5));
    expect(hex(h.digest())).toBe(hash('sha256', big, 'hex'));
  });

  test('hashers are independent: interleaved updates do not disturb each other', async () => {
    const core = await wasmCore.createWasmCore();
    const a = randomBytes(1000);
    const b = randomBytes(1000);
    const ha = core.createSha512();
    const hb = core.createSha512();
    for (let i = 0; i < 1000; i += 100) {
      ha.update(a.subarray(i, i + 100));
      core.sha256(b); // uses the arena in between
      hb.update(b.subarray(i, i + 100));
    }
    expect(hex(ha.digest())).toBe(hash('sha512', a, 'hex'));
    expect(hex(hb.digest())).toBe(hash('sha512', b, 'hex'));
    expect(() => ha.digest()).toThrow(/twice/);
  });
});
