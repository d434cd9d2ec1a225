// SPDX-License-Identifier: Apache-2.0
// Linux IMA measurement lists: every vector parses and replays to expected.json (stated template hashes,
// helper aggregates cross-checked with an independent node:crypto fold), ASCII and binary forms agree,
// violations, per-bank lists and derived banks, checkpointed replay, quoted-prefix matching, malformed lists
// with their offsets, and fuzz properties.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { initHashing } from '../../agent/crypto/hash.js';
import {
  detectImaFormat,
  type ImaCheckpoint,
  type ImaEntry,
  type ImaLog,
  ImaLogError,
  type ImaParseOptions,
  matchQuotedPrefix,
  parseImaLog,
  replayImaLog,
} from '../../agent/measure/ima/index.js';

const DIR = join(import.meta.dirname, '../vectors/ima');
const load = (name: string): Uint8Array => new Uint8Array(readFileSync(join(DIR, name)));
const hex = (b: Uint8Array | undefined): string => Buffer.from(b ?? new Uint8Array(0)).toString('hex');

interface Expected {
  readonly format: string;
  readonly helper: {
    readonly entries?: number;
    readonly templates?: readonly string[];
    readonly template_hash_recomputes?: number;
    readonly zero_template_hashes?: number;
    readonly pcr10_sha1_aggregate?: string | null;
    readonly files?: readonly string[];
    readonly trailing_bytes?: { readonly count: number; readonly hex: string };
    readonly parse_error?: string;
  };
  readonly stated_template_hashes?: readonly string[];
}

const EXPECTED = Object.entries(
  JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')) as Record<string, unknown>,
)
  .filter(([name]) => !name.startsWith('_'))
  .map(([name, value]) => [name, value as Expected] as const);

beforeAll(async () => {
  await initHashing();
});

/** Calls `fn`; returns the ImaLogError it throws, failing the test on success or any other exception. */
function imaError(fn: () => unknown): ImaLogError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ImaLogError) return e;
    throw e;
  }
  throw new Error('expected an ImaLogError, got a value');
}

// ---------------------------------------------------------------------------------------------------
// An independent, straightforward reading of the kernel's layouts (ima_fs.c ima_measurements_show and
// ima_ascii_measurements_show), on node:crypto, used as the oracle.

type Alg = 'sha1' | 'sha256' | 'sha384' | 'sha512';
const SIZE: Record<Alg, number> = { sha1: 20, sha256: 32, sha384: 48, sha512: 64 };
const nodeHash = (alg: Alg, ...parts: Uint8Array[]): Buffer => {
  const h = createHash(alg);
  for (const p of parts) h.update(p);
  return h.digest();
};

interface OracleEntry {
  readonly offset: number;
  readonly pcr: number;
  readonly th: Buffer;
  readonly template: string;
  /** `ima`: digest and name; other templates: the template data and its fields. */
  readonly imaDigest?: Buffer;
  readonly imaName?: Buffer;
  readonly data: Buffer;
  readonly fields: Buffer[];
}

/** Reads complete entries; stops at the first incomplete one and returns where it starts. */
function oracleRead(bytes: Uint8Array, hashSize = 20, le = true): { entries: OracleEntry[]; end: number } {
  const b = Buffer.from(bytes);
  const u32 = (at: number): number => (le ? b.readUInt32LE(at) : b.readUInt32BE(at));
  const entries: OracleEntry[] = [];
  let p = 0;
  for (;;) {
    const offset = p;
    if (p + 4 + hashSize + 4 > b.length) return { entries, end: offset };
    const pcr = u32(p);
    const th = b.subarray(p + 4, p + 4 + hashSize);
    p += 4 + hashSize;
    const nameLen = u32(p);
    if (p + 4 + nameLen > b.length) return { entries, end: offset };
    const template = b.subarray(p + 4, p + 4 + nameLen).toString('latin1');
    p += 4 + nameLen;
    if (template === 'ima') {
      if (p + 24 > b.length) return { entries, end: offset };
      const imaDigest = b.subarray(p, p + 20);
      const n = u32(p + 20);
      if (p + 24 + n > b.length) return { entries, end: offset };
      const imaName = b.subarray(p + 24, p + 24 + n);
      p += 24 + n;
      entries.push({ offset, pcr, th, template, imaDigest, imaName, data: Buffer.alloc(0), fields: [] });
      continue;
    }
    if (p + 4 > b.length) return { entries, end: offset };
    const len = u32(p);
    if (p + 4 + len > b.length) return { entries, end: offset };
    const data = b.subarray(p + 4, p + 4 + len);
    p += 4 + len;
    const fields: Buffer[] = [];
    for (let q = 0; q < data.length; ) {
      const l = le ? data.readUInt32LE(q) : data.readUInt32BE(q);
      fields.push(data.subarray(q + 4, q + 4 + l));
      q += 4 + l;
    }
    entries.push({ offset, pcr, th, template, data, fields });
  }
}

/** ima_calc_field_array_hash_tfm. */
function oracleTemplateHash(alg: Alg, e: OracleEntry): Buffer {
  if (e.template !== 'ima') return nodeHash(alg, e.data);
  const name = Buffer.alloc(256);
  e.imaName?.copy(name);
  return nodeHash(alg, e.imaDigest ?? Buffer.alloc(20), name);
}

/** PCR[p] = H(PCR[p] ‖ v) from zeros; a zero template hash extends 0xFF (`violationBytes` of them). */
function oracleFold(
  alg: Alg,
  items: readonly { pcr: number; value: Uint8Array }[],
  violationBytes = SIZE[alg],
): Map<number, string> {
  const pcrs = new Map<number, Buffer>();
  for (const { pcr, value } of items) {
    let v = Buffer.alloc(SIZE[alg]);
    if (value.every((x) => x === 0)) v.fill(0xff, 0, violationBytes);
    else v = Buffer.concat([value, Buffer.alloc(SIZE[alg] - value.length)]);
    pcrs.set(pcr, nodeHash(alg, pcrs.get(pcr) ?? Buffer.alloc(SIZE[alg]), v));
  }
  return new Map([...pcrs].map(([k, v]) => [k, v.toString('hex')]));
}

const TEMPLATE_FIELDS: Record<string, readonly string[]> = {
  'ima-ng': ['d-ng', 'n-ng'],
  'ima-sig': ['d-ng', 'n-ng', 'sig'],
  'ima-buf': ['d-ng', 'n-ng', 'buf'],
};

/** ima_ascii_measurements_show for one oracle entry. */
function oracleAsciiLine(e: OracleEntry): string {
  let line = `${String(e.pcr).padStart(2, ' ')} ${e.th.toString('hex')} ${e.template}`;
  if (e.template === 'ima') {
    return `${line} ${e.imaDigest?.toString('hex')} ${e.imaName?.toString('latin1')}\n`;
  }
  const ids = TEMPLATE_FIELDS[e.template];
  if (ids === undefined) throw new Error(`oracle has no ASCII form for ${e.template}`);
  e.fields.forEach((f, i) => {
    line += ' ';
    if (f.length === 0) return;
    const id = ids[i];
    if (id === 'd-ng') {
      const nul = f.indexOf(0);
      line += f.subarray(0, nul).toString('latin1') + f.subarray(nul + 1).toString('hex');
    } else if (id === 'n-ng') line += f.subarray(0, f.indexOf(0)).toString('latin1');
    else line += f.toString('hex');
  });
  return `${line}\n`;
}

/** Builds one binary entry (non-`ima` template) with a correct or given template hash. */
function buildEntry(opts: {
  pcr?: number;
  template?: string;
  fields: readonly Uint8Array[];
  alg?: Alg;
  le?: boolean;
  templateHash?: Uint8Array;
}): Buffer {
  const le = opts.le ?? true;
  const u32 = (v: number): Buffer => {
    const b = Buffer.alloc(4);
    if (le) b.writeUInt32LE(v);
    else b.writeUInt32BE(v);
    return b;
  };
  const data = Buffer.concat(opts.fields.flatMap((f) => [u32(f.length), Buffer.from(f)]));
  const name = Buffer.from(opts.template ?? 'ima-ng', 'latin1');
  const th = opts.templateHash ?? nodeHash(opts.alg ?? 'sha1', data);
  return Buffer.concat([
    u32(opts.pcr ?? 10),
    Buffer.from(th),
    u32(name.length),
    name,
    u32(data.length),
    data,
  ]);
}

const dng = (alg: string, digest: Uint8Array): Buffer =>
  Buffer.concat([Buffer.from(`${alg}:\0`, 'latin1'), Buffer.from(digest)]);
const nng = (path: string): Buffer => Buffer.from(`${path}\0`, 'utf8');

/** A log of `n` ima-ng entries over PCRs 10 and 11, with a violation every 7th entry. */
function syntheticLog(n: number, alg: Alg = 'sha1'): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const fields = [
      dng('sha256', nodeHash('sha256', Buffer.from(`file ${i}`))),
      nng(`/usr/lib/file-${i}.so`),
    ];
    const violation = i % 7 === 6;
    parts.push(
      buildEntry({
        pcr: i % 3 === 2 ? 11 : 10,
        fields,
        alg,
        ...(violation ? { templateHash: new Uint8Array(SIZE[alg]) } : {}),
      }),
    );
  }
  return Buffer.concat(parts);
}

function pcrHex(cp: ImaCheckpoint): Map<number, string> {
  return new Map([...cp.pcrs].map(([k, v]) => [k, hex(v)]));
}

/** The entry fields both list formats carry. */
function comparable(e: ImaEntry) {
  return {
    index: e.index,
    pcr: e.pcr,
    templateHash: hex(e.templateHash),
    templateName: e.templateName,
    fields: e.fields.map((f) => [f.id, hex(f.data)]),
    fileDigest: e.fileDigest && { ...e.fileDigest, digest: hex(e.fileDigest.digest) },
    path: e.path,
    signature: hex(e.signature),
    buffer: hex(e.buffer),
    hashedData: hex(e.hashedData),
    templateHashCheck: e.templateHashCheck,
  };
}

// ---------------------------------------------------------------------------------------------------

const BINARY = EXPECTED.filter(([name]) => name.endsWith('.bin'));
const ASCII = EXPECTED.filter(([, want]) => want.format === 'ascii_runtime_measurements');

describe('IMA vectors: parse and replay to expected.json', () => {
  it('covers every file expected.json lists', () => {
    expect(BINARY.length).toBe(6);
    expect(ASCII.length).toBe(8);
  });

  for (const [name, want] of BINARY) {
    const h = want.helper;
    if (h.parse_error !== undefined) continue;
    it(name, () => {
      const bytes = load(name);
      // The .bin is the helper's decoding of the tpm2-tss .b64 file.
      const b64 = readFileSync(join(DIR, name.replace(/\.bin$/, '.b64')), 'utf8');
      expect(hex(Buffer.from(b64, 'base64'))).toBe(hex(bytes));
      expect(detectImaFormat(bytes)).toBe('binary');

      const tail = h.trailing_bytes;
      if (tail !== undefined) {
        // Strict: the stray bytes are an error naming where the incomplete entry starts.
        const err = imaError(() => parseImaLog(bytes));
        expect(err.code).toBe('E_IMA_TRUNCATED');
        expect(err.entryOffset).toBe(bytes.length - tail.count);
        expect(hex(bytes.subarray(err.entryOffset))).toBe(tail.hex);
      }
      const log = parseImaLog(bytes, { allowTruncatedTail: true });
      if (tail === undefined) expect(log.truncatedTail).toBeUndefined();
      else
        expect(log.truncatedTail).toMatchObject({
          offset: bytes.length - tail.count,
          byteLength: tail.count,
        });
      expect(log.format).toBe('binary');
      expect(log.entries.length).toBe(h.entries);
      expect([...new Set(log.entries.map((e) => e.templateName))]).toEqual(h.templates);
      expect(log.entries.map((e) => e.path)).toEqual(h.files);
      expect(log.entries.filter((e) => e.templateHashCheck === 'match').length).toBe(
        h.template_hash_recomputes,
      );
      expect(log.entries.filter((e) => e.templateHashCheck === 'violation').length).toBe(
        h.zero_template_hashes,
      );
      if (want.stated_template_hashes !== undefined) {
        expect(log.entries.map((e) => hex(e.templateHash))).toEqual(want.stated_template_hashes);
      }

      // Independent reading of the same bytes, template hashes recomputed on node:crypto.
      const oracle = oracleRead(bytes);
      expect(oracle.end).toBe(log.end);
      expect(log.entries.map((e) => [e.offset, e.pcr, hex(e.templateHash)])).toEqual(
        oracle.entries.map((e) => [e.offset, e.pcr, e.th.toString('hex')]),
      );
      log.entries.forEach((e, i) => {
        const o = oracle.entries[i];
        if (o === undefined) throw new Error('oracle entry');
        const zero = o.th.every((x) => x === 0);
        expect(e.templateHashCheck).toBe(
          zero ? 'violation' : oracleTemplateHash('sha1', o).equals(o.th) ? 'match' : 'mismatch',
        );
      });

      const replay = replayImaLog(log);
      const folded = oracleFold(
        'sha1',
        oracle.entries.map((e) => ({ pcr: e.pcr, value: e.th })),
      );
      expect(pcrHex(replay)).toEqual(folded);
      expect(hex(replay.pcrs.get(10))).toBe(h.pcr10_sha1_aggregate);
      if (want.stated_template_hashes !== undefined) {
        const stated = oracleFold(
          'sha1',
          want.stated_template_hashes.map((t) => ({ pcr: 10, value: Buffer.from(t, 'hex') })),
        );
        expect(stated.get(10)).toBe(h.pcr10_sha1_aggregate);
      }
      expect(replay.entryCount).toBe(log.entries.length);
      expect(replay.byteOffset).toBe(log.end);
    });
  }

  for (const [name, want] of ASCII) {
    const h = want.helper;
    it(name, () => {
      const bytes = load(name);
      expect(detectImaFormat(bytes)).toBe('ascii');
      if (h.pcr10_sha1_aggregate === null) {
        // 64-hex template hashes: not a SHA-1 list (tested below with a per-bank algorithm).
        const err = imaError(() => parseImaLog(bytes));
        expect([err.code, err.line, err.offset]).toEqual(['E_IMA_FORMAT', 1, 3]);
        return;
      }
      const log = parseImaLog(bytes);
      expect(log.format).toBe('ascii');
      expect(log.entries.length).toBe(h.entries);
      expect([...new Set(log.entries.map((e) => e.templateName))]).toEqual(h.templates);
      expect(log.entries.filter((e) => e.templateHashCheck === 'match').length).toBe(
        h.template_hash_recomputes,
      );
      log.entries.forEach((e, i) => {
        expect(e.line).toBe(i + 1);
        expect(e.templateHashCheck).not.toBe('mismatch');
      });

      // Independent: split each line, rebuild ima-ng template data, hash and fold on node:crypto.
      const lines = Buffer.from(bytes).toString('latin1').split('\n').slice(0, -1);
      const items = lines.map((line) => {
        const [pcr = '', th = '', , dig = '', ...path] = line.trim().split(' ');
        const colon = dig.lastIndexOf(':');
        const data = Buffer.concat(
          [
            dng(dig.slice(0, colon), Buffer.from(dig.slice(colon + 1), 'hex')),
            Buffer.from(`${path.join(' ')}\0`, 'latin1'),
          ].flatMap((f) => {
            const len = Buffer.alloc(4);
            len.writeUInt32LE(f.length);
            return [len, f];
          }),
        );
        return { pcr: Number(pcr), value: Buffer.from(th, 'hex'), data };
      });
      log.entries.forEach((e, i) => {
        const item = items[i];
        if (item === undefined) throw new Error('line');
        expect(hex(e.hashedData)).toBe(item.data.toString('hex'));
        if (e.templateHashCheck === 'match')
          expect(nodeHash('sha1', item.data).equals(item.value)).toBe(true);
      });
      const replay = replayImaLog(log);
      expect(pcrHex(replay)).toEqual(oracleFold('sha1', items));
      expect(hex(replay.pcrs.get(10))).toBe(h.pcr10_sha1_aggregate);
    });
  }

  it('keylime sm3_256 / unknown logs: 64-hex template hashes parse as a per-bank (32-byte) list', () => {
    const sm3 = parseImaLog(load('keylime/ima-log-sm3_256'), { templateHashAlgorithm: 'sha256' });
    expect(sm3.entries.map((e) => [e.fileDigest?.algorithm, e.fileDigest?.digest.length, e.path])).toEqual([
      ['sm3_256', 32, 'boot_aggregate'],
      ['sm3_256', 32, '/data'],
    ]);
    const unknown = parseImaLog(load('keylime/ima-log-unknown'), { templateHashAlgorithm: 'sha256' });
    expect(unknown.entries.map((e) => [e.fileDigest?.algorithm, e.fileDigest?.digest.length])).toEqual([
      ['unknown', 29],
      ['unknown', 29],
    ]);
    for (const log of [sm3, unknown]) {
      expect(log.entries[0]?.templateHashCheck).toBe('violation');
      const e = log.entries[1];
      if (e?.hashedData === undefined) throw new Error('entry 1');
      // Synthetic hashes: whatever SHA-256 of the rebuilt data gives decides the check.
      const recomputes = nodeHash('sha256', e.hashedData).equals(e.templateHash);
      expect(e.templateHashCheck).toBe(recomputes ? 'match' : 'mismatch');
    }
  });
});

describe('malformed vectors give the typed error with the right offset', () => {
  it('sml-ima-ng-sha1-invalidated.bin: template data declares 49 bytes, 48 remain', () => {
    const bytes = load('tpm2-tss/sml-ima-ng-sha1-invalidated.bin');
    const err = imaError(() => parseImaLog(bytes));
    // One entry at byte 0: PCR (4) + SHA-1 (20) + name length (4) + "ima-ng" (6) + data length (4) → 38.
    expect([err.code, err.entryOffset, err.offset]).toEqual(['E_IMA_TRUNCATED', 0, 38]);
    expect(err.message).toContain('need 49 bytes, have 48');
    expect(bytes.length - 38).toBe(48);
    const log = parseImaLog(bytes, { allowTruncatedTail: true });
    expect(log.entries).toEqual([]);
    expect(log.truncatedTail).toMatchObject({ offset: 0, byteLength: bytes.length });
  });

  for (const name of [
    'tpm2-tss/sml-ima-sig-sha256.bin',
    'tpm2-tss/sml-ima-sha1.bin',
    'tpm2-tss/sml-ima-ng-sha1.bin',
  ]) {
    it(`truncation at every offset of ${name}`, () => {
      const full = load(name);
      const log = parseImaLog(full, { allowTruncatedTail: true });
      const bytes = full.subarray(0, log.end);
      const starts = log.entries.map((e) => e.offset);
      for (let cut = 0; cut <= bytes.length; cut++) {
        const prefix = bytes.subarray(0, cut);
        const at = cut === bytes.length ? log.entries.length : starts.indexOf(cut);
        if (at >= 0) {
          // Exactly at an entry boundary: a value with the entries before the cut.
          expect(parseImaLog(prefix).entries.length, `cut ${cut}`).toBe(at);
          continue;
        }
        const err = imaError(() => parseImaLog(prefix, { format: 'binary' }));
        const entry = starts.findLast((s) => s < cut) ?? -1;
        expect([err.code, err.entryOffset], `cut ${cut}`).toEqual(['E_IMA_TRUNCATED', entry]);
        expect(err.offset).toBeGreaterThanOrEqual(entry);
        expect(err.offset).toBeLessThanOrEqual(cut);
        const tolerated = parseImaLog(prefix, { format: 'binary', allowTruncatedTail: true });
        expect(tolerated.entries.length).toBe(starts.indexOf(entry));
        expect(tolerated.truncatedTail?.offset).toBe(entry);
      }
    });
  }

  it('truncation at every offset of an ASCII list: mid-line is E_IMA_TRUNCATED, a line end is a value', () => {
    const bytes = load('keylime/ima-log-sha256');
    const ends = [...bytes.keys()].filter((i) => bytes[i] === 0x0a).map((i) => i + 1);
    for (let cut = 1; cut <= bytes.length; cut++) {
      const prefix = bytes.subarray(0, cut);
      const lines = ends.indexOf(cut);
      if (lines >= 0) {
        expect(parseImaLog(prefix).entries.length).toBe(lines + 1);
        continue;
      }
      const err = imaError(() => parseImaLog(prefix, { format: 'ascii' }));
      const line = ends.filter((e) => e <= cut).length + 1;
      expect([err.code, err.line, err.offset], `cut ${cut}`).toEqual(['E_IMA_TRUNCATED', line, cut]);
    }
  });

  it('trailing bytes after the last entry name the offset', () => {
    const base = syntheticLog(3);
    for (const extra of [[0x0a], [10, 0, 0, 0], new Array<number>(27).fill(0)]) {
      const err = imaError(() => parseImaLog(Buffer.concat([base, Buffer.from(extra)])));
      expect([err.code, err.entryOffset]).toEqual(['E_IMA_TRUNCATED', base.length]);
    }
    // Zero padding long enough for a header reads as an entry with an empty template name.
    const err = imaError(() => parseImaLog(Buffer.concat([base, Buffer.alloc(40)])));
    expect([err.code, err.entryOffset, err.offset]).toEqual(['E_IMA_FORMAT', base.length, base.length + 24]);
  });
});

describe('ASCII and binary forms of the same list give the same entries', () => {
  const cases: [string, Uint8Array][] = [
    ['tpm2-tss/sml-ima-sha1.bin (ima)', load('tpm2-tss/sml-ima-sha1.bin')],
    ['tpm2-tss/sml-ima-ng-sha1.bin (ima-ng)', load('tpm2-tss/sml-ima-ng-sha1.bin')],
    ['tpm2-tss/sml-ima-sig-sha256.bin (ima-sig)', load('tpm2-tss/sml-ima-sig-sha256.bin')],
    [
      'tpm2-tss/sml-ima-sig-sha256-invalidated.bin (violation)',
      load('tpm2-tss/sml-ima-sig-sha256-invalidated.bin'),
    ],
    ['tpm2-tss/sml-ima-sha1-invalidated.bin (ima violation)', load('tpm2-tss/sml-ima-sha1-invalidated.bin')],
  ];
  for (const [name, bytes] of cases) {
    it(name, () => {
      const binary = parseImaLog(bytes, { allowTruncatedTail: true });
      const oracle = oracleRead(bytes);
      const text = Buffer.from(oracle.entries.map(oracleAsciiLine).join(''), 'latin1');
      const ascii = parseImaLog(text);
      expect(ascii.format).toBe('ascii');
      expect(ascii.entries.map(comparable)).toEqual(binary.entries.map(comparable));
      expect(pcrHex(replayImaLog(ascii))).toEqual(pcrHex(replayImaLog(binary)));
    });
  }

  it('ima-sig with and without a signature, ima-buf, a PCR below 10, a path with spaces', () => {
    const sig = Buffer.from('030204aabbccdd0040', 'hex');
    const entries = [
      buildEntry({
        pcr: 9,
        template: 'ima-sig',
        fields: [dng('sha256', Buffer.alloc(32, 1)), nng('/usr/bin/a b'), sig],
      }),
      buildEntry({
        template: 'ima-sig',
        fields: [dng('sha512', Buffer.alloc(64, 2)), nng('/etc/x'), Buffer.alloc(0)],
      }),
      buildEntry({
        pcr: 11,
        template: 'ima-buf',
        fields: [dng('sha256', Buffer.alloc(32, 3)), nng('kexec-cmdline'), Buffer.from('root=/dev/sda ro')],
      }),
    ];
    const bytes = Buffer.concat(entries);
    const text = Buffer.from(oracleRead(bytes).entries.map(oracleAsciiLine).join(''), 'latin1');
    expect(text.toString('latin1').split('\n')[0]?.startsWith(' 9 ')).toBe(true);
    expect(text.toString('latin1').split('\n')[1]?.endsWith('/etc/x ')).toBe(true);
    const binary = parseImaLog(bytes);
    const ascii = parseImaLog(text);
    expect(ascii.entries.map(comparable)).toEqual(binary.entries.map(comparable));
    expect(
      binary.entries.map((e) => [e.pcr, e.path, hex(e.signature), Buffer.from(e.buffer ?? []).toString()]),
    ).toEqual([
      [9, '/usr/bin/a b', sig.toString('hex'), ''],
      [10, '/etc/x', '', ''],
      [11, 'kexec-cmdline', '', 'root=/dev/sda ro'],
    ]);
    expect(binary.entries.every((e) => e.templateHashCheck === 'match')).toBe(true);
  });

  it('a format-string template name and d-ngv2 decode; an unknown template keeps raw fields', () => {
    const v2 = Buffer.concat([Buffer.from('verity:sha256:\0', 'latin1'), Buffer.alloc(32, 5)]);
    const bytes = Buffer.concat([
      buildEntry({ template: 'd-ngv2|n-ng', fields: [v2, nng('/v')] }),
      buildEntry({ template: 'my-template', fields: [Buffer.from('x'), Buffer.alloc(0)] }),
    ]);
    const log = parseImaLog(bytes);
    const [a, b] = log.entries;
    expect([a?.fileDigest?.algorithm, a?.fileDigest?.digestType, hex(a?.fileDigest?.digest)]).toEqual([
      'sha256',
      'verity',
      '05'.repeat(32),
    ]);
    expect(a?.path).toBe('/v');
    expect(b?.fields.map((f) => [f.id, hex(f.data)])).toEqual([
      [undefined, '78'],
      [undefined, ''],
    ]);
    expect(log.entries.map((e) => e.templateHashCheck)).toEqual(['match', 'match']);
    // The ASCII form of an unknown template cannot be rebuilt: kept as tokens, unchecked.
    const th = hex(b?.templateHash);
    const ascii = parseImaLog(Buffer.from(`10 ${th} my-template 78 \n`));
    expect(ascii.entries[0]).toMatchObject({
      asciiFields: ['78', ''],
      fields: [],
      templateHashCheck: 'unchecked',
    });
  });
});

describe('replay rules', () => {
  it('violation entries extend all-ones of the bank size', () => {
    const log = parseImaLog(load('tpm2-tss/sml-ima-sha1-invalidated.bin'));
    expect(log.entries[0]?.templateHashCheck).toBe('violation');
    const expected = nodeHash('sha1', Buffer.alloc(20), Buffer.alloc(20, 0xff)).toString('hex');
    expect(hex(replayImaLog(log).pcrs.get(10))).toBe(expected);
  });

  it('SHA-1 list into the SHA-256 bank: padded-sha1 (pre-5.8 / unmapped bank) and recompute (≥ 5.8)', () => {
    const bytes = load('tpm2-tss/sml-ima-sig-sha256-invalidated.bin');
    const log = parseImaLog(bytes);
    const oracle = oracleRead(bytes).entries;
    expect(() => replayImaLog(log, { bank: 'sha256' })).toThrow(RangeError);

    const padded = replayImaLog(log, { bank: 'sha256', derive: 'padded-sha1' });
    // Violation: 0xFF × 20 then zeros (ima_init_digests uses SHA1_DIGEST_SIZE for such banks).
    expect(pcrHex(padded)).toEqual(
      oracleFold(
        'sha256',
        oracle.map((e) => ({ pcr: e.pcr, value: e.th })),
        20,
      ),
    );

    const recomputed = replayImaLog(log, { bank: 'sha256', derive: 'recompute' });
    const items = oracle.map((e) => ({
      pcr: e.pcr,
      value: e.th.every((x) => x === 0) ? Buffer.alloc(32) : oracleTemplateHash('sha256', e),
    }));
    expect(pcrHex(recomputed)).toEqual(oracleFold('sha256', items));
    expect(hex(padded.pcrs.get(10))).not.toBe(hex(recomputed.pcrs.get(10)));
  });

  it('a per-bank SHA-256 list replays like the SHA-1 list recomputed into the SHA-256 bank', () => {
    const sha1List = syntheticLog(50, 'sha1');
    const sha256List = syntheticLog(50, 'sha256');
    const a = parseImaLog(sha256List, { templateHashAlgorithm: 'sha256' });
    expect(a.entries.every((e) => e.templateHashCheck === (e.index % 7 === 6 ? 'violation' : 'match'))).toBe(
      true,
    );
    const b = parseImaLog(sha1List);
    const fromBank = replayImaLog(a);
    expect(pcrHex(fromBank)).toEqual(pcrHex(replayImaLog(b, { bank: 'sha256', derive: 'recompute' })));
    const oracle = oracleRead(sha256List, 32).entries;
    expect(pcrHex(fromBank)).toEqual(
      oracleFold(
        'sha256',
        oracle.map((e) => ({ pcr: e.pcr, value: e.th })),
      ),
    );
    // Parsing it as a SHA-1 list misreads the layout.
    expect(() => parseImaLog(sha256List)).toThrow(ImaLogError);
  });

  it('entries are grouped by PCR; the ima template hash covers the name padded to 256 bytes', () => {
    const log = parseImaLog(load('tpm2-tss/sml-ima-sha1.bin'), { allowTruncatedTail: true });
    const e = log.entries[1];
    expect(e?.hashedData?.length).toBe(276);
    expect(hex(e?.hashedData?.subarray(20 + (e?.pathBytes?.length ?? 0)))).toBe('00'.repeat(256 - 5));
    const mixed = parseImaLog(syntheticLog(30));
    expect([...replayImaLog(mixed).pcrs.keys()].sort()).toEqual([10, 11]);
  });

  it('a template hash that does not recompute is a finding; replay still extends the listed hash', () => {
    const bytes = syntheticLog(5);
    const log = parseImaLog(bytes);
    const target = log.entries[2];
    const tampered = Buffer.from(bytes);
    const at = (target?.offset ?? 0) + bytes.subarray(target?.offset).indexOf('/usr') + 1;
    tampered[at] = (tampered[at] ?? 0) ^ 0x20;
    const bad = parseImaLog(tampered);
    expect(bad.entries.map((e) => e.templateHashCheck)).toEqual([
      'match',
      'match',
      'mismatch',
      'match',
      'match',
    ]);
    expect(pcrHex(replayImaLog(bad))).toEqual(pcrHex(replayImaLog(log)));
  });

  it('big-endian native lists (a big-endian host without ima_canonical_fmt)', () => {
    const parts: Buffer[] = [];
    for (let i = 0; i < 4; i++) {
      parts.push(buildEntry({ le: false, fields: [dng('sha1', Buffer.alloc(20, i)), nng(`/f${i}`)] }));
    }
    const bytes = Buffer.concat(parts);
    expect(() => parseImaLog(bytes)).toThrow(ImaLogError);
    const log = parseImaLog(bytes, { byteOrder: 'big' });
    expect(log.entries.map((e) => [e.path, e.templateHashCheck])).toEqual(
      [0, 1, 2, 3].map((i) => [`/f${i}`, 'match']),
    );
    const oracle = oracleRead(bytes, 20, false).entries;
    expect(pcrHex(replayImaLog(log))).toEqual(
      oracleFold(
        'sha1',
        oracle.map((e) => ({ pcr: e.pcr, value: e.th })),
      ),
    );
  });
});

describe('incremental replay and quoted prefixes', () => {
  const cases: [string, Uint8Array, ImaParseOptions][] = [
    ['rust-keylime ascii (826 entries)', load('rust-keylime/ascii_runtime_measurements'), {}],
    ['synthetic binary, PCRs 10/11, violations', syntheticLog(200), {}],
  ];
  for (const [name, bytes, opts] of cases) {
    it(`${name}: checkpointed replay equals full replay at any split`, () => {
      const full = parseImaLog(bytes, opts);
      const whole = pcrHex(replayImaLog(full));
      const n = full.entries.length;
      fc.assert(
        fc.property(fc.nat({ max: n }), fc.nat({ max: n }), (x, y) => {
          const [k, m] = x <= y ? [x, y] : [y, x];
          // The list as read at three times: k entries, m entries, all of them.
          const offsetOf = (i: number): number => full.entries[i]?.offset ?? full.end;
          const first = replayImaLog(parseImaLog(bytes.subarray(0, offsetOf(k)), opts));
          expect(first.entryCount).toBe(k);
          expect(first.byteOffset).toBe(offsetOf(k));
          const resume = { entryCount: first.entryCount, byteOffset: first.byteOffset };
          const mid = replayImaLog(parseImaLog(bytes.subarray(0, offsetOf(m)), { ...opts, resume }), {
            from: first,
          });
          expect(mid.entryCount).toBe(m);
          const last = replayImaLog(
            parseImaLog(bytes, { ...opts, resume: { entryCount: m, byteOffset: mid.byteOffset } }),
            {
              from: mid,
            },
          );
          expect(pcrHex(last)).toEqual(whole);
          // A full parse continued from a checkpoint skips the entries it already holds.
          expect(pcrHex(replayImaLog(full, { from: first }))).toEqual(whole);
        }),
        { numRuns: 60 },
      );
    });
  }

  it('a list with fewer entries than the checkpoint is an error; a gap before the list is misuse', () => {
    const bytes = syntheticLog(10);
    const full = parseImaLog(bytes);
    const cp = replayImaLog(full);
    const shorter = parseImaLog(bytes.subarray(0, full.entries[5]?.offset));
    expect(imaError(() => replayImaLog(shorter, { from: cp })).code).toBe('E_IMA_TRUNCATED');
    const early = replayImaLog(parseImaLog(bytes.subarray(0, full.entries[2]?.offset)));
    const tail = parseImaLog(bytes, { resume: { entryCount: 5, byteOffset: full.entries[5]?.offset ?? 0 } });
    expect(() => replayImaLog(tail, { from: early })).toThrow(RangeError);
    expect(
      imaError(() => parseImaLog(bytes, { resume: { entryCount: 20, byteOffset: bytes.length + 1 } })).code,
    ).toBe('E_IMA_TRUNCATED');
  });

  it('matchQuotedPrefix finds the smallest entry count whose PCR value was quoted', () => {
    const bytes = syntheticLog(120);
    const log = parseImaLog(bytes);
    const oracle = oracleRead(bytes).entries;
    fc.assert(
      fc.property(fc.nat({ max: oracle.length }), (k) => {
        const quoted =
          oracleFold(
            'sha1',
            oracle.slice(0, k).map((e) => ({ pcr: e.pcr, value: e.th })),
          ).get(10) ?? '00'.repeat(20);
        // Smallest count: right after the last PCR 10 entry among the first k (0 when there is none).
        const lastTen = oracle.slice(0, k).findLastIndex((e) => e.pcr === 10);
        const got = matchQuotedPrefix(log, 10, Buffer.from(quoted, 'hex'));
        expect(got?.entryCount).toBe(lastTen + 1);
        expect(hex(got?.pcrs.get(10) ?? new Uint8Array(20))).toBe(quoted);
        // Continuing from the match gives the full replay.
        if (got !== undefined)
          expect(pcrHex(replayImaLog(log, { from: got }))).toEqual(pcrHex(replayImaLog(log)));
      }),
      { numRuns: 60 },
    );
    expect(matchQuotedPrefix(log, 10, new Uint8Array(20).fill(7))).toBeUndefined();
    expect(() => matchQuotedPrefix(log, 10, new Uint8Array(32))).toThrow(RangeError);
  });
});

describe('malformed lists: codes and offsets', () => {
  const one = (over: Partial<Parameters<typeof buildEntry>[0]> = {}): Buffer =>
    buildEntry({ fields: [dng('sha256', Buffer.alloc(32)), nng('/x')], ...over });
  const at = (b: Buffer, off: number, v: number): Buffer => {
    const c = Buffer.from(b);
    c.writeUInt32LE(v, off);
    return c;
  };
  // Offsets in `one()`: PCR 0, hash 4, name length 24, "ima-ng" 28, data length 34, data 38.

  it('format errors', () => {
    const cases: [string, Buffer, number][] = [
      ['PCR 64', at(one(), 0, 64), 0],
      ['empty template name', at(Buffer.concat([one().subarray(0, 28), one().subarray(34)]), 24, 0), 24],
      [
        'non-printable template name',
        (() => {
          const b = one();
          b[30] = 0x01;
          return b;
        })(),
        30,
      ],
      [
        'ima-ng with three fields',
        one({ fields: [dng('sha1', Buffer.alloc(20)), nng('/x'), Buffer.alloc(1)] }),
        38,
      ],
      ['field length past the data', at(one(), 38, 1000), 38],
      ['d-ng without NUL', one({ fields: [Buffer.from('sha1'), nng('/x')] }), 42],
      ['d-ng prefix without colon', one({ fields: [Buffer.from('sha1\0abc'), nng('/x')] }), 42 + 4],
      [
        'n-ng not NUL-terminated',
        one({ fields: [dng('sha1', Buffer.alloc(20)), Buffer.from('/x')] }),
        38 + 4 + 26 + 4 + 2,
      ],
      [
        'n-ng with an inner NUL',
        one({ fields: [dng('sha1', Buffer.alloc(20)), Buffer.from('/x\0y\0')] }),
        38 + 4 + 26 + 4 + 2,
      ],
    ];
    for (const [what, bytes, offset] of cases) {
      const err = imaError(() => parseImaLog(bytes, { format: 'binary' }));
      expect([what, err.code, err.offset, err.entryOffset]).toEqual([what, 'E_IMA_FORMAT', offset, 0]);
    }
    // The `ima` template's name is at most 255 bytes (IMA_EVENT_NAME_LEN_MAX).
    const ima = Buffer.concat([
      Buffer.from([10, 0, 0, 0]),
      Buffer.alloc(20, 1),
      Buffer.from([3, 0, 0, 0]),
      Buffer.from('ima'),
      Buffer.alloc(20),
      Buffer.from([0, 1, 0, 0]),
      Buffer.alloc(256, 0x61),
    ]);
    const err = imaError(() => parseImaLog(ima));
    expect([err.code, err.offset]).toEqual(['E_IMA_FORMAT', 51]);
  });

  it('limits', () => {
    let err = imaError(() => parseImaLog(at(one(), 34, 0x7fff_ffff)));
    expect([err.code, err.offset]).toEqual(['E_IMA_LIMIT', 34]);
    err = imaError(() => parseImaLog(at(one(), 24, 256)));
    expect([err.code, err.offset]).toEqual(['E_IMA_LIMIT', 24]);
    err = imaError(() => parseImaLog(syntheticLog(5), { limits: { maxEntries: 4 } }));
    expect(err.code).toBe('E_IMA_LIMIT');
    err = imaError(() => parseImaLog(syntheticLog(5), { limits: { maxLogBytes: 100 } }));
    expect([err.code, err.offset]).toEqual(['E_IMA_LIMIT', 0]);
    err = imaError(() => parseImaLog(one(), { limits: { maxTemplateDataBytes: 10 } }));
    expect([err.code, err.offset]).toEqual(['E_IMA_LIMIT', 34]);
  });

  it('ASCII format errors carry the line', () => {
    const good =
      '10 0000000000000000000000000000000000000000 ima-ng sha1:0000000000000000000000000000000000000000 /x\n';
    const cases: [string, string, number][] = [
      ['PCR 64', good.replace(/^10/, '64'), 0],
      ['3-digit PCR', `1${good}`, 0],
      // The offset of the hex pair that is not hex.
      ['template hash not hex', good.replace('0000 ima-ng', '000g ima-ng'), 41],
      ['template hash too short', good.replace('0000 ima-ng', '00 ima-ng'), 3],
      ['too few fields', '10 0000000000000000000000000000000000000000 ima-ng sha1:00\n', 44],
      ['d-ng without colon', good.replace('sha1:', 'sha1'), 51],
      ['only two tokens', '10 00\n', 0],
    ];
    for (const [what, line, offset] of cases) {
      const text = Buffer.from(good + line);
      const err = imaError(() => parseImaLog(text, { format: 'ascii' }));
      expect([what, err.code, err.line, err.offset - good.length]).toEqual([what, 'E_IMA_FORMAT', 2, offset]);
    }
  });
});

describe('fuzz: any bytes give a value or an ImaLogError', () => {
  const parseAndReplay = (bytes: Uint8Array, options?: ImaParseOptions): void => {
    let log: ImaLog;
    try {
      log = parseImaLog(bytes, { ...options, limits: { maxTemplateDataBytes: 4096 } });
    } catch (e) {
      if (!(e instanceof ImaLogError)) throw e;
      return;
    }
    for (const e of log.entries)
      expect(e.hashedData === undefined || e.hashedData.length <= 4096 + 64 * 4 + 276).toBe(true);
    replayImaLog(log);
    replayImaLog(log, { bank: 'sha256', derive: 'padded-sha1' });
  };

  it('arbitrary bytes (≤ 4 KiB), each format', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 4096 }),
        fc.constantFrom<ImaParseOptions>({}, { format: 'binary' }, { format: 'ascii' }),
        (bytes, o) => parseAndReplay(bytes, o),
      ),
      { numRuns: 600 },
    );
  });

  it('ASCII-like lines of arbitrary tokens', () => {
    const token = fc.constantFrom(
      '10',
      ' 9',
      'ima-ng',
      'ima',
      'ima-sig',
      'sha1:',
      'sha256:00',
      '/x',
      '',
      'zz',
      '0'.repeat(40),
    );
    fc.assert(
      fc.property(fc.array(fc.array(token, { maxLength: 7 }), { maxLength: 5 }), (lines) =>
        parseAndReplay(Buffer.from(lines.map((l) => `${l.join(' ')}\n`).join(''))),
      ),
      { numRuns: 600 },
    );
  });

  for (const name of [
    'tpm2-tss/sml-ima-sig-sha256.bin',
    'tpm2-tss/sml-ima-sha1.bin',
    'rust-keylime/ima_log.txt',
  ]) {
    it(`${name} with random bytes overwritten and cut`, () => {
      const base = load(name);
      fc.assert(
        fc.property(
          fc.array(fc.tuple(fc.nat({ max: base.length - 1 }), fc.integer({ min: 0, max: 255 })), {
            maxLength: 8,
          }),
          fc.nat({ max: base.length }),
          (edits, cut) => {
            const bytes = base.slice(0, cut);
            for (const [i, value] of edits) if (i < bytes.length) bytes[i] = value;
            parseAndReplay(bytes);
            parseAndReplay(bytes, { allowTruncatedTail: true });
          },
        ),
        { numRuns: 800 },
      );
    });
  }
});
