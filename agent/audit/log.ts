// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/audit/log
 *
 * The audit log as a whole (issue 13, DESIGN §7): the glue between the store (store.ts), the Merkle
 * tree (tree.ts) and the TPM-anchored checkpoints (checkpoint.ts).
 *
 * - `checkpointNow` runs the counter protocol of checkpoint.ts under the store's write lock: the log is
 *   read and its tree recomputed (and checked against the stored checkpoints: a tampered log is never
 *   signed), the checkpoint made, stored and committed, then the TPM's counter completed.
 * - `verifyAuditLog` is pure (no TPM, no database): entries from an iterable (the store's `iterate` or a
 *   bundle's decoder), checkpoints as stored or exported, the AK public key the caller trusts, and on
 *   the host the TPM's certified counter value. Its result is a verdict with the first finding's code.
 *
 * Not covered: a log deleted whole (or all of its checkpoints) has no newest checkpoint to compare with
 * the TPM's counter; detecting that needs a checkpoint kept elsewhere (an exported bundle).
 */
import type { LoadedAk } from '../attest/quote.js';
import { spkiOfPublic } from '../attest/quote.js';
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
import { type AuditCode, AuditError } from './errors.js';
import type { AuditStore, Checkpoint as StoredCheckpoint } from './store.js';
import { type CheckpointRoot, type LogEntry, LogVerifier } from './tree.js';

/** Entries pushed to the tree verifier at a time. */
const VERIFY_BATCH = 4096;

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
  /** The entries in sequence order. */
  readonly entries: Iterable<LogEntry>;
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
 * E_AUDIT_CONSISTENCY); then the TPM's counter against the newest checkpoint (E_AUDIT_ROLLBACK ahead,
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
  const verifier = new LogVerifier({ checkpoints: roots });
  let batch: LogEntry[] = [];
  for (const entry of input.entries) {
    batch.push(entry);
    if (batch.length >= VERIFY_BATCH) {
      if (verifier.push(batch) !== undefined) break;
      batch = [];
      input.progress?.(verifier.size);
    }
  }
  if (verifier.failure === undefined && batch.length > 0) verifier.push(batch);
  const tree = verifier.finish();
  if (!tree.ok) return fail(tree.code, tree.detail, verifier.size, n);
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
    ...(last === undefined ? {} : { newest: { size: last.size, counter: last.counter } }),
  };
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
}

/** What `checkpointNow` did. */
export interface CheckpointMade {
  /** False when the log had nothing new since its newest checkpoint (none made). */
  readonly made: boolean;
  readonly size: number;
  readonly counter: bigint;
  readonly body: string;
}

/**
 * Makes a checkpoint of the whole log now (module comment), unless the newest one already covers every
 * entry. Throws AuditError with the tamper code when the stored log does not verify against its own
 * checkpoints under this AK, CheckpointError (E_AUDIT_ROLLBACK) when the TPM's counter is ahead of the
 * log (an older copy: never laundered by a fresh checkpoint).
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
    const stored = storedCheckpoints(store);
    const latest = stored.at(-1);
    if (latest !== undefined && (latest.size ?? 0) >= size) {
      return { made: false, size: latest.size ?? 0, counter: BigInt(latest.counter ?? 0), body: latest.body };
    }
    const verdict = verifyAuditLog({
      entries: store.iterate({ to: size }),
      checkpoints: stored,
      akSpki,
      nvIndex: opts.nvIndex,
    });
    if (!verdict.ok)
      throw new AuditError(
        verdict.code ?? 'E_AUDIT_ROOT',
        `the log does not verify; no checkpoint made: ${verdict.detail}`,
      );
    if (verdict.size !== size || verdict.root === undefined)
      throw new AuditError('E_AUDIT_ROOT', `the log has ${verdict.size} entries in sequence, not ${size}`);
    const previous = latest?.counter === undefined ? undefined : BigInt(latest.counter);
    const c = await makeCheckpoint(tpm, ak, {
      ...(opts.akName === undefined ? {} : { akName: opts.akName }),
      size,
      root: verdict.root,
      nvIndex: opts.nvIndex,
      ...(opts.selection === undefined ? {} : { selection: opts.selection }),
      previousCounter: previous,
    });
    store.addCheckpoint({
      size,
      counter: Number(c.counter),
      body: c.body,
      quote: c.quote,
      certificate: c.counterCertificate,
    });
    return { made: true, size, counter: c.counter, body: c.body };
  });
  // Step 4, after the commit: a crash before it leaves the TPM one behind, which the next one repairs.
  if (made.made) await completeCheckpoint(tpm, opts.nvIndex, made.counter);
  return made;
}
