// SPDX-License-Identifier: Apache-2.0
// `execgate host init` defines the audit log's NV counter (agent/attest/nv-counter.ts): at the default
// index or --nv-counter-index, kept on a second init, with tpm2-tools as the oracle for its value and
// attributes; an index that is not execgate's counter is refused before the AK is made, and never
// redefined; a malformed or out-of-range index is a usage error.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_AUDIT_COUNTER_INDEX } from '../../agent/attest/nv-counter.js';
import { EXIT } from '../../agent/cli/exit.js';
import { useSwtpm } from '../helpers/swtpm.js';
import { tpm2, withTempDir } from '../tpm/swtpm-kit.js';
import { cli } from './helpers.js';

const swtpm = useSwtpm();
const tcti = () => ['--tcti', swtpm().tcti];

async function nvread(index: string): Promise<string> {
  return withTempDir(async (dir) => {
    await tpm2(swtpm(), 'tpm2_nvread', [index, '-s', '8', '-o', 'v.bin'], dir);
    return (await readFile(join(dir, 'v.bin'))).readBigUInt64BE(0).toString();
  });
}

async function nvAttributes(index: string): Promise<string | undefined> {
  const yaml = await tpm2(swtpm(), 'tpm2_nvreadpublic', [index]);
  return /attributes:\n\s+friendly: .*\n\s+value: (.*)/.exec(yaml)?.[1];
}

describe('execgate host init: the audit counter', () => {
  // First in the file: nothing has made an AK on this swtpm yet.
  it('an index holding something else is refused (exit 2, E_NV_COUNTER_MISMATCH) before the AK is made, and left as it was', async () => {
    const index = '0x1800100';
    await tpm2(swtpm(), 'tpm2_nvdefine', [
      '-C',
      'o',
      '-s',
      '8',
      '-a',
      'ownerwrite|authread|ownerread',
      index,
    ]);
    const before = await nvAttributes(index);
    const r = await cli([...tcti(), 'host', 'init']);
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toContain('E_NV_COUNTER_MISMATCH');
    expect(r.stderr).toContain('0x01800100');
    expect(await nvAttributes(index)).toBe(before);
    const id = await cli([...tcti(), 'host', 'identity']);
    expect(id.stderr).toContain('E_AK_MISSING');
    await tpm2(swtpm(), 'tpm2_nvundefine', ['-C', 'o', index]);
  });

  it('defines the counter at 0x01800100 (tpm2_nvread agrees); a second init keeps it and its value', async () => {
    const r = await cli([...tcti(), 'host', 'init', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(EXIT.OK);
    const doc = JSON.parse(r.stdout);
    expect(doc.auditCounter).toEqual({ index: '0x01800100', value: expect.stringMatching(/^[0-9]+$/) });
    expect(Object.keys(doc.auditCounter)).toEqual(['index', 'value']);
    expect(DEFAULT_AUDIT_COUNTER_INDEX).toBe(0x01800100);
    expect(await nvread('0x1800100')).toBe(doc.auditCounter.value);
    expect(await nvAttributes('0x1800100')).toBe('0x22060012'); // ownerwrite|nt=counter|ownerread|authread|no_da|written

    const again = await cli([...tcti(), 'host', 'init']);
    expect(again.code).toBe(EXIT.OK);
    expect(again.stdout).toContain(`audit counter: NV 0x01800100 = ${doc.auditCounter.value} (kept)`);
  });

  it('--nv-counter-index (hex or decimal) puts it elsewhere; --ak-save reports it too', async () => {
    const r = await cli([...tcti(), 'host', 'init', '--nv-counter-index', '0x01500191']);
    expect(r.code).toBe(EXIT.OK);
    expect(r.stdout).toMatch(/audit counter: NV 0x01500191 = [0-9]+ \(defined now\)/);
    const dec = await cli([...tcti(), 'host', 'init', '--nv-counter-index', String(0x01500191), '--json']);
    expect(JSON.parse(dec.stdout).auditCounter.index).toBe('0x01500191');
    await withTempDir(async (dir) => {
      const saved = await cli([
        ...tcti(),
        'host',
        'init',
        '--ak-save',
        join(dir, 'ak'),
        '--nv-counter-index',
        '0x01500192',
        '--json',
      ]);
      expect(saved.stderr).toBe('');
      const doc = JSON.parse(saved.stdout);
      expect(doc.auditCounter.index).toBe('0x01500192');
      expect(await nvread('0x1500192')).toBe(doc.auditCounter.value);
    });
  });

  it('an index that is not one execgate may define, or not a number: exit 2 with E_NV_COUNTER_INDEX', async () => {
    for (const bad of ['0x81010002', '0x01c00002', '0x00000001', 'abc', '0x', '01500190', '0x1234567890']) {
      const r = await cli([...tcti(), 'host', 'init', '--nv-counter-index', bad]);
      expect(r.code, bad).toBe(EXIT.USAGE);
      expect(r.stderr, bad).toContain('E_NV_COUNTER_INDEX');
    }
  });
});
