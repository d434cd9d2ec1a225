// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/measure/ima/entry
 *
 * What the binary and the ASCII reader share: the entry they build, its fields decoded on first access,
 * and the bytes the template hash covers.
 *
 * Template hash (ima_crypto.c ima_calc_field_array_hash_tfm): for `ima`, H(digest ‖ name NUL-padded to
 * IMA_EVENT_NAME_LEN_MAX + 1 = 256 bytes); for every other template, H(template data) with the length
 * prefixes.
 */
import {
  decodeDigestWithAlgo,
  type ImaField,
  type ImaFileDigest,
  type PrefixCache,
  splitTemplateData,
} from './template.js';
import type { ImaEntry, ImaLimits, TemplateHashCheck } from './types.js';

/** Highest PCR an IMA policy rule may name: INVALID_PCR in ima_policy.c (bits of `measured_pcrs`). */
export const MAX_IMA_PCR = 63;
/** The `ima` template's name buffer for the template hash (IMA_EVENT_NAME_LEN_MAX + 1). */
export const IMA_NAME_HASH_BYTES = 256;
/** The `ima` template's digest field (IMA_DIGEST_SIZE). */
export const IMA_DIGEST_BYTES = 20;

const UTF8 = new TextDecoder('utf-8');

/** Bytes as Latin-1 text (template names and ASCII tokens are ASCII, checked by the readers). */
export function latin1(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

/** Printable ASCII without space (template names and field ids). */
export function isTemplateNameByte(b: number): boolean {
  return b > 0x20 && b < 0x7f;
}

/** What both readers need to know about the list they read. */
export interface ParseState {
  readonly bytes: Uint8Array;
  readonly prefixes: PrefixCache;
  readonly limits: ImaLimits;
  readonly hashSize: number;
  readonly little: boolean;
}

/** Bytes a template hash covers for the `ima` template: digest ‖ name NUL-padded to 256 bytes. */
export function imaHashedData(d: Uint8Array, name: Uint8Array): Uint8Array {
  const out = new Uint8Array(IMA_DIGEST_BYTES + IMA_NAME_HASH_BYTES);
  out.set(d, 0);
  out.set(name, IMA_DIGEST_BYTES);
  return out;
}

interface Decoded {
  readonly fields: readonly ImaField[];
  readonly fileDigest: ImaFileDigest | undefined;
  readonly pathBytes: Uint8Array | undefined;
  readonly path: string | undefined;
  readonly signature: Uint8Array | undefined;
  readonly buffer: Uint8Array | undefined;
}

/**
 * An entry whose fields are decoded on first access from `hashedData` (which the parser has checked): a
 * 100,000-entry list then costs a few objects per entry, not a dozen (measured: bench/ima.bench.ts).
 */
export class Entry implements ImaEntry {
  templateHashCheck: TemplateHashCheck = 'unchecked';
  #decoded: Decoded | undefined;

  constructor(
    readonly index: number,
    readonly offset: number,
    readonly line: number | undefined,
    readonly pcr: number,
    readonly templateHash: Uint8Array,
    readonly templateName: string,
    readonly hashedData: Uint8Array | undefined,
    readonly asciiFields: readonly string[] | undefined,
    private readonly ids: readonly string[] | undefined,
    private readonly little: boolean,
  ) {}

  get fields(): readonly ImaField[] {
    return this.decoded().fields;
  }
  get fileDigest(): ImaFileDigest | undefined {
    return this.decoded().fileDigest;
  }
  get pathBytes(): Uint8Array | undefined {
    return this.decoded().pathBytes;
  }
  get path(): string | undefined {
    return this.decoded().path;
  }
  get signature(): Uint8Array | undefined {
    return this.decoded().signature;
  }
  get buffer(): Uint8Array | undefined {
    return this.decoded().buffer;
  }

  private decoded(): Decoded {
    this.#decoded ??= decodeEntry(this.templateName, this.ids, this.hashedData, this.little);
    return this.#decoded;
  }
}

function decodeEntry(
  templateName: string,
  ids: readonly string[] | undefined,
  data: Uint8Array | undefined,
  little: boolean,
): Decoded {
  let fields: ImaField[] = [];
  if (data !== undefined && templateName === 'ima') {
    const name = data.subarray(IMA_DIGEST_BYTES);
    const nul = name.indexOf(0);
    fields = [
      { id: 'd', data: data.subarray(0, IMA_DIGEST_BYTES) },
      { id: 'n', data: nul < 0 ? name : name.subarray(0, nul) },
    ];
  } else if (data !== undefined) {
    fields = splitTemplateData(ids, data, little);
  }
  let fileDigest: ImaFileDigest | undefined;
  let pathBytes: Uint8Array | undefined;
  let signature: Uint8Array | undefined;
  let buffer: Uint8Array | undefined;
  for (const f of fields) {
    switch (f.id) {
      case 'd':
        // ima_eventdigest_init: SHA-1 or MD5 only (ima_template_hash_algo_allowed).
        fileDigest ??= { algorithm: f.data.length === 16 ? 'md5' : 'sha1', digest: f.data };
        break;
      case 'd-ng':
      case 'd-ngv2':
        fileDigest ??= decodeDigestWithAlgo(f.id, f.data);
        break;
      case 'n':
        pathBytes ??= templateName === 'ima' ? f.data : f.data.subarray(0, Math.max(0, f.data.length - 1));
        break;
      case 'n-ng':
        pathBytes ??= f.data.subarray(0, Math.max(0, f.data.length - 1));
        break;
      case 'sig':
        if (f.data.length > 0) signature = f.data;
        break;
      case 'buf':
        if (f.data.length > 0) buffer = f.data;
        break;
    }
  }
  const path = pathBytes === undefined ? undefined : UTF8.decode(pathBytes);
  return { fields, fileDigest, pathBytes, path, signature, buffer };
}
