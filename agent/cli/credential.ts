// SPDX-License-Identifier: Apache-2.0
/**
 * `execgate credential make | activate`: credential activation (TCG Part 1 §24). `make` is the verifier's
 * side and needs no TPM; `activate` runs on the host whose TPM holds the EK and the AK.
 */
import { DEFAULT_AK_HANDLE, parseAkPublic } from '../attest/ak.js';
import {
  activateCredential,
  akEnrolment,
  CredentialError,
  decodeCredentialFile,
  encodeCredentialFile,
  makeCredential,
} from '../attest/credential.js';
import { ekPublicFromSpki } from '../attest/ek.js';
import { equalBytes, u8 } from '../encoding/bytes.js';
import { INPUT_LIMITS, readBounded } from '../fs/read-bounded.js';
import { parseEkAlg, parseFlags, parseHandle, parseHex, toHex } from './args.js';
import type { CliContext } from './context.js';
import { EXIT, UsageError } from './exit.js';
import { readHostState, requirePinnedEk, stateDirOf } from './host-state.js';
import { checkOutput, writeOutput } from './output.js';

export const CREDENTIAL_HELP = `Usage: execgate credential <command> [flags]

Commands:
  make --ek-pub PEM --ak-public FILE [--ak-name HEX] --secret HEX [--out FILE [--force]]
  make --ek-pub PEM --ak-name HEX --unverified-ak-name --secret HEX [--out FILE [--force]]
                        TPM2_MakeCredential in software (no TPM): seal SECRET to the EK (PEM file, or
                        --ek-pub="$(cat ek.pem)"; SubjectPublicKeyInfo) and the AK's Name; writes tpm2-tools' credential
                        format to FILE (an existing FILE is replaced only with --force), else prints it as hex.
                        --ak-public FILE: the AK's TPM2B_PUBLIC (ak.pub of host init --ak-save or
                        tpm2_createak -u) or TPMT_PUBLIC; it must be a restricted signing key with fixedTPM,
                        fixedParent, sensitiveDataOrigin, no decrypt and a SHA-256+ scheme (E_AK_INVALID),
                        and its Name is computed here (--ak-name, if given, must equal it). Beside FILE go
                        FILE.ak.pem (the AK public key) and FILE.ak.json (akName, akQualifiedName under this
                        EK, akPublic): the key to trust once the secret comes back (quote verify --ak-public
                        FILE.ak.json); --json prints them too.
                        --ak-name HEX alone is refused: the TPM releases the secret to any object of that
                        Name, but nothing then says which public key that object has, so a host could hand
                        over another key as "its AK". --unverified-ak-name accepts it and records no key.
  activate --in FILE [--ak-handle H] [--ek-alg A] [--state-dir DIR]
                        TPM2_ActivateCredential with the AK at H (default 0x81010002) and the default EK
                        (rsa2048, eccP256 or eccP384); prints the secret as hex. The EK must be the one
                        host init pinned in DIR/host.json (--state-dir, EXECGATE_STATE_DIR, default
                        /var/lib/execgate; E_EK_MISMATCH otherwise) and the TPM returns the secret encrypted

Examples:
  execgate host identity --json | jq -r .ekPublicPem > ek.pem      # on the host, with ak.pub from host init --ak-save
  execgate credential make --ek-pub ek.pem --ak-public ak.pub --secret $(openssl rand -hex 32) --out cred.bin
  execgate credential activate --in cred.bin                         # on the host: prints the secret
  execgate quote verify quote.cbor --ak-public cred.bin.ak.json --nonce …   # once the secret matched`;

/** An input file, read bounded: E_INPUT_READ, E_INPUT_LIMIT (exit 2). */
function readInput(path: string, what: string, maxBytes: number): Promise<Uint8Array> {
  return readBounded(path, { maxBytes, what });
}

/** The files `make --out FILE --ak-public` writes beside FILE. */
const akPemPath = (out: string) => `${out}.ak.pem`;
const akJsonPath = (out: string) => `${out}.ak.json`;

async function make(argv: string[], ctx: CliContext): Promise<number> {
  const usage =
    'Usage: execgate credential make --ek-pub PEM (--ak-public FILE [--ak-name HEX] | --ak-name HEX --unverified-ak-name) --secret HEX [--out FILE [--force]]';
  const { values, positionals } = parseFlags(
    argv,
    {
      'ek-pub': { type: 'string' },
      'ak-public': { type: 'string' },
      'ak-name': { type: 'string' },
      'unverified-ak-name': { type: 'boolean' },
      secret: { type: 'string' },
      out: { type: 'string' },
      force: { type: 'boolean' },
    },
    usage,
  );
  const ekPub = values['ek-pub'];
  const akPublicFile = values['ak-public'];
  const akNameFlag = values['ak-name'];
  const unverified = values['unverified-ak-name'] === true;
  const secret = values.secret;
  if (positionals.length || ekPub === undefined || secret === undefined) {
    throw new UsageError(`credential make needs --ek-pub, --ak-public and --secret\n${usage}`);
  }
  if (akPublicFile === undefined && akNameFlag === undefined)
    throw new UsageError(`credential make needs --ak-public (the AK's TPM2B_PUBLIC)\n${usage}`);
  if (akPublicFile !== undefined && unverified)
    throw new UsageError(`--unverified-ak-name goes with --ak-name alone, not with --ak-public\n${usage}`);
  if (akPublicFile === undefined && !unverified) {
    throw new UsageError(
      `--ak-name alone does not say which public key the AK has: a host could activate with its AK and then hand over another key. Give --ak-public FILE (the AK's TPM2B_PUBLIC), or add --unverified-ak-name to seal to the Name anyway, knowing that no AK public key is then enrolled\n${usage}`,
    );
  }
  const ak =
    akPublicFile === undefined
      ? undefined
      : parseAkPublic(u8(await readInput(akPublicFile, '--ak-public', INPUT_LIMITS.pem)));
  const givenName = akNameFlag === undefined ? undefined : parseHex(akNameFlag, '--ak-name');
  if (ak !== undefined && givenName !== undefined && !equalBytes(ak.name, givenName)) {
    throw new CredentialError(
      'E_CREDENTIAL_INPUT',
      `--ak-name ${akNameFlag} is not the Name of --ak-public ${akPublicFile} (${toHex(ak.name)})`,
    );
  }
  const akName = ak?.name ?? givenName;
  if (akName === undefined) throw new UsageError(usage);
  const pem = ekPub.includes('-----BEGIN')
    ? ekPub
    : Buffer.from(await readInput(ekPub, '--ek-pub', INPUT_LIMITS.pem)).toString('utf8');
  const ek = ekPublicFromSpki(pem);
  const enrolment = ak === undefined ? undefined : akEnrolment(ek.public, ak);
  const replace = values.force === true;
  const out = values.out;
  if (out !== undefined) {
    // Nothing is written unless all of it can be.
    await checkOutput('--out', out, { replace });
    if (enrolment) {
      await checkOutput('--out', akPemPath(out), { replace });
      await checkOutput('--out', akJsonPath(out), { replace });
    }
  }
  const blob = makeCredential(ek.public, akName, parseHex(secret, '--secret'));
  const file = encodeCredentialFile(blob);
  if (out !== undefined) {
    if (enrolment) {
      await writeOutput('--out', akPemPath(out), enrolment.akPublicPem, { mode: 0o644, replace });
      await writeOutput('--out', akJsonPath(out), `${JSON.stringify({ ...enrolment, ekAlg: ek.alg })}\n`, {
        mode: 0o644,
        replace,
      });
    }
    await writeOutput('--out', out, file, { mode: 0o644, replace });
    if (ctx.json)
      ctx.out(
        JSON.stringify({
          out,
          ...(enrolment
            ? { akPem: akPemPath(out), akRecord: akJsonPath(out), ...enrolment }
            : { akBinding: 'unverified-ak-name', akName: toHex(akName) }),
          ekAlg: ek.alg,
        }),
      );
  } else if (ctx.json)
    ctx.out(
      JSON.stringify({
        credentialBlob: toHex(blob.credentialBlob),
        secret: toHex(blob.secret),
        ekAlg: ek.alg,
        ...(enrolment ?? { akBinding: 'unverified-ak-name', akName: toHex(akName) }),
      }),
    );
  else ctx.out(toHex(file));
  return EXIT.OK;
}

async function activate(argv: string[], ctx: CliContext): Promise<number> {
  const usage =
    'Usage: execgate credential activate --in FILE [--ak-handle H] [--ek-alg A] [--state-dir DIR]';
  const { values, positionals } = parseFlags(
    argv,
    {
      in: { type: 'string' },
      'ak-handle': { type: 'string' },
      'ek-alg': { type: 'string' },
      'state-dir': { type: 'string' },
    },
    usage,
  );
  if (positionals.length || values.in === undefined)
    throw new UsageError(`credential activate needs --in\n${usage}`);
  const akHandle =
    values['ak-handle'] === undefined ? DEFAULT_AK_HANDLE : parseHandle(values['ak-handle'], '--ak-handle');
  const ekAlg = parseEkAlg(values['ek-alg']);
  const blob = decodeCredentialFile(await readInput(values.in, '--in', INPUT_LIMITS.credential));
  // The session that carries the secret is salted only to the EK host init pinned (E_EK_MISMATCH).
  const stateDir = stateDirOf(ctx.env, values['state-dir']);
  const pinned = requirePinnedEk(await readHostState(stateDir), ekAlg, stateDir);
  const secret = await ctx.withTpm((tpm) => activateCredential(tpm, akHandle, blob, ekAlg, { pinned }));
  ctx.out(ctx.json ? JSON.stringify({ secret: toHex(secret) }) : toHex(secret));
  return EXIT.OK;
}

export const CREDENTIAL_COMMANDS: Readonly<
  Record<string, (argv: string[], ctx: CliContext) => Promise<number>>
> = {
  make,
  activate,
};
