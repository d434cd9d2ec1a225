// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/serve/log
 *
 * `execgate serve`'s log: JSON lines on stderr through pino, one line per event, for journald (a
 * systemd unit's stderr goes to the journal) or any log shipper. Each line has `level` as a word
 * ("info", "error"), `time` as ISO 8601, `msg` in plain words, and `event` naming what happened, so
 * that a query selects on `event` rather than on wording:
 *
 * ```
 * start            info   policy, stateDir, ak (the AK's Name), tcti, heartbeatSeconds, metrics
 * checkpoint       info   size, root (hex), counter
 * heartbeat        debug  seq, pcrs
 * reload           info   files (what changed); reload_failed (error) keeps the old policy
 * tpm_error        error  op, code, retryInMs: the first failure of a streak; later ones are `retry` (debug)
 * tpm_recovered    info   failures, downSeconds
 * error            error  op, code: a failure that is not the TPM's (the audit log refused, say)
 * stop             info   signal
 * ```
 *
 * Writes are synchronous (a stop must not lose its last lines, and the process exits right after).
 */
import pino, { type Logger } from 'pino';

export type { Logger } from 'pino';

/** Levels a user may ask for (`execgate serve --log-level`). */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** A logger writing JSON lines to file descriptor `fd` (default 2, stderr) at `level` and above. */
export function serveLogger(level: LogLevel = 'info', fd = 2): Logger {
  return pino(
    {
      level,
      base: { service: 'execgate' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    pino.destination({ dest: fd, sync: true }),
  );
}
