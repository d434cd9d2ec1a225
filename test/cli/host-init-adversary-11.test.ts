// SPDX-License-Identifier: Apache-2.0
// Adversary review 11: `host init --force` remakes the AK, and it also re-pins the EK. Without --ca that
// re-pin was on first use even when the pin it replaced had been certified (`host init --ca`): an
// interposer present when the operator rotates the AK got its own key pinned, "ek-certificate" downgraded
// to "first-use", and every later salted session went to it. A certified pin is now replaced only
// through --ca: --force without it keeps the pin (E_EK_MISMATCH, exit 5, when the TPM reports another EK).
import { generateKeyPairSync } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT } from '../../agent/cli/exit.js';
import { upstreamOf, useSwtpm, writeCaBundle } from '../helpers/swtpm.js';
import { startTpmProxy, stealRsaSalts, swapEkOnReadPublic, type TpmProxy } from '../helpers/tpm-proxy.js';
import { withTempDir } from '../tpm/swtpm-kit.js';
import { cli } from './helpers.js';

const swtpm = useSwtpm({ ek: true });
let proxy: TpmProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});

const QUIRK = ['--ek-quirk', 'critical-san-with-subject'];

const bundle = (dir: string) => writeCaBundle(swtpm(), dir);

const hostJson = (state: string) => readFile(join(state, 'host.json'), 'utf8');

/**
 * A proxy that reports the attacker's RSA key as the persistent EK and records every salt it can unwrap
 * with the attacker's private key (sessions salted to the swapped EK).
 */
async function swappingProxy(): Promise<{ tcti: string; stolen: Buffer[] }> {
  const attacker = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const n = Buffer.from(attacker.publicKey.export({ format: 'jwk' }).n ?? '', 'base64url');
  const stolen: Buffer[] = [];
  proxy = await startTpmProxy(upstreamOf(swtpm()), {
    onCommand: stealRsaSalts(attacker.privateKey, stolen),
    onResponse: swapEkOnReadPublic(new Uint8Array(n)),
  });
  return { tcti: proxy.tcti, stolen };
}

describe('host init --force cannot downgrade a certified EK pin', () => {
  it('through an interposer, --force without --ca keeps the certified pin: E_EK_MISMATCH, nothing salted to the swapped EK', async () => {
    await withTempDir(async (dir) => {
      const ca = await bundle(dir);
      const state = join(dir, 'state');
      const first = await cli(['--tcti', swtpm().tcti, 'host', 'init', '--ca', ca, ...QUIRK], {
        EXECGATE_STATE_DIR: state,
      });
      expect(first.code, first.stderr).toBe(EXIT.OK);
      const before = await hostJson(state);
      expect(JSON.parse(before).ek.rsa2048.trust).toBe('ek-certificate');

      for (const argv of [
        ['host', 'init', '--force'],
        ['host', 'init', '--force', '--ak-save', join(dir, 'ak')],
      ]) {
        const bus = await swappingProxy();
        const r = await cli(['--tcti', bus.tcti, ...argv], { EXECGATE_STATE_DIR: state });
        expect(bus.stolen, `${argv.join(' ')}: a session salted to the swapped EK`).toEqual([]);
        expect(r.stderr, argv.join(' ')).toMatch(/^execgate: E_EK_MISMATCH: .*--ca/);
        expect(r.code, argv.join(' ')).toBe(EXIT.TPM_PROTOCOL);
        expect(await hostJson(state), argv.join(' ')).toBe(before);
        await proxy?.close();
        proxy = undefined;
      }
    });
  });

  it('on the direct bus, --force without --ca remakes the AK and keeps the pin certified', async () => {
    await withTempDir(async (dir) => {
      const ca = await bundle(dir);
      const state = join(dir, 'state');
      const h = ['--ak-handle', '0x81010042'];
      const first = await cli(
        ['--tcti', swtpm().tcti, 'host', 'init', ...h, '--ca', ca, ...QUIRK, '--json'],
        {
          EXECGATE_STATE_DIR: state,
        },
      );
      expect(first.code, first.stderr).toBe(EXIT.OK);
      const before = await hostJson(state);
      const again = await cli(
        ['--tcti', swtpm().tcti, 'host', 'init', ...h, '--force', '--ak-alg', 'ecc', '--json'],
        {
          EXECGATE_STATE_DIR: state,
        },
      );
      expect(again.stderr).toBe('');
      expect(again.code).toBe(EXIT.OK);
      const doc = JSON.parse(again.stdout);
      expect(doc.created).toBe(true);
      expect(doc.akName).not.toBe(JSON.parse(first.stdout).akName);
      expect(doc.ekTrust).toBe('ek-certificate');
      // The EK pin as it was; the AK pin is the new AK's.
      const after = JSON.parse(await hostJson(state));
      expect(after.ek).toEqual(JSON.parse(before).ek);
      expect(after.ak.name).toBe(doc.akName);
    });
  });
});
