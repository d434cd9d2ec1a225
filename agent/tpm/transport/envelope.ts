// SPDX-License-Identifier: Apache-2.0
/**
 * How a TPM command and response travel on a byte stream. Two envelopes exist:
 * - raw: the TPM bytes as they are; the response is delimited by its own header's responseSize
 *   (Part 3 §5.2 / §6.1). This is what swtpm's data port and tpm2-tss's `swtpm:` TCTI use.
 * - mssim: the Microsoft/IBM simulator's TPM_SEND_COMMAND framing (TCG reference code TpmTcpProtocol.h,
 *   SWTPM.md §3.1(2)): `u32 8 | u8 locality | u32 length | command`, answered by
 *   `u32 length | response | u32 0`.
 * An envelope only delimits. It does not check the TPM response inside it: checked.ts does that, once.
 * The mssim envelope's own fields (its length bound and zero trailer) are checked here, because they
 * belong to the simulator protocol, not to the TPM response.
 */
import { TpmTransportError } from '../errors.js';
import type { FrameLength } from './socket.js';

/** Part 3 §5.2/§6.1: tag (u16), size (u32), code (u32). */
export const TPM_HEADER_SIZE = 10;

/** The stream framing of one kind of TPM server. */
export interface Envelope {
  wrap(command: Uint8Array): Uint8Array;
  /** Length of the whole reply on the wire; see `FrameLength`. */
  readonly frameLength: FrameLength;
  /** The TPM response inside a complete reply. */
  unwrap(reply: Uint8Array): Uint8Array;
  /**
   * Whether the byte stream is still in step after `reply`, so that a kept-alive connection may carry the
   * next command. Not a verdict on the response: checked.ts gives that.
   */
  inStep(reply: Uint8Array): boolean;
}

function u32(bytes: Uint8Array, offset: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(offset);
}

/**
 * Reads the response's size field from its header. A size the reply cannot honestly have (below the header
 * size or above `maxResponseSize`) ends the read at once with what has arrived, so that checked.ts rejects
 * it instead of this layer waiting for bytes that will never come or buffering without bound.
 */
export function rawEnvelope(maxResponseSize: number): Envelope {
  return {
    wrap: (command) => command,
    frameLength: (received) => {
      if (received.length < TPM_HEADER_SIZE) return undefined;
      const size = u32(received, 2);
      return size < TPM_HEADER_SIZE || size > maxResponseSize ? received.length : size;
    },
    unwrap: (reply) => reply,
    inStep: (reply) => reply.length >= TPM_HEADER_SIZE && u32(reply, 2) === reply.length,
  };
}

/** TpmTcpProtocol.h TPM_SEND_COMMAND. */
const MSSIM_SEND_COMMAND = 8;

/** The mssim TPM_SEND_COMMAND envelope at locality 0 (what tpm2-tss's `mssim:` TCTI sends by default). */
export function mssimEnvelope(maxResponseSize: number): Envelope {
  return {
    wrap: (command) => {
      const framed = new Uint8Array(9 + command.length);
      const view = new DataView(framed.buffer);
      view.setUint32(0, MSSIM_SEND_COMMAND);
      view.setUint8(4, 0);
      view.setUint32(5, command.length);
      framed.set(command, 9);
      return framed;
    },
    frameLength: (received) => {
      if (received.length < 4) return undefined;
      const length = u32(received, 0);
      if (length > maxResponseSize) {
        throw new TpmTransportError(
          'E_TPM_PROTOCOL',
          `mssim reply announces ${length} bytes, more than the ${maxResponseSize}-byte maximum`,
        );
      }
      return 4 + length + 4;
    },
    unwrap: (reply) => {
      const length = u32(reply, 0);
      if (reply.length !== 4 + length + 4 || u32(reply, 4 + length) !== 0) {
        throw new TpmTransportError(
          'E_TPM_PROTOCOL',
          `mssim reply of ${reply.length} bytes does not end with its zero trailer after ${length} bytes`,
        );
      }
      return reply.subarray(4, 4 + length);
    },
    inStep: () => true, // unwrap has checked the envelope's length and trailer
  };
}
