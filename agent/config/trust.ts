// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/config/trust
 *
 * The host's effective trust: what the gate judges an artifact by (issue 14), loaded from the files the
 * host policy names. `loadTrust` reads each of them as a trusted file (fs/trusted-file.ts: no link, root's
 * or ours, writable by no one else, nor its directories) and checks them together:
 *
 * - every key file (issuers, approvers, break-glass) is an Ed25519, P-256 or P-384 SubjectPublicKeyInfo,
 *   PEM or DER (crypto/keys.ts parsePublicKey);
 * - issuer names are unique, and so are issuer keys (by kid, across the policy file and its fragments), so
 *   an artifact's signer names one issuer and its rules; the break-glass key is no issuer's, so its
 *   artifacts are always told apart; no approval rule lists one key twice (it would count twice);
 * - every revocation list verifies under an issuer key or the break-glass key (artifact/revocation.ts),
 *   and the newest list of each signer is what counts (RevocationState), whatever order they are named in;
 * - the reference state, when named, is a valid reference-state document (measure/reference.ts).
 *
 * Anything wrong is E_CONFIG naming the file and the TOML path that names it.
 *
 * Not checked: that a newer revocation list seen before is not replaced by an older file (no state is
 * kept between runs here: the files' owner is trusted); whether an issuer's executables exist.
 */
import { pathProblem } from '../artifact/claims.js';
import { ArtifactError } from '../artifact/errors.js';
import { type RevocationList, RevocationState, verifyRevocationList } from '../artifact/revocation.js';
import type { ApprovalPolicy, Revocations } from '../artifact/verify.js';
import { KeyError, type PublicKey, parsePublicKey } from '../crypto/public-key.js';
import { initVerification } from '../crypto/verify.js';
import { toHex } from '../encoding/bytes.js';
import { INPUT_LIMITS } from '../fs/read-bounded.js';
import { readTrusted } from '../fs/trusted-file.js';
import { parseReferenceState, type ReferenceState, ReferenceStateError } from '../measure/reference.js';
import { ConfigError, fileRefused } from './errors.js';
import type { HostPolicy, Origin } from './policy.js';

/** A public key and the file it was loaded from (absolute). */
export interface KeyFile extends PublicKey {
  readonly file: string;
}

/** One issuer: whose artifacts the gate takes as roots, for which executables, how long-lived. */
export interface IssuerTrust {
  readonly name: string;
  readonly key: KeyFile;
  /** Executables: absolute paths, or directory prefixes ending in "/" (exeMatches). */
  readonly exe: readonly string[];
  /** The longest lifetime (exp − nbf) of an artifact it issues, in seconds. */
  readonly maxTtlSeconds: number;
  /** Whether its artifacts may carry a delegate grant. */
  readonly delegation: boolean;
  readonly origin: Origin;
}

/** One k-of-n approval rule: artifacts for these executables need `required` of `approvers`. */
export interface ApprovalTrust extends ApprovalPolicy {
  readonly exe: readonly string[];
  readonly approvers: readonly KeyFile[];
  readonly origin: Origin;
}

/** The break-glass key: its artifacts pass despite E_STATE, E_BOOT and the epoch, always flagged. */
export interface BreakglassTrust {
  readonly key: KeyFile;
  readonly maxTtlSeconds: number;
}

/** A revocation list named by the policy, verified. */
export interface LoadedRevocationList {
  /** Its file (absolute). */
  readonly file: string;
  /** Issuer, sequence number, issue time, revoked ctis and kids, and the signer's kid. */
  readonly list: RevocationList;
}

export interface HostTrust {
  readonly policy: HostPolicy;
  /** The policy file's issuers, then each fragment's. */
  readonly issuers: readonly IssuerTrust[];
  readonly approvals: readonly ApprovalTrust[];
  readonly breakglass: BreakglassTrust | undefined;
  /** As named in `revocation.lists`. */
  readonly revocationLists: readonly LoadedRevocationList[];
  /** Everything the newest list of each signer revokes: for artifact/verify.ts's `revoked`. */
  readonly revoked: Revocations;
  /** `host.reference`: the measured state every execution also requires. */
  readonly reference: { readonly file: string; readonly state: ReferenceState } | undefined;
}

/** Where in the policy a file is named: for messages. */
interface Place {
  readonly file: string | undefined;
  readonly at: string;
  /** "policy FILE" or "policy fragment FILE". */
  readonly where: string;
}

function placeOf(policy: HostPolicy, file: string | undefined, at: string): Place {
  const kind = file !== undefined && file !== policy.file ? 'policy fragment' : 'policy';
  return { file, at, where: file === undefined ? kind : `${kind} ${file}` };
}

/** Where an entry was declared, for a message about another one. */
const declared = (o: Origin) => (o.file === undefined ? o.at : `${o.at} in ${o.file}`);

const refused = (place: Place, why: string, cause?: unknown) =>
  new ConfigError(`${place.where}: ${place.at}: ${why}`, { file: place.file, at: place.at, cause });

async function readNamed(path: string, place: Place, maxBytes: number, what: string): Promise<Uint8Array> {
  try {
    return await readTrusted(path, { maxBytes, what });
  } catch (e) {
    return fileRefused(e, { file: place.file, at: place.at }, `${place.where}: ${place.at}: `);
  }
}

/** Where in a policy a file is named: the file that names it (undefined: the policy file) and its TOML path. */
export interface NamedAt {
  readonly file: string | undefined;
  readonly at: string;
}

/**
 * The key file `path` that `policy` names at `where`, read as a trusted file and parsed (an Ed25519,
 * P-256 or P-384 SubjectPublicKeyInfo): E_CONFIG naming the file and TOML path otherwise. One file at a
 * time, so that `execgate doctor` can report every key that does not load, not only the first.
 */
export async function loadKeyFile(policy: HostPolicy, path: string, where: NamedAt): Promise<KeyFile> {
  const place = placeOf(policy, where.file, where.at);
  const bytes = await readNamed(path, place, INPUT_LIMITS.key, 'key file');
  try {
    return { ...parsePublicKey(bytes, `key file ${path}`), file: path };
  } catch (e) {
    if (e instanceof KeyError) throw refused(place, e.message, e);
    throw e;
  }
}

/**
 * The revocation list `revocation.lists[index]` of `policy`, read as a trusted file and verified under
 * one of `signers` (E_CONFIG naming it otherwise); call initVerification() first.
 */
export async function loadRevocationListFile(
  policy: HostPolicy,
  index: number,
  signers: readonly PublicKey[],
): Promise<LoadedRevocationList> {
  const file = policy.revocation?.lists[index];
  if (file === undefined) throw new RangeError(`the policy has no revocation.lists[${index}]`);
  const place = placeOf(policy, policy.file, `revocation.lists[${index}]`);
  const bytes = await readNamed(file, place, INPUT_LIMITS.revocationList, 'revocation list');
  try {
    return { file, list: verifyRevocationList(bytes, signers) };
  } catch (e) {
    throw listRefused(e, place, file);
  }
}

/**
 * Loads the files `policy` names and checks them together (see the module comment): E_CONFIG naming the
 * file and TOML path of the first problem. Revocation lists are verified through agent/crypto/verify.ts
 * (initVerification is called here when there are any).
 */
export async function loadTrust(policy: HostPolicy): Promise<HostTrust> {
  // A key file named twice (an approver in several rules) is read once.
  const keys = new Map<string, KeyFile>();
  const loadKey = async (path: string, place: Place): Promise<KeyFile> => {
    const known = keys.get(path);
    if (known) return known;
    const key = await loadKeyFile(policy, path, place);
    keys.set(path, key);
    return key;
  };

  const issuers: IssuerTrust[] = [];
  for (const entry of policy.issuers) {
    const at = entry.origin.at;
    const key = await loadKey(entry.key, placeOf(policy, entry.origin.file, `${at}.key`));
    const sameName = issuers.find((i) => i.name === entry.name);
    if (sameName)
      throw refused(
        placeOf(policy, entry.origin.file, `${at}.name`),
        `issuer "${entry.name}" is already declared (${declared(sameName.origin)})`,
      );
    const sameKey = issuers.find((i) => toHex(i.key.kid) === toHex(key.kid));
    if (sameKey)
      throw refused(
        placeOf(policy, entry.origin.file, `${at}.key`),
        `${entry.key} is the key of issuer "${sameKey.name}" (${declared(sameKey.origin)}), kid ${toHex(key.kid)}: one key, one issuer`,
      );
    issuers.push({
      name: entry.name,
      key,
      exe: entry.exe,
      maxTtlSeconds: entry.maxTtlSeconds,
      delegation: entry.delegation,
      origin: entry.origin,
    });
  }

  const approvals: ApprovalTrust[] = [];
  for (const entry of policy.approvals) {
    const approvers: KeyFile[] = [];
    for (const [i, file] of entry.approvers.entries()) {
      const place = placeOf(policy, entry.origin.file, `${entry.origin.at}.approvers[${i}]`);
      const key = await loadKey(file, place);
      const first = approvers.findIndex((k) => toHex(k.kid) === toHex(key.kid));
      if (first >= 0)
        throw refused(
          place,
          `${file} is the same key as approvers[${first}] (${entry.approvers[first]}, kid ${toHex(key.kid)}): it would count twice`,
        );
      approvers.push(key);
    }
    approvals.push({
      exe: entry.exe,
      approvers,
      required: entry.required,
      origin: entry.origin,
    });
  }

  let breakglass: BreakglassTrust | undefined;
  if (policy.breakglass) {
    const place = placeOf(policy, policy.file, 'breakglass.key');
    const key = await loadKey(policy.breakglass.key, place);
    const issuer = issuers.find((i) => toHex(i.key.kid) === toHex(key.kid));
    if (issuer)
      throw refused(
        place,
        `${policy.breakglass.key} is the key of issuer "${issuer.name}" (${declared(issuer.origin)}): a break-glass artifact must be told apart from every issuer's`,
      );
    breakglass = { key, maxTtlSeconds: policy.breakglass.maxTtlSeconds };
  }

  const revocationLists: LoadedRevocationList[] = [];
  const lists = policy.revocation?.lists ?? [];
  if (lists.length > 0) {
    await initVerification();
    const signers = [...issuers.map((i) => i.key), ...(breakglass ? [breakglass.key] : [])];
    for (const i of lists.keys()) revocationLists.push(await loadRevocationListFile(policy, i, signers));
  }
  // Oldest first, so that the newest list of each signer is the one kept whatever order they are named in.
  const state = new RevocationState();
  for (const l of [...revocationLists].sort((a, b) => a.list.seq - b.list.seq)) {
    try {
      state.accept(l.list);
    } catch (e) {
      throw listRefused(
        e,
        placeOf(policy, policy.file, `revocation.lists[${lists.indexOf(l.file)}]`),
        l.file,
      );
    }
  }

  let reference: HostTrust['reference'];
  if (policy.host.reference !== undefined) {
    const file = policy.host.reference;
    const place = placeOf(policy, policy.file, 'host.reference');
    const bytes = await readNamed(file, place, INPUT_LIMITS.reference, 'reference state');
    try {
      reference = { file, state: parseReferenceState(bytes) };
    } catch (e) {
      if (e instanceof ReferenceStateError) throw refused(place, `${file}: ${e.message}`, e);
      throw e;
    }
  }

  return {
    policy,
    issuers,
    approvals,
    breakglass,
    revocationLists,
    revoked: state.revocations(),
    reference,
  };
}

/** A revocation list refused (E_REVOCATION_LIST) as E_CONFIG at its place in the policy. */
function listRefused(e: unknown, place: Place, file: string): unknown {
  return e instanceof ArtifactError && e.code === 'E_REVOCATION_LIST'
    ? refused(place, `revocation list ${file}: ${e.message}`, e)
    : e;
}

/**
 * Whether `realPath` (the real path of the file that would run) is one of `rule`'s executables: equal to
 * a path, or under a prefix ending in "/". A path not absolute and normalised (a "..", "." or empty
 * segment, a trailing "/") matches nothing, so "/usr/bin/../sbin/x" is not under "/usr/bin/".
 */
export function exeMatches(rule: readonly string[], realPath: string): boolean {
  if (pathProblem(realPath, 'realPath') !== undefined) return false;
  return rule.some((r) => (r.endsWith('/') ? realPath.startsWith(r) : realPath === r));
}

/** The issuers that may authorise running `realPath`. */
export function issuersFor(trust: HostTrust, realPath: string): readonly IssuerTrust[] {
  return trust.issuers.filter((i) => exeMatches(i.exe, realPath));
}

/** How closely `rule` names `realPath`: the length of its longest entry that matches, else -1. */
function specificity(rule: readonly string[], realPath: string): number {
  return Math.max(-1, ...rule.filter((r) => exeMatches([r], realPath)).map((r) => r.length));
}

/**
 * The approval rules an artifact for `realPath` must satisfy, every one of them: those that name it
 * most closely (an exact path before `/usr/sbin/`, `/usr/sbin/` before `/usr/`). Rules with different
 * approver sets could never all pass (an approval by a key outside a rule's set is refused), so a
 * narrower rule replaces a wider one for the executables it names; rules naming it equally closely
 * must all pass.
 */
export function approvalsFor(trust: HostTrust, realPath: string): readonly ApprovalTrust[] {
  const scored = trust.approvals.map((a) => ({ a, s: specificity(a.exe, realPath) }));
  const best = Math.max(-1, ...scored.map((x) => x.s));
  return best < 0 ? [] : scored.filter((x) => x.s === best).map((x) => x.a);
}
