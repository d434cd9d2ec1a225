// SPDX-License-Identifier: Apache-2.0
// `execgate doctor` (issue 15) as a real process against swtpm, on one gated host (shareGateHost) with an
// audit log and a checkpoint: every check passes on the healthy host; each broken thing (the TPM down,
// the state directory 0777, a policy naming a missing key file, the audit log tampered, the AK evicted)
// gives its own FAIL line, its dependants skipped, and exit 9. The destructive cases run last, the
// eviction after the tamper. The clock check's bounds run in-process with a clock given to it.

import { chmod } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeEntry, encodeEntry } from '../../agent/audit/entry.js';
import { openDatabase } from '../../agent/audit/sqlite.js';
import { AUDIT_DB_FILE, AuditStore } from '../../agent/audit/store.js';
import { makeContext } from '../../agent/cli/context.js';
import { CHECK_IDS, type CheckResult, runChecks, SOURCE_DATE_MS } from '../../agent/cli/doctor-checks.js';
import { EXIT } from '../../agent/cli/exit.js';
import { cli } from '../cli/helpers.js';
import { type GateHost, runProcess, shareGateHost } from '../gate/gate-host.js';
import { useSwtpm } from '../helpers/swtpm.js';

const swtpm = useSwtpm();
let h: GateHost;
shareGateHost(swtpm, async (host) => {
  h = host;
  // An audit log with entries and a checkpoint by the pinned AK, so the audit check has work to do.
  const store = await AuditStore.open(h.stateDir);
  try {
    for (let i = 0; i < 3; i++)
      store.append({ time: Date.now(), verdict: 'deny', reason: 'E_SIGNATURE', pid: i });
  } finally {
    store.close();
  }
  const r = await cli(['--tcti', h.tcti, 'audit', 'checkpoint', '--policy', h.policy]);
  expect(r.code, r.stderr).toBe(0);
});

const doctor = (args: readonly string[] = [], tcti = h.tcti) =>
  runProcess(['--tcti', tcti, 'doctor', '--policy', h.policy, ...args]);

/** The report's line for check `id`. */
function lineOf(stdout: string, id: string): string {
  const line = stdout.split('\n').find((l) => l.slice(5).split(' ')[0] === id);
  if (line === undefined) throw new Error(`no line for ${id} in:\n${stdout}`);
  return line;
}

/** Exit 9, a FAIL line for `id` matching `detail`, and the summary saying so. */
async function failsAt(id: string, detail: RegExp, args: readonly string[] = [], tcti?: string) {
  const r = await doctor(args, tcti);
  expect(r.code, r.stdout + r.stderr).toBe(EXIT.UNHEALTHY);
  expect(r.stderr).toBe('');
  expect(lineOf(r.stdout, id)).toMatch(new RegExp(`^FAIL ${id} +`));
  expect(lineOf(r.stdout, id)).toMatch(detail);
  expect(r.stdout.trimEnd().split('\n').at(-1)).toMatch(/^doctor: [1-9]\d* failed, \d+ skipped/);
  return r.stdout;
}

describe('execgate doctor', () => {
  it('--help: the usage, every check id and an example; exit 0', async () => {
    const r = await cli(['doctor', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: execgate doctor \[--policy FILE\] \[--state-dir DIR\] \[--json\]/);
    expect(r.stdout).toContain(`Check ids: ${CHECK_IDS.join(' ')}.`);
    expect(r.stdout).toMatch(/Example:\n {2}execgate doctor --policy /);
    const bad = await cli(['doctor', '--state-dir', '/x', 'now']);
    expect(bad.code).toBe(EXIT.USAGE);
    expect(bad.stderr).toMatch(/^execgate: E_USAGE: unknown argument "now"\nUsage: execgate doctor /);
  });

  it('passes on a healthy host: every check ok (or warn), exit 0', async () => {
    const r = await doctor();
    expect(r.stderr).toBe('');
    expect(r.code, r.stdout).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(CHECK_IDS.length + 1);
    for (const id of CHECK_IDS) expect(lineOf(r.stdout, id)).toMatch(new RegExp(`^(ok  |warn) ${id} `));
    expect(lineOf(r.stdout, 'tpm')).toMatch(/swtpm:host=127\.0\.0\.1,port=\d+, banks .*sha256/);
    expect(lineOf(r.stdout, 'ak')).toContain(`Name ${h.akName}`);
    expect(lineOf(r.stdout, 'audit')).toMatch(
      /^ok {3}audit +3 entries, 1 checkpoint, .*the TPM's counter agrees/,
    );
    // swtpm without an EK certificate in NV: advice, not a failure.
    expect(lineOf(r.stdout, 'ek-cert')).toMatch(
      /^warn ek-cert +no rsa2048 EK certificate in NV.*: get the certificate/,
    );
    expect(lines.at(-1)).toMatch(/^doctor: all 11 checks pass/);
  });

  it('--json: {ok, checks: [{id, status, detail, remedy}]} in check order', async () => {
    const r = await doctor(['--json']);
    expect(r.code, r.stdout).toBe(0);
    const doc = JSON.parse(r.stdout) as { ok: boolean; checks: CheckResult[] };
    expect(Object.keys(doc)).toEqual(['ok', 'checks']);
    expect(doc.ok).toBe(true);
    expect(doc.checks.map((c) => c.id)).toEqual([...CHECK_IDS]);
    for (const c of doc.checks) {
      expect(Object.keys(c)).toEqual(['id', 'status', 'detail', 'remedy']);
      expect(['ok', 'warn']).toContain(c.status);
      expect(typeof c.detail).toBe('string');
      expect(c.remedy === null).toBe(c.status === 'ok');
    }
  });

  it('the TPM down: FAIL tpm with what to do, its dependants skipped, the rest still checked', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await new Promise((resolve) => server.close(resolve));
    const out = await failsAt(
      'tpm',
      /E_TPM_UNAVAILABLE: .*: start the TPM at swtpm:host=127\.0\.0\.1,port=\d+/,
      [],
      `swtpm:host=127.0.0.1,port=${port}`,
    );
    for (const id of ['ak', 'ek-cert', 'nv'])
      expect(lineOf(out, id)).toMatch(new RegExp(`^skip ${id} +skipped because tpm failed$`));
    expect(lineOf(out, 'audit')).toMatch(/^skip audit +skipped because ak was skipped and nv was skipped$/);
    for (const id of ['policy', 'state-dir', 'keys', 'trust', 'clock'])
      expect(lineOf(out, id)).toMatch(/^ok {3}/);
  });

  it('the state directory 0777: FAIL state-dir (chmod 700), the AK not judged on it', async () => {
    await chmod(h.stateDir, 0o777);
    try {
      const out = await failsAt('state-dir', /writable by group or others \(mode 777\).*: chmod 700 /);
      expect(lineOf(out, 'ak')).toMatch(/^skip ak +skipped because state-dir failed$/);
      expect(lineOf(out, 'tpm')).toMatch(/^ok {3}tpm/);
    } finally {
      await chmod(h.stateDir, 0o700);
    }
  });

  it('a policy naming missing key files: FAIL keys naming each file and TOML path', async () => {
    await h.writePolicy({
      extra:
        '[[approval]]\nexe = ["/usr/sbin/"]\napprovers = ["keys/alice.pub", "keys/bob.pub"]\nrequired = 1\n',
    });
    const out = await failsAt(
      'keys',
      /approval\[0\]\.approvers\[0\]: .*alice\.pub.*; .*approval\[0\]\.approvers\[1\]: .*bob\.pub/,
    );
    expect(lineOf(out, 'policy')).toMatch(/^ok {3}policy/);
    expect(lineOf(out, 'trust')).toMatch(
      /^skip trust +skipped because keys failed and revocation was skipped$/,
    );
  });

  it('a revocation list no trusted key signed: FAIL revocation; a good one is listed with its issuer and number', async () => {
    const revoke = async (key: string, out: string) => {
      // The paths are mkdtemp's: no spaces.
      const r = await cli(
        `revoke --key ${key} --issuer ops --cti ${'00'.repeat(16)} --out ${out}`.split(' '),
      );
      expect(r.code, r.stderr).toBe(0);
    };
    await revoke(h.issuerKey, join(h.dir, 'good.cose'));
    await revoke(await h.key('stranger'), join(h.dir, 'stranger.cose'));
    await h.writePolicy({ extra: '[revocation]\nlists = ["good.cose", "stranger.cose"]\n' });
    const out = await failsAt('revocation', /revocation\.lists\[1\]: revocation list .*stranger\.cose: /);
    expect(lineOf(out, 'revocation')).not.toContain('good.cose');
    expect(lineOf(out, 'trust')).toMatch(/^skip trust +skipped because revocation failed$/);
    await h.writePolicy({ extra: '[revocation]\nlists = ["good.cose"]\n' });
    const r = await doctor();
    expect(r.code, r.stdout).toBe(0);
    expect(lineOf(r.stdout, 'revocation')).toMatch(/^ok {3}revocation .*good\.cose: "ops" #1 of 20\d\d-/);
  });

  it('a revocation epoch counter the TPM does not have: FAIL nv, saying how to define it or drop it', async () => {
    await h.writePolicy({ extra: '[revocation]\nepoch_nv_index = "0x01800101"\n' });
    const out = await failsAt(
      'nv',
      /revocation epoch counter: no NV counter at 0x01800101.*: define an execgate NV counter at 0x01800101 .* or remove \[revocation\] epoch_nv_index/,
    );
    expect(lineOf(out, 'audit')).toMatch(/^skip audit +skipped because nv failed$/);
  });

  it('the audit log tampered: FAIL audit with its code, pointing at audit verify', async () => {
    const db = openDatabase(join(h.stateDir, AUDIT_DB_FILE), {});
    try {
      const row = db.prepare<{ bytes: Uint8Array }>('SELECT bytes FROM entries WHERE seq = 1').get();
      const e = decodeEntry(Uint8Array.from(row?.bytes ?? []));
      db.prepare('UPDATE entries SET bytes = ? WHERE seq = 1').run(encodeEntry({ ...e, pid: 99 }));
    } finally {
      db.close();
    }
    await failsAt('audit', /E_AUDIT_ENTRY: .*: run execgate audit verify for details/);
  });

  it('the AK evicted from the TPM: FAIL ak, re-provision with host init --force', async () => {
    const evict = await runEvict(h.tcti);
    expect(evict.code, evict.stderr).toBe(0);
    const out = await failsAt(
      'ak',
      /E_AK_MISSING: no AK at 0x81010002.*: re-provision the AK: execgate host init .*--force/,
    );
    expect(lineOf(out, 'audit')).toMatch(/^skip audit +skipped because ak failed$/);
  });
});

/** tpm2_evictcontrol of the AK's persistent handle (tpm2-tools, the independent client). */
async function runEvict(tcti: string): Promise<{ code: number | null; stderr: string }> {
  const { spawn } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    const p = spawn('tpm2_evictcontrol', ['-C', 'o', '-c', '0x81010002'], {
      env: { ...process.env, TPM2TOOLS_TCTI: tcti },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('in-process, with a clock given', () => {
  const clockOf = async (now: number) => {
    const ctx = makeContext(
      { stdout: { write: () => true }, stderr: { write: () => true }, env: {} },
      { tcti: h.tcti },
    );
    const all = await runChecks({ policyFile: h.policy, stateDir: undefined, ctx, now: () => now });
    return all.find((c) => c.id === 'clock');
  };

  it('no policy file: FAIL policy (write one), everything that reads it skipped', async () => {
    const ctx = makeContext(
      { stdout: { write: () => true }, stderr: { write: () => true }, env: {} },
      { tcti: h.tcti },
    );
    const all = await runChecks({
      policyFile: join(h.dir, 'none.toml'),
      stateDir: undefined,
      ctx,
      now: Date.now,
    });
    const status = Object.fromEntries(all.map((c) => [c.id, c.status]));
    expect(all[0]).toMatchObject({
      id: 'policy',
      status: 'fail',
      remedy: expect.stringMatching(/^write the host policy/),
    });
    expect(status).toEqual({
      policy: 'fail',
      tpm: 'ok',
      'state-dir': 'skip',
      ak: 'skip',
      'ek-cert': 'skip',
      nv: 'skip',
      keys: 'skip',
      revocation: 'skip',
      trust: 'skip',
      audit: 'skip',
      clock: 'ok',
    });
  });

  it('fails before the source date, and before the newest audit entry', async () => {
    expect(await clockOf(SOURCE_DATE_MS - 1)).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(/is before this execgate.s source date 2026-12-01/),
    });
    const store = await AuditStore.open(h.stateDir, { readonly: true });
    const newest = decodeEntry(store.entries(store.size() - 1, 1)[0]?.bytes ?? new Uint8Array()).time;
    store.close();
    expect(await clockOf(newest - 60_000)).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(/is before audit entry 2/),
    });
    expect(await clockOf(newest + 1000)).toMatchObject({ status: 'ok' });
  });
});
