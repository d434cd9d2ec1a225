// SPDX-License-Identifier: Apache-2.0
/**
 * The gate's TPM port (agent/gate/gate.ts `GateTpm`) on a real TPM, for `execgate exec` (one verdict, a
 * connection opened on first use) and `execgate serve` (many verdicts on one connection): every quote and
 * NV counter read is made by the AK pinned in host.json, loaded through `withPinnedAk`, and verified
 * against the pinned public key before the gate sees it.
 */
import { spkiOfPublic } from '../attest/quote.js';
import { sha256 } from '../crypto/hash.js';
import type { GateTpm } from '../gate/gate.js';
import { lap } from '../timing.js';
import type { Tpm } from '../tpm/tpm.js';
import type { CliContext } from './context.js';
import type { HostState, PinnedAk } from './host-state.js';

export interface GateTpmOptions {
  /** Runs `fn` on the TPM (a connection opened on first use, or the service's, one user at a time). */
  readonly use: <T>(fn: (tpm: Tpm) => Promise<T>) => Promise<T>;
  /** host.json as read, its pinned AK, and the state directory it was read from. */
  readonly host: HostState;
  readonly ak: PinnedAk;
  readonly stateDir: string;
  /** Where the measurement logs are read ($EXECGATE_SECURITYFS). */
  readonly ctx: CliContext;
}

export function gateTpm(o: GateTpmOptions): GateTpm {
  const { host, ak, stateDir, ctx } = o;
  return {
    async allocated() {
      const { allocatedBanks } = await import('../tpm/pcr.js');
      return o.use((t) => allocatedBanks(t));
    },
    async quote(selection, nonce) {
      lap('artifact');
      const { encodeBundle, makeQuote } = await import('../attest/quote.js');
      const { verifyQuote } = await import('../attest/verify-quote.js');
      const { quotedPcrValues } = await import('../measure/compare.js');
      const { withPinnedAk } = await import('./host-state.js');
      lap('modules');
      const ev = await o.use((t) =>
        withPinnedAk(t, host, stateDir, (loaded) => makeQuote(t, loaded, { selection, nonce })),
      );
      const v = verifyQuote({ ...ev, akPublicKey: spkiOfPublic(ak.public), nonce });
      if (!v.ok || v.attest === undefined)
        throw new Error(`the quote does not verify under the pinned AK: ${v.code}: ${v.detail}`);
      const c = v.attest.clockInfo;
      lap('quote');
      return {
        pcrs: quotedPcrValues(selection, ev.pcrValues),
        clock: {
          clock: Number(c.clock),
          resetCount: c.resetCount,
          restartCount: c.restartCount,
          safe: c.safe === 1,
        },
        digest: sha256(encodeBundle(ev)),
      };
    },
    async counter(index) {
      const { readCounterCertified } = await import('../attest/nv-counter.js');
      const { withPinnedAk } = await import('./host-state.js');
      return o.use((t) =>
        withPinnedAk(t, host, stateDir, (loaded) =>
          readCounterCertified(t, loaded, spkiOfPublic(ak.public), index),
        ),
      );
    },
    async logs(ref) {
      const r = ref.rules;
      const out: {
        -readonly [K in 'eventLog' | 'ima']?: NonNullable<Awaited<ReturnType<GateTpm['logs']>>[K]>;
      } = {};
      const boot =
        r.secureBoot === 'required' ||
        r.bootApplications ||
        r.kernels ||
        r.initrds ||
        r.loaderFiles ||
        r.bootCommands;
      if (boot) {
        const { loadEventLog } = await import('./eventlog.js');
        const e = await loadEventLog(undefined, ctx);
        out.eventLog = { log: e.log, source: `event log ${e.path}` };
      }
      if (r.ima !== undefined) {
        const { loadImaLog } = await import('./ima.js');
        const i = await loadImaLog(undefined, 'sha1', ctx);
        out.ima = { log: i.log, source: `IMA list ${i.path}` };
      }
      return out;
    },
  };
}
