// SPDX-License-Identifier: Apache-2.0
/**
 * IMA measurement list: parse + template-hash check + PCR replay of a synthetic 100,000-entry ima-ng
 * binary list (realistic paths, SHA-256 file digests, correct template hashes, a violation every 5,000
 * entries), with agent/measure/ima/ against a straightforward node:crypto implementation written here
 * (a DataView parse loop, `crypto.hash` per entry for the template hash and for the fold). Two lists: the
 * classic SHA-1 list and a per-bank SHA-256 list (`binary_runtime_measurements_sha256`). Prints markdown
 * tables of medians and ratios; asserts nothing beyond both sides computing the same PCR values.
 */
import { hash as nodeHash } from 'node:crypto';
import { initHashing } from '../agent/crypto/hash.js';
import { parseImaLog, replayImaLog } from '../agent/measure/ima/index.js';
import { type Case, compare, formatNs, ratio, table } from './measure.js';

type Alg = 'sha1' | 'sha256';
const SIZE: Record<Alg, number> = { sha1: 20, sha256: 32 };
const ENTRIES = 100_000;

/** xorshift32: deterministic, so every run measures the same list. */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

const DIRS = [
  '/usr/bin',
  '/usr/sbin',
  '/usr/lib/x86_64-linux-gnu',
  '/usr/lib/systemd',
  '/usr/lib/python3/dist-packages/setuptools',
  '/usr/share/locale/en_GB/LC_MESSAGES',
  '/etc/ssl/certs',
  '/lib/modules/6.8.0-51-generic/kernel/drivers/net/ethernet/intel/e1000e',
  '/var/lib/dpkg/info',
  '/opt/app/node_modules/@scope/package/dist',
];
const STEMS = [
  'libssl',
  'libcrypto',
  'systemd-journald',
  'bash',
  'python3.12',
  'ld-linux-x86-64',
  'e1000e',
  'ca-certificates',
  'index',
  'libc',
];
const SUFFIXES = ['.so.3', '.so.6', '', '.py', '.ko.zst', '.crt', '.list', '.js', '.mo', '.conf'];

/** One ima-ng binary list: `<u32 pcr><hash><u32 6>"ima-ng"<u32 len><u32 len>"sha256:\0"‖digest<u32 len>path\0`. */
function syntheticList(alg: Alg): Uint8Array {
  const next = prng(0x1e1a);
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  let total = 0;
  for (let i = 0; i < ENTRIES; i++) {
    const path = enc.encode(
      `${DIRS[next() % DIRS.length]}/${STEMS[next() % STEMS.length]}-${i.toString(36)}${SUFFIXES[next() % SUFFIXES.length]}\0`,
    );
    const fileDigest = nodeHash('sha256', `${i}`, 'buffer');
    const dng = new Uint8Array(8 + 32);
    dng.set(enc.encode('sha256:\0'));
    dng.set(fileDigest, 8);
    const data = new Uint8Array(4 + dng.length + 4 + path.length);
    const dv = new DataView(data.buffer);
    dv.setUint32(0, dng.length, true);
    data.set(dng, 4);
    dv.setUint32(4 + dng.length, path.length, true);
    data.set(path, 8 + dng.length);
    const violation = i % 5000 === 4999;
    const th = violation ? new Uint8Array(SIZE[alg]) : nodeHash(alg, data, 'buffer');
    const entry = new Uint8Array(4 + SIZE[alg] + 4 + 6 + 4 + data.length);
    const ev = new DataView(entry.buffer);
    ev.setUint32(0, 10, true);
    entry.set(th, 4);
    ev.setUint32(4 + SIZE[alg], 6, true);
    entry.set(enc.encode('ima-ng'), 8 + SIZE[alg]);
    ev.setUint32(14 + SIZE[alg], data.length, true);
    entry.set(data, 18 + SIZE[alg]);
    parts.push(entry);
    total += entry.length;
  }
  const out = new Uint8Array(total);
  let p = 0;
  for (const e of parts) {
    out.set(e, p);
    p += e.length;
  }
  return out;
}

/**
 * What a caller without this module would write: walk the entries, check each template hash with
 * `crypto.hash`, fold PCR values with `crypto.hash`; the same checks (mismatches counted) and results.
 */
function nodeParseReplay(bytes: Uint8Array, alg: Alg): Map<number, Uint8Array> {
  const size = SIZE[alg];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const pcrs = new Map<number, Uint8Array>();
  const ones = new Uint8Array(size).fill(0xff);
  const utf8 = new TextDecoder();
  let mismatches = 0;
  let p = 0;
  while (p < bytes.length) {
    if (bytes.length - p < 8 + size) throw new Error('truncated');
    const pcr = view.getUint32(p, true);
    const th = bytes.subarray(p + 4, p + 4 + size);
    p += 4 + size;
    const nameLen = view.getUint32(p, true);
    const name = utf8.decode(bytes.subarray(p + 4, p + 4 + nameLen));
    p += 4 + nameLen;
    if (name === 'ima') throw new Error('not in this benchmark');
    const len = view.getUint32(p, true);
    const data = bytes.subarray(p + 4, p + 4 + len);
    if (data.length !== len) throw new Error('truncated');
    p += 4 + len;
    const zero = th.every((b) => b === 0);
    if (!zero && !nodeHash(alg, data, 'buffer').equals(th)) mismatches++;
    const input = new Uint8Array(2 * size);
    input.set(pcrs.get(pcr) ?? new Uint8Array(size));
    input.set(zero ? ones : th, size);
    pcrs.set(pcr, nodeHash(alg, input, 'buffer'));
  }
  if (mismatches !== 0) throw new Error(`${mismatches} template hashes do not recompute`);
  return pcrs;
}

/** Parse + replay, then read what an allowlist check reads (fields decode lazily, on first access). */
function withFields(bytes: Uint8Array, alg: Alg): number {
  const log = parseImaLog(bytes, { templateHashAlgorithm: alg });
  let n = replayImaLog(log).pcrs.size;
  for (const e of log.entries) n += (e.path?.length ?? 0) + (e.fileDigest?.digest.length ?? 0);
  return n;
}

const hex = (b: Uint8Array | undefined): string => Buffer.from(b ?? new Uint8Array(0)).toString('hex');

export async function main(): Promise<void> {
  await initHashing({ threads: 2 }); // as the CLI runs it
  const rows: string[][] = [];
  for (const alg of ['sha1', 'sha256'] as const) {
    const bytes = syntheticList(alg);
    const ours = replayImaLog(parseImaLog(bytes, { templateHashAlgorithm: alg }));
    const theirs = nodeParseReplay(bytes, alg);
    if (hex(ours.pcrs.get(10)) !== hex(theirs.get(10))) throw new Error(`${alg}: the two replays disagree`);
    const log = parseImaLog(bytes, { templateHashAlgorithm: alg });
    const cases: Case[] = [
      {
        name: 'ours',
        run: () => replayImaLog(parseImaLog(bytes, { templateHashAlgorithm: alg })).pcrs.get(10),
        reps: 1,
      },
      { name: 'node', run: () => nodeParseReplay(bytes, alg).get(10), reps: 1 },
      { name: 'ours parse', run: () => parseImaLog(bytes, { templateHashAlgorithm: alg }).entries, reps: 1 },
      { name: 'ours replay', run: () => replayImaLog(log).pcrs.get(10), reps: 1 },
      { name: 'ours + fields', run: () => withFields(bytes, alg), reps: 1 },
    ];
    const [o = 0, n = 0, parse = 0, replay = 0, fields = 0] = compare(cases, 15);
    const list = `${alg === 'sha1' ? 'classic SHA-1' : 'per-bank SHA-256'} list, ${(bytes.length / 1e6).toFixed(1)} MB`;
    rows.push([
      list,
      formatNs(o),
      formatNs(n),
      ratio(n, o),
      formatNs(parse),
      formatNs(replay),
      formatNs(fields),
    ]);
  }
  table(
    `IMA ima-ng list, ${ENTRIES.toLocaleString('en-US')} entries: parse + template-hash check + replay (median of 15)`,
    [
      'list',
      'agent/measure/ima',
      'node:crypto loop',
      'node / ours',
      'ours: parse + check',
      'ours: replay',
      'ours + every path and file digest read',
    ],
    rows,
  );
}
