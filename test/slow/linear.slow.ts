// SPDX-License-Identifier: Apache-2.0
// Parse + replay time of event logs and IMA lists grows linearly with log size: the per-byte cost of a log 16 times larger stays
// within a small factor of the smaller one's (a quadratic step would multiply it by about 16).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initHashing } from '../../agent/crypto/hash.js';
import { summarizeBoot } from '../../agent/measure/boot-summary.js';
import { EV, parseEventLog } from '../../agent/measure/eventlog.js';
import { parseImaLog, replayImaLog } from '../../agent/measure/ima/index.js';
import { replayEventLog } from '../../agent/measure/replay.js';
import { captureReference, judgeMeasuredState } from '../../agent/measure/state/index.js';
import { ascii, buildEventLog, type SyntheticEvent } from '../helpers/synthetic-eventlog.js';

const VECTORS = join(import.meta.dirname, '../vectors');

/** The fastest of `runs` timings of `fn`, in ns (the minimum is the least disturbed by other load). */
function fastest(fn: () => void, runs: number): number {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    best = Math.min(best, Number(process.hrtime.bigint() - t0));
  }
  return best;
}

/** Per-byte cost at size ×16 divided by the per-byte cost at size ×1; ~1 when linear. */
function growth(make: (copies: number) => Uint8Array, work: (bytes: Uint8Array) => void): number {
  const small = make(64);
  const large = make(64 * 16);
  work(small); // warm up the JIT
  work(large);
  const tSmall = fastest(() => work(small), 15) / small.length;
  const tLarge = fastest(() => work(large), 5) / large.length;
  return tLarge / tSmall;
}

/** A crypto-agile log: the header and its first records of `base`, then the rest repeated `copies` times. */
function repeatedEventLog(base: Uint8Array, copies: number): Uint8Array {
  const log = parseEventLog(base);
  const firstRepeated = log.events[1]?.offset ?? base.length;
  const body = base.subarray(firstRepeated);
  const out = new Uint8Array(firstRepeated + body.length * copies);
  out.set(base.subarray(0, firstRepeated));
  for (let i = 0; i < copies; i++) out.set(body, firstRepeated + i * body.length);
  return out;
}

beforeAll(async () => {
  await initHashing();
});

describe('linear time', () => {
  it('TCG event log: parse + replay', () => {
    const base = new Uint8Array(readFileSync(join(VECTORS, 'eventlog/keylime/binary_bios_measurements')));
    const g = growth(
      (n) => repeatedEventLog(base, n),
      (bytes) => {
        replayEventLog(parseEventLog(bytes));
      },
    );
    expect(g).toBeLessThan(3);
  });
});

/** An ASCII IMA list: the lines of `base` repeated `copies` times (entries need not be unique). */
function repeatedImaList(base: string, copies: number): Uint8Array {
  const body = base.endsWith('\n') ? base : `${base}\n`;
  return new TextEncoder().encode(body.repeat(copies));
}

describe('linear time, IMA', () => {
  const ascii = readFileSync(join(VECTORS, 'ima/rust-keylime/ascii_runtime_measurements'), 'utf8');
  const file = new Uint8Array(readFileSync(join(VECTORS, 'ima/tpm2-tss/sml-ima-ng-sha1.bin')));
  // Whole entries only (the vector ends with a stray byte).
  const binary = file.subarray(0, parseImaLog(file, { allowTruncatedTail: true }).end);

  it('ASCII list: parse + replay (template hashes recomputed)', () => {
    const g = growth(
      (n) => repeatedImaList(ascii, Math.max(1, n / 16)),
      (bytes) => {
        replayImaLog(parseImaLog(bytes), { bank: 'sha256', derive: 'recompute' });
      },
    );
    expect(g).toBeLessThan(3);
  });

  it('binary list: parse + replay', () => {
    const g = growth(
      (n) => {
        const out = new Uint8Array(binary.length * n);
        for (let i = 0; i < n; i++) out.set(binary, i * binary.length);
        return out;
      },
      (bytes) => {
        replayImaLog(parseImaLog(bytes));
      },
    );
    expect(g).toBeLessThan(3);
  });
});

/**
 * A grub boot whose one `initrd` command names `n` files, each measured into PCR 9: the worst case for
 * matching grub's paths to its PCR 9 events (it took 28 s at 32,000 × 32,000 when each path scanned the
 * whole window).
 */
function grubManyFiles(n: number): Uint8Array {
  const paths = Array.from({ length: n }, (_, i) => `/boot/initrd-part-${i}.img`);
  const events: SyntheticEvent[] = [
    { pcr: 8, type: EV.IPL, data: ascii(`grub_cmd: initrd ${paths.join(' ')}\0`) },
    ...paths.map((p) => ({ pcr: 9, type: EV.IPL, data: ascii(`${p}\0`), measured: ascii(p) })),
  ];
  return buildEventLog({ banks: ['sha256'], events }).bytes;
}

describe('linear time, boot evidence', () => {
  it('grub paths matched to PCR 9 events (summarizeBoot)', () => {
    const g = growth(
      (n) => grubManyFiles(n * 2),
      (bytes) => {
        summarizeBoot(parseEventLog(bytes));
      },
    );
    expect(g).toBeLessThan(3);
  });

  it('the measured-state verdict: every PCR 9 event against a reference of as many digests', () => {
    const verdictOf = (bytes: Uint8Array) => {
      const log = parseEventLog(bytes);
      const quoted = replayEventLog(log).pcrs;
      const first = judgeMeasuredState({ quoted, eventLog: { log } });
      const reference = captureReference(first.evidence);
      if (!judgeMeasuredState({ quoted, eventLog: { log }, reference }).ok) throw new Error('not ok');
    };
    expect(growth((n) => grubManyFiles(n * 2), verdictOf)).toBeLessThan(3);
  });
});
