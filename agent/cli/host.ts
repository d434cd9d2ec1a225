// SPDX-License-Identifier: Apache-2.0
/**
 * `execgate host init | identity`: the host's attestation identity (AK under the EK), DESIGN.md §3.
 *
 * `init` pins the EK in host.json (host-state.ts); with `--ca` only an EK its certificate certifies. It
 * pins the persistent AK there too, in the same write: the key every verdict's quote must verify under.
 * `identity --ca` and `init --ca` validate the EK certificate (from NV, or `--ek-cert FILE` for TPMs whose
 * maker hands it out another way) with attest/ek-cert.ts; the deviations from RFC 5280 and the TCG profile
 * that validateEkCertificate tolerates are refused here unless the operator names each with --ek-quirk.
 * `init --ak-save DIR` keeps the AK as a TPM2B_PUBLIC/TPM2B_PRIVATE pair instead of persisting it.
 */
import { join } from 'node:path';
import {
  type AkAlg,
  AkError,
  akPublicPem,
  createAk,
  DEFAULT_AK_HANDLE,
  qualifiedNameUnder,
  readAk,
  saveAkPair,
} from '../attest/ak.js';
import { type EkAlg, EkError, ekPublicFromSpki, pemToDer, readEkCertificate, withEk } from '../attest/ek.js';
import type { EkCertQuirk } from '../attest/ek-cert.js';
import { type HostIdentity, hostIdentity, hostInit } from '../attest/identity.js';
import {
  type DefinedCounter,
  defineCounter,
  formatCounterIndex,
  parseCounterIndex,
} from '../attest/nv-counter.js';
import { ExecgateError } from '../errors.js';
import { checkWritable, ensureDir } from '../fs/atomic-write.js';
import { INPUT_LIMITS, readBounded } from '../fs/read-bounded.js';
import type { TPMT_PUBLIC } from '../tpm/structures.js';
import type { Tpm } from '../tpm/tpm.js';
import { parseEkAlg, parseFlags, parseHandle, toHex } from './args.js';
import type { CliContext } from './context.js';
import { EXIT, exitCodeOf, UsageError } from './exit.js';
import { hostSetup, POLICY_FLAGS } from './host-policy.js';
import {
  type EkTrust,
  type HostState,
  hostStatePath,
  pinnedAk,
  pinnedEk,
  readHostState,
  setAkPin,
  setEkPin,
  writeHostState,
} from './host-state.js';
import { checkOutput, writeOutput } from './output.js';

/** The quirks validateEkCertificate can report (the Record makes the compiler list each one). */
const EK_QUIRKS: Readonly<Record<EkCertQuirk, string>> = {
  'critical-san-with-subject': 'a critical TPM-model subjectAltName beside a subject (swtpm_setup)',
  'critical-tcg-extension': 'a critical TCG-profile extension execgate does not act on',
  'no-eku': 'no extendedKeyUsage (older vendor certificates)',
  'sha1-signature': 'a certificate on the path signed with SHA-1 (legacy vendor CAs)',
};

export const HOST_HELP = `Usage: execgate host <command> [flags]

Commands:
  init [--policy FILE] [--ak-alg rsa|ecc] [--ak-handle H] [--ek-alg A] [--nv-counter-index N]
       [--ca BUNDLE …] [--force]
                             pin the EK in STATE_DIR/host.json (sessions are salted only to it), define
                             the audit log's NV counter at N (default 0x01800100; kept when it exists)
                             and create the AK (restricted signing key under the EK, endorsement hierarchy;
                             ECC P-256 by default, its quotes are the faster) and persist it at H (default
                             0x81010002); an existing AK is kept unless --force. The AK (handle, public
                             area, Name) is pinned in host.json with the EK: every verdict needs a quote by
                             it, and the TPM's key at H must stay that one (E_AK_MISMATCH, also for a
                             second init at H: --force re-provisions; init at another H pins that AK).
                             Without --ca the EK is trusted on first use; with --ca BUNDLE [--ek-cert FILE]
                             [--ek-quirk NAME]… it is pinned only if its certificate validates as for
                             identity --ca (exit 7, nothing pinned or created, otherwise). --force re-pins,
                             but a pin made with --ca only with --ca again
  init --ak-save DIR [--ak-alg rsa|ecc] [--ek-alg A] [--nv-counter-index N] [--ca BUNDLE …] [--force]
                             create the AK and keep it as files instead: DIR/ak.pub (TPM2B_PUBLIC) and
                             DIR/ak.priv (TPM2B_PRIVATE) as tpm2_createak -u/-r write them, DIR/ak.name,
                             DIR/ak.pem; existing files are replaced only with --force. Quote with
                             execgate quote --ak-public DIR/ak.pub --ak-private DIR/ak.priv. Such an AK
                             is not pinned: the gate needs a persistent one (host init without --ak-save)
  identity [--policy FILE] [--ak-handle H] [--ek-alg A] [--ca BUNDLE [--ek-cert FILE] [--ek-quirk NAME]…]
           [--json]
                             AK name and qualified name, AK and EK public keys (PEM), EK certificate from
                             NV, TPM maker/firmware; at the pinned AK's handle, the TPM's AK must be the
                             pinned one (E_AK_MISMATCH).
                             With --ca: validate the EK certificate (NV, or FILE,
                             DER or PEM) against the CA bundle (PEM or one DER certificate) and that it
                             certifies this TPM's EK; exit 7 with E_EK_CERT_* when it does not

  --policy FILE: the host policy; its [host] state_dir and tcti and [audit] nv_counter_index stand in for
                             --state-dir, --tcti and --nv-counter-index when those are not given.
  --ak-handle H: a persistent handle, 0x81xxxxxx (hex with 0x, or decimal).
  --nv-counter-index N: an NV index 0x01000000–0x01bfffff (hex with 0x, or decimal) for the audit log's
                             rollback counter: a TPM_NT_COUNTER, owner-write, readable by anyone, no DA.
                             An index there with other attributes is refused (E_NV_COUNTER_MISMATCH), never
                             redefined. Its value need not start at 0: a new counter starts at the highest
                             value any counter of this TPM has had.
  --ek-alg: rsa2048 (default), eccP256 or eccP384: the TCG default EK the AK lives under.
  --ek-quirk NAME: accept this deviation from RFC 5280 / the TCG EK profile (repeatable):
${Object.entries(EK_QUIRKS)
  .map(([name, what]) => `    ${name.padEnd(26)} ${what}`)
  .join('\n')}

Examples:
  execgate host init --ak-alg ecc --ca vendor-roots.pem
  execgate host init --ak-save /var/lib/execgate/ak
  execgate host init --nv-counter-index 0x01500191
  execgate host identity --json --ca vendor-roots.pem --ek-quirk no-eku`;

/** ECC by default: its TPM2_Quote is the faster on swtpm (BENCHMARKS.md, "AK kind for the gate"). */
function parseAkAlg(value: string | undefined): AkAlg {
  if (value === undefined) return 'ecc';
  if (value === 'rsa' || value === 'ecc') return value;
  throw new UsageError(`--ak-alg must be rsa or ecc, got "${value}"`);
}

function parseQuirks(values: readonly string[] | undefined): ReadonlySet<EkCertQuirk> {
  const out = new Set<EkCertQuirk>();
  for (const v of values ?? []) {
    if (!Object.hasOwn(EK_QUIRKS, v)) {
      throw new UsageError(`--ek-quirk must be one of ${Object.keys(EK_QUIRKS).join(', ')}, got "${v}"`);
    }
    out.add(v as EkCertQuirk);
  }
  return out;
}

/** No EK certificate to validate: the EK's NV index is not defined and no --ek-cert was given. */
export class EkCertMissingError extends ExecgateError<'E_EK_CERT_MISSING'> {}

/** The identity document with the AK's qualified Name beside its Name (for quote verify --ak-qualified-name). */
type CliIdentity = { akName: string; akQualifiedName: string } & Omit<HostIdentity, 'akName'>;

/** The identity with the qualified Name the TPM reports (hostIdentity checked it is the one under the EK). */
async function withQualifiedName(tpm: Tpm, id: HostIdentity, akHandle: number): Promise<CliIdentity> {
  const ak = await readAk(tpm, akHandle);
  // hostIdentity found it a moment ago: only another process evicting it in between gets here.
  if (!ak) throw new AkError('E_AK_MISSING', `the AK at 0x${akHandle.toString(16)} went away`);
  const { akName, ...rest } = id;
  return { akName, akQualifiedName: toHex(ak.qualifiedName), ...rest };
}

function printIdentity(ctx: CliContext, id: CliIdentity): void {
  ctx.out(`ak name:      ${id.akName}`);
  ctx.out(`ak qualified: ${id.akQualifiedName}`);
  ctx.out(`ak alg:       ${id.akAlg}`);
  ctx.out(`tpm:          ${id.tpm.manufacturer}, firmware ${id.tpm.firmwareVersion}`);
  ctx.out(`ek cert:      ${id.ekCertificatePem ? 'present in NV' : 'none'}`);
  ctx.out(`ak public key:\n${id.akPublicPem.trimEnd()}`);
  ctx.out(`ek public key:\n${id.ekPublicPem.trimEnd()}`);
}

const AK_FILES = { public: 'ak.pub', private: 'ak.priv', name: 'ak.name', pem: 'ak.pem' } as const;

/** The EK init pinned (or kept) and why it is believed; the certificate report when --ca was given. */
interface EkPin {
  readonly pinned: TPMT_PUBLIC;
  readonly trust: EkTrust;
  readonly certificate?: EkCertReport & { valid: true };
}

/**
 * The EK this host's sessions are salted to: the one pinned in host.json (the TPM's must equal it,
 * E_EK_MISMATCH), or, on the first init or with --force (re-provisioning), the TPM's EK, to pin now.
 * With --ca the EK (pinned or new) must be the one its certificate certifies before anything is written:
 * an interposer present at provisioning can report its own key as the EK, but it has no certificate.
 * A certified pin is replaced only through --ca: --force alone (to remake the AK) keeps it, so that an
 * interposer present then cannot have its key pinned on first use in its place. The caller writes the
 * pin (setEkPin) with the AK's, in one write, once the AK is made.
 */
async function pinEkOnInit(
  tpm: Tpm,
  opts: { ekAlg: EkAlg; force: boolean; state: HostState | undefined; cert: EkCertCheck | undefined },
): Promise<EkPin> {
  const { state } = opts;
  const was = state?.ek[opts.ekAlg]?.trust;
  const certifiedKept = opts.force && was === 'ek-certificate' && opts.cert === undefined;
  const kept = opts.force && !certifiedKept ? undefined : pinnedEk(state, opts.ekAlg);
  const ekPublic = await withEk(tpm, opts.ekAlg, async (ek) => ek.public, kept ? { pinned: kept } : {}).catch(
    (e: unknown) => {
      if (certifiedKept && e instanceof EkError && e.code === 'E_EK_MISMATCH') {
        throw new EkError(
          'E_EK_MISMATCH',
          `${e.message}; the pinned EK was certified (host init --ca): --force re-pins it only with --ca`,
          { cause: e },
        );
      }
      throw e;
    },
  );
  let certificate: (EkCertReport & { valid: true }) | undefined;
  if (opts.cert) {
    const nv = opts.cert.inputs.certificate ? undefined : await readEkCertificate(tpm, opts.ekAlg);
    certificate = await validateEkCert(ekPublic, nv, opts.cert, opts.ekAlg);
  }
  const keptTrust = kept ? was : undefined;
  const trust: EkTrust = certificate ? 'ek-certificate' : (keptTrust ?? 'first-use');
  return { pinned: ekPublic, trust, ...(certificate ? { certificate } : {}) };
}

/**
 * Writes `next` as host.json unless it says what `state` says: a second init that keeps everything
 * rewrites nothing. (Both come from readHostState/setEkPin/setAkPin, which keep the key order.)
 */
async function savePins(stateDir: string, state: HostState | undefined, next: HostState): Promise<void> {
  if (JSON.stringify(next) !== JSON.stringify(state)) await writeHostState(stateDir, next);
}

/** The pin facts init prints: `ekTrust` and, with --ca, `ekCertificate`. */
function pinDoc(pin: EkPin): { ekTrust: EkTrust; ekCertificate?: EkCertReport } {
  return { ekTrust: pin.trust, ...(pin.certificate ? { ekCertificate: pin.certificate } : {}) };
}

function printPin(ctx: CliContext, pin: EkPin): void {
  if (pin.certificate === undefined) {
    ctx.out(
      pin.trust === 'first-use'
        ? 'ek pinned:    trusted on first use (give --ca to pin only a certified EK)'
        : 'ek pinned:    certified by its EK certificate (checked at an earlier init)',
    );
    return;
  }
  const q = pin.certificate.quirks;
  ctx.out(
    `ek pinned:    certified by its EK certificate from ${pin.certificate.source}${q.length ? `, quirks accepted: ${q.join(', ')}` : ''}`,
  );
}

/** `auditCounter` of init's JSON: the index, and the value as a decimal string (a UINT64). */
function counterDoc(index: number, counter: DefinedCounter): { index: string; value: string } {
  return { index: formatCounterIndex(index), value: counter.value.toString() };
}

function printCounter(ctx: CliContext, index: number, counter: DefinedCounter): void {
  ctx.out(
    `audit counter: NV ${formatCounterIndex(index)} = ${counter.value} (${counter.created ? 'defined now' : 'kept'})`,
  );
}

async function initSaved(
  ctx: CliContext,
  dir: string,
  opts: {
    akAlg: AkAlg;
    ekAlg: EkAlg;
    force: boolean;
    stateDir: string;
    state: HostState | undefined;
    cert: EkCertCheck | undefined;
    nvIndex: number;
  },
): Promise<number> {
  const path = (f: keyof typeof AK_FILES) => join(dir, AK_FILES[f]);
  const replace = opts.force;
  // Refused before the TPM makes a key: a symlinked or foreign directory, a planted link, a file kept.
  for (const f of Object.keys(AK_FILES) as (keyof typeof AK_FILES)[])
    await checkOutput('--ak-save', path(f), { replace, makesDir: true });
  const made = await ctx.withTpm(async (tpm) => {
    const pin = await pinEkOnInit(tpm, opts);
    const counter = await defineCounter(tpm, opts.nvIndex);
    return withEk(
      tpm,
      opts.ekAlg,
      async (ek) => {
        const pair = await createAk(tpm, ek, opts.akAlg);
        return { pair, pin, counter, qualifiedName: qualifiedNameUnder(ek, pair.public) };
      },
      { pinned: pin.pinned },
    );
  });
  const saved = saveAkPair(made.pair);
  const pem = akPublicPem(made.pair.public);
  await ensureDir(dir, { mode: 0o755 });
  await writeOutput('--ak-save', path('public'), saved.public, { mode: 0o644, replace });
  await writeOutput('--ak-save', path('private'), saved.private, { mode: 0o600, replace });
  await writeOutput('--ak-save', path('name'), made.pair.name, { mode: 0o644, replace });
  await writeOutput('--ak-save', path('pem'), pem, { mode: 0o644, replace });
  // The EK pin only: an AK kept as files is not pinned (the gate loads the AK from a persistent handle).
  await savePins(
    opts.stateDir,
    opts.state,
    setEkPin(opts.state, opts.ekAlg, made.pin.pinned, made.pin.trust),
  );
  const doc = {
    created: true,
    akPublic: path('public'),
    akPrivate: path('private'),
    akName: toHex(made.pair.name),
    akQualifiedName: toHex(made.qualifiedName),
    akPublicPem: pem,
    akAlg: opts.akAlg,
    ekAlg: opts.ekAlg,
    akPinned: false,
    ...pinDoc(made.pin),
    auditCounter: counterDoc(opts.nvIndex, made.counter),
  };
  if (ctx.json) {
    ctx.out(JSON.stringify(doc));
    return EXIT.OK;
  }
  ctx.out(`created AK pair ${doc.akPublic} ${doc.akPrivate} (under the ${opts.ekAlg} EK)`);
  ctx.out(`ak name:      ${doc.akName}`);
  ctx.out(`ak qualified: ${doc.akQualifiedName}`);
  ctx.out(`ak public key:\n${pem.trimEnd()}`);
  ctx.out(`ak pinned:    no (an AK kept as files is not pinned; the gate needs host init without --ak-save)`);
  printPin(ctx, made.pin);
  printCounter(ctx, opts.nvIndex, made.counter);
  return EXIT.OK;
}

async function init(argv: string[], ctx0: CliContext): Promise<number> {
  const usage =
    'Usage: execgate host init [--policy FILE] [--ak-alg rsa|ecc] [--ak-handle H | --ak-save DIR] [--ek-alg A] [--nv-counter-index N] [--state-dir DIR] [--ca BUNDLE [--ek-cert FILE] [--ek-quirk NAME]…] [--force]';
  const { values, positionals } = parseFlags(
    argv,
    {
      ...POLICY_FLAGS,
      'ak-alg': { type: 'string' },
      'ak-handle': { type: 'string' },
      'ak-save': { type: 'string' },
      'ek-alg': { type: 'string' },
      'nv-counter-index': { type: 'string' },
      force: { type: 'boolean' },
      ...EK_CERT_FLAGS,
    },
    usage,
  );
  if (positionals.length) throw new UsageError(`host init takes no arguments\n${usage}`);
  const { policy, stateDir, ctx } = await hostSetup(values, ctx0, { readDefault: false });
  const nvIndex =
    values['nv-counter-index'] === undefined
      ? policy.audit.nvCounterIndex
      : parseCounterIndex(values['nv-counter-index']);
  const akAlg = parseAkAlg(values['ak-alg']);
  const ekAlg = parseEkAlg(values['ek-alg']);
  const force = values.force === true;
  if (values['ak-save'] !== undefined && values['ak-handle'] !== undefined)
    throw new UsageError(`--ak-save keeps the AK as files: not with --ak-handle\n${usage}`);
  const cert = await readEkCertCheck(values, usage);
  const state = await readHostState(stateDir);
  // host.json is written once the AK is made: refused before the TPM makes a key.
  await checkWritable(hostStatePath(stateDir), { replace: true, makesDir: true });
  if (values['ak-save'] !== undefined)
    return initSaved(ctx, values['ak-save'], { akAlg, ekAlg, force, stateDir, state, cert, nvIndex });
  const pinned = pinnedAk(state);
  // The pin is held to the TPM's key at its own handle only: init at another handle pins the AK there.
  const akHandle =
    values['ak-handle'] === undefined ? DEFAULT_AK_HANDLE : parseHandle(values['ak-handle'], '--ak-handle');
  const r = await ctx.withTpm(async (tpm) => {
    const pin = await pinEkOnInit(tpm, { ekAlg, force, state, cert });
    const counter = await defineCounter(tpm, nvIndex);
    const { created, akPublic, identity } = await hostInit(tpm, {
      akAlg,
      akHandle,
      ekAlg,
      force,
      pinnedEk: pin.pinned,
      ...(pinned?.handle === akHandle ? { pinnedAk: pinned } : {}),
    });
    return { created, akPublic, pin, counter, identity: await withQualifiedName(tpm, identity, akHandle) };
  });
  await savePins(
    stateDir,
    state,
    setAkPin(setEkPin(state, ekAlg, r.pin.pinned, r.pin.trust), { handle: akHandle, public: r.akPublic }),
  );
  if (ctx.json) {
    ctx.out(
      JSON.stringify({
        created: r.created,
        akHandle: `0x${akHandle.toString(16)}`,
        ...r.identity,
        akPinned: true,
        ...pinDoc(r.pin),
        auditCounter: counterDoc(nvIndex, r.counter),
      }),
    );
    return EXIT.OK;
  }
  ctx.out(`${r.created ? 'created' : 'kept existing'} AK at 0x${akHandle.toString(16)}`);
  printIdentity(ctx, r.identity);
  ctx.out(`ak pinned:    in ${hostStatePath(stateDir)} (the gate quotes with this AK only)`);
  printPin(ctx, r.pin);
  printCounter(ctx, nvIndex, r.counter);
  return EXIT.OK;
}

/** `ekCertificate` of `identity --json --ca`: the validated path, or why there is none. */
type EkCertReport =
  | {
      readonly valid: true;
      readonly source: string;
      /** Leaf first, root last. */
      readonly chain: readonly { subject: string; issuer: string; notBefore: string; notAfter: string }[];
      readonly quirks: readonly EkCertQuirk[];
    }
  | { readonly valid: false; readonly source: string; readonly code: string; readonly detail: string };

/** A file given on the command line, read bounded: E_INPUT_READ, E_INPUT_LIMIT (exit 2). */
function readFlagFile(file: string, flag: string, maxBytes: number): Promise<Uint8Array> {
  return readBounded(file, { maxBytes, what: flag });
}

const isPem = (b: Uint8Array) => Buffer.from(b).includes('-----BEGIN ');

/** The files of `--ca`, read before the TPM is asked anything. */
interface EkCertInputs {
  readonly bundle: string | readonly Uint8Array[];
  /** From --ek-cert; undefined: the certificate in NV. */
  readonly certificate: Uint8Array | undefined;
  readonly source: string;
}

async function readEkCertInputs(ca: string, ekCert: string | undefined): Promise<EkCertInputs> {
  const bundle = await readFlagFile(ca, '--ca', INPUT_LIMITS.caBundle);
  let certificate: Uint8Array | undefined;
  if (ekCert !== undefined) {
    const bytes = await readFlagFile(ekCert, '--ek-cert', INPUT_LIMITS.ekCert);
    // A PEM file without a CERTIFICATE block goes on as is: validateEkCertificate names it unparsable.
    certificate = isPem(bytes)
      ? (pemToDer(Buffer.from(bytes).toString('utf8'), 'CERTIFICATE') ?? bytes)
      : bytes;
  }
  return {
    bundle: isPem(bundle) ? Buffer.from(bundle).toString('utf8') : [bundle],
    certificate,
    source: ekCert ?? 'NV',
  };
}

/** What validates an EK certificate: the files and the quirks the operator accepts. */
interface EkCertCheck {
  readonly inputs: EkCertInputs;
  readonly allowed: ReadonlySet<EkCertQuirk>;
}

const EK_CERT_FLAGS = {
  ca: { type: 'string' },
  'ek-cert': { type: 'string' },
  'ek-quirk': { type: 'string', multiple: true },
} as const;

/** `--ca BUNDLE [--ek-cert FILE] [--ek-quirk NAME]…`, its files read; undefined without --ca. */
async function readEkCertCheck(
  values: { ca?: string; 'ek-cert'?: string; 'ek-quirk'?: string[] },
  usage: string,
): Promise<EkCertCheck | undefined> {
  const allowed = parseQuirks(values['ek-quirk']);
  if (values.ca === undefined) {
    if (values['ek-cert'] !== undefined || allowed.size)
      throw new UsageError(`--ek-cert and --ek-quirk validate against --ca BUNDLE\n${usage}`);
    return undefined;
  }
  return { inputs: await readEkCertInputs(values.ca, values['ek-cert']), allowed };
}

/**
 * Validates the EK certificate against the bundle and this TPM's EK; throws EkCertError (E_EK_CERT_*) or
 * EkCertMissingError. A quirk the certificate needs but the operator did not allow fails as
 * E_EK_CERT_CHAIN, the code ek-cert.ts gives every other profile violation of the leaf.
 */
async function validateEkCert(
  ekPublic: TPMT_PUBLIC,
  nv: Uint8Array | undefined,
  { inputs, allowed }: EkCertCheck,
  ekAlg: EkAlg,
): Promise<EkCertReport & { valid: true }> {
  const certificate = inputs.certificate ?? nv;
  if (certificate === undefined) {
    throw new EkCertMissingError(
      'E_EK_CERT_MISSING',
      `this TPM has no ${ekAlg} EK certificate in NV; get it from the TPM maker and give it with --ek-cert FILE`,
    );
  }
  // X.509 (with reflect-metadata and tsyringe) loads only when a certificate is checked: ~135 ms of
  // start-up (measured under tsx) that `host init`, plain `host identity` and `credential` do not pay.
  const { EkCertError, validateEkCertificate } = await import('../attest/ek-cert.js');
  const r = await validateEkCertificate({
    certificate,
    bundle: inputs.bundle,
    ekPublic,
    accept: [...allowed],
  });
  const refused = r.quirks.filter((q) => !allowed.has(q));
  if (refused.length) {
    throw new EkCertError(
      'E_EK_CERT_CHAIN',
      `the EK certificate has ${refused.map((q) => `"${q}" (${EK_QUIRKS[q]})`).join(', ')}; accept it with ${refused.map((q) => `--ek-quirk ${q}`).join(' ')}`,
    );
  }
  return {
    valid: true,
    source: inputs.source,
    chain: r.chain.map((c) => ({
      subject: c.subject,
      issuer: c.issuer,
      notBefore: c.notBefore.toISOString(),
      notAfter: c.notAfter.toISOString(),
    })),
    quirks: r.quirks,
  };
}

async function identity(argv: string[], ctx0: CliContext): Promise<number> {
  const usage =
    'Usage: execgate host identity [--policy FILE] [--ak-handle H] [--ek-alg A] [--state-dir DIR] [--ca BUNDLE [--ek-cert FILE] [--ek-quirk NAME]…] [--json]';
  const { values, positionals } = parseFlags(
    argv,
    {
      ...POLICY_FLAGS,
      'ak-handle': { type: 'string' },
      'ek-alg': { type: 'string' },
      ...EK_CERT_FLAGS,
    },
    usage,
  );
  if (positionals.length) throw new UsageError(`host identity takes no arguments\n${usage}`);
  const { stateDir, ctx } = await hostSetup(values, ctx0, { readDefault: false });
  const ekAlg = parseEkAlg(values['ek-alg']);
  const cert = await readEkCertCheck(values, usage);
  // Once host init pinned the EK and the AK, the identity is of those only (E_EK_MISMATCH, E_AK_MISMATCH).
  const state = await readHostState(stateDir);
  const pinned = pinnedEk(state, ekAlg);
  const ak = pinnedAk(state);
  const akHandle =
    values['ak-handle'] === undefined ? DEFAULT_AK_HANDLE : parseHandle(values['ak-handle'], '--ak-handle');
  const id = await ctx.withTpm(async (tpm) =>
    withQualifiedName(
      tpm,
      await hostIdentity(tpm, {
        akHandle,
        ekAlg,
        ...(pinned ? { pinnedEk: pinned } : {}),
        ...(ak?.handle === akHandle ? { pinnedAk: ak } : {}),
      }),
      akHandle,
    ),
  );
  const check = (c: EkCertCheck) => {
    const nv = id.ekCertificatePem === undefined ? undefined : pemToDer(id.ekCertificatePem, 'CERTIFICATE');
    return validateEkCert(ekPublicFromSpki(id.ekPublicPem).public, nv, c, ekAlg);
  };
  if (!ctx.json) {
    printIdentity(ctx, id);
    if (cert === undefined) return EXIT.OK;
    // A failure goes to stderr with its code, after the identity.
    const r = await check(cert);
    ctx.out(
      `ek cert check: valid, from ${r.source}${r.quirks.length ? `, quirks accepted: ${r.quirks.join(', ')}` : ''}`,
    );
    for (const c of r.chain) ctx.out(`  ${c.subject}  ${c.notBefore} .. ${c.notAfter}`);
    return EXIT.OK;
  }
  if (cert === undefined) {
    ctx.out(JSON.stringify(id));
    return EXIT.OK;
  }
  let report: EkCertReport;
  let exit: number = EXIT.OK;
  try {
    report = await check(cert);
  } catch (e) {
    // EkCertError (loaded with ek-cert.ts) or EkCertMissingError; anything else is not a verdict.
    if (!(e instanceof ExecgateError && /^E_EK_CERT_[A-Z]+$/.test(e.code))) throw e;
    report = { valid: false, source: cert.inputs.source, code: e.code, detail: e.message };
    exit = exitCodeOf(e);
  }
  ctx.out(JSON.stringify({ ...id, ekCertificate: report }));
  return exit;
}

export const HOST_COMMANDS: Readonly<Record<string, (argv: string[], ctx: CliContext) => Promise<number>>> = {
  init,
  identity,
};
