// SPDX-License-Identifier: Apache-2.0
/**
 * TPM_RC, the response code in every TPM 2.0 response header (TCG TPM 2.0 Library Part 2 §6.6), and its
 * decoder. Every code is declared once, in `RC_TABLE`; the `TPM_RC` constants and the name and description
 * lookup are derived from it (STYLE.md principle 4: no second hand-typed table to drift).
 *
 * The table follows Part 2 §6.6 as of Library v1.84 (the TCG reference implementation's TpmTypes.h), plus
 * the v1.85 post-quantum format-one codes (PARMS … SIGN_CONTEXT_KEY). Layout markers that are not answers
 * (RC_MAX_FM0, RC_MAX_FMT1, TPM_RC_NOT_USED, TPM_RC_H/P/S/1…F) are not in it.
 *
 * Not checked here: whether a code is plausible for the command that returned it, and whether a vendor
 * or TPM 1.2 code means anything in particular (those decode with flags and a TPM_RC_UNKNOWN name).
 */

/** Part 2 §6.6.3: bit 8 (V), set in every TPM 2.0 format-zero code. */
export const RC_VER1 = 0x100;
/** Part 2 §6.6.3: bit 7 (F), set in every format-one code. */
export const RC_FMT1 = 0x080;
/** Part 2 §6.6.3: V plus bit 11 (S, severity), set in every format-zero warning. */
export const RC_WARN = 0x900;
/** Part 2 §6.6.2: format-one bit 6 (P): N numbers a parameter. */
export const RC_P = 0x040;
/** Part 2 §6.6.2: format-one bit 11 (the top bit of N) when P is clear: N numbers a session. */
export const RC_S = 0x800;
/** Part 2 §6.6.2: format-one bits 8..11 (N): the parameter, handle or session number. */
export const RC_N_MASK = 0xf00;

/** Part 2 §6.6.2: format-zero bit 10 (T): a vendor-defined code. */
const RC_VENDOR = 0x400;
/** Part 2 §6.6.2: format-zero bit 11 (S): a warning rather than an error. */
const RC_SEVERITY = 0x800;
/** Part 2 §6.6.2: format-one bits 0..5 (E) plus F: the code with its index bits removed. */
const FMT1_CODE_MASK = RC_FMT1 | 0x3f;
/** Part 2 §6.6: a TPM sets bits 31:12 to zero; only the low 12 bits carry a response code. */
const RC_LOW_MASK = 0xfff;

type RcRow = readonly [name: string, value: number, description: string];

/**
 * Part 2 §6.6.3 Table "Definition of TPM_RC Constants": every response code as `[name, value, description]`,
 * the name without its `TPM_RC_` prefix, in four sections by where the code sits in the layout:
 * - `compat`: neither V nor F set; the two values TPM 2.0 shares with TPM 1.2;
 * - `fmt0`: format-zero errors, RC_VER1 + 0x000..0x07F;
 * - `warn`: format-zero warnings, RC_WARN + 0x000..0x07F;
 * - `fmt1`: format-one codes, RC_FMT1 + 0x00..0x3F, to which the TPM adds a parameter, handle or session
 *   number.
 * Descriptions paraphrase the spec's.
 */
export const RC_TABLE = {
  compat: [
    ['SUCCESS', 0x000, 'the command succeeded'],
    ['BAD_TAG', 0x01e, 'the command tag is not valid (also what a TPM 1.2 answers to a TPM 2.0 command)'],
  ],
  fmt0: [
    ['INITIALIZE', 0x100, 'TPM2_Startup has not run yet, or has already run'],
    ['FAILURE', 0x101, 'the TPM is in failure mode and refuses commands'],
    ['SEQUENCE', 0x103, 'a sequence handle was used the wrong way'],
    ['PRIVATE', 0x10b, 'reserved, not used'],
    ['HMAC', 0x119, 'reserved, not used'],
    ['DISABLED', 0x120, 'the command is disabled'],
    ['EXCLUSIVE', 0x121, 'the audit sequence needed exclusivity and another command ran in between'],
    ['AUTH_TYPE', 0x124, 'the authorization handle is not the right kind for this command'],
    ['AUTH_MISSING', 0x125, 'a handle needs an authorization session and none was given'],
    ['POLICY', 0x126, 'a policy calculation failed, or the authPolicy value is not valid'],
    ['PCR', 0x127, 'the PCR check failed'],
    ['PCR_CHANGED', 0x128, 'the PCRs changed after the policy session checked them'],
    ['UPGRADE', 0x12d, 'the TPM is in field-upgrade mode (for FieldUpgradeData: is not in it)'],
    ['TOO_MANY_CONTEXTS', 0x12e, 'the context ID counter is at its maximum'],
    ['AUTH_UNAVAILABLE', 0x12f, 'the authValue or authPolicy of the entity is not available'],
    ['REBOOT', 0x130, 'the TPM needs _TPM_Init and Startup(CLEAR) before it can go on'],
    ['UNBALANCED', 0x131, "the session's hash digest is shorter than its symmetric key"],
    ['COMMAND_SIZE', 0x142, 'commandSize does not match the bytes received, or is too small for a header'],
    ['COMMAND_CODE', 0x143, 'the command code is not supported'],
    ['AUTHSIZE', 0x144, 'authorizationSize is out of range, or the authorization area has extra bytes'],
    ['AUTH_CONTEXT', 0x145, 'an authorization session was given to a command that cannot take one'],
    ['NV_RANGE', 0x146, 'NV offset plus size is outside the index'],
    ['NV_SIZE', 0x147, 'the requested NV allocation is larger than allowed'],
    ['NV_LOCKED', 0x148, 'the NV index is locked for this access'],
    ['NV_AUTHORIZATION', 0x149, 'NV authorization failed in the command actions (lockout is not affected)'],
    ['NV_UNINITIALIZED', 0x14a, 'the NV index was never written, or Shutdown(STATE) state was not restored'],
    ['NV_SPACE', 0x14b, 'not enough NV space for the allocation'],
    ['NV_DEFINED', 0x14c, 'the NV index or persistent handle is already defined'],
    ['BAD_CONTEXT', 0x150, 'the context given to TPM2_ContextLoad is not valid'],
    ['CPHASH', 0x151, 'cpHash is already set, or does not fit this use'],
    ['PARENT', 0x152, 'the parent handle is not a valid parent'],
    ['NEEDS_TEST', 0x153, 'a function must be self-tested first'],
    ['NO_RESULT', 0x154, 'an internal function could not produce a result (often an unchecked parameter)'],
    [
      'SENSITIVE',
      0x155,
      'the sensitive area did not unmarshal after decryption (where is hidden on purpose)',
    ],
    ['READ_ONLY', 0x156, 'the TPM is in read-only mode and the command would change its state'],
  ],
  warn: [
    ['CONTEXT_GAP', 0x901, 'the gap between context IDs is too large'],
    ['OBJECT_MEMORY', 0x902, 'no memory left for object contexts'],
    ['SESSION_MEMORY', 0x903, 'no memory left for session contexts'],
    ['MEMORY', 0x904, 'no shared object or session memory left, or no room for internal operations'],
    ['SESSION_HANDLES', 0x905, 'no session handles left; a session must be flushed first'],
    ['OBJECT_HANDLES', 0x906, 'the object handle space is used up; a reboot is needed'],
    ['LOCALITY', 0x907, 'the command is not allowed at this locality'],
    ['YIELDED', 0x908, 'the TPM suspended the command after making progress; it may be retried'],
    ['CANCELED', 0x909, 'the command was canceled'],
    ['TESTING', 0x90a, 'the TPM is running self-tests'],
    ['REFERENCE_H0', 0x910, 'handle 1 of the handle area refers to an object or session that is not loaded'],
    ['REFERENCE_H1', 0x911, 'handle 2 of the handle area refers to an object or session that is not loaded'],
    ['REFERENCE_H2', 0x912, 'handle 3 of the handle area refers to an object or session that is not loaded'],
    ['REFERENCE_H3', 0x913, 'handle 4 of the handle area refers to an object or session that is not loaded'],
    ['REFERENCE_H4', 0x914, 'handle 5 of the handle area refers to an object or session that is not loaded'],
    ['REFERENCE_H5', 0x915, 'handle 6 of the handle area refers to an object or session that is not loaded'],
    ['REFERENCE_H6', 0x916, 'handle 7 of the handle area refers to an object or session that is not loaded'],
    ['REFERENCE_S0', 0x918, 'authorization session 1 refers to a session that is not loaded'],
    ['REFERENCE_S1', 0x919, 'authorization session 2 refers to a session that is not loaded'],
    ['REFERENCE_S2', 0x91a, 'authorization session 3 refers to a session that is not loaded'],
    ['REFERENCE_S3', 0x91b, 'authorization session 4 refers to a session that is not loaded'],
    ['REFERENCE_S4', 0x91c, 'authorization session 5 refers to a session that is not loaded'],
    ['REFERENCE_S5', 0x91d, 'authorization session 6 refers to a session that is not loaded'],
    ['REFERENCE_S6', 0x91e, 'authorization session 7 refers to a session that is not loaded'],
    ['NV_RATE', 0x920, 'the TPM is rate-limiting NV access to prevent wear-out'],
    ['LOCKOUT', 0x921, 'the TPM is in dictionary-attack lockout; DA-protected authorizations are refused'],
    ['RETRY', 0x922, 'the TPM could not start the command; retry it'],
    ['NV_UNAVAILABLE', 0x923, 'the command may need to write NV and NV is not accessible now'],
  ],
  fmt1: [
    ['ASYMMETRIC', 0x081, 'the asymmetric algorithm is not supported or not right here'],
    ['ATTRIBUTES', 0x082, 'the attributes are inconsistent'],
    ['HASH', 0x083, 'the hash algorithm is not supported or not allowed here'],
    ['VALUE', 0x084, 'value is out of range or is not correct for the context'],
    ['HIERARCHY', 0x085, 'the hierarchy is disabled or not the right one for this use'],
    ['KEY_SIZE', 0x087, 'the key size is not supported'],
    ['MGF', 0x088, 'the mask generation function is not supported'],
    ['MODE', 0x089, 'the mode of operation is not supported'],
    ['TYPE', 0x08a, 'the type of the value is not right for this use'],
    ['HANDLE', 0x08b, 'the handle is not right for this use'],
    ['KDF', 0x08c, 'the key derivation function is not supported or not right for this use'],
    ['RANGE', 0x08d, 'the value is outside the allowed range'],
    ['AUTH_FAIL', 0x08e, 'the authorization HMAC check failed and the dictionary-attack counter went up'],
    ['NONCE', 0x08f, 'the nonce has a bad size or does not match'],
    ['PP', 0x090, 'the authorization needs physical presence to be asserted'],
    ['SCHEME', 0x092, 'the scheme is not supported or not compatible'],
    ['SIZE', 0x095, 'a structure has the wrong size'],
    ['SYMMETRIC', 0x096, 'the symmetric algorithm or key size is not supported or not right here'],
    ['TAG', 0x097, 'a structure tag is wrong'],
    ['SELECTOR', 0x098, 'a union selector is wrong'],
    ['INSUFFICIENT', 0x09a, 'the input ran out of bytes while the TPM unmarshaled a value'],
    ['SIGNATURE', 0x09b, 'the signature is not valid'],
    ['KEY', 0x09c, "the key's fields do not fit the selected use"],
    ['POLICY_FAIL', 0x09d, 'a policy check failed'],
    ['INTEGRITY', 0x09f, 'an integrity check failed'],
    ['TICKET', 0x0a0, 'the ticket is not valid'],
    ['RESERVED_BITS', 0x0a1, 'reserved bits are not zero'],
    ['BAD_AUTH', 0x0a2, 'authorization failed, without dictionary-attack consequences'],
    ['EXPIRED', 0x0a3, 'the policy has expired'],
    ['POLICY_CC', 0x0a4, 'the policy names another command code, or one that is not implemented'],
    ['BINDING', 0x0a5, 'the public and sensitive areas of the object are not cryptographically bound'],
    ['CURVE', 0x0a6, 'the curve is not supported'],
    ['ECC_POINT', 0x0a7, 'the point is not on the required curve'],
    ['FW_LIMITED', 0x0a8, 'the hierarchy is firmware-limited and the firmware secret is not available'],
    ['SVN_LIMITED', 0x0a9, 'the hierarchy is SVN-limited and the firmware SVN secret is not available'],
    ['PARMS', 0x0aa, 'the parameter set is not supported'],
    ['EXT_MU', 0x0ab, 'external mu is not supported'],
    ['ONE_SHOT_SIGNATURE', 0x0ac, 'the scheme cannot sign a message fed in pieces; send it whole'],
    ['SIGN_CONTEXT_KEY', 0x0ad, 'the key finishing the signature sequence is not the key that started it'],
    ['CHANNEL', 0x0b0, 'the command requires secure-channel protection'],
    ['CHANNEL_KEY', 0x0b1, 'the secure channel was not set up with the required requester or TPM key'],
  ],
} as const satisfies Record<'compat' | 'fmt0' | 'warn' | 'fmt1', readonly RcRow[]>;

/** One row of `RC_TABLE`, with its literal name and value types. */
export type RcTableRow = (typeof RC_TABLE)[keyof typeof RC_TABLE][number];
/** A response code's name without its `TPM_RC_` prefix, e.g. `'VALUE'`. */
export type TpmRcName = RcTableRow[0];
/** Part 2 §6.6: the `TPM_RC` constants, derived from `RC_TABLE`. */
export type TpmRcConstants = { readonly [Row in RcTableRow as Row[0]]: Row[1] };

const ROWS: readonly RcTableRow[] = [
  ...RC_TABLE.compat,
  ...RC_TABLE.fmt0,
  ...RC_TABLE.warn,
  ...RC_TABLE.fmt1,
];

/**
 * Part 2 §6.6 TPM_RC: every response code by its spec name without the prefix (`TPM_RC.VALUE` is
 * TPM_RC_VALUE, 0x084). Format-one values carry no parameter/handle/session number; compare a response
 * with `rcIs` or `TpmError.is`, which strip it.
 */
export const TPM_RC: TpmRcConstants = Object.freeze(
  Object.fromEntries(ROWS.map(([name, value]) => [name, value])),
) as TpmRcConstants;

/** A table entry as the lookup returns it: the full spec name (`TPM_RC_VALUE`) and its description. */
export interface RcInfo {
  readonly name: `TPM_RC_${TpmRcName}`;
  readonly value: number;
  readonly description: string;
}

const BY_VALUE: ReadonlyMap<number, RcInfo> = new Map(
  ROWS.map(([name, value, description]) => [value, { name: `TPM_RC_${name}`, value, description }]),
);

/**
 * Part 2 §6.6: the table entry of a canonical response code (format-one without index bits), or undefined.
 * `rcInfo(0x084)` is TPM_RC_VALUE; `rcInfo(0x1c4)` is undefined: decode it first.
 */
export function rcInfo(code: number): RcInfo | undefined {
  return BY_VALUE.get(code);
}

interface DecodedCommon {
  /** The response code as received. */
  readonly rc: number;
  /** Format one: `rc & 0x0BF` (E and F, index bits removed). Format zero: the low 12 bits. */
  readonly code: number;
  /** `TPM_RC_VALUE`, or `TPM_RC_UNKNOWN(0x…)` with the canonical value when the table has no entry. */
  readonly name: string;
  readonly description: string;
}

/** Part 2 §6.6.2 format one (bit 7 set): an error about one parameter, handle or session. */
export interface DecodedRcFmt1 extends DecodedCommon {
  readonly format: 1;
  /**
   * P set: the parameter number N, 1..15. It is 0 only if the TPM set P without a number, which Part 2 does
   * not define; keeping it means no bit of `rc` is lost.
   */
  readonly parameter?: number;
  /** P and S clear, N non-zero: the handle number, 1..7. */
  readonly handle?: number;
  /** P clear, S set: the session number, 1..7 (0 only for the undefined "S without a number"). */
  readonly session?: number;
}

/** Part 2 §6.6.2 format zero (bit 7 clear): an error or warning about the command as a whole. */
export interface DecodedRcFmt0 extends DecodedCommon {
  readonly format: 0;
  /** Bit 11 (S): a warning; the command may succeed later (RETRY, YIELDED, TESTING, …). */
  readonly warning: boolean;
  /** Bit 10 (T): a vendor-defined code. */
  readonly vendor: boolean;
  /**
   * Bit 8 (V) clear: a TPM 1.2 code. SUCCESS and BAD_TAG have it clear too: TPM 2.0 kept those two 1.2
   * values.
   */
  readonly tpm12: boolean;
}

/** Part 2 §6.6.2: a response code split into its fields. */
export type DecodedRc = DecodedRcFmt0 | DecodedRcFmt1;

function hex(n: number): string {
  return `0x${n.toString(16).padStart(3, '0')}`;
}

function assertU32(rc: number): void {
  if (!Number.isInteger(rc) || rc < 0 || rc > 0xffffffff) {
    throw new RangeError(`rc must be a u32 (TPM_RC), got ${rc}`);
  }
}

/**
 * The response code with format-one index bits removed: what `TPM_RC.X` is compared against (go-tpm
 * `TPMRC.Is` semantics). Format-zero codes and bits 31:12 are kept as they are.
 */
function canonical(rc: number): number {
  return rc & RC_FMT1 ? (rc & ~(RC_P | RC_N_MASK)) >>> 0 : rc;
}

function unknownDescription(rc: number): string {
  if (rc > RC_LOW_MASK) return 'bits 31:12 are set, which no TPM 2.0 response code has';
  if (rc & RC_FMT1) return 'a format-one code TPM 2.0 does not define';
  if (!(rc & RC_VER1)) return 'a TPM 1.2 response code';
  if (rc & RC_VENDOR) return 'a vendor-defined response code';
  return rc & RC_SEVERITY ? 'a warning TPM 2.0 does not define' : 'an error TPM 2.0 does not define';
}

/**
 * Part 2 §6.6.2: split a TPM_RC into format, code and (format one) the parameter, handle or session number,
 * and name it from `RC_TABLE`. Any u32 decodes; codes the table lacks are named `TPM_RC_UNKNOWN(0x…)`.
 * Throws RangeError only if `rc` is not a u32 at all (a caller's bug, not the TPM's).
 */
export function decodeRc(rc: number): DecodedRc {
  assertU32(rc);
  const canon = canonical(rc);
  const info = rcInfo(canon);
  const name = info?.name ?? `TPM_RC_UNKNOWN(${hex(canon)})`;
  const description = info?.description ?? unknownDescription(canon);
  if (rc & RC_FMT1) {
    const common = { rc, format: 1, code: rc & FMT1_CODE_MASK, name, description } as const;
    const n = (rc & RC_N_MASK) >>> 8;
    if (rc & RC_P) return { ...common, parameter: n };
    if (rc & RC_S) return { ...common, session: n & 0x7 };
    return n === 0 ? common : { ...common, handle: n };
  }
  return {
    rc,
    format: 0,
    code: rc & RC_LOW_MASK,
    name,
    description,
    warning: (rc & RC_SEVERITY) !== 0,
    vendor: (rc & RC_VENDOR) !== 0,
    tpm12: (rc & RC_VER1) === 0,
  };
}

/**
 * go-tpm `TPMRC.Is` semantics: does `rc` carry `code`, ignoring a format-one parameter, handle or session
 * number? `rcIs(0x1c4, TPM_RC.VALUE)` is true. `code` should be canonical (a `TPM_RC` value); one with
 * index bits never matches.
 */
export function rcIs(rc: number, code: number): boolean {
  assertU32(rc);
  return canonical(rc) === code;
}

/**
 * A one-line human form, e.g.
 * `TPM_RC_VALUE (parameter 1): value is out of range or is not correct for the context`.
 */
export function formatRc(rc: number): string {
  const d = decodeRc(rc);
  let where = '';
  if (d.format === 1) {
    if (d.parameter !== undefined) where = ` (parameter ${d.parameter})`;
    else if (d.handle !== undefined) where = ` (handle ${d.handle})`;
    else if (d.session !== undefined) where = ` (session ${d.session})`;
  } else if (d.warning) {
    where = ' (warning)';
  }
  return `${d.name}${where}: ${d.description}`;
}
