// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/serve/tpm-access
 *
 * The one way `execgate serve` reaches the TPM (STYLE principle 15: one TPM owner, one queue). The TPM
 * client does not multiplex: a second command sent before the first one's response would interleave
 * on the wire. So every operation (a heartbeat's quote, a checkpoint's quote, certification and counter
 * increment, a gate verdict's quote) runs through `run`, one at a time, in call order; and since a
 * checkpoint or heartbeat holds the audit store's write lock across its TPM steps, the same queue
 * orders writes to the store (service.ts).
 *
 * Each operation opens its own connection (`open`, which applies the CLI's overall deadline to that
 * operation) and closes it after: a TPM that went away and came back (a restarted swtpm, a resource
 * manager restarted) is simply reached again by the next operation, with no stale connection to
 * detect. `close` ends the operation in flight by closing its connection, so a stop is not held up by a
 * stalled TPM.
 *
 * Not covered: retries. A failed operation fails; the service decides when to try again (backoff.ts).
 */
import { ExecgateError } from '../errors.js';
import { TpmTransportError } from '../tpm/errors.js';
import type { Tpm } from '../tpm/tpm.js';

/** The codes of the TPM layer (agent/tpm/errors.ts, sessions.ts): the TPM could not be used. */
const TPM_CODES: ReadonlySet<string> = new Set([
  'E_TPM_UNAVAILABLE',
  'E_TPM_TIMEOUT',
  'E_TPM_PROTOCOL',
  'E_TPM_RC',
  'E_TPM_PARSE',
  'E_TPM_INTEGRITY',
]);

/** Whether `e` says the TPM could not be used: unreachable, too slow, a malformed or error response. */
export function isTpmFailure(e: unknown): e is ExecgateError<string> {
  return e instanceof ExecgateError && TPM_CODES.has(e.code);
}

/** Serialised access to the TPM, a connection per operation. */
export class TpmAccess {
  readonly #open: () => Tpm;
  readonly #onFailure: (e: ExecgateError<string>) => void;
  #queue: Promise<unknown> = Promise.resolve();
  #current: Tpm | undefined;
  #closed = false;

  /**
   * `open` connects to the TPM (ctx.openTpm); `onFailure` hears of each operation that failed for a TPM
   * reason (isTpmFailure), after its connection is closed.
   */
  constructor(open: () => Tpm, onFailure: (e: ExecgateError<string>) => void = () => {}) {
    this.#open = open;
    this.#onFailure = onFailure;
  }

  /** Runs `fn` on a fresh connection once every earlier operation has settled; rejects with its error. */
  run<T>(fn: (tpm: Tpm) => Promise<T>): Promise<T> {
    const result = this.#queue.then(() => this.#attempt(fn));
    this.#queue = result.catch(() => undefined);
    return result;
  }

  async #attempt<T>(fn: (tpm: Tpm) => Promise<T>): Promise<T> {
    if (this.#closed) throw new TpmTransportError('E_TPM_UNAVAILABLE', 'the service is stopping');
    const tpm = this.#open();
    this.#current = tpm;
    try {
      return await fn(tpm);
    } catch (e) {
      if (isTpmFailure(e)) this.#onFailure(e);
      throw e;
    } finally {
      this.#current = undefined;
      await tpm.close().catch(() => undefined);
    }
  }

  /** Refuses new operations and closes the connection of the one in flight, if any. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#current?.close().catch(() => undefined);
  }
}
