// SPDX-License-Identifier: Apache-2.0
// Attacks on the measured-state verdict, each by a host that controls its log files and the quote
// selection it sends, against a real swtpm: the verdict must not say OK for a host that booted something
// the reference forbids (issue 10). Each scenario extends what the host really booted into a fresh TPM
// and presents the evidence an attacker would. An honest host passes the same checks.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../agent/cli/exit.js';
import { EV } from '../../agent/measure/eventlog.js';
import { parseImaLog } from '../../agent/measure/ima/index.js';
import { PCR_Extend } from '../../agent/tpm/commands.js';
import { TPM_ALG } from '../../agent/tpm/constants.js';
import { Tpm } from '../../agent/tpm/tpm.js';
import { openTransport } from '../../agent/tpm/transport/index.js';
import { useBootedHosts } from '../helpers/booted-host.js';
import { withBootAggregate } from '../helpers/ima-list.js';
import {
  ascii,
  buildEventLog,
  devicePath,
  hash,
  imageLoadData,
  type SyntheticEvent,
  type SyntheticLog,
  uefiBootEvents,
} from '../helpers/synthetic-eventlog.js';
import { cli } from './helpers.js';

const SHIM = ascii('MZ… a stand-in for the PE image of shimx64.efi');
const KERNEL = ascii('a stand-in for the bytes of /boot/vmlinuz-6.1.0');
const EVIL = ascii('a kernel nobody allowed');
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const IMA_LIST = join(import.meta.dirname, '../vectors/ima/rust-keylime/ascii_runtime_measurements');

const hosts = useBootedHosts('bypass');
const hostBooted = (log: SyntheticLog) => hosts.boot(log);
const file = hosts.file;

/** The honest boot, with the kernel event replaced by `kernel` (events of PCR 9 onwards). */
function boot(pcr9: readonly SyntheticEvent[] = [kernelEvent(KERNEL)]): SyntheticEvent[] {
  return [...uefiBootEvents().filter((e) => e.pcr !== 9), ...pcr9];
}

function kernelEvent(measured: Uint8Array, path = '/boot/vmlinuz-6.1.0'): SyntheticEvent {
  return { pcr: 9, type: EV.IPL, data: ascii(`${path}\0`), measured };
}

/** A reference-state document written by hand (the format of `state capture`). */
async function reference(rules: Record<string, unknown>): Promise<string> {
  const doc = {
    execgate: 'reference-state',
    version: 1,
    created: '2026-12-01T00:00:00Z',
    host: {},
    pcrs: {},
    rules,
  };
  return file(JSON.stringify(doc));
}

const allow = (bank: 'sha1' | 'sha256', data: Uint8Array) => [{ bank, digest: hex(hash(bank, data)) }];

/** A quote bundle of `pcrs` by the host's AK, as a host would send it: [bundle, AK PEM, nonce]. */
async function bundle(tcti: string[], pcrs: string): Promise<string[]> {
  expect((await cli([...tcti, 'host', 'init'])).code).toBe(EXIT.OK);
  const id = JSON.parse((await cli([...tcti, 'host', 'identity', '--json'])).stdout) as {
    akPublicPem: string;
  };
  const out = `${await file('')}.cbor`;
  const nonce = '5eed0f0a11ce5eed';
  const q = await cli([...tcti, 'quote', '--pcrs', pcrs, '--nonce', nonce, '--out', out]);
  expect(q.code, q.stderr).toBe(EXIT.OK);
  return ['--quote', out, '--ak', await file(id.akPublicPem), '--nonce', nonce];
}

interface Check {
  code: number;
  failures: { rule: string; code: string; message: string }[];
  stderr: string;
}

async function stateCheck(args: string[]): Promise<Check> {
  const r = await cli(['state', 'check', ...args, '--json']);
  const doc = JSON.parse(r.stdout || '{"failures":[]}') as { failures: Check['failures'] };
  return { code: r.code, failures: doc.failures, stderr: r.stderr };
}

const KERNEL_RULES = {
  secureBoot: 'required',
  bootApplications: allow('sha256', SHIM),
  kernels: allow('sha256', KERNEL),
};

describe('an honest host passes', () => {
  it('state check, fresh quote and the quote a host sends', async () => {
    const log = buildEventLog({ banks: ['sha1', 'sha256'], events: boot() });
    const tcti = await hostBooted(log);
    const ref = await reference(KERNEL_RULES);
    const logFile = await file(log.bytes);
    const fresh = await stateCheck([...tcti, ref, '--eventlog', logFile, '--no-ima']);
    expect(fresh.code, JSON.stringify(fresh)).toBe(EXIT.OK);
    const given = await stateCheck([
      ref,
      '--eventlog',
      logFile,
      '--no-ima',
      ...(await bundle(tcti, 'sha256:0-9')),
    ]);
    expect(given.code, JSON.stringify(given)).toBe(EXIT.OK);
  });
});

describe('bypass 1: the verifier, not the evidence, decides what must be quoted', () => {
  it('a quote of PCRs 0–7 with a known-good log does not vouch for the kernel (PCRs 8–9)', async () => {
    const booted = buildEventLog({ banks: ['sha1', 'sha256'], events: boot([kernelEvent(EVIL)]) });
    const tcti = await hostBooted(booted);
    const good = await file(buildEventLog({ banks: ['sha1', 'sha256'], events: boot() }).bytes);
    const ref = await reference(KERNEL_RULES);
    const r = await stateCheck([ref, '--eventlog', good, '--no-ima', ...(await bundle(tcti, 'sha256:0-7'))]);
    expect(r.code).toBe(EXIT.EVIDENCE_INVALID);
    expect(r.failures).toContainEqual(expect.objectContaining({ rule: 'kernel', code: 'not-quoted' }));
    // A fresh quote covers what the reference reads, so the same log is caught lying about PCR 9.
    const fresh = await stateCheck([...tcti, ref, '--eventlog', good, '--no-ima']);
    expect(fresh.code).toBe(EXIT.EVIDENCE_INVALID);
    expect(fresh.failures).toContainEqual(
      expect.objectContaining({ rule: 'eventlog', code: 'evidence-untrusted' }),
    );
  });

  it('a quoted PCR whose events were all dropped from the log fails', async () => {
    const log = buildEventLog({ banks: ['sha1', 'sha256'], events: boot() });
    const tcti = await hostBooted(log);
    const stripped = buildEventLog({
      banks: ['sha1', 'sha256'],
      events: boot([]).filter((e) => e.pcr !== 8),
    });
    const ref = await reference({ secureBoot: 'required', kernels: [] });
    const r = await stateCheck([...tcti, ref, '--eventlog', await file(stripped.bytes), '--no-ima']);
    expect(r.code).toBe(EXIT.EVIDENCE_INVALID);
    expect(
      r.failures
        .filter((f) => f.rule === 'eventlog')
        .map((f) => f.message)
        .join('\n'),
    ).toMatch(/PCR 8.*\n.*PCR 9|PCR 9/s);
  });
});

describe('bypass 2: an allowlist covers every event of its PCR, whatever its type', () => {
  for (const [name, type] of [
    ['EV_POST_CODE', EV.POST_CODE],
    ['EV_EFI_BOOT_SERVICES_DRIVER', 0x80000004],
    ['an undefined type', 0x80000099],
  ] as const) {
    it(`a boot application retagged as ${name} in PCR 4 is judged by its digest`, async () => {
      const evil: SyntheticEvent = {
        pcr: 4,
        type,
        data: imageLoadData(devicePath('\\EFI\\evil\\loader.efi'), EVIL.length),
        measured: EVIL,
      };
      const log = buildEventLog({ banks: ['sha1', 'sha256'], events: [...boot(), evil] });
      const tcti = await hostBooted(log);
      const logFile = await file(log.bytes);
      const r = await stateCheck([...tcti, await reference(KERNEL_RULES), '--eventlog', logFile, '--no-ima']);
      expect(r.code).toBe(EXIT.EVIDENCE_INVALID);
      expect(r.failures).toContainEqual(
        expect.objectContaining({ rule: 'boot-application', code: 'digest-not-allowed' }),
      );
      // eventlog verify still verifies the PCRs, but warns that this type does not belong in PCR 4.
      const v = await cli([...tcti, 'eventlog', 'verify', logFile]);
      expect(v.code, v.stderr).toBe(EXIT.OK);
      expect(v.stdout).toMatch(/warning: event \d+ \(PCR 4\) (unexpected-pcr|unknown-type)/);
    });
  }
});

describe('bypass 3: a PCR 9 event is judged by its digest, not by the path it names', () => {
  it('an unlisted kernel whose path text names grubenv, beside the allowed kernel, fails', async () => {
    const events = boot([kernelEvent(EVIL, '/boot/grub/grubenv'), kernelEvent(KERNEL)]);
    const log = buildEventLog({ banks: ['sha1', 'sha256'], events });
    const tcti = await hostBooted(log);
    const r = await stateCheck([
      ...tcti,
      await reference(KERNEL_RULES),
      '--eventlog',
      await file(log.bytes),
      '--no-ima',
    ]);
    expect(r.code).toBe(EXIT.EVIDENCE_INVALID);
    // The kernels list is the only list of PCRs 8–9 here, so it judges the event the path calls grubenv.
    const f = r.failures.find((x) => x.code === 'digest-not-allowed');
    expect(f?.rule).toBe('kernel');
    expect(f?.message).toMatch(/PCR 9 event \d+ \(EV_IPL "\/boot\/grub\/grubenv"\) has sha256 digest/);
  });
});

describe('bypass 4: only banks in the verified quote are evidence', () => {
  it('a forged sha1 bank does not satisfy a sha1 rule on a TPM quoted in sha256', async () => {
    const booted = buildEventLog({ banks: ['sha1', 'sha256'], events: boot([kernelEvent(EVIL)]) });
    const tcti = await hostBooted(booted);
    const forged = buildEventLog({
      banks: ['sha1', 'sha256'],
      events: boot([{ ...kernelEvent(EVIL), digests: { sha1: hash('sha1', KERNEL) } }]),
    });
    const ref = await reference({ secureBoot: 'any', kernels: allow('sha1', KERNEL) });
    const r = await stateCheck([
      ref,
      '--eventlog',
      await file(forged.bytes),
      '--no-ima',
      ...(await bundle(tcti, 'sha256:0-9')),
    ]);
    expect(r.code).toBe(EXIT.EVIDENCE_INVALID);
    expect(r.failures).toContainEqual(expect.objectContaining({ rule: 'kernel', code: 'not-quoted' }));
  });
});

describe('bypass 5 and boot_aggregate: every quoted bank of PCR 10 must agree', () => {
  /** A TPM whose sha1 PCR 10 holds the list's first 300 entries and whose sha256 PCR 10 holds `sha256`. */
  async function imaHost(sha256: 'consistent' | 'contradicts'): Promise<{ tcti: string[]; list: string }> {
    const real = (await readFile(IMA_LIST, 'utf8')).split('\n').filter((l) => l.length > 0);
    const text = `${withBootAggregate(
      real,
      Array.from({ length: 8 }, () => new Uint8Array(20)),
    ).join('\n')}\n`;
    const tcti = await hosts.boot();
    const tpm = new Tpm(openTransport(tcti[1] ?? ''));
    try {
      for (const e of parseImaLog(new TextEncoder().encode(text)).entries.slice(0, 300)) {
        const own = createHash('sha256')
          .update(e.hashedData ?? new Uint8Array(0))
          .digest();
        const other = sha256 === 'consistent' ? own : createHash('sha256').update(own).update('x').digest();
        await tpm.run(PCR_Extend, {
          pcrHandle: 10,
          digests: [
            { hashAlg: TPM_ALG.SHA1, digest: e.templateHash },
            { hashAlg: TPM_ALG.SHA256, digest: new Uint8Array(other) },
          ],
        });
      }
    } finally {
      await tpm.close();
    }
    return { tcti, list: await file(text) };
  }

  it('ima verify: a sha256 PCR 10 that contradicts the list fails it', async () => {
    const ok = await imaHost('consistent');
    const both = ['--pcrs', 'sha1:0-7,10+sha256:10'];
    expect((await cli([...ok.tcti, 'ima', 'verify', ok.list, ...both])).code).toBe(EXIT.OK);
    const bad = await imaHost('contradicts');
    const r = await cli([...bad.tcti, 'ima', 'verify', bad.list, ...both]);
    expect(r.code).toBe(EXIT.EVIDENCE_INVALID);
    expect(r.stderr).toMatch(/sha256 PCR 10: no prefix/);
  });

  it('state check with an IMA rule: a contradicting bank, or boot_aggregate not quoted, fails', async () => {
    const bad = await imaHost('contradicts');
    const ref = join(hosts.dir(), 'ima-ref.json');
    const cap = await cli([
      ...bad.tcti,
      'state',
      'capture',
      '--no-eventlog',
      '--ima',
      bad.list,
      '--exact-pcrs',
      'none',
      '--out',
      ref,
    ]);
    expect(cap.code, cap.stderr).toBe(EXIT.OK);
    const clean = await stateCheck([...bad.tcti, ref, '--no-eventlog', '--ima', bad.list]);
    expect(clean.code, JSON.stringify(clean)).toBe(EXIT.OK);
    const both = await stateCheck([
      ...bad.tcti,
      ref,
      '--no-eventlog',
      '--ima',
      bad.list,
      '--pcrs',
      'sha1:0-7,10+sha256:10',
    ]);
    expect(both.code).toBe(EXIT.EVIDENCE_INVALID);
    expect(both.failures).toContainEqual(
      expect.objectContaining({ rule: 'ima', code: 'evidence-untrusted' }),
    );
    const untied = await stateCheck([
      ...bad.tcti,
      ref,
      '--no-eventlog',
      '--ima',
      bad.list,
      '--pcrs',
      'sha1:10',
    ]);
    expect(untied.code).toBe(EXIT.EVIDENCE_INVALID);
    expect(untied.failures.map((f) => f.message).join('\n')).toMatch(/boot_aggregate/);
  });
});

describe('nonces', () => {
  it('an empty --nonce is refused when quoting and when verifying', async () => {
    const tcti = await hostBooted(buildEventLog({ banks: ['sha256'], events: [] }));
    expect((await cli([...tcti, 'host', 'init'])).code).toBe(EXIT.OK);
    const out = join(hosts.dir(), 'empty-nonce.cbor');
    const q = await cli([...tcti, 'quote', '--nonce', '', '--out', out]);
    expect(q.code).toBe(EXIT.USAGE);
    expect(q.stderr).toMatch(/--nonce/);
    const made = await cli([...tcti, 'quote', '--out', out]);
    expect(made.code).toBe(EXIT.OK);
    const pem = await file(
      JSON.parse((await cli([...tcti, 'host', 'identity', '--json'])).stdout).akPublicPem,
    );
    for (const argv of [
      ['quote', 'verify', out, '--ak', pem, '--nonce', ''],
      [
        'state',
        'check',
        await reference(KERNEL_RULES),
        '--no-eventlog',
        '--no-ima',
        '--quote',
        out,
        '--ak',
        pem,
        '--nonce',
        '',
      ],
      [
        'eventlog',
        'verify',
        await file(buildEventLog({ banks: ['sha256'], events: [] }).bytes),
        '--quote',
        out,
        '--ak',
        pem,
        '--nonce',
        '0x',
      ],
    ]) {
      const r = await cli(argv);
      expect(r.code, argv.join(' ')).toBe(EXIT.USAGE);
      expect(r.stderr).toMatch(/--nonce must not be empty/);
    }
  });
});
