// SPDX-License-Identifier: Apache-2.0
// SHA-256 (FIPS 180-4 §6.2) of one message: a SIMD-assisted engine for the SIMD build, a scalar engine
// for the scalar build, and the constants the multi-buffer kernel (sha256x4.ts) reuses.
//
// ABI (all integers; every pointer is a byte offset that the loader has bounds-checked inside the arena):
//   sha256_init(statePtr)                                   state := H(0) (§5.3.3)
//   sha256_blocks(statePtr, dataPtr, blockCount)           compress blockCount 64-byte blocks
//   sha256_final(statePtr, tailPtr, tailByteLen, totalByteLenLo, totalByteLenHi, outPtr)
//                                                          pad (§5.1.1), compress, write 32 bytes
//   sha256_digest(dataPtr, byteLen, outPtr)                one-shot of the above
// The state is 8 u32 words in native (little-endian) order; it is opaque to the loader, which only
// copies it in and out so that any number of streaming hashers can share one instance.
//
// Not covered here: anything secret. This code is for public data (DESIGN §2) and makes no attempt at
// constant-time behaviour.

/** FIPS 180-4 §4.2.2: first 32 bits of the fractional parts of the cube roots of the first 64 primes. */
export const K256: usize = memory.data<u32>([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

/** FIPS 180-4 §5.3.3: first 32 bits of the fractional parts of the square roots of the first 8 primes. */
export const IV256: usize = memory.data<u32>([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);

// W + K for the SIMD-assisted engine (§6.2.2 step 1 plus the K addition of step 3).
const WK: usize = memory.data(64 * 4, 16);
// Padding scratch: the last partial block plus at most one more (§5.1.1).
const PAD: usize = memory.data(128, 16);
// State for the one-shot and batch paths, so that they need no caller-provided state.
const ONESHOT_STATE: usize = memory.data(32, 16);

// §4.1.2 functions. rotr is a native WebAssembly instruction.
// @ts-ignore: decorator
@inline function bigSigma0(x: u32): u32 {
  return rotr<u32>(x, 2) ^ rotr<u32>(x, 13) ^ rotr<u32>(x, 22);
}
// @ts-ignore: decorator
@inline function bigSigma1(x: u32): u32 {
  return rotr<u32>(x, 6) ^ rotr<u32>(x, 11) ^ rotr<u32>(x, 25);
}
// @ts-ignore: decorator
@inline function smallSigma0(x: u32): u32 {
  return rotr<u32>(x, 7) ^ rotr<u32>(x, 18) ^ (x >>> 3);
}
// @ts-ignore: decorator
@inline function smallSigma1(x: u32): u32 {
  return rotr<u32>(x, 17) ^ rotr<u32>(x, 19) ^ (x >>> 10);
}
// Ch and Maj in their 3-operation forms (equal to §4.1.2's definitions bit by bit).
// @ts-ignore: decorator
@inline function ch(x: u32, y: u32, z: u32): u32 {
  return z ^ (x & (y ^ z));
}
// @ts-ignore: decorator
@inline function maj(x: u32, y: u32, z: u32): u32 {
  return (x & y) | (z & (x | y));
}

/**
 * Compress one 64-byte block at blockPtr into the state at statePtr (FIPS 180-4 §6.2.2). The SIMD build
 * computes the message schedule with v128 operations beside the scalar rounds (measured 1.3× faster on
 * 64 KiB than the scalar engine); the scalar build keeps the schedule in sixteen locals.
 */
export function compress256(statePtr: usize, blockPtr: usize): void {
  if (ASC_FEATURE_SIMD) compressVectorSchedule(statePtr, blockPtr);
  else compressScalar(statePtr, blockPtr);
}

/**
 * Scalar engine: W[i] lives in sixteen locals as a ring (W[i] overwrites W[i-16]), and each block of
 * sixteen rounds is written out with the working variables' roles rotated in the text instead of moved
 * between registers (after eight rounds every variable is back in its role).
 */
function compressScalar(statePtr: usize, blockPtr: usize): void {
  let a = load<u32>(statePtr, 0);
  let b = load<u32>(statePtr, 4);
  let c = load<u32>(statePtr, 8);
  let d = load<u32>(statePtr, 12);
  let e = load<u32>(statePtr, 16);
  let f = load<u32>(statePtr, 20);
  let g = load<u32>(statePtr, 24);
  let h = load<u32>(statePtr, 28);
  let t: u32;
  let w0: u32 = bswap<u32>(load<u32>(blockPtr, 0));
  t = h + bigSigma1(e) + ch(e, f, g) + load<u32>(K256, 0) + w0;
  d += t;
  h = t + bigSigma0(a) + maj(a, b, c);
  let w1: u32 = bswap<u32>(load<u32>(blockPtr, 4));
  t = g + bigSigma1(d) + ch(d, e, f) + load<u32>(K256, 4) + w1;
  c += t;
  g = t + bigSigma0(h) + maj(h, a, b);
  let w2: u32 = bswap<u32>(load<u32>(blockPtr, 8));
  t = f + bigSigma1(c) + ch(c, d, e) + load<u32>(K256, 8) + w2;
  b += t;
  f = t + bigSigma0(g) + maj(g, h, a);
  let w3: u32 = bswap<u32>(load<u32>(blockPtr, 12));
  t = e + bigSigma1(b) + ch(b, c, d) + load<u32>(K256, 12) + w3;
  a += t;
  e = t + bigSigma0(f) + maj(f, g, h);
  let w4: u32 = bswap<u32>(load<u32>(blockPtr, 16));
  t = d + bigSigma1(a) + ch(a, b, c) + load<u32>(K256, 16) + w4;
  h += t;
  d = t + bigSigma0(e) + maj(e, f, g);
  let w5: u32 = bswap<u32>(load<u32>(blockPtr, 20));
  t = c + bigSigma1(h) + ch(h, a, b) + load<u32>(K256, 20) + w5;
  g += t;
  c = t + bigSigma0(d) + maj(d, e, f);
  let w6: u32 = bswap<u32>(load<u32>(blockPtr, 24));
  t = b + bigSigma1(g) + ch(g, h, a) + load<u32>(K256, 24) + w6;
  f += t;
  b = t + bigSigma0(c) + maj(c, d, e);
  let w7: u32 = bswap<u32>(load<u32>(blockPtr, 28));
  t = a + bigSigma1(f) + ch(f, g, h) + load<u32>(K256, 28) + w7;
  e += t;
  a = t + bigSigma0(b) + maj(b, c, d);
  let w8: u32 = bswap<u32>(load<u32>(blockPtr, 32));
  t = h + bigSigma1(e) + ch(e, f, g) + load<u32>(K256, 32) + w8;
  d += t;
  h = t + bigSigma0(a) + maj(a, b, c);
  let w9: u32 = bswap<u32>(load<u32>(blockPtr, 36));
  t = g + bigSigma1(d) + ch(d, e, f) + load<u32>(K256, 36) + w9;
  c += t;
  g = t + bigSigma0(h) + maj(h, a, b);
  let w10: u32 = bswap<u32>(load<u32>(blockPtr, 40));
  t = f + bigSigma1(c) + ch(c, d, e) + load<u32>(K256, 40) + w10;
  b += t;
  f = t + bigSigma0(g) + maj(g, h, a);
  let w11: u32 = bswap<u32>(load<u32>(blockPtr, 44));
  t = e + bigSigma1(b) + ch(b, c, d) + load<u32>(K256, 44) + w11;
  a += t;
  e = t + bigSigma0(f) + maj(f, g, h);
  let w12: u32 = bswap<u32>(load<u32>(blockPtr, 48));
  t = d + bigSigma1(a) + ch(a, b, c) + load<u32>(K256, 48) + w12;
  h += t;
  d = t + bigSigma0(e) + maj(e, f, g);
  let w13: u32 = bswap<u32>(load<u32>(blockPtr, 52));
  t = c + bigSigma1(h) + ch(h, a, b) + load<u32>(K256, 52) + w13;
  g += t;
  c = t + bigSigma0(d) + maj(d, e, f);
  let w14: u32 = bswap<u32>(load<u32>(blockPtr, 56));
  t = b + bigSigma1(g) + ch(g, h, a) + load<u32>(K256, 56) + w14;
  f += t;
  b = t + bigSigma0(c) + maj(c, d, e);
  let w15: u32 = bswap<u32>(load<u32>(blockPtr, 60));
  t = a + bigSigma1(f) + ch(f, g, h) + load<u32>(K256, 60) + w15;
  e += t;
  a = t + bigSigma0(b) + maj(b, c, d);
  for (let k = K256 + 64; k < K256 + 256; k += 64) {
    w0 += smallSigma1(w14) + w9 + smallSigma0(w1);
    t = h + bigSigma1(e) + ch(e, f, g) + load<u32>(k, 0) + w0;
    d += t;
    h = t + bigSigma0(a) + maj(a, b, c);
    w1 += smallSigma1(w15) + w10 + smallSigma0(w2);
    t = g + bigSigma1(d) + ch(d, e, f) + load<u32>(k, 4) + w1;
    c += t;
    g = t + bigSigma0(h) + maj(h, a, b);
    w2 += smallSigma1(w0) + w11 + smallSigma0(w3);
    t = f + bigSigma1(c) + ch(c, d, e) + load<u32>(k, 8) + w2;
    b += t;
    f = t + bigSigma0(g) + maj(g, h, a);
    w3 += smallSigma1(w1) + w12 + smallSigma0(w4);
    t = e + bigSigma1(b) + ch(b, c, d) + load<u32>(k, 12) + w3;
    a += t;
    e = t + bigSigma0(f) + maj(f, g, h);
    w4 += smallSigma1(w2) + w13 + smallSigma0(w5);
    t = d + bigSigma1(a) + ch(a, b, c) + load<u32>(k, 16) + w4;
    h += t;
    d = t + bigSigma0(e) + maj(e, f, g);
    w5 += smallSigma1(w3) + w14 + smallSigma0(w6);
    t = c + bigSigma1(h) + ch(h, a, b) + load<u32>(k, 20) + w5;
    g += t;
    c = t + bigSigma0(d) + maj(d, e, f);
    w6 += smallSigma1(w4) + w15 + smallSigma0(w7);
    t = b + bigSigma1(g) + ch(g, h, a) + load<u32>(k, 24) + w6;
    f += t;
    b = t + bigSigma0(c) + maj(c, d, e);
    w7 += smallSigma1(w5) + w0 + smallSigma0(w8);
    t = a + bigSigma1(f) + ch(f, g, h) + load<u32>(k, 28) + w7;
    e += t;
    a = t + bigSigma0(b) + maj(b, c, d);
    w8 += smallSigma1(w6) + w1 + smallSigma0(w9);
    t = h + bigSigma1(e) + ch(e, f, g) + load<u32>(k, 32) + w8;
    d += t;
    h = t + bigSigma0(a) + maj(a, b, c);
    w9 += smallSigma1(w7) + w2 + smallSigma0(w10);
    t = g + bigSigma1(d) + ch(d, e, f) + load<u32>(k, 36) + w9;
    c += t;
    g = t + bigSigma0(h) + maj(h, a, b);
    w10 += smallSigma1(w8) + w3 + smallSigma0(w11);
    t = f + bigSigma1(c) + ch(c, d, e) + load<u32>(k, 40) + w10;
    b += t;
    f = t + bigSigma0(g) + maj(g, h, a);
    w11 += smallSigma1(w9) + w4 + smallSigma0(w12);
    t = e + bigSigma1(b) + ch(b, c, d) + load<u32>(k, 44) + w11;
    a += t;
    e = t + bigSigma0(f) + maj(f, g, h);
    w12 += smallSigma1(w10) + w5 + smallSigma0(w13);
    t = d + bigSigma1(a) + ch(a, b, c) + load<u32>(k, 48) + w12;
    h += t;
    d = t + bigSigma0(e) + maj(e, f, g);
    w13 += smallSigma1(w11) + w6 + smallSigma0(w14);
    t = c + bigSigma1(h) + ch(h, a, b) + load<u32>(k, 52) + w13;
    g += t;
    c = t + bigSigma0(d) + maj(d, e, f);
    w14 += smallSigma1(w12) + w7 + smallSigma0(w15);
    t = b + bigSigma1(g) + ch(g, h, a) + load<u32>(k, 56) + w14;
    f += t;
    b = t + bigSigma0(c) + maj(c, d, e);
    w15 += smallSigma1(w13) + w8 + smallSigma0(w0);
    t = a + bigSigma1(f) + ch(f, g, h) + load<u32>(k, 60) + w15;
    e += t;
    a = t + bigSigma0(b) + maj(b, c, d);
  }
  store<u32>(statePtr, load<u32>(statePtr, 0) + a, 0);
  store<u32>(statePtr, load<u32>(statePtr, 4) + b, 4);
  store<u32>(statePtr, load<u32>(statePtr, 8) + c, 8);
  store<u32>(statePtr, load<u32>(statePtr, 12) + d, 12);
  store<u32>(statePtr, load<u32>(statePtr, 16) + e, 16);
  store<u32>(statePtr, load<u32>(statePtr, 20) + f, 20);
  store<u32>(statePtr, load<u32>(statePtr, 24) + g, 24);
  store<u32>(statePtr, load<u32>(statePtr, 28) + h, 28);
}

// @ts-ignore: decorator
@inline function rotrV(x: v128, n: i32): v128 {
  return v128.or(i32x4.shr_u(x, n), i32x4.shl(x, 32 - n));
}
// @ts-ignore: decorator
@inline function smallSigma0V(x: v128): v128 {
  return v128.xor(v128.xor(rotrV(x, 7), rotrV(x, 18)), i32x4.shr_u(x, 3));
}
// @ts-ignore: decorator
@inline function smallSigma1V(x: v128): v128 {
  return v128.xor(v128.xor(rotrV(x, 17), rotrV(x, 19)), i32x4.shr_u(x, 10));
}
// @ts-ignore: decorator
@inline function bswapV(x: v128): v128 {
  return i8x16.shuffle(x, x, 3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12);
}

/**
 * W[i..i+3] from W[i-16..i-1] held as four vectors, oldest first (FIPS 180-4 §6.2.2 step 1). The σ1 term
 * of W[i+2] and W[i+3] needs W[i] and W[i+1], so the two halves are finished one after the other.
 */
// @ts-ignore: decorator
@inline function nextFourW(x0: v128, x1: v128, x2: v128, x3: v128): v128 {
  const w15 = i8x16.shuffle(x0, x1, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19); // W[i-15..i-12]
  const w7 = i8x16.shuffle(x2, x3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19); // W[i-7..i-4]
  const partial = i32x4.add(i32x4.add(x0, smallSigma0V(w15)), w7);
  const lo = i32x4.add(partial, smallSigma1V(i32x4.shuffle(x3, x3, 2, 3, 2, 3))); // lanes 0, 1 final
  const hi = i32x4.add(partial, smallSigma1V(i32x4.shuffle(lo, lo, 0, 1, 0, 1))); // lanes 2, 3 final
  return i32x4.shuffle(lo, hi, 0, 1, 6, 7);
}

/**
 * SIMD-assisted engine: the vector unit computes W + K four words at a time, sixteen words ahead of the
 * scalar rounds that read them back from WK, so the two run side by side on different execution units.
 */
function compressVectorSchedule(statePtr: usize, blockPtr: usize): void {
  let x0 = bswapV(v128.load(blockPtr, 0));
  let x1 = bswapV(v128.load(blockPtr, 16));
  let x2 = bswapV(v128.load(blockPtr, 32));
  let x3 = bswapV(v128.load(blockPtr, 48));
  v128.store(WK, i32x4.add(x0, v128.load(K256, 0)), 0);
  v128.store(WK, i32x4.add(x1, v128.load(K256, 16)), 16);
  v128.store(WK, i32x4.add(x2, v128.load(K256, 32)), 32);
  v128.store(WK, i32x4.add(x3, v128.load(K256, 48)), 48);
  let a = load<u32>(statePtr, 0);
  let b = load<u32>(statePtr, 4);
  let c = load<u32>(statePtr, 8);
  let d = load<u32>(statePtr, 12);
  let e = load<u32>(statePtr, 16);
  let f = load<u32>(statePtr, 20);
  let g = load<u32>(statePtr, 24);
  let h = load<u32>(statePtr, 28);
  let t: u32;
  // Rounds 0–47, each group of four preceded by the schedule step for the words sixteen ahead.
  for (let wk = WK; wk < WK + 192; wk += 64) {
    x0 = nextFourW(x0, x1, x2, x3);
    v128.store(wk, i32x4.add(x0, v128.load(wk - WK + K256, 64)), 64);
    t = h + bigSigma1(e) + ch(e, f, g) + load<u32>(wk, 0);
    d += t;
    h = t + bigSigma0(a) + maj(a, b, c);
    t = g + bigSigma1(d) + ch(d, e, f) + load<u32>(wk, 4);
    c += t;
    g = t + bigSigma0(h) + maj(h, a, b);
    t = f + bigSigma1(c) + ch(c, d, e) + load<u32>(wk, 8);
    b += t;
    f = t + bigSigma0(g) + maj(g, h, a);
    t = e + bigSigma1(b) + ch(b, c, d) + load<u32>(wk, 12);
    a += t;
    e = t + bigSigma0(f) + maj(f, g, h);
    x1 = nextFourW(x1, x2, x3, x0);
    v128.store(wk, i32x4.add(x1, v128.load(wk - WK + K256, 80)), 80);
    t = d + bigSigma1(a) + ch(a, b, c) + load<u32>(wk, 16);
    h += t;
    d = t + bigSigma0(e) + maj(e, f, g);
    t = c + bigSigma1(h) + ch(h, a, b) + load<u32>(wk, 20);
    g += t;
    c = t + bigSigma0(d) + maj(d, e, f);
    t = b + bigSigma1(g) + ch(g, h, a) + load<u32>(wk, 24);
    f += t;
    b = t + bigSigma0(c) + maj(c, d, e);
    t = a + bigSigma1(f) + ch(f, g, h) + load<u32>(wk, 28);
    e += t;
    a = t + bigSigma0(b) + maj(b, c, d);
    x2 = nextFourW(x2, x3, x0, x1);
    v128.store(wk, i32x4.add(x2, v128.load(wk - WK + K256, 96)), 96);
    t = h + bigSigma1(e) + ch(e, f, g) + load<u32>(wk, 32);
    d += t;
    h = t + bigSigma0(a) + maj(a, b, c);
    t = g + bigSigma1(d) + ch(d, e, f) + load<u32>(wk, 36);
    c += t;
    g = t + bigSigma0(h) + maj(h, a, b);
    t = f + bigSigma1(c) + ch(c, d, e) + load<u32>(wk, 40);
    b += t;
    f = t + bigSigma0(g) + maj(g, h, a);
    t = e + bigSigma1(b) + ch(b, c, d) + load<u32>(wk, 44);
    a += t;
    e = t + bigSigma0(f) + maj(f, g, h);
    x3 = nextFourW(x3, x0, x1, x2);
    v128.store(wk, i32x4.add(x3, v128.load(wk - WK + K256, 112)), 112);
    t = d + bigSigma1(a) + ch(a, b, c) + load<u32>(wk, 48);
    h += t;
    d = t + bigSigma0(e) + maj(e, f, g);
    t = c + bigSigma1(h) + ch(h, a, b) + load<u32>(wk, 52);
    g += t;
    c = t + bigSigma0(d) + maj(d, e, f);
    t = b + bigSigma1(g) + ch(g, h, a) + load<u32>(wk, 56);
    f += t;
    b = t + bigSigma0(c) + maj(c, d, e);
    t = a + bigSigma1(f) + ch(f, g, h) + load<u32>(wk, 60);
    e += t;
    a = t + bigSigma0(b) + maj(b, c, d);
  }
  // Rounds 48–63: the schedule is complete.
  const wk = WK + 192;
  t = h + bigSigma1(e) + ch(e, f, g) + load<u32>(wk, 0);
  d += t;
  h = t + bigSigma0(a) + maj(a, b, c);
  t = g + bigSigma1(d) + ch(d, e, f) + load<u32>(wk, 4);
  c += t;
  g = t + bigSigma0(h) + maj(h, a, b);
  t = f + bigSigma1(c) + ch(c, d, e) + load<u32>(wk, 8);
  b += t;
  f = t + bigSigma0(g) + maj(g, h, a);
  t = e + bigSigma1(b) + ch(b, c, d) + load<u32>(wk, 12);
  a += t;
  e = t + bigSigma0(f) + maj(f, g, h);
  t = d + bigSigma1(a) + ch(a, b, c) + load<u32>(wk, 16);
  h += t;
  d = t + bigSigma0(e) + maj(e, f, g);
  t = c + bigSigma1(h) + ch(h, a, b) + load<u32>(wk, 20);
  g += t;
  c = t + bigSigma0(d) + maj(d, e, f);
  t = b + bigSigma1(g) + ch(g, h, a) + load<u32>(wk, 24);
  f += t;
  b = t + bigSigma0(c) + maj(c, d, e);
  t = a + bigSigma1(f) + ch(f, g, h) + load<u32>(wk, 28);
  e += t;
  a = t + bigSigma0(b) + maj(b, c, d);
  t = h + bigSigma1(e) + ch(e, f, g) + load<u32>(wk, 32);
  d += t;
  h = t + bigSigma0(a) + maj(a, b, c);
  t = g + bigSigma1(d) + ch(d, e, f) + load<u32>(wk, 36);
  c += t;
  g = t + bigSigma0(h) + maj(h, a, b);
  t = f + bigSigma1(c) + ch(c, d, e) + load<u32>(wk, 40);
  b += t;
  f = t + bigSigma0(g) + maj(g, h, a);
  t = e + bigSigma1(b) + ch(b, c, d) + load<u32>(wk, 44);
  a += t;
  e = t + bigSigma0(f) + maj(f, g, h);
  t = d + bigSigma1(a) + ch(a, b, c) + load<u32>(wk, 48);
  h += t;
  d = t + bigSigma0(e) + maj(e, f, g);
  t = c + bigSigma1(h) + ch(h, a, b) + load<u32>(wk, 52);
  g += t;
  c = t + bigSigma0(d) + maj(d, e, f);
  t = b + bigSigma1(g) + ch(g, h, a) + load<u32>(wk, 56);
  f += t;
  b = t + bigSigma0(c) + maj(c, d, e);
  t = a + bigSigma1(f) + ch(f, g, h) + load<u32>(wk, 60);
  e += t;
  a = t + bigSigma0(b) + maj(b, c, d);
  store<u32>(statePtr, load<u32>(statePtr, 0) + a, 0);
  store<u32>(statePtr, load<u32>(statePtr, 4) + b, 4);
  store<u32>(statePtr, load<u32>(statePtr, 8) + c, 8);
  store<u32>(statePtr, load<u32>(statePtr, 12) + d, 12);
  store<u32>(statePtr, load<u32>(statePtr, 16) + e, 16);
  store<u32>(statePtr, load<u32>(statePtr, 20) + f, 20);
  store<u32>(statePtr, load<u32>(statePtr, 24) + g, 24);
  store<u32>(statePtr, load<u32>(statePtr, 28) + h, 28);
}

/** Write the big-endian digest of the state (FIPS 180-4 §6.2.2 step 4's H(N)). */
export function writeDigest256(statePtr: usize, outPtr: usize): void {
  for (let j: usize = 0; j < 32; j += 4) {
    store<u32>(outPtr + j, bswap<u32>(load<u32>(statePtr + j)));
  }
}

/** state := H(0) (FIPS 180-4 §5.3.3). */
export function sha256_init(statePtr: usize): void {
  memory.copy(statePtr, IV256, 32);
}

/** Compress blockCount whole 64-byte blocks starting at dataPtr. */
export function sha256_blocks(statePtr: usize, dataPtr: usize, blockCount: usize): void {
  const end = dataPtr + (blockCount << 6);
  for (let p = dataPtr; p < end; p += 64) compress256(statePtr, p);
}

/**
 * Pad the last tailByteLen (< 64) bytes of a message of totalByteLen bytes (FIPS 180-4 §5.1.1), compress
 * and write the 32-byte digest. The total length is split in two u32 halves to keep the ABI integer-only
 * without BigInt.
 */
export function sha256_final(
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
  // Length in bits, big-endian 64-bit: (hi:lo) << 3.
  store<u32>(lenPtr, bswap<u32>((totalByteLenHi << 3) | (totalByteLenLo >>> 29)));
  store<u32>(lenPtr + 4, bswap<u32>(totalByteLenLo << 3));
  compress256(statePtr, PAD);
  if (blocks == 2) compress256(statePtr, PAD + 64);
  writeDigest256(statePtr, outPtr);
}

/** One-shot SHA-256 of byteLen bytes at dataPtr into 32 bytes at outPtr. */
export function sha256_digest(dataPtr: usize, byteLen: usize, outPtr: usize): void {
  sha256_init(ONESHOT_STATE);
  const full = byteLen >>> 6;
  sha256_blocks(ONESHOT_STATE, dataPtr, full);
  sha256_final(ONESHOT_STATE, dataPtr + (full << 6), byteLen & 63, <u32>byteLen, 0, outPtr);
}
