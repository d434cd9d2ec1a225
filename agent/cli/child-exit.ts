// SPDX-License-Identifier: Apache-2.0
/**
 * How `execgate exec` ends after an allowed command (issue 14: its status and signals pass through). It
 * lives in cli/ because nothing below cli/ exits (DESIGN §1).
 */
import { constants } from 'node:os';
import type { ChildOutcome } from '../gate/run.js';

/**
 * Signals whose default action dumps core (signal(7)). Dying of one would dump the gate's own memory:
 * timeout(1) and sudo turn core dumps off before they kill themselves, which Node cannot (no setrlimit,
 * no prctl), so for these we exit 128+signo as timeout does when it cannot: what a shell reports for a
 * command killed by the signal.
 */
const CORE_SIGNALS: ReadonlySet<NodeJS.Signals> = new Set<NodeJS.Signals>([
  'SIGQUIT',
  'SIGILL',
  'SIGTRAP',
  'SIGABRT',
  'SIGIOT',
  'SIGBUS',
  'SIGFPE',
  'SIGSEGV',
  'SIGXCPU',
  'SIGXFSZ',
  'SIGSYS',
]);

/**
 * Exits as the command did: with its exit status; or, if a signal killed it, by the same signal, with
 * its default action restored first (as timeout(1) and sudo do), and 128+signo if we survive it or the
 * signal would dump core (CORE_SIGNALS).
 */
export function exitLikeChild(outcome: ChildOutcome): never {
  const { code, signal } = outcome;
  if (signal === null) {
    if (code === null) throw new RangeError('a child outcome has an exit status or a signal');
    process.exit(code);
  }
  if (!CORE_SIGNALS.has(signal)) {
    process.removeAllListeners(signal);
    if (signal !== 'SIGKILL' && signal !== 'SIGSTOP') {
      // libuv sets SIG_DFL when a signal's last listener goes, which also undoes Node's own SIG_IGN of
      // SIGPIPE and its SIGUSR1 inspector handler (measured: without this, both survive the kill).
      const restoreDefault = () => {};
      process.on(signal, restoreDefault);
      process.removeListener(signal, restoreDefault);
    }
    process.kill(process.pid, signal);
  }
  process.exit(128 + constants.signals[signal]);
}
