// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/measure/ima/template
 *
 * Linux IMA template descriptors and template fields (kernel Documentation/security/IMA-templates.rst,
 * security/integrity/ima/ima_template.c `builtin_templates[]` and `supported_fields[]`,
 * ima_template_lib.c). A template is a list of field identifiers; each field is stored in the template
 * data as `<u32 length><bytes>` (every template but `ima`, whose binary layout binary.ts reads
 * apart). Field encodings, from ima_template_lib.c:
 *
 * - `d` (ima_eventdigest_init): the bare digest, 20 bytes in the `ima` template;
 * - `d-ng`, `d-modsig` (ima_eventdigest_init_common, DATA_FMT_DIGEST_WITH_ALGO): `"<hash algo>:" NUL
 *   digest`; `d-ngv2` (DATA_FMT_DIGEST_WITH_TYPE_AND_ALGO): `"<ima|verity>:<hash algo>:" NUL digest`. A
 *   violation entry carries a zero digest whose length need not be the algorithm's, so digest lengths are
 *   not checked against the algorithm name;
 * - `n`, `n-ng`, `xattrnames` (ima_write_template_field_data, DATA_FMT_STRING): the string and its NUL
 *   (the `ima` template's binary list drops the NUL: IMA_SHOW_BINARY_OLD_STRING_FMT);
 * - `sig`, `buf`, `modsig`, `evmsig`, `xattrlengths`, `xattrvalues` (DATA_FMT_HEX): raw bytes, shown as hex
 *   in the ASCII list; `iuid`, `igid`, `imode` (DATA_FMT_UINT): integers, shown in decimal.
 *
 * A template whose name is not built in may be a format string (`d-ng|n-ng|sig`): the kernel shows the
 * format in place of an empty name (ima_fs.c ima_measurements_show), so such a name is read as its field
 * list. Any other name is an unknown template, whose fields are kept raw.
 *
 * Not checked: that a digest's length fits its algorithm, that strings are UTF-8, signature structure.
 */

/** How a field is encoded (ima_template_lib.c `enum data_formats`). */
export type ImaFieldFormat = 'digest' | 'digest-with-algo' | 'string' | 'hex' | 'uint';

/** Template field identifiers and their formats (ima_template.c `supported_fields[]`). */
export const IMA_FIELDS: Readonly<Record<string, ImaFieldFormat>> = {
  d: 'digest',
  n: 'string',
  'd-ng': 'digest-with-algo',
  'd-ngv2': 'digest-with-algo',
  'n-ng': 'string',
  sig: 'hex',
  buf: 'hex',
  'd-modsig': 'digest-with-algo',
  modsig: 'hex',
  evmsig: 'hex',
  iuid: 'uint',
  igid: 'uint',
  imode: 'uint',
  xattrnames: 'string',
  xattrlengths: 'hex',
  xattrvalues: 'hex',
};

/** Built-in templates (ima_template.c `builtin_templates[]`). */
export const IMA_TEMPLATES: Readonly<Record<string, readonly string[]>> = {
  ima: ['d', 'n'],
  'ima-ng': ['d-ng', 'n-ng'],
  'ima-ngv2': ['d-ngv2', 'n-ng'],
  'ima-sig': ['d-ng', 'n-ng', 'sig'],
  'ima-sigv2': ['d-ngv2', 'n-ng', 'sig'],
  'ima-buf': ['d-ng', 'n-ng', 'buf'],
  'ima-modsig': ['d-ng', 'n-ng', 'sig', 'd-modsig', 'modsig'],
  'evm-sig': ['d-ng', 'n-ng', 'evmsig', 'xattrnames', 'xattrlengths', 'xattrvalues', 'iuid', 'igid', 'imode'],
};

/** Most fields a template may have (ima_template.c IMA_TEMPLATE_NUM_FIELDS_MAX). */
export const IMA_TEMPLATE_NUM_FIELDS_MAX = 15;

/**
 * The field identifiers of a template name: a built-in template, or a format string of known field ids
 * joined by `|`; undefined for an unknown template.
 */
export function templateFields(name: string): readonly string[] | undefined {
  const builtin = IMA_TEMPLATES[name];
  if (builtin !== undefined) return builtin;
  const ids = name.split('|');
  if (ids.length > IMA_TEMPLATE_NUM_FIELDS_MAX) return undefined;
  return ids.every((id) => Object.hasOwn(IMA_FIELDS, id)) ? ids : undefined;
}

/** A digest field decoded (`d`, `d-ng`, `d-ngv2`, `d-modsig`). */
export interface ImaFileDigest {
  /** The kernel's hash_algo_name (`sha1`, `sha256`, `sm3`, …), or `sha1` for the prefixless `d` field. */
  readonly algorithm: string;
  /** `ima` or `verity` for `d-ngv2`, undefined otherwise. */
  readonly digestType?: string;
  readonly digest: Uint8Array;
}

/** A byte of a hash or digest-type name: a-z, 0-9, '_' or '-' (hash_algo_name[], digest_type_name[]). */
function isNameByte(b: number): boolean {
  return (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39) || b === 0x5f || b === 0x2d;
}

/** Longest name accepted (CRYPTO_MAX_ALG_NAME is 128 with the NUL). */
const MAX_NAME_BYTES = 127;

/**
 * The digest prefix last seen, reused while it repeats (a list uses one or two algorithms), so that
 * checking 100,000 entries allocates nothing per entry. One per parse.
 */
export interface PrefixCache {
  /** `"<algo>:" NUL` or `"<type>:<algo>:" NUL`. */
  prefix: Uint8Array;
  algorithm: string;
  digestType: string | undefined;
}

export function newPrefixCache(): PrefixCache {
  return { prefix: new Uint8Array(0), algorithm: '', digestType: undefined };
}

/** Where template data breaks its template's encoding: `at` is the byte index in the template data. */
export interface TemplateDataDefect {
  readonly message: string;
  readonly at: number;
  /** Index of the field, or -1 when the length-prefixed layout itself is broken. */
  readonly field: number;
}

function readU32(b: Uint8Array, at: number, little: boolean): number {
  const b0 = b[at] ?? 0;
  const b1 = b[at + 1] ?? 0;
  const b2 = b[at + 2] ?? 0;
  const b3 = b[at + 3] ?? 0;
  return little
    ? (b0 | (b1 << 8) | (b2 << 16) | (b3 << 24)) >>> 0
    : ((b0 << 24) | (b1 << 16) | (b2 << 8) | b3) >>> 0;
}

/**
 * Checks that `data` is `<u32 len><field>` pieces that tile it exactly (ima_template.c
 * ima_restore_template_data: ENFORCE_FIELDS | ENFORCE_BUFEND), as many as `ids` names, and that each known
 * field has its encoding. Allocates nothing unless the digest prefix changes. Not for the `ima` template.
 */
export function checkTemplateData(
  ids: readonly string[] | undefined,
  data: Uint8Array,
  little: boolean,
  prefixes: PrefixCache,
): TemplateDataDefect | undefined {
  let p = 0;
  let count = 0;
  while (p < data.length) {
    if (count === IMA_TEMPLATE_NUM_FIELDS_MAX) {
      return {
        message: `template data has more than ${IMA_TEMPLATE_NUM_FIELDS_MAX} fields`,
        at: p,
        field: -1,
      };
    }
    if (data.length - p < 4) return { message: 'template data ends inside a field length', at: p, field: -1 };
    const len = readU32(data, p, little);
    if (len > data.length - p - 4)
      return { message: `field length ${len} runs past the template data`, at: p, field: -1 };
    const id = ids?.[count];
    const defect = id === undefined ? undefined : checkField(id, data, p + 4, p + 4 + len, prefixes);
    if (defect !== undefined) return { message: defect.message, at: defect.at, field: count };
    p += 4 + len;
    count++;
  }
  if (ids !== undefined && count !== ids.length) {
    return { message: `template has ${ids.length} fields, the data has ${count}`, at: 0, field: -1 };
  }
  return undefined;
}

/** Checks one field [start, end) of `data`; `at` in the result is an index into `data`. */
function checkField(
  id: string,
  data: Uint8Array,
  start: number,
  end: number,
  prefixes: PrefixCache,
): { message: string; at: number } | undefined {
  switch (IMA_FIELDS[id]) {
    case 'digest-with-algo':
      if (start === end)
        return id === 'd-modsig' ? undefined : { message: `${id} field is empty`, at: start };
      return checkPrefix(id, data, start, end, prefixes);
    case 'string':
      // Empty only when the kernel stored no field (e.g. `xattrnames` of a file without xattrs).
      if (start === end) return undefined;
      for (let i = start; i < end - 1; i++) {
        if (data[i] === 0) return { message: `${id} field has a NUL inside`, at: i };
      }
      return data[end - 1] === 0 ? undefined : { message: `${id} field is not NUL-terminated`, at: end };
    default:
      return undefined;
  }
}

function prefixRepeats(data: Uint8Array, start: number, end: number, cache: PrefixCache): boolean {
  const p = cache.prefix;
  if (p.length === 0 || end - start < p.length) return false;
  for (let i = 0; i < p.length; i++) if (data[start + i] !== p[i]) return false;
  return true;
}

/** Checks `"<name>:"` × (1, or 2 for d-ngv2) then NUL at data[start…], caching it in `cache`. */
function checkPrefix(
  id: string,
  data: Uint8Array,
  start: number,
  end: number,
  cache: PrefixCache,
): { message: string; at: number } | undefined {
  const wantNames = id === 'd-ngv2' ? 2 : 1;
  if (prefixRepeats(data, start, end, cache) && (cache.digestType === undefined) === (wantNames === 1)) {
    return undefined;
  }
  let nul = -1;
  for (let i = start; i < end; i++) {
    if (data[i] === 0) {
      nul = i;
      break;
    }
  }
  if (nul < 0) return { message: `${id} field has no NUL after its algorithm prefix`, at: start };
  if (data[nul - 1] !== 0x3a || nul === start)
    return { message: `${id} prefix does not end with ':'`, at: nul };
  const names: string[] = [];
  let from = start;
  for (let i = start; i < nul; i++) {
    const b = data[i] ?? 0;
    if (b === 0x3a) {
      if (i === from || i - from > MAX_NAME_BYTES) break;
      names.push(String.fromCharCode(...data.subarray(from, i)));
      from = i + 1;
    } else if (!isNameByte(b)) {
      break;
    }
  }
  const [first = '', second] = names;
  if (from !== nul || names.length !== wantNames) {
    const form = wantNames === 2 ? '<type>:<algo>:' : '<algo>:';
    return { message: `${id} prefix is not ${form} (names of a-z, 0-9, '_', '-')`, at: start };
  }
  cache.prefix = data.slice(start, nul + 1);
  cache.algorithm = second ?? first;
  cache.digestType = second === undefined ? undefined : first;
  return undefined;
}

/** One template field: its identifier (undefined in an unknown template) and bytes. */
export interface ImaField {
  readonly id: string | undefined;
  readonly data: Uint8Array;
}

/** Splits template data that `checkTemplateData` accepted into its fields. */
export function splitTemplateData(
  ids: readonly string[] | undefined,
  data: Uint8Array,
  little: boolean,
): ImaField[] {
  const fields: ImaField[] = [];
  for (let p = 0; p + 4 <= data.length; ) {
    const len = readU32(data, p, little);
    fields.push({ id: ids?.[fields.length], data: data.subarray(p + 4, p + 4 + len) });
    p += 4 + len;
  }
  return fields;
}

/** Decodes a `digest-with-algo` field that `checkTemplateData` accepted; undefined when empty. */
export function decodeDigestWithAlgo(id: string, data: Uint8Array): ImaFileDigest | undefined {
  if (data.length === 0) return undefined;
  const cache = newPrefixCache();
  const defect = checkPrefix(id, data, 0, data.length, cache);
  if (defect !== undefined) return undefined;
  const digest = data.subarray(cache.prefix.length);
  return cache.digestType === undefined
    ? { algorithm: cache.algorithm, digest }
    : { algorithm: cache.algorithm, digestType: cache.digestType, digest };
}
