// SPDX-License-Identifier: Apache-2.0
/**
 * The character-device transport: /dev/tpmrm0 (the kernel's resource-managed TPM) or /dev/tpm0. The
 * kernel driver (drivers/char/tpm/tpm-dev-common.c) takes one whole command per write(2) and returns the
 * whole response to the next read(2); the read loop here also copes with a device that returns it in
 * pieces (a pty standing in for it in tests does).
 *
 * The file stays open across commands: /dev/tpmrm0 flushes a client's transient objects and sessions when
 * its file is closed. A read blocked in the kernel cannot be cancelled: on abort the command is abandoned,
 * the file is closed once that read returns, and the next command opens the device again.
 *
 * Not covered by tests on this project's machines (they have no kernel TPM, SWTPM.md §5): the real
 * driver's timing and its EBUSY answer to a write while a response is still unread.
 */
import { type FileHandle, open } from 'node:fs/promises';
import { TpmTransportError } from '../errors.js';
import { raceAbort } from './abort.js';
import { TPM_HEADER_SIZE } from './envelope.js';
import type { RawTransport } from './transport.js';

export interface DeviceTransportOptions {
  /** Size of the read buffer; a response announcing more is returned truncated for checked.ts to reject. */
  readonly maxResponseSize: number;
}

/** A raw transport over a TPM character device; wrap it in `CheckedTransport` (see transport.ts). */
export class DeviceTransport implements RawTransport {
  readonly path: string;
  readonly #maxResponseSize: number;
  #handle: Promise<FileHandle> | undefined;

  constructor(path: string, options: DeviceTransportOptions) {
    this.path = path;
    this.#maxResponseSize = options.maxResponseSize;
  }

  async send(command: Uint8Array, signal?: AbortSignal): Promise<Uint8Array> {
    this.#handle ??= openDevice(this.path);
    const opening = this.#handle;
    try {
      const handle = await raceAbort(opening, signal);
      return await raceAbort(this.#exchange(handle, command), signal);
    } catch (err) {
      this.#discard(opening);
      throw err;
    }
  }

  async close(): Promise<void> {
    const opening = this.#handle;
    if (opening) this.#discard(opening);
  }

  async #exchange(handle: FileHandle, command: Uint8Array): Promise<Uint8Array> {
    const { bytesWritten } = await handle.write(command);
    if (bytesWritten !== command.length) {
      throw new TpmTransportError(
        'E_TPM_UNAVAILABLE',
        `${this.path} took ${bytesWritten} of ${command.length} command bytes`,
      );
    }
    const buffer = new Uint8Array(this.#maxResponseSize);
    let received = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, received, buffer.length - received, null);
      if (bytesRead === 0) {
        throw new TpmTransportError(
          'E_TPM_UNAVAILABLE',
          `${this.path} ended after ${received} response bytes`,
        );
      }
      received += bytesRead;
      if (received < TPM_HEADER_SIZE) continue;
      const size = new DataView(buffer.buffer).getUint32(2);
      // A size outside [header, buffer] cannot be read into the buffer: stop and let checked.ts judge it.
      if (received >= size || size < TPM_HEADER_SIZE || size > buffer.length)
        return buffer.slice(0, received);
    }
  }

  /** Forgets the open file; it is closed once any read still blocked on it returns. */
  #discard(opening: Promise<FileHandle>): void {
    if (this.#handle === opening) this.#handle = undefined;
    opening.then(
      (handle) => handle.close().catch(() => undefined),
      () => undefined,
    );
  }
}

/** Opens the device read-write, refusing anything that is not a character device (as go-tpm does). */
async function openDevice(path: string): Promise<FileHandle> {
  const handle = await open(path, 'r+');
  try {
    const stat = await handle.stat();
    if (!stat.isCharacterDevice()) {
      throw new TpmTransportError('E_TPM_UNAVAILABLE', `${path} is not a character device`);
    }
    return handle;
  } catch (err) {
    await handle.close();
    throw err;
  }
}
