// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/config/schema
 *
 * The host policy's tables declared once (as encoding/cbor-schema.ts declares CBOR maps): each key with
 * its TOML name, value type, default (or that it is required) and extra check, and for an array of tables
 * a rule across its keys; reading a parsed TOML document derives from the declaration, and so does the
 * TypeScript type of the result. A table is `table` (always present, its
 * defaults filled in), `optionalTable` (absent: undefined) or `tableArray` (`[[name]]`, absent: []).
 *
 * Reading is closed: a table or key that is not declared, or a value of the wrong type, is E_CONFIG
 * naming its TOML path (`audit.checkpoint_entries must be a positive integer, got 0`), so a typo in a
 * policy never silently leaves a default in force. Relative paths are resolved against the policy
 * file's directory. Defaults are written as they would be in the file and read by the same type.
 *
 * The document must come from smol-toml with `integersAsBigInt: true`, so that `1000` (an integer) and
 * `1000.0` (a float) stay apart: integer keys take only integers.
 */
import { isAbsolute, normalize, resolve } from 'node:path';
import type { TomlTable, TomlValue } from 'smol-toml';
import { ConfigError } from './errors.js';

/** What reading a value needs besides the value. */
export interface ReadContext {
  /** The directory relative paths are resolved against: the policy file's. */
  readonly dir: string;
}

/** Thrown by a value type's `read` for a value it refuses; `detail` says why, beyond the type. */
class Refused {
  constructor(readonly detail?: string) {}
}

/** Refuses the value being read (in a ValueType's `read`), with an optional detail. */
export function refuse(detail?: string): never {
  throw new Refused(detail);
}

/** A value type: what a value must be (for messages) and how a TOML value becomes one. */
export interface ValueType<T> {
  /** Completes "KEY must be …": "a positive integer". */
  readonly expect: string;
  /** The value of `raw`; `refuse(detail?)` when it is not one. */
  read(raw: TomlValue, ctx: ReadContext): T;
}

/** One key of a table. */
export interface KeySpec<T> {
  /** Its name in the TOML file (snake_case). */
  readonly key: string;
  readonly type: ValueType<Exclude<T, undefined>>;
  /** Used when the key is absent, written as in the file and read by `type`; none: the value is undefined. */
  readonly default: TomlValue | undefined;
  /** Whether the key must be given (a key without a default that has no meaning when absent). */
  readonly required: boolean;
  /** A rule beyond the type: why `value` is refused, or undefined. (Method syntax: checked bivariantly.) */
  check?(value: Exclude<T, undefined>): string | undefined;
}

/** A key with a default: its value is always there. */
export function key<T>(
  name: string,
  type: ValueType<T>,
  opts: { default: TomlValue; check?: (value: T) => string | undefined },
): KeySpec<T>;
/** A key that must be given: E_CONFIG when absent. */
export function key<T>(
  name: string,
  type: ValueType<T>,
  opts: { required: true; check?: (value: T) => string | undefined },
): KeySpec<T>;
/** A key without a default: its value is undefined when absent. */
export function key<T>(
  name: string,
  type: ValueType<T>,
  opts?: { check?: (value: T) => string | undefined },
): KeySpec<T | undefined>;
export function key<T>(
  name: string,
  type: ValueType<T>,
  opts: { default?: TomlValue; required?: true; check?: (value: T) => string | undefined } = {},
): KeySpec<T> {
  const spec: KeySpec<T> = {
    key: name,
    type: type as ValueType<Exclude<T, undefined>>,
    default: opts.default,
    required: opts.required === true,
  };
  return opts.check
    ? { ...spec, check: opts.check as (value: Exclude<T, undefined>) => string | undefined }
    : spec;
}

/** The keys of a table, by the property name they get in the result. */
export type Fields = Readonly<Record<string, KeySpec<unknown>>>;

/** The value a table's keys read to. */
export type TableValue<F extends Fields> = {
  readonly [K in keyof F]: F[K] extends KeySpec<infer T> ? T : never;
};

type TableKind = 'table' | 'optional' | 'array';

/** A rule across keys of a table, broken: the key it is reported at, and why (completes "KEY …"). */
export interface TableProblem {
  readonly key: string;
  readonly why: string;
}

/** One table of a document. */
export interface TableSpec<F extends Fields, Kind extends TableKind> {
  /** Its name in the TOML file. */
  readonly name: string;
  readonly kind: Kind;
  readonly fields: F;
  /** A rule across its keys, checked once each key is read. (Method syntax: checked bivariantly.) */
  check?(value: TableValue<F>): TableProblem | undefined;
}

/** `[name]`, always present in the result: an absent table reads as all its defaults. */
export const table = <F extends Fields>(name: string, fields: F): TableSpec<F, 'table'> => ({
  name,
  kind: 'table',
  fields,
});

/** `[name]`, undefined in the result when absent (a feature that is off unless configured). */
export const optionalTable = <F extends Fields>(name: string, fields: F): TableSpec<F, 'optional'> => ({
  name,
  kind: 'optional',
  fields,
});

/** `[[name]]`: any number of tables of these keys; [] when absent. `check`: a rule across keys of each. */
export const tableArray = <F extends Fields>(
  name: string,
  fields: F,
  opts: { check?: (value: TableValue<F>) => TableProblem | undefined } = {},
): TableSpec<F, 'array'> =>
  opts.check ? { name, kind: 'array', fields, check: opts.check } : { name, kind: 'array', fields };

/** The tables of a document, by the property name they get in the result. */
export type DocumentSpec = Readonly<Record<string, TableSpec<Fields, TableKind>>>;

/** The value a document reads to. */
export type DocumentValue<D extends DocumentSpec> = {
  readonly [K in keyof D]: D[K] extends TableSpec<infer F, infer Kind>
    ? Kind extends 'table'
      ? TableValue<F>
      : Kind extends 'optional'
        ? TableValue<F> | undefined
        : readonly TableValue<F>[]
    : never;
};

function isTable(v: unknown): v is TomlTable {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

/** A value as it would be written in the file, shortened, for messages. */
function show(v: TomlValue): string {
  let s: string;
  if (typeof v === 'string') s = JSON.stringify(v);
  else if (typeof v === 'bigint' || typeof v === 'number' || typeof v === 'boolean') s = String(v);
  else if (Array.isArray(v)) s = 'an array';
  else if (isTable(v)) s = 'a table';
  else s = String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function readKey<T>(spec: KeySpec<T>, raw: TomlValue, at: string, ctx: ReadContext): Exclude<T, undefined> {
  let value: Exclude<T, undefined>;
  try {
    value = spec.type.read(raw, ctx);
  } catch (e) {
    if (!(e instanceof Refused)) throw e;
    const detail = e.detail === undefined ? '' : ` (${e.detail})`;
    throw new ConfigError(`${at} must be ${spec.type.expect}${detail}, got ${show(raw)}`, { at });
  }
  const why = spec.check?.(value);
  if (why !== undefined) throw new ConfigError(`${at} ${why}, got ${show(raw)}`, { at });
  return value;
}

function readTable<F extends Fields>(
  t: TableSpec<F, TableKind>,
  raw: TomlTable,
  at: string,
  ctx: ReadContext,
): TableValue<F> {
  const specs = Object.entries(t.fields);
  const names = new Set(specs.map(([, s]) => s.key));
  for (const k of Object.keys(raw)) {
    if (!names.has(k)) {
      const known = [...names].join(', ');
      throw new ConfigError(`${at}.${k} is not a known key (${at} takes ${known})`, { at: `${at}.${k}` });
    }
  }
  const out: Record<string, unknown> = {};
  for (const [prop, spec] of specs) {
    const given = Object.hasOwn(raw, spec.key) ? raw[spec.key] : undefined;
    const v = given ?? spec.default;
    if (v === undefined && spec.required)
      throw new ConfigError(`${at}.${spec.key} is required: ${spec.type.expect}`, {
        at: `${at}.${spec.key}`,
      });
    out[prop] = v === undefined ? undefined : readKey(spec, v, `${at}.${spec.key}`, ctx);
  }
  const value = out as TableValue<F>;
  const problem = t.check?.(value);
  if (problem !== undefined)
    throw new ConfigError(`${at}.${problem.key} ${problem.why}`, { at: `${at}.${problem.key}` });
  return value;
}

/**
 * Reads a parsed TOML document (smol-toml, `integersAsBigInt: true`) against `spec`; ConfigError with
 * the TOML path (no file name: the caller adds it) for anything undeclared or malformed.
 */
export function readDocument<D extends DocumentSpec>(
  spec: D,
  doc: TomlTable,
  ctx: ReadContext,
): DocumentValue<D> {
  const tables = Object.entries(spec);
  const byName = new Map(tables.map(([prop, t]) => [t.name, [prop, t] as const]));
  for (const [k, v] of Object.entries(doc)) {
    if (byName.has(k)) continue;
    const known = tables.map(([, t]) => (t.kind === 'array' ? `[[${t.name}]]` : `[${t.name}]`)).join(', ');
    throw new ConfigError(
      isTable(v) || Array.isArray(v)
        ? `[${k}] is not a known table (the policy has ${known})`
        : `${k} is not a known key: keys belong in a table (${known})`,
      { at: k },
    );
  }
  const out: Record<string, unknown> = {};
  for (const [prop, t] of tables) {
    const raw = Object.hasOwn(doc, t.name) ? doc[t.name] : undefined;
    if (t.kind === 'array') {
      if (raw === undefined) out[prop] = [];
      else if (!Array.isArray(raw) || !raw.every(isTable))
        throw new ConfigError(`${t.name} must be an array of tables ([[${t.name}]])`, { at: t.name });
      else out[prop] = raw.map((item, i) => readTable(t, item, `${t.name}[${i}]`, ctx));
      continue;
    }
    if (raw !== undefined && !isTable(raw))
      throw new ConfigError(`${t.name} must be a table ([${t.name}])`, { at: t.name });
    out[prop] = raw === undefined && t.kind === 'optional' ? undefined : readTable(t, raw ?? {}, t.name, ctx);
  }
  return out as DocumentValue<D>;
}

// ---- value types ----

/** Text of 1 to `max` characters without NUL. */
export function text(max = 4096): ValueType<string> {
  return {
    expect: `text of 1 to ${max} characters`,
    read(raw) {
      if (typeof raw !== 'string' || raw.length === 0 || raw.length > max) return refuse();
      if (raw.includes('\0')) return refuse('it contains NUL');
      return raw;
    },
  };
}

/** A file or directory path; a relative one is taken relative to the policy file's directory. */
export const path: ValueType<string> = {
  expect: 'a path (text; relative paths are relative to the policy file)',
  read(raw, ctx) {
    if (typeof raw !== 'string' || raw.length === 0 || raw.length > 4096) return refuse();
    if (raw.includes('\0')) return refuse('it contains NUL');
    const abs = isAbsolute(raw) ? normalize(raw) : resolve(ctx.dir, raw);
    // normalize keeps one trailing "/" of a directory; the path is the same without it.
    return abs.length > 1 && abs.endsWith('/') ? abs.slice(0, -1) : abs;
  },
};

/** An integer from `min` to `max` (TOML integers only: 10.0 is a float). */
export function integer(min: number, max: number = Number.MAX_SAFE_INTEGER): ValueType<number> {
  return {
    expect:
      min === 1 && max === Number.MAX_SAFE_INTEGER
        ? 'a positive integer'
        : `an integer from ${min} to ${max}`,
    read(raw) {
      if (typeof raw !== 'bigint' || raw < BigInt(min) || raw > BigInt(max)) return refuse();
      return Number(raw);
    },
  };
}

/** An integer ≥ 1. */
export const positiveInteger: ValueType<number> = integer(1);

/** true or false. */
export const boolean: ValueType<boolean> = {
  expect: 'true or false',
  read: (raw) => (typeof raw === 'boolean' ? raw : refuse()),
};

/** One of the given strings. */
export function oneOf<const V extends string>(...values: readonly V[]): ValueType<V> {
  return {
    expect: `one of ${values.map((v) => JSON.stringify(v)).join(', ')}`,
    read: (raw) => (values.includes(raw as V) ? (raw as V) : refuse()),
  };
}

/** An array of at most `max` values of `item`. */
export function list<T>(item: ValueType<T>, max = 1024): ValueType<readonly T[]> {
  return {
    expect: `an array of at most ${max} items, each ${item.expect}`,
    read(raw, ctx) {
      if (!Array.isArray(raw) || raw.length > max) return refuse();
      return raw.map((x, i) => {
        try {
          return item.read(x, ctx);
        } catch (e) {
          if (e instanceof Refused)
            return refuse(`item ${i} is ${show(x)}${e.detail ? `: ${e.detail}` : ''}`);
          throw e;
        }
      });
    },
  };
}

/** A value type that reads text with `parse`, which throws an Error whose message becomes the detail. */
export function parsedText<T>(expect: string, parse: (text: string) => T): ValueType<T> {
  return {
    expect,
    read(raw) {
      if (typeof raw !== 'string') return refuse();
      try {
        return parse(raw);
      } catch (e) {
        if (e instanceof Error) return refuse(e.message);
        throw e;
      }
    },
  };
}
