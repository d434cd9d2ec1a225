// SPDX-License-Identifier: Apache-2.0
/**
 * `execgate credential make | activate`: credential activation (TCG Part 1 §24). `make` is the verifier's
 * side and needs no TPM; `activate` runs on the host whose TPM holds the EK and the AK.
 */
import { DEFAULT_AK_HANDLE } from '../attest/ak.js';
import {
  activateCredential,
  decodeCredentialFile,
  encodeCredentialFile,
  makeCredential,
} from '../attest/credential.js';
import { ekPublicFromSpki } from '../attest/ek.js';
import { writeFileSafe } from '../fs/atomic-write.js';
import { INPUT_LIMITS, readBounded } from '../fs/read-bounded.js';
import { parseEkAlg, parseFlags, parseHandle, parseHex, toHex } from './args.js';
import type { CliContext } from './context.js';
import { EXIT, UsageError } from './exit.js';

export const CREDENTIAL_HELP = `Usage: execgate credential <command> [flags]

Commands:
  make --ek-pub PEM --ak-name HEX --secret HEX [--out FILE [--force]]
                        TPM2_MakeCredential in software (no TPM): seal SECRET to the EK (PEM file, or
                        --ek-pub="$(cat ek.pem)"; SubjectPublicKeyInfo) and the AK's name; writes tpm2-tools' credential
                        format to FILE (an existing FILE is replaced only with --force), else prints it as hex
  activate --in FILE [--ak-handle H] [--ek-alg A]
                        TPM2_ActivateCredential with the AK at H (default 0x81010002) and the default EK
                        (rsa2048, eccP256 or eccP384); prints the secret as hex

Examples:
  execgate host identity --json | jq -r .ekPublicPem > ek.pem
  execgate credential make --ek-pub ek.pem --ak-name 000b… --secret $(openssl rand -hex 32) --out cred.bin
  execgate credential activate --in cred.bin`;

/** An input file, read bounded: E_INPUT_READ, E_INPUT_LIMIT (exit 2). */
function readInput(path: string, what: string, maxBytes: number): Promise<Uint8Array> {
  return readBounded(path, { maxBytes, what });
}

async function make(argv: string[], ctx: CliContext): Promise<number> {
  const usage =
    'Usage: execgate credential make --ek-pub PEM --ak-name HEX --secret HEX [--out FILE [--force]]';
  const { values, positionals } = parseFlags(
    argv,
    {
      'ek-pub': { type: 'string' },
      'ak-name': { type: 'string' },
      secret: { type: 'string' },
      out: { type: 'string' },
      force: { type: 'boolean' },
    },
    usage,
  );
  const ekPub = values['ek-pub'];
  const akName = values['ak-name'];
  const secret = values.secret;
  if (positionals.length || ekPub === undefined || akName === undefined || secret === undefined) {
    throw new UsageError(`credential make needs --ek-pub, --ak-name and --secret\n${usage}`);
  }
  const pem = ekPub.includes('-----BEGIN')
    ? ekPub
    : Buffer.from(await readInput(ekPub, '--ek-pub', INPUT_LIMITS.pem)).toString('utf8');
  const ek = ekPublicFromSpki(pem);
  const blob = makeCredential(ek.public, parseHex(akName, '--ak-name'), parseHex(secret, '--secret'));
  const file = encodeCredentialFile(blob);
  if (values.out !== undefined)
    await writeFileSafe(values.out, file, { mode: 0o644, replace: values.force === true });
  else if (ctx.json)
    ctx.out(
      JSON.stringify({
        credentialBlob: toHex(blob.credentialBlob),
        secret: toHex(blob.secret),
        ekAlg: ek.alg,
      }),
    );
  else ctx.out(toHex(file));
  return EXIT.OK;
}

async function activate(argv: string[], ctx: CliContext): Promise<number> {
  const usage = 'Usage: execgate credential activate --in FILE [--ak-handle H] [--ek-alg A]';
  const { values, positionals } = parseFlags(
    argv,
    { in: { type: 'string' }, 'ak-handle': { type: 'string' }, 'ek-alg': { type: 'string' } },
    usage,
  );
  if (positionals.length || values.in === undefined)
    throw new UsageError(`credential activate needs --in\n${usage}`);
  const akHandle =
    values['ak-handle'] === undefined ? DEFAULT_AK_HANDLE : parseHandle(values['ak-handle'], '--ak-handle');
  const ekAlg = parseEkAlg(values['ek-alg']);
  const blob = decodeCredentialFile(await readInput(values.in, '--in', INPUT_LIMITS.credential));
  const secret = await ctx.withTpm((tpm) => activateCredential(tpm, akHandle, blob, ekAlg));
  ctx.out(ctx.json ? JSON.stringify({ secret: toHex(secret) }) : toHex(secret));
  return EXIT.OK;
}

export const CREDENTIAL_COMMANDS: Readonly<
  Record<string, (argv: string[], ctx: CliContext) => Promise<number>>
> = {
  make,
  activate,
};
