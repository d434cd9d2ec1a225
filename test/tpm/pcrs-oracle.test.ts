// SPDX-License-Identifier: Apache-2.0
// readPcrs against tpm2-tools as the oracle (STYLE.md principle 14): on a fresh swtpm, `tpm2_pcrextend`
// puts random digests into PCRs 16 and 23 of all four banks, then every PCR our readPcrs returns must
// equal what `tpm2_pcrread` prints, and what it writes with `-o` (the raw digests, bank by bank, PCR
// ascending). The extended values are also recomputed with node:crypto, so a bug shared by both readers
// (say, a wrong bank order) would still show.
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hashByName } from '../../agent/crypto/algorithms.js';
import { TPM_ALG } from '../../agent/tpm/constants.js';
import { readPcrs } from '../../agent/tpm/pcr.js';
import { useSwtpm } from '../helpers/swtpm.js';
import { hex, openTpm, tpm2, withTempDir } from './swtpm-kit.js';

const swtpm = useSwtpm();

const BANKS = [
  ['sha1', TPM_ALG.SHA1, 20],
  ['sha256', TPM_ALG.SHA256, 32],
  ['sha384', TPM_ALG.SHA384, 48],
  ['sha512', TPM_ALG.SHA512, 64],
] as const;
const PCRS = Array.from({ length: 24 }, (_, i) => i);

/** Parses tpm2_pcrread's YAML-like text: "  sha256:" then "    16: 0xABCD…" (tpm2-tools 5.4 spacing). */
function parsePcrread(text: string): Map<string, Map<number, string>> {
  const out = new Map<string, Map<number, string>>();
  let bank: Map<number, string> | undefined;
  for (const line of text.split('\n')) {
    const b = /^\s+(sha1|sha256|sha384|sha512):\s*$/.exec(line);
    if (b?.[1]) {
      bank = new Map();
      out.set(b[1], bank);
      continue;
    }
    const p = /^\s+(\d+)\s*:\s*0x([0-9A-Fa-f]+)\s*$/.exec(line);
    if (p?.[1] && p[2]) {
      if (!bank) throw new Error(`PCR line before any bank: ${line}`);
      bank.set(Number(p[1]), p[2].toLowerCase());
    }
  }
  return out;
}

describe('readPcrs agrees with tpm2_pcrread (tpm2-tools 5.4) on all four banks', () => {
  it('after tpm2_pcrextend of random digests into PCRs 16 and 23 of every bank', async () => {
    const instance = swtpm();
    const expected = new Map<string, Map<number, Uint8Array>>();
    for (const pcr of [16, 23]) {
      for (let round = 0; round < 2; round++) {
        const digests = BANKS.map(([name, , size]) => [name, new Uint8Array(randomBytes(size))] as const);
        const spec = digests.map(([name, d]) => `${name}=${hex(d)}`).join(',');
        await tpm2(instance, 'tpm2_pcrextend', [`${pcr}:${spec}`]);
        for (const [name, d] of digests) {
          const bank = expected.get(name) ?? new Map<number, Uint8Array>();
          expected.set(name, bank);
          // Both PCRs start at zero on a fresh TPM (PC Client PTP: 16 and 23 reset to 0).
          const old = bank.get(pcr) ?? new Uint8Array(d.length);
          bank.set(pcr, new Uint8Array(createHash(name).update(old).update(d).digest()));
        }
      }
    }

    const ours = await readPcrs(openTpm(instance));
    await withTempDir(async (dir) => {
      const selection = BANKS.map(([name]) => `${name}:all`).join('+');
      const text = await tpm2(instance, 'tpm2_pcrread', [selection, '-o', 'pcrs.bin'], dir);
      const theirs = parsePcrread(text);
      const raw = new Uint8Array(await readFile(join(dir, 'pcrs.bin')));

      let at = 0;
      for (const [name, alg, size] of BANKS) {
        expect(hashByName(name)?.tpmAlg).toBe(alg);
        const mine = ours.get(alg);
        const printed = theirs.get(name);
        expect([...(printed?.keys() ?? [])]).toEqual(PCRS);
        for (const pcr of PCRS) {
          const value = mine?.get(pcr);
          expect(value?.length, `${name}:${pcr}`).toBe(size);
          expect(hex(value ?? new Uint8Array(0)), `${name}:${pcr} vs tpm2_pcrread`).toBe(printed?.get(pcr));
          expect(hex(value ?? new Uint8Array(0)), `${name}:${pcr} vs tpm2_pcrread -o`).toBe(
            hex(raw.subarray(at, at + size)),
          );
          at += size;
        }
        for (const pcr of [16, 23]) {
          expect(hex(mine?.get(pcr) ?? new Uint8Array(0)), `${name}:${pcr} vs node:crypto`).toBe(
            hex(expected.get(name)?.get(pcr) ?? new Uint8Array(0)),
          );
        }
      }
      expect(at).toBe(raw.length);
    });
  });
});
