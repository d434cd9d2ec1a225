// SPDX-License-Identifier: Apache-2.0
// Making quotes on swtpm (RSA and ECC AKs, single and multi-bank), the re-check against pcrDigest with
// retry when a PCR changes between the quote and the read, and the CBOR evidence bundle.
import { randomBytes } from 'node:crypto';
import { Encoder } from 'cbor-x';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decodeBundle,
  encodeBundle,
  MAX_BUNDLE_BYTES,
  makeQuote,
  QuoteError,
  type QuoteEvidence,
  withAk,
} from '../../agent/attest/quote.js';
import { verifyQuote } from '../../agent/attest/verify-quote.js';
import { initVerification } from '../../agent/crypto/verify.js';
import type { AnyCommand, CommandInput, CommandOutput } from '../../agent/tpm/command.js';
import { PCR_Extend, Quote } from '../../agent/tpm/commands.js';
import { TPM_ALG } from '../../agent/tpm/constants.js';
import { readPcrs } from '../../agent/tpm/pcr.js';
import { parseSelection } from '../../agent/tpm/pcr-selection.js';
import { unmarshal } from '../../agent/tpm/schema.js';
import { TPMS_ATTEST, TPMT_PUBLIC } from '../../agent/tpm/structures.js';
import { type RunOptions, Tpm } from '../../agent/tpm/tpm.js';
import { openTransport } from '../../agent/tpm/transport/index.js';
import { useSwtpm } from '../helpers/swtpm.js';
import { transientHandles } from '../tpm/swtpm-kit.js';

const swtpm = useSwtpm();

/** A Tpm that extends sha256 PCR16 right after each of the first `races` Quote commands. */
class RacingTpm extends Tpm {
  quotes = 0;
  constructor(
    tcti: string,
    private races: number,
  ) {
    super(openTransport(tcti));
  }
  override async run<C extends AnyCommand>(
    cmd: C,
    input: CommandInput<C>,
    opts?: RunOptions,
  ): Promise<CommandOutput<C>> {
    const out = await super.run(cmd, input, opts);
    if (cmd === (Quote as AnyCommand)) {
      this.quotes++;
      if (this.races-- > 0) {
        await super.run(PCR_Extend, {
          pcrHandle: 16,
          digests: [{ hashAlg: TPM_ALG.SHA256, digest: new Uint8Array(randomBytes(32)) }],
        });
      }
    }
    return out;
  }
}

let tpm: Tpm;
beforeAll(async () => {
  await initVerification();
  tpm = new Tpm(openTransport(swtpm().tcti));
});
afterAll(async () => {
  await tpm.close();
});

function check(ev: QuoteEvidence) {
  return verifyQuote({
    attest: ev.attest,
    signature: ev.signature,
    akPublicKey: ev.akSpki,
    nonce: ev.nonce,
    selection: ev.selection,
    pcrValues: ev.pcrValues,
  });
}

describe('makeQuote', () => {
  for (const alg of ['rsa', 'ecc'] as const) {
    for (const sel of ['sha256:0-7,16', 'sha1:0,23+sha256:0-7,16+sha384:16']) {
      it(`${alg} AK, ${sel}: values equal PCR_Read, evidence verifies, AK flushed`, async () => {
        const nonce = new Uint8Array(randomBytes(16));
        const selection = parseSelection(sel);
        const ev = await withAk(tpm, { kind: 'primary', alg }, (ak) =>
          makeQuote(tpm, ak, { selection, nonce }),
        );
        expect(await transientHandles(tpm)).toEqual([]);
        const read = await readPcrs(tpm, selection);
        expect(ev.pcrValues).toEqual(selection.flatMap((b) => b.pcrs.map((p) => read.get(b.hash)?.get(p))));
        const attest = unmarshal(TPMS_ATTEST, ev.attest);
        expect(Buffer.from(attest.extraData)).toEqual(Buffer.from(nonce));
        const pub = unmarshal(TPMT_PUBLIC, ev.akPublic);
        expect(pub.type).toBe(alg === 'rsa' ? TPM_ALG.RSA : TPM_ALG.ECC);
        expect(pub.objectAttributes.restricted).toBe(true);
        expect(check(ev)).toMatchObject({ ok: true });
      });
    }
  }

  it('retries when a PCR changes between TPM2_Quote and TPM2_PCR_Read, and returns the quoted values', async () => {
    const racing = new RacingTpm(swtpm().tcti, 2);
    try {
      const selection = parseSelection('sha256:16');
      const ev = await withAk(racing, { kind: 'primary', alg: 'ecc' }, (ak) =>
        makeQuote(racing, ak, { selection, nonce: Uint8Array.of(1, 2, 3) }),
      );
      expect(racing.quotes).toBe(3);
      expect(check(ev)).toMatchObject({ ok: true });
      expect(await transientHandles(racing)).toEqual([]);
    } finally {
      await racing.close();
    }
  });

  it('gives up with E_QUOTE_PCR_CHANGED when PCRs keep changing', async () => {
    const racing = new RacingTpm(swtpm().tcti, 10);
    try {
      const err = await withAk(racing, { kind: 'primary', alg: 'ecc' }, (ak) =>
        makeQuote(racing, ak, {
          selection: parseSelection('sha256:16'),
          nonce: Uint8Array.of(1),
          attempts: 3,
        }),
      ).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(QuoteError);
      expect((err as QuoteError).code).toBe('E_QUOTE_PCR_CHANGED');
      expect(racing.quotes).toBe(3);
      expect(await transientHandles(racing)).toEqual([]);
    } finally {
      await racing.close();
    }
  });
});

describe('evidence bundle (CBOR)', () => {
  let ev: QuoteEvidence;
  beforeAll(async () => {
    await initVerification();
    ev = await withAk(tpm, { kind: 'primary', alg: 'ecc' }, (ak) =>
      makeQuote(tpm, ak, {
        selection: parseSelection('sha1:0+sha256:0-7'),
        nonce: Uint8Array.of(9, 0, 0, 9),
      }),
    );
  });

  it('round trips and still verifies', () => {
    const back = decodeBundle(encodeBundle(ev));
    expect(back).toEqual({ ...ev, selection: parseSelection('sha1:0+sha256:0-7') });
    expect(check(back)).toMatchObject({ ok: true });
  });

  function parseError(bytes: Uint8Array): string | undefined {
    try {
      decodeBundle(bytes);
      return undefined;
    } catch (e) {
      if (!(e instanceof QuoteError)) throw e;
      return e.code;
    }
  }

  it('rejects malformed bundles with E_QUOTE_PARSE: wrong types, sizes, unknown fields, version, too large', () => {
    const enc = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false });
    const good = decodeBundle(encodeBundle(ev));
    const doc = { v: 1, ...good, selection: 'sha1:0+sha256:0-7', pcrValues: [...good.pcrValues] };
    const cases: Record<string, unknown>[] = [
      { ...doc, v: 2 },
      { ...doc, extra: 1 },
      { ...doc, attest: 'text' },
      { ...doc, nonce: new Uint8Array(65) },
      { ...doc, selection: 'sha256:99' },
      { ...doc, pcrValues: good.pcrValues.slice(1) },
      { ...doc, pcrValues: [...good.pcrValues.slice(1), 5] },
    ];
    for (const c of cases) expect(parseError(enc.encode(c))).toBe('E_QUOTE_PARSE');
    expect(parseError(enc.encode([1, 2]))).toBe('E_QUOTE_PARSE');
    expect(parseError(new Uint8Array(MAX_BUNDLE_BYTES + 1))).toBe('E_QUOTE_PARSE');
  });

  it('fuzz: arbitrary bytes and mutated bundles decode or give E_QUOTE_PARSE, never another exception', () => {
    const bundle = encodeBundle(ev);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), (b) => {
        const code = parseError(b);
        expect(code === undefined || code === 'E_QUOTE_PARSE').toBe(true);
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.nat(bundle.length - 1), fc.integer({ min: 1, max: 255 }), (i, x) => {
        const m = Uint8Array.from(bundle);
        m[i] = (m[i] ?? 0) ^ x;
        const code = parseError(m);
        if (code === undefined) {
          // It decoded: verification gives a verdict, never a throw, and passes only for unchanged evidence.
          const back = decodeBundle(m);
          const v = check(back);
          // akPublic is information only (the verifier uses its own key): not part of the verdict.
          const verified = (e: QuoteEvidence) =>
            JSON.stringify({ ...e, akPublic: null }, (_k, x) =>
              x instanceof Uint8Array ? Buffer.from(x).toString('hex') : x,
            );
          const same = verified(back) === verified(ev);
          expect(v.ok).toBe(same);
        } else expect(code).toBe('E_QUOTE_PARSE');
      }),
      { numRuns: 500 },
    );
  });
});
