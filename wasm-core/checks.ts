// SPDX-License-Identifier: Apache-2.0
/**
 * @module wasm-core/checks
 *
 * Argument checks of the loader (STYLE principle 5: misuse by our own code throws, naming the argument).
 * Only `Uint8Array` is accepted as bytes (including a Uint8Array from another realm, and Node's Buffer,
 * a subclass); other typed arrays, DataView and strings are refused rather than reinterpreted.
 *
 * Not covered: lengths and ranges, which each operation checks against its own limits.
 */

export function isBytes(value: unknown): value is Uint8Array {
  return (
    value instanceof Uint8Array ||
    (ArrayBuffer.isView(value) &&
      (value as { constructor?: { name?: string } }).constructor?.name === 'Uint8Array')
  );
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (ArrayBuffer.isView(value)) return value.constructor.name;
  if (Array.isArray(value)) return 'Array';
  return typeof value;
}

/** The TypeError for element `index` of the array argument `name` that is not a Uint8Array. */
export function notBytesError(name: string, index: number, value: unknown): TypeError {
  return new TypeError(`${name}[${index}] must be a Uint8Array, got ${describe(value)}`);
}

export function assertBytes(value: unknown, name: string): asserts value is Uint8Array {
  if (!isBytes(value)) throw new TypeError(`${name} must be a Uint8Array, got ${describe(value)}`);
}

export function assertArray(value: unknown, name: string): asserts value is readonly unknown[] {
  if (!Array.isArray(value))
    throw new TypeError(`${name} must be an array of Uint8Array, got ${describe(value)}`);
}

export function assertBytesArray(value: unknown, name: string): asserts value is readonly Uint8Array[] {
  if (!Array.isArray(value))
    throw new TypeError(`${name} must be an array of Uint8Array, got ${describe(value)}`);
  for (let i = 0; i < value.length; i++) assertBytes(value[i], `${name}[${i}]`);
}

export function assertNumber(value: unknown, name: string): asserts value is number {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number, got ${describe(value)}`);
}
