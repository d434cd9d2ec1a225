// SPDX-License-Identifier: Apache-2.0
// Multi-buffer SHA-256 with WebAssembly SIMD: four independent messages per v128, one per 32-bit lane.
//
// FIPS 180-4 §6.2.2 applied lane-wise. A message is the unit of parallelism, not a block: lane l always
// holds one message's running state, and the state vectors are kept "transposed" (vector j holds word j
// of all four lanes), so every operation of the round function is one i32x4 instruction for four
// messages. This module is compiled only into the SIMD build; batch.ts and merkle.ts select it at compile
// time through ASC_FEATURE_SIMD.
//
// Three drivers share the round function:
//   - sha256FixedX4: equal lengths, stored back to back; lanes in lock step.
//   - sha256BatchX4: any lengths. A lane that finishes its message writes the digest and is refilled
//     with the next message at once, so unequal lengths keep all four lanes busy (as in multi-buffer
//     managers); when the four lanes are all on a padding-only final block of the same length (the
//     equal-length case), that block's message schedule is taken from a per-length cache.
//   - merkleLevelX4: RFC 9162 §2.1.1 interior nodes, H(0x01 ‖ left ‖ right), four at a time in lock step,
//     reading the 64-byte child pairs in place without building the 65-byte messages.

import { IV256, K256 } from './sha256';

// @ts-ignore: decorator
@inline const LANES: i32 = 4;

// K[i] in all four lanes (FIPS 180-4 §4.2.2), filled once by the start function below.
const K4: usize = memory.data(64 * 16, 16);
// W[i] of the current block for four lanes, and W[i] + K[i].
const W4: usize = memory.data(64 * 16, 16);
const WK4: usize = memory.data(64 * 16, 16);
// W[i] + K[i] of a padding-only final block, cached for one message length (padByteLen).
const PAD_WK4: usize = memory.data(64 * 16, 16);
const PAD_BLOCK: usize = memory.data(64, 16);
const PAD_W: usize = memory.data(64 * 4, 16);
// Transposed state: word j of lane l at STATE4 + 16 j + 4 l.
const STATE4: usize = memory.data(8 * 16, 16);
// Per-lane padded tails (at most two blocks each) and the block an idle lane reads.
const TAIL4: usize = memory.data(LANES * 128, 16);
const IDLE_BLOCK: usize = memory.data(64, 16);
// Per-lane bookkeeping, u32 each: next block pointer, whole message blocks left, blocks left in total,
// message index (or IDLE), and the padding-only flag of the final block.
const LANE_PTR: usize = memory.data(LANES * 4, 16);
const LANE_FULL: usize = memory.data(LANES * 4, 16);
const LANE_LEFT: usize = memory.data(LANES * 4, 16);
const LANE_MSG: usize = memory.data(LANES * 4, 16);
const LANE_BYTELEN: usize = memory.data(LANES * 4, 16);
const LANE_PADONLY: usize = memory.data(LANES * 4, 16);
// @ts-ignore: decorator
@inline const IDLE: u32 = 0xffffffff;
let padByteLen: u32 = 0xffffffff;

// Module start code; guarded because the scalar build imports this file (for names only) too.
if (ASC_FEATURE_SIMD) {
  for (let i: usize = 0; i < 64; i++) {
    v128.store(K4 + (i << 4), i32x4.splat(load<u32>(K256 + (i << 2))));
  }
}

// @ts-ignore: decorator
@inline function rotr4(x: v128, n: i32): v128 {
  return v128.or(i32x4.shr_u(x, n), i32x4.shl(x, 32 - n));
}
// @ts-ignore: decorator
@inline function bigSigma0(x: v128): v128 {
  return v128.xor(v128.xor(rotr4(x, 2), rotr4(x, 13)), rotr4(x, 22));
}
// @ts-ignore: decorator
@inline function bigSigma1(x: v128): v128 {
  return v128.xor(v128.xor(rotr4(x, 6), rotr4(x, 11)), rotr4(x, 25));
}
// @ts-ignore: decorator
@inline function smallSigma0(x: v128): v128 {
  return v128.xor(v128.xor(rotr4(x, 7), rotr4(x, 18)), i32x4.shr_u(x, 3));
}
// @ts-ignore: decorator
@inline function smallSigma1(x: v128): v128 {
  return v128.xor(v128.xor(rotr4(x, 17), rotr4(x, 19)), i32x4.shr_u(x, 10));
}
// Ch(x,y,z) of §4.1.2 selects y where x is set and z elsewhere. Maj is written out in the rounds as
// b ^ ((a ^ b) & (b ^ c)), because each round's a ^ b is the next round's b ^ c: two operations a round
// instead of three.
// @ts-ignore: decorator
@inline function ch(x: v128, y: v128, z: v128): v128 {
  return v128.bitselect(y, z, x);
}
// @ts-ignore: decorator
@inline function add(x: v128, y: v128): v128 {
  return i32x4.add(x, y);
}
// Big-endian 32-bit words: reverse the bytes of each lane.
// @ts-ignore: decorator
@inline function bswap4(x: v128): v128 {
  return i8x16.shuffle(x, x, 3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12);
}

// @ts-ignore: decorator
@inline function storeW(i: usize, w: v128): void {
  v128.store(W4 + (i << 4), w);
  v128.store(WK4 + (i << 4), add(w, v128.load(K4 + (i << 4))));
}

/**
 * Store four message words W[i..i+3] for four lanes, given each lane's 16 bytes as a vector (already
 * big-endian): a 4×4 transpose of 32-bit elements with the interleave shuffles that engines map to
 * single unpack instructions.
 */
// @ts-ignore: decorator
@inline function storeTransposed(i: usize, r0: v128, r1: v128, r2: v128, r3: v128): void {
  const t0 = i32x4.shuffle(r0, r1, 0, 4, 1, 5);
  const t1 = i32x4.shuffle(r2, r3, 0, 4, 1, 5);
  const t2 = i32x4.shuffle(r0, r1, 2, 6, 3, 7);
  const t3 = i32x4.shuffle(r2, r3, 2, 6, 3, 7);
  storeW(i, i64x2.shuffle(t0, t1, 0, 2));
  storeW(i + 1, i64x2.shuffle(t0, t1, 1, 3));
  storeW(i + 2, i64x2.shuffle(t2, t3, 0, 2));
  storeW(i + 3, i64x2.shuffle(t2, t3, 1, 3));
}

/** W[0..15] from one 64-byte block per lane. */
function loadBlocks(p0: usize, p1: usize, p2: usize, p3: usize): void {
  for (let q: usize = 0; q < 64; q += 16) {
    storeTransposed(
      q >>> 2,
      bswap4(v128.load(p0 + q)),
      bswap4(v128.load(p1 + q)),
      bswap4(v128.load(p2 + q)),
      bswap4(v128.load(p3 + q)),
    );
  }
}

/**
 * 64 rounds over the transposed state with a precomputed W + K table at wk (FIPS 180-4 §6.2.2 steps
 * 2–4): used for a padding-only final block, whose schedule depends on the message length alone.
 */
function rounds(wk: usize): void {
  let a = v128.load(STATE4, 0);
  let b = v128.load(STATE4, 16);
  let c = v128.load(STATE4, 32);
  let d = v128.load(STATE4, 48);
  let e = v128.load(STATE4, 64);
  let f = v128.load(STATE4, 80);
  let g = v128.load(STATE4, 96);
  let h = v128.load(STATE4, 112);
  let bc = v128.xor(b, c);
  let t: v128;
  for (let p = wk; p < wk + 1024; p += 128) {
    t = add(add(add(h, bigSigma1(e)), ch(e, f, g)), v128.load(p, 0));
    d = add(d, t);
    const ab0 = v128.xor(a, b);
    h = add(add(t, bigSigma0(a)), v128.xor(b, v128.and(ab0, bc)));
    bc = ab0;
    t = add(add(add(g, bigSigma1(d)), ch(d, e, f)), v128.load(p, 16));
    c = add(c, t);
    const ab1 = v128.xor(h, a);
    g = add(add(t, bigSigma0(h)), v128.xor(a, v128.and(ab1, bc)));
    bc = ab1;
    t = add(add(add(f, bigSigma1(c)), ch(c, d, e)), v128.load(p, 32));
    b = add(b, t);
    const ab2 = v128.xor(g, h);
    f = add(add(t, bigSigma0(g)), v128.xor(h, v128.and(ab2, bc)));
    bc = ab2;
    t = add(add(add(e, bigSigma1(b)), ch(b, c, d)), v128.load(p, 48));
    a = add(a, t);
    const ab3 = v128.xor(f, g);
    e = add(add(t, bigSigma0(f)), v128.xor(g, v128.and(ab3, bc)));
    bc = ab3;
    t = add(add(add(d, bigSigma1(a)), ch(a, b, c)), v128.load(p, 64));
    h = add(h, t);
    const ab4 = v128.xor(e, f);
    d = add(add(t, bigSigma0(e)), v128.xor(f, v128.and(ab4, bc)));
    bc = ab4;
    t = add(add(add(c, bigSigma1(h)), ch(h, a, b)), v128.load(p, 80));
    g = add(g, t);
    const ab5 = v128.xor(d, e);
    c = add(add(t, bigSigma0(d)), v128.xor(e, v128.and(ab5, bc)));
    bc = ab5;
    t = add(add(add(b, bigSigma1(g)), ch(g, h, a)), v128.load(p, 96));
    f = add(f, t);
    const ab6 = v128.xor(c, d);
    b = add(add(t, bigSigma0(c)), v128.xor(d, v128.and(ab6, bc)));
    bc = ab6;
    t = add(add(add(a, bigSigma1(f)), ch(f, g, h)), v128.load(p, 112));
    e = add(e, t);
    const ab7 = v128.xor(b, c);
    a = add(add(t, bigSigma0(b)), v128.xor(c, v128.and(ab7, bc)));
    bc = ab7;
  }
  v128.store(STATE4, add(v128.load(STATE4, 0), a), 0);
  v128.store(STATE4, add(v128.load(STATE4, 16), b), 16);
  v128.store(STATE4, add(v128.load(STATE4, 32), c), 32);
  v128.store(STATE4, add(v128.load(STATE4, 48), d), 48);
  v128.store(STATE4, add(v128.load(STATE4, 64), e), 64);
  v128.store(STATE4, add(v128.load(STATE4, 80), f), 80);
  v128.store(STATE4, add(v128.load(STATE4, 96), g), 96);
  v128.store(STATE4, add(v128.load(STATE4, 112), h), 112);
}

/**
 * 64 rounds that compute W[16..63] (FIPS 180-4 §6.2.2 step 1) one round ahead of use; W[0..15] and their
 * W + K are already in W4 and WK4 (wk = WK4). Computing the schedule inside the round loop, rather than
 * in a loop before it, gives the out-of-order core an independent chain beside the round chain: measured
 * about 10% faster on the 64-byte batch. Eight lanes (two interleaved vector sets) were measured too and
 * were about 4% slower: 16 state vectors no longer fit in the 16 registers an engine has for v128.
 */
function roundsExpand(wk: usize): void {
  let a = v128.load(STATE4, 0);
  let b = v128.load(STATE4, 16);
  let c = v128.load(STATE4, 32);
  let d = v128.load(STATE4, 48);
  let e = v128.load(STATE4, 64);
  let f = v128.load(STATE4, 80);
  let g = v128.load(STATE4, 96);
  let h = v128.load(STATE4, 112);
  let bc = v128.xor(b, c);
  let t: v128;
  for (let p = wk; p < wk + 256; p += 128) {
    t = add(add(add(h, bigSigma1(e)), ch(e, f, g)), v128.load(p, 0));
    d = add(d, t);
    const ab0 = v128.xor(a, b);
    h = add(add(t, bigSigma0(a)), v128.xor(b, v128.and(ab0, bc)));
    bc = ab0;
    t = add(add(add(g, bigSigma1(d)), ch(d, e, f)), v128.load(p, 16));
    c = add(c, t);
    const ab1 = v128.xor(h, a);
    g = add(add(t, bigSigma0(h)), v128.xor(a, v128.and(ab1, bc)));
    bc = ab1;
    t = add(add(add(f, bigSigma1(c)), ch(c, d, e)), v128.load(p, 32));
    b = add(b, t);
    const ab2 = v128.xor(g, h);
    f = add(add(t, bigSigma0(g)), v128.xor(h, v128.and(ab2, bc)));
    bc = ab2;
    t = add(add(add(e, bigSigma1(b)), ch(b, c, d)), v128.load(p, 48));
    a = add(a, t);
    const ab3 = v128.xor(f, g);
    e = add(add(t, bigSigma0(f)), v128.xor(g, v128.and(ab3, bc)));
    bc = ab3;
    t = add(add(add(d, bigSigma1(a)), ch(a, b, c)), v128.load(p, 64));
    h = add(h, t);
    const ab4 = v128.xor(e, f);
    d = add(add(t, bigSigma0(e)), v128.xor(f, v128.and(ab4, bc)));
    bc = ab4;
    t = add(add(add(c, bigSigma1(h)), ch(h, a, b)), v128.load(p, 80));
    g = add(g, t);
    const ab5 = v128.xor(d, e);
    c = add(add(t, bigSigma0(d)), v128.xor(e, v128.and(ab5, bc)));
    bc = ab5;
    t = add(add(add(b, bigSigma1(g)), ch(g, h, a)), v128.load(p, 96));
    f = add(f, t);
    const ab6 = v128.xor(c, d);
    b = add(add(t, bigSigma0(c)), v128.xor(d, v128.and(ab6, bc)));
    bc = ab6;
    t = add(add(add(a, bigSigma1(f)), ch(f, g, h)), v128.load(p, 112));
    e = add(e, t);
    const ab7 = v128.xor(b, c);
    a = add(add(t, bigSigma0(b)), v128.xor(c, v128.and(ab7, bc)));
    bc = ab7;
  }
  for (let p = wk + 256; p < wk + 1024; p += 128) {
    const q = p - WK4 + W4;
    const kq = p - WK4 + K4;
    const w0 = add(add(smallSigma1(v128.load(q - 32)), v128.load(q - 112)), add(smallSigma0(v128.load(q - 240)), v128.load(q - 256)));
    v128.store(q, w0, 0);
    t = add(add(add(h, bigSigma1(e)), ch(e, f, g)), add(w0, v128.load(kq, 0)));
    d = add(d, t);
    const ab0 = v128.xor(a, b);
    h = add(add(t, bigSigma0(a)), v128.xor(b, v128.and(ab0, bc)));
    bc = ab0;
    const w1 = add(add(smallSigma1(v128.load(q - 16)), v128.load(q - 96)), add(smallSigma0(v128.load(q - 224)), v128.load(q - 240)));
    v128.store(q, w1, 16);
    t = add(add(add(g, bigSigma1(d)), ch(d, e, f)), add(w1, v128.load(kq, 16)));
    c = add(c, t);
    const ab1 = v128.xor(h, a);
    g = add(add(t, bigSigma0(h)), v128.xor(a, v128.and(ab1, bc)));
    bc = ab1;
    const w2 = add(add(smallSigma1(v128.load(q, 0)), v128.load(q - 80)), add(smallSigma0(v128.load(q - 208)), v128.load(q - 224)));
    v128.store(q, w2, 32);
    t = add(add(add(f, bigSigma1(c)), ch(c, d, e)), add(w2, v128.load(kq, 32)));
    b = add(b, t);
    const ab2 = v128.xor(g, h);
    f = add(add(t, bigSigma0(g)), v128.xor(h, v128.and(ab2, bc)));
    bc = ab2;
    const w3 = add(add(smallSigma1(v128.load(q, 16)), v128.load(q - 64)), add(smallSigma0(v128.load(q - 192)), v128.load(q - 208)));
    v128.store(q, w3, 48);
    t = add(add(add(e, bigSigma1(b)), ch(b, c, d)), add(w3, v128.load(kq, 48)));
    a = add(a, t);
    const ab3 = v128.xor(f, g);
    e = add(add(t, bigSigma0(f)), v128.xor(g, v128.and(ab3, bc)));
    bc = ab3;
    const w4 = add(add(smallSigma1(v128.load(q, 32)), v128.load(q - 48)), add(smallSigma0(v128.load(q - 176)), v128.load(q - 192)));
    v128.store(q, w4, 64);
    t = add(add(add(d, bigSigma1(a)), ch(a, b, c)), add(w4, v128.load(kq, 64)));
    h = add(h, t);
    const ab4 = v128.xor(e, f);
    d = add(add(t, bigSigma0(e)), v128.xor(f, v128.and(ab4, bc)));
    bc = ab4;
    const w5 = add(add(smallSigma1(v128.load(q, 48)), v128.load(q - 32)), add(smallSigma0(v128.load(q - 160)), v128.load(q - 176)));
    v128.store(q, w5, 80);
    t = add(add(add(c, bigSigma1(h)), ch(h, a, b)), add(w5, v128.load(kq, 80)));
    g = add(g, t);
    const ab5 = v128.xor(d, e);
    c = add(add(t, bigSigma0(d)), v128.xor(e, v128.and(ab5, bc)));
    bc = ab5;
    const w6 = add(add(smallSigma1(v128.load(q, 64)), v128.load(q - 16)), add(smallSigma0(v128.load(q - 144)), v128.load(q - 160)));
    v128.store(q, w6, 96);
    t = add(add(add(b, bigSigma1(g)), ch(g, h, a)), add(w6, v128.load(kq, 96)));
    f = add(f, t);
    const ab6 = v128.xor(c, d);
    b = add(add(t, bigSigma0(c)), v128.xor(d, v128.and(ab6, bc)));
    bc = ab6;
    const w7 = add(add(smallSigma1(v128.load(q, 80)), v128.load(q, 0)), add(smallSigma0(v128.load(q - 128)), v128.load(q - 144)));
    v128.store(q, w7, 112);
    t = add(add(add(a, bigSigma1(f)), ch(f, g, h)), add(w7, v128.load(kq, 112)));
    e = add(e, t);
    const ab7 = v128.xor(b, c);
    a = add(add(t, bigSigma0(b)), v128.xor(c, v128.and(ab7, bc)));
    bc = ab7;
  }
  v128.store(STATE4, add(v128.load(STATE4, 0), a), 0);
  v128.store(STATE4, add(v128.load(STATE4, 16), b), 16);
  v128.store(STATE4, add(v128.load(STATE4, 32), c), 32);
  v128.store(STATE4, add(v128.load(STATE4, 48), d), 48);
  v128.store(STATE4, add(v128.load(STATE4, 64), e), 64);
  v128.store(STATE4, add(v128.load(STATE4, 80), f), 80);
  v128.store(STATE4, add(v128.load(STATE4, 96), g), 96);
  v128.store(STATE4, add(v128.load(STATE4, 112), h), 112);
}

/** All four lanes := H(0) (FIPS 180-4 §5.3.3). */
function resetAllLanes(): void {
  for (let j: usize = 0; j < 8; j++) {
    v128.store(STATE4 + (j << 4), i32x4.splat(load<u32>(IV256 + (j << 2))));
  }
}

/** Write the four lanes' digests to out + 32 l: transpose back and byte-swap. */
function writeAllLanes(out: usize): void {
  for (let half: usize = 0; half < 128; half += 64) {
    const r0 = v128.load(STATE4 + half, 0);
    const r1 = v128.load(STATE4 + half, 16);
    const r2 = v128.load(STATE4 + half, 32);
    const r3 = v128.load(STATE4 + half, 48);
    const t0 = i32x4.shuffle(r0, r1, 0, 4, 1, 5);
    const t1 = i32x4.shuffle(r2, r3, 0, 4, 1, 5);
    const t2 = i32x4.shuffle(r0, r1, 2, 6, 3, 7);
    const t3 = i32x4.shuffle(r2, r3, 2, 6, 3, 7);
    const o = out + (half >>> 2);
    v128.store(o, bswap4(i64x2.shuffle(t0, t1, 0, 2)), 0);
    v128.store(o, bswap4(i64x2.shuffle(t0, t1, 1, 3)), 32);
    v128.store(o, bswap4(i64x2.shuffle(t2, t3, 0, 2)), 64);
    v128.store(o, bswap4(i64x2.shuffle(t2, t3, 1, 3)), 96);
  }
}

/** Copy byteLen (< 64) bytes; 8 at a time, then single bytes. */
// @ts-ignore: decorator
@inline function copySmall(dst: usize, src: usize, byteLen: usize): void {
  let i: usize = 0;
  for (; i + 8 <= byteLen; i += 8) store<u64>(dst + i, load<u64>(src + i));
  for (; i < byteLen; i++) store<u8>(dst + i, load<u8>(src + i));
}

/** Start message `index` (descriptor at desc) in lane l: state := H(0), tail padded (FIPS 180-4 §5.1.1). */
function startLane(l: usize, desc: usize, index: u32): void {
  const ptr = load<u32>(desc, 0);
  const byteLen = load<u32>(desc, 4);
  const full = byteLen >>> 6;
  const rem: usize = byteLen & 63;
  const tail = TAIL4 + (l << 7);
  const zero = i32x4.splat(0);
  for (let o: usize = 0; o < 128; o += 16) v128.store(tail + o, zero);
  copySmall(tail, <usize>ptr + (<usize>full << 6), rem);
  store<u8>(tail + rem, 0x80);
  const tailBlocks: u32 = rem < 56 ? 1 : 2;
  const lenPtr = tail + (<usize>tailBlocks << 6) - 8;
  store<u32>(lenPtr, bswap<u32>(byteLen >>> 29));
  store<u32>(lenPtr + 4, bswap<u32>(byteLen << 3));
  const lane = l << 2;
  store<u32>(LANE_PTR + lane, full > 0 ? ptr : <u32>tail);
  store<u32>(LANE_FULL + lane, full);
  store<u32>(LANE_LEFT + lane, full + tailBlocks);
  store<u32>(LANE_MSG + lane, index);
  store<u32>(LANE_BYTELEN + lane, byteLen);
  // The final block carries no message byte when the 0x80 marker starts it (rem = 0) or sits in the
  // block before it (rem ≥ 56): its content then depends on the length alone.
  store<u32>(LANE_PADONLY + lane, rem == 0 || rem >= 56 ? 1 : 0);
  for (let j: usize = 0; j < 8; j++) store<u32>(STATE4 + (j << 4) + lane, load<u32>(IV256 + (j << 2)));
}

function idleLane(l: usize): void {
  const lane = l << 2;
  store<u32>(LANE_PTR + lane, <u32>IDLE_BLOCK);
  store<u32>(LANE_MSG + lane, IDLE);
  store<u32>(LANE_LEFT + lane, 0);
}

/** Fill PAD_WK4 with W + K of the padding-only final block of a byteLen-byte message. */
function cachePaddingBlock(byteLen: u32): void {
  memory.fill(PAD_BLOCK, 0, 64);
  if ((byteLen & 63) == 0) store<u8>(PAD_BLOCK, 0x80);
  store<u32>(PAD_BLOCK + 56, bswap<u32>(byteLen >>> 29));
  store<u32>(PAD_BLOCK + 60, bswap<u32>(byteLen << 3));
  for (let i: usize = 0; i < 16; i++) store<u32>(PAD_W + (i << 2), bswap<u32>(load<u32>(PAD_BLOCK + (i << 2))));
  for (let i: usize = 16; i < 64; i++) {
    const p = PAD_W + (i << 2);
    const w2 = load<u32>(p - 8);
    const w15 = load<u32>(p - 60);
    store<u32>(
      p,
      (rotr<u32>(w2, 17) ^ rotr<u32>(w2, 19) ^ (w2 >>> 10)) +
        load<u32>(p - 28) +
        (rotr<u32>(w15, 7) ^ rotr<u32>(w15, 18) ^ (w15 >>> 3)) +
        load<u32>(p - 64),
    );
  }
  for (let i: usize = 0; i < 64; i++) {
    v128.store(PAD_WK4 + (i << 4), i32x4.splat(load<u32>(PAD_W + (i << 2)) + load<u32>(K256 + (i << 2))));
  }
  padByteLen = byteLen;
}

/** True when every lane is on a padding-only final block of the same message length. */
// @ts-ignore: decorator
@inline function allOnSamePaddingBlock(): bool {
  const len0 = load<u32>(LANE_BYTELEN);
  for (let lane: usize = 0; lane < <usize>(LANES << 2); lane += 4) {
    if (load<u32>(LANE_LEFT + lane) != 1 || load<u32>(LANE_PADONLY + lane) == 0) return false;
    if (load<u32>(LANE_BYTELEN + lane) != len0) return false;
  }
  return true;
}

/**
 * SHA-256 of `count` messages described at desc (u32 dataPtr, u32 byteLen per message), digests to
 * out + 32 i in input order.
 */
export function sha256BatchX4(desc: usize, count: u32, out: usize): void {
  let next: u32 = 0;
  let active: u32 = 0;
  for (let l: usize = 0; l < <usize>LANES; l++) {
    if (next < count) {
      startLane(l, desc + (<usize>next << 3), next);
      next++;
      active++;
    } else idleLane(l);
  }
  while (active > 0) {
    if (allOnSamePaddingBlock()) {
      const len0 = load<u32>(LANE_BYTELEN);
      if (len0 != padByteLen) cachePaddingBlock(len0);
      rounds(PAD_WK4);
    } else {
      loadBlocks(load<u32>(LANE_PTR, 0), load<u32>(LANE_PTR, 4), load<u32>(LANE_PTR, 8), load<u32>(LANE_PTR, 12));
      roundsExpand(WK4);
    }
    for (let l: usize = 0; l < <usize>LANES; l++) {
      const lane = l << 2;
      const msg = load<u32>(LANE_MSG + lane);
      if (msg == IDLE) continue;
      const left = load<u32>(LANE_LEFT + lane) - 1;
      if (left == 0) {
        const o = out + (<usize>msg << 5);
        for (let j: usize = 0; j < 8; j++) {
          store<u32>(o + (j << 2), bswap<u32>(load<u32>(STATE4 + (j << 4) + lane)));
        }
        if (next < count) {
          startLane(l, desc + (<usize>next << 3), next);
          next++;
        } else {
          idleLane(l);
          active--;
        }
        continue;
      }
      store<u32>(LANE_LEFT + lane, left);
      const full = load<u32>(LANE_FULL + lane);
      const ptr = load<u32>(LANE_PTR + lane);
      if (full > 0) {
        store<u32>(LANE_FULL + lane, full - 1);
        store<u32>(LANE_PTR + lane, full > 1 ? ptr + 64 : <u32>(TAIL4 + (l << 7)));
      } else {
        store<u32>(LANE_PTR + lane, ptr + 64);
      }
    }
  }
}

/**
 * SHA-256 of `groups` × 4 messages of byteLen bytes each, stored back to back from data; digests to
 * out + 32 i. All lanes run in lock step, so there is no per-lane bookkeeping: the padded tails share one
 * layout (only their first byteLen mod 64 bytes differ per message), a padding-only final block comes
 * from the per-length cache, and digests leave through one transpose. Measured 20 ns a message less
 * than sha256BatchX4 on 64-byte messages.
 */
export function sha256FixedX4(data: usize, byteLen: u32, groups: u32, out: usize): void {
  const full: usize = byteLen >>> 6;
  const rem: usize = byteLen & 63;
  const stride: usize = byteLen;
  // The tail blocks of every lane: zeros, 0x80 after the rem message bytes, the bit length at the end
  // of the last tail block (FIPS 180-4 §5.1.1). Only the message bytes change from group to group.
  const tailBlocks: usize = rem < 56 ? 1 : 2;
  const zero = i32x4.splat(0);
  for (let l: usize = 0; l < <usize>LANES; l++) {
    const tail = TAIL4 + (l << 7);
    for (let o: usize = 0; o < 128; o += 16) v128.store(tail + o, zero);
    store<u8>(tail + rem, 0x80);
    const lenPtr = tail + (tailBlocks << 6) - 8;
    store<u32>(lenPtr, bswap<u32>(byteLen >>> 29));
    store<u32>(lenPtr + 4, bswap<u32>(byteLen << 3));
  }
  // rem = 0: the whole tail is padding; rem ≥ 56: its second block is.
  const padOnly = rem == 0 || rem >= 56;
  if (padOnly && byteLen != padByteLen) cachePaddingBlock(byteLen);
  const t0 = TAIL4;
  const t1 = TAIL4 + 128;
  const t2 = TAIL4 + 256;
  const t3 = TAIL4 + 384;
  for (let gi: u32 = 0; gi < groups; gi++) {
    const p0 = data + <usize>gi * (stride << 2);
    const p1 = p0 + stride;
    const p2 = p1 + stride;
    const p3 = p2 + stride;
    resetAllLanes();
    for (let k: usize = 0; k < full << 6; k += 64) {
      loadBlocks(p0 + k, p1 + k, p2 + k, p3 + k);
      roundsExpand(WK4);
    }
    if (rem > 0) {
      const o = full << 6;
      copySmall(t0, p0 + o, rem);
      copySmall(t1, p1 + o, rem);
      copySmall(t2, p2 + o, rem);
      copySmall(t3, p3 + o, rem);
      loadBlocks(t0, t1, t2, t3);
      roundsExpand(WK4);
    }
    if (padOnly) rounds(PAD_WK4);
    writeAllLanes(out + (<usize>gi << 7));
  }
}

/**
 * RFC 9162 §2.1.1 interior nodes for `groups` × 4 adjacent pairs of 32-byte hashes at nodes:
 * out[i] = SHA-256(0x01 ‖ nodes[2i] ‖ nodes[2i+1]), four pairs in lock step. out may equal nodes: each
 * group reads all its input before it writes, and writes only below the input of later groups.
 */
export function merkleLevelX4(nodes: usize, groups: u32, out: usize): void {
  // The 65-byte message: block 1 is 0x01 ‖ pair[0..62], block 2 is pair[63] ‖ 0x80 ‖ 0… ‖ 520 (bits).
  const prefix = i32x4.splat(0x01000000);
  const low24 = i32x4.splat(0x00ffffff);
  for (let gi: u32 = 0; gi < groups; gi++) {
    const p0 = nodes + (<usize>gi << 8);
    const p1 = p0 + 64;
    const p2 = p0 + 128;
    const p3 = p0 + 192;
    // The last byte of each pair, read before anything is written (out may alias nodes).
    let w0b2 = i32x4.splat(0);
    w0b2 = i32x4.replace_lane(w0b2, 0, (<i32>load<u8>(p0, 63) << 24) | 0x00800000);
    w0b2 = i32x4.replace_lane(w0b2, 1, (<i32>load<u8>(p1, 63) << 24) | 0x00800000);
    w0b2 = i32x4.replace_lane(w0b2, 2, (<i32>load<u8>(p2, 63) << 24) | 0x00800000);
    w0b2 = i32x4.replace_lane(w0b2, 3, (<i32>load<u8>(p3, 63) << 24) | 0x00800000);
    // Block 1, read one byte early so that each big-endian word lines up; the stray top byte of W[0]
    // (the byte before the pair) is replaced by the 0x01 prefix.
    loadBlocks(p0 - 1, p1 - 1, p2 - 1, p3 - 1);
    storeW(0, v128.or(v128.and(v128.load(W4), low24), prefix));
    resetAllLanes();
    roundsExpand(WK4);
    storeW(0, w0b2);
    const zero = i32x4.splat(0);
    for (let i: usize = 1; i < 15; i++) storeW(i, zero);
    storeW(15, i32x4.splat(65 * 8));
    roundsExpand(WK4);
    writeAllLanes(out + (<usize>gi << 7));
  }
}
