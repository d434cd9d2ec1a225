// SPDX-License-Identifier: Apache-2.0
/**
 * `execgate state capture | check | digest`: the reference state of a host (DESIGN.md §4). Capture records
 * what a known-good host's verified quote, event log and IMA list show; check judges the same evidence,
 * taken now (or from a given quote), against a reference document. Logs count only once they match the
 * verified quote; anything that cannot be believed fails the check (fail closed).
 */
import { ExecgateError } from '../errors.js';
import { INPUT_LIMITS, readBounded } from '../fs/read-bounded.js';
import type { ImaLog } from '../measure/ima/index.js';
import {
  parseReferenceState,
  type ReferenceState,
  referenceDigest,
  stringifyReferenceState,
} from '../measure/reference.js';
import { replayEventLog } from '../measure/replay.js';
import {
  captureReference,
  judgeMeasuredState,
  MeasuredStateError,
  type MeasuredStateVerdict,
  stateSelection,
} from '../measure/state/index.js';
import { allocatedBanks } from '../tpm/pcr.js';
import { parseFlags, parseIndexList, toHex } from './args.js';
import type { CliContext } from './context.js';
import { loadEventLog } from './eventlog.js';
import { QUOTE_SOURCE_FLAGS, QUOTE_SOURCE_HELP, quotedPcrs } from './evidence.js';
import { EXIT, UsageError } from './exit.js';
import { imaHashFlag, loadImaLog } from './ima.js';
import { checkOutput, writeOutput } from './output.js';
import { stateCheckJson } from './verdict-json.js';

export const STATE_HELP = `Usage: execgate state <command> [flags]

  capture --out REF [--force] [--note TEXT] [--secure-boot required|any] [--exact-pcrs LIST|none]
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
                                    (default --pcrs: PCRs 0–7, those the log extends, PCR 10 and
                                    boot_aggregate's PCRs for IMA, and every PCR a rule of REF reads)

What a rule reads must be in the verified quote, or the rule fails (not-quoted): secureBoot PCR 7,
bootApplications PCR 4, kernels PCRs 4, 8, 9, initrds and loaderFiles PCRs 8, 9, bootCommands PCR 8, ima
PCR 10, pcrs those listed. bootApplications and kernels cover every event extended into PCR 4, and
kernels, initrds and loaderFiles every event of PCRs 8–9, by digest, whatever an event's type or
description says; bootCommands lists the boot loader's exact command strings in PCR 8.

A reference records exact PCR values (every quoted PCR but IMA's PCR 10, or only --exact-pcrs: e.g. 0-7 so
that kernels may change within the allowlist, or none), Secure Boot required when it was
enabled, the digests of the events in PCR 4 and PCRs 8–9 (boot applications, kernels, initrds, the boot
loader's other files) in the quoted banks, the boot loader's command strings, and every IMA (path,
digest) seen as an allowlist. Edit it to widen or narrow what is allowed; its digest
(RFC 8785 canonical JSON, SHA-256) changes only when its content does.
Exit 0 when the state matches, 7 when it does not (E_STATE_MISMATCH) or the evidence does not hold together,
2 for a malformed REF (E_REFERENCE_*), 8 when a log that is needed is missing.
Examples:
  execgate state capture --out /etc/execgate/reference.json --exact-pcrs 0-7
  execgate state check /etc/execgate/reference.json --json
  execgate state digest /etc/execgate/reference.json`;

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

/**
 * Reads the logs, takes (or checks) a quote of what the verdict needs, and returns the measured-state
 * verdict (agent/measure/state). `wantIma`: read the IMA list (a missing default list is then no IMA
 * evidence, not an error, when `imaOptional`).
 */
async function judge(
  ctx: CliContext,
  values: EvidenceValues,
  opts: { wantIma: boolean; imaOptional: boolean; ref?: ReferenceState },
): Promise<{ verdict: MeasuredStateVerdict; source: string }> {
  if (values.eventlog !== undefined && values['no-eventlog'])
    throw new UsageError('--eventlog and --no-eventlog exclude each other');
  if (values.ima !== undefined && values['no-ima'])
    throw new UsageError('--ima and --no-ima exclude each other');
  const hash = imaHashFlag(values['ima-hash'], '--ima-hash') ?? 'sha1';
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
  const quoted = await quotedPcrs(ctx, values, async (tpm) =>
    stateSelection({
      allocated: await allocatedBanks(tpm),
      ...(event === undefined ? {} : { eventLog: { log: event.log, replay: replayEventLog(event.log) } }),
      ...(ima === undefined ? {} : { ima: ima.log }),
      ...(opts.ref === undefined ? {} : { reference: opts.ref }),
    }),
  );
  const verdict = judgeMeasuredState({
    quoted: quoted.pcrs,
    quoteSource: quoted.source,
    ...(event === undefined ? {} : { eventLog: { log: event.log, source: `event log ${event.path}` } }),
    ...(ima === undefined ? {} : { ima: { log: ima.log, source: `IMA list ${ima.path}` } }),
    ...(opts.ref === undefined ? {} : { reference: opts.ref }),
  });
  return { verdict, source: quoted.source };
}

async function readReference(file: string | undefined, usage: string): Promise<ReferenceState> {
  if (file === undefined) throw new UsageError(`REF is required\n${usage}`);
  return parseReferenceState(await readBounded(file, { maxBytes: INPUT_LIMITS.reference, what: 'REF' }));
}

async function capture(argv: string[], ctx: CliContext): Promise<number> {
  const usage =
    'Usage: execgate state capture --out REF [--force] [--note TEXT] [--secure-boot required|any] [--exact-pcrs LIST|none] [evidence flags] [--json]';
  const { values, positionals } = parseFlags(
    argv,
    {
      out: { type: 'string' },
      force: { type: 'boolean' },
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
  // Refused before the TPM quotes: a missing directory, a planted link, a file kept without --force.
  await checkOutput('--out', values.out, { replace: values.force === true });
  const { verdict } = await judge(ctx, values, { wantIma: true, imaOptional: true });
  if (!verdict.ok)
    throw new MeasuredStateError(
      'E_STATE_MISMATCH',
      `the evidence does not hold together; nothing captured:\n  ${verdict.failures.map((p) => p.message).join('\n  ')}`,
    );
  // Exact values only for the PCRs asked for (e.g. firmware 0–7), so that allowlisted kernels can change.
  const evidence =
    keep === undefined
      ? verdict.evidence
      : {
          ...verdict.evidence,
          pcrs: new Map(
            [...verdict.evidence.pcrs].map(([b, m]) => [b, new Map([...m].filter(([p]) => keep.has(p)))]),
          ),
        };
  const doc = captureReference(evidence, {
    ...(values.note === undefined ? {} : { host: { note: values.note } }),
    ...(sb === undefined ? {} : { secureBoot: sb }),
  });
  await writeOutput('--out', values.out, stringifyReferenceState(doc), {
    mode: 0o644,
    replace: values.force === true,
  });
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
  const { verdict, source } = await judge(ctx, values, {
    wantIma: ref.rules.ima !== undefined || values.ima !== undefined,
    imaOptional: false,
    ref,
  });
  const { ok, failures } = verdict;
  const digest = referenceDigest(ref);
  const d = toHex(digest);
  if (ctx.json) {
    ctx.out(JSON.stringify(stateCheckJson(verdict, positionals[0], digest, source)));
    // A failure goes on to the error below: the JSON on stdout, and the reason on stderr.
    if (ok) return EXIT.OK;
  }
  if (!ok)
    throw new MeasuredStateError(
      'E_STATE_MISMATCH',
      `the state does not match ${positionals[0]} (sha256:${d}):\n  ${failures.map((f) => `${f.rule}: ${f.message}`).join('\n  ')}`,
    );
  ctx.out(`OK: the state matches ${positionals[0]} (sha256:${d}), judged on the ${source}`);
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
