// SPDX-License-Identifier: Apache-2.0
// compareWithQuote: replayed event logs against quoted PCR values. The logs are synthetic (built with
// node:crypto digests, test/helpers/synthetic-eventlog.ts) or real vectors; the "quoted" values come from
// the builder's own node:crypto replay, so replay and comparison are checked against an independent oracle.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { initHashing } from '../../agent/crypto/hash.js';
import { compareWithQuote, type FindingLike, quotedPcrValues } from '../../agent/measure/compare.js';
import { EV, parseEventLog } from '../../agent/measure/eventlog.js';
import { replayEventLog } from '../../agent/measure/replay.js';
import { TPM_ALG } from '../../agent/tpm/constants.js';
import type { PcrValues } from '../../agent/tpm/pcr-selection.js';
import {
  ascii,
  BANK_ALG,
  type Bank,
  buildEventLog,
  resetValue,
  type SyntheticEvent,
  type SyntheticLogOptions,
  uefiBootEvents,
} from '../helpers/synthetic-eventlog.js';

beforeAll(async () => {
  await initHashing();
});

const SIZE: Readonly<Record<number, number>> = {
  [TPM_ALG.SHA1]: 20,
  [TPM_ALG.SHA256]: 32,
  [TPM_ALG.SHA384]: 48,
  [TPM_ALG.SHA512]: 64,
};

function build(options: SyntheticLogOptions) {
  const synthetic = buildEventLog(options);
  const log = parseEventLog(synthetic.bytes);
  return { synthetic, log, replay: replayEventLog(log) };
}

/** The builder's (node:crypto) values of `pcrs` in `banks`, reset values for PCRs it never extended. */
function oracleQuote(
  synthetic: ReturnType<typeof buildEventLog>,
  banks: readonly Bank[],
  pcrs: readonly number[],
  locality = 0,
): PcrValues {
  const out: PcrValues = new Map();
  for (const b of banks) {
    const alg = BANK_ALG[b];
    const size = SIZE[alg] ?? 0;
    out.set(
      alg,
      new Map(pcrs.map((p) => [p, synthetic.pcrs.get(alg)?.get(p) ?? resetValue(p, size, locality)])),
    );
  }
  return out;
}

const BOOT_PCRS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
const extra: SyntheticEvent = { pcr: 8, type: EV.IPL, data: ascii('grub_cmd: insmod evil\0') };

describe('compareWithQuote', () => {
  it('a UEFI boot log matches the values it was built with; unquoted and unlogged PCRs are listed', () => {
    const banks: Bank[] = ['sha1', 'sha256', 'sha384'];
    const { synthetic, log, replay } = build({ banks, startupLocality: 0, events: uefiBootEvents() });
    // 0–7 and 8 are quoted; 9 is logged but not quoted; 11 and 16 are quoted but never logged.
    const quoted = oracleQuote(synthetic, banks, [0, 1, 2, 3, 4, 5, 6, 7, 8, 11, 16]);
    const c = compareWithQuote(log, replay, quoted);
    expect(c.mismatches).toEqual([]);
    expect(c.ok).toBe(true);
    expect(c.matched.length).toBe(3 * 11);
    expect(c.notInLog).toEqual(banks.flatMap((b) => [11, 16].map((pcr) => ({ algId: BANK_ALG[b], pcr }))));
    expect(c.notQuoted).toEqual([9]);
  });

  it('an empty quote is not ok (nothing was judged)', () => {
    const { log, replay } = build({ banks: ['sha256'], events: uefiBootEvents() });
    const c = compareWithQuote(log, replay, new Map());
    expect(c.ok).toBe(false);
    expect(c.mismatches).toEqual([]);
    expect(c.notQuoted).toEqual(BOOT_PCRS);
  });

  it('rule 1: a digest-mismatch finding names the event, for its bank only; the lowest index wins', () => {
    const banks: Bank[] = ['sha1', 'sha256'];
    const events = uefiBootEvents();
    const { synthetic } = build({ banks, events });
    // The log's sha256 digest of the SecureBoot variable event (index 2) is wrong; the TPM got the right one.
    const bad = events.map((e, i) =>
      i === 1 ? { ...e, digests: { sha256: new Uint8Array(32).fill(7) } } : e,
    );
    const { log, replay } = build({ banks, events: bad });
    const quoted = oracleQuote(synthetic, banks, BOOT_PCRS);
    const sep7 = log.events.find((e) => e.pcrIndex === 7 && e.eventType === EV.SEPARATOR);
    const findings: FindingLike[] = [
      // A later finding in the same PCR, a finding in another PCR, and a finding of a code that names nothing.
      {
        index: sep7?.index ?? -1,
        offset: sep7?.offset ?? -1,
        pcrIndex: 7,
        code: 'digest-mismatch',
        message: 'b',
      },
      { index: 1, offset: 0, pcrIndex: 0, code: 'digest-mismatch', message: 'other PCR' },
      { index: 2, offset: 0, pcrIndex: 7, code: 'unknown-type', message: 'not naming' },
      {
        index: 2,
        offset: synthetic.offsets[2] ?? -1,
        pcrIndex: 7,
        code: 'digest-mismatch',
        message: 'sha256 digest is not the hash of the data',
        algId: TPM_ALG.SHA256,
      },
    ];
    const c = compareWithQuote(log, replay, quoted, { findings });
    expect(c.mismatches.map((m) => [m.algId, m.pcr, m.kind])).toEqual([[TPM_ALG.SHA256, 7, 'value']]);
    const [m] = c.mismatches;
    expect(m?.divergence).toEqual({
      index: 2,
      offset: synthetic.offsets[2],
      typeName: 'EV_EFI_VARIABLE_DRIVER_CONFIG',
      reason: 'finding',
      code: 'digest-mismatch',
    });
    expect(m?.message).toContain('sha256 PCR 7');
    expect(m?.message).toContain('event 2 (EV_EFI_VARIABLE_DRIVER_CONFIG');
    expect(m?.expected).toEqual(replay.pcrs.get(TPM_ALG.SHA256)?.get(7));
    expect(m?.quoted).toEqual(quoted.get(TPM_ALG.SHA256)?.get(7));

    // A finding about the sha1 digest does not name the sha256 divergence.
    const sha1Only = findings.map((f) =>
      f.index === 2 && f.code === 'digest-mismatch' ? { ...f, algId: TPM_ALG.SHA1 } : f,
    );
    const other = compareWithQuote(log, replay, quoted, { findings: sha1Only });
    expect(other.mismatches[0]?.divergence?.index).toBe(sep7?.index);
  });

  it('rule 3: without findings a changed digest cannot be localized, and the message says so', () => {
    const banks: Bank[] = ['sha256'];
    const events = uefiBootEvents();
    const { synthetic } = build({ banks, events });
    const bad = events.map((e, i) =>
      i === 1 ? { ...e, digests: { sha256: new Uint8Array(32).fill(7) } } : e,
    );
    const { log, replay } = build({ banks, events: bad });
    const c = compareWithQuote(log, replay, oracleQuote(synthetic, banks, BOOT_PCRS));
    expect(c.mismatches.length).toBe(1);
    expect(c.mismatches[0]?.divergence).toBeUndefined();
    expect(c.mismatches[0]?.message).toContain('cannot be localized');
  });

  it('rule 2: a trailing logged event that was not extended is named, with the count of events before it', () => {
    const banks: Bank[] = ['sha1', 'sha256'];
    const events = uefiBootEvents();
    const { synthetic } = build({ banks, events });
    const { log, replay } = build({ banks, events: [...events, extra] });
    const c = compareWithQuote(log, replay, oracleQuote(synthetic, banks, BOOT_PCRS));
    expect(c.mismatches.map((m) => [m.algId, m.pcr])).toEqual([
      [TPM_ALG.SHA1, 8],
      [TPM_ALG.SHA256, 8],
    ]);
    const last = log.events.at(-1);
    for (const m of c.mismatches) {
      expect(m.divergence).toEqual({
        index: last?.index,
        offset: last?.offset,
        typeName: 'EV_IPL',
        reason: 'logged-not-extended',
      });
      expect(m.message).toContain('the 1 events before event');
    }
  });

  it('rule 2 names the first of several unextended events, also at the first event of a PCR', () => {
    const banks: Bank[] = ['sha256'];
    const events = uefiBootEvents().filter((e) => e.pcr !== 8);
    const { synthetic } = build({ banks, events });
    const { log, replay } = build({ banks, events: [...events, extra, { ...extra, data: ascii('x') }] });
    const c = compareWithQuote(log, replay, oracleQuote(synthetic, banks, [8]));
    const first = log.events.at(-2);
    expect(c.mismatches[0]?.divergence?.index).toBe(first?.index);
    expect(c.mismatches[0]?.message).toContain('and the 1 after it were logged but not extended');
    expect(c.notInLog).toEqual([]); // PCR 8 is logged now
  });

  it('rule 2 starts PCR 0 at the StartupLocality and DRTM PCRs at all-ones', () => {
    const banks: Bank[] = ['sha256'];
    const events: SyntheticEvent[] = [
      { pcr: 0, type: EV.S_CRTM_VERSION, data: ascii('v') },
      { pcr: 17, type: EV.EVENT_TAG, data: ascii('drtm') },
    ];
    const { synthetic } = build({ banks, startupLocality: 3, events });
    const more = [
      ...events,
      { ...events[0], data: ascii('extra 0') },
      { pcr: 17, type: EV.EVENT_TAG, data: ascii('x') },
    ];
    const { log, replay } = build({ banks, startupLocality: 3, events: more as SyntheticEvent[] });
    expect(replay.pcr0Locality).toBe(3);
    const c = compareWithQuote(log, replay, oracleQuote(synthetic, banks, [0, 17], 3));
    expect(c.mismatches.map((m) => [m.pcr, m.divergence?.index])).toEqual([
      [0, log.events.at(-2)?.index],
      [17, log.events.at(-1)?.index],
    ]);
  });

  it('a retagged event (EV_NO_ACTION) is skipped by replay; a "retagged" finding names it', () => {
    const banks: Bank[] = ['sha256'];
    const events = uefiBootEvents();
    const { synthetic } = build({ banks, events });
    // The last PCR 4 event (the boot application) logged as EV_NO_ACTION with its real digest.
    const app = events.findIndex((e) => e.type === EV.EFI_BOOT_SERVICES_APPLICATION);
    const retagged = events.map((e, i) =>
      i === app
        ? {
            ...e,
            type: EV.NO_ACTION,
            digests: {
              sha256:
                synthetic.extends.find((x) => x.index === app + 1)?.digests[0]?.digest ?? new Uint8Array(32),
            },
          }
        : e,
    );
    const { log, replay } = build({ banks, events: retagged });
    const quoted = oracleQuote(synthetic, banks, BOOT_PCRS);
    const plain = compareWithQuote(log, replay, quoted);
    expect(plain.mismatches.map((m) => m.pcr)).toEqual([4]);
    expect(plain.mismatches[0]?.divergence).toBeUndefined();
    const finding: FindingLike = {
      index: app + 1,
      offset: synthetic.offsets[app + 1] ?? -1,
      pcrIndex: 4,
      code: 'retagged',
      message: 'EV_NO_ACTION with non-zero digests',
    };
    const named = compareWithQuote(log, replay, quoted, { findings: [finding] });
    expect(named.mismatches[0]?.divergence).toMatchObject({
      index: app + 1,
      typeName: 'EV_NO_ACTION',
      code: 'retagged',
    });
  });

  it('a quoted PCR the log never extends must be at its reset value', () => {
    const banks: Bank[] = ['sha256'];
    const { synthetic, log, replay } = build({ banks, events: uefiBootEvents() });
    const quoted = oracleQuote(synthetic, banks, [7, 11]);
    quoted.get(TPM_ALG.SHA256)?.set(11, new Uint8Array(32).fill(1));
    const c = compareWithQuote(log, replay, quoted);
    expect(c.ok).toBe(false);
    expect(c.mismatches.map((m) => [m.pcr, m.kind])).toEqual([[11, 'unlogged-extend']]);
    expect(c.mismatches[0]?.expected).toEqual(new Uint8Array(32));
    expect(c.notInLog).toEqual([{ algId: TPM_ALG.SHA256, pcr: 11 }]);
  });

  it('banks the replay lacks fail every quoted PCR of them, with the reason', () => {
    const { synthetic, log, replay } = build({
      banks: ['sha1', 'sha256'],
      events: [...uefiBootEvents(), { ...extra, only: ['sha1'] }],
    });
    expect(replay.incompleteBanks.map((b) => b.algId)).toEqual([TPM_ALG.SHA256]);
    const quoted = oracleQuote(synthetic, ['sha1', 'sha256', 'sha384'], [0, 7]);
    const c = compareWithQuote(log, replay, quoted);
    expect(c.matched).toEqual([
      { algId: TPM_ALG.SHA1, pcr: 0 },
      { algId: TPM_ALG.SHA1, pcr: 7 },
    ]);
    expect(c.mismatches.map((m) => [m.algId, m.pcr, m.kind])).toEqual([
      [TPM_ALG.SHA256, 0, 'bank-incomplete'],
      [TPM_ALG.SHA256, 7, 'bank-incomplete'],
      [TPM_ALG.SHA384, 0, 'bank-not-in-log'],
      [TPM_ALG.SHA384, 7, 'bank-not-in-log'],
    ]);
    expect(c.mismatches[0]?.message).toContain(`event ${log.events.length - 1} (EV_IPL`);
    expect(c.mismatches[0]?.expected).toBeUndefined();
  });

  it('a bank the log declares but replay cannot hash (SM3_256, a real log) is a mismatch', () => {
    const bytes = new Uint8Array(
      readFileSync(join(import.meta.dirname, '../vectors/eventlog/tpm2-tss/binary_measurements_hcrtm.bin')),
    );
    const log = parseEventLog(bytes);
    const replay = replayEventLog(log);
    expect(replay.unsupportedBanks).toEqual([TPM_ALG.SM3_256]);
    const sha1 = replay.pcrs.get(TPM_ALG.SHA1)?.get(0) ?? new Uint8Array(0);
    const quoted: PcrValues = new Map([
      [TPM_ALG.SHA1, new Map([[0, sha1]])],
      [TPM_ALG.SM3_256, new Map([[0, new Uint8Array(32)]])],
    ]);
    const c = compareWithQuote(log, replay, quoted);
    expect(c.matched).toEqual([{ algId: TPM_ALG.SHA1, pcr: 0 }]);
    expect(c.mismatches.map((m) => m.kind)).toEqual(['bank-unsupported']);
  });

  it('a value that only the opt-in workaround explains is reported as the workaround not applying', () => {
    const bytes = new Uint8Array(
      readFileSync(
        join(import.meta.dirname, '../vectors/eventlog/go-attestation/ebs_event_missing_eventlog'),
      ),
    );
    const log = parseEventLog(bytes);
    const plain = replayEventLog(log);
    const fixed = replayEventLog(log, { workarounds: ['ebs-events-missing'] });
    const quoted: PcrValues = new Map([
      [TPM_ALG.SHA1, new Map([[5, plain.pcrs.get(TPM_ALG.SHA1)?.get(5) ?? new Uint8Array(0)]])],
    ]);
    expect(compareWithQuote(log, plain, quoted).ok).toBe(true);
    const c = compareWithQuote(log, fixed, quoted);
    expect(c.mismatches[0]?.divergence).toBeUndefined();
    expect(c.mismatches[0]?.message).toContain('workaround ebs-events-missing');
  });

  it('rejects a PCR index a PC Client TPM does not have', () => {
    const { log, replay } = build({ banks: ['sha256'], events: [] });
    expect(() =>
      compareWithQuote(log, replay, new Map([[TPM_ALG.SHA256, new Map([[24, new Uint8Array(32)]])]])),
    ).toThrow(RangeError);
  });
});

describe('quotedPcrValues', () => {
  it('maps values bank by bank in selection order, PCRs ascending', () => {
    const v = (n: number) => Uint8Array.of(n);
    const m = quotedPcrValues(
      [
        { hash: TPM_ALG.SHA256, pcrs: [7, 0] },
        { hash: TPM_ALG.SHA1, pcrs: [3] },
      ],
      [v(1), v(2), v(3)],
    );
    expect([...m.entries()].map(([a, p]) => [a, [...p.entries()]])).toEqual([
      [
        TPM_ALG.SHA256,
        [
          [0, v(1)],
          [7, v(2)],
        ],
      ],
      [TPM_ALG.SHA1, [[3, v(3)]]],
    ]);
    expect(() => quotedPcrValues([{ hash: TPM_ALG.SHA1, pcrs: [3] }], [v(1), v(2)])).toThrow(RangeError);
    expect(() => quotedPcrValues([{ hash: TPM_ALG.SHA1, pcrs: [3, 4] }], [v(1)])).toThrow(RangeError);
  });
});

// ── Properties ────────────────────────────────────────────────────────────────────────────────────────

const ALL_BANKS: readonly Bank[] = ['sha1', 'sha256', 'sha384', 'sha512'];
const TYPES = [
  EV.NO_ACTION,
  EV.SEPARATOR,
  EV.EFI_ACTION,
  EV.IPL,
  EV.EVENT_TAG,
  EV.EFI_BOOT_SERVICES_APPLICATION,
];

const arbLog = fc.record({
  banks: fc.subarray([...ALL_BANKS], { minLength: 1 }),
  startupLocality: fc.option(fc.constantFrom(0, 3, 4), { nil: undefined }),
  events: fc.array(
    fc.record({
      pcr: fc.integer({ min: 0, max: 23 }),
      type: fc.constantFrom(...TYPES),
      data: fc.uint8Array({ maxLength: 24 }),
    }),
    { maxLength: 24 },
  ),
});

/** A random non-empty subset of (bank, PCR) of a replay, as a quote. */
const arbSelection = fc.record({
  pcrs: fc.subarray(
    Array.from({ length: 24 }, (_, i) => i),
    { minLength: 1 },
  ),
  bankMask: fc.integer({ min: 1, max: 15 }),
});

function quoteOf(pcrs: PcrValues, select: { pcrs: number[]; bankMask: number }): PcrValues {
  const out: PcrValues = new Map();
  [...pcrs.entries()].forEach(([alg, values], i) => {
    if (i > 0 && (select.bankMask & (1 << i)) === 0) return;
    out.set(alg, new Map(select.pcrs.map((p) => [p, Uint8Array.from(values.get(p) ?? [])])));
  });
  return out;
}

describe('compareWithQuote properties', () => {
  it('any synthetic log matches its own replay (which equals the node:crypto oracle)', () => {
    fc.assert(
      fc.property(arbLog, arbSelection, (opts, select) => {
        const { synthetic, log, replay } = build(opts as SyntheticLogOptions);
        for (const [alg, values] of synthetic.pcrs) {
          for (const [pcr, v] of values) expect(replay.pcrs.get(alg)?.get(pcr)).toEqual(v);
        }
        const quoted = quoteOf(replay.pcrs, select);
        const c = compareWithQuote(log, replay, quoted);
        expect(c.ok).toBe(true);
        expect(c.mismatches).toEqual([]);
        expect(c.matched.length).toBe([...quoted.values()].reduce((n, m) => n + m.size, 0));
      }),
      { numRuns: 150 },
    );
  });

  it('changing one quoted byte makes exactly that (bank, PCR) mismatch', () => {
    fc.assert(
      fc.property(
        arbLog,
        arbSelection,
        fc.nat(),
        fc.nat(),
        fc.nat({ max: 63 }),
        fc.integer({ min: 1, max: 255 }),
        (opts, select, bankPick, pcrPick, bytePick, mask) => {
          const { log, replay } = build(opts as SyntheticLogOptions);
          const quoted = quoteOf(replay.pcrs, select);
          const algs = [...quoted.keys()];
          const alg = algs[bankPick % algs.length] ?? -1;
          const pcrs = [...(quoted.get(alg)?.keys() ?? [])];
          const pcr = pcrs[pcrPick % pcrs.length] ?? -1;
          const value = quoted.get(alg)?.get(pcr) ?? new Uint8Array(0);
          const at = bytePick % value.length;
          value[at] = (value[at] ?? 0) ^ mask;
          const c = compareWithQuote(log, replay, quoted);
          expect(c.ok).toBe(false);
          expect(c.mismatches.map((m) => [m.algId, m.pcr])).toEqual([[alg, pcr]]);
          expect(c.mismatches[0]?.kind).toBe(replay.extended.has(pcr) ? 'value' : 'unlogged-extend');
        },
      ),
      { numRuns: 150 },
    );
  });

  it('an event appended to any PCR and not extended is named by rule 2', () => {
    fc.assert(
      fc.property(
        arbLog,
        fc.integer({ min: 0, max: 23 }),
        fc.uint8Array({ maxLength: 8 }),
        (opts, pcr, data) => {
          const before = build(opts as SyntheticLogOptions);
          const after = build({
            ...(opts as SyntheticLogOptions),
            events: [...opts.events, { pcr, type: EV.IPL, data }],
          });
          const quoted = quoteOf(before.replay.pcrs, { pcrs: [pcr], bankMask: 15 });
          const c = compareWithQuote(after.log, after.replay, quoted);
          const last = after.log.events.at(-1);
          expect(c.mismatches.length).toBe(quoted.size);
          for (const m of c.mismatches) {
            expect(m.divergence).toMatchObject({ index: last?.index, reason: 'logged-not-extended' });
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});
