// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/audit/log
 *
 * The audit log as a whole (issue 13, DESIGN §7): the glue between the store (store.ts), the Merkle
 * tree (tree.ts) and the TPM-anchored checkpoints (checkpoint.ts).
 *
 * - `checkpointNow` runs the counter protocol of checkpoint.ts under the store's write lock: the tree is
 *   extended from the newest checkpoint's stored frontier (checked against its signed root) by the
 *   entries after it (each checked against its leaf), so the work is the new entries and the TPM, not
 *   the whole log; the checkpoint is made, stored with its frontier and committed, then the TPM's
 *   counter completed. Appenders call `checkpointIfDue` with the `[audit]` schedule: the first of a
 *   group that finds one due makes it for all (group commit); the others wait for the lock and find it
 *   made. Other appenders' writes wait while a checkpoint holds the lock (the TPM's quote and
 *   certification: tens of ms on swtpm, more on a hardware TPM), once per `checkpoint_entries`.
 * - `verifyAuditLog` is pure (no TPM, no database): entries from an iterable (the store's `iterate` or a
 *   bundle's decoder), checkpoints as stored or exported, the AK public key the caller trusts, and on
 *   the host the TPM's certified counter value. Its result is a verdict with the first finding's code.
 *
 * Not covered: a log deleted whole (or all of its checkpoints) has no newest checkpoint to compare with
 * the TPM's counter; detecting that needs a checkpoint kept elsewhere (an exported bundle).
 */
import type { LoadedAk } from '../attest/quote-evidence.js';
import { spkiOfPublic } from '../attest/quote-evidence.js';
import { initHashing } from '../crypto/hash.js';
import { initVerification } from '../crypto/verify.js';
import { ExecgateError } from '../errors.js';
import type { PcrSelection } from '../tpm/pcr-selection.js';
import type { Tpm } from '../tpm/tpm.js';
import {
  CheckpointError,
  checkCounters,
  checkTpmCounter,
  completeCheckpoint,
  makeCheckpoint,
  verifyCheckpoint,
} from './checkpoint.js';
import { decodeEntry, isHeartbeat, mayBeHeartbeat } from './entry.js';
import { type AuditCode, AuditError } from './errors.js';
import { heartbeatProblem } from './heartbeat.js';
import { type CheckpointSchedule, checkpointDue } from './schedule.js';
import type { AuditStore, Checkpoint as StoredCheckpoint } from './store.js';
import {
  type CheckpointRoot,
  type EntryItems,
  type EntryToVerify,
  type LogEntry,
  LogVerifier,
} from './tree.js';

export { type CheckpointSchedule, checkpointDue } from './schedule.js';

/** Entries pushed to the tree verifier at a time (and items per chunk of a bundle's, bundle.ts). */
export const VERIFY_BATCH = 4096;

/** A checkpoint as verification takes it: the store's row or a bundle's array. */
export interface CheckpointRecord {
  /** The size and counter stored beside the body (must equal the body's); optional for a bundle. */
  readonly size?: number;
  readonly counter?: number | bigint;
  readonly body: string;
  readonly quote: Uint8Array;
  readonly certificate: Uint8Array;
}

/** What `verifyAuditLog` checks against. */
export interface VerifyAuditLogInput {
  /** The entries in sequence order (after `items`, when given). */
  readonly entries: Iterable<EntryToVerify>;
  /**
   * The first entries as chunks of items of one buffer (tree.ts `pushItems`: seq by position, no stored
   * leaf, so only with `storedLeaves: false`); each chunk is consumed before the next is read.
   */
  readonly items?: Iterable<EntryItems>;
  /** false: the entries carry no stored leaf hash (a bundle's); tree.ts LogVerifierOptions. Default true. */
  readonly storedLeaves?: boolean;
  /** The checkpoints in the order they were made (size ascending). */
  readonly checkpoints: readonly CheckpointRecord[];
  /** The AK's public key (DER SubjectPublicKeyInfo) every checkpoint must be signed by. */
  readonly akSpki: Uint8Array;
  /** The NV counter's index the certificates must name (when given). */
  readonly nvIndex?: number;
  /** The PCR selection the quotes must cover (when given). */
  readonly selection?: PcrSelection;
  /** The TPM's counter value now, certified (on the host): compared with the newest checkpoint. */
  readonly tpmCounter?: bigint;
  /** Called after each batch of entries with the number verified so far. */
  readonly progress?: (verified: number) => void;
}

/** The verdict of `verifyAuditLog`. */
export interface AuditVerdict {
  readonly ok: boolean;
  /** Entries verified (all of them when ok). */
  readonly size: number;
  /** Checkpoints verified. */
  readonly checkpoints: number;
  /** The newest checkpoint's size and counter, when there is one. */
  readonly newest?: { readonly size: number; readonly counter: bigint };
  /** The recomputed root of all the entries, when ok. */
  readonly root?: Uint8Array;
  /** Their frontier (tree.ts `frontier()`), when ok: what the next checkpoint extends. */
  readonly frontier?: Uint8Array;
  readonly code?: AuditCode;
  readonly detail?: string;
}

const fail = (
  code: AuditCode,
  detail: string,
  size: number,
  checkpoints: number,
): AuditVerdict & { ok: false } => ({ ok: false, code, detail, size, checkpoints });

/**
 * Verifies the log (module comment): every checkpoint's body, quote and counter certificate under
 * `akSpki` (E_AUDIT_CHECKPOINT), all of one origin, each one's stored size and counter equal to its
 * body's (E_AUDIT_CHECKPOINT); counters strictly increasing (E_AUDIT_ROLLBACK); every entry's leaf and
 * position and each checkpoint's root (E_AUDIT_ENTRY, E_AUDIT_ROOT, E_AUDIT_TRUNCATED,
 * E_AUDIT_CONSISTENCY); every heartbeat's quote under `akSpki` at its place (E_AUDIT_HEARTBEAT,
 * heartbeat.ts); then the TPM's counter against the newest checkpoint (E_AUDIT_ROLLBACK ahead,
 * E_AUDIT_CHECKPOINT when the checkpoint claims more than the TPM reached). Call `initHashing()` and
 * `initVerification()` first (or use `verifyAuditLogAsync`).
 */
export function verifyAuditLog(input: VerifyAuditLogInput): AuditVerdict {
  const roots: CheckpointRoot[] = [];
  const counters: { counter: bigint; size: number }[] = [];
  let origin: string | undefined;
  for (const [i, c] of input.checkpoints.entries()) {
    let v: ReturnType<typeof verifyCheckpoint>;
    try {
      v = verifyCheckpoint(
        { body: c.body, quote: c.quote, counterCertificate: c.certificate },
        input.akSpki,
        {
          ...(input.nvIndex === undefined ? {} : { nvIndex: input.nvIndex }),
          ...(input.selection === undefined ? {} : { selection: input.selection }),
        },
      );
    } catch (e) {
      if (!(e instanceof ExecgateError)) throw e;
      return fail('E_AUDIT_CHECKPOINT', `checkpoint ${i}: ${e.message}`, 0, i);
    }
    if (c.size !== undefined && c.size !== v.size)
      return fail('E_AUDIT_CHECKPOINT', `checkpoint ${i}: stored size ${c.size}, body says ${v.size}`, 0, i);
    if (c.counter !== undefined && BigInt(c.counter) !== v.counter)
      return fail(
        'E_AUDIT_CHECKPOINT',
        `checkpoint ${i}: stored counter ${c.counter}, body says ${v.counter}`,
        0,
        i,
      );
    if (origin !== undefined && v.origin !== origin)
      return fail('E_AUDIT_CHECKPOINT', `checkpoint ${i}: origin ${v.origin}, not ${origin}`, 0, i);
    origin = v.origin;
    roots.push({ size: v.size, root: v.root });
    counters.push({ counter: v.counter, size: v.size });
  }
  const n = roots.length;
  try {
    checkCounters(counters);
  } catch (e) {
    if (e instanceof CheckpointError) return fail(e.code, e.message, 0, n);
    throw e;
  }
  const verifier = new LogVerifier({
    checkpoints: roots,
    ...(input.storedLeaves === undefined ? {} : { storedLeaves: input.storedLeaves }),
  });
  const heartbeats = new HeartbeatCheck(input.akSpki);
  for (const chunk of input.items ?? []) {
    heartbeats.pushItems(chunk, verifier.size);
    if (verifier.pushItems(chunk) !== undefined) break;
    input.progress?.(verifier.size);
  }
  let batch: EntryToVerify[] = [];
  if (verifier.failure === undefined)
    for (const entry of input.entries) {
      batch.push(entry);
      heartbeats.push(entry);
      if (batch.length >= VERIFY_BATCH) {
        if (verifier.push(batch) !== undefined) break;
        batch = [];
        input.progress?.(verifier.size);
      }
    }
  if (verifier.failure === undefined && batch.length > 0) verifier.push(batch);
  const tree = verifier.finish();
  if (!tree.ok) return fail(tree.code, tree.detail, verifier.size, n);
  // After the tree: a changed entry is reported as the tamper it is, not as the heartbeat it broke.
  if (heartbeats.problem !== undefined) return fail('E_AUDIT_HEARTBEAT', heartbeats.problem, tree.size, n);
  input.progress?.(tree.size);
  const last = counters.at(-1);
  if (input.tpmCounter !== undefined && last !== undefined) {
    try {
      checkTpmCounter(last, input.tpmCounter);
    } catch (e) {
      if (e instanceof CheckpointError) return fail(e.code, e.message, tree.size, n);
      throw e;
    }
  }
  return {
    ok: true,
    size: tree.size,
    checkpoints: n,
    root: tree.root,
    frontier: verifier.frontier(),
    ...(last === undefined ? {} : { newest: { size: last.size, counter: last.counter } }),
  };
}

/**
 * The heartbeats of a stream of entries, each verified against the entry before it (heartbeat.ts);
 * keeps the first problem. Only entries that may be heartbeats are decoded (entry.ts `mayBeHeartbeat`),
 * so a log of verdicts costs one byte search per entry.
 */
class HeartbeatCheck {
  #previous: EntryToVerify | undefined;
  problem: string | undefined;

  constructor(readonly akSpki: Uint8Array) {}

  push(entry: EntryToVerify): void {
    const previous = this.#previous;
    this.#previous = entry;
    if (this.problem !== undefined || !mayBeHeartbeat(entry.bytes)) return;
    let decoded: ReturnType<typeof decodeEntry>;
    try {
      decoded = decodeEntry(entry.bytes);
    } catch {
      return; // not a well-formed entry at all: not this check's finding
    }
    if (!isHeartbeat(decoded)) return;
    if (decoded.seq !== entry.seq || (previous !== undefined && previous.seq !== entry.seq - 1))
      this.problem = `heartbeat at position ${entry.seq} carries seq ${decoded.seq}`;
    else this.problem = heartbeatProblem(decoded, previous?.bytes, this.akSpki);
  }

  /** `push` for a chunk of items whose first is entry `firstSeq`: a view is made only for a heartbeat and its predecessor. */
  pushItems({ bytes, bounds, count }: EntryItems, firstSeq: number): void {
    if (count === 0) return;
    const at = (i: number): EntryToVerify => ({
      seq: firstSeq + i,
      bytes: bytes.subarray(bounds[i], bounds[i + 1]),
    });
    for (let i = 0; i < count && this.problem === undefined; i++) {
      if (!mayBeHeartbeat(bytes, bounds[i], bounds[i + 1])) continue;
      if (i > 0) this.#previous = at(i - 1);
      this.push(at(i));
    }
    this.#previous = at(count - 1);
  }
}

/** `verifyAuditLog` after initialising hashing and signature verification. */
export async function verifyAuditLogAsync(input: VerifyAuditLogInput): Promise<AuditVerdict> {
  await initHashing();
  await initVerification();
  return verifyAuditLog(input);
}

/** The store's checkpoints as verification takes them. */
export function storedCheckpoints(store: AuditStore): CheckpointRecord[] {
  return store.checkpoints().map((c: StoredCheckpoint) => ({
    size: c.size,
    counter: c.counter,
    body: c.body,
    quote: c.quote,
    certificate: c.certificate,
  }));
}

export interface CheckpointNowOptions {
  /** The AK's Name for the origin line (default: from its public area). */
  readonly akName?: Uint8Array;
  /** The NV counter's index (`[audit] nv_counter_index`). */
  readonly nvIndex: number;
  /** PCRs to quote (`[audit] pcrs`). */
  readonly selection?: PcrSelection;
  /**
   * Make one only when due by this schedule, judged again under the write lock: of several appenders
   * that find a checkpoint due at once, the first makes it (covering every entry committed by then) and
   * the others find it made (group commit: the TPM is paid once per group). Default: whenever there
   * is anything new.
   */
  readonly schedule?: CheckpointSchedule;
  /** The time to judge the schedule at, ms since the epoch (default now). */
  readonly now?: number;
}

/** What `checkpointNow` did. */
export interface CheckpointMade {
  /** False when no checkpoint was due (none made). */
  readonly made: boolean;
  /** The newest checkpoint's size, counter and body afterwards (size 0, counter 0, body "" for none). */
  readonly size: number;
  readonly counter: bigint;
  readonly body: string;
}

/** The newest checkpoint's root and frontier, verified, to extend from; undefined to recompute all. */
function resumePoint(
  latest: StoredCheckpoint | undefined,
  akSpki: Uint8Array,
  nvIndex: number,
): { size: number; root: Uint8Array; frontier: Uint8Array } | undefined {
  if (latest?.frontier === undefined) return undefined;
  let v: ReturnType<typeof verifyCheckpoint>;
  try {
    v = verifyCheckpoint(
      { body: latest.body, quote: latest.quote, counterCertificate: latest.certificate },
      akSpki,
      { nvIndex },
    );
  } catch (e) {
    if (!(e instanceof ExecgateError)) throw e;
    throw new AuditError('E_AUDIT_CHECKPOINT', `the newest checkpoint does not verify: ${e.message}`);
  }
  if (v.size !== latest.size || v.counter !== BigInt(latest.counter))
    throw new AuditError(
      'E_AUDIT_CHECKPOINT',
      "the newest checkpoint's stored size or counter is not its body's",
    );
  return { size: v.size, root: v.root, frontier: latest.frontier };
}

/**
 * The root and frontier of the first `size` entries, checked: from the newest checkpoint's frontier
 * (verified against its signed root) and only the entries after it, or, for a log whose checkpoints
 * carry no frontier, the whole log against every checkpoint. A tampered log is never signed: the new
 * checkpoint extends the last signed tree, and every entry it adds matches its leaf.
 */
function extendTree(
  store: AuditStore,
  size: number,
  akSpki: Uint8Array,
  nvIndex: number,
): { root: Uint8Array; frontier: Uint8Array } {
  const from = resumePoint(store.latestCheckpoint(), akSpki, nvIndex);
  if (from === undefined) {
    const verdict = verifyAuditLog({
      entries: store.iterate({ to: size }),
      checkpoints: storedCheckpoints(store),
      akSpki,
      nvIndex,
    });
    if (!verdict.ok)
      throw new AuditError(
        verdict.code ?? 'E_AUDIT_ROOT',
        `the log does not verify; no checkpoint made: ${verdict.detail}`,
      );
    if (verdict.size !== size || verdict.root === undefined || verdict.frontier === undefined)
      throw new AuditError('E_AUDIT_ROOT', `the log has ${verdict.size} entries in sequence, not ${size}`);
    return { root: verdict.root, frontier: verdict.frontier };
  }
  const verifier = new LogVerifier({
    resume: { size: from.size, frontier: from.frontier },
    checkpoints: [{ size: from.size, root: from.root }],
  });
  let batch: LogEntry[] = [];
  for (const entry of store.iterate({ from: from.size, to: size })) {
    batch.push(entry);
    if (batch.length >= VERIFY_BATCH) {
      if (verifier.push(batch) !== undefined) break;
      batch = [];
    }
  }
  if (verifier.failure === undefined && batch.length > 0) verifier.push(batch);
  const tree = verifier.finish();
  if (!tree.ok)
    throw new AuditError(
      tree.code,
      `the log does not extend its newest checkpoint; no checkpoint made: ${tree.detail}`,
    );
  if (tree.size !== size)
    throw new AuditError('E_AUDIT_ROOT', `the log has ${tree.size} entries in sequence, not ${size}`);
  return { root: tree.root, frontier: verifier.frontier() };
}

/**
 * Makes a checkpoint of the whole log now (module comment), unless none is due (`opts.schedule`) or
 * the newest one already covers every entry. The work under the lock is the new entries and the TPM,
 * not the whole log (`extendTree`). Throws AuditError with the tamper code when the stored log does
 * not extend its newest checkpoint under this AK, CheckpointError (E_AUDIT_ROLLBACK) when the TPM's
 * counter is ahead of the log (an older copy: never laundered by a fresh checkpoint).
 */
export async function checkpointNow(
  store: AuditStore,
  tpm: Tpm,
  ak: LoadedAk,
  opts: CheckpointNowOptions,
): Promise<CheckpointMade> {
  await initHashing();
  await initVerification();
  const akSpki = spkiOfPublic(ak.public);
  const made = await store.withWriteLock(async () => {
    const size = store.size();
    const latest = store.latestCheckpoint();
    const due =
      opts.schedule === undefined
        ? size > (latest?.size ?? 0)
        : checkpointDue(store, opts.schedule, opts.now ?? Date.now());
    if (!due)
      return {
        made: false,
        size: latest?.size ?? 0,
        counter: BigInt(latest?.counter ?? 0),
        body: latest?.body ?? '',
      };
    const { root, frontier } = extendTree(store, size, akSpki, opts.nvIndex);
    const c = await makeCheckpoint(tpm, ak, {
      ...(opts.akName === undefined ? {} : { akName: opts.akName }),
      size,
      root,
      nvIndex: opts.nvIndex,
      ...(opts.selection === undefined ? {} : { selection: opts.selection }),
      previousCounter: latest === undefined ? undefined : BigInt(latest.counter),
    });
    store.addCheckpoint({
      size,
      counter: Number(c.counter),
      body: c.body,
      quote: c.quote,
      certificate: c.counterCertificate,
      frontier,
    });
    return { made: true, size, counter: c.counter, body: c.body };
  });
  // Step 4, after the commit: a crash before it leaves the TPM one behind, which the next one repairs.
  if (made.made) await completeCheckpoint(tpm, opts.nvIndex, made.counter);
  return made;
}

/**
 * `checkpointNow` when due by `schedule`: the appender's call after each append. When none is due it
 * costs two indexed reads and takes no lock.
 */
export async function checkpointIfDue(
  store: AuditStore,
  tpm: Tpm,
  ak: LoadedAk,
  opts: CheckpointNowOptions & { readonly schedule: CheckpointSchedule },
): Promise<CheckpointMade> {
  const now = opts.now ?? Date.now();
  if (!checkpointDue(store, opts.schedule, now)) {
    const latest = store.latestCheckpoint();
    return {
      made: false,
      size: latest?.size ?? 0,
      counter: BigInt(latest?.counter ?? 0),
      body: latest?.body ?? '',
    };
  }
  return checkpointNow(store, tpm, ak, { ...opts, now });
}
