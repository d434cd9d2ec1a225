// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/serve/service
 *
 * The long-running service behind `execgate serve` (issue 15). It owns the host's audit store and its
 * TPM access, and on a timer (every `tickMs`, default 1 s):
 *
 * 1. reloads the policy and trust when a file they came from changed (reload.ts): a new policy that
 *    does not load, or whose revocation lists are older than those in use, is refused and the old one
 *    kept (logged once per change);
 * 2. counts the verdicts appended since the last tick (metrics.ts);
 * 3. unless backing off after a failure (backoff.ts): appends a signed heartbeat when one is due
 *    (`[serve] heartbeat`; audit/heartbeat.ts), then makes a checkpoint when one is due by the
 *    `[audit]` schedule (audit/log.ts checkpointIfDue; its age rule holds with no appends, since the
 *    tick asks).
 *
 * State machine of the TPM work: `ok` → (failure) → `backing off` (log `tpm_error` once; each later
 * failure is a `retry` at debug, the delay doubling to 5 s) → (success) → `ok` (log `tpm_recovered`).
 * A heartbeat and a checkpoint missed while the TPM was away are made at the first tick it is back
 * (one heartbeat, not one per missed interval; one checkpoint covering everything).
 *
 * Everything that writes to the store or talks to the TPM goes through `withTpm`, one at a time
 * (tpm-access.ts): a heartbeat or checkpoint holds the store's write lock while it waits for the TPM,
 * and a write on the same connection meanwhile would join its transaction, to be rolled back with it.
 *
 * `stop` ends the timer, waits up to STOP_GRACE_MS for the TPM work in flight (a checkpoint finishes),
 * then closes the TPM connection, the metrics endpoint and the store. A checkpoint cut off by the grace
 * period is safe to abandon: its protocol survives a crash at any step (audit/checkpoint.ts).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { LoadedAk } from '../attest/quote.js';
import { appendHeartbeat } from '../audit/heartbeat.js';
import { checkpointIfDue } from '../audit/log.js';
import { checkpointDue } from '../audit/schedule.js';
import type { AuditStore } from '../audit/store.js';
import { ConfigError } from '../config/errors.js';
import { type HostPolicy, loadPolicy, servePcrs } from '../config/policy.js';
import { type HostTrust, loadTrust } from '../config/trust.js';
import { toHex } from '../encoding/bytes.js';
import { ExecgateError } from '../errors.js';
import { formatSelection } from '../tpm/pcr-selection.js';
import type { Tpm } from '../tpm/tpm.js';
import { Backoff } from './backoff.js';
import type { Logger } from './log.js';
import { type MetricsEndpoint, ServeMetrics, serveMetrics } from './metrics.js';
import { changedFiles, fingerprints, printsBeforeRead, watchedFiles } from './reload.js';
import { isTpmFailure, TpmAccess } from './tpm-access.js';

/** How long `stop` waits for the TPM work in flight before closing under it (then 100 ms more at most). */
export const STOP_GRACE_MS = 500;

/** What the service is given: everything opened and checked by its caller (cli/serve.ts). */
export interface ServiceOptions {
  /** The policy and trust loaded at start, and the file to reload them from. */
  readonly policy: HostPolicy;
  readonly trust: HostTrust;
  readonly policyFile: string;
  /**
   * The watched files' fingerprints from before the caller read them (reload.ts printsBeforeRead), so
   * that a write between that load and the start is reloaded; default: taken at start.
   */
  readonly prints?: ReadonlyMap<string, string>;
  /** The audit store of the policy's state directory, open for writing; closed by `stop`. */
  readonly store: AuditStore;
  /** The pinned AK's Name (host.json). */
  readonly akName: Uint8Array;
  /** Opens a connection to the TPM (one per operation: tpm-access.ts). */
  readonly openTpm: () => Tpm;
  /** Runs `fn` with the pinned AK on `tpm`, after checking the TPM still holds it (host-state.ts withPinnedAk). */
  readonly withPinnedAk: <T>(tpm: Tpm, fn: (ak: LoadedAk) => Promise<T>) => Promise<T>;
  readonly log: Logger;
  /** Tick period in ms (default 1000). */
  readonly tickMs?: number;
  /** The clock (default Date.now). */
  readonly now?: () => number;
}

/**
 * The running service (module comment). Public surface for the gate socket: the current policy and
 * trust (after reloads), the store, the AK's Name, the metrics, `withTpm`/`withAk` (serialised TPM
 * and store-write access) and `afterAppend`.
 */
export class Service {
  /** The open audit store. Write to it only inside `withTpm` (module comment). */
  readonly store: AuditStore;
  /** The pinned AK's Name (nameAlg ‖ H(TPMT_PUBLIC)), the host's identity. */
  readonly akName: Uint8Array;
  /** The state directory (`[host] state_dir` at start: a reload that changes it is refused). */
  readonly stateDir: string;
  readonly metrics: ServeMetrics;
  readonly log: Logger;
  readonly #opts: ServiceOptions;
  readonly #tpm: TpmAccess;
  readonly #backoff = new Backoff();
  readonly #now: () => number;
  readonly #tickMs: number;
  #policy: HostPolicy;
  #trust: HostTrust;
  #prints = new Map<string, string>();
  #endpoint: MetricsEndpoint | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** The tick or afterAppend checkpoint in flight, if any. */
  #busy = new Set<Promise<void>>();
  #nextHeartbeat = 0;
  #downSince = 0;
  #stopping = false;
  /** Why the policy's files, as changed, do not load (verdicts are E_CONFIG until they do). */
  #broken: ExecgateError | undefined;
  #reloading: Promise<void> | undefined;

  private constructor(opts: ServiceOptions) {
    this.#opts = opts;
    this.store = opts.store;
    this.akName = opts.akName;
    this.stateDir = opts.policy.host.stateDir;
    this.log = opts.log;
    this.#policy = opts.policy;
    this.#trust = opts.trust;
    this.#now = opts.now ?? Date.now;
    this.#tickMs = opts.tickMs ?? 1000;
    this.metrics = new ServeMetrics(opts.store, this.#now);
    this.#tpm = new TpmAccess(opts.openTpm, () => this.metrics.tpmError());
  }

  /**
   * Starts the service: the metrics endpoint (`[serve] metrics`; E_CONFIG when it cannot listen), the
   * first tick at once (a heartbeat, and a checkpoint when due), then one every `tickMs`.
   */
  static async start(opts: ServiceOptions): Promise<Service> {
    const s = new Service(opts);
    s.#prints = new Map(opts.prints ?? (await fingerprints(watchedFiles(opts.policy))));
    const address = opts.policy.serve.metrics;
    if (address !== undefined) s.#endpoint = await serveMetrics(s.metrics, address);
    s.#arm(0);
    return s;
  }

  /** The policy in force (replaced by a reload). */
  get policy(): HostPolicy {
    return this.#policy;
  }

  /** The trust in force: keys, revocation lists, reference (replaced by a reload). */
  get trust(): HostTrust {
    return this.#trust;
  }

  /** The AK's Name in hex, as logs and `host identity` show it. */
  get akNameHex(): string {
    return toHex(this.akName);
  }

  /**
   * Runs `fn` with a TPM connection of its own, after every earlier TPM or store-write operation of the
   * service has settled (tpm-access.ts). A TPM failure (E_TPM_*) is counted in the metrics and thrown.
   */
  withTpm<T>(fn: (tpm: Tpm) => Promise<T>): Promise<T> {
    return this.#tpm.run(fn);
  }

  /** `withTpm` with the pinned AK, checked to be the one in the TPM (E_AK_MISMATCH, E_AK_MISSING otherwise). */
  withAk<T>(fn: (tpm: Tpm, ak: LoadedAk) => Promise<T>): Promise<T> {
    return this.#tpm.run((tpm) => this.#opts.withPinnedAk(tpm, (ak) => fn(tpm, ak)));
  }

  /**
   * To call after appending a verdict: makes a checkpoint when one is due by the `[audit]` schedule, in
   * the background (the caller does not wait; failures are logged).
   */
  afterAppend(): void {
    if (this.#stopping || !checkpointDue(this.store, this.#checkpointSchedule())) return;
    this.#track(this.#checkpoint().catch((e: unknown) => this.#failed('checkpoint', e)));
  }

  /** Stops the service (module comment); resolves when everything is closed. Idempotent. */
  async stop(signal?: string): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    clearTimeout(this.#timer);
    const finished = await this.#settled(STOP_GRACE_MS);
    if (!finished)
      this.log.warn(
        { event: 'stop_cut', graceMs: STOP_GRACE_MS },
        'TPM work still in flight at stop: abandoned',
      );
    await this.#tpm.close();
    // The work cut off fails at once with its connection closed (and rolls back its write lock) before
    // the store is closed under it.
    if (!finished) await this.#settled(100);
    await this.#endpoint?.close();
    this.store.close();
    this.log.info({ event: 'stop', ...(signal === undefined ? {} : { signal }) }, 'stopped');
  }

  /** Whether the work in flight settled within `ms`. */
  async #settled(ms: number): Promise<boolean> {
    const timer = new AbortController();
    const done = await Promise.race([
      Promise.allSettled([...this.#busy]).then(() => true),
      sleep(ms, false, { signal: timer.signal }).catch(() => false),
    ]);
    timer.abort();
    return done;
  }

  /** The next tick in `ms`. A tick never rejects: what fails in it is logged (#failed). */
  #arm(ms: number): void {
    if (this.#stopping) return;
    this.#timer = setTimeout(() => {
      this.#track(
        this.#tick()
          .catch((e: unknown) => this.#failed('tick', e))
          .finally(() => this.#arm(this.#nextDelay())),
      );
    }, ms);
  }

  /** Until the next tick: `tickMs`, or sooner when a retry is due before (backoff.ts's 100 ms, 200 ms, …). */
  #nextDelay(): number {
    if (this.#backoff.failures === 0) return this.#tickMs;
    return Math.min(this.#tickMs, Math.max(10, this.#backoff.retryAt - this.#now()));
  }

  /** Keeps `p` (which must not reject) until it settles, for `stop` to wait on. */
  #track(p: Promise<void>): void {
    this.#busy.add(p);
    void p.finally(() => this.#busy.delete(p));
  }

  #checkpointSchedule(): { entries: number; intervalSeconds: number } {
    const a = this.#policy.audit;
    return { entries: a.checkpointEntries, intervalSeconds: a.checkpointIntervalSeconds };
  }

  async #tick(): Promise<void> {
    await this.#reloadIfChanged();
    if (this.#stopping) return;
    this.metrics.countNewEntries();
    if (!this.#backoff.ready(this.#now())) return;
    let op = 'heartbeat';
    try {
      if (this.#now() >= this.#nextHeartbeat) {
        await this.#heartbeat();
        this.#nextHeartbeat = this.#now() + this.#policy.serve.heartbeatSeconds * 1000;
      }
      op = 'checkpoint';
      if (checkpointDue(this.store, this.#checkpointSchedule())) await this.#checkpoint();
    } catch (e) {
      this.#failed(op, e);
      return;
    }
    if (this.#backoff.failures > 0) {
      this.log.info(
        {
          event: 'tpm_recovered',
          failures: this.#backoff.failures,
          downSeconds: (this.#now() - this.#downSince) / 1000,
        },
        'the TPM work succeeds again',
      );
      this.#backoff.succeed();
    }
  }

  async #heartbeat(): Promise<void> {
    const selection = servePcrs(this.#policy);
    const appended = await this.withAk((tpm, ak) =>
      appendHeartbeat(this.store, tpm, ak, selection, this.#now),
    );
    this.metrics.heartbeat();
    this.log.debug(
      { event: 'heartbeat', seq: appended.seq, pcrs: formatSelection(selection) },
      'heartbeat appended',
    );
  }

  async #checkpoint(): Promise<void> {
    const a = this.#policy.audit;
    const made = await this.withAk((tpm, ak) =>
      checkpointIfDue(this.store, tpm, ak, {
        akName: this.akName,
        nvIndex: a.nvCounterIndex,
        selection: a.pcrs,
        schedule: this.#checkpointSchedule(),
        now: this.#now(),
      }),
    );
    if (!made.made) return;
    this.metrics.checkpoint();
    const root = /^[^\n]*\n[^\n]*\n([^\n]*)\n/.exec(made.body)?.[1];
    this.log.info(
      { event: 'checkpoint', size: made.size, counter: made.counter.toString(), root },
      `checkpoint of ${made.size} entries made`,
    );
  }

  /** A failure of the TPM work: back off, and log the first of a streak at error, the rest at debug. */
  #failed(op: string, e: unknown): void {
    if (this.#stopping) return; // closing under the work in flight is expected then
    const now = this.#now();
    const first = this.#backoff.failures === 0;
    if (first) this.#downSince = now;
    const retryAt = this.#backoff.fail(now);
    const code = e instanceof ExecgateError ? e.code : 'E_INTERNAL';
    const fields = {
      event: first ? (isTpmFailure(e) ? 'tpm_error' : 'error') : 'retry',
      op,
      code,
      failures: this.#backoff.failures,
      retryInMs: retryAt - now,
      err: e instanceof Error ? e.message : String(e),
    };
    if (first) this.log.error(fields, `${op} failed: ${fields.err}`);
    else this.log.debug(fields, `${op} failed again`);
  }

  /**
   * The policy and trust for a gate verdict, as their files are now (reloaded first when one changed).
   * Where the tick keeps the policy in force when a change does not load, a verdict does not: it throws
   * that change's error (the gate's E_CONFIG) until the files load again.
   */
  async current(): Promise<{ readonly policy: HostPolicy; readonly trust: HostTrust }> {
    // A reload in flight took its fingerprints before this call, maybe before a write it must see:
    // after it, look again.
    await this.#reloading;
    await this.#reloadIfChanged();
    if (this.#broken !== undefined) throw this.#broken;
    return { policy: this.#policy, trust: this.#trust };
  }

  /** Reloads policy and trust when a watched file changed (module comment), one reload at a time. */
  #reloadIfChanged(): Promise<void> {
    this.#reloading ??= this.#reload().finally(() => {
      this.#reloading = undefined;
    });
    return this.#reloading;
  }

  async #reload(): Promise<void> {
    const now = await fingerprints(watchedFiles(this.#policy));
    const changed = changedFiles(this.#prints, now);
    if (changed.length === 0) return;
    this.#prints = now; // a broken change is reported once, not on every tick
    let policy: HostPolicy;
    let trust: HostTrust;
    let prints: Map<string, string>;
    try {
      policy = await loadPolicy(this.#opts.policyFile);
      prints = await printsBeforeRead(policy, now);
      trust = await loadTrust(policy);
      refuseRollback(this.#trust, trust);
      refuseRestartKeys(this.#policy, policy);
    } catch (e) {
      this.#broken = e instanceof ExecgateError ? e : new ConfigError(String(e));
      this.log.error(
        {
          event: 'reload_failed',
          files: changed,
          code: e instanceof ExecgateError ? e.code : 'E_INTERNAL',
          err: e instanceof Error ? e.message : String(e),
        },
        'the changed policy does not load: the one in force is kept',
      );
      return;
    }
    this.#policy = policy;
    this.#trust = trust;
    this.#broken = undefined;
    // Not fingerprinted again now: a file written since its read must differ at the next check.
    this.#prints = prints;
    this.log.info(
      {
        event: 'reload',
        files: changed,
        revocationLists: trust.revocationLists.map((l) => ({ file: l.file, seq: l.list.seq })),
      },
      'policy and trust reloaded',
    );
  }
}

/** E_CONFIG when a signer's newest revocation list in `next` is older than in `current`. */
function refuseRollback(current: HostTrust, next: HostTrust): void {
  const newest = (t: HostTrust) => {
    const m = new Map<string, { seq: number; file: string }>();
    for (const { file, list } of t.revocationLists) {
      const k = toHex(list.signer);
      if ((m.get(k)?.seq ?? -1) < list.seq) m.set(k, { seq: list.seq, file });
    }
    return m;
  };
  const after = newest(next);
  for (const [signer, before] of newest(current)) {
    const now = after.get(signer);
    if (now !== undefined && now.seq < before.seq)
      throw new ConfigError(
        `revocation list ${now.file}: list ${now.seq} of signer ${signer} is older than list ${before.seq} in force: an older list never replaces a newer one`,
        { file: now.file, at: 'revocation.lists' },
      );
  }
}

/** E_CONFIG when `next` changes what the service took at start: the state directory, TPM, metrics address. */
function refuseRestartKeys(current: HostPolicy, next: HostPolicy): void {
  const differs = [
    ['host.state_dir', current.host.stateDir, next.host.stateDir],
    ['host.tcti', current.host.tcti, next.host.tcti],
    ['serve.metrics', JSON.stringify(current.serve.metrics), JSON.stringify(next.serve.metrics)],
  ].filter(([, a, b]) => a !== b);
  if (differs.length > 0)
    throw new ConfigError(
      `${differs.map(([k]) => k).join(', ')} changed: restart execgate serve to apply ${differs.length > 1 ? 'them' : 'it'}`,
      { file: next.file, at: differs[0]?.[0] },
    );
}
