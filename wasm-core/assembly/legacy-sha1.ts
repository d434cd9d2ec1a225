// SPDX-License-Identifier: Apache-2.0
// LEGACY: SHA-1 (FIPS 180-4 §6.1), kept only to replay the SHA-1 PCR bank of TPM event logs.
//
// SHA-1 is broken for collision resistance. Nothing in execgate may rely on it for an authorization
// decision; it exists because TPM 2.0 firmware still extends a SHA-1 bank and an event log must be
// replayed against every bank it claims. Kept apart from the SHA-2 modules so a reader sees that.
//
// ABI (integers only; pointers are arena offsets checked by the loader):
//   sha1_init(statePtr); sha1_blocks(statePtr, dataPtr, blockCount);
//   sha1_final(statePtr, tailPtr, tailByteLen, totalByteLenLo, totalByteLenHi, outPtr);
//   sha1_digest(dataPtr, byteLen, outPtr)
// The state is 5 u32 words in native order (20 bytes), opaque to the loader.

/** FIPS 180-4 §5.3.1. */
const IV1: usize = memory.data<u32>([0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0]);

const W: usize = memory.data(80 * 4, 16);
const PAD: usize = memory.data(128, 16);
const ONESHOT_STATE: usize = memory.data(32, 16);

/** Compress one 64-byte block (FIPS 180-4 §6.1.2, with the §4.1.1 functions and §4.2.1 constants). */
function compress1(statePtr: usize, blockPtr: usize): void {
  for (let i: usize = 0; i < 16; i++) {
    store<u32>(W + (i << 2), bswap<u32>(load<u32>(blockPtr + (i << 2))));
  }
  for (let i: usize = 16; i < 80; i++) {
    const p = W + (i << 2);
    store<u32>(p, rotl<u32>(load<u32>(p - 12) ^ load<u32>(p - 32) ^ load<u32>(p - 56) ^ load<u32>(p - 64), 1));
  }
  let a = load<u32>(statePtr, 0);
  let b = load<u32>(statePtr, 4);
  let c = load<u32>(statePtr, 8);
  let d = load<u32>(statePtr, 12);
  let e = load<u32>(statePtr, 16);
  for (let i: usize = 0; i < 80; i++) {
    let f: u32;
    let k: u32;
    if (i < 20) {
      f = d ^ (b & (c ^ d)); // Ch
      k = 0x5a827999;
    } else if (i < 40) {
      f = b ^ c ^ d; // Parity
      k = 0x6ed9eba1;
    } else if (i < 60) {
      f = (b & c) | (d & (b | c)); // Maj
      k = 0x8f1bbcdc;
    } else {
      f = b ^ c ^ d; // Parity
      k = 0xca62c1d6;
    }
    const t = rotl<u32>(a, 5) + f + e + k + load<u32>(W + (i << 2));
    e = d;
    d = c;
    c = rotl<u32>(b, 30);
    b = a;
    a = t;
  }
  store<u32>(statePtr, load<u32>(statePtr, 0) + a, 0);
  store<u32>(statePtr, load<u32>(statePtr, 4) + b, 4);
  store<u32>(statePtr, load<u32>(statePtr, 8) + c, 8);
  store<u32>(statePtr, load<u32>(statePtr, 12) + d, 12);
  store<u32>(statePtr, load<u32>(statePtr, 16) + e, 16);
}

/** state := H(0) (FIPS 180-4 §5.3.1). */
export function sha1_init(statePtr: usize): void {
  memory.copy(statePtr, IV1, 20);
}

/** Compress blockCount whole 64-byte blocks starting at dataPtr. */
export function sha1_blocks(statePtr: usize, dataPtr: usize, blockCount: usize): void {
  const end = dataPtr + (blockCount << 6);
  for (let p = dataPtr; p < end; p += 64) compress1(statePtr, p);
}

/** Pad (FIPS 180-4 §5.1.1), compress and write the 20-byte digest. tailByteLen < 64. */
export function sha1_final(
  statePtr: usize,
  tailPtr: usize,
  tailByteLen: usize,
  totalByteLenLo: u32,
  totalByteLenHi: u32,
  outPtr: usize,
): void {
  memory.fill(PAD, 0, 128);
  memory.copy(PAD, tailPtr, tailByteLen);
  store<u8>(PAD + tailByteLen, 0x80);
  const blocks: usize = tailByteLen < 56 ? 1 : 2;
  const lenPtr = PAD + (blocks << 6) - 8;
  store<u32>(lenPtr, bswap<u32>((totalByteLenHi << 3) | (totalByteLenLo >>> 29)));
  store<u32>(lenPtr + 4, bswap<u32>(totalByteLenLo << 3));
  compress1(statePtr, PAD);
  if (blocks == 2) compress1(statePtr, PAD + 64);
  for (let j: usize = 0; j < 20; j += 4) {
    store<u32>(outPtr + j, bswap<u32>(load<u32>(statePtr + j)));
  }
}

/** One-shot SHA-1 of byteLen bytes at dataPtr into 20 bytes at outPtr. */
export function sha1_digest(dataPtr: usize, byteLen: usize, outPtr: usize): void {
  sha1_init(ONESHOT_STATE);
  const full = byteLen >>> 6;
  sha1_blocks(ONESHOT_STATE, dataPtr, full);
  sha1_final(ONESHOT_STATE, dataPtr + (full << 6), byteLen & 63, <u32>byteLen, 0, outPtr);
}
