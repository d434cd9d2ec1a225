// SPDX-License-Identifier: Apache-2.0
// Hostile artifact files (issue 12, "Acceptance: bad input"): each is E_FORMAT from verifyArtifact and
// an ArtifactError E_FORMAT from decodeArtifact, never another exception, and the test names which
// check refused it (the CborError code in the error's cause chain, or none for the COSE and claims
// structure checks). Where a defect sits inside signed bytes, the artifact is signed over exactly those
// bytes (test/helpers/artifact-forge.ts), and the same construction without the defect verifies, so the
// refusal is for the defect alone. Time is not asserted here: test/slow/artifact.slow.ts measures it.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { chainEntry, decodeArtifact, MAX_ARTIFACT_BYTES } from '../../agent/artifact/artifact.js';
import { type ArtifactClaims, encodeClaims } from '../../agent/artifact/claims.js';
import { COSE_ALG, countersignStructure, HEADER } from '../../agent/artifact/cose.js';
import { ArtifactError } from '../../agent/artifact/errors.js';
import { issueArtifact } from '../../agent/artifact/issue.js';
import {
  decodeRevocationList,
  issueRevocationList,
  REVOCATION_CONTENT_TYPE,
} from '../../agent/artifact/revocation.js';
import { type VerifyOptions, verifyArtifact } from '../../agent/artifact/verify.js';
import { sha256 } from '../../agent/crypto/hash.js';
import { type SigningKey, signWith } from '../../agent/crypto/keys.js';
import { initVerification } from '../../agent/crypto/verify.js';
import { concatBytes } from '../../agent/encoding/bytes.js';
import { CborError, type CborErrorCode, type CborKey, type CborValue } from '../../agent/encoding/cbor.js';
import {
  arr,
  bstr,
  countersignatureBy,
  enc,
  HOST,
  head,
  mapOf,
  NOW,
  newKey,
  pairsOf,
  protectedOf,
  pub,
  rawSign1,
  signPayload,
  tagged,
} from '../helpers/artifact-forge.js';
import { randomBytes } from '../helpers/random.js';
import { thrown } from '../helpers/thrown.js';

beforeAll(() => initVerification());

const issuer = newKey('ed25519');
const delegate = newKey('ed25519');
const approvers = [newKey('ed25519'), newKey('p256')] as const;
const [approver1] = approvers;

const options: VerifyOptions = { trust: [pub(issuer)], at: NOW };
const withApprovals: VerifyOptions = {
  ...options,
  approvals: { approvers: approvers.map(pub), required: 2 },
};

const SHA = new Uint8Array(32).fill(1);
const rootClaims: ArtifactClaims = {
  iss: 'ops',
  sub: HOST,
  iat: NOW - 10,
  exp: NOW + 600,
  cti: new Uint8Array(16).fill(3),
  scope: { exe: '/usr/bin/backup', sha256: SHA, argv: ['--full'], env: ['HOME', 'PATH'] },
  state: { bank: 'sha256', pcrs: [0, 7], digest: new Uint8Array(32).fill(2) },
  gov: new Map([['ticket', 'CHG-1']]),
  delegate: { key: delegate.spki, depth: 0, scope: { exe: '/usr/bin/', sha256: SHA } },
};
/** A child of the root (no grant of its own) naming `parent`. */
function childClaims(parent: Uint8Array): ArtifactClaims {
  const { delegate: _, ...rest } = rootClaims;
  return { ...rest, iss: 'team', cti: new Uint8Array(16).fill(4), exp: NOW + 300, parent };
}

/** The codes of the CborErrors in `e`'s cause chain, outermost first. */
function cborCauses(e: unknown): CborErrorCode[] {
  const out: CborErrorCode[] = [];
  for (let c: unknown = e; c instanceof Error; c = c.cause) if (c instanceof CborError) out.push(c.code);
  return out;
}

/**
 * `bytes` is E_FORMAT from both readers; returns the CborError code that refused it (undefined: the COSE
 * or claims structure did).
 */
function refused(bytes: Uint8Array, opts: VerifyOptions = options): CborErrorCode | undefined {
  const v = verifyArtifact(bytes, opts);
  expect(v).toMatchObject({ ok: false, code: 'E_FORMAT' });
  expect(v.ok === false && v.artifact).toBeFalsy();
  const e = thrown(ArtifactError, () => decodeArtifact(bytes));
  expect(e.code).toBe('E_FORMAT');
  return cborCauses(e)[0];
}

interface Case {
  readonly name: string;
  readonly bytes: Uint8Array;
  /** The CborError code expected to refuse it, or 'structure' for a COSE/claims check. */
  readonly by: CborErrorCode | 'structure' | 'any CBOR error';
  readonly opts?: VerifyOptions;
}

function check(c: Case): void {
  const by = refused(c.bytes, c.opts) ?? 'structure';
  if (c.by === 'any CBOR error') expect(by).not.toBe('structure');
  else expect(by).toBe(c.by);
}

// ── Building blocks: a valid root and child, their parts, and a way to re-sign edited parts ──────────

const root = issueArtifact(rootClaims, issuer);
const rootCose = decodeArtifact(root).cose;
/** The payload map's [key, value] encodings, in deterministic order. */
const payloadPairs = () => pairsOf(encodeClaims(rootClaims));
/** The protected header's [key, value] encodings: [alg, kid]. */
const protectedPairs = (key: SigningKey = issuer) =>
  pairsOf(
    new Map<CborKey, CborValue>([
      [HEADER.alg, COSE_ALG[key.alg]],
      [HEADER.kid, key.kid],
    ]),
  );

/** A root signed by the issuer over exactly these raw parts (defaults: the valid root's). */
const rawRoot = (parts: {
  protectedRaw?: Uint8Array;
  unprotectedRaw?: Uint8Array;
  payloadRaw?: Uint8Array;
}) => rawSign1(issuer, { ...parts, payloadRaw: parts.payloadRaw ?? mapOf(payloadPairs()) });

/** The encoding of a text or integer key. */
const k = (key: CborKey) => enc(key);

/** `pairs` with the value of `key` replaced. */
const setValue = (pairs: [Uint8Array, Uint8Array][], key: CborKey, value: Uint8Array) =>
  pairs.map(([kk, v]) => [kk, Buffer.compare(kk, k(key)) === 0 ? value : v] as [Uint8Array, Uint8Array]);

/** The scope's [key, value] encodings. */
const scopePairs = () => pairsOf(encodeClaims(rootClaims).get('scope') as ReadonlyMap<CborKey, CborValue>);

/** A child of `entry` (a chain entry's bytes, any encoding): parent digest = SHA-256 of those bytes. */
function childOf(entry: Uint8Array, unprotected?: Uint8Array): Uint8Array {
  const payload = enc(encodeClaims(childClaims(sha256(entry))));
  return rawSign1(delegate, {
    payloadRaw: payload,
    unprotectedRaw: unprotected ?? mapOf([[k('chain'), arr([bstr(entry)])]]),
  });
}

/** A countersignature by `key` on the root, from raw parts. */
function rawCountersignature(
  key: SigningKey,
  parts: { protectedRaw?: Uint8Array; unprotectedRaw?: Uint8Array; arity?: 0 | 1 } = {},
): Uint8Array {
  const protectedRaw = parts.protectedRaw ?? protectedOf(key);
  const signature = signWith(key, countersignStructure(rootCose, protectedRaw));
  return arr([bstr(protectedRaw), parts.unprotectedRaw ?? enc(new Map()), bstr(signature)], parts.arity);
}

/** The root with this raw unprotected header (its signature unchanged: the header is not signed). */
const rootWithUnprotected = (unprotectedRaw: Uint8Array) =>
  tagged(
    18,
    arr([bstr(rootCose.protectedBytes), unprotectedRaw, bstr(rootCose.payload), bstr(rootCose.signature)]),
  );
const approvedWith = (countersignatures: readonly Uint8Array[]) =>
  rootWithUnprotected(mapOf([[k(11), arr(countersignatures)]]));

describe('the controls: the same constructions without a defect verify', () => {
  it('raw root, raw child of a raw chain entry, raw countersignatures', () => {
    expect(verifyArtifact(rawRoot({}), options)).toMatchObject({ ok: true });
    expect(verifyArtifact(rawRoot({ payloadRaw: mapOf(payloadPairs()) }), options)).toMatchObject({
      ok: true,
    });
    expect(verifyArtifact(childOf(chainEntry(decodeArtifact(root))), options)).toMatchObject({ ok: true });
    expect(verifyArtifact(childOf(rawRoot({})), options)).toMatchObject({ ok: true });
    const both = approvers.map((a) => rawCountersignature(a));
    expect(verifyArtifact(approvedWith(both), withApprovals)).toMatchObject({ ok: true });
    expect(verifyArtifact(rootWithUnprotected(enc(new Map())), options)).toMatchObject({ ok: true });
    expect(
      verifyArtifact(
        rootEdited([], () => {}),
        options,
      ),
    ).toMatchObject({ ok: true });
    expect(
      verifyArtifact(
        protectedEdited(() => {}),
        options,
      ),
    ).toMatchObject({ ok: true });
    // Helpers agree with the library's encoder.
    expect(Buffer.compare(rawRoot({}), root)).toBe(0);
    expect(Buffer.compare(mapOf(protectedPairs()), rootCose.protectedBytes)).toBe(0);
  });
});

// ── Not CBOR, wrong tags ──────────────────────────────────────────────────────────────────────────

const text = (s: string) => new TextEncoder().encode(s);
const body = root.subarray(1); // the array inside tag 18 (d2 is one byte)

describe('not CBOR, or not a COSE_Sign1', () => {
  const cases: Case[] = [
    { name: 'an empty file', bytes: new Uint8Array(0), by: 'E_CBOR_FORMAT' },
    { name: 'a line of text', bytes: text('hello, world\n'), by: 'E_CBOR_FORMAT' },
    { name: 'JSON', bytes: text('{"iss":"ops","exp":1800000600}'), by: 'E_CBOR_FORMAT' },
    {
      name: 'a PEM public key',
      bytes: text(
        `-----BEGIN PUBLIC KEY-----\n${Buffer.from(issuer.spki).toString('base64')}\n-----END PUBLIC KEY-----\n`,
      ),
      by: 'E_CBOR_FORMAT',
    },
    { name: 'the DER of a key', bytes: issuer.spki, by: 'E_CBOR_FORMAT' },
    { name: 'a break byte alone', bytes: Uint8Array.of(0xff), by: 'E_CBOR_FORMAT' },
    { name: 'reserved additional information 28', bytes: Uint8Array.of(0x1c), by: 'E_CBOR_FORMAT' },
    { name: 'a float', bytes: Uint8Array.of(0xfb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0), by: 'E_CBOR_UNSUPPORTED' },
    { name: 'undefined', bytes: Uint8Array.of(0xf7), by: 'E_CBOR_UNSUPPORTED' },
    {
      name: 'invalid UTF-8 in the payload’s text',
      bytes: rawRoot({ payloadRaw: mapOf(setValue(payloadPairs(), 1, Uint8Array.of(0x62, 0xc3, 0x28))) }),
      by: 'E_CBOR_FORMAT',
    },
    { name: 'tag 998 instead of 18', bytes: tagged(998, body), by: 'E_CBOR_TAG' },
    { name: 'tag 17 (COSE_Mac0)', bytes: tagged(17, body), by: 'E_CBOR_TAG' },
    { name: 'tag 98 (COSE_Sign)', bytes: tagged(98, body), by: 'E_CBOR_TAG' },
    { name: 'tag 61 (CWT) around the COSE_Sign1', bytes: tagged(61, root), by: 'E_CBOR_TAG' },
    { name: 'untagged', bytes: body, by: 'structure' },
    { name: 'tag 18 twice', bytes: tagged(18, root), by: 'structure' },
    { name: 'tag 18 around a map', bytes: tagged(18, enc(new Map([[1, 2]]))), by: 'structure' },
    {
      name: 'a COSE_Sign1 of 3 items',
      bytes: tagged(18, arr([bstr(rootCose.protectedBytes), enc(new Map()), bstr(rootCose.payload)])),
      by: 'structure',
    },
    {
      name: 'a COSE_Sign1 of 5 items',
      bytes: tagged(
        18,
        arr([
          bstr(rootCose.protectedBytes),
          enc(new Map()),
          bstr(rootCose.payload),
          bstr(rootCose.signature),
          enc(0),
        ]),
      ),
      by: 'structure',
    },
    {
      name: 'a detached payload (null)',
      bytes: tagged(
        18,
        arr([bstr(rootCose.protectedBytes), enc(new Map()), enc(null), bstr(rootCose.signature)]),
      ),
      by: 'structure',
    },
    {
      name: 'the protected header as a map, not a bstr',
      bytes: tagged(
        18,
        arr([rootCose.protectedBytes, enc(new Map()), bstr(rootCose.payload), bstr(rootCose.signature)]),
      ),
      by: 'structure',
    },
    { name: 'a payload that is an array', bytes: rawRoot({ payloadRaw: arr([enc(1)]) }), by: 'structure' },
    {
      name: 'a payload that is not CBOR',
      bytes: rawRoot({ payloadRaw: text('{"iss":"ops"}') }),
      by: 'E_CBOR_FORMAT',
    },
    {
      name: 'a payload with a tag',
      bytes: rawRoot({ payloadRaw: tagged(18, mapOf(payloadPairs())) }),
      by: 'E_CBOR_TAG',
    },
    {
      name: `more than ${MAX_ARTIFACT_BYTES} bytes`,
      bytes: concatBytes([root, new Uint8Array(MAX_ARTIFACT_BYTES)]),
      by: 'structure',
    },
    {
      name: 'random bytes (seeded)',
      bytes: Uint8Array.of(0xd2, 0x84, ...randomBytes(1024)),
      by: 'any CBOR error',
    },
  ];
  it.each(cases)('$name', check);
});

// ── Indefinite lengths, huge declared lengths, deep nesting ─────────────────────────────────────────

/** The four items of the root's COSE_Sign1, encoded. */
const items = () => [
  bstr(rootCose.protectedBytes),
  enc(new Map()),
  bstr(rootCose.payload),
  bstr(rootCose.signature),
];
const BREAK = Uint8Array.of(0xff);
const indefinite = (initial: number, parts: readonly Uint8Array[]) =>
  concatBytes([Uint8Array.of(initial), ...parts, BREAK]);
const chainOf = (entries: readonly Uint8Array[]) => mapOf([[k('chain'), arr(entries.map((e) => bstr(e)))]]);
const rootEntry = chainEntry(decodeArtifact(root));

describe('indefinite lengths (RFC 8949 §4.2.1: definite only), in each layer', () => {
  const cases: Case[] = [
    { name: 'the COSE_Sign1 array', bytes: tagged(18, indefinite(0x9f, items())), by: 'E_CBOR_NONCANONICAL' },
    {
      name: 'the unprotected map',
      bytes: rootWithUnprotected(indefinite(0xbf, [])),
      by: 'E_CBOR_NONCANONICAL',
    },
    {
      name: 'the payload byte string, in chunks (signed over their concatenation)',
      bytes: tagged(
        18,
        arr([
          bstr(rootCose.protectedBytes),
          enc(new Map()),
          indefinite(0x5f, [bstr(rootCose.payload.subarray(0, 10)), bstr(rootCose.payload.subarray(10))]),
          bstr(rootCose.signature),
        ]),
      ),
      by: 'E_CBOR_NONCANONICAL',
    },
    {
      name: 'the protected header map (signed)',
      bytes: rawRoot({ protectedRaw: indefinite(0xbf, protectedPairs().flat()) }),
      by: 'E_CBOR_NONCANONICAL',
    },
    {
      name: 'the claims map (signed)',
      bytes: rawRoot({ payloadRaw: indefinite(0xbf, payloadPairs().flat()) }),
      by: 'E_CBOR_NONCANONICAL',
    },
    {
      name: 'a text claim in chunks (signed)',
      bytes: rawRoot({
        payloadRaw: mapOf(setValue(payloadPairs(), 1, indefinite(0x7f, [enc('o'), enc('ps')]))),
      }),
      by: 'E_CBOR_NONCANONICAL',
    },
    {
      name: 'the argv array (signed)',
      bytes: rawRoot({
        payloadRaw: mapOf(
          setValue(
            payloadPairs(),
            'scope',
            mapOf(setValue(scopePairs(), 'argv', indefinite(0x9f, [enc('--full')]))),
          ),
        ),
      }),
      by: 'E_CBOR_NONCANONICAL',
    },
    {
      name: 'the chain array',
      bytes: childOf(rootEntry, mapOf([[k('chain'), indefinite(0x9f, [bstr(rootEntry)])]])),
      by: 'E_CBOR_NONCANONICAL',
    },
    {
      name: 'a chain entry’s COSE_Sign1 array (its digest named by the child)',
      bytes: childOf(tagged(18, indefinite(0x9f, items()))),
      by: 'E_CBOR_NONCANONICAL',
    },
    {
      name: 'a countersignature array',
      bytes: rootWithUnprotected(
        mapOf([
          [k(11), indefinite(0x9f, [bstr(protectedOf(approver1)), enc(new Map()), bstr(new Uint8Array(64))])],
        ]),
      ),
      by: 'E_CBOR_NONCANONICAL',
      opts: withApprovals,
    },
  ];
  it.each(cases)('$name', check);
});

const U32 = 2 ** 32;

describe('huge declared lengths: refused from the head, before anything is allocated', () => {
  const cases: Case[] = [
    {
      name: 'a byte string of 2^32 − 1 bytes (the whole file)',
      bytes: concatBytes([head(2, U32 - 1), new Uint8Array(8)]),
      by: 'E_CBOR_FORMAT',
    },
    {
      name: 'a byte string of 2^32 bytes',
      bytes: concatBytes([head(2, U32), new Uint8Array(8)]),
      by: 'E_CBOR_FORMAT',
    },
    {
      name: 'a byte string of 2^64 − 1 bytes',
      bytes: concatBytes([head(2, 2n ** 64n - 1n), new Uint8Array(8)]),
      by: 'E_CBOR_FORMAT',
    },
    {
      name: 'a text string of 2^32 bytes',
      bytes: concatBytes([head(3, U32), text('ops')]),
      by: 'E_CBOR_FORMAT',
    },
    { name: 'an array of 2^32 items', bytes: concatBytes([head(4, U32), enc(0)]), by: 'E_CBOR_LIMIT' },
    {
      name: 'an array of 2^64 − 1 items',
      bytes: concatBytes([head(4, 2n ** 64n - 1n), enc(0)]),
      by: 'E_CBOR_LIMIT',
    },
    { name: 'a map of 2^32 entries', bytes: concatBytes([head(5, U32), enc(1), enc(2)]), by: 'E_CBOR_LIMIT' },
    {
      name: 'tag 18 around an array of 2^32 items',
      bytes: tagged(18, concatBytes([head(4, U32), ...items()])),
      by: 'E_CBOR_LIMIT',
    },
    {
      name: 'an array of 60,000 items in 10 bytes (within the item limit)',
      bytes: concatBytes([head(4, 60_000), new Uint8Array(10)]),
      by: 'E_CBOR_FORMAT',
    },
    {
      name: 'a COSE_Sign1 whose payload claims 2^32 bytes',
      bytes: tagged(18, arr([bstr(rootCose.protectedBytes), enc(new Map()), head(2, U32), enc(0)])),
      by: 'E_CBOR_FORMAT',
    },
    {
      name: 'a signed payload whose argv claims 2^32 items',
      bytes: rawRoot({
        payloadRaw: mapOf(
          setValue(payloadPairs(), 'scope', mapOf(setValue(scopePairs(), 'argv', head(4, U32)))),
        ),
      }),
      by: 'E_CBOR_LIMIT',
    },
    {
      name: 'a chain claiming 2^32 ancestors',
      bytes: rootWithUnprotected(mapOf([[k('chain'), head(4, U32)]])),
      by: 'E_CBOR_LIMIT',
    },
    {
      name: 'a chain entry claiming 2^32 bytes',
      bytes: rootWithUnprotected(mapOf([[k('chain'), concatBytes([head(4, 1), head(2, U32)])]])),
      by: 'E_CBOR_FORMAT',
    },
  ];
  it.each(cases)('$name', check);
});

const DEEP = 100_000;
const nested = (open: Uint8Array, innermost: Uint8Array, n = DEEP) => {
  const out = new Uint8Array(open.length * n + innermost.length);
  for (let i = 0; i < n; i++) out.set(open, i * open.length);
  out.set(innermost, open.length * n);
  return out;
};

describe(`deep nesting (${DEEP.toLocaleString('en')} levels): refused at the depth limit`, () => {
  const cases: Case[] = [
    { name: 'arrays', bytes: nested(Uint8Array.of(0x81), Uint8Array.of(0x80)), by: 'E_CBOR_LIMIT' },
    {
      name: 'arrays inside tag 18',
      bytes: tagged(18, nested(Uint8Array.of(0x81), Uint8Array.of(0x80))),
      by: 'E_CBOR_LIMIT',
    },
    { name: 'maps', bytes: nested(Uint8Array.of(0xa1, 0x01), Uint8Array.of(0xa0)), by: 'E_CBOR_LIMIT' },
    { name: 'tags 18', bytes: nested(Uint8Array.of(0xd2), enc(0)), by: 'E_CBOR_LIMIT' },
    {
      name: 'arrays in the unprotected header',
      bytes: rootWithUnprotected(mapOf([[k('chain'), nested(Uint8Array.of(0x81), Uint8Array.of(0x80))]])),
      by: 'E_CBOR_LIMIT',
    },
    {
      name: 'arrays in the protected header (signed)',
      bytes: rawRoot({
        protectedRaw: mapOf([...protectedPairs(), [k(33), nested(Uint8Array.of(0x81), Uint8Array.of(0x80))]]),
      }),
      by: 'E_CBOR_LIMIT',
    },
    {
      name: 'arrays in the payload (signed)',
      bytes: rawRoot({ payloadRaw: nested(Uint8Array.of(0x81), Uint8Array.of(0x80)) }),
      by: 'E_CBOR_LIMIT',
    },
    {
      name: 'arrays as a claim value (signed)',
      bytes: rawRoot({
        payloadRaw: mapOf(setValue(payloadPairs(), 'gov', nested(Uint8Array.of(0x81), Uint8Array.of(0x80)))),
      }),
      by: 'E_CBOR_LIMIT',
    },
    {
      name: 'arrays in a chain entry’s payload',
      bytes: childOf(rawRoot({ payloadRaw: nested(Uint8Array.of(0x81), Uint8Array.of(0x80)) })),
      by: 'E_CBOR_LIMIT',
    },
  ];
  it.each(cases)('$name', check);
});

// ── Duplicate map keys, non-deterministic encodings, trailing bytes: in each layer ──────────────────

/** `pairs` with the pair of `key` written twice. */
const doubled = (pairs: [Uint8Array, Uint8Array][], key: CborKey): [Uint8Array, Uint8Array][] =>
  pairs.flatMap((p) => (Buffer.compare(p[0], k(key)) === 0 ? [p, p] : [p]));
/** `pairs` with its first two pairs swapped (out of the deterministic order). */
const swapped = (pairs: [Uint8Array, Uint8Array][]): [Uint8Array, Uint8Array][] => {
  const [a, b, ...rest] = pairs;
  return [b as [Uint8Array, Uint8Array], a as [Uint8Array, Uint8Array], ...rest];
};
const withScope = (scope: [Uint8Array, Uint8Array][]) =>
  mapOf(setValue(payloadPairs(), 'scope', mapOf(scope)));
const delegatePairs = () =>
  pairsOf(encodeClaims(rootClaims).get('delegate') as ReadonlyMap<CborKey, CborValue>);
const countersignatures = () => approvers.map((a) => rawCountersignature(a));

describe('duplicate map keys (RFC 8949 §5.6), in each layer', () => {
  const cases: Case[] = [
    {
      name: 'protected header: alg twice (signed)',
      bytes: rawRoot({ protectedRaw: mapOf(doubled(protectedPairs(), 1)) }),
      by: 'E_CBOR_DUPLICATE_KEY',
    },
    {
      name: 'unprotected header: "chain" twice',
      bytes: childOf(rootEntry, mapOf(doubled(pairsOf(new Map([['chain', [rootEntry]]])), 'chain'))),
      by: 'E_CBOR_DUPLICATE_KEY',
    },
    {
      name: 'unprotected header: 11 twice, each a valid countersignature',
      bytes: rootWithUnprotected(
        mapOf(countersignatures().map((c) => [k(11), c] as [Uint8Array, Uint8Array])),
      ),
      by: 'E_CBOR_DUPLICATE_KEY',
      opts: withApprovals,
    },
    {
      name: 'claims: iss twice (signed)',
      bytes: rawRoot({ payloadRaw: mapOf(doubled(payloadPairs(), 1)) }),
      by: 'E_CBOR_DUPLICATE_KEY',
    },
    {
      name: 'claims: iss twice with different values (signed)',
      bytes: rawRoot({
        payloadRaw: mapOf(
          payloadPairs().flatMap((p) =>
            Buffer.compare(p[0], k(1)) === 0 ? [p, [p[0], enc('opz')] as [Uint8Array, Uint8Array]] : [p],
          ),
        ),
      }),
      by: 'E_CBOR_DUPLICATE_KEY',
    },
    {
      name: 'claims: scope twice (signed)',
      bytes: rawRoot({ payloadRaw: mapOf(doubled(payloadPairs(), 'scope')) }),
      by: 'E_CBOR_DUPLICATE_KEY',
    },
    {
      name: 'scope: exe twice (signed)',
      bytes: rawRoot({ payloadRaw: withScope(doubled(scopePairs(), 'exe')) }),
      by: 'E_CBOR_DUPLICATE_KEY',
    },
    {
      name: 'delegate: depth twice (signed)',
      bytes: rawRoot({
        payloadRaw: mapOf(setValue(payloadPairs(), 'delegate', mapOf(doubled(delegatePairs(), 'depth')))),
      }),
      by: 'E_CBOR_DUPLICATE_KEY',
    },
    {
      name: 'gov: one name twice (signed)',
      bytes: rawRoot({
        payloadRaw: mapOf(
          setValue(payloadPairs(), 'gov', mapOf(doubled(pairsOf(new Map([['ticket', 'CHG-1']])), 'ticket'))),
        ),
      }),
      by: 'E_CBOR_DUPLICATE_KEY',
    },
    {
      name: 'a chain entry’s claims: iss twice',
      bytes: childOf(rawRoot({ payloadRaw: mapOf(doubled(payloadPairs(), 1)) })),
      by: 'E_CBOR_DUPLICATE_KEY',
    },
    {
      name: 'a countersignature’s protected header: kid twice',
      bytes: approvedWith([
        rawCountersignature(approver1, { protectedRaw: mapOf(doubled(protectedPairs(approver1), 4)) }),
        countersignatures()[1] as Uint8Array,
      ]),
      by: 'E_CBOR_DUPLICATE_KEY',
      opts: withApprovals,
    },
  ];
  it.each(cases)('$name', check);
});

/** The pair list with the value of `key` re-encoded as an integer head of `width` bytes. */
const wideInt = (pairs: [Uint8Array, Uint8Array][], key: CborKey, value: number, width: 1 | 2 | 4 | 8) =>
  setValue(pairs, key, head(0, value, width));

describe('non-deterministic encodings (RFC 8949 §4.2.1), in each layer', () => {
  const cases: Case[] = [
    {
      name: 'the COSE_Sign1 array head in 2 bytes',
      bytes: tagged(18, arr(items(), 1)),
      by: 'E_CBOR_NONCANONICAL',
    },
    {
      name: 'tag 18 in a 2-byte head',
      bytes: concatBytes([head(6, 18, 1), body]),
      by: 'E_CBOR_NONCANONICAL',
    },
    {
      name: 'the protected bstr length in 3 bytes',
      bytes: tagged(18, arr([bstr(rootCose.protectedBytes, 2), ...items().slice(1)])),
      by: 'E_CBOR_NONCANONICAL',
    },
    {
      name: 'protected header: alg −8 in a 2-byte head (signed)',
      bytes: rawRoot({ protectedRaw: mapOf(setValue(protectedPairs(), 1, head(1, 7, 1))) }),
      by: 'E_CBOR_NONCANONICAL',
    },
    {
      name: 'protected header: kid before alg (signed)',
      bytes: rawRoot({ protectedRaw: mapOf(swapped(protectedPairs())) }),
      by: 'E_CBOR_NONCANONICAL',
    },
    {
      name: 'the unprotected map head in 2 bytes',
      bytes: rootWithUnprotected(head(5, 0, 1)),
      by: 'E_CBOR_NONCANONICAL',
    },
    {
      name: 'unprotected header: "chain" before 11',
      bytes: childOf(
        rootEntry,
        mapOf([
          [k('chain'), arr([bstr(rootEntry)])],
          [k(11), countersignatures()[0] as Uint8Array],
        ]),
      ),
      by: 'E_CBOR_NONCANONICAL',
    },
    {
      name: 'the payload bstr length in 5 bytes',
      bytes: tagged(
        18,
        arr([
          bstr(rootCose.protectedBytes),
          enc(new Map()),
          bstr(rootCose.payload, 4),
          bstr(rootCose.signature),
        ]),
      ),
      by: 'E_CBOR_NONCANONICAL',
    },
    {
      name: 'the signature bstr length in 3 bytes',
      bytes: tagged(18, arr([...items().slice(0, 3), bstr(rootCose.signature, 2)])),
      by: 'E_CBOR_NONCANONICAL',
    },
    {
      name: 'claims: exp in an 8-byte head (signed)',
      bytes: rawRoot({ payloadRaw: mapOf(wideInt(payloadPairs(), 4, rootClaims.exp, 8)) }),
      by: 'E_CBOR_NONCANONICAL',
    },
    {
      name: 'claims: iat in an 8-byte head (signed)',
      bytes: rawRoot({ payloadRaw: mapOf(wideInt(payloadPairs(), 6, rootClaims.iat, 8)) }),
      by: 'E_CBOR_NONCANONICAL',
    },
    {
      name: 'claims: keys out of order (signed)',
      bytes: rawRoot({ payloadRaw: mapOf(swapped(payloadPairs())) }),
      by: 'E_CBOR_NONCANONICAL',
    },
    {
      name: 'claims: the map head in 2 bytes (signed)',
      bytes: rawRoot({
        payloadRaw: concatBytes([head(5, payloadPairs().length, 1), ...payloadPairs().flat()]),
      }),
      by: 'E_CBOR_NONCANONICAL',
    },
    {
      name: 'claims: the cti length in 2 bytes (signed)',
      bytes: rawRoot({ payloadRaw: mapOf(setValue(payloadPairs(), 7, bstr(rootClaims.cti, 1))) }),
      by: 'E_CBOR_NONCANONICAL',
    },
    {
      name: 'scope: keys out of order (signed)',
      bytes: rawRoot({ payloadRaw: withScope(swapped(scopePairs())) }),
      by: 'E_CBOR_NONCANONICAL',
    },
    {
      name: 'scope: the argv array head in 2 bytes (signed)',
      bytes: rawRoot({ payloadRaw: withScope(setValue(scopePairs(), 'argv', arr([enc('--full')], 1))) }),
      by: 'E_CBOR_NONCANONICAL',
    },
    {
      name: 'delegate: depth 0 in a 2-byte head (signed)',
      bytes: rawRoot({
        payloadRaw: mapOf(
          setValue(payloadPairs(), 'delegate', mapOf(wideInt(delegatePairs(), 'depth', 0, 1))),
        ),
      }),
      by: 'E_CBOR_NONCANONICAL',
    },
    {
      name: 'state: a PCR index in a 2-byte head (signed)',
      bytes: rawRoot({
        payloadRaw: mapOf(
          setValue(
            payloadPairs(),
            'state',
            mapOf(
              setValue(
                pairsOf(
                  new Map<CborKey, CborValue>([
                    ['bank', 'sha256'],
                    ['pcrs', [0, 7]],
                    ['digest', new Uint8Array(32).fill(2)],
                  ]),
                ),
                'pcrs',
                arr([enc(0), head(0, 7, 1)]),
              ),
            ),
          ),
        ),
      }),
      by: 'E_CBOR_NONCANONICAL',
    },
    {
      name: 'a chain entry: exp in an 8-byte head (signed, its digest named by the child)',
      bytes: childOf(rawRoot({ payloadRaw: mapOf(wideInt(payloadPairs(), 4, rootClaims.exp, 8)) })),
      by: 'E_CBOR_NONCANONICAL',
    },
    {
      name: 'a chain entry: tag 18 in a 2-byte head',
      bytes: childOf(concatBytes([head(6, 18, 1), rootEntry.subarray(1)])),
      by: 'E_CBOR_NONCANONICAL',
    },
    {
      name: 'the chain array head in 2 bytes',
      bytes: childOf(rootEntry, mapOf([[k('chain'), arr([bstr(rootEntry)], 1)]])),
      by: 'E_CBOR_NONCANONICAL',
    },
    {
      name: 'a countersignature array head in 2 bytes',
      bytes: approvedWith([
        rawCountersignature(approver1, { arity: 1 }),
        countersignatures()[1] as Uint8Array,
      ]),
      by: 'E_CBOR_NONCANONICAL',
      opts: withApprovals,
    },
    {
      name: 'a countersignature’s protected header out of order (signed)',
      bytes: approvedWith([
        rawCountersignature(approver1, { protectedRaw: mapOf(swapped(protectedPairs(approver1))) }),
        countersignatures()[1] as Uint8Array,
      ]),
      by: 'E_CBOR_NONCANONICAL',
      opts: withApprovals,
    },
  ];
  it.each(cases)('$name', check);
});

describe('trailing bytes, in each layer', () => {
  const zero = Uint8Array.of(0);
  const cases: Case[] = [
    { name: 'after the COSE_Sign1', bytes: concatBytes([root, zero]), by: 'E_CBOR_FORMAT' },
    { name: 'a second artifact after the first', bytes: concatBytes([root, root]), by: 'E_CBOR_FORMAT' },
    {
      name: 'inside the protected bstr (signed)',
      bytes: rawRoot({ protectedRaw: concatBytes([rootCose.protectedBytes, zero]) }),
      by: 'E_CBOR_FORMAT',
    },
    {
      name: 'inside the payload bstr (signed)',
      bytes: rawRoot({ payloadRaw: concatBytes([rootCose.payload, zero]) }),
      by: 'E_CBOR_FORMAT',
    },
    {
      name: 'inside a chain entry (its digest named by the child)',
      bytes: childOf(concatBytes([rootEntry, zero])),
      by: 'E_CBOR_FORMAT',
    },
    {
      name: 'inside a chain entry’s payload (signed)',
      bytes: childOf(rawRoot({ payloadRaw: concatBytes([rootCose.payload, zero]) })),
      by: 'E_CBOR_FORMAT',
    },
    {
      name: 'inside a countersignature’s protected bstr (signed)',
      bytes: approvedWith([
        rawCountersignature(approver1, { protectedRaw: concatBytes([protectedOf(approver1), zero]) }),
        countersignatures()[1] as Uint8Array,
      ]),
      by: 'E_CBOR_FORMAT',
      opts: withApprovals,
    },
  ];
  it.each(cases)('$name', check);
});

// ── Closed sets: claims, header labels, chain entries ───────────────────────────────────────────────

/** The root's claims map with `edit` applied to the map at `path`, encoded deterministically and signed. */
function rootEdited(path: readonly CborKey[], edit: (m: Map<CborKey, CborValue>) => void): Uint8Array {
  const copy = (v: CborValue): CborValue =>
    v instanceof Map ? new Map([...v].map(([kk, x]) => [kk, copy(x)])) : v;
  const claims = copy(encodeClaims(rootClaims)) as Map<CborKey, CborValue>;
  let at: Map<CborKey, CborValue> = claims;
  for (const key of path) at = at.get(key) as Map<CborKey, CborValue>;
  edit(at);
  return signPayload(enc(claims), issuer);
}

describe('unknown claim keys, at every level (signed, deterministic): fail closed', () => {
  const cases: Case[] = [
    { name: 'claims: 3 (aud)', bytes: rootEdited([], (m) => m.set(3, 'host')), by: 'structure' },
    { name: 'claims: 8 (cnf)', bytes: rootEdited([], (m) => m.set(8, new Map([[1, 2]]))), by: 'structure' },
    { name: 'claims: −1', bytes: rootEdited([], (m) => m.set(-1, 0)), by: 'structure' },
    { name: 'claims: "foo"', bytes: rootEdited([], (m) => m.set('foo', 'bar')), by: 'structure' },
    {
      name: 'claims: "Scope" (case matters)',
      bytes: rootEdited([], (m) => m.set('Scope', 1)),
      by: 'structure',
    },
    { name: 'scope: "args"', bytes: rootEdited(['scope'], (m) => m.set('args', [])), by: 'structure' },
    { name: 'scope: "gid"', bytes: rootEdited(['scope'], (m) => m.set('gid', 0)), by: 'structure' },
    { name: 'state (PCRs): "foo"', bytes: rootEdited(['state'], (m) => m.set('foo', 1)), by: 'structure' },
    {
      name: 'state (reference): "bank" beside "ref"',
      bytes: rootEdited([], (m) =>
        m.set(
          'state',
          new Map<CborKey, CborValue>([
            ['ref', new Uint8Array(32)],
            ['bank', 'sha256'],
          ]),
        ),
      ),
      by: 'structure',
    },
    { name: 'delegate: "foo"', bytes: rootEdited(['delegate'], (m) => m.set('foo', 1)), by: 'structure' },
    {
      name: 'delegate.scope: "foo"',
      bytes: rootEdited(['delegate', 'scope'], (m) => m.set('foo', 1)),
      by: 'structure',
    },
    { name: 'gov: an integer name', bytes: rootEdited(['gov'], (m) => m.set(1, 'x')), by: 'structure' },
  ];
  it.each(cases)('$name', check);
});

/** A root signed with a protected header of `edit`ed [alg, kid]. */
function protectedEdited(edit: (m: Map<CborKey, CborValue>) => void): Uint8Array {
  const m = new Map<CborKey, CborValue>([
    [HEADER.alg, COSE_ALG[issuer.alg]],
    [HEADER.kid, issuer.kid],
  ]);
  edit(m);
  return rawRoot({ protectedRaw: m.size === 0 ? new Uint8Array(0) : enc(m) });
}

describe('protected header: exactly alg and kid (signed)', () => {
  const cases: Case[] = [
    { name: 'crit (2) naming kid', bytes: protectedEdited((m) => m.set(2, [4])), by: 'structure' },
    {
      name: 'crit (2) naming an unknown label',
      bytes: protectedEdited((m) => m.set(2, [-70_000])),
      by: 'structure',
    },
    { name: 'content type (3)', bytes: protectedEdited((m) => m.set(3, 'application/cwt')), by: 'structure' },
    { name: 'IV (5)', bytes: protectedEdited((m) => m.set(5, new Uint8Array(12))), by: 'structure' },
    { name: 'x5chain (33)', bytes: protectedEdited((m) => m.set(33, new Uint8Array(10))), by: 'structure' },
    { name: 'a private label (−65537)', bytes: protectedEdited((m) => m.set(-65_537, 1)), by: 'structure' },
    { name: 'a text label', bytes: protectedEdited((m) => m.set('foo', 1)), by: 'structure' },
    { name: 'alg as text "EdDSA"', bytes: protectedEdited((m) => m.set(1, 'EdDSA')), by: 'structure' },
    { name: 'alg RS256 (−257)', bytes: protectedEdited((m) => m.set(1, -257)), by: 'structure' },
    { name: 'no alg', bytes: protectedEdited((m) => m.delete(1)), by: 'structure' },
    { name: 'no kid', bytes: protectedEdited((m) => m.delete(4)), by: 'structure' },
    {
      name: 'a kid of 31 bytes',
      bytes: protectedEdited((m) => m.set(4, issuer.kid.subarray(1))),
      by: 'structure',
    },
    { name: 'an empty protected header', bytes: protectedEdited((m) => m.clear()), by: 'structure' },
    {
      name: 'an empty map as the protected header',
      bytes: rawRoot({ protectedRaw: enc(new Map()) }),
      by: 'structure',
    },
  ];
  it.each(cases)('$name', check);
});

describe('unprotected header: only "chain" and 11 (countersignatures)', () => {
  const cases: Case[] = [
    { name: 'kid (4)', bytes: rootWithUnprotected(mapOf([[k(4), bstr(issuer.kid)]])), by: 'structure' },
    { name: 'alg (1)', bytes: rootWithUnprotected(mapOf([[k(1), enc(-8)]])), by: 'structure' },
    { name: 'crit (2)', bytes: rootWithUnprotected(mapOf([[k(2), arr([enc(4)])]])), by: 'structure' },
    {
      name: 'x5chain (33)',
      bytes: rootWithUnprotected(mapOf([[k(33), bstr(issuer.spki)]])),
      by: 'structure',
    },
    {
      name: 'a V1 countersignature (7)',
      bytes: rootWithUnprotected(mapOf([[k(7), countersignatures()[0] as Uint8Array]])),
      by: 'structure',
    },
    {
      name: '"Chain"',
      bytes: rootWithUnprotected(mapOf([[k('Chain'), arr([bstr(rootEntry)])]])),
      by: 'structure',
    },
    {
      name: 'a countersignature with a non-empty unprotected header',
      bytes: approvedWith([
        rawCountersignature(approver1, { unprotectedRaw: mapOf([[k(4), bstr(approver1.kid)]]) }),
        countersignatures()[1] as Uint8Array,
      ]),
      by: 'structure',
      opts: withApprovals,
    },
    {
      name: 'a countersignature with crit in its protected header (signed)',
      bytes: approvedWith([
        rawCountersignature(approver1, {
          protectedRaw: enc(
            new Map<CborKey, CborValue>([
              [1, -8],
              [2, [4]],
              [4, approver1.kid],
            ]),
          ),
        }),
        countersignatures()[1] as Uint8Array,
      ]),
      by: 'structure',
      opts: withApprovals,
    },
  ];
  it.each(cases)('$name', check);
});

/** The root as a chain entry with this unprotected header (the signed part unchanged). */
const entryWith = (unprotected: Map<CborKey, CborValue>) =>
  tagged(
    18,
    arr([bstr(rootCose.protectedBytes), enc(unprotected), bstr(rootCose.payload), bstr(rootCose.signature)]),
  );

describe('chain and approvals: shape', () => {
  const cases: Case[] = [
    {
      name: 'a chain entry carrying an approval',
      bytes: childOf(entryWith(new Map([[11, countersignatureBy(root, approver1)]]))),
      by: 'structure',
    },
    {
      name: 'a chain entry carrying a chain',
      bytes: childOf(entryWith(new Map([['chain', [rootEntry]]]))),
      by: 'structure',
    },
    {
      name: 'a chain entry carrying a kid',
      bytes: childOf(entryWith(new Map([[4, issuer.kid]]))),
      by: 'structure',
    },
    { name: 'an empty chain', bytes: rootWithUnprotected(mapOf([[k('chain'), arr([])]])), by: 'structure' },
    {
      name: 'a chain of 10 ancestors (a depth-8 grant allows 9)',
      bytes: childOf(rootEntry, chainOf(Array(10).fill(rootEntry))),
      by: 'structure',
    },
    {
      name: 'a chain that is one byte string, not an array',
      bytes: childOf(rootEntry, mapOf([[k('chain'), bstr(rootEntry)]])),
      by: 'structure',
    },
    {
      name: 'a chain entry inline (not a byte string)',
      bytes: childOf(rootEntry, mapOf([[k('chain'), arr([rootEntry])]])),
      by: 'structure',
    },
    { name: 'a chain entry untagged', bytes: childOf(rootEntry.subarray(1)), by: 'structure' },
    {
      name: 'a chain entry with tag 17',
      bytes: childOf(tagged(17, rootEntry.subarray(1))),
      by: 'E_CBOR_TAG',
    },
    {
      name: '33 countersignatures',
      bytes: approvedWith(Array(33).fill(countersignatures()[0])),
      by: 'structure',
      opts: withApprovals,
    },
    {
      name: 'an empty array of countersignatures',
      bytes: approvedWith([]),
      by: 'structure',
      opts: withApprovals,
    },
    {
      name: 'a countersignature of 2 items',
      bytes: approvedWith([arr([bstr(protectedOf(approver1)), bstr(new Uint8Array(64))])]),
      by: 'structure',
      opts: withApprovals,
    },
    {
      name: 'a countersignature whose protected header is a map',
      bytes: approvedWith([arr([protectedOf(approver1), enc(new Map()), bstr(new Uint8Array(64))])]),
      by: 'structure',
      opts: withApprovals,
    },
  ];
  it.each(cases)('$name', check);
});

// ── Revocation lists: the same strictness, E_REVOCATION_LIST ────────────────────────────────────────

describe('revocation lists: the same strictness, E_REVOCATION_LIST', () => {
  const list = issueRevocationList(
    { iss: 'ops', seq: 1, iat: NOW, ctis: [rootClaims.cti], kids: [] },
    issuer,
  );
  /** A list signed by the issuer over this payload map, with the revocation protected header. */
  const rawList = (payload: Map<CborKey, CborValue> | Uint8Array) =>
    rawSign1(issuer, {
      protectedRaw: enc(
        new Map<CborKey, CborValue>([
          [HEADER.alg, COSE_ALG[issuer.alg]],
          [HEADER.contentType, REVOCATION_CONTENT_TYPE],
          [HEADER.kid, issuer.kid],
        ]),
      ),
      payloadRaw: payload instanceof Uint8Array ? payload : enc(payload),
    });
  const payload = () =>
    new Map<CborKey, CborValue>([
      [1, 'ops'],
      [6, NOW],
      ['seq', 2],
      ['cti', [rootClaims.cti]],
      ['kid', []],
    ]);

  it('the controls decode', () => {
    expect(decodeRevocationList(list).list.seq).toBe(1);
    expect(decodeRevocationList(rawList(payload())).list.seq).toBe(2);
  });

  const cases: readonly { name: string; bytes: Uint8Array }[] = [
    { name: 'not CBOR', bytes: text('revoked: everything') },
    { name: 'tag 17', bytes: tagged(17, list.subarray(1)) },
    { name: 'untagged', bytes: list.subarray(1) },
    { name: 'trailing bytes', bytes: concatBytes([list, Uint8Array.of(0)]) },
    { name: 'an indefinite array', bytes: tagged(18, indefinite(0x9f, [list.subarray(2)])) },
    { name: 'an artifact instead', bytes: root },
    { name: 'an unknown payload field "all" (signed)', bytes: rawList(payload().set('all', true)) },
    {
      name: 'ctis out of order (signed)',
      bytes: rawList(payload().set('cti', [new Uint8Array(16).fill(9), new Uint8Array(16).fill(1)])),
    },
    { name: 'seq 0 (signed)', bytes: rawList(payload().set('seq', 0)) },
    {
      name: 'seq in a 9-byte head (signed)',
      bytes: rawList(mapOf(setValue(pairsOf(payload()), 'seq', head(0, 2, 8)))),
    },
  ];
  it.each(cases)('$name', ({ bytes }) => {
    expect(thrown(ArtifactError, () => decodeRevocationList(bytes)).code).toBe('E_REVOCATION_LIST');
  });
});

// ── Any edit: a verdict, never an exception ─────────────────────────────────────────────────────────

describe('edited artifacts (fast-check): a refusal verdict, never an exception', () => {
  const approved = approvedWith(countersignatures());
  const chained = childOf(rootEntry);
  const edit = fc.tuple(
    fc.constantFrom('flip', 'cut', 'insert', 'replace', 'delete'),
    fc.nat(),
    fc.integer({ min: 0, max: 255 }),
  );

  it('flips, cuts, insertions, deletions anywhere in a chained or approved artifact', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.array(edit, { minLength: 1, maxLength: 4 }), (which, edits) => {
        let b = Array.from(which ? approved : chained);
        for (const [op, at, byte] of edits) {
          const i = at % (b.length + 1);
          if (op === 'flip' && i < b.length) b[i] = (b[i] ?? 0) ^ (1 << (byte % 8));
          else if (op === 'cut') b = b.slice(0, i);
          else if (op === 'insert') b.splice(i, 0, byte);
          else if (op === 'delete') b.splice(i, 1);
          else if (i < b.length && b[i] !== byte) b[i] = byte;
          else b.push(byte);
        }
        const bytes = Uint8Array.from(b);
        fc.pre(Buffer.compare(bytes, which ? approved : chained) !== 0); // an insertion undone by a deletion
        const v = verifyArtifact(bytes, which ? withApprovals : options);
        expect(v.ok).toBe(false);
        try {
          decodeArtifact(bytes);
        } catch (e) {
          expect(e).toBeInstanceOf(ArtifactError);
          expect((e as ArtifactError).code).toBe('E_FORMAT');
        }
      }),
      { numRuns: 300 },
    );
  });

  it('arbitrary bytes, and arbitrary bytes after a COSE_Sign1 head', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.uint8Array({ maxLength: 512 }), (prefixed, tail) => {
        const bytes = prefixed ? concatBytes([Uint8Array.of(0xd2, 0x84), tail]) : tail;
        expect(verifyArtifact(bytes, options)).toMatchObject({ ok: false, code: 'E_FORMAT' });
      }),
      { numRuns: 300 },
    );
  });
});
