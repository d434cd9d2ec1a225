// SPDX-License-Identifier: Apache-2.0
/** `execgate quote` (make a quote) and `execgate quote verify` (check one, with reason codes). */
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import {
  type AkSource,
  DEFAULT_AK_HANDLE,
  decodeBundle,
  encodeBundle,
  MAX_NONCE,
  makeQuote,
  pemToSpki,
  persistentExists,
  QuoteError,
  withAk,
} from '../attest/quote.js';
import { type PcrSelection, parseSelection } from '../attest/selection.js';
import { readBounded, splitValues, writeTpm2ToolsQuote } from '../attest/tpm2-tools-format.js';
import { type QuoteCode, verifyQuote } from '../attest/verify-quote.js';
import { initVerification } from '../crypto/verify.js';
import { ExecgateError } from '../errors.js';
import { parseFlags, parseHex, toHex } from './args.js';
import type { CliContext } from './context.js';
import { EXIT, UsageError } from './exit.js';

export const QUOTE_HELP = `Usage: execgate quote [flags]            make a quote
       execgate quote verify [flags]     verify one

quote [--pcrs SEL] [--nonce HEX] [--ak-handle H] [--ak-alg rsa|ecc] [--out FILE] [--format bundle|tpm2-tools]
  SEL is tpm2-tools syntax, ranges allowed (default sha256:0-7): sha1:0,23+sha256:0-7,16
  The AK is the persistent handle H (default 0x81010002); without --ak-handle, when 0x81010002 is empty,
  a primary AK of --ak-alg (default rsa) is made in the endorsement hierarchy.
  --format bundle (default) writes a CBOR evidence bundle to FILE (base64 on stdout without --out);
  --format tpm2-tools writes quote.msg, quote.sig, quote.pcrs, quote.pcrs.values and ak.pem into the
  directory FILE (tpm2_checkquote -u ak.pem -m quote.msg -s quote.sig -f quote.pcrs -q NONCE).

verify (BUNDLE | --msg F --sig F --pcrs-values F --pcrs SEL) --ak PEM --nonce HEX [--json]
  Exit 0 when valid, 7 when not, with the reason code (E_QUOTE_SIGNATURE, E_QUOTE_MAGIC, E_QUOTE_TYPE,
  E_QUOTE_NONCE, E_QUOTE_SELECTION, E_QUOTE_PCR_DIGEST, E_QUOTE_CLOCK, E_QUOTE_PARSE).`;

/** A failed verification, as a typed error so run() prints its code and maps it to EXIT.EVIDENCE_INVALID. */
export class QuoteInvalidError extends ExecgateError<QuoteCode> {}

function selectionFlag(text: string): PcrSelection {
  try {
    return parseSelection(text);
  } catch (e) {
    throw new UsageError(`--pcrs: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function handleFlag(text: string): number {
  if (!/^(0x[0-9a-fA-F]{1,8}|\d{1,10})$/.test(text))
    throw new UsageError(`--ak-handle must be a handle like 0x81010002, got "${text}"`);
  const h = Number(text);
  if (h >>> 24 !== 0x81)
    throw new UsageError(`--ak-handle must be a persistent handle 0x81xxxxxx, got "${text}"`);
  return h;
}

async function make(argv: string[], ctx: CliContext): Promise<number> {
  const usage =
    'Usage: execgate quote [--pcrs SEL] [--nonce HEX] [--ak-handle H] [--ak-alg rsa|ecc] [--out FILE] [--format bundle|tpm2-tools]';
  const { values, positionals } = parseFlags(
    argv,
    {
      pcrs: { type: 'string' },
      nonce: { type: 'string' },
      'ak-handle': { type: 'string' },
      'ak-alg': { type: 'string' },
      out: { type: 'string' },
      format: { type: 'string' },
    },
    usage,
  );
  if (positionals.length) throw new UsageError(`unknown argument "${positionals[0]}"\n${usage}`);
  const selection = selectionFlag(values.pcrs ?? 'sha256:0-7');
  const nonce =
    values.nonce === undefined ? new Uint8Array(randomBytes(20)) : parseHex(values.nonce, '--nonce');
  if (nonce.length > MAX_NONCE) throw new UsageError(`--nonce is at most ${MAX_NONCE} bytes`);
  const format = values.format ?? 'bundle';
  if (format !== 'bundle' && format !== 'tpm2-tools')
    throw new UsageError(`--format must be bundle or tpm2-tools, got "${format}"`);
  if (format === 'tpm2-tools' && values.out === undefined)
    throw new UsageError('--format tpm2-tools needs --out DIR');
  const alg = values['ak-alg'] ?? 'rsa';
  if (alg !== 'rsa' && alg !== 'ecc') throw new UsageError(`--ak-alg must be rsa or ecc, got "${alg}"`);
  const explicit = values['ak-handle'] === undefined ? undefined : handleFlag(values['ak-handle']);

  const ev = await ctx.withTpm(async (tpm) => {
    let source: AkSource;
    if (explicit !== undefined) source = { kind: 'persistent', handle: explicit };
    else if (await persistentExists(tpm, DEFAULT_AK_HANDLE))
      source = { kind: 'persistent', handle: DEFAULT_AK_HANDLE };
    else source = { kind: 'primary', alg };
    return withAk(tpm, source, (ak) => makeQuote(tpm, ak, { selection, nonce }));
  });

  if (format === 'tpm2-tools') {
    const files = await writeTpm2ToolsQuote(values.out ?? '.', ev);
    if (ctx.json) ctx.out(JSON.stringify({ nonce: toHex(nonce), pcrs: values.pcrs ?? 'sha256:0-7', files }));
    else ctx.out(`nonce ${toHex(nonce)}; wrote ${Object.values(files).join(' ')}`);
    return EXIT.OK;
  }
  const bundle = encodeBundle(ev);
  if (values.out === undefined) {
    ctx.out(
      ctx.json
        ? JSON.stringify({ nonce: toHex(nonce), bundle: Buffer.from(bundle).toString('base64') })
        : Buffer.from(bundle).toString('base64'),
    );
    return EXIT.OK;
  }
  await writeFile(values.out, bundle);
  if (ctx.json) ctx.out(JSON.stringify({ nonce: toHex(nonce), out: values.out }));
  else ctx.out(`nonce ${toHex(nonce)}; wrote ${values.out}`);
  return EXIT.OK;
}

async function verify(argv: string[], ctx: CliContext): Promise<number> {
  const usage =
    'Usage: execgate quote verify (BUNDLE | --msg F --sig F --pcrs-values F --pcrs SEL) --ak PEM --nonce HEX [--json]';
  const { values, positionals } = parseFlags(
    argv,
    {
      msg: { type: 'string' },
      sig: { type: 'string' },
      'pcrs-values': { type: 'string' },
      pcrs: { type: 'string' },
      ak: { type: 'string' },
      nonce: { type: 'string' },
    },
    usage,
  );
  if (values.ak === undefined || values.nonce === undefined)
    throw new UsageError(`--ak and --nonce are required\n${usage}`);
  const nonce = parseHex(values.nonce, '--nonce');
  const files = values.msg !== undefined || values.sig !== undefined || values['pcrs-values'] !== undefined;
  if (positionals.length > 1 || (positionals.length === 1) === files) {
    throw new UsageError(`give either a BUNDLE file or --msg, --sig, --pcrs-values and --pcrs\n${usage}`);
  }
  let akPublicKey: Uint8Array;
  try {
    akPublicKey = pemToSpki(await readFile(values.ak, 'utf8'));
  } catch (e) {
    throw new UsageError(`--ak ${values.ak}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const requested = values.pcrs === undefined ? undefined : selectionFlag(values.pcrs);

  const evidence = await (async () => {
    try {
      if (!files) {
        const ev = decodeBundle(await readBounded(positionals[0] ?? ''));
        return {
          attest: ev.attest,
          signature: ev.signature,
          selection: requested ?? ev.selection,
          pcrValues: ev.pcrValues,
        };
      }
      if (
        values.msg === undefined ||
        values.sig === undefined ||
        values['pcrs-values'] === undefined ||
        requested === undefined
      ) {
        throw new UsageError(`--msg, --sig, --pcrs-values and --pcrs go together\n${usage}`);
      }
      return {
        attest: await readBounded(values.msg),
        signature: await readBounded(values.sig),
        selection: requested,
        pcrValues: splitValues(requested, await readBounded(values['pcrs-values'])),
      };
    } catch (e) {
      if (e instanceof QuoteError) return { failure: e.message };
      throw e;
    }
  })();

  await initVerification();
  const verdict =
    'failure' in evidence
      ? { ok: false, code: 'E_QUOTE_PARSE' as const, detail: evidence.failure }
      : verifyQuote({ ...evidence, akPublicKey, nonce });
  if (ctx.json) {
    const a = 'attest' in verdict ? verdict.attest : undefined;
    ctx.out(
      JSON.stringify({
        ok: verdict.ok,
        ...(verdict.code === undefined ? {} : { code: verdict.code }),
        detail: verdict.detail,
        ...(a === undefined
          ? {}
          : {
              clock: a.clockInfo.clock.toString(),
              resetCount: a.clockInfo.resetCount,
              restartCount: a.clockInfo.restartCount,
              safe: a.clockInfo.safe,
              firmwareVersion: `0x${a.firmwareVersion.toString(16).padStart(16, '0')}`,
              qualifiedSigner: toHex(a.qualifiedSigner),
            }),
      }),
    );
    return verdict.ok ? EXIT.OK : EXIT.EVIDENCE_INVALID;
  }
  if (!verdict.ok) throw new QuoteInvalidError(verdict.code ?? 'E_QUOTE_PARSE', verdict.detail);
  ctx.out(`OK: ${verdict.detail}`);
  return EXIT.OK;
}

export const QUOTE_COMMANDS: Readonly<Record<string, (argv: string[], ctx: CliContext) => Promise<number>>> =
  {
    verify,
  };

/** `execgate quote` with no sub-command. */
export const QUOTE_DEFAULT = make;
