// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/audit/heartbeat
 *
 * Signed heartbeats (issue 15, `execgate serve`): every `[serve] heartbeat`, the service quotes the
 * configured PCRs with the log's AK and appends the whole quote to the audit log as an entry of kind
 * "heartbeat" (entry.ts). An auditor learns, offline, that the host's TPM was alive at that TPM clock,
 * in that measured state, at that position of the log.
 *
 * The quote's nonce binds it to its place: SHA-256("execgate heartbeat v1" ‖ 0x00 ‖ seq as 8 bytes
 * big-endian ‖ the leaf hash of entry seq − 1, or 32 zero bytes at seq 0). The previous leaf commits to
 * that entry's own seq and content (its time, pid, cti…), so a heartbeat moved to another position or
 * copied into another log does not verify there; one quoted by another AK does not verify under the
 * log's. The quote is made and the entry appended under the store's write lock, so no other writer can
 * slip an entry between the nonce and the append.
 *
 * Not covered: two empty logs of the same host (seq 0 has no previous entry) give the same nonce, so a
 * first heartbeat could be copied between them; and a heartbeat proves nothing about wall-clock time
 * beyond what its entry's `time` (the host's clock) claims: its TPM clock is the TPM's own count.
 */
import type { LoadedAk } from '../attest/quote-evidence.js';
import { makeQuote } from '../attest/quote-evidence.js';
import { verifyQuote } from '../attest/verify-quote.js';
import { sha256 } from '../crypto/hash.js';
import { formatSelection, type PcrSelection, parseSelection } from '../tpm/pcr-selection.js';
import type { Tpm } from '../tpm/tpm.js';
import { type HeartbeatEntry, leafHash } from './entry.js';
import { AuditError } from './errors.js';
import type { Appended, AuditStore } from './store.js';

/** The domain separator before a heartbeat nonce's fields. */
const DOMAIN = new TextEncoder().encode('execgate heartbeat v1\0');

/** Bytes of a leaf hash (SHA-256). */
const LEAF_BYTES = 32;

/** The nonce a heartbeat at `seq` must quote: see the module comment. `previousLeaf` absent at seq 0 only. */
export function heartbeatNonce(seq: number, previousLeaf: Uint8Array | undefined): Uint8Array {
  if (!Number.isSafeInteger(seq) || seq < 0) throw new RangeError(`seq must be a count, got ${seq}`);
  if ((seq === 0) !== (previousLeaf === undefined))
    throw new TypeError('previousLeaf must be given exactly when seq > 0');
  if (previousLeaf !== undefined && previousLeaf.length !== LEAF_BYTES)
    throw new RangeError(`previousLeaf must be ${LEAF_BYTES} bytes`);
  const input = new Uint8Array(DOMAIN.length + 8 + LEAF_BYTES);
  input.set(DOMAIN, 0);
  new DataView(input.buffer).setBigUint64(DOMAIN.length, BigInt(seq));
  if (previousLeaf !== undefined) input.set(previousLeaf, DOMAIN.length + 8);
  return sha256(input);
}

/**
 * Quotes `selection` with `ak` over the nonce of the log's next position and appends the heartbeat,
 * holding the store's write lock throughout. Throws what the TPM or the store throws; nothing is
 * appended then.
 */
export async function appendHeartbeat(
  store: AuditStore,
  tpm: Tpm,
  ak: LoadedAk,
  selection: PcrSelection,
  now: () => number = Date.now,
): Promise<Appended> {
  return store.withWriteLock(async () => {
    const seq = store.size();
    const previous = seq === 0 ? undefined : store.entry(seq - 1);
    if (seq > 0 && previous === undefined)
      throw new AuditError('E_AUDIT_ENTRY', `entry ${seq - 1} is missing: no heartbeat appended`);
    const nonce = heartbeatNonce(seq, previous?.leaf);
    const ev = await makeQuote(tpm, ak, { selection, nonce });
    return store.append({
      time: now(),
      kind: 'heartbeat',
      attest: ev.attest,
      signature: ev.signature,
      pcrs: formatSelection(selection),
      pcrValues: ev.pcrValues,
    });
  });
}

/**
 * Why `entry` is not a heartbeat of this log at its place, or undefined when it is: its quote must
 * verify (attest/verify-quote.ts) under `akSpki` with the nonce of its seq and `previousBytes`, the
 * bytes of the entry before it (undefined at seq 0), over its own PCR selection and values. Call
 * `initHashing()` and `initVerification()` first.
 */
export function heartbeatProblem(
  entry: HeartbeatEntry,
  previousBytes: Uint8Array | undefined,
  akSpki: Uint8Array,
): string | undefined {
  if ((entry.seq === 0) !== (previousBytes === undefined))
    return `heartbeat ${entry.seq}: not at its place in the log`;
  const v = verifyQuote({
    attest: entry.attest,
    signature: entry.signature,
    akPublicKey: akSpki,
    nonce: heartbeatNonce(entry.seq, previousBytes === undefined ? undefined : leafHash(previousBytes)),
    // entry.ts checked that pcrs parses and that pcrValues fit it.
    selection: parseSelection(entry.pcrs),
    pcrValues: entry.pcrValues,
  });
  return v.ok ? undefined : `heartbeat ${entry.seq}: ${v.code}: ${v.detail}`;
}
