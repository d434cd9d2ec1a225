// SPDX-License-Identifier: Apache-2.0
/**
 * The audit log's rollback counter: a TPM_NT_COUNTER NV index (Part 2 §13.4 TPMA_NV, §13.5
 * TPMS_NV_PUBLIC; Part 3 §31.8 NV_Increment, §31.13 NV_Read, §31.16 NV_Certify).
 *
 * A counter index only counts up: NV_Write is refused, and a counter index defined anew (after
 * NV_UndefineSpace, or at another handle) starts at the highest value any counter of this TPM ever had
 * (Part 1 §37.2.3, Part 3 §31.8). So a value read from it is never below one read before, whoever deleted
 * and redefined what in between, which is what makes it a rollback witness for the audit log.
 *
 * Attributes (`COUNTER_ATTRIBUTES`), chosen so that execgate (root, through the owner hierarchy) increments
 * and anyone who can reach the TPM reads:
 * - TPM_NT = COUNTER (0x1), dataSize 8 (a UINT64, big-endian), nameAlg SHA-256, empty authPolicy;
 * - OWNERWRITE, not AUTHWRITE: NV_Increment needs owner authorization (execgate, like `host init`'s
 *   EvictControl, uses the empty owner authValue most Linux hosts keep). With AUTHWRITE the index's own
 *   authValue, empty so that anyone may read, would let anyone increment too; an administrator who sets
 *   an owner password shuts them out (execgate then needs owner-auth support, not built).
 *   An increment by someone else is never a hidden rollback, only a false alarm: the TPM's value then
 *   runs ahead of the newest checkpoint's (E_AUDIT_ROLLBACK until the next checkpoint).
 * - AUTHREAD with the empty index authValue: anyone may NV_Read or NV_Certify it (tpm2_nvread 0x1500190),
 *   and OWNERREAD (tpm2_nvread -C o); reading reveals nothing secret. PPREAD (platform authorization,
 *   usually disabled after boot) is not set.
 * - NO_DA: an authorization failure on it never counts towards dictionary-attack lockout, and lockout
 *   never blocks reading it.
 * - not ORDERLY: an orderly counter may lag in NV and jump ahead after an unorderly shutdown, which
 *   would look like a rollback; every increment is written through. (Each increment is an NV write: a
 *   hardware TPM's NV endurance is finite, so checkpoint intervals should stay in minutes, not seconds.)
 * - no POLICY_DELETE, WRITEDEFINE, WRITE_STCLEAR, READ_STCLEAR, GLOBALLOCK, CLEAR_STCLEAR: nothing locks
 *   it. Deleting it (owner authorization) loses nothing: a counter defined again starts at least as high.
 *
 * Reading is authenticated only by the AK: NV_Read's response carries no signature (a password session
 * has no response HMAC), so an interposer on the TPM bus can answer an old value, and can answer
 * "success" to an NV_Increment it dropped. `certifyCounter` has the AK sign the counter's Name and value
 * over caller-chosen qualifying data (TPM2_NV_Certify); `verifyCounterCertificate` checks that offline,
 * with only the AK's public key. What this module does not check: that the AK is the host's (the caller
 * passes the key it trusts), and freshness beyond the qualifying data the caller chose.
 */

import { DEFAULT_AUDIT_NV_INDEX } from '../config/defaults.js';
import { HASH_ALGORITHMS } from '../crypto/algorithms.js';
import { verifySignature } from '../crypto/verify.js';
import { equalBytes, toHex } from '../encoding/bytes.js';
import { ExecgateError } from '../errors.js';
import { NV_Certify, NV_DefineSpace, NV_Increment, NV_Read, NV_ReadPublic } from '../tpm/commands.js';
import { TPM_ALG, TPM_GENERATED_VALUE, TPM_NT, TPM_RH, TPM_ST } from '../tpm/constants.js';
import { isTpmError, TpmParseError } from '../tpm/errors.js';
import { nvName } from '../tpm/names.js';
import { TPM_RC } from '../tpm/rc.js';
import { attrs, marshal, unmarshal } from '../tpm/schema.js';
import {
  TPMA_NV,
  TPMS_ATTEST,
  type TPMS_CLOCK_INFO,
  type TPMS_NV_PUBLIC,
  TPMS_NV_PUBLIC as TPMS_NV_PUBLIC_SCHEMA,
  TPMT_SIGNATURE,
} from '../tpm/structures.js';
import type { Tpm } from '../tpm/tpm.js';
import type { LoadedAk } from './quote.js';
import { parseSignature, signatureHash, signatureItem } from './verify-quote.js';

/**
 * The index `execgate host init` defines unless told otherwise: the host policy's default
 * (config/defaults.ts, in the TCG registry's owner range). The registry's NV ranges are conventions no
 * TPM enforces; `checkCounterIndex` keeps execgate below 0x01c00000 (TCG-reserved: EK certificates …).
 */
export const DEFAULT_AUDIT_COUNTER_INDEX = DEFAULT_AUDIT_NV_INDEX;

/** Part 2 §13.4: a counter is a UINT64. */
export const COUNTER_SIZE = 8;

export type NvCounterCode =
  | 'E_NV_COUNTER_INDEX'
  | 'E_NV_COUNTER_MISSING'
  | 'E_NV_COUNTER_MISMATCH'
  | 'E_NV_COUNTER_CERTIFY';

/**
 * E_NV_COUNTER_INDEX: not an NV index handle execgate may define; E_NV_COUNTER_MISSING: no index there
 * (run `execgate host init`); E_NV_COUNTER_MISMATCH: an index there that is not the counter as
 * `counterPublic` defines it (another index, or one with other attributes: choose another index);
 * E_NV_COUNTER_CERTIFY: the TPM's certification of the counter does not verify under the AK (an
 * interposer's answer, or another AK).
 */
export class NvCounterError extends ExecgateError<NvCounterCode> {}

const EMPTY = new Uint8Array(0);
const hex32 = (h: number) => `0x${h.toString(16).padStart(8, '0')}`;

/** The TPMA_NV of execgate's counter (module comment), WRITTEN clear as at definition. */
export const COUNTER_ATTRIBUTES = attrs(TPMA_NV, {
  TPM_NT: TPM_NT.COUNTER,
  OWNERWRITE: true,
  AUTHREAD: true,
  OWNERREAD: true,
  NO_DA: true,
});

/**
 * Checks an index handle: Part 2 §7.4 NV index handles are 0x01xxxxxx; execgate takes the owner and
 * platform-manufacturer ranges below the TCG-reserved 0x01c00000 (EK certificates and the like).
 */
export function checkCounterIndex(index: number): void {
  if (!Number.isInteger(index) || index < 0x01000000 || index >= 0x01c00000) {
    throw new NvCounterError(
      'E_NV_COUNTER_INDEX',
      `${Number.isInteger(index) && index >= 0 ? hex32(index) : String(index)} is not an NV index execgate may define (0x01000000–0x01bfffff)`,
    );
  }
}

/**
 * An index as `--nv-counter-index` and the `[audit] nv_counter_index` setting spell it: `0x`-hex (1–8
 * digits) or decimal, checked by `checkCounterIndex`; E_NV_COUNTER_INDEX otherwise.
 */
export function parseCounterIndex(text: string): number {
  if (typeof text !== 'string' || !/^(?:0x[0-9a-fA-F]{1,8}|[1-9][0-9]{0,9})$/.test(text))
    throw new NvCounterError(
      'E_NV_COUNTER_INDEX',
      `an NV index is 0x-hex or decimal, like 0x01800100, got "${String(text).slice(0, 40)}"`,
    );
  const index = Number(text);
  checkCounterIndex(index);
  return index;
}

/** `0x` and 8 lowercase hex digits, as execgate prints an NV index. */
export function formatCounterIndex(index: number): string {
  return hex32(index);
}

/** The public area execgate defines at `index` (Part 2 §13.5); `written` as NV_ReadPublic reports it later. */
export function counterPublic(index: number, written = false): TPMS_NV_PUBLIC {
  return {
    nvIndex: index,
    nameAlg: TPM_ALG.SHA256,
    attributes: { ...COUNTER_ATTRIBUTES, WRITTEN: written },
    authPolicy: EMPTY,
    dataSize: COUNTER_SIZE,
  };
}

/** The counter's Name once incremented (WRITTEN set): what NV_Certify signs as indexName (Part 1 §16). */
export function counterName(index: number): Uint8Array {
  return nvName(counterPublic(index, true));
}

/** Why `found` is not execgate's counter at `index`, or undefined when it is (WRITTEN either way). */
function publicMismatch(index: number, found: TPMS_NV_PUBLIC): string | undefined {
  const want = counterPublic(index, found.attributes.WRITTEN);
  if (equalBytes(marshal(TPMS_NV_PUBLIC_SCHEMA, found), marshal(TPMS_NV_PUBLIC_SCHEMA, want)))
    return undefined;
  const facts: string[] = [];
  if (found.nvIndex !== index) facts.push(`the TPM reports index ${hex32(found.nvIndex)}`);
  if (found.attributes.TPM_NT !== TPM_NT.COUNTER)
    facts.push(`TPM_NT is ${found.attributes.TPM_NT}, not 1 (counter)`);
  if (found.nameAlg !== TPM_ALG.SHA256) facts.push(`nameAlg is 0x${found.nameAlg.toString(16)}, not SHA-256`);
  if (found.dataSize !== COUNTER_SIZE) facts.push(`dataSize is ${found.dataSize}, not 8`);
  if (found.authPolicy.length) facts.push('it has an authPolicy');
  if (!facts.length) facts.push('its attributes differ');
  return facts.join('; ');
}

/** The index's public area, or undefined when nothing is defined there. */
async function readNvPublic(tpm: Tpm, index: number): Promise<TPMS_NV_PUBLIC | undefined> {
  try {
    return (await tpm.run(NV_ReadPublic, { nvIndex: index })).nvPublic;
  } catch (e) {
    if (isTpmError(e, TPM_RC.HANDLE)) return undefined;
    throw e;
  }
}

/** The counter's public area, checked: E_NV_COUNTER_MISSING when undefined, E_NV_COUNTER_MISMATCH when another. */
async function counterPublicOf(tpm: Tpm, index: number): Promise<TPMS_NV_PUBLIC> {
  checkCounterIndex(index);
  const found = await readNvPublic(tpm, index);
  if (found === undefined) {
    throw new NvCounterError(
      'E_NV_COUNTER_MISSING',
      `no NV counter at ${hex32(index)}; run "execgate host init" (or give the index it defined)`,
    );
  }
  const why = publicMismatch(index, found);
  if (why !== undefined) {
    throw new NvCounterError(
      'E_NV_COUNTER_MISMATCH',
      `the NV index at ${hex32(index)} is not execgate's audit counter: ${why}`,
    );
  }
  return found;
}

/** The UINT64 of an 8-byte big-endian counter read (Part 2 §13.4). */
function counterValue(data: Uint8Array, what: string): bigint {
  if (data.length !== COUNTER_SIZE)
    throw new TpmParseError(`${what} returned ${data.length} bytes for an 8-byte counter`, 0);
  return new DataView(data.buffer, data.byteOffset, data.byteLength).getBigUint64(0);
}

/** NV_Read of the whole counter, authorized by the index itself (AUTHREAD, empty authValue). */
async function nvReadCounter(tpm: Tpm, index: number): Promise<bigint> {
  const { data } = await tpm.run(NV_Read, {
    authHandle: index,
    nvIndex: index,
    size: COUNTER_SIZE,
    offset: 0,
  });
  return counterValue(data, 'TPM2_NV_Read');
}

export interface DefinedCounter {
  /** True when this call defined the index. */
  readonly created: boolean;
  /** The counter's value now. */
  readonly value: bigint;
}

/**
 * Defines execgate's counter at `index` under the owner hierarchy, idempotently: an index already there
 * must be exactly `counterPublic(index)` (E_NV_COUNTER_MISMATCH otherwise; it is never redefined). A
 * counter never incremented is incremented once, so that it can be read (an unwritten counter answers
 * TPM_RC_NV_UNINITIALIZED); its first value is the highest any counter of this TPM has had, not 0.
 */
export async function defineCounter(tpm: Tpm, index: number): Promise<DefinedCounter> {
  checkCounterIndex(index);
  let created = false;
  if ((await readNvPublic(tpm, index)) === undefined) {
    try {
      await tpm.run(NV_DefineSpace, {
        authHandle: TPM_RH.OWNER,
        auth: EMPTY,
        publicInfo: counterPublic(index),
      });
      created = true;
    } catch (e) {
      // Another `host init` defined it in between: judged below like any existing index.
      if (!isTpmError(e, TPM_RC.NV_DEFINED)) throw e;
    }
  }
  const pub = await counterPublicOf(tpm, index);
  if (!pub.attributes.WRITTEN) await tpm.run(NV_Increment, { authHandle: TPM_RH.OWNER, nvIndex: index });
  return { created, value: await readCounter(tpm, index) };
}

/**
 * NV_Increment (owner authorization), then the new value (`readCounter`). The value as read is only as
 * trustworthy as the bus: certify it (`certifyCounter`) where an interposer matters.
 */
export async function incrementCounter(tpm: Tpm, index: number): Promise<bigint> {
  await counterPublicOf(tpm, index);
  await tpm.run(NV_Increment, { authHandle: TPM_RH.OWNER, nvIndex: index });
  return readCounter(tpm, index);
}

/**
 * The counter's value: its public area checked to be execgate's counter (an ordinary index someone
 * defined at the handle could hold any bytes), then NV_Read. E_NV_COUNTER_MISSING when undefined,
 * E_NV_COUNTER_MISMATCH for another index; a counter defined but never incremented is
 * TPM_RC_NV_UNINITIALIZED (`defineCounter` never leaves one so).
 */
export async function readCounter(tpm: Tpm, index: number): Promise<bigint> {
  await counterPublicOf(tpm, index);
  return nvReadCounter(tpm, index);
}

// ── Certification (TPM2_NV_Certify) ──────────────────────────────────────────────────────────────────

/** The AK's signed statement of the counter's value: TPMS_ATTEST (ATTEST_NV) and TPMT_SIGNATURE bytes. */
export interface CounterCertificate {
  readonly index: number;
  /** Marshalled TPMS_ATTEST exactly as signed. */
  readonly attest: Uint8Array;
  /** Marshalled TPMT_SIGNATURE. */
  readonly signature: Uint8Array;
}

/**
 * TPM2_NV_Certify of the whole counter with the AK over `qualifyingData` (at most 64 bytes, e.g. a
 * SHA-256): the read is authorized by the index (AUTHREAD), the AK with its empty authValue.
 */
export async function certifyCounter(
  tpm: Tpm,
  ak: LoadedAk,
  index: number,
  qualifyingData: Uint8Array,
): Promise<CounterCertificate> {
  checkCounterIndex(index);
  const rsp = await tpm.run(NV_Certify, {
    signHandle: ak.handle,
    authHandle: index,
    nvIndex: index,
    qualifyingData,
    inScheme: { scheme: TPM_ALG.NULL, details: null }, // the AK's own scheme
    size: COUNTER_SIZE,
    offset: 0,
  });
  return { index, attest: rsp.certifyInfo, signature: marshal(TPMT_SIGNATURE, rsp.signature) };
}

export type CounterCertificateVerdict =
  | {
      readonly ok: true;
      readonly value: bigint;
      readonly clockInfo: TPMS_CLOCK_INFO;
      readonly firmwareVersion: bigint;
    }
  | { readonly ok: false; readonly detail: string };

/**
 * Verifies a counter certificate, purely (call `initVerification()` once first; never throws): the
 * signature is the AK's (`akSpki`, DER SubjectPublicKeyInfo) over the exact TPMS_ATTEST, with a SHA-256+
 * scheme; magic TPM_GENERATED_VALUE; type TPM_ST_ATTEST_NV; extraData == `qualifyingData`; indexName ==
 * `counterName(cert.index)` (so a counter, with execgate's attributes, at that handle: an ordinary index
 * holding chosen bytes has another Name); offset 0 and 8 bytes of contents, the value.
 */
export function verifyCounterCertificate(
  cert: CounterCertificate,
  akSpki: Uint8Array,
  qualifyingData: Uint8Array,
): CounterCertificateVerdict {
  try {
    return verifyUnsafe(cert, akSpki, qualifyingData);
  } catch (e) {
    return {
      ok: false,
      detail: `the certificate could not be checked: ${e instanceof Error ? e.message : String(e)}`,
    };
  }
}

function verifyUnsafe(
  cert: CounterCertificate,
  akSpki: Uint8Array,
  qualifyingData: Uint8Array,
): CounterCertificateVerdict {
  const fail = (detail: string): CounterCertificateVerdict => ({ ok: false, detail });
  const sig = parseSignature(cert.signature);
  if (sig === undefined) return fail('the signature is not a TPMT_SIGNATURE');
  const check = signatureItem(akSpki, cert.attest, sig);
  if (typeof check === 'string') return fail(check);
  if (!verifySignature(check.item)) return fail(check.failure);
  const hash = signatureHash(sig);
  if (hash === undefined || HASH_ALGORITHMS[hash].legacy)
    return fail(`the certificate is signed with ${hash ?? 'an unknown hash'}, not SHA-256 or better`);
  const bytes = cert.attest;
  if (bytes.length < 6) return fail(`TPMS_ATTEST of ${bytes.length} bytes is truncated`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0) !== TPM_GENERATED_VALUE) return fail('magic is not TPM_GENERATED_VALUE');
  let attest: TPMS_ATTEST;
  try {
    attest = unmarshal(TPMS_ATTEST, bytes);
  } catch (e) {
    return fail(`TPMS_ATTEST does not parse: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (attest.type !== TPM_ST.ATTEST_NV)
    return fail(`type is 0x${attest.type.toString(16)}, not TPM_ST_ATTEST_NV 0x8014`);
  if (!equalBytes(attest.extraData, qualifyingData))
    return fail(`extraData ${toHex(attest.extraData) || '(empty)'} is not ${toHex(qualifyingData)}`);
  let want: Uint8Array;
  try {
    checkCounterIndex(cert.index);
    want = counterName(cert.index);
  } catch {
    return fail(`index ${String(cert.index)} is not an NV index execgate defines`);
  }
  const info = attest.attested;
  if (!equalBytes(info.indexName, want)) {
    return fail(
      `indexName ${toHex(info.indexName)} is not the Name of execgate's counter at ${hex32(cert.index)} (${toHex(want)})`,
    );
  }
  if (info.offset !== 0 || info.nvContents.length !== COUNTER_SIZE)
    return fail(
      `the certificate covers ${info.nvContents.length} bytes at offset ${info.offset}, not the 8-byte counter`,
    );
  const value = new DataView(info.nvContents.buffer, info.nvContents.byteOffset, COUNTER_SIZE).getBigUint64(
    0,
  );
  return { ok: true, value, clockInfo: attest.clockInfo, firmwareVersion: attest.firmwareVersion };
}

/** The size of the fresh nonce `readCounterCertified` certifies over (a SHA-256's). */
const NONCE_SIZE = 32;

/**
 * The counter's value certified now by the AK over a fresh random nonce, and verified under `akSpki`
 * (the AK key the caller trusts, not one read from the TPM): what a rollback check on the host compares
 * with the newest checkpoint, so that an interposer cannot answer an old value. E_NV_COUNTER_CERTIFY
 * when the certificate does not verify; call `initVerification()` first.
 */
export async function readCounterCertified(
  tpm: Tpm,
  ak: LoadedAk,
  akSpki: Uint8Array,
  index: number,
): Promise<bigint> {
  await counterPublicOf(tpm, index);
  const nonce = new Uint8Array(NONCE_SIZE);
  globalThis.crypto.getRandomValues(nonce);
  const cert = await certifyCounter(tpm, ak, index, nonce);
  const v = verifyCounterCertificate(cert, akSpki, nonce);
  if (!v.ok)
    throw new NvCounterError(
      'E_NV_COUNTER_CERTIFY',
      `the TPM's certification of the counter at ${hex32(index)}: ${v.detail}`,
    );
  return v.value;
}
