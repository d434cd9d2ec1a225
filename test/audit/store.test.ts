// SPDX-License-Identifier: Apache-2.0
// The audit store (agent/audit/store.ts) in one process: append and read back (by seq, by range, by
// iteration in batches), reopen, read-only opens, the files' modes and what is refused about them,
// schema migrations (an empty file brought to the current version, an older schema upgraded with its data,
// a newer one refused), use counting (uses N allows exactly N, in the verdict's own transaction), pruning,
// checkpoints and their order, a held write lock (busy timeout), and nothing half-written when a call
// is refused. Tests run as root: "another user" is nobody (chown).
import { chmod, chown, lstat, mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeEntry, decodeVerdict, type EntryInput, leafHash } from '../../agent/audit/entry.js';
import { AuditError } from '../../agent/audit/errors.js';
import { MIGRATIONS, migrate, SCHEMA_VERSION, schemaVersion } from '../../agent/audit/migrations.js';
import { openDatabase } from '../../agent/audit/sqlite.js';
import {
  AUDIT_DB_FILE,
  AuditStore,
  type NewCheckpoint,
  type OpenOptions,
  USES_GRACE_SECONDS,
  type VerdictRequest,
} from '../../agent/audit/store.js';
import { toHex } from '../../agent/encoding/bytes.js';

const NOBODY = 65534;
const T0 = 1_765_000_000_000;

let root: string;
let dir: string;
const open: AuditStore[] = [];

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'execgate-audit-'));
  dir = join(root, 'state');
});
afterEach(async () => {
  for (const s of open.splice(0)) s.close();
  await rm(root, { recursive: true, force: true });
});

async function store(opts: OpenOptions = {}, at = dir): Promise<AuditStore> {
  const s = await AuditStore.open(at, opts);
  open.push(s);
  return s;
}

async function refused(p: Promise<unknown>, code = 'E_AUDIT_STORE'): Promise<string> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(AuditError);
  expect((e as AuditError).code).toBe(code);
  return (e as AuditError).message;
}

const deny = (i: number): EntryInput => ({
  time: T0 + i,
  verdict: 'deny',
  reason: 'E_SIGNATURE',
  pid: 1000 + i,
});

describe('append and read', () => {
  it('round-trips entries; seq is dense from 0 and inside the bytes; leaf = leafHash(bytes)', async () => {
    const s = await store();
    expect(s.size()).toBe(0);
    for (let i = 0; i < 10; i++) {
      const a = s.append(deny(i));
      expect(a.seq).toBe(i);
      expect(toHex(a.leaf)).toBe(toHex(leafHash(a.bytes)));
      expect(decodeEntry(a.bytes)).toEqual({ ...deny(i), seq: i });
    }
    expect(s.size()).toBe(10);
    const e4 = s.entry(4);
    expect(e4 && decodeEntry(e4.bytes)).toEqual({ ...deny(4), seq: 4 });
    expect(s.entry(10)).toBeUndefined();
    expect(s.entries(8, 5).map((e) => e.seq)).toEqual([8, 9]);
    expect(s.entries(0, 3).map((e) => e.seq)).toEqual([0, 1, 2]);
  });

  it('iterates in batches, from/to, and ignores appends made while iterating', async () => {
    const s = await store();
    for (let i = 0; i < 10; i++) s.append(deny(i));
    const seen: number[] = [];
    for (const e of s.iterate({ batch: 3 })) {
      seen.push(e.seq);
      if (e.seq === 4) s.append(deny(99)); // the bound was taken when iteration began
      expect(e.bytes).toBeInstanceOf(Uint8Array);
      expect(Buffer.isBuffer(e.bytes)).toBe(false);
    }
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect([...s.iterate({ from: 7, to: 9, batch: 1 })].map((e) => e.seq)).toEqual([7, 8]);
    expect([...s.iterate({ from: 11 })]).toEqual([]);
    expect(s.size()).toBe(11);
  });

  it('keeps everything across close and reopen, read-only too', async () => {
    const s = await store();
    const leaves = [0, 1, 2].map((i) => toHex(s.append(deny(i)).leaf));
    s.close();
    s.close(); // idempotent
    const r = await store({ readonly: true });
    expect([...r.iterate()].map((e) => toHex(e.leaf))).toEqual(leaves);
    const w = await store();
    expect(w.append(deny(3)).seq).toBe(3);
  });

  it('two connections appending in turn share one sequence', async () => {
    const a = await store();
    const b = await store();
    const seqs = [];
    for (let i = 0; i < 20; i++) seqs.push((i % 3 === 0 ? a : b).append(deny(i)).seq);
    expect(seqs).toEqual([...Array(20).keys()]);
    expect(b.entry(19)?.seq).toBe(19);
  });

  it('a malformed entry is a TypeError and writes nothing; the store stays usable', async () => {
    const s = await store();
    s.append(deny(0));
    expect(() => s.append({ time: T0, verdict: 'deny', reason: 'no code' })).toThrow(TypeError);
    expect(() => s.append({ ...deny(1), parent: 5 })).toThrow(TypeError); // a parent must precede
    expect(s.size()).toBe(1);
    expect(s.append({ ...deny(1), parent: 0 }).seq).toBe(1);
  });
});

describe('files', () => {
  it('makes the state directory 0700 and audit.db (and its WAL files) 0600', async () => {
    const s = await store();
    s.append(deny(0));
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    for (const f of [AUDIT_DB_FILE, `${AUDIT_DB_FILE}-wal`, `${AUDIT_DB_FILE}-shm`])
      expect((await stat(join(dir, f))).mode & 0o777, f).toBe(0o600);
  });

  it('keeps an existing directory as it is (mode checked, not changed)', async () => {
    await mkdir(dir, { mode: 0o750 });
    await chmod(dir, 0o750);
    await store();
    expect((await stat(dir)).mode & 0o777).toBe(0o750);
  });

  it('uses WAL and synchronous=FULL', async () => {
    (await store()).close();
    const db = openDatabase(join(dir, AUDIT_DB_FILE), { readonly: true });
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      db.close();
    }
  });

  it('read-only: a missing log is refused and nothing is created', async () => {
    expect(await refused(store({ readonly: true }))).toMatch(/no audit log|directory/);
    await expect(lstat(dir)).rejects.toThrow(/ENOENT/);
    await mkdir(dir, { mode: 0o700 });
    expect(await refused(store({ readonly: true }))).toMatch(/no audit log at .*audit\.db/);
    await expect(lstat(join(dir, AUDIT_DB_FILE))).rejects.toThrow(/ENOENT/);
  });

  it('read-only: appending is refused (E_AUDIT_STORE)', async () => {
    (await store()).append(deny(0));
    const r = await store({ readonly: true });
    expect(() => r.append(deny(1))).toThrow(AuditError);
    expect(r.size()).toBe(1);
  });

  it('refuses a state directory that is a symbolic link, or writable by others', async () => {
    await mkdir(join(root, 'real'), { mode: 0o700 });
    await symlink(join(root, 'real'), dir);
    expect(await refused(store())).toMatch(/symbolic link/);
    expect(await refused(store({ readonly: true }))).toMatch(/symbolic link/);
    await rm(dir);
    await mkdir(dir);
    await chmod(dir, 0o777);
    expect(await refused(store())).toMatch(/writable by others/);
  });

  it('refuses a state directory another user owns', async () => {
    await mkdir(dir, { mode: 0o700 });
    await chown(dir, NOBODY, NOBODY);
    expect(await refused(store())).toMatch(/owned by another user/);
  });

  it('refuses audit.db as a symbolic link, a directory, writable by others, or owned by another user', async () => {
    await mkdir(dir, { mode: 0o700 });
    const db = join(dir, AUDIT_DB_FILE);
    await writeFile(join(root, 'elsewhere.db'), '');
    await symlink(join(root, 'elsewhere.db'), db);
    expect(await refused(store())).toMatch(/symbolic link/);
    await rm(db);
    await mkdir(db);
    expect(await refused(store())).toMatch(/not a regular file/);
    await rm(db, { recursive: true });
    (await store()).close();
    await chmod(db, 0o666);
    expect(await refused(store())).toMatch(/writable by others \(mode 666\)/);
    await chmod(db, 0o600);
    await chown(db, NOBODY, NOBODY);
    expect(await refused(store({ readonly: true }))).toMatch(/owned by another user/);
  });

  it('refuses a file that is not SQLite, and a SQLite database that is not an audit log', async () => {
    await mkdir(dir, { mode: 0o700 });
    const db = join(dir, AUDIT_DB_FILE);
    await writeFile(db, 'this is not a database, just some text that is long enough '.repeat(20), {
      mode: 0o600,
    });
    expect(await refused(store())).toMatch(/not a (SQLite )?database|file is not a database/);
    await rm(db);
    const other = openDatabase(db, {});
    other.exec('CREATE TABLE notes (x TEXT)');
    other.close();
    await chmod(db, 0o600);
    expect(await refused(store())).toMatch(/not an execgate audit database \(tables notes/);
  });
});

describe('migrations', () => {
  it('an empty audit.db (a crash right after it was created) is brought to the current version', async () => {
    await mkdir(dir, { mode: 0o700 });
    await writeFile(join(dir, AUDIT_DB_FILE), '', { mode: 0o600 });
    expect(await refused(store({ readonly: true }))).toMatch(/holds no audit log yet/);
    const s = await store();
    expect(s.append(deny(0)).seq).toBe(0);
  });

  it('an older schema is upgraded with its data, once', async () => {
    (await store()).append(deny(0));
    for (const s of open.splice(0)) s.close();
    const db = openDatabase(join(dir, AUDIT_DB_FILE), {});
    try {
      expect(schemaVersion(db)).toBe(SCHEMA_VERSION);
      const next = [...MIGRATIONS, 'CREATE TABLE later (x INTEGER) STRICT; INSERT INTO later VALUES (7);'];
      expect(migrate(db, next)).toEqual({ from: SCHEMA_VERSION, to: SCHEMA_VERSION + 1 });
      expect(migrate(db, next)).toEqual({ from: SCHEMA_VERSION + 1, to: SCHEMA_VERSION + 1 });
      expect(db.prepare('SELECT count(*) FROM later').pluck().get()).toBe(1);
      expect(db.prepare('SELECT count(*) FROM entries').pluck().get()).toBe(1);
      // A step that fails leaves the version and the tables as they were.
      const broken = [...next, 'CREATE TABLE half (x INTEGER); SELECT no_such_function();'];
      expect(() => migrate(db, broken)).toThrow();
      expect(schemaVersion(db)).toBe(SCHEMA_VERSION + 1);
      expect(db.prepare("SELECT count(*) FROM sqlite_schema WHERE name = 'half'").pluck().get()).toBe(0);
    } finally {
      db.close();
    }
  });

  it('step 2: a version-1 log with a checkpoint gains checkpoints.frontier (NULL for the old one)', async () => {
    await mkdir(dir, { mode: 0o700 });
    await writeFile(join(dir, AUDIT_DB_FILE), '', { mode: 0o600 });
    const db = openDatabase(join(dir, AUDIT_DB_FILE), {});
    try {
      expect(migrate(db, MIGRATIONS.slice(0, 1))).toEqual({ from: 0, to: 1 });
      db.prepare(
        "INSERT INTO checkpoints (size, counter, body, quote, certificate, made) VALUES (0, 1, 'b', x'00', x'00', 5)",
      ).run();
    } finally {
      db.close();
    }
    const s = await store();
    expect(s.latestCheckpoint()).toMatchObject({ size: 0, counter: 1 });
    expect(s.latestCheckpoint()?.frontier).toBeUndefined();
    s.append(deny(0));
    const frontier = new Uint8Array(32).fill(9);
    s.addCheckpoint({
      size: 1,
      counter: 2,
      body: 'c',
      quote: new Uint8Array(1),
      certificate: new Uint8Array(1),
      frontier,
    });
    expect(s.latestCheckpoint()?.frontier).toEqual(frontier);
    expect(() =>
      s.addCheckpoint({
        size: 1,
        counter: 3,
        body: 'c',
        quote: new Uint8Array(1),
        certificate: new Uint8Array(1),
        frontier: frontier.subarray(1),
      }),
    ).toThrow(TypeError);
  });

  it('appendBatch: all entries in one transaction, dense seqs; a malformed one stores none', async () => {
    const s = await store();
    expect(s.appendBatch([deny(0), deny(1), deny(2)]).map((a) => a.seq)).toEqual([0, 1, 2]);
    expect(() => s.appendBatch([deny(3), { ...deny(4), verdict: 'maybe' } as never])).toThrow(TypeError);
    expect(s.size()).toBe(3);
    expect(s.appendBatch([])).toEqual([]);
  });

  it('a version-0 database is migrated from scratch by every step', async () => {
    await mkdir(dir, { mode: 0o700 });
    const db = openDatabase(join(dir, AUDIT_DB_FILE), {});
    try {
      expect(migrate(db)).toEqual({ from: 0, to: SCHEMA_VERSION });
      expect(schemaVersion(db)).toBe(SCHEMA_VERSION);
    } finally {
      db.close();
    }
  });

  it('a newer schema is refused, for writing and reading', async () => {
    (await store()).append(deny(0));
    for (const s of open.splice(0)) s.close();
    const db = openDatabase(join(dir, AUDIT_DB_FILE), {});
    db.prepare('UPDATE schema_version SET version = ?').run(SCHEMA_VERSION + 1);
    db.close();
    const newer = new RegExp(
      `schema version ${SCHEMA_VERSION + 1}, newer than this execgate's ${SCHEMA_VERSION}`,
    );
    expect(await refused(store())).toMatch(newer);
    expect(await refused(store({ readonly: true }))).toMatch(newer);
  });

  it('a malformed schema_version is refused', async () => {
    (await store()).close();
    open.splice(0);
    const db = openDatabase(join(dir, AUDIT_DB_FILE), {});
    db.exec('INSERT INTO schema_version VALUES (5)');
    db.close();
    expect(await refused(store())).toMatch(/schema_version is malformed/);
  });
});

describe('use counting (replay) and verdict in one transaction', () => {
  const cti = (n: number) => new Uint8Array(16).fill(n);
  const request = (c: Uint8Array, uses: number, time = T0, exp = T0 / 1000 + 3600): VerdictRequest => ({
    consume: { cti: c, uses, exp },
    allow: { time, verdict: 'allow', reason: 'OK', cti: c },
    deny: { time, verdict: 'deny', reason: 'E_REPLAY', cti: c },
  });

  it.each([1, 2, 3, 7])('uses = %i allows exactly that many, then records denials', async (uses) => {
    const s = await store();
    const results = Array.from({ length: uses + 3 }, () => s.appendVerdict(request(cti(1), uses)));
    expect(results.map((r) => r.consumed)).toEqual([...Array(uses).fill(true), false, false, false]);
    expect(results.map((r) => r.used)).toEqual([
      ...Array.from({ length: uses }, (_, i) => i + 1),
      uses,
      uses,
      uses,
    ]);
    expect(results.every((r) => r.allowed === uses)).toBe(true);
    expect(results.map((r) => decodeVerdict(r.bytes).verdict)).toEqual([
      ...Array(uses).fill('allow'),
      'deny',
      'deny',
      'deny',
    ]);
    expect(results.map((r) => r.seq)).toEqual([...Array(uses + 3).keys()]);
    expect(s.uses(cti(1))).toEqual({ used: uses, allowed: uses, exp: T0 / 1000 + 3600 });
  });

  it('each cti has its own counter, kept across reopening', async () => {
    const s = await store();
    expect(s.appendVerdict(request(cti(1), 1)).consumed).toBe(true);
    expect(s.appendVerdict(request(cti(2), 1)).consumed).toBe(true);
    s.close();
    const t = await store();
    expect(t.appendVerdict(request(cti(1), 1)).consumed).toBe(false);
    expect(t.appendVerdict(request(cti(3), 1)).consumed).toBe(true);
    expect(t.uses(cti(4))).toBeUndefined();
  });

  it('the first allowed count sticks (a second request naming more uses gets no more)', async () => {
    const s = await store();
    s.appendVerdict(request(cti(1), 1));
    const r = s.appendVerdict(request(cti(1), 5));
    expect([r.consumed, r.used, r.allowed]).toEqual([false, 1, 1]);
  });

  it('prunes counters only once their exp is USES_GRACE_SECONDS behind the entry time', async () => {
    const s = await store();
    const exp = T0 / 1000 + 10;
    s.appendVerdict(request(cti(1), 1, T0, exp));
    // Within the grace: kept, and still spent.
    const within = T0 + (10 + USES_GRACE_SECONDS) * 1000;
    expect(s.appendVerdict(request(cti(1), 1, within, exp)).consumed).toBe(false);
    s.appendVerdict(request(cti(2), 1, within + 1000, within / 1000 + 3600));
    expect(s.uses(cti(1))).toBeUndefined();
    expect(s.uses(cti(2))).toBeDefined();
  });

  it('refuses a malformed request before touching the log', async () => {
    const s = await store();
    const r = request(cti(1), 1);
    expect(() => s.appendVerdict({ ...r, deny: { ...r.deny, verdict: 'allow', reason: 'OK' } })).toThrow(
      TypeError,
    );
    expect(() => s.appendVerdict({ ...r, consume: { ...r.consume, uses: 0 } })).toThrow(RangeError);
    expect(() => s.appendVerdict({ ...r, consume: { ...r.consume, cti: new Uint8Array(0) } })).toThrow(
      TypeError,
    );
    expect(() => s.appendVerdict({ ...r, consume: { ...r.consume, exp: -1 } })).toThrow(RangeError);
    // A malformed entry throws inside the transaction: the use it counted is rolled back with it.
    expect(() => s.appendVerdict({ ...r, allow: { ...r.allow, reason: 'E_X' } })).toThrow(TypeError);
    expect(s.size()).toBe(0);
    expect(s.uses(cti(1))).toBeUndefined();
    expect(s.appendVerdict(r).consumed).toBe(true);
  });
});

describe('checkpoints', () => {
  const body = (size: number) => `execgate/0011223344556677\n${size}\nAAAA\n`;

  it('stores them and lists them by size; the latest is the largest', async () => {
    const s = await store();
    for (let i = 0; i < 5; i++) s.append(deny(i));
    expect(s.latestCheckpoint()).toBeUndefined();
    s.addCheckpoint({
      size: 2,
      counter: 10,
      body: body(2),
      quote: Uint8Array.of(1, 2),
      certificate: Uint8Array.of(7),
      made: T0,
    });
    s.addCheckpoint({
      size: 5,
      counter: 12,
      body: body(5),
      quote: Uint8Array.of(3),
      certificate: Uint8Array.of(8, 9),
      made: T0 + 1,
    });
    expect(s.checkpoints()).toEqual([
      {
        size: 2,
        counter: 10,
        body: body(2),
        quote: Uint8Array.of(1, 2),
        certificate: Uint8Array.of(7),
        made: T0,
      },
      {
        size: 5,
        counter: 12,
        body: body(5),
        quote: Uint8Array.of(3),
        certificate: Uint8Array.of(8, 9),
        made: T0 + 1,
      },
    ]);
    expect(s.latestCheckpoint()?.size).toBe(5);
    s.close();
    expect((await store({ readonly: true })).latestCheckpoint()?.counter).toBe(12);
  });

  it('refuses one out of order (E_AUDIT_CHECKPOINT), or beyond the log', async () => {
    const s = await store();
    for (let i = 0; i < 5; i++) s.append(deny(i));
    s.addCheckpoint({
      size: 3,
      counter: 10,
      body: body(3),
      quote: Uint8Array.of(1),
      certificate: Uint8Array.of(2),
    });
    const add = (size: number, counter: number) => () =>
      s.addCheckpoint({
        size,
        counter,
        body: body(size),
        quote: Uint8Array.of(1),
        certificate: Uint8Array.of(2),
      });
    for (const [size, counter] of [
      [3, 11], // same size
      [2, 11], // smaller size
      [4, 10], // same counter
      [4, 9], // counter went back
      [6, 11], // more entries than the log has
    ] as const) {
      const e = (() => {
        try {
          add(size, counter)();
        } catch (err) {
          return err;
        }
        return undefined;
      })();
      expect(e, `${size}/${counter}`).toBeInstanceOf(AuditError);
      expect((e as AuditError).code).toBe('E_AUDIT_CHECKPOINT');
    }
    expect(s.checkpoints()).toHaveLength(1);
    add(5, 11)();
    expect(s.checkpoints().map((c) => c.size)).toEqual([3, 5]);
  });

  it('refuses malformed arguments (caller misuse)', async () => {
    const s = await store();
    const base = { size: 0, counter: 1, body: 'x', quote: new Uint8Array(), certificate: new Uint8Array() };
    expect(() => s.addCheckpoint({ ...base, size: -1 })).toThrow(RangeError);
    expect(() => s.addCheckpoint({ ...base, counter: 1.5 })).toThrow(RangeError);
    expect(() => s.addCheckpoint({ ...base, body: '' })).toThrow(TypeError);
    const noCert = { size: 0, counter: 1, body: 'x', quote: new Uint8Array() } as unknown as NewCheckpoint;
    expect(() => s.addCheckpoint(noCert)).toThrow(TypeError);
  });
});

describe('locking', () => {
  it('waits for the busy timeout, then E_AUDIT_STORE; the lock released, appends go on', async () => {
    const s = await store({ busyTimeoutMs: 150 });
    s.append(deny(0));
    const holder = openDatabase(join(dir, AUDIT_DB_FILE), { timeout: 0 });
    try {
      holder.exec('BEGIN IMMEDIATE');
      const started = Date.now();
      let err: unknown;
      try {
        s.append(deny(1));
      } catch (e) {
        err = e;
      }
      expect(Date.now() - started).toBeGreaterThanOrEqual(100);
      expect(err).toBeInstanceOf(AuditError);
      expect((err as AuditError).code).toBe('E_AUDIT_STORE');
      expect((err as AuditError).message).toMatch(/busy timeout/);
      holder.exec('ROLLBACK');
    } finally {
      holder.close();
    }
    expect(s.append(deny(1)).seq).toBe(1);
  });
});

describe('withWriteLock', () => {
  it('commits what fn wrote when it resolves, rolls it back when it throws; others wait meanwhile', async () => {
    const s = await store();
    const other = await store({ busyTimeoutMs: 50 });
    const r = await s.withWriteLock(async () => {
      s.append(deny(0));
      await new Promise((ok) => setTimeout(ok, 5));
      // Another connection cannot write while the lock is held.
      expect(await refused(Promise.resolve().then(() => other.append(deny(9))))).toMatch(/append/);
      s.addCheckpoint({
        size: 1,
        counter: 1,
        body: 'b',
        quote: Uint8Array.of(1),
        certificate: Uint8Array.of(2),
      });
      return 'done';
    });
    expect(r).toBe('done');
    expect([s.size(), other.size(), other.checkpoints().length]).toEqual([1, 1, 1]);
    await expect(
      s.withWriteLock(async () => {
        s.append(deny(1));
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(other.size()).toBe(1);
    other.append(deny(1));
    expect(s.size()).toBe(2);
  });
});
