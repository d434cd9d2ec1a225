// SPDX-License-Identifier: Apache-2.0
// `execgate host init | identity` on a swtpm with EK certificates, in-process (test/cli/helpers.ts).
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../agent/cli/exit.js';
import { EvictControl } from '../../agent/tpm/commands.js';
import { TPM_RH } from '../../agent/tpm/constants.js';
import { signingRsa2048Template } from '../../agent/tpm/templates.js';
import { useSwtpm } from '../helpers/swtpm.js';
import { createPrimary, openTpm, tpm2, transientHandles, withTempDir } from '../tpm/swtpm-kit.js';
import { cli } from './helpers.js';

const swtpm = useSwtpm({ ek: true });

const KEYS = ['akName', 'akPublicPem', 'akAlg', 'ekPublicPem', 'ekCertificatePem', 'tpm'];

describe('execgate host', () => {
  it('host identity --json before init: exit 2 with E_AK_MISSING', async () => {
    const r = await cli(['--tcti', swtpm().tcti, 'host', 'identity', '--json']);
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toContain('E_AK_MISSING');
  });

  it('host init twice keeps the AK; --force makes a new one; identity --json has exactly the documented keys', async () => {
    const tcti = swtpm().tcti;
    const init1 = await cli(['--tcti', tcti, 'host', 'init']);
    expect(init1.stderr).toBe('');
    expect(init1.code).toBe(EXIT.OK);
    expect(init1.stdout).toMatch(/^created AK at 0x81010002\n/);
    const id1 = JSON.parse((await cli(['--tcti', tcti, 'host', 'identity', '--json'])).stdout);
    expect(Object.keys(id1)).toEqual(KEYS);
    expect(Object.keys(id1.tpm)).toEqual(['manufacturer', 'firmwareVersion']);
    expect(id1.akAlg).toBe('rsa');
    await withTempDir(async (dir) => {
      await tpm2(swtpm(), 'tpm2_readpublic', ['-c', '0x81010002', '-n', `${dir}/name`]);
      expect(id1.akName).toBe((await readFile(`${dir}/name`)).toString('hex'));
    });

    const init2 = await cli(['--tcti', tcti, 'host', 'init', '--json']);
    expect(init2.code).toBe(EXIT.OK);
    expect(JSON.parse(init2.stdout)).toMatchObject({ created: false, akName: id1.akName });

    const forced = await cli(['--tcti', tcti, 'host', 'init', '--force', '--ak-alg', 'ecc', '--json']);
    expect(forced.code).toBe(EXIT.OK);
    const id3 = JSON.parse(forced.stdout);
    expect(id3).toMatchObject({ created: true, akAlg: 'ecc' });
    expect(id3.akName).not.toBe(id1.akName);
    const text = await cli(['--tcti', tcti, 'host', 'identity']);
    expect(text.stdout).toContain(`ak name:      ${id3.akName}`);
  });

  it('--ak-handle places the AK elsewhere; EXECGATE_TCTI is honoured', async () => {
    const env = { EXECGATE_TCTI: swtpm().tcti };
    expect((await cli(['host', 'init', '--ak-handle', '0x81010020'], env)).code).toBe(EXIT.OK);
    const id = JSON.parse(
      (await cli(['host', 'identity', '--ak-handle', '0x81010020', '--json'], env)).stdout,
    );
    expect(id.akAlg).toBe('rsa');
  });

  it('bad flags: exit 2', async () => {
    const tcti = swtpm().tcti;
    for (const argv of [
      ['host', 'init', '--ak-alg', 'dsa'],
      ['host', 'init', '--ak-handle', 'zz'],
      ['host', 'init', '--ak-handle', '0x80000001'],
      ['host', 'identity', 'extra'],
      ['host', 'frobnicate'],
    ]) {
      const r = await cli(['--tcti', tcti, ...argv]);
      expect(r.code, argv.join(' ')).toBe(EXIT.USAGE);
    }
  });

  it('execgate quote signs with the host AK of host init (default handle, --ak-handle); a non-AK or empty handle is refused', async () => {
    const tcti = swtpm().tcti;
    const nonce = '0011223344556677';
    expect(
      (await cli(['--tcti', tcti, 'host', 'init', '--ak-handle', '0x81010041', '--ak-alg', 'ecc'])).code,
    ).toBe(EXIT.OK);
    expect((await cli(['--tcti', tcti, 'host', 'init'])).code).toBe(EXIT.OK);
    await withTempDir(async (dir) => {
      for (const handle of [undefined, '0x81010041']) {
        const at = handle === undefined ? [] : ['--ak-handle', handle];
        const id = JSON.parse((await cli(['--tcti', tcti, 'host', 'identity', ...at, '--json'])).stdout);
        const ak = join(dir, 'ak.pem');
        await writeFile(ak, id.akPublicPem);
        const bundle = join(dir, 'q.cbor');
        const made = await cli(['--tcti', tcti, 'quote', ...at, '--nonce', nonce, '--out', bundle]);
        expect(made.stderr).toBe('');
        expect(made.code).toBe(EXIT.OK);
        const v = await cli(['quote', 'verify', bundle, '--ak', ak, '--nonce', nonce, '--json']);
        expect(v.code, v.stdout).toBe(EXIT.OK);
        // The quote's qualifiedSigner is the AK's qualified Name under the EK, as the TPM reports it.
        await tpm2(swtpm(), 'tpm2_readpublic', ['-c', handle ?? '0x81010002', '-q', join(dir, 'qn')]);
        expect(JSON.parse(v.stdout).qualifiedSigner).toBe((await readFile(join(dir, 'qn'))).toString('hex'));
      }
    });
    // A persistent object that is not an AK (an unrestricted signing key), and an empty handle.
    const tpm = openTpm(swtpm());
    try {
      const key = await createPrimary(tpm, TPM_RH.OWNER, signingRsa2048Template());
      try {
        await tpm.run(EvictControl, {
          auth: TPM_RH.OWNER,
          objectHandle: key.objectHandle,
          persistentHandle: 0x81010042,
        });
      } finally {
        await tpm.flush(key.objectHandle);
      }
      const notAk = await cli(['--tcti', tcti, 'quote', '--ak-handle', '0x81010042']);
      expect(notAk.code).toBe(EXIT.USAGE);
      expect(notAk.stderr).toContain('E_AK_INVALID');
      const empty = await cli(['--tcti', tcti, 'quote', '--ak-handle', '0x81010043']);
      expect(empty.code).toBe(EXIT.USAGE);
      expect(empty.stderr).toContain('E_AK_MISSING');
      expect(await transientHandles(tpm)).toEqual([]);
    } finally {
      await tpm.close();
    }
  });
});
