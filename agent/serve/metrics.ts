// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/serve/metrics
 *
 * `execgate serve`'s Prometheus metrics (prom-client, text exposition format) and the loopback HTTP
 * endpoint that serves them (`[serve] metrics`; GET /metrics, anything else 404):
 *
 * ```
 * execgate_verdicts_total{verdict,reason}   counter  verdicts recorded in the audit log since start
 * execgate_gate_latency_seconds{verdict}    histogram  time from request to verdict (observeVerdict)
 * execgate_checkpoint_age_seconds           gauge    age of the newest checkpoint (none: of the oldest entry)
 * execgate_tpm_errors_total                 counter  TPM operations of the service that failed
 * execgate_heartbeats_total                 counter  heartbeats appended
 * execgate_checkpoints_total                counter  checkpoints made by the service
 * ```
 *
 * Verdicts are counted from one source only, the audit log: the entries appended since the service
 * started, read by sequence number whenever the counters are asked for (each scrape, each tick), so a
 * verdict counts once whether this process made it (the gate socket) or another (`execgate exec`
 * without the service), and a verdict that was never recorded is not counted. `observeVerdict` feeds
 * the latency histogram only, which the log cannot give.
 *
 * Not covered: entries that do not decode are skipped, not counted (`audit verify` reports them).
 */
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { decodeEntry, isHeartbeat } from '../audit/entry.js';
import type { AuditStore } from '../audit/store.js';
import { ConfigError } from '../config/errors.js';
import { addressText, type MetricsAddress } from '../config/policy.js';

/** Entries read from the store at a time while counting. */
const PAGE = 1024;

/** Latency buckets, seconds: a gate verdict takes tens of ms on swtpm, more on a hardware TPM. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The service's metrics, over its audit store. */
export class ServeMetrics {
  readonly registry = new Registry();
  readonly #store: AuditStore;
  readonly #verdicts: Counter<'verdict' | 'reason'>;
  readonly #latency: Histogram<'verdict'>;
  readonly #tpmErrors: Counter;
  readonly #heartbeats: Counter;
  readonly #checkpoints: Counter;
  /** The next entry to count. */
  #next: number;

  /** Counts verdicts appended to `store` from now on; `now` is the clock for the checkpoint age. */
  constructor(store: AuditStore, now: () => number = Date.now) {
    this.#store = store;
    this.#next = store.size();
    const registers = [this.registry];
    this.#verdicts = new Counter({
      name: 'execgate_verdicts_total',
      help: 'Verdicts recorded in the audit log since the service started, by verdict and reason code',
      labelNames: ['verdict', 'reason'],
      registers,
    });
    this.#latency = new Histogram({
      name: 'execgate_gate_latency_seconds',
      help: 'Time from a gate request to its verdict',
      labelNames: ['verdict'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    const self = this;
    new Gauge({
      name: 'execgate_checkpoint_age_seconds',
      help: 'Age of the newest audit checkpoint (with none: of the oldest entry; 0 for an empty log)',
      registers,
      collect() {
        this.set(self.#checkpointAge(now()));
      },
    });
    this.#tpmErrors = new Counter({
      name: 'execgate_tpm_errors_total',
      help: 'TPM operations of the service that failed (unreachable, timed out, error response)',
      registers,
    });
    this.#heartbeats = new Counter({
      name: 'execgate_heartbeats_total',
      help: 'Signed heartbeats appended to the audit log',
      registers,
    });
    this.#checkpoints = new Counter({
      name: 'execgate_checkpoints_total',
      help: 'Audit checkpoints made by the service',
      registers,
    });
  }

  /**
   * A gate verdict's latency, `seconds` from request to verdict. The verdict counters come from the
   * audit log (module comment), so `reason` is not counted here: it is taken for the caller's
   * convenience and ignored.
   */
  observeVerdict(verdict: string, seconds: number): void {
    if (!(Number.isFinite(seconds) && seconds >= 0))
      throw new RangeError(`seconds must be a non-negative number, got ${seconds}`);
    this.#latency.observe({ verdict }, seconds);
  }

  tpmError(): void {
    this.#tpmErrors.inc();
  }

  heartbeat(): void {
    this.#heartbeats.inc();
  }

  checkpoint(): void {
    this.#checkpoints.inc();
  }

  /** Counts the verdicts appended since the last call (by anyone); returns how many entries were read. */
  countNewEntries(): number {
    const size = this.#store.size();
    const from = this.#next;
    while (this.#next < size) {
      const page = this.#store.entries(this.#next, Math.min(PAGE, size - this.#next));
      if (page.length === 0) break;
      for (const stored of page) {
        try {
          const e = decodeEntry(stored.bytes);
          if (!isHeartbeat(e)) this.#verdicts.inc({ verdict: e.verdict, reason: e.reason });
        } catch {
          // skipped (module comment)
        }
      }
      this.#next = (page.at(-1)?.seq ?? this.#next) + 1;
    }
    return this.#next - from;
  }

  /** The metrics in Prometheus text format, with the verdicts counted up to now. */
  async text(): Promise<string> {
    this.countNewEntries();
    return this.registry.metrics();
  }

  #checkpointAge(now: number): number {
    const latest = this.#store.latestCheckpoint();
    let since: number | undefined = latest?.made;
    if (since === undefined) {
      const first = this.#store.entry(0);
      try {
        since = first === undefined ? now : decodeEntry(first.bytes).time;
      } catch {
        since = now;
      }
    }
    return Math.max(0, (now - since) / 1000);
  }
}

/** A listening metrics endpoint. */
export interface MetricsEndpoint {
  /** The port it listens on (the one asked for, or the one the system chose for port 0). */
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Serves `metrics` at http://ADDRESS/metrics. E_CONFIG when it cannot listen there (the port taken,
 * the address not on this host).
 */
export async function serveMetrics(metrics: ServeMetrics, address: MetricsAddress): Promise<MetricsEndpoint> {
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: GET /metrics\n');
      return;
    }
    metrics.text().then(
      (body) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body),
      (e: unknown) =>
        res
          .writeHead(500, { 'content-type': 'text/plain' })
          .end(`${e instanceof Error ? e.message : String(e)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) =>
      reject(
        new ConfigError(
          `serve.metrics: cannot listen on ${addressText(address)}: ${e.message} (is another process using that port?)`,
          { file: undefined, at: 'serve.metrics', cause: e },
        ),
      ),
    );
    server.listen(address.port, address.host, () => resolve());
  });
  const bound = server.address();
  return {
    port: typeof bound === 'object' && bound !== null ? bound.port : address.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
