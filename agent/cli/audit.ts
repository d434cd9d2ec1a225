// SPDX-License-Identifier: Apache-2.0
/**
 * `execgate audit show | checkpoint | verify | prove | export`: the audit log (agent/audit) from the
 * command line. Every command reads the host policy (--policy, default /etc/execgate/policy.toml, a
 * missing default file meaning the built-in defaults) for the state directory, the TCTI and the [audit]
 * table; --state-dir overrides the policy's (host-policy.ts). Checkpoints are quotes by the AK pinned
 * in host.json when there is one (withAuditAk).
 */
import { readFile } from 'node:fs/promises';
import { readCounterCertified } from '../attest/nv-counter.js';
import { type LoadedAk, pemToSpki, spkiOfPublic, withAk } from '../attest/quote.js';
import { exportBundle, readBundle, verifyBundle } from '../audit/bundle.js';
import { AuditError } from '../audit/errors.js';
import { type AuditVerdict, checkpointNow, storedCheckpoints, verifyAuditLogAsync } from '../audit/log.js';
import { consistencyProofJson, inclusionProofJson } from '../audit/proofs.js';
import { AuditStore } from '../audit/store.js';
import { DEFAULT_POLICY_FILE } from '../config/defaults.js';
import { initHashing } from '../crypto/hash.js';
import { initVerification } from '../crypto/verify.js';
import { INPUT_LIMITS, readBoundedText } from '../fs/read-bounded.js';
import type { Tpm } from '../tpm/tpm.js';
import { parseFlags, parseHandle, parseIndex } from './args.js';
import { lineageTree, shownRow } from './audit-tree.js';
import type { CliContext } from './context.js';
import { akSource } from './evidence.js';
import { EXIT, UsageError } from './exit.js';
import { hostSetup, POLICY_FLAGS } from './host-policy.js';
import { type HostState, pinnedAk, readHostState, withPinnedAk } from './host-state.js';
import { checkOutput, writeOutput } from './output.js';
import { auditVerdictJson } from './verdict-json.js';

export { lineageTree } from './audit-tree.js';

export const AUDIT_HELP = `Usage: execgate audit <command> [--policy FILE | --state-dir DIR] [flags]

The audit log: every verdict, in an append-only Merkle tree (RFC 9162) in STATE_DIR/audit.db, anchored
by checkpoints: TPM quotes over C2SP checkpoint notes, each taking the next value of a TPM NV counter.

  show [--from N] [--limit N] [--tree] [--json]
                                            the entries (default: the last 20), decoded; --tree: each
                                            under the verdict it ran under (execution lineage)
  checkpoint [--ak-handle H | --ak-alg rsa|ecc]
                                            checkpoint the whole log now (nothing when nothing is new)
  verify [--bundle FILE [--strict]] [--ak PEM] [--offline] [--json]
                                            recompute every leaf and the tree, verify every checkpoint
                                            (quote, body, counter certificate, counters increasing) and,
                                            on the host, the TPM's certified counter against the newest
  prove (--index I | --from-size M)         JSON: inclusion proof of entry I, or consistency proof from
                                            size M, against the newest checkpoint (hex, SHA-256 only)
  export --out FILE [--ak PEM] [--force]    a self-contained CBOR bundle (entries, checkpoints, AK key)

  --policy FILE  the host policy (default ${DEFAULT_POLICY_FILE}; missing: built-in defaults): [host]
                 state_dir and tcti, [audit] pcrs and nv_counter_index
  --state-dir D  the state directory (default: the policy's, else $EXECGATE_STATE_DIR, else /var/lib/execgate)
  --ak PEM       the AK public key to trust (SubjectPublicKeyInfo PEM); without it, the AK pinned in
                 STATE_DIR/host.json by host init (the TPM's key at its handle must be that one:
                 E_AK_MISMATCH), or, with --ak-handle H / --ak-alg, or when none is pinned, the AK as
                 execgate quote finds it (default 0x81010002). Required with --bundle.
  --offline      verify: do not ask the TPM (no counter comparison; needs --ak)
  --strict       verify --bundle: also decode every entry a checkpoint covers (its deterministic CBOR
                 and fields), not only its bytes under the roots; about 6× slower
Exit 0 when the log verifies, 7 with the tamper code otherwise: E_AUDIT_ENTRY, E_AUDIT_ROOT,
E_AUDIT_TRUNCATED, E_AUDIT_CHECKPOINT, E_AUDIT_CONSISTENCY, E_AUDIT_ROLLBACK; 2 for E_AUDIT_STORE.

Examples:
  execgate audit show --limit 5 --json
  execgate audit checkpoint --policy /etc/execgate/policy.toml
  execgate audit verify --json
  execgate audit prove --index 0
  execgate audit export --out audit.bundle && execgate audit verify --bundle audit.bundle --offline`;

const COMMON = POLICY_FLAGS;

function noPositionals(positionals: string[], usage: string): void {
  if (positionals.length) throw new UsageError(`unknown argument "${positionals[0]}"\n${usage}`);
}

/**
 * The AK that anchors the log: --ak-handle H or --ak-alg, when given, as `execgate quote` resolves them;
 * else the AK pinned in STATE_DIR/host.json, held to the TPM's key at its handle (withPinnedAk,
 * E_AK_MISMATCH), so that the log's checkpoints are quotes by the key the gate pins; else (a host.json
 * from before AK pins, or none) the AK as `execgate quote` finds it.
 */
async function withAuditAk<T>(
  tpm: Tpm,
  values: { 'ak-handle'?: string | undefined; 'ak-alg'?: string | undefined },
  state: HostState | undefined,
  stateDir: string,
  fn: (ak: LoadedAk) => Promise<T>,
): Promise<T> {
  const alg = values['ak-alg'] ?? 'rsa';
  if (alg !== 'rsa' && alg !== 'ecc') throw new UsageError(`--ak-alg must be rsa or ecc, got "${alg}"`);
  const explicit =
    values['ak-handle'] === undefined ? undefined : parseHandle(values['ak-handle'], '--ak-handle');
  if (explicit === undefined && values['ak-alg'] === undefined && pinnedAk(state) !== undefined)
    return withPinnedAk(tpm, state, stateDir, fn);
  return withAk(tpm, await akSource(tpm, explicit, alg), fn);
}

async function akPemFlag(file: string): Promise<Uint8Array> {
  const pem = await readBoundedText(file, { maxBytes: INPUT_LIMITS.tpm2ToolsFile, what: '--ak' });
  try {
    return pemToSpki(pem);
  } catch (e) {
    throw new UsageError(
      `--ak ${file}: not a PEM public key (${e instanceof Error ? e.message : String(e)})`,
    );
  }
}

async function show(argv: string[], ctx0: CliContext): Promise<number> {
  const usage =
    'Usage: execgate audit show [--policy FILE | --state-dir DIR] [--from N] [--limit N] [--tree] [--json]';
  const { values, positionals } = parseFlags(
    argv,
    { ...COMMON, from: { type: 'string' }, limit: { type: 'string' }, tree: { type: 'boolean' } },
    usage,
  );
  noPositionals(positionals, usage);
  const { stateDir, ctx } = await hostSetup(values, ctx0, { readDefault: true });
  const store = await AuditStore.open(stateDir, { readonly: true });
  try {
    const size = store.size();
    const limit = values.limit === undefined ? 20 : parseIndex(values.limit, '--limit', 1_000_000);
    const from =
      values.from === undefined
        ? Math.max(0, size - limit)
        : parseIndex(values.from, '--from', Number.MAX_SAFE_INTEGER);
    const rows = store.entries(from, limit).map((e) => shownRow(e.seq, e.bytes, e.leaf));
    if (values.tree) {
      const tree = lineageTree(rows);
      if (ctx.json) ctx.out(JSON.stringify({ size, tree: tree.roots }));
      else for (const line of tree.lines) ctx.out(line);
    } else if (ctx.json) ctx.out(JSON.stringify({ size, entries: rows }));
    else {
      for (const r of rows) ctx.out(`${r.seq} ${JSON.stringify(r.entry)}`);
      ctx.out(`${rows.length} of ${size} entries`);
    }
    return EXIT.OK;
  } finally {
    store.close();
  }
}

async function checkpoint(argv: string[], ctx0: CliContext): Promise<number> {
  const usage =
    'Usage: execgate audit checkpoint [--policy FILE | --state-dir DIR] [--ak-handle H | --ak-alg rsa|ecc]';
  const { values, positionals } = parseFlags(
    argv,
    { ...COMMON, 'ak-handle': { type: 'string' }, 'ak-alg': { type: 'string' } },
    usage,
  );
  noPositionals(positionals, usage);
  const { policy, stateDir, ctx } = await hostSetup(values, ctx0, { readDefault: true });
  const store = await AuditStore.open(stateDir);
  try {
    const state = await readHostState(stateDir);
    const made = await ctx.withTpm((tpm) =>
      withAuditAk(tpm, values, state, stateDir, (ak) =>
        checkpointNow(store, tpm, ak, { nvIndex: policy.audit.nvCounterIndex, selection: policy.audit.pcrs }),
      ),
    );
    if (ctx.json)
      ctx.out(
        JSON.stringify({
          made: made.made,
          size: made.size,
          counter: made.counter.toString(),
          body: made.body,
        }),
      );
    else
      ctx.out(
        made.made
          ? `checkpoint: size ${made.size}, counter ${made.counter}`
          : `nothing new since the checkpoint of size ${made.size} (counter ${made.counter})`,
      );
    return EXIT.OK;
  } finally {
    store.close();
  }
}

/**
 * A progress line on stderr for `verify` when stderr is a terminal and the log is large (at least
 * PROGRESS_MIN entries): "verified N of M entries (P%)", rewritten in place; undefined otherwise.
 */
const PROGRESS_MIN = 100_000;
function progressBar(ctx: CliContext, total: number): ((n: number) => void) | undefined {
  const tty = (ctx.stderr as { isTTY?: boolean }).isTTY === true;
  if (!tty || ctx.json || total < PROGRESS_MIN) return undefined;
  let last = -1;
  return (n) => {
    const pct = Math.floor((100 * n) / total);
    if (pct === last) return;
    last = pct;
    ctx.stderr.write(`\rverified ${n} of ${total} entries (${pct}%)${n >= total ? '\n' : ''}`);
  };
}

/** The verdict printed; exit 7 with the code on stderr when it failed. */
function report(ctx: CliContext, v: AuditVerdict): number {
  if (ctx.json) ctx.out(JSON.stringify(auditVerdictJson(v)));
  if (!v.ok) {
    ctx.stderr.write(`execgate: ${v.code}: ${v.detail}\n`);
    return EXIT.EVIDENCE_INVALID;
  }
  if (!ctx.json) ctx.out(`ok: ${v.size} entries, ${v.checkpoints} checkpoints`);
  return EXIT.OK;
}

async function verify(argv: string[], ctx0: CliContext): Promise<number> {
  const usage =
    'Usage: execgate audit verify [--policy FILE | --state-dir DIR | --bundle FILE [--strict]] [--ak PEM] [--ak-handle H] [--offline] [--json]';
  const { values, positionals } = parseFlags(
    argv,
    {
      ...COMMON,
      bundle: { type: 'string' },
      ak: { type: 'string' },
      'ak-handle': { type: 'string' },
      offline: { type: 'boolean' },
      strict: { type: 'boolean' },
    },
    usage,
  );
  noPositionals(positionals, usage);
  if (values.bundle !== undefined && values['state-dir'] !== undefined)
    throw new UsageError(`--bundle and --state-dir exclude each other\n${usage}`);
  if (values.strict === true && values.bundle === undefined)
    throw new UsageError(`--strict applies to --bundle only\n${usage}`);
  const { policy, stateDir, ctx } = await hostSetup(values, ctx0, { readDefault: true });
  const nvIndex = policy.audit.nvCounterIndex;
  const given = values.ak === undefined ? undefined : await akPemFlag(values.ak);
  await initVerification();
  if (values.bundle !== undefined) {
    if (given === undefined) throw new UsageError(`--bundle needs --ak PEM: the AK to trust\n${usage}`);
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(values.bundle));
    } catch (e) {
      throw new UsageError(`--bundle ${values.bundle}: ${e instanceof Error ? e.message : String(e)}`);
    }
    // The size the header claims is only for the progress line: verification does not trust it.
    let claimed = 0;
    try {
      claimed = readBundle(bytes).header.size;
    } catch {
      claimed = 0;
    }
    const progress = progressBar(ctx, claimed);
    return report(
      ctx,
      await verifyBundle(bytes, given, {
        strict: values.strict === true,
        ...(progress === undefined ? {} : { progress }),
      }),
    );
  }
  const store = await AuditStore.open(stateDir, { readonly: true });
  try {
    const progress = progressBar(ctx, store.size());
    if (values.offline === true) {
      if (given === undefined) throw new UsageError(`--offline needs --ak PEM\n${usage}`);
      return report(ctx, await verifyLiveLog(store, { akSpki: given, nvIndex, progress }));
    }
    const state = await readHostState(stateDir);
    const verdict = await ctx.withTpm((tpm) =>
      withAuditAk(tpm, values, state, stateDir, (ak) =>
        verifyLiveLog(store, {
          akSpki: given ?? spkiOfPublic(ak.public),
          nvIndex,
          progress,
          tpm: { tpm, ak },
        }),
      ),
    );
    return report(ctx, verdict);
  } finally {
    store.close();
  }
}

/**
 * The verdict on the log in `store` (`audit verify` on the host, and `doctor`): every entry and
 * checkpoint under `akSpki`, and, with `tpm`, the TPM's counter at `nvIndex` certified now by that AK
 * against the newest checkpoint (none is read while the log has no checkpoint). One pass: the log's own
 * findings come first in the verdict, the TPM's counter last. Call initVerification() first.
 */
export async function verifyLiveLog(
  store: AuditStore,
  opts: {
    akSpki: Uint8Array;
    nvIndex: number;
    progress?: ((n: number) => void) | undefined;
    tpm?: { tpm: Tpm; ak: LoadedAk };
  },
): Promise<AuditVerdict> {
  const checkpoints = storedCheckpoints(store);
  const { akSpki, nvIndex, progress, tpm } = opts;
  const tpmCounter =
    tpm === undefined || checkpoints.length === 0
      ? undefined
      : await readCounterCertified(tpm.tpm, tpm.ak, akSpki, nvIndex);
  return verifyAuditLogAsync({
    entries: store.iterate(),
    checkpoints,
    akSpki,
    nvIndex,
    ...(tpmCounter === undefined ? {} : { tpmCounter }),
    ...(progress === undefined ? {} : { progress }),
  });
}

async function prove(argv: string[], ctx0: CliContext): Promise<number> {
  const usage = 'Usage: execgate audit prove [--policy FILE | --state-dir DIR] (--index I | --from-size M)';
  const { values, positionals } = parseFlags(
    argv,
    { ...COMMON, index: { type: 'string' }, 'from-size': { type: 'string' } },
    usage,
  );
  noPositionals(positionals, usage);
  if ((values.index === undefined) === (values['from-size'] === undefined))
    throw new UsageError(`give one of --index I and --from-size M\n${usage}`);
  const { stateDir, ctx } = await hostSetup(values, ctx0, { readDefault: true });
  // The proofs hash in wasm-core (agent/audit/proofs.ts), which nothing else in this command starts.
  await initHashing();
  const store = await AuditStore.open(stateDir, { readonly: true });
  try {
    const newest = store.latestCheckpoint();
    if (newest === undefined)
      throw new AuditError(
        'E_AUDIT_TRUNCATED',
        'the log has no checkpoint to prove against: run audit checkpoint',
      );
    const size = newest.size;
    const leaves = [...store.iterate({ to: size })].map((e) => e.leaf);
    if (leaves.length !== size)
      throw new AuditError(
        'E_AUDIT_TRUNCATED',
        `the newest checkpoint covers ${size} entries; the log has ${leaves.length}`,
      );
    // The proofs hash through wasm-core (its Merkle tree), which a process must load first.
    await initVerification();
    let doc: object;
    if (values.index !== undefined) {
      const index = parseIndex(values.index, '--index', Number.MAX_SAFE_INTEGER);
      if (index >= size)
        throw new UsageError(`--index ${index} is not covered by the newest checkpoint (size ${size})`);
      doc = inclusionProofJson(leaves, index, size);
    } else {
      const from = parseIndex(values['from-size'] ?? '', '--from-size', Number.MAX_SAFE_INTEGER);
      if (from > size)
        throw new UsageError(`--from-size ${from} exceeds the newest checkpoint's size ${size}`);
      doc = consistencyProofJson(leaves, from, size);
    }
    ctx.out(JSON.stringify({ ...doc, checkpoint: newest.body }));
    return EXIT.OK;
  } finally {
    store.close();
  }
}

async function exportCmd(argv: string[], ctx0: CliContext): Promise<number> {
  const usage =
    'Usage: execgate audit export [--policy FILE | --state-dir DIR] --out FILE [--ak PEM | --ak-handle H] [--force]';
  const { values, positionals } = parseFlags(
    argv,
    {
      ...COMMON,
      out: { type: 'string' },
      ak: { type: 'string' },
      'ak-handle': { type: 'string' },
      force: { type: 'boolean' },
    },
    usage,
  );
  noPositionals(positionals, usage);
  if (values.out === undefined) throw new UsageError(`--out FILE is required\n${usage}`);
  const replace = values.force === true;
  await checkOutput('--out', values.out, { replace });
  const { stateDir, ctx } = await hostSetup(values, ctx0, { readDefault: true });
  const akSpki =
    values.ak === undefined
      ? await readHostState(stateDir).then((state) =>
          ctx.withTpm((tpm) =>
            withAuditAk(tpm, values, state, stateDir, async (ak) => spkiOfPublic(ak.public)),
          ),
        )
      : await akPemFlag(values.ak);
  const store = await AuditStore.open(stateDir, { readonly: true });
  let bundle: Uint8Array;
  let size: number;
  try {
    size = store.size();
    bundle = exportBundle(store, akSpki);
  } finally {
    store.close();
  }
  await writeOutput('--out', values.out, bundle, { mode: 0o644, replace });
  if (ctx.json) ctx.out(JSON.stringify({ out: values.out, size, bytes: bundle.length }));
  else ctx.out(`wrote ${values.out}: ${size} entries, ${bundle.length} bytes`);
  return EXIT.OK;
}

export const AUDIT_COMMANDS = {
  show,
  checkpoint,
  verify,
  prove,
  export: exportCmd,
};
