// SPDX-License-Identifier: Apache-2.0
// A scripted TPM server on loopback TCP for transport tests: it collects each command by its header size
// and hands it to a handler that may answer well, badly, in pieces, or never.
import { createServer, type Server, type Socket } from 'node:net';

export type FakeHandler = (command: Buffer, socket: Socket, index: number) => void | Promise<void>;

export interface FakeTpm {
  readonly tcti: string;
  /** Every command received, in order. */
  readonly commands: Buffer[];
  /** Connections accepted so far. */
  readonly connections: () => number;
  /** Connections open now (the server never closes one unless its handler does). */
  readonly open: () => number;
  /** The most commands whose handler had not yet returned at the same time. */
  readonly maxInFlight: () => number;
  close(): Promise<void>;
}

/**
 * Raw framing (`swtpm:` TCTI): a command is delimited by its header's commandSize. With `mssim`, each
 * command comes in a TPM_SEND_COMMAND envelope (u32 8, u8 locality, u32 length), which is checked and
 * removed; the handler writes the reply envelope itself.
 */
export async function startFakeTpm(
  handler: FakeHandler,
  options: { mssim?: boolean } = {},
): Promise<FakeTpm> {
  const tcti = options.mssim ? 'mssim' : 'swtpm';
  const envelope = options.mssim ? 9 : 0;
  const commands: Buffer[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    connections++;
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      while (
        pending.length >= envelope + 10 &&
        pending.length >= envelope + pending.readUInt32BE(envelope + 2)
      ) {
        const size = pending.readUInt32BE(envelope + 2);
        if (envelope && !pending.subarray(0, 9).equals(mssimHeader(size)))
          throw new Error('bad mssim envelope');
        const command = pending.subarray(envelope, envelope + size);
        pending = pending.subarray(envelope + size);
        commands.push(command);
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        void Promise.resolve(handler(command, socket, commands.length - 1)).finally(() => {
          inFlight--;
        });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('fake TPM: no TCP address');
  return {
    tcti: `${tcti}:host=127.0.0.1,port=${address.port}`,
    commands,
    connections: () => connections,
    open: () => sockets.size,
    maxInFlight: () => maxInFlight,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A response header with `rc` and the given body; `size` overrides the responseSize field. */
export function response(
  rc: number,
  body: Uint8Array = new Uint8Array(0),
  size?: number,
  tag = 0x8001,
): Buffer {
  const out = Buffer.alloc(10 + body.length);
  out.writeUInt16BE(tag, 0);
  out.writeUInt32BE(size ?? out.length, 2);
  out.writeUInt32BE(rc, 6);
  out.set(body, 10);
  return out;
}

/** TPM_SEND_COMMAND at locality 0 for a command of `size` bytes. */
function mssimHeader(size: number): Buffer {
  const header = Buffer.alloc(9);
  header.writeUInt32BE(8, 0);
  header.writeUInt32BE(size, 5);
  return header;
}

/** An mssim reply envelope: u32 length, the response, u32 trailer. */
export function mssimReply(body: Uint8Array, trailer = 0, length = body.length): Buffer {
  const out = Buffer.alloc(8 + body.length);
  out.writeUInt32BE(length, 0);
  out.set(body, 4);
  out.writeUInt32BE(trailer, 4 + body.length);
  return out;
}
