// SPDX-License-Identifier: Apache-2.0
// agent/audit/tree: the incremental verifier's frontier against agent/crypto's merkleRoot for random
// sizes, chunkings and checkpoints (fast-check), each tamper kind with its reason code, malformed and
// hostile entries, proofs from leaf hashes, and the `audit prove` JSON with its verifiers.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  consistencyProofFor,
  consistencyProofJson,
  inclusionProofFor,
  inclusionProofJson,
  treeRoot,
  verifyConsistencyProof,
  verifyConsistencyProofJson,
  verifyInclusionProof,
  verifyInclusionProofJson,
} from '../../agent/audit/proofs.js';
import {
  type CheckpointRoot,
  checkConsistency,
  type EntryToVerify,
  type LogEntry,
  LogVerifier,
  leafHash,
  TREE_ERROR_MEANING,
  verifyLog,
} from '../../agent/audit/tree.js';
import { consistencyProof, inclusionProof, initHashing, merkleRoot } from '../../agent/crypto/hash.js';
import { toHex } from '../../agent/encoding/bytes.js';
import { randomBytes, randomInt } from '../helpers/random.js';

// Entries are drawn at collection time (describe bodies), so wasm-core is initialised first.
await initHashing();

/** n entries of random bytes (lengths 0..maxLen), seq from firstSeq, with their leaf hashes. */
function makeEntries(n: number, firstSeq = 0, maxLen = 180): LogEntry[] {
  return Array.from({ length: n }, (_, i) => {
    const bytes = randomBytes(randomInt(maxLen + 1));
    return { seq: firstSeq + i, bytes, leaf: leafHash(bytes) };
  });
}

const dataOf = (entries: readonly LogEntry[]): Uint8Array[] => entries.map((e) => e.bytes);
const leavesOf = (entries: readonly LogEntry[]): Uint8Array[] => entries.map((e) => e.leaf);

/** Checkpoints at the given sizes with the true roots of the entries. */
function checkpointsAt(entries: readonly LogEntry[], sizes: readonly number[]): CheckpointRoot[] {
  return sizes.map((size) => ({ size, root: merkleRoot(dataOf(entries.slice(0, size))) }));
}

/** The entries in chunks of `size` (the last one shorter). */
function chunked<E>(entries: readonly E[], size: number): E[][] {
  const out: E[][] = [];
  for (let i = 0; i < entries.length; i += size) out.push(entries.slice(i, i + size));
  return out;
}

describe('LogVerifier: the frontier', () => {
  const pool = makeEntries(2000, 0, 60);

  test('property: the root at every checkpoint size and at the end equals merkleRoot, sizes 0..2000, any chunking', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2000 }),
        fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        (n, chunkSizes, picks) => {
          const entries = pool.slice(0, n);
          const sizes = picks.map((p) => p % (n + 1)).sort((a, b) => a - b);
          const checkpoints = checkpointsAt(entries, sizes);
          const v = new LogVerifier({ checkpoints });
          let at = 0;
          for (let c = 0; at < n; c++) {
            const size = chunkSizes[c % chunkSizes.length] ?? 1;
            expect(v.push(entries.slice(at, at + size))).toBeUndefined();
            at += size;
          }
          const verdict = v.finish();
          expect(verdict.ok, JSON.stringify(verdict)).toBe(true);
          const root = merkleRoot(dataOf(entries));
          if (verdict.ok) {
            expect(toHex(verdict.root)).toBe(toHex(root));
            expect(verdict.size).toBe(n);
            expect(verdict.checkpoints).toBe(sizes.length);
          }
          expect(toHex(v.root())).toBe(toHex(root));
          for (const c of checkpoints)
            expect(toHex(v.rootAt(c.size) ?? new Uint8Array(0))).toBe(toHex(c.root));
        },
      ),
      { numRuns: 150 },
    );
  });

  test('property: pushItems (entries as items of one buffer) gives the verdicts push gives, any chunking', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 600 }),
        fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 5 }),
        fc.array(fc.nat(), { maxLength: 4 }),
        fc.option(fc.nat()),
        (n, chunkSizes, picks, wrong) => {
          const entries = pool.slice(0, n);
          const checkpoints = checkpointsAt(
            entries,
            picks.map((p) => p % (n + 1)).sort((a, b) => a - b),
          );
          // Optionally one checkpoint's root is not the entries': both must find it, at the same point.
          const c = wrong === null || checkpoints.length === 0 ? undefined : wrong % checkpoints.length;
          if (c !== undefined) checkpoints[c] = { size: checkpoints[c]?.size ?? 0, root: new Uint8Array(32) };
          const bytes = new Uint8Array(entries.reduce((sum, e) => sum + e.bytes.length, 3) + 2);
          const starts = [3];
          for (const e of entries) {
            bytes.set(e.bytes, starts.at(-1));
            starts.push((starts.at(-1) as number) + e.bytes.length);
          }
          const byEntries = new LogVerifier({ checkpoints, storedLeaves: false });
          const byItems = new LogVerifier({ checkpoints, storedLeaves: false });
          for (let at = 0, k = 0; at < n; k++) {
            const size = Math.min(n - at, chunkSizes[k % chunkSizes.length] ?? 1);
            const found = byEntries.push(
              entries.slice(at, at + size).map(({ seq, bytes }) => ({ seq, bytes })),
            );
            const bounds = Float64Array.from(starts.slice(at, at + size + 1));
            expect(byItems.pushItems({ bytes, bounds, count: size })).toEqual(found);
            expect(byItems.size).toBe(byEntries.size);
            at += size;
          }
          expect(byItems.finish()).toEqual(byEntries.finish());
        },
      ),
      { numRuns: 150 },
    );
    expect(() =>
      new LogVerifier().pushItems({ bytes: new Uint8Array(1), bounds: Float64Array.of(0, 1), count: 1 }),
    ).toThrow(TypeError);
  });

  test('one entry at a time, every size 0..300: the running root equals merkleRoot', () => {
    const v = new LogVerifier();
    expect(toHex(v.root())).toBe(toHex(merkleRoot([])));
    for (let n = 1; n <= 300; n++) {
      v.push([pool[n - 1] as LogEntry]);
      expect(toHex(v.root()), `size ${n}`).toBe(toHex(merkleRoot(dataOf(pool.slice(0, n)))));
    }
  });

  test('verifyLog over chunks; empty chunks; rootAt is undefined off the checkpoint sizes and before them', () => {
    const entries = pool.slice(0, 1500);
    const checkpoints = checkpointsAt(entries, [0, 0, 1, 512, 1000, 1000, 1500]);
    const verdict = verifyLog([[], ...chunked(entries, 333), []], { checkpoints });
    expect(verdict).toMatchObject({ ok: true, size: 1500, checkpoints: 7 });
    const v = new LogVerifier({ checkpoints });
    v.push(entries.slice(0, 700));
    expect(v.rootAt(512)).toBeDefined();
    expect(v.rootAt(1000)).toBeUndefined();
    expect(v.rootAt(600)).toBeUndefined();
    expect(v.size).toBe(700);
  });

  test('firstSeq: entries numbered from 1', () => {
    const entries = makeEntries(10, 1);
    const checkpoints = checkpointsAt(entries, [10]);
    expect(verifyLog([entries], { checkpoints, firstSeq: 1 }).ok).toBe(true);
    expect(verifyLog([entries], { checkpoints })).toMatchObject({ ok: false, code: 'E_AUDIT_ROOT', seq: 0 });
  });

  test('property: resuming from a frontier gives the root and checkpoints a full pass gives', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 700 }), fc.integer({ min: 0, max: 700 }), (a, b) => {
        const [m, n] = a <= b ? [a, b] : [b, a];
        const first = new LogVerifier();
        first.push(pool.slice(0, m));
        const frontier = first.frontier();
        const later = [m, Math.floor((m + n) / 2), n];
        const resumed = verifyLog(chunked(pool.slice(m, n), 97), {
          resume: { size: m, frontier },
          checkpoints: checkpointsAt(pool, later),
        });
        expect(resumed).toMatchObject({ ok: true, size: n });
        expect(toHex((resumed as { root: Uint8Array }).root)).toBe(
          toHex(merkleRoot(dataOf(pool.slice(0, n)))),
        );
      }),
    );
  });

  test('resume: a changed frontier byte is E_AUDIT_ROOT at the checkpoint it must fold to, before any entry', () => {
    const first = new LogVerifier();
    first.push(pool.slice(0, 333)); // 333 = 0b101001101: five frontier nodes
    const frontier = first.frontier();
    expect(frontier.length).toBe(5 * 32);
    for (const at of [0, 70, frontier.length - 1]) {
      const bad = frontier.slice();
      bad[at] = (bad[at] ?? 0) ^ 1;
      const v = new LogVerifier({
        resume: { size: 333, frontier: bad },
        checkpoints: checkpointsAt(pool, [333]),
      });
      expect(v.push(pool.slice(333, 400))).toMatchObject({ code: 'E_AUDIT_ROOT', checkpoint: 0 });
      expect(v.size).toBe(333);
    }
    // Entries must continue at seq 333.
    const v = new LogVerifier({ resume: { size: 333, frontier }, checkpoints: checkpointsAt(pool, [333]) });
    expect(v.push(pool.slice(334, 400))).toMatchObject({ code: 'E_AUDIT_ROOT', seq: 333 });
    // Misuse: a frontier of the wrong length, a checkpoint below the resumed size.
    expect(() => new LogVerifier({ resume: { size: 333, frontier: frontier.subarray(32) } })).toThrow(
      TypeError,
    );
    expect(
      () => new LogVerifier({ resume: { size: 333, frontier }, checkpoints: checkpointsAt(pool, [332]) }),
    ).toThrow(RangeError);
  });
});

describe('LogVerifier: tampering, each with its reason code', () => {
  const entries = makeEntries(5000);
  const checkpoints = checkpointsAt(
    entries,
    Array.from({ length: 5 }, (_, i) => (i + 1) * 1000),
  );
  const verify = (es: readonly LogEntry[], cps = checkpoints) =>
    verifyLog(chunked(es, 512), { checkpoints: cps });

  test('the untouched log verifies', () => {
    expect(verify(entries)).toMatchObject({ ok: true, size: 5000, checkpoints: 5 });
  });

  test('one entry byte changed: E_AUDIT_ENTRY at that seq', () => {
    // Entries may be empty (random lengths from 0): take the first non-empty one from 1234 on.
    const seq = entries.findIndex((e) => e.seq >= 1234 && e.bytes.length > 0);
    const bytes = (entries[seq] as LogEntry).bytes.slice();
    bytes[0] = (bytes[0] ?? 0) ^ 0x40;
    const tampered = entries.map((e) => (e.seq === seq ? { ...e, bytes } : e));
    expect(verify(tampered)).toMatchObject({ ok: false, code: 'E_AUDIT_ENTRY', seq });
  });

  test('the stored leaf changed: E_AUDIT_ENTRY; bytes and leaf both rewritten: E_AUDIT_ROOT at the next checkpoint', () => {
    const seq = 2500;
    const leaf = (entries[seq] as LogEntry).leaf.slice();
    leaf[31] = (leaf[31] ?? 0) ^ 1;
    expect(verify(entries.map((e) => (e.seq === seq ? { ...e, leaf } : e)))).toMatchObject({
      code: 'E_AUDIT_ENTRY',
      seq,
    });
    const bytes = randomBytes(100);
    const rewritten = entries.map((e) => (e.seq === seq ? { seq, bytes, leaf: leafHash(bytes) } : e));
    expect(verify(rewritten)).toMatchObject({ code: 'E_AUDIT_ROOT', checkpoint: 2 });
  });

  test('an entry deleted: E_AUDIT_ROOT at the gap; deleted and the rest renumbered: E_AUDIT_ROOT at the checkpoint', () => {
    const gap = entries.filter((e) => e.seq !== 3100);
    expect(verify(gap)).toMatchObject({ ok: false, code: 'E_AUDIT_ROOT', seq: 3100 });
    const renumbered = gap.map((e, i) => ({ ...e, seq: i }));
    expect(verify(renumbered)).toMatchObject({ ok: false, code: 'E_AUDIT_ROOT', checkpoint: 3 });
    // Past the last checkpoint, a gap is still found by its sequence number; the last entries
    // removed from the end are not (no root commits to them yet: the NV counter's job).
    expect(verify(entries.slice(0, 4999), checkpoints.slice(0, 4))).toMatchObject({ ok: true, size: 4999 });
    expect(
      verify(
        entries.filter((e) => e.seq !== 4500),
        checkpoints.slice(0, 4),
      ),
    ).toMatchObject({
      code: 'E_AUDIT_ROOT',
      seq: 4500,
    });
  });

  test('two entries swapped (with their leaves): E_AUDIT_ROOT at the first checkpoint covering them', () => {
    const swapped = entries.slice();
    const [a, b] = [1999, 2001];
    swapped[a] = { ...(entries[b] as LogEntry), seq: a };
    swapped[b] = { ...(entries[a] as LogEntry), seq: b };
    // Entry 1999 is in the tree of the second checkpoint (size 2000).
    expect(verify(swapped)).toMatchObject({ ok: false, code: 'E_AUDIT_ROOT', checkpoint: 1 });
    // Swapped rows keeping their own seq are out of order: found at the first.
    const rows = entries.slice();
    rows[a] = entries[b] as LogEntry;
    rows[b] = entries[a] as LogEntry;
    expect(verify(rows)).toMatchObject({ code: 'E_AUDIT_ROOT', seq: a });
  });

  test('an entry inserted: E_AUDIT_ROOT', () => {
    const extra = makeEntries(1)[0] as LogEntry;
    const inserted = [...entries.slice(0, 10), extra, ...entries.slice(10)].map((e, i) => ({ ...e, seq: i }));
    expect(verify(inserted)).toMatchObject({ code: 'E_AUDIT_ROOT', checkpoint: 0 });
  });

  test('the log truncated: E_AUDIT_TRUNCATED naming the first checkpoint past the end', () => {
    expect(verify(entries.slice(0, 3999))).toMatchObject({
      ok: false,
      code: 'E_AUDIT_TRUNCATED',
      checkpoint: 3,
    });
    expect(verify([])).toMatchObject({ code: 'E_AUDIT_TRUNCATED', checkpoint: 0 });
  });

  test("a checkpoint's root altered, or of the wrong length: E_AUDIT_ROOT", () => {
    const altered = checkpoints.map((c, i) =>
      i === 4 ? { ...c, root: c.root.map((x, j) => (j ? x : x ^ 1)) } : c,
    );
    expect(verify(entries, altered)).toMatchObject({ code: 'E_AUDIT_ROOT', checkpoint: 4 });
    const short = checkpoints.map((c, i) => (i === 1 ? { ...c, root: c.root.subarray(1) } : c));
    expect(verify(entries, short)).toMatchObject({ code: 'E_AUDIT_ROOT', checkpoint: 1 });
    expect(verify(entries, [{ size: 0, root: new Uint8Array(32) }])).toMatchObject({
      code: 'E_AUDIT_ROOT',
      checkpoint: 0,
    });
  });

  test('checkpoint sizes going backwards: E_AUDIT_CONSISTENCY', () => {
    const backwards = [checkpoints[2], checkpoints[1], checkpoints[3]] as CheckpointRoot[];
    expect(verify(entries, backwards)).toMatchObject({ code: 'E_AUDIT_CONSISTENCY', checkpoint: 1 });
  });

  test('the first finding in stream order is reported, and it sticks', () => {
    // In one chunk: a checkpoint root mismatch at size 1000 precedes a changed byte at 1500.
    const bytes = (entries[1500] as LogEntry).bytes.slice();
    bytes[0] = (bytes[0] ?? 0) ^ 1;
    const tampered = entries.map((e) => (e.seq === 1500 ? { ...e, bytes } : e));
    const altered = checkpoints.map((c, i) => (i === 0 ? { ...c, root: new Uint8Array(32) } : c));
    const v = new LogVerifier({ checkpoints: altered });
    const first = v.push(tampered.slice(0, 2000));
    expect(first).toMatchObject({ code: 'E_AUDIT_ROOT', checkpoint: 0 });
    expect(v.push(tampered.slice(2000))).toBe(first);
    expect(v.finish()).toBe(first);
    expect(v.size).toBe(1000);
    // A changed byte before a gap in the same chunk.
    const both = tampered.filter((e) => e.seq !== 1700);
    expect(verifyLog([both], { checkpoints })).toMatchObject({ code: 'E_AUDIT_ENTRY', seq: 1500 });
  });

  test('malformed entries are E_AUDIT_ENTRY, never an exception', () => {
    const good = entries.slice(0, 3);
    const cases: unknown[] = [
      null,
      42,
      { seq: '2', bytes: good[2]?.bytes, leaf: good[2]?.leaf },
      { seq: 2.5, bytes: good[2]?.bytes, leaf: good[2]?.leaf },
      { seq: 2, bytes: 'abc', leaf: good[2]?.leaf },
      { seq: 2, bytes: good[2]?.bytes, leaf: good[2]?.leaf.subarray(1) },
      { seq: 2, bytes: good[2]?.bytes, leaf: [...(good[2]?.leaf ?? [])] },
      { seq: 2, bytes: good[2]?.bytes },
    ];
    for (const bad of cases) {
      const verdict = verifyLog([[...good.slice(0, 2), bad as LogEntry]]);
      expect(verdict, JSON.stringify(bad)).toMatchObject({ ok: false, code: 'E_AUDIT_ENTRY', seq: 2 });
    }
  });

  test('storedLeaves false (a bundle): entries without a leaf are hashed and judged by the roots alone', () => {
    const bare = entries.map(({ seq, bytes }) => ({ seq, bytes }));
    const verifyBare = (es: readonly EntryToVerify[]) =>
      verifyLog(chunked(es, 512), { checkpoints, storedLeaves: false });
    const whole = verifyBare(bare);
    expect(whole).toMatchObject({ ok: true, size: 5000, checkpoints: 5 });
    expect(whole.ok && toHex(whole.root)).toBe(toHex(merkleRoot(dataOf(entries))));
    // A changed byte has no stored leaf to give it away: the first checkpoint covering it does.
    const bytes = (entries[2345] as LogEntry).bytes.slice();
    bytes[bytes.length - 1] = (bytes.at(-1) ?? 0) ^ 1;
    const changed = bare.map((e) => (e.seq === 2345 ? { ...e, bytes } : e));
    expect(verifyBare(changed)).toMatchObject({ ok: false, code: 'E_AUDIT_ROOT', checkpoint: 2 });
    // A leaf that is there is still compared; one of the wrong length is still refused.
    const leaf = (entries[10] as LogEntry).leaf.slice();
    leaf[0] = (leaf[0] ?? 0) ^ 1;
    expect(verifyBare(bare.map((e) => (e.seq === 10 ? { ...e, leaf } : e)))).toMatchObject({
      code: 'E_AUDIT_ENTRY',
      seq: 10,
    });
    expect(verifyBare(bare.map((e) => (e.seq === 11 ? { ...e, leaf: leaf.subarray(1) } : e)))).toMatchObject({
      code: 'E_AUDIT_ENTRY',
      seq: 11,
    });
    // By default a missing leaf is refused (the malformed-entries test below).
    expect(verifyLog([bare.slice(0, 3)])).toMatchObject({ code: 'E_AUDIT_ENTRY', seq: 0 });
  });

  test('misuse throws: options and arguments of the wrong type', () => {
    expect(() => new LogVerifier({ firstSeq: -1 })).toThrow(RangeError);
    expect(() => new LogVerifier({ storedLeaves: 'no' as never })).toThrow(TypeError);
    expect(() => new LogVerifier({ checkpoints: 'x' as never })).toThrow(TypeError);
    expect(() => new LogVerifier({ checkpoints: [{ size: 1.5, root: new Uint8Array(32) }] })).toThrow(
      RangeError,
    );
    expect(() => new LogVerifier({ checkpoints: [{ size: 1, root: 'ab' as never }] })).toThrow(TypeError);
    expect(() => new LogVerifier().push('x' as never)).toThrow(TypeError);
    expect(() => leafHash('x' as never)).toThrow(TypeError);
  });

  test('every code has a meaning', () => {
    expect(Object.keys(TREE_ERROR_MEANING).sort()).toEqual([
      'E_AUDIT_CONSISTENCY',
      'E_AUDIT_ENTRY',
      'E_AUDIT_ROOT',
      'E_AUDIT_TRUNCATED',
    ]);
  });
});

describe('proofs from leaf hashes', () => {
  const entries = makeEntries(700, 0, 40);
  const data = dataOf(entries);
  const leaves = leavesOf(entries);
  const packedLeaves = new Uint8Array(32 * leaves.length);
  leaves.forEach((l, i) => {
    packedLeaves.set(l, 32 * i);
  });
  const hexAll = (xs: readonly Uint8Array[]) => xs.map(toHex);

  test('property: inclusion and consistency proofs equal agent/crypto’s (from leaf data) and verify', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 700 }), fc.nat(), fc.nat(), (size, i, j) => {
        const index = i % size;
        const m = j % (size + 1);
        const prefix = data.slice(0, size);
        const root = merkleRoot(prefix);
        expect(toHex(treeRoot(leaves, size))).toBe(toHex(root));
        const proof = inclusionProofFor(leaves, index, size);
        expect(hexAll(proof)).toEqual(hexAll(inclusionProof(prefix, index)));
        expect(hexAll(inclusionProofFor(packedLeaves, index, size))).toEqual(hexAll(proof));
        expect(verifyInclusionProof(leaves[index], index, size, proof, root)).toBe(true);
        const cp = consistencyProofFor(leaves, m, size);
        expect(hexAll(cp)).toEqual(hexAll(consistencyProof(prefix, m)));
        expect(verifyConsistencyProof(m, size, cp, merkleRoot(data.slice(0, m)), root)).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  test('the JSON of audit prove: shapes, verification, trusted checkpoints', () => {
    const inc = inclusionProofJson(leaves, 123, 600);
    expect(Object.keys(inc)).toEqual(['index', 'size', 'leaf', 'root', 'proof']);
    expect(inc).toMatchObject({ index: 123, size: 600, leaf: toHex(leaves[123] as Uint8Array) });
    expect(inc.root).toBe(toHex(merkleRoot(data.slice(0, 600))));
    expect(inc.proof.every((h) => /^[0-9a-f]{64}$/.test(h))).toBe(true);
    const parsed = JSON.parse(JSON.stringify(inc));
    expect(verifyInclusionProofJson(parsed)).toBe(true);
    const trusted = { size: 600, root: merkleRoot(data.slice(0, 600)) };
    expect(verifyInclusionProofJson(parsed, trusted)).toBe(true);
    expect(verifyInclusionProofJson(parsed, { size: 601, root: trusted.root })).toBe(false);
    expect(verifyInclusionProofJson(parsed, { size: 600, root: new Uint8Array(32) })).toBe(false);
    expect(verifyInclusionProofJson({ ...parsed, extra: 1 })).toBe(true);
    expect(verifyInclusionProofJson({ ...parsed, root: parsed.root.toUpperCase() })).toBe(true);

    const con = consistencyProofJson(leaves, 200, 650);
    expect(Object.keys(con)).toEqual(['from', 'size', 'fromRoot', 'root', 'proof']);
    expect(con.fromRoot).toBe(toHex(merkleRoot(data.slice(0, 200))));
    const c2 = JSON.parse(JSON.stringify(con));
    expect(verifyConsistencyProofJson(c2)).toBe(true);
    const from = { size: 200, root: merkleRoot(data.slice(0, 200)) };
    const to = { size: 650, root: merkleRoot(data.slice(0, 650)) };
    expect(verifyConsistencyProofJson(c2, { from, to })).toBe(true);
    expect(verifyConsistencyProofJson(c2, { from: to })).toBe(false);
    expect(verifyConsistencyProofJson({ ...c2, from: 201 })).toBe(false);
    expect(consistencyProofJson(leaves, 0, 5).proof).toEqual([]);
    expect(verifyConsistencyProofJson(consistencyProofJson(leaves, 0, 5))).toBe(true);
    expect(verifyConsistencyProofJson(consistencyProofJson(leaves, 5, 5))).toBe(true);
  });

  test('property: mutated or arbitrary JSON verifies false and never throws', () => {
    const inc = JSON.parse(JSON.stringify(inclusionProofJson(leaves, 77, 500))) as Record<string, unknown>;
    const con = JSON.parse(JSON.stringify(consistencyProofJson(leaves, 77, 500))) as Record<string, unknown>;
    const mutate = (value: Record<string, unknown>, key: string, v: unknown) => ({ ...value, [key]: v });
    fc.assert(
      fc.property(
        fc.anything(),
        fc.constantFrom(...Object.keys(inc)),
        fc.constantFrom(...Object.keys(con)),
        (junk, ki, kc) => {
          expect(verifyInclusionProofJson(junk)).toBe(false);
          expect(verifyConsistencyProofJson(junk)).toBe(false);
          // A field replaced by junk: false, unless the junk happens to equal the original.
          if (JSON.stringify(junk) !== JSON.stringify(inc[ki])) {
            expect(verifyInclusionProofJson(mutate(inc, ki, junk))).toBe(false);
          }
          if (JSON.stringify(junk) !== JSON.stringify(con[kc])) {
            expect(verifyConsistencyProofJson(mutate(con, kc, junk))).toBe(false);
          }
        },
      ),
      { numRuns: 300 },
    );
    const proof = inc.proof as string[];
    for (let e = 0; e < proof.length; e++) {
      const flipped = proof.map((h, i) => (i === e ? `${h.slice(0, 63)}${h[63] === '0' ? '1' : '0'}` : h));
      expect(verifyInclusionProofJson({ ...inc, proof: flipped })).toBe(false);
    }
    expect(verifyInclusionProofJson({ ...inc, proof: proof.slice(1) })).toBe(false);
    expect(verifyInclusionProofJson({ ...inc, index: 78 })).toBe(false);
    expect(verifyInclusionProofJson({ ...inc, index: '77' })).toBe(false);
    expect(verifyInclusionProofJson({ ...inc, leaf: `0x${inc.leaf}` })).toBe(false);
    expect(verifyInclusionProofJson(Object.create({ ...inc }))).toBe(false);
    expect(verifyInclusionProof(leaves[0], 0, 1, 'x', leaves[0])).toBe(false);
    expect(verifyConsistencyProof(1, 2, [new Uint8Array(31)], leaves[0], leaves[1])).toBe(false);
  });

  test('checkConsistency: E_AUDIT_CONSISTENCY unless the proof shows the extension', () => {
    const older = { size: 300, root: treeRoot(leaves, 300) };
    const newer = { size: 700, root: treeRoot(leaves, 700) };
    const proof = consistencyProofFor(leaves, 300, 700);
    expect(checkConsistency(older, newer, proof)).toBeUndefined();
    expect(checkConsistency(older, { ...newer, root: treeRoot(leaves, 699) }, proof)).toMatchObject({
      ok: false,
      code: 'E_AUDIT_CONSISTENCY',
    });
    expect(checkConsistency(newer, older, proof)).toMatchObject({ code: 'E_AUDIT_CONSISTENCY' });
    expect(checkConsistency(null as never, newer, proof)).toMatchObject({ code: 'E_AUDIT_CONSISTENCY' });
  });

  test('misuse of the provers throws RangeError', () => {
    expect(() => inclusionProofFor(leaves, 700, 700)).toThrow(RangeError);
    expect(() => inclusionProofFor(leaves, 0, 701)).toThrow(RangeError);
    expect(() => consistencyProofFor(leaves, 11, 10)).toThrow(RangeError);
    expect(() => consistencyProofJson(leaves, 11, 10)).toThrow(RangeError);
    expect(() => treeRoot(packedLeaves.subarray(1), 1)).toThrow(RangeError);
    expect(() => treeRoot([new Uint8Array(31)], 1)).toThrow(RangeError);
    expect(() => treeRoot(leaves, -1)).toThrow(RangeError);
  });

  test('a million leaves: proofs from leaf hashes verify (O(n) batched)', () => {
    const n = 1_000_000;
    const hashes = randomBytes(32 * n);
    const root = treeRoot(hashes, n);
    const index = randomInt(n);
    const proof = inclusionProofFor(hashes, index, n);
    expect(proof.length).toBe(20);
    expect(verifyInclusionProof(hashes.subarray(32 * index, 32 * index + 32), index, n, proof, root)).toBe(
      true,
    );
    const m = randomInt(1, n);
    const cp = consistencyProofFor(hashes, m, n);
    expect(verifyConsistencyProof(m, n, cp, treeRoot(hashes, m), root)).toBe(true);
  });
});
