// SPDX-License-Identifier: Apache-2.0
// The character-device transport (device:PATH). There is no kernel TPM here (SWTPM.md §5), so a raw-mode
// pty stands in for /dev/tpmrm0: like the kernel device it is a character device opened read-write, one
// write per command, responses read back. Not covered: the kernel driver's own behaviour (one whole
// response per read, EBUSY while a response is unread, resource-manager flushing on close).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { openTransport } from '../../agent/tpm/transport/open.js';
import { type DeviceHandler, type FakeDevice, startFakeDevice } from '../helpers/fake-device.js';
import { response } from '../helpers/fake-tpm.js';
import { useSwtpm } from '../helpers/swtpm.js';

const GET_RANDOM_16 = Uint8Array.from(Buffer.from('80010000000c0000017b0010', 'hex'));
/** Every byte value, so that a pty that is not fully raw (CR/LF mapping, ^C, ^S, ^V…) would corrupt it. */
const ALL_BYTES = response(
  0,
  Uint8Array.from({ length: 256 }, (_, i) => i),
);

let device: FakeDevice | undefined;
afterEach(async () => {
  await device?.close();
  device = undefined;
});

async function fakeDevice(handler: DeviceHandler): Promise<FakeDevice> {
  device = await startFakeDevice(handler);
  return device;
}

describe('device transport', () => {
  const swtpm = useSwtpm();

  it('carries GetRandom(16) to swtpm and back through the stand-in device', async () => {
    const upstream = openTransport(swtpm().tcti);
    const dev = await fakeDevice(async (command, reply) => reply(await upstream.send(command)));
    const tpm = openTransport(`device:${dev.path}`);
    for (let i = 0; i < 3; i++) {
      const answer = await tpm.send(GET_RANDOM_16);
      expect(Buffer.from(answer.subarray(0, 12)).toString('hex')).toBe('80010000001c000000000010');
    }
    expect(dev.commands).toHaveLength(3);
    await tpm.close();
  });

  it('passes every byte value unchanged and reassembles a response read in pieces', async () => {
    const dev = await fakeDevice(async (_command, reply) => {
      for (let i = 0; i < ALL_BYTES.length; i += 50) {
        reply(ALL_BYTES.subarray(i, i + 50));
        await sleep(5);
      }
    });
    const tpm = openTransport(`device:${dev.path}`);
    expect(Buffer.from(await tpm.send(GET_RANDOM_16))).toEqual(ALL_BYTES);
    expect(dev.commands).toEqual([Buffer.from(GET_RANDOM_16)]);
    await tpm.close();
  });

  it('rejects a response whose size field lies with E_TPM_PROTOCOL', async () => {
    const dev = await fakeDevice((_command, reply) => reply(response(0, new Uint8Array(8), 12)));
    const tpm = openTransport(`device:${dev.path}`);
    await expect(tpm.send(GET_RANDOM_16)).rejects.toMatchObject({ code: 'E_TPM_PROTOCOL' });
    await tpm.close();
  });

  it('times out with E_TPM_TIMEOUT when the device never answers', async () => {
    const dev = await fakeDevice(() => undefined);
    const tpm = openTransport(`device:${dev.path}`, { timeoutMs: 300 });
    await expect(tpm.send(GET_RANDOM_16)).rejects.toMatchObject({ code: 'E_TPM_TIMEOUT' });
    expect(dev.commands).toHaveLength(1);
    // The abandoned read is still blocked in the kernel; hanging the pty up (afterEach) releases it.
  });

  it('fails with E_TPM_UNAVAILABLE when the device goes away mid-command', async () => {
    const dev = await fakeDevice(() => undefined);
    const tpm = openTransport(`device:${dev.path}`);
    const pending = tpm.send(GET_RANDOM_16);
    await expect.poll(() => dev.commands.length).toBe(1);
    await dev.close();
    await expect(pending).rejects.toMatchObject({ code: 'E_TPM_UNAVAILABLE', cause: { code: 'EIO' } });
  });

  it('fails with E_TPM_UNAVAILABLE for a missing device', async () => {
    const err = await openTransport('device:/dev/execgate-no-such-tpm')
      .send(GET_RANDOM_16)
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_TPM_UNAVAILABLE', cause: { code: 'ENOENT' } });
  });

  it('refuses a path that is not a character device with E_TPM_UNAVAILABLE', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'execgate-test-device-'));
    try {
      const file = join(dir, 'tpmrm0');
      await writeFile(file, response(0));
      await expect(openTransport(`device:${file}`).send(GET_RANDOM_16)).rejects.toMatchObject({
        code: 'E_TPM_UNAVAILABLE',
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
