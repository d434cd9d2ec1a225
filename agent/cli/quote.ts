// SPDX-License-Identifier: Apache-2.0
/** `execgate quote` (make a quote) and `execgate quote verify` (check one, with reason codes). */
import { randomBytes } from 'node:crypto';
import { AkError, type AkPair, loadAk, parseAkPair, parseAkPublic } from '../attest/ak.js';
import { parseAkEnrolment } from '../attest/credential.js';
import { type EkAlg, withEk } from '../attest/ek.js';
import {
  bundleFromText,
  decodeBundle,
  encodeBundle,
  type LoadedAk,
  MAX_NONCE,
  makeQuote,
  pemToSpki,
  QuoteError,
  spkiOfPublic,
  withAk,
} from '../attest/quote.js';
import {
  checkTpm2ToolsOut,
  parsePcrs,
  splitValues,
  writeTpm2ToolsQuote,
} from '../attest/tpm2-tools-format.js';
import { verifyQuote } from '../attest/verify-quote.js';
import { initVerification } from '../crypto/verify.js';
import { equalBytes } from '../encoding/bytes.js';
import { INPUT_LIMITS, InputError, readBounded, readBoundedText } from '../fs/read-bounded.js';
import { formatSelection, sameSelection } from '../tpm/pcr-selection.js';
import type { TPMS_CLOCK_INFO, TPMT_PUBLIC } from '../tpm/structures.js';
import type { Tpm } from '../tpm/tpm.js';
import { parseEkAlg, parseFlags, parseHandle, parseNonce, toHex } from './args.js';
import type { CliContext } from './context.js';
import { akSource, QuoteInvalidError, qualifiedNameFlag, selectionFlag } from './evidence.js';
import { EXIT, UsageError } from './exit.js';
import { pinnedEk, readHostState, stateDirOf } from './host-state.js';
import { checkOutput, forFlag, writeOutput } from './output.js';
import { clockJson, quoteVerdictJson } from './verdict-json.js';

export const QUOTE_HELP = `Usage: execgate quote [flags]            make a quote
       execgate quote verify [flags]     verify one

quote [--pcrs SEL] [--nonce HEX] [--ak-handle H | --ak-alg rsa|ecc | --ak-public F --ak-private F [--ek-alg A]
      [--state-dir DIR]] [--out FILE] [--format bundle|tpm2-tools] [--force]
  SEL is tpm2-tools syntax, ranges allowed (default sha256:0-7): sha1:0,23+sha256:0-7,16
  The AK is the host's AK (execgate host init) at the persistent handle H (default 0x81010002); an object
  there that is not such an AK is refused (E_AK_INVALID). Without --ak-handle, when 0x81010002 is empty,
  a primary AK of --ak-alg (default rsa) is made in the endorsement hierarchy.
  --ak-public F --ak-private F: a saved AK pair (execgate host init --ak-save, or tpm2_createak -u/-r),
  loaded under the default EK of --ek-alg (rsa2048, eccP256, eccP384; default rsa2048) for this quote,
  in a session salted to the EK host init pinned in DIR/host.json (--state-dir, else EXECGATE_STATE_DIR,
  else /var/lib/execgate) when there is one (E_EK_MISMATCH if the TPM reports another).
  --format bundle (default) writes a CBOR evidence bundle to FILE (without --out: base64 on stdout and
  the nonce on stderr; quote verify reads the bundle in either form);
  --format tpm2-tools writes quote.msg, quote.sig, quote.pcrs, quote.pcrs.values and ak.pem into the
  directory FILE (tpm2_checkquote -u ak.pem -m quote.msg -s quote.sig -f quote.pcrs -q NONCE).
  Existing files are replaced only with --force; a symbolic link, or a directory another user owns, never.

verify (BUNDLE | --msg F --sig F --pcrs-values F [--pcrs SEL]) (--ak-public FILE | --ak PEM) --nonce HEX
       [--ak-qualified-name HEX] [--last-clock FILE|JSON] [--save-clock FILE] [--allow-sha1-ak] [--json]
  --ak-public FILE: the AK to trust, as enrolled: the FILE.ak.json that credential make --ak-public wrote
  beside the credential (its akPublic, and its akQualifiedName pinned as by --ak-qualified-name), or a
  TPM2B_PUBLIC/TPMT_PUBLIC (ak.pub); the key must be a restricted signing key with fixedTPM, fixedParent,
  sensitiveDataOrigin, no decrypt and a SHA-256+ scheme (E_AK_INVALID, exit 2), so a plain software key
  or a PEM is refused. Its attributes are only claims: trust an ak.pub only as far as the enrolment
  (credential make --ak-public, then activate) that checked it.
  --ak PEM: a bare SubjectPublicKeyInfo, trusted as given: it proves nothing about where its private key
  lives; use it only for a key enrolled by other means.
  --ak-qualified-name: the AK's qualified Name under the EK (akQualifiedName of execgate host identity
  --json, or of host init --ak-save); the quote's qualifiedSigner must equal it (E_QUOTE_SIGNER), so a
  quote by a trusted key that is not that AK under that EK (e.g. a primary key) is refused.
  --last-clock: the last clock info seen from this TPM, {"clock":"…","resetCount":N,"restartCount":N} as
  --json prints it (a file, or the JSON itself): then safe must be 1 and clock, resetCount and
  restartCount must not go back (E_QUOTE_CLOCK). The file must exist: leave the flag out on first contact.
  --save-clock: when the quote is valid, write its clock info there (atomically) for the next --last-clock.
  --allow-sha1-ak: accept a quote signed with a SHA-1 scheme (RSASSA/RSAPSS/ECDSA with SHA-1: a legacy
  AK; SHA-1 also makes its pcrDigest). Without it such a quote is refused (E_QUOTE_SIGNATURE_ALG).
  Exit 0 when valid, 7 when not, with the reason code (E_QUOTE_SIGNATURE, E_QUOTE_SIGNATURE_ALG,
  E_QUOTE_MAGIC, E_QUOTE_TYPE, E_QUOTE_NONCE, E_QUOTE_SELECTION, E_QUOTE_PCR_DIGEST, E_QUOTE_CLOCK,
  E_QUOTE_SIGNER, E_QUOTE_PARSE); 2 when an input file cannot be read (E_INPUT_READ) or is longer than
  its limit (E_INPUT_LIMIT: 64 KiB for a bundle, a tpm2-tools file or a PEM key).
  --pcrs-values F: tpm2_quote -o's file (its default serialized form, as quote.pcrs: it carries the
  selection, so --pcrs may be left out) or bare values (tpm2_quote -F values, quote.pcrs.values: --pcrs
  gives their selection).

Examples:
  NONCE=$(openssl rand -hex 20)                  # the verifier's fresh nonce
  execgate quote --nonce $NONCE --out quote.cbor
  execgate quote verify quote.cbor --ak ak.pem --nonce $NONCE --ak-qualified-name $AKQN
  execgate quote verify --msg m.bin --sig s.bin --pcrs-values pcrs.out --ak ak.pem --nonce $NONCE   # tpm2_quote's files`;

const U32_MAX = 0xffff_ffff;
const U64_MAX = (1n << 64n) - 1n;

/** `--last-clock`: a JSON object, given inline or as a file, with clock, resetCount, restartCount. */
async function lastClockFlag(text: string): Promise<TPMS_CLOCK_INFO> {
  let raw = text;
  if (!text.trimStart().startsWith('{')) {
    try {
      raw = await readBoundedText(text, { maxBytes: INPUT_LIMITS.clock, what: '--last-clock' });
    } catch (e) {
      if (e instanceof InputError) throw e;
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
/**
 * `--ak-public F --ak-private F [--ek-alg A]`: a saved AK pair, parsed and checked to be an AK
 * (E_AK_INVALID otherwise) before the TPM is asked anything; undefined when neither flag is given.
 */
async function savedAkFlags(
  values: {
    'ak-public'?: string | undefined;
    'ak-private'?: string | undefined;
    'ek-alg'?: string | undefined;
    'state-dir'?: string | undefined;
    'ak-handle'?: string | undefined;
    'ak-alg'?: string | undefined;
  },
  usage: string,
): Promise<{ pair: AkPair; ekAlg: EkAlg } | undefined> {
  const pub = values['ak-public'];
  const priv = values['ak-private'];
  if (pub === undefined && priv === undefined) {
    if (values['ek-alg'] !== undefined || values['state-dir'] !== undefined)
      throw new UsageError(`--ek-alg and --state-dir go with --ak-public\n${usage}`);
    return undefined;
  }
  if (pub === undefined || priv === undefined)
    throw new UsageError(`--ak-public and --ak-private go together\n${usage}`);
  if (values['ak-handle'] !== undefined || values['ak-alg'] !== undefined)
    throw new UsageError(`--ak-public/--ak-private name the AK: not with --ak-handle or --ak-alg\n${usage}`);
  const ekAlg = parseEkAlg(values['ek-alg']);
  const bytes = {
    public: await readBounded(pub, { maxBytes: INPUT_LIMITS.tpm2ToolsFile, what: '--ak-public' }),
    private: await readBounded(priv, { maxBytes: INPUT_LIMITS.tpm2ToolsFile, what: '--ak-private' }),
  };
  try {
    return { pair: parseAkPair(bytes), ekAlg };
  } catch (e) {
    if (e instanceof AkError) throw e;
    throw new UsageError(
      `--ak-public ${pub} --ak-private ${priv}: not a TPM2B_PUBLIC and TPM2B_PRIVATE (${e instanceof Error ? e.message : String(e)})`,
    );
  }
}

/** Runs `fn` with a saved AK pair loaded under the EK (attest/ak.ts loadAk), flushed afterwards. */
async function withSavedAk<T>(
  tpm: Tpm,
  pair: AkPair,
  ekAlg: EkAlg,
  fn: (ak: LoadedAk) => Promise<T>,
  pinned?: TPMT_PUBLIC,
): Promise<T> {
  // The EK is released once the AK is loaded: a loaded object does not need its parent, and swtpm has
  // only three object slots.
  const handle = await withEk(tpm, ekAlg, (ek) => loadAk(tpm, ek, pair), pinned ? { pinned } : {});
  try {
    return await fn({ handle, public: pair.public });
  } finally {
    await tpm.flush(handle);
  }
}

/**
 * `quote verify --ak-public FILE`: an enrolment record (credential make's FILE.ak.json: the AK public and
 * its qualified Name) or a TPM2B_PUBLIC/TPMT_PUBLIC, held to the AK policy (E_AK_INVALID otherwise).
 */
async function akPublicFlag(
  file: string,
  allowSha1: boolean,
): Promise<{ public: TPMT_PUBLIC; qualifiedName?: Uint8Array }> {
  const bytes = await readBounded(file, { maxBytes: INPUT_LIMITS.tpm2ToolsFile, what: '--ak-public' });
  const text = Buffer.from(bytes).toString('utf8');
  if (text.trimStart().startsWith('{')) return parseAkEnrolment(text, { allowSha1 });
  return parseAkPublic(bytes, { allowSha1 });
}

async function make(argv: string[], ctx: CliContext): Promise<number> {
  const usage =
    'Usage: execgate quote [--pcrs SEL] [--nonce HEX] [--ak-handle H | --ak-alg rsa|ecc | --ak-public F --ak-private F [--ek-alg A] [--state-dir DIR]] [--out FILE] [--format bundle|tpm2-tools] [--force]';
  const { values, positionals } = parseFlags(
    argv,
    {
      pcrs: { type: 'string' },
      nonce: { type: 'string' },
      'ak-handle': { type: 'string' },
      'ak-alg': { type: 'string' },
      'ak-public': { type: 'string' },
      'ak-private': { type: 'string' },
      'ek-alg': { type: 'string' },
      'state-dir': { type: 'string' },
      out: { type: 'string' },
      format: { type: 'string' },
      force: { type: 'boolean' },
    },
    usage,
  );
  if (positionals.length) throw new UsageError(`unknown argument "${positionals[0]}"\n${usage}`);
  const selection = selectionFlag(values.pcrs ?? 'sha256:0-7');
  const nonce = values.nonce === undefined ? new Uint8Array(randomBytes(20)) : parseNonce(values.nonce);
  if (nonce.length > MAX_NONCE) throw new UsageError(`--nonce is at most ${MAX_NONCE} bytes`);
  const format = values.format ?? 'bundle';
  if (format !== 'bundle' && format !== 'tpm2-tools')
    throw new UsageError(`--format must be bundle or tpm2-tools, got "${format}"`);
  if (format === 'tpm2-tools' && values.out === undefined)
    throw new UsageError('--format tpm2-tools needs --out DIR');
  const alg = values['ak-alg'] ?? 'rsa';
  if (alg !== 'rsa' && alg !== 'ecc') throw new UsageError(`--ak-alg must be rsa or ecc, got "${alg}"`);
  const explicit =
    values['ak-handle'] === undefined ? undefined : parseHandle(values['ak-handle'], '--ak-handle');
  const saved = await savedAkFlags(values, usage);
  const replace = values.force === true;
  // Refused before the TPM quotes: a planted link or a file kept without --force.
  if (format === 'bundle' && values.out !== undefined) await checkOutput('--out', values.out, { replace });
  if (format === 'tpm2-tools') {
    const dir = values.out ?? '.';
    await forFlag('--out', dir, () => checkTpm2ToolsOut(dir, { replace }));
  }

  // The saved pair is loaded in a session salted to the EK: the pinned one, once host init pinned it.
  const pinned =
    saved === undefined
      ? undefined
      : pinnedEk(await readHostState(stateDirOf(ctx.env, values['state-dir'])), saved.ekAlg);
  const ev = await ctx.withTpm(async (tpm) => {
    const quote = (ak: LoadedAk) => makeQuote(tpm, ak, { selection, nonce });
    if (saved !== undefined) return withSavedAk(tpm, saved.pair, saved.ekAlg, quote, pinned);
    return withAk(tpm, await akSource(tpm, explicit, alg), quote);
  });

  if (format === 'tpm2-tools') {
    const dir = values.out ?? '.';
    const files = await forFlag('--out', dir, () => writeTpm2ToolsQuote(dir, ev, { replace }));
    if (ctx.json) ctx.out(JSON.stringify({ nonce: toHex(nonce), pcrs: values.pcrs ?? 'sha256:0-7', files }));
    else ctx.out(`nonce ${toHex(nonce)}; wrote ${Object.values(files).join(' ')}`);
    return EXIT.OK;
  }
  const bundle = encodeBundle(ev);
  if (values.out === undefined) {
    if (ctx.json)
      ctx.out(JSON.stringify({ nonce: toHex(nonce), bundle: Buffer.from(bundle).toString('base64') }));
    else {
      // stdout stays the bundle alone (for a pipe or a file); the nonce the verifier needs goes beside it.
      ctx.out(Buffer.from(bundle).toString('base64'));
      ctx.stderr.write(`nonce ${toHex(nonce)} (quote verify BUNDLE --nonce ${toHex(nonce)})\n`);
    }
    return EXIT.OK;
  }
  await writeOutput('--out', values.out, bundle, { mode: 0o644, replace });
  if (ctx.json) ctx.out(JSON.stringify({ nonce: toHex(nonce), out: values.out }));
  else ctx.out(`nonce ${toHex(nonce)}; wrote ${values.out}`);
  return EXIT.OK;
}

/** tpm2-tools' serialized PCR file (tpm2_quote -o, quote.pcrs) when `bytes` is one; else undefined. */
function serializedPcrs(bytes: Uint8Array): ReturnType<typeof parsePcrs> | undefined {
  try {
    return parsePcrs(bytes);
  } catch (e) {
    if (e instanceof QuoteError) return undefined;
    throw e;
  }
}

async function verify(argv: string[], ctx: CliContext): Promise<number> {
  const usage =
    'Usage: execgate quote verify (BUNDLE | --msg F --sig F --pcrs-values F [--pcrs SEL]) (--ak-public FILE | --ak PEM) --nonce HEX [--ak-qualified-name HEX] [--last-clock FILE|JSON] [--save-clock FILE] [--allow-sha1-ak] [--json]';
  const { values, positionals } = parseFlags(
    argv,
    {
      msg: { type: 'string' },
      sig: { type: 'string' },
      'pcrs-values': { type: 'string' },
      pcrs: { type: 'string' },
      ak: { type: 'string' },
      'ak-public': { type: 'string' },
      nonce: { type: 'string' },
      'ak-qualified-name': { type: 'string' },
      'last-clock': { type: 'string' },
      'save-clock': { type: 'string' },
      'allow-sha1-ak': { type: 'boolean' },
    },
    usage,
  );
  if ((values.ak === undefined) === (values['ak-public'] === undefined) || values.nonce === undefined)
    throw new UsageError(`one of --ak-public and --ak, and --nonce, are required\n${usage}`);
  const nonce = parseNonce(values.nonce);
  let akQualifiedName =
    values['ak-qualified-name'] === undefined ? undefined : qualifiedNameFlag(values['ak-qualified-name']);
  const files = values.msg !== undefined || values.sig !== undefined || values['pcrs-values'] !== undefined;
  if (positionals.length > 1 || (positionals.length === 1) === files) {
    throw new UsageError(`give either a BUNDLE file or --msg, --sig, --pcrs-values and --pcrs\n${usage}`);
  }
  let akPublicKey: Uint8Array;
  if (values['ak-public'] !== undefined) {
    const enrolled = await akPublicFlag(values['ak-public'], values['allow-sha1-ak'] === true);
    akPublicKey = spkiOfPublic(enrolled.public);
    if (enrolled.qualifiedName !== undefined) {
      if (akQualifiedName !== undefined && !equalBytes(akQualifiedName, enrolled.qualifiedName))
        throw new UsageError(
          `--ak-qualified-name differs from the akQualifiedName enrolled in ${values['ak-public']}`,
        );
      akQualifiedName = enrolled.qualifiedName;
    }
  } else {
    try {
      akPublicKey = pemToSpki(
        await readBoundedText(values.ak ?? '', { maxBytes: INPUT_LIMITS.pem, what: '--ak' }),
      );
    } catch (e) {
      if (e instanceof InputError) throw e;
      throw new UsageError(`--ak ${values.ak}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const requested = values.pcrs === undefined ? undefined : selectionFlag(values.pcrs);
  const lastClock =
    values['last-clock'] === undefined ? undefined : await lastClockFlag(values['last-clock']);

  const evidence = await (async () => {
    try {
      if (!files) {
        const ev = decodeBundle(
          bundleFromText(
            await readBounded(positionals[0] ?? '', { maxBytes: INPUT_LIMITS.quoteBundle, what: 'BUNDLE' }),
          ),
        );
        return {
          attest: ev.attest,
          signature: ev.signature,
          selection: requested ?? ev.selection,
          pcrValues: ev.pcrValues,
        };
      }
      if (values.msg === undefined || values.sig === undefined || values['pcrs-values'] === undefined) {
        throw new UsageError(`--msg, --sig and --pcrs-values go together\n${usage}`);
      }
      const attest = await readBounded(values.msg, { maxBytes: INPUT_LIMITS.tpm2ToolsFile, what: '--msg' });
      const signature = await readBounded(values.sig, {
        maxBytes: INPUT_LIMITS.tpm2ToolsFile,
        what: '--sig',
      });
      const pcrFile = await readBounded(values['pcrs-values'], {
        maxBytes: INPUT_LIMITS.tpm2ToolsFile,
        what: '--pcrs-values',
      });
      const serialized = serializedPcrs(pcrFile);
      if (serialized !== undefined) {
        // tpm2_quote -o (its default "serialized" form, execgate's quote.pcrs): it carries its selection.
        if (requested !== undefined && !sameSelection(requested, serialized.selection))
          throw new UsageError(
            `--pcrs ${values.pcrs} differs from the selection in ${values['pcrs-values']} (${formatSelection(serialized.selection)}): leave --pcrs out`,
          );
        return { attest, signature, selection: serialized.selection, pcrValues: serialized.values };
      }
      if (requested === undefined)
        throw new UsageError(
          `--pcrs-values ${values['pcrs-values']} holds bare values (tpm2_quote -F values): give their selection with --pcrs`,
        );
      return { attest, signature, selection: requested, pcrValues: splitValues(requested, pcrFile) };
    } catch (e) {
      if (e instanceof QuoteError) return { failure: e.message };
      throw e;
    }
  })();

  await initVerification();
  const verdict =
    'failure' in evidence
      ? { ok: false, code: 'E_QUOTE_PARSE' as const, detail: evidence.failure }
      : verifyQuote({
          ...evidence,
          akPublicKey,
          nonce,
          ...(lastClock === undefined ? {} : { lastClock }),
          ...(akQualifiedName === undefined ? {} : { akQualifiedName }),
          ...(values['allow-sha1-ak'] === true ? { allowSha1Signatures: true } : {}),
        });
  const saveTo = values['save-clock'];
  if (verdict.ok && saveTo !== undefined && 'attest' in verdict && verdict.attest !== undefined) {
    // The clock file is state, rewritten by each verification: replaced (never through a link).
    await writeOutput('--save-clock', saveTo, `${JSON.stringify(clockJson(verdict.attest.clockInfo))}\n`, {
      mode: 0o644,
      replace: true,
    });
  }
  if (ctx.json) {
    ctx.out(JSON.stringify(quoteVerdictJson(verdict)));
    // A failure goes on to the error below: the JSON on stdout, and the reason on stderr.
    if (verdict.ok) return EXIT.OK;
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
