// SPDX-License-Identifier: Apache-2.0
// The long versions of test/artifact/{properties,bad-input}.test.ts, and the one timing measurement of
// artifact decoding (issue 12: "E_FORMAT quickly: linear time, bounded memory"):
// - every single-bit flip of every byte, and every truncation, of a 3-link chain with 2 approvals and of
//   a plain root: none verifies;
// - 20,000 random edits (flips, cuts, insertions, deletions) of those: a refusal verdict, never an
//   exception;
// - verifyArtifact on hostile inputs of 16, 64 and 256 KiB, each read to its end before it is refused (a
//   key out of order after a long argv, a trailing byte inside the payload, a duplicate key after a
//   large gov map, a valid artifact of that size) and two refused at their first bytes (deep nesting,
//   random bytes): prints the time per byte and asserts the per-byte cost at 256 KiB stays within 3×
//   of that at 16 KiB (a quadratic step would multiply it by about 16).
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_ARTIFACT_BYTES } from '../../agent/artifact/artifact.js';
import { type ArtifactClaims, encodeClaims } from '../../agent/artifact/claims.js';
import { approveArtifact, delegateArtifact, issueArtifact } from '../../agent/artifact/issue.js';
import { type VerifyOptions, verifyArtifact, verifyArtifacts } from '../../agent/artifact/verify.js';
import { initVerification } from '../../agent/crypto/verify.js';
import { concatBytes } from '../../agent/encoding/bytes.js';
import { enc, HOST, mapOf, NOW, newKey, pairsOf, pub, rawSign1 } from '../helpers/artifact-forge.js';
import { randomBytes } from '../helpers/random.js';

beforeAll(() => initVerification());

const issuer = newKey('ed25519');
const delegate1 = newKey('ed25519');
const delegate2 = newKey('ed25519');
const approvers = [newKey('ed25519'), newKey('p256')] as const;
const SHA = new Uint8Array(32).fill(1);
const base = (exp: number): Omit<ArtifactClaims, 'parent'> => ({
  iss: 'ops',
  sub: HOST,
  iat: NOW - 60,
  exp,
  cti: randomBytes(16),
  scope: { exe: '/opt/app/run', sha256: SHA, argv: ['--full'], env: ['HOME'] },
});
const root = issueArtifact(
  { ...base(NOW + 3600), delegate: { key: delegate1.spki, depth: 1, scope: { exe: '/opt/app/' } } },
  issuer,
);
const child = delegateArtifact(
  root,
  { ...base(NOW + 1800), delegate: { key: delegate2.spki, depth: 0, scope: { exe: '/opt/app/run' } } },
  delegate1,
);
const approved = approveArtifact(
  approveArtifact(delegateArtifact(child, base(NOW + 900), delegate2), approvers[0]),
  approvers[1],
);
const options: VerifyOptions = { trust: [pub(issuer)], at: NOW };
const chainOptions: VerifyOptions = { ...options, approvals: { approvers: approvers.map(pub), required: 2 } };
const TARGETS = [
  { name: '3-link chain with 2 approvals', bytes: approved, options: chainOptions },
  { name: 'plain root', bytes: root, options },
] as const;

describe('sweeps', () => {
  for (const t of TARGETS) {
    it(`${t.name}: every single-bit flip of every byte, every truncation`, () => {
      expect(verifyArtifact(t.bytes, t.options).ok).toBe(true);
      const mutants: Uint8Array[] = [];
      for (let i = 0; i < t.bytes.length; i++)
        for (let bit = 0; bit < 8; bit++) {
          const m = Uint8Array.from(t.bytes);
          m[i] = (m[i] ?? 0) ^ (1 << bit);
          mutants.push(m);
        }
      for (let n = 0; n < t.bytes.length; n++) mutants.push(t.bytes.subarray(0, n));
      let accepted = 0;
      for (let at = 0; at < mutants.length; at += 1000)
        for (const v of verifyArtifacts(mutants.slice(at, at + 1000), t.options)) if (v.ok) accepted++;
      expect(accepted).toBe(0);
    });
  }

  it('random edits: a refusal verdict, never an exception', () => {
    const edit = fc.tuple(
      fc.constantFrom('flip', 'cut', 'insert', 'delete'),
      fc.nat(),
      fc.integer({ min: 0, max: 255 }),
    );
    fc.assert(
      fc.property(fc.constantFrom(...TARGETS), fc.array(edit, { minLength: 1, maxLength: 6 }), (t, edits) => {
        let b = Array.from(t.bytes);
        for (const [op, at, byte] of edits) {
          const i = at % (b.length + 1);
          if (op === 'flip' && i < b.length) b[i] = (b[i] ?? 0) ^ (1 << (byte % 8));
          else if (op === 'cut') b = b.slice(0, i);
          else if (op === 'insert') b.splice(i, 0, byte);
          else b.splice(i, 1);
        }
        const edited = Uint8Array.from(b);
        fc.pre(Buffer.compare(edited, t.bytes) !== 0); // an insertion undone by a deletion
        return !verifyArtifact(edited, t.options).ok;
      }),
      { numRuns: 20_000 },
    );
  });
});

// ── Linear time ─────────────────────────────────────────────────────────────────────────────────────

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

/** argv of `n` strings of 60 characters: about 61·n bytes. */
const argv = (n: number) => Array.from({ length: n }, (_, i) => `--option-${String(i).padStart(50, '0')}`);

/** Claims whose encoding is about `bytes` long, through a long argv (at most 4,096 entries). */
function bigClaims(bytes: number): ArtifactClaims {
  const c = base(NOW + 600);
  return { ...c, scope: { ...c.scope, argv: argv(Math.min(4096, Math.floor(bytes / 62))) } };
}

interface Family {
  readonly name: string;
  /** A hostile input of about `bytes` bytes. */
  readonly make: (bytes: number) => Uint8Array;
  /** The verdict code it must get. */
  readonly code: string;
}

const KEY_3 = enc(3);
const FAMILIES: readonly Family[] = [
  {
    name: 'a key out of order after a long argv (signed)',
    make: (n) =>
      rawSign1(issuer, { payloadRaw: mapOf([...pairsOf(encodeClaims(bigClaims(n))), [KEY_3, enc(0)]]) }),
    code: 'E_FORMAT',
  },
  {
    name: 'a trailing byte inside a long payload (signed)',
    make: (n) =>
      rawSign1(issuer, { payloadRaw: concatBytes([enc(encodeClaims(bigClaims(n))), Uint8Array.of(0)]) }),
    code: 'E_FORMAT',
  },
  {
    name: 'a duplicate key after a large gov map (signed)',
    make: (n) => {
      const entries = Array.from({ length: Math.floor(n / 24) }, (_, i) => [
        enc(`t${String(i).padStart(10, '0')}`),
        enc('x'.repeat(10)),
      ]) as [Uint8Array, Uint8Array][];
      const last = entries[entries.length - 1] as [Uint8Array, Uint8Array];
      const pairs: [Uint8Array, Uint8Array][] = [
        ...pairsOf(encodeClaims(base(NOW + 600))),
        [enc('gov'), mapOf([...entries, last])],
      ];
      return rawSign1(issuer, { payloadRaw: mapOf(pairs.sort(([a], [b]) => Buffer.compare(a, b))) });
    },
    code: 'E_FORMAT',
  },
  {
    name: 'a valid artifact (long argv), verified',
    make: (n) => issueArtifact(bigClaims(n), issuer),
    code: 'ok',
  },
  {
    name: 'nested arrays (refused at depth 9)',
    make: (n) => concatBytes([new Uint8Array(n - 1).fill(0x81), Uint8Array.of(0x80)]),
    code: 'E_FORMAT',
  },
  { name: 'random bytes', make: (n) => randomBytes(n), code: 'E_FORMAT' },
];

const SIZES = [16 * 1024, 64 * 1024, MAX_ARTIFACT_BYTES] as const;

describe('linear time: hostile inputs of 16, 64 and 256 KiB', () => {
  it.each(FAMILIES)('$name', (f) => {
    const inputs = SIZES.map((n) => f.make(n));
    for (const b of inputs) {
      expect(b.length).toBeLessThanOrEqual(MAX_ARTIFACT_BYTES);
      const v = verifyArtifact(b, options);
      expect(v.ok ? 'ok' : v.code).toBe(f.code);
    }
    const perByte = inputs.map((b) => {
      verifyArtifact(b, options); // warm up
      return fastest(() => verifyArtifact(b, options), b.length > 100_000 ? 7 : 15) / b.length;
    });
    const rows = inputs.map(
      (b, i) =>
        `${(b.length / 1024).toFixed(0).padStart(4)} KiB: ${(((perByte[i] ?? 0) * b.length) / 1e6).toFixed(2).padStart(7)} ms, ${(perByte[i] ?? 0).toFixed(1)} ns/byte`,
    );
    const growth = (perByte[2] ?? 0) / (perByte[0] ?? 1);
    process.stdout.write(
      `[artifact linear] ${f.name}\n  ${rows.join('\n  ')}\n  growth ${growth.toFixed(2)}\n`,
    );
    expect(growth).toBeLessThan(3);
  });
});
