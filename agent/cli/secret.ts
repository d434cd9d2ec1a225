// SPDX-License-Identifier: Apache-2.0
/**
 * `execgate secret seal | list | policy-sign | rm` (issue 17): secrets sealed to this host's TPM in its
 * measured state (agent/secrets), released by `execgate exec` only to a command whose artifact names
 * them (docs/secrets.md).
 */
import type { EkAlg } from '../attest/ek.js';
import { toHex } from '../encoding/bytes.js';
import { INPUT_LIMITS, readBounded } from '../fs/read-bounded.js';
import { SecretError } from '../secrets/errors.js';
import { isSecretName } from '../secrets/name.js';
import type { PcrBankSelection, PcrSelection } from '../tpm/pcr-selection.js';
import { formatSelection } from '../tpm/pcr-selection.js';
import { parseFlags, parseHex } from './args.js';
import type { CliContext } from './context.js';
import { selectionFlag } from './evidence.js';
import { EXIT, UsageError } from './exit.js';
import { hostSetup, POLICY_FLAGS } from './host-policy.js';
import { readPublicKey, readSigningKey } from './key.js';
import { checkOutput, writeOutput } from './output.js';

export const SECRET_HELP = `Usage: execgate secret <command> [flags]

Secrets sealed to this host's TPM, in its measured state, that execgate exec hands only to a command
whose artifact names them (artifact issue --secret NAME), on a descriptor, never in argv, the environment
or a file. Each lives in STATE_DIR/secrets/NAME (0600): the TPM's sealed object, no plaintext.

Commands:
  seal --name NAME --in FILE [--pcrs SEL] [--policy-key PUB] [--force]
                 seal FILE's bytes (1 byte to 64 KiB) under PolicyPCR over SEL (default sha256:0-7 and
                 the PCRs of the policy's [host] reference) at their values now, or, with --policy-key
                 (a P-256/P-384 key gen .pub), under PolicyAuthorize: any PCR policy that key signs
                 (policy-sign) unseals it, so an update needs a new signature, not a new seal
  list [--check] the sealed secrets: name, size, PCRs, policy key; with --check, whether each one's
                 policy holds for the PCRs now (read from the TPM: a forecast, the unseal decides), to
                 see before a verdict which secrets an update broke
  policy-sign --key K --pcrs SEL [--pcr-digest HEX] --out FILE
                 sign, with the policy key K, a PCR policy for SEL at this TPM's values now (as a
                 quote by the AK host init pinned verifies them), or at the
                 values whose SHA-256 (concatenated, bank by bank, PCR ascending) is HEX: then no TPM
                 is needed and the key can stay off the host; install FILE as
                 STATE_DIR/secret-policies/NAME.policy for the gate to find it
  rm NAME        remove a sealed secret (the TPM keeps nothing: the file was all there was)
Every command takes --policy FILE and --state-dir DIR (the state directory: --state-dir, else the
policy's [host] state_dir).

Examples:
  execgate secret seal --name deploy-token --in token.txt && shred -u token.txt
  execgate secret list --check --json
  execgate secret policy-sign --key policy.key --pcrs sha256:0-7 --out now.policy
  execgate secret rm deploy-token`;

const EK_ALGS: readonly EkAlg[] = ['rsa2048', 'eccP256', 'eccP384'];

const PCRS_DEFAULT: PcrSelection = [{ hash: 0x000b, pcrs: [0, 1, 2, 3, 4, 5, 6, 7] }];

/** The default selection: sha256:0-7 and the reference state's PCRs, when the policy names one. */
async function defaultSelection(
  policy: Awaited<ReturnType<typeof hostSetup>>['policy'],
  ctx: CliContext,
): Promise<PcrSelection> {
  if (policy.host.reference === undefined) return PCRS_DEFAULT;
  const { loadTrust } = await import('../config/trust.js');
  const { stateSelection } = await import('../measure/state/index.js');
  const { allocatedBanks } = await import('../tpm/pcr.js');
  const reference = (await loadTrust(policy)).reference?.state;
  const allocated = await ctx.withTpm((t) => allocatedBanks(t));
  const add = reference === undefined ? [] : stateSelection({ allocated, reference });
  const byBank = new Map<number, Set<number>>(PCRS_DEFAULT.map((b) => [b.hash, new Set(b.pcrs)]));
  for (const b of add) for (const p of b.pcrs) byBank.set(b.hash, (byBank.get(b.hash) ?? new Set()).add(p));
  return [...byBank].map(
    ([hash, pcrs]): PcrBankSelection => ({ hash, pcrs: [...pcrs].sort((x, y) => x - y) }),
  );
}

function nameFlag(name: string | undefined, usage: string): string {
  if (name === undefined) throw new UsageError(`--name NAME is required\n${usage}`);
  if (!isSecretName(name))
    throw new UsageError(`--name must be 1 to 64 of a-z, 0-9, _ and -, got "${name.slice(0, 80)}"`);
  return name;
}

/**
 * The EK host init pinned, which sealing salts to (agent/secrets/seal.ts): E_EK_MISMATCH before host
 * init, since the SRK's public area, read over the bus, is no key to encrypt a secret's salt to.
 */
async function pinnedEkOf(stateDir: string) {
  const { pinnedEk, readHostState, requirePinnedEk } = await import('./host-state.js');
  const state = await readHostState(stateDir);
  const alg = EK_ALGS.find((a) => pinnedEk(state, a) !== undefined) ?? 'rsa2048';
  return { alg, pinned: requirePinnedEk(state, alg, stateDir) };
}

async function seal(argv: string[], ctx: CliContext): Promise<number> {
  const usage =
    'Usage: execgate secret seal --name NAME --in FILE [--pcrs SEL] [--policy-key PUB] [--force] [--policy FILE] [--state-dir DIR]';
  const { values, positionals } = parseFlags(
    argv,
    {
      ...POLICY_FLAGS,
      name: { type: 'string' },
      in: { type: 'string' },
      pcrs: { type: 'string' },
      'policy-key': { type: 'string' },
      force: { type: 'boolean' },
    },
    usage,
  );
  if (positionals.length) throw new UsageError(`unknown argument "${positionals[0]}"\n${usage}`);
  const name = nameFlag(values.name, usage);
  if (values.in === undefined) throw new UsageError(`--in FILE is required (the secret's bytes)\n${usage}`);
  const setup = await hostSetup(values, ctx, { readDefault: true });
  const { readSealed, writeSealed } = await import('../secrets/store.js');
  if (!values.force) {
    const exists = await readSealed(setup.stateDir, name).then(
      () => true,
      () => false,
    );
    if (exists)
      throw new SecretError(
        'E_SECRET_EXISTS',
        `a secret "${name}" is sealed already: --force replaces it, or execgate secret rm ${name} first`,
      );
  }
  const { policyKeyPublic } = await import('../secrets/policy-key.js');
  const policyKey =
    values['policy-key'] === undefined
      ? undefined
      : policyKeyPublic(await readPublicKey(values['policy-key'], '--policy-key'));
  const selection =
    values.pcrs === undefined ? await defaultSelection(setup.policy, setup.ctx) : selectionFlag(values.pcrs);
  const ek = await pinnedEkOf(setup.stateDir);
  const data = await readBounded(values.in, { maxBytes: INPUT_LIMITS.secret, what: '--in' });
  const { sealSecret } = await import('../secrets/seal.js');
  try {
    const sealed = await setup.ctx.withTpm((t) =>
      sealSecret(t, { name, data, selection, ek, ...(policyKey === undefined ? {} : { policyKey }) }),
    );
    const path = await writeSealed(setup.stateDir, sealed, values.force === true);
    if (ctx.json)
      ctx.out(
        JSON.stringify({
          name,
          file: path,
          size: sealed.size,
          pcrs: formatSelection(selection),
          policyKey: policyKey !== undefined,
        }),
      );
    else
      ctx.out(
        `sealed "${name}" (${sealed.size} bytes) to ${policyKey === undefined ? `PolicyPCR ${formatSelection(selection)}` : 'the policy key (PolicyAuthorize)'}: ${path}`,
      );
  } finally {
    data.fill(0);
  }
  return EXIT.OK;
}

async function list(argv: string[], ctx: CliContext): Promise<number> {
  const usage = 'Usage: execgate secret list [--check] [--json] [--policy FILE] [--state-dir DIR]';
  const { values, positionals } = parseFlags(argv, { ...POLICY_FLAGS, check: { type: 'boolean' } }, usage);
  if (positionals.length) throw new UsageError(`unknown argument "${positionals[0]}"\n${usage}`);
  const setup = await hostSetup(values, ctx, { readDefault: true });
  const { listSealed, readSealed, readSignedPolicies } = await import('../secrets/store.js');
  const { policyHoldsNow } = await import('../secrets/seal.js');
  const { readPcrs } = await import('../tpm/pcr.js');
  const signed = values.check ? await readSignedPolicies(setup.stateDir) : [];
  const rows: {
    name: string;
    size?: number;
    pcrs?: string;
    policyKey?: boolean;
    created?: string;
    holdsNow?: boolean;
    error?: string;
  }[] = [];
  const each = async (read?: (sel: PcrSelection) => ReturnType<typeof readPcrs>) => {
    for (const name of await listSealed(setup.stateDir)) {
      try {
        const s = await readSealed(setup.stateDir, name);
        rows.push({
          name,
          size: s.size,
          pcrs: formatSelection(s.pcrs),
          policyKey: s.policyKey !== undefined,
          created: s.created,
          ...(read === undefined ? {} : { holdsNow: await policyHoldsNow(s, signed, read) }),
        });
      } catch (e) {
        rows.push({ name, error: e instanceof Error ? e.message : String(e) });
      }
    }
  };
  if (values.check) await setup.ctx.withTpm((t) => each((sel) => readPcrs(t, sel)));
  else await each();
  if (ctx.json) ctx.out(JSON.stringify({ secrets: rows }));
  else if (rows.length === 0) ctx.out(`no secrets are sealed in ${setup.stateDir}`);
  else
    for (const r of rows)
      ctx.out(
        r.error !== undefined
          ? `${r.name}  unreadable: ${r.error}`
          : `${r.name}  ${r.size} bytes  ${r.policyKey ? 'policy key' : `PolicyPCR ${r.pcrs}`}  sealed ${r.created}${r.holdsNow === undefined ? '' : r.holdsNow ? '  policy holds now' : '  POLICY DOES NOT HOLD NOW'}`,
      );
  return EXIT.OK;
}

/**
 * SHA-256 of the values of `selection` now, as the AK host init pinned quotes them: PCR_Read's answer is
 * the bus's word, and a policy key signing made-up values would approve a state of an interposer's choosing.
 */
async function quotedPcrDigest(
  setup: Awaited<ReturnType<typeof hostSetup>>,
  selection: PcrSelection,
): Promise<Uint8Array> {
  const { randomBytes } = await import('node:crypto');
  const { makeQuote, spkiOfPublic } = await import('../attest/quote.js');
  const { verifyQuote } = await import('../attest/verify-quote.js');
  const { initVerification } = await import('../crypto/verify.js');
  const { QuoteInvalidError } = await import('./evidence.js');
  const { quotedPcrValues } = await import('../measure/compare.js');
  const { selectionDigest } = await import('../secrets/seal.js');
  const { readHostState, requirePinnedAk, withPinnedAk } = await import('./host-state.js');
  const state = await readHostState(setup.stateDir);
  const pin = requirePinnedAk(state, setup.stateDir);
  const nonce = new Uint8Array(randomBytes(32));
  const ev = await setup.ctx.withTpm((t) =>
    withPinnedAk(t, state, setup.stateDir, (ak) => makeQuote(t, ak, { selection, nonce })),
  );
  await initVerification();
  const v = verifyQuote({ ...ev, akPublicKey: spkiOfPublic(pin.public), nonce });
  if (!v.ok)
    throw new QuoteInvalidError(
      v.code ?? 'E_QUOTE_PARSE',
      `the quote of ${formatSelection(selection)}: ${v.detail}`,
    );
  return selectionDigest(selection, quotedPcrValues(selection, ev.pcrValues));
}

async function policySign(argv: string[], ctx: CliContext): Promise<number> {
  const usage =
    'Usage: execgate secret policy-sign --key K --pcrs SEL [--pcr-digest HEX] --out FILE [--force] [--policy FILE] [--state-dir DIR]';
  const { values, positionals } = parseFlags(
    argv,
    {
      ...POLICY_FLAGS,
      key: { type: 'string' },
      pcrs: { type: 'string' },
      'pcr-digest': { type: 'string' },
      out: { type: 'string' },
      force: { type: 'boolean' },
    },
    usage,
  );
  if (positionals.length) throw new UsageError(`unknown argument "${positionals[0]}"\n${usage}`);
  if (values.key === undefined || values.pcrs === undefined || values.out === undefined)
    throw new UsageError(`--key, --pcrs and --out are required\n${usage}`);
  const selection = selectionFlag(values.pcrs);
  const replace = values.force === true;
  await checkOutput('--out', values.out, { replace });
  const key = await readSigningKey(values.key, '--key');
  const { signPcrPolicy } = await import('../secrets/policy-key.js');
  const { encodeSignedPolicy } = await import('../secrets/store.js');
  const given = values['pcr-digest'];
  let digest: Uint8Array;
  if (given !== undefined) {
    digest = parseHex(given, '--pcr-digest');
    if (digest.length !== 32)
      throw new UsageError(`--pcr-digest must be 32 bytes (SHA-256), got ${digest.length}`);
  } else digest = await quotedPcrDigest(await hostSetup(values, ctx, { readDefault: true }), selection);
  const signed = signPcrPolicy(key, selection, digest);
  await writeOutput('--out', values.out, encodeSignedPolicy(signed), { mode: 0o644, replace });
  if (ctx.json)
    ctx.out(JSON.stringify({ out: values.out, pcrs: formatSelection(selection), pcrDigest: toHex(digest) }));
  else ctx.out(`wrote ${values.out}: ${formatSelection(selection)} at ${toHex(digest)}`);
  return EXIT.OK;
}

async function rm(argv: string[], ctx: CliContext): Promise<number> {
  const usage = 'Usage: execgate secret rm NAME [--policy FILE] [--state-dir DIR]';
  const { values, positionals } = parseFlags(argv, { ...POLICY_FLAGS }, usage);
  if (positionals.length !== 1) throw new UsageError(`one secret name\n${usage}`);
  const setup = await hostSetup(values, ctx, { readDefault: true });
  const { removeSealed } = await import('../secrets/store.js');
  const name = positionals[0] as string;
  await removeSealed(setup.stateDir, name);
  ctx.out(ctx.json ? JSON.stringify({ removed: name }) : `removed "${name}"`);
  return EXIT.OK;
}

export const SECRET_COMMANDS: Readonly<Record<string, (argv: string[], ctx: CliContext) => Promise<number>>> =
  {
    seal,
    list,
    'policy-sign': policySign,
    rm,
  };
