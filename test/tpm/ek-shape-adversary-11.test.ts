// SPDX-License-Identifier: Apache-2.0
// Adversary review 11: the EK's `unique` was not checked against its template (only the rest of the
// public area was), so an interposer could report a "key" of 0 bytes, an RSA modulus of another size, or
// an ECC point off the curve: `host init` pinned it in host.json on first use and then failed with an
// internal error (exit 1) when salting to it. Such an EK is now E_EK_MISMATCH (exit 5), nothing pinned.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ekTemplate, loadEk } from '../../agent/attest/ek.js';
import { EXIT } from '../../agent/cli/exit.js';
import { objectName } from '../../agent/tpm/names.js';
import type { TPMT_PUBLIC } from '../../agent/tpm/structures.js';
import type { Tpm } from '../../agent/tpm/tpm.js';
import { cli } from '../cli/helpers.js';
import { useSwtpm } from '../helpers/swtpm.js';
import { startTpmProxy, swapEkOnReadPublic, type TpmProxy } from '../helpers/tpm-proxy.js';
import { withTempDir } from './swtpm-kit.js';

const swtpm = useSwtpm({ ek: true });
let proxy: TpmProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});

describe('an EK whose unique is not a key of its template is refused', () => {
  for (const [what, unique] of [
    ['an empty modulus', new Uint8Array(0)],
    ['a 1-byte modulus', new Uint8Array([0xc3])],
    ['a 2056-bit modulus', new Uint8Array(257).fill(0xc3)],
    ['a 2040-bit modulus', new Uint8Array(255).fill(0xc3)],
    ['a modulus with a leading zero', new Uint8Array(256).fill(0xc3).fill(0, 0, 1)],
  ] as const) {
    it(`host init through an interposer reporting ${what}: E_EK_MISMATCH, nothing pinned`, async () => {
      const { host, port, ctrlPort } = swtpm();
      if (host === undefined || port === undefined || ctrlPort === undefined) throw new Error('not tcp');
      await withTempDir(async (dir) => {
        proxy = await startTpmProxy({ host, port, ctrlPort }, { onResponse: swapEkOnReadPublic(unique) });
        const state = join(dir, 'state');
        const r = await cli(['--tcti', proxy.tcti, 'host', 'init', '--state-dir', state]);
        expect(r.stderr).toMatch(/^execgate: E_EK_MISMATCH: .*not a key of its template/);
        expect(r.code).toBe(EXIT.TPM_PROTOCOL);
        await expect(readFile(join(state, 'host.json'))).rejects.toMatchObject({ code: 'ENOENT' });
      });
    });
  }

  it('an ECC point off the curve, or of the wrong size, from CreatePrimary is E_EK_MISMATCH (loadEk)', async () => {
    const real = ekTemplate('eccP256');
    const offCurve = { x: new Uint8Array(32).fill(1), y: new Uint8Array(32).fill(2) };
    for (const unique of [offCurve, { x: new Uint8Array(31).fill(1), y: new Uint8Array(32).fill(2) }]) {
      const fake = { ...real, unique } as TPMT_PUBLIC;
      // A TPM double whose CreatePrimary answers with `fake` (its Name consistent) and flushes nothing.
      const tpm = {
        run: async (cmd: { name: string }) => {
          if (cmd.name !== 'CreatePrimary') return {};
          return { objectHandle: 0x80000000, outPublic: fake, name: objectName(fake) };
        },
        flush: async () => {},
      } as unknown as Tpm;
      await expect(loadEk(tpm, 'eccP256')).rejects.toMatchObject({ code: 'E_EK_MISMATCH' });
    }
  });
});
