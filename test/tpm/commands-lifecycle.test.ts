// SPDX-License-Identifier: Apache-2.0
// TPM2_Startup and TPM2_Shutdown (Part 3 §9.3, §9.4) across power cycles made with swtpm's control
// channel (CMD_INIT, SWTPM.md §3.2), with ReadClock's resetCount/restartCount as the witness. In a file
// of its own: power cycles would disturb the other files' tests.
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { GetRandom, PCR_Extend, ReadClock, Shutdown, Startup } from '../../agent/tpm/commands.js';
import { TPM_ALG, TPM_SU } from '../../agent/tpm/constants.js';
import { readPcrs } from '../../agent/tpm/pcr.js';
import { TPM_RC } from '../../agent/tpm/rc.js';
import type { Tpm } from '../../agent/tpm/tpm.js';
import { controlEndpointFor, parseTcti, SwtpmControl } from '../../agent/tpm/transport/index.js';
import { useSwtpm } from '../helpers/swtpm.js';
import { expectRc, openTpm } from './swtpm-kit.js';

const swtpm = useSwtpm();

/** The control channel of the file's swtpm, found the way tpm2-tss finds it: from the data TCTI. */
function control(): SwtpmControl {
  const tcti = parseTcti(swtpm().tcti);
  if (tcti.kind !== 'swtpm') throw new TypeError('expected a swtpm TCTI');
  return new SwtpmControl(controlEndpointFor(tcti.endpoint));
}

async function clockInfo(tpm: Tpm) {
  return (await tpm.run(ReadClock, {})).currentTime.clockInfo;
}

/** PCR 10 (saved across a TPM Resume) and PCR 16 (the debug PCR, never saved) in the SHA-256 bank. */
async function pcr10and16(tpm: Tpm): Promise<[Uint8Array, Uint8Array]> {
  const bank = (await readPcrs(tpm, [{ hash: TPM_ALG.SHA256, pcrs: [10, 16] }])).get(TPM_ALG.SHA256);
  const p10 = bank?.get(10);
  const p16 = bank?.get(16);
  if (!p10 || !p16) throw new Error('PCR_Read did not return PCRs 10 and 16');
  return [p10, p16];
}

async function extendBoth(tpm: Tpm): Promise<void> {
  for (const pcrHandle of [10, 16]) {
    await tpm.run(PCR_Extend, {
      pcrHandle,
      digests: [{ hashAlg: TPM_ALG.SHA256, digest: new Uint8Array(randomBytes(32)) }],
    });
  }
}

const ZERO = new Uint8Array(32);

describe('TPM2_Startup / TPM2_Shutdown across swtpm power cycles', () => {
  afterEach(async () => {
    // Leave the TPM started whatever a test did, so that the next test finds it usable.
    const tpm = openTpm(swtpm());
    const started = await tpm.run(GetRandom, { bytesRequested: 1 }).then(
      () => true,
      () => false,
    );
    if (!started) await tpm.run(Startup, { startupType: TPM_SU.CLEAR });
  });

  it('after CMD_INIT the TPM answers TPM_RC_INITIALIZE until Startup(CLEAR), which resets PCRs and counts a reset', async () => {
    const tpm = openTpm(swtpm());
    await extendBoth(tpm);
    const [p10, p16] = await pcr10and16(tpm);
    expect(p10).not.toEqual(ZERO);
    expect(p16).not.toEqual(ZERO);
    const before = await clockInfo(tpm);

    await control().init();
    await expectRc(tpm.run(GetRandom, { bytesRequested: 8 }), TPM_RC.INITIALIZE);
    await tpm.run(Startup, { startupType: TPM_SU.CLEAR });

    const after = await clockInfo(tpm);
    expect(after.resetCount).toBe(before.resetCount + 1);
    expect(after.restartCount).toBe(0);
    expect(await pcr10and16(tpm)).toEqual([ZERO, ZERO]);
    // Part 3 §9.3: Startup is accepted once per power cycle.
    await expectRc(tpm.run(Startup, { startupType: TPM_SU.CLEAR }), TPM_RC.INITIALIZE);
    await expectRc(tpm.run(Startup, { startupType: TPM_SU.STATE }), TPM_RC.INITIALIZE);
  });

  it('Shutdown(STATE), CMD_INIT, Startup(STATE) is a TPM Resume: restartCount+1, resetCount kept, PCR 10 restored', async () => {
    const tpm = openTpm(swtpm());
    await extendBoth(tpm);
    const [p10] = await pcr10and16(tpm);
    const before = await clockInfo(tpm);

    await tpm.run(Shutdown, { shutdownType: TPM_SU.STATE });
    await control().init();
    await tpm.run(Startup, { startupType: TPM_SU.STATE });

    const after = await clockInfo(tpm);
    expect(after.restartCount).toBe(before.restartCount + 1);
    expect(after.resetCount).toBe(before.resetCount);
    // PC Client PTP: PCRs 0–15 are saved by Shutdown(STATE) and restored on Resume; PCR 16 is not.
    expect(await pcr10and16(tpm)).toEqual([p10, ZERO]);
  });

  it('Shutdown(STATE), CMD_INIT, Startup(CLEAR) is a TPM Restart: PCRs reset, restartCount+1, resetCount kept', async () => {
    const tpm = openTpm(swtpm());
    await extendBoth(tpm);
    const before = await clockInfo(tpm);

    await tpm.run(Shutdown, { shutdownType: TPM_SU.STATE });
    await control().init();
    await tpm.run(Startup, { startupType: TPM_SU.CLEAR });

    const after = await clockInfo(tpm);
    expect(after.restartCount).toBe(before.restartCount + 1);
    expect(after.resetCount).toBe(before.resetCount);
    expect(await pcr10and16(tpm)).toEqual([ZERO, ZERO]);
  });

  it('Startup(STATE) without a saved state (Shutdown(CLEAR) before the cycle) is refused with TPM_RC_VALUE', async () => {
    const tpm = openTpm(swtpm());
    const before = await clockInfo(tpm);
    await tpm.run(Shutdown, { shutdownType: TPM_SU.CLEAR });
    await control().init();
    await expectRc(tpm.run(Startup, { startupType: TPM_SU.STATE }), TPM_RC.VALUE);
    await tpm.run(Startup, { startupType: TPM_SU.CLEAR });
    // An orderly Shutdown(CLEAR) then Startup(CLEAR) is a TPM Reset.
    expect((await clockInfo(tpm)).resetCount).toBe(before.resetCount + 1);
  });
});
