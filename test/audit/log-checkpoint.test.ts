// SPDX-License-Identifier: Apache-2.0
// agent/audit/log checkpointNow / checkpointIfDue on swtpm with the host's AK and counter: each
// checkpoint extends the newest one from its stored frontier (only the new entries are read), a
// tampered frontier or a tampered new entry is refused with nothing made, a log whose checkpoints have
// no frontier is verified whole, and the schedule ([audit] checkpoint_entries / checkpoint_interval) is
// judged under the lock so that one checkpoint serves every appender that found it due.
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_AUDIT_COUNTER_INDEX, readCounter } from '../../agent/attest/nv-counter.js';
import { type LoadedAk, spkiOfPublic, withAk } from '../../agent/attest/quote.js';
import type { EntryInput } from '../../agent/audit/entry.js';
import {
  checkpointDue,
  checkpointIfDue,
  checkpointNow,
  storedCheckpoints,
  verifyAuditLogAsync,
} from '../../agent/audit/log.js';
import { openDatabase } from '../../agent/audit/sqlite.js';
import { AUDIT_DB_FILE, AuditStore } from '../../agent/audit/store.js';
import type { Tpm } from '../../agent/tpm/tpm.js';
import { cli } from '../cli/helpers.js';
import { useSwtpm } from '../helpers/swtpm.js';
import { openTpm, withTempDir } from '../tpm/swtpm-kit.js';

const swtpm = useSwtpm();
const INDEX = DEFAULT_AUDIT_COUNTER_INDEX;
const AK = 0x81010003;

beforeAll(async () => {
  const r = await cli([
    '--tcti',
    swtpm().tcti,
    'host',
    'init',
    '--ak-alg',
    'ecc',
    '--ak-handle',
    `0x${AK.toString(16)}`,
  ]);
  expect(r.stderr).toBe('');
});

const entry = (i: number, time = Date.now()): EntryInput => ({
  time,
  verdict: i % 3 === 0 ? 'deny' : 'allow',
  reason: i % 3 === 0 ? 'E_SCOPE' : 'OK',
  exe: `/usr/bin/tool-${i}`,
  uid: 1000,
  pid: 4242,
});

function withHostAk<T>(fn: (tpm: Tpm, ak: LoadedAk) => Promise<T>): Promise<T> {
  const tpm = openTpm(swtpm());
  return withAk(tpm, { kind: 'persistent', handle: AK }, (ak) => fn(tpm, ak));
}

async function withStore<T>(fn: (store: AuditStore, dir: string) => Promise<T>): Promise<T> {
  return withTempDir(async (dir) => {
    const store = await AuditStore.open(dir);
    try {
      return await fn(store, dir);
    } finally {
      store.close();
    }
  });
}

/** Rewrites a column of the database behind the store's back, as a local attacker would. */
function tamper(dir: string, sql: string, ...args: Uint8Array[]): void {
  const db = openDatabase(join(dir, AUDIT_DB_FILE), {});
  try {
    db.prepare(sql).run(...args);
  } finally {
    db.close();
  }
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'no error';
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
}

describe('checkpointNow: incremental from the stored frontier', () => {
  it('each checkpoint stores its frontier; the log with all of them verifies', async () => {
    await withStore(async (store) => {
      await withHostAk(async (tpm, ak) => {
        for (const n of [1, 6, 7, 40]) {
          store.appendBatch(Array.from({ length: n }, (_, i) => entry(i)));
          const made = await checkpointNow(store, tpm, ak, { nvIndex: INDEX });
          expect(made).toMatchObject({ made: true, size: store.size() });
          expect(store.latestCheckpoint()?.frontier?.length).toBeGreaterThan(0);
        }
        // Nothing new: none made.
        expect((await checkpointNow(store, tpm, ak, { nvIndex: INDEX })).made).toBe(false);
        const verdict = await verifyAuditLogAsync({
          entries: store.iterate(),
          checkpoints: storedCheckpoints(store),
          akSpki: spkiOfPublic(ak.public),
          nvIndex: INDEX,
          tpmCounter: await readCounter(tpm, INDEX),
        });
        expect(verdict).toMatchObject({ ok: true, size: 54, checkpoints: 4 });
      });
    });
  });

  it('a changed frontier does not fold to the signed root: E_AUDIT_ROOT, nothing made, the counter unchanged', async () => {
    await withStore(async (store, dir) => {
      await withHostAk(async (tpm, ak) => {
        store.appendBatch(Array.from({ length: 11 }, (_, i) => entry(i)));
        await checkpointNow(store, tpm, ak, { nvIndex: INDEX });
        const frontier = store.latestCheckpoint()?.frontier ?? new Uint8Array();
        const bad = frontier.slice();
        bad[5] = (bad[5] ?? 0) ^ 0x80;
        tamper(dir, 'UPDATE checkpoints SET frontier = ? WHERE size = 11', bad);
        store.append(entry(11));
        const counter = await readCounter(tpm, INDEX);
        expect(await codeOf(checkpointNow(store, tpm, ak, { nvIndex: INDEX }))).toBe('E_AUDIT_ROOT');
        expect(store.checkpoints().length).toBe(1);
        expect(await readCounter(tpm, INDEX)).toBe(counter);
      });
    });
  });

  it('an entry after the newest checkpoint changed (bytes, not leaf): E_AUDIT_ENTRY, nothing made', async () => {
    await withStore(async (store, dir) => {
      await withHostAk(async (tpm, ak) => {
        store.appendBatch(Array.from({ length: 5 }, (_, i) => entry(i)));
        await checkpointNow(store, tpm, ak, { nvIndex: INDEX });
        store.appendBatch(Array.from({ length: 5 }, (_, i) => entry(5 + i)));
        tamper(
          dir,
          "UPDATE entries SET bytes = CAST(replace(CAST(bytes AS TEXT), 'tool', 'tooL') AS BLOB) WHERE seq = 7",
        );
        expect(await codeOf(checkpointNow(store, tpm, ak, { nvIndex: INDEX }))).toBe('E_AUDIT_ENTRY');
        expect(store.checkpoints().length).toBe(1);
      });
    });
  });

  it('the newest checkpoint forged in the database (its body changed): E_AUDIT_CHECKPOINT, nothing made', async () => {
    await withStore(async (store, dir) => {
      await withHostAk(async (tpm, ak) => {
        store.appendBatch(Array.from({ length: 3 }, (_, i) => entry(i)));
        await checkpointNow(store, tpm, ak, { nvIndex: INDEX });
        tamper(dir, "UPDATE checkpoints SET body = replace(body, '\n3\n', '\n2\n')");
        store.append(entry(3));
        expect(await codeOf(checkpointNow(store, tpm, ak, { nvIndex: INDEX }))).toBe('E_AUDIT_CHECKPOINT');
      });
    });
  });

  it('checkpoints stored without a frontier: the whole log is verified instead, and refused when tampered', async () => {
    await withStore(async (store, dir) => {
      await withHostAk(async (tpm, ak) => {
        store.appendBatch(Array.from({ length: 9 }, (_, i) => entry(i)));
        await checkpointNow(store, tpm, ak, { nvIndex: INDEX });
        tamper(dir, 'UPDATE checkpoints SET frontier = NULL');
        tamper(
          dir,
          "UPDATE entries SET bytes = CAST(replace(CAST(bytes AS TEXT), 'tool', 'tooL') AS BLOB) WHERE seq = 2",
        );
        store.append(entry(9));
        expect(await codeOf(checkpointNow(store, tpm, ak, { nvIndex: INDEX }))).toBe('E_AUDIT_ENTRY');
        tamper(
          dir,
          "UPDATE entries SET bytes = CAST(replace(CAST(bytes AS TEXT), 'tooL', 'tool') AS BLOB) WHERE seq = 2",
        );
        expect(await checkpointNow(store, tpm, ak, { nvIndex: INDEX })).toMatchObject({
          made: true,
          size: 10,
        });
        expect(store.latestCheckpoint()?.frontier?.length).toBe(2 * 32); // 10 = 0b1010
      });
    });
  });
});

describe('checkpointIfDue: the schedule', () => {
  const schedule = { entries: 5, intervalSeconds: 600 };

  it('due at `entries` uncovered entries, not before', async () => {
    await withStore(async (store) => {
      await withHostAk(async (tpm, ak) => {
        store.appendBatch(Array.from({ length: 4 }, (_, i) => entry(i)));
        expect(checkpointDue(store, schedule)).toBe(false);
        expect(await checkpointIfDue(store, tpm, ak, { nvIndex: INDEX, schedule })).toMatchObject({
          made: false,
          size: 0,
        });
        store.append(entry(4));
        expect(checkpointDue(store, schedule)).toBe(true);
        expect(await checkpointIfDue(store, tpm, ak, { nvIndex: INDEX, schedule })).toMatchObject({
          made: true,
          size: 5,
        });
        expect(checkpointDue(store, schedule)).toBe(false);
        store.appendBatch(Array.from({ length: 4 }, (_, i) => entry(5 + i)));
        expect(await checkpointIfDue(store, tpm, ak, { nvIndex: INDEX, schedule })).toMatchObject({
          made: false,
          size: 5,
        });
      });
    });
  });

  it('due when the oldest uncovered entry is `intervalSeconds` old, whatever the count', async () => {
    await withStore(async (store) => {
      const t0 = 1_800_000_000_000;
      store.append(entry(0, t0));
      store.append(entry(1, t0 + 400_000));
      expect(checkpointDue(store, schedule, t0 + 599_999)).toBe(false);
      expect(checkpointDue(store, schedule, t0 + 600_000)).toBe(true);
      await withHostAk(async (tpm, ak) => {
        const made = await checkpointIfDue(store, tpm, ak, { nvIndex: INDEX, schedule, now: t0 + 600_000 });
        expect(made).toMatchObject({ made: true, size: 2 });
      });
      store.append(entry(2, t0 + 700_000));
      // The interval counts from the oldest entry not covered, not from the checkpoint.
      expect(checkpointDue(store, schedule, t0 + 1_299_999)).toBe(false);
      expect(checkpointDue(store, schedule, t0 + 1_300_000)).toBe(true);
    });
  });

  it('group commit: a second appender that found it due finds it made under the lock', async () => {
    await withStore(async (store, dir) => {
      const other = await AuditStore.open(dir);
      try {
        store.appendBatch(Array.from({ length: 5 }, (_, i) => entry(i)));
        // Both judge it due before either takes the lock…
        expect(checkpointDue(store, schedule)).toBe(true);
        expect(checkpointDue(other, schedule)).toBe(true);
        await withHostAk(async (tpm, ak) => {
          const first = await checkpointNow(store, tpm, ak, { nvIndex: INDEX, schedule });
          other.append(entry(5));
          // …the second, judging again under the lock, makes none: 1 uncovered entry is not due.
          const second = await checkpointNow(other, tpm, ak, { nvIndex: INDEX, schedule });
          expect(first).toMatchObject({ made: true, size: 5 });
          expect(second).toMatchObject({ made: false, size: 5 });
        });
        expect(store.checkpoints().length).toBe(1);
      } finally {
        other.close();
      }
    });
  });
});
