// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/gate/gate
 *
 * The gate's verdict (issue 14, DESIGN §6): one function, `decide`, whose every exit is a verdict. The
 * checks run in this order and the first that fails is the reason (GateCode):
 *
 *   1. artifact       the file given, or the valid one with a use left in the policy's store that expires
 *                     first (E_MISSING)
 *   2. artifact       verifyArtifact (agent/artifact/verify.ts): E_FORMAT, E_UNTRUSTED_ISSUER, E_SIGNATURE,
 *                     E_LINEAGE, E_NOT_YET_VALID / E_EXPIRED (± [host] clock_skew), E_REVOKED (lists),
 *                     E_APPROVAL (every [[approval]] whose exe matches the scope's)
 *   3. policy         the root issuer's [[issuer]] entry: exe rules, max_ttl of every link, delegation
 *                     (E_POLICY); a break-glass root: [breakglass] max_ttl, no delegation
 *   4. TPM            a fresh quote by the pinned AK over the PCRs the verdict needs, with a random nonce,
 *                     verified against the pinned key (E_TPM_UNAVAILABLE when it cannot be had)
 *   5. boot           `boot` = the quote's resetCount (E_BOOT)
 *   6. epoch          every link's `epoch` ≥ the host's revocation epoch, an NV counter certified by the
 *                     AK (E_REVOKED)
 *   7. host           `sub` = this host's pinned AK Name, or "group:G" for a G in [host] groups (E_HOST)
 *   8. state          the `state` claim (PCR digest, or a reference whose digest is [host] reference's)
 *                     and [host] reference, judged on the quoted values (E_STATE)
 *   9. scope          the opened executable (safe path, real path, digest), argv, cwd, uid, caller; a
 *                     forged EXECGATE_VERDICT is E_LINEAGE; each secret the artifact names is sealed on
 *                     this host (E_SCOPE)
 *  10. replay+audit   one use consumed and the verdict appended in one transaction (E_REPLAY, E_AUDIT);
 *                     uses are counted per signer and cti (replayKey); the allow entry names the secrets
 *  11. secrets        only then, after an allow, each named secret is unsealed (GateSecrets.release); a
 *                     refusal by the TPM is E_STATE, any other failure E_TPM_UNAVAILABLE, recorded as a
 *                     deny entry after the allow, and nothing runs (in audit mode too)
 *
 * A break-glass artifact (its root signed by the [breakglass] key) passes steps 5, 6 and 8 and is flagged
 * in its audit entry; nothing else is waived. Any other exception is E_INTERNAL: never an allow.
 *
 * Denials are audited too (the entry carries what was known when the check failed), unless the policy
 * itself could not be read: then no state directory is known (the CLI prints the denial only). In
 * "audit" mode a denial is recorded as "would-deny" and the command still runs (only once recorded);
 * never by default.
 *
 * The TPM and the host's logs are reached through `GateTpm`, so the CLI owns the connection and the
 * verdict stays testable; everything else is data.
 */
import { randomBytes } from 'node:crypto';
import {
  type Artifact,
  type ArtifactLink,
  artifactDigest,
  decodeArtifact,
  MAX_ARTIFACT_BYTES,
} from '../artifact/artifact.js';
import type { ApprovalPolicy } from '../artifact/verify.js';
import { verifyArtifact } from '../artifact/verify.js';
import type { EntryInput, TpmClock } from '../audit/entry.js';
import type { AuditStore } from '../audit/store.js';
import type { HostPolicy } from '../config/policy.js';
import type { HostTrust } from '../config/trust.js';
import { approvalsFor, exeMatches } from '../config/trust.js';
import { sha256 } from '../crypto/hash.js';
import type { PublicKey } from '../crypto/keys.js';
import { concatBytes, equalBytes, toHex } from '../encoding/bytes.js';
import { encodeCbor } from '../encoding/cbor.js';
import { ExecgateError } from '../errors.js';
import { type ReferenceState, referenceDigest } from '../measure/reference.js';
import type { MeasuredStateInput } from '../measure/state/index.js';
import { lap } from '../timing.js';
import type { PcrBankSelection, PcrSelection, PcrValues } from '../tpm/pcr-selection.js';
import { type GateCode, GateError, SecretsNotServed } from './errors.js';
import type { JudgedExecutable } from './executable.js';
import { isAncestor, parseVerdictVariable } from './lineage.js';

/** The quote the verdict is made on, verified against the pinned AK. */
export interface QuotedState {
  readonly pcrs: PcrValues;
  readonly clock: TpmClock;
  /** SHA-256 of the quote evidence (attest/quote.ts bundle): what the audit entry records. */
  readonly digest: Uint8Array;
}

/** The TPM and the host's measurement logs, as the gate needs them (the CLI implements it). */
export interface GateTpm {
  /** The TPM's allocated banks and PCRs. */
  allocated(): Promise<readonly PcrBankSelection[]>;
  /** A fresh quote of `selection` with `nonce` by the pinned AK, verified against the pinned key. */
  quote(selection: PcrSelection, nonce: Uint8Array): Promise<QuotedState>;
  /** The NV counter at `index`, certified by the pinned AK over a fresh nonce. */
  counter(index: number): Promise<bigint>;
  /** The event log and IMA list a reference's rules need (undefined when not needed or absent). */
  logs(reference: ReferenceState): Promise<Pick<MeasuredStateInput, 'eventLog' | 'ima'>>;
}

/**
 * The host's sealed secrets (issue 17, agent/secrets), as the gate needs them; the CLI implements it and
 * keeps what `release` unseals for the command's descriptors.
 */
export interface GateSecrets {
  /** Whether a secret of this name is sealed on this host. */
  sealed(name: string): Promise<boolean>;
  /** Unseals every named secret; throws SecretError E_SECRET_REFUSED when the TPM refuses. */
  release(names: readonly string[]): Promise<void>;
}

export interface GateRequest {
  /** CMD ARGS as typed: argv[0] is the command, argv[1..] its arguments. */
  readonly argv: readonly string[];
  /** --artifact FILE; undefined: search the policy's store. */
  readonly artifactFile?: string;
  /** The artifact's bytes when the caller read it already; else read from artifactFile. */
  readonly artifactBytes?: Uint8Array;
  /** Why the caller could not read artifactFile (`execgate exec` asking `execgate serve`): E_MISSING. */
  readonly artifactError?: string;
  /** The working directory, as a real path. */
  readonly cwd: string;
  readonly uid: number;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The gate process's pid and start time (lineage.ts ownStartTime): recorded for nested gates. */
  readonly pid: number;
  readonly pidStart: number;
  /** Consume a use and audit (exec), or judge only (check). */
  readonly consume: boolean;
  /** The time to judge at, ms since the epoch. */
  readonly now: number;
}

export interface GateContext {
  readonly policy: HostPolicy;
  readonly trust: HostTrust;
  /** The audit store (the replay counters live there too). */
  readonly store: AuditStore;
  /** The pinned AK's Name. */
  readonly akName: Uint8Array;
  readonly tpm: GateTpm;
  /** The executable, opened once by the process that runs it (or why it could not be). */
  readonly exe: JudgedExecutable | GateError;
  /**
   * Artifacts of the policy's store, when the request names none: file name and bytes, one at a time
   * (each is judged and dropped before the next is read: a store may hold thousands). A GateError
   * (E_MISSING: the store cannot be read) is the verdict.
   */
  readonly candidates?: () => AsyncIterable<{ file: string; bytes: Uint8Array }>;
  /** The sealed secrets; absent (execgate serve), an artifact naming secrets throws SecretsNotServed. */
  readonly secrets?: GateSecrets;
}

/** The verdict, as printed (--json, --verdict FILE) and acted on. */
export interface GateVerdict {
  readonly verdict: 'allow' | 'deny' | 'would-deny';
  readonly reason: 'OK' | GateCode;
  /** What failed (empty for an allow). */
  readonly detail: string;
  /** What to do about it (empty for an allow). */
  readonly remedy: string;
  readonly mode: 'enforce' | 'audit';
  /** Whether the command is to run: an allow, or a recorded "would-deny" with the executable opened. */
  readonly run: boolean;
  readonly artifact?: {
    readonly file?: string;
    readonly digest: string;
    readonly cti: string;
    readonly issuer: string;
  };
  readonly exe?: { readonly path: string; readonly sha256: string };
  readonly breakglass?: true;
  /** The audit entry recorded, when one was. */
  readonly audit?: { readonly seq: number; readonly entryHash: string };
  /** Why the verdict could not be recorded, when it could not (the verdict stands). */
  readonly auditError?: string;
  /** The parent verdict this execution runs under. */
  readonly parent?: number;
  /** Environment variable names the command may receive (scope.env), when restricted. */
  readonly env?: readonly string[];
  /** With an allow: the names of the secrets released to it (GateSecrets.release holds their bytes). */
  readonly secrets?: readonly string[];
}

/** What the checks learnt, for the audit entry and the verdict. */
interface Facts {
  file?: string;
  artifact?: Artifact;
  issuer?: PublicKey;
  breakglass?: true;
  quote?: QuotedState;
  parent?: number;
}

const deny = (code: GateCode, detail: string, remedy: string): never => {
  throw new GateError(code, detail, remedy);
};

/** `e` as the gate's denial: typed errors keep their code when it is a gate code, anything else is E_INTERNAL. */
function asGateError(e: unknown): GateError {
  if (e instanceof GateError) return e;
  const message = e instanceof Error ? e.message : String(e);
  if (e instanceof ExecgateError && e.code === 'E_CONFIG')
    return new GateError('E_CONFIG', message, 'fix the host policy (execgate policy check)', { cause: e });
  return new GateError(
    'E_INTERNAL',
    `unexpected error: ${message}`,
    'report this as a bug with the message',
    {
      cause: e,
    },
  );
}

/** SHA-256 of argv[1..] as a deterministic CBOR array of text (the audit entry's argvSha256). */
export function argvDigest(argv: readonly string[]): Uint8Array {
  return sha256(encodeCbor(argv.slice(1)));
}

const linksOf = (a: Artifact): readonly ArtifactLink[] => [...a.chain, a];

/** Seconds between a link's start (nbf, else iat) and its exp. */
const lifetime = (l: ArtifactLink): number => l.claims.exp - (l.claims.nbf ?? l.claims.iat);

/** Step 1: the artifact's bytes, from the file or the store. */
async function artifactBytes(req: GateRequest, ctx: GateContext, facts: Facts): Promise<Uint8Array> {
  if (req.artifactBytes !== undefined) {
    if (req.artifactFile !== undefined) facts.file = req.artifactFile;
    return req.artifactBytes;
  }
  if (req.artifactFile !== undefined) {
    facts.file = req.artifactFile;
    if (req.artifactError !== undefined)
      return deny(
        'E_MISSING',
        `cannot read the artifact: ${req.artifactError}`,
        'give a readable artifact file with --artifact FILE',
      );
    const { readRegularFile } = await import('../fs/read-bounded.js');
    try {
      return await readRegularFile(req.artifactFile, { maxBytes: MAX_ARTIFACT_BYTES, what: 'artifact' });
    } catch (e) {
      return deny(
        'E_MISSING',
        `cannot read the artifact: ${e instanceof Error ? e.message : String(e)}`,
        'give a readable artifact file with --artifact FILE',
      );
    }
  }
  return fromStore(req, ctx, facts);
}

/**
 * Step 1 without --artifact: among the store's artifacts whose scope names this executable (real path
 * and digest) and these arguments, the one that passes steps 2, 3 and 7, has a use left and expires
 * first. Not covered: two gates at once may pick the same artifact's last use; the second is E_REPLAY.
 */
async function fromStore(req: GateRequest, ctx: GateContext, facts: Facts): Promise<Uint8Array> {
  const store = ctx.policy.host.artifacts;
  if (store === undefined || ctx.candidates === undefined)
    return deny(
      'E_MISSING',
      'no artifact given and the policy names no artifact store',
      'give --artifact FILE, or set [host] artifacts in the policy',
    );
  const exe = ctx.exe;
  const candidates = exe instanceof GateError ? [] : ctx.candidates();
  let best: { file: string; bytes: Uint8Array; exp: number } | undefined;
  for await (const c of candidates) {
    let a: Artifact;
    try {
      a = decodeArtifact(c.bytes);
    } catch {
      continue;
    }
    const s = a.claims.scope;
    if (exe instanceof GateError || s.exe !== exe.realPath || !s.sha256 || !equalBytes(s.sha256, exe.sha256))
      continue;
    if (s.argv !== undefined && !sameArgs(s.argv, req.argv)) continue;
    try {
      verified(c.bytes, req, ctx, {});
      checkHost(a, ctx);
    } catch {
      continue;
    }
    // A spent one is not valid: it would shadow a later-expiring one with uses left until it expires.
    const row = safely(() => ctx.store.uses(replayKey(a)));
    if (row instanceof GateError) throw row;
    if (row !== undefined && row.used >= row.allowed) continue;
    if (best === undefined || a.claims.exp < best.exp) best = { ...c, exp: a.claims.exp };
  }
  if (best === undefined)
    return deny(
      'E_MISSING',
      `no valid artifact for ${exe instanceof GateError ? req.argv[0] : exe.realPath} in the artifact store ${store}`,
      `issue one (execgate artifact issue) into ${store}, or give --artifact FILE`,
    );
  facts.file = best.file;
  return best.bytes;
}

const sameArgs = (want: readonly string[], argv: readonly string[]): boolean =>
  want.length === argv.length - 1 && want.every((a, i) => a === argv[i + 1]);

/** Step 2 and 3: the artifact verified under the policy's trust, and the issuer's rules. */
function verified(bytes: Uint8Array, req: GateRequest, ctx: GateContext, facts: Facts): Artifact {
  const { trust } = ctx;
  const keys = trust.issuers.map((i) => i.key);
  if (trust.breakglass !== undefined) keys.push(trust.breakglass.key);
  const at = Math.floor(req.now / 1000);
  const base = { trust: keys, revoked: trust.revoked, at, skew: ctx.policy.host.clockSkewSeconds };
  let exe: string | undefined;
  try {
    exe = decodeArtifact(bytes).claims.scope.exe;
  } catch {
    // verifyArtifact gives the E_FORMAT verdict below.
  }
  const rules: (ApprovalPolicy | undefined)[] =
    exe === undefined
      ? [undefined]
      : approvalsFor(trust, exe).map((r) => ({ approvers: r.approvers, required: r.required }));
  if (rules.length === 0) rules.push(undefined);
  let artifact: Artifact | undefined;
  let issuer: PublicKey | undefined;
  for (const approvals of rules) {
    const v = verifyArtifact(bytes, approvals === undefined ? base : { ...base, approvals });
    if (!v.ok) {
      if (v.artifact !== undefined) facts.artifact = v.artifact;
      return deny(
        v.code === 'E_REVOCATION_LIST' ? 'E_REVOKED' : v.code,
        v.detail,
        REMEDY[v.code] ?? 'issue a new artifact',
      );
    }
    artifact = v.artifact;
    issuer = v.issuer;
  }
  if (artifact === undefined || issuer === undefined)
    return deny('E_INTERNAL', 'no verdict', 'report this as a bug');
  facts.artifact = artifact;
  facts.issuer = issuer;
  checkIssuer(artifact, issuer, ctx, facts);
  return artifact;
}

/** Step 3: what the root's issuer may authorise. */
function checkIssuer(a: Artifact, issuer: PublicKey, ctx: GateContext, facts: Facts): void {
  const links = linksOf(a);
  const delegated = a.chain.length > 0 || links.some((l) => l.claims.delegate !== undefined);
  const bg = ctx.trust.breakglass;
  if (bg !== undefined && equalBytes(bg.key.kid, issuer.kid)) {
    facts.breakglass = true;
    if (delegated)
      deny(
        'E_POLICY',
        'a break-glass artifact may not delegate',
        'issue the break-glass artifact without --delegate-key',
      );
    for (const l of links)
      if (lifetime(l) > bg.maxTtlSeconds)
        deny(
          'E_POLICY',
          `the break-glass artifact is valid for ${lifetime(l)} s, over [breakglass] max_ttl ${bg.maxTtlSeconds} s`,
          'issue it with a shorter --ttl',
        );
    return;
  }
  const rule = ctx.trust.issuers.find((i) => equalBytes(i.key.kid, issuer.kid));
  if (rule === undefined) {
    deny('E_UNTRUSTED_ISSUER', 'the root key is not an issuer of this policy', 'add it as an [[issuer]]');
    return;
  }
  const exe = a.claims.scope.exe;
  if (!exeMatches(rule.exe, exe))
    deny(
      'E_POLICY',
      `issuer ${rule.name} may not authorise ${exe} (its exe: ${rule.exe.join(', ')})`,
      `widen [[issuer]] ${rule.name} exe in the policy, or have another issuer sign`,
    );
  for (const l of links)
    if (lifetime(l) > rule.maxTtlSeconds)
      deny(
        'E_POLICY',
        `the artifact is valid for ${lifetime(l)} s, over issuer ${rule.name}'s max_ttl ${rule.maxTtlSeconds} s`,
        'issue it with a shorter --ttl',
      );
  if (delegated && !rule.delegation)
    deny(
      'E_POLICY',
      `issuer ${rule.name} may not delegate (delegation = false)`,
      `set delegation = true for [[issuer]] ${rule.name}, or issue without delegation`,
    );
}

/** Step 7: `sub` names this host. */
function checkHost(a: Artifact, ctx: GateContext): void {
  const sub = a.claims.sub;
  const name = toHex(ctx.akName);
  if (sub === name) return;
  if (sub.startsWith('group:') && ctx.policy.host.groups.includes(sub.slice(6))) return;
  deny(
    'E_HOST',
    sub.startsWith('group:')
      ? `the artifact is for ${sub}; this host is in ${ctx.policy.host.groups.length ? ctx.policy.host.groups.map((g) => `group:${g}`).join(', ') : 'no group'}`
      : `the artifact is for host ${sub}; this host's AK Name is ${name}`,
    'issue the artifact for this host (execgate host identity --json gives akName) or one of its [host] groups',
  );
}

/** The PCRs the verdict needs quoted: the artifact's binding, the references' rules, else [audit] pcrs. */
async function quoteSelection(
  a: Artifact,
  refs: readonly ReferenceState[],
  ctx: GateContext,
): Promise<PcrSelection> {
  const state = a.claims.state;
  const selection: PcrBankSelection[] = [];
  if (refs.length > 0) {
    const allocated = await ctx.tpm.allocated();
    const { stateSelection } = await import('../measure/state/index.js');
    for (const ref of refs) merge(selection, stateSelection({ allocated, reference: ref }));
  }
  if (state !== undefined && 'pcrs' in state) merge(selection, [{ hash: SHA256, pcrs: [...state.pcrs] }]);
  return selection.length > 0 ? selection : ctx.policy.audit.pcrs;
}

const SHA256 = 0x000b;

function merge(into: PcrBankSelection[], add: PcrSelection): void {
  for (const b of add) {
    const have = into.find((x) => x.hash === b.hash);
    if (have === undefined) into.push({ hash: b.hash, pcrs: [...b.pcrs].sort((x, y) => x - y) });
    else {
      const pcrs = [...new Set([...have.pcrs, ...b.pcrs])].sort((x, y) => x - y);
      into.splice(into.indexOf(have), 1, { hash: b.hash, pcrs });
    }
  }
}

/** Steps 4–8. */
async function checkMeasured(a: Artifact, ctx: GateContext, facts: Facts): Promise<void> {
  const state = a.claims.state;
  const refs: ReferenceState[] = [];
  const policyRef = ctx.trust.reference?.state;
  if (policyRef !== undefined) refs.push(policyRef);
  if (state !== undefined && 'ref' in state) {
    const have = policyRef === undefined ? undefined : referenceDigest(policyRef);
    if (have === undefined || !equalBytes(have, state.ref)) {
      if (!facts.breakglass)
        deny(
          'E_STATE',
          `the artifact is bound to reference state ${toHex(state.ref)}; ${have === undefined ? 'the policy names no [host] reference' : `the policy's reference is ${toHex(have)}`}`,
          "bind the artifact to the digest execgate state digest prints for the policy's reference",
        );
    }
  }
  let quote: QuotedState;
  try {
    const selection = await quoteSelection(a, refs, ctx);
    quote = await ctx.tpm.quote(selection, new Uint8Array(randomBytes(32)));
  } catch (e) {
    return deny(
      'E_TPM_UNAVAILABLE',
      `no verified quote from the TPM: ${e instanceof Error ? e.message : String(e)}`,
      'check that the TPM answers at the TCTI (--tcti, $EXECGATE_TCTI or [host] tcti; execgate tpm info tests it) and that execgate host init was run',
    );
  }
  facts.quote = quote;
  const waived = facts.breakglass === true;
  const boot = a.claims.boot;
  if (boot !== undefined && boot !== quote.clock.resetCount && !waived)
    deny(
      'E_BOOT',
      `the artifact is for boot ${boot}; the TPM's resetCount is ${quote.clock.resetCount}`,
      'issue a new artifact for this boot (--boot N from a fresh quote)',
    );
  const epochIndex = ctx.policy.revocation?.epochNvIndex;
  if (epochIndex !== undefined && !waived) {
    let epoch: bigint;
    try {
      epoch = await ctx.tpm.counter(epochIndex);
    } catch (e) {
      return deny(
        'E_TPM_UNAVAILABLE',
        `cannot read the revocation epoch counter: ${e instanceof Error ? e.message : String(e)}`,
        'check the TPM and [revocation] epoch_nv_index',
      );
    }
    for (const l of linksOf(a))
      if (BigInt(l.claims.epoch ?? 0) < epoch)
        deny(
          'E_REVOKED',
          `the artifact${l === a ? '' : "'s ancestor"} is of epoch ${l.claims.epoch ?? 0}, below the host's revocation epoch ${epoch}`,
          `issue a new artifact with --epoch ${epoch}`,
        );
  }
  checkHost(a, ctx);
  if (waived || (state === undefined && refs.length === 0)) return;
  // Loaded only for an artifact or a policy that names a state: the measured-state layer is large.
  const { judgeMeasuredState } = await import('../measure/state/index.js');
  if (state !== undefined && 'pcrs' in state) {
    const v = judgeMeasuredState({ quoted: quote.pcrs, quoteSource: 'fresh quote', claim: state });
    if (!v.ok)
      deny(
        'E_STATE',
        `the quoted PCRs are not the state the artifact is bound to: ${v.failures.map((f) => f.message).join('; ')}`,
        'the host is not in the measured state the artifact requires: investigate the change, or issue an artifact for the current state',
      );
  }
  for (const ref of refs) {
    let logs: Awaited<ReturnType<GateTpm['logs']>>;
    try {
      logs = await ctx.tpm.logs(ref);
    } catch (e) {
      // The measurement layer's typed refusals (no log, unreadable, malformed): the state cannot be shown.
      if (!(e instanceof ExecgateError)) throw e;
      return deny(
        'E_STATE',
        `the host's measured state cannot be judged against its reference: ${e.message}`,
        'make the measurement logs the reference needs readable, as the message says, or drop their rules from the reference',
      );
    }
    const v = judgeMeasuredState({ quoted: quote.pcrs, quoteSource: 'fresh quote', reference: ref, ...logs });
    if (!v.ok)
      deny(
        'E_STATE',
        `the host does not match its reference state: ${v.failures.map((f) => f.message).join('; ')}`,
        'investigate the change (execgate state check REF), or update the reference',
      );
  }
}

/** Step 9: the execution is the scope's, and a claimed parent verdict is real. */
async function checkScope(a: Artifact, req: GateRequest, ctx: GateContext, facts: Facts): Promise<void> {
  const variable = req.env.EXECGATE_VERDICT;
  let parentExe: string | undefined;
  if (variable !== undefined) {
    const { seq, entryHash } = parseVerdictVariable(variable);
    const stored = ctx.store.entry(seq);
    if (stored === undefined || !equalBytes(stored.leaf, entryHash))
      deny(
        'E_LINEAGE',
        `EXECGATE_VERDICT names entry ${seq}, which is not in the audit log with that hash`,
        'run nested commands only under an execgate-allowed parent',
      );
    const { decodeVerdict } = await import('../audit/entry.js');
    let parent: ReturnType<typeof decodeVerdict>;
    try {
      parent = decodeVerdict((stored as { bytes: Uint8Array }).bytes);
    } catch (e) {
      // A damaged log (entry bytes that no longer decode under their stored hash): no parent to trust.
      if (!(e instanceof ExecgateError)) throw e;
      return deny(
        'E_LINEAGE',
        `EXECGATE_VERDICT names entry ${seq}, which does not decode: ${e.message}`,
        'the audit log is damaged: check it with execgate audit verify',
      );
    }
    // Only an allow: a "would-deny" ran in audit mode without being allowed, and gates no one.
    if (
      parent.verdict !== 'allow' ||
      parent.pid === undefined ||
      parent.pidStart === undefined ||
      !(await isAncestor(parent.pid, BigInt(parent.pidStart), {
        pid: req.pid,
        startTime: BigInt(req.pidStart),
      }))
    )
      deny(
        'E_LINEAGE',
        `EXECGATE_VERDICT names entry ${seq}, which is not an allow or whose process is not an ancestor of this one`,
        'do not set EXECGATE_VERDICT by hand',
      );
    facts.parent = seq;
    parentExe = parent.exe;
  }
  const exe = ctx.exe;
  if (exe instanceof GateError) throw exe;
  const s = a.claims.scope;
  const fail = (what: string, remedy: string): never => deny('E_SCOPE', what, remedy);
  if (exe.realPath !== s.exe)
    fail(
      `the artifact is for ${s.exe}; the command is ${exe.realPath}`,
      `run ${s.exe}, or issue an artifact for ${exe.realPath}`,
    );
  if (s.sha256 === undefined || !equalBytes(s.sha256, exe.sha256))
    fail(
      `${exe.realPath} has SHA-256 ${toHex(exe.sha256)}; the artifact names ${s.sha256 ? toHex(s.sha256) : 'none'}`,
      'the executable changed since the artifact was issued: investigate, or issue a new artifact',
    );
  if (s.argv !== undefined && !sameArgs(s.argv, req.argv))
    fail(
      `the arguments are not the ${s.argv.length} the artifact allows`,
      "run the command with exactly the artifact's arguments (execgate artifact inspect)",
    );
  if (s.cwd !== undefined && s.cwd !== req.cwd)
    fail(`the working directory is ${req.cwd}; the artifact requires ${s.cwd}`, `cd ${s.cwd} first`);
  if (s.uid !== undefined && s.uid !== req.uid)
    fail(`the caller is uid ${req.uid}; the artifact requires uid ${s.uid}`, `run it as uid ${s.uid}`);
  if (s.caller !== undefined && parentExe !== s.caller)
    fail(
      `the artifact must run under a gated ${s.caller}; ${parentExe === undefined ? 'there is no parent verdict' : `the parent is ${parentExe}`}`,
      `run it from ${s.caller} started through execgate exec`,
    );
  const names = a.claims.secrets ?? [];
  if (names.length === 0) return;
  if (ctx.secrets === undefined) throw new SecretsNotServed('the artifact names sealed secrets');
  for (const name of names) {
    let sealed: boolean;
    try {
      sealed = await ctx.secrets.sealed(name);
    } catch (e) {
      return fail(
        `the sealed secret ${name} cannot be read: ${e instanceof Error ? e.message : String(e)}`,
        `seal it again (execgate secret seal --name ${name})`,
      );
    }
    if (!sealed)
      fail(
        `the artifact names the secret ${name}, which is not sealed on this host`,
        `seal it first (execgate secret seal --name ${name} --in FILE), or issue an artifact without it`,
      );
  }
}

/** The audit entry of a verdict with what is known. */
function entryOf(
  verdict: 'allow' | 'deny' | 'would-deny',
  reason: string,
  req: GateRequest,
  ctx: GateContext,
  facts: Facts,
): EntryInput {
  const a = facts.artifact;
  const exe = ctx.exe instanceof GateError ? undefined : ctx.exe;
  return {
    time: req.now,
    verdict,
    reason,
    mode: ctx.policy.host.mode,
    uid: req.uid,
    pid: req.pid,
    pidStart: req.pidStart,
    argvSha256: argvDigest(req.argv),
    ...(facts.quote === undefined ? {} : { tpmClock: facts.quote.clock, quote: facts.quote.digest }),
    ...(a === undefined ? {} : { artifact: artifactDigest(a.cose), cti: a.claims.cti }),
    ...(facts.issuer === undefined ? {} : { issuer: facts.issuer.kid }),
    ...(exe === undefined ? {} : { exe: exe.realPath, exeSha256: exe.sha256 }),
    ...(facts.parent === undefined ? {} : { parent: facts.parent }),
    ...(facts.breakglass ? { breakglass: true as const } : {}),
    ...(verdict === 'allow' && a?.claims.secrets !== undefined ? { secrets: a.claims.secrets } : {}),
  };
}

function verdictOf(
  reason: 'OK' | GateError,
  ctx: GateContext,
  facts: Facts,
  audit: GateVerdict['audit'] | string | undefined,
): GateVerdict {
  const mode = ctx.policy.host.mode;
  const a = facts.artifact;
  const exe = ctx.exe instanceof GateError ? undefined : ctx.exe;
  const allow = reason === 'OK';
  // Audit mode runs a denied command only once its "would-deny" is recorded: one the store could not
  // take (E_AUDIT, or a denial whose append failed) is a denial in either mode.
  const unrecorded = typeof audit === 'string' || (!allow && reason.code === 'E_AUDIT');
  const verdict = allow ? 'allow' : mode === 'audit' && !unrecorded ? 'would-deny' : 'deny';
  return {
    verdict,
    reason: allow ? 'OK' : reason.code,
    detail: allow ? '' : reason.message,
    remedy: allow ? '' : reason.remedy,
    mode,
    run: allow || (verdict === 'would-deny' && exe !== undefined),
    ...(a === undefined
      ? {}
      : {
          artifact: {
            ...(facts.file === undefined ? {} : { file: facts.file }),
            digest: toHex(artifactDigest(a.cose)),
            cti: toHex(a.claims.cti),
            issuer: toHex(facts.issuer?.kid ?? a.chain[0]?.kid ?? a.kid),
          },
        }),
    ...(exe === undefined ? {} : { exe: { path: exe.realPath, sha256: toHex(exe.sha256) } }),
    ...(facts.breakglass ? { breakglass: true as const } : {}),
    ...(facts.parent === undefined ? {} : { parent: facts.parent }),
    ...(typeof audit === 'string' ? { auditError: audit } : audit === undefined ? {} : { audit }),
    ...(allow && a?.claims.scope.env !== undefined ? { env: a.claims.scope.env } : {}),
    ...(allow && a?.claims.secrets !== undefined ? { secrets: a.claims.secrets } : {}),
  };
}

/** The verdict on `req` (module comment). Never throws: every failure is a denial with its code. */
export async function decide(req: GateRequest, ctx: GateContext): Promise<GateVerdict> {
  const facts: Facts = {};
  let artifact: Artifact;
  try {
    const bytes = await artifactBytes(req, ctx, facts);
    artifact = verified(bytes, req, ctx, facts);
    await checkMeasured(artifact, ctx, facts);
    await checkScope(artifact, req, ctx, facts);
  } catch (e) {
    if (e instanceof SecretsNotServed) throw e;
    return denied(asGateError(e), req, ctx, facts);
  }
  lap('scope');
  const scope = artifact.claims.scope;
  const consume = { cti: replayKey(artifact), uses: scope.uses ?? 1, exp: artifact.claims.exp };
  if (!req.consume) {
    const row = safely(() => ctx.store.uses(consume.cti));
    if (row instanceof GateError) return verdictOf(row, ctx, facts, undefined);
    if (row !== undefined && row.used >= row.allowed)
      return verdictOf(replayed(row.used), ctx, facts, undefined);
    return verdictOf('OK', ctx, facts, undefined);
  }
  const replayDeny = ctx.policy.host.mode === 'audit' ? 'would-deny' : 'deny';
  const r = safely(() =>
    ctx.store.appendVerdict({
      consume,
      allow: entryOf('allow', 'OK', req, ctx, facts),
      deny: entryOf(replayDeny, 'E_REPLAY', req, ctx, facts),
    }),
  );
  if (r instanceof GateError) return verdictOf(r, ctx, facts, undefined);
  const audit = { seq: r.seq, entryHash: toHex(r.leaf) };
  const names = artifact.claims.secrets;
  if (!r.consumed || names === undefined || ctx.secrets === undefined)
    return verdictOf(r.consumed ? 'OK' : replayed(r.used), ctx, facts, audit);
  try {
    await ctx.secrets.release(names);
    return verdictOf('OK', ctx, facts, audit);
  } catch (e) {
    return unsealFailed(e, names, req, ctx, facts, r.seq);
  }
}

/**
 * Step 11 failed: a deny entry after the allow (the use stays spent), and a denial in either mode: a
 * command that was to receive secrets never runs without them.
 */
function unsealFailed(
  e: unknown,
  names: readonly string[],
  req: GateRequest,
  ctx: GateContext,
  facts: Facts,
  allowSeq: number,
): GateVerdict {
  const message = e instanceof Error ? e.message : String(e);
  const refused = e instanceof ExecgateError && e.code === 'E_SECRET_REFUSED';
  const g = refused
    ? new GateError(
        'E_STATE',
        `the TPM refused to unseal the secrets ${names.join(', ')} (allow recorded as entry ${allowSeq}): ${message}`,
        'the host is not in the state its secrets are sealed to: investigate, then seal them again or sign a PCR policy for this state (execgate secret policy-sign)',
        { cause: e },
      )
    : new GateError(
        'E_TPM_UNAVAILABLE',
        `the secrets ${names.join(', ')} could not be unsealed (allow recorded as entry ${allowSeq}): ${message}`,
        'check that the TPM answers (execgate tpm info) and the sealed files in the state directory (execgate secret list)',
        { cause: e },
      );
  const r = safely(() => ctx.store.append(entryOf('deny', g.code, req, ctx, facts)));
  const v = verdictOf(
    g,
    ctx,
    facts,
    r instanceof GateError ? r.message : { seq: r.seq, entryHash: toHex(r.leaf) },
  );
  return { ...v, verdict: 'deny', run: false };
}

/**
 * The key its uses are counted under: SHA-256 of the signer's kid and the cti. A cti alone is chosen by
 * whoever signs, so another issuer or a delegate could sign an artifact of its own with a victim's cti and
 * more uses, spend one first, and so set the count the victim's artifact is then held to. The kid is
 * signed (protected header), so another encoding of the same artifact keeps its key.
 */
const replayKey = (a: Artifact): Uint8Array => sha256(concatBytes([a.kid, a.claims.cti]));

const replayed = (used: number): GateError =>
  new GateError(
    'E_REPLAY',
    `every use of the artifact is spent (${used} used)`,
    'issue a new artifact (or one with more --uses)',
  );

/** `fn`'s result, or its failure as E_AUDIT (the store could not record or read). */
function safely<T>(fn: () => T): T | GateError {
  try {
    return fn();
  } catch (e) {
    return new GateError(
      'E_AUDIT',
      `the verdict could not be recorded: ${e instanceof Error ? e.message : String(e)}`,
      'check the state directory (disk space, permissions, execgate audit verify)',
      { cause: e },
    );
  }
}

/** A denial, recorded in the audit log when the request consumes (exec). */
function denied(e: GateError, req: GateRequest, ctx: GateContext, facts: Facts): GateVerdict {
  if (!req.consume) return verdictOf(e, ctx, facts, undefined);
  const verdict = ctx.policy.host.mode === 'audit' ? 'would-deny' : 'deny';
  const r = safely(() => ctx.store.append(entryOf(verdict, e.code, req, ctx, facts)));
  return verdictOf(
    e,
    ctx,
    facts,
    r instanceof GateError ? r.message : { seq: r.seq, entryHash: toHex(r.leaf) },
  );
}

/** Remedies of the artifact layer's codes. */
const REMEDY: Partial<Record<string, string>> = {
  E_FORMAT: 'the file is not an execgate artifact: check it with execgate artifact inspect',
  E_SIGNATURE: 'the artifact was altered or signed by another key: get a fresh copy from its issuer',
  E_UNTRUSTED_ISSUER:
    'have an [[issuer]] of the policy sign it, or add its key (execgate policy check shows the issuers)',
  E_LINEAGE: 'the delegation chain is broken: have the delegate re-issue it within its grant',
  E_APPROVAL: 'collect the approvals the policy requires (execgate artifact approve)',
  E_EXPIRED: 'issue a new artifact',
  E_NOT_YET_VALID: 'wait until its not-before time, or check the host clock',
  E_REVOKED: 'the artifact or its key is revoked: issue a new one with a key that is not',
  E_REVOCATION_LIST: 'fix the revocation lists the policy names',
};
