// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/measure/ima
 *
 * A strict, bounds-checked parser of the Linux IMA runtime measurement list and its replay into PCRs.
 * Layouts are the kernel's (security/integrity/ima/ima_fs.c): the binary list (binary.ts) and the ASCII
 * list (ascii.ts), both read into the entries of types.ts by parseImaLog (parse.ts), which checks every
 * entry's template hash (entry.ts); replayImaLog and matchQuotedPrefix (replay.ts) fold them into PCRs;
 * template.ts knows the templates and their fields.
 *
 * Errors are `ImaLogError` with the byte offset of the failing field (`offset`), of its entry
 * (`entryOffset`), and for the ASCII list the entry's line:
 * - E_IMA_TRUNCATED: the bytes end inside an entry (a tail cut off a longer list: with `allowTruncatedTail`
 *   it is reported in `truncatedTail` instead);
 * - E_IMA_FORMAT: the bytes contradict the layout (PCR ≥ 64, an empty or non-ASCII template name, fields
 *   that do not tile the template data, a malformed field or ASCII token);
 * - E_IMA_LIMIT: a size or count beyond `IMA_LIMITS`.
 *
 * Not supported: the `ima` template with 16-byte MD5 digests (`ima_hash=md5` on old kernels); its entries
 * are read as 20-byte digests and fail to parse.
 *
 * Not checked here: file digests against an allowlist, signatures in `sig` fields, the boot_aggregate
 * against quoted PCRs (measure/boot-aggregate.ts), and whether replayed values match a TPM (the caller
 * compares them with a verified quote; replay does not prove the values came from a TPM).
 */
export { detectImaFormat } from './ascii.js';
export { parseImaLog } from './parse.js';
export {
  type ImaCheckpoint,
  type ImaReplayOptions,
  matchQuotedPrefix,
  replayImaLog,
} from './replay.js';
export type { ImaField, ImaFileDigest } from './template.js';
export {
  IMA_LIMITS,
  type ImaEntry,
  type ImaLimits,
  type ImaListFormat,
  type ImaLog,
  ImaLogError,
  type ImaLogErrorCode,
  type ImaParseOptions,
  type ImaTruncatedTail,
  type TemplateHashCheck,
} from './types.js';
