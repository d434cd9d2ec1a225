// SPDX-License-Identifier: Apache-2.0
/**
 * The socket transport to swtpm (raw envelope) or an MS/IBM simulator (mssim envelope), over TCP or a
 * unix-domain socket (SWTPM.md §3.1, §3.3).
 *
 * By default each command gets its own connection, closed after the response, as tpm2-tss's `swtpm:` TCTI
 * does: swtpm serves one data connection at a time, so a connection kept open would block tpm2-tools and
 * any other client. `keepAlive: true` keeps one connection for successive commands (lower latency for a
 * sole user); after any error, or any stray byte while idle, it is dropped and the next command reconnects.
 * A command is never re-sent on its own: the TPM may have executed it.
 */
import type { Socket } from 'node:net';
import type { SwtpmControl } from './control.js';
import type { Envelope } from './envelope.js';
import { exchange, openSocket, type SocketEndpoint } from './socket.js';
import type { RawTransport } from './transport.js';

export interface StreamTransportOptions {
  readonly endpoint: SocketEndpoint;
  readonly envelope: Envelope;
  /** Keep one connection open across commands (default false: one connection per command). */
  readonly keepAlive?: boolean;
  /** swtpm's control channel, which `powerCycle` uses. */
  readonly control?: SwtpmControl;
}

/** A raw transport over a stream socket; wrap it in `CheckedTransport` (see transport.ts). */
export class StreamTransport implements RawTransport {
  readonly #options: StreamTransportOptions;
  #idle: { socket: Socket; release: () => void } | undefined;

  constructor(options: StreamTransportOptions) {
    this.#options = options;
  }

  async send(command: Uint8Array, signal?: AbortSignal): Promise<Uint8Array> {
    const { endpoint, envelope, keepAlive = false } = this.#options;
    const socket = this.#takeIdle() ?? (await openSocket(endpoint, signal));
    try {
      const reply = await exchange(socket, envelope.wrap(command), envelope.frameLength, signal);
      const response = envelope.unwrap(reply);
      if (keepAlive && envelope.inStep(reply)) this.#park(socket);
      else socket.destroy();
      return response;
    } catch (err) {
      socket.destroy();
      throw err;
    }
  }

  /** CMD_INIT on swtpm's control channel; the caller then sends TPM2_Startup. */
  async powerCycle(signal?: AbortSignal): Promise<void> {
    const { control } = this.#options;
    if (!control) throw new RangeError('powerCycle needs the swtpm control channel (a swtpm: TCTI)');
    await control.init(0, signal);
  }

  async close(): Promise<void> {
    this.#takeIdle()?.destroy();
  }

  #takeIdle(): Socket | undefined {
    const idle = this.#idle;
    this.#idle = undefined;
    idle?.release();
    return idle?.socket;
  }

  /** Keeps `socket` for the next command; a close or a byte nobody asked for makes it unusable. */
  #park(socket: Socket): void {
    const drop = (): void => {
      if (this.#idle?.socket === socket) this.#takeIdle();
      socket.destroy();
    };
    socket.once('close', drop);
    socket.once('data', drop);
    this.#idle = {
      socket,
      release: () => {
        socket.off('close', drop);
        socket.off('data', drop);
      },
    };
  }
}
