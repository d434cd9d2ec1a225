// SPDX-License-Identifier: Apache-2.0
/**
 * PCR banks and reads; the selection type and its forms are pcr-selection.ts's. TPM2_PCR_Read returns
 * at most 8 digests per call (Part 3 §22.4: the TPM answers with the subset it could fit, in
 * pcrSelectionOut), so reading a selection loops until every requested PCR has a value. The allocated
 * banks come from GetCapability(TPM_CAP_PCRS); asking for a bank that is not allocated is an error, never
 * an empty result.
 */
import { bankName } from '../crypto/algorithms.js';
import { ExecgateError } from '../errors.js';
import { GetCapability, PCR_Read } from './commands.js';
import { TPM_CAP } from './constants.js';
import { type PcrBankSelection, type PcrValues, pcrsOfBitmap, toTpml } from './pcr-selection.js';
import type { Tpm } from './tpm.js';

export type PcrErrorCode = 'E_PCR_BANK' | 'E_PCR_INDEX' | 'E_TPM_PROTOCOL';

export class PcrError extends ExecgateError<PcrErrorCode> {}

/** The banks the TPM has allocated, with the PCRs allocated in each (GetCapability TPM_CAP_PCRS). */
export async function allocatedBanks(tpm: Tpm): Promise<PcrBankSelection[]> {
  const rsp = await tpm.run(GetCapability, { capability: TPM_CAP.PCRS, property: 0, propertyCount: 1 });
  const cap = rsp.capabilityData;
  if (cap.capability !== TPM_CAP.PCRS) {
    throw new PcrError(
      'E_TPM_PROTOCOL',
      `GetCapability(TPM_CAP_PCRS) answered with capability 0x${cap.capability.toString(16)}`,
    );
  }
  return cap.data
    .map((s) => ({ hash: s.hash, pcrs: pcrsOfBitmap(s.pcrSelect) }))
    .filter((s) => s.pcrs.length > 0);
}

/**
 * Reads every PCR in `selection` (all allocated banks and PCRs when omitted), looping over PCR_Read.
 * Fails with E_PCR_BANK for a bank that is not allocated and E_PCR_INDEX for a PCR the bank lacks.
 */
export async function readPcrs(tpm: Tpm, selection?: readonly PcrBankSelection[]): Promise<PcrValues> {
  const banks = await allocatedBanks(tpm);
  const wanted = selection ?? banks;
  const pending = new Map<number, Set<number>>();
  for (const s of wanted) {
    const bank = banks.find((b) => b.hash === s.hash);
    if (!bank) {
      throw new PcrError(
        'E_PCR_BANK',
        `PCR bank ${bankName(s.hash)} is not allocated on this TPM (allocated: ${banks.map((b) => bankName(b.hash)).join(', ') || 'none'})`,
      );
    }
    for (const p of s.pcrs) {
      if (!bank.pcrs.includes(p))
        throw new PcrError('E_PCR_INDEX', `PCR ${p} does not exist in bank ${bankName(s.hash)}`);
    }
    const set = pending.get(s.hash) ?? new Set<number>();
    for (const p of s.pcrs) set.add(p);
    pending.set(s.hash, set);
  }

  const out: PcrValues = new Map([...pending.keys()].map((h) => [h, new Map<number, Uint8Array>()]));
  while ([...pending.values()].some((s) => s.size > 0)) {
    const ask = [...pending].filter(([, s]) => s.size > 0).map(([hash, s]) => ({ hash, pcrs: [...s] }));
    const rsp = await tpm.run(PCR_Read, { pcrSelectionIn: toTpml(ask) });
    const got = rsp.pcrSelectionOut.flatMap((s) =>
      pcrsOfBitmap(s.pcrSelect).map((pcr) => ({ hash: s.hash, pcr })),
    );
    if (got.length === 0 || got.length !== rsp.pcrValues.length) {
      throw new PcrError(
        'E_TPM_PROTOCOL',
        `PCR_Read returned ${rsp.pcrValues.length} digests for ${got.length} PCRs`,
      );
    }
    got.forEach(({ hash, pcr }, i) => {
      const set = pending.get(hash);
      const value = rsp.pcrValues[i];
      if (!set?.has(pcr) || !value)
        throw new PcrError('E_TPM_PROTOCOL', `PCR_Read returned unrequested PCR ${pcr}`);
      set.delete(pcr);
      out.get(hash)?.set(pcr, value);
    });
  }
  return out;
}
