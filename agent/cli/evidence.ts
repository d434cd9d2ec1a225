// SPDX-License-Identifier: Apache-2.0
/**
 * The quoted PCR values that `eventlog verify`, `ima verify` and `state` judge logs against. They come
 * from a TPM quote that has passed verification (DESIGN.md §4: the quote is the ground truth, never a
 * separate PCR read): a fresh quote from this host's TPM with a random nonce, or a quote bundle given by
 * an auditor with the AK and nonce it was made for.
 */
import { randomBytes } from 'node:crypto';
import type { AkSource } from '../attest/quote.js';
import type { QuoteCode } from '../attest/verify-quote.js';
import { digestByteLen, hashAlgOf } from '../crypto/algorithms.js';
import { ExecgateError } from '../errors.js';
import { InputError } from '../fs/read-bounded.js';
import { quotedPcrValues } from '../measure/compare.js';
import { readToEnd, SecurityfsError } from '../measure/securityfs.js';
import { type PcrSelection, type PcrValues, parseSelection } from '../tpm/pcr-selection.js';
import type { Tpm } from '../tpm/tpm.js';
import { parseHandle, parseHex, parseNonce } from './args.js';
import type { CliContext } from './context.js';
import { UsageError } from './exit.js';

/**
 * A measurement log FILE named on the command line, read to EOF up to `maxBytes`. A file that cannot be
 * read is the caller's mistake (E_INPUT_READ, exit 2), not a host without a log (E_MEASURE_UNREADABLE).
 */
export async function readLogFile(file: string, maxBytes: number): Promise<Uint8Array> {
  try {
    return await readToEnd(file, { maxBytes });
  } catch (e) {
    if (e instanceof SecurityfsError && e.code === 'E_MEASURE_UNREADABLE')
      throw new InputError('E_INPUT_READ', file, `FILE: ${e.message}: give a readable log file`, {
        cause: e,
      });
    if (e instanceof ExecgateError) throw e;
    throw new UsageError(`${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** A failed verification, as a typed error so run() prints its code and maps it to EXIT.EVIDENCE_INVALID. */
export class QuoteInvalidError extends ExecgateError<QuoteCode> {}

/** Flags of the commands that need quoted PCRs (parseFlags options). */
export const QUOTE_SOURCE_FLAGS = {
  pcrs: { type: 'string' },
  'ak-handle': { type: 'string' },
  quote: { type: 'string' },
  ak: { type: 'string' },
  nonce: { type: 'string' },
  'ak-qualified-name': { type: 'string' },
  'allow-sha1-ak': { type: 'boolean' },
} as const;

export const QUOTE_SOURCE_HELP = `  --pcrs SEL       the PCRs to quote (tpm2-tools syntax; default: see the command)
  --ak-handle H    the AK (default: the host AK at 0x81010002, else a primary RSA AK)
  --quote BUNDLE --ak PEM --nonce HEX
                   judge against this quote bundle (execgate quote --out) instead of a fresh quote
  --ak-qualified-name HEX
                   the AK's qualified Name (host identity --json): the quote must come from that AK under
                   the EK (E_QUOTE_SIGNER otherwise), fresh or given
  --allow-sha1-ak  accept a quote signed with a SHA-1 scheme (a legacy AK); refused otherwise
                   (E_QUOTE_SIGNATURE_ALG)`;

export interface QuoteSourceValues {
  readonly pcrs?: string | undefined;
  readonly 'ak-handle'?: string | undefined;
  readonly quote?: string | undefined;
  readonly ak?: string | undefined;
  readonly nonce?: string | undefined;
  readonly 'ak-qualified-name'?: string | undefined;
  readonly 'allow-sha1-ak'?: boolean | undefined;
}

export interface QuotedPcrs {
  /** The verified quote's PCR values: bank → PCR → value. */
  readonly pcrs: PcrValues;
  readonly selection: PcrSelection;
  /** 'fresh quote' or 'quote FILE', for messages. */
  readonly source: string;
}

export function selectionFlag(text: string): PcrSelection {
  try {
    return parseSelection(text);
  } catch (e) {
    throw new UsageError(`--pcrs: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** The AK a quote is made with: an explicit handle, else the host AK, else a primary AK of `alg`. */
// The quote, TPM and signature modules load when a quote is needed, not when a command that may never
// quote (`eventlog show`) starts.

export async function akSource(
  tpm: Tpm,
  explicit: number | undefined,
  alg: 'rsa' | 'ecc',
): Promise<AkSource> {
  if (explicit !== undefined) return { kind: 'persistent', handle: explicit };
  const { DEFAULT_AK_HANDLE, readAk } = await import('../attest/ak.js');
  if ((await readAk(tpm, DEFAULT_AK_HANDLE)) !== undefined)
    return { kind: 'persistent', handle: DEFAULT_AK_HANDLE };
  return { kind: 'primary', alg };
}

/**
 * Quoted, verified PCR values: from `--quote BUNDLE --ak PEM --nonce HEX` when given, else from a fresh
 * quote of `selection(tpm)` on this host's TPM. A quote that fails verification throws QuoteInvalidError
 * (exit 7), so no caller ever judges against unverified values.
 */
export async function quotedPcrs(
  ctx: CliContext,
  values: QuoteSourceValues,
  defaultSelection: (tpm: Tpm) => Promise<PcrSelection>,
): Promise<QuotedPcrs> {
  const given = values.quote !== undefined || values.ak !== undefined || values.nonce !== undefined;
  const { decodeBundle, makeQuote, pemToSpki, QuoteError, withAk } = await import('../attest/quote.js');
  const { INPUT_LIMITS, InputError, readBounded, readBoundedText } = await import('../fs/read-bounded.js');
  const { verifyQuote } = await import('../attest/verify-quote.js');
  const { initVerification } = await import('../crypto/verify.js');
  await initVerification();
  const qn = values['ak-qualified-name'];
  const akQualifiedName = qn === undefined ? undefined : qualifiedNameFlag(qn);
  const pinned = {
    ...(akQualifiedName === undefined ? {} : { akQualifiedName }),
    ...(values['allow-sha1-ak'] === true ? { allowSha1Signatures: true } : {}),
  };
  if (given) {
    if (values.quote === undefined || values.ak === undefined || values.nonce === undefined)
      throw new UsageError('--quote, --ak and --nonce go together');
    if (values['ak-handle'] !== undefined)
      throw new UsageError('--ak-handle makes a fresh quote: not with --quote');
    let akPublicKey: Uint8Array;
    try {
      akPublicKey = pemToSpki(await readBoundedText(values.ak, { maxBytes: INPUT_LIMITS.pem, what: '--ak' }));
    } catch (e) {
      if (e instanceof InputError) throw e;
      throw new UsageError(`--ak ${values.ak}: ${e instanceof Error ? e.message : String(e)}`);
    }
    const nonce = parseNonce(values.nonce);
    let ev: ReturnType<typeof decodeBundle>;
    try {
      ev = decodeBundle(
        await readBounded(values.quote, { maxBytes: INPUT_LIMITS.quoteBundle, what: '--quote' }),
      );
    } catch (e) {
      if (e instanceof QuoteError)
        throw new QuoteInvalidError('E_QUOTE_PARSE', `${values.quote}: ${e.message}`);
      throw e;
    }
    const selection = values.pcrs === undefined ? ev.selection : selectionFlag(values.pcrs);
    const verdict = verifyQuote({ ...ev, selection, akPublicKey, nonce, ...pinned });
    if (!verdict.ok)
      throw new QuoteInvalidError(verdict.code ?? 'E_QUOTE_PARSE', `${values.quote}: ${verdict.detail}`);
    return { pcrs: quotedPcrValues(selection, ev.pcrValues), selection, source: `quote ${values.quote}` };
  }
  const explicit =
    values['ak-handle'] === undefined ? undefined : parseHandle(values['ak-handle'], '--ak-handle');
  const nonce = new Uint8Array(randomBytes(20));
  return ctx.withTpm(async (tpm) => {
    const selection = values.pcrs === undefined ? await defaultSelection(tpm) : selectionFlag(values.pcrs);
    const ev = await withAk(tpm, await akSource(tpm, explicit, 'rsa'), (ak) =>
      makeQuote(tpm, ak, { selection, nonce }),
    );
    // Verified like any other quote: the values are used only once the AK's signature covers them.
    const verdict = verifyQuote({ ...ev, akPublicKey: ev.akSpki, nonce, ...pinned });
    if (!verdict.ok)
      throw new QuoteInvalidError(verdict.code ?? 'E_QUOTE_PARSE', `fresh quote: ${verdict.detail}`);
    return { pcrs: quotedPcrValues(selection, ev.pcrValues), selection, source: 'fresh quote' };
  });
}

/** `--ak-qualified-name`: a Name, nameAlg ‖ H_nameAlg(…) (Part 1 §16), of a hash the TPM names. */
export function qualifiedNameFlag(text: string): Uint8Array {
  const qn = parseHex(text, '--ak-qualified-name');
  const alg = qn.length >= 2 ? ((qn[0] ?? 0) << 8) | (qn[1] ?? 0) : undefined;
  let size: number | undefined;
  try {
    size = alg === undefined ? undefined : digestByteLen(hashAlgOf(alg));
  } catch {
    size = undefined;
  }
  if (size === undefined || qn.length !== 2 + size)
    throw new UsageError(
      `--ak-qualified-name must be a Name (2-byte hash algorithm, then its digest), got "${text}"`,
    );
  return qn;
}
