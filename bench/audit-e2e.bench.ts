// SPDX-License-Identifier: Apache-2.0
/**
 * The audit log end to end (issue 13), with a throw-away swtpm and `execgate host init` (RSA-2048 AK,
 * NV counter at the default index), in a fresh temporary directory:
 *
 * 1. Build: ENTRIES realistic verdict entries (encodeEntry-shaped, 184–249 bytes, as the gate writes
 *    them) appended with `appendBatch` in groups of 1,000, `checkpointNow` after each group (a real TPM
 *    quote and NV counter certificate per checkpoint), then `exportBundle`. Timed: it is the grouped
 *    append throughput with swtpm checkpoints.
 * 2. `audit verify --bundle`: agent/audit/bundle.ts `verifyBundle` against the same checks written here
 *    over node:crypto (baseline): the header and checkpoints decoded with the same decoder
 *    (agent/encoding/cbor.ts `decodeCborSequence`), the entries the newest checkpoint covers split with
 *    the same item scan (`cborItemBounds`, as verifyBundle: their roots commit to their bytes) and the rest
 *    read as entries (`entryOf`), each checkpoint's body parsed and its size, counter and origin
 *    compared, its quote and counter
 *    certificate parsed with the project's parsers (attest/quote.ts `decodeBundle`, tpm/schema.ts
 *    `unmarshal` of TPMS_ATTEST and TPMT_SIGNATURE) and their signatures checked with node:crypto
 *    `verify`, pcrDigest and SHA-256(body) with `createHash`; per entry a `createHash` leaf appended to a
 *    frontier (bench/node-merkle.ts) and each checkpoint's root compared. Also `verifyBundle` strict
 *    (`--strict`: every entry decoded) and `readBundle` alone (the item split, no hashing, no
 *    signatures): what both share. Before timing, each must
 *    accept the bundle and refuse it with one entry byte changed and with one quote signature changed.
 *    Then the CLI, `execgate audit verify --bundle F --ak PEM`, once as a process (wall clock).
 * 3. Append throughput on fresh stores: one transaction per entry (`append`) and grouped (`appendBatch`
 *    of 100 and of 1,000), each without checkpoints and with `checkpointIfDue` after each append or batch
 *    (schedule {entries: 1000, intervalSeconds: 600}, as the gate will).
 * 4. Four appender processes (bench/audit-e2e-appender.ts) at once, one transaction per entry, without
 *    and with `checkpointIfDue` (group commit), each opening the TPM only when a checkpoint is due.
 *
 * Prints markdown tables of medians for BENCHMARKS.md. `BENCH_AUDIT_ENTRIES=N` shortens everything;
 * `BENCH_AUDIT_VERIFY_ONLY=1` stops after 2.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash, createPublicKey, type KeyObject, verify as nodeVerify, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import {
  checkCounterIndex,
  counterName,
  DEFAULT_AUDIT_COUNTER_INDEX,
  readCounter,
} from '../agent/attest/nv-counter.js';
import {
  DEFAULT_AK_HANDLE,
  decodeBundle,
  encodeBundle,
  type LoadedAk,
  spkiOfPublic,
  spkiToPem,
  withAk,
} from '../agent/attest/quote.js';
import { exportBundle, readBundle, verifyBundle } from '../agent/audit/bundle.js';
import { decodeCounterCertificate, parseCheckpointBody } from '../agent/audit/checkpoint.js';
import { ENTRY_CBOR, type EntryInput, entryOf } from '../agent/audit/entry.js';
import {
  type CheckpointSchedule,
  checkpointIfDue,
  checkpointNow,
  storedCheckpoints,
  verifyAuditLogAsync,
} from '../agent/audit/log.js';
import { AuditStore } from '../agent/audit/store.js';
import { run } from '../agent/cli/run.js';
import { concatBytes, equalBytes } from '../agent/encoding/bytes.js';
import { type CborValue, cborItemBounds, decodeCborSequence, encodeCbor } from '../agent/encoding/cbor.js';
import { TPM_ALG, TPM_GENERATED_VALUE, TPM_ST } from '../agent/tpm/constants.js';
import { fromTpml, sameSelection } from '../agent/tpm/pcr-selection.js';
import { unmarshal } from '../agent/tpm/schema.js';
import { TPMS_ATTEST, TPMT_SIGNATURE } from '../agent/tpm/structures.js';
import { Tpm } from '../agent/tpm/tpm.js';
import { openTransport } from '../agent/tpm/transport/index.js';
import { type SwtpmInstance, startSwtpm } from '../swtpm/harness.js';
import { type AsyncCase, formatNs, median, ratio, sampleAsync, table } from './measure.js';
import { LEAF, NodeFrontier, viaCreateHash } from './node-merkle.js';

const ENTRIES = Number(process.env.BENCH_AUDIT_ENTRIES ?? 1_000_000);
/** Entries per appendBatch of the build, and per checkpoint. */
const GROUP = 1000;
export const SCHEDULE: CheckpointSchedule = { entries: 1000, intervalSeconds: 600 };
export const NV_INDEX = DEFAULT_AUDIT_COUNTER_INDEX;
const VERIFY_ROUNDS = 5;
/** Items the baseline splits per `cborItemBounds` call (verifyBundle's chunk, agent/audit/log.ts). */
const SPLIT_CHUNK = 4096;
/** `BENCH_AUDIT_VERIFY_ONLY=1`: the build and the verify section only (no append or concurrent runs). */
const VERIFY_ONLY = process.env.BENCH_AUDIT_VERIFY_ONLY === '1';
const APPEND_ROUNDS = 3;
/** Entries per run of the append cases: one transaction each, and grouped. */
const SINGLE_ENTRIES = Math.min(ENTRIES, 10_000);
const GROUPED_ENTRIES = Math.min(ENTRIES, 100_000);
const PROCESSES = 4;
const PER_PROCESS = Math.min(5_000, Math.ceil(ENTRIES / PROCESSES));
const ROOT = join(import.meta.dirname, '..');

// ── Entries and the host ─────────────────────────────────────────────────────────────────────────────

const EXES = [
  '/usr/bin/systemctl',
  '/usr/local/bin/deploy-some-service',
  '/opt/acme/bin/db-migrate',
  '/usr/bin/rsync',
  '/usr/sbin/nginx',
  '/usr/local/sbin/backup-runner',
  '/usr/bin/python3.11',
  '/usr/lib/execgate/rotate-logs',
];
const DENIALS = ['E_SIGNATURE', 'E_SCOPE', 'E_EXPIRED', 'E_REPLAY', 'E_MEASUREMENT'];

/** The i-th entry of a realistic stream: nine in ten allowed (with their artifact), one in ten denied. */
export function realisticEntry(i: number, time = Date.now()): EntryInput {
  const r = randomBytes(96);
  const common = {
    time,
    exe: EXES[i % EXES.length] as string,
    exeSha256: r.subarray(32, 64),
    argvSha256: r.subarray(64, 96),
    uid: i % 7 === 0 ? 0 : 1000 + (i % 5),
    pid: 1000 + ((i * 7919) % 4_000_000),
    mode: 'enforce',
  } as const;
  if (i % 10 === 9)
    return { ...common, verdict: 'deny', reason: DENIALS[Math.floor(i / 10) % DENIALS.length] as string };
  return { ...common, verdict: 'allow', reason: 'OK', artifact: r.subarray(0, 32) };
}

/** `fn` with a Tpm on `tcti` and the host's AK; the TPM is closed after (swtpm serves one client at a time). */
export async function withHostAk<T>(tcti: string, fn: (tpm: Tpm, ak: LoadedAk) => Promise<T>): Promise<T> {
  const tpm = new Tpm(openTransport(tcti));
  try {
    return await withAk(tpm, { kind: 'persistent', handle: DEFAULT_AK_HANDLE }, (ak) => fn(tpm, ak));
  } finally {
    await tpm.close();
  }
}

export interface Host {
  readonly swtpm: SwtpmInstance;
  /** The temporary directory: host state, stores, the bundle. */
  readonly dir: string;
  readonly akSpki: Uint8Array;
}

/** A swtpm with `execgate host init` run on it (AK and NV counter), and a temporary directory (bench/web.bench.ts too). */
export async function startHost(): Promise<Host> {
  const swtpm = await startSwtpm();
  const dir = await mkdtemp(join(tmpdir(), 'execgate-bench-audit-'));
  try {
    let stderr = '';
    const code = await run(['--tcti', swtpm.tcti, 'host', 'init'], {
      stdout: { write: () => true },
      stderr: { write: (s: string) => (stderr += s) },
      env: { EXECGATE_STATE_DIR: join(dir, 'host') },
    });
    if (code !== 0) throw new Error(`execgate host init: exit ${code}: ${stderr}`);
    const akSpki = await withHostAk(swtpm.tcti, async (_tpm, ak) => spkiOfPublic(ak.public));
    return { swtpm, dir, akSpki };
  } catch (e) {
    await swtpm.stop();
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

const perSecond = (n: number, ns: number): string => Math.round((n / ns) * 1e9).toLocaleString('en');
const count = (n: number): string => n.toLocaleString('en');

function note(line: string): void {
  process.stdout.write(`\n${line}\n`);
}

// ── 1. The build ─────────────────────────────────────────────────────────────────────────────────────

interface Built {
  readonly bundle: Uint8Array;
  /** Offset and length of entry ENTRIES/2 in the bundle (the one the tampered copy changes). */
  readonly middle: { readonly offset: number; readonly length: number };
}

async function build(host: Host): Promise<Built> {
  const store = await AuditStore.open(join(host.dir, 'build'));
  const target = Math.floor(ENTRIES / 2);
  let appendNs = 0;
  const checkpointNs: number[] = [];
  let entryBytes = 0;
  let before = 0;
  let targetLength = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = 0;
  let bundle: Uint8Array;
  let exportNs: number;
  try {
    await withHostAk(host.swtpm.tcti, async (tpm, ak) => {
      for (let done = 0; done < ENTRIES; done += GROUP) {
        const batch = Array.from({ length: Math.min(GROUP, ENTRIES - done) }, (_, j) =>
          realisticEntry(done + j),
        );
        const t0 = process.hrtime.bigint();
        const appended = store.appendBatch(batch);
        const t1 = process.hrtime.bigint();
        await checkpointNow(store, tpm, ak, { nvIndex: NV_INDEX });
        checkpointNs.push(Number(process.hrtime.bigint() - t1));
        appendNs += Number(t1 - t0);
        for (const e of appended) {
          if (e.seq < target) before += e.bytes.length;
          if (e.seq === target) targetLength = e.bytes.length;
          entryBytes += e.bytes.length;
          min = Math.min(min, e.bytes.length);
          max = Math.max(max, e.bytes.length);
        }
      }
    });
    const t0 = process.hrtime.bigint();
    bundle = exportBundle(store, host.akSpki);
    exportNs = Number(process.hrtime.bigint() - t0);
  } finally {
    store.close();
  }
  const cpTotal = checkpointNs.reduce((a, b) => a + b, 0);
  const sorted = [...checkpointNs].sort((a, b) => a - b);
  table(
    `build: ${count(ENTRIES)} entries, appendBatch of ${count(GROUP)} + checkpointNow (swtpm) after each`,
    ['', 'value'],
    [
      ['entries (bytes: min / mean / max)', `${min} / ${(entryBytes / ENTRIES).toFixed(0)} / ${max}`],
      ['checkpoints', count(checkpointNs.length)],
      ['appendBatch, all groups', formatNs(appendNs)],
      ['checkpointNow, all', formatNs(cpTotal)],
      [
        'checkpointNow, median / p90 / max',
        [0.5, 0.9, 1]
          .map((q) => formatNs(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0))
          .join(' / '),
      ],
      ['entries / s, appends alone', perSecond(ENTRIES, appendNs)],
      ['**entries / s, grouped with swtpm checkpoints**', perSecond(ENTRIES, appendNs + cpTotal)],
      ['exportBundle', `${formatNs(exportNs)} (${(bundle.length / 1e6).toFixed(1)} MB)`],
    ],
  );
  return { bundle, middle: { offset: bundle.length - entryBytes + before, length: targetLength } };
}

// ── 2. verify: the node:crypto baseline ──────────────────────────────────────────────────────────────

/** A TPMT_SIGNATURE (RSASSA or ECDSA P-256 with SHA-256, as execgate's AKs sign) over `message`, by node:crypto. */
function signatureOk(key: KeyObject, message: Uint8Array, bytes: Uint8Array): boolean {
  const sig = unmarshal(TPMT_SIGNATURE, bytes);
  if (sig.sigAlg === TPM_ALG.RSASSA && 'sig' in sig.signature && sig.signature.hash === TPM_ALG.SHA256)
    return nodeVerify('sha256', message, key, sig.signature.sig);
  if (
    sig.sigAlg === TPM_ALG.ECDSA &&
    'signatureR' in sig.signature &&
    sig.signature.hash === TPM_ALG.SHA256
  ) {
    const { signatureR: r, signatureS: s } = sig.signature;
    if (r.length > 32 || s.length > 32) return false;
    const p1363 = new Uint8Array(64);
    p1363.set(r, 32 - r.length);
    p1363.set(s, 64 - s.length);
    return nodeVerify('sha256', message, { key, dsaEncoding: 'ieee-p1363' }, p1363);
  }
  return false;
}

const sha256 = (...parts: readonly Uint8Array[]): Buffer => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};

/** The checks of `verifyCheckpoint` over node:crypto: the body's size, root, counter and origin, or undefined. */
function baselineCheckpoint(
  key: KeyObject,
  item: CborValue,
): { size: number; root: Uint8Array; counter: bigint; origin: string } | undefined {
  if (!Array.isArray(item) || item.length !== 5) return undefined;
  const [size, counter, body, quote, certificate] = item;
  if (typeof body !== 'string' || !(quote instanceof Uint8Array) || !(certificate instanceof Uint8Array))
    return undefined;
  const b = parseCheckpointBody(body);
  if (typeof counter !== 'number' && typeof counter !== 'bigint') return undefined;
  if (b.size !== size || b.counter !== BigInt(counter)) return undefined;
  const digest = sha256(Buffer.from(body));
  // The quote over SHA-256(body), on the PCR values it carries.
  const ev = decodeBundle(quote);
  if (!signatureOk(key, ev.attest, ev.signature) || !equalBytes(ev.nonce, digest)) return undefined;
  const q = unmarshal(TPMS_ATTEST, ev.attest);
  if (q.magic !== TPM_GENERATED_VALUE || q.type !== TPM_ST.ATTEST_QUOTE || !equalBytes(q.extraData, digest))
    return undefined;
  if (!sameSelection(fromTpml(q.attested.pcrSelect), ev.selection)) return undefined;
  if (ev.selection.some((bank) => bank.hash !== TPM_ALG.SHA256) || ev.pcrValues.some((v) => v.length !== 32))
    return undefined;
  if (!equalBytes(q.attested.pcrDigest, sha256(...ev.pcrValues))) return undefined;
  // The AK's certificate that the counter stood at counter − 1, over the same digest.
  const cert = decodeCounterCertificate(certificate);
  if (!signatureOk(key, cert.attest, cert.signature)) return undefined;
  const c = unmarshal(TPMS_ATTEST, cert.attest);
  if (c.magic !== TPM_GENERATED_VALUE || c.type !== TPM_ST.ATTEST_NV || !equalBytes(c.extraData, digest))
    return undefined;
  checkCounterIndex(cert.index);
  const nv = c.attested;
  if (!equalBytes(nv.indexName, counterName(cert.index)) || nv.offset !== 0 || nv.nvContents.length !== 8)
    return undefined;
  if (Buffer.from(nv.nvContents).readBigUInt64BE(0) + 1n !== b.counter) return undefined;
  return b;
}

/** `verifyBundle`'s checks over node:crypto (module comment): true when the bundle verifies under `akSpki`. */
export function baselineVerify(bundle: Uint8Array, akSpki: Uint8Array): boolean {
  try {
    const key = createPublicKey({ key: Buffer.from(akSpki), format: 'der', type: 'spki' });
    const items = decodeCborSequence(bundle, { tags: [], maxBytes: 64 * 1024, maxDepth: 4 });
    const header = items.next();
    if (header.done || !(header.value.value instanceof Map)) return false;
    const h = header.value.value;
    if (h.get('format') !== 'execgate-audit-bundle' || h.get('version') !== 1) return false;
    const size = h.get('size');
    const n = h.get('checkpoints');
    if (typeof size !== 'number' || typeof n !== 'number') return false;
    let end = header.value.bytes.length;
    const roots: { size: number; root: Uint8Array }[] = [];
    let last: { size: number; counter: bigint; origin: string } | undefined;
    for (let i = 0; i < n; i++) {
      const it = items.next();
      if (it.done) return false;
      end = it.value.offset + it.value.bytes.length;
      const c = baselineCheckpoint(key, it.value.value);
      if (c === undefined) return false;
      if (last !== undefined && (c.counter <= last.counter || c.size < last.size || c.origin !== last.origin))
        return false;
      last = c;
      roots.push(c);
    }
    const f = new NodeFrontier(viaCreateHash);
    let next = 0;
    const reached = (): boolean => {
      for (let r = roots[next]; r !== undefined && r.size === f.size; r = roots[++next])
        if (!f.root().equals(r.root)) return false;
      return true;
    };
    if (!reached()) return false;
    // As verifyBundle: the entries the newest root covers split into items, the rest decoded as entries.
    const covered = last?.size ?? 0;
    let offset = end;
    const bounds = new Float64Array(SPLIT_CHUNK + 1);
    while (f.size < covered && offset < bundle.length) {
      const n = cborItemBounds(bundle, offset, ENTRY_CBOR, bounds, Math.min(SPLIT_CHUNK, covered - f.size));
      for (let k = 0; k < n; k++) {
        f.append(viaCreateHash(LEAF, bundle.subarray(bounds[k], bounds[k + 1])));
        if (!reached()) return false;
      }
      offset = bounds[n] as number;
    }
    for (const item of decodeCborSequence(bundle, ENTRY_CBOR, offset)) {
      if (entryOf(item.value).seq !== f.size) return false;
      f.append(viaCreateHash(LEAF, item.bytes));
      if (!reached()) return false;
    }
    return next === roots.length && f.size === size;
  } catch {
    return false;
  }
}

// ── 2. verify: timing ────────────────────────────────────────────────────────────────────────────────

/** The bundle with one byte of entry ENTRIES/2 changed: its last byte, inside a digest, so still an entry. */
function tamperEntry(built: Built): Uint8Array {
  const out = new Uint8Array(built.bundle); // a copy (exportBundle gives a Buffer, whose slice() is a view)
  const at = built.middle.offset + built.middle.length - 1;
  out[at] = (out[at] ?? 0) ^ 1;
  return out;
}

/** The bundle with the last byte of the first checkpoint's quote signature changed. */
function tamperQuote(bundle: Uint8Array): Uint8Array {
  const items = decodeCborSequence(bundle, { tags: [], maxBytes: 64 * 1024, maxDepth: 4 });
  items.next();
  const cp = items.next();
  if (cp.done || !Array.isArray(cp.value.value))
    throw new Error('audit-e2e bench: the bundle has no checkpoint');
  const [size, counter, body, quote, certificate] = cp.value.value as CborValue[];
  const ev = decodeBundle(quote as Uint8Array);
  const signature = ev.signature.slice();
  signature[signature.length - 1] = (signature[signature.length - 1] ?? 0) ^ 1;
  const item = encodeCbor([
    size as number,
    counter as number,
    body as string,
    encodeBundle({ ...ev, signature }),
    certificate as Uint8Array,
  ]);
  const { offset, bytes } = cp.value;
  return concatBytes([bundle.subarray(0, offset), item, bundle.subarray(offset + bytes.length)]);
}

async function verifySection(host: Host, built: Built): Promise<void> {
  const { bundle } = built;
  const ak = host.akSpki;
  const entryChanged = tamperEntry(built);
  const quoteChanged = tamperQuote(bundle);
  const ours = async (b: Uint8Array) => verifyBundle(b, ak);
  const good = await ours(bundle);
  const bad = [await ours(entryChanged), await ours(quoteChanged)];
  if (
    !good.ok ||
    good.size !== ENTRIES ||
    bad[0]?.code !== 'E_AUDIT_ROOT' ||
    bad[1]?.code !== 'E_AUDIT_CHECKPOINT'
  )
    throw new Error(
      `audit-e2e bench: verifyBundle: ${JSON.stringify([good, ...bad].map((v) => v.code ?? 'ok'))}`,
    );
  if (!baselineVerify(bundle, ak) || baselineVerify(entryChanged, ak) || baselineVerify(quoteChanged, ak))
    throw new Error(
      'audit-e2e bench: the node:crypto baseline does not tell the good bundle from the bad ones',
    );

  const cases: AsyncCase[] = [
    { name: 'agent/audit `verifyBundle` (wasm-core batches)', run: async () => (await ours(bundle)).size },
    { name: 'node:crypto baseline (same item split)', run: async () => baselineVerify(bundle, ak) },
    {
      name: '`verifyBundle` strict (`--strict`: every entry decoded)',
      run: async () => (await verifyBundle(bundle, ak, { strict: true })).size,
    },
    {
      name: '`readBundle` alone: the item split, no hashing or signatures',
      run: async () => {
        // As verifyBundle reads it: the covered entries as chunks of items, then the rest decoded.
        const read = readBundle(bundle);
        let n = 0;
        for (const chunk of read.items) n += chunk.count;
        for (const e of read.rest) n = e.seq + 1;
        return n;
      },
    },
  ];
  const samples = await sampleAsync(cases, VERIFY_ROUNDS);
  const t = samples.map(median);
  const base = t[1] ?? 0;
  table(
    `verify a bundle of ${count(ENTRIES)} entries, ${count(Math.ceil(ENTRIES / GROUP))} checkpoints (${(bundle.length / 1e6).toFixed(1)} MB); ${VERIFY_ROUNDS} rounds, medians`,
    ['implementation', 'median', 'entries / s', 'per entry', 'baseline / this'],
    cases.map((c, i) => {
      const ns = t[i] ?? 0;
      return [c.name, formatNs(ns), perSecond(ENTRIES, ns), formatNs(ns / ENTRIES), ratio(base, ns)];
    }),
  );
  const parse = t[3] ?? 0;
  const mine = t[0] ?? 0;
  const apart =
    parse < mine ? ratio(base - parse, mine - parse) : 'n/a (readBundle alone timed no faster than a verify)';
  // Each round's baseline time over the same round's verifyBundle time: paired under the same load.
  const paired = (samples[0] ?? []).map((ns, r) => ((samples[1]?.[r] ?? 0) / ns).toFixed(2));
  note(
    `Paired by round (baseline / verifyBundle): ${paired.join(', ')}; median ${median(paired.map(Number)).toFixed(2)}×.`,
  );
  note(
    `Target ≥ 4×: verifyBundle is ${ratio(base, mine)} the baseline; without the item split both share ` +
      `(readBundle alone subtracted from each), ${apart}. --strict costs ${ratio(t[2] ?? 0, mine)} the time ` +
      'of a verify by bytes.',
  );

  // The CLI once, as a process: tsx's start-up is in it, so `--help` is timed too.
  const file = join(host.dir, 'bundle.cbor');
  const pem = join(host.dir, 'ak.pem');
  await writeFile(file, bundle);
  await writeFile(pem, spkiToPem(ak));
  const cli = (args: string[]) => {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'agent/cli/main.ts', ...args], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, EXECGATE_STATE_DIR: join(host.dir, 'host') },
      maxBuffer: 1 << 20,
    });
    return { ns: Number(process.hrtime.bigint() - t0), r };
  };
  const help = cli(['--help']);
  const v = cli(['audit', 'verify', '--bundle', file, '--ak', pem, '--json']);
  const doc = v.r.status === 0 ? (JSON.parse(v.r.stdout) as { ok?: boolean; size?: number }) : undefined;
  if (doc?.ok !== true || doc.size !== ENTRIES)
    throw new Error(`audit-e2e bench: the CLI: exit ${v.r.status}: ${v.r.stderr}`);
  table(
    'the CLI as a process (node --import tsx agent/cli/main.ts), wall clock, once',
    ['command', 'wall', 'entries / s'],
    [
      [
        `\`execgate audit verify --bundle F --ak PEM --json\` (${count(ENTRIES)} entries)`,
        formatNs(v.ns),
        perSecond(ENTRIES, v.ns),
      ],
      ['`execgate --help` (process and tsx start-up)', formatNs(help.ns), '—'],
    ],
  );
}

// ── 3. Append throughput ─────────────────────────────────────────────────────────────────────────────

interface AppendCase {
  readonly name: string;
  /** Entries per transaction: 1 is `append`, more is `appendBatch`. */
  readonly group: number;
  readonly checkpoints: boolean;
  readonly entries: number;
}

/** One run of `c` on a fresh store in `dir`: its time and the checkpoints made. */
async function appendRun(host: Host, c: AppendCase, dir: string): Promise<{ ns: number; made: number }> {
  const inputs = Array.from({ length: c.entries }, (_, i) => realisticEntry(i));
  const store = await AuditStore.open(dir);
  try {
    const appendAll = async (after: () => Promise<void>): Promise<number> => {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < inputs.length; i += c.group) {
        if (c.group === 1) store.append(inputs[i] as EntryInput);
        else store.appendBatch(inputs.slice(i, i + c.group));
        await after();
      }
      return Number(process.hrtime.bigint() - t0);
    };
    if (!c.checkpoints) return { ns: await appendAll(async () => {}), made: 0 };
    return await withHostAk(host.swtpm.tcti, async (tpm, ak) => {
      let made = 0;
      const ns = await appendAll(async () => {
        if ((await checkpointIfDue(store, tpm, ak, { nvIndex: NV_INDEX, schedule: SCHEDULE })).made) made++;
      });
      return { ns, made };
    });
  } finally {
    store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function appendSection(host: Host): Promise<void> {
  const fs = execFileSync('df', ['-T', tmpdir()], { encoding: 'utf8' }).trim().split('\n').at(-1);
  note(`Stores in ${tmpdir()}: \`df -T\`: ${fs}`);
  const cases: AppendCase[] = [];
  for (const checkpoints of [false, true])
    for (const [name, group, entries] of [
      ['one transaction per entry (`append`)', 1, SINGLE_ENTRIES],
      ['`appendBatch` of 100', 100, GROUPED_ENTRIES],
      ['`appendBatch` of 1,000', 1000, GROUPED_ENTRIES],
    ] as const)
      cases.push({ name, group, checkpoints, entries });
  const runs = cases.map(() => [] as { ns: number; made: number }[]);
  for (let r = 0; r < APPEND_ROUNDS; r++)
    for (const [i, c] of cases.entries())
      runs[i]?.push(await appendRun(host, c, join(host.dir, `append-${r}-${i}`)));
  table(
    `append throughput, fresh store; ${APPEND_ROUNDS} rounds, medians; checkpoints: checkpointIfDue after each append or batch, schedule {entries: 1000, intervalSeconds: 600}`,
    ['case', 'checkpoints', 'entries', 'checkpoints made', 'entries / s', 'range over rounds', 'per entry'],
    cases.map((c, i) => {
      const ns = (runs[i] ?? []).map((x) => x.ns).sort((a, b) => a - b);
      const mid = ns[Math.floor(ns.length / 2)] ?? 0;
      return [
        c.name,
        c.checkpoints ? 'swtpm' : 'none',
        count(c.entries),
        String(runs[i]?.[0]?.made ?? 0),
        perSecond(c.entries, mid),
        `${perSecond(c.entries, ns.at(-1) ?? 0)} – ${perSecond(c.entries, ns[0] ?? 0)}`,
        formatNs(mid / c.entries),
      ];
    }),
  );
}

// ── 4. Concurrent appenders ──────────────────────────────────────────────────────────────────────────

/** PROCESSES appenders on one fresh store, started together: a row of the concurrency table. */
async function concurrentRun(host: Host, checkpoints: boolean): Promise<string[]> {
  const dir = join(host.dir, `concurrent-${checkpoints}`);
  // Made here, so that the children do not race to create it.
  (await AuditStore.open(dir)).close();
  const options = JSON.stringify({ dir, tcti: host.swtpm.tcti, count: PER_PROCESS, checkpoints });
  const children = Array.from({ length: PROCESSES }, () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/audit-e2e-appender.ts', options], {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    return { child, exited, lines };
  });
  for (const c of children)
    if ((await c.lines.next()).value !== 'ready') throw new Error('appender not ready');
  const t0 = process.hrtime.bigint();
  for (const c of children) c.child.stdin.write('go\n');
  const made: number[] = [];
  for (const c of children) {
    const line = await c.lines.next();
    made.push((JSON.parse(String(line.value)) as { made: number }).made);
    if ((await c.exited) !== 0) throw new Error('an appender failed');
  }
  const ns = Number(process.hrtime.bigint() - t0);
  const store = await AuditStore.open(dir, { readonly: true });
  try {
    const total = PROCESSES * PER_PROCESS;
    if (store.size() !== total) throw new Error(`concurrent log: ${store.size()} entries, not ${total}`);
    let check = 'all entries there';
    if (checkpoints) {
      const verdict = await withHostAk(host.swtpm.tcti, async (tpm) =>
        verifyAuditLogAsync({
          entries: store.iterate(),
          checkpoints: storedCheckpoints(store),
          akSpki: host.akSpki,
          nvIndex: NV_INDEX,
          tpmCounter: await readCounter(tpm, NV_INDEX),
        }),
      );
      if (!verdict.ok || verdict.size !== total) throw new Error(`concurrent log: ${verdict.code}`);
      check = 'verify ok (with the TPM counter)';
    }
    return [
      checkpoints ? 'checkpointIfDue (swtpm)' : 'none',
      count(total),
      checkpoints ? `${made.reduce((a, b) => a + b, 0)} (${made.join(' + ')})` : '—',
      String(store.checkpoints().length),
      formatNs(ns),
      perSecond(total, ns),
      check,
    ];
  } finally {
    store.close();
  }
}

async function concurrentSection(host: Host): Promise<void> {
  const rows = [await concurrentRun(host, false), await concurrentRun(host, true)];
  table(
    `${PROCESSES} appender processes × ${count(PER_PROCESS)} entries, one transaction each, started together`,
    ['checkpoints', 'entries', 'made (per process)', 'stored', 'wall', 'entries / s', 'check'],
    rows,
  );
}

const loadavg = (): string => readFileSync('/proc/loadavg', 'utf8').trim();

export async function main(): Promise<void> {
  note(`load average at start: ${loadavg()}; ${count(ENTRIES)} entries`);
  const host = await startHost();
  try {
    const built = await build(host);
    note(`load average before verify: ${loadavg()}`);
    await verifySection(host, built);
    if (VERIFY_ONLY) return;
    note(`load average before append: ${loadavg()}`);
    await appendSection(host);
    await concurrentSection(host);
  } finally {
    await host.swtpm.stop();
    await rm(host.dir, { recursive: true, force: true });
  }
}
