// SPDX-License-Identifier: Apache-2.0
// `execgate credential make | activate`: make needs no TPM; activate releases the secret only for the
// AK named at make time.
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { decodeCredentialFile } from '../../agent/attest/credential.js';
import { EXIT } from '../../agent/cli/exit.js';
import { useSwtpm } from '../helpers/swtpm.js';
import { withTempDir } from '../tpm/swtpm-kit.js';
import { cli } from './helpers.js';

const swtpm = useSwtpm({ ek: true });

async function identity(tcti: string, handle: string) {
  expect((await cli(['--tcti', tcti, 'host', 'init', '--ak-handle', handle])).code).toBe(EXIT.OK);
  return JSON.parse(
    (await cli(['--tcti', tcti, 'host', 'identity', '--ak-handle', handle, '--json'])).stdout,
  );
}

describe('execgate credential', () => {
  it('make (no TPM) → file → activate releases the secret; another AK of the same TPM gets exit 4', async () => {
    const tcti = swtpm().tcti;
    const id = await identity(tcti, '0x81010002');
    const other = await identity(tcti, '0x81010030');
    const secret = randomBytes(32).toString('hex');
    await withTempDir(async (dir) => {
      await writeFile(`${dir}/ek.pem`, id.ekPublicPem);
      // No TCTI and no environment: make must not touch a TPM.
      const made = await cli([
        'credential',
        'make',
        '--ek-pub',
        `${dir}/ek.pem`,
        '--ak-name',
        id.akName,
        '--unverified-ak-name',
        '--secret',
        secret,
        '--out',
        `${dir}/cred`,
      ]);
      expect(made.stderr).toBe('');
      expect(made.code).toBe(EXIT.OK);
      decodeCredentialFile(new Uint8Array(await readFile(`${dir}/cred`)));

      const ok = await cli(['--tcti', tcti, 'credential', 'activate', '--in', `${dir}/cred`]);
      expect(ok.stderr).toBe('');
      expect(ok.stdout.trim()).toBe(secret);

      const wrong = await cli([
        '--tcti',
        tcti,
        'credential',
        'activate',
        '--in',
        `${dir}/cred`,
        '--ak-handle',
        '0x81010030',
      ]);
      expect(wrong.code).toBe(EXIT.TPM_ERROR);
      expect(wrong.stderr).toContain('E_CREDENTIAL_REJECTED');
      expect(other.akName).not.toBe(id.akName);
    });
  });

  it('make without --out prints the file as hex; --json prints its two parts; PEM text is accepted inline', async () => {
    const tcti = swtpm().tcti;
    const id = await identity(tcti, '0x81010002');
    // PEM text starts with '-', so it goes in the --flag=value form.
    const args = [
      'credential',
      'make',
      `--ek-pub=${id.ekPublicPem}`,
      '--ak-name',
      id.akName,
      '--unverified-ak-name',
      '--secret',
      '00ff',
    ];
    const hexOut = await cli(args);
    expect(hexOut.code).toBe(EXIT.OK);
    expect(hexOut.stdout).toMatch(/^badcc0de00000001[0-9a-f]+\n$/);
    const json = JSON.parse((await cli([...args, '--json'])).stdout);
    expect(Object.keys(json)).toEqual(['credentialBlob', 'secret', 'ekAlg', 'akBinding', 'akName']);
    expect(json.akBinding).toBe('unverified-ak-name');
    expect(json.ekAlg).toBe('rsa2048');
    await withTempDir(async (dir) => {
      await writeFile(`${dir}/cred`, Buffer.from(hexOut.stdout.trim(), 'hex'));
      const r = await cli(['--tcti', tcti, 'credential', 'activate', '--in', `${dir}/cred`, '--json']);
      expect(JSON.parse(r.stdout)).toEqual({ secret: '00ff' });
    });
  });

  it('bad input: exit 2', async () => {
    const id = await identity(swtpm().tcti, '0x81010002');
    await withTempDir(async (dir) => {
      await writeFile(`${dir}/junk`, 'junk');
      const unverified = ['--ak-name', id.akName, '--unverified-ak-name'];
      for (const argv of [
        ['credential', 'make', ...unverified, '--secret', '00'],
        [
          'credential',
          'make',
          `--ek-pub=${id.ekPublicPem}`,
          '--ak-name',
          'xyz',
          '--unverified-ak-name',
          '--secret',
          '00',
        ],
        ['credential', 'make', `--ek-pub=${id.ekPublicPem}`, ...unverified, '--secret', '00'.repeat(33)],
        ['credential', 'make', '--ek-pub', `${dir}/missing.pem`, ...unverified, '--secret', '00'],
        ['credential', 'make', '--ek-pub', `${dir}/junk`, ...unverified, '--secret', '00'],
        ['credential', 'activate', '--in', `${dir}/junk`],
        ['credential', 'activate'],
      ]) {
        const r = await cli(['--tcti', swtpm().tcti, ...argv]);
        expect(r.code, argv.join(' ')).toBe(EXIT.USAGE);
      }
    });
  });
});
