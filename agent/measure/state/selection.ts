// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/measure/state/selection
 *
 * Which PCRs a fresh quote must cover for a verdict: the verifier decides (DESIGN.md §4), from the rules it
 * will apply and the logs it will judge, never from what the evidence offers. A quote given by someone
 * else (an auditor's bundle) is judged as it is: a rule whose PCRs it lacks fails (check.ts, ima-verdict.ts).
 */

import { hashByName } from '../../crypto/algorithms.js';
import { TPM_ALG } from '../../tpm/constants.js';
import type { PcrBankSelection, PcrSelection } from '../../tpm/pcr-selection.js';
import { BOOT_AGGREGATE } from '../boot-aggregate.js';
import type { EventLog } from '../eventlog.js';
import type { ImaLog } from '../ima/index.js';
import type { ReferenceState } from '../reference.js';
import { PCR_COUNT, type ReplayResult } from '../replay.js';
import { RULE_PCRS } from './check.js';
import { IMA_PCR } from './ima-verdict.js';

const FIRMWARE_PCRS = [0, 1, 2, 3, 4, 5, 6, 7];
/** boot_aggregate hashes PCRs 0–7 (SHA-1) or 0–9 (other banks, Linux ≥ 5.8). */
const BOOT_AGGREGATE_PCRS = [...FIRMWARE_PCRS, 8, 9];

/** A selection being built: bank (TPM_ALG_ID) → PCRs, in the order banks were first added. */
class Builder {
  readonly #banks = new Map<number, Set<number>>();

  constructor(private readonly allocated: readonly PcrBankSelection[]) {}

  /** Adds `pcrs` of bank `hash`, as far as the TPM allocates them; false when it has no such bank. */
  add(hash: number, pcrs: Iterable<number>): boolean {
    const bank = this.allocated.find((b) => b.hash === hash);
    if (bank === undefined) return false;
    const set = this.#banks.get(hash) ?? new Set<number>();
    for (const p of pcrs) if (bank.pcrs.includes(p)) set.add(p);
    this.#banks.set(hash, set);
    return true;
  }

  has(pcr: number): boolean {
    for (const s of this.#banks.values()) if (s.has(pcr)) return true;
    return false;
  }

  /** `pcr` in the first bank already selected, else sha256, else the first allocated bank. */
  addInSomeBank(pcr: number): void {
    if (this.has(pcr)) return;
    const first = this.#banks.keys().next();
    const hash = first.done === true ? undefined : first.value;
    if (hash !== undefined && this.add(hash, [pcr])) return;
    if (!this.add(TPM_ALG.SHA256, [pcr]) && this.allocated[0] !== undefined)
      this.add(this.allocated[0].hash, [pcr]);
  }

  get size(): number {
    return this.#banks.size;
  }

  build(): PcrSelection {
    return [...this.#banks]
      .filter(([, pcrs]) => pcrs.size > 0)
      .map(([hash, pcrs]) => ({ hash, pcrs: [...pcrs].sort((a, b) => a - b) }));
  }
}

/**
 * The PCRs to quote to judge `log`: PCRs 0–7 and every PCR it extends, in every bank both the log and the
 * TPM have (`allocated`). Empty when they share no bank.
 */
export function eventLogSelection(
  log: EventLog,
  replay: ReplayResult,
  allocated: readonly PcrBankSelection[],
): PcrSelection {
  const pcrs = [...new Set([...FIRMWARE_PCRS, ...replay.extended])].filter((p) => p < PCR_COUNT);
  const inLog = new Set(log.algorithms.map((a) => a.algId));
  const b = new Builder(allocated);
  for (const bank of allocated)
    if (inLog.has(bank.hash) && replay.pcrs.has(bank.hash)) b.add(bank.hash, pcrs);
  return b.build();
}

/**
 * The PCRs to quote to judge `log`: PCR 10 in the list's bank when the TPM has it (else sha256), and PCRs
 * 0–9 in the bank of its boot_aggregate.
 */
export function imaSelection(log: ImaLog, allocated: readonly PcrBankSelection[]): PcrSelection {
  const b = new Builder(allocated);
  addIma(b, log);
  return b.build();
}

function addIma(b: Builder, log: ImaLog): void {
  const want = hashByName(log.templateHashAlgorithm)?.tpmAlg ?? TPM_ALG.SHA256;
  if (!b.add(want, [IMA_PCR])) b.add(TPM_ALG.SHA256, [IMA_PCR]);
  const first = log.entries[0];
  const alg =
    first?.path === BOOT_AGGREGATE ? hashByName(first.fileDigest?.algorithm ?? '')?.tpmAlg : undefined;
  if (alg !== undefined) b.add(alg, BOOT_AGGREGATE_PCRS);
}

export interface StateSelectionInput {
  /** The TPM's allocated banks and PCRs (tpm/pcr.ts allocatedBanks). */
  readonly allocated: readonly PcrBankSelection[];
  readonly eventLog?: { readonly log: EventLog; readonly replay: ReplayResult };
  readonly ima?: ImaLog;
  readonly reference?: ReferenceState;
}

/**
 * The PCRs to quote for a measured-state verdict: those of the logs judged (eventLogSelection,
 * imaSelection) and every PCR each reference rule reads, in the banks it names (check.ts RULE_PCRS);
 * sha256 PCRs 0–7 when nothing else asks for any.
 */
export function stateSelection(input: StateSelectionInput): PcrSelection {
  const b = new Builder(input.allocated);
  if (input.eventLog !== undefined)
    for (const s of eventLogSelection(input.eventLog.log, input.eventLog.replay, input.allocated))
      b.add(s.hash, s.pcrs);
  if (input.ima !== undefined) addIma(b, input.ima);
  const ref = input.reference;
  if (ref !== undefined) {
    for (const [name, byPcr] of Object.entries(ref.pcrs)) {
      const alg = hashByName(name)?.tpmAlg;
      if (alg !== undefined) b.add(alg, Object.keys(byPcr ?? {}).map(Number));
    }
    const r = ref.rules;
    for (const list of ['bootApplications', 'kernels', 'initrds', 'loaderFiles'] as const) {
      const rules = r[list];
      if (rules === undefined) continue;
      const banks = new Set(rules.map((x) => hashByName(x.bank)?.tpmAlg).filter((h) => h !== undefined));
      for (const p of RULE_PCRS[list]) {
        if (banks.size === 0) b.addInSomeBank(p);
        for (const h of banks) b.add(h, [p]);
      }
    }
    // Rules that read a PCR in any bank come last, so that they reuse a bank already asked for.
    if (r.secureBoot === 'required') for (const p of RULE_PCRS.secureBoot) b.addInSomeBank(p);
    if (r.bootCommands !== undefined) for (const p of RULE_PCRS.bootCommands) b.addInSomeBank(p);
    if (r.ima !== undefined) for (const p of RULE_PCRS.ima) b.addInSomeBank(p);
  }
  if (b.size === 0) b.add(TPM_ALG.SHA256, FIRMWARE_PCRS);
  return b.build();
}
