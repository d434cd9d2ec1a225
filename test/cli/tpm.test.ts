// SPDX-License-Identifier: Apache-2.0
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../agent/cli/exit.js';
import { useSwtpm } from '../helpers/swtpm.js';
import { cli } from './helpers.js';

const swtpm = useSwtpm();
const BANKS = { sha1: 20, sha256: 32, sha384: 48, sha512: 64 } as const;

/** tpm2_pcrread's text output → { bank: { "index": lowercase hex } }. */
function tpm2Pcrread(env: Record<string, string>): Record<string, Record<string, string>> {
  const text = execFileSync('tpm2_pcrread', ['sha1:all+sha256:all+sha384:all+sha512:all'], {
    env: { ...process.env, ...env },
  }).toString();
  const out: Record<string, Record<string, string>> = {};
  let bank: Record<string, string> | undefined;
  for (const line of text.split('\n')) {
    const b = /^\s*(sha\d+):\s*$/.exec(line);
    if (b?.[1]) {
      bank = {};
      out[b[1]] = bank;
      continue;
    }
    const v = /^\s*(\d+)\s*:\s*0x([0-9A-Fa-f]+)\s*$/.exec(line);
    if (v?.[1] && v[2] && bank) bank[v[1]] = v[2].toLowerCase();
  }
  return out;
}

describe('execgate tpm', () => {
  it('tpm pcrs --json equals tpm2_pcrread for all four banks after tpm2_pcrextend of random digests', async () => {
    const { tcti, env } = swtpm();
    for (const pcr of [16, 23]) {
      const spec = Object.entries(BANKS)
        .map(([bank, len]) => `${bank}=${randomBytes(len).toString('hex')}`)
        .join(',');
      execFileSync('tpm2_pcrextend', [`${pcr}:${spec}`], { env: { ...process.env, ...env } });
    }
    const r = await cli(['--tcti', tcti, 'tpm', 'pcrs', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(EXIT.OK);
    const ours = JSON.parse(r.stdout);
    const theirs = tpm2Pcrread(env);
    expect(Object.keys(ours)).toEqual(['sha1', 'sha256', 'sha384', 'sha512']);
    for (const bank of Object.keys(BANKS)) expect(Object.keys(ours[bank])).toHaveLength(24);
    expect(ours).toEqual(theirs);
    expect(ours.sha256['16']).not.toBe('00'.repeat(32));
  });

  it('tpm pcrs --bank --pcrs selects a subset, ranges allowed; EXECGATE_TCTI is honoured', async () => {
    const r = await cli(['tpm', 'pcrs', '--bank', 'sha256', '--pcrs', '0-2,16', '--json'], {
      EXECGATE_TCTI: swtpm().tcti,
    });
    expect(r.code).toBe(EXIT.OK);
    const doc = JSON.parse(r.stdout);
    expect(Object.keys(doc)).toEqual(['sha256']);
    expect(Object.keys(doc.sha256)).toEqual(['0', '1', '2', '16']);
  });

  it('tpm extend changes the PCR to H(old ‖ digest)', async () => {
    const tcti = swtpm().tcti;
    const before = JSON.parse(
      (await cli(['--tcti', tcti, 'tpm', 'pcrs', '--bank', 'sha256', '--pcrs', '23', '--json'])).stdout,
    );
    const digest = randomBytes(32);
    const r = await cli([
      '--tcti',
      tcti,
      'tpm',
      'extend',
      '23',
      '--bank',
      'sha256',
      '--digest',
      digest.toString('hex'),
    ]);
    expect(r.code).toBe(EXIT.OK);
    const after = JSON.parse(
      (await cli(['--tcti', tcti, 'tpm', 'pcrs', '--bank', 'sha256', '--pcrs', '23', '--json'])).stdout,
    );
    const want = createHash('sha256')
      .update(Buffer.from(before.sha256['23'], 'hex'))
      .update(digest)
      .digest('hex');
    expect(after.sha256['23']).toBe(want);
  });

  it('tpm extend rejects a digest of the wrong length for the bank, before touching the TPM', async () => {
    const r = await cli(['tpm', 'extend', '20', '--bank', 'sha1', '--digest', '00'.repeat(32)], {
      EXECGATE_TCTI: 'swtpm:host=127.0.0.1,port=1',
    });
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toContain('E_USAGE');
  });

  it('tpm random N prints N bytes of hex, looping past one GetRandom', async () => {
    const r = await cli(['--tcti', swtpm().tcti, 'tpm', 'random', '200']);
    expect(r.code).toBe(EXIT.OK);
    expect(r.stdout.trim()).toMatch(/^[0-9a-f]{400}$/);
  });

  it('tpm info reports swtpm identity, banks and limits', async () => {
    const r = await cli(['--tcti', swtpm().tcti, '--json', 'tpm', 'info']);
    expect(r.code).toBe(EXIT.OK);
    const info = JSON.parse(r.stdout);
    expect(info.manufacturer).toBe('IBM');
    expect(info.firmwareVersion).toMatch(/^[0-9a-f]{16}$/);
    expect(info.specFamily).toBe('2.0');
    expect(info.pcrBanks.map((b: { bank: string }) => b.bank)).toEqual([
      'sha1',
      'sha256',
      'sha384',
      'sha512',
    ]);
    expect(info.limits.maxResponseSize).toBe(4096);
    const text = await cli(['--tcti', swtpm().tcti, 'tpm', 'info']);
    expect(text.stdout).toMatch(/^manufacturer: +IBM/m);
  });

  it('with no TPM reachable, exits 3 and names the TCTI tried and how to start swtpm', async () => {
    const r = await cli(['tpm', 'pcrs'], { TPM2TOOLS_TCTI: 'swtpm:host=127.0.0.1,port=1' });
    expect(r.code).toBe(EXIT.TPM_UNAVAILABLE);
    expect(r.stderr).toContain('E_TPM_UNAVAILABLE');
    expect(r.stderr).toContain('127.0.0.1');
    expect(r.stderr).toMatch(/swtpm/);
  });

  it('the device default is tried when nothing is configured', async () => {
    const r = await cli(['tpm', 'random', '4'], {});
    expect(r.code).toBe(EXIT.TPM_UNAVAILABLE);
    expect(r.stderr).toContain('/dev/tpmrm0');
  });

  it('usage errors exit 2 and say what to type', async () => {
    expect((await cli(['tpm', 'frobnicate'])).code).toBe(EXIT.USAGE);
    expect((await cli(['nosuchgroup'])).code).toBe(EXIT.USAGE);
    expect((await cli(['tpm', 'pcrs', '--bank', 'md5'])).stderr).toContain('sha256');
    expect((await cli(['tpm', 'pcrs', '--pcrs', '3-1'])).code).toBe(EXIT.USAGE);
    expect((await cli(['tpm', 'random', 'lots'])).code).toBe(EXIT.USAGE);
    // A malformed TCTI is a usage error (issue 15), as any malformed flag value.
    expect((await cli(['--tcti', 'bogus:x', 'tpm', 'random', '1'])).code).toBe(EXIT.USAGE);
  });

  it('--help prints help with an example and exits 0', async () => {
    const top = await cli(['--help']);
    expect(top.code).toBe(EXIT.OK);
    expect(top.stdout).toContain('Exit codes');
    const group = await cli(['tpm', '--help']);
    expect(group.code).toBe(EXIT.OK);
    expect(group.stdout).toContain('Examples:');
    expect((await cli(['tpm', 'pcrs', '--help'])).code).toBe(EXIT.OK);
  });
  it('the execgate process sets its exit status and streams (main.ts, as a shell runs it)', () => {
    const main = ['--import', 'tsx', 'agent/cli/main.ts'];
    const env = { ...process.env, EXECGATE_TCTI: swtpm().tcti };
    const ok = spawnSync(process.execPath, [...main, 'tpm', 'random', '8'], { env, encoding: 'utf8' });
    expect(ok.status).toBe(EXIT.OK);
    expect(ok.stdout.trim()).toMatch(/^[0-9a-f]{16}$/);
    const bad = spawnSync(process.execPath, [...main, 'tpm', 'pcrs', '--bank', 'md5'], {
      env,
      encoding: 'utf8',
    });
    expect(bad.status).toBe(EXIT.USAGE);
    expect(bad.stderr).toContain('E_USAGE');
  });
  it('a TPM refusal exits 4 with the decoded response code and a hint (PCR 20 needs locality 3/4)', async () => {
    const r = await cli([
      '--tcti',
      swtpm().tcti,
      'tpm',
      'extend',
      '20',
      '--bank',
      'sha256',
      '--digest',
      '00'.repeat(32),
    ]);
    expect(r.code).toBe(EXIT.TPM_ERROR);
    expect(r.stderr).toContain('TPM_RC_LOCALITY');
    expect(r.stderr).toContain('hint: PCRs 17–22');
  });
});
