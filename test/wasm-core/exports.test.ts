// SPDX-License-Identifier: Apache-2.0
// The export lists of the generated modules (WebAssembly JS API `Module.exports`). Each release build
// exports exactly what the loader requires: the loader accepts it (wasm-core/boundary.ts instantiateCore,
// then wasm-core/verify/index.ts createVerifier) and refuses it with any one export removed, naming that
// export; so no test or benchmark knob (a global MSM switch among them) is reachable from production
// code. The debug builds export the same list. The testing builds export that list plus exactly KNOBS.
import { describe, expect, test } from 'vitest';
import { instantiateCore } from '../../wasm-core/boundary.js';
import { releaseScalar, releaseSimd, type WasmArtifact } from '../../wasm-core/generated/wasm.js';
import { debugScalar, debugSimd } from '../../wasm-core/generated/wasm-debug.js';
import { testingScalar, testingSimd } from '../../wasm-core/generated/wasm-testing.js';
import { createVerifier } from '../../wasm-core/verify/index.js';

/** The knobs and probes that wasm-core/assembly/testing.ts adds to the ABI. */
const KNOBS = [
  'bn_mont_mul',
  'bn_mont_sqr',
  'bn_mont_r2',
  'bn_mod_inverse',
  'field_desc_byte_len',
  'field_init',
  'field_mul',
  'field_sqr',
  'field_add',
  'field_sub',
  'field_half',
  'field_neg',
  'field_inv',
  'field_to_mont',
  'field_from_mont',
  'field_sqrt',
  'field_triple',
  'field_sub_double',
  'field_sub_half',
  'ecdsa_field',
  'ed25519_field_op',
  'ed25519_scalar_op',
  'ed25519_batch_set_msm',
  'ed25519_batch_combined',
];

// The WebAssembly global, typed locally: the project's TypeScript lib (ES2023, no DOM) does not declare it.
interface ExportDescriptor {
  readonly name: string;
  readonly kind: string;
}
interface WebAssemblyApi {
  Module: { new (bytes: Uint8Array): object; exports(module: object): ExportDescriptor[] };
}
const webAssembly = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

const bytesOf = (a: WasmArtifact): Uint8Array => Uint8Array.from(Buffer.from(a.base64, 'base64'));
const exportsOf = (bytes: Uint8Array): ExportDescriptor[] =>
  webAssembly.Module.exports(new webAssembly.Module(bytes));
const namesOf = (a: WasmArtifact): string[] => exportsOf(bytesOf(a)).map((e) => e.name);

/** A u32 in LEB128 at `offset` (WebAssembly Core Specification §5.2.2) and the offset after it. */
function readU32(bytes: Uint8Array, offset: number): { value: number; next: number } {
  let value = 0;
  for (let o = offset, shift = 0; shift < 35; o++, shift += 7) {
    const b = bytes[o];
    if (b === undefined) throw new Error(`LEB128 at ${offset}: truncated`);
    value += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return { value, next: o + 1 };
  }
  throw new Error(`LEB128 at ${offset}: longer than 5 bytes`);
}

function u32Leb(n: number): Uint8Array {
  const out: number[] = [];
  let v = n;
  do {
    const low = v & 0x7f;
    v = Math.floor(v / 128);
    out.push(v === 0 ? low : low | 0x80);
  } while (v !== 0);
  return Uint8Array.from(out);
}

const concat = (parts: readonly Uint8Array[]): Uint8Array => Uint8Array.from(Buffer.concat(parts));

/**
 * The module with the export `name` taken out of its export section (binary format §5.5: after the
 * 8-byte preamble, sections of an id byte, a u32 size and that many bytes; section 7 is a vector of
 * name, kind byte and u32 index). The function or memory itself stays, unexported.
 */
function withoutExport(bytes: Uint8Array, name: string): Uint8Array {
  for (let o = 8; o < bytes.length; ) {
    const size = readU32(bytes, o + 1);
    const end = size.next + size.value;
    if (bytes[o] === 7) {
      const count = readU32(bytes, size.next);
      const kept: Uint8Array[] = [];
      let removed = 0;
      for (let i = 0, p = count.next; i < count.value; i++) {
        const len = readU32(bytes, p);
        const entryName = Buffer.from(bytes.subarray(len.next, len.next + len.value)).toString('utf8');
        const next = readU32(bytes, len.next + len.value + 1).next;
        if (entryName === name) removed++;
        else kept.push(bytes.subarray(p, next));
        p = next;
      }
      if (removed !== 1) throw new Error(`${name}: exported ${removed} times`);
      const content = concat([u32Leb(count.value - 1), ...kept]);
      return concat([
        bytes.subarray(0, o),
        Uint8Array.of(7),
        u32Leb(content.length),
        content,
        bytes.subarray(end),
      ]);
    }
    o = end;
  }
  throw new Error('the module has no export section');
}

/** Runs the loader's checks on `bytes`: instantiation with the boundary's, then the verifiers'. */
async function load(bytes: Uint8Array): Promise<void> {
  const artifact: WasmArtifact = {
    variant: 'under-test',
    byteLength: bytes.length,
    sha256: '',
    base64: Buffer.from(bytes).toString('base64'),
  };
  const { boundary } = await instantiateCore(artifact);
  createVerifier(boundary);
}

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

for (const artifact of [releaseSimd, releaseScalar]) {
  describe(`wasm-core ${artifact.variant} exports`, () => {
    const bytes = bytesOf(artifact);
    const exports = exportsOf(bytes);

    test('functions and one memory, none of them a knob', () => {
      expect(exports.filter((e) => e.kind !== 'function')).toEqual([{ name: 'memory', kind: 'memory' }]);
      expect(exports.map((e) => e.name).filter((n) => KNOBS.includes(n))).toEqual([]);
      expect(new Set(exports.map((e) => e.name)).size).toBe(exports.length);
    });

    test('the loader accepts the module, and refuses it without any one of its exports', async () => {
      await expect(load(bytes)).resolves.toBeUndefined();
      for (const { name } of exports) {
        const stripped = withoutExport(bytes, name);
        // The engine reads the edited module back with exactly that export gone.
        expect(exportsOf(stripped)).toEqual(exports.filter((e) => e.name !== name));
        const missing = name === 'memory' ? 'its memory' : name;
        await expect(load(stripped), name).rejects.toThrow(
          new RegExp(`does not export ${escapeRegExp(missing)}$`),
        );
      }
    });
  });
}

describe('wasm-core export lists across builds', () => {
  test('SIMD, scalar and the debug builds export the same names as the SIMD release build', () => {
    const release = namesOf(releaseSimd);
    for (const artifact of [releaseScalar, debugSimd, debugScalar])
      expect(namesOf(artifact).sort(), artifact.variant).toEqual([...release].sort());
  });

  test('the testing builds export the release ABI and exactly the knobs, and the loader accepts them', async () => {
    const release = namesOf(releaseSimd);
    for (const artifact of [testingSimd, testingScalar]) {
      const names = namesOf(artifact);
      expect(names, artifact.variant).toEqual(expect.arrayContaining(release));
      expect(names.sort(), artifact.variant).toEqual([...release, ...KNOBS].sort());
      await expect(load(bytesOf(artifact))).resolves.toBeUndefined();
    }
  });
});
