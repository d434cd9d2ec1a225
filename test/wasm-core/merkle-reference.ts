// SPDX-License-Identifier: Apache-2.0
// An independent, straightforward RFC 9162 §2.1 implementation on node:crypto: the recursive
// definitions written out as they read, with no levels, chunks or batching. The oracle for merkle tests.
import { hash } from 'node:crypto';

const sha256 = (...parts: Uint8Array[]): Uint8Array => {
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.length;
  }
  return new Uint8Array(hash('sha256', all, 'buffer'));
};

const LEAF = Uint8Array.of(0x00);
const NODE = Uint8Array.of(0x01);

export const refLeafHash = (data: Uint8Array): Uint8Array => sha256(LEAF, data);
export const refNodeHash = (l: Uint8Array, r: Uint8Array): Uint8Array => sha256(NODE, l, r);

/** The largest power of two smaller than n (n > 1). */
function k(n: number): number {
  let p = 1;
  while (p * 2 < n) p *= 2;
  return p;
}

/** MTH(D[n]) (§2.1.1). */
export function refRoot(d: readonly Uint8Array[]): Uint8Array {
  if (d.length === 0) return sha256();
  if (d.length === 1) return refLeafHash(d[0] as Uint8Array);
  const split = k(d.length);
  return refNodeHash(refRoot(d.slice(0, split)), refRoot(d.slice(split)));
}

/** PATH(m, D[n]) (§2.1.3.1). */
export function refPath(m: number, d: readonly Uint8Array[]): Uint8Array[] {
  if (d.length <= 1) return [];
  const split = k(d.length);
  if (m < split) return [...refPath(m, d.slice(0, split)), refRoot(d.slice(split))];
  return [...refPath(m - split, d.slice(split)), refRoot(d.slice(0, split))];
}

/** PROOF(m, D[n]) = SUBPROOF(m, D[n], true) (§2.1.4.1). */
export function refConsistency(m: number, d: readonly Uint8Array[]): Uint8Array[] {
  return subproof(m, d, true);
}

function subproof(m: number, d: readonly Uint8Array[], b: boolean): Uint8Array[] {
  const n = d.length;
  if (m === n) return b ? [] : [refRoot(d)];
  const split = k(n);
  if (m <= split) return [...subproof(m, d.slice(0, split), b), refRoot(d.slice(split))];
  return [...subproof(m - split, d.slice(split), false), refRoot(d.slice(0, split))];
}

/**
 * The shape of PATH(m, D[n]): for each proof element, bottom-up, whether the sibling is on the left
 * (L) or right (R). Two (index, size) pairs with the same shape hash the same chain, so a proof for one
 * verifies for the other against the same root: RFC 9162 verification binds the size only through this
 * shape, which is why the (size, root) pair must come from a signed tree head.
 */
export function pathShape(m: number, n: number): string {
  const dirs: string[] = [];
  let lo = 0;
  let hi = n;
  while (hi - lo > 1) {
    const split = k(hi - lo);
    if (m < lo + split) {
      dirs.push('R');
      hi = lo + split;
    } else {
      dirs.push('L');
      lo += split;
    }
  }
  return dirs.reverse().join('');
}

/** The shape of SUBPROOF(m, D[n], true), innermost first: S (seed from proof), L, R; '' when m = n. */
export function consistencyShape(m: number, n: number): string {
  const parts: string[] = [];
  let lo = 0;
  let hi = n;
  let mm = m;
  let b = true;
  for (;;) {
    if (mm === hi - lo) {
      parts.push(b ? 'M' : 'S'); // M: the old root itself seeds the chain
      break;
    }
    const split = k(hi - lo);
    if (mm <= split) {
      parts.push('R');
      hi = lo + split;
    } else {
      parts.push('L');
      lo += split;
      mm -= split;
      b = false;
    }
  }
  return parts.reverse().join('');
}
