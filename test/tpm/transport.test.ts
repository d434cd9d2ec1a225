// SPDX-License-Identifier: Apache-2.0
// The transport against a real swtpm: raw and mssim framing over TCP and unix sockets, sharing the TPM
// with tpm2-tools, power cycles through the control channel, and a TPM that dies.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { TPM_RC } from '../../agent/tpm/rc.js';
import { openTransport } from '../../agent/tpm/transport/open.js';
import type { Transport } from '../../agent/tpm/transport/transport.js';
import { startSwtpm } from '../../swtpm/harness.js';
import { useSwtpm } from '../helpers/swtpm.js';

const run = promisify(execFile);

const hex = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text.replace(/\s+/g, ''), 'hex'));

/** TPM2_GetRandom(16), Part 3 §16.1. */
const GET_RANDOM_16 = hex('80 01 00 00 00 0c 00 00 01 7b 00 10');
/** TPM2_Startup(TPM_SU_CLEAR), Part 3 §9.3. */
const STARTUP_CLEAR = hex('80 01 00 00 00 0c 00 00 01 44 00 00');
const DIGEST_01 = '01'.repeat(32);
/** TPM2_PCR_Extend(PCR 16, sha256 = 32×0x01) with a password session (SWTPM.md §3.1). */
const EXTEND_PCR16 = hex(
  `8002 00000041 00000182 00000010 00000009 40000009 0000 00 0000 00000001 000b ${DIGEST_01}`,
);
/** TPM2_PCR_Read(sha256: PCR 16), Part 3 §22.4. */
const READ_PCR16 = hex('8001 00000014 0000017e 00000001 000b 03 000001');

function rcOf(response: Uint8Array): number {
  return Buffer.from(response).readUInt32BE(6);
}

async function getRandom(tpm: Transport): Promise<Uint8Array> {
  const response = await tpm.send(GET_RANDOM_16);
  expect(Buffer.from(response.subarray(0, 12)).toString('hex')).toBe('80010000001c000000000010');
  return response.subarray(12);
}

async function readPcr16(tpm: Transport): Promise<string> {
  const response = await tpm.send(READ_PCR16);
  expect(rcOf(response)).toBe(0);
  expect(response).toHaveLength(62);
  return Buffer.from(response.subarray(30)).toString('hex');
}

describe('over TCP', () => {
  const swtpm = useSwtpm();

  it('GetRandom(16) round-trips as raw bytes', async () => {
    const tpm = openTransport(swtpm().tcti);
    const a = await getRandom(tpm);
    const b = await getRandom(tpm);
    expect(a).toHaveLength(16);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
  });

  it('GetRandom(16) round-trips in the mssim framing on the same data port', async () => {
    const tpm = openTransport(`mssim:host=127.0.0.1,port=${swtpm().port}`);
    expect(await getRandom(tpm)).toHaveLength(16);
    const keep = openTransport(`mssim:host=127.0.0.1,port=${swtpm().port}`, { keepAlive: true });
    for (let i = 0; i < 3; i++) expect(await getRandom(keep)).toHaveLength(16);
    await keep.close();
  });

  it('keepAlive carries several commands on one connection', async () => {
    const tpm = openTransport(swtpm().tcti, { keepAlive: true });
    for (let i = 0; i < 5; i++) expect(await getRandom(tpm)).toHaveLength(16);
    await tpm.close();
  });

  it('alternates with tpm2-tools on one swtpm without blocking either', async () => {
    const tpm = openTransport(swtpm().tcti);
    const env = { ...process.env, ...swtpm().env };
    for (let i = 0; i < 3; i++) {
      expect(await getRandom(tpm)).toHaveLength(16);
      const { stdout } = await run('tpm2_getrandom', ['--hex', '8'], { env, timeout: 10_000 });
      expect(stdout.trim()).toMatch(/^[0-9a-f]{16}$/);
    }
  });

  it('power cycle through the control channel resets the PCRs, after a raw Startup(CLEAR)', async () => {
    const tpm = openTransport(swtpm().tcti);
    const before = await readPcr16(tpm);
    const extended = await tpm.send(EXTEND_PCR16);
    expect(rcOf(extended)).toBe(0);
    const expected = createHash('sha256')
      .update(Buffer.from(before + DIGEST_01, 'hex'))
      .digest('hex');
    expect(await readPcr16(tpm)).toBe(expected);
    // tpm2-tools reads the same value (independent oracle).
    const { stdout } = await run('tpm2_pcrread', ['sha256:16'], { env: { ...process.env, ...swtpm().env } });
    expect(stdout.toLowerCase()).toContain(`0x${expected}`);

    await tpm.powerCycle();
    expect(rcOf(await tpm.send(GET_RANDOM_16))).toBe(TPM_RC.INITIALIZE);
    expect(rcOf(await tpm.send(STARTUP_CLEAR))).toBe(0);
    expect(await readPcr16(tpm)).toBe('00'.repeat(32));
  });
});

describe('over a unix socket', () => {
  const swtpm = useSwtpm({ transport: 'unix' });

  it('GetRandom(16) round-trips as raw bytes, with and without keepAlive', async () => {
    expect(swtpm().tcti).toBe(`swtpm:path=${swtpm().path}`);
    expect(await getRandom(openTransport(swtpm().tcti))).toHaveLength(16);
    const keep = openTransport(swtpm().tcti, { keepAlive: true });
    for (let i = 0; i < 3; i++) expect(await getRandom(keep)).toHaveLength(16);
    await keep.close();
  });

  it('power-cycles through SOCK.ctrl', async () => {
    const tpm = openTransport(swtpm().tcti);
    await tpm.powerCycle();
    expect(rcOf(await tpm.send(GET_RANDOM_16))).toBe(TPM_RC.INITIALIZE);
    expect(rcOf(await tpm.send(STARTUP_CLEAR))).toBe(0);
    expect(await getRandom(tpm)).toHaveLength(16);
  });
});

describe('a swtpm that dies mid-session', () => {
  it.each([
    ['tcp', false],
    ['tcp', true],
    ['unix', false],
    ['unix', true],
  ] as const)(
    'over %s (keepAlive %s) fails with E_TPM_UNAVAILABLE, not a hang',
    async (transport, keepAlive) => {
      const swtpm = await startSwtpm({ transport });
      try {
        const tpm = openTransport(swtpm.tcti, { keepAlive, timeoutMs: 5_000 });
        expect(await getRandom(tpm)).toHaveLength(16);
        swtpm.kill();
        await swtpm.exited;
        await expect(tpm.send(GET_RANDOM_16)).rejects.toMatchObject({ code: 'E_TPM_UNAVAILABLE' });
        await expect(tpm.send(GET_RANDOM_16)).rejects.toMatchObject({ code: 'E_TPM_UNAVAILABLE' });
        await expect(tpm.powerCycle()).rejects.toMatchObject({ code: 'E_TPM_UNAVAILABLE' });
      } finally {
        await swtpm.stop();
      }
    },
  );
});
