// SPDX-License-Identifier: Apache-2.0
/**
 * The claim flags of `artifact issue` and `artifact delegate`, mapped to an artifact's claims set
 * (agent/artifact/claims.ts). Each flag is checked here, so a bad value is a UsageError naming it; what
 * the claims reader still refuses when the artifact is made (a limit) comes back as a UsageError too
 * (`claimsRefused`).
 */
import { randomBytes } from 'node:crypto';
import {
  type ArtifactClaims,
  type DelegateGrant,
  isSubject,
  LIMITS,
  pathProblem,
  type Scope,
  type StateBinding,
} from '../artifact/claims.js';
import { ArtifactError } from '../artifact/errors.js';
import { createHasher, sha256 } from '../crypto/hash.js';
import { concatBytes } from '../encoding/bytes.js';
import { JsonError, parseJsonObject } from '../encoding/canonical-json.js';
import { INPUT_LIMITS, readBounded, streamFile } from '../fs/read-bounded.js';
import { parseReferenceState, referenceDigest } from '../measure/reference.js';
import { isSecretName, MAX_SECRETS_PER_ARTIFACT } from '../secrets/name.js';
import { TPM_ALG } from '../tpm/constants.js';
import { parseDuration, parseHex, parseIndex, parseTime } from './args.js';
import type { CliContext } from './context.js';
import { quotedPcrs, selectionFlag } from './evidence.js';
import { UsageError } from './exit.js';
import { readPublicKey } from './key.js';

/** parseFlags options of the claim flags. */
export const CLAIM_FLAGS = {
  issuer: { type: 'string' },
  host: { type: 'string' },
  'host-identity': { type: 'string' },
  group: { type: 'string' },
  exe: { type: 'string' },
  sha256: { type: 'string' },
  arg: { type: 'string', multiple: true },
  'any-args': { type: 'boolean' },
  cwd: { type: 'string' },
  uid: { type: 'string' },
  env: { type: 'string', multiple: true },
  uses: { type: 'string' },
  caller: { type: 'string' },
  ttl: { type: 'string' },
  'not-after': { type: 'string' },
  'not-before': { type: 'string' },
  'state-ref': { type: 'string' },
  pcrs: { type: 'string' },
  'pcr-digest': { type: 'string' },
  quote: { type: 'string' },
  ak: { type: 'string' },
  nonce: { type: 'string' },
  boot: { type: 'string' },
  epoch: { type: 'string' },
  gov: { type: 'string', multiple: true },
  'delegate-key': { type: 'string' },
  'delegate-depth': { type: 'string' },
  'delegate-exe-prefix': { type: 'string' },
  secret: { type: 'string', multiple: true },
} as const;

export type ClaimValues = {
  readonly [K in keyof typeof CLAIM_FLAGS]?: (typeof CLAIM_FLAGS)[K] extends { multiple: true }
    ? string[] | undefined
    : (typeof CLAIM_FLAGS)[K] extends { type: 'boolean' }
      ? boolean | undefined
      : string | undefined;
};

export const CLAIM_HELP = `Claim flags (issue and delegate):
  --issuer NAME            iss: who issues it (1 to 256 characters)
  --host AKNAME | --host-identity FILE | --group NAME
                           sub: the target host's AK Name (akName of execgate host identity --json), that
                           JSON itself in FILE, or a host group (group:NAME). delegate: the parent's if none
  --exe PATH               the executable: an absolute, normalised path
  --sha256 HEX             its SHA-256; without it, the file at PATH is read and hashed (on this machine)
  --arg A …                argv[1..], exactly, in order (an argument starting with "-": --arg=-v).
                           Without --arg the command must run with no arguments at all
  --any-args               any arguments (the argv claim is left out); not with --arg
  --cwd DIR  --uid N  --caller PATH
                           the working directory, the user id, and the executable of the gated ancestor
                           execution this one must run under
  --env NAME …             the environment variables it may carry (sorted, duplicates dropped); without
                           --env, not restricted
  --uses N                 how many executions (default 1)
  --ttl DUR | --not-after TIME
                           the end of its window: DUR (90s, 10m, 2h, 1d) after its start, or TIME. One is
                           required: no artifact lives forever
  --not-before TIME        the start of its window (default: now, the issued-at time)
                           TIME: ISO 8601 with a zone (2026-12-07T10:00:00Z) or @UNIXSECONDS
  --state-ref FILE         bind it to a reference state: the digest execgate state digest FILE prints
  --pcrs SEL --pcr-digest HEX
  --pcrs SEL --quote BUNDLE --ak PEM --nonce HEX
                           bind it to PCR values: SEL one SHA-256 bank (sha256:0-7), with their digest
                           (SHA-256 of the values concatenated), or taken from a quote of exactly SEL that
                           is verified first with the AK and the nonce it was made for (exit 7 if not)
  --boot N                 the TPM resetCount it is valid for (a reboot ends it)
  --epoch N                the lowest host revocation epoch it is valid at
  --gov KEY=VALUE …        governance metadata (ticket, reason, …)
  --secret NAME …          secrets sealed on the host (execgate secret seal) the execution receives, each
                           on a descriptor named in EXECGATE_SECRET_<NAME>_FD (names [a-z0-9_-]{1,64}, at
                           most ${MAX_SECRETS_PER_ARTIFACT}; a child may name only secrets its parent names)
  --delegate-key PUB --delegate-depth N [--delegate-exe-prefix DIR/]
                           grant the key PUB to issue children (execgate artifact delegate), N levels
                           below them (0: children may not delegate, at most ${LIMITS.depth}), within the
                           artifact's own --exe and its digest, or any executable under DIR/; each child
                           for at most as many uses as this artifact, with any other scope it sets`;

/** A path flag in the normal form the claims require (pathProblem), else a UsageError naming the flag. */
function pathFlag(value: string, flag: string, opts: { prefix?: boolean; root?: boolean } = {}): string {
  const why = pathProblem(value, flag, opts);
  if (why !== undefined) throw new UsageError(why);
  return value;
}

/** `--host`: an AK Name as host identity --json prints akName (lowercase hex). */
function hostFlag(value: string, flag: string): string {
  const sub = value.toLowerCase();
  if (sub.startsWith('group:') || !isSubject(sub))
    throw new UsageError(
      `${flag} must be a host's AK Name in hex (akName of execgate host identity --json: 000b and 64 hex digits), got "${value}"`,
    );
  return sub;
}

async function subjectOf(values: ClaimValues, parent: ArtifactClaims | undefined): Promise<string> {
  const given = [values.host, values['host-identity'], values.group].filter((v) => v !== undefined);
  if (given.length > 1) throw new UsageError('--host, --host-identity and --group exclude each other');
  if (values.host !== undefined) return hostFlag(values.host, '--host');
  if (values.group !== undefined) {
    const sub = `group:${values.group}`;
    if (!isSubject(sub))
      throw new UsageError(`--group must be 1 to 64 of A-Z a-z 0-9 . _ -, got "${values.group}"`);
    return sub;
  }
  const file = values['host-identity'];
  if (file !== undefined) {
    let doc: Record<string, unknown>;
    try {
      doc = parseJsonObject(
        await readBounded(file, { maxBytes: INPUT_LIMITS.hostIdentity, what: '--host-identity' }),
      );
    } catch (e) {
      if (e instanceof JsonError)
        throw new UsageError(`--host-identity ${file}: not the JSON of host identity --json (${e.message})`, {
          cause: e,
        });
      throw e;
    }
    if (typeof doc.akName !== 'string')
      throw new UsageError(
        `--host-identity ${file} has no "akName": give execgate host identity --json's output`,
      );
    return hostFlag(doc.akName, `--host-identity ${file}: akName`);
  }
  if (parent) return parent.sub;
  throw new UsageError('the target is required: --host AKNAME, --host-identity FILE or --group NAME');
}

/** SHA-256 of the executable's bytes: --sha256, else the file at --exe, hashed as a stream. */
async function exeDigest(exe: string, given: string | undefined): Promise<Uint8Array> {
  if (given !== undefined) {
    const d = parseHex(given, '--sha256');
    if (d.length !== 32) throw new UsageError(`--sha256 must be 32 bytes (64 hex digits), got ${d.length}`);
    return d;
  }
  const h = createHasher('sha256');
  await streamFile(exe, '--exe (give --sha256 for a file not on this machine)', (chunk) => h.update(chunk));
  return h.digest();
}

function scopeOf(values: ClaimValues, exe: string, digest: Uint8Array): Scope {
  const args = values.arg;
  if (args !== undefined && values['any-args'])
    throw new UsageError('--any-args allows any arguments: not with --arg');
  const env = values.env?.map((name) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
      throw new UsageError(`--env must be a variable name ([A-Za-z_][A-Za-z0-9_]*), got "${name}"`);
    return name;
  });
  const uses = values.uses === undefined ? undefined : parseIndex(values.uses, '--uses', 0xffff_ffff);
  if (uses === 0) throw new UsageError('--uses must be at least 1');
  return {
    exe,
    sha256: digest,
    // No --arg and no --any-args: exactly no arguments, the narrowest reading of a bare command.
    ...(values['any-args'] ? {} : { argv: args ?? [] }),
    ...(values.cwd === undefined ? {} : { cwd: pathFlag(values.cwd, '--cwd', { root: true }) }),
    ...(values.uid === undefined ? {} : { uid: parseIndex(values.uid, '--uid', 0xffff_fffe) }),
    ...(env === undefined ? {} : { env: [...new Set(env)].sort() }),
    ...(uses === undefined ? {} : { uses }),
    ...(values.caller === undefined ? {} : { caller: pathFlag(values.caller, '--caller') }),
  };
}

/** The window: exp from --not-after or --ttl after the start (--not-before, else now). */
/** iat now; nbf from --not-before, else `laterStart` when given and in the future; exp from --ttl or --not-after. */
function windowOf(
  values: ClaimValues,
  now: number,
  laterStart?: number,
): { iat: number; nbf?: number; exp: number } {
  if ((values.ttl === undefined) === (values['not-after'] === undefined))
    throw new UsageError('give one of --ttl DUR and --not-after TIME: no artifact lives forever');
  const nbf =
    values['not-before'] === undefined
      ? laterStart !== undefined && laterStart > now
        ? laterStart
        : undefined
      : parseTime(values['not-before'], '--not-before');
  const start = nbf ?? now;
  const exp =
    values['not-after'] === undefined
      ? start + parseDuration(values.ttl ?? '', '--ttl')
      : parseTime(values['not-after'], '--not-after');
  if (exp <= start)
    throw new UsageError(`--not-after must be later than ${nbf === undefined ? 'now' : '--not-before'}`);
  return { iat: now, ...(nbf === undefined ? {} : { nbf }), exp };
}

/** The state binding: a reference document's digest, or SHA-256 PCR values by digest or verified quote. */
async function stateOf(values: ClaimValues, ctx: CliContext): Promise<StateBinding | undefined> {
  const quoteFlags = values.quote !== undefined || values.ak !== undefined || values.nonce !== undefined;
  if (values['state-ref'] !== undefined) {
    if (values.pcrs !== undefined || values['pcr-digest'] !== undefined || quoteFlags)
      throw new UsageError('--state-ref binds a reference state: not with --pcrs, --pcr-digest or --quote');
    // The digest `execgate state digest` prints: SHA-256 of the document's canonical form.
    const file = values['state-ref'];
    return {
      ref: referenceDigest(
        parseReferenceState(
          await readBounded(file, { maxBytes: INPUT_LIMITS.reference, what: '--state-ref' }),
        ),
      ),
    };
  }
  if (values.pcrs === undefined) {
    if (values['pcr-digest'] !== undefined || quoteFlags)
      throw new UsageError('--pcr-digest and --quote need --pcrs SEL: the PCRs the digest covers');
    return undefined;
  }
  const selection = selectionFlag(values.pcrs);
  const bank = selection[0];
  if (selection.length !== 1 || bank?.hash !== TPM_ALG.SHA256)
    throw new UsageError(
      `--pcrs must select PCRs of the sha256 bank only (e.g. sha256:0-7), got "${values.pcrs}"`,
    );
  if ((values['pcr-digest'] !== undefined) === quoteFlags)
    throw new UsageError('--pcrs needs one of --pcr-digest HEX and --quote BUNDLE --ak PEM --nonce HEX');
  if (values['pcr-digest'] !== undefined) {
    const digest = parseHex(values['pcr-digest'], '--pcr-digest');
    if (digest.length !== 32)
      throw new UsageError(`--pcr-digest must be 32 bytes (SHA-256), got ${digest.length}`);
    return { bank: 'sha256', pcrs: bank.pcrs, digest };
  }
  // The quote is verified (signature, nonce, selection == SEL, digest of its values) before its values
  // count: the artifact binds the state the host proved, not numbers typed by hand.
  const quoted = await quotedPcrs(ctx, values, async () => {
    throw new UsageError('--quote BUNDLE is required');
  });
  const byPcr = quoted.pcrs.get(TPM_ALG.SHA256);
  const pcrValues = bank.pcrs.map((p) => {
    const v = byPcr?.get(p);
    // quotedPcrs verified the quote's selection is SEL: a PCR missing here is a bug, not bad input.
    if (v === undefined) throw new Error(`the verified quote lacks sha256 PCR ${p}`);
    return v;
  });
  // SHA-256 of the verified values, which is the quote's pcrDigest when the AK signs with SHA-256.
  return { bank: 'sha256', pcrs: bank.pcrs, digest: sha256(concatBytes(pcrValues)) };
}

function secretsOf(list: readonly string[] | undefined): string[] | undefined {
  if (list === undefined) return undefined;
  for (const name of list)
    if (!isSecretName(name))
      throw new UsageError(`--secret must be a secret name (1 to 64 of a-z, 0-9, _ and -), got "${name}"`);
  const names = [...new Set(list)].sort();
  if (names.length > MAX_SECRETS_PER_ARTIFACT)
    throw new UsageError(
      `an artifact names at most ${MAX_SECRETS_PER_ARTIFACT} secrets, got ${names.length}`,
    );
  return names;
}

function govOf(list: readonly string[] | undefined): ReadonlyMap<string, string> | undefined {
  if (list === undefined) return undefined;
  const gov = new Map<string, string>();
  for (const item of list) {
    const at = item.indexOf('=');
    if (at < 1) throw new UsageError(`--gov must be KEY=VALUE, got "${item}"`);
    const key = item.slice(0, at);
    if (gov.has(key)) throw new UsageError(`--gov ${key} is given twice`);
    gov.set(key, item.slice(at + 1));
  }
  return gov;
}

async function delegateOf(values: ClaimValues, own: Scope): Promise<DelegateGrant | undefined> {
  const keyFile = values['delegate-key'];
  if (keyFile === undefined) {
    if (values['delegate-depth'] !== undefined || values['delegate-exe-prefix'] !== undefined)
      throw new UsageError('--delegate-depth and --delegate-exe-prefix go with --delegate-key PUB');
    return undefined;
  }
  if (values['delegate-depth'] === undefined)
    throw new UsageError(
      '--delegate-key needs --delegate-depth N (0: its children may not delegate further)',
    );
  const depth = parseIndex(values['delegate-depth'], '--delegate-depth', LIMITS.depth);
  const prefix = values['delegate-exe-prefix'];
  if (prefix !== undefined && !prefix.endsWith('/'))
    throw new UsageError(`--delegate-exe-prefix must be a directory ending in "/", got "${prefix}"`);
  const key = await readPublicKey(keyFile, '--delegate-key');
  // The grant's scope: any executable under the prefix, else exactly the artifact's own (and its
  // digest); children may have as many uses as the artifact itself.
  const scope: Scope = {
    ...(prefix === undefined
      ? { exe: own.exe, ...(own.sha256 ? { sha256: own.sha256 } : {}) }
      : { exe: pathFlag(prefix, '--delegate-exe-prefix', { prefix: true }) }),
    ...(own.uses === undefined ? {} : { uses: own.uses }),
  };
  return { key: key.spki, depth, scope };
}

/**
 * The claims the flags describe, with a fresh cti and iat = now. `parent`: a delegated child's parent,
 * whose sub, state, boot and epoch are the defaults (a child must keep them), and whose window start is
 * the child's when it lies in the future.
 */
export async function claimsFromFlags(
  values: ClaimValues,
  ctx: CliContext,
  parent?: ArtifactClaims,
): Promise<Omit<ArtifactClaims, 'parent'>> {
  if (values.issuer === undefined) throw new UsageError('--issuer NAME is required (the iss claim)');
  if (values.exe === undefined) throw new UsageError('--exe PATH is required');
  const sub = await subjectOf(values, parent);
  const exe = pathFlag(values.exe, '--exe');
  const now = Math.floor(Date.now() / 1000);
  const window = windowOf(values, now, parent === undefined ? undefined : (parent.nbf ?? parent.iat));
  const scope = scopeOf(values, exe, await exeDigest(exe, values.sha256));
  const state = (await stateOf(values, ctx)) ?? parent?.state;
  const boot = values.boot === undefined ? parent?.boot : parseIndex(values.boot, '--boot', 0xffff_ffff);
  const epoch =
    values.epoch === undefined ? parent?.epoch : parseIndex(values.epoch, '--epoch', Number.MAX_SAFE_INTEGER);
  const gov = govOf(values.gov);
  const delegate = await delegateOf(values, scope);
  const secrets = secretsOf(values.secret);
  return {
    iss: values.issuer,
    sub,
    ...window,
    cti: new Uint8Array(randomBytes(16)),
    scope,
    ...(state === undefined ? {} : { state }),
    ...(boot === undefined ? {} : { boot }),
    ...(epoch === undefined ? {} : { epoch }),
    ...(gov === undefined ? {} : { gov }),
    ...(delegate === undefined ? {} : { delegate }),
    ...(secrets === undefined ? {} : { secrets }),
  };
}

/** `fn` (making an artifact from flags), with the claims reader's refusals as UsageErrors: they came from flags. */
export function claimsRefused<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ArtifactError && e.code === 'E_FORMAT')
      throw new UsageError(`the claims these flags make are refused: ${e.message}`, { cause: e });
    throw e;
  }
}
