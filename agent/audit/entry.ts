// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/audit/entry
 *
 * One audit entry, as a deterministic CBOR map (RFC 8949 §4.2.1, encoding/cbor.ts) declared once below
 * (encoding/cbor-schema.ts), and its Merkle leaf hash (RFC 9162 §2.1.1: SHA-256 of 0x00 ‖ entry bytes).
 * Keys are text, the property names, so an auditor's tool reads an entry without a key table. An entry
 * is one of two kinds: a verdict of the gate (allow, deny, or "would deny" in audit mode), or a signed
 * heartbeat of `execgate serve` (a TPM quote by the log's AK; audit/heartbeat.ts says what it binds).
 * A heartbeat carries `"kind": "heartbeat"`; a verdict has no `kind` (every log written before
 * heartbeats existed reads unchanged).
 *
 * ```cddl
 * entry = {
 *   "seq": uint,                 ; its leaf index: the entry commits to its position in the log
 *   "time": uint,                ; milliseconds since the epoch (the host's clock)
 *   ? "tpmClock": { "clock": uint, "resetCount": uint, "restartCount": uint, "safe": bool },
 *   "verdict": "allow" / "deny" / "would-deny",
 *   "reason": text,              ; "OK" with allow, else the E_ reason code
 *   ? "artifact": bstr .size 32, ; artifactDigest of the artifact judged
 *   ? "cti": bstr,               ; its cti (16 to 64 bytes)
 *   ? "issuer": bstr .size 32,   ; kid of the key that signed its chain's root
 *   ? "exe": text,               ; path of the executable
 *   ? "exeSha256": bstr .size 32,
 *   ? "argvSha256": bstr .size 32, ; SHA-256 of argv[1..] as a deterministic CBOR array of text
 *   ? "uid": uint, ? "pid": uint,
 *   ? "pidStart": uint,          ; start time of pid (/proc/PID/stat field 22, clock ticks since boot):
 *                                ; a nested gate's ancestry check tells this process from a reused pid
 *   ? "parent": uint,            ; seq of the verdict this execution ran under (execution lineage)
 *   ? "mode": "enforce" / "audit",
 *   ? "quote": bstr .size 32,    ; SHA-256 of the quote the verdict was made on
 *   ? "breakglass": true,        ; the artifact was a break-glass one
 *   ? "secrets": [+ text],       ; with allow: the names of the sealed secrets the execution is handed
 *                                ; (ascending; never their bytes); a failed unseal follows as a deny
 * }
 * heartbeat = {
 *   "seq": uint, "time": uint,
 *   "kind": "heartbeat",
 *   "attest": bstr .size (1..2048),   ; TPMS_ATTEST of the quote, as signed (tpm2-tools quote.msg)
 *   "signature": bstr .size (1..1024), ; its TPMT_SIGNATURE (quote.sig)
 *   "pcrs": text,                     ; the quoted selection, canonical (tpm/pcr-selection.ts formatSelection)
 *   "pcrValues": [* bstr],            ; the quoted values, bank by bank, PCRs ascending (quote.pcrs.values)
 * }
 * ```
 *
 * Decoding is strict: anything but one of these exact shapes in deterministic form is E_AUDIT_ENTRY (a
 * log that was written by execgate holds nothing else). Rules across fields: allow ⇔ reason "OK", a
 * parent precedes its child (parent < seq); a heartbeat's `pcrs` is canonical and its `pcrValues` are one
 * digest of its bank's size per PCR selected. Not checked here: that `seq` is the entry's position and
 * that the stored leaf matches (the store and verification do that), anything about the artifact named,
 * or a heartbeat's quote (audit/heartbeat.ts `verifyHeartbeat`, under the log's AK).
 */
import { hashByTpmAlg } from '../crypto/algorithms.js';
import { sha256 } from '../crypto/hash.js';
import {
  type CborDecodeOptions,
  CborError,
  type CborValue,
  decodeCbor,
  encodeCbor,
} from '../encoding/cbor.js';
import {
  bytes,
  type Codec,
  type Fields,
  list,
  literal,
  optional,
  record,
  refine,
  required,
  SchemaError,
  text,
  uint,
} from '../encoding/cbor-schema.js';
import { MAX_SECRETS_PER_ARTIFACT, SECRET_NAME } from '../secrets/name.js';
import { formatSelection, parseSelection, selectionSize } from '../tpm/pcr-selection.js';
import { AuditError } from './errors.js';

/** What the gate decided: "would-deny" is a denial in audit mode, where the command runs anyway. */
export type Verdict = 'allow' | 'deny' | 'would-deny';

/** The TPM's clock when the verdict was made (TPMS_CLOCK_INFO, Part 2 §10.11.1), from its quote. */
export interface TpmClock {
  /** Milliseconds the TPM has been powered since it was last cleared. */
  readonly clock: number;
  readonly resetCount: number;
  readonly restartCount: number;
  readonly safe: boolean;
}

/** One verdict entry; see the module comment for the meaning of each field. */
export interface AuditEntry {
  readonly seq: number;
  readonly time: number;
  readonly tpmClock?: TpmClock;
  readonly verdict: Verdict;
  readonly reason: string;
  readonly artifact?: Uint8Array;
  readonly cti?: Uint8Array;
  readonly issuer?: Uint8Array;
  readonly exe?: string;
  readonly exeSha256?: Uint8Array;
  readonly argvSha256?: Uint8Array;
  readonly uid?: number;
  readonly pid?: number;
  readonly pidStart?: number;
  readonly parent?: number;
  readonly mode?: 'enforce' | 'audit';
  readonly quote?: Uint8Array;
  readonly breakglass?: true;
  readonly secrets?: readonly string[];
}

/** A signed heartbeat of `execgate serve`: a quote by the log's AK (audit/heartbeat.ts). */
export interface HeartbeatEntry {
  readonly seq: number;
  readonly time: number;
  readonly kind: 'heartbeat';
  /** The marshalled TPMS_ATTEST, as signed. */
  readonly attest: Uint8Array;
  /** The marshalled TPMT_SIGNATURE. */
  readonly signature: Uint8Array;
  /** The quoted PCR selection, canonical ("sha256:0-7"). */
  readonly pcrs: string;
  /** The quoted PCR values, bank by bank in selection order, PCRs ascending. */
  readonly pcrValues: readonly Uint8Array[];
}

/** Any entry of the log: a verdict of the gate (AuditEntry), or a heartbeat (tell them apart with `isHeartbeat`). */
export type AnyEntry = AuditEntry | HeartbeatEntry;

/** Whether `e` is a heartbeat (else a verdict). */
export const isHeartbeat = (e: AnyEntry): e is HeartbeatEntry => 'kind' in e && e.kind === 'heartbeat';

/** Omit over each member of a union. */
type OmitEach<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** A verdict before the store gives it its place: everything but `seq`. */
export type EntryInput = Omit<AuditEntry, 'seq'>;

/** Any entry before the store gives it its place. */
export type AnyEntryInput = OmitEach<AnyEntry, 'seq'>;

/** The largest entry accepted: a 4096-character path (up to 4 bytes each in UTF-8) and the fixed fields. */
export const MAX_ENTRY_BYTES = 20 * 1024;

/**
 * How an entry's bytes are read: one deterministic item, no tags, the entry map and one level inside it
 * (a verdict's tpmClock map, a heartbeat's pcrValues array).
 */
export const ENTRY_CBOR: CborDecodeOptions = { tags: [], maxBytes: MAX_ENTRY_BYTES, maxDepth: 2 };

/** A heartbeat's limits: TPMS_ATTEST and TPMT_SIGNATURE bytes, and PCR values (4 banks of 24 PCRs). */
export const HEARTBEAT_LIMITS = { attest: 2048, signature: 1024, pcrs: 256, pcrValues: 96 } as const;

/**
 * The artifact's limits for what an entry repeats from it (agent/artifact/claims.ts LIMITS: cti 16 to
 * 64 bytes, paths up to 4096 characters), written out so that the audit layer does not import the
 * artifact layer beside it; test/audit/entry.test.ts keeps them equal.
 */
export const ENTRY_LIMITS = { ctiMin: 16, ctiMax: 64, path: 4096 } as const;

const MAX_SEQ = Number.MAX_SAFE_INTEGER;
const U32 = 0xffff_ffff;

const bool: Codec<boolean> = {
  decode(v, path) {
    if (typeof v !== 'boolean') throw new SchemaError(`${path} is not a boolean`);
    return v;
  },
  encode: (x) => x,
};

/** `true` only: a flag is present or absent, so it has one encoding. */
const flag: Codec<true> = {
  decode(v, path) {
    if (v !== true) throw new SchemaError(`${path} must be true (absent when false)`);
    return v;
  },
  encode: (x) => x,
};

function oneOf<const V extends string>(...values: readonly V[]): Codec<V> {
  return {
    decode(v, path) {
      if (!values.includes(v as V))
        throw new SchemaError(`${path} must be one of ${values.map((x) => JSON.stringify(x)).join(', ')}`);
      return v as V;
    },
    encode: (x) => x,
  };
}

const REASON = /^(?:OK|E_[A-Z0-9_]{1,62})$/;

const TPM_CLOCK = record<TpmClock>({
  clock: required('clock', uint(0, MAX_SEQ)),
  resetCount: required('resetCount', uint(0, U32)),
  restartCount: required('restartCount', uint(0, U32)),
  safe: required('safe', bool),
});

/** The verdict entry's fields, each with its CBOR key (the property name) and codec. */
const FIELDS: Fields<AuditEntry> = {
  seq: required('seq', uint(0, MAX_SEQ)),
  time: required('time', uint(0, MAX_SEQ)),
  tpmClock: optional('tpmClock', TPM_CLOCK),
  verdict: required('verdict', oneOf('allow', 'deny', 'would-deny')),
  reason: required(
    'reason',
    refine(text(64), (r, path) => (REASON.test(r) ? undefined : `${path} must be "OK" or an E_ code`)),
  ),
  artifact: optional('artifact', bytes(32)),
  cti: optional('cti', bytes(ENTRY_LIMITS.ctiMin, ENTRY_LIMITS.ctiMax)),
  issuer: optional('issuer', bytes(32)),
  exe: optional('exe', text(ENTRY_LIMITS.path)),
  exeSha256: optional('exeSha256', bytes(32)),
  argvSha256: optional('argvSha256', bytes(32)),
  uid: optional('uid', uint(0, U32)),
  pid: optional('pid', uint(0, U32)),
  pidStart: optional('pidStart', uint(0, MAX_SEQ)),
  parent: optional('parent', uint(0, MAX_SEQ)),
  mode: optional('mode', oneOf('enforce', 'audit')),
  quote: optional('quote', bytes(32)),
  breakglass: optional('breakglass', flag),
  secrets: optional(
    'secrets',
    list(
      refine(text(64), (n, path) => (SECRET_NAME.test(n) ? undefined : `${path} is not a secret name`)),
      MAX_SECRETS_PER_ARTIFACT,
      (a, b) => (a < b ? -1 : a === b ? 0 : 1),
    ),
  ),
};

/** The heartbeat entry's fields. */
const HEARTBEAT_FIELDS: Fields<HeartbeatEntry> = {
  seq: required('seq', uint(0, MAX_SEQ)),
  time: required('time', uint(0, MAX_SEQ)),
  kind: required('kind', literal('heartbeat')),
  attest: required('attest', bytes(1, HEARTBEAT_LIMITS.attest)),
  signature: required('signature', bytes(1, HEARTBEAT_LIMITS.signature)),
  pcrs: required('pcrs', text(HEARTBEAT_LIMITS.pcrs)),
  pcrValues: required('pcrValues', list(bytes(1, 64), HEARTBEAT_LIMITS.pcrValues)),
};

/** Why a heartbeat's pcrs and pcrValues do not fit together, or undefined when they do. */
function pcrsProblem(e: HeartbeatEntry): string | undefined {
  let selection: ReturnType<typeof parseSelection>;
  try {
    selection = parseSelection(e.pcrs);
  } catch (err) {
    return `pcrs is not a PCR selection: ${err instanceof Error ? err.message : String(err)}`;
  }
  if (formatSelection(selection) !== e.pcrs)
    return `pcrs must be written canonically (${JSON.stringify(formatSelection(selection))})`;
  if (selectionSize(selection) !== e.pcrValues.length)
    return `pcrValues has ${e.pcrValues.length} values, pcrs selects ${selectionSize(selection)}`;
  let i = 0;
  for (const bank of selection) {
    const size = hashByTpmAlg(bank.hash)?.digestByteLen;
    for (const _ of bank.pcrs)
      if ((e.pcrValues[i++] as Uint8Array).length !== size)
        return `pcrValues[${i - 1}] is not a digest of its bank's size (${size} bytes)`;
  }
  return undefined;
}

/** The verdict entry's declaration: decode and encode derive from it. */
const VERDICT: Codec<AuditEntry> = refine(record<AuditEntry>(FIELDS), (e) => {
  if ((e.verdict === 'allow') !== (e.reason === 'OK'))
    return `reason must be "OK" exactly when verdict is "allow" (verdict ${e.verdict}, reason ${e.reason})`;
  if (e.parent !== undefined && e.parent >= e.seq)
    return `parent (${e.parent}) must be an earlier entry than seq (${e.seq})`;
  return undefined;
});

/** The heartbeat entry's declaration. */
const HEARTBEAT: Codec<HeartbeatEntry> = refine(record<HeartbeatEntry>(HEARTBEAT_FIELDS), pcrsProblem);

/** The entry's declaration: a map with a `kind` key is a heartbeat, any other a verdict. */
export const ENTRY: Codec<AnyEntry> = {
  decode: (v, path) =>
    v instanceof Map && v.has('kind') ? HEARTBEAT.decode(v, path) : VERDICT.decode(v, path),
  encode: (e) => (isHeartbeat(e) ? HEARTBEAT.encode(e) : VERDICT.encode(e)),
};

const PROPERTIES = new Set(Object.keys(FIELDS));
const HEARTBEAT_PROPERTIES = new Set(Object.keys(HEARTBEAT_FIELDS));

/**
 * How every heartbeat entry begins, in deterministic CBOR (keys ordered shortest first, then bytewise):
 * a map of its 7 keys, "seq" (its only 3-letter key) and seq's unsigned integer, then the key "kind" and
 * its value "heartbeat" (the first 4-letter key). A verdict entry cannot begin so: "kind" is not one of
 * its keys. `mayBeHeartbeat` compares these bytes only, so that a reader looking for heartbeats among
 * millions of verdicts decodes only the heartbeats.
 */
const HEARTBEAT_HEAD = encodeCbor(new Map([['seq', 0]])).subarray(0, 5);
const HEARTBEAT_MARK = encodeCbor(new Map([['kind', 'heartbeat']])).subarray(1);
const HEARTBEAT_KEYS = 7;

/**
 * Whether `bytes` (or its item bytes[start, end)) may be a heartbeat entry: false means it is not one
 * (see HEARTBEAT_HEAD); true means decode it to know. Constant time, no decoding, no view.
 */
export function mayBeHeartbeat(bytes: Uint8Array, start = 0, end = bytes.length): boolean {
  if (end - start < 6 || bytes[start] !== 0xa0 + HEARTBEAT_KEYS) return false;
  for (let i = 1; i < 5; i++) if (bytes[start + i] !== HEARTBEAT_HEAD[i]) return false;
  // seq's head (major type 0): the value itself below 24, else 1, 2, 4 or 8 bytes after it.
  const head = bytes[start + 5] ?? 0xff;
  const at = start + 6 + (head < 24 ? 0 : head <= 27 ? 2 ** (head - 24) : Number.NaN);
  if (!(at + HEARTBEAT_MARK.length <= end)) return false;
  for (let i = 0; i < HEARTBEAT_MARK.length; i++) if (bytes[at + i] !== HEARTBEAT_MARK[i]) return false;
  return true;
}

/**
 * The deterministic CBOR of `entry`. An entry that breaks its declaration (a bad length, a reason that
 * is not a code, an unknown property) is a programming error of the caller: TypeError naming it.
 */
export function encodeEntry(entry: AnyEntry): Uint8Array {
  // record() encodes declared properties only: a misspelt one would vanish without this check.
  const properties = isHeartbeat(entry) ? HEARTBEAT_PROPERTIES : PROPERTIES;
  for (const k of Object.keys(entry))
    if (!properties.has(k)) throw new TypeError(`audit entry: unknown property ${JSON.stringify(k)}`);
  let map: CborValue;
  try {
    map = ENTRY.encode(entry);
    // Encoding copies values through; reading the map back applies every rule, so nothing is written
    // that verification would refuse.
    ENTRY.decode(map, '');
  } catch (e) {
    if (e instanceof SchemaError) throw new TypeError(`audit entry: ${e.message}`, { cause: e });
    throw e;
  }
  const out = encodeCbor(map);
  if (out.length > MAX_ENTRY_BYTES)
    throw new TypeError(`audit entry: ${out.length} bytes, more than ${MAX_ENTRY_BYTES}`);
  return out;
}

/** The entry in `bytes`; E_AUDIT_ENTRY for anything but one well-formed entry in deterministic CBOR. */
export function decodeEntry(bytes: Uint8Array): AnyEntry {
  let value: CborValue;
  try {
    value = decodeCbor(bytes, ENTRY_CBOR);
  } catch (e) {
    if (e instanceof CborError)
      throw new AuditError('E_AUDIT_ENTRY', `audit entry: ${e.message}`, { cause: e });
    throw e;
  }
  return entryOf(value);
}

/**
 * The verdict in `bytes`: decodeEntry, and E_AUDIT_ENTRY for a heartbeat (a reader that needs a verdict,
 * such as the gate following EXECGATE_VERDICT to its parent).
 */
export function decodeVerdict(bytes: Uint8Array): AuditEntry {
  const e = decodeEntry(bytes);
  if (isHeartbeat(e))
    throw new AuditError('E_AUDIT_ENTRY', `audit entry ${e.seq} is a heartbeat, not a verdict`);
  return e;
}

/**
 * The entry that `value`, decoded with ENTRY_CBOR, is: decodeEntry's second half, for a reader that has
 * decoded the item already (a bundle's entries, read as a CBOR sequence, are decoded once, not twice).
 * E_AUDIT_ENTRY when it is not one.
 */
export function entryOf(value: CborValue): AnyEntry {
  try {
    return ENTRY.decode(value, '');
  } catch (e) {
    if (e instanceof SchemaError)
      throw new AuditError('E_AUDIT_ENTRY', `audit entry: ${e.message}`, { cause: e });
    throw e;
  }
}

const LEAF_PREFIX = new Uint8Array([0x00]);

/** RFC 9162 §2.1.1 leaf hash of an entry's bytes: SHA-256(0x00 ‖ bytes). */
export function leafHash(bytes: Uint8Array): Uint8Array {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('bytes must be a Uint8Array');
  const input = new Uint8Array(bytes.length + 1);
  input.set(LEAF_PREFIX, 0);
  input.set(bytes, 1);
  return sha256(input);
}
