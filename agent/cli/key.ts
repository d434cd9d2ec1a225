// SPDX-License-Identifier: Apache-2.0
/**
 * `execgate key gen | id`: the signing keys of issuers, delegates and approvers (DESIGN §2: made and used
 * by node:crypto, agent/crypto/keys.ts) and the key id (kid) artifacts name them by.
 */
import {
  generateSigningKey,
  type PublicKey,
  parsePublicKey,
  parseSigningKey,
  SIGNING_ALGS,
  type SigningAlg,
  type SigningKey,
} from '../crypto/keys.js';
import { FileWriteError } from '../fs/atomic-write.js';
import { INPUT_LIMITS, readBounded } from '../fs/read-bounded.js';
import { parseFlags, toHex } from './args.js';
import type { CliContext } from './context.js';
import { EXIT, UsageError } from './exit.js';
import { checkOutput, writeOutput } from './output.js';

export const KEY_HELP = `Usage: execgate key <command> [flags]

Commands:
  gen --alg ed25519|p256|p384 --out FILE
                 a new signing key: FILE is its PKCS#8 PEM (mode 0600, the secret), FILE.pub its SPKI
                 PEM (mode 0644, to hand out). Neither file is ever replaced (E_FILE_EXISTS): a key
                 overwritten by mistake cannot be recovered. Prints the kid.
  id FILE.pub    the kid of a public key (SPKI PEM or DER): lowercase hex SHA-256 of its DER
                 SubjectPublicKeyInfo, as artifacts (COSE kid), revocation lists (execgate revoke --kid)
                 and verify messages name it. Public keys only: a private key is refused, so a script
                 never reads a secret where it meant a public key.

Algorithms: ed25519 (COSE EdDSA), p256 (ES256), p384 (ES384).

Example:
  execgate key gen --alg ed25519 --out /etc/execgate/issuer.key   # writes issuer.key and issuer.key.pub
  execgate key id /etc/execgate/issuer.key.pub`;

/** A signing key file (`--key FILE`, PKCS#8 PEM), read bounded. */
export async function readSigningKey(file: string, what: string): Promise<SigningKey> {
  return parseSigningKey(await readBounded(file, { maxBytes: INPUT_LIMITS.key, what }), `${what} ${file}`);
}

/** A public key file (SPKI PEM or DER), read bounded; a private key is refused by name. */
export async function readPublicKey(file: string, what: string): Promise<PublicKey> {
  const bytes = await readBounded(file, { maxBytes: INPUT_LIMITS.key, what });
  if (Buffer.from(bytes).toString('latin1').includes('PRIVATE KEY-----'))
    throw new UsageError(
      `${what} ${file} holds a private key: give its public key (the .pub file key gen wrote beside it)`,
    );
  return parsePublicKey(bytes, `${what} ${file}`);
}

async function gen(argv: string[], ctx: CliContext): Promise<number> {
  const usage = 'Usage: execgate key gen --alg ed25519|p256|p384 --out FILE';
  const { values, positionals } = parseFlags(
    argv,
    { alg: { type: 'string' }, out: { type: 'string' } },
    usage,
  );
  if (positionals.length) throw new UsageError(`unknown argument "${positionals[0]}"\n${usage}`);
  const alg = values.alg;
  if (alg === undefined || !SIGNING_ALGS.includes(alg as SigningAlg))
    throw new UsageError(
      `--alg must be ed25519, p256 or p384, got ${alg === undefined ? 'none' : `"${alg}"`}`,
    );
  const out = values.out;
  if (out === undefined) throw new UsageError(`--out FILE is required\n${usage}`);
  const pub = `${out}.pub`;
  const pair = generateSigningKey(alg as SigningAlg);
  try {
    // Both refused before either is written: no secret without its public half, nothing replaced.
    await checkOutput('--out', out, { replace: false });
    await checkOutput('--out', pub, { replace: false });
    await writeOutput('--out', out, pair.privatePem, { mode: 0o600, replace: false });
    await writeOutput('--out', pub, pair.publicPem, { mode: 0o644, replace: false });
  } catch (e) {
    // key gen has no --force: a key replaced by mistake is lost for good.
    if (e instanceof FileWriteError && e.code === 'E_FILE_EXISTS')
      throw new FileWriteError(
        'E_FILE_EXISTS',
        `${e.message.replace(/; --force replaces it$/, '')}: key gen never replaces a key; remove it first, or choose another --out`,
        { cause: e },
      );
    throw e;
  }
  const kid = toHex(parsePublicKey(Buffer.from(pair.publicPem)).kid);
  if (ctx.json) ctx.out(JSON.stringify({ alg, key: out, pub, kid }));
  else ctx.out(`wrote ${out} (secret, 0600) and ${pub}; kid ${kid}`);
  return EXIT.OK;
}

async function id(argv: string[], ctx: CliContext): Promise<number> {
  const usage = 'Usage: execgate key id FILE.pub';
  const { positionals } = parseFlags(argv, {}, usage);
  if (positionals.length !== 1) throw new UsageError(`one public key file\n${usage}`);
  const key = await readPublicKey(positionals[0] as string, 'key id');
  const kid = toHex(key.kid);
  ctx.out(ctx.json ? JSON.stringify({ alg: key.alg, kid }) : kid);
  return EXIT.OK;
}

export const KEY_COMMANDS: Readonly<Record<string, (argv: string[], ctx: CliContext) => Promise<number>>> = {
  gen,
  id,
};
