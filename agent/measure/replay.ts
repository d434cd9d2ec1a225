// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/measure/replay
 *
 * Replays a parsed TCG PC Client event log into the PCR values it implies, per bank (the `PcrValues`
 * shape of agent/tpm/pcr.ts: bank TPM_ALG_ID → PCR index → value), for PCRs 0–23:
 *
 * - EV_NO_ACTION events are not extended (PFP 1.06 §10.4.5: "not extended into any PCR");
 * - every other event extends PCR[i] = H(PCR[i] ‖ digest) in each bank (TPM 2.0 Part 1 §17.7 PCR_Extend);
 * - reset values: PCRs 0–16 and 23 start at zeros, the DRTM PCRs 17–22 at all-ones (PFP §2.3.4, PCR
 *   usage / PC Client PTP PCR attributes), so PCRs without events keep those values;
 * - PCR 0 starts at 00…0L (PFP §10.4.5.3 Startup Locality Event): L is the locality of a StartupLocality
 *   EV_NO_ACTION event (0, 3 or 4); without one, L = 4 when the log has an EV_EFI_HCRTM_EVENT (an H-CRTM
 *   measured before TPM2_Startup, PFP §10.4.5.3 / §3.3.4.1; tpm2-tss fapi-eventlog.c states PCR 0 of such a
 *   log), else 0.
 *
 * Firmware workarounds are opt-in, named, and carry their provenance (`WORKAROUNDS`); replay reports which
 * ones it applied.
 *
 * Not checked: event data against digests, the event order, and whether a replayed value matches a TPM
 * (that is the caller's comparison against a verified quote). Banks whose hash the hashing facade lacks
 * (e.g. SM3_256) are listed in `unsupportedBanks`, and banks some event has no digest for in
 * `incompleteBanks`; neither is in `pcrs`.
 */
import { hashOfTpmAlg } from '../crypto/algorithms.js';
import { digest, type HashAlgorithm } from '../crypto/hash.js';
import { concatBytes, equalBytes } from '../encoding/bytes.js';
import type { PcrValues } from '../tpm/pcr-selection.js';
import { EV, type EventLog, EventLogError, type TcgEvent } from './eventlog.js';

/** PCRs a PC Client TPM has (PFP §2.3.4). */
export const PCR_COUNT = 24;

export type WorkaroundId = 'ebs-events-missing';

export interface Workaround {
  readonly id: WorkaroundId;
  readonly description: string;
  /** Where the workaround comes from, and the logs known to need it. */
  readonly provenance: string;
}

const EBS_INVOCATION = 'Exit Boot Services Invocation';
const EBS_SUCCESS = 'Exit Boot Services Returned with Success';

/** Opt-in firmware workarounds, each with its provenance. */
export const WORKAROUNDS: Readonly<Record<WorkaroundId, Workaround>> = {
  'ebs-events-missing': {
    id: 'ebs-events-missing',
    description:
      `Firmware extended the EV_EFI_ACTION events "${EBS_INVOCATION}" and "${EBS_SUCCESS}" into PCR 5 ` +
      '(PFP §10.4.4 / PCR[5] usage) but did not log them: when the log has no such PCR 5 event, replay ' +
      'appends both, each with the digest of its ASCII string (no NUL) in every bank.',
    provenance:
      'google/go-attestation attest/eventlog_workarounds.go (commit 01dcb11195918a758686759782b6aeb7e5e659bf), ' +
      'needed by its testdata/ebs_event_missing_eventlog (TestEBSVerifyWorkaround).',
  },
};

export interface ReplayOptions {
  /** Workarounds to apply when the log shows the quirk they repair; none by default. */
  readonly workarounds?: readonly WorkaroundId[];
  /**
   * Start PCR 0 at this locality instead of the one the log implies, e.g. to model a verifier that ignores
   * StartupLocality (tpm2_eventlog 5.x does).
   */
  readonly pcr0Locality?: 0 | 3 | 4;
}

export type LocalitySource = 'default' | 'StartupLocality' | 'H-CRTM' | 'option';

export interface AppliedWorkaround {
  readonly id: WorkaroundId;
  readonly provenance: string;
  readonly pcr: number;
  /** The synthetic events' data, in the order they were extended. */
  readonly events: readonly string[];
}

export interface ReplayResult {
  /** Every PCR 0–23 of every replayed bank. */
  readonly pcrs: PcrValues;
  /** PCR indices that at least one extended event touched. */
  readonly extended: ReadonlySet<number>;
  readonly pcr0Locality: 0 | 3 | 4;
  readonly pcr0LocalitySource: LocalitySource;
  /** Banks the log declares but this replay cannot hash (e.g. SM3_256), as TPM_ALG_IDs. */
  readonly unsupportedBanks: readonly number[];
  /** Banks some extended event has no digest for, left out of `pcrs`. */
  readonly incompleteBanks: readonly IncompleteBank[];
  readonly appliedWorkarounds: readonly AppliedWorkaround[];
}

export interface IncompleteBank {
  readonly algId: number;
  /** Index of the first extended event without a digest for this bank. */
  readonly firstEvent: number;
}

/** The value a PCR starts at: zeros, all-ones for DRTM PCRs 17–22, PCR 0's last byte the startup locality. */
export function resetValue(pcr: number, size: number, locality: number): Uint8Array {
  const value = new Uint8Array(size);
  if (pcr >= 17 && pcr <= 22) value.fill(0xff);
  if (pcr === 0) value[size - 1] = locality;
  return value;
}

function pcr0Start(
  log: EventLog,
  options: ReplayOptions | undefined,
): { locality: 0 | 3 | 4; source: LocalitySource } {
  if (options?.pcr0Locality !== undefined) return { locality: options.pcr0Locality, source: 'option' };
  const l = log.startupLocality;
  if (l !== undefined) {
    if (l !== 0 && l !== 3 && l !== 4) {
      const event = log.events.find(
        (e) => e.eventType === EV.NO_ACTION && e.pcrIndex === 0 && e.data.length === 17,
      );
      const at = event?.offset ?? 0;
      throw new EventLogError('E_EVENTLOG_FORMAT', `StartupLocality ${l} is not 0, 3 or 4`, at, at);
    }
    return { locality: l, source: 'StartupLocality' };
  }
  if (log.events.some((e) => e.eventType === EV.EFI_HCRTM_EVENT)) return { locality: 4, source: 'H-CRTM' };
  return { locality: 0, source: 'default' };
}

function hasEbsInvocation(events: readonly TcgEvent[]): boolean {
  const want = new TextEncoder().encode(EBS_INVOCATION);
  return events.some((e) => e.pcrIndex === 5 && e.eventType === EV.EFI_ACTION && equalBytes(e.data, want));
}

/**
 * Replays `log` into expected PCR values. Throws EventLogError (E_EVENTLOG_FORMAT) when the StartupLocality
 * value is not 0, 3 or 4.
 */
export function replayEventLog(log: EventLog, options?: ReplayOptions): ReplayResult {
  const { locality, source } = pcr0Start(log, options);
  const pcrs: PcrValues = new Map();
  const unsupportedBanks: number[] = [];
  const banks: { algId: number; hash: HashAlgorithm; values: Map<number, Uint8Array> }[] = [];
  for (const { algId, digestSize } of log.algorithms) {
    const hash = hashOfTpmAlg(algId);
    if (hash === undefined) {
      unsupportedBanks.push(algId);
      continue;
    }
    const values = new Map<number, Uint8Array>();
    for (let pcr = 0; pcr < PCR_COUNT; pcr++) values.set(pcr, resetValue(pcr, digestSize, locality));
    pcrs.set(algId, values);
    banks.push({ algId, hash, values });
  }

  const extended = new Set<number>();
  const extend = (pcr: number, bank: (typeof banks)[number], value: Uint8Array): void => {
    const current = bank.values.get(pcr) ?? new Uint8Array(0);
    bank.values.set(pcr, digest(bank.hash, concatBytes([current, value])));
  };

  // PFP §10.2.2: every TCG_PCR_EVENT2 carries a digest for each active bank. A bank that some extended
  // event lacks cannot be replayed: it is reported (with the first such event) and left out of `pcrs`.
  const incompleteBanks: IncompleteBank[] = [];
  for (const bank of banks) {
    const missing = log.events.find(
      (e) => e.eventType !== EV.NO_ACTION && !e.digests.some((d) => d.algId === bank.algId),
    );
    if (missing !== undefined) incompleteBanks.push({ algId: bank.algId, firstEvent: missing.index });
  }
  const complete = banks.filter((b) => !incompleteBanks.some((i) => i.algId === b.algId));
  for (const { algId } of incompleteBanks) pcrs.delete(algId);

  for (const event of log.events) {
    if (event.eventType === EV.NO_ACTION) continue;
    for (const bank of complete) {
      const d = event.digests.find((x) => x.algId === bank.algId);
      if (d !== undefined) extend(event.pcrIndex, bank, d.digest);
    }
    extended.add(event.pcrIndex);
  }

  const appliedWorkarounds: AppliedWorkaround[] = [];
  if (options?.workarounds?.includes('ebs-events-missing') === true && !hasEbsInvocation(log.events)) {
    const texts = [EBS_INVOCATION, EBS_SUCCESS];
    for (const text of texts) {
      const data = new TextEncoder().encode(text);
      for (const bank of complete) extend(5, bank, digest(bank.hash, data));
    }
    extended.add(5);
    appliedWorkarounds.push({
      id: 'ebs-events-missing',
      provenance: WORKAROUNDS['ebs-events-missing'].provenance,
      pcr: 5,
      events: texts,
    });
  }

  return {
    pcrs,
    extended,
    pcr0Locality: locality,
    pcr0LocalitySource: source,
    unsupportedBanks,
    incompleteBanks,
    appliedWorkarounds,
  };
}
