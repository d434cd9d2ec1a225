// SPDX-License-Identifier: Apache-2.0
/**
 * Client of swtpm's control channel (`--ctrl`): swtpm 0.7.1 include/swtpm/tpm_ioctl.h and ctrlchannel.c,
 * summarised in SWTPM.md §3.2. A request is a big-endian u32 command code and a fixed payload, written
 * in one piece (swtpm waits only 500 ms for the rest of a short one); the reply is a u32 result (0 = OK)
 * and a payload, except CMD_GET_CAPABILITY, which answers with a bare u64. Like tpm2-tss's swtpm TCTI,
 * each call opens its own connection.
 *
 * This is not the mssim platform protocol: the Microsoft simulator's port+1 speaks different codes.
 */
import type { Socket } from 'node:net';
import { TpmTransportError } from '../errors.js';
import { withDeadline } from './abort.js';
import { describeEndpoint, exchange, type FrameLength, openSocket, type SocketEndpoint } from './socket.js';

/** tpm_ioctl.h: the control command codes this client sends. */
export const SWTPM_CMD = {
  GET_CAPABILITY: 0x01,
  INIT: 0x02,
  SHUTDOWN: 0x03,
  SET_LOCALITY: 0x05,
  STOP: 0x0e,
  GET_INFO: 0x12,
} as const;

/** tpm_ioctl.h PTM_INIT_FLAG_DELETE_VOLATILE: CMD_INIT discards the saved volatile state. */
export const PTM_INIT_FLAG_DELETE_VOLATILE = 1;

/** tpm_ioctl.h SWTPM_INFO_*: what CMD_GET_INFO reports. */
export const SWTPM_INFO = { TPM_SPECIFICATION: 1n, TPM_ATTRIBUTES: 2n } as const;

/**
 * The control endpoint that belongs to a data endpoint, as tpm2-tss 3.2 derives it: the socket path plus
 * ".ctrl", or the data port plus one (tcti-swtpm.c).
 */
export function controlEndpointFor(data: SocketEndpoint): SocketEndpoint {
  return 'path' in data ? { path: `${data.path}.ctrl` } : { host: data.host, port: data.port + 1 };
}

type CommandName = keyof typeof SWTPM_CMD;

/** A client for one swtpm control endpoint. Each method bounds its call by `timeoutMs` (default 10 s). */
export class SwtpmControl {
  readonly endpoint: SocketEndpoint;
  readonly #timeoutMs: number;

  constructor(endpoint: SocketEndpoint, options: { readonly timeoutMs?: number } = {}) {
    this.endpoint = endpoint;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
  }

  /** CMD_GET_CAPABILITY: the PTM_CAP_* bits swtpm supports (0xffff for 0.7.1). Answers once ready. */
  async getCapability(): Promise<bigint> {
    const reply = await this.#call('GET_CAPABILITY', new Uint8Array(0), () => 8);
    return view(reply).getBigUint64(0);
  }

  /**
   * CMD_INIT: power-cycle (or power on) the TPM, `flags` from PTM_INIT_FLAG_*. Afterwards the TPM answers
   * TPM_RC_INITIALIZE until the caller sends TPM2_Startup (SWTPM.md §3.2). `signal` aborts the call.
   */
  async init(flags = 0, signal?: AbortSignal): Promise<void> {
    const payload = new Uint8Array(4);
    view(payload).setUint32(0, flags);
    await this.#result('INIT', payload, signal);
  }

  /** CMD_SHUTDOWN: swtpm saves its state and exits. */
  async shutdown(): Promise<void> {
    await this.#result('SHUTDOWN', new Uint8Array(0));
  }

  /** CMD_STOP: stop the TPM (commands fail with TPM_RC_FAILURE) until the next CMD_INIT. */
  async stop(): Promise<void> {
    await this.#result('STOP', new Uint8Array(0));
  }

  /** CMD_SET_LOCALITY: the locality (0..4) later commands on the data channel run at. */
  async setLocality(locality: number): Promise<void> {
    if (!Number.isInteger(locality) || locality < 0 || locality > 4) {
      throw new RangeError(`locality must be an integer 0..4, got ${locality}`);
    }
    await this.#result('SET_LOCALITY', Uint8Array.of(locality));
  }

  /**
   * CMD_GET_INFO: swtpm's JSON description of the TPM, e.g. `{"TPMSpecification":{"family":"2.0",…},
   * "TPMAttributes":{"manufacturer":"id:00001014",…}}`. Not checked: the JSON's shape.
   */
  async getInfo(flags: bigint = SWTPM_INFO.TPM_SPECIFICATION | SWTPM_INFO.TPM_ATTRIBUTES): Promise<unknown> {
    const payload = new Uint8Array(16); // u64 flags, u32 offset 0, u32 pad
    view(payload).setBigUint64(0, flags);
    const reply = await this.#call('GET_INFO', payload, infoFrameLength);
    this.#check('GET_INFO', reply);
    const text = new TextDecoder().decode(reply.subarray(12)).replace(/\0+$/, '');
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      throw new TpmTransportError('E_TPM_PROTOCOL', 'swtpm CMD_GET_INFO returned invalid JSON', {
        cause: err,
      });
    }
  }

  async #result(name: CommandName, payload: Uint8Array, signal?: AbortSignal): Promise<void> {
    this.#check(name, await this.#call(name, payload, () => 4, signal));
  }

  #check(name: CommandName, reply: Uint8Array): void {
    const result = resultOf(reply);
    if (result !== 0) {
      throw new TpmTransportError(
        'E_TPM_PROTOCOL',
        `swtpm control command CMD_${name} at ${describeEndpoint(this.endpoint)} failed with result 0x${result.toString(16)}`,
      );
    }
  }

  #call(
    name: CommandName,
    payload: Uint8Array,
    frameLength: FrameLength,
    outer?: AbortSignal,
  ): Promise<Uint8Array> {
    const where = describeEndpoint(this.endpoint);
    const request = new Uint8Array(4 + payload.length);
    view(request).setUint32(0, SWTPM_CMD[name]);
    request.set(payload, 4);
    return withDeadline(
      this.#timeoutMs,
      async (signal) => {
        const both = outer ? AbortSignal.any([signal, outer]) : signal;
        let socket: Socket;
        try {
          socket = await openSocket(this.endpoint, both);
        } catch (err) {
          if (both.aborted) throw err;
          throw new TpmTransportError(
            'E_TPM_UNAVAILABLE',
            `cannot reach the swtpm control channel at ${where}`,
            {
              cause: err,
            },
          );
        }
        try {
          return await exchange(socket, request, frameLength, both);
        } catch (err) {
          if (both.aborted || (err instanceof TpmTransportError && err.code === 'E_TPM_PROTOCOL')) throw err;
          throw new TpmTransportError('E_TPM_UNAVAILABLE', `swtpm control channel at ${where} failed`, {
            cause: err,
          });
        } finally {
          socket.destroy();
        }
      },
      () =>
        new TpmTransportError(
          'E_TPM_TIMEOUT',
          `swtpm CMD_${name} at ${where}: no reply in ${this.#timeoutMs} ms`,
        ),
    );
  }
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function resultOf(reply: Uint8Array): number {
  return view(reply).getUint32(0);
}

/** tpm_ioctl.h PTM_GETINFO_SIZE: the most JSON a CMD_GET_INFO reply carries. */
const GET_INFO_MAX = 3 * 4096 - 3 * 4;

/** CMD_GET_INFO reply: u32 result, u32 totlength, u32 length, `length` bytes of JSON; a failure is 4 bytes. */
function infoFrameLength(received: Uint8Array): number | undefined {
  if (received.length >= 4 && resultOf(received) !== 0) return 4;
  if (received.length < 12) return undefined;
  const length = view(received).getUint32(8);
  if (length > GET_INFO_MAX) {
    throw new TpmTransportError('E_TPM_PROTOCOL', `swtpm CMD_GET_INFO announces ${length} bytes of JSON`);
  }
  return 12 + length;
}
