// SPDX-License-Identifier: Apache-2.0
// Reference state: capture → JSON → parse → check round trips, one failure per single mutation of the
// evidence, rejection of malformed documents, and digest invariance properties.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { initHashing } from '../../agent/crypto/hash.js';
import { JsonError } from '../../agent/encoding/canonical-json.js';
import {
  parseReferenceState,
  type ReferenceState,
  ReferenceStateError,
  referenceDigest,
  stringifyReferenceState,
} from '../../agent/measure/reference.js';
import { checkReference } from '../../agent/measure/state/check.js';
import { capture, hostEvidence } from '../helpers/state-evidence.js';
import { thrown } from '../helpers/thrown.js';

beforeAll(async () => {
  await initHashing();
});

const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex');

// ---------------------------------------------------------------------------------------------------------
// Reference state (capture and check: state-check.test.ts)

// biome-ignore lint/suspicious/noExplicitAny: tests edit a plain JSON copy of the document freely.
type Doc = any;
const plain = (): Doc => JSON.parse(stringifyReferenceState(capture()));

describe('parseReferenceState rejects malformed documents, naming the field', () => {
  const hex64 = 'ab'.repeat(32);
  const cases: readonly (readonly [string, (d: Doc) => void, string])[] = [
    ['an unknown top-level member', (d) => Object.assign(d, { extra: 1 }), '$.extra'],
    ['an unknown rule', (d) => Object.assign(d.rules, { firmware: [] }), '$.rules.firmware'],
    [
      'an unknown member in a list entry',
      (d) => Object.assign(d.rules.kernels[0], { path: '/x' }),
      '$.rules.kernels[0].path',
    ],
    ['a missing member', (d) => delete d.created, '$.created'],
    ['a missing rules.secureBoot', (d) => delete d.rules.secureBoot, '$.rules.secureBoot'],
    ['another document type', (d) => Object.assign(d, { execgate: 'trust-policy' }), '$.execgate'],
    ['version 2', (d) => Object.assign(d, { version: 2 }), '$.version'],
    ['version as a string', (d) => Object.assign(d, { version: '1' }), '$.version'],
    ['created 30 February', (d) => Object.assign(d, { created: '2026-02-30T00:00:00Z' }), '$.created'],
    [
      'created with an offset',
      (d) => Object.assign(d, { created: '2026-11-29T10:24:12+01:00' }),
      '$.created',
    ],
    ['host as an array', (d) => Object.assign(d, { host: [] }), '$.host'],
    [
      'an akName one byte short',
      (d) => Object.assign(d.host, { akName: `000b${'ab'.repeat(31)}` }),
      '$.host.akName',
    ],
    [
      'an akName with an unknown nameAlg',
      (d) => Object.assign(d.host, { akName: `0099${hex64}` }),
      '$.host.akName',
    ],
    ['an unknown bank', (d) => Object.assign(d.pcrs, { md5: { '0': 'ab'.repeat(16) } }), '$.pcrs.md5'],
    ['PCR 24', (d) => Object.assign(d.pcrs.sha256, { '24': hex64 }), '$.pcrs.sha256["24"]'],
    [
      'PCR index with a leading zero',
      (d) => Object.assign(d.pcrs.sha256, { '07': hex64 }),
      '$.pcrs.sha256["07"]',
    ],
    ['PCR index -1', (d) => Object.assign(d.pcrs.sha256, { '-1': hex64 }), '$.pcrs.sha256["-1"]'],
    ['uppercase hex', (d) => Object.assign(d.pcrs.sha256, { '0': 'AB'.repeat(32) }), '$.pcrs.sha256["0"]'],
    [
      'a SHA-256-sized value in the sha1 bank',
      (d) => Object.assign(d.pcrs.sha1, { '0': hex64 }),
      '$.pcrs.sha1["0"]',
    ],
    ['a PCR value as a number', (d) => Object.assign(d.pcrs.sha1, { '0': 0 }), '$.pcrs.sha1["0"]'],
    ['an empty bank', (d) => Object.assign(d.pcrs, { sha384: {} }), '$.pcrs.sha384'],
    [
      'a sha256 rule with a SHA-1-sized digest',
      (d) => Object.assign(d.rules.bootApplications[2], { digest: 'ab'.repeat(20) }),
      '$.rules.bootApplications[2].digest',
    ],
    [
      'a rule with an unknown bank',
      (d) => Object.assign(d.rules.initrds[0], { bank: 'sha3_256' }),
      '$.rules.initrds[0].bank',
    ],
    ['a list that is null', (d) => Object.assign(d.rules, { kernels: null }), '$.rules.kernels'],
    ['secureBoot "yes"', (d) => Object.assign(d.rules, { secureBoot: 'yes' }), '$.rules.secureBoot'],
    [
      'an IMA digest with an unknown algorithm',
      (d) => Object.assign(d.rules.ima.allowlist[1], { digest: `md5:${'ab'.repeat(16)}` }),
      '$.rules.ima.allowlist[1].digest',
    ],
    [
      'an IMA digest without its algorithm',
      (d) => Object.assign(d.rules.ima.allowlist[1], { digest: hex64 }),
      '$.rules.ima.allowlist[1].digest',
    ],
    [
      'an IMA digest of the wrong length',
      (d) => Object.assign(d.rules.ima.allowlist[1], { digest: `sha256:${'ab'.repeat(20)}` }),
      '$.rules.ima.allowlist[1].digest',
    ],
    [
      'an empty IMA path',
      (d) => Object.assign(d.rules.ima.allowlist[0], { path: '' }),
      '$.rules.ima.allowlist[0].path',
    ],
    ['another IMA mode', (d) => Object.assign(d.rules.ima, { mode: 'log-only' }), '$.rules.ima.mode'],
    [
      'allowViolations as a string',
      (d) => Object.assign(d.rules.ima, { allowViolations: 'false' }),
      '$.rules.ima.allowViolations',
    ],
    [
      'bootChain.secureBoot "on"',
      (d) => Object.assign(d.bootChain, { secureBoot: 'on' }),
      '$.bootChain.secureBoot',
    ],
    [
      'a bootChain digest in an unknown bank',
      (d) => Object.assign(d.bootChain.kernels[0].digests, { crc32: '00' }),
      '$.bootChain.kernels[0].digests.crc32',
    ],
    [
      'a document that constrains nothing',
      (d) => {
        d.pcrs = {};
        d.rules = { secureBoot: 'any' };
      },
      '$',
    ],
  ];
  for (const [name, mutate, path] of cases) {
    it(name, () => {
      const d = plain();
      mutate(d);
      const e = thrown(ReferenceStateError, () => parseReferenceState(JSON.stringify(d)));
      expect([e.code, e.path]).toEqual(['E_REFERENCE_FORMAT', path]);
      expect(e.message).toContain(path);
    });
  }

  const text = stringifyReferenceState(capture());
  const textCases: readonly (readonly [
    string,
    string | Uint8Array,
    'E_REFERENCE_FORMAT' | 'E_REFERENCE_LIMIT',
  ])[] = [
    [
      'a duplicate member (JSON.parse would keep the last)',
      text.replace('"version": 1', '"version": 1, "version": 1'),
      'E_REFERENCE_FORMAT',
    ],
    [
      'a lone surrogate in a note',
      text.replace('golden image', 'golden \\udc00 image'),
      'E_REFERENCE_FORMAT',
    ],
    [
      'invalid UTF-8',
      Buffer.concat([Buffer.from(text.slice(0, 40)), Buffer.from([0xff]), Buffer.from(text.slice(40))]),
      'E_REFERENCE_FORMAT',
    ],
    ['trailing text', `${text}x`, 'E_REFERENCE_FORMAT'],
    [
      'nesting beyond maxJsonDepth',
      text.replace('"golden image 2026-11"', `${'['.repeat(20)}${']'.repeat(20)}`),
      'E_REFERENCE_LIMIT',
    ],
    ['not JSON at all', 'execgate reference-state v1', 'E_REFERENCE_FORMAT'],
  ];
  for (const [name, input, code] of textCases) {
    it(name, () => {
      const e = thrown(ReferenceStateError, () => parseReferenceState(input));
      expect([e.code, e.path]).toEqual([code, '$']);
      expect(e.cause).toBeInstanceOf(JsonError);
    });
  }

  it('limits: document size, IMA entries, boot entries, text length', () => {
    const size = thrown(ReferenceStateError, () =>
      parseReferenceState(text, { limits: { maxDocumentBytes: text.length - 1 } }),
    );
    expect([size.code, size.path]).toEqual(['E_REFERENCE_LIMIT', '$']);
    expect(parseReferenceState(text, { limits: { maxDocumentBytes: Buffer.byteLength(text) } })).toEqual(
      capture(),
    );
    const ima = thrown(ReferenceStateError, () =>
      parseReferenceState(text, { limits: { maxImaEntries: 4 } }),
    );
    expect([ima.code, ima.path]).toEqual(['E_REFERENCE_LIMIT', '$.rules.ima.allowlist']);
    const boot = thrown(ReferenceStateError, () =>
      parseReferenceState(text, { limits: { maxBootEntries: 2 } }),
    );
    expect([boot.code, boot.path]).toEqual(['E_REFERENCE_LIMIT', '$.rules.bootApplications']);
    const chars = thrown(ReferenceStateError, () =>
      parseReferenceState(text, { limits: { maxTextChars: 19 } }),
    );
    expect([chars.code, chars.path]).toEqual(['E_REFERENCE_LIMIT', '$.host.note']);
  });
});

/** Every path to a leaf (string, number, boolean) of a JSON value. */
function leaves(v: unknown, path: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(v)) return v.flatMap((x, i) => leaves(x, [...path, i]));
  if (v !== null && typeof v === 'object')
    return Object.entries(v).flatMap(([k, x]) => leaves(x, [...path, k]));
  return [path];
}

function setAt(root: Doc, path: readonly (string | number)[], f: (old: unknown) => unknown): void {
  let node = root;
  for (const key of path.slice(0, -1)) node = node[key];
  const last = path[path.length - 1] as string | number;
  node[last] = f(node[last]);
}

/** Rebuilds `v` with each object's members in an order drawn from `next`. */
function shuffleKeys(v: unknown, next: () => number): unknown {
  if (Array.isArray(v)) return v.map((x) => shuffleKeys(x, next));
  if (v === null || typeof v !== 'object') return v;
  const entries = Object.entries(v);
  for (let i = entries.length - 1; i > 0; i--) {
    const j = next() % (i + 1);
    [entries[i], entries[j]] = [entries[j] as [string, unknown], entries[i] as [string, unknown]];
  }
  return Object.fromEntries(entries.map(([k, x]) => [k, shuffleKeys(x, next)]));
}

describe('referenceDigest', () => {
  const base = capture();
  const baseDigest = hexOf(referenceDigest(base));

  it('is invariant under member order and whitespace', () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat(), { minLength: 1, maxLength: 64 }),
        fc.constantFrom(0, 1, 2, 4, '\t'),
        (seeds, indent) => {
          let k = 0;
          const shuffled = shuffleKeys(
            JSON.parse(JSON.stringify(base)),
            () => seeds[k++ % seeds.length] ?? 0,
          );
          const text = JSON.stringify(shuffled, null, indent);
          expect(hexOf(referenceDigest(parseReferenceState(text)))).toBe(baseDigest);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('changes when any single value changes', () => {
    const paths = leaves(JSON.parse(JSON.stringify(base)));
    expect(paths.length).toBeGreaterThan(40);
    const seen = new Set([baseDigest]);
    for (const path of paths) {
      const d = plain();
      setAt(d, path, (old) =>
        typeof old === 'boolean' ? !old : typeof old === 'number' ? old + 1 : `${String(old)}0`,
      );
      const digest = hexOf(referenceDigest(d as ReferenceState));
      expect(seen.has(digest), path.join('.')).toBe(false);
      seen.add(digest);
    }
  });
});

describe('hostile documents', () => {
  /** Parses; a value must round-trip, and anything thrown must be a ReferenceStateError. */
  function parseOrRefuse(input: string | Uint8Array): void {
    let doc: ReferenceState;
    try {
      doc = parseReferenceState(input);
    } catch (e) {
      if (e instanceof ReferenceStateError) return;
      throw e;
    }
    expect(parseReferenceState(stringifyReferenceState(doc))).toEqual(doc);
    checkReference(doc, hostEvidence());
  }

  it('arbitrary JSON values', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => parseOrRefuse(JSON.stringify(v))),
      { numRuns: 1000 },
    );
  });

  it('arbitrary bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), parseOrRefuse), { numRuns: 1000 });
  });

  it('a valid document with one value replaced, removed or added', () => {
    const paths = leaves(plain());
    fc.assert(
      fc.property(
        fc.constantFrom(...paths),
        fc.oneof(
          fc.jsonValue({ maxDepth: 2 }).map((x) => ({ op: 'set' as const, x })),
          fc.constant({ op: 'delete' as const }),
          fc.string({ maxLength: 8 }).map((name) => ({ op: 'add' as const, name })),
        ),
        (path, edit) => {
          const d = plain();
          let parent = d;
          for (const key of path.slice(0, -1)) parent = parent[key];
          const key = path[path.length - 1] as string | number;
          if (edit.op === 'set') parent[key] = edit.x;
          else if (edit.op === 'add') parent[Array.isArray(parent) ? parent.length : edit.name] = 1;
          else if (Array.isArray(parent)) parent.splice(key as number, 1);
          else delete parent[key];
          parseOrRefuse(JSON.stringify(d));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('a valid document with random bytes overwritten', () => {
    const text = new TextEncoder().encode(stringifyReferenceState(capture()));
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat({ max: text.length - 1 }), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 4,
        }),
        (edits) => {
          const b = text.slice();
          for (const [at, value] of edits) b[at] = value;
          parseOrRefuse(b);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
