// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/audit/bundle
 *
 * `execgate audit export`'s self-contained bundle, verifiable on another machine without a TPM or the
 * database: a CBOR sequence (RFC 8742) of
 *
 *   1. a header map {"format": "execgate-audit-bundle", "version": 1, "ak": AK SPKI DER,
 *      "size": entries, "checkpoints": count};
 *   2. each checkpoint, oldest first, as an array [size, counter, body, quote, certificate];
 *   3. each entry's bytes: the entry's own CBOR item, whose bytes are hashed as its leaf.
 *
 * Nothing in the bundle is trusted: the header's AK is informational (the verifier passes the AK it
 * trusts, `--ak PEM`), and the checkpoints are verified under that key.
 *
 * The entries a checkpoint covers are verified over their bytes: each is only split off as one CBOR
 * item (`cborItemBounds`, into an array of offsets, thousands per call: E_AUDIT_ENTRY when it is not one
 * within an entry's limits), its leaf recomputed from the bundle's bytes in place (tree.ts `pushItems`:
 * no object or subarray per entry) and the tree checked against every root, so a changed, moved,
 * inserted or deleted entry changes a root (E_AUDIT_ROOT) whether or not it still decodes. Decoding each one (deterministic re-encoding and
 * the entry schema) was ~80% of a verify; `strict` still does it, for an auditor who also wants every
 * entry's form checked. The entries after the newest checkpoint, which no root speaks for yet, are
 * always decoded: one that is not a well-formed entry is E_AUDIT_ENTRY, one out of sequence
 * E_AUDIT_ROOT, and the header's size says whether any are missing (E_AUDIT_TRUNCATED).
 */
import { concatBytes } from '../encoding/bytes.js';
import {
  CborError,
  type CborSequenceItem,
  type CborValue,
  cborItemBounds,
  decodeCborSequence,
  encodeCbor,
} from '../encoding/cbor.js';
import { ExecgateError } from '../errors.js';
import { ENTRY_CBOR, entryOf } from './entry.js';
import { AuditError } from './errors.js';
import {
  type AuditVerdict,
  type CheckpointRecord,
  storedCheckpoints,
  VERIFY_BATCH,
  verifyAuditLogAsync,
} from './log.js';
import type { AuditStore } from './store.js';
import type { EntryItems, EntryToVerify } from './tree.js';

export const BUNDLE_FORMAT = 'execgate-audit-bundle';
export const BUNDLE_VERSION = 1;
/** Largest header or checkpoint item accepted (a checkpoint with its quote and certificate). */
const MAX_CHECKPOINT_ITEM_BYTES = 64 * 1024;

/** The bundle's header. */
export interface BundleHeader {
  readonly ak: Uint8Array;
  readonly size: number;
  readonly checkpoints: number;
}

/** The bundle of `store` (every entry and checkpoint as stored now), under the AK `akSpki`. */
export function exportBundle(store: AuditStore, akSpki: Uint8Array): Uint8Array {
  const checkpoints = storedCheckpoints(store);
  const size = store.size();
  const parts: Uint8Array[] = [
    encodeCbor(
      new Map<string, CborValue>([
        ['format', BUNDLE_FORMAT],
        ['version', BUNDLE_VERSION],
        ['ak', akSpki],
        ['size', size],
        ['checkpoints', checkpoints.length],
      ]),
    ),
  ];
  for (const c of checkpoints)
    parts.push(encodeCbor([c.size ?? 0, BigInt(c.counter ?? 0), c.body, c.quote, c.certificate]));
  for (const e of store.iterate({ to: size })) parts.push(e.bytes);
  return concatBytes(parts);
}

export interface BundleReadOptions {
  /**
   * true: decode every entry (decodeEntry's checks: deterministic encoding, schema, seq), not only those
   * after the newest checkpoint; for an auditor who wants every entry's form checked, not only its bytes.
   */
  readonly strict?: boolean;
}

/** A bundle read: its header, its checkpoints, and its entries as a stream (decoded as iterated). */
export interface ReadBundle {
  readonly header: BundleHeader;
  readonly checkpoints: CheckpointRecord[];
  /**
   * Throws AuditError E_AUDIT_ENTRY at an item that is not one CBOR item within an entry's limits or,
   * past the newest checkpoint (strict: anywhere), not a well-formed entry.
   */
  readonly entries: Iterable<EntryToVerify>;
  /**
   * The same entries in two parts, for the tree verifier (read `entries`, or `items` then `rest`, not
   * both): those the newest checkpoint covers as chunks of items of the bundle (tree.ts `EntryItems`,
   * at most VERIFY_BATCH entries each, in one reused bounds array: a chunk is valid until the next is
   * read), with no object or subarray per entry; then the rest, decoded, once `items` is done.
   */
  readonly items: Iterable<EntryItems>;
  readonly rest: Iterable<EntryToVerify>;
}

const bad = (code: 'E_AUDIT_CHECKPOINT' | 'E_AUDIT_ENTRY', detail: string): AuditError =>
  new AuditError(code, `bundle: ${detail}`);

function uintOf(v: CborValue | undefined): number | undefined {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
  if (typeof v === 'bigint' && v >= 0n && v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
  return undefined;
}

/**
 * Reads a bundle's header and checkpoints, and returns its entries as a lazy stream. A malformed header
 * or checkpoint item is E_AUDIT_CHECKPOINT (the checkpoints cannot be read), a malformed entry
 * E_AUDIT_ENTRY (when the stream reaches it).
 */
export function readBundle(bytes: Uint8Array, opts: BundleReadOptions = {}): ReadBundle {
  const items = decodeCborSequence(bytes, { tags: [], maxBytes: MAX_CHECKPOINT_ITEM_BYTES, maxDepth: 4 });
  // Where the entries start: after the last item read.
  let end = 0;
  const next = (
    source: Generator<CborSequenceItem, void, undefined>,
    what: string,
    code: 'E_AUDIT_CHECKPOINT' | 'E_AUDIT_ENTRY',
  ) => {
    try {
      const it = source.next();
      if (!it.done) end = it.value.offset + it.value.bytes.length;
      return it;
    } catch (e) {
      if (e instanceof ExecgateError) throw bad(code, `${what}: ${e.message}`);
      throw e;
    }
  };
  const first = next(items, 'header', 'E_AUDIT_CHECKPOINT');
  const h = first.done ? undefined : first.value.value;
  if (!(h instanceof Map) || h.get('format') !== BUNDLE_FORMAT || h.get('version') !== BUNDLE_VERSION)
    throw bad('E_AUDIT_CHECKPOINT', `not an ${BUNDLE_FORMAT} version ${BUNDLE_VERSION}`);
  const ak = h.get('ak');
  const size = uintOf(h.get('size'));
  const count = uintOf(h.get('checkpoints'));
  if (!(ak instanceof Uint8Array) || size === undefined || count === undefined)
    throw bad('E_AUDIT_CHECKPOINT', 'the header needs "ak" (bytes), "size" and "checkpoints" (counts)');
  const checkpoints: CheckpointRecord[] = [];
  for (let i = 0; i < count; i++) {
    const it = next(items, `checkpoint ${i}`, 'E_AUDIT_CHECKPOINT');
    const v = it.done ? undefined : it.value.value;
    if (!Array.isArray(v) || v.length !== 5)
      throw bad('E_AUDIT_CHECKPOINT', `checkpoint ${i} is not [size, counter, body, quote, certificate]`);
    const [cs, cc, body, quote, certificate] = v;
    const csize = uintOf(cs);
    if (
      csize === undefined ||
      (typeof cc !== 'number' && typeof cc !== 'bigint') ||
      typeof body !== 'string' ||
      !(quote instanceof Uint8Array) ||
      !(certificate instanceof Uint8Array)
    )
      throw bad('E_AUDIT_CHECKPOINT', `checkpoint ${i} is not [size, counter, body, quote, certificate]`);
    checkpoints.push({ size: csize, counter: BigInt(cc), body, quote, certificate });
  }
  // The entries a checkpoint's root covers are only split into items (strict: decoded as the rest): the
  // roots commit to their bytes and positions, so the tree verifier finds any change. The tail no root
  // covers yet is decoded, with decodeEntry's limits, and its seq and form checked. The leaves are left
  // to the tree verifier (a bundle stores none), which hashes the entries in batches.
  let covered = 0;
  if (opts.strict !== true) for (const c of checkpoints) covered = Math.max(covered, c.size ?? 0);
  // Where the next entry starts, and its position: shared by `items` and then `rest`.
  let offset = end;
  let i = 0;
  const bounds = new Float64Array(VERIFY_BATCH + 1);
  function* coveredItems(): Generator<EntryItems, void, undefined> {
    while (i < covered && offset < bytes.length) {
      let n: number;
      try {
        n = cborItemBounds(bytes, offset, ENTRY_CBOR, bounds, Math.min(VERIFY_BATCH, covered - i));
      } catch (e) {
        if (e instanceof CborError) throw bad('E_AUDIT_ENTRY', `entry ${i}: ${e.message}`);
        throw e;
      }
      // The last item of a bundle cut short of a checkpoint is decoded: its seq tells a truncated log
      // (E_AUDIT_TRUNCATED) from one with an entry deleted before it (E_AUDIT_ROOT).
      const cut = bounds[n] === bytes.length && i + n < covered;
      if (cut) n--;
      offset = bounds[n] as number;
      i += n;
      if (n > 0) yield { bytes, bounds, count: n };
      if (cut) return;
    }
  }
  function* rest(): Generator<EntryToVerify, void, undefined> {
    const entryItems = decodeCborSequence(bytes, ENTRY_CBOR, offset);
    for (; ; i++) {
      const it = next(entryItems, `entry ${i}`, 'E_AUDIT_ENTRY');
      if (it.done) return;
      let seq: number;
      try {
        seq = entryOf(it.value.value).seq;
      } catch (e) {
        if (e instanceof ExecgateError) throw bad('E_AUDIT_ENTRY', `entry ${i}: ${e.message}`);
        throw e;
      }
      yield { seq, bytes: it.value.bytes };
    }
  }
  function* entries(): Generator<EntryToVerify, void, undefined> {
    for (const chunk of coveredItems()) {
      // `i` has passed the chunk already.
      const first = i - chunk.count;
      for (let k = 0; k < chunk.count; k++)
        yield { seq: first + k, bytes: bytes.subarray(bounds[k], bounds[k + 1]) };
    }
    yield* rest();
  }
  return {
    header: { ak, size, checkpoints: count },
    checkpoints,
    entries: entries(),
    items: coveredItems(),
    rest: rest(),
  };
}

/**
 * Verifies a bundle under the AK the caller trusts (`akSpki`): `verifyAuditLog` over its checkpoints and
 * entry stream, then its header's size against the entries (E_AUDIT_TRUNCATED when fewer). A bundle has
 * no TPM to compare with: rollback shows only as counters out of order (E_AUDIT_ROLLBACK).
 */
export async function verifyBundle(
  bytes: Uint8Array,
  akSpki: Uint8Array,
  opts: BundleReadOptions & { nvIndex?: number; progress?: (n: number) => void } = {},
): Promise<AuditVerdict> {
  let read: ReadBundle;
  try {
    read = readBundle(bytes, opts.strict === undefined ? {} : { strict: opts.strict });
  } catch (e) {
    if (e instanceof AuditError)
      return { ok: false, size: 0, checkpoints: 0, code: e.code, detail: e.message };
    throw e;
  }
  let verdict: AuditVerdict;
  try {
    verdict = await verifyAuditLogAsync({
      items: read.items,
      entries: read.rest,
      storedLeaves: false,
      checkpoints: read.checkpoints,
      akSpki,
      ...(opts.nvIndex === undefined ? {} : { nvIndex: opts.nvIndex }),
      ...(opts.progress === undefined ? {} : { progress: opts.progress }),
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
      detail: `the header says ${read.header.size} entries; the bundle has ${verdict.size}`,
    };
  return verdict;
}
