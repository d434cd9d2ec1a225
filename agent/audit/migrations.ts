// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/audit/migrations
 *
 * The audit database's schema, as forward-only migrations: MIGRATIONS[i] takes a database from version i
 * to i + 1, and `schema_version` holds the version reached. A step is never edited once released (a
 * database made by it exists somewhere); a change is a new step. A database at a version above
 * MIGRATIONS.length was made by a newer execgate and is refused (E_AUDIT_STORE): this code cannot know
 * what the newer steps changed.
 */
import { AuditError } from './errors.js';
import type { Database } from './sqlite.js';

/**
 * The steps. Tables are STRICT (a value of the wrong type is an error, not silently stored).
 *
 * - entries: the log. `seq` is the leaf index; `bytes` the entry's CBOR (agent/audit/entry.ts), which
 *   carries `seq` too; `leaf` its RFC 9162 leaf hash, stored for fast proofs and recomputed on verify.
 * - checkpoints: one per tree size: the C2SP checkpoint note `body`, the TPM `quote` over its SHA-256,
 *   the NV `counter` value the body carries, the AK's `certificate` of that counter (NV_Certify, the
 *   checkpoint layer's encoding), and when it was `made` (ms since the epoch).
 * - (step 2) checkpoints.frontier: the tree's frontier at the checkpoint's size (tree.ts `frontier()`),
 *   so the next checkpoint extends it without rereading the log; NULL for checkpoints made before.
 * - uses: the replay counters, one row per artifact cti: executions `used` of `allowed`, kept until
 *   `exp` (seconds, the artifact's) has passed; indexed by `exp` for pruning.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE entries (
    seq INTEGER PRIMARY KEY CHECK (seq >= 0),
    bytes BLOB NOT NULL,
    leaf BLOB NOT NULL CHECK (length(leaf) = 32)
  ) STRICT;
  CREATE TABLE checkpoints (
    size INTEGER PRIMARY KEY CHECK (size >= 0),
    counter INTEGER NOT NULL UNIQUE,
    body TEXT NOT NULL,
    quote BLOB NOT NULL,
    certificate BLOB NOT NULL,
    made INTEGER NOT NULL
  ) STRICT;
  CREATE TABLE uses (
    cti BLOB PRIMARY KEY,
    used INTEGER NOT NULL CHECK (used >= 0),
    allowed INTEGER NOT NULL CHECK (allowed >= 1 AND used <= allowed),
    exp INTEGER NOT NULL
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX uses_exp ON uses (exp);
  `,
  `
  ALTER TABLE checkpoints ADD COLUMN frontier BLOB CHECK (frontier IS NULL OR length(frontier) % 32 = 0);
  `,
];

/** The version this code writes and reads. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * The schema version of `db`: 0 for an empty database. A database with tables but no `schema_version`
 * (not made by execgate) or with a malformed one is E_AUDIT_STORE.
 */
export function schemaVersion(db: Database): number {
  const tables = db.prepare<string>("SELECT name FROM sqlite_schema WHERE type = 'table'").pluck().all();
  if (!tables.includes('schema_version')) {
    if (tables.length === 0) return 0;
    throw new AuditError(
      'E_AUDIT_STORE',
      `${db.name} is not an execgate audit database (tables ${tables.join(', ')}, no schema_version)`,
    );
  }
  const rows = db.prepare<unknown>('SELECT version FROM schema_version').pluck().all();
  const v = rows[0];
  if (rows.length !== 1 || typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1)
    throw new AuditError('E_AUDIT_STORE', `${db.name}: schema_version is malformed`);
  return v;
}

/** Refuses a database newer than `steps` (E_AUDIT_STORE), naming both versions. */
export function checkNotNewer(db: Database, version: number, steps: readonly string[]): void {
  if (version > steps.length)
    throw new AuditError(
      'E_AUDIT_STORE',
      `${db.name} has audit schema version ${version}, newer than this execgate's ${steps.length}: use the execgate that wrote it, or a newer one`,
    );
}

/**
 * Brings `db` to version `steps.length` in one IMMEDIATE transaction (so concurrent openers serialise,
 * and a crash leaves the old version or the new one, never a half-migrated database). Returns the
 * versions before and after. E_AUDIT_STORE for a newer database. SQLite errors propagate.
 */
export function migrate(db: Database, steps: readonly string[] = MIGRATIONS): { from: number; to: number } {
  return db
    .transaction(() => {
      const from = schemaVersion(db);
      checkNotNewer(db, from, steps);
      if (from === steps.length) return { from, to: from };
      if (from === 0) db.exec('CREATE TABLE schema_version (version INTEGER NOT NULL) STRICT');
      for (const step of steps.slice(from)) db.exec(step);
      if (from === 0) db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(steps.length);
      else db.prepare('UPDATE schema_version SET version = ?').run(steps.length);
      return { from, to: steps.length };
    })
    .immediate();
}
