// SPDX-License-Identifier: Apache-2.0
/**
 * Audit checkpoints (DESIGN §7): a C2SP tlog-checkpoint note body (https://c2sp.org/tlog-checkpoint)
 * anchored by a TPM quote over SHA-256 of the body and by the TPM NV counter of attest/nv-counter.ts.
 *
 * The body, ASCII, every line ending in "\n", exactly four lines:
 *
 *     execgate/000b5c6f0e1a2b3c                      origin: "execgate/" + the AK Name's first 16 hex digits
 *     1000                                           tree size, decimal, no leading zeros (0: empty tree)
 *     AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=   RFC 9162 root hash, standard base64 with padding
 *     nv-counter 42                                  extension line: "nv-counter", a space, the decimal
 *
 * Parsing is strict (`parseCheckpointBody`): at most MAX_BODY_LENGTH characters (checked first), only
 * printable ASCII and "\n", exactly these four lines, canonical decimals (no sign, no leading zeros, the
 * size a safe integer, the counter a UINT64), the root exactly 32 bytes in the one canonical base64
 * spelling. So one checkpoint has one body, and SHA-256 of it is what the quote signs.
 *
 * The counter protocol, made crash-safe (a SIGKILL at any moment never leaves a state that verify calls a
 * rollback) and checkable offline:
 *
 *   1. (`makeCheckpoint`) read the TPM counter N; if the log's newest checkpoint says N+1 (a previous run
 *      committed it and died before step 4), increment first, so N is that value;
 *   2. body with counter N+1; quote it with qualifyingData = SHA-256(body) over the selection;
 *   3. NV_Certify the counter with the AK over the same SHA-256(body): the certificate says the TPM's
 *      counter stood at N — exactly counter−1 — when this body was signed;
 *   4. the caller commits the checkpoint, then (`completeCheckpoint`) increments the counter to N+1.
 *
 * A crash before the commit leaves the TPM at N and the log's newest at most N: consistent. A crash
 * between commit and step 4 leaves the TPM one behind the newest checkpoint, which `checkTpmCounter`
 * accepts and the next `makeCheckpoint` or `completeCheckpoint` repairs. The TPM ahead of the newest
 * checkpoint is never a crash: that is an older copy of the log (E_AUDIT_ROLLBACK), and `makeCheckpoint`
 * refuses to checkpoint on it (so a restored copy cannot be laundered by a fresh checkpoint).
 *
 * Why NV_Certify (step 3): NV_Read and NV_Increment responses are not authenticated, so an interposer on
 * the TPM bus could answer "incremented" and drop the increment, keeping the TPM's counter low so that a
 * later restored copy looks current. The certificate is signed by the AK over the counter's Name and
 * value: a dropped increment makes the next checkpoint's certified value disagree with the body
 * (E_AUDIT_CHECKPOINT when it is made), and an offline verifier sees, for every checkpoint, that the
 * TPM's counter had really reached counter−1. It costs a second AK signature per checkpoint (group commit
 * pays it once per group). On the host the TPM's current value for `checkTpmCounter` should come from
 * nv-counter.ts `readCounterCertified` (fresh nonce), not a plain read.
 *
 * Steps 1–4 and the log's commit must run under the log's write lock (one checkpointer at a time), or two
 * checkpointers interleave increments; `makeCheckpoint` then fails with E_AUDIT_CHECKPOINT rather than
 * sign a wrong value, but a lost race can still leave the TPM ahead (a false E_AUDIT_ROLLBACK).
 *
 * What this module does not check: that the AK is the host's (the caller passes the key it trusts),
 * consistency between checkpoints' trees (log-verify's job), the entries themselves, or clock monotonicity
 * across checkpoints (the clock info is returned for the caller). A log deleted whole and started again
 * has no newest checkpoint to compare: detecting that needs a checkpoint kept elsewhere.
 */

import {
  type CounterCertificate,
  certifyCounter,
  checkCounterIndex,
  incrementCounter,
  readCounter,
  verifyCounterCertificate,
} from '../attest/nv-counter.js';
import {
  decodeBundle,
  encodeBundle,
  type LoadedAk,
  makeQuote,
  spkiOfPublic,
} from '../attest/quote-evidence.js';
import { verifyQuote } from '../attest/verify-quote.js';
import { sha256 } from '../crypto/hash.js';
import { initVerification } from '../crypto/verify.js';
import { equalBytes, fromBase64, toBase64, toHex } from '../encoding/bytes.js';
import { type CborValue, decodeCbor, encodeCbor } from '../encoding/cbor.js';
import { bytes, record, required, uint } from '../encoding/cbor-schema.js';
import { ExecgateError } from '../errors.js';
import { objectName } from '../tpm/names.js';
import { type PcrSelection, parseSelection } from '../tpm/pcr-selection.js';
import type { TPMS_CLOCK_INFO } from '../tpm/structures.js';
import type { Tpm } from '../tpm/tpm.js';

export type CheckpointCode = 'E_AUDIT_CHECKPOINT' | 'E_AUDIT_ROLLBACK';

/**
 * E_AUDIT_CHECKPOINT: a checkpoint's body, quote or counter certificate is malformed or does not verify
 * (tampered, another AK), or the TPM's counter disagrees with the log in a way no crash explains;
 * E_AUDIT_ROLLBACK: counters that do not strictly increase, or a TPM counter ahead of the newest
 * checkpoint (an older copy of the log).
 */
export class CheckpointError extends ExecgateError<CheckpointCode> {}

/** The extension line's keyword: `nv-counter <decimal>`. */
export const COUNTER_KEYWORD = 'nv-counter';
/** Longest body accepted: the longest valid one is 9+16+1 + 16+1 + 44+1 + 11+20+1 = 120 characters. */
export const MAX_BODY_LENGTH = 256;
/** PCRs quoted when the caller names none (the `[audit] pcrs` default). */
export const DEFAULT_CHECKPOINT_PCRS = 'sha256:0-7';
/** Largest counter certificate accepted (CBOR). */
export const MAX_COUNTER_CERTIFICATE_BYTES = 4096;

const ROOT_BYTES = 32;
const U64_MAX = (1n << 64n) - 1n;
const fail = (detail: string, cause?: unknown): CheckpointError =>
  new CheckpointError('E_AUDIT_CHECKPOINT', detail, cause === undefined ? undefined : { cause });

/** The parsed body. */
export interface CheckpointBody {
  /** `execgate/` + 16 lowercase hex digits. */
  readonly origin: string;
  /** Tree size (number of entries covered). */
  readonly size: number;
  /** RFC 9162 root hash, 32 bytes. */
  readonly root: Uint8Array;
  /** The TPM NV counter value this checkpoint took. */
  readonly counter: bigint;
}

/** The origin line of the log whose checkpoints the AK of Name `akName` signs. */
export function originOf(akName: Uint8Array): string {
  const hex = toHex(akName);
  if (hex.length < 16) throw fail(`an AK Name of ${akName.length} bytes is too short for an origin`);
  return `execgate/${hex.slice(0, 16)}`;
}

const ORIGIN = /^execgate\/[0-9a-f]{16}$/;
const SIZE = /^(?:0|[1-9][0-9]{0,15})$/;
const COUNTER = /^nv-counter (0|[1-9][0-9]{0,19})$/;
const BASE64_32 = /^[A-Za-z0-9+/]{43}=$/;
const PRINTABLE = /^[\x20-\x7e\n]*$/;

/** Standard base64 with padding (RFC 4648 §4). */
function base64(b: Uint8Array): string {
  return toBase64(b);
}

/** The body's text for these values; E_AUDIT_CHECKPOINT for a value no body can carry. */
export function formatCheckpointBody(b: CheckpointBody): string {
  if (typeof b.origin !== 'string' || !ORIGIN.test(b.origin))
    throw fail('the origin must be "execgate/" and 16 lowercase hex digits');
  if (!Number.isSafeInteger(b.size) || b.size < 0)
    throw fail(`tree size ${String(b.size)} is not a safe integer ≥ 0`);
  if (!(b.root instanceof Uint8Array) || b.root.length !== ROOT_BYTES)
    throw fail('the root hash must be 32 bytes');
  if (typeof b.counter !== 'bigint' || b.counter < 0n || b.counter > U64_MAX)
    throw fail(`counter ${String(b.counter)} is not a UINT64`);
  return `${b.origin}\n${b.size}\n${base64(b.root)}\n${COUNTER_KEYWORD} ${b.counter}\n`;
}

/** Parses a body strictly (module comment); anything else is E_AUDIT_CHECKPOINT. */
export function parseCheckpointBody(text: string): CheckpointBody {
  if (typeof text !== 'string') throw fail('a checkpoint body must be text');
  if (text.length > MAX_BODY_LENGTH)
    throw fail(`a checkpoint body of ${text.length} characters exceeds ${MAX_BODY_LENGTH}`);
  if (!PRINTABLE.test(text)) throw fail('a checkpoint body holds printable ASCII and newlines only');
  if (!text.endsWith('\n')) throw fail('a checkpoint body ends with a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length !== 4)
    throw fail(`a checkpoint body has 4 lines (origin, size, root, ${COUNTER_KEYWORD}), not ${lines.length}`);
  const [origin = '', size = '', root = '', counter = ''] = lines;
  if (!ORIGIN.test(origin)) throw fail('line 1: the origin is not "execgate/" and 16 lowercase hex digits');
  if (!SIZE.test(size) || !Number.isSafeInteger(Number(size)))
    throw fail('line 2: the tree size is not a canonical decimal safe integer');
  if (!BASE64_32.test(root)) throw fail('line 3: the root hash is not 32 bytes of padded standard base64');
  const rootBytes = fromBase64(root);
  // 43 characters carry 258 bits: the last one's low 2 bits must be zero, or two spellings share a hash.
  if (rootBytes.length !== ROOT_BYTES || base64(rootBytes) !== root)
    throw fail('line 3: the root hash is not in canonical base64');
  const m = COUNTER.exec(counter);
  const value = m?.[1] === undefined ? undefined : BigInt(m[1]);
  if (value === undefined || value > U64_MAX)
    throw fail(`line 4: not "${COUNTER_KEYWORD} " and a canonical decimal UINT64`);
  return { origin, size: Number(size), root: rootBytes, counter: value };
}

/** SHA-256 of the body's bytes: the quote's and the counter certificate's qualifying data. */
export function bodyDigest(body: string): Uint8Array {
  return sha256(new TextEncoder().encode(body));
}

// ── The counter certificate's encoding ──────────────────────────────────────────────────────────────

interface CertificateDoc {
  readonly v: number;
  readonly index: number;
  readonly attest: Uint8Array;
  readonly signature: Uint8Array;
}

const CERTIFICATE = record<CertificateDoc>({
  v: required('v', uint(1, 1)),
  index: required('index', uint(0x01000000, 0x01bfffff)),
  attest: required('attest', bytes(1, 2048)),
  signature: required('signature', bytes(1, 1024)),
});

/**
 * A counter certificate as bytes: deterministic CBOR {"v": 1, "index": uint, "attest": TPMS_ATTEST,
 * "signature": TPMT_SIGNATURE}.
 */
export function encodeCounterCertificate(cert: CounterCertificate): Uint8Array {
  return encodeCbor(CERTIFICATE.encode({ v: 1, ...cert }));
}

/** Decodes `encodeCounterCertificate`'s bytes; E_AUDIT_CHECKPOINT for anything else. */
export function decodeCounterCertificate(b: Uint8Array): CounterCertificate {
  let v: CborValue;
  try {
    if (!(b instanceof Uint8Array)) throw new TypeError('not bytes');
    v = decodeCbor(b, { tags: [], maxBytes: MAX_COUNTER_CERTIFICATE_BYTES, maxDepth: 2, maxItems: 16 });
    const doc = CERTIFICATE.decode(v, 'counterCertificate');
    return { index: doc.index, attest: doc.attest, signature: doc.signature };
  } catch (e) {
    throw fail(`the counter certificate is malformed: ${e instanceof Error ? e.message : String(e)}`, e);
  }
}

// ── Making a checkpoint ──────────────────────────────────────────────────────────────────────────────

/** A checkpoint as the log stores it. */
export interface Checkpoint {
  readonly body: string;
  readonly counter: bigint;
  /** attest/quote.ts evidence bundle (CBOR) of the quote over SHA-256(body). */
  readonly quote: Uint8Array;
  /** `encodeCounterCertificate` of the AK's NV_Certify of the counter at counter−1, over SHA-256(body). */
  readonly counterCertificate: Uint8Array;
}

export interface MakeCheckpointOptions {
  /** The AK's Name, for the origin line (default: computed from the AK's public area). */
  readonly akName?: Uint8Array;
  readonly size: number;
  readonly root: Uint8Array;
  readonly nvIndex: number;
  /** PCRs to quote (default sha256:0-7). */
  readonly selection?: PcrSelection;
  /** The counter of the log's newest checkpoint; undefined when the log has none. */
  readonly previousCounter?: bigint | undefined;
}

/**
 * The TPM's counter brought level with the log whose newest checkpoint took `newest`: equal, nothing to
 * do; one behind (a crash after the commit), incremented; ahead, E_AUDIT_ROLLBACK; further behind,
 * E_AUDIT_CHECKPOINT. Returns the TPM's value afterwards (a plain read: see the module comment).
 */
async function levelCounter(tpm: Tpm, nvIndex: number, newest: bigint | undefined): Promise<bigint> {
  const now = await readCounter(tpm, nvIndex);
  if (newest === undefined || now === newest) return now;
  checkTpmCounter({ counter: newest }, now);
  // Exactly one behind: finish the interrupted checkpoint's increment.
  const after = await incrementCounter(tpm, nvIndex);
  if (after !== newest) {
    throw fail(
      `the TPM's counter went from ${now} to ${after}, not ${newest}: another checkpointer, or an interposer`,
    );
  }
  return after;
}

/**
 * Steps 1–3 of the counter protocol (module comment): reads (and if needed levels) the counter, builds
 * the body with the next value, quotes SHA-256(body) over `selection` with the AK, and has the AK certify
 * the counter over the same digest. The checkpoint is verified under the AK before it is returned. The
 * caller commits it, then calls `completeCheckpoint`, both under the log's write lock. Until then the
 * TPM's counter stays one below `counter`.
 */
export async function makeCheckpoint(
  tpm: Tpm,
  ak: LoadedAk,
  opts: MakeCheckpointOptions,
): Promise<Checkpoint> {
  checkCounterIndex(opts.nvIndex);
  await initVerification();
  const origin = originOf(opts.akName ?? objectName(ak.public));
  const selection = opts.selection ?? parseSelection(DEFAULT_CHECKPOINT_PCRS);
  const current = await levelCounter(tpm, opts.nvIndex, opts.previousCounter);
  const counter = current + 1n;
  const body = formatCheckpointBody({ origin, size: opts.size, root: opts.root, counter });
  const digest = bodyDigest(body);
  const evidence = await makeQuote(tpm, ak, { selection, nonce: digest });
  const cert = await certifyCounter(tpm, ak, opts.nvIndex, digest);
  const checkpoint = {
    body,
    counter,
    quote: encodeBundle(evidence),
    counterCertificate: encodeCounterCertificate(cert),
  };
  verifyCheckpoint(checkpoint, spkiOfPublic(ak.public), { selection, nvIndex: opts.nvIndex });
  return checkpoint;
}

/**
 * Step 4 of the counter protocol: after the checkpoint of `counter` is committed, the TPM's counter is
 * incremented to it (nothing when it is there already: a later `makeCheckpoint` levelled it).
 * E_AUDIT_ROLLBACK when the TPM is already ahead of it, E_AUDIT_CHECKPOINT when the TPM is more than
 * one behind or the increment does not land on `counter`.
 */
export async function completeCheckpoint(tpm: Tpm, nvIndex: number, counter: bigint): Promise<bigint> {
  return levelCounter(tpm, nvIndex, counter);
}

// ── Verifying ────────────────────────────────────────────────────────────────────────────────────────

export interface VerifyCheckpointOptions {
  /** The PCR selection the quote must cover (default: whichever the bundle names, as long as it verifies). */
  readonly selection?: PcrSelection;
  /** The AK's Name: when given, the origin must be `originOf(akName)`. */
  readonly akName?: Uint8Array;
  /** The counter's NV index: when given, the counter certificate must be of this index. */
  readonly nvIndex?: number;
  /**
   * Accept a checkpoint without a counter certificate (its counter is then only as good as the software
   * that wrote it). Default false.
   */
  readonly allowUncertifiedCounter?: boolean;
}

/** A verified checkpoint. */
export interface VerifiedCheckpoint extends CheckpointBody {
  /** The quote's TPMS_CLOCK_INFO: clock, resetCount, restartCount, safe. */
  readonly clockInfo: TPMS_CLOCK_INFO;
  readonly firmwareVersion: bigint;
  /** The quoted selection and its values (bank by bank, PCRs ascending). */
  readonly selection: PcrSelection;
  readonly pcrValues: readonly Uint8Array[];
  /** True when the AK certified that the TPM's counter stood at counter−1 for this body. */
  readonly counterCertified: boolean;
  /** The counter's NV index, from the certificate. */
  readonly nvIndex?: number;
}

/**
 * Verifies a checkpoint under the AK public key `akPublic` (DER SubjectPublicKeyInfo), purely (call
 * `initVerification()` once first): the body parses; the quote verifies (verify-quote.ts: signature,
 * magic, type, selection, PCR digest) with extraData == SHA-256(body); the counter certificate verifies
 * under the same AK over the same digest, is of the counter's Name at its index, and certifies
 * counter−1. Each failure is E_AUDIT_CHECKPOINT naming the step (a quote's own reason code included).
 */
export function verifyCheckpoint(
  checkpoint: { readonly body: string; readonly quote: Uint8Array; readonly counterCertificate?: Uint8Array },
  akPublic: Uint8Array,
  opts: VerifyCheckpointOptions = {},
): VerifiedCheckpoint {
  const parsed = parseCheckpointBody(checkpoint.body);
  if (opts.akName !== undefined && parsed.origin !== originOf(opts.akName))
    throw fail(`the origin ${parsed.origin} is not this AK's (${originOf(opts.akName)})`);
  const digest = bodyDigest(checkpoint.body);
  let evidence: ReturnType<typeof decodeBundle>;
  try {
    evidence = decodeBundle(checkpoint.quote);
  } catch (e) {
    throw fail(`the quote bundle: ${e instanceof Error ? e.message : String(e)}`, e);
  }
  const selection = opts.selection ?? evidence.selection;
  const verdict = verifyQuote({
    attest: evidence.attest,
    signature: evidence.signature,
    akPublicKey: akPublic,
    nonce: digest,
    selection,
    pcrValues: evidence.pcrValues,
  });
  if (!verdict.ok || verdict.attest === undefined)
    throw fail(`the quote: ${verdict.code ?? 'E_QUOTE_PARSE'}: ${verdict.detail}`);
  if (!equalBytes(evidence.nonce, digest))
    throw fail('the quote bundle names another nonce than SHA-256(body)');
  let certified: { index: number } | undefined;
  if (checkpoint.counterCertificate !== undefined) {
    const cert = decodeCounterCertificate(checkpoint.counterCertificate);
    if (opts.nvIndex !== undefined && cert.index !== opts.nvIndex)
      throw fail(
        `the counter certificate is of NV index 0x${cert.index.toString(16)}, not 0x${opts.nvIndex.toString(16)}`,
      );
    const v = verifyCounterCertificate(cert, akPublic, digest);
    if (!v.ok) throw fail(`the counter certificate: ${v.detail}`);
    if (v.value + 1n !== parsed.counter)
      throw fail(
        `the counter certificate says the TPM stood at ${v.value}, not ${parsed.counter - 1n} (counter − 1)`,
      );
    certified = { index: cert.index };
  } else if (opts.allowUncertifiedCounter !== true) {
    throw fail('the checkpoint has no counter certificate');
  }
  return {
    ...parsed,
    clockInfo: verdict.attest.clockInfo,
    firmwareVersion: verdict.attest.firmwareVersion,
    selection,
    pcrValues: evidence.pcrValues,
    counterCertified: certified !== undefined,
    ...(certified ? { nvIndex: certified.index } : {}),
  };
}

/**
 * Checkpoints in the order they were made (their tree sizes ascending): each counter must exceed the one
 * before, E_AUDIT_ROLLBACK naming the first that does not (an older checkpoint re-used or replayed).
 */
export function checkCounters(
  checkpoints: readonly { readonly counter: bigint; readonly size?: number }[],
): void {
  for (let i = 1; i < checkpoints.length; i++) {
    const prev = checkpoints[i - 1];
    const cur = checkpoints[i];
    if (prev === undefined || cur === undefined) continue;
    if (cur.counter <= prev.counter) {
      throw new CheckpointError(
        'E_AUDIT_ROLLBACK',
        `checkpoint ${i}${cur.size === undefined ? '' : ` (size ${cur.size})`} has counter ${cur.counter}, not above the ${prev.counter} of the one before`,
      );
    }
  }
}

/**
 * The TPM's counter against the log's newest checkpoint: equal, or one behind (a crash between the commit
 * and the increment), is consistent. Ahead is E_AUDIT_ROLLBACK: this log is an older copy (or someone
 * incremented the counter outside execgate); more than one behind is E_AUDIT_CHECKPOINT: the checkpoint
 * claims a counter this TPM's index never reached (another TPM or index, or a forged checkpoint).
 */
export function checkTpmCounter(newest: { readonly counter: bigint }, tpmValue: bigint): void {
  if (tpmValue > newest.counter) {
    throw new CheckpointError(
      'E_AUDIT_ROLLBACK',
      `the TPM's counter is ${tpmValue}, ahead of the newest checkpoint's ${newest.counter}: this log is an older copy`,
    );
  }
  if (tpmValue < newest.counter - 1n) {
    throw fail(
      `the newest checkpoint's counter ${newest.counter} is ahead of the TPM's ${tpmValue}: not this TPM's counter`,
    );
  }
}
