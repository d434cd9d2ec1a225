// SPDX-License-Identifier: Apache-2.0
// Audit entries (agent/audit/entry.ts): a hand-assembled encoding (key order, shortest heads), the
// RFC 9162 leaf hash against node:crypto, round trips both ways for arbitrary valid entries, every
// refusal as E_AUDIT_ENTRY, arbitrary and mutated bytes giving a value or E_AUDIT_ENTRY and nothing
// else, and encodeEntry refusing what decodeEntry would (TypeError: the caller's mistake).
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LIMITS as CLAIM_LIMITS } from '../../agent/artifact/claims.js';
import {
  type AuditEntry,
  decodeEntry,
  ENTRY_LIMITS,
  encodeEntry,
  leafHash,
  MAX_ENTRY_BYTES,
} from '../../agent/audit/entry.js';
import { AuditError } from '../../agent/audit/errors.js';
import { fromHex, toHex } from '../../agent/encoding/bytes.js';
import { encodeCbor } from '../../agent/encoding/cbor.js';
import { thrown } from '../helpers/thrown.js';

const b32 = (fill: number) => new Uint8Array(32).fill(fill);

const FULL: AuditEntry = {
  seq: 41,
  time: 1_765_000_000_123,
  tpmClock: { clock: 123_456_789, resetCount: 3, restartCount: 0, safe: true },
  verdict: 'allow',
  reason: 'OK',
  artifact: b32(1),
  cti: new Uint8Array(16).fill(2),
  issuer: b32(3),
  exe: '/usr/bin/true',
  exeSha256: b32(4),
  argvSha256: b32(5),
  uid: 0,
  pid: 4242,
  parent: 7,
  mode: 'enforce',
  quote: b32(6),
  breakglass: true,
};

/** An entry's CBOR map with `patch` applied (undefined deletes a key), encoded as given. */
function mapBytes(entry: AuditEntry, patch: Record<string, unknown> = {}): Uint8Array {
  const m = new Map<string, unknown>(Object.entries(entry).map(([k, v]) => [k, v]));
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) m.delete(k);
    else m.set(k, v);
  }
  const clock = m.get('tpmClock');
  if (clock && !(clock instanceof Map)) m.set('tpmClock', new Map(Object.entries(clock)));
  return encodeCbor(m as Parameters<typeof encodeCbor>[0]);
}

function refusal(bytes: Uint8Array): string {
  const e = thrown(AuditError, () => decodeEntry(bytes));
  expect(e.code).toBe('E_AUDIT_ENTRY');
  return e.message;
}

describe('encoding', () => {
  it("repeats the artifact's limits for cti and paths", () => {
    expect(ENTRY_LIMITS).toEqual({
      ctiMin: CLAIM_LIMITS.ctiMin,
      ctiMax: CLAIM_LIMITS.ctiMax,
      path: CLAIM_LIMITS.path,
    });
  });

  it('is deterministic CBOR with text keys in length-then-bytewise order', () => {
    // {"seq": 0, "time": 1, "reason": "E_X", "verdict": "deny"}, assembled by hand (RFC 8949 §4.2.1).
    const want =
      'a4' +
      '63736571' +
      '00' +
      '6474696d65' +
      '01' +
      '66726561736f6e' +
      '63455f58' +
      '6776657264696374' +
      '6464656e79';
    const bytes = encodeEntry({ seq: 0, time: 1, verdict: 'deny', reason: 'E_X' });
    expect(toHex(bytes)).toBe(want);
    expect(decodeEntry(fromHex(want))).toEqual({ seq: 0, time: 1, verdict: 'deny', reason: 'E_X' });
  });

  it('round-trips every field', () => {
    const bytes = encodeEntry(FULL);
    expect(decodeEntry(bytes)).toEqual(FULL);
    expect(encodeEntry(decodeEntry(bytes))).toEqual(bytes);
  });

  it('leafHash is SHA-256(0x00 || bytes) (RFC 9162 §2.1.1)', () => {
    for (const bytes of [new Uint8Array(0), encodeEntry(FULL), new Uint8Array(1000).fill(0xab)]) {
      const want = createHash('sha256').update(Uint8Array.of(0)).update(bytes).digest('hex');
      expect(toHex(leafHash(bytes))).toBe(want);
    }
  });
});

describe('refusals (E_AUDIT_ENTRY)', () => {
  it.each<[string, Record<string, unknown>, RegExp]>([
    ['an unknown key', { note: 'x' }, /unknown key "note"/],
    ['a missing seq', { seq: undefined }, /seq is required/],
    ['a negative time', { time: -1 }, /time is not an integer/],
    ['a verdict out of the list', { verdict: 'maybe' }, /verdict must be one of/],
    [
      'allow with a reason code',
      { reason: 'E_SCOPE' },
      /reason must be "OK" exactly when verdict is "allow"/,
    ],
    ['deny with OK', { verdict: 'deny' }, /reason must be "OK" exactly when/],
    ['a reason that is no code', { verdict: 'deny', reason: 'nope' }, /reason must be "OK" or an E_ code/],
    ['a 31-byte artifact digest', { artifact: new Uint8Array(31) }, /artifact must be 32 bytes/],
    ['a 15-byte cti', { cti: new Uint8Array(15) }, /cti must be 16 to 64 bytes/],
    ['a text digest', { exeSha256: 'ab'.repeat(32) }, /exeSha256 is not a byte string/],
    ['a uid above 2^32 - 1', { uid: 2 ** 32 }, /uid is not an integer/],
    [
      'a parent that is not earlier',
      { parent: 41 },
      /parent \(41\) must be an earlier entry than seq \(41\)/,
    ],
    ['breakglass false (absent means false)', { breakglass: false }, /breakglass must be true/],
    ['a mode out of the list', { mode: 'permissive' }, /mode must be one of/],
    [
      'tpmClock.safe not a boolean',
      { tpmClock: { clock: 1, resetCount: 0, restartCount: 0, safe: 1 } },
      /tpmClock.safe is not a boolean/,
    ],
    [
      'tpmClock with an extra key',
      { tpmClock: { clock: 1, resetCount: 0, restartCount: 0, safe: true, x: 1 } },
      /tpmClock: unknown key "x"/,
    ],
    ['an empty exe', { exe: '' }, /exe must have 1 to 4096 characters/],
  ])('%s', (_, patch, message) => {
    expect(refusal(mapBytes(FULL, patch))).toMatch(message);
  });

  it('anything but one deterministic map', () => {
    const good = encodeEntry({ seq: 0, time: 1, verdict: 'deny', reason: 'E_X' });
    expect(refusal(fromHex('80'))).toMatch(/not a map/);
    expect(refusal(new Uint8Array([...good, 0x00]))).toMatch(/./); // bytes after the item
    expect(refusal(good.subarray(0, good.length - 1))).toMatch(/./); // truncated
    // seq 0 written as a one-byte-argument head (0x18 0x00): not the shortest form.
    expect(refusal(fromHex(toHex(good).replace('6373657100', '637365711800')))).toMatch(/./);
    // A tag around the map.
    expect(refusal(new Uint8Array([0xd8, 0x18, ...good]))).toMatch(/tag/i);
    expect(refusal(new Uint8Array(MAX_ENTRY_BYTES + 1))).toMatch(/./);
  });
});

describe('encodeEntry refuses what decodeEntry would (TypeError)', () => {
  it.each<[string, Record<string, unknown>]>([
    ['a reason that is no code', { verdict: 'deny', reason: 'denied' }],
    ['allow with a code', { reason: 'E_SCOPE' }],
    ['a short digest', { exeSha256: new Uint8Array(31) }],
    ['a fractional time', { time: 1.5 }],
    ['an unknown property', { exeSHA256: b32(0) }],
    ['a parent at or after seq', { parent: 99 }],
    ['a path with NUL', { exe: '/bin/a\0b' }],
  ])('%s', (_, patch) => {
    expect(() => encodeEntry({ ...FULL, ...patch } as AuditEntry)).toThrow(TypeError);
  });

  it('an entry over MAX_ENTRY_BYTES', () => {
    // 4096 four-byte characters: 16 KiB of UTF-8 in exe; the limit has room for it and the rest.
    const e = { ...FULL, exe: `/${'\u{10348}'.repeat(2047)}` };
    expect(encodeEntry(e).length).toBeLessThan(MAX_ENTRY_BYTES);
  });
});

const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const safe = fc.maxSafeNat();

/** Arbitrary valid entries: every optional field present or absent, values across their ranges. */
const arbitraryEntry: fc.Arbitrary<AuditEntry> = fc
  .record(
    {
      seq: safe,
      time: safe,
      tpmClock: fc.record({ clock: safe, resetCount: u32, restartCount: u32, safe: fc.boolean() }),
      verdict: fc.constantFrom('allow', 'deny', 'would-deny'),
      code: fc.stringMatching(/^E_[A-Z0-9_]{1,20}$/),
      artifact: bytes32,
      cti: fc.uint8Array({ minLength: 16, maxLength: 64 }),
      issuer: bytes32,
      exe: fc.string({ minLength: 1, maxLength: 200, unit: 'binary' }).filter((s) => !s.includes('\0')),
      exeSha256: bytes32,
      argvSha256: bytes32,
      uid: u32,
      pid: u32,
      parentBack: fc.maxSafeNat(),
      mode: fc.constantFrom('enforce', 'audit'),
      quote: bytes32,
      breakglass: fc.constant(true),
    },
    { requiredKeys: ['seq', 'time', 'verdict', 'code'] },
  )
  .map(({ code, parentBack, ...r }) => {
    const e: Record<string, unknown> = { ...r, reason: r.verdict === 'allow' ? 'OK' : code };
    if (parentBack !== undefined && r.seq > 0) e.parent = parentBack % r.seq;
    return e as unknown as AuditEntry;
  });

describe('properties', () => {
  it('decode(encode(e)) = e, and encode(decode(b)) = b', () => {
    fc.assert(
      fc.property(arbitraryEntry, (e) => {
        const bytes = encodeEntry(e);
        const back = decodeEntry(bytes);
        expect(back).toEqual(e);
        expect(encodeEntry(back)).toEqual(bytes);
      }),
      { numRuns: 300 },
    );
  });

  it('arbitrary bytes give an entry or E_AUDIT_ENTRY, nothing else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          const e = decodeEntry(bytes);
          expect(encodeEntry(e)).toEqual(bytes);
        } catch (err) {
          expect(err).toBeInstanceOf(AuditError);
          expect((err as AuditError).code).toBe('E_AUDIT_ENTRY');
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('a changed byte of a valid entry gives E_AUDIT_ENTRY or another entry that re-encodes to those bytes', () => {
    fc.assert(
      fc.property(arbitraryEntry, fc.nat(), fc.integer({ min: 1, max: 255 }), (e, at, xor) => {
        const bytes = encodeEntry(e).slice();
        const i = at % bytes.length;
        bytes[i] = (bytes[i] ?? 0) ^ xor;
        try {
          const back = decodeEntry(bytes);
          expect(back).not.toEqual(e);
          expect(encodeEntry(back)).toEqual(bytes);
        } catch (err) {
          expect(err).toBeInstanceOf(AuditError);
          expect((err as AuditError).code).toBe('E_AUDIT_ENTRY');
        }
      }),
      { numRuns: 600 },
    );
  });
});
