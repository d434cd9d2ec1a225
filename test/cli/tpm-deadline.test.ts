// SPDX-License-Identifier: Apache-2.0
// Issue 11, finding 6: one CLI operation's TPM commands share an overall deadline (EXECGATE_TPM_DEADLINE,
// seconds, default 60), so a TPM that answers each command just inside its 10 s timeout cannot stretch a
// run of many commands. A scripted TPM answers each GetRandom with 16 bytes after 150 ms: `tpm random 64`
// takes four commands.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT } from '../../agent/cli/exit.js';
import { type FakeTpm, response, startFakeTpm } from '../helpers/fake-tpm.js';
import { cli } from './helpers.js';

const SIXTEEN = Uint8Array.from([0x00, 0x10, ...Array.from({ length: 16 }, (_, i) => 0xa0 + i)]);

let fake: FakeTpm | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function slowTpm(): Promise<FakeTpm> {
  fake = await startFakeTpm(async (_cmd, socket) => {
    await sleep(150);
    socket.end(response(0, SIXTEEN));
  });
  return fake;
}

describe('overall TPM deadline of a CLI operation', () => {
  it('EXECGATE_TPM_DEADLINE=0.4: the third slow command fails with E_TPM_TIMEOUT naming the deadline, exit 3', async () => {
    const tpm = await slowTpm();
    const t0 = Date.now();
    const r = await cli(['tpm', 'random', '64'], { EXECGATE_TCTI: tpm.tcti, EXECGATE_TPM_DEADLINE: '0.4' });
    expect(r.code).toBe(EXIT.TPM_UNAVAILABLE);
    expect(r.stderr).toMatch(/E_TPM_TIMEOUT/);
    expect(r.stderr).toMatch(/overall deadline of 400 ms/);
    expect(r.stderr).toMatch(/EXECGATE_TPM_DEADLINE/);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(tpm.commands.length).toBeLessThan(4);
  });

  it('within the deadline (default 60 s, or a larger one) the same run succeeds', async () => {
    const tpm = await slowTpm();
    const byDefault = await cli(['tpm', 'random', '64'], { EXECGATE_TCTI: tpm.tcti });
    expect(byDefault.code).toBe(EXIT.OK);
    expect(byDefault.stdout.trim()).toHaveLength(128);
    const roomy = await cli(['tpm', 'random', '64'], { EXECGATE_TCTI: tpm.tcti, EXECGATE_TPM_DEADLINE: '5' });
    expect(roomy.code).toBe(EXIT.OK);
  });

  it('--tpm-deadline S overrides EXECGATE_TPM_DEADLINE, and is named in the error', async () => {
    const tpm = await slowTpm();
    const env = { EXECGATE_TCTI: tpm.tcti, EXECGATE_TPM_DEADLINE: '5' };
    const r = await cli(['--tpm-deadline', '0.4', 'tpm', 'random', '64'], env);
    expect(r.code).toBe(EXIT.TPM_UNAVAILABLE);
    expect(r.stderr).toMatch(
      /overall deadline of 400 ms \(--tpm-deadline\)|overall deadline of 400 ms.*--tpm-deadline/,
    );
    const roomy = await cli(['tpm', 'random', '64', '--tpm-deadline=5'], {
      ...env,
      EXECGATE_TPM_DEADLINE: '0.4',
    });
    expect(roomy.code).toBe(EXIT.OK);
    for (const bad of ['0', '', 'soon']) {
      const u = await cli(['--tpm-deadline', bad, 'tpm', 'random', '16'], env);
      expect(u.code, bad).toBe(EXIT.USAGE);
      expect(u.stderr).toContain('--tpm-deadline');
    }
  });

  it('a malformed EXECGATE_TPM_DEADLINE is a usage error, exit 2', async () => {
    const tpm = await slowTpm();
    for (const bad of ['0', '-1', 'soon', '1e9']) {
      const r = await cli(['tpm', 'random', '16'], { EXECGATE_TCTI: tpm.tcti, EXECGATE_TPM_DEADLINE: bad });
      expect(r.code, bad).toBe(EXIT.USAGE);
      expect(r.stderr).toMatch(/EXECGATE_TPM_DEADLINE/);
    }
  });

  it('a TPM that answers GetRandom with no bytes is E_TPM_PROTOCOL (exit 5), not a loop', async () => {
    fake = await startFakeTpm(async (_cmd, socket) => {
      socket.end(response(0, Uint8Array.of(0, 0)));
    });
    const r = await cli(['tpm', 'random', '8'], { EXECGATE_TCTI: fake.tcti });
    expect(r.stderr).toMatch(/E_TPM_PROTOCOL: the TPM answered GetRandom with no bytes/);
    expect(r.code).toBe(EXIT.TPM_PROTOCOL);
    expect(fake.commands.length).toBe(1);
  });
});
