// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/measure/reference
 *
 * The reference state: a JSON document saying what a host's measured state is allowed to be (DESIGN §4),
 * captured from a known-good host, checked against later evidence, and bound by an authorization artifact
 * through its digest (DESIGN §5 `state`).
 *
 * Document, version 1 (every member listed; any other member is rejected):
 *
 *     {
 *       "execgate": "reference-state", "version": 1,
 *       "created": "2026-11-29T10:24:12.000Z",            // UTC, RFC 3339 with "Z"
 *       "host": { "akName"?: hex TPM2B_NAME contents, "note"?: text },
 *       "pcrs": { bank: { "0"…"23": hex } },             // exact PCR values; {} = no PCR rule
 *       "rules": {
 *         "secureBoot": "required" | "any",
 *         "bootApplications"?: [{ "bank", "digest": hex, "note"?: text }],
 *         "kernels"?: same, "initrds"?: same, "loaderFiles"?: same,
 *         "bootCommands"?: [text],                       // the boot loader's command strings, exact
 *         "ima"?: { "mode": "enforce-listed", "allowViolations": boolean,
 *                   "allowlist": [{ "path": text, "digest": "alg:hex" }] }
 *       },
 *       "bootChain"?: { "secureBoot": "enabled" | "disabled" | "unknown",
 *                       "bootApplications" | "kernels" | "initrds": [{ "path"?, "digests": { bank: hex } }],
 *                       "kernelCmdline"?: text }             // for humans; not checked
 *     }
 *
 * Banks are tpm2-tools names (sha1, sha256, sha384, sha512, sm3_256) and each hex value has its bank's
 * digest length; hex is lowercase, PCR indices are decimal without leading zeros, so each value has one
 * spelling. IMA algorithms are the kernel's hash_algo_name spellings (crypto/hash_info.c). A document must
 * constrain something: with no PCR, no list and Secure Boot "any" it is rejected.
 *
 * What the rules mean, and what a quote must cover for them, is agent/measure/state/check.ts's: this
 * module reads, validates, writes and digests the document.
 *
 * `referenceDigest` is SHA-256 over the RFC 8785 canonical form of the whole document, so formatting and
 * member order do not change it.
 */
import {
  BANK_NAMES,
  type BankName,
  HASH_ALGORITHMS,
  hashByTpmAlg,
  isBankName,
} from '../crypto/algorithms.js';
import { digest } from '../crypto/hash.js';
import { utf8ByteLength } from '../encoding/bytes.js';
import { canonicalBytes, JsonError, type JsonValue, parseJson } from '../encoding/canonical-json.js';
import { ExecgateError } from '../errors.js';

export type ReferenceStateErrorCode = 'E_REFERENCE_FORMAT' | 'E_REFERENCE_LIMIT';

/**
 * A reference-state document is malformed (E_REFERENCE_FORMAT) or beyond `REFERENCE_LIMITS`
 * (E_REFERENCE_LIMIT). `path` is the JSON path of the offending value, e.g. `$.pcrs.sha256["7"]`.
 * (Not named ReferenceError, which would shadow the JavaScript built-in.)
 */
export class ReferenceStateError extends ExecgateError<ReferenceStateErrorCode> {
  readonly path: string;

  constructor(code: ReferenceStateErrorCode, path: string, message: string, options?: { cause?: unknown }) {
    super(code, `reference state ${path}: ${message}`, options);
    this.path = path;
  }
}

export const REFERENCE_LIMITS = {
  /** Whole document, UTF-8. A 100,000-file sha256 IMA allowlist is about 12 MB. */
  maxDocumentBytes: 64 * 1024 * 1024,
  maxImaEntries: 1_000_000,
  /** Entries of each boot list (rules and bootChain). */
  maxBootEntries: 65_536,
  /** Any one string (paths, notes, the kernel command line), in UTF-16 code units. */
  maxTextChars: 65_536,
  /** JSON nesting; a valid document nests 5 deep. */
  maxJsonDepth: 16,
} as const;

export type ReferenceLimits = { readonly [K in keyof typeof REFERENCE_LIMITS]: number };

/** A PCR bank by its tpm2-tools name; its digest size is in the hash registry (crypto/algorithms.ts). */
export type PcrBank = BankName;

/**
 * IMA file-digest algorithms by their kernel names (crypto/hash_info.c hash_algo_name and
 * hash_digest_size), limited to those fit for an allowlist (no MD4/MD5/RIPEMD/Whirlpool/Tiger).
 */
export const IMA_DIGEST_BYTES: Readonly<Record<string, number>> = {
  sha1: 20,
  sha224: 28,
  sha256: 32,
  sha384: 48,
  sha512: 64,
  sm3: 32,
  streebog256: 32,
  streebog512: 64,
  'sha3-256': 32,
  'sha3-384': 48,
  'sha3-512': 64,
};

const PCR_MAX_INDEX = 23;
/** The IMA entry the kernel writes first: a hash over PCRs 0–7 (0–9 for non-SHA-1 on Linux ≥ 5.8). */

export interface DigestRule {
  readonly bank: PcrBank;
  readonly digest: string;
  readonly note?: string;
}

export interface ImaAllowEntry {
  readonly path: string;
  /** `alg:hex`, the ima-ng `d-ng` spelling. */
  readonly digest: string;
}

export interface ImaRule {
  readonly mode: 'enforce-listed';
  readonly allowViolations: boolean;
  readonly allowlist: readonly ImaAllowEntry[];
}

export interface ReferenceRules {
  readonly secureBoot: 'required' | 'any';
  readonly bootApplications?: readonly DigestRule[];
  readonly kernels?: readonly DigestRule[];
  readonly initrds?: readonly DigestRule[];
  /** Every other file the boot loader measured into PCRs 8–9 (its configuration, modules, fonts). */
  readonly loaderFiles?: readonly DigestRule[];
  /** The command strings the boot loader measured into PCR 8 (grub commands, kernel command lines). */
  readonly bootCommands?: readonly string[];
  readonly ima?: ImaRule;
}

export type SecureBootState = 'enabled' | 'disabled' | 'unknown';

export interface BootComponentSummary {
  readonly path?: string;
  readonly digests: Readonly<Partial<Record<PcrBank, string>>>;
}

export interface BootChainSummary {
  readonly secureBoot: SecureBootState;
  readonly bootApplications: readonly BootComponentSummary[];
  readonly kernels: readonly BootComponentSummary[];
  readonly initrds: readonly BootComponentSummary[];
  readonly kernelCmdline?: string;
}

export interface ReferenceState {
  readonly execgate: 'reference-state';
  readonly version: 1;
  readonly created: string;
  readonly host: { readonly akName?: string; readonly note?: string };
  readonly pcrs: Readonly<Partial<Record<PcrBank, Readonly<Record<string, string>>>>>;
  readonly rules: ReferenceRules;
  readonly bootChain?: BootChainSummary;
}

// ---------------------------------------------------------------------------------------------------------
// Validation: each function checks one value at `path` and returns it typed.

type Limits = ReferenceLimits;

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const LONE_SURROGATE = /\p{Cs}/u;
const LOWER_HEX = /^[0-9a-f]*$/;
const PCR_INDEX = /^(0|[1-9][0-9]?)$/;
const CREATED = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?Z$/;

const member = (path: string, name: string): string =>
  IDENTIFIER.test(name) ? `${path}.${name}` : `${path}[${JSON.stringify(name)}]`;

function formatError(path: string, message: string): never {
  throw new ReferenceStateError('E_REFERENCE_FORMAT', path, message);
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/** A JSON object whose member names are all in `required` or `optional`, and which has every `required`. */
function object(
  v: unknown,
  path: string,
  required: readonly string[],
  optional: readonly string[] = [],
): Readonly<Record<string, unknown>> {
  const o = map(v, path);
  for (const name of Object.keys(o)) {
    if (!required.includes(name) && !optional.includes(name))
      formatError(member(path, name), 'unknown member');
  }
  for (const name of required) if (!Object.hasOwn(o, name)) formatError(member(path, name), 'missing');
  return o;
}

/** A JSON object with any member names (the caller checks them). */
function map(v: unknown, path: string): Readonly<Record<string, unknown>> {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    formatError(path, `expected an object, got ${kindOf(v)}`);
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) formatError(path, 'expected a plain object');
  return v as Readonly<Record<string, unknown>>;
}

function array(v: unknown, path: string, max: number): readonly unknown[] {
  if (!Array.isArray(v)) formatError(path, `expected an array, got ${kindOf(v)}`);
  if (v.length > max)
    throw new ReferenceStateError('E_REFERENCE_LIMIT', path, `${v.length} entries, more than ${max}`);
  return v;
}

function text(v: unknown, path: string, limits: Limits): string {
  if (typeof v !== 'string') return formatError(path, `expected a string, got ${kindOf(v)}`);
  if (v.length > limits.maxTextChars) {
    throw new ReferenceStateError(
      'E_REFERENCE_LIMIT',
      path,
      `${v.length} characters, more than ${limits.maxTextChars}`,
    );
  }
  if (LONE_SURROGATE.test(v)) formatError(path, 'unpaired surrogate (not I-JSON, RFC 7493 §2.1)');
  return v;
}

function nonEmptyText(v: unknown, path: string, limits: Limits): string {
  const s = text(v, path, limits);
  if (s.length === 0) formatError(path, 'must not be empty');
  return s;
}

function hex(v: unknown, path: string, bytes: number, what: string): string {
  if (typeof v !== 'string') return formatError(path, `expected a hex string, got ${kindOf(v)}`);
  if (!LOWER_HEX.test(v)) formatError(path, 'expected lowercase hex digits');
  if (v.length !== 2 * bytes)
    formatError(path, `expected ${2 * bytes} hex digits (${what}), got ${v.length}`);
  return v;
}

function bank(name: string, path: string): PcrBank {
  if (!isBankName(name)) {
    return formatError(path, `unknown bank ${JSON.stringify(name)} (expected ${BANK_NAMES.join(', ')})`);
  }
  return name;
}

function created(v: unknown, path: string): string {
  if (typeof v !== 'string') return formatError(path, `expected a string, got ${kindOf(v)}`);
  const m = CREATED.exec(v);
  if (m === null) return formatError(path, 'expected an RFC 3339 UTC time such as 2026-11-29T10:24:12Z');
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const t = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  if (
    t.getUTCFullYear() !== y ||
    t.getUTCMonth() !== mo - 1 ||
    t.getUTCDate() !== d ||
    t.getUTCHours() !== h
  ) {
    formatError(path, 'not a valid date and time');
  }
  if (t.getUTCMinutes() !== mi || t.getUTCSeconds() !== s) formatError(path, 'not a valid date and time');
  return v;
}

function akName(v: unknown, path: string): string {
  if (typeof v !== 'string' || !LOWER_HEX.test(v) || v.length < 4 || v.length % 2 !== 0) {
    return formatError(path, 'expected lowercase hex of a TPM2B_NAME: nameAlg (2 bytes) and digest');
  }
  const alg = Number.parseInt(v.slice(0, 4), 16);
  // The nameAlg's digest size (Part 1 §16, Part 2 §6.3).
  const size = hashByTpmAlg(alg)?.digestByteLen;
  if (size === undefined) formatError(path, `unknown nameAlg 0x${v.slice(0, 4)}`);
  hex(v.slice(4), path, size, `nameAlg 0x${v.slice(0, 4)} digest`);
  return v;
}

function pcrValues(v: unknown, path: string): ReferenceState['pcrs'] {
  const banks = map(v, path);
  const out: Partial<Record<PcrBank, Readonly<Record<string, string>>>> = {};
  for (const [name, values] of Object.entries(banks)) {
    const bankPath = member(path, name);
    const b = bank(name, bankPath);
    const entries = Object.entries(map(values, bankPath));
    if (entries.length === 0) formatError(bankPath, 'a bank must list at least one PCR');
    const pcrs: Record<string, string> = {};
    for (const [index, value] of entries) {
      const pcrPath = member(bankPath, index);
      if (!PCR_INDEX.test(index) || Number(index) > PCR_MAX_INDEX) {
        formatError(pcrPath, `PCR index must be 0–${PCR_MAX_INDEX} in decimal without leading zeros`);
      }
      pcrs[index] = hex(value, pcrPath, HASH_ALGORITHMS[b].digestByteLen, `${b} PCR`);
    }
    out[b] = pcrs;
  }
  return out;
}

function digestRules(v: unknown, path: string, limits: Limits): readonly DigestRule[] {
  return array(v, path, limits.maxBootEntries).map((e, i) => {
    const p = `${path}[${i}]`;
    const o = object(e, p, ['bank', 'digest'], ['note']);
    const b =
      typeof o.bank === 'string'
        ? bank(o.bank, `${p}.bank`)
        : formatError(`${p}.bank`, 'expected a bank name');
    const rule: DigestRule = {
      bank: b,
      digest: hex(o.digest, `${p}.digest`, HASH_ALGORITHMS[b].digestByteLen, `${b} digest`),
    };
    return o.note === undefined ? rule : { ...rule, note: text(o.note, `${p}.note`, limits) };
  });
}

function imaDigest(v: unknown, path: string): string {
  if (typeof v !== 'string') return formatError(path, `expected "alg:hex", got ${kindOf(v)}`);
  const colon = v.indexOf(':');
  const alg = colon < 0 ? '' : v.slice(0, colon);
  const size = IMA_DIGEST_BYTES[alg];
  if (size === undefined || !Object.hasOwn(IMA_DIGEST_BYTES, alg)) {
    formatError(path, `expected "alg:hex" with alg one of ${Object.keys(IMA_DIGEST_BYTES).join(', ')}`);
  }
  hex(v.slice(colon + 1), path, size, `${alg} digest`);
  return v;
}

function imaRule(v: unknown, path: string, limits: Limits): ImaRule {
  const o = object(v, path, ['mode', 'allowViolations', 'allowlist']);
  if (o.mode !== 'enforce-listed') formatError(`${path}.mode`, 'expected "enforce-listed"');
  if (typeof o.allowViolations !== 'boolean')
    formatError(`${path}.allowViolations`, 'expected true or false');
  const allowlist = array(o.allowlist, `${path}.allowlist`, limits.maxImaEntries).map((e, i) => {
    const p = `${path}.allowlist[${i}]`;
    const entry = object(e, p, ['path', 'digest']);
    return {
      path: nonEmptyText(entry.path, `${p}.path`, limits),
      digest: imaDigest(entry.digest, `${p}.digest`),
    };
  });
  return { mode: 'enforce-listed', allowViolations: o.allowViolations, allowlist };
}

function rules(v: unknown, path: string, limits: Limits): ReferenceRules {
  const o = object(
    v,
    path,
    ['secureBoot'],
    ['bootApplications', 'kernels', 'initrds', 'loaderFiles', 'bootCommands', 'ima'],
  );
  if (o.secureBoot !== 'required' && o.secureBoot !== 'any') {
    formatError(`${path}.secureBoot`, 'expected "required" or "any"');
  }
  const out: { -readonly [K in keyof ReferenceRules]: ReferenceRules[K] } = { secureBoot: o.secureBoot };
  for (const list of ['bootApplications', 'kernels', 'initrds', 'loaderFiles'] as const) {
    if (o[list] !== undefined) out[list] = digestRules(o[list], `${path}.${list}`, limits);
  }
  if (o.bootCommands !== undefined)
    out.bootCommands = array(o.bootCommands, `${path}.bootCommands`, limits.maxBootEntries).map((c, i) =>
      text(c, `${path}.bootCommands[${i}]`, limits),
    );
  if (o.ima !== undefined) out.ima = imaRule(o.ima, `${path}.ima`, limits);
  return out;
}

function components(v: unknown, path: string, limits: Limits): readonly BootComponentSummary[] {
  return array(v, path, limits.maxBootEntries).map((e, i) => {
    const p = `${path}[${i}]`;
    const o = object(e, p, ['digests'], ['path']);
    const digests: Partial<Record<PcrBank, string>> = {};
    for (const [name, value] of Object.entries(map(o.digests, `${p}.digests`))) {
      const dp = member(`${p}.digests`, name);
      const b = bank(name, dp);
      digests[b] = hex(value, dp, HASH_ALGORITHMS[b].digestByteLen, `${b} digest`);
    }
    return o.path === undefined ? { digests } : { path: nonEmptyText(o.path, `${p}.path`, limits), digests };
  });
}

function bootChain(v: unknown, path: string, limits: Limits): BootChainSummary {
  const o = object(v, path, ['secureBoot', 'bootApplications', 'kernels', 'initrds'], ['kernelCmdline']);
  const sb = o.secureBoot;
  if (sb !== 'enabled' && sb !== 'disabled' && sb !== 'unknown') {
    formatError(`${path}.secureBoot`, 'expected "enabled", "disabled" or "unknown"');
  }
  const summary: BootChainSummary = {
    secureBoot: sb,
    bootApplications: components(o.bootApplications, `${path}.bootApplications`, limits),
    kernels: components(o.kernels, `${path}.kernels`, limits),
    initrds: components(o.initrds, `${path}.initrds`, limits),
  };
  return o.kernelCmdline === undefined
    ? summary
    : { ...summary, kernelCmdline: text(o.kernelCmdline, `${path}.kernelCmdline`, limits) };
}

/** Validates a parsed JSON value as a reference-state document (capture builds one this way). */
export function validateReferenceState(v: unknown, limits: Limits = REFERENCE_LIMITS): ReferenceState {
  const o = object(v, '$', ['execgate', 'version', 'created', 'host', 'pcrs', 'rules'], ['bootChain']);
  if (o.execgate !== 'reference-state') formatError('$.execgate', 'expected "reference-state"');
  if (o.version !== 1)
    formatError('$.version', `unsupported version ${JSON.stringify(o.version)} (this reader knows 1)`);
  const h = object(o.host, '$.host', [], ['akName', 'note']);
  const host: { akName?: string; note?: string } = {};
  if (h.akName !== undefined) host.akName = akName(h.akName, '$.host.akName');
  if (h.note !== undefined) host.note = text(h.note, '$.host.note', limits);
  const doc: ReferenceState = {
    execgate: 'reference-state',
    version: 1,
    created: created(o.created, '$.created'),
    host,
    pcrs: pcrValues(o.pcrs, '$.pcrs'),
    rules: rules(o.rules, '$.rules', limits),
  };
  const r = doc.rules;
  const constrains =
    Object.keys(doc.pcrs).length > 0 ||
    r.secureBoot === 'required' ||
    r.bootApplications !== undefined ||
    r.kernels !== undefined ||
    r.initrds !== undefined ||
    r.loaderFiles !== undefined ||
    r.bootCommands !== undefined ||
    r.ima !== undefined;
  if (!constrains) formatError('$', 'the document constrains nothing (no PCR, no list, secureBoot "any")');
  return o.bootChain === undefined
    ? doc
    : { ...doc, bootChain: bootChain(o.bootChain, '$.bootChain', limits) };
}

export interface ReferenceParseOptions {
  /** Lower (or raise) the limits of `REFERENCE_LIMITS`. */
  readonly limits?: Partial<ReferenceLimits>;
}

/** Parses and validates a reference-state document (UTF-8 bytes or text). Throws ReferenceStateError. */
export function parseReferenceState(
  input: string | Uint8Array,
  options?: ReferenceParseOptions,
): ReferenceState {
  const limits: Limits = { ...REFERENCE_LIMITS, ...options?.limits };
  const bytes = typeof input === 'string' ? utf8ByteLength(input) : input.length;
  if (bytes > limits.maxDocumentBytes) {
    throw new ReferenceStateError(
      'E_REFERENCE_LIMIT',
      '$',
      `${bytes} bytes, more than ${limits.maxDocumentBytes}`,
    );
  }
  let value: JsonValue;
  try {
    value = parseJson(input, { maxDepth: limits.maxJsonDepth });
  } catch (e) {
    if (!(e instanceof JsonError)) throw e;
    const code = e.code === 'E_JSON_LIMIT' ? 'E_REFERENCE_LIMIT' : 'E_REFERENCE_FORMAT';
    throw new ReferenceStateError(code, '$', `not I-JSON: ${e.message}`, { cause: e });
  }
  return validateReferenceState(value, limits);
}

/** The document as indented JSON text, for a file a person reads. Its digest is that of `doc`. */
export function stringifyReferenceState(doc: ReferenceState): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/**
 * SHA-256 of the RFC 8785 canonical UTF-8 form of `doc`: the value an artifact's `state` claim binds
 * (DESIGN §5). `doc` should come from `parseReferenceState` or `captureReference`.
 */
export function referenceDigest(doc: ReferenceState): Uint8Array {
  // An interface has no index signature, so TypeScript cannot see that the document is JSON data;
  // canonicalize checks that at run time.
  return digest('sha256', canonicalBytes(doc as unknown as JsonValue));
}
