// SPDX-License-Identifier: Apache-2.0
// CheckedTransport against scripted loopback servers: reassembly, framing checks, retry, timeout, errors.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { TPM_RC } from '../../agent/tpm/rc.js';
import { openTransport } from '../../agent/tpm/transport/open.js';
import { type FakeHandler, type FakeTpm, mssimReply, response, startFakeTpm } from '../helpers/fake-tpm.js';

const GET_RANDOM_16 = Uint8Array.from([
  0x80, 0x01, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x01, 0x7b, 0x00, 0x10,
]);
const RANDOM_BODY = Uint8Array.from([0x00, 0x10, ...Array.from({ length: 16 }, (_, i) => 0xa0 + i)]);
const GOOD = response(0, RANDOM_BODY);

let fake: FakeTpm | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function serve(handler: FakeHandler, options: { mssim?: boolean } = {}): Promise<FakeTpm> {
  fake = await startFakeTpm(handler, options);
  return fake;
}

describe('CheckedTransport over a scripted server', () => {
  it('reassembles a response that arrives in several chunks', async () => {
    const server = await serve(async (_cmd, socket) => {
      socket.setNoDelay(true);
      // Header split inside the size field, then the body byte by byte.
      for (const piece of [GOOD.subarray(0, 3), GOOD.subarray(3, 7), GOOD.subarray(7, 10)]) {
        socket.write(piece);
        await sleep(15);
      }
      for (const byte of GOOD.subarray(10)) {
        socket.write(Uint8Array.of(byte));
        await sleep(2);
      }
    });
    const tpm = openTransport(server.tcti);
    expect(Buffer.from(await tpm.send(GET_RANDOM_16))).toEqual(GOOD);
    expect(server.commands).toEqual([Buffer.from(GET_RANDOM_16)]);
  });

  const malformed: [string, Buffer][] = [
    ['responseSize smaller than the bytes sent', response(0, RANDOM_BODY, GOOD.length - 4)],
    ['responseSize below the header size', response(0, new Uint8Array(0), 6)],
    ['responseSize above the maximum', response(0, new Uint8Array(64), 5000)],
    ['a bad tag', response(0, RANDOM_BODY, undefined, 0x8003)],
    ['a command tag of zero', response(0, RANDOM_BODY, undefined, 0x0000)],
  ];
  it.each(malformed)('rejects %s with E_TPM_PROTOCOL', async (_name, bytes) => {
    const server = await serve((_cmd, socket) => {
      socket.end(bytes);
    });
    const tpm = openTransport(server.tcti);
    await expect(tpm.send(GET_RANDOM_16)).rejects.toMatchObject({ code: 'E_TPM_PROTOCOL' });
  });

  it('rejects an oversize response by its header, without waiting for the body', async () => {
    const server = await serve((_cmd, socket) => {
      socket.write(response(0, new Uint8Array(0), 1 << 30)); // and keep the connection open
    });
    const tpm = openTransport(server.tcti, { timeoutMs: 5_000 });
    await expect(tpm.send(GET_RANDOM_16)).rejects.toMatchObject({ code: 'E_TPM_PROTOCOL' });
  });

  it('honours a configured maxResponseSize', async () => {
    const server = await serve((_cmd, socket) => {
      socket.end(GOOD);
    });
    await expect(
      openTransport(server.tcti, { maxResponseSize: 20 }).send(GET_RANDOM_16),
    ).rejects.toMatchObject({
      code: 'E_TPM_PROTOCOL',
    });
    expect(await openTransport(server.tcti, { maxResponseSize: 28 }).send(GET_RANDOM_16)).toHaveLength(28);
  });

  it('accepts a TPM 1.2 style error (tag 0x00C4) and returns it', async () => {
    const tpm12 = response(TPM_RC.BAD_TAG, new Uint8Array(0), undefined, 0x00c4);
    const server = await serve((_cmd, socket) => {
      socket.end(tpm12);
    });
    expect(Buffer.from(await openTransport(server.tcti).send(GET_RANDOM_16))).toEqual(tpm12);
  });

  it('reports a server that never answers as E_TPM_TIMEOUT and drops the connection', async () => {
    const server = await serve(() => undefined);
    const tpm = openTransport(server.tcti, { timeoutMs: 300 });
    await expect(tpm.send(GET_RANDOM_16)).rejects.toMatchObject({ code: 'E_TPM_TIMEOUT' });
    expect(server.commands).toHaveLength(1);
    // The server never closes a connection: only the client's destroy() can bring this to 0.
    await expect.poll(() => server.open()).toBe(0);
  });

  it('reports a header that stops mid-response as E_TPM_TIMEOUT when the server keeps the connection', async () => {
    const server = await serve((_cmd, socket) => {
      socket.write(GOOD.subarray(0, 15));
    });
    await expect(openTransport(server.tcti, { timeoutMs: 300 }).send(GET_RANDOM_16)).rejects.toMatchObject({
      code: 'E_TPM_TIMEOUT',
    });
  });

  it('reports EOF mid-response (responseSize larger than what came) as E_TPM_UNAVAILABLE with a cause', async () => {
    const server = await serve((_cmd, socket) => {
      socket.end(GOOD.subarray(0, 15));
    });
    const err = await openTransport(server.tcti)
      .send(GET_RANDOM_16)
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_TPM_UNAVAILABLE' });
    expect(err).toHaveProperty('cause');
  });

  it('reports a reset connection as E_TPM_UNAVAILABLE', async () => {
    const server = await serve((_cmd, socket) => {
      socket.resetAndDestroy();
    });
    await expect(openTransport(server.tcti).send(GET_RANDOM_16)).rejects.toMatchObject({
      code: 'E_TPM_UNAVAILABLE',
    });
  });

  it.each([
    ['RETRY', TPM_RC.RETRY],
    ['YIELDED', TPM_RC.YIELDED],
    ['TESTING', TPM_RC.TESTING],
  ])('resends after %s twice, then returns the success', async (_name, rc) => {
    const server = await serve((_cmd, socket, index) => {
      socket.end(index < 2 ? response(rc) : GOOD);
    });
    const tpm = openTransport(server.tcti);
    expect(Buffer.from(await tpm.send(GET_RANDOM_16))).toEqual(GOOD);
    expect(server.commands).toHaveLength(3);
    for (const command of server.commands) expect(command).toEqual(Buffer.from(GET_RANDOM_16));
  });

  it('stops after maxTries when the TPM answers RETRY forever, and returns the RETRY response', async () => {
    const server = await serve((_cmd, socket) => {
      socket.end(response(TPM_RC.RETRY));
    });
    const answer = await openTransport(server.tcti).send(GET_RANDOM_16);
    expect(Buffer.from(answer)).toEqual(response(TPM_RC.RETRY));
    expect(server.commands).toHaveLength(5);
    const three = await openTransport(server.tcti, { maxTries: 3 }).send(GET_RANDOM_16);
    expect(Buffer.from(three)).toEqual(response(TPM_RC.RETRY));
    expect(server.commands).toHaveLength(8);
  });

  it('does not resend after other warnings or errors', async () => {
    const server = await serve((_cmd, socket) => {
      socket.end(response(TPM_RC.OBJECT_MEMORY));
    });
    await openTransport(server.tcti).send(GET_RANDOM_16);
    expect(server.commands).toHaveLength(1);
  });

  it('serializes concurrent commands: one connection at a time', async () => {
    const server = await serve(async (_cmd, socket) => {
      await sleep(20);
      socket.end(GOOD);
    });
    const tpm = openTransport(server.tcti);
    const answers = await Promise.all([1, 2, 3, 4].map(() => tpm.send(GET_RANDOM_16)));
    expect(answers).toHaveLength(4);
    expect(server.commands).toHaveLength(4);
    expect(server.maxInFlight()).toBe(1);
  });

  it('keepAlive sends successive commands on one connection', async () => {
    const server = await serve((_cmd, socket) => {
      socket.write(GOOD);
    });
    const tpm = openTransport(server.tcti, { keepAlive: true });
    for (let i = 0; i < 3; i++) await tpm.send(GET_RANDOM_16);
    expect(server.commands).toHaveLength(3);
    expect(server.connections()).toBe(1);
    await tpm.close();
  });

  it('keepAlive drops a connection that sends bytes nobody asked for, and reconnects', async () => {
    const server = await serve((_cmd, socket, index) => {
      socket.write(index === 0 ? Buffer.concat([GOOD, Buffer.from([0x80])]) : GOOD);
    });
    const tpm = openTransport(server.tcti, { keepAlive: true });
    // The stray byte arrives with the first response: the size check sees 29 bytes for a 28-byte response.
    await expect(tpm.send(GET_RANDOM_16)).rejects.toMatchObject({ code: 'E_TPM_PROTOCOL' });
    expect(Buffer.from(await tpm.send(GET_RANDOM_16))).toEqual(GOOD);
    expect(server.connections()).toBe(2);
    await tpm.close();
  });

  it('without keepAlive uses a new connection per command and closes it', async () => {
    const server = await serve((_cmd, socket) => {
      socket.write(GOOD);
    });
    const tpm = openTransport(server.tcti);
    for (let i = 0; i < 3; i++) await tpm.send(GET_RANDOM_16);
    expect(server.connections()).toBe(3);
    await expect.poll(() => server.open()).toBe(0);
  });

  it('refuses malformed commands before sending them (a caller bug: RangeError)', async () => {
    const server = await serve((_cmd, socket) => {
      socket.end(GOOD);
    });
    const tpm = openTransport(server.tcti);
    const wrongSize = Uint8Array.from(GET_RANDOM_16);
    wrongSize[5] = 0x0d;
    const wrongTag = Uint8Array.from(GET_RANDOM_16);
    wrongTag[1] = 0x03;
    for (const bad of [wrongSize, wrongTag, GET_RANDOM_16.subarray(0, 9), GET_RANDOM_16.subarray(0, 11)]) {
      expect(() => tpm.send(bad)).toThrow(RangeError);
    }
    expect(server.commands).toHaveLength(0);
  });

  it('close() drops a command in flight with E_TPM_UNAVAILABLE', async () => {
    const server = await serve(() => undefined);
    const tpm = openTransport(server.tcti);
    const pending = tpm.send(GET_RANDOM_16);
    await expect.poll(() => server.commands.length).toBe(1);
    await tpm.close();
    await expect(pending).rejects.toMatchObject({ code: 'E_TPM_UNAVAILABLE' });
    await expect.poll(() => server.open()).toBe(0);
  });

  it('close() during a retry backoff ends the command with E_TPM_UNAVAILABLE', async () => {
    const server = await serve((_cmd, socket) => {
      socket.end(response(TPM_RC.RETRY));
    });
    const tpm = openTransport(server.tcti, { retryDelayMs: 60_000 });
    const pending = tpm.send(GET_RANDOM_16);
    await expect.poll(() => server.commands.length).toBe(1);
    await tpm.close();
    await expect(pending).rejects.toMatchObject({ code: 'E_TPM_UNAVAILABLE' });
    expect(server.commands).toHaveLength(1);
  });

  it('refuses options that are not positive integers', () => {
    for (const bad of [{ timeoutMs: 0 }, { maxTries: 1.5 }, { retryDelayMs: -1 }, { maxResponseSize: 9 }]) {
      expect(() => openTransport('swtpm:', bad)).toThrow(RangeError);
    }
  });

  it('fails later commands after close', async () => {
    const server = await serve((_cmd, socket) => {
      socket.end(GOOD);
    });
    const tpm = openTransport(server.tcti);
    await tpm.close();
    await expect(tpm.send(GET_RANDOM_16)).rejects.toMatchObject({ code: 'E_TPM_UNAVAILABLE' });
  });
});

describe('the mssim envelope', () => {
  it('wraps the command in TPM_SEND_COMMAND and unwraps a reply sent in pieces', async () => {
    const reply = mssimReply(GOOD);
    const server = await serve(
      async (_cmd, socket) => {
        for (let i = 0; i < reply.length; i += 5) {
          socket.write(reply.subarray(i, i + 5));
          await sleep(2);
        }
      },
      { mssim: true },
    );
    expect(Buffer.from(await openTransport(server.tcti).send(GET_RANDOM_16))).toEqual(GOOD);
    expect(server.commands).toEqual([Buffer.from(GET_RANDOM_16)]);
  });

  it.each([
    ['a non-zero trailer', mssimReply(GOOD, 1)],
    ['a length above the maximum', mssimReply(GOOD, 0, 5000)],
    ['bytes after the trailer', Buffer.concat([mssimReply(GOOD), Buffer.of(0)])],
    ['an inner responseSize that disagrees with the envelope', mssimReply(response(0, RANDOM_BODY, 30))],
  ])('rejects %s with E_TPM_PROTOCOL', async (_name, bytes) => {
    const server = await serve(
      (_cmd, socket) => {
        socket.end(bytes);
      },
      { mssim: true },
    );
    await expect(openTransport(server.tcti).send(GET_RANDOM_16)).rejects.toMatchObject({
      code: 'E_TPM_PROTOCOL',
    });
  });

  it('cannot power-cycle (no swtpm control channel)', async () => {
    await expect(openTransport('mssim:port=2321').powerCycle()).rejects.toThrow(RangeError);
  });
});

describe('unreachable TPMs', () => {
  it('a refused TCP connection is E_TPM_UNAVAILABLE naming the TCTI', async () => {
    const server = await serve(() => undefined);
    const { tcti } = server;
    await server.close();
    fake = undefined;
    const err = await openTransport(tcti)
      .send(GET_RANDOM_16)
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_TPM_UNAVAILABLE' });
    expect(err).toHaveProperty('cause.code', 'ECONNREFUSED');
  });

  it('a missing unix socket is E_TPM_UNAVAILABLE', async () => {
    const err = await openTransport('swtpm:path=/nonexistent/execgate/swtpm.sock')
      .send(GET_RANDOM_16)
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_TPM_UNAVAILABLE' });
    expect(err).toHaveProperty('cause.code', 'ENOENT');
  });

  it('a malformed TCTI is E_TPM_UNAVAILABLE at open', () => {
    expect(() => openTransport('swtpm:port=banana')).toThrow(
      expect.objectContaining({ code: 'E_TPM_UNAVAILABLE' }),
    );
  });
});
