// SPDX-License-Identifier: Apache-2.0
/**
 * `execgate eventlog show | replay | verify [FILE]`: the TCG PC Client event log (the firmware's and the
 * boot loader's measurements), decoded, replayed into PCR values, and judged against a verified quote.
 */

import { bankName } from '../crypto/algorithms.js';
import { checkEvents, type EventFinding } from '../measure/event-check.js';
import {
  type DecodedEventData,
  decodeEventData,
  type VariableValue as UefiVariableValue,
} from '../measure/event-data/index.js';
import { type EventLog, EventLogError, parseEventLog } from '../measure/eventlog.js';
import { parseImaLog } from '../measure/ima/index.js';
import { replayEventLog, WORKAROUNDS, type WorkaroundId } from '../measure/replay.js';
import { readMeasurementList, SECURITYFS_LIMITS } from '../measure/securityfs.js';
import {
  eventLogSelection,
  judgeEventLog,
  MeasuredStateError,
  UNTRUSTED_FINDINGS as UNTRUSTED,
} from '../measure/state/index.js';
import { allocatedBanks } from '../tpm/pcr.js';
import type { PcrValues } from '../tpm/pcr-selection.js';
import { parseFlags, toHex } from './args.js';
import type { CliContext } from './context.js';
import { QUOTE_SOURCE_FLAGS, QUOTE_SOURCE_HELP, quotedPcrs, readLogFile } from './evidence.js';
import { EXIT, UsageError } from './exit.js';
import { jsonSafe } from './json.js';
import { eventLogVerdictJson } from './verdict-json.js';

export const EVENTLOG_HELP = `Usage: execgate eventlog <command> [FILE] [flags]

  show [FILE] [--json]             every event: PCR, type, digests, decoded data, and what cannot be trusted
  replay [FILE] [--json]           the PCR values the log implies (JSON as "tpm pcrs --json": bank → PCR → hex)
  verify [FILE] [--json]           replay against a verified TPM quote; a mismatch names the PCR and, where
                                   it can, the first event where log and TPM part ways

FILE is a binary TCG event log; without it, the kernel's copy in securityfs
(/sys/kernel/security/tpm0/binary_bios_measurements, readable by root; $EXECGATE_SECURITYFS moves the root).

replay and verify:
  --workaround ID  repair a known firmware quirk, only when the log shows it (opt-in; ids: ${Object.keys(WORKAROUNDS).join(', ')})
verify:
${QUOTE_SOURCE_HELP}
                   (default --pcrs: PCRs 0–7 and every PCR the log extends, in the banks both the log and the
                   TPM have)

Exit 0 when the log matches the quote, 7 when it does not (E_EVENTLOG_MISMATCH) or is malformed
(E_EVENTLOG_*), 8 when there is no log to read (E_MEASURE_NO_LOG, E_MEASURE_UNREADABLE).
Examples:
  execgate eventlog show --json | jq '.events | length'
  execgate eventlog replay boot.log --workaround ebs-events-missing
  execgate --tcti swtpm:host=127.0.0.1,port=2321 eventlog verify boot.log --json`;

/** The log at FILE, or the kernel's when FILE is absent; parsed. */
export async function loadEventLog(
  file: string | undefined,
  ctx: CliContext,
): Promise<{ path: string; log: EventLog }> {
  const root = ctx.env.EXECGATE_SECURITYFS;
  const { path, bytes } =
    file === undefined
      ? await readMeasurementList('tcg', root === undefined ? {} : { root })
      : { path: file, bytes: await readLogFile(file, SECURITYFS_LIMITS.tcg) };
  try {
    return { path, log: parseEventLog(bytes) };
  } catch (e) {
    if (e instanceof EventLogError && looksLikeIma(bytes))
      throw new EventLogError(
        e.code,
        `${path} is not a TCG event log but looks like an IMA measurement list: run execgate ima show ${path}`,
        e.offset,
        e.recordOffset,
        { cause: e },
      );
    throw e;
  }
}

/** Whether bytes that are no TCG event log parse as an IMA list (a mix-up the message should name). */
function looksLikeIma(bytes: Uint8Array): boolean {
  return (['sha1', 'sha256'] as const).some((alg) => {
    try {
      return parseImaLog(bytes, { templateHashAlgorithm: alg }).entries.length > 0;
    } catch {
      return false;
    }
  });
}

function fileArg(positionals: readonly string[], usage: string): string | undefined {
  if (positionals.length > 1)
    throw new UsageError(`at most one FILE, got "${positionals.join(' ')}"\n${usage}`);
  return positionals[0];
}

function workaroundsFlag(values: readonly string[] | undefined): WorkaroundId[] {
  return (values ?? []).map((id) => {
    if (!(id in WORKAROUNDS))
      throw new UsageError(`--workaround: unknown id "${id}"; known: ${Object.keys(WORKAROUNDS).join(', ')}`);
    return id as WorkaroundId;
  });
}

/** bank name → PCR → hex, for `pcrs` limited to `only` PCRs (every PCR when absent). */
export function pcrsJson(
  pcrs: PcrValues,
  only?: ReadonlySet<number>,
): Record<string, Record<string, string>> {
  const doc: Record<string, Record<string, string>> = {};
  for (const [alg, values] of pcrs) {
    const byIndex: Record<string, string> = {};
    for (const [pcr, v] of [...values].sort((a, b) => a[0] - b[0]))
      if (only === undefined || only.has(pcr)) byIndex[String(pcr)] = toHex(v);
    doc[bankName(alg)] = byIndex;
  }
  return doc;
}

const pcrText = (pcr: number) => (pcr === 0xffff_ffff ? '0xffffffff' : String(pcr));

function findingLine(f: EventFinding): string {
  return `      ! ${f.code}: ${f.message}`;
}

async function show(argv: string[], ctx: CliContext): Promise<number> {
  const usage = 'Usage: execgate eventlog show [FILE] [--json]';
  const { positionals } = parseFlags(argv, {}, usage);
  const { path, log } = await loadEventLog(fileArg(positionals, usage), ctx);
  const findings = checkEvents(log);
  const byEvent = new Map<number, EventFinding[]>();
  for (const f of findings) byEvent.set(f.index, [...(byEvent.get(f.index) ?? []), f]);
  if (ctx.json) {
    ctx.out(
      JSON.stringify({
        path,
        format: log.format,
        algorithms: log.algorithms.map((a) => ({ alg: bankName(a.algId), digestSize: a.digestSize })),
        ...(log.startupLocality === undefined ? {} : { startupLocality: log.startupLocality }),
        events: log.events.map((e) => ({
          index: e.index,
          offset: e.offset,
          pcr: e.pcrIndex,
          type: e.typeName,
          eventType: e.eventType,
          digests: Object.fromEntries(e.digests.map((d) => [bankName(d.algId), toHex(d.digest)])),
          data: jsonSafe(decodeEventData(e, log)),
          dataHex: toHex(e.data),
        })),
        findings,
      }),
    );
    return EXIT.OK;
  }
  ctx.out(
    `${path}: ${log.format} log, ${log.events.length} events, banks ${log.algorithms.map((a) => bankName(a.algId)).join(', ')}` +
      (log.startupLocality === undefined ? '' : `, StartupLocality ${log.startupLocality}`),
  );
  for (const e of log.events) {
    const digests = e.digests.map((d) => `${bankName(d.algId)}:${toHex(d.digest).slice(0, 16)}…`).join(' ');
    ctx.out(
      `${String(e.index).padStart(5)}  PCR ${String(e.pcrIndex).padStart(2)}  ${e.typeName}  ${digests}`,
    );
    const summary = summarize(decodeEventData(e, log));
    if (summary) ctx.out(`         ${summary}`);
    for (const f of byEvent.get(e.index) ?? []) ctx.out(findingLine(f));
  }
  ctx.out(
    findings.length === 0
      ? 'no findings'
      : `${findings.length} finding(s): events marked "!" cannot be trusted`,
  );
  return EXIT.OK;
}

/** One line about decoded event data, for the text listing (`--json` has every field). */
function summarize(d: DecodedEventData): string {
  switch (d.kind) {
    case 'raw':
      return '';
    case 'undecodable':
      return `(undecodable at byte ${d.at}: ${d.reason})`;
    case 'string':
      return JSON.stringify(d.text);
    case 'EV_SEPARATOR':
      return d.error ? 'separator: ERROR (0xffffffff)' : `separator ${d.value}`;
    case 'UEFI_IMAGE_LOAD_EVENT':
      return `${d.devicePathText ?? `(device path: ${d.devicePathError ?? 'none'})`}, ${d.imageLengthInMemory} bytes`;
    case 'UEFI_GPT_DATA':
      return `GPT disk ${d.uefiPartitionHeader.diskGUID}, ${d.numberOfPartitions} partitions`;
    case 'UEFI_PLATFORM_FIRMWARE_BLOB':
      return `firmware blob at 0x${d.blobBase.toString(16)}, ${d.blobLength} bytes`;
    case 'UEFI_PLATFORM_FIRMWARE_BLOB2':
      return `${JSON.stringify(d.blobDescription)} at 0x${d.blobBase.toString(16)}, ${d.blobLength} bytes`;
    case 'UEFI_HANDOFF_TABLE_POINTERS':
    case 'UEFI_HANDOFF_TABLE_POINTERS2':
      return `configuration tables ${d.tableEntry.map((t) => t.vendorGuid).join(', ')}`;
    case 'UEFI_VARIABLE_DATA':
      return `${d.unicodeName} (${d.variableName})${variableValue(d.value)}`;
    case 'TCG_EfiSpecIDEvent':
      return `Spec ID event: PC Client ${d.specVersionMajor}.${d.specVersionMinor} errata ${d.specErrata}, digests ${d.algorithms.map((a) => `${bankName(a.algId)}/${a.digestSize}`).join(', ')}`;
    case 'TCG_EfiStartupLocalityEvent':
      return `StartupLocality ${d.startupLocality}`;
    case 'TCG_PCClientTaggedEvent':
      return `tag 0x${d.taggedEventID.toString(16)}, ${d.taggedEventData.length} bytes`;
    default: {
      const text = JSON.stringify(jsonSafe(d));
      return text.length > 160 ? `${text.slice(0, 157)}…` : text;
    }
  }
}

function variableValue(v: UefiVariableValue | undefined): string {
  switch (v?.type) {
    case undefined:
      return '';
    case 'SecureBoot':
      return v.present ? ` = ${v.enabled ? 'enabled' : 'disabled'}` : ' absent';
    case 'BootOrder':
      return ` = ${v.order.map((n) => `Boot${n.toString(16).padStart(4, '0')}`).join(',')}`;
    case 'EFI_LOAD_OPTION':
      return ` = ${JSON.stringify(v.option.description)} ${v.option.devicePath}`;
    case 'EFI_SIGNATURE_LIST':
      return `: ${v.lists.length} signature list(s), ${v.lists.reduce((n, l) => n + l.signatures.length, 0)} entries`;
    case 'EFI_SIGNATURE_DATA':
      return `: signature owned by ${v.signature.signatureOwner}`;
    case 'undecodable':
      return ` (value undecodable at byte ${v.at}: ${v.reason})`;
  }
}

async function replay(argv: string[], ctx: CliContext): Promise<number> {
  const usage = 'Usage: execgate eventlog replay [FILE] [--workaround ID] [--json]';
  const { values, positionals } = parseFlags(argv, { workaround: { type: 'string', multiple: true } }, usage);
  const workarounds = workaroundsFlag(values.workaround);
  const { path, log } = await loadEventLog(fileArg(positionals, usage), ctx);
  const r = replayEventLog(log, { workarounds });
  const doc = pcrsJson(r.pcrs, r.extended);
  if (ctx.json) {
    ctx.out(JSON.stringify(doc));
    return EXIT.OK;
  }
  ctx.out(`${path}: PCRs the log extends (PCR 0 from locality ${r.pcr0Locality}, ${r.pcr0LocalitySource})`);
  for (const [name, byPcr] of Object.entries(doc)) {
    ctx.out(`${name}:`);
    for (const [pcr, v] of Object.entries(byPcr)) ctx.out(`  ${pcr.padStart(2)} : 0x${v.toUpperCase()}`);
  }
  for (const b of r.unsupportedBanks) ctx.out(`not replayed: bank ${bankName(b)} (no hash for it here)`);
  for (const b of r.incompleteBanks)
    ctx.out(`not replayed: bank ${bankName(b.algId)} (event ${b.firstEvent} has no digest for it)`);
  for (const w of r.appliedWorkarounds)
    ctx.out(`workaround ${w.id} applied to PCR ${w.pcr}: ${w.provenance}`);
  return EXIT.OK;
}

async function verify(argv: string[], ctx: CliContext): Promise<number> {
  const usage =
    'Usage: execgate eventlog verify [FILE] [--workaround ID] [--pcrs SEL] [--ak-handle H | --quote BUNDLE --ak PEM --nonce HEX] [--json]';
  const { values, positionals } = parseFlags(
    argv,
    { workaround: { type: 'string', multiple: true }, ...QUOTE_SOURCE_FLAGS },
    usage,
  );
  const workarounds = workaroundsFlag(values.workaround);
  const { path, log } = await loadEventLog(fileArg(positionals, usage), ctx);
  const r = replayEventLog(log, { workarounds });
  const quoted = await quotedPcrs(ctx, values, async (tpm) => {
    const selection = eventLogSelection(log, r, await allocatedBanks(tpm));
    if (selection.length === 0)
      throw new UsageError(
        `the TPM allocates none of the log's banks (${log.algorithms.map((a) => bankName(a.algId)).join(', ')})`,
      );
    return selection;
  });
  const v = judgeEventLog(log, quoted.pcrs, { replay: r });
  const { comparison: c, findings, untrusted } = v;
  if (ctx.json) {
    ctx.out(JSON.stringify(eventLogVerdictJson(v, path, quoted.source)));
    // A failure goes on to the error below: the JSON on stdout, and the reason on stderr.
    if (c.ok) return EXIT.OK;
  }
  if (!c.ok) {
    const lines = c.mismatches.map((m) => `  ${m.message}`);
    if (c.matched.length === 0 && c.mismatches.length === 0) lines.push('  the quote covers no PCR to judge');
    for (const f of untrusted)
      lines.push(`  event ${f.index} (PCR ${pcrText(f.pcrIndex)}) ${f.code}: ${f.message}`);
    throw new MeasuredStateError(
      'E_EVENTLOG_MISMATCH',
      `${path} does not match the ${quoted.source}:\n${lines.join('\n')}`,
    );
  }
  ctx.out(`OK: ${path} replays to the ${quoted.source}'s ${c.matched.length} PCR values`);
  if (c.notQuoted.length) ctx.out(`not quoted, so not verified: PCR ${c.notQuoted.join(', ')}`);
  // A type outside its PCR, or one the PFP does not define, is how a measured event is relabelled.
  const shown = new Set<string>(['unexpected-pcr', 'unknown-type']);
  for (const f of findings.filter((x) => UNTRUSTED.has(x.code) || shown.has(x.code)))
    ctx.out(
      UNTRUSTED.has(f.code)
        ? `warning: event ${f.index} (PCR ${pcrText(f.pcrIndex)}) ${f.code}, its data cannot be trusted: ${f.message}`
        : `warning: event ${f.index} (PCR ${pcrText(f.pcrIndex)}) ${f.code}: ${f.message}`,
    );
  const others = findings.filter((x) => !UNTRUSTED.has(x.code) && !shown.has(x.code)).length;
  if (others > 0) ctx.out(`${others} other event finding(s); "execgate eventlog show" lists them`);
  return EXIT.OK;
}

export const EVENTLOG_COMMANDS: Readonly<
  Record<string, (argv: string[], ctx: CliContext) => Promise<number>>
> = {
  show,
  replay,
  verify,
};
