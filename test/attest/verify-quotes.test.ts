// SPDX-License-Identifier: Apache-2.0
// verifyQuotes (one verifySignatures call for the batch) gives per-quote verifyQuote's verdicts on a mix
// of good and defective real swtpm quotes; and the qualifiedSigner check (E_QUOTE_SIGNER) on a quote by
// an AK created under the EK, whose qualified Name the verifier computes with qualifiedNameUnder.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAk, loadAk, qualifiedNameUnder } from '../../agent/attest/ak.js';
import { withEk } from '../../agent/attest/ek.js';
import { makeQuote, withAk } from '../../agent/attest/quote.js';
import { type VerifyQuoteInput, verifyQuote, verifyQuotes } from '../../agent/attest/verify-quote.js';
import { initVerification } from '../../agent/crypto/verify.js';
import { ReadPublic } from '../../agent/tpm/commands.js';
import { parseSelection } from '../../agent/tpm/pcr-selection.js';
import type { Tpm } from '../../agent/tpm/tpm.js';
import { useSwtpm } from '../helpers/swtpm.js';
import { openTpm, transientHandles, unhex } from '../tpm/swtpm-kit.js';

const swtpm = useSwtpm({ ek: true });
let tpm: Tpm;
beforeAll(async () => {
  await initVerification();
  tpm = openTpm(swtpm());
});
afterAll(async () => {
  await tpm.close();
});

const nonce = unhex('00112233445566778899aabbccddeeff');
const selection = parseSelection('sha256:0-7,16');

function flip(b: Uint8Array, i: number): Uint8Array {
  const m = Uint8Array.from(b);
  m[i] = (m[i] ?? 0) ^ 1;
  return m;
}

describe('verifyQuotes', () => {
  it('gives the verdicts of per-quote verifyQuote on good and defective RSA and ECC quotes', async () => {
    const inputs: VerifyQuoteInput[] = [];
    for (const alg of ['rsa', 'ecc'] as const) {
      await withAk(tpm, { kind: 'primary', alg }, async (ak) => {
        // 14 quotes per AK: for the ECC AK a same-key group large enough for wasm-core's comb-table path.
        for (let i = 0; i < 14; i++) {
          const ev = await makeQuote(tpm, ak, { selection, nonce });
          const good: VerifyQuoteInput = {
            attest: ev.attest,
            signature: ev.signature,
            akPublicKey: ev.akSpki,
            nonce,
            selection,
            pcrValues: ev.pcrValues,
          };
          const defects: VerifyQuoteInput[] = [
            good,
            { ...good, attest: flip(ev.attest, 10) },
            { ...good, signature: flip(ev.signature, ev.signature.length - 1) },
            { ...good, nonce: flip(nonce, 0) },
            { ...good, pcrValues: ev.pcrValues.map((v, k) => (k === 3 ? flip(v, 0) : v)) },
            { ...good, selection: parseSelection('sha256:0-7') },
            { ...good, signature: ev.signature.subarray(0, 3) },
            { ...good, akPublicKey: ev.akSpki.subarray(1) },
          ];
          inputs.push(...(i % 3 === 0 ? defects : [good, defects[i % defects.length] ?? good]));
        }
      });
    }
    expect(await transientHandles(tpm)).toEqual([]);
    const single = inputs.map(verifyQuote);
    const batch = verifyQuotes(inputs);
    expect(batch.map((v) => [v.ok, v.code, v.detail])).toEqual(single.map((v) => [v.ok, v.code, v.detail]));
    const codes = new Set(single.map((v) => v.code ?? 'ok'));
    for (const c of [
      'ok',
      'E_QUOTE_SIGNATURE',
      'E_QUOTE_NONCE',
      'E_QUOTE_PCR_DIGEST',
      'E_QUOTE_SELECTION',
      'E_QUOTE_PARSE',
    ]) {
      expect(codes).toContain(c);
    }
    expect(verifyQuotes([])).toEqual([]);
  });
});

describe('qualifiedSigner (E_QUOTE_SIGNER)', () => {
  it.each(['rsa', 'ecc'] as const)(
    '%s AK under the EK: its computed qualified Name passes, another one fails',
    async (alg) => {
      await withEk(tpm, 'rsa2048', async (ek) => {
        const pair = await createAk(tpm, ek, alg);
        const handle = await loadAk(tpm, ek, pair);
        try {
          const ev = await makeQuote(tpm, { handle, public: pair.public }, { selection, nonce });
          const qn = qualifiedNameUnder(ek, pair.public);
          expect(Buffer.from((await tpm.run(ReadPublic, { objectHandle: handle })).qualifiedName)).toEqual(
            Buffer.from(qn),
          );
          const base: VerifyQuoteInput = {
            attest: ev.attest,
            signature: ev.signature,
            akPublicKey: ev.akSpki,
            nonce,
            selection,
            pcrValues: ev.pcrValues,
          };
          expect(verifyQuote(base)).toMatchObject({ ok: true });
          const good = verifyQuote({ ...base, akQualifiedName: qn });
          expect(good).toMatchObject({ ok: true });
          expect(Buffer.from(good.attest?.qualifiedSigner ?? [])).toEqual(Buffer.from(qn));
          // Any other qualified Name (another parent, another AK) fails.
          const wrong = verifyQuote({ ...base, akQualifiedName: flip(qn, qn.length - 1) });
          expect(wrong.code).toBe('E_QUOTE_SIGNER');
          expect(verifyQuote({ ...base, akQualifiedName: new Uint8Array(0) }).code).toBe('E_QUOTE_SIGNER');
          expect(
            verifyQuotes([
              { ...base, akQualifiedName: qn },
              { ...base, akQualifiedName: flip(qn, 2) },
            ]).map((v) => v.code),
          ).toEqual([undefined, 'E_QUOTE_SIGNER']);
        } finally {
          await tpm.flush(handle);
        }
      });
      expect(await transientHandles(tpm)).toEqual([]);
    },
  );
});
