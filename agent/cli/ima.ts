// SPDX-License-Identifier: Apache-2.0
/**
 * `execgate ima show | replay | verify [FILE]`: the kernel's IMA measurement list, decoded, replayed into
 * PCR values (incrementally from a saved checkpoint), and judged against a verified quote. The list grows
 * while a quote is taken, so verification finds the prefix of the list the quote covers.
 */
import {
  digestByteLen,
  HASH_ALGORITHM_NAMES,
  type HashAlgorithm,
  isHashAlgorithm,
  tpmAlgOf,
} from '../crypto/algorithms.js';
import { INPUT_LIMITS, InputError, readBoundedText } from '../fs/read-bounded.js';
import {
  type ImaCheckpoint,
  type ImaEntry,
  type ImaLog,
  type ImaReplayOptions,
  parseImaLog,
  replayImaLog,
} from '../measure/ima/index.js';
import { readMeasurementList, SECURITYFS_LIMITS } from '../measure/securityfs.js';
import { imaSelection, judgeIma, MeasuredStateError } from '../measure/state/index.js';
import { allocatedBanks } from '../tpm/pcr.js';
import { parseFlags, parseHex, toHex } from './args.js';
import type { CliContext } from './context.js';
import { QUOTE_SOURCE_FLAGS, QUOTE_SOURCE_HELP, quotedPcrs, readLogFile } from './evidence.js';
import { EXIT, UsageError } from './exit.js';
import { checkOutput, writeOutput } from './output.js';

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
Examples:
  execgate ima show /sys/kernel/security/ima/ascii_runtime_measurements
  execgate ima replay /sys/kernel/security/ima/binary_runtime_measurements --json
  execgate ima verify --checkpoint /var/lib/execgate/ima.checkpoint`;

/** A --hash/--bank/--ima-hash value. */
export function imaHashFlag(value: string | undefined, what: string): HashAlgorithm | undefined {
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
    bytes = await readLogFile(file, SECURITYFS_LIMITS.ima);
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
    text = await readBoundedText(file, { maxBytes: INPUT_LIMITS.checkpoint, what: '--checkpoint' });
  } catch (e) {
    if (e instanceof InputError && (e.cause as { code?: unknown } | undefined)?.code === 'ENOENT')
      return undefined;
    throw e;
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
  const bank = imaHashFlag(typeof o.bank === 'string' ? o.bank : '', 'the checkpoint bank');
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
  const hash = imaHashFlag(values.hash, '--hash') ?? 'sha1';
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

/** The checkpoint is state, rewritten by each run: replaced (never through a link). */
const CHECKPOINT = { mode: 0o644, replace: true } as const;

async function replay(argv: string[], ctx: CliContext): Promise<number> {
  const usage =
    'Usage: execgate ima replay [FILE] [--hash ALG] [--bank ALG] [--derive MODE] [--checkpoint FILE] [--json]';
  const { values, positionals } = parseFlags(argv, FLAGS, usage);
  const hash = imaHashFlag(values.hash, '--hash') ?? 'sha1';
  const bank = imaHashFlag(values.bank, '--bank');
  const from = await readCheckpoint(values.checkpoint);
  if (values.checkpoint !== undefined) await checkOutput('--checkpoint', values.checkpoint, CHECKPOINT);
  if (from !== undefined && bank !== undefined && from.bank !== bank)
    throw new UsageError(`--checkpoint is for the ${from.bank} bank, not ${bank}`);
  const { path, log } = await loadImaLog(fileArg(positionals, usage), hash, ctx, from);
  const options = replayOptions(log, bank ?? from?.bank, values.derive);
  const result = replayImaLog(log, from === undefined ? options : { ...options, from });
  if (values.checkpoint !== undefined)
    await writeOutput(
      '--checkpoint',
      values.checkpoint,
      `${JSON.stringify(checkpointJson(result))}\n`,
      CHECKPOINT,
    );
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

async function verify(argv: string[], ctx: CliContext): Promise<number> {
  const usage =
    'Usage: execgate ima verify [FILE] [--hash ALG] [--checkpoint FILE] [--pcrs SEL] [--ak-handle H | --quote BUNDLE --ak PEM --nonce HEX] [--json]';
  const { values, positionals } = parseFlags(argv, { ...FLAGS, ...QUOTE_SOURCE_FLAGS }, usage);
  const hash = imaHashFlag(values.hash, '--hash') ?? 'sha1';
  const from = await readCheckpoint(values.checkpoint);
  if (values.checkpoint !== undefined) await checkOutput('--checkpoint', values.checkpoint, CHECKPOINT);
  const { path, log } = await loadImaLog(fileArg(positionals, usage), hash, ctx, from);
  const quoted = await quotedPcrs(ctx, values, async (tpm) => imaSelection(log, await allocatedBanks(tpm)));
  const v = judgeIma(log, quoted.pcrs, from === undefined ? {} : { from });
  const { ok, match, problems, bootAggregate: aggregate } = v;
  if (ok && values.checkpoint !== undefined && match !== undefined)
    await writeOutput(
      '--checkpoint',
      values.checkpoint,
      `${JSON.stringify(checkpointJson(match.checkpoint))}\n`,
      CHECKPOINT,
    );
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
    // A failure goes on to the error below: the JSON on stdout, and the reason on stderr.
    if (ok) return EXIT.OK;
  }
  if (!ok)
    throw new MeasuredStateError(
      'E_IMA_MISMATCH',
      `${path} does not match the ${quoted.source}:\n  ${problems.join('\n  ')}`,
    );
  const c = match?.checkpoint.entryCount ?? 0;
  ctx.out(
    `OK: the ${quoted.source} covers entries 0–${c - 1} of ${total} in ${path}` +
      (c < total ? ` (${total - c} added since)` : ''),
  );
  if (aggregate.status === 'match') ctx.out(`boot_aggregate matches the quoted PCRs ${aggregate.pcrs}`);
  return EXIT.OK;
}

export const IMA_COMMANDS: Readonly<Record<string, (argv: string[], ctx: CliContext) => Promise<number>>> = {
  show,
  replay,
  verify,
};
