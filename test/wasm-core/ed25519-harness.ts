// SPDX-License-Identifier: Apache-2.0
// Shared by the test/wasm-core/ed25519*.test.ts suites: wasm-core instances built for the Ed25519 glue,
// instantiated here from the generated modules (the SIMD and scalar release builds, on which the verdicts
// are asserted, and the testing builds, which add the probes and the MSM switch), and one typed loader per
// vendored vector format (provenance in test/vectors/SOURCES.md).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { releaseScalar, releaseSimd, type WasmArtifact } from '../../wasm-core/generated/wasm.js';
import { testingScalar, testingSimd } from '../../wasm-core/generated/wasm-testing.js';
import type { Ed25519Core, Ed25519Exports } from '../../wasm-core/verify/ed25519.js';

/** The glue's exports and the arena's, which every build has. */
export interface Ed25519InstanceExports extends Ed25519Exports {
  arena_ptr(): number;
  arena_byte_len(): number;
}

/** What the testing builds add (wasm-core/assembly/testing.ts): the probes and the MSM switch. */
export interface Ed25519TestingExports extends Ed25519InstanceExports {
  ed25519_field_op(op: number, outPtr: number, aPtr: number, bPtr: number): number;
  ed25519_scalar_op(op: number, outPtr: number, aPtr: number, bPtr: number): number;
  ed25519_batch_set_msm(mode: number): number;
  ed25519_batch_combined(): number;
}

export interface TestCore<X extends Ed25519InstanceExports = Ed25519InstanceExports> extends Ed25519Core {
  readonly name: string;
  readonly exports: X;
  readonly u8: Uint8Array;
}

/** An instance of a testing build. */
export type TestingCore = TestCore<Ed25519TestingExports>;

/** A release build and the testing build of the same variant (SIMD or scalar). */
export interface CorePair {
  readonly name: string;
  readonly release: TestCore;
  readonly testing: TestingCore;
}

// The WebAssembly global, typed locally: the project's TypeScript lib (ES2023, no DOM) does not declare it.
interface WebAssemblyApi {
  instantiate(
    bytes: Uint8Array,
    imports: object,
  ): Promise<{ instance: { exports: Record<string, unknown> } }>;
}
const webAssembly = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

/** An instance of `artifact`, its exports taken to be X (the caller picks the build that has them). */
async function instantiate<X extends Ed25519InstanceExports>(
  artifact: WasmArtifact,
  name: string,
): Promise<TestCore<X>> {
  const bytes = Uint8Array.from(Buffer.from(artifact.base64, 'base64'));
  const { instance } = await webAssembly.instantiate(bytes, {});
  const exports = instance.exports as unknown as X & { memory: { buffer: ArrayBuffer } };
  return {
    name,
    exports,
    memory: exports.memory,
    arenaPtr: exports.arena_ptr(),
    arenaByteLen: exports.arena_byte_len(),
    u8: new Uint8Array(exports.memory.buffer),
  };
}

/** Both release builds; the verdict suites run against each. */
export async function cores(): Promise<TestCore[]> {
  return [await instantiate(releaseSimd, 'SIMD'), await instantiate(releaseScalar, 'scalar')];
}

/** Both testing builds, for the probes. */
export async function testingCores(): Promise<TestingCore[]> {
  return [
    await instantiate<Ed25519TestingExports>(testingSimd, 'testing SIMD'),
    await instantiate<Ed25519TestingExports>(testingScalar, 'testing scalar'),
  ];
}

/** Each release build with its testing twin, for suites that assert verdicts under every MSM mode. */
export async function corePairs(): Promise<CorePair[]> {
  return [
    {
      name: 'SIMD',
      release: await instantiate(releaseSimd, 'SIMD'),
      testing: await instantiate<Ed25519TestingExports>(testingSimd, 'testing SIMD'),
    },
    {
      name: 'scalar',
      release: await instantiate(releaseScalar, 'scalar'),
      testing: await instantiate<Ed25519TestingExports>(testingScalar, 'testing scalar'),
    },
  ];
}

/** The same instance seen through a smaller arena (exercises chunking and streaming on small inputs). */
export function withArena(core: TestCore, arenaByteLen: number): TestCore {
  return { ...core, arenaByteLen };
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

export function unhex(text: string, what = 'hex'): Uint8Array {
  if (!/^(?:[0-9a-f]{2})*$/i.test(text)) throw new Error(`${what}: not hex: ${text.slice(0, 40)}`);
  return Uint8Array.from(Buffer.from(text, 'hex'));
}

const VECTORS = join(import.meta.dirname, '..', 'vectors');

// ---------------------------------------------------------------------------------------------------
// Wycheproof eddsa_verify_schema_v1 (wycheproof/ed25519_test.json)

export type WycheproofResult = 'valid' | 'invalid' | 'acceptable';

export interface WycheproofCase {
  readonly tcId: number;
  readonly comment: string;
  readonly flags: readonly string[];
  readonly result: WycheproofResult;
  readonly publicKey: Uint8Array;
  readonly message: Uint8Array;
  readonly signature: Uint8Array;
}

export interface WycheproofFile {
  readonly numberOfTests: number;
  readonly cases: readonly WycheproofCase[];
}

function asResult(value: unknown, tcId: number): WycheproofResult {
  if (value === 'valid' || value === 'invalid' || value === 'acceptable') return value;
  // STYLE principle 8: an unknown result class fails the suite.
  throw new Error(`wycheproof tcId ${tcId}: unknown result ${JSON.stringify(value)}`);
}

export function loadWycheproofEd25519(): WycheproofFile {
  const raw = JSON.parse(readFileSync(join(VECTORS, 'wycheproof', 'ed25519_test.json'), 'utf8')) as {
    algorithm: string;
    schema: string;
    numberOfTests: number;
    testGroups: {
      publicKey: { curve: string; pk: string };
      tests: { tcId: number; comment: string; flags: string[]; msg: string; sig: string; result: unknown }[];
    }[];
  };
  if (raw.algorithm !== 'EDDSA' || raw.schema !== 'eddsa_verify_schema_v1.json')
    throw new Error(`ed25519_test.json: unexpected ${raw.algorithm} / ${raw.schema}`);
  const cases: WycheproofCase[] = [];
  for (const g of raw.testGroups) {
    if (g.publicKey.curve !== 'edwards25519') throw new Error(`unexpected curve ${g.publicKey.curve}`);
    const publicKey = unhex(g.publicKey.pk, 'pk');
    for (const t of g.tests) {
      cases.push({
        tcId: t.tcId,
        comment: t.comment,
        flags: t.flags,
        result: asResult(t.result, t.tcId),
        publicKey,
        message: unhex(t.msg, `tcId ${t.tcId} msg`),
        signature: unhex(t.sig, `tcId ${t.tcId} sig`),
      });
    }
  }
  return { numberOfTests: raw.numberOfTests, cases };
}

// ---------------------------------------------------------------------------------------------------
// ring's `Key = value` records (sigver/ed25519_tests.txt, sigver/ed25519_verify_tests.txt)

export interface SigverCase {
  /** File and 1-based line of the record's first line, for failure messages. */
  readonly id: string;
  readonly publicKey: Uint8Array;
  readonly message: Uint8Array;
  readonly signature: Uint8Array;
  /** `Result = P` (true) or `F` (false); ed25519_tests.txt has no Result and is all valid. */
  readonly valid: boolean;
  readonly seed?: Uint8Array;
}

function ringValue(v: string, what: string): Uint8Array {
  return v === '""' ? new Uint8Array(0) : unhex(v, what);
}

export function loadRingEd25519(file: 'ed25519_tests.txt' | 'ed25519_verify_tests.txt'): SigverCase[] {
  const out: SigverCase[] = [];
  let rec = new Map<string, string>();
  let first = 0;
  const flush = (): void => {
    if (rec.size === 0) return;
    const id = `${file}:${first}`;
    const pub = rec.get('PUB');
    const msg = rec.get('MESSAGE');
    const sig = rec.get('SIG');
    if (pub === undefined || msg === undefined || sig === undefined)
      throw new Error(`${id}: incomplete record`);
    const result = rec.get('Result');
    if (result !== undefined && result !== 'P' && result !== 'F') throw new Error(`${id}: Result ${result}`);
    const seed = rec.get('SEED');
    out.push({
      id,
      publicKey: ringValue(pub, `${id} PUB`),
      message: ringValue(msg, `${id} MESSAGE`),
      signature: ringValue(sig, `${id} SIG`),
      valid: result === undefined || result === 'P',
      ...(seed === undefined ? {} : { seed: ringValue(seed, `${id} SEED`) }),
    });
    rec = new Map();
  };
  const lines = readFileSync(join(VECTORS, 'sigver', file), 'utf8').split(/\r?\n/);
  lines.forEach((raw, index) => {
    const line = raw.trim();
    if (line.startsWith('#')) return;
    if (line === '') {
      flush();
      return;
    }
    const m = /^(\w+)\s*=\s*(\S+)$/.exec(line);
    if (m === null) throw new Error(`${file}:${index + 1}: unexpected line`);
    if (rec.size === 0) first = index + 1;
    rec.set(m[1] as string, m[2] as string);
  });
  flush();
  return out;
}

// ---------------------------------------------------------------------------------------------------
// SUPERCOP sign.input (sigver/ed25519.input): sk‖pk : pk : msg : sig‖msg :

export function loadSupercop(): SigverCase[] {
  const lines = readFileSync(join(VECTORS, 'sigver', 'ed25519.input'), 'utf8').split('\n');
  const out: SigverCase[] = [];
  lines.forEach((line, index) => {
    if (line === '') return;
    const id = `ed25519.input:${index + 1}`;
    const f = line.split(':');
    if (f.length !== 5) throw new Error(`${id}: expected 5 fields`);
    const [skpk = '', pk = '', msg = '', sm = ''] = f;
    const signature = unhex(sm.slice(0, 128), id);
    const message = unhex(msg, id);
    if (sm.slice(128) !== msg || skpk.slice(64) !== pk) throw new Error(`${id}: inconsistent fields`);
    out.push({
      id,
      publicKey: unhex(pk, id),
      message,
      signature,
      valid: true,
      seed: unhex(skpk.slice(0, 64), id),
    });
  });
  return out;
}

// ---------------------------------------------------------------------------------------------------
// ed25519-speccheck (sigver/ed25519-speccheck/cases.json)

export interface SpeccheckCase {
  readonly index: number;
  readonly publicKey: Uint8Array;
  readonly message: Uint8Array;
  readonly signature: Uint8Array;
}

export function loadSpeccheck(): SpeccheckCase[] {
  const raw = JSON.parse(
    readFileSync(join(VECTORS, 'sigver', 'ed25519-speccheck', 'cases.json'), 'utf8'),
  ) as { message: string; pub_key: string; signature: string }[];
  return raw.map((c, index) => ({
    index,
    publicKey: unhex(c.pub_key, `case ${index} pub_key`),
    message: unhex(c.message, `case ${index} message`),
    signature: unhex(c.signature, `case ${index} signature`),
  }));
}
