// SPDX-License-Identifier: Apache-2.0
/**
 * The TPM transport: one method that moves a command to the TPM and its response back (STYLE.md
 * principle 3, after go-tpm `transport.TPM`). TCG TPM 2.0 Library Part 3 §5/§6 define what the bytes are;
 * a transport does not interpret them.
 */

/** A TPM that takes a marshalled command (Part 3 §5.2 header first) and answers with its response. */
export interface Transport {
  send(command: Uint8Array): Promise<Uint8Array>;
  close(): Promise<void>;
}

/**
 * A transport that only moves bytes: it delimits a response by its header and returns what it received,
 * without judging it. `CheckedTransport` wraps one and is the one place the framing is checked; it also
 * serializes commands, so a raw transport only ever has one command in flight.
 */
export interface RawTransport extends Transport {
  /** On `signal` abort the transport drops the connection and rejects with the signal's reason. */
  send(command: Uint8Array, signal?: AbortSignal): Promise<Uint8Array>;
  /** swtpm only: CMD_INIT on the control channel (a power cycle); the caller then sends TPM2_Startup. */
  powerCycle?(signal?: AbortSignal): Promise<void>;
}
