// SPDX-License-Identifier: Apache-2.0
// Adversary review of issue 17, the release: an interposer that alters TPM2_Unseal's response (its
// encrypted outData) for the second of two secrets must get a denial, with no secret handed to anything
// and nothing run, never a command started with a wrong or missing secret; the allow stays recorded and
// spent, the denial after it. A break-glass artifact naming a secret passes the gate's state check but
// not the TPM's: in a state the secret is not sealed to, the denial is E_STATE and nothing runs. A sealed
// file whose public area does not parse was an allow (its use spent) then E_TPM_UNAVAILABLE: it is now
// E_SECRET_FORMAT when the gate checks the secret is sealed, so E_SCOPE before anything is spent. An
// interposer reporting its own key as the owner primary at release gets no salt: the kept Name refuses it.
import { createHash, generateKeyPairSync } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { upstreamOf, useSwtpm } from '../helpers/swtpm.js';
import { commandCode, startTpmProxy, swapOwnerPrimary } from '../helpers/tpm-proxy.js';
import { denied, extendOn, type GateHost, ran, sealOn, shareGateHost } from './gate-host.js';

const swtpm = useSwtpm();
let h: GateHost;
const ONE = `first-${'1'.repeat(30)}`;
const TWO = `second-${'2'.repeat(30)}`;
shareGateHost(swtpm, async (host) => {
  h = host;
  await sealOn(h, 'one', ONE);
  await sealOn(h, 'two', TWO, ['--pcrs', 'sha256:0-7,16']);
});

/** Runs `args` and checks a denial after a recorded allow: code, no output, nothing ran, allow then deny. */
async function deniedAfterAllow(args: readonly string[], marker: string, code: string, tcti?: string) {
  const before = (await h.entries()).length;
  const r = await h.exec(args, tcti === undefined ? {} : { tcti });
  expect(r.code, r.stderr).toBe(126);
  expect(r.stderr).toMatch(new RegExp(`^execgate: denied: ${code}: `));
  expect(r.stdout).toBe('');
  for (const s of [ONE, TWO]) expect(r.stderr).not.toContain(s);
  expect(await ran(marker)).toBe(false);
  const after = (await h.entries()).slice(before);
  expect(after.map((e) => [e.verdict, e.reason])).toEqual([
    ['allow', 'OK'],
    ['deny', code],
  ]);
  return { r, after };
}

describe('releasing secrets past a lying TPM', () => {
  it('a tampered TPM2_Unseal response for the second secret: denied, the first handed to no one', async () => {
    let unseals = 0;
    const proxy = await startTpmProxy(upstreamOf(swtpm()), {
      onResponse(rsp, cmd) {
        if (commandCode(cmd) !== 0x15e || rsp.readUInt32BE(6) !== 0 || ++unseals !== 2) return rsp;
        // header, parameterSize, outData (TPM2B): flip a byte of the encrypted secret.
        const out = Buffer.from(rsp);
        out[16] = (out[16] ?? 0) ^ 0x01;
        return out;
      },
    });
    try {
      const s = await h.script(
        'two-readers',
        'cat <&"$EXECGATE_SECRET_ONE_FD"; cat <&"$EXECGATE_SECRET_TWO_FD"',
      );
      const f = await h.issue(s.path, '--secret', 'one', '--secret', 'two');
      const { r } = await deniedAfterAllow(
        ['--artifact', f, '--', s.path],
        s.marker,
        'E_TPM_UNAVAILABLE',
        proxy.tcti,
      );
      expect(unseals).toBe(2);
      expect(r.stderr).toMatch(/could not be unsealed .*response HMAC does not verify/);
      // The use is spent: the same artifact, now on a faithful bus, is a replay.
      const again = await h.exec(['--artifact', f, '--', s.path]);
      expect(again.stderr).toMatch(/^execgate: denied: E_REPLAY: /);
      expect(await ran(s.marker)).toBe(false);
    } finally {
      await proxy.close();
    }
  });

  it('a sealed file whose TPM structures do not parse is E_SCOPE before the allow, its use not spent', async () => {
    const one = JSON.parse(await readFile(join(h.stateDir, 'secrets', 'one'), 'utf8')) as Record<
      string,
      unknown
    >;
    const broken = { ...one, name: 'broken', public: Buffer.alloc(64, 0xff).toString('base64') };
    await writeFile(join(h.stateDir, 'secrets', 'broken'), `${JSON.stringify(broken)}\n`, { mode: 0o600 });
    const s = await h.script('broken-reader', 'cat <&"$EXECGATE_SECRET_BROKEN_FD"');
    const f = await h.issue(s.path, '--secret', 'broken');
    await denied(h, 'E_SCOPE', ['--artifact', f, '--', s.path], s.marker, { message: /broken.*public/ });
  });

  it('an interposer posing as the owner primary at release: E_STATE, no session salted to its key', async () => {
    const attacker = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const modulus = Buffer.from(attacker.publicKey.export({ format: 'jwk' }).n as string, 'base64url');
    const stand: number[] = [];
    let saltedToIt = 0;
    const proxy = await startTpmProxy(upstreamOf(swtpm()), {
      onResponse: swapOwnerPrimary(modulus, (handle) => stand.push(handle)),
      onCommand(cmd) {
        if (commandCode(cmd) === 0x176 && stand.includes(cmd.readUInt32BE(10))) saltedToIt++;
        return cmd;
      },
    });
    try {
      const s = await h.script('srk-reader', 'cat <&"$EXECGATE_SECRET_ONE_FD"');
      const f = await h.issue(s.path, '--secret', 'one');
      const { r } = await deniedAfterAllow(['--artifact', f, '--', s.path], s.marker, 'E_STATE', proxy.tcti);
      expect(r.stderr).toMatch(/owner primary is not the one it was sealed under/);
      expect(stand.length).toBeGreaterThan(0);
      expect(saltedToIt).toBe(0);
    } finally {
      await proxy.close();
    }
  });

  // Last: it extends PCR 16 for the file.
  it('break-glass waives the gate state check, not the TPM policy: E_STATE, nothing runs', async () => {
    const bgKey = await h.key('breakglass');
    await h.writePolicy({ extra: `[breakglass]\nkey = "keys/breakglass.key.pub"\nmax_ttl = "15m"\n` });
    await extendOn(h, 16, createHash('sha256').update('elsewhere').digest());
    const s = await h.script('bg-reader', 'cat <&"$EXECGATE_SECRET_TWO_FD"');
    const bg = await h.issueBy(bgKey, 'breakglass', s.path, '--secret', 'two');
    const { after } = await deniedAfterAllow(['--artifact', bg, '--', s.path], s.marker, 'E_STATE');
    expect(after.map((e) => e.breakglass)).toEqual([true, true]);
    // The secret sealed to PCRs 0-7 only still goes to a break-glass execution: the TPM decides.
    const t = await h.script('bg-one', 'cat <&"$EXECGATE_SECRET_ONE_FD"');
    const one = await h.issueBy(bgKey, 'breakglass', t.path, '--secret', 'one');
    const ok = await h.exec(['--artifact', one, '--', t.path]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toBe(ONE);
  });
});
