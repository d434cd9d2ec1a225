// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/audit/sqlite
 *
 * The part of better-sqlite3 12.x the audit store uses, typed here: the package ships no types, and
 * this subset is the whole surface the store depends on (node:sqlite would replace it on Node 22).
 * better-sqlite3 is CommonJS with a native addon, loaded through createRequire when a store is first
 * opened, so importing the audit modules (entry encoding, verification of an exported bundle) loads no
 * native code.
 */
import { createRequire } from 'node:module';

/** A value bound to a statement parameter. */
export type SqlValue = number | bigint | string | Uint8Array | null;

/** What `run` reports. */
export interface RunResult {
  readonly changes: number;
  readonly lastInsertRowid: number | bigint;
}

/** A prepared statement whose rows are of type R (better-sqlite3 Statement). */
export interface Statement<R = unknown> {
  run(...params: SqlValue[]): RunResult;
  get(...params: SqlValue[]): R | undefined;
  all(...params: SqlValue[]): R[];
  iterate(...params: SqlValue[]): IterableIterator<R>;
  /** Rows become their first column's value: the row type is then that value's (see `pluckedStatement`). */
  pluck(toggle?: boolean): this;
}

/** A function run in a transaction (better-sqlite3 `db.transaction(fn)`), in its BEGIN variants. */
export interface Transaction<A extends unknown[], R> {
  (...args: A): R;
  deferred(...args: A): R;
  immediate(...args: A): R;
  exclusive(...args: A): R;
}

/** An open database connection (better-sqlite3 Database). */
export interface Database {
  readonly open: boolean;
  readonly inTransaction: boolean;
  readonly readonly: boolean;
  readonly name: string;
  prepare<R = unknown>(sql: string): Statement<R>;
  exec(sql: string): this;
  pragma(source: string, options?: { simple?: boolean }): unknown;
  transaction<A extends unknown[], R>(fn: (...args: A) => R): Transaction<A, R>;
  close(): this;
}

/** Options of the Database constructor. */
export interface DatabaseOptions {
  readonly readonly?: boolean;
  readonly fileMustExist?: boolean;
  /** The busy timeout in milliseconds (SQLite's busy handler, sqlite3_busy_timeout). */
  readonly timeout?: number;
}

interface BetterSqlite3 {
  new (filename: string, options?: DatabaseOptions): Database;
  readonly SqliteError: new (message: string, code: string) => Error & { readonly code: string };
}

let loaded: BetterSqlite3 | undefined;

function library(): BetterSqlite3 {
  loaded ??= createRequire(import.meta.url)('better-sqlite3') as BetterSqlite3;
  return loaded;
}

/** Opens `filename` with better-sqlite3 (throws what it throws: SqliteError, TypeError). */
export function openDatabase(filename: string, options: DatabaseOptions): Database {
  const Ctor = library();
  return new Ctor(filename, options);
}

/** SQLite's result code of an error better-sqlite3 threw (`SQLITE_BUSY`, …), else undefined. */
export function sqliteCode(e: unknown): string | undefined {
  if (loaded === undefined || !(e instanceof loaded.SqliteError)) return undefined;
  return e.code;
}
