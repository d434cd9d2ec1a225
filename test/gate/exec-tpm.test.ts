// SPDX-License-Identifier: Apache-2.0
// `execgate exec` end to end on swtpm (issue 14 acceptance), the reasons decided by the TPM and the state
// directory: E_BOOT (a reboot of swtpm), E_REVOKED by the revocation epoch (an NV counter), E_STATE (a PCR
// extended after issue; the policy's reference, also on a host without the event log it needs), a break-glass
// artifact (passes E_STATE, E_BOOT and the epoch, never E_SCOPE, always flagged), E_HOST for another swtpm's
// AK and E_TPM_UNAVAILABLE once it is stopped, E_AUDIT (a read-only state directory; an audit database that
// cannot be written), and an interposer on the TPM bus that rewrites PCR_Read and Quote responses (denied,
// never allowed). Each through the real CLI process, each checking the exit status, the denial line, the
// marker file and the audit entry. In a file of their own: reboots and extends change the TPM under every
// other test of the file.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { defineCounter, incrementCounter } from '../../agent/attest/nv-counter.js';
import { ReadClock, Startup } from '../../agent/tpm/commands.js';
import { TPM_SU } from '../../agent/tpm/constants.js';
import { startSwtpm } from '../../swtpm/harness.js';
import { cli } from '../cli/helpers.js';
import { upstreamOf, useSwtpm } from '../helpers/swtpm.js';
import { commandCode, startTpmProxy, type TpmProxy } from '../helpers/tpm-proxy.js';
import { openTpm } from '../tpm/swtpm-kit.js';
import { allowed, denied, expectCommandsExist, type GateHost, gateHost, ran } from './gate-host.js';

const swtpm = useSwtpm();
let h: GateHost;
let breakglassKey: string;
/** The revocation epoch's NV counter (the policies below name it) and its value. */
const EPOCH_INDEX = 0x01800101;
let epoch: bigint;

beforeAll(async () => {
  h = await gateHost(swtpm());
  breakglassKey = await h.key('breakglass');
  epoch = await withTpm(async (t) => {
    await defineCounter(t, EPOCH_INDEX);
    return incrementCounter(t, EPOCH_INDEX);
  });
});
afterAll(async () => {
  await h?.cleanup();
});
beforeEach(async () => {
  await h.writePolicy();
});

/** `fn` with a client of the file's swtpm, closed afterwards. */
async function withTpm<T>(fn: (tpm: ReturnType<typeof openTpm>) => Promise<T>): Promise<T> {
  const tpm = openTpm(swtpm());
  try {
    return await fn(tpm);
  } finally {
    await tpm.close();
  }
}

const resetCount = () => withTpm(async (t) => (await t.run(ReadClock, {})).currentTime.clockInfo.resetCount);

/** A reboot: swtpm's power cycle (CMD_INIT) and TPM2_Startup(CLEAR), as firmware does: resetCount + 1. */
async function reboot(): Promise<void> {
  await swtpm().control.init();
  await withTpm((t) => t.run(Startup, { startupType: TPM_SU.CLEAR }));
}

/** PCR 16 of the SHA-256 bank, as `execgate tpm pcrs` reads it. */
async function pcr16(): Promise<Buffer> {
  const r = await cli(['--tcti', swtpm().tcti, 'tpm', 'pcrs', '--bank', 'sha256', '--pcrs', '16', '--json']);
  expect(r.code, r.stderr).toBe(0);
  return Buffer.from((JSON.parse(r.stdout) as { sha256: Record<string, string> }).sha256['16'] ?? '', 'hex');
}

async function extend16(): Promise<void> {
  const digest = createHash('sha256').update(`extend ${Date.now()}`).digest('hex');
  const r = await cli([
    '--tcti',
    swtpm().tcti,
    'tpm',
    'extend',
    '16',
    '--bank',
    'sha256',
    '--digest',
    digest,
  ]);
  expect(r.code, r.stderr).toBe(0);
}

/** The claim flags binding an artifact to PCR 16 holding `value`. */
const bound = (value: Buffer) => [
  '--pcrs',
  'sha256:16',
  '--pcr-digest',
  createHash('sha256').update(value).digest('hex'),
];

describe('E_BOOT: an artifact for one boot', () => {
  it('runs in that boot; after a reboot of swtpm it is denied', async () => {
    const s = await h.script('boot');
    const boot = await resetCount();
    const f = await h.issue(s.path, '--boot', String(boot), '--uses', '2');
    const first = await allowed(h, ['--artifact', f, '--', s.path], s.marker);
    expect(first.tpmClock?.resetCount).toBe(boot);
    await reboot();
    const e = await denied(h, 'E_BOOT', ['--artifact', f, '--', s.path], s.marker);
    expect(e.tpmClock?.resetCount).toBe(boot + 1);
  });
});

describe('E_STATE: an artifact bound to PCR values', () => {
  it('runs while PCR 16 holds the value; after the PCR is extended it is denied', async () => {
    const s = await h.script('state');
    const f = await h.issue(s.path, ...bound(await pcr16()), '--uses', '2');
    await allowed(h, ['--artifact', f, '--', s.path], s.marker);
    await extend16();
    const e = await denied(h, 'E_STATE', ['--artifact', f, '--', s.path], s.marker);
    expect(e.quote?.length).toBe(32);
  });
});

describe('E_REVOKED: the host revocation epoch, an NV counter certified by the AK', () => {
  it('an artifact of a lower --epoch is denied, one of the current epoch runs', async () => {
    expect(epoch).toBeGreaterThan(0n);
    await h.writePolicy({ extra: '[revocation]\nepoch_nv_index = "0x01800101"\n' });
    const s = await h.script('epoch');
    const old = await h.issue(s.path, '--epoch', String(epoch - 1n));
    await denied(h, 'E_REVOKED', ['--artifact', old, '--', s.path], s.marker, {
      message: new RegExp(`below the host's revocation epoch ${epoch}`),
    });
    const current = await h.issue(s.path, '--epoch', String(epoch));
    await allowed(h, ['--artifact', current, '--', s.path], s.marker);
  });
});

describe('[host] reference: every execution also requires the measured state', () => {
  /** Writes reference.json beside the policy: PCR 16 of the SHA-256 bank at `value`, and `rules`. */
  async function reference(value: Buffer, rules: Record<string, unknown>): Promise<void> {
    const doc = {
      execgate: 'reference-state',
      version: 1,
      created: '2026-01-01T00:00:00.000Z',
      host: {},
      pcrs: { sha256: { '16': value.toString('hex') } },
      rules,
    };
    await writeFile(join(h.dir, 'reference.json'), JSON.stringify(doc), { mode: 0o600 });
    await h.writePolicy({ host: 'reference = "reference.json"' });
  }

  it('runs while the quoted PCRs match the reference; after an extend, E_STATE', async () => {
    const s = await h.script('reference');
    await reference(await pcr16(), { secureBoot: 'any' });
    const f = await h.issue(s.path, '--uses', '2');
    await allowed(h, ['--artifact', f, '--', s.path], s.marker);
    await extend16();
    await denied(h, 'E_STATE', ['--artifact', f, '--', s.path], s.marker);
  });

  it('a reference whose rules need the event log, on a host with none, is E_STATE naming what is missing', async () => {
    const s = await h.script('nolog');
    await reference(await pcr16(), { secureBoot: 'required' });
    const f = await h.issue(s.path);
    await denied(h, 'E_STATE', ['--artifact', f, '--', s.path], s.marker, {
      env: { EXECGATE_SECURITYFS: join(h.dir, 'no-securityfs') },
      message: /event log/,
    });
  });
});

describe('break-glass ([breakglass] key)', () => {
  it('passes a stale state, boot and epoch, flagged in its entry; never a scope failure', async () => {
    await h.writePolicy({
      extra: `[breakglass]\nkey = "keys/breakglass.key.pub"\nmax_ttl = "15m"\n[revocation]\nepoch_nv_index = "0x01800101"\n`,
    });
    const s = await h.script('breakglass');
    const stale = await pcr16();
    await extend16();
    const boot = (await resetCount()) - 1;
    const waived = ['--boot', String(boot), '--epoch', '0', ...bound(stale)];
    // The ops issuer's artifact for the same state is denied: only break-glass waives it.
    const ops = await h.issue(s.path, '--epoch', String(epoch), ...bound(stale));
    await denied(h, 'E_STATE', ['--artifact', ops, '--', s.path], s.marker);
    const bg = await h.issueBy(breakglassKey, 'breakglass', s.path, ...waived);
    const e = await allowed(h, ['--artifact', bg, '--', s.path], s.marker);
    expect(e.breakglass).toBe(true);
    // Scope is never waived: arguments it does not name are E_SCOPE, flagged too.
    const bg2 = await h.issueBy(breakglassKey, 'breakglass', s.path, ...waived);
    const d = await denied(h, 'E_SCOPE', ['--artifact', bg2, '--', s.path, 'extra'], s.marker);
    expect(d.breakglass).toBe(true);
    // Nor its own max_ttl.
    const long = await h.issueBy(breakglassKey, 'breakglass', s.path, '--ttl', '20m');
    const p = await denied(h, 'E_POLICY', ['--artifact', long, '--', s.path], s.marker);
    expect(p.breakglass).toBe(true);
  });
});

describe('another TPM', () => {
  it('E_HOST for its AK; E_TPM_UNAVAILABLE once its swtpm stopped: nothing runs, audited without a quote', async () => {
    const other = await startSwtpm();
    let g: GateHost | undefined;
    try {
      g = await gateHost(other);
      const s = await g.script('notpm');
      const f = await g.issue(s.path);
      // E_HOST on the real thing: an artifact for the other TPM's AK (its host identity), run here.
      const mine = await h.script('foreign');
      const foreign = await h.issue(mine.path, '--host-identity', g.identity);
      const e1 = await denied(h, 'E_HOST', ['--artifact', foreign, '--', mine.path], mine.marker, {
        message: new RegExp(`for host ${g.akName}`),
      });
      expect(g.akName).not.toBe(h.akName);
      expect(e1.quote?.length).toBe(32);
      await other.stop();
      const e = await denied(g, 'E_TPM_UNAVAILABLE', ['--artifact', f, '--', s.path], s.marker);
      expect(e.quote).toBeUndefined();
      expect(e.tpmClock).toBeUndefined();
    } finally {
      await other.stop();
      await g?.cleanup();
    }
  });
});

describe('E_AUDIT: the verdict cannot be recorded', () => {
  it('a read-only state directory (a read-only bind mount in a private mount namespace): nothing runs', async () => {
    const s = await h.script('readonly');
    const f = await h.issue(s.path);
    const before = (await h.entries()).length;
    // root writes through chmod 0500, so the directory is made read-only where root cannot write either.
    const r = await h.exec(['--artifact', f, '--', s.path], {
      wrap: ['unshare', '--mount', 'sh', '-c', 'mount --bind -o ro "$0" "$0" && exec "$@"', h.stateDir],
    });
    expect(r.stderr).toMatch(
      /^execgate: denied: E_AUDIT: the verdict could not be recorded: .*readonly database/,
    );
    expect(r.code).toBe(126);
    expect(await ran(s.marker)).toBe(false);
    expect((await h.entries()).length).toBe(before);
    // Not spent: once the directory is writable again, it runs.
    await allowed(h, ['--artifact', f, '--', s.path], s.marker);
  });

  it('an immutable audit database (chattr +i): nothing runs, and the denial says it was not recorded', async () => {
    const s = await h.script('immutable');
    const f = await h.issue(s.path);
    const before = (await h.entries()).length;
    const db = `${h.stateDir}/audit.db`;
    execFileSync('chattr', ['+i', db]);
    let r: Awaited<ReturnType<GateHost['exec']>>;
    try {
      r = await h.exec(['--artifact', f, '--', s.path]);
    } finally {
      execFileSync('chattr', ['-i', db]);
    }
    expect(r.stderr).toMatch(
      /^execgate: denied: E_AUDIT: the verdict could not be recorded: .*readonly database/,
    );
    expect(r.code).toBe(126);
    expect(await ran(s.marker)).toBe(false);
    expect((await h.entries()).length).toBe(before);
    await allowed(h, ['--artifact', f, '--', s.path], s.marker);
  });
});

describe('an interposer on the TPM bus (a proxy between execgate and swtpm)', () => {
  let proxy: TpmProxy | undefined;
  afterAll(async () => {
    await proxy?.close();
  });
  const PCR_READ = 0x17e;
  const QUOTE = 0x158;

  it('passing every byte on, the gate runs an unbound artifact through it', async () => {
    proxy = await startTpmProxy(upstreamOf(swtpm()));
    const s = await h.script('proxied');
    const f = await h.issue(s.path);
    await allowed(h, ['--artifact', f, '--', s.path], s.marker, { tcti: proxy.tcti });
    expect(proxy.commands.some((c) => commandCode(c) === QUOTE)).toBe(true);
    await proxy.close();
    proxy = undefined;
  });

  it('PCR_Read answered with the state the artifact wants, and the Quote digest too: denied, never run', async () => {
    const s = await h.script('forged');
    const wanted = await pcr16();
    const f = await h.issue(s.path, ...bound(wanted), '--uses', '3');
    await extend16();
    const forgedDigest = createHash('sha256').update(wanted).digest();
    let forgedQuote = false;
    const through = await startTpmProxy(upstreamOf(swtpm()), {
      onResponse(rsp, cmd) {
        if (rsp.readUInt32BE(6) !== 0) return rsp;
        const out = Buffer.from(rsp);
        // PCR_Read of sha256:16: the one 32-byte digest ends the response.
        if (commandCode(cmd) === PCR_READ) wanted.copy(out, out.length - 32);
        // Quote: TPM2B_ATTEST after the header and parameterSize; its pcrDigest ends the TPMS_ATTEST.
        if (commandCode(cmd) === QUOTE && forgedQuote) {
          const end = 10 + 4 + 2 + out.readUInt16BE(14);
          forgedDigest.copy(out, end - 32);
        }
        return out;
      },
    });
    proxy = through;
    const codes = ['E_STATE', 'E_TPM_UNAVAILABLE'];
    const once = async () => {
      const before = (await h.entries()).length;
      const r = await h.exec(['--artifact', f, '--', s.path], { tcti: through.tcti });
      expect(r.code).toBe(126);
      expect(await ran(s.marker)).toBe(false);
      const code = /^execgate: denied: (E_[A-Z_]+): /.exec(r.stderr)?.[1];
      await expectCommandsExist(r.stderr);
      expect(codes).toContain(code);
      const entries = await h.entries();
      expect(entries.length).toBe(before + 1);
      expect(entries[before]).toMatchObject({ verdict: 'deny', reason: code });
    };
    await once();
    forgedQuote = true;
    await once();
    // Without the interposer the TPM's own answer is E_STATE.
    await denied(h, 'E_STATE', ['--artifact', f, '--', s.path], s.marker);
  });
});
