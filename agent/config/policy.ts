// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/config/policy
 *
 * The host policy: one TOML file (`--policy FILE`, default /etc/execgate/policy.toml), read with
 * smol-toml and declared once below (schema.ts), plus the drop-in fragments beside it: every
 * `policy.d/*.toml` (in name order; names starting with "." are ignored, as editors leave such files),
 * which add `[[issuer]]` and `[[approval]]` entries only (fleet tools distribute trust that way). docs/policy.md
 * has the whole shape with an example:
 *
 * ```
 * [host]        state_dir, tcti, groups, clock_skew, reference, mode ("enforce" | "audit"), artifacts
 * [audit]       checkpoint_entries, checkpoint_interval, pcrs, nv_counter_index
 * [breakglass]  key, max_ttl                                  (optional)
 * [[issuer]]    name, key, exe, max_ttl, delegation           (any number)
 * [[approval]]  exe, approvers, required                      (any number)
 * [revocation]  lists, epoch_nv_index                         (optional)
 * [serve]       heartbeat, metrics, pcrs                      (execgate serve)
 * ```
 *
 * Relative paths are relative to the directory of the file they are in (policy.d/ for a fragment).
 * Everything wrong is E_CONFIG naming the file and the TOML path: a file that cannot be read or is over
 * 1 MiB, TOML syntax (with line and column), an unknown table or key, a malformed value, a fragment with
 * anything but [[issuer]] and [[approval]]. loadPolicy reads the policy file, policy.d and each fragment
 * only where no other user could have written them (fs/trusted-file.ts; policy.d writable by no group or
 * other even when sticky, since any file put there adds trust).
 *
 * Not checked here: the files the policy names (keys, revocation lists, reference: trust.ts loads
 * them), whether state_dir and artifacts exist, and whether the NV indices are defined on this TPM.
 */
import { lstat, readdir } from 'node:fs/promises';
import { isIP } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { parse, TomlError, type TomlTable } from 'smol-toml';
import { LIMITS, pathProblem } from '../artifact/claims.js';
import { errnoOf } from '../errors.js';
import { checkDir } from '../fs/atomic-write.js';
import { INPUT_LIMITS, InputError } from '../fs/read-bounded.js';
import { readTrusted } from '../fs/trusted-file.js';
import { TPM_HT } from '../tpm/constants.js';
import { type PcrBankSelection, parseSelection } from '../tpm/pcr-selection.js';
import { parseTcti } from '../tpm/transport/tcti.js';
import { DEFAULT_AUDIT_NV_INDEX, DEFAULT_POLICY_FILE, DEFAULT_STATE_DIR } from './defaults.js';
import { DURATION_EXAMPLES, durationSeconds } from './duration.js';
import { ConfigError, fileRefused } from './errors.js';
import {
  boolean,
  type DocumentValue,
  key,
  list,
  oneOf,
  optionalTable,
  parsedText,
  path,
  positiveInteger,
  readDocument,
  refuse,
  table,
  tableArray,
  type ValueType,
} from './schema.js';

/** A duration in seconds: more than 0 (or 0 too, with `zero`), at most `max` (written as in the file). */
function duration(opts: { zero?: boolean; max?: string } = {}): ValueType<number> {
  const max = opts.max === undefined ? Number.MAX_SAFE_INTEGER : durationSeconds(opts.max);
  if (max === undefined) throw new RangeError(`max must be a duration, got ${opts.max}`);
  return {
    expect: `a duration like ${DURATION_EXAMPLES}${opts.max === undefined ? '' : `, at most ${opts.max}`}`,
    read(raw) {
      const seconds = typeof raw === 'string' ? durationSeconds(raw) : undefined;
      if (seconds === undefined || seconds > max || (seconds === 0 && opts.zero !== true)) return refuse();
      return seconds;
    },
  };
}

/** A PCR selection in tpm2-tools syntax (`sha256:0-7+sha1:0`), parsed by tpm/pcr-selection.ts. */
const pcrSelection: ValueType<readonly PcrBankSelection[]> = parsedText(
  'a PCR selection like "sha256:0-7"',
  parseSelection,
);

/** A TCTI string (tpm/transport/tcti.ts); kept as text, since --tcti and $EXECGATE_TCTI are text too. */
const tcti: ValueType<string> = parsedText('a TCTI like "device:/dev/tpmrm0"', (t) => {
  parseTcti(t);
  return t;
});

/** An NV index handle (TPM_HT_NV_INDEX, Part 2 §7.2): "0x01800100" as text, or a TOML integer. */
const nvIndex: ValueType<number> = {
  expect: 'an NV index handle 0x01xxxxxx',
  read(raw) {
    let n: number | undefined;
    if (typeof raw === 'bigint' && raw >= 0n && raw <= 0xffff_ffffn) n = Number(raw);
    else if (typeof raw === 'string' && /^0x[0-9a-fA-F]{8}$/.test(raw)) n = Number(raw);
    return n !== undefined && n >>> 24 === TPM_HT.NV_INDEX ? n : refuse();
  },
};

/**
 * A host group or issuer name: what an artifact's `sub` names as "group:NAME", so no ":" or space, and
 * one spelling (lowercase).
 */
const name: ValueType<string> = {
  expect: 'a name of 1 to 64 characters a-z, 0-9, "_", "." or "-"',
  read: (raw) => (typeof raw === 'string' && /^[a-z0-9_.-]{1,64}$/.test(raw) ? raw : refuse()),
};

/**
 * An executable an issuer or approval rule covers: an absolute path in normal form, or a directory
 * prefix ending in "/", as a delegation grant's `exe` (artifact/claims.ts pathProblem): "/usr/bin/"
 * covers /usr/bin/ls but not /usr/bin2/ls. Never resolved against the policy's directory: a relative
 * executable would mean whatever the working directory makes it.
 */
const exeRule: ValueType<string> = {
  expect: 'an absolute normalised path, or a directory prefix ending in "/"',
  read(raw) {
    if (typeof raw !== 'string' || raw.length === 0 || raw.length > LIMITS.path) return refuse();
    if (raw.includes('\0')) return refuse('it contains NUL');
    const problem = pathProblem(raw, 'the path', { prefix: true });
    return problem === undefined ? raw : refuse(problem);
  },
};

/** Where `execgate serve` serves its metrics: a loopback address and port. */
export interface MetricsAddress {
  /** An IPv4 address in 127.0.0.0/8, or ::1. */
  readonly host: string;
  readonly port: number;
}

/**
 * "127.0.0.1:9464" or "[::1]:9464": loopback only, since the endpoint has no authentication and its
 * counters tell which commands are denied and why.
 */
const loopbackAddress: ValueType<MetricsAddress> = {
  expect: 'a loopback address and port like "127.0.0.1:9464" or "[::1]:9464"',
  read(raw) {
    if (typeof raw !== 'string') return refuse();
    const m = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+)):([0-9]{1,5})$/.exec(raw);
    const host = m?.[1] ?? m?.[2];
    const port = Number(m?.[3]);
    if (host === undefined || !(port >= 1 && port <= 65535)) return refuse();
    const loopback =
      (isIP(host) === 4 && host.split('.')[0] === '127') || (isIP(host) === 6 && /^(0*:)*:?0*1$/.test(host));
    if (!loopback)
      return refuse(
        `${host} is not a loopback address: the metrics endpoint has no authentication, so it listens on 127.0.0.1 or ::1 only (put a proxy in front to expose it)`,
      );
    return { host, port };
  },
};

/** `a` as the policy writes it: "127.0.0.1:9464", "[::1]:9464". */
export const addressText = (a: MetricsAddress): string =>
  `${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;

const nonEmpty = (v: readonly unknown[]) => (v.length === 0 ? 'must not be empty' : undefined);

const unique = (v: readonly string[]) => {
  const twice = v.find((x, i) => v.indexOf(x) !== i);
  return twice === undefined ? undefined : `names ${JSON.stringify(twice)} twice`;
};

/** The host policy's tables, declared once: key, type, default, check. */
export const POLICY = {
  host: table('host', {
    stateDir: key('state_dir', path, { default: DEFAULT_STATE_DIR }),
    tcti: key('tcti', tcti),
    groups: key('groups', list(name, 256), { default: [], check: unique }),
    // Bounded: a large skew would stretch every artifact's window by as much.
    clockSkewSeconds: key('clock_skew', duration({ zero: true, max: '1h' }), { default: '30s' }),
    reference: key('reference', path),
    mode: key('mode', oneOf('enforce', 'audit'), { default: 'enforce' }),
    artifacts: key('artifacts', path),
  }),
  audit: table('audit', {
    checkpointEntries: key('checkpoint_entries', positiveInteger, { default: 1000n }),
    checkpointIntervalSeconds: key('checkpoint_interval', duration(), { default: '10m' }),
    pcrs: key('pcrs', pcrSelection, { default: 'sha256:0-7' }),
    nvCounterIndex: key('nv_counter_index', nvIndex, {
      default: hexIndex(DEFAULT_AUDIT_NV_INDEX),
    }),
  }),
  breakglass: optionalTable('breakglass', {
    key: key('key', path, { required: true }),
    maxTtlSeconds: key('max_ttl', duration(), { default: '15m' }),
  }),
  issuers: tableArray('issuer', {
    name: key('name', name, { required: true }),
    key: key('key', path, { required: true }),
    exe: key('exe', list(exeRule), { required: true, check: nonEmpty }),
    maxTtlSeconds: key('max_ttl', duration(), { default: '1h' }),
    delegation: key('delegation', boolean, { default: false }),
  }),
  approvals: tableArray(
    'approval',
    {
      exe: key('exe', list(exeRule), { required: true, check: nonEmpty }),
      approvers: key('approvers', list(path, 64), { required: true, check: nonEmpty }),
      required: key('required', positiveInteger, { required: true }),
    },
    {
      check: (a) =>
        a.required > a.approvers.length
          ? {
              key: 'required',
              why: `must be at most the number of approvers (${a.approvers.length}), got ${a.required}`,
            }
          : undefined,
    },
  ),
  revocation: optionalTable('revocation', {
    lists: key('lists', list(path, 256), { default: [] }),
    epochNvIndex: key('epoch_nv_index', nvIndex),
  }),
  serve: table('serve', {
    heartbeatSeconds: key('heartbeat', duration({ max: '1d' }), { default: '1m' }),
    // Absent: no metrics endpoint.
    metrics: key('metrics', loopbackAddress),
    // Absent: [audit] pcrs (servePcrs).
    pcrs: key('pcrs', pcrSelection),
  }),
} as const;

/** The PCRs a heartbeat quotes: `[serve] pcrs`, else `[audit] pcrs`. */
export function servePcrs(policy: HostPolicy): readonly PcrBankSelection[] {
  return policy.serve.pcrs ?? policy.audit.pcrs;
}

/** What a policy.d fragment may hold: issuers and approval rules, nothing else. */
const FRAGMENT = { issuers: POLICY.issuers, approvals: POLICY.approvals } as const;

type Tables = DocumentValue<typeof POLICY>;

/** Where an [[issuer]] or [[approval]] entry was declared: the policy file or a fragment, and its TOML path. */
export interface Origin {
  /** Absolute; undefined for a policy given as text without a file. */
  readonly file: string | undefined;
  /** The entry's TOML path in that file: `issuer[0]`. */
  readonly at: string;
}

/** One [[issuer]] entry, with where it came from. */
export type IssuerEntry = Tables['issuers'][number] & { readonly origin: Origin };

/** One [[approval]] entry, with where it came from. */
export type ApprovalEntry = Tables['approvals'][number] & { readonly origin: Origin };

/** A host policy as read: each table with every default filled in, fragments' entries after the file's. */
export type HostPolicy = Omit<Tables, 'issuers' | 'approvals'> & {
  /** The file it was read from (absolute), or undefined for the built-in defaults. */
  readonly file: string | undefined;
  /** The policy.d fragments read, in the order their entries were added (absolute paths). */
  readonly fragments: readonly string[];
  readonly issuers: readonly IssuerEntry[];
  readonly approvals: readonly ApprovalEntry[];
};

/** smol-toml's options: integers as bigint (1000 and 1000.0 stay apart), no __proto__ keys, shallow. */
const TOML_OPTIONS = { integersAsBigInt: true, unsafeKeyBehaviour: 'throw', maxDepth: 16 } as const;

/** The TOML document in `text`; E_CONFIG with the line and column of a syntax error. */
function parseToml(text: string, where: string, file: string | undefined): TomlTable {
  try {
    return parse(text, TOML_OPTIONS);
  } catch (e) {
    if (!(e instanceof Error)) throw e;
    // smol-toml's message ends with a code excerpt over several lines; the first line and the position suffice.
    const first = e.message.split('\n')[0] ?? e.message;
    const at = e instanceof TomlError ? ` at line ${e.line}, column ${e.column}` : '';
    throw new ConfigError(`${where}: not valid TOML${at}: ${first}`, { file, cause: e });
  }
}

/** readDocument, with `where` (the file) put before a refusal's TOML path. */
function readTables<D extends typeof POLICY | typeof FRAGMENT>(
  spec: D,
  doc: TomlTable,
  where: string,
  file: string | undefined,
): DocumentValue<D> {
  try {
    return readDocument(spec, doc, { dir: file === undefined ? process.cwd() : dirname(file) });
  } catch (e) {
    if (e instanceof ConfigError)
      throw new ConfigError(`${where}: ${e.message}`, { file, at: e.at, cause: e });
    throw e;
  }
}

/** Each entry with its origin: `name[i]` in `file`. */
function withOrigin<T>(entries: readonly T[], name: string, file: string | undefined) {
  return entries.map((e, i) => ({ ...e, origin: { file, at: `${name}[${i}]` } }));
}

/**
 * The policy in `text`, read as if from `file` (relative paths are relative to its directory; without
 * a file, to the working directory); no fragments. ConfigError (E_CONFIG) for anything malformed or
 * undeclared.
 */
export function parsePolicy(text: string, opts: { file?: string } = {}): HostPolicy {
  const file = opts.file === undefined ? undefined : resolve(opts.file);
  const where = file === undefined ? 'policy' : `policy ${file}`;
  const tables = readTables(POLICY, parseToml(text, where, file), where, file);
  // One counter for two jobs would let every audit checkpoint raise the revocation epoch.
  if (tables.revocation?.epochNvIndex === tables.audit.nvCounterIndex)
    throw new ConfigError(
      `${where}: revocation.epoch_nv_index must differ from audit.nv_counter_index (${hexIndex(tables.audit.nvCounterIndex)}): the audit counter rises with every checkpoint`,
      { file, at: 'revocation.epoch_nv_index' },
    );
  return {
    ...tables,
    file,
    fragments: [],
    issuers: withOrigin(tables.issuers, 'issuer', file),
    approvals: withOrigin(tables.approvals, 'approval', file),
  };
}

/** An NV index as the policy writes it: "0x01800100". */
export function hexIndex(index: number): string {
  return `0x${index.toString(16).padStart(8, '0')}`;
}

/**
 * The entries of the policy.d fragment in `text`, read as if from `file`: [[issuer]] and [[approval]]
 * tables only (anything else is E_CONFIG naming it); relative paths relative to policy.d.
 */
export function parseFragment(text: string, file: string): Pick<HostPolicy, 'issuers' | 'approvals'> {
  const abs = resolve(file);
  const where = `policy fragment ${abs}`;
  const doc = parseToml(text, where, abs);
  for (const k of Object.keys(doc))
    if (k !== 'issuer' && k !== 'approval')
      throw new ConfigError(
        `${where}: ${k} is not allowed here: a policy.d fragment adds [[issuer]] and [[approval]] tables only; everything else belongs in the policy file`,
        { file: abs, at: k },
      );
  const tables = readTables(FRAGMENT, doc, where, abs);
  return {
    issuers: withOrigin(tables.issuers, 'issuer', abs),
    approvals: withOrigin(tables.approvals, 'approval', abs),
  };
}

/** The built-in policy: every default, as an empty file would give. */
export function defaultPolicy(): HostPolicy {
  return {
    ...readDocument(POLICY, {}, { dir: '/' }),
    file: undefined,
    fragments: [],
    issuers: [],
    approvals: [],
  };
}

/** The beside-the-file directory of drop-in fragments. */
const FRAGMENT_DIR = 'policy.d';

/** At most this many fragments: each may be 1 MiB, and every execution reads them all. */
const MAX_FRAGMENTS = 1024;

/** A trusted file's text (fs/trusted-file.ts, at most 1 MiB, UTF-8); E_CONFIG naming it otherwise. */
async function readPolicyText(file: string, what: string): Promise<string> {
  let bytes: Uint8Array;
  try {
    bytes = await readTrusted(file, { maxBytes: INPUT_LIMITS.policy, what });
  } catch (e) {
    return fileRefused(e, { file });
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (e) {
    throw new ConfigError(`${what} ${file}: not UTF-8 text`, { file, cause: e });
  }
}

/** The fragment files of `dir` in name order, or none when there is no such directory. */
async function fragmentFiles(dir: string): Promise<string[]> {
  const refused = (why: string, cause?: unknown) =>
    new ConfigError(`policy fragments: ${dir} ${why}`, { file: dir, cause });
  let st: Awaited<ReturnType<typeof lstat>>;
  try {
    st = await lstat(dir);
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return [];
    throw refused(`cannot be read (${e instanceof Error ? e.message : String(e)})`, e);
  }
  // Not a link, a directory, root's or ours, and so every directory above it.
  try {
    await checkDir(dir);
  } catch (e) {
    fileRefused(e, { file: dir }, 'policy fragments: ');
  }
  // Unlike a key's directory, not even a sticky one: whoever may add a file here adds trust.
  if (st.mode & 0o022)
    throw refused(
      `is writable by group or others (mode ${(st.mode & 0o7777).toString(8)}): chmod go-w ${dir}`,
    );
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    throw refused(`cannot be read (${e instanceof Error ? e.message : String(e)})`, e);
  }
  const files = names.filter((n) => n.endsWith('.toml') && !n.startsWith('.')).sort();
  if (files.length > MAX_FRAGMENTS) throw refused(`holds more than ${MAX_FRAGMENTS} fragments`);
  return files.map((n) => join(dir, n));
}

/**
 * Reads and parses the policy file and its policy.d fragments, as trusted files (see the module comment).
 * With `missingOk`, a policy file that does not exist gives the built-in defaults (the audit commands'
 * default policy path may be absent on a host configured by flags); any other failure, and a missing
 * file otherwise, is E_CONFIG.
 */
export async function loadPolicy(
  file: string = DEFAULT_POLICY_FILE,
  opts: { missingOk?: boolean } = {},
): Promise<HostPolicy> {
  const abs = resolve(file);
  let text: string;
  try {
    text = await readPolicyText(abs, 'policy');
  } catch (e) {
    const missing =
      e instanceof ConfigError && e.cause instanceof InputError && errnoOf(e.cause.cause) === 'ENOENT';
    if (missing && opts.missingOk === true) return defaultPolicy();
    throw e;
  }
  const policy = parsePolicy(text, { file: abs });
  const fragments = await fragmentFiles(join(dirname(abs), FRAGMENT_DIR));
  const issuers = [...policy.issuers];
  const approvals = [...policy.approvals];
  for (const f of fragments) {
    const part = parseFragment(await readPolicyText(f, 'policy fragment'), f);
    issuers.push(...part.issuers);
    approvals.push(...part.approvals);
  }
  return { ...policy, fragments, issuers, approvals };
}
