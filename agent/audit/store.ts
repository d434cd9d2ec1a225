// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/audit/store
 *
 * The audit log's storage (issue 13, DESIGN §7): one SQLite database, STATE_DIR/audit.db, through
 * better-sqlite3. SQLite is the crash-safety layer: WAL, synchronous=FULL (each commit is on disk before
 * it returns), and one `BEGIN IMMEDIATE` transaction per append, so an append that returned survives a
 * crash or SIGKILL and one that did not leaves nothing. Several processes append at once (several
 * `execgate exec`): SQLite's write lock serialises them, each waits up to BUSY_TIMEOUT_MS, and each
 * takes the next sequence number inside its transaction, so sequence numbers are dense and unique.
 *
 * The API is synchronous, as better-sqlite3's is: an append is one short transaction, and the gate has
 * nothing else to do while it commits.
 *
 * Replay and verdict in one transaction (issue 14): `appendVerdict({ consume, allow, deny })` counts one
 * use of the artifact's cti and records `allow` when a use was left, else records `deny` (prepared by
 * the gate with reason E_REPLAY), in the same transaction. The gate decides every other field; the
 * store only picks which of the two entries the counter allows. Both entries are data, not a callback,
 * so no caller code runs while the write lock is held.
 *
 * Files: the state directory is made 0700 when missing, and refused (E_AUDIT_STORE) when it is a
 * symbolic link or someone other than root or us owns it or may write to it (fs/atomic-write.ts
 * checkDir), as is each directory above it; audit.db is created 0600 (its -wal and -shm files get the
 * same mode from SQLite) and refused when it is a link, not a regular file, owned by another user or
 * writable by others.
 *
 * Not done here: the Merkle tree and its checks (the tree is recomputed from the entries on verify and
 * never stored), checkpoints' quotes and bodies (the store keeps them as given), and order between the
 * checkpoint's NV counter increment and its insertion (the caller's).
 */
import { constants as fsConstants } from 'node:fs';
import { lstat, open } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { u8 } from '../encoding/bytes.js';
import { errnoOf } from '../errors.js';
import { checkDir, ensureDir, FileWriteError } from '../fs/atomic-write.js';
import { type AnyEntryInput, type EntryInput, encodeEntry, leafHash } from './entry.js';
import { AuditError } from './errors.js';
import { checkNotNewer, MIGRATIONS, migrate, SCHEMA_VERSION, schemaVersion } from './migrations.js';
import { type Database, openDatabase, type Statement, sqliteCode, type Transaction } from './sqlite.js';

/** The database's name in the state directory. */
export const AUDIT_DB_FILE = 'audit.db';

/** How long an append waits for another process's write transaction before E_AUDIT_STORE. */
export const BUSY_TIMEOUT_MS = 10_000;

/**
 * How long a uses row is kept after its artifact's exp: pruning it any earlier could let an artifact
 * still inside the gate's clock-skew allowance run again. A day is far above any sane skew; a clock set
 * back by more than that could revive an expired artifact's uses (and its validity window with it).
 */
export const USES_GRACE_SECONDS = 86_400;

/** Entries read per query by `iterate`: a batch costs one query, not one per row. */
const ITERATE_BATCH = 4096;

/** One stored entry: its position, its CBOR bytes and its stored leaf hash. */
export interface StoredEntry {
  readonly seq: number;
  readonly bytes: Uint8Array;
  readonly leaf: Uint8Array;
}

/** What an append recorded: the entry's sequence number, bytes and leaf hash. */
export type Appended = StoredEntry;

/** One use of an artifact to count (its claims, as verified). */
export interface ConsumeRequest {
  /** The key uses are counted under, 1 to 64 bytes (the gate's: SHA-256 of the signer's kid and the cti). */
  readonly cti: Uint8Array;
  /** How many executions it allows in all (scope.uses, default 1). */
  readonly uses: number;
  /** Its exp, seconds since the epoch: the counter is kept until then plus USES_GRACE_SECONDS. */
  readonly exp: number;
}

/** appendVerdict's request: the use to count, and the entry to record whether a use was left or not. */
export interface VerdictRequest {
  readonly consume: ConsumeRequest;
  /** Recorded when a use was left (and is now spent). */
  readonly allow: EntryInput;
  /** Recorded when none was left: the gate's E_REPLAY denial ("deny" or "would-deny", never "allow"). */
  readonly deny: EntryInput;
}

/** What appendVerdict did. */
export interface VerdictAppended extends Appended {
  /** true: a use was counted and `allow` recorded; false: none was left and `deny` recorded. */
  readonly consumed: boolean;
  /** Uses of the cti spent after this transaction, and how many it allows. */
  readonly used: number;
  readonly allowed: number;
}

/** A replay counter as stored. */
export interface UsesRow {
  readonly used: number;
  readonly allowed: number;
  readonly exp: number;
}

/** A checkpoint to store. */
export interface NewCheckpoint {
  /** The tree size it covers: entries 0 … size − 1. */
  readonly size: number;
  /** The NV counter value its body carries (a safe integer: counters start low and move one at a time). */
  readonly counter: number;
  /** The C2SP tlog-checkpoint note text. */
  readonly body: string;
  /** The TPM quote anchoring it (its encoding is the checkpoint layer's). */
  readonly quote: Uint8Array;
  /** The AK's certificate of the NV counter at counter − 1 over SHA-256 of the body (checkpoint layer's encoding). */
  readonly certificate: Uint8Array;
  /** When it was made, ms since the epoch (default now). */
  readonly made?: number;
  /**
   * The tree's frontier at `size` (tree.ts `LogVerifier.frontier()`): the next checkpoint resumes from
   * it. Not trusted: it is used only after it folds to this checkpoint's verified root.
   */
  readonly frontier?: Uint8Array;
}

/** A stored checkpoint (`frontier` absent for one stored without it). */
export type Checkpoint = Required<Omit<NewCheckpoint, 'frontier'>> & { readonly frontier?: Uint8Array };

/** Options of AuditStore.open. */
export interface OpenOptions {
  /**
   * Open an existing log for reading only (show, verify, export, prove): nothing is created, and the
   * directory is checked, not made. Default false.
   */
  readonly readonly?: boolean;
  /** How long to wait for another process's write lock, in ms (default BUSY_TIMEOUT_MS). */
  readonly busyTimeoutMs?: number;
}

const euid = (): number => (typeof process.geteuid === 'function' ? process.geteuid() : 0);

/** Why a SQLite failure happened, in words an operator can act on. */
const SQLITE_HINTS: Readonly<Record<string, string>> = {
  SQLITE_BUSY: 'another process held the audit database for longer than the busy timeout',
  SQLITE_READONLY: 'the database or its directory is read-only',
  SQLITE_FULL: 'the disk is full',
  SQLITE_CORRUPT: 'the database file is damaged',
  SQLITE_NOTADB: 'the file is not a SQLite database',
  SQLITE_CANTOPEN: 'the file cannot be opened',
};

/** `e` as E_AUDIT_STORE (with `e` as cause), unless it is already typed or a programming error. */
function storeError(file: string, what: string, e: unknown): Error {
  if (e instanceof AuditError || e instanceof TypeError || e instanceof RangeError) return e;
  const code = sqliteCode(e) ?? errnoOf(e);
  // An extended code (SQLITE_BUSY_SNAPSHOT) takes its primary code's hint.
  const base = code?.replace(/_[A-Z]+$/, '') ?? '';
  const hint = SQLITE_HINTS[code ?? ''] ?? SQLITE_HINTS[base];
  const message = e instanceof Error ? e.message : String(e);
  return new AuditError(
    'E_AUDIT_STORE',
    `audit store ${file}: ${what}: ${message}${hint ? ` (${hint})` : ''}`,
    {
      cause: e,
    },
  );
}

/**
 * Makes `file` 0600 when missing (unless `readonly`), and refuses one that another user could have put
 * there or may change (see the module comment).
 */
async function prepareFile(file: string, readonly: boolean): Promise<void> {
  for (;;) {
    let st: Awaited<ReturnType<typeof lstat>>;
    try {
      st = await lstat(file);
    } catch (e) {
      if (errnoOf(e) !== 'ENOENT') throw storeError(file, 'cannot inspect the database file', e);
      if (readonly)
        throw new AuditError(
          'E_AUDIT_STORE',
          `no audit log at ${file}: nothing has been recorded on this host yet`,
        );
      try {
        const flags =
          fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW;
        const fh = await open(file, flags, 0o600);
        try {
          await fh.chmod(0o600); // the umask may have narrowed the mode; make it exact
        } finally {
          await fh.close();
        }
      } catch (err) {
        // Another process made it meanwhile: check theirs.
        if (errnoOf(err) === 'EEXIST') continue;
        throw storeError(file, 'cannot create the database file', err);
      }
      return;
    }
    if (st.isSymbolicLink())
      throw new AuditError(
        'E_AUDIT_STORE',
        `${file} is a symbolic link; the audit database must be a regular file`,
      );
    if (!st.isFile()) throw new AuditError('E_AUDIT_STORE', `${file} is not a regular file`);
    if (st.uid !== 0 && st.uid !== euid())
      throw new AuditError('E_AUDIT_STORE', `${file} is owned by another user (uid ${st.uid})`);
    if ((st.mode & 0o022) !== 0)
      throw new AuditError(
        'E_AUDIT_STORE',
        `${file} is writable by others (mode ${(st.mode & 0o777).toString(8)}): chmod 600 it`,
      );
    return;
  }
}

interface EntryRow {
  readonly seq: number;
  readonly bytes: unknown;
  readonly leaf: unknown;
}

interface CheckpointRow {
  readonly size: number;
  readonly counter: number;
  readonly body: string;
  readonly quote: Uint8Array;
  readonly certificate: Uint8Array;
  readonly made: number;
  readonly frontier: Uint8Array | null;
}

/** A row as a StoredEntry; a row whose columns are not BLOBs (a table rebuilt by hand) is E_AUDIT_ENTRY. */
function storedEntry(row: EntryRow): StoredEntry {
  if (!(row.bytes instanceof Uint8Array) || !(row.leaf instanceof Uint8Array))
    throw new AuditError('E_AUDIT_ENTRY', `audit entry ${row.seq}: bytes and leaf must be BLOBs`);
  return { seq: row.seq, bytes: u8(row.bytes), leaf: u8(row.leaf) };
}

function checkpointOf({ frontier, ...row }: CheckpointRow): Checkpoint {
  return {
    ...row,
    quote: u8(row.quote),
    certificate: u8(row.certificate),
    ...(frontier === null ? {} : { frontier: u8(frontier) }),
  };
}

function assertSafeInteger(v: unknown, name: string, min = 0): asserts v is number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min)
    throw new RangeError(`${name} must be an integer ≥ ${min}, got ${String(v)}`);
}

function assertBytes(v: unknown, name: string, min: number, max: number): asserts v is Uint8Array {
  if (!(v instanceof Uint8Array) || v.length < min || v.length > max)
    throw new TypeError(`${name} must be a Uint8Array of ${min} to ${max} bytes`);
}

/** The SQL of every statement, prepared once per connection on first use. */
const SQL = {
  nextSeq: 'SELECT coalesce(max(seq) + 1, 0) FROM entries',
  insertEntry: 'INSERT INTO entries (seq, bytes, leaf) VALUES (?, ?, ?)',
  entry: 'SELECT seq, bytes, leaf FROM entries WHERE seq = ?',
  range: 'SELECT seq, bytes, leaf FROM entries WHERE seq >= ? AND seq < ? ORDER BY seq LIMIT ?',
  uses: 'SELECT used, allowed, exp FROM uses WHERE cti = ?',
  insertUse: 'INSERT INTO uses (cti, used, allowed, exp) VALUES (?, 1, ?, ?)',
  spendUse: 'UPDATE uses SET used = used + 1 WHERE cti = ? AND used < allowed',
  prune: 'DELETE FROM uses WHERE exp < ?',
  insertCheckpoint:
    'INSERT INTO checkpoints (size, counter, body, quote, certificate, made, frontier) VALUES (?, ?, ?, ?, ?, ?, ?)',
  checkpoints:
    'SELECT size, counter, body, quote, certificate, made, frontier FROM checkpoints ORDER BY size',
  latestCheckpoint:
    'SELECT size, counter, body, quote, certificate, made, frontier FROM checkpoints ORDER BY size DESC LIMIT 1',
} as const;

/** The audit log's SQLite store; see the module comment. */
export class AuditStore {
  /** The state directory (absolute). */
  readonly stateDir: string;
  /** The database file (absolute). */
  readonly file: string;
  readonly #db: Database;
  readonly #statements = new Map<string, Statement>();
  // Made once: each is a BEGIN IMMEDIATE … COMMIT around its function (ROLLBACK when it throws).
  readonly #appendTx: Transaction<[readonly AnyEntryInput[]], Appended[]>;
  readonly #verdictTx: Transaction<[VerdictRequest, number], VerdictAppended>;
  readonly #checkpointTx: Transaction<[Checkpoint], Checkpoint>;

  private constructor(stateDir: string, file: string, db: Database) {
    this.stateDir = stateDir;
    this.file = file;
    this.#db = db;
    this.#appendTx = db.transaction((entries: readonly AnyEntryInput[]) =>
      entries.map((e) => this.#insert(e)),
    );
    this.#verdictTx = db.transaction((req: VerdictRequest, cutoff: number) => this.#verdict(req, cutoff));
    this.#checkpointTx = db.transaction((c: Checkpoint) => this.#checkpoint(c));
  }

  /**
   * Opens (creating, unless `readonly`) the audit log of `stateDir`; see the module comment for the
   * checks. A writable open brings an older schema up to date; a newer schema is refused, and so is,
   * read-only, an older one (upgrading it needs a write). Throws AuditError E_AUDIT_STORE.
   */
  static async open(stateDir: string, opts: OpenOptions = {}): Promise<AuditStore> {
    const readonly = opts.readonly === true;
    const timeout = opts.busyTimeoutMs ?? BUSY_TIMEOUT_MS;
    assertSafeInteger(timeout, 'busyTimeoutMs');
    const dir = resolve(stateDir);
    const file = join(dir, AUDIT_DB_FILE);
    try {
      if (readonly) await checkDir(dir);
      else await ensureDir(dir, { mode: 0o700 });
    } catch (e) {
      if (e instanceof FileWriteError)
        throw new AuditError('E_AUDIT_STORE', `audit state directory: ${e.message}`, { cause: e });
      throw e;
    }
    await prepareFile(file, readonly);
    let db: Database;
    try {
      db = openDatabase(file, { readonly, fileMustExist: true, timeout });
    } catch (e) {
      throw storeError(file, 'cannot open', e);
    }
    try {
      if (readonly) {
        const version = schemaVersion(db);
        checkNotNewer(db, version, MIGRATIONS);
        if (version === 0) throw new AuditError('E_AUDIT_STORE', `${file} holds no audit log yet`);
        if (version < SCHEMA_VERSION)
          throw new AuditError(
            'E_AUDIT_STORE',
            `${file} has audit schema version ${version}; open it for writing once (any command that appends, or \`execgate audit checkpoint\`) to upgrade it to ${SCHEMA_VERSION}`,
          );
      } else {
        // journal_mode is stored in the file: set once, every later connection is in WAL too.
        const mode = db.pragma('journal_mode = WAL', { simple: true });
        if (mode !== 'wal')
          throw new AuditError('E_AUDIT_STORE', `${file}: cannot use WAL (journal_mode ${String(mode)})`);
        // Per connection: fsync the WAL at every commit, so a returned append survives a power loss too.
        db.pragma('synchronous = FULL');
        db.pragma('foreign_keys = ON');
        // Only an out-of-date database takes the write lock to migrate (migrate checks again under it).
        const version = schemaVersion(db);
        checkNotNewer(db, version, MIGRATIONS);
        if (version < SCHEMA_VERSION) migrate(db);
      }
    } catch (e) {
      db.close();
      throw storeError(file, 'cannot open', e);
    }
    return new AuditStore(dir, file, db);
  }

  #stmt<R>(key: keyof typeof SQL): Statement<R> {
    let s = this.#statements.get(key);
    if (s === undefined) {
      s = this.#db.prepare(SQL[key]);
      this.#statements.set(key, s);
    }
    return s as Statement<R>;
  }

  #guard<T>(what: string, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      throw storeError(this.file, what, e);
    }
  }

  /** Inserts `entry` at the next sequence number; inside a transaction. */
  #insert(entry: AnyEntryInput): Appended {
    const seq = this.#stmt<number>('nextSeq').pluck().get() ?? 0;
    const bytes = encodeEntry({ ...entry, seq });
    const leaf = leafHash(bytes);
    this.#stmt('insertEntry').run(seq, bytes, leaf);
    return { seq, bytes, leaf };
  }

  /** Counts a use and inserts allow or deny; inside a transaction. */
  #verdict({ consume, allow, deny }: VerdictRequest, cutoff: number): VerdictAppended {
    this.#stmt('prune').run(cutoff);
    const row = this.#stmt<UsesRow>('uses').get(consume.cti);
    if (row === undefined) {
      this.#stmt('insertUse').run(consume.cti, consume.uses, consume.exp);
      return { ...this.#insert(allow), consumed: true, used: 1, allowed: consume.uses };
    }
    if (row.used < row.allowed) {
      this.#stmt('spendUse').run(consume.cti);
      return { ...this.#insert(allow), consumed: true, used: row.used + 1, allowed: row.allowed };
    }
    return { ...this.#insert(deny), consumed: false, used: row.used, allowed: row.allowed };
  }

  /** Checks a checkpoint's order against the log and the newest one, and inserts it; inside a transaction. */
  #checkpoint(c: Checkpoint): Checkpoint {
    const entries = this.#stmt<number>('nextSeq').pluck().get() ?? 0;
    if (c.size > entries)
      throw new AuditError(
        'E_AUDIT_CHECKPOINT',
        `a checkpoint of size ${c.size} covers more than the ${entries} entries of the log`,
      );
    const latest = this.#stmt<CheckpointRow>('latestCheckpoint').get();
    if (latest !== undefined && (c.size <= latest.size || c.counter <= latest.counter))
      throw new AuditError(
        'E_AUDIT_CHECKPOINT',
        `checkpoint (size ${c.size}, counter ${c.counter}) is not after the newest one (size ${latest.size}, counter ${latest.counter})`,
      );
    this.#stmt('insertCheckpoint').run(
      c.size,
      c.counter,
      c.body,
      c.quote,
      c.certificate,
      c.made,
      c.frontier ?? null,
    );
    return c;
  }

  /**
   * Appends `entry` at the next sequence number in one transaction; returns when it is durable. A
   * malformed entry is a TypeError (encodeEntry); SQLite failures are E_AUDIT_STORE.
   */
  append(entry: AnyEntryInput): Appended {
    return this.#guard('append', () => this.#appendTx.immediate([entry]))[0] as Appended;
  }

  /**
   * Appends `entries` at the next sequence numbers in one transaction (one fsync for all: a writer with
   * many entries at once, e.g. a replay of a spool); all or none are stored. As `append` otherwise.
   */
  appendBatch(entries: readonly AnyEntryInput[]): Appended[] {
    if (!Array.isArray(entries)) throw new TypeError('entries must be an array');
    return this.#guard('append', () => this.#appendTx.immediate(entries));
  }

  /**
   * Counts one use of `consume.cti` and appends `allow` if a use was left, else `deny`, in one
   * transaction (see the module comment). Also prunes counters expired more than USES_GRACE_SECONDS
   * before the entry's time. TypeError/RangeError for a malformed request.
   */
  appendVerdict(req: VerdictRequest): VerdictAppended {
    const { consume, allow, deny } = req;
    assertBytes(consume.cti, 'consume.cti', 1, 64);
    assertSafeInteger(consume.uses, 'consume.uses', 1);
    assertSafeInteger(consume.exp, 'consume.exp');
    assertSafeInteger(allow.time, 'allow.time');
    if (deny.verdict === 'allow') throw new TypeError('deny.verdict must be "deny" or "would-deny"');
    const cutoff = Math.floor(allow.time / 1000) - USES_GRACE_SECONDS;
    return this.#guard('append a verdict', () => this.#verdictTx.immediate(req, cutoff));
  }

  /** The replay counter of `cti`, or undefined when it has never been used (or was pruned). */
  uses(cti: Uint8Array): UsesRow | undefined {
    assertBytes(cti, 'cti', 1, 64);
    return this.#guard('read uses', () => this.#stmt<UsesRow>('uses').get(cti));
  }

  /** The next sequence number: the number of entries when the log is intact (verification checks it). */
  size(): number {
    return this.#guard('read the size', () => this.#stmt<number>('nextSeq').pluck().get() ?? 0);
  }

  /** The entry at `seq`, or undefined. */
  entry(seq: number): StoredEntry | undefined {
    assertSafeInteger(seq, 'seq');
    return this.#guard('read an entry', () => {
      const row = this.#stmt<EntryRow>('entry').get(seq);
      return row === undefined ? undefined : storedEntry(row);
    });
  }

  /** Up to `limit` entries from `from` on, in order (fewer at the end of the log). */
  entries(from: number, limit: number): StoredEntry[] {
    assertSafeInteger(from, 'from');
    assertSafeInteger(limit, 'limit');
    return this.#guard('read entries', () =>
      this.#stmt<EntryRow>('range').all(from, Number.MAX_SAFE_INTEGER, limit).map(storedEntry),
    );
  }

  /**
   * Every entry with from ≤ seq < to (default: the whole log as it is when iteration starts), in order,
   * read in batches of `batch` rows: memory stays bounded for any log size, and appends made meanwhile
   * do not change what is returned. Missing rows are skipped: verification finds the gap.
   */
  *iterate(
    opts: { from?: number; to?: number; batch?: number } = {},
  ): Generator<StoredEntry, void, undefined> {
    const batch = opts.batch ?? ITERATE_BATCH;
    assertSafeInteger(batch, 'batch', 1);
    let next = opts.from ?? 0;
    assertSafeInteger(next, 'from');
    const to = opts.to ?? this.size();
    assertSafeInteger(to, 'to');
    while (next < to) {
      const rows = this.#guard('read entries', () => this.#stmt<EntryRow>('range').all(next, to, batch));
      const last = rows.at(-1);
      if (last === undefined) return;
      for (const row of rows) yield storedEntry(row);
      next = last.seq + 1;
    }
  }

  /**
   * Stores a checkpoint. It must cover no more entries than the log holds, and both its size and its
   * counter must exceed the newest checkpoint's (E_AUDIT_CHECKPOINT otherwise: checked in the same
   * transaction as the insert, so concurrent checkpointers cannot store them out of order).
   */
  addCheckpoint(c: NewCheckpoint): Checkpoint {
    assertSafeInteger(c.size, 'size');
    assertSafeInteger(c.counter, 'counter');
    if (typeof c.body !== 'string' || c.body.length === 0) throw new TypeError('body must be non-empty text');
    if (!(c.quote instanceof Uint8Array)) throw new TypeError('quote must be a Uint8Array');
    if (!(c.certificate instanceof Uint8Array)) throw new TypeError('certificate must be a Uint8Array');
    if (c.frontier !== undefined && !(c.frontier instanceof Uint8Array && c.frontier.length % 32 === 0))
      throw new TypeError('frontier must be a Uint8Array of 32-byte nodes');
    const made = c.made ?? Date.now();
    assertSafeInteger(made, 'made');
    const checkpoint: Checkpoint = {
      size: c.size,
      counter: c.counter,
      body: c.body,
      quote: c.quote,
      certificate: c.certificate,
      made,
      ...(c.frontier === undefined ? {} : { frontier: c.frontier }),
    };
    return this.#guard('add a checkpoint', () => this.#checkpointTx.immediate(checkpoint));
  }

  /**
   * Runs `fn` holding the database's write lock (one `BEGIN IMMEDIATE` transaction, committed when `fn`
   * resolves, rolled back when it throws): other processes' appends and checkpoints wait (up to their
   * busy timeout) until it ends. For the checkpoint protocol (audit/log.ts `checkpointNow`), whose TPM
   * steps are asynchronous. Writes made through this store inside `fn` join the transaction (savepoints);
   * so would other async callers' writes on this connection meanwhile: do not share the store while
   * the lock is held. E_AUDIT_STORE when the lock cannot be taken or the commit fails.
   */
  async withWriteLock<T>(fn: () => Promise<T>): Promise<T> {
    const db = this.#db;
    if (db.inTransaction) throw new AuditError('E_AUDIT_STORE', 'the write lock is already held');
    this.#guard('take the write lock', () => db.exec('BEGIN IMMEDIATE'));
    let result: T;
    try {
      result = await fn();
    } catch (e) {
      if (db.inTransaction) this.#guard('roll back', () => db.exec('ROLLBACK'));
      throw e;
    }
    this.#guard('commit', () => db.exec('COMMIT'));
    return result;
  }

  /** Every checkpoint, by size. */
  checkpoints(): Checkpoint[] {
    return this.#guard('read checkpoints', () =>
      this.#stmt<CheckpointRow>('checkpoints').all().map(checkpointOf),
    );
  }

  /** The checkpoint of the largest size, or undefined. */
  latestCheckpoint(): Checkpoint | undefined {
    return this.#guard('read checkpoints', () => {
      const row = this.#stmt<CheckpointRow>('latestCheckpoint').get();
      return row === undefined ? undefined : checkpointOf(row);
    });
  }

  /** Closes the connection (idempotent). In WAL mode the last connection to close checkpoints the WAL. */
  close(): void {
    if (this.#db.open) this.#guard('close', () => this.#db.close());
  }
}
