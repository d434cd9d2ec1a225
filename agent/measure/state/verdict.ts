// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/measure/state/verdict
 *
 * The measured-state verdict (DESIGN.md §4): one pure function, used by `state check|capture` and the gate.
 * In: the PCR values of a quote that has passed verification, the logs (optional), and what is required (a
 * reference-state document, an artifact's PCR-digest claim, or nothing for a capture). Out: every failure,
 * by rule, and the evidence that could be believed. Fail closed: a log that does not match the quote, an
 * entry whose data is not what was measured, a rule whose PCRs the quote lacks, each fails.
 *
 * - The event log is judged on every quoted PCR it answers for: 0–9 (firmware and boot loader, whose
 *   every extend the PFP puts in the log, so a PCR whose events were all dropped fails) and those it
 *   extends. Its events are evidence only for (bank, PCR)s it matched (evidence.ts).
 * - The IMA list is judged by ima-verdict.ts (every quoted bank of PCR 10, intact entries, boot_aggregate).
 * - IMA's PCR 10 keeps changing, so it is judged through the list, not as an exact value, unless the
 *   reference names it.
 *
 * Not covered: the quote's signature, nonce and signer (agent/attest/verify-quote.ts, before this).
 */

import { bankName } from '../../crypto/algorithms.js';
import { digest } from '../../crypto/hash.js';
import { concatBytes, toHex as hex } from '../../encoding/bytes.js';
import { ExecgateError } from '../../errors.js';
import type { PcrValues } from '../../tpm/pcr-selection.js';
import type { EventLog } from '../eventlog.js';
import type { ImaLog } from '../ima/index.js';
import type { ReferenceState } from '../reference.js';
import { replayEventLog, type WorkaroundId } from '../replay.js';
import { checkReference } from './check.js';
import { type EventLogVerdict, judgeEventLog } from './eventlog-verdict.js';
import { type BootEvidence, bootEvidence, imaEvidence, type StateEvidence } from './evidence.js';
import { type AddFailure, failureList, type StateFailure } from './failure.js';
import { IMA_PCR, type ImaVerdict, judgeIma } from './ima-verdict.js';

/** An artifact's `state` claim binding PCR values: the pcrDigest a SHA-256 quote of `pcrs` carries. */
export interface PcrDigestClaim {
  readonly bank: 'sha256';
  /** Ascending PCR indices. */
  readonly pcrs: readonly number[];
  readonly digest: Uint8Array;
}

export interface MeasuredStateInput {
  /** The PCR values of a verified quote: TPM_ALG_ID → PCR → value. */
  readonly quoted: PcrValues;
  /** 'fresh quote', 'quote FILE': named in messages. */
  readonly quoteSource?: string;
  readonly eventLog?: {
    readonly log: EventLog;
    readonly source?: string;
    readonly workarounds?: readonly WorkaroundId[];
  };
  readonly ima?: { readonly log: ImaLog; readonly source?: string };
  readonly reference?: ReferenceState;
  readonly claim?: PcrDigestClaim;
}

export interface MeasuredStateVerdict {
  readonly ok: boolean;
  readonly failures: readonly StateFailure[];
  /** What could be believed (the input of a capture). */
  readonly evidence: StateEvidence;
  readonly eventLog?: EventLogVerdict;
  readonly ima?: ImaVerdict;
}

/** Judges the measured state; see the module comment. Never throws for hostile log contents. */
export function judgeMeasuredState(input: MeasuredStateInput): MeasuredStateVerdict {
  const list = failureList();
  const { add } = list;
  const quote = input.quoteSource ?? 'verified quote';

  let eventLog: EventLogVerdict | undefined;
  let boot: BootEvidence | undefined;
  if (input.eventLog !== undefined) {
    const { log } = input.eventLog;
    const source = input.eventLog.source ?? 'the event log';
    const judged = tryJudgeEventLog(log, input.quoted, input.eventLog.workarounds ?? []);
    if (judged instanceof ExecgateError) {
      add(
        'eventlog',
        'evidence-untrusted',
        `${source} cannot be replayed: ${judged.code}: ${judged.message}`,
        {
          code: judged.code,
        },
      );
    } else {
      eventLog = judged;
      if (judged.ok) boot = bootEvidence(log, judged.findings, judged.verified);
      const c = judged.comparison;
      for (const m of c.mismatches)
        add('eventlog', 'evidence-untrusted', `${source} does not match the ${quote}: ${m.message}`, {
          bank: bankName(m.algId),
          pcr: m.pcr,
        });
      if (!judged.ok && c.mismatches.length === 0)
        add(
          'eventlog',
          'evidence-untrusted',
          `the ${quote} covers none of the PCRs ${source} answers for (0–9)`,
        );
    }
  }

  let ima: ImaVerdict | undefined;
  let imaPart: StateEvidence['ima'];
  if (input.ima !== undefined) {
    const source = input.ima.source ?? 'the IMA list';
    // A capture records the list, and an IMA rule judges it, as part of this boot: it must be tied to it.
    const requireBootAggregate = input.reference === undefined || input.reference.rules.ima !== undefined;
    ima = judgeIma(input.ima.log, input.quoted, { requireBootAggregate });
    for (const p of ima.problems) add('ima', 'evidence-untrusted', `${source}: ${p}`);
    if (ima.match !== undefined) {
      const r = imaEvidence(ima.covered);
      imaPart = r.ima;
      for (const x of r.refused.filter((x) => x.code !== 'template-hash-mismatch'))
        add(
          'ima',
          'evidence-untrusted',
          `IMA entry ${x.index}${x.path === undefined ? '' : ` (${x.path})`}: ${x.reason}`,
          {
            index: x.index,
          },
        );
    }
  }

  const namedExactly = (name: string, pcr: number) =>
    input.reference?.pcrs[name as 'sha256']?.[String(pcr)] !== undefined;
  const pcrs = new Map<string, ReadonlyMap<number, Uint8Array>>();
  for (const [alg, m] of input.quoted) {
    const name = bankName(alg);
    const kept = new Map(
      [...m].filter(([p]) => !(input.ima !== undefined && p === IMA_PCR && !namedExactly(name, p))),
    );
    if (kept.size > 0) pcrs.set(name, kept);
  }
  const evidence: StateEvidence = {
    pcrs,
    ...(boot === undefined ? {} : { boot }),
    ...(imaPart === undefined ? {} : { ima: imaPart }),
  };

  if (input.reference !== undefined) list.addAll(checkReference(input.reference, evidence).failures);
  if (input.claim !== undefined) checkClaim(input.claim, input.quoted, add);
  const failures = list.done();
  return {
    ok: failures.length === 0,
    failures,
    evidence,
    ...(eventLog === undefined ? {} : { eventLog }),
    ...(ima === undefined ? {} : { ima }),
  };
}

/**
 * The event log judged on every quoted PCR it answers for (0–9 and those it extends), or the typed error
 * that makes it impossible to replay (a StartupLocality no TPM has): hostile input fails the verdict, never
 * throws out of it.
 */
function tryJudgeEventLog(
  log: EventLog,
  quoted: PcrValues,
  workarounds: readonly WorkaroundId[],
): EventLogVerdict | ExecgateError {
  try {
    const replay = replayEventLog(log, { workarounds });
    return judgeEventLog(log, quoted, { replay, only: (pcr) => pcr <= 9 || replay.extended.has(pcr) });
  } catch (e) {
    if (e instanceof ExecgateError) return e;
    throw e;
  }
}

/** The claim's PCRs, quoted in SHA-256, hash to its digest (the quote's pcrDigest form, Part 3 §18.4). */
function checkClaim(claim: PcrDigestClaim, quoted: PcrValues, add: AddFailure): void {
  const bank = [...quoted].find(([alg]) => bankName(alg) === claim.bank)?.[1];
  const missing = claim.pcrs.filter((p) => bank?.get(p) === undefined);
  if (missing.length > 0) {
    add(
      'pcr-digest',
      'not-quoted',
      `the claim binds ${claim.bank} PCRs ${missing.join(', ')}, which the verified quote does not cover`,
      {
        pcrs: missing,
        bank: claim.bank,
      },
    );
    return;
  }
  const actual = digest('sha256', concatBytes(claim.pcrs.map((p) => bank?.get(p) ?? new Uint8Array(0))));
  if (hex(actual) !== hex(claim.digest))
    add(
      'pcr-digest',
      'pcr-mismatch',
      `the ${claim.bank} PCRs ${claim.pcrs.join(', ')} hash to ${hex(actual)}, the claim binds ${hex(claim.digest)}`,
      {
        bank: claim.bank,
        expected: hex(claim.digest),
        actual: hex(actual),
      },
    );
}
