// SPDX-License-Identifier: Apache-2.0
/**
 * TCG PC Client event log: parse + PCR replay with agent/measure (eventlog.ts, replay.ts) against a
 * straightforward node:crypto implementation written here (a DataView loop over TCG_PCR_EVENT2 records
 * sized by the Spec ID event, `crypto.createHash` per extend) and against tpm2_eventlog run as a process,
 * beside our CLI (`eventlog replay --json`) as a process and `node -e ''` (Node's start alone), so that the
 * process rows compare like with like. Inputs:
 *
 * - tpm2-tss binary_measurements_hcrtm.bin, the largest vendored log tpm2_eventlog 5.4 parses (it segfaults
 *   on go-attestation option_rom_eventlog, which is larger);
 * - go-attestation option_rom_eventlog (SHA-1 format, 72 KB of option-ROM event data): ours and node:crypto;
 * - a synthetic crypto-agile log: the hcrtm log's extended events repeated to 10,000 events, so that
 *   per-event costs show.
 *
 * Both in-process sides replay the same banks (SHA-1, SHA-256; the hcrtm log's SM3_256 bank is skipped, as
 * agent/measure/replay.ts lists it unsupported). tpm2_eventlog does more per run: it also replays SM3_256
 * and prints every event as YAML. Before timing, node:crypto must give our PCR values, and tpm2_eventlog
 * ours for PCRs 1–23 and, with locality 0 (it ignores H-CRTM locality), PCR 0. Prints markdown tables of
 * medians and ratios; asserts nothing else.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initHashing } from '../agent/crypto/hash.js';
import { summarizeBoot } from '../agent/measure/boot-summary.js';
import { checkEvents } from '../agent/measure/event-check.js';
import { parseEventLog } from '../agent/measure/eventlog.js';
import { replayEventLog } from '../agent/measure/replay.js';
import { captureReference, judgeMeasuredState } from '../agent/measure/state/index.js';
import type { PcrValues } from '../agent/tpm/pcr-selection.js';
import { type Case, compare, formatNs, ratio, table } from './measure.js';

const ROOT = join(import.meta.dirname, '..');
const VECTORS = join(ROOT, 'test/vectors/eventlog');
const REAL = 'tpm2-tss/binary_measurements_hcrtm.bin';
const OPTION_ROM = 'go-attestation/option_rom_eventlog';
const SYNTHETIC_EVENTS = 10_000;
const CLI = join(ROOT, 'dist/agent/cli/main.js');

const EV_NO_ACTION = 0x3;
const EV_EFI_HCRTM_EVENT = 0x8000_0010;
/** TPM_ALG_ID → node:crypto name, the banks agent/measure/replay.ts replays. */
const NODE_HASHES: ReadonlyMap<number, string> = new Map([
  [0x0004, 'sha1'],
  [0x000b, 'sha256'],
  [0x000c, 'sha384'],
  [0x000d, 'sha512'],
]);
const SPEC_ID = Buffer.from('Spec ID Event03\0', 'latin1');
const STARTUP_LOCALITY = Buffer.from('StartupLocality\0', 'latin1');

interface NodeRecord {
  pcr: number;
  type: number;
  digests: [number, Uint8Array][];
  data: Uint8Array;
}

/**
 * What a caller without agent/measure would write: read the records (TCG_PCR_EVENT, then TCG_PCR_EVENT2
 * sized by the Spec ID digest list), find PCR 0's start locality, extend with `crypto.createHash`.
 */
function nodeParseReplay(bytes: Uint8Array): Map<number, Uint8Array[]> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const records: NodeRecord[] = [];
  // TCG_PCR_EVENT: pcrIndex, eventType, SHA-1 digest, eventSize, event.
  const headerSize = view.getUint32(28, true);
  const header = bytes.subarray(32, 32 + headerSize);
  let p = 32 + headerSize;
  const sizes = new Map<number, number>();
  const specId = Buffer.from(header.subarray(0, 16)).equals(SPEC_ID);
  if (specId) {
    // TCG_EfiSpecIDEvent: signature[16], platformClass u32, 4 version bytes, numberOfAlgorithms u32.
    const hv = new DataView(header.buffer, header.byteOffset, header.byteLength);
    const n = hv.getUint32(24, true);
    for (let i = 0; i < n; i++) sizes.set(hv.getUint16(28 + 4 * i, true), hv.getUint16(30 + 4 * i, true));
  } else {
    sizes.set(0x0004, 20);
    records.push({
      pcr: view.getUint32(0, true),
      type: view.getUint32(4, true),
      digests: [[0x0004, bytes.subarray(8, 28)]],
      data: header,
    });
  }
  while (p < bytes.length) {
    const pcr = view.getUint32(p, true);
    const type = view.getUint32(p + 4, true);
    const digests: [number, Uint8Array][] = [];
    if (specId) {
      const count = view.getUint32(p + 8, true);
      p += 12;
      for (let i = 0; i < count; i++) {
        const alg = view.getUint16(p, true);
        const size = sizes.get(alg);
        if (size === undefined) throw new Error(`undeclared algorithm ${alg}`);
        digests.push([alg, bytes.subarray(p + 2, p + 2 + size)]);
        p += 2 + size;
      }
    } else {
      digests.push([0x0004, bytes.subarray(p + 8, p + 28)]);
      p += 28;
    }
    const size = view.getUint32(p, true);
    records.push({ pcr, type, digests, data: bytes.subarray(p + 4, p + 4 + size) });
    p += 4 + size;
  }
  if (p !== bytes.length) throw new Error('truncated');

  let locality = 0;
  for (const r of records) {
    if (r.type === EV_NO_ACTION && Buffer.from(r.data.subarray(0, 16)).equals(STARTUP_LOCALITY)) {
      locality = r.data[16] ?? 0;
      break;
    }
    if (r.type === EV_EFI_HCRTM_EVENT) locality = 4;
  }
  const banks = new Map<number, Uint8Array[]>();
  for (const [alg, size] of sizes) {
    if (!NODE_HASHES.has(alg)) continue;
    banks.set(
      alg,
      Array.from({ length: 24 }, (_, i) => {
        const v = new Uint8Array(size).fill(i >= 17 && i <= 22 ? 0xff : 0);
        if (i === 0) v[size - 1] = locality;
        return v;
      }),
    );
  }
  for (const r of records) {
    if (r.type === EV_NO_ACTION) continue;
    for (const [alg, digest] of r.digests) {
      const values = banks.get(alg);
      if (values === undefined) continue;
      values[r.pcr] = createHash(NODE_HASHES.get(alg) ?? '')
        .update(values[r.pcr] ?? new Uint8Array(0))
        .update(digest)
        .digest();
    }
  }
  return banks;
}

/** The hcrtm log's header and events, then its extended events again and again to `total` events. */
function syntheticLog(bytes: Uint8Array, total: number): Uint8Array {
  const log = parseEventLog(bytes);
  const ends = [...log.events.slice(1).map((e) => e.offset), bytes.length];
  const extended = log.events
    .map((e, i) => ({ e, end: ends[i] ?? bytes.length }))
    .filter(({ e }) => e.eventType !== EV_NO_ACTION)
    .map(({ e, end }) => bytes.subarray(e.offset, end));
  const parts: Uint8Array[] = [bytes];
  let count = log.events.length;
  for (let i = 0; count < total; i++, count++) parts.push(extended[i % extended.length] ?? new Uint8Array(0));
  return new Uint8Array(Buffer.concat(parts));
}

const hex = (b: Uint8Array | undefined): string => Buffer.from(b ?? new Uint8Array(0)).toString('hex');

function sameAsOurs(ours: PcrValues, theirs: Map<number, Uint8Array[]>, what: string): void {
  if ([...ours.keys()].sort().join() !== [...theirs.keys()].sort().join())
    throw new Error(`${what}: node:crypto replays other banks`);
  for (const [alg, values] of ours) {
    for (let pcr = 0; pcr < 24; pcr++) {
      if (hex(values.get(pcr)) !== hex(theirs.get(alg)?.[pcr]))
        throw new Error(`${what}: bank 0x${alg.toString(16)} PCR ${pcr}: node:crypto and ours differ`);
    }
  }
}

/** tpm2_eventlog's `pcrs:` section (bank name → PCR → hex), or undefined when the tool is missing. */
function tpm2EventlogPcrs(file: string): Map<string, Map<number, string>> | undefined {
  const r = spawnSync('tpm2_eventlog', [file], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.error !== undefined) return undefined;
  if (r.status !== 0) throw new Error(`tpm2_eventlog ${file}: exit ${r.status} ${r.signal ?? ''}`);
  const pcrs = new Map<string, Map<number, string>>();
  let bank: Map<number, string> | undefined;
  for (const line of r.stdout.slice(r.stdout.lastIndexOf('\npcrs:')).split('\n')) {
    const b = /^ {2}(\w+):$/.exec(line);
    if (b?.[1] !== undefined) {
      bank = new Map();
      pcrs.set(b[1], bank);
    }
    const v = /^ {4}(\d+)\s*: 0x([0-9a-fA-F]+)$/.exec(line);
    if (v?.[1] !== undefined && v[2] !== undefined) bank?.set(Number(v[1]), v[2].toLowerCase());
  }
  return pcrs;
}

/** tpm2_eventlog must print our values for every PCR it lists (PCR 0 replayed from locality 0). */
function tpm2EventlogAgrees(file: string, bytes: Uint8Array): boolean {
  const theirs = tpm2EventlogPcrs(file);
  if (theirs === undefined) return false;
  const ours = replayEventLog(parseEventLog(bytes), { pcr0Locality: 0 }).pcrs;
  const names: Record<string, number> = { sha1: 0x0004, sha256: 0x000b };
  for (const [name, alg] of Object.entries(names)) {
    const values = theirs.get(name);
    if (values === undefined || values.size === 0) throw new Error(`tpm2_eventlog ${file}: no ${name} bank`);
    for (const [pcr, v] of values) {
      if (v !== hex(ours.get(alg)?.get(pcr)))
        throw new Error(`tpm2_eventlog ${file}: ${name} PCR ${pcr} differs from ours`);
    }
  }
  return true;
}

/** One process run; its stdout goes to a pipe (spawnSync collects it). */
function processCase(name: string, command: string, args: readonly string[]): Case {
  return {
    name,
    run: () => {
      const r = spawnSync(command, args, { maxBuffer: 1 << 28 });
      if (r.status !== 0) throw new Error(`${name}: exit ${r.status} ${r.signal ?? ''}`);
      return r.stdout;
    },
    reps: 1,
  };
}

function ours(bytes: Uint8Array): Uint8Array | undefined {
  return replayEventLog(parseEventLog(bytes)).pcrs.get(0x000b)?.get(7);
}

function oursChecked(bytes: Uint8Array): number {
  const log = parseEventLog(bytes);
  const r = replayEventLog(log);
  return r.pcrs.size + checkEvents(log).length + summarizeBoot(log).bootApplications.length;
}

/**
 * The measured-state verdict (agent/measure/state): parse, replay, judge against the quote (here the
 * log's own replay) and against a reference captured from it beforehand, as `state check` does after its
 * quote. Throws when the verdict is not ok, so the timing is of the path a clean host takes.
 */
function verdictCase(bytes: Uint8Array): () => boolean {
  const first = parseEventLog(bytes);
  const quoted = replayEventLog(first).pcrs;
  const reference = captureReference(judgeMeasuredState({ quoted, eventLog: { log: first } }).evidence);
  const run = () => judgeMeasuredState({ quoted, eventLog: { log: parseEventLog(bytes) }, reference }).ok;
  if (!run()) throw new Error('the verdict of a log against its own reference is not ok');
  return run;
}

/** `noTpm2` says why tpm2_eventlog is not run on this log. */
function bench(label: string, file: string, bytes: Uint8Array, noTpm2?: string): void {
  const events = parseEventLog(bytes).events.length;
  sameAsOurs(replayEventLog(parseEventLog(bytes)).pcrs, nodeParseReplay(bytes), label);
  const tpm2 = noTpm2 === undefined && tpm2EventlogAgrees(file, bytes);
  const cli = existsSync(CLI);
  const reps = Math.max(1, Math.floor(20_000 / events));
  const verdict = verdictCase(bytes);
  const inProcess: Case[] = [
    { name: 'ours: parseEventLog + replayEventLog', run: () => ours(bytes), reps },
    { name: 'ours + checkEvents + summarizeBoot', run: () => oursChecked(bytes), reps },
    { name: 'node:crypto loop (createHash per extend)', run: () => nodeParseReplay(bytes), reps },
    { name: 'ours: parse + judgeMeasuredState against a reference', run: verdict, reps },
  ];
  const processes: Case[] = [
    ...(tpm2 ? [processCase('tpm2_eventlog FILE (process)', 'tpm2_eventlog', [file])] : []),
    ...(cli
      ? [
          processCase('node dist/agent/cli/main.js eventlog replay FILE --json (process)', process.execPath, [
            CLI,
            'eventlog',
            'replay',
            file,
            '--json',
          ]),
          processCase("node -e '' (process start alone)", process.execPath, ['-e', '']),
        ]
      : []),
  ];
  const cases = [...inProcess, ...processes];
  const t = compare(cases, 15);
  const nodeT = t[2] ?? 0;
  const tpm2T = tpm2 ? (t[inProcess.length] ?? 0) : 0;
  table(
    `${label}: ${(bytes.length / 1e3).toFixed(1)} kB, ${events.toLocaleString('en-US')} events (median of 15)`,
    ['case', 'median', 'per event', 'node:crypto loop / this', 'tpm2_eventlog / this'],
    cases.map((c, i) => {
      const ns = t[i] ?? 0;
      // A process against the in-process loop would say only how long Node takes to start: left out.
      const vsNode = i < inProcess.length ? ratio(nodeT, ns) : '—';
      return [c.name, formatNs(ns), formatNs(ns / events), vsNode, tpm2 ? ratio(tpm2T, ns) : '—'];
    }),
  );
  const notes = [
    tpm2 ? '' : `tpm2_eventlog: not run (${noTpm2 ?? 'not found on PATH'}).`,
    cli ? '' : 'our CLI: not run (dist/agent/cli/main.js is missing: `npm run build:ts`).',
  ].filter((n) => n !== '');
  if (notes.length > 0) process.stdout.write(`\n${notes.join('\n')}\n`);
}

export async function main(): Promise<void> {
  await initHashing();
  const real = new Uint8Array(readFileSync(join(VECTORS, REAL)));
  const optionRom = new Uint8Array(readFileSync(join(VECTORS, OPTION_ROM)));
  const synthetic = syntheticLog(real, SYNTHETIC_EVENTS);
  const dir = mkdtempSync(join(tmpdir(), 'execgate-eventlog-bench-'));
  try {
    const syntheticFile = join(dir, 'synthetic.bin');
    writeFileSync(syntheticFile, synthetic);
    bench(`real: ${REAL}`, join(VECTORS, REAL), real);
    bench(
      `real: ${OPTION_ROM} (SHA-1 format)`,
      join(VECTORS, OPTION_ROM),
      optionRom,
      'tpm2_eventlog 5.4 segfaults on this log',
    );
    bench('synthetic: the hcrtm events repeated', syntheticFile, synthetic);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
