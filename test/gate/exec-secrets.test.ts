// SPDX-License-Identifier: Apache-2.0
// Sealed secrets through `execgate exec` end to end on swtpm (issue 17 acceptance): an allowed execution
// reads its secret from the descriptor EXECGATE_SECRET_<NAME>_FD names (the test command prints its
// SHA-256); the secret is in no audit entry, no line execgate prints, and not in the running child's
// /proc/PID/cmdline or environ; a denied execution runs nothing and receives nothing; a secret the host
// has not sealed is E_SCOPE; an interposer recording every byte between execgate and swtpm sees no
// plaintext, sealing or unsealing; in audit mode a "would deny" runs without secrets; a policy key with
// a PCR policy signed off the host releases; after a PCR extend the unseal fails, the verdict is E_STATE
// and nothing runs (last: it changes the TPM for the file).
import { createHash, randomBytes } from 'node:crypto';
import { copyFile, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from '../cli/helpers.js';
import { upstreamOf, useSwtpm } from '../helpers/swtpm.js';
import { startTpmProxy } from '../helpers/tpm-proxy.js';
import { denied, extendOn, type GateHost, ran, sealOn, shareGateHost } from './gate-host.js';

const swtpm = useSwtpm();
let h: GateHost;
/** The secrets sealed in beforeAll: a short one (sealed directly) and a long one (AES-GCM envelope). */
const SHORT = Buffer.from(`token-${randomBytes(24).toString('hex')}`);
const LONG = Buffer.from(randomBytes(3000).toString('base64'));
/** Something of each secret to look for in text: its hex and base64 forms and, for text, itself. */
const needles = (s: Buffer) => [s.toString('hex'), s.toString('base64'), s.toString('latin1')];

shareGateHost(swtpm, async (host) => {
  h = host;
  await sealOn(h, 'short-tok', SHORT, ['--pcrs', 'sha256:0-7,16']);
  await sealOn(h, 'long_tok', LONG);
});

/**
 * A script that waits for GO, having written its pid, then prints the SHA-256 of what it reads from each
 * named descriptor variable, one line each.
 */
async function reader(name: string, vars: readonly string[]) {
  const go = h.file(`${name}-go`);
  const pidFile = h.file(`${name}-pid`);
  const body = [
    `echo $$ > '${pidFile}'`,
    `while [ ! -e '${go}' ]; do sleep 0.02; done`,
    ...vars.map((v) => `eval "fd=\\$${v}"; sha256sum <&"$fd" | cut -d' ' -f1`),
  ].join('\n');
  const s = await h.script(name, body);
  return { ...s, go, pidFile };
}

async function waitFor(path: string): Promise<string> {
  for (let i = 0; i < 500; i++) {
    const text = await readFile(path, 'utf8').catch(() => '');
    if (text.endsWith('\n')) return text.trim();
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${path} never appeared`);
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('execgate exec with sealed secrets', () => {
  it('the sealed files are 0600 in a 0700 directory, and hold no plaintext', async () => {
    expect((await stat(join(h.stateDir, 'secrets'))).mode & 0o777).toBe(0o700);
    for (const [name, data] of [
      ['short-tok', SHORT],
      ['long_tok', LONG],
    ] as const) {
      const file = join(h.stateDir, 'secrets', name);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      const text = await readFile(file, 'latin1');
      for (const n of needles(data)) expect(text).not.toContain(n.slice(0, 24));
    }
    const list = await cli(['secret', 'list', '--policy', h.policy, '--json']);
    expect(JSON.parse(list.stdout).secrets.map((s: { name: string }) => s.name)).toEqual([
      'long_tok',
      'short-tok',
    ]);
  });

  it('an allowed execution reads each secret from its descriptor; none is in argv, environ, audit or output', async () => {
    const s = await reader('reader', ['EXECGATE_SECRET_SHORT_TOK_FD', 'EXECGATE_SECRET_LONG_TOK_FD']);
    const f = await h.issue(s.path, '--secret', 'short-tok', '--secret', 'long_tok');
    const before = (await h.entries()).length;
    const running = h.exec(['--artifact', f, '--', s.path], {
      // A variable of the caller's with a secret's name is not passed through: the gate sets its own.
      env: { EXECGATE_SECRET_SHORT_TOK_FD: '0', EXECGATE_SECRET_OTHER_FD: '1' },
    });
    const pid = await waitFor(s.pidFile);
    const cmdline = await readFile(`/proc/${pid}/cmdline`);
    const environ = await readFile(`/proc/${pid}/environ`, 'latin1');
    await writeFile(s.go, '');
    const r = await running;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${sha(SHORT)}\n${sha(LONG)}\n`);
    expect(environ.split('\0')).toEqual(
      // Descriptors after the script's fd 3, in the claim's (ascending) order of names.
      expect.arrayContaining(['EXECGATE_SECRET_LONG_TOK_FD=4', 'EXECGATE_SECRET_SHORT_TOK_FD=5']),
    );
    expect(environ).not.toContain('EXECGATE_SECRET_OTHER_FD');
    for (const data of [SHORT, LONG])
      for (const n of needles(data)) {
        expect(cmdline.toString('latin1')).not.toContain(n.slice(0, 24));
        expect(environ).not.toContain(n.slice(0, 24));
        expect(r.stdout + r.stderr).not.toContain(n.slice(0, 24));
      }
    const entries = await h.entries();
    expect(entries.length).toBe(before + 1);
    expect(entries[before]).toMatchObject({ verdict: 'allow', secrets: ['long_tok', 'short-tok'] });
    const log = await readFile(join(h.stateDir, 'audit.db'), 'latin1');
    for (const data of [SHORT, LONG])
      for (const n of needles(data)) expect(log).not.toContain(n.slice(0, 24));
  });

  it('only the secrets the artifact names: another sealed one is not handed over', async () => {
    const s = await reader('one', ['EXECGATE_SECRET_SHORT_TOK_FD']);
    await writeFile(s.go, '');
    const f = await h.issue(s.path, '--secret', 'short-tok');
    const r = await h.exec(['--artifact', f, '--', s.path]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${sha(SHORT)}\n`);
    const none = await reader('none', ['EXECGATE_SECRET_SHORT_TOK_FD']);
    await writeFile(none.go, '');
    const g = await h.issue(none.path);
    const q = await h.exec(['--artifact', g, '--', none.path]);
    // No variable: sha256sum reads from fd "" (an error), never the secret.
    expect(q.stdout).not.toContain(sha(SHORT));
  });

  it('a denied execution runs nothing and unseals nothing; an unsealed name is E_SCOPE', async () => {
    const s = await reader('denied', ['EXECGATE_SECRET_SHORT_TOK_FD']);
    const f = await h.issue(s.path, '--secret', 'short-tok');
    const entry = await denied(h, 'E_SCOPE', ['--artifact', f, '--', s.path, 'extra-arg'], s.marker);
    expect(entry.secrets).toBeUndefined();
    const g = await h.issue(s.path, '--secret', 'never-sealed');
    await denied(h, 'E_SCOPE', ['--artifact', g, '--', s.path], s.marker, {
      message: /never-sealed.*not sealed/,
    });
  });

  it('audit mode: a "would deny" runs the command without its secrets', async () => {
    await h.writePolicy({ host: 'mode = "audit"' });
    const s = await reader('audit-mode', ['EXECGATE_SECRET_SHORT_TOK_FD']);
    await writeFile(s.go, '');
    const f = await h.issue(s.path, '--secret', 'short-tok');
    const before = (await h.entries()).length;
    const r = await h.exec(['--artifact', f, '--', s.path, 'not-in-scope']);
    expect(r.stderr).toMatch(/^execgate: would deny \(audit mode, running anyway\): E_SCOPE: /);
    expect(await ran(s.marker)).toBe(true);
    expect(r.stdout).not.toContain(sha(SHORT));
    const [entry] = (await h.entries()).slice(before);
    expect(entry).toMatchObject({ verdict: 'would-deny', reason: 'E_SCOPE' });
    expect(entry?.secrets).toBeUndefined();
  });

  it('an interposer recording every byte on the TPM bus sees no plaintext, sealing or releasing', async () => {
    const proxy = await startTpmProxy(upstreamOf(swtpm()));
    try {
      const secret = Buffer.from(`bus-${randomBytes(40).toString('hex')}`);
      await sealOn(h, 'bus', secret, [], proxy.tcti);
      const s = await reader('bus', ['EXECGATE_SECRET_BUS_FD']);
      await writeFile(s.go, '');
      const f = await h.issue(s.path, '--secret', 'bus');
      const r = await h.exec(['--artifact', f, '--', s.path], { tcti: proxy.tcti });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe(`${sha(secret)}\n`);
      const wire = Buffer.concat([...proxy.commands, ...proxy.responses]);
      expect(proxy.commands.length).toBeGreaterThan(10);
      // Any 8 bytes of it would do to find it; none of its 8-byte windows is there.
      for (let i = 0; i + 8 <= secret.length; i += 4)
        expect(wire.includes(secret.subarray(i, i + 8))).toBe(false);
    } finally {
      await proxy.close();
    }
  });

  it('with a policy key: released once a PCR policy signed off the TPM (--pcr-digest) is installed', async () => {
    const key = await h.key('policy');
    // key() makes Ed25519 keys: a policy key must be one the TPM verifies.
    const p256 = join(h.dir, 'keys', 'policy-p256.key');
    expect((await cli(['key', 'gen', '--alg', 'p256', '--out', p256])).code).toBe(0);
    const ed = await cli([
      '--tcti',
      h.tcti,
      'secret',
      'seal',
      '--policy',
      h.policy,
      '--name',
      'x',
      '--in',
      key,
      '--policy-key',
      `${key}.pub`,
    ]);
    expect(ed.stderr).toMatch(/^execgate: E_SECRET_FORMAT: a policy key must be ECDSA P-256 or P-384/);
    await sealOn(h, 'keyed', SHORT, ['--policy-key', `${p256}.pub`]);
    const s = await reader('keyed', ['EXECGATE_SECRET_KEYED_FD']);
    await writeFile(s.go, '');
    const f = await h.issue(s.path, '--secret', 'keyed', '--uses', '2');
    // No signed policy installed yet: the TPM has nothing to authorize, E_STATE and nothing runs.
    const none = await h.exec(['--artifact', f, '--', s.path]);
    expect(none.code).toBe(126);
    expect(none.stderr).toMatch(/^execgate: denied: E_STATE: /);
    expect(await ran(s.marker)).toBe(false);
    const pcrs = await cli(['--tcti', h.tcti, 'tpm', 'pcrs', '--bank', 'sha256', '--pcrs', '0-7', '--json']);
    const values = Object.values((JSON.parse(pcrs.stdout) as { sha256: Record<string, string> }).sha256);
    const digest = sha(Buffer.concat(values.map((v) => Buffer.from(v, 'hex'))));
    const out = h.file('now.policy');
    // No --tcti: signing off the host needs no TPM.
    const signed = await cli([
      'secret',
      'policy-sign',
      '--key',
      p256,
      '--pcrs',
      'sha256:0-7',
      '--pcr-digest',
      digest,
      '--out',
      out,
    ]);
    expect(signed.code, signed.stderr).toBe(0);
    await mkdir(join(h.stateDir, 'secret-policies'), { mode: 0o700, recursive: true });
    await copyFile(out, join(h.stateDir, 'secret-policies', 'now.policy'));
    const r = await h.exec(['--artifact', f, '--', s.path]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${sha(SHORT)}\n`);
  });

  it('after a PCR extend the TPM refuses: E_STATE after the recorded allow, and nothing runs', async () => {
    const s = await reader('after-extend', ['EXECGATE_SECRET_SHORT_TOK_FD']);
    await writeFile(s.go, '');
    const f = await h.issue(s.path, '--secret', 'short-tok');
    await extendOn(h, 16, Buffer.from(sha(Buffer.from('moved')), 'hex'));
    // The forecast says so before any verdict: short-tok's PCR 16 moved; the others do not read it.
    const check = await cli(['--tcti', h.tcti, 'secret', 'list', '--check', '--json', '--policy', h.policy]);
    expect(check.code, check.stderr).toBe(0);
    const holds = (JSON.parse(check.stdout) as { secrets: { name: string; holdsNow: boolean }[] }).secrets;
    expect(Object.fromEntries(holds.map((x) => [x.name, x.holdsNow]))).toMatchObject({
      'short-tok': false,
      long_tok: true,
      keyed: true,
    });
    const before = (await h.entries()).length;
    const r = await h.exec(['--artifact', f, '--', s.path]);
    expect(r.code).toBe(126);
    expect(r.stderr).toMatch(/^execgate: denied: E_STATE: the TPM refused to unseal the secrets short-tok/);
    expect(r.stdout).toBe('');
    expect(await ran(s.marker)).toBe(false);
    const after = (await h.entries()).slice(before);
    expect(after.map((e) => [e.verdict, e.reason])).toEqual([
      ['allow', 'OK'],
      ['deny', 'E_STATE'],
    ]);
    // In audit mode too: a command that was to receive a secret never runs without it.
    await h.writePolicy({ host: 'mode = "audit"' });
    const g2 = await h.issue(s.path, '--secret', 'short-tok');
    const audited = await h.exec(['--artifact', g2, '--', s.path]);
    expect(audited.code).toBe(126);
    expect(audited.stderr).toMatch(/^execgate: denied: E_STATE: /);
    expect(await ran(s.marker)).toBe(false);
    await h.writePolicy();
    // The long secret is sealed to sha256:0-7 only: still released.
    const l = await reader('long-after', ['EXECGATE_SECRET_LONG_TOK_FD']);
    await writeFile(l.go, '');
    const g = await h.issue(l.path, '--secret', 'long_tok');
    const ok = await h.exec(['--artifact', g, '--', l.path]);
    expect(ok.stdout).toBe(`${sha(LONG)}\n`);
  });
});
