// SPDX-License-Identifier: Apache-2.0
/**
 * The one place TPM framing is checked (STYLE.md principle 3; the anti-pattern is go-tpm tpmutil's
 * RunCommandRaw, which trusted one read and never compared the size). `CheckedTransport` wraps any raw
 * transport and, for every command:
 * - serializes it behind the previous one (one command in flight per transport);
 * - checks the command's header size against its length before sending (a caller bug: RangeError);
 * - checks the response header (Part 3 §6.1): tag TPM_ST_NO_SESSIONS, TPM_ST_SESSIONS or TPM_ST_RSP_COMMAND
 *   (what a TPM 1.2 answers), responseSize ≥ 10, equal to the bytes received, and ≤ `maxResponseSize`;
 *   any breach is `E_TPM_PROTOCOL`;
 * - resends it after TPM_RC_RETRY, TPM_RC_YIELDED or TPM_RC_TESTING (Part 2 §6.6.3 warnings) with
 *   doubling backoff, at most `maxTries` times in all, then returns the last response: its rc goes to the
 *   caller, who turns it into a TpmError;
 * - bounds the whole command, retries included, by `timeoutMs`: the connection is dropped and the command
 *   fails with `E_TPM_TIMEOUT`;
 * - reports any failure to reach the TPM (refused, reset, closed mid-response, no such device) as
 *   `E_TPM_UNAVAILABLE`, naming the TCTI and how to get a TPM.
 * Not checked here: the response code (beyond the three retried warnings) and the response's parameters.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { TPM_ST } from '../constants.js';
import { TpmTransportError } from '../errors.js';
import { TPM_RC } from '../rc.js';
import { withDeadline } from './abort.js';
import { TPM_HEADER_SIZE } from './envelope.js';
import type { RawTransport, Transport } from './transport.js';

export interface CheckedTransportOptions {
  /** The TCTI the raw transport reaches, named in error messages. */
  readonly target: string;
  /** Appended to `E_TPM_UNAVAILABLE` messages: how to get a TPM there. */
  readonly unavailableHint?: string;
  /** Bound on one command, retries included (default 10 000 ms). */
  readonly timeoutMs?: number;
  /** Largest response accepted (default 4096, swtpm's TPM_PT_MAX_RESPONSE_SIZE). */
  readonly maxResponseSize?: number;
  /** Attempts in all while the TPM answers RETRY/YIELDED/TESTING (default 5). */
  readonly maxTries?: number;
  /** Wait before the first resend, doubled before each next one (default 10 ms: 10, 20, 40, 80). */
  readonly retryDelayMs?: number;
}

/** The defaults of `CheckedTransportOptions`. */
export const CHECKED_DEFAULTS = {
  timeoutMs: 10_000,
  maxResponseSize: 4096,
  maxTries: 5,
  retryDelayMs: 10,
} as const;

const RETRIED: ReadonlySet<number> = new Set([TPM_RC.RETRY, TPM_RC.YIELDED, TPM_RC.TESTING]);
const RESPONSE_TAGS: ReadonlySet<number> = new Set([TPM_ST.NO_SESSIONS, TPM_ST.SESSIONS, TPM_ST.RSP_COMMAND]);
const COMMAND_TAGS: ReadonlySet<number> = new Set([TPM_ST.NO_SESSIONS, TPM_ST.SESSIONS]);

/** A `Transport` that checks framing, retries, times out and types its errors; see the module comment. */
export class CheckedTransport implements Transport {
  readonly target: string;
  readonly #raw: RawTransport;
  readonly #hint: string;
  readonly #timeoutMs: number;
  readonly #maxResponseSize: number;
  readonly #maxTries: number;
  readonly #retryDelayMs: number;
  #tail: Promise<unknown> = Promise.resolve();
  /** Aborted by close(): drops the connection of a command in flight. */
  readonly #closing = new AbortController();

  constructor(raw: RawTransport, options: CheckedTransportOptions) {
    this.#raw = raw;
    this.target = options.target;
    this.#hint = options.unavailableHint ?? '';
    this.#timeoutMs = positive('timeoutMs', options.timeoutMs ?? CHECKED_DEFAULTS.timeoutMs);
    this.#maxResponseSize = positive(
      'maxResponseSize',
      options.maxResponseSize ?? CHECKED_DEFAULTS.maxResponseSize,
    );
    if (this.#maxResponseSize < TPM_HEADER_SIZE) {
      throw new RangeError(
        `maxResponseSize must be at least ${TPM_HEADER_SIZE}, got ${this.#maxResponseSize}`,
      );
    }
    this.#maxTries = positive('maxTries', options.maxTries ?? CHECKED_DEFAULTS.maxTries);
    this.#retryDelayMs = positive('retryDelayMs', options.retryDelayMs ?? CHECKED_DEFAULTS.retryDelayMs);
  }

  /** Sends one command (Part 3 §5.2 header first) and returns its checked response. */
  send(command: Uint8Array): Promise<Uint8Array> {
    checkCommand(command);
    return this.#serialized('send', (signal) => this.#sendWithRetry(command, signal));
  }

  /**
   * Power-cycles the TPM (swtpm CMD_INIT, SWTPM.md §3.2); the caller then sends TPM2_Startup. Rejects
   * with RangeError if the transport has no such control (device, mssim).
   */
  async powerCycle(): Promise<void> {
    const raw = this.#raw;
    if (!raw.powerCycle) throw new RangeError(`the TPM at ${this.target} cannot be power-cycled from here`);
    await this.#serialized('power cycle', (signal) => raw.powerCycle?.(signal) ?? Promise.resolve());
  }

  /** Closes the raw transport; a command in flight and any later one fail with `E_TPM_UNAVAILABLE`. */
  async close(): Promise<void> {
    this.#closing.abort(
      new TpmTransportError('E_TPM_UNAVAILABLE', `the transport to ${this.target} is closed`),
    );
    await this.#raw.close();
  }

  #serialized<T>(what: string, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const closing = this.#closing.signal;
    const result = this.#tail.then(() => {
      if (closing.aborted) throw closing.reason;
      return withDeadline(
        this.#timeoutMs,
        (deadline) => {
          const signal = AbortSignal.any([deadline, closing]);
          return run(signal).catch((err: unknown) => this.#typed(err, signal));
        },
        () =>
          new TpmTransportError(
            'E_TPM_TIMEOUT',
            `${what}: no answer from ${this.target} in ${this.#timeoutMs} ms`,
          ),
      );
    });
    this.#tail = result.catch(() => undefined);
    return result;
  }

  async #sendWithRetry(command: Uint8Array, signal: AbortSignal): Promise<Uint8Array> {
    let delay = this.#retryDelayMs;
    for (let attempt = 1; ; attempt++) {
      const response = this.#checkResponse(await this.#raw.send(command, signal));
      const rc = new DataView(response.buffer, response.byteOffset, response.byteLength).getUint32(6);
      if (!RETRIED.has(rc) || attempt >= this.#maxTries) return response;
      await sleep(delay, undefined, { signal });
      delay *= 2;
    }
  }

  #checkResponse(response: Uint8Array): Uint8Array {
    const fail = (what: string): never => {
      throw new TpmTransportError('E_TPM_PROTOCOL', `malformed response from ${this.target}: ${what}`);
    };
    if (response.length < TPM_HEADER_SIZE) fail(`${response.length} bytes, shorter than a response header`);
    const view = new DataView(response.buffer, response.byteOffset, response.byteLength);
    const tag = view.getUint16(0);
    const size = view.getUint32(2);
    if (!RESPONSE_TAGS.has(tag)) fail(`tag 0x${tag.toString(16).padStart(4, '0')}`);
    if (size < TPM_HEADER_SIZE) fail(`responseSize ${size} is smaller than the header`);
    if (size > this.#maxResponseSize)
      fail(`responseSize ${size} exceeds the maximum ${this.#maxResponseSize}`);
    if (size !== response.length) fail(`responseSize ${size} but ${response.length} bytes received`);
    return response;
  }

  /**
   * Errors below this layer become typed: protocol errors pass; after an abort the error is the abort's
   * reason (close) or is replaced by the deadline's (timeout).
   */
  #typed(err: unknown, signal: AbortSignal): never {
    if (signal.aborted) throw signal.reason;
    if (err instanceof TpmTransportError && err.code !== 'E_TPM_UNAVAILABLE') throw err;
    if (err instanceof RangeError) throw err;
    const reason = err instanceof Error ? err.message : String(err);
    const message = `cannot use the TPM at ${this.target}: ${reason}.${this.#hint ? ` ${this.#hint}` : ''}`;
    throw new TpmTransportError('E_TPM_UNAVAILABLE', message, { cause: err });
  }
}

/** Part 3 §5.2: a command starts with tag, commandSize (= its length) and commandCode. */
function checkCommand(command: Uint8Array): void {
  if (command.length < TPM_HEADER_SIZE) {
    throw new RangeError(
      `command must hold at least a ${TPM_HEADER_SIZE}-byte header, got ${command.length} bytes`,
    );
  }
  const view = new DataView(command.buffer, command.byteOffset, command.byteLength);
  const tag = view.getUint16(0);
  if (!COMMAND_TAGS.has(tag))
    throw new RangeError(`command tag must be 0x8001 or 0x8002, got 0x${tag.toString(16)}`);
  const size = view.getUint32(2);
  if (size !== command.length)
    throw new RangeError(`command header says ${size} bytes but it has ${command.length}`);
}

function positive(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
  }
  return value;
}
