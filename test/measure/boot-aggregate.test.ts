// SPDX-License-Identifier: Apache-2.0
// IMA's boot_aggregate against quoted PCRs: SHA-1 over PCRs 0–7, other algorithms over 0–9 (or 0–7 on
// older kernels), with the lines built independently (test/helpers/ima-list.ts, node:crypto).
import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { initHashing } from '../../agent/crypto/hash.js';
import { checkBootAggregate } from '../../agent/measure/boot-aggregate.js';
import { parseImaLog } from '../../agent/measure/ima/index.js';
import { TPM_ALG } from '../../agent/tpm/constants.js';
import type { PcrValues } from '../../agent/tpm/pcr-selection.js';
import { bootAggregateLine } from '../helpers/ima-list.js';

const random = (n: number) => Array.from({ length: 10 }, () => new Uint8Array(randomBytes(n)));
const entry = (line: string, more = '') =>
  parseImaLog(new TextEncoder().encode(`${line}\n${more}`)).entries[0];
const quote = (alg: number, values: readonly Uint8Array[]): PcrValues =>
  new Map([[alg, new Map(values.map((v, i) => [i, v]))]]);

beforeAll(async () => {
  await initHashing();
});

describe('checkBootAggregate', () => {
  it('SHA-1: PCRs 0–7 of the sha1 bank', () => {
    const pcrs = random(20);
    const e = entry(bootAggregateLine(pcrs.slice(0, 8)));
    expect(checkBootAggregate(e, quote(TPM_ALG.SHA1, pcrs))).toEqual({ status: 'match', pcrs: '0-7' });
    const other = [...pcrs];
    other[3] = new Uint8Array(20);
    const v = checkBootAggregate(e, quote(TPM_ALG.SHA1, other));
    expect(v.status).toBe('mismatch');
    expect(v.status === 'mismatch' && v.message).toMatch(/not from the boot the quote attests/);
  });

  it('SHA-256: PCRs 0–9, and 0–7 as older kernels computed it', () => {
    const pcrs = random(32);
    const q = quote(TPM_ALG.SHA256, pcrs);
    expect(checkBootAggregate(entry(bootAggregateLine(pcrs, 'sha256')), q)).toEqual({
      status: 'match',
      pcrs: '0-9',
    });
    expect(checkBootAggregate(entry(bootAggregateLine(pcrs.slice(0, 8), 'sha256')), q)).toEqual({
      status: 'match',
      pcrs: '0-7',
    });
    // PCR 9 is part of it: another kernel image is another aggregate.
    const changed = [...pcrs];
    changed[9] = new Uint8Array(32);
    expect(
      checkBootAggregate(entry(bootAggregateLine(pcrs, 'sha256')), quote(TPM_ALG.SHA256, changed)).status,
    ).toBe('mismatch');
  });

  it('a quote without the PCRs it needs does not judge it; an all-zero aggregate (no TPM at boot) fails', () => {
    const pcrs = random(20);
    const e = entry(bootAggregateLine(pcrs.slice(0, 8)));
    expect(checkBootAggregate(e, quote(TPM_ALG.SHA1, pcrs.slice(0, 7))).status).toBe('not-quoted');
    expect(checkBootAggregate(e, quote(TPM_ALG.SHA256, random(32))).status).toBe('not-quoted');
    const zero = entry(`10 ${'0'.repeat(40)} ima-ng sha1:${'0'.repeat(40)} boot_aggregate`);
    expect(checkBootAggregate(zero, quote(TPM_ALG.SHA1, pcrs)).status).toBe('mismatch');
  });

  it('absent when the list does not start with boot_aggregate', () => {
    const pcrs = random(20);
    const e = entry(bootAggregateLine(pcrs.slice(0, 8)));
    expect(checkBootAggregate(undefined, quote(TPM_ALG.SHA1, pcrs))).toEqual({ status: 'absent' });
    const line = bootAggregateLine(pcrs.slice(0, 8)).replace(/boot_aggregate$/, '/init');
    expect(checkBootAggregate(entry(line), quote(TPM_ALG.SHA1, pcrs))).toEqual({ status: 'absent' });
    expect(e).toBeDefined();
  });
});
