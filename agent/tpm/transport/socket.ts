// SPDX-License-Identifier: Apache-2.0
/**
 * Byte exchanges over a TCP or unix-domain stream socket, shared by the TPM data channel (stream.ts) and
 * the swtpm control channel (control.ts). A stream has no message boundaries, so every read loops until a
 * caller-supplied `frameLength` says the message is complete; one `read` is never assumed to hold it.
 */
import { connect, type Socket } from 'node:net';
import { concatBytes, u8 } from '../../encoding/bytes.js';
import { TpmTransportError } from '../errors.js';

/** Where a socket transport connects: a TCP host and port, or a unix-domain socket path. */
export type SocketEndpoint = { readonly host: string; readonly port: number } | { readonly path: string };

/** `host:port` or the socket path, for messages. */
export function describeEndpoint(endpoint: SocketEndpoint): string {
  return 'path' in endpoint ? endpoint.path : `${endpoint.host}:${endpoint.port}`;
}

/**
 * Connects to `endpoint`. Rejects with the system error (ECONNREFUSED, ENOENT, …) or, on abort, with the
 * signal's reason. The socket keeps a no-op 'error' listener so that an error while it is idle cannot
 * crash the process; its 'close' event follows and tells the owner.
 */
export function openSocket(endpoint: SocketEndpoint, signal?: AbortSignal): Promise<Socket> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const socket =
      'path' in endpoint ? connect({ path: endpoint.path }) : connect(endpoint.port, endpoint.host);
    socket.on('error', () => undefined);
    const done = (): void => {
      socket.off('error', onError);
      socket.off('connect', onConnect);
      signal?.removeEventListener('abort', onAbort);
    };
    const onError = (err: Error): void => {
      done();
      socket.destroy();
      reject(err);
    };
    const onAbort = (): void => {
      done();
      socket.destroy();
      reject(signal?.reason);
    };
    const onConnect = (): void => {
      done();
      resolve(socket);
    };
    socket.once('error', onError);
    socket.once('connect', onConnect);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Tells how long the message being received is: `undefined` while that is not yet known (too few bytes
 * for its length field), else its total length in bytes. It may throw to reject the message.
 */
export type FrameLength = (received: Uint8Array) => number | undefined;

/**
 * Writes `request` with ONE `socket.write` (swtpm 0.7.1 takes a single read() as the whole command, see
 * SWTPM.md §3.1) and collects the reply until `frameLength` is satisfied. Resolves with every byte
 * received, which may be more than the frame if the peer sent more. Rejects with the system error, a
 * `TpmTransportError('E_TPM_UNAVAILABLE')` when the peer closes before the frame is complete, or the
 * signal's reason on abort (the socket is then destroyed).
 */
export function exchange(
  socket: Socket,
  request: Uint8Array,
  frameLength: FrameLength,
  signal?: AbortSignal,
): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    let received: Uint8Array = new Uint8Array(0);
    const done = (): void => {
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
      signal?.removeEventListener('abort', onAbort);
    };
    const fail = (err: unknown): void => {
      done();
      socket.destroy();
      reject(err);
    };
    const onData = (chunk: Buffer): void => {
      received = received.length === 0 ? chunk : concatBytes([received, chunk]);
      let length: number | undefined;
      try {
        length = frameLength(received);
      } catch (err) {
        fail(err);
        return;
      }
      if (length !== undefined && received.length >= length) {
        done();
        resolve(u8(received));
      }
    };
    const onError = (err: Error): void => fail(err);
    const onClose = (): void =>
      fail(
        new TpmTransportError(
          'E_TPM_UNAVAILABLE',
          `the connection closed after ${received.length} byte(s) of the reply`,
        ),
      );
    const onAbort = (): void => fail(signal?.reason);
    if (signal?.aborted) {
      fail(signal.reason);
      return;
    }
    if (socket.destroyed) {
      onClose();
      return;
    }
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.write(request);
  });
}
