// SPDX-License-Identifier: Apache-2.0
/** Opening a checked transport from a TCTI (DESIGN.md §3). */
import { CHECKED_DEFAULTS, CheckedTransport } from './checked.js';
import { controlEndpointFor, SwtpmControl } from './control.js';
import { DeviceTransport } from './device.js';
import { mssimEnvelope, rawEnvelope } from './envelope.js';
import { StreamTransport } from './stream.js';
import { formatTcti, type ParsedTcti, parseTcti } from './tcti.js';

export interface OpenTransportOptions {
  /** swtpm/mssim: keep one connection open across commands (default false; see stream.ts). */
  readonly keepAlive?: boolean;
  /** Bound on one command, retries included (default 10 000 ms). */
  readonly timeoutMs?: number;
  /** Largest response accepted (default 4096). */
  readonly maxResponseSize?: number;
  /** Attempts in all while the TPM answers RETRY/YIELDED/TESTING (default 5). */
  readonly maxTries?: number;
  /** First backoff before a resend, doubled each time (default 10 ms). */
  readonly retryDelayMs?: number;
}

/** How to get a software TPM, for `E_TPM_UNAVAILABLE` messages. */
export const START_SWTPM_HINT =
  'Start a software TPM with `node dist/swtpm/main.js start` (it prints the EXECGATE_TCTI to use) or ' +
  '`swtpm socket --tpm2 --server type=tcp,port=2321 --ctrl type=tcp,port=2322 ' +
  '--flags not-need-init,startup-clear --tpmstate dir=/tmp/tpm`.';

/**
 * Opens a `CheckedTransport` for a TCTI string (see tcti.ts) or a parsed one. Nothing is connected or
 * opened until the first command, so an unreachable TPM surfaces there as `E_TPM_UNAVAILABLE`. A malformed
 * string throws `E_TPM_UNAVAILABLE` here.
 */
export function openTransport(
  tcti: string | ParsedTcti,
  options: OpenTransportOptions = {},
): CheckedTransport {
  const parsed = typeof tcti === 'string' ? parseTcti(tcti) : tcti;
  const { keepAlive = false, maxResponseSize = CHECKED_DEFAULTS.maxResponseSize, ...checks } = options;
  const target = formatTcti(parsed);
  switch (parsed.kind) {
    case 'device':
      return new CheckedTransport(new DeviceTransport(parsed.path, { maxResponseSize }), {
        ...checks,
        maxResponseSize,
        target,
        unavailableHint: `Is there a TPM (ls /dev/tpm*) that this user may open? Without one: ${START_SWTPM_HINT}`,
      });
    case 'swtpm': {
      const control = new SwtpmControl(controlEndpointFor(parsed.endpoint), {
        timeoutMs: checks.timeoutMs ?? CHECKED_DEFAULTS.timeoutMs,
      });
      const raw = new StreamTransport({
        endpoint: parsed.endpoint,
        envelope: rawEnvelope(maxResponseSize),
        keepAlive,
        control,
      });
      return new CheckedTransport(raw, {
        ...checks,
        maxResponseSize,
        target,
        unavailableHint: START_SWTPM_HINT,
      });
    }
    case 'mssim': {
      const raw = new StreamTransport({
        endpoint: parsed.endpoint,
        envelope: mssimEnvelope(maxResponseSize),
        keepAlive,
      });
      return new CheckedTransport(raw, {
        ...checks,
        maxResponseSize,
        target,
        unavailableHint: START_SWTPM_HINT,
      });
    }
  }
}
