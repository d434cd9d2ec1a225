// SPDX-License-Identifier: Apache-2.0
// Child appenders (audit-appender.ts) for the crash and concurrency tests, and the check every test
// runs on the log they leave: every entry a child reported is there with its bytes and leaf intact,
// sequence numbers are dense from 0, and each entry's bytes decode to an entry carrying its own seq.
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildSync } from 'esbuild';
import { expect } from 'vitest';
import { decodeVerdict, leafHash } from '../../agent/audit/entry.js';
import { AuditError } from '../../agent/audit/errors.js';
import { AuditStore } from '../../agent/audit/store.js';
import { fromHex, toHex } from '../../agent/encoding/bytes.js';

const ROOT = join(import.meta.dirname, '../..');

/**
 * audit-appender.ts bundled by esbuild (its packages left to node_modules) into
 * .tmp/audit-appender/<SHA-256 of the bundle>.mjs, written unless there already (through a rename, so a
 * file bundling at the same time never runs half a file), older bundles removed. A child then starts in
 * ~0.15 s of CPU instead of tsx's ~0.5 s, which the crash and concurrency tests pay for every child.
 */
function bundledAppender(): string {
  const [out] = buildSync({
    entryPoints: [join(ROOT, 'test/helpers/audit-appender.ts')],
    bundle: true,
    packages: 'external',
    format: 'esm',
    platform: 'node',
    target: 'node20',
    write: false,
    logLevel: 'error',
  }).outputFiles;
  if (out === undefined) throw new Error('esbuild wrote no audit-appender bundle');
  const dir = join(ROOT, '.tmp', 'audit-appender');
  const name = `${createHash('sha256').update(out.contents).digest('hex')}.mjs`;
  const path = join(dir, name);
  if (!existsSync(path)) {
    mkdirSync(dir, { recursive: true });
    const writing = `${path}.${process.pid}.tmp`;
    writeFileSync(writing, out.contents);
    renameSync(writing, path);
    for (const old of readdirSync(dir))
      if (/^[0-9a-f]{64}\.mjs$/.test(old) && old !== name) rmSync(join(dir, old), { force: true });
  }
  return path;
}

const APPENDER = bundledAppender();

export interface AppenderOptions {
  readonly dir: string;
  readonly until?: number;
  readonly count?: number;
  readonly waitGo?: boolean;
  readonly cti?: string;
  readonly uses?: number;
  readonly verdictEvery?: number;
}

/** One report line of a child: the seq it appended and what kind of append it was. */
export interface Report {
  readonly seq: number;
  readonly kind: '-' | 'a' | 'd';
}

export interface Appender {
  readonly child: ChildProcess;
  /** Every append the child reported so far. */
  readonly reports: Report[];
  /** Resolves when the child has opened the store (rejects if it exits first). */
  readonly ready: Promise<void>;
  /** Resolves when the child has exited, with its exit code or signal, and its stderr. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

/** Starts one appender child (node, the bundled audit-appender.ts) with `opts`. */
export function startAppender(opts: AppenderOptions): Appender {
  const child = spawn(process.execPath, [APPENDER, JSON.stringify(opts)], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const reports: Report[] = [];
  let stderr = '';
  let partial = '';
  let onReady: () => void = () => {};
  let onEarlyExit: (e: Error) => void = () => {};
  const ready = new Promise<void>((res, rej) => {
    onReady = res;
    onEarlyExit = rej;
  });
  // A test that kills the child before it is ready does not wait on `ready`.
  ready.catch(() => {});
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (line === 'ready') {
        onReady();
        continue;
      }
      const m = /^(\d+) ([-ad])$/.exec(line);
      if (!m) throw new Error(`appender: unexpected line ${JSON.stringify(line)}`);
      reports.push({ seq: Number(m[1]), kind: m[2] as Report['kind'] });
    }
  });
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>(
    (res) => {
      // 'close' comes after stdout has ended: every line the child wrote has been read by then.
      child.on('close', (code, signal) => {
        onEarlyExit(new Error(`appender exited (${code ?? signal}) before it was ready: ${stderr}`));
        res({ code, signal, stderr });
      });
    },
  );
  return { child, reports, ready, exited };
}

/** What checkLog found. */
export interface LogSummary {
  readonly size: number;
  /** Entries that record an allowed use of the `cti` given to checkLog. */
  readonly allows: number;
  /** The cti's counter of spent uses, as stored (0 when it has none). */
  readonly used: number;
}

/**
 * Checks the log in `dir` (opened read-only, as `audit verify` would after a crash) against what the
 * children reported; with `cti` (hex), also counts its allowed uses in the log and its stored counter.
 */
export async function checkLog(dir: string, reported: readonly Report[], cti?: string): Promise<LogSummary> {
  let store: AuditStore;
  try {
    store = await AuditStore.open(dir, { readonly: true });
  } catch (e) {
    // A child killed before its first append may have left no log (nor its directory), or an empty database file (killed
    // between creating it and committing the schema): fine while nothing was reported.
    if (
      reported.length === 0 &&
      e instanceof AuditError &&
      /no audit log|ENOENT|does not exist/.test(e.message)
    )
      return { size: 0, allows: 0, used: 0 };
    throw e;
  }
  try {
    const size = store.size();
    const present = new Set<number>();
    let expected = 0;
    let allows = 0;
    for (const e of store.iterate()) {
      if (e.seq !== expected) expect.fail(`seq ${expected} is missing (next present: ${e.seq})`);
      expected++;
      if (toHex(leafHash(e.bytes)) !== toHex(e.leaf))
        expect.fail(`entry ${e.seq}: leaf does not match its bytes`);
      const entry = decodeVerdict(e.bytes);
      if (entry.seq !== e.seq) expect.fail(`entry ${e.seq}: its bytes carry another seq`);
      if (
        cti !== undefined &&
        entry.cti !== undefined &&
        toHex(entry.cti) === cti &&
        entry.verdict === 'allow'
      )
        allows++;
      present.add(e.seq);
    }
    expect(expected).toBe(size);
    for (const r of reported) if (!present.has(r.seq)) expect.fail(`reported seq ${r.seq} is not in the log`);
    const used = cti === undefined ? 0 : (store.uses(fromHex(cti))?.used ?? 0);
    return { size, allows, used };
  } finally {
    store.close();
  }
}

/**
 * A directory for logs the crash and concurrency tests write: tmpfs (/dev/shm) when there is one. A
 * SIGKILL loses nothing the kernel already holds, so these tests do not need the disk, and tmpfs takes
 * the fsync of every commit (synchronous=FULL: 1 to 3 ms each on this machine's disk) off their time.
 * The slow suite runs them on the disk.
 */
export function fastTmpdir(): string {
  try {
    return statSync('/dev/shm').isDirectory() ? '/dev/shm' : tmpdir();
  } catch {
    return tmpdir();
  }
}

export interface CrashOptions {
  readonly dir: string;
  /** Kills to make (at least). */
  readonly kills: number;
  /** Each child appends until the log holds this many entries. */
  readonly until: number;
  /** Most milliseconds between a child's "ready" and its SIGKILL. */
  readonly maxDelayMs: number;
  /** Every `earlyEvery`-th child is killed at a moment counted from its start instead, maybe before it is ready. */
  readonly earlyEvery: number;
  /** Verdicts consuming uses of one cti: every `verdictEvery`-th append, the cti allowing `uses`. */
  readonly verdictEvery: number;
  readonly uses: number;
  /** Milliseconds to wait (seeded), from test/helpers/random.ts. */
  readonly delay: (maxMs: number) => number;
}

/**
 * Starts appenders on one log and SIGKILLs each at a seeded moment, `kills` times, checking the log
 * after each (checkLog) and that the use counter always equals the allowed uses the log records (the
 * count and the entry commit together or not at all). Then lets one appender run to `until`.
 *
 * The children other than the early ones are started ahead, a few at a time, and wait with the store
 * open for "go", sent after the previous kill has been checked: the CPU a child takes to start overlaps
 * the rounds instead of adding to each.
 */
/**
 * The moments (ms from its start) an early child is killed at: a bundled child opens the store after
 * ~0.15 s on an idle machine and later under load, so a good share of early kills land before or while
 * it does, and the rest soon after.
 */
const EARLY_MS = 200;

export async function crashRounds(
  o: CrashOptions,
): Promise<{ size: number; kills: number; reports: number }> {
  const cti = '00112233445566778899aabbccddeeff';
  const opts = { dir: o.dir, until: o.until, cti, uses: o.uses, verdictEvery: o.verdictEvery };
  const AHEAD = 3;
  const reports: Report[] = [];
  const waiting: Appender[] = [];
  let kills = 0;
  try {
    for (let round = 0; kills < o.kills; round++) {
      let app: Appender;
      if (round % o.earlyEvery === 0) {
        app = startAppender(opts);
        await sleep(o.delay(EARLY_MS));
      } else {
        // Start ahead only the children the remaining rounds will use (if every round kills).
        const rounds = Array.from({ length: o.kills - kills }, (_, i) => round + i);
        const needed = Math.min(AHEAD, rounds.filter((r) => r % o.earlyEvery !== 0).length);
        while (waiting.length < needed) waiting.push(startAppender({ ...opts, waitGo: true }));
        app = waiting.shift() as Appender;
        await Promise.race([app.ready, app.exited]);
        app.child.stdin?.end('go\n');
        await sleep(o.delay(o.maxDelayMs));
      }
      const killed =
        app.child.exitCode === null && app.child.signalCode === null && app.child.kill('SIGKILL');
      const { code, signal, stderr } = await app.exited;
      if (killed) {
        kills++;
        expect(signal, stderr).toBe('SIGKILL');
      } else expect(code, stderr).toBe(0);
      reports.push(...app.reports);
      const log = await checkLog(o.dir, reports, cti);
      expect(log.allows).toBe(log.used);
      expect(log.used).toBeLessThanOrEqual(o.uses);
      expect(app.reports.filter((r) => r.kind === 'a').length).toBeLessThanOrEqual(log.allows);
      if (log.size >= o.until)
        throw new Error(`the log reached ${o.until} entries before ${o.kills} kills: raise until`);
    }
  } finally {
    for (const w of waiting) w.child.kill('SIGKILL');
    await Promise.all(waiting.map((w) => w.exited));
  }
  const last = startAppender(opts);
  const { code, stderr } = await last.exited;
  expect(code, stderr).toBe(0);
  reports.push(...last.reports);
  const log = await checkLog(o.dir, reports, cti);
  expect(log.size).toBe(o.until);
  expect(log.allows).toBe(log.used);
  return { size: log.size, kills, reports: reports.length };
}

/**
 * Runs `processes` appenders at once on one log (each waits for "go" after opening it, and they race to
 * create it), `count` appends each, every tenth a verdict consuming a use of one cti that allows `uses`;
 * checks that all appends are there with distinct dense seqs, each process saw its own in increasing
 * order, and exactly `uses` verdicts were allowed.
 */
export async function concurrentAppenders(
  dir: string,
  processes: number,
  count: number,
  uses: number,
): Promise<void> {
  const cti = 'ffeeddccbbaa99887766554433221100';
  const apps = Array.from({ length: processes }, () =>
    startAppender({ dir, count, waitGo: true, cti, uses, verdictEvery: 10 }),
  );
  await Promise.all(apps.map((a) => a.ready));
  for (const a of apps) a.child.stdin?.end('go\n');
  for (const { code, stderr } of await Promise.all(apps.map((a) => a.exited))) expect(code, stderr).toBe(0);
  const reports = apps.flatMap((a) => a.reports);
  expect(reports).toHaveLength(processes * count);
  const seqs = reports.map((r) => r.seq).sort((a, b) => a - b);
  expect(seqs).toEqual([...Array(processes * count).keys()]);
  for (const a of apps) {
    const own = a.reports.map((r) => r.seq);
    expect(own).toEqual([...own].sort((x, y) => x - y));
  }
  expect(reports.filter((r) => r.kind === 'a')).toHaveLength(uses);
  const log = await checkLog(dir, reports, cti);
  expect(log).toEqual({ size: processes * count, allows: uses, used: uses });
}

/** The log in `dir` through the audit verifier itself (no checkpoints here: leaves, order, density). */
export async function verifiedSize(dir: string): Promise<number> {
  const { AuditStore } = await import('../../agent/audit/store.js');
  const { verifyAuditLogAsync } = await import('../../agent/audit/log.js');
  const store = await AuditStore.open(dir, { readonly: true });
  try {
    const v = await verifyAuditLogAsync({
      entries: store.iterate(),
      checkpoints: [],
      akSpki: new Uint8Array(),
    });
    if (!v.ok) throw new Error(`audit verify failed: ${JSON.stringify(v)}`);
    return v.size;
  } finally {
    store.close();
  }
}
