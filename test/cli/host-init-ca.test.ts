// SPDX-License-Identifier: Apache-2.0
// Issue 11 finding 2, at provisioning: `host init` pins the EK on first use, so an interposer present at
// that moment gets its own key pinned. With `--ca BUNDLE` the EK is pinned only when its certificate
// (NV or --ek-cert) chains to the bundle and certifies exactly the EK the TPM reported: the swapped EK
// is refused (E_EK_CERT_KEY, exit 7) and nothing is pinned or created. host.json records how each EK was
// trusted ("first-use" or "ek-certificate"), and `--force` re-pinning is held to the same rule.
import { generateKeyPairSync } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT } from '../../agent/cli/exit.js';
import { upstreamOf, useSwtpm, writeCaBundle } from '../helpers/swtpm.js';
import { startTpmProxy, swapEkOnReadPublic, type TpmProxy } from '../helpers/tpm-proxy.js';
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

const hostJson = async (stateDir: string) => JSON.parse(await readFile(join(stateDir, 'host.json'), 'utf8'));

/** A proxy that reports a fresh RSA key of the attacker's as the persistent EK. */
async function swappingProxy(): Promise<{ tcti: string; swapped: () => boolean }> {
  const attacker = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' });
  let swapped = false;
  proxy = await startTpmProxy(upstreamOf(swtpm()), {
    onResponse: swapEkOnReadPublic(new Uint8Array(Buffer.from(attacker.n ?? '', 'base64url')), () => {
      swapped = true;
    }),
  });
  return { tcti: proxy.tcti, swapped: () => swapped };
}

describe('host init --ca: the EK is pinned only when its certificate certifies it', () => {
  it('a genuine EK with a valid certificate is pinned as "ek-certificate"; without --ca as "first-use"', async () => {
    await withTempDir(async (dir) => {
      const ca = await bundle(dir);
      const certified = join(dir, 'state-ca');
      const r = await cli(['--tcti', swtpm().tcti, 'host', 'init', '--ca', ca, ...QUIRK, '--json'], {
        EXECGATE_STATE_DIR: certified,
      });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(EXIT.OK);
      expect(JSON.parse(r.stdout).ekCertificate).toMatchObject({ valid: true, source: 'NV' });
      expect((await hostJson(certified)).ek.rsa2048.trust).toBe('ek-certificate');

      const tofu = join(dir, 'state-tofu');
      const t = await cli(['--tcti', swtpm().tcti, 'host', 'init'], { EXECGATE_STATE_DIR: tofu });
      expect(t.code).toBe(EXIT.OK);
      expect(t.stdout).toContain('trusted on first use');
      const pinned = (await hostJson(tofu)).ek.rsa2048;
      expect(pinned.trust).toBe('first-use');
      expect(pinned.public).toBe((await hostJson(certified)).ek.rsa2048.public);
    });
  });

  it('an interposer at provisioning that swaps the EK is refused with --ca: E_EK_CERT_KEY, nothing pinned, no AK made', async () => {
    await withTempDir(async (dir) => {
      const ca = await bundle(dir);
      const state = join(dir, 'state');
      const bus = await swappingProxy();
      const r = await cli(['--tcti', bus.tcti, 'host', 'init', '--ca', ca, ...QUIRK], {
        EXECGATE_STATE_DIR: state,
      });
      expect(bus.swapped(), 'the proxy swapped the EK').toBe(true);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^execgate: E_EK_CERT_KEY: /);
      expect(r.code).toBe(EXIT.EVIDENCE_INVALID);
      await expect(readFile(join(state, 'host.json'))).rejects.toMatchObject({ code: 'ENOENT' });
      // No key was made or persisted: neither TPM2_Create (0x153) nor EvictControl (0x120) was sent.
      const codes = proxy?.commands.map((c) => c.readUInt32BE(6)) ?? [];
      expect(codes).not.toContain(0x153);
      expect(codes).not.toContain(0x120);
    });
  });

  it('host init --force --ca through the swapping proxy keeps the pinned EK (re-pinning is checked too)', async () => {
    await withTempDir(async (dir) => {
      const ca = await bundle(dir);
      const state = join(dir, 'state');
      const first = await cli(['--tcti', swtpm().tcti, 'host', 'init', '--ca', ca, ...QUIRK], {
        EXECGATE_STATE_DIR: state,
      });
      expect(first.code, first.stderr).toBe(EXIT.OK);
      const before = await readFile(join(state, 'host.json'), 'utf8');
      const bus = await swappingProxy();
      const r = await cli(['--tcti', bus.tcti, 'host', 'init', '--force', '--ca', ca, ...QUIRK], {
        EXECGATE_STATE_DIR: state,
      });
      expect(r.stderr).toMatch(/^execgate: E_EK_CERT_KEY: /);
      expect(r.code).toBe(EXIT.EVIDENCE_INVALID);
      expect(await readFile(join(state, 'host.json'), 'utf8')).toBe(before);
    });
  });

  it('--ca with an EK that is already pinned checks the pinned one; a quirk not accepted refuses the pin', async () => {
    await withTempDir(async (dir) => {
      const ca = await bundle(dir);
      const state = join(dir, 'state');
      const strict = await cli(['--tcti', swtpm().tcti, 'host', 'init', '--ca', ca], {
        EXECGATE_STATE_DIR: state,
      });
      expect(strict.stderr).toMatch(/^execgate: E_EK_CERT_CHAIN: .*--ek-quirk critical-san-with-subject/);
      expect(strict.code).toBe(EXIT.EVIDENCE_INVALID);
      await expect(readFile(join(state, 'host.json'))).rejects.toMatchObject({ code: 'ENOENT' });
      // Pinned on first use, then certified: the pin is upgraded to "ek-certificate".
      expect((await cli(['--tcti', swtpm().tcti, 'host', 'init'], { EXECGATE_STATE_DIR: state })).code).toBe(
        EXIT.OK,
      );
      const again = await cli(['--tcti', swtpm().tcti, 'host', 'init', '--ca', ca, ...QUIRK], {
        EXECGATE_STATE_DIR: state,
      });
      expect(again.code, again.stderr).toBe(EXIT.OK);
      expect(again.stdout).toMatch(/^kept existing AK/);
      expect((await hostJson(state)).ek.rsa2048.trust).toBe('ek-certificate');
    });
  });

  it('a host.json whose "trust" is neither value is refused as malformed (exit 2)', async () => {
    await withTempDir(async (dir) => {
      const state = join(dir, 'state');
      expect((await cli(['--tcti', swtpm().tcti, 'host', 'init'], { EXECGATE_STATE_DIR: state })).code).toBe(
        EXIT.OK,
      );
      const doc = await hostJson(state);
      doc.ek.rsa2048.trust = 'vendor-said-so';
      await writeFile(join(state, 'host.json'), JSON.stringify(doc));
      const r = await cli(['--tcti', swtpm().tcti, 'host', 'identity'], { EXECGATE_STATE_DIR: state });
      expect(r.stderr).toContain('"ek.rsa2048.trust" is neither');
      expect(r.code).toBe(EXIT.USAGE);
    });
  });

  it('--ek-cert and --ek-quirk need --ca', async () => {
    for (const extra of [['--ek-cert', '/dev/null'], QUIRK]) {
      const r = await cli(['--tcti', swtpm().tcti, 'host', 'init', ...extra]);
      expect(r.code).toBe(EXIT.USAGE);
      expect(r.stderr).toContain('--ca BUNDLE');
    }
  });
});
