// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/measure/state/eventlog-verdict
 *
 * The verdict on a TCG event log against a verified quote (`eventlog verify`, and the boot evidence of
 * `state`): the log's replay must equal every judged quoted PCR (compare.ts). The verdict is the PCR
 * comparison; findings that say an event's data or type is not what was measured are returned beside it,
 * to report, since such an event changes no PCR once the values match but its data cannot be believed
 * (evidence.ts leaves it out of the boot chain).
 */
import { bankName } from '../../crypto/algorithms.js';
import type { PcrValues } from '../../tpm/pcr-selection.js';
import { type Comparison, compareWithQuote } from '../compare.js';
import { checkEvents, type EventFinding } from '../event-check.js';
import type { EventLog } from '../eventlog.js';
import { type ReplayResult, replayEventLog, type WorkaroundId } from '../replay.js';
import { UNTRUSTED_FINDINGS } from './evidence.js';

export interface EventLogVerdict {
  readonly ok: boolean;
  readonly comparison: Comparison;
  readonly replay: ReplayResult;
  readonly findings: readonly EventFinding[];
  /** The findings whose event's data or type is not what was measured. */
  readonly untrusted: readonly EventFinding[];
  /** Bank name → PCRs on which the log replayed to the quote; empty unless `ok`. */
  readonly verified: ReadonlyMap<string, ReadonlySet<number>>;
}

export interface EventLogVerdictOptions {
  readonly workarounds?: readonly WorkaroundId[];
  /** Judge only these quoted PCRs (default: every quoted PCR). */
  readonly only?: (pcr: number) => boolean;
  /** The replay of `log` with the same workarounds, when the caller has it already. */
  readonly replay?: ReplayResult;
}

/** Judges `log` against `quoted`, the PCR values of a verified quote (TPM_ALG_ID → PCR → value). */
export function judgeEventLog(
  log: EventLog,
  quoted: PcrValues,
  options: EventLogVerdictOptions = {},
): EventLogVerdict {
  const replay = options.replay ?? replayEventLog(log, { workarounds: options.workarounds ?? [] });
  const only = options.only;
  const judged: PcrValues =
    only === undefined
      ? quoted
      : new Map([...quoted].map(([alg, m]) => [alg, new Map([...m].filter(([p]) => only(p)))]));
  const findings = checkEvents(log);
  const comparison = compareWithQuote(log, replay, judged, { findings });
  const verified = new Map<string, Set<number>>();
  if (comparison.ok)
    for (const p of comparison.matched) {
      const name = bankName(p.algId);
      verified.set(name, (verified.get(name) ?? new Set()).add(p.pcr));
    }
  return {
    ok: comparison.ok,
    comparison,
    replay,
    findings,
    untrusted: findings.filter((f) => UNTRUSTED_FINDINGS.has(f.code)),
    verified,
  };
}
