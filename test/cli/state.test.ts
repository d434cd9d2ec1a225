// SPDX-License-Identifier: Apache-2.0
// `execgate state capture | check | digest` on swtpm: a synthetic UEFI boot log and the first 500 entries
// of a real IMA list are extended into the TPM; a reference captured from them checks clean, and each
// departure (an edited rule, data that lies about what was measured, a missing log) fails with its rule.
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../agent/cli/exit.js';
import { initHashing } from '../../agent/crypto/hash.js';
import { EV, parseEventLog } from '../../agent/measure/eventlog.js';
import { parseImaLog } from '../../agent/measure/ima/index.js';
import { PCR_Extend } from '../../agent/tpm/commands.js';
import { TPM_ALG } from '../../agent/tpm/constants.js';
import { Tpm } from '../../agent/tpm/tpm.js';
import { openTransport } from '../../agent/tpm/transport/index.js';
import { withBootAggregate } from '../helpers/ima-list.js';
import { useSwtpm } from '../helpers/swtpm.js';
import { buildEventLog, uefiBootEvents } from '../helpers/synthetic-eventlog.js';
import { cli } from './helpers.js';

const swtpm = useSwtpm();
const IMA_LIST = join(import.meta.dirname, '../vectors/ima/rust-keylime/ascii_runtime_measurements');
const LOG = buildEventLog({ banks: ['sha1', 'sha256'], events: uefiBootEvents() });
const EXTENDED = 500;
const tcti = () => ['--tcti', swtpm().tcti];
let dir: string;
let boot: string;
let ima: string;
let ref: string;

interface Ref {
  pcrs: Record<string, Record<string, string>>;
  rules: {
    secureBoot: string;
    bootApplications?: { bank: string; digest: string }[];
    kernels?: { bank: string; digest: string }[];
    ima?: { allowlist: { path: string; digest: string }[] };
  };
}

beforeAll(async () => {
  await initHashing();
  dir = await mkdtemp(join(tmpdir(), 'execgate-state-'));
  boot = join(dir, 'boot.log');
  await writeFile(boot, LOG.bytes);
  // The list as this host's kernel would write it: boot_aggregate over the SHA-1 PCRs 0–7 the boot log left.
  const sha1 = LOG.pcrs.get(TPM_ALG.SHA1);
  const pcrs0to7 = Array.from({ length: 8 }, (_, i) => sha1?.get(i) ?? new Uint8Array(20));
  const real = (await readFile(IMA_LIST, 'utf8')).split('\n').filter((l) => l.length > 0);
  const imaText = `${withBootAggregate(real, pcrs0to7).join('\n')}\n`;
  ima = join(dir, 'ima.list');
  await writeFile(ima, imaText);
  const tpm = new Tpm(openTransport(swtpm().tcti));
  try {
    for (const x of LOG.extends) await tpm.run(PCR_Extend, { pcrHandle: x.pcr, digests: [...x.digests] });
    for (const e of parseImaLog(new TextEncoder().encode(imaText)).entries.slice(0, EXTENDED)) {
      const zero = e.templateHash.every((b) => b === 0);
      const sha256 = zero
        ? new Uint8Array(32).fill(0xff)
        : new Uint8Array(
            createHash('sha256')
              .update(e.hashedData ?? new Uint8Array(0))
              .digest(),
          );
      await tpm.run(PCR_Extend, {
        pcrHandle: 10,
        digests: [
          { hashAlg: TPM_ALG.SHA1, digest: zero ? new Uint8Array(20).fill(0xff) : e.templateHash },
          { hashAlg: TPM_ALG.SHA256, digest: sha256 },
        ],
      });
    }
  } finally {
    await tpm.close();
  }
  ref = join(dir, 'ref.json');
  const r = await cli([...tcti(), 'state', 'capture', '--eventlog', boot, '--ima', ima, '--out', ref]);
  expect(r.code, r.stderr).toBe(EXIT.OK);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const readRef = async (file = ref) => JSON.parse(await readFile(file, 'utf8')) as Ref;

async function writeRef(name: string, edit: (doc: Ref) => void): Promise<string> {
  const doc = await readRef();
  edit(doc);
  const file = join(dir, name);
  await writeFile(file, JSON.stringify(doc));
  return file;
}

async function check(file: string, ...extra: string[]) {
  const r = await cli([
    ...tcti(),
    'state',
    'check',
    file,
    '--eventlog',
    boot,
    '--ima',
    ima,
    '--json',
    ...extra,
  ]);
  return {
    code: r.code,
    doc: JSON.parse(r.stdout || '{}') as {
      ok: boolean;
      failures: { rule: string; code: string; message: string }[];
    },
    stderr: r.stderr,
  };
}

describe('state capture', () => {
  it('records exact PCRs (not IMA’s PCR 10), Secure Boot, the boot chain and the IMA allowlist', async () => {
    const doc = await readRef();
    expect(Object.keys(doc.pcrs).sort()).toEqual(['sha1', 'sha256']);
    expect(
      Object.keys(doc.pcrs.sha256 ?? {})
        .map(Number)
        .sort((a, b) => a - b),
    ).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(doc.pcrs.sha256?.['7']).toBe(
      Buffer.from(LOG.pcrs.get(TPM_ALG.SHA256)?.get(7) ?? []).toString('hex'),
    );
    expect(doc.rules.secureBoot).toBe('required');
    expect(doc.rules.bootApplications?.length).toBeGreaterThan(0);
    expect(doc.rules.kernels?.length).toBeGreaterThan(0);
    const allow = doc.rules.ima?.allowlist ?? [];
    expect(allow.some((a) => a.path === '/init')).toBe(true);
    // Only the 500 entries the quote covered are allowed.
    const lines = (await readFile(IMA_LIST, 'utf8')).split('\n').filter((l) => l);
    const late = lines.slice(EXTENDED).map((l) => l.split(' ').at(-1) ?? '');
    const early = new Set(lines.slice(0, EXTENDED).map((l) => l.split(' ').at(-1) ?? ''));
    const onlyLate = late.find((p) => !early.has(p));
    expect(onlyLate).toBeDefined();
    expect(allow.some((a) => a.path === onlyLate)).toBe(false);
  });

  it('--exact-pcrs keeps exact values only for the PCRs named (allowlists judge the rest)', async () => {
    const out = join(dir, 'firmware-only.json');
    const r = await cli([
      ...tcti(),
      'state',
      'capture',
      '--eventlog',
      boot,
      '--no-ima',
      '--exact-pcrs',
      '0-7',
      '--out',
      out,
    ]);
    expect(r.code, r.stderr).toBe(EXIT.OK);
    const doc = await readRef(out);
    for (const bank of ['sha1', 'sha256'])
      expect(
        Object.keys(doc.pcrs[bank] ?? {})
          .map(Number)
          .sort((a, b) => a - b),
      ).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(doc.rules.kernels?.length).toBeGreaterThan(0);
    expect(doc.rules.ima).toBeUndefined();
    const ok = await cli([...tcti(), 'state', 'check', out, '--eventlog', boot, '--no-ima']);
    expect(ok.code, ok.stderr).toBe(EXIT.OK);
    const none = await cli([
      ...tcti(),
      'state',
      'capture',
      '--eventlog',
      boot,
      '--no-ima',
      '--exact-pcrs',
      'none',
      '--out',
      join(dir, 'none.json'),
    ]);
    expect(none.code, none.stderr).toBe(EXIT.OK);
    expect((await readRef(join(dir, 'none.json'))).pcrs).toEqual({});
    const bad = await cli(['state', 'capture', '--out', join(dir, 'x.json'), '--exact-pcrs', '24']);
    expect(bad.code).toBe(EXIT.USAGE);
  });

  it('state digest is stable under reformatting and equals the digest capture printed', async () => {
    const d = await cli(['state', 'digest', ref]);
    expect(d.code, d.stderr).toBe(EXIT.OK);
    const pretty = join(dir, 'pretty.json');
    await writeFile(pretty, JSON.stringify(await readRef(), null, 7));
    expect((await cli(['state', 'digest', pretty])).stdout).toBe(d.stdout);
    const changed = await writeRef('changed.json', (doc) => {
      doc.rules.secureBoot = 'any';
    });
    expect((await cli(['state', 'digest', changed])).stdout).not.toBe(d.stdout);
  });
});

describe('state check', () => {
  it('the captured state checks clean', async () => {
    const r = await check(ref);
    expect(r.code, JSON.stringify(r.doc) + r.stderr).toBe(EXIT.OK);
    expect(r.doc).toMatchObject({ ok: true, failures: [] });
  });

  it('an IMA file dropped from the allowlist fails, naming it', async () => {
    const file = await writeRef('no-init.json', (doc) => {
      if (doc.rules.ima) doc.rules.ima.allowlist = doc.rules.ima.allowlist.filter((a) => a.path !== '/init');
    });
    const r = await check(file);
    expect(r.code).toBe(EXIT.EVIDENCE_INVALID);
    expect(r.doc.failures).toEqual([expect.objectContaining({ rule: 'ima', code: 'ima-unlisted' })]);
    expect(r.doc.failures[0]?.message).toMatch(/\/init/);
  });

  it('a kernel digest not on the list fails', async () => {
    const file = await writeRef('kernel.json', (doc) => {
      doc.rules.kernels = (doc.rules.kernels ?? []).map((k) => ({
        ...k,
        digest: k.digest.replace(/^./, (c) => (c === '0' ? '1' : '0')),
      }));
    });
    const r = await check(file);
    expect(r.code).toBe(EXIT.EVIDENCE_INVALID);
    expect(r.doc.failures.every((f) => f.rule === 'kernel')).toBe(true);
    expect(r.doc.failures.length).toBeGreaterThan(0);
  });

  it('a Secure Boot variable whose data lies (digest kept) is not believed: Secure Boot fails', async () => {
    const log = parseEventLog(LOG.bytes);
    const sb = log.events.find((e) => e.eventType === EV.EFI_VARIABLE_DRIVER_CONFIG);
    if (sb === undefined) throw new Error('no SecureBoot event');
    const bytes = LOG.bytes.slice();
    const last = sb.data.byteOffset - LOG.bytes.byteOffset + sb.data.length - 1;
    bytes[last] = 0; // SecureBoot = 0, while the digest (and so PCR 7) still says 1
    const lying = join(dir, 'lying.log');
    await writeFile(lying, bytes);
    const r = await cli([...tcti(), 'state', 'check', ref, '--eventlog', lying, '--ima', ima, '--json']);
    expect(r.code).toBe(EXIT.EVIDENCE_INVALID);
    const doc = JSON.parse(r.stdout) as { failures: { rule: string; code: string }[] };
    expect(doc.failures).toEqual([expect.objectContaining({ rule: 'secure-boot' })]);
  });

  it('an edited IMA entry inside the quoted prefix is refused', async () => {
    const lines = (await readFile(ima, 'utf8')).split('\n');
    lines[7] = (lines[7] ?? '').replace(/ (\S+)$/, ' /tmp/evil');
    const edited = join(dir, 'edited.list');
    await writeFile(edited, lines.join('\n'));
    const r = await cli([...tcti(), 'state', 'check', ref, '--eventlog', boot, '--ima', edited, '--json']);
    expect(r.code).toBe(EXIT.EVIDENCE_INVALID);
    const doc = JSON.parse(r.stdout) as { failures: { rule: string; code: string; message: string }[] };
    expect(doc.failures).toContainEqual(expect.objectContaining({ rule: 'ima', code: 'evidence-untrusted' }));
    expect(doc.failures.find((f) => f.code === 'evidence-untrusted')?.message).toMatch(
      /entry 7 \(\/tmp\/evil\): its template hash is not the hash of its data/,
    );
  });

  it('a reference with an IMA rule and no IMA list fails closed', async () => {
    const r = await cli([...tcti(), 'state', 'check', ref, '--eventlog', boot, '--no-ima', '--json']);
    expect(r.code).toBe(EXIT.EVIDENCE_INVALID);
    const doc = JSON.parse(r.stdout) as { failures: { rule: string; code: string }[] };
    expect(doc.failures).toEqual([expect.objectContaining({ rule: 'ima', code: 'evidence-missing' })]);
  });

  it('without --json a mismatch is E_STATE_MISMATCH listing each failure', async () => {
    const file = await writeRef('pcr.json', (doc) => {
      const sha256 = doc.pcrs.sha256 ?? {};
      sha256['4'] = '00'.repeat(32);
    });
    const r = await cli([...tcti(), 'state', 'check', file, '--eventlog', boot, '--ima', ima]);
    expect(r.code).toBe(EXIT.EVIDENCE_INVALID);
    expect(r.stderr).toMatch(/E_STATE_MISMATCH/);
    expect(r.stderr).toMatch(/pcr: .*sha256.*4/);
  });

  it('a malformed reference is a usage error naming the field', async () => {
    const file = await writeRef('bad.json', (doc) => {
      (doc as unknown as Record<string, unknown>).surprise = 1;
    });
    const r = await cli(['state', 'check', file]);
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toMatch(/E_REFERENCE_FORMAT/);
    expect(r.stderr).toMatch(/surprise/);
  });
});
