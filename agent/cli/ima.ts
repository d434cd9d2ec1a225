// SPDX-License-Identifier: Apache-2.0
/**
 * `execgate ima show | replay | verify [FILE]`: the kernel's IMA measurement list, decoded, replayed into
 * PCR values (incrementally from a saved checkpoint), and judged against a verified quote. The list grows
 * while a quote is taken, so verification finds the prefix of the list the quote covers.
 */
import { readFile } from 'node:fs/promises';
import {
  bankName,
  digestByteLen,
  HASH_ALGORITHM_NAMES,
  type HashAlgorithm,
  hashByName,
  hashOfTpmAlg,
  isHashAlgorithm,
  tpmAlgOf,
} from '../crypto/algorithms.js';
import { ExecgateError } from '../errors.js';
import { BOOT_AGGREGATE, checkBootAggregate } from '../measure/boot-aggregate.js';
import {
  type ImaCheckpoint,
  type ImaEntry,
  type ImaLog,
  type ImaReplayOptions,
  matchQuotedPrefix,
  parseImaLog,
  replayImaLog,
} from '../measure/ima.js';
import { readMeasurementList, readToEnd, SECURITYFS_LIMITS } from '../measure/securityfs.js';
import { TPM_ALG } from '../tpm/constants.js';
import { allocatedBanks } from '../tpm/pcr.js';
import type { PcrBankSelection, PcrSelection } from '../tpm/pcr-selection.js';
import type { Tpm } from '../tpm/tpm.js';
import { parseFlags, parseHex, toHex } from './args.js';
import { writeAtomic } from './atomic.js';
import type { CliContext } from './context.js';
import { QUOTE_SOURCE_FLAGS, QUOTE_SOURCE_HELP, quotedPcrs } from './evidence.js';
import { EXIT, UsageError } from './exit.js';

export const IMA_HELP = `Usage: execgate ima <command> [FILE] [flags]

  show [FILE] [--json]        every entry: PCR, template, file digest, path, and whether its template hash
                              recomputes from its data
  replay [FILE] [--json]      the PCR values the list implies (JSON as "tpm pcrs --json": bank → PCR → hex)
  verify [FILE] [--json]      find the prefix of the list a verified TPM quote of PCR 10 covers

FILE is an IMA list, binary or ASCII (detected); without it, the kernel's
/sys/kernel/security/ima/binary_runtime_measurements (root only; $EXECGATE_SECURITYFS moves the root).

  --hash ALG          the list's template-hash algorithm: sha1 (the classic list, default) or the bank of a
                      per-bank list (binary_runtime_measurements_sha256 → sha256)
  --bank ALG          replay into this bank (default: the list's); a SHA-1 list replays into another bank
                      by --derive recompute (Linux ≥ 5.8 hashes each bank itself) or padded-sha1 (older kernels)
  --checkpoint FILE   replay/verify: continue from the checkpoint in FILE when it exists, and save the new one
                      there (atomically): only entries added since are hashed
verify:
${QUOTE_SOURCE_HELP}
                      (default --pcrs: PCR 10 in the TPM's bank for the list, else sha256)

Exit 0 when a prefix of the list matches the quote, every entry in it is intact, and boot_aggregate is the
hash of the quoted PCRs 0–7 (SHA-1) or 0–9 (it ties the list to the attested boot); 7 when any of these
fails (E_IMA_MISMATCH) or the list is malformed (E_IMA_*); 8 when there is no list (E_MEASURE_NO_LOG).
Example:
  execgate ima replay /sys/kernel/security/ima/binary_runtime_measurements --json`;

/** The IMA list disagrees with the quote, or an entry's data is not what its template hash covers. */
export class ImaMismatchError extends ExecgateError<'E_IMA_MISMATCH'> {
  constructor(message: string) {
    super('E_IMA_MISMATCH', message);
  }
}

const IMA_PCR = 10;

function hashFlag(value: string | undefined, what: string): HashAlgorithm | undefined {
  if (value === undefined) return undefined;
  if (!isHashAlgorithm(value))
    throw new UsageError(`${what} must be one of ${HASH_ALGORITHM_NAMES.join(', ')}, got "${value}"`);
  return value;
}

function fileArg(positionals: readonly string[], usage: string): string | undefined {
  if (positionals.length > 1)
    throw new UsageError(`at most one FILE, got "${positionals.join(' ')}"\n${usage}`);
  return positionals[0];
}

/** The list at FILE, or the kernel's (the per-bank list for `hash` when it is not sha1); parsed. */
export async function loadImaLog(
  file: string | undefined,
  hash: HashAlgorithm,
  ctx: CliContext,
  resume?: ImaCheckpoint,
): Promise<{ path: string; log: ImaLog }> {
  const root = ctx.env.EXECGATE_SECURITYFS;
  let path: string;
  let bytes: Uint8Array;
  if (file === undefined) {
    const bank = hash === 'sha1' ? undefined : tpmAlgOf(hash);
    ({ path, bytes } = await readMeasurementList('ima-binary', {
      ...(root === undefined ? {} : { root }),
      ...(bank === undefined ? {} : { bank }),
    }));
  } else {
    path = file;
    try {
      bytes = await readToEnd(file, { maxBytes: SECURITYFS_LIMITS.ima });
    } catch (e) {
      if (e instanceof ExecgateError) throw e;
      throw new UsageError(`${file}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const log = parseImaLog(bytes, {
    templateHashAlgorithm: hash,
    ...(resume === undefined
      ? {}
      : { resume: { entryCount: resume.entryCount, byteOffset: resume.byteOffset } }),
  });
  return { path, log };
}

/** A checkpoint as JSON: {bank, entryCount, byteOffset, pcrs: {PCR: hex}}. */
function checkpointJson(c: ImaCheckpoint) {
  return {
    bank: c.bank,
    entryCount: c.entryCount,
    byteOffset: c.byteOffset,
    pcrs: Object.fromEntries([...c.pcrs].sort((a, b) => a[0] - b[0]).map(([p, v]) => [String(p), toHex(v)])),
  };
}

/** Reads a checkpoint file; undefined when it does not exist yet. */
async function readCheckpoint(file: string | undefined): Promise<ImaCheckpoint | undefined> {
  if (file === undefined) return undefined;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as { code?: unknown }).code === 'ENOENT') return undefined;
    throw new UsageError(`--checkpoint ${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const bad = (why: string) =>
    new UsageError(`--checkpoint ${file}: ${why}; delete it to replay from the start`);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw bad('not JSON');
  }
  const o = (typeof doc === 'object' && doc !== null ? doc : {}) as Record<string, unknown>;
  const bank = hashFlag(typeof o.bank === 'string' ? o.bank : '', 'the checkpoint bank');
  const count = (v: unknown, name: string) => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw bad(`"${name}" must be a count`);
    return v;
  };
  if (bank === undefined || typeof o.pcrs !== 'object' || o.pcrs === null) throw bad('needs bank and pcrs');
  const pcrs = new Map<number, Uint8Array>();
  for (const [k, v] of Object.entries(o.pcrs)) {
    if (!/^\d{1,2}$/.test(k) || typeof v !== 'string') throw bad(`bad PCR entry "${k}"`);
    const value = parseHex(v, `--checkpoint PCR ${k}`);
    if (value.length !== digestByteLen(bank)) throw bad(`PCR ${k} is not a ${bank} value`);
    pcrs.set(Number(k), value);
  }
  return {
    bank,
    entryCount: count(o.entryCount, 'entryCount'),
    byteOffset: count(o.byteOffset, 'byteOffset'),
    pcrs,
  };
}

function replayOptions(
  log: ImaLog,
  bank: HashAlgorithm | undefined,
  derive: string | undefined,
): ImaReplayOptions {
  if (derive !== undefined && derive !== 'recompute' && derive !== 'padded-sha1')
    throw new UsageError(`--derive must be recompute or padded-sha1, got "${derive}"`);
  const target = bank ?? log.templateHashAlgorithm;
  if (target === log.templateHashAlgorithm) return { bank: target };
  return { bank: target, derive: derive ?? 'recompute' };
}

function entryJson(e: ImaEntry) {
  return {
    index: e.index,
    pcr: e.pcr,
    template: e.templateName,
    templateHash: toHex(e.templateHash),
    templateHashCheck: e.templateHashCheck,
    ...(e.fileDigest === undefined
      ? {}
      : { digest: `${e.fileDigest.algorithm}:${toHex(e.fileDigest.digest)}` }),
    ...(e.path === undefined ? {} : { path: e.path }),
    ...(e.signature === undefined ? {} : { signature: toHex(e.signature) }),
    ...(e.buffer === undefined ? {} : { buffer: toHex(e.buffer) }),
  };
}

const FLAGS = {
  hash: { type: 'string' },
  bank: { type: 'string' },
  derive: { type: 'string' },
  checkpoint: { type: 'string' },
} as const;

async function show(argv: string[], ctx: CliContext): Promise<number> {
  const usage = 'Usage: execgate ima show [FILE] [--hash ALG] [--json]';
  const { values, positionals } = parseFlags(argv, { hash: FLAGS.hash }, usage);
  const hash = hashFlag(values.hash, '--hash') ?? 'sha1';
  const { path, log } = await loadImaLog(fileArg(positionals, usage), hash, ctx);
  if (ctx.json) {
    ctx.out(
      JSON.stringify({
        path,
        format: log.format,
        templateHash: log.templateHashAlgorithm,
        entries: log.entries.map(entryJson),
      }),
    );
    return EXIT.OK;
  }
  ctx.out(
    `${path}: ${log.format} list, ${log.entries.length} entries, ${log.templateHashAlgorithm} template hashes`,
  );
  for (const e of log.entries) {
    const d = e.fileDigest === undefined ? '-' : `${e.fileDigest.algorithm}:${toHex(e.fileDigest.digest)}`;
    const mark = e.templateHashCheck === 'match' ? '' : `  ! template hash ${e.templateHashCheck}`;
    ctx.out(`${String(e.index).padStart(6)}  PCR ${e.pcr}  ${e.templateName}  ${d}  ${e.path ?? ''}${mark}`);
  }
  return EXIT.OK;
}

async function replay(argv: string[], ctx: CliContext): Promise<number> {
  const usage =
    'Usage: execgate ima replay [FILE] [--hash ALG] [--bank ALG] [--derive MODE] [--checkpoint FILE] [--json]';
  const { values, positionals } = parseFlags(argv, FLAGS, usage);
  const hash = hashFlag(values.hash, '--hash') ?? 'sha1';
  const bank = hashFlag(values.bank, '--bank');
  const from = await readCheckpoint(values.checkpoint);
  if (from !== undefined && bank !== undefined && from.bank !== bank)
    throw new UsageError(`--checkpoint is for the ${from.bank} bank, not ${bank}`);
  const { path, log } = await loadImaLog(fileArg(positionals, usage), hash, ctx, from);
  const options = replayOptions(log, bank ?? from?.bank, values.derive);
  const result = replayImaLog(log, from === undefined ? options : { ...options, from });
  if (values.checkpoint !== undefined)
    await writeAtomic(values.checkpoint, `${JSON.stringify(checkpointJson(result))}\n`);
  const byPcr = checkpointJson(result).pcrs;
  if (ctx.json) {
    ctx.out(JSON.stringify({ [result.bank]: byPcr }));
    return EXIT.OK;
  }
  const resumed = from === undefined ? '' : ` (continued from entry ${from.entryCount})`;
  ctx.out(`${path}: ${result.entryCount} entries${resumed}`);
  ctx.out(`${result.bank}:`);
  for (const [pcr, v] of Object.entries(byPcr)) ctx.out(`  ${pcr.padStart(2)} : 0x${v.toUpperCase()}`);
  return EXIT.OK;
}

/** PCR 10 in the bank of the list when the TPM has it, else in sha256. */
async function defaultImaSelection(tpm: Tpm, log: ImaLog): Promise<PcrSelection> {
  const banks = await allocatedBanks(tpm);
  const want = tpmAlgOf(log.templateHashAlgorithm);
  const bank = banks.find((b) => b.hash === want) ?? banks.find((b) => b.hash === TPM_ALG.SHA256);
  if (bank === undefined)
    throw new UsageError("the TPM has neither the list's bank nor sha256 allocated; give --pcrs");
  return bootAggregateSelection(banks, log, [{ hash: bank.hash, pcrs: [IMA_PCR] }]);
}

/**
 * `selection` plus PCRs 0–9 in the bank of the list's boot_aggregate digest (when the TPM has it), so that
 * the entry can be checked against the same quote.
 */
export function bootAggregateSelection(
  allocated: readonly PcrBankSelection[],
  log: ImaLog,
  selection: PcrSelection,
): PcrSelection {
  const first = log.entries[0];
  const alg =
    first?.path === BOOT_AGGREGATE ? hashByName(first.fileDigest?.algorithm ?? '')?.tpmAlg : undefined;
  if (alg === undefined || !allocated.some((b) => b.hash === alg)) return selection;
  const pcrs = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const merged = selection.map((b) =>
    b.hash === alg ? { hash: b.hash, pcrs: [...new Set([...pcrs, ...b.pcrs])].sort((x, y) => x - y) } : b,
  );
  return merged.some((b) => b.hash === alg) ? merged : [...merged, { hash: alg, pcrs }];
}

export interface ImaQuoteMatch {
  /** The checkpoint at the end of the covered prefix. */
  readonly checkpoint: ImaCheckpoint;
  /** How the bank's values were derived from the list. */
  readonly derive?: 'recompute' | 'padded-sha1';
}

/**
 * The prefix of `log` whose replay equals the quoted PCR 10, trying each kernel's way of filling a bank
 * other than the list's; undefined when none matches.
 */
export function matchImaQuote(
  log: ImaLog,
  bank: HashAlgorithm,
  quoted: Uint8Array,
  from?: ImaCheckpoint,
): ImaQuoteMatch | undefined {
  const modes: readonly ImaReplayOptions['derive'][] =
    bank === log.templateHashAlgorithm ? [undefined] : ['recompute', 'padded-sha1'];
  for (const derive of modes) {
    const options: ImaReplayOptions = {
      bank,
      ...(derive === undefined ? {} : { derive }),
      ...(from === undefined ? {} : { from }),
    };
    const checkpoint = matchQuotedPrefix(log, IMA_PCR, quoted, options);
    if (checkpoint !== undefined) return derive === undefined ? { checkpoint } : { checkpoint, derive };
  }
  return undefined;
}

async function verify(argv: string[], ctx: CliContext): Promise<number> {
  const usage =
    'Usage: execgate ima verify [FILE] [--hash ALG] [--checkpoint FILE] [--pcrs SEL] [--ak-handle H | --quote BUNDLE --ak PEM --nonce HEX] [--json]';
  const { values, positionals } = parseFlags(argv, { ...FLAGS, ...QUOTE_SOURCE_FLAGS }, usage);
  const hash = hashFlag(values.hash, '--hash') ?? 'sha1';
  const from = await readCheckpoint(values.checkpoint);
  const { path, log } = await loadImaLog(fileArg(positionals, usage), hash, ctx, from);
  const quoted = await quotedPcrs(ctx, values, (tpm) => defaultImaSelection(tpm, log));
  const banks = [...quoted.pcrs].filter(([, m]) => m.has(IMA_PCR));
  if (banks.length === 0) throw new UsageError(`the quote does not cover PCR ${IMA_PCR}`);
  const problems: string[] = [];
  let match: ImaQuoteMatch | undefined;
  for (const [alg, m] of banks) {
    const name = bankName(alg);
    const bank = hashOfTpmAlg(alg);
    const value = m.get(IMA_PCR);
    if (bank === undefined || value === undefined) {
      problems.push(`bank ${name}: not replayable here`);
      continue;
    }
    if (from !== undefined && from.bank !== bank) continue;
    const found = matchImaQuote(log, bank, value, from);
    if (found === undefined)
      problems.push(`${name} PCR ${IMA_PCR}: no prefix of the list replays to the quoted ${toHex(value)}`);
    else match ??= found;
  }
  // Entries inside the covered prefix must be intact: their data is what a policy reads.
  const covered = match === undefined ? [] : log.entries.filter((e) => e.index < match.checkpoint.entryCount);
  const broken = covered.filter((e) => e.templateHashCheck === 'mismatch');
  for (const e of broken.slice(0, 20))
    problems.push(`entry ${e.index} (${e.path ?? 'no path'}): its template hash is not the hash of its data`);
  // The first entry ties the list to the boot the quote attests (a list from another boot, or from a
  // kernel that saw no TPM, fails); a list resumed from a checkpoint was tied when the checkpoint was made.
  const aggregate = checkBootAggregate(log.firstIndex === 0 ? log.entries[0] : undefined, quoted.pcrs);
  if (aggregate.status === 'mismatch') problems.push(aggregate.message);
  const ok = match !== undefined && broken.length === 0 && aggregate.status !== 'mismatch';
  if (ok && values.checkpoint !== undefined && match !== undefined)
    await writeAtomic(values.checkpoint, `${JSON.stringify(checkpointJson(match.checkpoint))}\n`);
  const total = log.firstIndex + log.entries.length;
  if (ctx.json) {
    ctx.out(
      JSON.stringify({
        ok,
        list: path,
        quote: quoted.source,
        entries: total,
        ...(match === undefined
          ? {}
          : { covered: match.checkpoint.entryCount, checkpoint: checkpointJson(match.checkpoint) }),
        ...(match?.derive === undefined ? {} : { derive: match.derive }),
        bootAggregate: aggregate,
        problems,
      }),
    );
    return ok ? EXIT.OK : EXIT.EVIDENCE_INVALID;
  }
  if (!ok)
    throw new ImaMismatchError(`${path} does not match the ${quoted.source}:\n  ${problems.join('\n  ')}`);
  const c = match?.checkpoint.entryCount ?? 0;
  ctx.out(
    `OK: the ${quoted.source} covers entries 0–${c - 1} of ${total} in ${path}` +
      (c < total ? ` (${total - c} added since)` : ''),
  );
  if (aggregate.status === 'match') ctx.out(`boot_aggregate matches the quoted PCRs ${aggregate.pcrs}`);
  if (aggregate.status === 'not-quoted') ctx.out(`boot_aggregate not checked: ${aggregate.message}`);
  return EXIT.OK;
}

export const IMA_COMMANDS: Readonly<Record<string, (argv: string[], ctx: CliContext) => Promise<number>>> = {
  show,
  replay,
  verify,
};
