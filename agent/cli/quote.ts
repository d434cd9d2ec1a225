// SPDX-License-Identifier: Apache-2.0
/** `execgate quote` (make a quote) and `execgate quote verify` (check one, with reason codes). */
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import {
  decodeBundle,
  encodeBundle,
  MAX_NONCE,
  makeQuote,
  pemToSpki,
  QuoteError,
  withAk,
} from '../attest/quote.js';
import { readBounded, splitValues, writeTpm2ToolsQuote } from '../attest/tpm2-tools-format.js';
import { verifyQuote } from '../attest/verify-quote.js';
import { initVerification } from '../crypto/verify.js';
import type { TPMS_CLOCK_INFO } from '../tpm/structures.js';
import { parseFlags, parseHex, toHex } from './args.js';
import { writeAtomic } from './atomic.js';
import type { CliContext } from './context.js';
import { akSource, handleFlag, QuoteInvalidError, selectionFlag } from './evidence.js';
import { EXIT, UsageError } from './exit.js';

export const QUOTE_HELP = `Usage: execgate quote [flags]            make a quote
       execgate quote verify [flags]     verify one

quote [--pcrs SEL] [--nonce HEX] [--ak-handle H] [--ak-alg rsa|ecc] [--out FILE] [--format bundle|tpm2-tools]
  SEL is tpm2-tools syntax, ranges allowed (default sha256:0-7): sha1:0,23+sha256:0-7,16
  The AK is the host's AK (execgate host init) at the persistent handle H (default 0x81010002); an object
  there that is not such an AK is refused (E_AK_INVALID). Without --ak-handle, when 0x81010002 is empty,
  a primary AK of --ak-alg (default rsa) is made in the endorsement hierarchy.
  --format bundle (default) writes a CBOR evidence bundle to FILE (base64 on stdout without --out);
  --format tpm2-tools writes quote.msg, quote.sig, quote.pcrs, quote.pcrs.values and ak.pem into the
  directory FILE (tpm2_checkquote -u ak.pem -m quote.msg -s quote.sig -f quote.pcrs -q NONCE).

verify (BUNDLE | --msg F --sig F --pcrs-values F --pcrs SEL) --ak PEM --nonce HEX
       [--last-clock FILE|JSON] [--save-clock FILE] [--json]
  --last-clock: the last clock info seen from this TPM, {"clock":"…","resetCount":N,"restartCount":N} as
  --json prints it (a file, or the JSON itself): then safe must be 1 and clock, resetCount and
  restartCount must not go back (E_QUOTE_CLOCK). The file must exist: leave the flag out on first contact.
  --save-clock: when the quote is valid, write its clock info there (atomically) for the next --last-clock.
  Exit 0 when valid, 7 when not, with the reason code (E_QUOTE_SIGNATURE, E_QUOTE_MAGIC, E_QUOTE_TYPE,
  E_QUOTE_NONCE, E_QUOTE_SELECTION, E_QUOTE_PCR_DIGEST, E_QUOTE_CLOCK, E_QUOTE_SIGNER, E_QUOTE_PARSE).`;

const U32_MAX = 0xffff_ffff;
const U64_MAX = (1n << 64n) - 1n;

/** `--last-clock`: a JSON object, given inline or as a file, with clock, resetCount, restartCount. */
async function lastClockFlag(text: string): Promise<TPMS_CLOCK_INFO> {
  let raw = text;
  if (!text.trimStart().startsWith('{')) {
    try {
      raw = await readFile(text, 'utf8');
    } catch (e) {
      throw new UsageError(`--last-clock ${text}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  let doc: unknown;
  try {
    doc = JSON.parse(raw);
  } catch (e) {
    throw new UsageError(`--last-clock: not JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw new UsageError('--last-clock: expected a JSON object {"clock","resetCount","restartCount"}');
  const o = doc as Record<string, unknown>;
  const c = o.clock;
  let clock: bigint | undefined;
  if (typeof c === 'string' && /^\d{1,20}$/.test(c)) clock = BigInt(c);
  else if (typeof c === 'number' && Number.isSafeInteger(c) && c >= 0) clock = BigInt(c);
  if (clock === undefined || clock > U64_MAX)
    throw new UsageError('--last-clock: "clock" must be a decimal string (or integer) of at most 64 bits');
  const count = (name: 'resetCount' | 'restartCount'): number => {
    const v = o[name];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > U32_MAX)
      throw new UsageError(`--last-clock: "${name}" must be an integer 0–${U32_MAX}`);
    return v;
  };
  const safe = o.safe ?? 1;
  if (safe !== 0 && safe !== 1) throw new UsageError('--last-clock: "safe" must be 0 or 1 when given');
  return { clock, resetCount: count('resetCount'), restartCount: count('restartCount'), safe };
}

/** The clock info as `quote verify --json` prints it and `--last-clock` reads it. */
function clockJson(c: TPMS_CLOCK_INFO) {
  return { clock: c.clock.toString(), resetCount: c.resetCount, restartCount: c.restartCount, safe: c.safe };
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

  const ev = await ctx.withTpm(async (tpm) =>
    withAk(tpm, await akSource(tpm, explicit, alg), (ak) => makeQuote(tpm, ak, { selection, nonce })),
  );

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
    'Usage: execgate quote verify (BUNDLE | --msg F --sig F --pcrs-values F --pcrs SEL) --ak PEM --nonce HEX [--last-clock FILE|JSON] [--save-clock FILE] [--json]';
  const { values, positionals } = parseFlags(
    argv,
    {
      msg: { type: 'string' },
      sig: { type: 'string' },
      'pcrs-values': { type: 'string' },
      pcrs: { type: 'string' },
      ak: { type: 'string' },
      nonce: { type: 'string' },
      'last-clock': { type: 'string' },
      'save-clock': { type: 'string' },
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
  const lastClock =
    values['last-clock'] === undefined ? undefined : await lastClockFlag(values['last-clock']);

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
      : verifyQuote({ ...evidence, akPublicKey, nonce, ...(lastClock === undefined ? {} : { lastClock }) });
  const saveTo = values['save-clock'];
  if (verdict.ok && saveTo !== undefined && 'attest' in verdict && verdict.attest !== undefined) {
    try {
      await writeAtomic(saveTo, `${JSON.stringify(clockJson(verdict.attest.clockInfo))}\n`);
    } catch (e) {
      throw new UsageError(`--save-clock ${saveTo}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
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
              ...clockJson(a.clockInfo),
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
