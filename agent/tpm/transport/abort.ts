// SPDX-License-Identifier: Apache-2.0
/** Deadlines for transport operations, built on AbortSignal so that the raw layers can drop connections. */

/**
 * Settles like `work`, unless `signal` aborts first: then rejects with the signal's reason at once, even if
 * `work` cannot be cancelled (a read blocked in the kernel). A late rejection of `work` is swallowed.
 */
export function raceAbort<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  work.catch(() => undefined);
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/**
 * Runs `run` with a signal that aborts after `ms` milliseconds; if it does, rejects with `onTimeout()`
 * (whatever `run` was doing when the signal fired).
 */
export async function withDeadline<T>(
  ms: number,
  run: (signal: AbortSignal) => Promise<T>,
  onTimeout: () => Error,
): Promise<T> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(onTimeout()), ms);
  try {
    return await raceAbort(run(controller.signal), controller.signal);
  } catch (err) {
    if (controller.signal.aborted) throw controller.signal.reason;
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
