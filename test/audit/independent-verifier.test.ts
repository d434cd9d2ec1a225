// SPDX-License-Identifier: Apache-2.0
// The audit tree checked by an independent RFC 9162 verifier (independent-rfc9162.ts: node:crypto only,
// the RFC's recursive definitions, nothing shared with agent/ or wasm-core): our roots (LogVerifier and
// treeRoot), and our `audit prove` JSON for inclusion and consistency, for seeded random sizes; and
// our verifier, against checkpoints whose roots the independent code computed, catching each tamper
// kind with its reason code. The million-entry version is in test/slow/audit-tree.slow.ts.
import { describe, expect, test } from 'vitest';
import { consistencyProofJson, inclusionProofJson, treeRoot } from '../../agent/audit/proofs.js';
import { type CheckpointRoot, type LogEntry, verifyLog } from '../../agent/audit/tree.js';
import { initHashing } from '../../agent/crypto/hash.js';
import { randomBytes, randomInt, TEST_SEED } from '../helpers/random.js';
import {
  type Hash,
  indCheckConsistency,
  indCheckInclusion,
  indLeafHash,
  indNodeHash,
  indRoot,
} from './independent-rfc9162.js';

await initHashing();

interface Log {
  readonly entries: LogEntry[];
  /** The independent leaf hashes, which are also what the store keeps. */
  readonly leaves: Hash[];
}

function makeLog(n: number): Log {
  const entries: LogEntry[] = [];
  const leaves: Hash[] = [];
  for (let seq = 0; seq < n; seq++) {
    const bytes = randomBytes(randomInt(100, 201));
    const leaf = indLeafHash(bytes);
    entries.push({ seq, bytes, leaf: new Uint8Array(leaf) });
    leaves.push(leaf);
  }
  return { entries, leaves };
}

/** Checkpoints every `every` entries (and at the end), roots by the independent code. */
function independentCheckpoints(log: Log, every: number): CheckpointRoot[] {
  const out: CheckpointRoot[] = [];
  for (let size = every; size <= log.leaves.length; size += every) {
    out.push({ size, root: new Uint8Array(indRoot(log.leaves, 0, size)) });
  }
  return out;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('independent RFC 9162 verifier', () => {
  test('the independent verifier is not vacuous: it accepts the RFC structure and refuses a bent proof', () => {
    const leaves = Array.from({ length: 7 }, (_, i) => indLeafHash(Uint8Array.of(i)));
    // §2.1.3.1 by hand for leaf 4 of 7: siblings d5, MTH(d6), MTH(d0..d3).
    const proof = [leaves[5], leaves[6], indRoot(leaves, 0, 4)].map((h) => (h as Hash).toString('hex'));
    const json = {
      index: 4,
      size: 7,
      leaf: (leaves[4] as Hash).toString('hex'),
      root: indRoot(leaves).toString('hex'),
    };
    expect(indCheckInclusion(JSON.stringify({ ...json, proof }))).toBe(true);
    expect(indCheckInclusion(JSON.stringify({ ...json, proof: [proof[1], proof[0], proof[2]] }))).toBe(false);
    expect(indCheckInclusion(JSON.stringify({ ...json, index: 5, proof }))).toBe(false);
    // §2.1.4.1 by hand: PROOF(3, D[7]) = SUBPROOF(1, D[2:4], false) : MTH(D[0:2]) : MTH(D[4:7])
    //   = [d2, d3, MTH(D[0:2]), MTH(D[4:7])].
    const d = (i: number) => leaves[i] as Hash;
    const c = [d(2), d(3), indNodeHash(d(0), d(1)), indRoot(leaves, 4, 7)].map((h) => h.toString('hex'));
    const cj = {
      from: 3,
      size: 7,
      fromRoot: indRoot(leaves, 0, 3).toString('hex'),
      root: indRoot(leaves).toString('hex'),
    };
    expect(indCheckConsistency(JSON.stringify({ ...cj, proof: c }))).toBe(true);
    expect(indCheckConsistency(JSON.stringify({ ...cj, proof: c.slice(1) }))).toBe(false);
    expect(indCheckConsistency(JSON.stringify({ ...cj, from: 4, proof: c }))).toBe(false);
  });

  test('seeded random sizes: our roots and audit prove JSON check out independently', () => {
    console.info(`[independent verifier] EXECGATE_TEST_SEED=${TEST_SEED} repeats these sizes and entries`);
    const pool = makeLog(4100);
    const sizes = [1, 2, 3, 4, 5, 7, 8, 9, 1023, 1024, 1025, 4096, 4097];
    for (let i = 0; i < 25; i++) sizes.push(randomInt(1, 4101));
    const prefixRoot = new Map<number, Hash>();
    const rootOf = (n: number): Hash => {
      let r = prefixRoot.get(n);
      if (r === undefined) {
        r = indRoot(pool.leaves, 0, n);
        prefixRoot.set(n, r);
      }
      return r;
    };
    for (const n of sizes) {
      const entries = pool.entries.slice(0, n);
      const root = rootOf(n);
      const verdict = verifyLog([entries]);
      expect(verdict.ok && hex(verdict.root), `size ${n}`).toBe(root.toString('hex'));
      const leaves = entries.map((e) => e.leaf);
      expect(hex(treeRoot(leaves, n))).toBe(root.toString('hex'));

      const index = randomInt(n);
      const inc = JSON.stringify(inclusionProofJson(leaves, index, n));
      expect(indCheckInclusion(inc), `inclusion ${index} of ${n}`).toBe(true);
      const incParsed = JSON.parse(inc) as { leaf: string; root: string };
      expect(incParsed.leaf).toBe(indLeafHash((entries[index] as LogEntry).bytes).toString('hex'));
      expect(incParsed.root).toBe(root.toString('hex'));

      const from = randomInt(1, n + 1);
      const con = JSON.stringify(consistencyProofJson(leaves, from, n));
      expect(indCheckConsistency(con), `consistency ${from} -> ${n}`).toBe(true);
      const conParsed = JSON.parse(con) as { fromRoot: string; root: string };
      expect(conParsed.fromRoot).toBe(rootOf(from).toString('hex'));
      expect(conParsed.root).toBe(root.toString('hex'));
    }
  });

  test('our proofs for one size do not pass the independent check for another (index, size or from)', () => {
    const log = makeLog(300);
    const leaves = log.entries.map((e) => e.leaf);
    let refused = 0;
    for (let i = 0; i < 40; i++) {
      const n = randomInt(2, 301);
      const inc = inclusionProofJson(leaves, randomInt(n), n);
      const other = { ...inc, index: (inc.index + 1 + randomInt(n - 1)) % n };
      expect(indCheckInclusion(JSON.stringify(other))).toBe(false);
      const con = consistencyProofJson(leaves, randomInt(1, n), n);
      if (con.from < n) {
        expect(indCheckConsistency(JSON.stringify({ ...con, root: con.fromRoot }))).toBe(false);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(0);
  });

  describe('our verifier against independently computed checkpoints', () => {
    const log = makeLog(3000);
    const checkpoints = independentCheckpoints(log, 500);
    const verify = (entries: readonly LogEntry[]) => {
      const chunks: LogEntry[][] = [];
      for (let i = 0; i < entries.length; i += 256) chunks.push(entries.slice(i, i + 256));
      return verifyLog(chunks, { checkpoints });
    };

    test('the log verifies, with the independent root at its end', () => {
      const verdict = verify(log.entries);
      expect(verdict).toMatchObject({ ok: true, size: 3000, checkpoints: 6 });
      expect(verdict.ok && hex(verdict.root)).toBe(indRoot(log.leaves).toString('hex'));
    });

    test('one entry byte changed: E_AUDIT_ENTRY', () => {
      const seq = randomInt(3000);
      const entries = log.entries.map((e) => {
        if (e.seq !== seq) return e;
        const bytes = e.bytes.slice();
        const at = randomInt(bytes.length);
        bytes[at] = (bytes[at] ?? 0) ^ (1 << randomInt(8));
        return { ...e, bytes };
      });
      expect(verify(entries)).toMatchObject({ ok: false, code: 'E_AUDIT_ENTRY', seq });
    });

    test('an entry deleted: E_AUDIT_ROOT (at the gap, or at the checkpoint once renumbered)', () => {
      const seq = randomInt(2500);
      const gone = log.entries.filter((e) => e.seq !== seq);
      expect(verify(gone)).toMatchObject({ ok: false, code: 'E_AUDIT_ROOT', seq });
      const renumbered = gone.map((e, i) => ({ ...e, seq: i }));
      expect(verify(renumbered)).toMatchObject({
        ok: false,
        code: 'E_AUDIT_ROOT',
        checkpoint: Math.floor(seq / 500),
      });
    });

    test('two entries swapped: E_AUDIT_ROOT', () => {
      const a = randomInt(2999);
      const b = a + 1 + randomInt(Math.min(499, 2999 - a));
      const entries = log.entries.slice();
      entries[a] = { ...(log.entries[b] as LogEntry), seq: a };
      entries[b] = { ...(log.entries[a] as LogEntry), seq: b };
      expect(verify(entries)).toMatchObject({
        ok: false,
        code: 'E_AUDIT_ROOT',
        checkpoint: Math.floor(a / 500),
      });
    });

    test('truncation: E_AUDIT_TRUNCATED', () => {
      const keep = randomInt(2500);
      expect(verify(log.entries.slice(0, keep))).toMatchObject({
        ok: false,
        code: 'E_AUDIT_TRUNCATED',
        checkpoint: Math.floor(keep / 500),
      });
    });
  });
});
