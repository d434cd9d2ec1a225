// SPDX-License-Identifier: Apache-2.0
/**
 * The checks of `execgate doctor` (issue 15): is this host ready to gate? Each check has a stable id,
 * runs after the checks it needs, and gives one status with one line of detail and, when it is not ok,
 * one line saying what to do. A check whose prerequisite failed (or was itself skipped) does not run:
 * it is reported as skipped because of that check, never as passing.
 *
 *   policy      the host policy and its policy.d fragments parse (config/policy.ts loadPolicy)
 *   tpm         the TPM answers at the TCTI the other commands resolve, with its PCR banks; the banks the
 *               policy's [audit] pcrs names are allocated
 *   state-dir   the state directory exists, is ours, not a link, 0700 (group or others reading it: warn;
 *               writing: fail), every directory above it safe (fs/atomic-write.ts checkDir); host.json
 *               reads as a trusted file; audit.db and its -wal/-shm files are ours, regular, not
 *               group/other-writable
 *   ak          an AK is pinned in host.json and the TPM's key at its handle is byte-equal to the pin
 *   ek-cert     each pinned EK's certificate is in NV, parses, is within its validity period and
 *               certifies the pinned EK (absent: warn, since the pin may stand on first use)
 *   nv          the audit NV counter ([audit] nv_counter_index) and the revocation epoch counter
 *               ([revocation] epoch_nv_index, when set) are defined as execgate's counters and read
 *   keys        every key file the policy names loads (each failure listed, not only the first)
 *   revocation  every revocation list loads and verifies under an issuer or break-glass key, and none is
 *               issued in the future
 *   trust       the whole trust loads as the gate loads it (config/trust.ts loadTrust: unique issuers and
 *               keys, the reference state)
 *   audit       the live audit log verifies as `execgate audit verify` verifies it, with the TPM's counter
 *               certified by the pinned AK against the newest checkpoint
 *   clock       the system time is not before this execgate's source date, nor (beyond [host]
 *               clock_skew) before the newest audit entry or checkpoint
 *
 * Not checked: that the TPM's EK is still the pinned one (every session salted to it checks that, at the
 * cost of making the EK), the EK certificate's chain (the policy names no CA: `host identity --ca
 * BUNDLE` checks it), the TPM's clock against the system's (the TPM counts time since it was cleared,
 * not wall time). Revocation lists carry no next-update time, so "fresh" can only mean not from the
 * future: an old list stays in force until a newer one replaces it.
 *
 * Nothing here prints or exits: doctor.ts does. Kept in cli/ because the checks use the host state and
 * policy resolution that live here (host-state.ts, host-policy.ts).
 */

import type { Stats } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { AkError, confirmPinnedAk } from '../attest/ak.js';
import { type EkAlg, readEkCertificate } from '../attest/ek.js';
import { formatCounterIndex, NvCounterError, readCounter } from '../attest/nv-counter.js';
import { spkiOfPublic } from '../attest/quote.js';
import { decodeEntry } from '../audit/entry.js';
import { AUDIT_DB_FILE, AuditStore } from '../audit/store.js';
import { ConfigError } from '../config/errors.js';
import { defaultPolicy, type HostPolicy, loadPolicy } from '../config/policy.js';
import {
  type KeyFile,
  loadKeyFile,
  loadRevocationListFile,
  loadTrust,
  type NamedAt,
} from '../config/trust.js';
import { bankName } from '../crypto/algorithms.js';
import type { PublicKey } from '../crypto/keys.js';
import { initVerification } from '../crypto/verify.js';
import { toHex } from '../encoding/bytes.js';
import { ExecgateError, errnoOf } from '../errors.js';
import { checkDir } from '../fs/atomic-write.js';
import { allocatedBanks } from '../tpm/pcr.js';
import type { Tpm } from '../tpm/tpm.js';
import { resolveTcti } from '../tpm/transport/index.js';
import { verifyLiveLog } from './audit.js';
import type { CliContext } from './context.js';
import { oneLine } from './exec-common.js';
import {
  type HostState,
  hostStatePath,
  type PinnedAk,
  pinnedEk,
  readHostState,
  requirePinnedAk,
  stateDirOf,
} from './host-state.js';

export const CHECK_IDS = [
  'policy',
  'tpm',
  'state-dir',
  'ak',
  'ek-cert',
  'nv',
  'keys',
  'revocation',
  'trust',
  'audit',
  'clock',
] as const;

/** A check's stable id. */
export type CheckId = (typeof CHECK_IDS)[number];

/** ok: passes; warn: passes, with advice; fail: the host is not ready; skip: a prerequisite failed. */
export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

/** One line of the report: `remedy` is null when the status is ok or skip. */
export interface CheckResult {
  readonly id: CheckId;
  readonly status: CheckStatus;
  readonly detail: string;
  readonly remedy: string | null;
}

/** What a check's run returns. */
type Outcome =
  | { readonly status: 'ok'; readonly detail: string }
  | { readonly status: 'warn' | 'fail'; readonly detail: string; readonly remedy: string };

const ok = (detail: string): Outcome => ({ status: 'ok', detail });
const warn = (detail: string, remedy: string): Outcome => ({ status: 'warn', detail, remedy });
const fail = (detail: string, remedy: string): Outcome => ({ status: 'fail', detail, remedy });

/** The source date of this execgate: no system clock that runs it can be earlier. */
export const SOURCE_DATE_MS = Date.UTC(2026, 11, 1);

/** What the command line gave doctor. */
export interface DoctorOptions {
  /** --policy FILE, else the default policy file: required, as the gate requires it. */
  readonly policyFile: string;
  /** --state-dir DIR, which wins over the policy's. */
  readonly stateDir: string | undefined;
  /** The CLI context: --tcti, the environment, the TPM deadline. */
  readonly ctx: CliContext;
  /** The system clock, ms since the epoch (a seam for tests). */
  readonly now: () => number;
}

/** What the checks learn, for the checks after them. */
class Session {
  policy: HostPolicy | undefined;
  tpm: Tpm | undefined;
  hostState: HostState | undefined;
  ak: PinnedAk | undefined;
  signers: PublicKey[] = [];
  readonly results = new Map<CheckId, CheckResult>();

  constructor(readonly opts: DoctorOptions) {}

  /** --state-dir, else the policy's [host] state_dir, else $EXECGATE_STATE_DIR, else the default. */
  get stateDir(): string {
    return this.opts.stateDir ?? this.policy?.host.stateDir ?? stateDirOf(this.opts.ctx.env);
  }

  /** The TCTI as host-policy.ts resolves it: --tcti, $EXECGATE_TCTI, the policy's, $TPM2TOOLS_TCTI, default. */
  get tcti(): string {
    const { ctx } = this.opts;
    const fromPolicy = ctx.env.EXECGATE_TCTI ? undefined : this.policy?.host.tcti;
    return resolveTcti(ctx.tcti ?? fromPolicy, ctx.env);
  }

  passed(id: CheckId): boolean {
    const s = this.results.get(id)?.status;
    return s === 'ok' || s === 'warn';
  }
}

/** `text` on one line: wrapped messages joined with spaces, any other control character escaped. */
const line = (text: string) => oneLine(text.replace(/\s*\n\s*/g, ' '));

/** `v`, which the check's prerequisites guarantee (a programming error otherwise). */
function need<T>(v: T | undefined, what: string): T {
  if (v === undefined) throw new TypeError(`doctor: ${what} is not known before the check that needs it`);
  return v;
}

interface Check {
  readonly id: CheckId;
  /** The checks that must pass first. */
  readonly needs: readonly CheckId[];
  run(s: Session): Promise<Outcome>;
  /** What to do when `run` throws `e` (an error of a lower layer). */
  onError(e: unknown, s: Session): string;
}

const euid = (): number => (typeof process.geteuid === 'function' ? process.geteuid() : 0);
const codeOf = (e: unknown): string | undefined => (e instanceof ExecgateError ? e.code : undefined);
const mode = (m: number) => (m & 0o7777).toString(8);
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const hex32 = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

const TPM_REMEDY = 'check the TPM: execgate tpm info (with the same --tcti) says whether it answers';

/** What to do about a policy file, or one it names, that does not load. */
const fixPolicy = (_e: unknown, s: Session) =>
  `fix it, then check it with execgate policy check --policy ${s.opts.policyFile}`;

const policyCheck: Check = {
  id: 'policy',
  needs: [],
  async run(s) {
    s.policy = await loadPolicy(s.opts.policyFile);
    const f = s.policy.fragments.length;
    return ok(`${s.policy.file}${f ? ` and ${plural(f, 'fragment')} in policy.d` : ''}`);
  },
  onError(e, s) {
    const missing =
      e instanceof ConfigError && errnoOf((e.cause as { cause?: unknown } | undefined)?.cause) === 'ENOENT';
    return missing ? `write the host policy (docs/policy.md) or name it with --policy FILE` : fixPolicy(e, s);
  },
};

const tpmCheck: Check = {
  id: 'tpm',
  needs: [],
  async run(s) {
    s.tpm = s.opts.ctx.withTcti(s.tcti).openTpm();
    const banks = await allocatedBanks(s.tpm);
    const names = banks.map((b) => bankName(b.hash));
    const facts = `${s.tcti}, banks ${names.join(' ')}`;
    if (banks.length === 0)
      return fail(`${s.tcti}: no PCR bank is allocated`, 'allocate a sha256 bank (tpm2_pcrallocate)');
    for (const want of s.policy?.audit.pcrs ?? []) {
      const have = banks.find((b) => b.hash === want.hash);
      const lacking = want.pcrs.filter((p) => !have?.pcrs.includes(p));
      if (lacking.length)
        return fail(
          `${facts}: [audit] pcrs names ${bankName(want.hash)} PCR ${lacking.join(',')}, which the TPM has not allocated`,
          `set [audit] pcrs to PCRs of an allocated bank, e.g. ${names.includes('sha256') ? 'sha256' : names[0]}:0-7`,
        );
    }
    return ok(facts);
  },
  onError(e, s) {
    if (codeOf(e) === 'E_TPM_UNAVAILABLE' || codeOf(e) === 'E_TPM_TIMEOUT')
      return `start the TPM at ${s.tcti}, or name the right one: --tcti, $EXECGATE_TCTI or the policy's [host] tcti`;
    return TPM_REMEDY;
  },
};

/** Why a file in the state directory is unsafe, or undefined: a link, not a regular file, another's, writable. */
function unsafeFile(st: Stats): string | undefined {
  if (st.isSymbolicLink()) return 'is a symbolic link';
  if (!st.isFile()) return 'is not a regular file';
  if (st.uid !== 0 && st.uid !== euid()) return `is owned by uid ${st.uid}`;
  if (st.mode & 0o022) return `is writable by group or others (mode ${mode(st.mode)})`;
  return undefined;
}

const stateDirCheck: Check = {
  id: 'state-dir',
  needs: ['policy'],
  async run(s) {
    const dir = s.stateDir;
    const init = `run execgate host init --policy ${s.opts.policyFile} (it makes ${dir}, 0700)`;
    let st: Stats;
    try {
      st = await lstat(dir);
    } catch (e) {
      if (errnoOf(e) === 'ENOENT')
        return fail(`${dir} does not exist: this host was never initialised`, init);
      throw e;
    }
    if (st.isSymbolicLink())
      return fail(`${dir} is a symbolic link`, 'give the real directory as [host] state_dir');
    if (!st.isDirectory()) return fail(`${dir} is not a directory`, `remove it, then ${init}`);
    const m = st.mode;
    if (st.uid !== euid())
      return fail(
        `${dir} is owned by uid ${st.uid}, and execgate runs as uid ${euid()}`,
        `chown ${euid()} ${dir}, or run execgate as its owner`,
      );
    if (m & 0o022)
      return fail(
        `${dir} is writable by group or others (mode ${mode(m)}): they could replace the audit log or host.json`,
        `chmod 700 ${dir}`,
      );
    // The directories above (a link among them resolved), as every write there checks them.
    await checkDir(dir);
    // Trusted-file rules and its content (E_FILE_UNSAFE, E_USAGE): what every command reads.
    s.hostState = await readHostState(dir);
    for (const name of [AUDIT_DB_FILE, `${AUDIT_DB_FILE}-wal`, `${AUDIT_DB_FILE}-shm`]) {
      const path = join(dir, name);
      const f = await lstat(path).catch((e: unknown) => {
        if (errnoOf(e) === 'ENOENT') return undefined;
        throw e;
      });
      const why = f === undefined ? undefined : unsafeFile(f);
      if (why !== undefined)
        return fail(
          `${path} ${why}`,
          `make it a regular file of uid ${euid()}, mode 600 (chown ${euid()} ${path}; chmod 600 ${path})`,
        );
    }
    const facts = `${dir}: uid ${st.uid}, mode ${mode(m)}${s.hostState ? ', host.json' : ''}`;
    if (m & 0o055)
      return warn(
        `${facts}: group or others may list it`,
        `chmod 700 ${dir} (audit.db is 0600 either way; host.json is public facts)`,
      );
    return ok(facts);
  },
  onError(e, s) {
    if (codeOf(e) === 'E_FILE_UNSAFE')
      return `make the directories above ${s.stateDir} root's or ours and not writable by others, and host.json a regular file not writable by others`;
    return `fix or remove ${hostStatePath(s.stateDir)}, then run execgate host init --policy ${s.opts.policyFile}`;
  },
};

const akCheck: Check = {
  id: 'ak',
  needs: ['tpm', 'state-dir'],
  async run(s) {
    if (s.hostState === undefined)
      return fail(
        `${hostStatePath(s.stateDir)} does not exist: host init was never run here`,
        `run execgate host init --policy ${s.opts.policyFile}`,
      );
    const pin = requirePinnedAk(s.hostState, s.stateDir);
    await confirmPinnedAk(need(s.tpm, 'the TPM'), pin);
    s.ak = pin;
    return ok(`${hex32(pin.handle)}, Name ${toHex(pin.name)}, as pinned in host.json`);
  },
  onError(e, s) {
    const init = `execgate host init --policy ${s.opts.policyFile}`;
    if (e instanceof AkError && e.code === 'E_AK_MISSING')
      return `re-provision the AK: ${init} --force (artifacts for the old AK Name must be reissued)`;
    if (codeOf(e) === 'E_AK_MISMATCH')
      return `another key is at the AK's handle: find out why (a re-provisioned TPM, an interposer) before ${init} --force`;
    return TPM_REMEDY;
  },
};

const ekCertCheck: Check = {
  id: 'ek-cert',
  needs: ['tpm', 'state-dir'],
  async run(s) {
    const algs = Object.keys(s.hostState?.ek ?? {}) as EkAlg[];
    if (algs.length === 0)
      return fail(
        `no EK is pinned in ${hostStatePath(s.stateDir)}`,
        `run execgate host init --policy ${s.opts.policyFile}`,
      );
    const tpm = need(s.tpm, 'the TPM');
    const found: string[] = [];
    const absent: string[] = [];
    for (const alg of algs) {
      const der = await readEkCertificate(tpm, alg);
      if (der === undefined) {
        absent.push(alg);
        continue;
      }
      // X.509 loads only when there is a certificate to read (~135 ms of start-up).
      const { inspectEkCertificate } = await import('../attest/ek-cert.js');
      const c = inspectEkCertificate(
        der,
        need(pinnedEk(s.hostState, alg), 'the pinned EK'),
        new Date(s.opts.now()),
      );
      const trust = s.hostState?.ek[alg]?.trust ?? 'first-use';
      found.push(
        `${alg} "${c.subject}" by "${c.issuer}" until ${iso(c.notAfter.getTime())}, certifies the pinned EK (pin: ${trust})`,
      );
    }
    if (absent.length)
      return warn(
        `no ${absent.join(', ')} EK certificate in NV${found.length ? `; ${found.join('; ')}` : ''}: the EK pin stands on first use`,
        'get the certificate from the TPM maker and check it: execgate host identity --ca BUNDLE --ek-cert FILE',
      );
    return ok(`${found.join('; ')}; its chain is checked only with a CA bundle (host identity --ca BUNDLE)`);
  },
  onError(e) {
    if (/^E_EK_CERT_/.test(codeOf(e) ?? ''))
      return "the TPM's EK certificate is not one for its pinned EK: check it with execgate host identity --ca BUNDLE";
    return TPM_REMEDY;
  },
};

const nvCheck: Check = {
  id: 'nv',
  needs: ['tpm', 'policy'],
  async run(s) {
    const tpm = need(s.tpm, 'the TPM');
    const policy = need(s.policy, 'the policy');
    const counters: [string, number, string][] = [
      [
        'audit counter',
        policy.audit.nvCounterIndex,
        `run execgate host init --policy ${s.opts.policyFile}: it defines the audit counter`,
      ],
    ];
    const epoch = policy.revocation?.epochNvIndex;
    if (epoch !== undefined)
      counters.push([
        'revocation epoch counter',
        epoch,
        `define an execgate NV counter at ${hex32(epoch)} (as host init --nv-counter-index ${hex32(epoch)} defines one) or remove [revocation] epoch_nv_index`,
      ]);
    const facts: string[] = [];
    for (const [what, index, define] of counters) {
      try {
        facts.push(`${what} ${formatCounterIndex(index)} at ${await readCounter(tpm, index)}`);
      } catch (e) {
        if (!(e instanceof NvCounterError)) throw e;
        const remedy =
          e.code === 'E_NV_COUNTER_MISMATCH'
            ? `choose another index in the policy for the ${what}: never redefine one execgate did not make`
            : define;
        return fail(`${what}: ${e.message}`, remedy);
      }
    }
    if (epoch === undefined) facts.push('no revocation epoch counter configured');
    return ok(facts.join('; '));
  },
  onError: () => TPM_REMEDY,
};

/** Every key file the policy names, once, with the first place that names it. */
function namedKeys(policy: HostPolicy): [string, NamedAt][] {
  const named = new Map<string, NamedAt>();
  const add = (path: string, where: NamedAt) => {
    if (!named.has(path)) named.set(path, where);
  };
  for (const i of policy.issuers) add(i.key, { file: i.origin.file, at: `${i.origin.at}.key` });
  for (const a of policy.approvals)
    for (const [k, p] of a.approvers.entries())
      add(p, { file: a.origin.file, at: `${a.origin.at}.approvers[${k}]` });
  if (policy.breakglass) add(policy.breakglass.key, { file: policy.file, at: 'breakglass.key' });
  return [...named];
}

/** `load` of each item; the messages of those refused (E_CONFIG) are collected, not only the first. */
async function eachFile<I, T>(items: readonly I[], load: (item: I) => Promise<T>) {
  const loaded: T[] = [];
  const failures: string[] = [];
  for (const item of items) {
    try {
      loaded.push(await load(item));
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      failures.push(e.message);
    }
  }
  return { loaded, failures };
}

const loadedKeys = (n: number) => (n === 1 ? '1 key file loads' : `${n} key files load`);

const keysCheck: Check = {
  id: 'keys',
  needs: ['policy'],
  async run(s) {
    const policy = need(s.policy, 'the policy');
    const { loaded: keys, failures } = await eachFile(namedKeys(policy), ([path, where]) =>
      loadKeyFile(policy, path, where),
    );
    const loaded = new Map(keys.map((k) => [k.file, k]));
    if (failures.length)
      return fail(
        failures.join('; '),
        'restore each key file named, as a regular file not writable by group or others (execgate key id FILE reads one)',
      );
    s.signers = [...policy.issuers.map((i) => i.key), ...(policy.breakglass ? [policy.breakglass.key] : [])]
      .map((p) => loaded.get(p))
      .filter((k): k is KeyFile => k !== undefined);
    if (policy.issuers.length === 0)
      return warn(
        `${loadedKeys(loaded.size)}; no [[issuer]]: the gate denies every execution`,
        'add an [[issuer]] with the key of whoever issues artifacts for this host',
      );
    return ok(loadedKeys(loaded.size));
  },
  onError: fixPolicy,
};

const revocationCheck: Check = {
  id: 'revocation',
  needs: ['keys'],
  async run(s) {
    const policy = need(s.policy, 'the policy');
    const lists = policy.revocation?.lists ?? [];
    if (lists.length === 0) return ok('no revocation lists configured');
    await initVerification();
    const now = s.opts.now();
    const skewMs = policy.host.clockSkewSeconds * 1000;
    const { loaded, failures } = await eachFile([...lists.keys()], (i) =>
      loadRevocationListFile(policy, i, s.signers),
    );
    const facts: string[] = [];
    for (const { file, list } of loaded) {
      const issued = list.iat * 1000;
      if (issued > now + skewMs)
        failures.push(`${file} was issued at ${iso(issued)}, after the system time ${iso(now)}`);
      else facts.push(`${file}: "${list.iss}" #${list.seq} of ${iso(issued)}`);
    }
    if (failures.length)
      return fail(
        failures.join('; '),
        'replace each list with one a trusted key signed (execgate revoke --list OLD), or correct the system clock',
      );
    return ok(
      `${facts.join('; ')} (lists carry no expiry: each stays in force until a newer one replaces it)`,
    );
  },
  onError: fixPolicy,
};

const trustCheck: Check = {
  id: 'trust',
  needs: ['keys', 'revocation'],
  async run(s) {
    const t = await loadTrust(need(s.policy, 'the policy'));
    return ok(
      `as the gate loads it: ${plural(t.issuers.length, 'issuer')}, ${plural(t.approvals.length, 'approval rule')}, ` +
        `break-glass ${t.breakglass ? 'set' : 'none'}, reference ${t.reference ? t.reference.file : 'none'}`,
    );
  },
  onError: fixPolicy,
};

/** Whether the state directory has an audit log (the gate makes it with its first verdict). */
async function hasAuditLog(dir: string): Promise<boolean> {
  return lstat(join(dir, AUDIT_DB_FILE)).then(
    () => true,
    (e: unknown) => {
      if (errnoOf(e) === 'ENOENT') return false;
      throw e;
    },
  );
}

const auditCheck: Check = {
  id: 'audit',
  needs: ['state-dir', 'ak', 'nv'],
  async run(s) {
    if (!(await hasAuditLog(s.stateDir)))
      return ok(`no audit log yet: the first verdict makes ${join(s.stateDir, AUDIT_DB_FILE)}`);
    const ak = need(s.ak, 'the pinned AK');
    const tpm = need(s.tpm, 'the TPM');
    await initVerification();
    const store = await AuditStore.open(s.stateDir, { readonly: true });
    try {
      const v = await verifyLiveLog(store, {
        akSpki: spkiOfPublic(ak.public),
        nvIndex: need(s.policy, 'the policy').audit.nvCounterIndex,
        tpm: { tpm, ak: { handle: ak.handle, public: ak.public } },
      });
      if (!v.ok)
        return fail(
          `${v.code}: ${v.detail}`,
          'run execgate audit verify for details; keep this copy for investigation and restore the log from a trusted copy',
        );
      const newest = v.newest ? `, the newest at size ${v.newest.size} (counter ${v.newest.counter})` : '';
      const entries = `${v.size} ${v.size === 1 ? 'entry' : 'entries'}`;
      return ok(`${entries}, ${plural(v.checkpoints, 'checkpoint')}${newest}; the TPM's counter agrees`);
    } finally {
      store.close();
    }
  },
  onError(e) {
    if (codeOf(e) === 'E_AUDIT_STORE') return 'run execgate audit verify for details, and fix what it names';
    if (e instanceof NvCounterError) return `the audit counter: ${TPM_REMEDY}`;
    return TPM_REMEDY;
  },
};

/**
 * The newest audit entry's time and the newest checkpoint's, or why they were not read: the state
 * directory did not pass, or there is no log yet.
 */
async function newestTimes(s: Session): Promise<{ what: string; ms: number }[] | string> {
  if (!s.passed('state-dir')) return 'the audit log not read: state-dir did not pass';
  if (!(await hasAuditLog(s.stateDir))) return 'no audit log yet';
  const store = await AuditStore.open(s.stateDir, { readonly: true });
  try {
    const out: { what: string; ms: number }[] = [];
    const last = store.entries(Math.max(0, store.size() - 1), 1)[0];
    if (last !== undefined) out.push({ what: `audit entry ${last.seq}`, ms: decodeEntry(last.bytes).time });
    const cp = store.latestCheckpoint();
    if (cp !== undefined) out.push({ what: `the checkpoint of size ${cp.size}`, ms: cp.made });
    return out;
  } finally {
    store.close();
  }
}

const clockCheck: Check = {
  id: 'clock',
  needs: [],
  async run(s) {
    const now = s.opts.now();
    const fix = 'set the system clock (timedatectl; NTP): artifact windows are judged by it';
    const source = `this execgate's source date ${iso(SOURCE_DATE_MS).slice(0, 10)}`;
    if (now < SOURCE_DATE_MS) return fail(`the system time ${iso(now)} is before ${source}`, fix);
    // [host] clock_skew, its default when the policy did not load.
    const skewMs = (s.policy ?? defaultPolicy()).host.clockSkewSeconds * 1000;
    let times: { what: string; ms: number }[] | string;
    try {
      times = await newestTimes(s);
    } catch (e) {
      // The audit check reports a log that cannot be read; the clock is judged without it.
      if (!(e instanceof ExecgateError)) throw e;
      times = `the audit log not read (${e.code})`;
    }
    if (typeof times === 'string') return ok(`${iso(now)}: not before ${source} (${times})`);
    for (const t of times)
      if (now + skewMs < t.ms)
        return fail(`the system time ${iso(now)} is before ${t.what}, recorded at ${iso(t.ms)}`, fix);
    return ok(`${iso(now)}: not before ${[source, ...times.map((t) => t.what)].join(', ')}`);
  },
  onError: () => 'report this as a bug',
};

/** The checks in the order they run and are reported: each after every check it needs. */
export const CHECKS: readonly Check[] = [
  policyCheck,
  tpmCheck,
  stateDirCheck,
  akCheck,
  ekCertCheck,
  nvCheck,
  keysCheck,
  revocationCheck,
  trustCheck,
  auditCheck,
  clockCheck,
];

/** Runs `checks` in order (see the module comment); the TPM is opened once and closed after. */
export async function runChecks(
  opts: DoctorOptions,
  checks: readonly Check[] = CHECKS,
): Promise<CheckResult[]> {
  const s = new Session(opts);
  const out: CheckResult[] = [];
  try {
    for (const c of checks) {
      const blocked = c.needs.filter((id) => !s.passed(id));
      let r: CheckResult;
      if (blocked.length) {
        const why = blocked.map(
          (id) => `${id} ${s.results.get(id)?.status === 'skip' ? 'was skipped' : 'failed'}`,
        );
        r = { id: c.id, status: 'skip', detail: `skipped because ${why.join(' and ')}`, remedy: null };
      } else {
        try {
          const o = await c.run(s);
          r = {
            id: c.id,
            status: o.status,
            detail: line(o.detail),
            remedy: o.status === 'ok' ? null : line(o.remedy),
          };
        } catch (e) {
          const detail =
            e instanceof ExecgateError
              ? `${e.code}: ${e.message}`
              : `internal error: ${e instanceof Error ? e.message : String(e)}`;
          r = { id: c.id, status: 'fail', detail: line(detail), remedy: line(c.onError(e, s)) };
        }
      }
      s.results.set(c.id, r);
      out.push(r);
    }
  } finally {
    await s.tpm?.close();
  }
  return out;
}
