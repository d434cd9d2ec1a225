// SPDX-License-Identifier: Apache-2.0
/**
 * The host's attestation identity (DESIGN.md §3): the AK at a persistent handle, proven to sit under the
 * TPM's default EK, with the EK's public key and certificate and the TPM's maker and firmware.
 *
 * `hostInit` is idempotent: an AK already at the handle (and under the EK) is kept unless `force`, which
 * evicts it and makes a new one; once an AK is pinned (host.json), the one kept must be the pinned one.
 * `hostIdentity` reads without changing anything (a transient EK it recreates is flushed).
 */
import { equalBytes, toHex } from '../encoding/bytes.js';
import { tpmInfo } from '../tpm/capability.js';
import type { TPMT_PUBLIC } from '../tpm/structures.js';
import type { Tpm } from '../tpm/tpm.js';
import {
  type AkAlg,
  AkError,
  type AkPin,
  akAlgOf,
  akPublicPem,
  checkAkPin,
  confirmPinnedAk,
  createAk,
  DEFAULT_AK_HANDLE,
  evictPersistent,
  loadAk,
  persistAk,
  qualifiedNameUnder,
  readAk,
} from './ak.js';
import { derToPem, type Ek, type EkAlg, readEkCertificate, spkiPemOf, withEk } from './ek.js';

/** The JSON document of `execgate host identity --json`; keys exactly these. */
export interface HostIdentity {
  /** Hex of nameAlg ‖ H(TPMT_PUBLIC). */
  akName: string;
  akPublicPem: string;
  akAlg: AkAlg;
  ekPublicPem: string;
  ekCertificatePem?: string;
  tpm: { manufacturer: string; firmwareVersion: string };
}

export interface HostInitOptions {
  readonly akAlg?: AkAlg;
  readonly akHandle?: number;
  readonly force?: boolean;
  readonly ekAlg?: EkAlg;
  /** The EK public area pinned at provisioning: the TPM's EK must equal it (E_EK_MISMATCH). */
  readonly pinnedEk?: TPMT_PUBLIC;
  /**
   * The AK pinned at an earlier init, at `akHandle`: unless `force`, it must still be there (E_AK_MISSING)
   * and the TPM's AK must equal it (E_AK_MISMATCH), so that re-running init never pins a swapped key.
   */
  readonly pinnedAk?: AkPin;
}

export interface HostInitResult {
  /** true when a new AK was made, false when the existing one was kept. */
  readonly created: boolean;
  /** The AK's public area as the TPM made or reported it: what host init pins. */
  readonly akPublic: TPMT_PUBLIC;
  readonly identity: HostIdentity;
}

async function existingAkUnder(tpm: Tpm, ek: Ek, handle: number) {
  const ak = await readAk(tpm, handle);
  if (!ak) return undefined;
  if (!equalBytes(ak.qualifiedName, qualifiedNameUnder(ek, ak.public))) {
    throw new AkError('E_AK_INVALID', `the key at 0x${handle.toString(16)} is not an AK under this TPM's EK`);
  }
  return ak;
}

/** Creates (or keeps) the AK at the handle; see the module comment. */
export async function hostInit(tpm: Tpm, opts: HostInitOptions = {}): Promise<HostInitResult> {
  const {
    akAlg = 'rsa',
    akHandle = DEFAULT_AK_HANDLE,
    force = false,
    ekAlg = 'rsa2048',
    pinnedEk,
    pinnedAk,
  } = opts;
  const pin = pinnedEk ? { pinned: pinnedEk } : {};
  const made = await withEk(
    tpm,
    ekAlg,
    async (ek) => {
      if (pinnedAk && !force) await confirmPinnedAk(tpm, pinnedAk);
      const existing = await readAk(tpm, akHandle).catch((e: unknown) => {
        if (force && e instanceof AkError) return 'not-an-ak' as const;
        throw e;
      });
      if (existing && existing !== 'not-an-ak' && !force) {
        await existingAkUnder(tpm, ek, akHandle);
        return { created: false, akPublic: existing.public };
      }
      if (existing) await evictPersistent(tpm, akHandle);
      const pair = await createAk(tpm, ek, akAlg);
      const handle = await loadAk(tpm, ek, pair);
      try {
        await persistAk(tpm, handle, akHandle);
      } finally {
        await tpm.flush(handle);
      }
      return { created: true, akPublic: pair.public };
    },
    pin,
  );
  return {
    ...made,
    identity: await hostIdentity(tpm, { akHandle, ekAlg, ...(pinnedEk ? { pinnedEk } : {}) }),
  };
}

/** The identity document; E_AK_MISSING when no AK is at the handle. */
export async function hostIdentity(
  tpm: Tpm,
  opts: {
    readonly akHandle?: number;
    readonly ekAlg?: EkAlg;
    readonly pinnedEk?: TPMT_PUBLIC;
    /** The AK pinned at `akHandle`: the TPM's AK there must equal it (E_AK_MISMATCH). */
    readonly pinnedAk?: AkPin;
  } = {},
): Promise<HostIdentity> {
  const { akHandle = DEFAULT_AK_HANDLE, ekAlg = 'rsa2048', pinnedEk, pinnedAk } = opts;
  return withEk(
    tpm,
    ekAlg,
    async (ek) => {
      const ak = await existingAkUnder(tpm, ek, akHandle);
      if (!ak) {
        throw new AkError('E_AK_MISSING', `no AK at 0x${akHandle.toString(16)}; run "execgate host init"`);
      }
      if (pinnedAk) checkAkPin(ak.public, pinnedAk);
      const cert = await readEkCertificate(tpm, ekAlg);
      const info = await tpmInfo(tpm);
      return {
        akName: toHex(ak.name),
        akPublicPem: akPublicPem(ak.public),
        akAlg: akAlgOf(ak.public),
        ekPublicPem: spkiPemOf(ek.public),
        ...(cert ? { ekCertificatePem: derToPem(cert, 'CERTIFICATE') } : {}),
        tpm: { manufacturer: info.manufacturer, firmwareVersion: info.firmwareVersion },
      };
    },
    pinnedEk ? { pinned: pinnedEk } : {},
  );
}
