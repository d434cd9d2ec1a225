// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/config/policy
 *
 * The host policy: one TOML file (`--policy FILE`, default /etc/execgate/policy.toml), read with
 * smol-toml and declared once below (schema.ts). Issue 13 declares `[host]` and `[audit]`; the gate
 * (issue 14) adds its tables to POLICY the same way.
 *
 * ```toml
 * [host]
 * state_dir = "/var/lib/execgate"    # audit database, host.json; relative: to this file's directory
 * tcti = "device:/dev/tpmrm0"        # optional; --tcti and $EXECGATE_TCTI override it
 *
 * [audit]
 * checkpoint_entries = 1000          # a checkpoint at least every N entries…
 * checkpoint_interval = "10m"        # …or this long after the newest one (90s, 10m, 2h, 1d)
 * pcrs = "sha256:0-7"                # the PCRs each checkpoint's quote covers
 * nv_counter_index = "0x01800100"    # the TPM NV counter `host init` defines (a TPM_HT_NV_INDEX handle)
 * ```
 *
 * Everything wrong is E_CONFIG naming the file and the TOML path: a file that cannot be read or is
 * over 1 MiB, TOML syntax (with line and column), an unknown table or key, a malformed value.
 *
 * Not checked here: who may write the file (the gate's concern, issue 14), whether the paths exist, and
 * whether the NV index is defined on this TPM (`host init` defines it; the audit layer reads it).
 */
import { dirname, resolve } from 'node:path';
import { parse, TomlError, type TomlTable } from 'smol-toml';
import { INPUT_LIMITS, InputError, readBounded } from '../fs/read-bounded.js';
import { TPM_HT } from '../tpm/constants.js';
import { type PcrBankSelection, parseSelection } from '../tpm/pcr-selection.js';
import { parseTcti } from '../tpm/transport/tcti.js';
import { DEFAULT_AUDIT_NV_INDEX, DEFAULT_POLICY_FILE, DEFAULT_STATE_DIR } from './defaults.js';
import { DURATION_EXAMPLES, durationSeconds } from './duration.js';
import { ConfigError } from './errors.js';
import {
  type DocumentValue,
  key,
  parsedText,
  path,
  positiveInteger,
  readDocument,
  refuse,
  table,
  type ValueType,
} from './schema.js';

/** A duration in seconds, more than 0. */
const duration: ValueType<number> = {
  expect: `a duration like ${DURATION_EXAMPLES}`,
  read(raw) {
    const seconds = typeof raw === 'string' ? durationSeconds(raw) : undefined;
    return seconds !== undefined && seconds > 0 ? seconds : refuse();
  },
};

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

/** The host policy's tables, declared once: key, type, default, check. */
export const POLICY = {
  host: table('host', {
    stateDir: key('state_dir', path, { default: DEFAULT_STATE_DIR }),
    tcti: key('tcti', tcti),
  }),
  audit: table('audit', {
    checkpointEntries: key('checkpoint_entries', positiveInteger, { default: 1000n }),
    checkpointIntervalSeconds: key('checkpoint_interval', duration, { default: '10m' }),
    pcrs: key('pcrs', pcrSelection, { default: 'sha256:0-7' }),
    nvCounterIndex: key('nv_counter_index', nvIndex, {
      default: `0x${DEFAULT_AUDIT_NV_INDEX.toString(16).padStart(8, '0')}`,
    }),
  }),
} as const;

/** A host policy as read: each table with every default filled in. */
export type HostPolicy = DocumentValue<typeof POLICY> & {
  /** The file it was read from (absolute), or undefined for the built-in defaults. */
  readonly file: string | undefined;
};

/** smol-toml's options: integers as bigint (1000 and 1000.0 stay apart), no __proto__ keys, shallow. */
const TOML_OPTIONS = { integersAsBigInt: true, unsafeKeyBehaviour: 'throw', maxDepth: 16 } as const;

/**
 * The policy in `text`, read as if from `file` (relative paths are relative to its directory; without
 * a file, to the working directory). ConfigError (E_CONFIG) for anything malformed or undeclared.
 */
export function parsePolicy(text: string, opts: { file?: string } = {}): HostPolicy {
  const file = opts.file === undefined ? undefined : resolve(opts.file);
  const where = file === undefined ? 'policy' : `policy ${file}`;
  let doc: TomlTable;
  try {
    doc = parse(text, TOML_OPTIONS);
  } catch (e) {
    if (!(e instanceof Error)) throw e;
    // smol-toml's message ends with a code excerpt over several lines; the first line and the position suffice.
    const first = e.message.split('\n')[0] ?? e.message;
    const at = e instanceof TomlError ? ` at line ${e.line}, column ${e.column}` : '';
    throw new ConfigError(`${where}: not valid TOML${at}: ${first}`, { file, cause: e });
  }
  try {
    const tables = readDocument(POLICY, doc, { dir: file === undefined ? process.cwd() : dirname(file) });
    return { ...tables, file };
  } catch (e) {
    if (e instanceof ConfigError)
      throw new ConfigError(`${where}: ${e.message}`, { file, at: e.at, cause: e });
    throw e;
  }
}

/** The built-in policy: every default, as an empty file would give. */
export function defaultPolicy(): HostPolicy {
  return { ...readDocument(POLICY, {}, { dir: '/' }), file: undefined };
}

/**
 * Reads and parses the policy file (at most 1 MiB, read through fs/read-bounded). With `missingOk`, a
 * file that does not exist gives the built-in defaults (the audit commands' default policy path may be
 * absent on a host configured by flags); any other read failure, and a missing file otherwise, is E_CONFIG.
 */
export async function loadPolicy(
  file: string = DEFAULT_POLICY_FILE,
  opts: { missingOk?: boolean } = {},
): Promise<HostPolicy> {
  let bytes: Uint8Array;
  try {
    bytes = await readBounded(file, { maxBytes: INPUT_LIMITS.policy, what: 'policy' });
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    const errno = (e.cause as NodeJS.ErrnoException | undefined)?.code;
    if (opts.missingOk === true && errno === 'ENOENT') return defaultPolicy();
    throw new ConfigError(e.message, { file: resolve(file), cause: e });
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (e) {
    throw new ConfigError(`policy ${resolve(file)}: not UTF-8 text`, { file: resolve(file), cause: e });
  }
  return parsePolicy(text, { file });
}
