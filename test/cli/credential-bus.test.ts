// SPDX-License-Identifier: Apache-2.0
// Issue 11 finding 2, on the bus: a loopback proxy between execgate and swtpm records every command and
// response of `credential activate`; the released secret must not cross it in clear.
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT } from '../../agent/cli/exit.js';
import { useSwtpm } from '../helpers/swtpm.js';
import { startTpmProxy, type TpmProxy } from '../helpers/tpm-proxy.js';
import { withTempDir } from '../tpm/swtpm-kit.js';
import { cli } from './helpers.js';

const swtpm = useSwtpm({ ek: true });
let proxy: TpmProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});

function upstream() {
  const { host, port, ctrlPort } = swtpm();
  if (host === undefined || port === undefined || ctrlPort === undefined) throw new Error('not tcp');
  return { host, port, ctrlPort };
}

async function identity(tcti: string) {
  expect((await cli(['--tcti', tcti, 'host', 'init'])).code).toBe(EXIT.OK);
  return JSON.parse((await cli(['--tcti', tcti, 'host', 'identity', '--json'])).stdout);
}

async function makeCredential(dir: string, id: { ekPublicPem: string; akName: string }, secret: Buffer) {
  await writeFile(`${dir}/ek.pem`, id.ekPublicPem);
  const made = await cli([
    'credential',
    'make',
    '--ek-pub',
    `${dir}/ek.pem`,
    '--ak-name',
    id.akName,
    '--unverified-ak-name',
    '--secret',
    secret.toString('hex'),
    '--out',
    `${dir}/cred`,
  ]);
  expect(made.code).toBe(EXIT.OK);
}

describe('credential activate on a recorded bus', () => {
  it('the released secret never crosses the bus in clear (ActivateCredential encrypts certInfo)', async () => {
    const id = await identity(swtpm().tcti);
    const secret = randomBytes(32);
    await withTempDir(async (dir) => {
      await makeCredential(dir, id, secret);
      proxy = await startTpmProxy(upstream());
      const r = await cli(['--tcti', proxy.tcti, 'credential', 'activate', '--in', `${dir}/cred`]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(EXIT.OK);
      expect(r.stdout.trim()).toBe(secret.toString('hex'));
      expect(proxy.responses.length).toBeGreaterThan(3);
      // ActivateCredential went through the proxy, and its response carries no plaintext secret.
      expect(proxy.commands.some((c) => c.readUInt32BE(6) === 0x147)).toBe(true);
      for (const frame of [...proxy.responses, ...proxy.commands])
        expect(frame.includes(secret), frame.toString('hex')).toBe(false);
    });
  });
});
