// SPDX-License-Identifier: Apache-2.0
/**
 * `execgate state capture | check | digest`: the reference state of a host (DESIGN.md §4). Capture records
 * what a known-good host's verified quote, event log and IMA list show; check judges the same evidence,
 * taken now (or from a given quote), against a reference document. Logs count only once they match the
 * verified quote; anything that cannot be believed fails the check (fail closed).
 */
import { readFile } from 'node:fs/promises';
import {
  bankName,
  HASH_ALGORITHM_NAMES,
  type HashAlgorithm,
  hashByName,
  isHashAlgorithm,
  tpmAlgOf,
} from '../crypto/algorithms.js';
import { ExecgateError } from '../errors.js';
import { checkBootAggregate } from '../measure/boot-aggregate.js';
import { compareWithQuote } from '../measure/compare.js';
import { checkEvents } from '../measure/event-check.js';
import type { ImaLog } from '../measure/ima.js';
import {
  captureReference,
  checkReference,
  parseReferenceState,
  type ReferenceState,
  referenceDigest,
  type StateEvidence,
  type StateFailure,
  stringifyReferenceState,
} from '../measure/reference.js';
import { replayEventLog } from '../measure/replay.js';
import { bootEvidence, imaEvidence } from '../measure/state-evidence.js';
import { TPM_ALG } from '../tpm/constants.js';
import { allocatedBanks } from '../tpm/pcr.js';
import type { PcrSelection } from '../tpm/pcr-selection.js';
import type { Tpm } from '../tpm/tpm.js';
import { parseFlags, parseIndexList, toHex } from './args.js';
import { writeAtomic } from './atomic.js';
import type { CliContext } from './context.js';
import { defaultLogSelection, loadEventLog } from './eventlog.js';
import { QUOTE_SOURCE_FLAGS, QUOTE_SOURCE_HELP, quotedPcrs } from './evidence.js';
import { EXIT, UsageError } from './exit.js';
import { bootAggregateSelection, loadImaLog, matchImaQuote } from './ima.js';

export const STATE_HELP = `Usage: execgate state <command> [flags]

  capture --out REF [--note TEXT] [--secure-boot required|any] [--exact-pcrs LIST|none]
                                                                 record this host's measured state
  check REF [--json]                                             judge this host's state against REF
  digest REF                                                     the digest an artifact binds (sha256 hex)

Evidence (capture and check): a verified quote (fresh from this TPM, or --quote/--ak/--nonce), the event
log replayed against it, and the IMA list prefix it covers.
  --eventlog FILE | --no-eventlog   the TCG event log (default: securityfs); without it, no boot-chain rules
  --ima FILE | --no-ima             the IMA list (default: securityfs when present for capture, and whenever
                                    REF has an IMA rule for check)
  --ima-hash ALG                    template-hash algorithm of the IMA list (default sha1)
${QUOTE_SOURCE_HELP}
                                    (default --pcrs: PCRs 0–7, those the log extends, PCR 10 for IMA, and
                                    those REF names)

A reference records exact PCR values (every quoted PCR but IMA's PCR 10, or only --exact-pcrs: e.g. 0-7 so
that kernels may change within the allowlist, or none), Secure Boot required when it was
enabled, the boot applications, kernels and initrds seen (allowed digests per bank), and every IMA
(path, digest) seen as an allowlist. Edit it to widen or narrow what is allowed; its digest
(RFC 8785 canonical JSON, SHA-256) changes only when its content does.
Exit 0 when the state matches, 7 when it does not (E_STATE_MISMATCH) or the evidence does not hold together,
2 for a malformed REF (E_REFERENCE_*), 8 when a log that is needed is missing.
Example:
  execgate state capture --out /etc/execgate/reference.json && execgate state check /etc/execgate/reference.json`;

/** The measured state is not what the reference allows. */
export class StateMismatchError extends ExecgateError<'E_STATE_MISMATCH'> {
  constructor(message: string) {
    super('E_STATE_MISMATCH', message);
  }
}

const IMA_PCR = 10;

const EVIDENCE_FLAGS = {
  eventlog: { type: 'string' },
  'no-eventlog': { type: 'boolean' },
  ima: { type: 'string' },
  'no-ima': { type: 'boolean' },
  'ima-hash': { type: 'string' },
  ...QUOTE_SOURCE_FLAGS,
} as const;

interface EvidenceValues {
  readonly eventlog?: string | undefined;
  readonly 'no-eventlog'?: boolean | undefined;
  readonly ima?: string | undefined;
  readonly 'no-ima'?: boolean | undefined;
  readonly 'ima-hash'?: string | undefined;
  readonly pcrs?: string | undefined;
  readonly 'ak-handle'?: string | undefined;
  readonly quote?: string | undefined;
  readonly ak?: string | undefined;
  readonly nonce?: string | undefined;
}

interface Collected {
  readonly evidence: StateEvidence;
  /** Why some evidence could not be believed; each fails a check and refuses a capture. */
  readonly problems: readonly { readonly rule: 'pcr' | 'ima'; readonly message: string }[];
  readonly source: string;
}

function imaHash(value: string | undefined): HashAlgorithm {
  const v = value ?? 'sha1';
  if (!isHashAlgorithm(v))
    throw new UsageError(`--ima-hash must be one of ${HASH_ALGORITHM_NAMES.join(', ')}, got "${v}"`);
  return v;
}

/** Adds `pcrs` of bank `hash` to `selection` (merging banks). */
function addPcrs(selection: Map<number, Set<number>>, hash: number, pcrs: Iterable<number>): void {
  const set = selection.get(hash) ?? new Set<number>();
  for (const p of pcrs) set.add(p);
  selection.set(hash, set);
}

/**
 * Reads the logs, takes (or checks) the quote, replays the logs against it and builds the evidence.
 * `wantIma`: read the IMA list (a missing default list is then no IMA evidence, not an error, when
 * `imaOptional`).
 */
async function collect(
  ctx: CliContext,
  values: EvidenceValues,
  opts: { wantIma: boolean; imaOptional: boolean; ref?: ReferenceState },
): Promise<Collected> {
  if (values.eventlog !== undefined && values['no-eventlog'])
    throw new UsageError('--eventlog and --no-eventlog exclude each other');
  if (values.ima !== undefined && values['no-ima'])
    throw new UsageError('--ima and --no-ima exclude each other');
  const hash = imaHash(values['ima-hash']);
  const event = values['no-eventlog'] ? undefined : await loadEventLog(values.eventlog, ctx);
  let ima: { path: string; log: ImaLog } | undefined;
  if (opts.wantIma && !values['no-ima']) {
    try {
      ima = await loadImaLog(values.ima, hash, ctx);
    } catch (e) {
      const missing = e instanceof ExecgateError && e.code === 'E_MEASURE_NO_LOG';
      if (!(missing && opts.imaOptional && values.ima === undefined)) throw e;
    }
  }
  const replay = event === undefined ? undefined : replayEventLog(event.log);

  const selection = async (tpm: Tpm): Promise<PcrSelection> => {
    const banks = await allocatedBanks(tpm);
    const sel = new Map<number, Set<number>>();
    if (event !== undefined && replay !== undefined)
      for (const b of await defaultLogSelection(tpm, event.log, replay)) addPcrs(sel, b.hash, b.pcrs);
    if (ima !== undefined) {
      const want = tpmAlgOf(hash);
      const bank = banks.find((b) => b.hash === want) ?? banks.find((b) => b.hash === TPM_ALG.SHA256);
      if (bank !== undefined) addPcrs(sel, bank.hash, [IMA_PCR]);
    }
    for (const [name, byPcr] of Object.entries(opts.ref?.pcrs ?? {})) {
      const alg = hashByName(name)?.tpmAlg;
      if (alg !== undefined && banks.some((b) => b.hash === alg))
        addPcrs(sel, alg, Object.keys(byPcr).map(Number));
    }
    if (sel.size === 0)
      for (const b of banks.filter((b) => b.hash === TPM_ALG.SHA256))
        addPcrs(sel, b.hash, [0, 1, 2, 3, 4, 5, 6, 7]);
    const merged = [...sel].map(([h, pcrs]) => ({ hash: h, pcrs: [...pcrs].sort((a, b) => a - b) }));
    return ima === undefined ? merged : bootAggregateSelection(banks, ima.log, merged);
  };
  const quoted = await quotedPcrs(ctx, values, selection);
  const problems: { rule: 'pcr' | 'ima'; message: string }[] = [];

  let boot: StateEvidence['boot'];
  if (event !== undefined && replay !== undefined) {
    const findings = checkEvents(event.log);
    // The log answers for PCRs 0–7 and those it extends; IMA's PCR and others the reference names are
    // judged by their own rules.
    const logPcrs = new Set([0, 1, 2, 3, 4, 5, 6, 7, ...replay.extended]);
    const judged = new Map(
      [...quoted.pcrs].map(([alg, m]) => [alg, new Map([...m].filter(([p]) => logPcrs.has(p)))]),
    );
    const c = compareWithQuote(event.log, replay, judged, { findings });
    if (c.ok) boot = bootEvidence(event.log, findings);
    else
      for (const m of c.mismatches)
        problems.push({
          rule: 'pcr',
          message: `event log ${event.path} does not match the ${quoted.source}: ${m.message}`,
        });
  }

  let imaPart: StateEvidence['ima'];
  if (ima !== undefined) {
    const found = [...quoted.pcrs]
      .map(([alg, m]) => ({ name: bankName(alg), value: m.get(IMA_PCR) }))
      .flatMap(({ name, value }) => {
        const bank = isHashAlgorithm(name) ? name : undefined;
        return bank === undefined || value === undefined ? [] : [matchImaQuote(ima.log, bank, value)];
      })
      .find((m) => m !== undefined);
    if (found === undefined) {
      problems.push({
        rule: 'ima',
        message: `no prefix of the IMA list ${ima.path} replays to the ${quoted.source}'s PCR ${IMA_PCR}`,
      });
    } else {
      const aggregate = checkBootAggregate(ima.log.entries[0], quoted.pcrs);
      if (aggregate.status === 'mismatch') problems.push({ rule: 'ima', message: aggregate.message });
      const covered = ima.log.entries.filter((e) => e.index < found.checkpoint.entryCount);
      const r = imaEvidence(covered);
      imaPart = r.ima;
      for (const x of r.refused)
        problems.push({
          rule: 'ima',
          message: `IMA entry ${x.index}${x.path === undefined ? '' : ` (${x.path})`}: ${x.reason}`,
        });
    }
  }

  // IMA's PCR keeps changing: it is judged through the list, not as an exact value.
  const refPcrs: Readonly<Record<string, Readonly<Record<string, string>> | undefined>> =
    opts.ref?.pcrs ?? {};
  const pcrs = new Map<string, ReadonlyMap<number, Uint8Array>>();
  for (const [alg, m] of quoted.pcrs) {
    const named = refPcrs[bankName(alg)] ?? {};
    const kept = new Map(
      [...m].filter(([p]) => !(ima !== undefined && p === IMA_PCR && named[String(p)] === undefined)),
    );
    if (kept.size > 0) pcrs.set(bankName(alg), kept);
  }
  return {
    evidence: {
      pcrs,
      ...(boot === undefined ? {} : { boot }),
      ...(imaPart === undefined ? {} : { ima: imaPart }),
    },
    problems,
    source: quoted.source,
  };
}

async function readReference(file: string | undefined, usage: string): Promise<ReferenceState> {
  if (file === undefined) throw new UsageError(`REF is required\n${usage}`);
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(file));
  } catch (e) {
    throw new UsageError(`${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
  return parseReferenceState(bytes);
}

async function capture(argv: string[], ctx: CliContext): Promise<number> {
  const usage =
    'Usage: execgate state capture --out REF [--note TEXT] [--secure-boot required|any] [--exact-pcrs LIST|none] [evidence flags] [--json]';
  const { values, positionals } = parseFlags(
    argv,
    {
      out: { type: 'string' },
      note: { type: 'string' },
      'secure-boot': { type: 'string' },
      'exact-pcrs': { type: 'string' },
      ...EVIDENCE_FLAGS,
    },
    usage,
  );
  if (positionals.length) throw new UsageError(`unknown argument "${positionals[0]}"\n${usage}`);
  const exact = values['exact-pcrs'];
  const keep =
    exact === undefined
      ? undefined
      : new Set(exact === 'none' ? [] : parseIndexList(exact, '--exact-pcrs', 23));
  if (values.out === undefined) throw new UsageError(`--out REF is required\n${usage}`);
  const sb = values['secure-boot'];
  if (sb !== undefined && sb !== 'required' && sb !== 'any')
    throw new UsageError(`--secure-boot must be required or any, got "${sb}"`);
  const c = await collect(ctx, values, { wantIma: true, imaOptional: true });
  if (c.problems.length > 0)
    throw new StateMismatchError(
      `the evidence does not hold together; nothing captured:\n  ${c.problems.map((p) => p.message).join('\n  ')}`,
    );
  // Exact values only for the PCRs asked for (e.g. firmware 0–7), so that allowlisted kernels can change.
  const evidence =
    keep === undefined
      ? c.evidence
      : {
          ...c.evidence,
          pcrs: new Map(
            [...c.evidence.pcrs].map(([b, m]) => [b, new Map([...m].filter(([p]) => keep.has(p)))]),
          ),
        };
  const doc = captureReference(evidence, {
    ...(values.note === undefined ? {} : { host: { note: values.note } }),
    ...(sb === undefined ? {} : { secureBoot: sb }),
  });
  await writeAtomic(values.out, stringifyReferenceState(doc));
  const d = toHex(referenceDigest(doc));
  const imaCount = doc.rules.ima?.allowlist.length;
  if (ctx.json) {
    ctx.out(
      JSON.stringify({
        out: values.out,
        digest: d,
        pcrs: doc.pcrs,
        secureBoot: doc.rules.secureBoot,
        imaAllowlist: imaCount ?? null,
      }),
    );
    return EXIT.OK;
  }
  const pcrCount = Object.values(doc.pcrs).reduce((n, m) => n + Object.keys(m).length, 0);
  ctx.out(
    `wrote ${values.out}: ${pcrCount} PCR values, Secure Boot ${doc.rules.secureBoot}` +
      (doc.rules.bootApplications === undefined
        ? ''
        : `, ${doc.rules.bootApplications.length} boot application digests`) +
      (imaCount === undefined ? ', no IMA list' : `, ${imaCount} IMA allowlist entries`),
  );
  ctx.out(`digest sha256:${d}`);
  return EXIT.OK;
}

async function check(argv: string[], ctx: CliContext): Promise<number> {
  const usage = 'Usage: execgate state check REF [evidence flags] [--json]';
  const { values, positionals } = parseFlags(argv, EVIDENCE_FLAGS, usage);
  if (positionals.length > 1) throw new UsageError(`one REF, got "${positionals.join(' ')}"\n${usage}`);
  const ref = await readReference(positionals[0], usage);
  const c = await collect(ctx, values, {
    wantIma: ref.rules.ima !== undefined || values.ima !== undefined,
    imaOptional: false,
    ref,
  });
  const verdict = checkReference(ref, c.evidence);
  const failures: { rule: string; code: string; message: string }[] = [
    ...c.problems.map((p) => ({ rule: p.rule, code: 'evidence-untrusted', message: p.message })),
    ...verdict.failures.map((f: StateFailure) => ({ rule: f.rule, code: f.code, message: f.message })),
  ];
  const ok = failures.length === 0;
  const d = toHex(referenceDigest(ref));
  if (ctx.json) {
    ctx.out(JSON.stringify({ ok, reference: positionals[0], digest: d, quote: c.source, failures }));
    return ok ? EXIT.OK : EXIT.EVIDENCE_INVALID;
  }
  if (!ok)
    throw new StateMismatchError(
      `the state does not match ${positionals[0]} (sha256:${d}):\n  ${failures.map((f) => `${f.rule}: ${f.message}`).join('\n  ')}`,
    );
  ctx.out(`OK: the state matches ${positionals[0]} (sha256:${d}), judged on the ${c.source}`);
  return EXIT.OK;
}

async function digestCmd(argv: string[], ctx: CliContext): Promise<number> {
  const usage = 'Usage: execgate state digest REF';
  const { positionals } = parseFlags(argv, {}, usage);
  if (positionals.length > 1) throw new UsageError(`one REF, got "${positionals.join(' ')}"\n${usage}`);
  const d = toHex(referenceDigest(await readReference(positionals[0], usage)));
  ctx.out(ctx.json ? JSON.stringify({ digest: d }) : d);
  return EXIT.OK;
}

export const STATE_COMMANDS: Readonly<Record<string, (argv: string[], ctx: CliContext) => Promise<number>>> =
  {
    capture,
    check,
    digest: digestCmd,
  };
