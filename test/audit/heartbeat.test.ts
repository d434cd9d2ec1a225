// SPDX-License-Identifier: Apache-2.0
// Heartbeat entries (agent/audit/heartbeat.ts, entry.ts) on swtpm: a heartbeat verifies in its log
// under the log's AK; the attacks fail verification with E_AUDIT_HEARTBEAT: a heartbeat quoted by
// another AK (in the store and in an exported bundle), one copied into another log, one replayed later
// in its own log, one whose quote was swapped for an older one. Decoding refuses every malformed
// heartbeat as E_AUDIT_ENTRY, and the byte prefilter never misses a heartbeat.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_AK_HANDLE, type LoadedAk, spkiOfPublic, withAk } from '../../agent/attest/quote.js';
import { exportBundle, verifyBundle } from '../../agent/audit/bundle.js';
import {
  type AnyEntry,
  decodeEntry,
  decodeVerdict,
  type EntryInput,
  encodeEntry,
  type HeartbeatEntry,
  isHeartbeat,
  mayBeHeartbeat,
} from '../../agent/audit/entry.js';
import { AuditError } from '../../agent/audit/errors.js';
import { appendHeartbeat, heartbeatNonce } from '../../agent/audit/heartbeat.js';
import { verifyAuditLogAsync } from '../../agent/audit/log.js';
import { AuditStore } from '../../agent/audit/store.js';
import { encodeCbor } from '../../agent/encoding/cbor.js';
import { parseSelection } from '../../agent/tpm/pcr-selection.js';
import type { Tpm } from '../../agent/tpm/tpm.js';
import { cli } from '../cli/helpers.js';
import { useSwtpm } from '../helpers/swtpm.js';
import { thrown } from '../helpers/thrown.js';
import { openTpm, withTempDir } from '../tpm/swtpm-kit.js';

const swtpm = useSwtpm();
const AK = DEFAULT_AK_HANDLE;
const PCRS = parseSelection('sha256:0-7');

beforeAll(async () => {
  const r = await cli(['--tcti', swtpm().tcti, 'host', 'init', '--ak-alg', 'ecc']);
  expect(r.stderr).toBe('');
});

const verdict = (i: number): EntryInput => ({
  time: 1_765_000_000_000 + i,
  verdict: 'deny',
  reason: 'E_SCOPE',
  exe: `/usr/bin/tool-${i}`,
  pid: 1000 + i,
});

/** Runs `fn` with the host's AK (persistent) and another AK (a primary ECC AK of the same TPM). */
async function withAks<T>(fn: (tpm: Tpm, host: LoadedAk, other: LoadedAk) => Promise<T>): Promise<T> {
  const tpm = openTpm(swtpm());
  try {
    return await withAk(tpm, { kind: 'persistent', handle: AK }, (host) =>
      withAk(tpm, { kind: 'primary', alg: 'ecc' }, (other) => fn(tpm, host, other)),
    );
  } finally {
    await tpm.close();
  }
}

async function withStores<T>(fn: (a: AuditStore, b: AuditStore) => Promise<T>): Promise<T> {
  return withTempDir((x) =>
    withTempDir(async (y) => {
      const a = await AuditStore.open(x);
      const b = await AuditStore.open(y);
      try {
        return await fn(a, b);
      } finally {
        a.close();
        b.close();
      }
    }),
  );
}

/** The store's log verified under `ak` (no checkpoints: heartbeats and leaves only). */
async function verify(store: AuditStore, ak: LoadedAk) {
  return verifyAuditLogAsync({ entries: store.iterate(), checkpoints: [], akSpki: spkiOfPublic(ak.public) });
}

/** The heartbeat at `seq` of `store`, decoded. */
function heartbeatAt(store: AuditStore, seq: number): HeartbeatEntry {
  const e = decodeEntry(store.entry(seq)?.bytes ?? new Uint8Array());
  if (!isHeartbeat(e)) throw new Error(`entry ${seq} is not a heartbeat`);
  return e;
}

const withoutSeq = ({ seq: _, ...rest }: HeartbeatEntry) => rest;

describe('heartbeat attacks', () => {
  it('a heartbeat of the log AK verifies in its log, before and after other entries', async () => {
    await withAks(async (tpm, host) =>
      withStores(async (a) => {
        await appendHeartbeat(a, tpm, host, PCRS);
        a.append(verdict(1));
        a.append(verdict(2));
        const hb = await appendHeartbeat(a, tpm, host, PCRS);
        expect(hb.seq).toBe(3);
        a.append(verdict(4));
        const v = await verify(a, host);
        expect(v.detail).toBeUndefined();
        expect(v).toMatchObject({ ok: true, size: 5 });
        expect(heartbeatAt(a, 3).pcrs).toBe('sha256:0-7');
      }),
    );
  });

  it('a heartbeat quoted by another AK: E_AUDIT_HEARTBEAT', async () => {
    await withAks(async (tpm, host, other) =>
      withStores(async (a) => {
        a.append(verdict(0));
        await appendHeartbeat(a, tpm, other, PCRS);
        const v = await verify(a, host);
        expect(v).toMatchObject({ ok: false, code: 'E_AUDIT_HEARTBEAT' });
        expect(v.detail).toMatch(/heartbeat 1: E_QUOTE_SIGNATURE/);
        // The same log under the other AK verifies: only the key differs. A bundle of it, likewise.
        expect((await verify(a, other)).ok).toBe(true);
        const bundle = exportBundle(a, spkiOfPublic(host.public));
        expect(await verifyBundle(bundle, spkiOfPublic(host.public))).toMatchObject({
          ok: false,
          code: 'E_AUDIT_HEARTBEAT',
        });
        expect((await verifyBundle(bundle, spkiOfPublic(other.public), { strict: true })).ok).toBe(true);
      }),
    );
  });

  it('a heartbeat copied into another log of the same host: E_AUDIT_HEARTBEAT', async () => {
    await withAks(async (tpm, host) =>
      withStores(async (a, b) => {
        a.append(verdict(0));
        await appendHeartbeat(a, tpm, host, PCRS);
        b.append(verdict(7)); // another log: its entry 0 differs
        b.append(withoutSeq(heartbeatAt(a, 1)));
        expect((await verify(a, host)).ok).toBe(true);
        const v = await verify(b, host);
        expect(v).toMatchObject({ ok: false, code: 'E_AUDIT_HEARTBEAT' });
        expect(v.detail).toMatch(/heartbeat 1: E_QUOTE_NONCE/);
      }),
    );
  });

  it('a heartbeat replayed later in its own log, or its quote swapped for an older one: E_AUDIT_HEARTBEAT', async () => {
    await withAks(async (tpm, host) =>
      withStores(async (a, b) => {
        await appendHeartbeat(a, tpm, host, PCRS);
        a.append(verdict(1));
        a.append(withoutSeq(heartbeatAt(a, 0)));
        expect(await verify(a, host)).toMatchObject({ ok: false, code: 'E_AUDIT_HEARTBEAT' });
        // b: two fresh heartbeats, then the second one's quote replaced by the first's.
        await appendHeartbeat(b, tpm, host, PCRS);
        const first = heartbeatAt(b, 0);
        b.append({ ...withoutSeq(heartbeatAt(b, 0)), time: first.time + 1 });
        const v = await verify(b, host);
        expect(v).toMatchObject({ ok: false, code: 'E_AUDIT_HEARTBEAT' });
        expect(v.detail).toMatch(/heartbeat 1: E_QUOTE_NONCE/);
      }),
    );
  });

  it('the nonce binds seq and the previous leaf, and refuses misuse', () => {
    const leaf = new Uint8Array(32).fill(9);
    const n = heartbeatNonce(5, leaf);
    expect(n).toHaveLength(32);
    expect(heartbeatNonce(6, leaf)).not.toEqual(n);
    expect(heartbeatNonce(5, new Uint8Array(32).fill(8))).not.toEqual(n);
    expect(() => heartbeatNonce(0, leaf)).toThrow(TypeError);
    expect(() => heartbeatNonce(1, undefined)).toThrow(TypeError);
    expect(() => heartbeatNonce(1, new Uint8Array(31))).toThrow(RangeError);
  });
});

describe('heartbeat entries', () => {
  const HB: HeartbeatEntry = {
    seq: 3,
    time: 1_765_000_000_000,
    kind: 'heartbeat',
    attest: new Uint8Array(120).fill(1),
    signature: new Uint8Array(72).fill(2),
    pcrs: 'sha1:0+sha256:0-1',
    pcrValues: [new Uint8Array(20), new Uint8Array(32), new Uint8Array(32).fill(3)],
  };
  const bytesOf = (patch: Record<string, unknown>): Uint8Array => {
    const m = new Map<string, unknown>(Object.entries(HB));
    for (const [k, v] of Object.entries(patch)) v === undefined ? m.delete(k) : m.set(k, v);
    return encodeCbor(m as Parameters<typeof encodeCbor>[0]);
  };
  const refused = (bytes: Uint8Array) =>
    expect(thrown(AuditError, () => decodeEntry(bytes)).code).toBe('E_AUDIT_ENTRY');

  it('round-trips, and decodeVerdict refuses it', () => {
    const bytes = encodeEntry(HB);
    expect(decodeEntry(bytes)).toEqual(HB);
    expect(encodeEntry(decodeEntry(bytes) as AnyEntry)).toEqual(bytes);
    expect(thrown(AuditError, () => decodeVerdict(bytes)).message).toMatch(/heartbeat, not a verdict/);
  });

  it('refuses every malformed heartbeat as E_AUDIT_ENTRY', () => {
    refused(bytesOf({ kind: 'beat' }));
    refused(bytesOf({ verdict: 'allow' })); // a verdict key in a heartbeat
    refused(bytesOf({ pcrs: 'sha256:1,0' })); // not canonical
    refused(bytesOf({ pcrs: 'sha256:0-2' })); // three PCRs, three values, but sha1's size is wrong
    refused(bytesOf({ pcrValues: [new Uint8Array(20), new Uint8Array(32)] })); // one value short
    refused(bytesOf({ pcrValues: [new Uint8Array(32), new Uint8Array(32), new Uint8Array(32)] }));
    refused(bytesOf({ attest: new Uint8Array(0) }));
    refused(bytesOf({ signature: new Uint8Array(1025) }));
    refused(bytesOf({ attest: undefined }));
    refused(bytesOf({ pcrValues: Array.from({ length: 97 }, () => new Uint8Array(32)) }));
    // A verdict with a kind key is not a verdict either.
    refused(
      encodeCbor(
        new Map<string, unknown>([
          ['seq', 0],
          ['time', 0],
          ['verdict', 'allow'],
          ['reason', 'OK'],
          ['kind', 'heartbeat'],
        ]) as Parameters<typeof encodeCbor>[0],
      ),
    );
    expect(() => encodeEntry({ ...HB, pcrs: 'sha256:0' })).toThrow(TypeError);
  });

  it('mayBeHeartbeat is true for every heartbeat (any seq) and false for verdicts', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 300 }),
        fc.oneof(fc.nat(30), fc.maxSafeNat()),
        (attest, seq) => mayBeHeartbeat(encodeEntry({ ...HB, seq, attest })),
      ),
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (s) => {
        const exe = `/usr/bin/x${s.replace(/\0/g, '')}`;
        return !mayBeHeartbeat(encodeEntry({ seq: 1, time: 2, verdict: 'allow', reason: 'OK', exe }));
      }),
    );
  });
});
