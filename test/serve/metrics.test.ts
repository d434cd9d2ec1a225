// SPDX-License-Identifier: Apache-2.0
// agent/serve/metrics: verdicts are counted from the audit log only, once each, from the service's start
// on, heartbeats and undecodable entries not at all; observeVerdict feeds the latency histogram only;
// the checkpoint age follows the newest checkpoint (or the oldest entry); the endpoint serves /metrics
// on loopback and refuses a port in use with E_CONFIG.
import { describe, expect, it } from 'vitest';
import type { EntryInput } from '../../agent/audit/entry.js';
import { AuditStore } from '../../agent/audit/store.js';
import { ConfigError } from '../../agent/config/errors.js';
import { ServeMetrics, serveMetrics } from '../../agent/serve/metrics.js';
import { withTempDir } from '../tpm/swtpm-kit.js';

const T0 = 1_765_000_000_000;
const deny = (reason: string, time = T0): EntryInput => ({ time, verdict: 'deny', reason });
const allow = (time = T0): EntryInput => ({ time, verdict: 'allow', reason: 'OK' });

async function withStore<T>(fn: (store: AuditStore) => Promise<T>): Promise<T> {
  return withTempDir(async (dir) => {
    const store = await AuditStore.open(dir);
    try {
      return await fn(store);
    } finally {
      store.close();
    }
  });
}

/** The value of one sample line `NAME{LABELS} VALUE`, or undefined. */
function sample(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

describe('ServeMetrics', () => {
  it('counts each verdict appended after its start once, by verdict and reason; heartbeats not at all', async () => {
    await withStore(async (store) => {
      store.append(allow()); // before the service: not counted
      const m = new ServeMetrics(store, () => T0);
      store.appendBatch([
        allow(),
        deny('E_REPLAY'),
        deny('E_REPLAY'),
        { ...deny('E_STATE'), verdict: 'would-deny' },
      ]);
      store.append({
        time: T0,
        kind: 'heartbeat',
        attest: new Uint8Array(8),
        signature: new Uint8Array(8),
        pcrs: 'sha256:0',
        pcrValues: [new Uint8Array(32)],
      });
      expect(m.countNewEntries()).toBe(5);
      expect(m.countNewEntries()).toBe(0);
      m.observeVerdict('allow', 0.02); // latency only: the allow above is not counted again
      const text = await m.text();
      expect(sample(text, 'execgate_verdicts_total{verdict="allow",reason="OK"}')).toBe(1);
      expect(sample(text, 'execgate_verdicts_total{verdict="deny",reason="E_REPLAY"}')).toBe(2);
      expect(sample(text, 'execgate_verdicts_total{verdict="would-deny",reason="E_STATE"}')).toBe(1);
      expect(sample(text, 'execgate_gate_latency_seconds_count{verdict="allow"}')).toBe(1);
      expect(sample(text, 'execgate_gate_latency_seconds_bucket{le="0.025",verdict="allow"}')).toBe(1);
      expect(sample(text, 'execgate_gate_latency_seconds_bucket{le="0.01",verdict="allow"}')).toBe(0);
      expect(() => m.observeVerdict('allow', -1)).toThrow(RangeError);
      expect(() => m.observeVerdict('allow', Number.NaN)).toThrow(RangeError);
    });
  });

  it('the checkpoint age: of the newest checkpoint, else of the oldest entry, else 0', async () => {
    await withStore(async (store) => {
      let now = T0;
      const m = new ServeMetrics(store, () => now);
      expect(sample(await m.text(), 'execgate_checkpoint_age_seconds')).toBe(0);
      store.append(deny('E_SCOPE', T0 - 30_000));
      expect(sample(await m.text(), 'execgate_checkpoint_age_seconds')).toBe(30);
      store.addCheckpoint({
        size: 1,
        counter: 1,
        body: 'x',
        quote: new Uint8Array(1),
        certificate: new Uint8Array(1),
        made: T0 - 2_500,
      });
      expect(sample(await m.text(), 'execgate_checkpoint_age_seconds')).toBe(2.5);
      now += 1000;
      expect(sample(await m.text(), 'execgate_checkpoint_age_seconds')).toBe(3.5);
    });
  });

  it('serves GET /metrics on loopback, 404 otherwise; a port in use is E_CONFIG', async () => {
    await withStore(async (store) => {
      const m = new ServeMetrics(store);
      m.heartbeat();
      m.tpmError();
      const first = await serveMetrics(m, { host: '127.0.0.1', port: 0 });
      try {
        expect(first.port).toBeGreaterThan(0);
        const r = await fetch(`http://127.0.0.1:${first.port}/metrics`);
        expect(r.headers.get('content-type')).toMatch(/^text\/plain/);
        const text = await r.text();
        expect(sample(text, 'execgate_heartbeats_total')).toBe(1);
        expect(sample(text, 'execgate_tpm_errors_total')).toBe(1);
        expect((await fetch(`http://127.0.0.1:${first.port}/`)).status).toBe(404);
        expect((await fetch(`http://127.0.0.1:${first.port}/metrics`, { method: 'POST' })).status).toBe(404);
        const taken = await serveMetrics(m, { host: '127.0.0.1', port: first.port }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(taken).toBeInstanceOf(ConfigError);
        expect((taken as ConfigError).message).toMatch(/cannot listen on 127\.0\.0\.1:\d+/);
      } finally {
        await first.close();
      }
    });
  });
});
