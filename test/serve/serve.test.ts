// SPDX-License-Identifier: Apache-2.0
// `execgate serve` (issue 15) as a real process against swtpm, on a host initialised by `host init`:
// it refuses a host never initialised; it logs JSON lines, appends heartbeats whose quotes verify (our
// verifier through `audit verify`, and tpm2_checkquote) and makes checkpoints on the [audit] schedule;
// its metrics endpoint counts the verdicts of `execgate exec` runs; it reloads a changed policy and
// keeps the old one when the new one is broken or carries an older revocation list; it survives swtpm
// stopped for a few seconds (one tpm_error line, then catches up); SIGTERM ends it with exit 0 in
// under a second, also while a TPM that never answers holds its work.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pemToSpki } from '../../agent/attest/quote.js';
import { decodeEntry, isHeartbeat } from '../../agent/audit/entry.js';
import { heartbeatNonce } from '../../agent/audit/heartbeat.js';
import { AuditStore } from '../../agent/audit/store.js';
import { toHex } from '../../agent/encoding/bytes.js';
import { parseSelection } from '../../agent/tpm/pcr-selection.js';
import { type SwtpmInstance, startSwtpm } from '../../swtpm/harness.js';
import { cli } from '../cli/helpers.js';
import { type GateHost, gateHost, MAIN, runProcess } from '../gate/gate-host.js';
import { checkquote } from '../helpers/checkquote.js';
import { startFakeTpm } from '../helpers/fake-tpm.js';

let swtpm: SwtpmInstance;
let swtpmDir: string;
let h: GateHost;
let metricsPort: number;

/** A TCP port nothing listens on now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

const SERVE_POLICY = () =>
  `[audit]\ncheckpoint_interval = "1s"\n[serve]\nheartbeat = "1s"\nmetrics = "127.0.0.1:${metricsPort}"\n`;

beforeAll(async () => {
  swtpmDir = await mkdtemp(join(tmpdir(), 'execgate-serve-swtpm-'));
  swtpm = await startSwtpm({ stateDir: swtpmDir });
  h = await gateHost(swtpm);
  metricsPort = await freePort();
  await h.writePolicy({ extra: SERVE_POLICY() });
});

afterAll(async () => {
  serving?.child.kill('SIGKILL');
  await swtpm?.stop();
  await h?.cleanup();
  await rm(swtpmDir, { recursive: true, force: true });
});

/** One JSON line of the service's log. */
type LogLine = Record<string, unknown> & { event?: string; level: string };

/** A running `execgate serve`: its log lines so far, and a wait for the next one that matches. */
interface Serving {
  readonly child: ChildProcess;
  readonly lines: LogLine[];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the first line from index `from` on for which `match` holds. */
  waitFor(match: (l: LogLine) => boolean, opts?: { from?: number; timeoutMs?: number }): Promise<LogLine>;
}
let serving: Serving | undefined;

function startServe(tcti = swtpm.tcti): Serving {
  const child = spawn(
    process.execPath,
    [...MAIN, '--tcti', tcti, 'serve', '--policy', h.policy, '--log-level', 'debug'],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } },
  );
  const lines: LogLine[] = [];
  const waiters = new Set<() => void>();
  let rest = '';
  child.stderr.on('data', (d: Buffer) => {
    rest += d.toString();
    const parts = rest.split('\n');
    rest = parts.pop() ?? '';
    for (const p of parts) {
      try {
        lines.push(JSON.parse(p) as LogLine);
      } catch {
        lines.push({ level: 'not-json', text: p });
      }
    }
    for (const w of waiters) w();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    lines,
    exited,
    waitFor(match, { from = 0, timeoutMs = 20_000 } = {}) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = lines.slice(from).find(match);
          if (found === undefined) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(found);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `no matching log line in ${timeoutMs} ms; log:\n${lines.map((l) => JSON.stringify(l)).join('\n')}`,
            ),
          );
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
  };
}

const event = (name: string) => (l: LogLine) => l.event === name;

async function scrape(): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
  expect(r.status).toBe(200);
  return r.text();
}

/** The value of one sample of the Prometheus text, or undefined. */
function sample(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

// Generous bounds: each waits for the service to do something, on a machine the whole suite loads.
describe('execgate serve', { timeout: 60_000 }, () => {
  it('refuses a host never initialised: exit 2, E_AK_MISSING, and says to run host init', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'execgate-serve-none-'));
    try {
      const policy = join(dir, 'policy.toml');
      await mkdir(join(dir, 'state'), { mode: 0o700 });
      await writeFile(policy, '[host]\nstate_dir = "state"\n', { mode: 0o600 });
      const r = await runProcess(['--tcti', swtpm.tcti, 'serve', '--policy', policy]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(
        /^execgate: E_AK_MISSING: .*never initialised; run execgate host init --policy /,
      );
      expect(r.stderr).not.toMatch(/\n {4}at /); // no stack trace
      const help = await cli(['serve', '--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toMatch(/Example:\n {2}execgate serve --policy /);
      expect((await cli(['serve', '--log-level', 'loud'])).code).toBe(2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('logs its start, appends heartbeats that verify, and checkpoints on the [audit] schedule', async () => {
    serving = startServe();
    const start = await serving.waitFor(event('start'));
    expect(start).toMatchObject({
      level: 'info',
      policy: h.policy,
      stateDir: h.stateDir,
      ak: h.akName,
      heartbeatSeconds: 1,
      pcrs: 'sha256:0-7',
      metrics: `127.0.0.1:${metricsPort}`,
    });
    // checkpoint_interval 1s with a heartbeat every second: a checkpoint every second or two (one is due
    // once the oldest entry it would cover is 1 s old, and the newest heartbeat is 0 s old).
    const first = await serving.waitFor(event('checkpoint'));
    const second = await serving.waitFor((l) => l.event === 'checkpoint' && l !== first);
    expect(Number(second.size)).toBeGreaterThan(Number(first.size));
    expect(BigInt(second.counter as string)).toBe(BigInt(first.counter as string) + 1n);
    expect(second.root).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    const gap = Date.parse(second.time as string) - Date.parse(first.time as string);
    expect(gap).toBeGreaterThanOrEqual(900);
    expect(gap).toBeLessThan(5000);

    // Our verifier: every heartbeat's quote under the pinned AK at its place (and the checkpoints).
    const verified = await cli(['--tcti', swtpm.tcti, 'audit', 'verify', '--policy', h.policy]);
    expect(verified.stderr).toBe('');
    expect(verified.code).toBe(0);

    // tpm2_checkquote on the newest heartbeat, with the nonce recomputed from the entry before it.
    const store = await AuditStore.open(h.stateDir, { readonly: true });
    try {
      const stored = [...store.iterate()];
      const at = stored.findLastIndex((e) => isHeartbeat(decodeEntry(e.bytes)));
      const hb = decodeEntry(stored[at]?.bytes ?? new Uint8Array());
      if (!isHeartbeat(hb) || at < 1) throw new Error('no heartbeat after the first entry');
      const nonce = heartbeatNonce(at, stored[at - 1]?.leaf);
      const dir = await mkdtemp(join(tmpdir(), 'execgate-serve-cq-'));
      try {
        const id = JSON.parse(
          (await cli(['--tcti', swtpm.tcti, 'host', 'identity', '--policy', h.policy, '--json'])).stdout,
        ) as { akPublicPem: string };
        const check = await checkquote(dir, {
          ...hb,
          selection: parseSelection(hb.pcrs),
          akSpki: pemToSpki(id.akPublicPem),
        });
        expect(await check(toHex(nonce))).toBe(0);
        expect(await check(toHex(heartbeatNonce(at + 1, stored[at]?.leaf)))).not.toBe(0);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    } finally {
      store.close();
    }
  });

  it('the metrics endpoint counts the verdicts of execgate exec runs, once each', async () => {
    if (serving === undefined) throw new Error('serve is not running');
    const before = await scrape();
    expect(sample(before, 'execgate_heartbeats_total')).toBeGreaterThan(0);
    expect(sample(before, 'execgate_checkpoints_total')).toBeGreaterThan(0);
    expect(sample(before, 'execgate_tpm_errors_total')).toBe(0);
    expect(sample(before, 'execgate_checkpoint_age_seconds')).toBeLessThan(5);
    const allows = () => sample(before, 'execgate_verdicts_total{verdict="allow",reason="OK"}');
    expect(allows()).toBeUndefined();
    const { path } = await h.script('counted');
    const one = await h.issue(path);
    const two = await h.issue(path);
    expect((await h.exec(['--artifact', one, '--', path])).code).toBe(0);
    expect((await h.exec(['--artifact', two, '--', path])).code).toBe(0);
    expect((await h.exec(['--artifact', one, '--', path])).code).toBe(126); // E_REPLAY
    const after = await scrape();
    expect(sample(after, 'execgate_verdicts_total{verdict="allow",reason="OK"}')).toBe(2);
    expect(sample(after, 'execgate_verdicts_total{verdict="deny",reason="E_REPLAY"}')).toBe(1);
    // All three were judged by the service through its gate socket (the client asked; none was declined).
    const judged = (t: string) =>
      (sample(t, 'execgate_gate_latency_seconds_count{verdict="allow"}') ?? 0) +
      (sample(t, 'execgate_gate_latency_seconds_count{verdict="deny"}') ?? 0);
    expect(judged(after) - judged(before)).toBe(3);
    expect(serving.lines.filter(event('gate-declined'))).toEqual([]);
    // A second scrape counts nothing twice.
    expect(sample(await scrape(), 'execgate_verdicts_total{verdict="allow",reason="OK"}')).toBe(2);
    expect((await fetch(`http://127.0.0.1:${metricsPort}/other`)).status).toBe(404);
  });

  it('reloads a changed policy; keeps the old one when the new one is broken or its revocation list older', async () => {
    if (serving === undefined) throw new Error('serve is not running');
    const list = join(h.dir, 'revoked.cbor');
    const revoke = async (...args: string[]) => {
      const r = await cli(['revoke', '--key', h.issuerKey, ...args, '--out', list, '--force']);
      expect(r.code, r.stderr).toBe(0);
    };
    const cti = 'ab'.repeat(16);
    await revoke('--issuer', 'ops', '--cti', cti);
    await writeFile(`${list}.1`, await readFile(list));
    await revoke('--list', list, '--cti', 'cd'.repeat(16)); // sequence 2
    const mark = serving.lines.length;
    await h.writePolicy({ extra: `${SERVE_POLICY()}[revocation]\nlists = ["revoked.cbor"]\n` });
    const reload = await serving.waitFor(event('reload'), { from: mark });
    expect(reload.revocationLists).toEqual([{ file: list, seq: 2 }]);
    // The older list put back in its place: refused, the newer one stays in force.
    const mark2 = serving.lines.length;
    await rm(list);
    await writeFile(list, await readFile(`${list}.1`), { mode: 0o600 });
    const refused = await serving.waitFor(event('reload_failed'), { from: mark2 });
    expect(refused).toMatchObject({ level: 'error', code: 'E_CONFIG' });
    expect(refused.err).toMatch(/older than list 2 in force/);
    // While the files in place do not load, the service's verdicts are E_CONFIG: never the old policy's allow.
    const { path: held, marker } = await h.script('while-refused');
    const denied = await h.exec(['--artifact', await h.issue(held), '--', held]);
    expect(denied.code).toBe(126);
    expect(denied.stderr).toMatch(/^execgate: denied: E_CONFIG: .*older than list 2 in force/);
    expect(await readFile(marker).catch(() => undefined)).toBeUndefined();
    // A policy that is not TOML: refused, logged once, and the service carries on.
    const mark3 = serving.lines.length;
    await writeFile(h.policy, '[host\n', { mode: 0o600 });
    await serving.waitFor(event('reload_failed'), { from: mark3 });
    await serving.waitFor(event('heartbeat'), { from: serving.lines.length });
    expect(serving.lines.slice(mark3).filter(event('reload_failed'))).toHaveLength(1);
    await h.writePolicy({ extra: SERVE_POLICY() });
    await serving.waitFor(event('reload'), { from: mark3 });
  });

  it('survives swtpm stopped for a few seconds: one tpm_error line, retries, then catches up', async () => {
    if (serving === undefined) throw new Error('serve is not running');
    const port = swtpm.port;
    const mark = serving.lines.length;
    swtpm.kill();
    await swtpm.exited;
    const down = await serving.waitFor(event('tpm_error'), { from: mark });
    expect(down.level).toBe('error');
    expect(down.code).toMatch(/^E_TPM_(UNAVAILABLE|PROTOCOL)$/); // refused, or cut off mid-response
    await sleep(1500);
    expect(serving.lines.slice(mark).filter(event('tpm_error'))).toHaveLength(1);
    expect(serving.lines.slice(mark).filter(event('retry')).length).toBeGreaterThan(1);
    swtpm = await startSwtpm({ stateDir: swtpmDir, ...(port === undefined ? {} : { port }) });
    expect(swtpm.tcti).toBe(h.tcti);
    const back = await serving.waitFor(event('tpm_recovered'), { from: mark });
    expect(Number(back.failures)).toBeGreaterThan(1);
    expect(Number(back.downSeconds)).toBeGreaterThan(1.5);
    // Caught up: a heartbeat and a checkpoint covering what was appended while the TPM was away.
    const at = serving.lines.indexOf(back);
    await serving.waitFor(event('heartbeat'), { from: at });
    await serving.waitFor(event('checkpoint'), { from: at });
    const m = await scrape();
    expect(sample(m, 'execgate_tpm_errors_total')).toBeGreaterThan(1);
    const verified = await cli(['--tcti', swtpm.tcti, 'audit', 'verify', '--policy', h.policy]);
    expect(verified.stderr).toBe('');
    expect(verified.code).toBe(0);
  });

  it('SIGTERM: exits 0 within a second and logs stop; SIGINT too', async () => {
    if (serving === undefined) throw new Error('serve is not running');
    const s = serving;
    const t0 = performance.now();
    s.child.kill('SIGTERM');
    const { code, signal } = await s.exited;
    const ms = performance.now() - t0;
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(ms).toBeLessThan(1000);
    expect(s.lines.at(-1)).toMatchObject({ event: 'stop', signal: 'SIGTERM', level: 'info' });
    expect(s.lines.filter((l) => l.level === 'not-json')).toEqual([]);
    serving = undefined;
    console.log(`serve: SIGTERM to exit ${ms.toFixed(0)} ms`);
    // SIGINT (Ctrl-C in a terminal) the same way.
    const again = startServe();
    await again.waitFor(event('start'));
    again.child.kill('SIGINT');
    expect(await again.exited).toEqual({ code: 0, signal: null });
    expect(again.lines.at(-1)).toMatchObject({ event: 'stop', signal: 'SIGINT' });
  });

  it('SIGTERM while the TPM does not answer: the stalled work is cut off, exit 0 within a second', async () => {
    const silent = await startFakeTpm(() => undefined); // takes each command, never answers
    try {
      const s = startServe(silent.tcti);
      await s.waitFor(event('start'));
      for (let i = 0; silent.commands.length === 0 && i < 200; i++) await sleep(10);
      expect(silent.commands.length).toBeGreaterThan(0); // the first heartbeat is waiting on the TPM
      const t0 = performance.now();
      s.child.kill('SIGTERM');
      const exit = await s.exited;
      const ms = performance.now() - t0;
      expect(exit).toEqual({ code: 0, signal: null });
      expect(ms).toBeLessThan(1000);
      expect(s.lines.slice(-2)).toMatchObject([
        { event: 'stop_cut', level: 'warn' },
        { event: 'stop', signal: 'SIGTERM' },
      ]);
      console.log(`serve: SIGTERM to exit with the TPM stalled ${ms.toFixed(0)} ms`);
    } finally {
      await silent.close();
    }
  });
});
