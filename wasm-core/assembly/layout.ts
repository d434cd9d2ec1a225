// SPDX-License-Identifier: Apache-2.0
// Memory layout shared by every primitive (STYLE.md principle 10).
//
// Static data (constant tables and each kernel's private scratch) is laid out by the compiler below
// `__heap_base`. Everything above it, up to the end of memory, is the arena: the only region the loader
// writes inputs into and reads outputs from. Memory is declared with initial = maximum pages, so it never
// grows and the loader's views over it stay valid for the life of the instance. Nothing here allocates:
// the module is built with `--runtime stub` and no managed object is ever created.

/** Bumped whenever an exported signature or the meaning of an argument changes; the loader checks it. */
// @ts-ignore: decorator
@inline export const ABI_VERSION: u32 = 1;


/** The ABI version this module implements. */
export function abi_version(): u32 {
  return ABI_VERSION;
}

/** Byte offset of the arena in linear memory. */
export function arena_ptr(): usize {
  // Aligned to 64 bytes so that records the loader packs at multiples of 64 stay block-aligned.
  return (__heap_base + 63) & ~(<usize>63);
}

/** Byte length of the arena (from `arena_ptr()` to the end of memory). */
export function arena_byte_len(): usize {
  return (<usize>memory.size() << 16) - arena_ptr();
}
