// SPDX-License-Identifier: Apache-2.0
/**
 * `execgate revoke`: a signed revocation list (agent/artifact/revocation.ts). Lists are cumulative: the
 * new one carries every entry of the old one (which must verify under the same key) plus the new
 * entries, under the next sequence number, so a verifier that keeps the newest list per key never
 * loses a revocation and never takes an older list back.
 */
import { LIMITS } from '../artifact/claims.js';
import {
  decodeRevocationList,
  issueRevocationList,
  type RevocationList,
  verifyRevocationList,
} from '../artifact/revocation.js';
import { initVerification } from '../crypto/verify.js';
import { INPUT_LIMITS, readBounded } from '../fs/read-bounded.js';
import { parseFlags, parseHex, toHex } from './args.js';
import type { CliContext } from './context.js';
import { EXIT, UsageError } from './exit.js';
import { readSigningKey } from './key.js';
import { checkOutput, writeOutput } from './output.js';

export const REVOKE_HELP = `Usage: execgate revoke --key FILE (--cti HEX | --kid HEX)… [--list OLD | --issuer NAME] --out LIST [--force]

A signed revocation list (COSE_Sign1: issuer, sequence number, issued-at, revoked ctis and kids).
  --key FILE       the issuer's signing key (PKCS#8 PEM); verifiers take lists signed by a key they trust
                   as an artifact issuer (artifact verify --trust)
  --cti HEX        revoke one artifact by its cti (artifact inspect shows it), 16 to 64 bytes; revoking
                   an artifact revokes every artifact delegated below it
  --kid HEX        revoke every artifact signed by a key, and every descendant of one (key id shows it)
  --list OLD       the current list: the new one keeps all its entries and takes the next sequence
                   number and its issuer; OLD must verify under --key (E_REVOCATION_LIST otherwise)
  --issuer NAME    the issuer name of a first list (without --list)
  --out LIST       where to write it (with --force, LIST may be OLD itself: replaced atomically)
Verifiers keep the newest list of each key: one with a lower sequence number never replaces it.

Example:
  execgate revoke --key issuer.key --issuer ops --cti 5f1c… --out revoked.cose
  execgate revoke --key issuer.key --list revoked.cose --kid 9a0b… --out revoked.cose --force`;

async function revoke(argv: string[], ctx: CliContext): Promise<number> {
  const usage =
    'Usage: execgate revoke --key FILE (--cti HEX | --kid HEX)… [--list OLD | --issuer NAME] --out LIST [--force]';
  const { values, positionals } = parseFlags(
    argv,
    {
      key: { type: 'string' },
      cti: { type: 'string', multiple: true },
      kid: { type: 'string', multiple: true },
      list: { type: 'string' },
      issuer: { type: 'string' },
      out: { type: 'string' },
      force: { type: 'boolean' },
    },
    usage,
  );
  if (positionals.length) throw new UsageError(`unknown argument "${positionals[0]}"\n${usage}`);
  if (values.key === undefined) throw new UsageError(`--key FILE is required\n${usage}`);
  if (values.out === undefined) throw new UsageError(`--out LIST is required\n${usage}`);
  const ctis = (values.cti ?? []).map((c) => {
    const b = parseHex(c, '--cti');
    if (b.length < LIMITS.ctiMin || b.length > LIMITS.ctiMax)
      throw new UsageError(
        `--cti must be ${LIMITS.ctiMin} to ${LIMITS.ctiMax} bytes, got ${b.length}: "${c}"`,
      );
    return b;
  });
  const kids = (values.kid ?? []).map((k) => {
    const b = parseHex(k, '--kid');
    if (b.length !== 32)
      throw new UsageError(`--kid must be 32 bytes (execgate key id), got ${b.length}: "${k}"`);
    return b;
  });
  if (ctis.length + kids.length === 0)
    throw new UsageError(`name at least one --cti or --kid to revoke\n${usage}`);
  const issuer = values.issuer;
  if (issuer !== undefined && (issuer.length === 0 || issuer.length > 256))
    throw new UsageError('--issuer must have 1 to 256 characters');
  const replace = values.force === true;
  await checkOutput('--out', values.out, { replace });
  const key = await readSigningKey(values.key, '--key');

  let old: RevocationList | undefined;
  if (values.list !== undefined) {
    await initVerification();
    old = verifyRevocationList(
      await readBounded(values.list, { maxBytes: INPUT_LIMITS.revocationList, what: '--list' }),
      [key],
    );
    if (issuer !== undefined && issuer !== old.iss)
      throw new UsageError(
        `--issuer "${issuer}" differs from the issuer "${old.iss}" of --list ${values.list}`,
      );
  }
  const iss = old?.iss ?? issuer;
  if (iss === undefined)
    throw new UsageError(`a first list needs --issuer NAME (later ones take it from --list OLD)\n${usage}`);
  const bytes = issueRevocationList(
    {
      iss,
      seq: (old?.seq ?? 0) + 1,
      iat: Math.floor(Date.now() / 1000),
      ctis: [...(old?.ctis ?? []), ...ctis],
      kids: [...(old?.kids ?? []), ...kids],
    },
    key,
  );
  await writeOutput('--out', values.out, bytes, { mode: 0o644, replace });
  const { list } = decodeRevocationList(bytes);
  if (ctx.json)
    ctx.out(
      JSON.stringify({
        out: values.out,
        iss: list.iss,
        seq: list.seq,
        iat: list.iat,
        signer: toHex(list.signer),
        ctis: list.ctis.map(toHex),
        kids: list.kids.map(toHex),
      }),
    );
  else
    ctx.out(
      `wrote ${values.out}: list ${list.seq} of ${list.iss}, ${list.ctis.length} ctis and ${list.kids.length} kids revoked`,
    );
  return EXIT.OK;
}

/** `execgate revoke` has no sub-command. */
export const REVOKE_DEFAULT = revoke;
