// SPDX-License-Identifier: Apache-2.0
// Shared by the signature suites (bignum, field, der, ecdsa, rsa, verify tests): wasm-core instances
// instantiated here from the generated modules with the verifier over each (the SIMD and scalar release
// builds, which the verdict suites run on), the testing builds with typed views of their arithmetic
// probes (which the release builds do not export), and one typed loader per vendored vector format
// (provenance in test/vectors/SOURCES.md).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { releaseScalar, releaseSimd, type WasmArtifact } from '../../wasm-core/generated/wasm.js';
import { testingScalar, testingSimd } from '../../wasm-core/generated/wasm-testing.js';
import { createVerifier, type Verifier, type VerifierCore } from '../../wasm-core/verify/index.js';

/**
 * The arithmetic probes the property tests call (wasm-core/assembly/{bignum,field,ecdsa}.ts), exported
 * by the testing builds only (wasm-core/assembly/testing.ts).
 */
export interface ArithmeticExports {
  arena_ptr(): number;
  arena_byte_len(): number;
  bn_mont_mul(r: number, a: number, b: number, m: number, limbs: number): void;
  bn_mont_sqr(r: number, a: number, m: number, limbs: number): void;
  bn_mod_inverse(r: number, a: number, m: number, limbs: number): number;
  bn_mont_r2(r: number, m: number, limbs: number): void;
  field_desc_byte_len(): number;
  field_init(f: number, m: number, limbs: number): void;
  field_mul(f: number, r: number, a: number, b: number): void;
  field_sqr(f: number, r: number, a: number): void;
  field_add(f: number, r: number, a: number, b: number): void;
  field_sub(f: number, r: number, a: number, b: number): void;
  field_half(f: number, r: number, a: number): void;
  field_triple(f: number, r: number, a: number): void;
  field_sub_double(f: number, r: number, a: number, b: number): void;
  field_sub_half(f: number, r: number, a: number, b: number): void;
  field_neg(f: number, r: number, a: number): void;
  field_inv(f: number, r: number, a: number): void;
  field_to_mont(f: number, r: number, a: number): void;
  field_from_mont(f: number, r: number, a: number): void;
  field_sqrt(f: number, r: number, a: number): number;
  ecdsa_field(curve: number, which: number): number;
}

export interface SigTestCore {
  readonly name: string;
  readonly core: VerifierCore;
  readonly u8: Uint8Array;
  readonly verifier: Verifier;
}

/** An instance of a testing build: the verifier as on a release build, and the arithmetic probes. */
export interface ArithmeticTestCore extends SigTestCore {
  readonly x: ArithmeticExports;
}

// The WebAssembly global, typed locally: the project's TypeScript lib (ES2023, no DOM) does not declare it.
interface WebAssemblyApi {
  instantiate(
    bytes: Uint8Array,
    imports: object,
  ): Promise<{ instance: { exports: Record<string, unknown> } }>;
}
const webAssembly = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

interface InstanceExports {
  readonly memory: { readonly buffer: ArrayBuffer };
  arena_ptr(): number;
  arena_byte_len(): number;
}

async function instantiate(artifact: WasmArtifact, name: string): Promise<SigTestCore> {
  const bytes = Uint8Array.from(Buffer.from(artifact.base64, 'base64'));
  const { instance } = await webAssembly.instantiate(bytes, {});
  const exports = instance.exports;
  const x = exports as unknown as InstanceExports;
  const core: VerifierCore = {
    exports,
    memory: x.memory,
    arenaPtr: x.arena_ptr(),
    arenaByteLen: x.arena_byte_len(),
  };
  return { name, core, u8: new Uint8Array(x.memory.buffer), verifier: createVerifier(core) };
}

/** Both release builds; every vector suite runs against each. */
export async function cores(): Promise<SigTestCore[]> {
  return [await instantiate(releaseSimd, 'SIMD'), await instantiate(releaseScalar, 'scalar')];
}

/** Both testing builds, for the property tests of the arithmetic probes. */
export async function testingCores(): Promise<ArithmeticTestCore[]> {
  const out: ArithmeticTestCore[] = [];
  for (const [artifact, name] of [
    [testingSimd, 'testing SIMD'],
    [testingScalar, 'testing scalar'],
  ] as const) {
    const c = await instantiate(artifact, name);
    out.push({ ...c, x: c.core.exports as unknown as ArithmeticExports });
  }
  return out;
}

export const fromHex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));
export const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

// ---------------------------------------------------------------------------------------------------
// Little-endian u32 limbs ⇄ BigInt, for the arithmetic probes.

export function writeLimbs(u8: Uint8Array, ptr: number, v: bigint, limbs: number): void {
  let x = v;
  for (let i = 0; i < limbs * 4; i++) {
    u8[ptr + i] = Number(x & 0xffn);
    x >>= 8n;
  }
}

export function readLimbs(u8: Uint8Array, ptr: number, limbs: number): bigint {
  let v = 0n;
  for (let i = limbs * 4 - 1; i >= 0; i--) v = (v << 8n) | BigInt(u8[ptr + i] ?? 0);
  return v;
}

// ---------------------------------------------------------------------------------------------------
// Wycheproof (test/vectors/wycheproof, testvectors_v1 schemas)

const VECTORS = join(import.meta.dirname, '..', 'vectors');

export type WycheproofResult = 'valid' | 'invalid' | 'acceptable';

export interface WycheproofTest {
  readonly tcId: number;
  readonly comment: string;
  readonly flags: readonly string[];
  readonly msg: string;
  readonly sig: string;
  readonly result: WycheproofResult;
}

export interface WycheproofGroup {
  readonly publicKeyDer: string;
  readonly sha: string;
  readonly mgf?: string;
  readonly mgfSha?: string;
  readonly sLen?: number;
  readonly keySize?: number;
  readonly tests: readonly WycheproofTest[];
}

export interface WycheproofFile {
  readonly algorithm: string;
  readonly numberOfTests: number;
  readonly testGroups: readonly WycheproofGroup[];
}

export function loadWycheproof(name: string): WycheproofFile {
  const file = JSON.parse(readFileSync(join(VECTORS, 'wycheproof', name), 'utf8')) as WycheproofFile;
  let count = 0;
  for (const g of file.testGroups) {
    for (const t of g.tests) {
      // STYLE principle 8: an unknown result class fails the suite.
      if (t.result !== 'valid' && t.result !== 'invalid' && t.result !== 'acceptable') {
        throw new Error(`${name} tcId ${t.tcId}: unknown result ${String(t.result)}`);
      }
      count++;
    }
  }
  if (count !== file.numberOfTests)
    throw new Error(`${name}: ${count} tests, header says ${file.numberOfTests}`);
  return file;
}

/** Wycheproof hash names to the API's. Undefined for hashes the API does not offer (SHA-224, SHA-3…). */
export function apiHash(sha: string): 'sha1' | 'sha256' | 'sha384' | 'sha512' | undefined {
  switch (sha) {
    case 'SHA-1':
      return 'sha1';
    case 'SHA-256':
      return 'sha256';
    case 'SHA-384':
      return 'sha384';
    case 'SHA-512':
      return 'sha512';
    default:
      return undefined;
  }
}

// ---------------------------------------------------------------------------------------------------
// ring's test file format (test/vectors/sigver): blank-line-separated records of `Key = value`.

export interface RingRecord {
  readonly fields: Readonly<Record<string, string>>;
  /** The comment lines just above the record. */
  readonly comments: readonly string[];
  /** 1-based line of the record's first field. */
  readonly line: number;
}

export function loadRing(name: string): RingRecord[] {
  const lines = readFileSync(join(VECTORS, 'sigver', name), 'utf8').split('\n');
  const out: RingRecord[] = [];
  let fields: Record<string, string> = {};
  let comments: string[] = [];
  let pendingComments: string[] = [];
  let line = 0;
  const flush = (): void => {
    if (Object.keys(fields).length > 0) out.push({ fields, comments, line });
    fields = {};
    comments = [];
  };
  lines.forEach((raw, i) => {
    const text = raw.trim();
    if (text === '') {
      flush();
      return;
    }
    if (text.startsWith('#')) {
      pendingComments.push(text.slice(1).trim());
      return;
    }
    const eq = text.indexOf('=');
    if (eq < 0) throw new Error(`${name}:${i + 1}: not a Key = value line`);
    if (Object.keys(fields).length === 0) {
      line = i + 1;
      comments = pendingComments;
      pendingComments = [];
    }
    fields[text.slice(0, eq).trim()] = text.slice(eq + 1).trim();
  });
  flush();
  return out;
}

/** A ring field's bytes: hex, or a quoted string (ring writes `Msg = ""` for the empty message). */
export function ringBytes(value: string | undefined): Uint8Array {
  if (value === undefined) throw new Error('missing field');
  if (value.startsWith('"')) return new TextEncoder().encode(value.slice(1, -1));
  return fromHex(value);
}

/** DER of a SubjectPublicKeyInfo around an RSAPublicKey (ring's `Key`) or an EC point (ring's `Q`). */
export function spkiFromRsaPublicKey(rsaPublicKey: Uint8Array): Uint8Array {
  // AlgorithmIdentifier { rsaEncryption, NULL } (RFC 8017 §A.1) and a BIT STRING with no unused bits.
  const algId = fromHex('300d06092a864886f70d0101010500');
  return derSequence([algId, derTlv(0x03, concat([new Uint8Array([0]), rsaPublicKey]))]);
}

export function spkiFromEcPoint(curve: 'P-256' | 'P-384', point: Uint8Array): Uint8Array {
  const curveOid = curve === 'P-256' ? '06082a8648ce3d030107' : '06052b81040022';
  const algId = fromHex(
    `30${(9 + curveOid.length / 2).toString(16).padStart(2, '0')}06072a8648ce3d0201${curveOid}`,
  );
  return derSequence([algId, derTlv(0x03, concat([new Uint8Array([0]), point]))]);
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** A DER TLV with a definite minimal length (X.690 §8.1.3). */
export function derTlv(tag: number, content: Uint8Array): Uint8Array {
  const n = content.length;
  let len: number[];
  if (n < 0x80) len = [n];
  else if (n < 0x100) len = [0x81, n];
  else if (n < 0x10000) len = [0x82, n >> 8, n & 0xff];
  else len = [0x83, n >> 16, (n >> 8) & 0xff, n & 0xff];
  return concat([new Uint8Array([tag, ...len]), content]);
}

export function derSequence(parts: readonly Uint8Array[]): Uint8Array {
  return derTlv(0x30, concat(parts));
}
