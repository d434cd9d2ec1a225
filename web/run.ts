// SPDX-License-Identifier: Apache-2.0
/**
 * @module web/run
 *
 * The auditor page's verifications of artifacts, quotes, event logs and reference states: each runs the
 * steps of its CLI command (`artifact verify`, `quote verify`, `eventlog verify --quote`, `state check
 * --eventlog --quote --no-ima`) with the library's own functions, in the same order, on files the
 * auditor dropped instead of paths, and builds its `--json` document with the CLI's own function
 * (agent/cli/verdict-json.ts). An input the CLI refuses before it judges (a key that is no key, a
 * malformed nonce) is a failure with the CLI's code and no JSON, as the CLI prints none then.
 * The audit bundle runs in a worker (./audit.ts).
 */
import { ArtifactError } from '../agent/artifact/errors.js';
import { type RevocationList, RevocationState, verifyRevocationList } from '../agent/artifact/revocation.js';
import { type ArtifactVerdict, verifyArtifact } from '../agent/artifact/verify.js';
import {
  bundleFromText,
  decodeBundle,
  pemToSpki,
  QuoteError,
  type QuoteEvidence,
} from '../agent/attest/quote-evidence.js';
import { parsePcrs } from '../agent/attest/tpm2-tools-pcrs.js';
import { type QuoteVerdict, verifyQuote } from '../agent/attest/verify-quote.js';
import { UsageError } from '../agent/cli/exit-codes.js';
import { parseDuration, parseIndex, parseNonce, parseTime } from '../agent/cli/values.js';
import {
  artifactVerdictJson,
  eventLogVerdictJson,
  quoteVerdictJson,
  stateCheckJson,
} from '../agent/cli/verdict-json.js';
import { initHashing } from '../agent/crypto/hash.js';
import { type PublicKey, parsePublicKey } from '../agent/crypto/public-key.js';
import { initVerification } from '../agent/crypto/verify.js';
import { latin1, toHex } from '../agent/encoding/bytes.js';
import { ExecgateError } from '../agent/errors.js';
import { INPUT_LIMITS, inputTooLong } from '../agent/fs/input-limits.js';
import { quotedPcrValues } from '../agent/measure/compare.js';
import { type EventLog, parseEventLog } from '../agent/measure/eventlog.js';
import { parseReferenceState, referenceDigest } from '../agent/measure/reference.js';
import { type ReplayResult, replayEventLog } from '../agent/measure/replay.js';
import { type EventLogVerdict, judgeEventLog, judgeMeasuredState } from '../agent/measure/state/index.js';
import type { PcrValues } from '../agent/tpm/pcr-selection.js';

/** A dropped file: its name stands where the CLI prints the path it was given. */
export interface NamedBytes {
  readonly name: string;
  readonly bytes: Uint8Array;
}

/** A verification's result, as the page shows and exports it. */
export interface Outcome<V = undefined> {
  readonly ok: boolean;
  /** The reason code of a failure (the CLI's, on stderr). */
  readonly code?: string;
  readonly detail: string;
  /** What `--json` prints on stdout, newline included; absent where the CLI prints none. */
  readonly json?: string;
  readonly view?: V;
}

/** The CLI's stdout line for a `--json` document. */
export const jsonLine = (doc: unknown): string => `${JSON.stringify(doc)}\n`;

/** A refusal before judging, as the CLI reports it: its code and message, no JSON. */
export function refusal(e: unknown): Outcome<never> {
  if (e instanceof ExecgateError) return { ok: false, code: e.code, detail: e.message };
  return { ok: false, code: 'E_INTERNAL', detail: e instanceof Error ? e.message : String(e) };
}

/** wasm-core for hashing and verification (idempotent). */
export async function ready(): Promise<void> {
  await initHashing();
  await initVerification();
}

const text = (f: NamedBytes) => new TextDecoder().decode(f.bytes);

/**
 * The CLI's bounded read of a file (agent/fs/read-bounded.ts) on a dropped one: over its kind's limit
 * (INPUT_LIMITS), E_INPUT_LIMIT, refused as the CLI refuses it rather than judged.
 */
export function bounded(f: NamedBytes, maxBytes: number, what: string): NamedBytes {
  if (f.bytes.length > maxBytes) throw inputTooLong(what, f.name, maxBytes);
  return f;
}

/** `--ak PEM` of the quote source flags (agent/cli/evidence.ts, quote.ts). */
function akFlag(ak: NamedBytes): Uint8Array {
  bounded(ak, INPUT_LIMITS.pem, '--ak');
  try {
    return pemToSpki(text(ak));
  } catch (e) {
    throw new UsageError(`--ak ${ak.name}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

// ── artifact verify ─────────────────────────────────────────────────────────────────────────────────

export interface ArtifactInput {
  readonly artifact: NamedBytes;
  readonly trust: readonly NamedBytes[];
  readonly approvers?: readonly NamedBytes[];
  /** --approvals K, with approvers. */
  readonly approvals?: string;
  readonly revoked?: readonly NamedBytes[];
  /** --at TIME; the current time when absent. */
  readonly at?: string;
  readonly skew?: string;
}

/** agent/cli/key.ts readPublicKey, on a dropped file. */
function publicKeyFile(f: NamedBytes, what: string): PublicKey {
  bounded(f, INPUT_LIMITS.key, what);
  if (latin1(f.bytes).includes('PRIVATE KEY-----'))
    throw new UsageError(
      `${what} ${f.name} holds a private key: give its public key (the .pub file key gen wrote beside it)`,
    );
  return parsePublicKey(f.bytes, `${what} ${f.name}`);
}

/** agent/cli/artifact.ts readKeys: one key per kid. */
function keysOf(files: readonly NamedBytes[], what: string): PublicKey[] {
  const keys = new Map<string, PublicKey>();
  for (const f of files) {
    const k = publicKeyFile(f, what);
    keys.set(toHex(k.kid), k);
  }
  return [...keys.values()];
}

export async function runArtifact(input: ArtifactInput): Promise<Outcome<ArtifactVerdict>> {
  try {
    // Before the keys: their kids are hashes (in the CLI, node:crypto's before wasm-core is up).
    await ready();
    if (input.trust.length === 0)
      throw new UsageError('--trust PUB|DIR is required: the issuer keys whose artifacts are trusted');
    const approverFiles = input.approvers ?? [];
    if ((approverFiles.length === 0) !== (input.approvals === undefined || input.approvals === ''))
      throw new UsageError('--approver PUB|DIR and --approvals K go together');
    const at =
      input.at === undefined || input.at === '' ? Math.floor(Date.now() / 1000) : parseTime(input.at, '--at');
    const skew =
      input.skew === undefined || input.skew === '' ? 0 : parseDuration(input.skew, '--skew', { zero: true });
    const trust = keysOf(input.trust, '--trust');
    let approvals: { approvers: PublicKey[]; required: number } | undefined;
    if (approverFiles.length > 0 && input.approvals !== undefined) {
      const approvers = keysOf(approverFiles, '--approver');
      const required = parseIndex(input.approvals, '--approvals', approvers.length);
      if (required === 0) throw new UsageError('--approvals must be at least 1');
      approvals = { approvers, required };
    }
    bounded(input.artifact, INPUT_LIMITS.artifact, 'artifact');
    const state = new RevocationState();
    const lists: RevocationList[] = [];
    for (const list of input.revoked ?? []) {
      bounded(list, INPUT_LIMITS.revocationList, '--revoked');
      try {
        lists.push(verifyRevocationList(list.bytes, trust));
      } catch (e) {
        if (e instanceof ArtifactError)
          throw new ArtifactError(e.code, `--revoked ${list.name}: ${e.message}`, { cause: e });
        throw e;
      }
    }
    for (const list of lists.sort((a, b) => a.seq - b.seq)) state.accept(list);
    const verdict = verifyArtifact(input.artifact.bytes, {
      trust,
      ...(approvals === undefined ? {} : { approvals }),
      ...(input.revoked === undefined || input.revoked.length === 0 ? {} : { revoked: state.revocations() }),
      at,
      skew,
    });
    return {
      ok: verdict.ok,
      ...(verdict.ok ? {} : { code: verdict.code }),
      detail: verdict.ok
        ? `valid: ${verdict.artifact.claims.scope.exe} on ${verdict.artifact.claims.sub}, issued by kid ${toHex(verdict.issuer.kid)}`
        : `${input.artifact.name}: ${verdict.detail}`,
      json: jsonLine(artifactVerdictJson(verdict, at)),
      view: verdict,
    };
  } catch (e) {
    return refusal(e);
  }
}

// ── quote verify ────────────────────────────────────────────────────────────────────────────────────

export interface QuoteInput {
  /** An execgate quote bundle (CBOR, or the base64 text `execgate quote` prints)… */
  readonly bundle?: NamedBytes;
  /** …or tpm2_quote's files: quote.msg, quote.sig and the serialized quote.pcrs. */
  readonly msg?: NamedBytes;
  readonly sig?: NamedBytes;
  readonly pcrs?: NamedBytes;
  readonly ak: NamedBytes;
  readonly nonce: string;
}

type QuoteParts = Pick<QuoteEvidence, 'attest' | 'signature' | 'selection' | 'pcrValues'>;

function quoteParts(input: QuoteInput): QuoteParts | { failure: string } {
  try {
    if (input.bundle !== undefined) {
      if (input.msg !== undefined || input.sig !== undefined || input.pcrs !== undefined)
        throw new UsageError('give either a BUNDLE file or --msg, --sig, --pcrs-values and --pcrs');
      const ev = decodeBundle(
        bundleFromText(bounded(input.bundle, INPUT_LIMITS.quoteBundle, 'BUNDLE').bytes),
      );
      return { attest: ev.attest, signature: ev.signature, selection: ev.selection, pcrValues: ev.pcrValues };
    }
    if (input.msg === undefined || input.sig === undefined || input.pcrs === undefined)
      throw new UsageError('--msg, --sig and --pcrs-values go together');
    for (const [f, what] of [
      [input.msg, '--msg'],
      [input.sig, '--sig'],
      [input.pcrs, '--pcrs-values'],
    ] as const)
      bounded(f, INPUT_LIMITS.tpm2ToolsFile, what);
    // The serialized quote.pcrs (tpm2_quote -o) carries its selection; bare values would need --pcrs.
    const serialized = parsePcrs(input.pcrs.bytes);
    return {
      attest: input.msg.bytes,
      signature: input.sig.bytes,
      selection: serialized.selection,
      pcrValues: serialized.values,
    };
  } catch (e) {
    if (e instanceof QuoteError) return { failure: e.message };
    throw e;
  }
}

export async function runQuote(input: QuoteInput): Promise<Outcome<QuoteVerdict>> {
  try {
    await ready();
    const nonce = parseNonce(input.nonce);
    const akPublicKey = akFlag(input.ak);
    const evidence = quoteParts(input);
    const verdict: QuoteVerdict =
      'failure' in evidence
        ? { ok: false, code: 'E_QUOTE_PARSE', detail: evidence.failure }
        : verifyQuote({ ...evidence, akPublicKey, nonce });
    return {
      ok: verdict.ok,
      ...(verdict.code === undefined ? {} : { code: verdict.code }),
      detail: verdict.detail,
      json: jsonLine(quoteVerdictJson(verdict)),
      view: verdict,
    };
  } catch (e) {
    return refusal(e);
  }
}

// ── eventlog verify and state check, on a given quote ───────────────────────────────────────────────

export interface QuoteSource {
  readonly quote: NamedBytes;
  readonly ak: NamedBytes;
  readonly nonce: string;
}

/** agent/cli/evidence.ts quotedPcrs with --quote, --ak and --nonce: the verified quote's PCR values. */
function quotedPcrs(q: QuoteSource): { pcrs: PcrValues; source: string } {
  const akPublicKey = akFlag(q.ak);
  const nonce = parseNonce(q.nonce);
  bounded(q.quote, INPUT_LIMITS.quoteBundle, '--quote');
  let ev: QuoteEvidence;
  try {
    ev = decodeBundle(q.quote.bytes);
  } catch (e) {
    if (e instanceof QuoteError) throw new ExecgateError('E_QUOTE_PARSE', `${q.quote.name}: ${e.message}`);
    throw e;
  }
  const verdict = verifyQuote({ ...ev, akPublicKey, nonce });
  if (!verdict.ok)
    throw new ExecgateError(verdict.code ?? 'E_QUOTE_PARSE', `${q.quote.name}: ${verdict.detail}`);
  return { pcrs: quotedPcrValues(ev.selection, ev.pcrValues), source: `quote ${q.quote.name}` };
}

/** What the event log view draws. */
export interface EventLogView {
  readonly log: EventLog;
  readonly replay: ReplayResult;
  readonly quoted: PcrValues;
  readonly verdict: EventLogVerdict;
}

export async function runEventLog(input: QuoteSource & { log: NamedBytes }): Promise<Outcome<EventLogView>> {
  try {
    await ready();
    const log = parseEventLog(input.log.bytes);
    const replay = replayEventLog(log, { workarounds: [] });
    const quoted = quotedPcrs(input);
    const verdict = judgeEventLog(log, quoted.pcrs, { replay });
    const c = verdict.comparison;
    return {
      ok: c.ok,
      ...(c.ok ? {} : { code: 'E_EVENTLOG_MISMATCH' }),
      detail: c.ok
        ? `${input.log.name} replays to the quoted PCRs (${c.matched.length} matched)`
        : c.mismatches.map((m) => m.message).join('\n') || 'the quote covers no PCR to judge',
      json: jsonLine(eventLogVerdictJson(verdict, input.log.name, quoted.source)),
      view: { log, replay, quoted: quoted.pcrs, verdict },
    };
  } catch (e) {
    return refusal(e);
  }
}

export async function runState(
  input: QuoteSource & { reference: NamedBytes; log: NamedBytes },
): Promise<Outcome<EventLogView>> {
  try {
    await ready();
    const ref = parseReferenceState(bounded(input.reference, INPUT_LIMITS.reference, 'REF').bytes);
    const log = parseEventLog(input.log.bytes);
    const quoted = quotedPcrs(input);
    const verdict = judgeMeasuredState({
      quoted: quoted.pcrs,
      quoteSource: quoted.source,
      eventLog: { log, source: `event log ${input.log.name}` },
      reference: ref,
    });
    const digest = referenceDigest(ref);
    const replay = replayEventLog(log, { workarounds: [] });
    return {
      ok: verdict.ok,
      ...(verdict.ok ? {} : { code: 'E_STATE_MISMATCH' }),
      detail: verdict.ok
        ? `the state matches ${input.reference.name} (sha256:${toHex(digest)})`
        : verdict.failures.map((f) => `${f.rule}: ${f.message}`).join('\n'),
      json: jsonLine(stateCheckJson(verdict, input.reference.name, digest, quoted.source)),
      view: { log, replay, quoted: quoted.pcrs, verdict: judgeEventLog(log, quoted.pcrs, { replay }) },
    };
  } catch (e) {
    return refusal(e);
  }
}
