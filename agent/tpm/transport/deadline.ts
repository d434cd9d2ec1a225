// SPDX-License-Identifier: Apache-2.0
/**
 * An overall deadline for a sequence of TPM commands (issue 11, finding 6). CheckedTransport bounds each
 * command (10 s by default), but a hostile or failing TPM that answers every command just inside that
 * bound could stretch an operation of many commands without end. `DeadlineTransport` wraps a transport
 * for one operation: the clock starts when it is made, and once `ms` have passed the command in flight
 * and every later one reject with `E_TPM_TIMEOUT` naming the overall deadline. The command in flight is
 * abandoned, not cancelled: closing the transport (as CliContext.withTpm does) drops its connection.
 */
import { TpmTransportError } from '../errors.js';
import { raceAbort } from './abort.js';
import type { Transport } from './transport.js';

/** The default overall deadline of one operation (60 s). */
export const DEFAULT_DEADLINE_MS = 60_000;

export interface DeadlineTransportOptions {
  /** The overall deadline in milliseconds, from construction. */
  readonly ms: number;
  /** Where the deadline was configured, named in the error (e.g. `EXECGATE_TPM_DEADLINE`). */
  readonly source?: string;
}

export class DeadlineTransport implements Transport {
  readonly #inner: Transport;
  readonly #expired = new AbortController();
  readonly #timer: ReturnType<typeof setTimeout>;

  constructor(inner: Transport, options: DeadlineTransportOptions) {
    const { ms, source } = options;
    if (!Number.isSafeInteger(ms) || ms <= 0) {
      throw new RangeError(`the deadline must be a positive whole number of ms, got ${ms}`);
    }
    this.#inner = inner;
    const how = source === undefined ? '' : ` (set by ${source})`;
    this.#timer = setTimeout(() => {
      this.#expired.abort(
        new TpmTransportError(
          'E_TPM_TIMEOUT',
          `the TPM operation ran past its overall deadline of ${ms} ms${how}: the TPM is too slow or stalling`,
        ),
      );
    }, ms);
    // The deadline alone must not keep the process alive.
    this.#timer.unref();
  }

  send(command: Uint8Array): Promise<Uint8Array> {
    return raceAbort(this.#inner.send(command), this.#expired.signal);
  }

  async close(): Promise<void> {
    clearTimeout(this.#timer);
    await this.#inner.close();
  }
}
