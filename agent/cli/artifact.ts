// SPDX-License-Identifier: Apache-2.0
/**
 * `execgate artifact issue | delegate | approve | inspect | verify`: authorization artifacts (DESIGN §5,
 * agent/artifact). The verdict is the library's pure `verifyArtifact`; this module reads the files,
 * maps flags to claims (artifact-flags.ts) and prints.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { COSE_ALG_NAME } from '../artifact/cose.js';
import {
  type ArtifactClaims,
  ArtifactError,
  approveArtifact,
  decodeArtifact,
  delegateArtifact,
  issueArtifact,
  type RevocationList,
  RevocationState,
  verifyArtifact,
  verifyRevocationList,
} from '../artifact/index.js';
import { keyId, type PublicKey } from '../crypto/keys.js';
import { initVerification } from '../crypto/verify.js';
import { writeFileSafe } from '../fs/atomic-write.js';
import { INPUT_LIMITS, InputError, readBounded } from '../fs/read-bounded.js';
import { isoTime, parseDuration, parseFlags, parseIndex, parseTime, toHex } from './args.js';
import { CLAIM_FLAGS, CLAIM_HELP, claimsFromFlags, claimsRefused } from './artifact-flags.js';
import type { CliContext } from './context.js';
import { EXIT, UsageError } from './exit.js';
import { jsonSafe } from './json.js';
import { readPublicKey, readSigningKey } from './key.js';
import { checkOutput, writeOutput } from './output.js';
import { artifactVerdictJson, claimsJson, linkJson } from './verdict-json.js';

export const ARTIFACT_HELP = `Usage: execgate artifact <command> [flags]

Commands:
  issue --key FILE --issuer NAME (--host AKNAME | --host-identity FILE | --group NAME) --exe PATH
        (--ttl DUR | --not-after TIME) [claim flags] --out FILE [--force]
                 a root artifact signed by the issuer key FILE (PKCS#8 PEM, execgate key gen)
  delegate --parent FILE --key FILE --issuer NAME --exe PATH (--ttl DUR | --not-after TIME)
        [claim flags] --out FILE [--force]
                 a child under the parent's delegate grant, signed by the delegate key: its scope within
                 the grant, its window inside the parent's, its sub the parent's (E_LINEAGE otherwise);
                 it carries the parent's chain. The parent is not verified here: verify the result
  approve FILE --key FILE
                 add one approver countersignature (RFC 9338) to FILE, in place (atomically)
  inspect FILE [--json]
                 every claim decoded (times as ISO 8601 and in words), the chain and the approvals:
                 NOTHING is verified
  verify FILE --trust PUB|DIR… [--approver PUB|DIR… --approvals K] [--revoked LIST]… [--at TIME]
        [--skew DUR] [--json]
                 the offline checks: structure, signatures and kids, the chain (each link signed by
                 the key its parent delegates to, within its grant), the window at TIME (default now,
                 ± DUR, default 0), revocation, and K distinct approvers of the set. DIR: every *.pub
                 and *.pem in it. --revoked: lists signed by a --trust key (E_REVOCATION_LIST if not);
                 of several from one key the newest counts. Exit 0, or 7 with one reason code:
                 E_FORMAT, E_SIGNATURE, E_UNTRUSTED_ISSUER, E_LINEAGE, E_APPROVAL, E_EXPIRED,
                 E_NOT_YET_VALID, E_REVOKED (the artifact, an ancestor, or a key that signed one).
                 --json prints {verdict, code, detail, claims, …} instead, with the same exit code

${CLAIM_HELP}

Files: FILE is written with mode 0644; an existing one is replaced only with --force.

Example:
  execgate key gen --alg ed25519 --out issuer.key && execgate key gen --alg p256 --out approver.key
  execgate artifact issue --key issuer.key --issuer ops --host-identity host.json \\
    --exe /usr/sbin/reboot --ttl 10m --gov ticket=CHG-1234 --out reboot.cose
  execgate artifact delegate --parent team.cose --key team.key --issuer team --exe /usr/local/bin/deploy \\
    --host-identity host.json --ttl 5m --out deploy.cose
  execgate artifact approve reboot.cose --key approver.key
  execgate artifact inspect reboot.cose --json
  execgate artifact verify reboot.cose --trust issuer.key.pub --approver approver.key.pub --approvals 1`;

const ISSUE_USAGE =
  'Usage: execgate artifact issue --key FILE --issuer NAME (--host AKNAME | --host-identity FILE | --group NAME) --exe PATH (--ttl DUR | --not-after TIME) [claim flags] --out FILE [--force]';
const DELEGATE_USAGE =
  'Usage: execgate artifact delegate --parent FILE --key FILE --issuer NAME --exe PATH (--ttl DUR | --not-after TIME) [claim flags] --out FILE [--force]';

const now = () => Math.floor(Date.now() / 1000);

function readArtifact(file: string, what: string): Promise<Uint8Array> {
  return readBounded(file, { maxBytes: INPUT_LIMITS.artifact, what });
}

/** What `issue` and `delegate` print about the artifact they wrote. */
function reportMade(ctx: CliContext, out: string, bytes: Uint8Array): void {
  const a = decodeArtifact(bytes);
  if (ctx.json)
    ctx.out(
      JSON.stringify({ out, digest: toHex(a.digest), kid: toHex(a.kid), claims: claimsJson(a.claims) }),
    );
  else
    ctx.out(
      `wrote ${out}: cti ${toHex(a.claims.cti)}, signed by kid ${toHex(a.kid)}, valid until ${isoTime(a.claims.exp)}`,
    );
}

async function issue(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseFlags(
    argv,
    { key: { type: 'string' }, out: { type: 'string' }, force: { type: 'boolean' }, ...CLAIM_FLAGS },
    ISSUE_USAGE,
  );
  if (positionals.length) throw new UsageError(`unknown argument "${positionals[0]}"\n${ISSUE_USAGE}`);
  if (values.key === undefined || values.out === undefined)
    throw new UsageError(`--key FILE and --out FILE are required\n${ISSUE_USAGE}`);
  const replace = values.force === true;
  await checkOutput('--out', values.out, { replace });
  const key = await readSigningKey(values.key, '--key');
  const claims = await claimsFromFlags(values, ctx);
  const bytes = claimsRefused(() => issueArtifact(claims, key));
  await writeOutput('--out', values.out, bytes, { mode: 0o644, replace });
  reportMade(ctx, values.out, bytes);
  return EXIT.OK;
}

async function delegate(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseFlags(
    argv,
    {
      parent: { type: 'string' },
      key: { type: 'string' },
      out: { type: 'string' },
      force: { type: 'boolean' },
      ...CLAIM_FLAGS,
    },
    DELEGATE_USAGE,
  );
  if (positionals.length) throw new UsageError(`unknown argument "${positionals[0]}"\n${DELEGATE_USAGE}`);
  if (values.parent === undefined || values.key === undefined || values.out === undefined)
    throw new UsageError(`--parent FILE, --key FILE and --out FILE are required\n${DELEGATE_USAGE}`);
  const replace = values.force === true;
  await checkOutput('--out', values.out, { replace });
  const parentBytes = await readArtifact(values.parent, '--parent');
  // A malformed parent is E_FORMAT (exit 7) here; past this point E_FORMAT can only come from the flags.
  const parent = decodeArtifact(parentBytes, `--parent ${values.parent}`);
  const key = await readSigningKey(values.key, '--key');
  const claims = await claimsFromFlags(values, ctx, parent.claims);
  const bytes = claimsRefused(() => delegateArtifact(parentBytes, claims, key));
  await writeOutput('--out', values.out, bytes, { mode: 0o644, replace });
  reportMade(ctx, values.out, bytes);
  return EXIT.OK;
}

async function approve(argv: string[], ctx: CliContext): Promise<number> {
  const usage = 'Usage: execgate artifact approve FILE --key FILE';
  const { values, positionals } = parseFlags(argv, { key: { type: 'string' } }, usage);
  const file = positionals[0];
  if (positionals.length !== 1 || file === undefined || values.key === undefined)
    throw new UsageError(`one artifact FILE and --key FILE\n${usage}`);
  const key = await readSigningKey(values.key, '--key');
  const bytes = approveArtifact(await readArtifact(file, 'artifact'), key);
  // Replaced through a new file and rename: a reader sees the old artifact or the new one, never a mix.
  await writeFileSafe(file, bytes, { mode: 0o644, replace: true });
  const count = decodeArtifact(bytes).approvals.length;
  if (ctx.json) ctx.out(JSON.stringify({ file, approver: toHex(key.kid), approvals: count }));
  else ctx.out(`approved ${file} as kid ${toHex(key.kid)}: ${count} approval${count === 1 ? '' : 's'}`);
  return EXIT.OK;
}

// ── Printing claims ───────────────────────────────────────────────────────────────────────────────────

/** "in 9m 58s" or "3h 2m ago", two units at most. */
function relative(s: number, from: number): string {
  let d = Math.abs(s - from);
  const parts: string[] = [];
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    if (d >= size || (unit === 's' && parts.length === 0)) parts.push(`${Math.floor(d / size)}${unit}`);
    d %= size;
  }
  const text = parts.slice(0, 2).join(' ');
  return s >= from ? `in ${text}` : `${text} ago`;
}

function timeText(s: number, at: number): string {
  return `${isoTime(s)}  (${new Date(s * 1000).toUTCString()}, ${relative(s, at)})`;
}

/** One link's claims as indented lines. */
function claimLines(c: ArtifactClaims, at: number, indent: string): string[] {
  const s = c.scope;
  const lines: [string, string | undefined][] = [
    ['iss', c.iss],
    ['sub', c.sub],
    ['iat', timeText(c.iat, at)],
    ['nbf', c.nbf === undefined ? undefined : timeText(c.nbf, at)],
    ['exp', timeText(c.exp, at)],
    ['cti', toHex(c.cti)],
    ['scope.exe', s.exe],
    ['scope.sha256', s.sha256 && toHex(s.sha256)],
    ['scope.argv', s.argv === undefined ? 'any arguments' : JSON.stringify(s.argv)],
    ['scope.cwd', s.cwd],
    ['scope.uid', s.uid?.toString()],
    ['scope.env', s.env === undefined ? 'not restricted' : JSON.stringify(s.env)],
    ['scope.uses', String(s.uses ?? 1)],
    ['scope.caller', s.caller],
    [
      'state',
      c.state === undefined
        ? undefined
        : 'ref' in c.state
          ? `reference state ${toHex(c.state.ref)}`
          : `sha256 PCRs ${c.state.pcrs.join(',')} digest ${toHex(c.state.digest)}`,
    ],
    ['boot', c.boot?.toString()],
    ['epoch', c.epoch?.toString()],
    ['gov', c.gov && [...c.gov].map(([k, v]) => `${k}=${v}`).join(', ')],
    ['parent', c.parent && toHex(c.parent)],
    [
      'delegate',
      c.delegate &&
        `kid ${toHex(keyId(c.delegate.key))}, depth ${c.delegate.depth}, scope ${JSON.stringify(jsonSafe(c.delegate.scope))}`,
    ],
  ];
  return lines.filter(([, v]) => v !== undefined).map(([k, v]) => `${indent}${k.padEnd(14)}${v}`);
}

async function inspect(argv: string[], ctx: CliContext): Promise<number> {
  const usage = 'Usage: execgate artifact inspect FILE [--json]';
  const { positionals } = parseFlags(argv, {}, usage);
  const file = positionals[0];
  if (positionals.length !== 1 || file === undefined) throw new UsageError(`one artifact FILE\n${usage}`);
  const a = decodeArtifact(await readArtifact(file, 'artifact'), file);
  if (ctx.json) {
    ctx.out(
      JSON.stringify({
        verified: false,
        ...linkJson(a),
        chain: a.chain.map(linkJson),
        approvals: a.approvals.map((x) => ({ alg: COSE_ALG_NAME[x.alg], kid: toHex(x.kid) })),
      }),
    );
    return EXIT.OK;
  }
  const at = now();
  ctx.out(`${file}: decoded, NOT verified (execgate artifact verify checks it)`);
  ctx.out(`  digest        ${toHex(a.digest)}`);
  ctx.out(`  signed by     ${COSE_ALG_NAME[a.alg]} kid ${toHex(a.kid)}`);
  for (const line of claimLines(a.claims, at, '  ')) ctx.out(line);
  ctx.out(
    `chain: ${a.chain.length === 0 ? 'none (a root artifact)' : `${a.chain.length} ancestors, root first`}`,
  );
  a.chain.forEach((l, i) => {
    ctx.out(`  [${i}] digest ${toHex(l.digest)}, signed by ${COSE_ALG_NAME[l.alg]} kid ${toHex(l.kid)}`);
    for (const line of claimLines(l.claims, at, '      ')) ctx.out(line);
  });
  ctx.out(`approvals: ${a.approvals.length}`);
  for (const x of a.approvals) ctx.out(`  ${COSE_ALG_NAME[x.alg]} kid ${toHex(x.kid)}`);
  return EXIT.OK;
}

// ── verify ────────────────────────────────────────────────────────────────────────────────────────────

/** The public keys of PUB files and of every *.pub and *.pem in DIRs, one per kid. */
async function readKeys(paths: readonly string[], flag: string): Promise<PublicKey[]> {
  const keys = new Map<string, PublicKey>();
  for (const path of paths) {
    let isDir: boolean;
    try {
      isDir = (await stat(path)).isDirectory();
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      throw new InputError('E_INPUT_READ', path, `${flag}: cannot read "${path}" (${why})`, {
        cause: e,
      });
    }
    const files = isDir
      ? (await readdir(path))
          .filter((n) => n.endsWith('.pub') || n.endsWith('.pem'))
          .sort()
          .map((n) => join(path, n))
      : [path];
    if (files.length === 0) throw new UsageError(`${flag} ${path}: no *.pub or *.pem key in the directory`);
    for (const f of files) {
      const k = await readPublicKey(f, flag);
      keys.set(toHex(k.kid), k);
    }
  }
  return [...keys.values()];
}

async function verify(argv: string[], ctx: CliContext): Promise<number> {
  const usage =
    'Usage: execgate artifact verify FILE --trust PUB|DIR… [--approver PUB|DIR… --approvals K] [--revoked LIST]… [--at TIME] [--skew DUR] [--json]';
  const { values, positionals } = parseFlags(
    argv,
    {
      trust: { type: 'string', multiple: true },
      approver: { type: 'string', multiple: true },
      approvals: { type: 'string' },
      revoked: { type: 'string', multiple: true },
      at: { type: 'string' },
      skew: { type: 'string' },
    },
    usage,
  );
  const file = positionals[0];
  if (positionals.length !== 1 || file === undefined) throw new UsageError(`one artifact FILE\n${usage}`);
  if (values.trust === undefined)
    throw new UsageError(
      `--trust PUB|DIR is required: the issuer keys whose artifacts are trusted\n${usage}`,
    );
  if ((values.approver === undefined) !== (values.approvals === undefined))
    throw new UsageError('--approver PUB|DIR and --approvals K go together');
  const at = values.at === undefined ? now() : parseTime(values.at, '--at');
  const skew = values.skew === undefined ? 0 : parseDuration(values.skew, '--skew', { zero: true });
  const trust = await readKeys(values.trust, '--trust');
  let approvals: { approvers: PublicKey[]; required: number } | undefined;
  if (values.approver !== undefined && values.approvals !== undefined) {
    const approvers = await readKeys(values.approver, '--approver');
    const required = parseIndex(values.approvals, '--approvals', approvers.length);
    if (required === 0) throw new UsageError('--approvals must be at least 1');
    approvals = { approvers, required };
  }
  const bytes = await readArtifact(file, 'artifact');

  await initVerification();
  const state = new RevocationState();
  const lists: RevocationList[] = [];
  for (const list of values.revoked ?? []) {
    try {
      lists.push(
        verifyRevocationList(
          await readBounded(list, { maxBytes: INPUT_LIMITS.revocationList, what: '--revoked' }),
          trust,
        ),
      );
    } catch (e) {
      if (e instanceof ArtifactError)
        throw new ArtifactError(e.code, `--revoked ${list}: ${e.message}`, { cause: e });
      throw e;
    }
  }
  // Oldest first, so that of several lists from one key the newest is the one held, in any order given.
  for (const list of lists.sort((a, b) => a.seq - b.seq)) state.accept(list);

  const verdict = verifyArtifact(bytes, {
    trust,
    ...(approvals === undefined ? {} : { approvals }),
    ...(values.revoked === undefined ? {} : { revoked: state.revocations() }),
    at,
    skew,
  });
  if (ctx.json) {
    ctx.out(JSON.stringify(artifactVerdictJson(verdict, at)));
    // A failure goes on to the error below: the JSON on stdout, and the reason on stderr.
    if (verdict.ok) return EXIT.OK;
  }
  if (!verdict.ok) throw new ArtifactError(verdict.code, `${file}: ${verdict.detail}`);
  const c = verdict.artifact.claims;
  ctx.out(
    `OK: ${file} is valid at ${isoTime(at)}: ${c.scope.exe} on ${c.sub}, issued by kid ${toHex(verdict.issuer.kid)}` +
      `${verdict.artifact.chain.length ? ` through ${verdict.artifact.chain.length} delegation(s)` : ''}, until ${isoTime(c.exp)}`,
  );
  ctx.out(
    verdict.approvedBy === undefined
      ? `approvals: ${verdict.artifact.approvals.length} present, not checked (no --approver)`
      : `approvals: ${verdict.approvedBy.length} valid of ${approvals?.required} required (${verdict.approvedBy.join(', ')})`,
  );
  return EXIT.OK;
}

export const ARTIFACT_COMMANDS: Readonly<
  Record<string, (argv: string[], ctx: CliContext) => Promise<number>>
> = {
  issue,
  delegate,
  approve,
  inspect,
  verify,
};
