// SPDX-License-Identifier: Apache-2.0
/**
 * Quote verification (DESIGN §3), pure: no I/O, and never throws for hostile bytes; every failure is a
 * verdict with a reason code. The checks, in order:
 *
 * 1. the TPMT_SIGNATURE (Part 2 §11.3.4) parses and signs the exact TPMS_ATTEST bytes under the AK
 *    (RSASSA → RSASSA-PKCS1-v1_5, RSAPSS → RSASSA-PSS, ECDSA → IEEE P1363 r‖s left-padded to the curve
 *    size), through agent/crypto/verify.ts — E_QUOTE_SIGNATURE; then a valid signature whose scheme hash
 *    is legacy (SHA-1: RSASSA, RSAPSS or ECDSA with TPM_ALG_SHA1) is refused unless the verifier passes
 *    `allowSha1Signatures` for a legacy AK — E_QUOTE_SIGNATURE_ALG. That hash also makes pcrDigest, so
 *    such a quote is a SHA-1 collision away from a forged one. A SHA-1 PCR *bank* quoted under a SHA-256
 *    scheme is not affected;
 * 2. magic == TPM_GENERATED_VALUE (Part 2 §10.12.12; only the TPM writes it, so a TPM2_Sign output over
 *    caller-chosen bytes cannot pass) — E_QUOTE_MAGIC;
 * 3. type == TPM_ST_ATTEST_QUOTE — E_QUOTE_TYPE; then the whole TPMS_ATTEST parses — E_QUOTE_PARSE;
 * 4. extraData == the verifier's nonce — E_QUOTE_NONCE;
 *    when the verifier gives the AK's qualified Name: qualifiedSigner == it — E_QUOTE_SIGNER;
 * 5. the signed TPMS_QUOTE_INFO.pcrSelect (Part 2 §10.12.1) == the requested selection — E_QUOTE_SELECTION;
 * 6. pcrDigest == H_sig(values in selection order) with the signature's hash — E_QUOTE_PCR_DIGEST;
 * 7. when the verifier gives the last TPMS_CLOCK_INFO (Part 2 §10.11.1) it saw from this TPM: safe == 1,
 *    resetCount and restartCount never decrease, clock never decreases — E_QUOTE_CLOCK.
 */

import { DerError, type PublicKeyInfo, parseSpki } from '../../wasm-core/index.js';
import { digestByteLen, HASH_ALGORITHMS, type HashAlgorithm, hashOfTpmAlg } from '../crypto/algorithms.js';
import { digest } from '../crypto/hash.js';
import { type VerifyItem, verifySignature, verifySignatures } from '../crypto/verify.js';
import { equalBytes, toHex } from '../encoding/bytes.js';
import { TPM_ALG, TPM_GENERATED_VALUE, TPM_ST } from '../tpm/constants.js';
import { formatSelection, fromTpml, type PcrBankSelection, sameSelection } from '../tpm/pcr-selection.js';
import { unmarshal } from '../tpm/schema.js';
import { TPMS_ATTEST, type TPMS_CLOCK_INFO, TPMT_SIGNATURE } from '../tpm/structures.js';

export type QuoteCode =
  | 'E_QUOTE_SIGNATURE'
  | 'E_QUOTE_SIGNATURE_ALG'
  | 'E_QUOTE_MAGIC'
  | 'E_QUOTE_TYPE'
  | 'E_QUOTE_NONCE'
  | 'E_QUOTE_SELECTION'
  | 'E_QUOTE_PCR_DIGEST'
  | 'E_QUOTE_CLOCK'
  | 'E_QUOTE_SIGNER'
  | 'E_QUOTE_PARSE';

export const QUOTE_CODES: readonly QuoteCode[] = [
  'E_QUOTE_SIGNATURE',
  'E_QUOTE_SIGNATURE_ALG',
  'E_QUOTE_MAGIC',
  'E_QUOTE_TYPE',
  'E_QUOTE_NONCE',
  'E_QUOTE_SELECTION',
  'E_QUOTE_PCR_DIGEST',
  'E_QUOTE_CLOCK',
  'E_QUOTE_SIGNER',
  'E_QUOTE_PARSE',
];

export interface QuoteVerdict {
  readonly ok: boolean;
  readonly code?: QuoteCode;
  readonly detail: string;
  /** The parsed TPMS_ATTEST, once it has parsed (so also on the checks after parsing). */
  readonly attest?: TPMS_ATTEST;
}

export interface VerifyQuoteInput {
  /** The marshalled TPMS_ATTEST exactly as signed (tpm2-tools quote.msg). */
  readonly attest: Uint8Array;
  /** The marshalled TPMT_SIGNATURE (tpm2-tools quote.sig). */
  readonly signature: Uint8Array;
  /** The AK's DER SubjectPublicKeyInfo, as the verifier trusts it. */
  readonly akPublicKey: Uint8Array;
  /** The verifier's nonce (TPMS_ATTEST.extraData). */
  readonly nonce: Uint8Array;
  /** The selection the verifier asked for. */
  readonly selection: readonly PcrBankSelection[];
  /** The PCR values: bank by bank in selection order, PCRs ascending (tpm2-tools quote.pcrs.values). */
  readonly pcrValues: readonly Uint8Array[];
  /** The last clock info the verifier saw from this TPM, if any. */
  readonly lastClock?: TPMS_CLOCK_INFO;
  /**
   * The AK's qualified Name as the verifier computed it (e.g. attest/ak.ts `qualifiedNameUnder(ek, ak)`),
   * if any: then TPMS_ATTEST.qualifiedSigner must equal it.
   */
  readonly akQualifiedName?: Uint8Array;
  /**
   * Accept a quote signed with a SHA-1 scheme (a legacy AK: RSASSA/RSAPSS/ECDSA with TPM_ALG_SHA1). Off by
   * default: such a quote is refused with E_QUOTE_SIGNATURE_ALG.
   */
  readonly allowSha1Signatures?: boolean;
}

function fail(code: QuoteCode, detail: string, attest?: TPMS_ATTEST): QuoteVerdict {
  return attest === undefined ? { ok: false, code, detail } : { ok: false, code, detail, attest };
}

function leftPad(b: Uint8Array, len: number): Uint8Array | undefined {
  // Leading zero bytes beyond the curve size are tolerated; a longer value is not a scalar of the curve.
  let v = b;
  while (v.length > len && v[0] === 0) v = v.subarray(1);
  if (v.length > len) return undefined;
  const out = new Uint8Array(len);
  out.set(v, len - v.length);
  return out;
}

/** Parses a TPMT_SIGNATURE, or undefined for hostile bytes. */
export function parseSignature(bytes: Uint8Array): TPMT_SIGNATURE | undefined {
  try {
    return unmarshal(TPMT_SIGNATURE, bytes);
  } catch {
    return undefined;
  }
}

/** The hash a TPMT_SIGNATURE names (RSASSA/RSAPSS/ECDSA), or undefined. */
export function signatureHash(sig: TPMT_SIGNATURE): HashAlgorithm | undefined {
  if (sig.sigAlg !== TPM_ALG.RSASSA && sig.sigAlg !== TPM_ALG.RSAPSS && sig.sigAlg !== TPM_ALG.ECDSA) {
    return undefined;
  }
  return hashOfTpmAlg(sig.signature.hash);
}

/** Step 1, before the signature check itself: the facade item, or a reason the signature cannot be right. */
interface SignatureCheck {
  readonly item: VerifyItem;
  /** The reason when the item's signature does not verify. */
  readonly failure: string;
}

/** The VerifyItem that checks `sig` over `message` under the AK, or a reason it cannot verify. */
export function signatureItem(
  akSpki: Uint8Array,
  message: Uint8Array,
  sig: TPMT_SIGNATURE,
): SignatureCheck | string {
  let info: PublicKeyInfo;
  try {
    info = parseSpki(akSpki);
  } catch (e) {
    return `the AK public key is not a supported SubjectPublicKeyInfo (${e instanceof DerError ? e.message : String(e)})`;
  }
  const hash = signatureHash(sig);
  if (hash === undefined)
    return `signature algorithm 0x${sig.sigAlg.toString(16)} or its hash is not supported`;
  if (sig.sigAlg === TPM_ALG.ECDSA) {
    if (info.kind !== 'ec') return 'an ECDSA signature but the AK is not an EC key';
    const size = info.curve === 'P-256' ? 32 : 48;
    const r = leftPad(sig.signature.signatureR, size);
    const ss = leftPad(sig.signature.signatureS, size);
    if (r === undefined || ss === undefined) return `ECDSA r or s is longer than ${size} bytes`;
    const p1363 = new Uint8Array(2 * size);
    p1363.set(r, 0);
    p1363.set(ss, size);
    return {
      item: { alg: 'ecdsa', hash, publicKey: akSpki, message, signature: p1363, sigEncoding: 'p1363' },
      failure: 'the ECDSA signature does not verify under the AK',
    };
  }
  // signatureHash answered for RSASSA, RSAPSS and ECDSA only; this narrows sig to the RSA two.
  if (sig.sigAlg !== TPM_ALG.RSASSA && sig.sigAlg !== TPM_ALG.RSAPSS)
    return `signature algorithm 0x${sig.sigAlg.toString(16)} or its hash is not supported`;
  if (info.kind !== 'rsa') return 'an RSA signature but the AK is not an RSA key';
  return {
    item: {
      alg: sig.sigAlg === TPM_ALG.RSAPSS ? 'rsa-pss' : 'rsa-pkcs1v15',
      hash,
      publicKey: akSpki,
      message,
      signature: sig.signature.sig,
    },
    failure: 'the RSA signature does not verify under the AK',
  };
}

const couldNotCheck = (e: unknown) =>
  `the signature could not be checked: ${e instanceof Error ? e.message : String(e)}`;

/** H(values concatenated), or a reason the values do not fit the selection. */
export function pcrDigestOf(
  hash: HashAlgorithm,
  selection: readonly PcrBankSelection[],
  values: readonly Uint8Array[],
): Uint8Array | string {
  const count = selection.reduce((n, b) => n + b.pcrs.length, 0);
  if (values.length !== count) return `${values.length} PCR values for ${count} selected PCRs`;
  let k = 0;
  for (const bank of selection) {
    const bankHash = hashOfTpmAlg(bank.hash);
    if (bankHash === undefined) return `bank 0x${bank.hash.toString(16)} is not supported`;
    const size = digestByteLen(bankHash);
    for (const pcr of bank.pcrs) {
      const v = values[k++];
      if (v === undefined || v.length !== size) {
        return `the value of ${bankHash} PCR ${pcr} is ${v?.length ?? 0} bytes, not ${size}`;
      }
    }
  }
  const all = new Uint8Array(values.reduce((n, v) => n + v.length, 0));
  let at = 0;
  for (const v of values) {
    all.set(v, at);
    at += v.length;
  }
  return digest(hash, all);
}

/** Step 7: a reason the quote's clock info goes backwards from `last` (or is unsafe), else undefined. */
export function checkClock(now: TPMS_CLOCK_INFO, last: TPMS_CLOCK_INFO): string | undefined {
  if (now.safe !== 1) return 'clockInfo.safe is not 1: the clock may have gone back (unorderly shutdown)';
  if (now.resetCount < last.resetCount) {
    return `resetCount went back from ${last.resetCount} to ${now.resetCount}`;
  }
  if (now.resetCount === last.resetCount && now.restartCount < last.restartCount) {
    return `restartCount went back from ${last.restartCount} to ${now.restartCount} without a reset`;
  }
  if (now.clock < last.clock) return `clock went back from ${last.clock} to ${now.clock}`;
  return undefined;
}

/** Verifies a quote; see the module comment for the checks. Never throws. */
export function verifyQuote(input: VerifyQuoteInput): QuoteVerdict {
  const first = prepare(input);
  if ('verdict' in first) return first.verdict;
  let valid: boolean;
  try {
    valid = verifySignature(first.check.item);
  } catch (e) {
    return fail('E_QUOTE_SIGNATURE', couldNotCheck(e));
  }
  return valid ? afterSignature(input, first.sig) : fail('E_QUOTE_SIGNATURE', first.check.failure);
}

/**
 * Verifies many quotes: the same verdict as `verifyQuote` for each input, with the signatures checked
 * in one `verifySignatures` call (same-key ECDSA groups take wasm-core's comb-table path). Never throws.
 */
export function verifyQuotes(inputs: readonly VerifyQuoteInput[]): QuoteVerdict[] {
  const firsts = inputs.map(prepare);
  const pending: number[] = [];
  const items: VerifyItem[] = [];
  firsts.forEach((f, i) => {
    if ('check' in f) {
      pending.push(i);
      items.push(f.check.item);
    }
  });
  let valid: readonly boolean[] | undefined;
  try {
    valid = verifySignatures(items);
  } catch {
    valid = undefined; // a misuse somewhere: check one by one, so that each gets its own verdict
  }
  const out: QuoteVerdict[] = firsts.map((f) =>
    'verdict' in f ? f.verdict : fail('E_QUOTE_PARSE', 'not checked'),
  );
  pending.forEach((i, j) => {
    const f = firsts[i];
    const input = inputs[i];
    if (f === undefined || !('check' in f) || input === undefined) return;
    let ok: boolean;
    if (valid === undefined) {
      try {
        ok = verifySignature(f.check.item);
      } catch (e) {
        out[i] = fail('E_QUOTE_SIGNATURE', couldNotCheck(e));
        return;
      }
    } else ok = valid[j] === true;
    out[i] = ok ? afterSignature(input, f.sig) : fail('E_QUOTE_SIGNATURE', f.check.failure);
  });
  return out;
}

type Prepared =
  | { readonly verdict: QuoteVerdict }
  | { readonly check: SignatureCheck; readonly sig: TPMT_SIGNATURE };

/** Everything before the signature check: the signature parses and fits the AK. */
function prepare(input: VerifyQuoteInput): Prepared {
  try {
    if (!(input.attest instanceof Uint8Array) || !(input.signature instanceof Uint8Array)) {
      return { verdict: fail('E_QUOTE_PARSE', 'attest and signature must be byte arrays') };
    }
    const sig = parseSignature(input.signature);
    if (sig === undefined) return { verdict: fail('E_QUOTE_PARSE', 'the signature is not a TPMT_SIGNATURE') };
    const check = signatureItem(input.akPublicKey, input.attest, sig);
    if (typeof check === 'string') return { verdict: fail('E_QUOTE_SIGNATURE', check) };
    return { check, sig };
  } catch (e) {
    return { verdict: bug(e) };
  }
}

// A bug or a misuse: still a verdict, never a pass.
const bug = (e: unknown) =>
  fail('E_QUOTE_PARSE', `verification failed: ${e instanceof Error ? e.message : String(e)}`);

/** Every check after a valid signature. */
function afterSignature(input: VerifyQuoteInput, sig: TPMT_SIGNATURE): QuoteVerdict {
  try {
    return afterSignatureUnsafe(input, sig);
  } catch (e) {
    return bug(e);
  }
}

function afterSignatureUnsafe(input: VerifyQuoteInput, sig: TPMT_SIGNATURE): QuoteVerdict {
  const { attest: bytes, nonce, selection, pcrValues } = input;
  const hash = signatureHash(sig);
  if (hash === undefined) return fail('E_QUOTE_SIGNATURE', 'unsupported signature hash');
  if (HASH_ALGORITHMS[hash].legacy && input.allowSha1Signatures !== true) {
    return fail(
      'E_QUOTE_SIGNATURE_ALG',
      `the quote is signed with ${hash} (scheme 0x${sig.sigAlg.toString(16).padStart(4, '0')}), a legacy hash: accepted only for a legacy AK (allowSha1Signatures)`,
    );
  }
  if (bytes.length < 6) return fail('E_QUOTE_PARSE', `TPMS_ATTEST of ${bytes.length} bytes is truncated`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0);
  if (magic !== TPM_GENERATED_VALUE) {
    return fail('E_QUOTE_MAGIC', `magic is 0x${magic.toString(16)}, not TPM_GENERATED_VALUE 0xff544347`);
  }
  const type = view.getUint16(4);
  if (type !== TPM_ST.ATTEST_QUOTE) {
    return fail('E_QUOTE_TYPE', `type is 0x${type.toString(16)}, not TPM_ST_ATTEST_QUOTE 0x8018`);
  }
  let attest: TPMS_ATTEST;
  try {
    attest = unmarshal(TPMS_ATTEST, bytes);
  } catch (e) {
    return fail('E_QUOTE_PARSE', `TPMS_ATTEST does not parse: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!equalBytes(attest.extraData, nonce)) {
    return fail(
      'E_QUOTE_NONCE',
      `extraData ${toHex(attest.extraData) || '(empty)'} is not the nonce ${toHex(nonce) || '(empty)'}`,
      attest,
    );
  }
  if (input.akQualifiedName !== undefined && !equalBytes(attest.qualifiedSigner, input.akQualifiedName)) {
    return fail(
      'E_QUOTE_SIGNER',
      `qualifiedSigner ${toHex(attest.qualifiedSigner) || '(empty)'} is not the AK's qualified Name ${toHex(input.akQualifiedName) || '(empty)'}`,
      attest,
    );
  }
  // Checked on the raw bytes above; checked again on the parsed value so that `attested` narrows.
  if (attest.type !== TPM_ST.ATTEST_QUOTE)
    return fail('E_QUOTE_TYPE', 'type is not TPM_ST_ATTEST_QUOTE', attest);
  const info = attest.attested;
  const signed = fromTpml(info.pcrSelect);
  if (!sameSelection(signed, selection)) {
    return fail(
      'E_QUOTE_SELECTION',
      `the quote covers ${formatSelection(signed) || '(nothing)'}, not the requested ${formatSelection(selection) || '(nothing)'}`,
      attest,
    );
  }
  const expected = pcrDigestOf(hash, selection, pcrValues);
  if (typeof expected === 'string') return fail('E_QUOTE_PCR_DIGEST', expected, attest);
  if (!equalBytes(expected, info.pcrDigest)) {
    return fail(
      'E_QUOTE_PCR_DIGEST',
      `pcrDigest ${toHex(info.pcrDigest)} is not ${hash}(PCR values) = ${toHex(expected)}`,
      attest,
    );
  }
  if (input.lastClock !== undefined) {
    const clockFailure = checkClock(attest.clockInfo, input.lastClock);
    if (clockFailure !== undefined) return fail('E_QUOTE_CLOCK', clockFailure, attest);
  }
  return { ok: true, detail: `valid quote over ${formatSelection(selection)}`, attest };
}
