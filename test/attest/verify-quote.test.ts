// SPDX-License-Identifier: Apache-2.0
// Quote verification: the real third-party quotes in test/vectors/tpm verify (SHA-1 ones included);
// every reason code comes from a real swtpm quote with exactly one defect; hostile bytes give a code,
// never an exception (fast-check).
import { constants, createHash, generateKeyPairSync, sign as nodeSign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LoadedAk, makeQuote, pemToSpki, spkiOfPublic, withAk } from '../../agent/attest/quote.js';
import { parsePcrs } from '../../agent/attest/tpm2-tools-format.js';
import { QUOTE_CODES, verifyQuote, verifyQuotes } from '../../agent/attest/verify-quote.js';
import { initVerification } from '../../agent/crypto/verify.js';
import { Certify, Sign } from '../../agent/tpm/commands.js';
import { TPM_ALG, TPM_GENERATED_VALUE, TPM_RH, TPM_ST } from '../../agent/tpm/constants.js';
import { objectName } from '../../agent/tpm/names.js';
import { parseSelection, toTpml } from '../../agent/tpm/pcr-selection.js';
import { marshal, unmarshal } from '../../agent/tpm/schema.js';
import { nullHashcheck, TPMS_ATTEST, TPMT_PUBLIC, TPMT_SIGNATURE } from '../../agent/tpm/structures.js';
import { akRsa2048Template, signingRsa2048Template } from '../../agent/tpm/templates.js';
import type { Tpm } from '../../agent/tpm/tpm.js';
import { useSwtpm } from '../helpers/swtpm.js';
import { legacySha1AkTemplate, openTpm, transientHandles, unhex, withPrimary } from '../tpm/swtpm-kit.js';

const V = 'test/vectors/tpm';
const b64 = (s: string) => Uint8Array.from(Buffer.from(s, 'base64'));
const json = (p: string) => JSON.parse(readFileSync(`${V}/${p}`, 'utf8'));
const file = (p: string) => new Uint8Array(readFileSync(`${V}/${p}`));

beforeAll(async () => {
  await initVerification();
});

describe('real quotes from test/vectors/tpm', () => {
  it('keylime (tpm2-tools files, SHA-256 PCRs 15,16,22, 20-byte nonce) verifies', () => {
    const expected = json('expected.json')['keylime/'];
    const pcrs = parsePcrs(file('keylime/quotepcr.out'));
    const v = verifyQuote({
      attest: file('keylime/quote.out'),
      signature: file('keylime/quotesig.out'),
      akPublicKey: pemToSpki(readFileSync(`${V}/keylime/akpub.pem`, 'utf8')),
      nonce: unhex(expected.attest.extraData),
      selection: parseSelection('sha256:15,16,22'),
      pcrValues: pcrs.values,
    });
    expect(v).toMatchObject({ ok: true });
    expect(v.attest?.clockInfo).toEqual({ clock: 5994n, resetCount: 0, restartCount: 0, safe: 1 });
    // ak.pub (TPM2B_PUBLIC) gives the same SPKI as akpub.pem.
    const pub = unmarshal(TPMT_PUBLIC, file('keylime/ak.pub').subarray(2));
    expect(Buffer.from(spkiOfPublic(pub))).toEqual(
      Buffer.from(pemToSpki(readFileSync(`${V}/keylime/akpub.pem`, 'utf8'))),
    );
    // …and its Name is the one tpm2-tools wrote to ak.name.
    expect(Buffer.from(objectName(pub))).toEqual(Buffer.from(file('keylime/ak.name')));
  });

  it('go-attestation Windows GCE quote (SHA-1 bank, RSASSA-SHA1, empty nonce): refused by default, verifies for a legacy AK', () => {
    const doc = json('go-attestation/windows_gcp_shielded_vm.json');
    const pub = unmarshal(TPMT_PUBLIC, b64(doc.AK.Public));
    const values = [...doc.Log.PCRs]
      .sort((a: { Index: number }, b: { Index: number }) => a.Index - b.Index)
      .map((p: { Digest: string }) => b64(p.Digest));
    const input = {
      attest: b64(doc.Quote.Quote),
      signature: b64(doc.Quote.Signature),
      akPublicKey: spkiOfPublic(pub),
      nonce: new Uint8Array(0),
      selection: parseSelection('sha1:0-23'),
      pcrValues: values,
    };
    expect(verifyQuote(input)).toMatchObject({ ok: false, code: 'E_QUOTE_SIGNATURE_ALG' });
    const legacy = { ...input, allowSha1Signatures: true };
    expect(verifyQuote(legacy)).toMatchObject({ ok: true });
    expect(verifyQuote({ ...legacy, nonce: Uint8Array.of(0) })).toMatchObject({ code: 'E_QUOTE_NONCE' });
  });

  for (const name of ['gce-cos-85-no-nonce', 'gce-cos-85-nonce9009']) {
    it(`go-tpm-tools ${name}: SHA-1, SHA-256 and SHA-384 bank quotes verify (from the .json decoding; .pb not parsed)`, () => {
      const doc = json(`go-tpm-tools/${name}.json`);
      const spki = spkiOfPublic(unmarshal(TPMT_PUBLIC, unhex(doc.ak_pub_tpmt_public_hex)));
      expect(doc.quotes).toHaveLength(3);
      for (const q of doc.quotes) {
        const idx = Object.keys(q.pcrs)
          .map(Number)
          .sort((a, b) => a - b);
        const v = verifyQuote({
          attest: unhex(q.quote_tpms_attest_hex),
          signature: unhex(q.raw_sig_tpmt_signature_hex),
          akPublicKey: spki,
          nonce: unhex(doc.nonce_hex),
          selection: parseSelection(`${q.hash.toLowerCase()}:${idx.join(',')}`),
          pcrValues: idx.map((i) => unhex(q.pcrs[String(i)])),
        });
        expect(v, `${name} ${q.hash}`).toMatchObject({ ok: true });
        expect(v.attest?.clockInfo.resetCount).toBe(q.expected.resetCount);
      }
    });
  }

  it('rust-keylime quote string parses (its AK is unpublished: a foreign key gives E_QUOTE_SIGNATURE)', () => {
    const text = readFileSync(`${V}/rust-keylime/test-quote.txt`, 'utf8').trim();
    const [a, s, p] = text.slice(1).split(':');
    const attest = b64(a ?? '');
    const parsed = unmarshal(TPMS_ATTEST, attest);
    expect(Buffer.from(parsed.extraData).toString()).toBe('TEST');
    const pcrs = parsePcrs(b64(p ?? ''));
    expect(pcrs.selection).toEqual(parseSelection('sha1:16'));
    const sha1 = createHash('sha1')
      .update(pcrs.values[0] ?? new Uint8Array(0))
      .digest('hex');
    expect(sha1).toBe(json('expected.json')['rust-keylime/test-quote.txt'].attest.pcrDigest);
    const doc = json('go-attestation/windows_gcp_shielded_vm.json');
    const v = verifyQuote({
      attest,
      signature: b64(s ?? ''),
      akPublicKey: spkiOfPublic(unmarshal(TPMT_PUBLIC, b64(doc.AK.Public))),
      nonce: Buffer.from('TEST'),
      selection: pcrs.selection,
      pcrValues: pcrs.values,
    });
    expect(v.code).toBe('E_QUOTE_SIGNATURE');
  });
});

describe('hostile bytes behind a valid signature', () => {
  it('fuzz: signed arbitrary TPMS_ATTEST tails (magic and type intact or not) give a reason code, never a throw', () => {
    // A key the verifier (wrongly) trusts signs attacker bytes: every check after the signature must
    // still hold up against arbitrary input.
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const spki = new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));
    const signed = (message: Uint8Array) => {
      const rs = nodeSign('sha256', message, { key: privateKey, dsaEncoding: 'ieee-p1363' });
      return marshal(TPMT_SIGNATURE, {
        sigAlg: TPM_ALG.ECDSA,
        signature: { hash: TPM_ALG.SHA256, signatureR: rs.subarray(0, 32), signatureS: rs.subarray(32) },
      });
    };
    const prefixes = [new Uint8Array(0), unhex('ff544347'), unhex('ff5443478018')];
    fc.assert(
      fc.property(fc.constantFrom(...prefixes), fc.uint8Array({ maxLength: 200 }), (prefix, tail) => {
        const attest = new Uint8Array([...prefix, ...tail]);
        const v = verifyQuote({
          attest,
          signature: signed(attest),
          akPublicKey: spki,
          nonce: new Uint8Array(0),
          selection: parseSelection('sha256:0'),
          pcrValues: [new Uint8Array(32)],
        });
        expect(v.ok).toBe(false);
        expect(QUOTE_CODES).toContain(v.code);
        expect(v.code).not.toBe('E_QUOTE_SIGNATURE');
      }),
      { numRuns: 300 },
    );
  });
});

describe('SHA-1 signature schemes (legacy AKs): refused unless allowed', () => {
  // Software AKs sign TPMS_ATTEST quotes built here, as a TPM would (pcrDigest made with the scheme's
  // hash); the swtpm case below has a real TPM sign one.
  const nonce = unhex('0badc0de');
  const selection = parseSelection('sha256:0-7');
  const pcrValues = Array.from({ length: 8 }, (_, i) => new Uint8Array(32).fill(i));
  const attestBytes = (hash: 'sha1' | 'sha256'): Uint8Array =>
    marshal(TPMS_ATTEST, {
      magic: TPM_GENERATED_VALUE,
      type: TPM_ST.ATTEST_QUOTE,
      qualifiedSigner: new Uint8Array(0),
      extraData: nonce,
      clockInfo: { clock: 1n, resetCount: 0, restartCount: 0, safe: 1 },
      firmwareVersion: 0n,
      attested: {
        pcrSelect: toTpml(selection),
        pcrDigest: new Uint8Array(createHash(hash).update(Buffer.concat(pcrValues)).digest()),
      },
    });
  const tpmHash = (hash: 'sha1' | 'sha256') => (hash === 'sha1' ? TPM_ALG.SHA1 : TPM_ALG.SHA256);
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const schemes = [
    {
      name: 'RSASSA',
      publicKey: rsa.publicKey,
      sign: (hash: 'sha1' | 'sha256', m: Uint8Array) =>
        marshal(TPMT_SIGNATURE, {
          sigAlg: TPM_ALG.RSASSA,
          signature: { hash: tpmHash(hash), sig: nodeSign(hash, m, rsa.privateKey) },
        }),
    },
    {
      name: 'RSAPSS',
      publicKey: rsa.publicKey,
      sign: (hash: 'sha1' | 'sha256', m: Uint8Array) =>
        marshal(TPMT_SIGNATURE, {
          sigAlg: TPM_ALG.RSAPSS,
          signature: {
            hash: tpmHash(hash),
            sig: nodeSign(hash, m, {
              key: rsa.privateKey,
              padding: constants.RSA_PKCS1_PSS_PADDING,
              saltLength: hash === 'sha1' ? 20 : 32,
            }),
          },
        }),
    },
    {
      name: 'ECDSA',
      publicKey: ec.publicKey,
      sign: (hash: 'sha1' | 'sha256', m: Uint8Array) => {
        const rs = nodeSign(hash, m, { key: ec.privateKey, dsaEncoding: 'ieee-p1363' });
        return marshal(TPMT_SIGNATURE, {
          sigAlg: TPM_ALG.ECDSA,
          signature: { hash: tpmHash(hash), signatureR: rs.subarray(0, 32), signatureS: rs.subarray(32) },
        });
      },
    },
  ];

  for (const s of schemes) {
    it(`${s.name} with SHA-1: E_QUOTE_SIGNATURE_ALG by default, valid with allowSha1Signatures; SHA-256 valid by default`, () => {
      const akPublicKey = new Uint8Array(s.publicKey.export({ type: 'spki', format: 'der' }));
      const attest = attestBytes('sha1');
      const input = { attest, signature: s.sign('sha1', attest), akPublicKey, nonce, selection, pcrValues };
      expect(verifyQuote(input)).toMatchObject({ ok: false, code: 'E_QUOTE_SIGNATURE_ALG' });
      expect(verifyQuote({ ...input, allowSha1Signatures: false })).toMatchObject({
        code: 'E_QUOTE_SIGNATURE_ALG',
      });
      expect(verifyQuotes([input])).toMatchObject([{ ok: false, code: 'E_QUOTE_SIGNATURE_ALG' }]);
      expect(verifyQuote({ ...input, allowSha1Signatures: true })).toMatchObject({ ok: true });
      expect(verifyQuotes([{ ...input, allowSha1Signatures: true }])).toMatchObject([{ ok: true }]);
      // A SHA-1 signature that does not verify is still E_QUOTE_SIGNATURE: the signature is checked first.
      const forged = { ...input, attest: attestBytes('sha256') };
      expect(verifyQuote(forged)).toMatchObject({ ok: false, code: 'E_QUOTE_SIGNATURE' });
      // The same key with the SHA-256 scheme passes by default: only the hash is refused.
      const a256 = attestBytes('sha256');
      expect(verifyQuote({ ...input, attest: a256, signature: s.sign('sha256', a256) })).toMatchObject({
        ok: true,
      });
    });
  }
});

describe('one defect per reason code, from real swtpm quotes', () => {
  const swtpm = useSwtpm();
  let tpm: Tpm;
  beforeAll(() => {
    tpm = openTpm(swtpm());
  });
  afterAll(async () => {
    await tpm.close();
  });
  const nonce = unhex('00112233445566778899aabbccddeeff');
  const selection = parseSelection('sha256:0-7,16+sha1:0,23');

  async function withRsaAk<T>(fn: (ak: LoadedAk, spki: Uint8Array) => Promise<T>): Promise<T> {
    const out = await withAk(tpm, { kind: 'primary', alg: 'rsa' }, (ak) => fn(ak, spkiOfPublic(ak.public)));
    expect(await transientHandles(tpm)).toEqual([]);
    return out;
  }

  it('valid quote passes; wrong nonce, PCR value changed, selection narrowed, reset counter decreased fail', async () => {
    await withRsaAk(async (ak, spki) => {
      const ev = await makeQuote(tpm, ak, { selection, nonce });
      const base = {
        attest: ev.attest,
        signature: ev.signature,
        akPublicKey: spki,
        nonce,
        selection,
        pcrValues: ev.pcrValues,
      };
      const ok = verifyQuote(base);
      expect(ok).toMatchObject({ ok: true });
      const clock = ok.attest?.clockInfo;
      if (!clock) throw new Error('no clock info');
      expect(verifyQuote({ ...base, lastClock: clock })).toMatchObject({ ok: true });

      expect(verifyQuote({ ...base, nonce: unhex('00112233445566778899aabbccddeefe') }).code).toBe(
        'E_QUOTE_NONCE',
      );
      const changed = ev.pcrValues.map((v) => Uint8Array.from(v));
      const pcr16 = changed[8] ?? new Uint8Array(32); // sha256 PCR16
      pcr16[0] = (pcr16[0] ?? 0) ^ 1;
      expect(verifyQuote({ ...base, pcrValues: changed }).code).toBe('E_QUOTE_PCR_DIGEST');
      const narrowed = parseSelection('sha256:0-7+sha1:0,23');
      const narrowValues = [...ev.pcrValues.slice(0, 8), ...ev.pcrValues.slice(9)];
      expect(verifyQuote({ ...base, selection: narrowed, pcrValues: narrowValues }).code).toBe(
        'E_QUOTE_SELECTION',
      );
      expect(verifyQuote({ ...base, lastClock: { ...clock, resetCount: clock.resetCount + 1 } }).code).toBe(
        'E_QUOTE_CLOCK',
      );
      expect(
        verifyQuote({ ...base, lastClock: { ...clock, restartCount: clock.restartCount + 1 } }).code,
      ).toBe('E_QUOTE_CLOCK');
      expect(verifyQuote({ ...base, lastClock: { ...clock, clock: clock.clock + 1_000_000n } }).code).toBe(
        'E_QUOTE_CLOCK',
      );
    });
  });

  it('a quote by a legacy AK (RSASSA-SHA1) gives E_QUOTE_SIGNATURE_ALG, and verifies with allowSha1Signatures', async () => {
    await withPrimary(tpm, TPM_RH.ENDORSEMENT, legacySha1AkTemplate(), async (key) => {
      const ev = await makeQuote(
        tpm,
        { handle: key.objectHandle, public: key.outPublic },
        { selection, nonce },
      );
      expect(unmarshal(TPMT_SIGNATURE, ev.signature)).toMatchObject({
        sigAlg: TPM_ALG.RSASSA,
        signature: { hash: TPM_ALG.SHA1 },
      });
      const input = {
        attest: ev.attest,
        signature: ev.signature,
        akPublicKey: ev.akSpki,
        nonce,
        selection,
        pcrValues: ev.pcrValues,
      };
      expect(verifyQuote(input)).toMatchObject({ ok: false, code: 'E_QUOTE_SIGNATURE_ALG' });
      expect(verifyQuote({ ...input, allowSha1Signatures: true })).toMatchObject({ ok: true });
    });
    expect(await transientHandles(tpm)).toEqual([]);
  });

  it('a quote by another AK (owner-hierarchy RSA AK) fails with E_QUOTE_SIGNATURE', async () => {
    await withRsaAk(async (_ak, spki) => {
      await withPrimary(tpm, TPM_RH.OWNER, akRsa2048Template(), async (other) => {
        const ev = await makeQuote(
          tpm,
          { handle: other.objectHandle, public: other.outPublic },
          { selection, nonce },
        );
        const v = verifyQuote({
          attest: ev.attest,
          signature: ev.signature,
          akPublicKey: spki,
          nonce,
          selection,
          pcrValues: ev.pcrValues,
        });
        expect(v.code).toBe('E_QUOTE_SIGNATURE');
        // The same evidence verifies under its own key: only the key is wrong.
        expect(
          verifyQuote({
            attest: ev.attest,
            signature: ev.signature,
            akPublicKey: ev.akSpki,
            nonce,
            selection,
            pcrValues: ev.pcrValues,
          }).ok,
        ).toBe(true);
      });
    });
    expect(await transientHandles(tpm)).toEqual([]);
  });

  it('a TPM2_Sign output over forged TPMS_ATTEST bytes gives E_QUOTE_MAGIC / E_QUOTE_PARSE; a Certify gives E_QUOTE_TYPE', async () => {
    await withRsaAk(async (ak, spki) => {
      const ev = await makeQuote(tpm, ak, { selection, nonce });
      // TPM2_Sign by an unrestricted key over caller-chosen bytes (Part 3 §20.2).
      await withPrimary(tpm, TPM_RH.OWNER, signingRsa2048Template(), async (signer) => {
        const sign = async (message: Uint8Array) => {
          const rsp = await tpm.run(Sign, {
            keyHandle: signer.objectHandle,
            digest: createHash('sha256').update(message).digest(),
            inScheme: { scheme: TPM_ALG.RSASSA, details: { hashAlg: TPM_ALG.SHA256 } },
            validation: nullHashcheck(),
          });
          return marshal(TPMT_SIGNATURE, rsp.signature);
        };
        const signerSpki = spkiOfPublic(signer.outPublic);
        const forged = Uint8Array.from(ev.attest);
        forged[0] = 0x00; // not TPM_GENERATED
        const base = { akPublicKey: signerSpki, nonce, selection, pcrValues: ev.pcrValues };
        expect(verifyQuote({ ...base, attest: forged, signature: await sign(forged) }).code).toBe(
          'E_QUOTE_MAGIC',
        );
        const truncated = ev.attest.subarray(0, ev.attest.length - 3);
        expect(verifyQuote({ ...base, attest: truncated, signature: await sign(truncated) }).code).toBe(
          'E_QUOTE_PARSE',
        );
      });
      // TPM2_Certify by the AK: a real TPMS_ATTEST of type ATTEST_CERTIFY (Part 3 §18.2).
      const cert = await tpm.run(Certify, {
        objectHandle: ak.handle,
        signHandle: ak.handle,
        qualifyingData: nonce,
        inScheme: { scheme: TPM_ALG.NULL, details: null },
      });
      const v = verifyQuote({
        attest: cert.certifyInfo,
        signature: marshal(TPMT_SIGNATURE, cert.signature),
        akPublicKey: spki,
        nonce,
        selection,
        pcrValues: ev.pcrValues,
      });
      expect(v.code).toBe('E_QUOTE_TYPE');
    });
    expect(await transientHandles(tpm)).toEqual([]);
  });

  it('ECC AK quote verifies (r,s left-padded) and fuzzed attest/signature bytes give a reason code, never a throw', async () => {
    await withAk(tpm, { kind: 'primary', alg: 'ecc' }, async (ak) => {
      const ev = await makeQuote(tpm, ak, { selection, nonce });
      const base = {
        attest: ev.attest,
        signature: ev.signature,
        akPublicKey: ev.akSpki,
        nonce,
        selection,
        pcrValues: ev.pcrValues,
      };
      expect(verifyQuote(base)).toMatchObject({ ok: true });
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 300 }), (a, s) => {
          for (const v of [
            verifyQuote({ ...base, attest: a }),
            verifyQuote({ ...base, signature: s }),
            verifyQuote({ ...base, attest: a, signature: s }),
          ]) {
            expect(v.ok).toBe(false);
            expect(QUOTE_CODES).toContain(v.code);
          }
        }),
        { numRuns: 300 },
      );
      // One-byte mutations of the real quote: always rejected with a code.
      fc.assert(
        fc.property(fc.nat(ev.attest.length - 1), fc.integer({ min: 1, max: 255 }), (i, x) => {
          const m = Uint8Array.from(ev.attest);
          m[i] = (m[i] ?? 0) ^ x;
          const v = verifyQuote({ ...base, attest: m });
          expect(v.code).toBe('E_QUOTE_SIGNATURE');
        }),
        { numRuns: 200 },
      );
    });
    expect(await transientHandles(tpm)).toEqual([]);
  });
});
