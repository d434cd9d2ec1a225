// SPDX-License-Identifier: Apache-2.0
/**
 * Making quotes (TPM2_Quote, Part 3 §18.4) and the evidence bundle that carries one to a verifier: all of
 * ./quote-evidence.ts, and the AK to quote with.
 *
 * The AK comes from `withAk`: the host's AK at a persistent handle (as `execgate host init` makes it,
 * read and checked by attest/ak.ts `readAk`), or a primary AK made in the endorsement hierarchy from the
 * AK templates (deterministic from the endorsement seed), for a TPM without a host AK and for tests.
 */
import { CreatePrimary } from '../tpm/commands.js';
import { TPM_RH } from '../tpm/constants.js';
import { akEccP256Template, akRsa2048Template } from '../tpm/templates.js';
import type { Tpm } from '../tpm/tpm.js';
import { AkError, readAk } from './ak.js';
import type { AkSource, LoadedAk } from './quote-evidence.js';

/** The default persistent AK handle: attest/ak.ts's, where `execgate host init` puts the host's AK. */
export { DEFAULT_AK_HANDLE } from './ak.js';
export * from './quote-evidence.js';

/**
 * Runs `fn` with the AK: a persistent handle is read with attest/ak.ts `readAk`, so it must hold an AK as
 * `execgate host init` makes them (E_AK_MISSING when empty, E_AK_INVALID when the object is not such an
 * AK); a primary AK is created in the endorsement hierarchy from akRsa2048Template/akEccP256Template and
 * flushed afterwards, whatever happens.
 */
export async function withAk<T>(tpm: Tpm, source: AkSource, fn: (ak: LoadedAk) => Promise<T>): Promise<T> {
  if (source.kind === 'persistent') {
    const ak = await readAk(tpm, source.handle);
    if (ak === undefined) {
      throw new AkError(
        'E_AK_MISSING',
        `no AK at 0x${source.handle.toString(16)}; run "execgate host init" (or give another --ak-handle)`,
      );
    }
    return fn({ handle: source.handle, public: ak.public });
  }
  const template = source.alg === 'ecc' ? akEccP256Template() : akRsa2048Template();
  const rsp = await tpm.run(CreatePrimary, {
    primaryHandle: TPM_RH.ENDORSEMENT,
    inSensitive: { userAuth: new Uint8Array(0), data: new Uint8Array(0) },
    inPublic: template,
    outsideInfo: new Uint8Array(0),
    creationPCR: [],
  });
  try {
    return await fn({ handle: rsp.objectHandle, public: rsp.outPublic });
  } finally {
    await tpm.flush(rsp.objectHandle);
  }
}
