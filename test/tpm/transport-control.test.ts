// SPDX-License-Identifier: Apache-2.0
// The swtpm control channel client against a real swtpm (SWTPM.md §3.2).
import { createServer, type Server, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { TPM_RC } from '../../agent/tpm/rc.js';
import { controlEndpointFor, SwtpmControl } from '../../agent/tpm/transport/control.js';
import { openTransport } from '../../agent/tpm/transport/open.js';
import { startSwtpm } from '../../swtpm/harness.js';
import { useSwtpm } from '../helpers/swtpm.js';

const GET_RANDOM_8 = Uint8Array.from(Buffer.from('80010000000c0000017b0008', 'hex'));
const STARTUP_CLEAR = Uint8Array.from(Buffer.from('80010000000c000001440000', 'hex'));
const rcOf = (response: Uint8Array): number => Buffer.from(response).readUInt32BE(6);

describe('SwtpmControl', () => {
  const swtpm = useSwtpm();
  const control = (): SwtpmControl => new SwtpmControl({ host: '127.0.0.1', port: swtpm().ctrlPort ?? 0 });

  it('derives the control endpoint as tpm2-tss does', () => {
    expect(controlEndpointFor({ host: 'h', port: 2321 })).toEqual({ host: 'h', port: 2322 });
    expect(controlEndpointFor({ path: '/run/s' })).toEqual({ path: '/run/s.ctrl' });
  });

  it('getCapability answers with the PTM_CAP bits', async () => {
    expect(await control().getCapability()).toBe(0xffffn);
  });

  it('getInfo returns the TPM specification and attributes as JSON', async () => {
    expect(await control().getInfo()).toEqual({
      TPMSpecification: { family: '2.0', level: 0, revision: 164 },
      TPMAttributes: { manufacturer: 'id:00001014', version: 'id:20191023', model: 'swtpm' },
    });
  });

  it('setLocality accepts 0..4 and refuses others before sending', async () => {
    await control().setLocality(0);
    await expect(control().setLocality(5)).rejects.toThrow(RangeError);
  });

  it('stop halts the TPM (TPM_RC_FAILURE) until init; then Startup brings it back', async () => {
    const tpm = openTransport(swtpm().tcti);
    await control().stop();
    expect(rcOf(await tpm.send(GET_RANDOM_8))).toBe(TPM_RC.FAILURE);
    await control().init();
    expect(rcOf(await tpm.send(GET_RANDOM_8))).toBe(TPM_RC.INITIALIZE);
    expect(rcOf(await tpm.send(STARTUP_CLEAR))).toBe(0);
    expect(rcOf(await tpm.send(GET_RANDOM_8))).toBe(0);
  });

  it('reports an unreachable control channel as E_TPM_UNAVAILABLE', async () => {
    const missing = new SwtpmControl({ path: '/nonexistent/execgate/swtpm.sock.ctrl' });
    await expect(missing.getCapability()).rejects.toMatchObject({ code: 'E_TPM_UNAVAILABLE' });
  });

  it('reports a non-zero result as E_TPM_PROTOCOL and silence as E_TPM_TIMEOUT', async () => {
    // A control server that answers TPM_BAD_ORDINAL to the first request and nothing to the second.
    let requests = 0;
    const sockets: Socket[] = [];
    const server: Server = createServer((socket) => {
      sockets.push(socket);
      socket.on('data', () => {
        if (requests++ === 0) socket.end(Buffer.from('0000000a', 'hex'));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const address = server.address();
      const port = address !== null && typeof address === 'object' ? address.port : 0;
      const fake = new SwtpmControl({ host: '127.0.0.1', port }, { timeoutMs: 200 });
      await expect(fake.init()).rejects.toMatchObject({ code: 'E_TPM_PROTOCOL' });
      await expect(fake.init()).rejects.toMatchObject({ code: 'E_TPM_TIMEOUT' });
      expect(requests).toBe(2);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('shutdown makes swtpm exit', async () => {
    const own = await startSwtpm({ transport: 'unix' });
    try {
      await new SwtpmControl({ path: own.ctrlPath ?? '' }).shutdown();
      await own.exited;
      await expect(openTransport(own.tcti).send(GET_RANDOM_8)).rejects.toMatchObject({
        code: 'E_TPM_UNAVAILABLE',
      });
    } finally {
      await own.stop();
    }
  });
});
