// SPDX-License-Identifier: Apache-2.0
// End-to-end versions of test/measure/state-adversary.test.ts against a real swtpm: a known-good host
// captures its reference with `state capture` (fresh quote), then another host, which really extended what
// it booted into its TPM, hands `state check` a log it rewrote. The verdict must not say OK.
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../agent/cli/exit.js';
import { EV } from '../../agent/measure/eventlog.js';
import { useBootedHosts } from '../helpers/booted-host.js';
import { bootAggregateLine } from '../helpers/ima-list.js';
import {
  ascii,
  buildEventLog,
  efiVariableData,
  type SyntheticEvent,
  type SyntheticLog,
  uefiBootEvents,
} from '../helpers/synthetic-eventlog.js';
import { cli } from './helpers.js';

const hosts = useBootedHosts('adversary');
const hostBooted = (log?: SyntheticLog) => hosts.boot(log);
const file = hosts.file;

const build = (events: readonly SyntheticEvent[]) => buildEventLog({ banks: ['sha1', 'sha256'], events });

/** `state capture --exact-pcrs LIST` on the honest host; returns the reference's path. */
async function captureHonest(exact: string): Promise<string> {
  const log = build(uefiBootEvents());
  const tcti = await hostBooted(log);
  const out = `${await file('')}.json`;
  const r = await cli([
    ...tcti,
    'state',
    'capture',
    '--eventlog',
    await file(log.bytes),
    '--no-ima',
    '--exact-pcrs',
    exact,
    '--out',
    out,
  ]);
  expect(r.code, r.stderr).toBe(EXIT.OK);
  // Control: the honest host checks clean against it.
  const again = await cli([...tcti, 'state', 'check', out, '--eventlog', await file(log.bytes), '--no-ima']);
  expect(again.code, again.stderr).toBe(EXIT.OK);
  return out;
}

/** `state check REF` of a host that extended `events`, given the log the host wrote. */
async function checkAttacked(ref: string, events: readonly SyntheticEvent[]) {
  const log = build(events);
  const tcti = await hostBooted(log);
  return cli([...tcti, 'state', 'check', ref, '--eventlog', await file(log.bytes), '--no-ima', '--json']);
}

describe('finding 1 (CLI): a measured file re-tagged as a data-hashed event escapes the allowlists', () => {
  it('grub measured an evil grub.cfg into PCR 9; the log shows it as EV_EFI_ACTION with the file as data', async () => {
    // See test/measure/state-adversary.test.ts finding 1: the PCR 9 extend is the hash of the evil file,
    // the log event's data is that file, so "digest = hash of data" holds and no list judges it.
    const ref = await captureHonest('0-7');
    const cfg = ascii('menuentry evil {\n  linux /boot/vmlinuz-6.1.0 root=/dev/vda1 init=/bin/sh\n}\n');
    const r = await checkAttacked(ref, [...uefiBootEvents(), { pcr: 9, type: EV.EFI_ACTION, data: cfg }]);
    expect(r.code, r.stdout).toBe(EXIT.EVIDENCE_INVALID);
  });
});

describe('finding 2 (CLI): the kernel command line is not judged', () => {
  it('the allowed kernel with init=/bin/sh passes a `--exact-pcrs 0-7` reference', async () => {
    const ref = await captureHonest('0-7');
    const events = uefiBootEvents().map((e) =>
      e.pcr === 8
        ? {
            ...e,
            data: ascii('grub_cmd: linux /boot/vmlinuz-6.1.0 root=/dev/vda1 ro init=/bin/sh\0'),
            measured: ascii('linux /boot/vmlinuz-6.1.0 root=/dev/vda1 ro init=/bin/sh'),
          }
        : e,
    );
    const r = await checkAttacked(ref, events);
    expect(r.code, r.stdout).toBe(EXIT.EVIDENCE_INVALID);
  });
});

describe('finding 3 (CLI): Secure Boot disabled, shown as enabled', () => {
  it('the real SecureBoot = 0 event re-tagged EV_EFI_VARIABLE_AUTHORITY, a SecureBoot = 1 event extended later', async () => {
    // A reference whose exact PCRs leave out PCR 7 (here: none) relies on secureBoot "required" alone.
    const ref = await captureHonest('none');
    const off = efiVariableData('SecureBoot', Uint8Array.of(0));
    const on = efiVariableData('SecureBoot', Uint8Array.of(1));
    const events: SyntheticEvent[] = uefiBootEvents().map((e) =>
      e.pcr === 7 && e.type === EV.EFI_VARIABLE_DRIVER_CONFIG
        ? { pcr: 7, type: EV.EFI_VARIABLE_AUTHORITY, data: off }
        : e,
    );
    events.push({ pcr: 7, type: EV.EFI_VARIABLE_DRIVER_CONFIG, data: on });
    const r = await checkAttacked(ref, events);
    expect(r.code, r.stdout).toBe(EXIT.EVIDENCE_INVALID);
  });
});

describe('finding 5 (CLI): an IMA rule passes on a host whose IMA never extended PCR 10', () => {
  it('PCR 10 at zero and a list holding only a boot_aggregate computed from the quoted PCRs fails', async () => {
    // The TPM's PCRs 0–7 and 10 are all zero (IMA in TPM-bypass: it extended nothing); the host writes a
    // list whose boot_aggregate is the hash of the quoted PCRs 0–7 and whose other entries are whatever.
    const tcti = await hostBooted();
    const zeros = Array.from({ length: 8 }, () => new Uint8Array(20));
    const ref = await file(
      JSON.stringify({
        execgate: 'reference-state',
        version: 1,
        created: '2026-12-01T00:00:00Z',
        host: {},
        pcrs: {},
        rules: {
          secureBoot: 'any',
          ima: { mode: 'enforce-listed', allowViolations: false, allowlist: [] },
        },
      }),
    );
    const list = await file(`${bootAggregateLine(zeros)}\n`);
    const r = await cli([...tcti, 'state', 'check', ref, '--no-eventlog', '--ima', list, '--json']);
    expect(r.code, r.stdout).toBe(EXIT.EVIDENCE_INVALID);
  });
});
