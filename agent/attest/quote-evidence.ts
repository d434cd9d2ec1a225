// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/attest/quote-evidence
 *
 * Making quotes (TPM2_Quote, Part 3 §18.4) and the evidence bundle that carries one to a verifier.
 * Free of Node built-ins (node:crypto through agent/crypto/backend.ts), so that the audit log's
 * verification, which imports this module for its checkpoints, runs in the auditor page
 * (docs/auditor.md); ./quote.ts adds `withAk` (TPM sessions, node:crypto) and re-exports this.
 *
 * A quote signs only pcrDigest, so the PCR values travel beside it: `makeQuote` quotes, reads the
 * selected PCRs right after, and recomputes pcrDigest (with the signature's hash) from them; if a PCR
 * was extended in between, the two disagree and it quotes again (up to `attempts` times), so the values
 * handed out are always the quoted ones.
 *
 * The bundle is CBOR (cbor-x, RFC 8949) map with text keys:
 *   v: 1, attest: TPMS_ATTEST bytes, signature: TPMT_SIGNATURE bytes, selection: tpm2-tools text,
 *   pcrValues: [bytes…] (bank by bank in selection order, PCRs ascending), nonce: bytes,
 *   akPublic: TPMT_PUBLIC bytes, akSpki: DER SubjectPublicKeyInfo.
 * Decoding is size-limited, takes definite lengths only (no tag, no duplicate key), and checks every
 * field's type and size (E_QUOTE_PARSE); the AK key inside a
 * bundle is information, not trust: verifiers use their own copy of the AK.
 */
import { Decoder, Encoder } from 'cbor-x';
import { native } from '../crypto/backend.js';
import { equalBytes, fromBase64, fromHex, latin1, toBase64, u8 } from '../encoding/bytes.js';
import { decodeCbor } from '../encoding/cbor.js';
import { ExecgateError } from '../errors.js';
import { Quote } from '../tpm/commands.js';
import { TPM_ALG, TPM_ECC_CURVE, TPM_ST } from '../tpm/constants.js';
import { readPcrs } from '../tpm/pcr.js';
import {
  formatSelection,
  type PcrSelection,
  parseSelection,
  selectionSize,
  toTpml,
} from '../tpm/pcr-selection.js';
import { marshal, unmarshal } from '../tpm/schema.js';
import { TPMS_ATTEST, TPMT_PUBLIC, TPMT_SIGNATURE } from '../tpm/structures.js';
import type { Tpm } from '../tpm/tpm.js';
import { pcrDigestOf, signatureHash } from './verify-quote.js';

export type QuoteErrorCode = 'E_QUOTE_PARSE' | 'E_QUOTE_PCR_CHANGED' | 'E_QUOTE_AK';

export class QuoteError extends ExecgateError<QuoteErrorCode> {}

/** Largest nonce a TPM2B_DATA holds in a quote (sizeof(TPMT_HA) of SHA-512). */
export const MAX_NONCE = 64;
/** Largest bundle accepted for decoding. */
export const MAX_BUNDLE_BYTES = 64 * 1024;

export interface QuoteEvidence {
  readonly attest: Uint8Array;
  readonly signature: Uint8Array;
  readonly selection: PcrSelection;
  readonly pcrValues: readonly Uint8Array[];
  readonly nonce: Uint8Array;
  /** Marshalled TPMT_PUBLIC of the AK. */
  readonly akPublic: Uint8Array;
  /** DER SubjectPublicKeyInfo of the AK. */
  readonly akSpki: Uint8Array;
}

// ── AK public key formats ───────────────────────────────────────────────────────────────────────────

/**
 * The DER SubjectPublicKeyInfo of an RSA or ECC P-256/P-384 TPMT_PUBLIC (Part 2 §12.2.4), by node:crypto
 * (which also checks the key); E_QUOTE_AK where there is none (a browser: the auditor page takes the
 * AK as a PEM).
 */
export function spkiOfPublic(pub: TPMT_PUBLIC): Uint8Array {
  if (native === undefined)
    throw new QuoteError('E_QUOTE_AK', 'an AK given as a TPMT_PUBLIC needs node:crypto: give its PEM');
  const { createPublicKey } = native;
  const b64 = (b: Uint8Array) => toBase64(b, true);
  let key: ReturnType<typeof createPublicKey>;
  if (pub.type === TPM_ALG.RSA) {
    const { exponent } = pub.parameters;
    const e = exponent === 0 ? 65537 : exponent; // Part 2 §12.2.3.5: 0 means 2^16+1
    const eHex = e.toString(16);
    const eBytes = fromHex(eHex.length % 2 ? `0${eHex}` : eHex);
    key = createPublicKey({
      key: { kty: 'RSA', n: b64(pub.unique), e: b64(eBytes) },
      format: 'jwk',
    });
  } else if (pub.type === TPM_ALG.ECC) {
    const { curveID } = pub.parameters;
    const crv =
      curveID === TPM_ECC_CURVE.NIST_P256
        ? 'P-256'
        : curveID === TPM_ECC_CURVE.NIST_P384
          ? 'P-384'
          : undefined;
    if (crv === undefined)
      throw new QuoteError('E_QUOTE_AK', `ECC curve 0x${curveID.toString(16)} is not supported`);
    const { x, y } = pub.unique;
    key = createPublicKey({ key: { kty: 'EC', crv, x: b64(x), y: b64(y) }, format: 'jwk' });
  } else {
    throw new QuoteError('E_QUOTE_AK', `object type 0x${pub.type.toString(16)} is not a signing key type`);
  }
  const der = key.export({ type: 'spki', format: 'der' });
  return u8(der);
}

/** PEM ("PUBLIC KEY") of a DER SubjectPublicKeyInfo, as tpm2-tools `-f pem` writes it. */
export function spkiToPem(spki: Uint8Array): string {
  const lines = toBase64(spki).match(/.{1,64}/g) ?? [];
  return `-----BEGIN PUBLIC KEY-----\n${lines.join('\n')}\n-----END PUBLIC KEY-----\n`;
}

/** The DER of the first "PUBLIC KEY" PEM block, strictly (E_QUOTE_AK otherwise). */
export function pemToSpki(pem: string): Uint8Array {
  const m = /-----BEGIN PUBLIC KEY-----\r?\n([A-Za-z0-9+/=\r\n]+?)-----END PUBLIC KEY-----/.exec(pem);
  if (!m?.[1]) throw new QuoteError('E_QUOTE_AK', 'no "PUBLIC KEY" PEM block found');
  return fromBase64(m[1].replace(/\s+/g, ''));
}

// ── The AK ──────────────────────────────────────────────────────────────────────────────────────────

export type AkSource =
  | { readonly kind: 'persistent'; readonly handle: number }
  | { readonly kind: 'primary'; readonly alg: 'rsa' | 'ecc' };

export interface LoadedAk {
  readonly handle: number;
  readonly public: TPMT_PUBLIC;
}

// ── Making a quote ──────────────────────────────────────────────────────────────────────────────────

export interface MakeQuoteOptions {
  readonly selection: PcrSelection;
  readonly nonce: Uint8Array;
  /** Quote attempts when PCRs change between the quote and the read (default 5). */
  readonly attempts?: number;
}

/** The selected PCR values, bank by bank in selection order, PCRs ascending. */
export async function readSelectedPcrs(tpm: Tpm, selection: PcrSelection): Promise<Uint8Array[]> {
  const values = await readPcrs(tpm, selection);
  const out: Uint8Array[] = [];
  for (const bank of selection) {
    for (const pcr of [...bank.pcrs].sort((a, b) => a - b)) {
      const v = values.get(bank.hash)?.get(pcr);
      if (v === undefined)
        throw new QuoteError('E_QUOTE_PARSE', `PCR ${pcr} of bank 0x${bank.hash.toString(16)} was not read`);
      out.push(v);
    }
  }
  return out;
}

/** Quotes `selection` with the AK and returns the evidence with the values the quote covers. */
export async function makeQuote(tpm: Tpm, ak: LoadedAk, opts: MakeQuoteOptions): Promise<QuoteEvidence> {
  if (opts.nonce.length > MAX_NONCE)
    throw new RangeError(`nonce of ${opts.nonce.length} bytes exceeds ${MAX_NONCE}`);
  const attempts = opts.attempts ?? 5;
  const akPublic = marshal(TPMT_PUBLIC, ak.public);
  const akSpki = spkiOfPublic(ak.public);
  for (let i = 0; i < attempts; i++) {
    const rsp = await tpm.run(Quote, {
      signHandle: ak.handle,
      qualifyingData: opts.nonce,
      inScheme: { scheme: TPM_ALG.NULL, details: null }, // the AK's own scheme (Part 3 §18.4.1)
      PCRselect: toTpml(opts.selection),
    });
    const pcrValues = await readSelectedPcrs(tpm, opts.selection);
    const attest = unmarshal(TPMS_ATTEST, rsp.quoted);
    if (attest.type !== TPM_ST.ATTEST_QUOTE) {
      throw new QuoteError(
        'E_QUOTE_PARSE',
        `TPM2_Quote returned a TPMS_ATTEST of type 0x${attest.type.toString(16)}, not TPM_ST_ATTEST_QUOTE`,
      );
    }
    const hash = signatureHash(rsp.signature);
    if (hash === undefined) throw new QuoteError('E_QUOTE_AK', 'the AK signed with an unsupported scheme');
    const want = pcrDigestOf(hash, opts.selection, pcrValues);
    const got = attest.attested.pcrDigest;
    if (typeof want !== 'string' && equalBytes(want, got)) {
      return {
        attest: rsp.quoted,
        signature: marshal(TPMT_SIGNATURE, rsp.signature),
        selection: opts.selection,
        pcrValues,
        nonce: opts.nonce,
        akPublic,
        akSpki,
      };
    }
  }
  throw new QuoteError(
    'E_QUOTE_PCR_CHANGED',
    `PCRs kept changing between TPM2_Quote and TPM2_PCR_Read (${attempts} attempts)`,
  );
}

// ── The bundle ──────────────────────────────────────────────────────────────────────────────────────

const encoder = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false });
const decoder = new Decoder({ useRecords: false, mapsAsObjects: true });

export function encodeBundle(ev: QuoteEvidence): Uint8Array {
  const out = encoder.encode({
    v: 1,
    attest: ev.attest,
    signature: ev.signature,
    selection: formatSelection(ev.selection),
    pcrValues: [...ev.pcrValues],
    nonce: ev.nonce,
    akPublic: ev.akPublic,
    akSpki: ev.akSpki,
  });
  return u8(out);
}

/**
 * A bundle as `execgate quote` prints it without --out (base64 text, a newline after) is decoded; a CBOR
 * bundle starts with a map header (0xb9), never a base64 character, so it is taken as it is.
 */
export function bundleFromText(bytes: Uint8Array): Uint8Array {
  const text = latin1(bytes).trim();
  if (text.length === 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(text) || text.length % 4 !== 0) return bytes;
  return fromBase64(text);
}

function field(doc: Record<string, unknown>, key: string, max: number): Uint8Array {
  const v = doc[key];
  if (!(v instanceof Uint8Array))
    throw new QuoteError('E_QUOTE_PARSE', `bundle field "${key}" is not a byte string`);
  if (v.length > max) throw new QuoteError('E_QUOTE_PARSE', `bundle field "${key}" exceeds ${max} bytes`);
  return Uint8Array.from(v);
}

/** Decodes and checks a bundle; throws QuoteError E_QUOTE_PARSE for anything malformed. */
export function decodeBundle(bytes: Uint8Array): QuoteEvidence {
  if (!(bytes instanceof Uint8Array)) throw new QuoteError('E_QUOTE_PARSE', 'a bundle must be bytes');
  if (bytes.length > MAX_BUNDLE_BYTES) {
    throw new QuoteError('E_QUOTE_PARSE', `bundle of ${bytes.length} bytes exceeds ${MAX_BUNDLE_BYTES}`);
  }
  let doc: unknown;
  try {
    // Well-formed with definite lengths, no tag, no duplicate key, as encodeBundle writes it (in any key
    // order): cbor-x reads more, and its Node and browser builds differ there (an indefinite-length
    // byte string needs Node's Buffer), so the auditor page would judge such a bundle unlike the CLI.
    decodeCbor(bytes, { tags: [], maxBytes: MAX_BUNDLE_BYTES, deterministic: false });
    doc = decoder.decode(bytes);
  } catch (e) {
    throw new QuoteError(
      'E_QUOTE_PARSE',
      `bundle is not CBOR: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc) || doc instanceof Uint8Array) {
    throw new QuoteError('E_QUOTE_PARSE', 'bundle is not a CBOR map');
  }
  const d = doc as Record<string, unknown>;
  const known = new Set([
    'v',
    'attest',
    'signature',
    'selection',
    'pcrValues',
    'nonce',
    'akPublic',
    'akSpki',
  ]);
  for (const k of Object.keys(d))
    if (!known.has(k)) throw new QuoteError('E_QUOTE_PARSE', `unknown bundle field "${k}"`);
  if (d.v !== 1) throw new QuoteError('E_QUOTE_PARSE', `unsupported bundle version ${String(d.v)}`);
  if (typeof d.selection !== 'string' || d.selection.length > 256) {
    throw new QuoteError('E_QUOTE_PARSE', 'bundle field "selection" is not a selection string');
  }
  let selection: PcrSelection;
  try {
    selection = parseSelection(d.selection);
  } catch (e) {
    throw new QuoteError('E_QUOTE_PARSE', `bundle selection: ${e instanceof Error ? e.message : String(e)}`);
  }
  const values = d.pcrValues;
  if (!Array.isArray(values) || values.length !== selectionSize(selection)) {
    throw new QuoteError('E_QUOTE_PARSE', 'bundle field "pcrValues" does not match the selection');
  }
  const pcrValues = values.map((v, i) => field({ [i]: v }, String(i), 64));
  return {
    attest: field(d, 'attest', 2048),
    signature: field(d, 'signature', 1024),
    selection,
    pcrValues,
    nonce: field(d, 'nonce', MAX_NONCE),
    akPublic: field(d, 'akPublic', 1024),
    akSpki: field(d, 'akSpki', 1024),
  };
}
