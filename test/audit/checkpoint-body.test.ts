// SPDX-License-Identifier: Apache-2.0
// The checkpoint body (agent/audit/checkpoint.ts), without a TPM: the exact text, strict parsing of each
// line (one spelling per checkpoint, so one SHA-256), the counter certificate's codec, the pure rollback
// checks, and fast-check properties: parse(format(x)) ≡ x for every valid x; for hostile text (arbitrary
// strings, mutations of valid bodies, long inputs) parseCheckpointBody returns a value whose format is the
// input, or throws CheckpointError E_AUDIT_CHECKPOINT, never anything else; length is refused first.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type CheckpointBody,
  CheckpointError,
  checkCounters,
  checkTpmCounter,
  decodeCounterCertificate,
  encodeCounterCertificate,
  formatCheckpointBody,
  MAX_BODY_LENGTH,
  originOf,
  parseCheckpointBody,
} from '../../agent/audit/checkpoint.js';
import { encodeCbor } from '../../agent/encoding/cbor.js';

const ORIGIN = 'execgate/000b0123456789ab';
const ROOT = Uint8Array.from({ length: 32 }, (_, i) => i);
const ROOT64 = Buffer.from(ROOT).toString('base64');
const VALID = `${ORIGIN}\n1000\n${ROOT64}\nnv-counter 42\n`;
const U64_MAX = (1n << 64n) - 1n;

function codeOf(fn: () => unknown): string {
  try {
    fn();
    return 'no error';
  } catch (e) {
    if (!(e instanceof CheckpointError)) throw e;
    return e.code;
  }
}

describe('the body text', () => {
  it('is origin, size, base64 root, "nv-counter N", each line ending in a newline; parse gives the values back', () => {
    const b = { origin: ORIGIN, size: 1000, root: ROOT, counter: 42n };
    expect(formatCheckpointBody(b)).toBe(VALID);
    expect(ROOT64).toBe('AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=');
    expect(parseCheckpointBody(VALID)).toEqual(b);
    const empty = { origin: ORIGIN, size: 0, root: new Uint8Array(32), counter: 0n };
    expect(formatCheckpointBody(empty)).toBe(`${ORIGIN}\n0\n${'A'.repeat(43)}=\nnv-counter 0\n`);
    const max = { ...b, size: Number.MAX_SAFE_INTEGER, counter: U64_MAX };
    const text = formatCheckpointBody(max);
    expect(parseCheckpointBody(text)).toEqual(max);
    expect(text.length).toBeLessThanOrEqual(120);
  });

  it('origin: "execgate/" and the first 16 hex digits of the AK Name', () => {
    const name = Uint8Array.from(Buffer.from(`000b${'ab'.repeat(32)}`, 'hex'));
    expect(originOf(name)).toBe('execgate/000babababababab');
    expect(codeOf(() => originOf(new Uint8Array(7)))).toBe('E_AUDIT_CHECKPOINT');
  });

  const refused: [string, string][] = [
    ['no final newline', VALID.slice(0, -1)],
    ['an empty line at the end', `${VALID}\n`],
    ['a second extension line', `${VALID}nv-counter 43\n`],
    ['no extension line', `${ORIGIN}\n1000\n${ROOT64}\n`],
    ['CRLF line ends', VALID.replaceAll('\n', '\r\n')],
    ['a tab', VALID.replace('nv-counter ', 'nv-counter\t')],
    ['two spaces', VALID.replace('nv-counter ', 'nv-counter  ')],
    ['a trailing space', VALID.replace('42\n', '42 \n')],
    ['another keyword', VALID.replace('nv-counter', 'counter')],
    ['a keyword in capitals', VALID.replace('nv-counter', 'NV-COUNTER')],
    ['a leading zero in the counter', VALID.replace('nv-counter 42', 'nv-counter 042')],
    ['a signed counter', VALID.replace('nv-counter 42', 'nv-counter +42')],
    ['a negative counter', VALID.replace('nv-counter 42', 'nv-counter -42')],
    ['a counter of 2^64', VALID.replace('nv-counter 42', `nv-counter ${U64_MAX + 1n}`)],
    ['a hex counter', VALID.replace('nv-counter 42', 'nv-counter 0x2a')],
    ['a leading zero in the size', VALID.replace('\n1000\n', '\n01000\n')],
    ['a size "00"', VALID.replace('\n1000\n', '\n00\n')],
    ['a size beyond 2^53', VALID.replace('\n1000\n', '\n9007199254740992\n')],
    ['a size with a space', VALID.replace('\n1000\n', '\n 1000\n')],
    ['an empty size', VALID.replace('\n1000\n', '\n\n')],
    ['a root of 31 bytes', VALID.replace(ROOT64, Buffer.from(ROOT.subarray(1)).toString('base64'))],
    ['a root of 33 bytes', VALID.replace(ROOT64, Buffer.from([...ROOT, 0]).toString('base64'))],
    ['a root without padding', VALID.replace(ROOT64, ROOT64.slice(0, -1))],
    ['a root in base64url', VALID.replace(ROOT64, `${'_-'.repeat(21)}A=`)],
    ['a root with non-zero padding bits', VALID.replace(ROOT64, `${ROOT64.slice(0, 42)}f=`)],
    ['a root in hex', VALID.replace(ROOT64, Buffer.from(ROOT).toString('hex'))],
    ['an origin in capitals', VALID.replace(ORIGIN, ORIGIN.toUpperCase())],
    ['an origin with capital hex', VALID.replace(ORIGIN, 'execgate/000B0123456789AB')],
    ['an origin of 15 digits', VALID.replace(ORIGIN, ORIGIN.slice(0, -1))],
    ['an origin of 17 digits', VALID.replace(ORIGIN, `${ORIGIN}c`)],
    ['another origin', VALID.replace(ORIGIN, 'example.com/log42')],
    ['lines swapped', `${ORIGIN}\n${ROOT64}\n1000\nnv-counter 42\n`],
    ['a BOM', `\ufeff${VALID}`],
    ['non-ASCII digits', VALID.replace('1000', '１０００')],
    ['a NUL', VALID.replace('42', '4\u00002')],
    ['the empty string', ''],
    ['a note signature after the body', `${VALID}\n— execgate/000b0123456789ab AAAA\n`],
    ['too long', `${VALID}${'x'.repeat(MAX_BODY_LENGTH)}`],
  ];
  for (const [what, text] of refused) {
    it(`refuses ${what}: E_AUDIT_CHECKPOINT`, () => {
      expect(codeOf(() => parseCheckpointBody(text))).toBe('E_AUDIT_CHECKPOINT');
    });
  }

  it('refuses what is not text, and formats only what a body can carry', () => {
    for (const v of [undefined, null, 42, new TextEncoder().encode(VALID), {}]) {
      expect(codeOf(() => parseCheckpointBody(v as unknown as string))).toBe('E_AUDIT_CHECKPOINT');
    }
    const b: CheckpointBody = { origin: ORIGIN, size: 1, root: ROOT, counter: 1n };
    const bad: Partial<CheckpointBody>[] = [
      { origin: 'execgate/xyz' },
      { origin: `${ORIGIN}\nnv-counter 1` },
      { size: -1 },
      { size: 1.5 },
      { size: Number.MAX_SAFE_INTEGER + 1 },
      { root: new Uint8Array(31) },
      { counter: -1n },
      { counter: U64_MAX + 1n },
      { counter: 1 as unknown as bigint },
    ];
    for (const change of bad)
      expect(codeOf(() => formatCheckpointBody({ ...b, ...change }))).toBe('E_AUDIT_CHECKPOINT');
  });

  it('a megabyte of text is refused by its length before it is scanned', () => {
    const e = (() => {
      try {
        parseCheckpointBody(VALID + '\n'.repeat(1 << 20));
      } catch (err) {
        return err;
      }
    })();
    expect(e).toBeInstanceOf(CheckpointError);
    expect((e as Error).message).toMatch(/exceeds 256/);
  });
});

describe('properties', () => {
  const arbBody = fc.record({
    origin: fc
      .uint8Array({ minLength: 8, maxLength: 8 })
      .map((b) => `execgate/${Buffer.from(b).toString('hex')}`),
    size: fc.oneof(fc.nat(), fc.constant(0), fc.maxSafeNat()),
    root: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    counter: fc.bigInt({ min: 0n, max: U64_MAX }),
  });

  /** The parser's contract: a value that formats back to the input, or E_AUDIT_CHECKPOINT. */
  function holds(text: string): boolean {
    let parsed: CheckpointBody;
    try {
      parsed = parseCheckpointBody(text);
    } catch (e) {
      return e instanceof CheckpointError && e.code === 'E_AUDIT_CHECKPOINT';
    }
    return formatCheckpointBody(parsed) === text;
  }

  it('parse(format(x)) ≡ x, and the text is the only spelling', () => {
    fc.assert(
      fc.property(arbBody, (b) => {
        const text = formatCheckpointBody(b);
        const back = parseCheckpointBody(text);
        expect(back).toEqual({ ...b, root: Uint8Array.from(b.root) });
        expect(formatCheckpointBody(back)).toBe(text);
      }),
      { numRuns: 500 },
    );
  });

  it('arbitrary strings: a value or E_AUDIT_CHECKPOINT, nothing else', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 400 }), holds), { numRuns: 2000 });
    fc.assert(fc.property(fc.string({ unit: 'grapheme-ascii', maxLength: 300 }), holds), { numRuns: 2000 });
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('execgate/', '0', '9', 'a', 'A', '=', '+', '/', '\n', ' ', 'nv-counter '), {
          maxLength: 60,
        }),
        (parts) => holds(parts.join('')),
      ),
      { numRuns: 2000 },
    );
  });

  it('mutations of valid bodies (insert, delete, replace a character; splice lines): a value or E_AUDIT_CHECKPOINT', () => {
    const mutation = fc.record({
      at: fc.nat(),
      kind: fc.constantFrom('insert', 'delete', 'replace', 'swap-lines', 'duplicate-line'),
      ch: fc.string({ unit: 'binary', minLength: 1, maxLength: 2 }),
    });
    fc.assert(
      fc.property(arbBody, fc.array(mutation, { minLength: 1, maxLength: 4 }), (b, muts) => {
        let text = formatCheckpointBody(b);
        for (const m of muts) {
          const i = text.length ? m.at % text.length : 0;
          const lines = text.split('\n');
          const j = lines.length ? m.at % lines.length : 0;
          if (m.kind === 'insert') text = text.slice(0, i) + m.ch + text.slice(i);
          else if (m.kind === 'delete') text = text.slice(0, i) + text.slice(i + 1);
          else if (m.kind === 'replace') text = text.slice(0, i) + m.ch + text.slice(i + 1);
          else if (m.kind === 'swap-lines') {
            const k = (j + 1) % lines.length;
            [lines[j], lines[k]] = [lines[k] ?? '', lines[j] ?? ''];
            text = lines.join('\n');
          } else {
            lines.splice(j, 0, lines[j] ?? '');
            text = lines.join('\n');
          }
        }
        return holds(text);
      }),
      { numRuns: 3000 },
    );
  });

  it('long inputs are refused whole (length first): never a value, always E_AUDIT_CHECKPOINT', () => {
    fc.assert(
      fc.property(arbBody, fc.integer({ min: 1, max: 100_000 }), fc.string({ maxLength: 4 }), (b, n, pad) => {
        const text = formatCheckpointBody(b) + (pad || 'x').repeat(n);
        if (text.length <= MAX_BODY_LENGTH) return holds(text);
        return codeOf(() => parseCheckpointBody(text)) === 'E_AUDIT_CHECKPOINT';
      }),
      { numRuns: 300 },
    );
  });
});

describe('the counter certificate codec', () => {
  const cert = { index: 0x01500190, attest: Uint8Array.of(1, 2, 3), signature: Uint8Array.of(4, 5) };

  it('round-trips as deterministic CBOR', () => {
    const b = encodeCounterCertificate(cert);
    expect(decodeCounterCertificate(b)).toEqual(cert);
  });

  it('refuses anything else with E_AUDIT_CHECKPOINT', () => {
    const m = (entries: [string, unknown][]) => encodeCbor(new Map(entries) as never);
    const bad = [
      new Uint8Array(0),
      Uint8Array.of(0xff),
      m([['v', 1]]),
      m([
        ['v', 2],
        ['index', cert.index],
        ['attest', cert.attest],
        ['signature', cert.signature],
      ]),
      m([
        ['v', 1],
        ['index', 0x81010002],
        ['attest', cert.attest],
        ['signature', cert.signature],
      ]),
      m([
        ['v', 1],
        ['index', cert.index],
        ['attest', cert.attest],
        ['signature', cert.signature],
        ['extra', 1],
      ]),
      Uint8Array.from([...encodeCounterCertificate(cert), 0]),
      new Uint8Array(5000),
    ];
    for (const b of bad) expect(codeOf(() => decodeCounterCertificate(b))).toBe('E_AUDIT_CHECKPOINT');
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        const c = codeOf(() => decodeCounterCertificate(b));
        return c === 'E_AUDIT_CHECKPOINT' || c === 'no error';
      }),
      { numRuns: 1000 },
    );
  });
});

describe('rollback checks (pure)', () => {
  it('checkCounters: strictly increasing passes; equal or lower is E_AUDIT_ROLLBACK; fewer than two always passes', () => {
    const c = (counter: bigint, size?: number) => (size === undefined ? { counter } : { counter, size });
    expect(() => checkCounters([])).not.toThrow();
    expect(() => checkCounters([c(5n)])).not.toThrow();
    expect(() => checkCounters([c(5n), c(6n), c(100n)])).not.toThrow();
    expect(codeOf(() => checkCounters([c(5n), c(5n)]))).toBe('E_AUDIT_ROLLBACK');
    expect(codeOf(() => checkCounters([c(5n, 10), c(7n, 20), c(6n, 30)]))).toBe('E_AUDIT_ROLLBACK');
  });

  it('checkTpmCounter: equal or one behind is consistent; ahead is E_AUDIT_ROLLBACK; further behind E_AUDIT_CHECKPOINT', () => {
    expect(() => checkTpmCounter({ counter: 10n }, 10n)).not.toThrow();
    expect(() => checkTpmCounter({ counter: 10n }, 9n)).not.toThrow();
    expect(codeOf(() => checkTpmCounter({ counter: 10n }, 11n))).toBe('E_AUDIT_ROLLBACK');
    expect(codeOf(() => checkTpmCounter({ counter: 10n }, 8n))).toBe('E_AUDIT_CHECKPOINT');
  });
});
