// SPDX-License-Identifier: Apache-2.0
// agent/audit/bundle on swtpm: readBundle splits the entries the newest checkpoint covers into items
// (cborItemEnd, decodeEntry's limits) and decodes the rest; strict, it decodes every entry once; the
// leaves are left to the tree verifier (storedLeaves: false). The oracle is the reader of before, kept
// here: the whole sequence read at the checkpoints' limits, decodeEntry on every entry item, its leaf
// hashed and handed to the verifier to compare. The strict verdict (ok, code, size, checkpoints) must be
// the oracle's; the default one must agree on ok (and be the same when ok), and on the code, except that
// a covered item that is one CBOR item but not a well-formed entry is found by its root (E_AUDIT_ROOT)
// where the oracle says E_AUDIT_ENTRY. Checked on the bundle as exported, on hand-made edits of its
// entries, and on random ones (flips, cuts, insertions, overwrites).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_AUDIT_COUNTER_INDEX } from '../../agent/attest/nv-counter.js';
import { DEFAULT_AK_HANDLE, spkiOfPublic, withAk } from '../../agent/attest/quote.js';
import { exportBundle, readBundle, verifyBundle } from '../../agent/audit/bundle.js';
import { decodeEntry, type EntryInput, encodeEntry, leafHash } from '../../agent/audit/entry.js';
import { AuditError } from '../../agent/audit/errors.js';
import { type AuditVerdict, checkpointNow, verifyAuditLogAsync } from '../../agent/audit/log.js';
import { AuditStore } from '../../agent/audit/store.js';
import type { LogEntry } from '../../agent/audit/tree.js';
import { concatBytes, toHex } from '../../agent/encoding/bytes.js';
import { decodeCborSequence, encodeCbor } from '../../agent/encoding/cbor.js';
import { ExecgateError } from '../../agent/errors.js';
import { cli } from '../cli/helpers.js';
import { useSwtpm } from '../helpers/swtpm.js';
import { openTpm } from '../tpm/swtpm-kit.js';

const swtpm = useSwtpm();
let work: string;
let akSpki: Uint8Array;
let bundle: Uint8Array;
/** The bundle's items: header, the 3 checkpoints, then the 45 entries. */
let items: Uint8Array[];
const CHECKPOINTS = 3;

const entry = (i: number): EntryInput => ({
  time: 1_765_000_000_000 + i,
  verdict: i % 4 === 0 ? 'deny' : 'allow',
  reason: i % 4 === 0 ? 'E_SCOPE' : 'OK',
  exe: `/usr/bin/tool-${i}`,
  uid: 1000,
  pid: 4000 + i,
});

beforeAll(async () => {
  expect((await cli(['--tcti', swtpm().tcti, 'host', 'init'])).stderr).toBe('');
  work = await mkdtemp(join(tmpdir(), 'execgate-bundle-'));
  const store = await AuditStore.open(work);
  try {
    const tpm = openTpm(swtpm());
    await withAk(tpm, { kind: 'persistent', handle: DEFAULT_AK_HANDLE }, async (ak) => {
      akSpki = spkiOfPublic(ak.public);
      for (const n of [7, 13, 20]) {
        store.appendBatch(Array.from({ length: n }, (_, i) => entry(store.size() + i)));
        await checkpointNow(store, tpm, ak, { nvIndex: DEFAULT_AUDIT_COUNTER_INDEX });
      }
    });
    // An uncovered tail: only sequence numbers and the header's size speak for it.
    store.appendBatch(Array.from({ length: 5 }, (_, i) => entry(40 + i)));
    bundle = exportBundle(store, akSpki);
  } finally {
    store.close();
  }
  items = [...decodeCborSequence(bundle, { tags: [], maxBytes: 64 * 1024, maxDepth: 4 })].map((i) => i.bytes);
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** The previous reader's entries: each item of the whole sequence (64 KiB, depth 4), decodeEntry, leafHash. */
function* previousEntries(bytes: Uint8Array, checkpoints: number): Generator<LogEntry, void, undefined> {
  const all = decodeCborSequence(bytes, { tags: [], maxBytes: 64 * 1024, maxDepth: 4 });
  for (let k = 0; k <= checkpoints; k++) all.next();
  for (let i = 0; ; i++) {
    let it: IteratorResult<{ bytes: Uint8Array }, void>;
    let seq: number;
    try {
      it = all.next();
      if (it.done) return;
      seq = decodeEntry(it.value.bytes).seq;
    } catch (e) {
      if (e instanceof ExecgateError)
        throw new AuditError('E_AUDIT_ENTRY', `bundle: entry ${i}: ${e.message}`);
      throw e;
    }
    yield { seq, bytes: it.value.bytes, leaf: leafHash(it.value.bytes) };
  }
}

/** The verdict of the previous verifyBundle (header and checkpoints are read as they still are). */
async function previousVerdict(bytes: Uint8Array): Promise<AuditVerdict> {
  const read = readBundle(bytes);
  let verdict: AuditVerdict;
  try {
    verdict = await verifyAuditLogAsync({
      entries: previousEntries(bytes, read.checkpoints.length),
      checkpoints: read.checkpoints,
      akSpki,
    });
  } catch (e) {
    if (e instanceof AuditError)
      return { ok: false, size: 0, checkpoints: read.checkpoints.length, code: e.code, detail: e.message };
    throw e;
  }
  if (verdict.ok && verdict.size !== read.header.size)
    return {
      ...verdict,
      ok: false,
      code: verdict.size < read.header.size ? 'E_AUDIT_TRUNCATED' : 'E_AUDIT_ENTRY',
    };
  return verdict;
}

const summary = (v: AuditVerdict) => ({ ok: v.ok, code: v.code, size: v.size, checkpoints: v.checkpoints });

/** The verdicts on `bytes`, checked against the oracle's (file comment); the default's and strict's codes. */
async function same(bytes: Uint8Array): Promise<{ code: string | undefined; strict: string | undefined }> {
  const oracle = summary(await previousVerdict(bytes));
  const strict = summary(await verifyBundle(bytes, akSpki, { strict: true }));
  expect(strict).toEqual(oracle);
  const byBytes = summary(await verifyBundle(bytes, akSpki));
  if (oracle.ok) expect(byBytes).toEqual(oracle);
  expect(byBytes.ok).toBe(oracle.ok);
  if (!(byBytes.code === 'E_AUDIT_ROOT' && oracle.code === 'E_AUDIT_ENTRY'))
    expect(byBytes.code).toBe(oracle.code);
  return { code: byBytes.code, strict: strict.code };
}

/** The bundle with its entry items (index 0 = entry 0) replaced by `edit`'s. */
function withEntries(edit: (entries: Uint8Array[]) => Uint8Array[]): Uint8Array {
  return concatBytes([...items.slice(0, 1 + CHECKPOINTS), ...edit(items.slice(1 + CHECKPOINTS))]);
}

describe('verifyBundle: verdicts by bytes, and strict, against the reader of before', () => {
  it('the bundle as exported, and edits of its entries by hand', async () => {
    expect(summary(await verifyBundle(bundle, akSpki))).toEqual({
      ok: true,
      code: undefined,
      size: 45,
      checkpoints: 3,
    });
    expect(await same(bundle)).toEqual({ code: undefined, strict: undefined });
    const replace = (i: number, item: Uint8Array) =>
      withEntries((es) => es.map((e, j) => (j === i ? item : e)));
    const other = encodeEntry({ ...decodeEntry(items[4 + 12] as Uint8Array), pid: 1 });
    // [name, bundle, code, strict's code when another]
    const cases: [string, Uint8Array, string, string?][] = [
      ['an entry rewritten into another one', replace(12, other), 'E_AUDIT_ROOT'],
      [
        'a byte string of 30 KB (over an entry, under a checkpoint item)',
        replace(3, encodeCbor(new Uint8Array(30_000))),
        'E_AUDIT_ENTRY',
      ],
      ['nesting deeper than an entry', replace(3, encodeCbor([[[0]]])), 'E_AUDIT_ENTRY'],
      ['a text item (covered)', replace(30, encodeCbor('x')), 'E_AUDIT_ROOT', 'E_AUDIT_ENTRY'],
      ['a text item (after the newest checkpoint)', replace(42, encodeCbor('x')), 'E_AUDIT_ENTRY'],
      ['an indefinite-length item (covered)', replace(5, Uint8Array.of(0x9f, 0xff)), 'E_AUDIT_ENTRY'],
      [
        'two entries swapped',
        withEntries((es) => [es[1], es[0], ...es.slice(2)] as Uint8Array[]),
        'E_AUDIT_ROOT',
      ],
      ['the last entry dropped (uncovered)', withEntries((es) => es.slice(0, -1)), 'E_AUDIT_TRUNCATED'],
      ['an entry of the tail dropped', withEntries((es) => es.filter((_, j) => j !== 41)), 'E_AUDIT_ROOT'],
      ['an entry dropped (covered)', withEntries((es) => es.filter((_, j) => j !== 10)), 'E_AUDIT_ROOT'],
      ['cut inside the covered part, at an item', withEntries((es) => es.slice(0, 30)), 'E_AUDIT_TRUNCATED'],
      [
        'cut inside the covered part, an entry dropped before',
        withEntries((es) => es.slice(0, 30).filter((_, j) => j !== 3)),
        'E_AUDIT_ROOT',
      ],
      ['a byte after the last entry', concatBytes([bundle, Uint8Array.of(0xff)]), 'E_AUDIT_ENTRY'],
      ['cut inside the last entry', bundle.subarray(0, bundle.length - 3), 'E_AUDIT_ENTRY'],
    ];
    for (const [name, bytes, code, strict] of cases)
      expect(await same(bytes), name).toEqual({ code, strict: strict ?? code });
  });

  it("readBundle: entries, and items then rest, are the oracle's entries (seq and bytes)", () => {
    const want = [...previousEntries(bundle, CHECKPOINTS)].map((e) => [e.seq, toHex(e.bytes)]);
    expect([...readBundle(bundle).entries].map((e) => [e.seq, toHex(e.bytes)])).toEqual(want);
    expect([...readBundle(bundle, { strict: true }).entries].map((e) => [e.seq, toHex(e.bytes)])).toEqual(
      want,
    );
    const read = readBundle(bundle);
    const got: (string | number)[][] = [];
    for (const { bytes, bounds, count } of read.items)
      for (let k = 0; k < count; k++) got.push([got.length, toHex(bytes.subarray(bounds[k], bounds[k + 1]))]);
    expect(got).toHaveLength(40); // what the newest checkpoint covers
    for (const e of read.rest) got.push([e.seq, toHex(e.bytes)]);
    expect(got).toEqual(want);
  });

  it('property: random edits of the entries: the verdicts agree with the oracle', async () => {
    const start = bundle.length - items.slice(1 + CHECKPOINTS).reduce((n, e) => n + e.length, 0);
    const edit = fc.tuple(
      fc.constantFrom('flip', 'cut', 'insert', 'set'),
      fc.nat(),
      fc.integer({ min: 0, max: 255 }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(edit, { minLength: 1, maxLength: 3 }), async (edits) => {
        const b = Array.from(bundle);
        for (const [op, at, byte] of edits) {
          const i = start + (at % (b.length - start + 1));
          if (op === 'flip' && i < b.length) b[i] = (b[i] ?? 0) ^ (1 << (byte % 8));
          else if (op === 'cut') b.splice(i, byte % 4);
          else if (op === 'insert') b.splice(i, 0, byte);
          else if (i < b.length) b[i] = byte;
        }
        await same(Uint8Array.from(b));
      }),
      { numRuns: 300 },
    );
  });
});
