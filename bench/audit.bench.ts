// SPDX-License-Identifier: Apache-2.0
/**
 * Audit log verification (issue 13): the tree checks of `execgate audit verify` over 1,000,000 entries
 * (random bytes of 130–170 bytes, mean 150, about the size of a CBOR verdict entry), each with its stored
 * leaf hash, and a checkpoint every 1,000 entries (1,000 roots compared). Entries arrive in chunks of
 * 4,096 as the store's range reads give them. Two layouts: subarrays of one buffer (as a decoded
 * bundle's byte strings are), and each entry in its own buffer (as SQLite rows are). Cases:
 *   - agent/audit/tree `verifyLog` (LogVerifier: leaf hashes in wasm-core batches, frontier folded a
 *     level at a time with merkleLevelInto);
 *   - the same checks written here over node:crypto, straightforwardly but not naively: per entry, seq
 *     checked, `createHash('sha256').update(0x00).update(bytes).digest()` compared with the stored leaf
 *     (`Buffer.equals`), then the leaf appended to a frontier (one array slot per level, merged with a
 *     `createHash` per interior node: one node hash per leaf on average, the minimum any method needs),
 *     and at each checkpoint the frontier folded to the root (O(log n) `createHash`) and compared;
 *   - that baseline with one-shot `crypto.hash` (Node ≥ 20.12) over a reused scratch buffer instead of
 *     `createHash` objects: node:crypto's fastest way to hash many small messages.
 * Prints markdown tables of medians and entries per second for BENCHMARKS.md. Before timing, every
 * verifier must accept the log and refuse it with one entry byte flipped. `BENCH_AUDIT_ENTRIES=N`
 * shortens the run.
 */
import { createHash, randomFillSync, randomInt } from 'node:crypto';
import { type CheckpointRoot, type LogEntry, verifyLog } from '../agent/audit/tree.js';
import { initHashing } from '../agent/crypto/hash.js';
import { type Case, compare, formatNs, ratio, table } from './measure.js';
import { LEAF, NodeFrontier, type NodeHash, viaCreateHash, viaOneShot } from './node-merkle.js';

const ENTRIES = Number(process.env.BENCH_AUDIT_ENTRIES ?? 1_000_000);
const CHECKPOINT_EVERY = 1000;
const CHUNK = 4096;

interface Log {
  readonly chunks: readonly (readonly LogEntry[])[];
  readonly checkpoints: readonly CheckpointRoot[];
}

/** The entries as subarrays of one buffer (`contiguous`) or each in its own buffer, with leaves and roots. */
function makeLog(contiguous: boolean): Log {
  const lengths = Array.from({ length: ENTRIES }, () => randomInt(130, 171));
  const total = lengths.reduce((a, b) => a + b, 0);
  const all = randomFillSync(new Uint8Array(total));
  const leaves = new Uint8Array(32 * ENTRIES);
  const entries: LogEntry[] = [];
  let at = 0;
  for (let seq = 0; seq < ENTRIES; seq++) {
    const len = lengths[seq] ?? 0;
    const view = all.subarray(at, at + len);
    const bytes = contiguous ? view : view.slice();
    at += len;
    const leaf = leaves.subarray(32 * seq, 32 * seq + 32);
    leaf.set(createHash('sha256').update(LEAF).update(bytes).digest());
    entries.push({ seq, bytes, leaf: contiguous ? leaf : leaf.slice() });
  }
  const chunks: LogEntry[][] = [];
  for (let i = 0; i < ENTRIES; i += CHUNK) chunks.push(entries.slice(i, i + CHUNK));
  const checkpoints = baselineRoots(entries);
  return { chunks, checkpoints };
}

// ---------------------------------------------------------------------------------------------------
// The node:crypto baseline (bench/node-merkle.ts)

/** The checkpoint roots, every CHECKPOINT_EVERY entries, computed over node:crypto. */
function baselineRoots(entries: readonly LogEntry[]): CheckpointRoot[] {
  const f = new NodeFrontier(viaOneShot);
  const out: CheckpointRoot[] = [];
  for (const e of entries) {
    f.append(Buffer.from(e.leaf));
    if (f.size % CHECKPOINT_EVERY === 0) out.push({ size: f.size, root: new Uint8Array(f.root()) });
  }
  return out;
}

/** The tree checks of `audit verify`, over node:crypto: true when the log matches every checkpoint. */
function baselineVerify(log: Log, h: NodeHash): boolean {
  const f = new NodeFrontier(h);
  const cps = log.checkpoints;
  let next = 0;
  for (const chunk of log.chunks) {
    for (const e of chunk) {
      if (e.seq !== f.size) return false;
      const leaf = h(LEAF, e.bytes);
      if (!leaf.equals(e.leaf)) return false;
      f.append(leaf);
      const cp = cps[next];
      if (cp !== undefined && cp.size === f.size) {
        if (!f.root().equals(cp.root)) return false;
        next++;
      }
    }
  }
  return next === cps.length;
}

function ours(log: Log): boolean {
  return verifyLog(log.chunks, { checkpoints: log.checkpoints }).ok;
}

/** The log with one byte of entry `seq` flipped (a copy of that entry only). */
function tampered(log: Log, seq: number): Log {
  const chunks = log.chunks.map((c, i) =>
    i !== Math.floor(seq / CHUNK)
      ? c
      : c.map((e) => {
          if (e.seq !== seq) return e;
          const bytes = e.bytes.slice();
          bytes[7] = (bytes[7] ?? 0) ^ 1;
          return { ...e, bytes };
        }),
  );
  return { chunks, checkpoints: log.checkpoints };
}

function section(contiguous: boolean): void {
  const log = makeLog(contiguous);
  const bad = tampered(log, Math.floor(ENTRIES / 2));
  const verifiers: [string, (l: Log) => boolean][] = [
    ['ours', ours],
    ['createHash', (l) => baselineVerify(l, viaCreateHash)],
    ['crypto.hash', (l) => baselineVerify(l, viaOneShot)],
  ];
  for (const [name, v] of verifiers) {
    if (!v(log) || v(bad))
      throw new Error(`audit bench: the ${name} verifier does not tell a good log from a bad one`);
  }
  const cases: Case[] = [
    { name: 'agent/audit `verifyLog` (wasm-core batches)', run: () => ours(log), reps: 1 },
    {
      name: 'node:crypto `createHash` per leaf and node, frontier',
      run: () => baselineVerify(log, viaCreateHash),
      reps: 1,
    },
    {
      name: 'node:crypto one-shot `crypto.hash` per leaf and node, frontier',
      run: () => baselineVerify(log, viaOneShot),
      reps: 1,
    },
  ];
  const t = compare(cases, 5, 1);
  const base = t[1] ?? 0;
  table(
    `verify ${ENTRIES.toLocaleString('en')} entries (130–170 B), ${log.checkpoints.length.toLocaleString('en')} checkpoints, ` +
      `chunks of ${CHUNK}; ${contiguous ? 'entries are subarrays of one buffer (a bundle)' : 'each entry in its own buffer (SQLite rows)'}`,
    ['implementation', 'median', 'entries / s', 'per entry', 'createHash baseline / this'],
    cases.map((c, i) => {
      const ns = t[i] ?? 0;
      return [
        c.name,
        formatNs(ns),
        Math.round((ENTRIES / ns) * 1e9).toLocaleString('en'),
        formatNs(ns / ENTRIES),
        ratio(base, ns),
      ];
    }),
  );
  process.stdout.write(
    `\nTarget ≥ 4×: verifyLog is ${ratio(base, t[0] ?? 0)} the createHash baseline, ${ratio(t[2] ?? 0, t[0] ?? 0)} the crypto.hash one.\n`,
  );
}

/** `BENCH_SECTIONS=bundle,rows npm run bench -- audit` runs only the named layouts. */
export async function main(): Promise<void> {
  const only = process.env.BENCH_SECTIONS?.split(',');
  const want = (name: string) => only === undefined || only.includes(name);
  await initHashing();
  if (want('bundle')) section(true);
  if (want('rows')) section(false);
}
