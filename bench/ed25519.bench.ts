// SPDX-License-Identifier: Apache-2.0
/**
 * Ed25519 verification: wasm-core (wasm-core/verify/ed25519.ts over the SIMD and scalar release builds)
 * against node:crypto (OpenSSL, the KeyObject made once), libsodium-wrappers and @noble/curves (STYLE
 * principle 13). Sections (BENCH_SECTIONS=single,batch,msm to pick):
 *   single  one signature at a time, 100-byte messages: one key throughout, and 64 keys in turn
 *   batch   batches of 256: 256 keys and one key, per-signature time against node:crypto single
 *   msm     Straus against Pippenger windows at several batch sizes (how ed25519-batch.ts chooses), on
 *           the SIMD testing build, the one with the MSM switch (release optimisation like the others)
 * Prints markdown tables of medians and ratios for BENCHMARKS.md; asserts nothing, but refuses to time a
 * verifier that does not accept the signatures it is timed on.
 */
import { generateKeyPairSync, type KeyObject, verify as nodeVerify, randomBytes, sign } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import sodium from 'libsodium-wrappers';
import { releaseScalar, releaseSimd, type WasmArtifact } from '../wasm-core/generated/wasm.js';
import { testingSimd } from '../wasm-core/generated/wasm-testing.js';
import {
  type Ed25519Core,
  type Ed25519Exports,
  type Ed25519Item,
  ed25519Verify,
  ed25519VerifyBatch,
} from '../wasm-core/verify/ed25519.js';
import { type Case, compare, formatNs, ratio, table } from './measure.js';

interface BenchExports extends Ed25519Exports {
  arena_ptr(): number;
  arena_byte_len(): number;
}
/** The testing builds' MSM switch (wasm-core/assembly/testing.ts); the release builds do not export it. */
interface MsmExports extends BenchExports {
  ed25519_batch_set_msm(mode: number): number;
}
interface BenchCore<X extends BenchExports = BenchExports> extends Ed25519Core {
  readonly exports: X;
}

interface WebAssemblyApi {
  instantiate(
    bytes: Uint8Array,
    imports: object,
  ): Promise<{ instance: { exports: Record<string, unknown> } }>;
}
const webAssembly = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

/** An instance of one build, its exports taken to be X (the caller picks the build that has them). */
async function instantiate<X extends BenchExports>(artifact: WasmArtifact): Promise<BenchCore<X>> {
  const { instance } = await webAssembly.instantiate(
    Uint8Array.from(Buffer.from(artifact.base64, 'base64')),
    {},
  );
  const exports = instance.exports as unknown as X & { memory: { buffer: ArrayBuffer } };
  return {
    exports,
    memory: exports.memory,
    arenaPtr: exports.arena_ptr(),
    arenaByteLen: exports.arena_byte_len(),
  };
}

interface Signed extends Ed25519Item {
  readonly keyObject: KeyObject;
}

function keyPair(): { publicKey: Uint8Array; keyObject: KeyObject; privateKey: KeyObject } {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  return { publicKey: new Uint8Array(spki.subarray(spki.length - 32)), keyObject: publicKey, privateKey };
}

/** n signatures on 100-byte messages, spread over `keys` keys. */
function signedSet(n: number, keys: number): Signed[] {
  const pairs = Array.from({ length: keys }, keyPair);
  return Array.from({ length: n }, (_, i) => {
    const k = pairs[i % keys] as ReturnType<typeof keyPair>;
    const message = new Uint8Array(randomBytes(100));
    return {
      publicKey: k.publicKey,
      keyObject: k.keyObject,
      message,
      signature: new Uint8Array(sign(null, message, k.privateKey)),
    };
  });
}

function perSecond(ns: number): string {
  return `${Math.round(1e9 / ns).toLocaleString('en-US')}/s`;
}

/** A case that verifies set[i] for i = 0, 1, …, wrapping; checked once before timing. */
function rotating(name: string, set: readonly Signed[], verify: (s: Signed) => boolean, reps: number): Case {
  for (const s of set) if (!verify(s)) throw new Error(`${name} rejects a valid signature`);
  let i = 0;
  return {
    name,
    reps,
    run: () => {
      const s = set[i] as Signed;
      i = (i + 1) % set.length;
      return verify(s);
    },
  };
}

function singleSection(simd: BenchCore, scalar: BenchCore): void {
  for (const keys of [1, 64]) {
    const set = signedSet(64, keys);
    const cases: Case[] = [
      rotating('wasm-core SIMD', set, (s) => ed25519Verify(simd, s.publicKey, s.message, s.signature), 100),
      rotating(
        'wasm-core scalar',
        set,
        (s) => ed25519Verify(scalar, s.publicKey, s.message, s.signature),
        100,
      ),
      rotating(
        'node:crypto crypto.verify',
        set,
        (s) => nodeVerify(null, s.message, s.keyObject, s.signature),
        100,
      ),
      rotating(
        'libsodium-wrappers crypto_sign_verify_detached',
        set,
        (s) => sodium.crypto_sign_verify_detached(s.signature, s.message, s.publicKey),
        100,
      ),
      rotating(
        '@noble/curves ed25519.verify',
        set,
        (s) => ed25519.verify(s.signature, s.message, s.publicKey),
        8,
      ),
    ];
    const t = compare(cases, 15);
    const node = t[2] ?? Number.NaN;
    const sodiumNs = t[3] ?? Number.NaN;
    table(
      `Ed25519 single verification, 100-byte messages, ${keys === 1 ? 'one key' : `${keys} keys in turn`}`,
      ['implementation', 'median', 'rate', 'vs node:crypto', 'vs libsodium-wrappers'],
      cases.map((c, i) => {
        const ns = t[i] ?? Number.NaN;
        return [c.name, formatNs(ns), perSecond(ns), ratio(node, ns), ratio(sodiumNs, ns)];
      }),
    );
  }
}

function batchSection(simd: BenchCore, scalar: BenchCore): void {
  const n = 256;
  for (const keys of [n, 1]) {
    const set = signedSet(n, keys);
    const check = (core: BenchCore): void => {
      if (!ed25519VerifyBatch(core, set).every((v) => v)) throw new Error('batch rejects a valid signature');
    };
    check(simd);
    check(scalar);
    const cases: Case[] = [
      { name: `wasm-core SIMD ed25519VerifyBatch(${n})`, run: () => ed25519VerifyBatch(simd, set), reps: 1 },
      {
        name: `wasm-core scalar ed25519VerifyBatch(${n})`,
        run: () => ed25519VerifyBatch(scalar, set),
        reps: 1,
      },
      {
        name: `node:crypto crypto.verify × ${n}`,
        run: () => set.map((s) => nodeVerify(null, s.message, s.keyObject, s.signature)),
        reps: 1,
      },
      {
        name: `wasm-core SIMD ed25519Verify × ${n}`,
        run: () => set.map((s) => ed25519Verify(simd, s.publicKey, s.message, s.signature)),
        reps: 1,
      },
    ];
    const t = compare(cases, 11);
    const node = t[2] ?? Number.NaN;
    table(
      `Ed25519 batch of ${n}, ${keys === 1 ? 'one key' : `${keys} keys`}: time per signature`,
      ['implementation', 'per signature', 'rate', 'vs node:crypto single'],
      cases.map((c, i) => {
        const ns = (t[i] ?? Number.NaN) / n;
        return [c.name, formatNs(ns), perSecond(ns), ratio(node / n, ns)];
      }),
    );
  }
}

/** Straus against Pippenger windows: the data behind chooseWindow() in ed25519-batch.ts. */
function msmSection(simd: BenchCore<MsmExports>): void {
  const modes = [
    { mode: 1, name: 'Straus' },
    { mode: 4, name: 'Pippenger c=4' },
    { mode: 5, name: 'Pippenger c=5' },
    { mode: 6, name: 'Pippenger c=6' },
    { mode: 7, name: 'Pippenger c=7' },
    { mode: 8, name: 'Pippenger c=8' },
  ];
  const rows: string[][] = [];
  for (const n of [8, 16, 32, 64, 128, 256, 512, 1024]) {
    const set = signedSet(n, n);
    const cases: Case[] = modes.map(({ mode, name }) => ({
      name,
      reps: 1,
      run: () => {
        const old = simd.exports.ed25519_batch_set_msm(mode);
        try {
          return ed25519VerifyBatch(simd, set);
        } finally {
          simd.exports.ed25519_batch_set_msm(old);
        }
      },
    }));
    const t = compare(cases, 7, 1);
    const best = Math.min(...t);
    rows.push([String(n), ...t.map((ns) => `${formatNs(ns / n)}${ns === best ? ' ←' : ''}`)]);
  }
  table(
    'Ed25519 batch, n keys: time per signature by multi-scalar multiplication (SIMD testing build)',
    ['n', ...modes.map((m) => m.name)],
    rows,
  );
}

export async function main(): Promise<void> {
  const only = process.env.BENCH_SECTIONS?.split(',');
  const want = (name: string) => only === undefined || only.includes(name);
  await sodium.ready;
  const simd = await instantiate(releaseSimd);
  const scalar = await instantiate(releaseScalar);
  if (want('single')) singleSection(simd, scalar);
  if (want('batch')) batchSection(simd, scalar);
  if (want('msm')) msmSection(await instantiate<MsmExports>(testingSimd));
}
