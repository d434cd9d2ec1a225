// SPDX-License-Identifier: Apache-2.0
/**
 * @module web/worker
 *
 * The page's Web Worker: verifies an audit bundle (./audit.ts) off the page's thread, so that a bundle
 * of a million entries leaves the page responsive, and posts its progress (entries verified of the
 * header's claimed size, only for the bar: the verdict does not trust it), then the outcome and the
 * views' data.
 */
import { readBundle } from '../agent/audit/bundle.js';
import { auditView, runAudit } from './audit.js';
import type { NamedBytes } from './run.js';

/** What the page posts. */
export interface AuditRequest {
  readonly bundle: NamedBytes;
  readonly ak: NamedBytes;
  readonly strict: boolean;
}

interface WorkerScope {
  onmessage: ((e: { data: AuditRequest }) => void) | null;
  postMessage(message: unknown): void;
}
const scope = globalThis as unknown as WorkerScope;

scope.onmessage = async ({ data }) => {
  let claimed = 0;
  try {
    claimed = readBundle(data.bundle.bytes).header.size;
  } catch {
    claimed = 0;
  }
  let last = -1;
  const progress = (n: number) => {
    const pct = claimed === 0 ? 0 : Math.floor((100 * n) / claimed);
    if (pct === last) return;
    last = pct;
    scope.postMessage({ type: 'progress', verified: n, total: claimed });
  };
  const started = performance.now();
  const outcome = await runAudit(data.bundle, data.ak, { strict: data.strict, progress });
  const ms = performance.now() - started;
  scope.postMessage({ type: 'done', outcome, ms, view: auditView(data.bundle.bytes) });
};
