// SPDX-License-Identifier: Apache-2.0
// Adversary (issue 15): verification decodes only the entries whose first bytes say heartbeat
// (entry.ts mayBeHeartbeat), so a forged heartbeat that decodes as one but does not begin as one would
// never have its quote checked. Every encoding an attacker could choose for a heartbeat is tried here:
// the decoder's deterministic-CBOR rules (shortest heads, sorted keys, no extra keys) must refuse each
// one that the prefilter would pass over.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeEntry,
  encodeEntry,
  type HeartbeatEntry,
  isHeartbeat,
  mayBeHeartbeat,
} from '../../agent/audit/entry.js';
import { AuditError } from '../../agent/audit/errors.js';
import { encodeCbor } from '../../agent/encoding/cbor.js';

const HB: HeartbeatEntry = {
  seq: 300,
  time: 1_765_000_000_000,
  kind: 'heartbeat',
  attest: new Uint8Array(40).fill(1),
  signature: new Uint8Array(30).fill(2),
  pcrs: 'sha256:0',
  pcrValues: [new Uint8Array(32).fill(3)],
};
const bytes = encodeEntry(HB);
/** The encoded key "seq" and its value 300 (0x19 0x01 0x2c), and "kind": "heartbeat". */
const SEQ = bytes.subarray(1, 8);
const KIND = bytes.subarray(8, 8 + 15);
const REST = bytes.subarray(8 + 15);

/** Whether `b` is a heartbeat the prefilter passes over (the hole); an unreadable `b` is not one. */
function dodges(b: Uint8Array): boolean {
  let e: ReturnType<typeof decodeEntry>;
  try {
    e = decodeEntry(b);
  } catch (err) {
    expect(err).toBeInstanceOf(AuditError);
    return false;
  }
  return isHeartbeat(e) && !mayBeHeartbeat(b);
}

describe('a heartbeat encoded to dodge the prefilter', () => {
  it('is refused in each non-canonical form: long map head, long seq, kind first, an extra key', () => {
    expect(mayBeHeartbeat(bytes)).toBe(true);
    const cat = (...parts: (Uint8Array | number[])[]) => Uint8Array.from(parts.flatMap((p) => [...p]));
    const variants = {
      'map head in a byte': cat([0xb8, 7], SEQ, KIND, REST),
      'seq in 4 bytes': cat([0xa7], SEQ.subarray(0, 4), [0x1a, 0, 0, 1, 0x2c], KIND, REST),
      'kind before seq': cat([0xa7], KIND, SEQ, REST),
      'an eighth key': cat([0xa8], SEQ, KIND, REST, encodeCbor(new Map([['zz', 0]])).subarray(1)),
      'indefinite-length map': cat([0xbf], SEQ, KIND, REST, [0xff]),
    };
    for (const [name, b] of Object.entries(variants)) expect(() => decodeEntry(b), name).toThrow(AuditError);
  });

  it('no byte-level change of a heartbeat decodes as a heartbeat the prefilter misses', () => {
    const edit = fc.oneof(
      fc.record({ op: fc.constant('set' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ op: fc.constant('insert' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ op: fc.constant('delete' as const), at: fc.nat(), byte: fc.constant(0) }),
    );
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 4 }), (edits) => {
        const b = [...bytes];
        for (const { op, at, byte } of edits) {
          const i = at % (b.length + 1);
          if (op === 'set') b[Math.min(i, b.length - 1)] = byte;
          else if (op === 'insert') b.splice(i, 0, byte);
          else b.splice(Math.min(i, b.length - 1), 1);
        }
        return !dodges(Uint8Array.from(b));
      }),
      { numRuns: 2000 },
    );
  });
});
