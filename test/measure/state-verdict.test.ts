// SPDX-License-Identifier: Apache-2.0
// The measured-state verdict (agent/measure/state/verdict.ts) on synthetic boot logs, with the quote's
// values taken from what was extended: what a quote must cover, which banks count, an artifact's PCR-digest
// claim, the selection a verifier asks for, and two properties over hostile variations (fast-check; a
// failure prints its seed).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { initHashing } from '../../agent/crypto/hash.js';
import { EV, parseEventLog } from '../../agent/measure/eventlog.js';
import { parseImaLog } from '../../agent/measure/ima/index.js';
import type { ReferenceState } from '../../agent/measure/reference.js';
import { replayEventLog } from '../../agent/measure/replay.js';
import {
  captureReference,
  judgeIma,
  judgeMeasuredState,
  RULE_PCRS,
  stateSelection,
} from '../../agent/measure/state/index.js';
import { TPM_ALG } from '../../agent/tpm/constants.js';
import type { PcrValues } from '../../agent/tpm/pcr-selection.js';
import { bootAggregateLine } from '../helpers/ima-list.js';
import {
  ascii,
  buildEventLog,
  devicePath,
  imageLoadData,
  type SyntheticEvent,
  uefiBootEvents,
} from '../helpers/synthetic-eventlog.js';

beforeAll(async () => {
  await initHashing();
});

const HONEST = buildEventLog({ banks: ['sha1', 'sha256'], events: uefiBootEvents() });
const log = parseEventLog(HONEST.bytes);
/** What the TPM holds after the honest boot: every PCR 0–9 in both banks. */
const QUOTED: PcrValues = replayEventLog(log).pcrs;

/** `QUOTED` with only the (bank, PCR)s `keep` allows. */
function only(keep: (alg: number, pcr: number) => boolean, from: PcrValues = QUOTED): PcrValues {
  return new Map([...from].map(([alg, m]) => [alg, new Map([...m].filter(([p]) => keep(alg, p)))]));
}

/** The reference of the honest boot without exact PCR values: every rule is an allowlist. */
function rulesOnly(): ReferenceState {
  const doc = captureReference(judgeMeasuredState({ quoted: QUOTED, eventLog: { log } }).evidence);
  return { ...doc, pcrs: {} };
}

describe('judgeMeasuredState', () => {
  it('the honest boot passes, and its evidence names the (bank, PCR)s the log was verified on', () => {
    const v = judgeMeasuredState({ quoted: QUOTED, eventLog: { log }, reference: rulesOnly() });
    expect(v.failures).toEqual([]);
    expect(v.ok).toBe(true);
    expect([...(v.evidence.boot?.verified.get('sha256') ?? [])].sort((a, b) => a - b)).toEqual([
      0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
    ]);
    expect(v.evidence.boot?.measured.map((e) => [e.pcr, e.role ?? null])).toEqual([
      [4, null],
      [9, 'kernel'],
    ]);
  });

  it('a log that does not replay to the quote is no evidence', () => {
    const other = parseEventLog(
      buildEventLog({ banks: ['sha1', 'sha256'], events: uefiBootEvents().filter((e) => e.pcr !== 9) }).bytes,
    );
    const v = judgeMeasuredState({ quoted: QUOTED, eventLog: { log: other }, reference: rulesOnly() });
    expect(v.ok).toBe(false);
    expect(v.evidence.boot).toBeUndefined();
    expect(v.failures.filter((f) => f.rule === 'eventlog').map((f) => f.detail)).toEqual([
      { bank: 'sha1', pcr: 9 },
      { bank: 'sha256', pcr: 9 },
    ]);
  });

  it('a quote covering none of PCRs 0–9 leaves the log unjudged, and fails', () => {
    const v = judgeMeasuredState({ quoted: new Map([[TPM_ALG.SHA256, new Map()]]), eventLog: { log } });
    expect(v.failures.map((f) => [f.rule, f.code])).toEqual([['eventlog', 'evidence-untrusted']]);
  });

  it('an artifact’s PCR-digest claim: equal, different, or not quoted', () => {
    const values = [0, 1, 7].map((p) => QUOTED.get(TPM_ALG.SHA256)?.get(p) ?? new Uint8Array(0));
    const d = new Uint8Array(createHash('sha256').update(Buffer.concat(values)).digest());
    const claim = { bank: 'sha256' as const, pcrs: [0, 1, 7], digest: d };
    expect(judgeMeasuredState({ quoted: QUOTED, claim }).ok).toBe(true);
    const wrong = judgeMeasuredState({ quoted: QUOTED, claim: { ...claim, pcrs: [0, 1, 6] } });
    expect(wrong.failures.map((f) => [f.rule, f.code])).toEqual([['pcr-digest', 'pcr-mismatch']]);
    const lacking = judgeMeasuredState({ quoted: only((_, p) => p !== 7), claim });
    expect(lacking.failures.map((f) => [f.rule, f.code, f.detail.pcrs])).toEqual([
      ['pcr-digest', 'not-quoted', [7]],
    ]);
  });

  it('property: the verdict passes exactly when the quote covers what every rule reads', () => {
    // Rules of the honest reference: Secure Boot (7, some bank), bootApplications (4), kernels (4, 8, 9),
    // initrds and loaderFiles (8, 9), each in both banks they list.
    const ref = rulesOnly();
    const pairs = [TPM_ALG.SHA1, TPM_ALG.SHA256].flatMap((alg) =>
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((pcr) => [alg, pcr] as const),
    );
    fc.assert(
      fc.property(fc.subarray(pairs), (kept) => {
        const has = (alg: number, pcr: number) => kept.some(([a, p]) => a === alg && p === pcr);
        const both = (pcr: number) => has(TPM_ALG.SHA1, pcr) && has(TPM_ALG.SHA256, pcr);
        const expected =
          (has(TPM_ALG.SHA1, 7) || has(TPM_ALG.SHA256, 7)) && [...RULE_PCRS.kernels].every(both);
        const v = judgeMeasuredState({ quoted: only(has), eventLog: { log }, reference: ref });
        expect(v.ok).toBe(expected);
      }),
    );
  });

  it('property: an extra event in PCR 4, 8 or 9, of any type and data, even data that is what was measured, fails the reference of the honest boot', () => {
    const ref = rulesOnly();
    fc.assert(
      fc.property(
        fc.constantFrom(4, 8, 9),
        fc.oneof(
          fc.constantFrom(
            EV.POST_CODE,
            EV.IPL,
            EV.EFI_ACTION,
            EV.SEPARATOR,
            EV.S_CRTM_VERSION,
            EV.ACTION,
            EV.EFI_GPT_EVENT,
            EV.EFI_VARIABLE_DRIVER_CONFIG,
            EV.OMIT_BOOT_DEVICE_EVENTS,
            0x80000003,
            0x80000004,
            0x80000099,
          ),
          fc.integer({ min: 0, max: 0xffffffff }),
        ),
        fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.constant(imageLoadData(devicePath('\\EFI\\x.efi'), 9))),
        // The host logs the measured bytes themselves as the data (a retag to a "data-hashed" type).
        fc.boolean(),
        (pcr, type, data, dataIsMeasured) => {
          fc.pre(type !== EV.NO_ACTION);
          // A real separator value measured is a separator, not a file: it may pass.
          const separatorValue =
            data.length === 4 && (data.every((b) => b === 0) || data.every((b) => b === 0xff));
          fc.pre(!(dataIsMeasured && separatorValue));
          const measured = dataIsMeasured ? data : ascii('an image nobody allowed');
          const evil: SyntheticEvent = { pcr, type, data, measured };
          const booted = parseEventLog(
            buildEventLog({ banks: ['sha1', 'sha256'], events: [...uefiBootEvents(), evil] }).bytes,
          );
          const v = judgeMeasuredState({
            quoted: replayEventLog(booted).pcrs,
            eventLog: { log: booted },
            reference: ref,
          });
          expect(v.ok).toBe(false);
        },
      ),
    );
  });
});

describe('judgeIma', () => {
  const list = (lines: string[]) => parseImaLog(new TextEncoder().encode(`${lines.join('\n')}\n`));
  const zeros = Array.from({ length: 8 }, () => new Uint8Array(20));
  const aggregate = bootAggregateLine(zeros);
  const REAL = readFileSync(
    join(import.meta.dirname, '../vectors/ima/rust-keylime/ascii_runtime_measurements'),
    'utf8',
  )
    .split('\n')
    .filter((x) => x.length > 0);

  /** PCR 10 in sha1 after `n` entries of `l`, and PCRs 0–7 at zero. */
  function quoted(l: ReturnType<typeof list>, n: number): PcrValues {
    let pcr10 = new Uint8Array(20);
    for (const e of l.entries.slice(0, n))
      pcr10 = new Uint8Array(createHash('sha1').update(pcr10).update(e.templateHash).digest());
    return new Map([[TPM_ALG.SHA1, new Map([...zeros.map((z, i) => [i, z] as const), [10, pcr10]])]]);
  }

  it('a list that does not start with boot_aggregate passes only when the tie is not required', () => {
    const l = list([aggregate, ...REAL.slice(1, 3)]);
    const headless = list(REAL.slice(1, 3));
    expect(judgeIma(l, quoted(l, 3), { requireBootAggregate: true }).ok).toBe(true);
    expect(judgeIma(headless, quoted(headless, 2)).ok).toBe(true);
    const strict = judgeIma(headless, quoted(headless, 2), { requireBootAggregate: true });
    expect(strict.ok).toBe(false);
    expect(strict.problems).toEqual([
      'the list does not start with boot_aggregate, so nothing ties it to the attested boot',
    ]);
  });

  it('boot_aggregate not quoted fails only when required', () => {
    const l = list([aggregate]);
    const q = only((_, p) => p === 10, quoted(l, 1));
    expect(judgeIma(l, q).ok).toBe(true);
    expect(judgeIma(l, q).bootAggregate.status).toBe('not-quoted');
    expect(judgeIma(l, q, { requireBootAggregate: true }).ok).toBe(false);
  });

  it('a quote without PCR 10 fails', () => {
    const l = list([aggregate]);
    expect(
      judgeIma(
        l,
        only((_, p) => p !== 10, quoted(l, 1)),
      ).problems[0],
    ).toMatch(/does not cover PCR 10/);
  });
});

describe('stateSelection', () => {
  const allocated = [
    { hash: TPM_ALG.SHA1, pcrs: Array.from({ length: 24 }, (_, i) => i) },
    { hash: TPM_ALG.SHA256, pcrs: Array.from({ length: 24 }, (_, i) => i) },
  ];

  it('asks for every PCR a rule reads, in the banks it names', () => {
    const ref: ReferenceState = {
      ...rulesOnly(),
      rules: { secureBoot: 'required', kernels: [{ bank: 'sha1', digest: '00'.repeat(20) }] },
    };
    expect(stateSelection({ allocated, reference: ref })).toEqual([
      { hash: TPM_ALG.SHA1, pcrs: [4, 7, 8, 9] },
    ]);
    expect(stateSelection({ allocated: allocated.slice(1), reference: ref })).toEqual([
      { hash: TPM_ALG.SHA256, pcrs: [7] },
    ]);
  });

  it('the logs: 0–7 and what the log extends in shared banks; PCR 10 and boot_aggregate’s PCRs for IMA', () => {
    const ima = parseImaLog(
      new TextEncoder().encode(`${bootAggregateLine(Array.from({ length: 8 }, () => new Uint8Array(20)))}\n`),
    );
    expect(stateSelection({ allocated, eventLog: { log, replay: replayEventLog(log) }, ima })).toEqual([
      { hash: TPM_ALG.SHA1, pcrs: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10] },
      { hash: TPM_ALG.SHA256, pcrs: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] },
    ]);
    expect(stateSelection({ allocated })).toEqual([{ hash: TPM_ALG.SHA256, pcrs: [0, 1, 2, 3, 4, 5, 6, 7] }]);
  });
});
