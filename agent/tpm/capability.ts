// SPDX-License-Identifier: Apache-2.0
/**
 * TPM2_GetCapability over all pages (Part 3 §30.2: `moreData` says more follow) and the TPM's identity
 * and limits as `execgate tpm info` shows them.
 */
import { bankName } from '../crypto/algorithms.js';
import { GetCapability } from './commands.js';
import { TPM_CAP, TPM_PT } from './constants.js';
import { TpmTransportError } from './errors.js';
import { allocatedBanks } from './pcr.js';
import type { Tpm } from './tpm.js';

/**
 * Every TPM property from `first` on (TPM_CAP_TPM_PROPERTIES), following moreData. The TPM answers one
 * group per call (Part 3 §30.2: PT_FIXED 0x100…, PT_VAR 0x200…) and ends each group with moreData NO, so
 * a read starting in the fixed group continues at the variable one.
 */
export async function tpmProperties(
  tpm: Tpm,
  first: number = TPM_PT.FAMILY_INDICATOR,
): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  const groups = first < TPM_PT.PERMANENT ? [first, TPM_PT.PERMANENT] : [first];
  for (const start of groups) {
    let property = start;
    for (let page = 0; page < 64; page++) {
      const rsp = await tpm.run(GetCapability, {
        capability: TPM_CAP.TPM_PROPERTIES,
        property,
        propertyCount: 127,
      });
      const cap = rsp.capabilityData;
      if (cap.capability !== TPM_CAP.TPM_PROPERTIES) {
        throw new TpmTransportError(
          'E_TPM_PROTOCOL',
          `GetCapability(TPM_CAP_TPM_PROPERTIES) answered with capability 0x${cap.capability.toString(16)}`,
        );
      }
      const list = cap.data;
      for (const p of list) out.set(p.property, p.value);
      const last = list.at(-1);
      if (!rsp.moreData || !last) break;
      property = last.property + 1;
    }
  }
  return out;
}

/** Four-byte words of a property string as ASCII (Part 2 §6.13: one string in 4-byte pieces). */
function ascii(words: readonly (number | undefined)[]): string {
  const bytes = words.flatMap((w) =>
    w === undefined ? [] : [w >>> 24, (w >>> 16) & 0xff, (w >>> 8) & 0xff, w & 0xff],
  );
  // NUL padding goes; spaces inside the string stay ("SW  " + " TPM" is "SW   TPM").
  return String.fromCharCode(...bytes.filter((c) => c >= 0x20 && c < 0x7f)).trim();
}

export interface TpmInfo {
  manufacturer: string;
  manufacturerId: number;
  vendorString: string;
  /** TPM_PT_FIRMWARE_VERSION_1 ‖ _2 as 16 hex digits (the form TPMS_ATTEST.firmwareVersion takes). */
  firmwareVersion: string;
  specFamily: string;
  specLevel: number;
  specRevision: string;
  specDate: string;
  pcrBanks: { bank: string; pcrs: number[] }[];
  limits: {
    maxCommandSize: number;
    maxResponseSize: number;
    maxDigest: number;
    inputBuffer: number;
    nvBufferMax: number;
    pcrCount: number;
    transientObjects: number;
    activeSessions: number;
  };
}

/** The TPM's identity, spec level, banks and size limits (TCG Part 2 §6.13 fixed properties). */
export async function tpmInfo(tpm: Tpm): Promise<TpmInfo> {
  const p = await tpmProperties(tpm);
  const n = (pt: number) => p.get(pt) ?? 0;
  const hex8 = (v: number) => v.toString(16).padStart(8, '0');
  const banks = await allocatedBanks(tpm);
  return {
    manufacturer: ascii([p.get(TPM_PT.MANUFACTURER)]),
    manufacturerId: n(TPM_PT.MANUFACTURER),
    vendorString: ascii(
      [TPM_PT.VENDOR_STRING_1, TPM_PT.VENDOR_STRING_2, TPM_PT.VENDOR_STRING_3, TPM_PT.VENDOR_STRING_4].map(
        (pt) => p.get(pt),
      ),
    ),
    firmwareVersion: hex8(n(TPM_PT.FIRMWARE_VERSION_1)) + hex8(n(TPM_PT.FIRMWARE_VERSION_2)),
    specFamily: ascii([p.get(TPM_PT.FAMILY_INDICATOR)]),
    specLevel: n(TPM_PT.LEVEL),
    specRevision: (n(TPM_PT.REVISION) / 100).toFixed(2),
    specDate: `${n(TPM_PT.YEAR)}, day ${n(TPM_PT.DAY_OF_YEAR)}`,
    pcrBanks: banks.map((b) => ({ bank: bankName(b.hash), pcrs: [...b.pcrs] })),
    limits: {
      maxCommandSize: n(TPM_PT.MAX_COMMAND_SIZE),
      maxResponseSize: n(TPM_PT.MAX_RESPONSE_SIZE),
      maxDigest: n(TPM_PT.MAX_DIGEST),
      inputBuffer: n(TPM_PT.INPUT_BUFFER),
      nvBufferMax: n(TPM_PT.NV_BUFFER_MAX),
      pcrCount: n(TPM_PT.PCR_COUNT),
      transientObjects: n(TPM_PT.HR_TRANSIENT_MIN),
      activeSessions: n(TPM_PT.ACTIVE_SESSIONS_MAX),
    },
  };
}
