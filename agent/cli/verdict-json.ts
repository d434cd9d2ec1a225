// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/cli/verdict-json
 *
 * The `--json` documents of the verifying commands (`audit verify`, `artifact verify`, `quote verify`,
 * `eventlog verify`, `state check`), each built by one function that both the CLI and the auditor page
 * (web/, docs/auditor.md) call, so that the page's exported verdict equals the CLI's byte for byte.
 * Browser-safe: no Node built-in here or below.
 */
import type { Artifact, ArtifactLink } from '../artifact/artifact.js';
import type { ArtifactClaims } from '../artifact/claims.js';
import { COSE_ALG_NAME } from '../artifact/cose.js';
import type { ArtifactVerdict } from '../artifact/verify.js';
import type { QuoteVerdict } from '../attest/verify-quote.js';
import type { AuditVerdict } from '../audit/log.js';
import { bankName } from '../crypto/algorithms.js';
import { keyId } from '../crypto/public-key.js';
import { toHex } from '../encoding/bytes.js';
import type { PcrMismatch } from '../measure/compare.js';
import type { EventLogVerdict } from '../measure/state/eventlog-verdict.js';
import type { StateFailure } from '../measure/state/failure.js';
import type { TPMS_CLOCK_INFO } from '../tpm/structures.js';
import { jsonSafe } from './json.js';
import { isoTime } from './values.js';

/** `audit verify --json`. */
export function auditVerdictJson(v: AuditVerdict) {
  return {
    ok: v.ok,
    size: v.size,
    checkpoints: v.checkpoints,
    ...(v.newest ? { newest: { size: v.newest.size, counter: v.newest.counter.toString() } } : {}),
    ...(v.root ? { root: toHex(v.root) } : {}),
    ...(v.code ? { code: v.code, detail: v.detail } : {}),
  };
}

export function timeJson(s: number) {
  return { unix: s, iso: isoTime(s) };
}

/** The claims as JSON: bytes as hex, times as {unix, iso}, the delegate key with its kid. */
export function claimsJson(c: ArtifactClaims) {
  const { iss, sub, iat, nbf, exp, delegate: grant, ...rest } = c;
  return {
    iss,
    sub,
    iat: timeJson(iat),
    ...(nbf === undefined ? {} : { nbf: timeJson(nbf) }),
    exp: timeJson(exp),
    ...(jsonSafe(rest) as object),
    ...(grant === undefined
      ? {}
      : { delegate: { kid: toHex(keyId(grant.key)), ...(jsonSafe(grant) as object) } }),
  };
}

export function linkJson(l: ArtifactLink) {
  return {
    digest: toHex(l.digest),
    alg: COSE_ALG_NAME[l.alg],
    kid: toHex(l.kid),
    claims: claimsJson(l.claims),
  };
}

/** `artifact verify --json`: the verdict at `at` (seconds). */
export function artifactVerdictJson(verdict: ArtifactVerdict, at: number) {
  const decoded: Artifact | undefined = verdict.artifact;
  return {
    verdict: verdict.ok ? 'valid' : 'invalid',
    ...(verdict.ok ? {} : { code: verdict.code, detail: verdict.detail }),
    at: timeJson(at),
    ...(verdict.ok
      ? {
          issuer: toHex(verdict.issuer.kid),
          approvedBy: verdict.approvedBy ?? null,
        }
      : {}),
    ...(decoded === undefined
      ? {}
      : {
          ...linkJson(decoded),
          chain: decoded.chain.map(linkJson),
          approvals: decoded.approvals.map((x) => ({ alg: COSE_ALG_NAME[x.alg], kid: toHex(x.kid) })),
        }),
  };
}

export function clockJson(c: TPMS_CLOCK_INFO) {
  return { clock: c.clock.toString(), resetCount: c.resetCount, restartCount: c.restartCount, safe: c.safe };
}

/** `quote verify --json`. */
export function quoteVerdictJson(verdict: QuoteVerdict) {
  const a = verdict.attest;
  return {
    ok: verdict.ok,
    ...(verdict.code === undefined ? {} : { code: verdict.code }),
    detail: verdict.detail,
    ...(a === undefined
      ? {}
      : {
          ...clockJson(a.clockInfo),
          firmwareVersion: `0x${a.firmwareVersion.toString(16).padStart(16, '0')}`,
          qualifiedSigner: toHex(a.qualifiedSigner),
        }),
  };
}

function mismatchJson(m: PcrMismatch) {
  return {
    bank: bankName(m.algId),
    pcr: m.pcr,
    kind: m.kind,
    quoted: toHex(m.quoted),
    ...(m.expected === undefined ? {} : { expected: toHex(m.expected) }),
    ...(m.divergence === undefined ? {} : { divergence: m.divergence }),
    message: m.message,
  };
}

/** `eventlog verify --json`: the log's verdict against the quote named `source` (its path as given). */
export function eventLogVerdictJson(v: EventLogVerdict, log: string, source: string) {
  const c = v.comparison;
  return {
    ok: c.ok,
    log,
    quote: source,
    matched: c.matched.map((p) => ({ bank: bankName(p.algId), pcr: p.pcr })),
    mismatches: c.mismatches.map(mismatchJson),
    notQuoted: c.notQuoted,
    findings: v.findings,
  };
}

/** `state check --json`: the verdict on reference `reference` (its path as given), of SHA-256 `digest`. */
export function stateCheckJson(
  verdict: { readonly ok: boolean; readonly failures: readonly StateFailure[] },
  reference: string | undefined,
  digest: Uint8Array,
  source: string,
) {
  const failures = verdict.failures.map((f) => ({
    rule: f.rule,
    code: f.code,
    message: f.message,
    detail: f.detail,
  }));
  return { ok: verdict.ok, reference, digest: toHex(digest), quote: source, failures };
}
