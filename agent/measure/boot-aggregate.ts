// SPDX-License-Identifier: Apache-2.0
/**
 * IMA's first entry, `boot_aggregate`, checked against quoted PCRs: it ties the IMA list to the boot the
 * quote attests. The kernel (security/integrity/ima/ima_crypto.c, ima_calc_boot_aggregate) hashes, with
 * the entry's digest algorithm, the values of PCRs 0–7 in the bank of that algorithm, and for a bank other
 * than SHA-1 also PCRs 8–9 (the boot loader's command line and kernel); with no TPM at IMA's start the
 * digest is all zeros. Kernels before PCRs 8–9 were added hashed 0–7 only; both forms are accepted and the
 * one seen is named.
 */
import { isHashAlgorithm, tpmAlgOf } from '../crypto/algorithms.js';
import { digest } from '../crypto/hash.js';
import { concatBytes, toHex as hex } from '../encoding/bytes.js';
import type { PcrValues } from '../tpm/pcr-selection.js';
import type { ImaEntry } from './ima/index.js';

export const BOOT_AGGREGATE = 'boot_aggregate';

export type BootAggregateCheck =
  | { readonly status: 'match'; readonly pcrs: '0-7' | '0-9' }
  | { readonly status: 'mismatch'; readonly message: string }
  /** The quote lacks PCRs the check needs, in the entry's bank: it is not judged. */
  | { readonly status: 'not-quoted'; readonly message: string }
  /** The list does not start with a boot_aggregate entry (e.g. a list resumed from a checkpoint). */
  | { readonly status: 'absent' };

/** Judges `first` (the list's entry 0) against the quoted PCR values. */
export function checkBootAggregate(first: ImaEntry | undefined, quoted: PcrValues): BootAggregateCheck {
  if (
    first === undefined ||
    first.index !== 0 ||
    first.path !== BOOT_AGGREGATE ||
    first.fileDigest === undefined
  )
    return { status: 'absent' };
  const { algorithm, digest: got } = first.fileDigest;
  const alg = isHashAlgorithm(algorithm) ? algorithm : undefined;
  const bank = alg === undefined ? undefined : quoted.get(tpmAlgOf(alg));
  const wanted = alg === 'sha1' ? 8 : 10;
  const values: Uint8Array[] = [];
  for (let pcr = 0; pcr < wanted; pcr++) {
    const v = bank?.get(pcr);
    if (v === undefined) {
      return {
        status: 'not-quoted',
        message: `boot_aggregate (${algorithm}) needs PCRs 0–${wanted - 1} of the ${algorithm} bank in the quote`,
      };
    }
    values.push(v);
  }
  if (alg === undefined) return { status: 'not-quoted', message: `boot_aggregate uses ${algorithm}` };
  const concat = (n: number) => concatBytes(values.slice(0, n));
  const candidates: [Uint8Array, '0-7' | '0-9'][] =
    alg === 'sha1'
      ? [[concat(8), '0-7']]
      : [
          [concat(10), '0-9'],
          [concat(8), '0-7'],
        ];
  for (const [data, pcrs] of candidates)
    if (hex(digest(alg, new Uint8Array(data))) === hex(got)) return { status: 'match', pcrs };
  const expected = candidates.map(
    ([data, pcrs]) => `${hex(digest(alg, new Uint8Array(data)))} (PCRs ${pcrs})`,
  );
  return {
    status: 'mismatch',
    message:
      `boot_aggregate is ${algorithm}:${hex(got)}, but the quoted PCRs give ${expected.join(' or ')}: ` +
      'the IMA list is not from the boot the quote attests',
  };
}
