// SPDX-License-Identifier: Apache-2.0
// End to end on swtpm (issue 6 acceptance): a synthetic crypto-agile UEFI boot log (SHA-1, SHA-256, SHA-384)
// whose digests are PCR_Extended into swtpm, quoted, the quote verified, the log replayed and compared with
// the quoted values. Then the log is tampered with (a changed digest, an extra logged event, a retagged
// event, a missing PCR) and each is caught with the PCR named and, where the rules allow, the event.
//
// swtpm starts at locality 0 with PCRs 0–15 extendable from it (PC Client PCR attributes), so the log uses
// PCRs 0–9 as firmware and the boot loader would. The findings come from agent/measure/event-check.ts.

import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeQuote, withAk } from '../../agent/attest/quote.js';
import { verifyQuote } from '../../agent/attest/verify-quote.js';
import { bankName } from '../../agent/crypto/algorithms.js';
import { initHashing } from '../../agent/crypto/hash.js';
import { initVerification } from '../../agent/crypto/verify.js';
import { compareWithQuote, type FindingLike, quotedPcrValues } from '../../agent/measure/compare.js';
import { checkEvents } from '../../agent/measure/event-check.js';
import { EV, type EventLog, parseEventLog } from '../../agent/measure/eventlog.js';
import { replayEventLog } from '../../agent/measure/replay.js';
import { PCR_Extend } from '../../agent/tpm/commands.js';
import { type PcrValues, parseSelection } from '../../agent/tpm/pcr-selection.js';
import { Tpm } from '../../agent/tpm/tpm.js';
import { openTransport } from '../../agent/tpm/transport/index.js';
import { useSwtpm } from '../helpers/swtpm.js';
import {
  ascii,
  BANK_ALG,
  type Bank,
  buildEventLog,
  hash,
  type SyntheticEvent,
  uefiBootEvents,
} from '../helpers/synthetic-eventlog.js';

const swtpm = useSwtpm();

const BANKS: Bank[] = ['sha1', 'sha256', 'sha384'];
const LOGGED = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
/** PCRs 0–9 (the log's) and 11 (never logged) in all three banks. */
const SELECTION = parseSelection('sha1:0-9,11+sha256:0-9,11+sha384:0-9,11');

const EVENTS = uefiBootEvents();
const LOG = buildEventLog({ banks: BANKS, events: EVENTS });
const hex = (b: Uint8Array | undefined) => Buffer.from(b ?? new Uint8Array(0)).toString('hex');

let tpm: Tpm;
let quoted: PcrValues;

/** Quotes SELECTION with a fresh ECC AK, verifies the quote, and returns its PCR values. */
async function verifiedQuote(): Promise<PcrValues> {
  const nonce = new Uint8Array(randomBytes(16));
  const ev = await withAk(tpm, { kind: 'primary', alg: 'ecc' }, (ak) =>
    makeQuote(tpm, ak, { selection: SELECTION, nonce }),
  );
  const verdict = verifyQuote({
    attest: ev.attest,
    signature: ev.signature,
    akPublicKey: ev.akSpki,
    nonce,
    selection: SELECTION,
    pcrValues: ev.pcrValues,
  });
  expect(verdict).toMatchObject({ ok: true });
  return quotedPcrValues(ev.selection, ev.pcrValues);
}

function compare(bytes: Uint8Array, findings?: (log: EventLog) => FindingLike[]) {
  const log = parseEventLog(bytes);
  const replay = replayEventLog(log);
  return {
    log,
    comparison: compareWithQuote(log, replay, quoted, findings ? { findings: findings(log) } : {}),
  };
}

beforeAll(async () => {
  await initVerification();
  await initHashing();
  tpm = new Tpm(openTransport(swtpm().tcti));
  for (const x of LOG.extends) await tpm.run(PCR_Extend, { pcrHandle: x.pcr, digests: [...x.digests] });
  quoted = await verifiedQuote();
});
afterAll(async () => {
  await tpm?.close();
});

describe('event log vs a verified quote on swtpm', () => {
  it('the TPM holds what the log implies (node:crypto and tpm2_eventlog agree), and the log verifies', () => {
    for (const b of BANKS) {
      for (const pcr of LOGGED) {
        expect(hex(quoted.get(BANK_ALG[b])?.get(pcr)), `${b}:${pcr}`).toBe(
          hex(LOG.pcrs.get(BANK_ALG[b])?.get(pcr)),
        );
      }
    }
    // tpm2_eventlog reads the same file (and decodes its UEFI structures) to the same values.
    const dir = mkdtempSync(join(tmpdir(), 'execgate-eventlog-'));
    try {
      const file = join(dir, 'binary_bios_measurements');
      writeFileSync(file, LOG.bytes);
      const run = spawnSync('tpm2_eventlog', [file], { encoding: 'utf8' });
      expect(run.status, run.stderr).toBe(0);
      expect(run.stdout).toContain('SecureBoot');
      expect(run.stdout).toContain('Calling EFI Application from Boot Option');
      for (const b of BANKS) {
        const section = run.stdout.slice(run.stdout.indexOf('pcrs:'));
        const bankAt = section.indexOf(`  ${b}:`);
        for (const pcr of LOGGED) {
          const m = new RegExp(`\\n {4}${pcr}\\s*:\\s*0x([0-9A-Fa-f]+)`).exec(section.slice(bankAt));
          expect(m?.[1]?.toLowerCase(), `tpm2_eventlog ${b}:${pcr}`).toBe(
            hex(quoted.get(BANK_ALG[b])?.get(pcr)),
          );
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }

    const { comparison } = compare(LOG.bytes, checkEvents);
    expect(comparison.mismatches).toEqual([]);
    expect(comparison.ok).toBe(true);
    expect(comparison.matched.length).toBe(3 * 11);
    expect(comparison.notInLog).toEqual(BANKS.map((b) => ({ algId: BANK_ALG[b], pcr: 11 })));
    expect(comparison.notQuoted).toEqual([]);
    expect(checkEvents(parseEventLog(LOG.bytes))).toEqual([]);
  });

  it('one changed byte of one logged digest: that bank and PCR mismatch, and the finding names the event', () => {
    const index = 1 + EVENTS.findIndex((e) => e.type === EV.EFI_VARIABLE_DRIVER_CONFIG);
    // TCG_PCR_EVENT2: pcrIndex, eventType, count, then {algId u16, digest} per bank: sha1 (20), sha256.
    const at = (LOG.offsets[index] ?? 0) + 12 + (2 + 20) + 2 + 5;
    const bytes = Uint8Array.from(LOG.bytes);
    bytes[at] = (bytes[at] ?? 0) ^ 0x40;

    const plain = compare(bytes).comparison;
    expect(plain.ok).toBe(false);
    expect(plain.mismatches.map((m) => [bankName(m.algId), m.pcr, m.kind])).toEqual([['sha256', 7, 'value']]);
    expect(plain.mismatches[0]?.divergence).toBeUndefined();
    expect(plain.mismatches[0]?.message).toContain('cannot be localized');

    const { log, comparison } = compare(bytes, checkEvents);
    const [m] = comparison.mismatches;
    expect(comparison.mismatches.length).toBe(1);
    expect(m?.divergence).toEqual({
      index,
      offset: log.events[index]?.offset,
      typeName: 'EV_EFI_VARIABLE_DRIVER_CONFIG',
      reason: 'finding',
      code: 'digest-mismatch',
    });
    expect(m?.message).toMatch(/^sha256 PCR 7: .*event \d+ \(EV_EFI_VARIABLE_DRIVER_CONFIG at byte \d+\)/);
  });

  it('an extra logged event that was never extended is named (rule 2)', () => {
    const extra: SyntheticEvent = {
      pcr: 8,
      type: EV.IPL,
      data: ascii('grub_cmd: insmod not-really-run\0'),
      measured: ascii('insmod not-really-run'),
    };
    const bytes = buildEventLog({ banks: BANKS, events: [...EVENTS, extra] }).bytes;
    expect(Buffer.from(bytes.subarray(0, LOG.bytes.length)).equals(Buffer.from(LOG.bytes))).toBe(true);
    const { log, comparison } = compare(bytes, checkEvents);
    expect(comparison.mismatches.map((m) => [bankName(m.algId), m.pcr])).toEqual(BANKS.map((b) => [b, 8]));
    for (const m of comparison.mismatches) {
      expect(m.divergence).toMatchObject({ index: log.events.length - 1, reason: 'logged-not-extended' });
    }
  });

  it('an extended event retagged EV_NO_ACTION: replay skips it, and the retag is named (rule 1)', () => {
    const index = 1 + EVENTS.findIndex((e) => e.type === EV.EFI_BOOT_SERVICES_APPLICATION);
    const bytes = Uint8Array.from(LOG.bytes);
    new DataView(bytes.buffer).setUint32((LOG.offsets[index] ?? 0) + 4, EV.NO_ACTION, true);

    const plain = compare(bytes).comparison;
    expect(plain.mismatches.map((m) => [bankName(m.algId), m.pcr])).toEqual(BANKS.map((b) => [b, 4]));
    expect(plain.mismatches.every((m) => m.divergence === undefined)).toBe(true);

    const { comparison } = compare(bytes, checkEvents);
    expect(comparison.mismatches.length).toBe(3);
    for (const m of comparison.mismatches) {
      expect(m.divergence).toMatchObject({
        index,
        typeName: 'EV_NO_ACTION',
        reason: 'finding',
        code: 'retagged',
      });
    }
  });

  it('a log missing a PCR the TPM extended is caught: PCR 9 dropped from the log', () => {
    const bytes = buildEventLog({ banks: BANKS, events: EVENTS.filter((e) => e.pcr !== 9) }).bytes;
    const { comparison } = compare(bytes);
    expect(comparison.mismatches.map((m) => [bankName(m.algId), m.pcr, m.kind])).toEqual(
      BANKS.map((b) => [b, 9, 'unlogged-extend']),
    );
  });

  it('a PCR extended in the TPM behind the log’s back is caught: PCR 11, a new quote', async () => {
    await tpm.run(PCR_Extend, {
      pcrHandle: 11,
      digests: BANKS.map((b) => ({ hashAlg: BANK_ALG[b], digest: hash(b, ascii('unlogged')) })),
    });
    quoted = await verifiedQuote();
    const { comparison } = compare(LOG.bytes, checkEvents);
    expect(comparison.mismatches.map((m) => [bankName(m.algId), m.pcr, m.kind])).toEqual(
      BANKS.map((b) => [b, 11, 'unlogged-extend']),
    );
    expect(comparison.matched.length).toBe(3 * 10);
  });
});
