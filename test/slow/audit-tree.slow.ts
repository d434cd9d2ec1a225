// SPDX-License-Identifier: Apache-2.0
// The long versions of test/audit: a million-entry log verified by LogVerifier against checkpoints every
// 1,000 entries, with a sample of those roots and the proofs at a million leaves checked by the
// independent RFC 9162 verifier (node:crypto only); and the frontier against merkleRoot for every size
// 0..3,000 and every chunk size 1..64.
import { describe, expect, test } from 'vitest';
import { consistencyProofJson, inclusionProofJson, treeRoot } from '../../agent/audit/proofs.js';
import { type CheckpointRoot, type LogEntry, LogVerifier } from '../../agent/audit/tree.js';
import { initHashing, merkleRoot } from '../../agent/crypto/hash.js';
import {
  indCheckConsistency,
  indCheckInclusion,
  indLeafHash,
  indRoot,
} from '../audit/independent-rfc9162.js';
import { randomBytes, randomInt, TEST_SEED } from '../helpers/random.js';

await initHashing();

describe('audit tree, long', () => {
  test('1,000,000 entries, a checkpoint every 1,000: verified, and checked independently', () => {
    console.info(`[audit tree slow] EXECGATE_TEST_SEED=${TEST_SEED} repeats these entries`);
    const n = 1_000_000;
    const all = randomBytes(n * 170);
    const entries: LogEntry[] = [];
    const leaves = new Uint8Array(32 * n);
    let at = 0;
    for (let seq = 0; seq < n; seq++) {
      const len = 130 + ((all[at] ?? 0) % 41);
      const bytes = all.subarray(at, at + len);
      at += len;
      const leaf = leaves.subarray(32 * seq, 32 * seq + 32);
      leaf.set(indLeafHash(bytes));
      entries.push({ seq, bytes, leaf });
    }
    // The checkpoint roots by the independent code (perfect subtrees memoised).
    const leafList = Array.from({ length: n }, (_, i) => Buffer.from(leaves.subarray(32 * i, 32 * i + 32)));
    const memo = new Map<string, Buffer>();
    const checkpoints: CheckpointRoot[] = [];
    for (let size = 1000; size <= n; size += 1000) {
      checkpoints.push({ size, root: new Uint8Array(indRoot(leafList, 0, size, memo)) });
    }
    const v = new LogVerifier({ checkpoints });
    for (let i = 0; i < n; i += 10_000) expect(v.push(entries.slice(i, i + 10_000))).toBeUndefined();
    expect(v.finish()).toMatchObject({ ok: true, size: n, checkpoints: 1000 });
    // And a sample from scratch, without the memo.
    for (const size of [1000 * randomInt(1, 1000), n]) {
      expect(Buffer.from(v.rootAt(size) ?? []).toString('hex'), `size ${size}`).toBe(
        indRoot(leafList, 0, size).toString('hex'),
      );
    }
    expect(Buffer.from(treeRoot(leaves, n)).toString('hex')).toBe(
      indRoot(leafList, 0, n, memo).toString('hex'),
    );
    const index = randomInt(n);
    expect(indCheckInclusion(JSON.stringify(inclusionProofJson(leaves, index, n)))).toBe(true);
    const from = randomInt(1, n);
    expect(indCheckConsistency(JSON.stringify(consistencyProofJson(leaves, from, n)))).toBe(true);

    // One flipped byte in the middle of the million: E_AUDIT_ENTRY at that entry.
    const seq = randomInt(n);
    const bad = entries.slice(seq - (seq % 10_000), seq - (seq % 10_000) + 10_000).map((e) => {
      if (e.seq !== seq) return e;
      const bytes = e.bytes.slice();
      bytes[0] = (bytes[0] ?? 0) ^ 1;
      return { ...e, bytes };
    });
    const w = new LogVerifier({ checkpoints });
    for (let i = 0; i < seq - (seq % 10_000); i += 10_000) w.push(entries.slice(i, i + 10_000));
    expect(w.push(bad)).toMatchObject({ code: 'E_AUDIT_ENTRY', seq });
  });

  test('every size 0..3,000 and every chunk size 1..64: the frontier root equals merkleRoot', () => {
    const data = Array.from({ length: 3000 }, () => randomBytes(randomInt(0, 90)));
    const entries = data.map((bytes, seq) => ({ seq, bytes, leaf: indLeafHash(bytes) }));
    const v = new LogVerifier();
    for (let n = 1; n <= 3000; n++) {
      v.push([entries[n - 1] as LogEntry]);
      expect(Buffer.from(v.root()).toString('hex'), `size ${n}`).toBe(
        Buffer.from(merkleRoot(data.slice(0, n))).toString('hex'),
      );
    }
    const checkpoints = [0, 1, 2, 3, 63, 64, 65, 1000, 2047, 2048, 2049, 3000].map((size) => ({
      size,
      root: merkleRoot(data.slice(0, size)),
    }));
    for (let chunk = 1; chunk <= 64; chunk++) {
      const w = new LogVerifier({ checkpoints });
      for (let i = 0; i < 3000; i += chunk)
        expect(w.push(entries.slice(i, i + chunk)), `chunk ${chunk}`).toBeUndefined();
      expect(w.finish().ok).toBe(true);
    }
  });
});
