// SPDX-License-Identifier: Apache-2.0
/**
 * @module web/main
 *
 * The offline auditor page (docs/auditor.md): one panel per kind of evidence, each with its inputs (a
 * file picker or a dropped file per input, the CLI flag it stands for beside it), a Verify button, a
 * verdict banner with the CLI's reason code, "Export verdict JSON" (byte for byte the CLI's `--json`
 * output for the same inputs), and the views of that evidence. Nothing is fetched: every input is a
 * local file, and the code and wasm-core come with the page.
 */

import workerSource from 'worker-source';
import type { ShownRow } from '../agent/cli/audit-tree.js';
import type { AuditView } from './audit.js';
import { type NamedBytes, type Outcome, runArtifact, runEventLog, runQuote, runState } from './run.js';
import { el } from './views/dom.js';
import { fieldsView } from './views/fields.js';
import { lineageView } from './views/lineage.js';
import { pcrTableView } from './views/pcr-table.js';
import { type LaneKey, timelineView } from './views/timeline.js';

type FieldKind = 'file' | 'files' | 'text' | 'check';

interface Field {
  readonly name: string;
  readonly label: string;
  /** The CLI flag or argument this input stands for. */
  readonly flag: string;
  readonly kind: FieldKind;
  readonly optional?: boolean;
}

interface Panel {
  readonly id: 'audit' | 'artifact' | 'quote' | 'eventlog' | 'state';
  readonly title: string;
  readonly command: string;
  readonly fields: readonly Field[];
}

const PANELS: readonly Panel[] = [
  {
    id: 'audit',
    title: 'Audit bundle',
    command: 'execgate audit verify --bundle FILE --ak PEM [--strict] --json',
    fields: [
      { name: 'bundle', label: 'bundle (execgate audit export)', flag: '--bundle', kind: 'file' },
      { name: 'ak', label: 'AK public key (PEM)', flag: '--ak', kind: 'file' },
      { name: 'strict', label: 'decode every entry', flag: '--strict', kind: 'check', optional: true },
    ],
  },
  {
    id: 'artifact',
    title: 'Artifact',
    command:
      'execgate artifact verify FILE --trust PUB… [--approver PUB… --approvals K] [--revoked LIST]… [--at TIME] [--skew DUR] --json',
    fields: [
      { name: 'artifact', label: 'artifact', flag: 'FILE', kind: 'file' },
      { name: 'trust', label: 'trusted issuer keys', flag: '--trust', kind: 'files' },
      { name: 'approvers', label: 'approver keys', flag: '--approver', kind: 'files', optional: true },
      { name: 'approvals', label: 'approvals required', flag: '--approvals', kind: 'text', optional: true },
      { name: 'revoked', label: 'revocation lists', flag: '--revoked', kind: 'files', optional: true },
      {
        name: 'at',
        label: 'at (ISO 8601 or @seconds; now if empty)',
        flag: '--at',
        kind: 'text',
        optional: true,
      },
      { name: 'skew', label: 'clock skew (e.g. 90s)', flag: '--skew', kind: 'text', optional: true },
    ],
  },
  {
    id: 'quote',
    title: 'Quote',
    command: 'execgate quote verify (BUNDLE | --msg F --sig F --pcrs-values F) --ak PEM --nonce HEX --json',
    fields: [
      { name: 'bundle', label: 'quote evidence bundle', flag: 'BUNDLE', kind: 'file', optional: true },
      { name: 'msg', label: 'or tpm2_quote quote.msg', flag: '--msg', kind: 'file', optional: true },
      { name: 'sig', label: 'quote.sig', flag: '--sig', kind: 'file', optional: true },
      { name: 'pcrs', label: 'quote.pcrs (serialized)', flag: '--pcrs-values', kind: 'file', optional: true },
      { name: 'ak', label: 'AK public key (PEM)', flag: '--ak', kind: 'file' },
      { name: 'nonce', label: 'nonce (hex)', flag: '--nonce', kind: 'text' },
    ],
  },
  {
    id: 'eventlog',
    title: 'Event log',
    command: 'execgate eventlog verify FILE --quote BUNDLE --ak PEM --nonce HEX --json',
    fields: [
      { name: 'log', label: 'TCG event log (binary_bios_measurements)', flag: 'FILE', kind: 'file' },
      { name: 'quote', label: 'quote evidence bundle', flag: '--quote', kind: 'file' },
      { name: 'ak', label: 'AK public key (PEM)', flag: '--ak', kind: 'file' },
      { name: 'nonce', label: 'nonce (hex)', flag: '--nonce', kind: 'text' },
    ],
  },
  {
    id: 'state',
    title: 'Reference state',
    command: 'execgate state check REF --eventlog FILE --quote BUNDLE --ak PEM --nonce HEX --no-ima --json',
    fields: [
      { name: 'reference', label: 'reference-state document', flag: 'REF', kind: 'file' },
      { name: 'log', label: 'TCG event log', flag: '--eventlog', kind: 'file' },
      { name: 'quote', label: 'quote evidence bundle', flag: '--quote', kind: 'file' },
      { name: 'ak', label: 'AK public key (PEM)', flag: '--ak', kind: 'file' },
      { name: 'nonce', label: 'nonce (hex)', flag: '--nonce', kind: 'text' },
    ],
  },
];

/** The files and values each panel holds. */
const files = new Map<string, NamedBytes[]>();
const values = new Map<string, string>();
/** Each file input's latest read: Verify waits for them all, or it would judge the files chosen before. */
const reading = new Map<string, Promise<void>>();

const key = (panel: Panel, field: Field) => `${panel.id}-${field.name}`;
const one = (k: string) => files.get(k)?.[0];
const many = (k: string) => files.get(k) ?? [];

async function readFiles(list: FileList | null): Promise<NamedBytes[]> {
  return Promise.all(
    [...(list ?? [])].map(async (f) => ({ name: f.name, bytes: new Uint8Array(await f.arrayBuffer()) })),
  );
}

function fieldInput(panel: Panel, field: Field): HTMLElement {
  const id = key(panel, field);
  const flag = el('code', { class: 'flag' }, field.flag);
  if (field.kind === 'text') {
    const input = el('input', { id, type: 'text', spellcheck: 'false' });
    input.addEventListener('input', () => values.set(id, input.value.trim()));
    return el('label', { class: 'text-field' }, el('span', {}, field.label), flag, input);
  }
  if (field.kind === 'check') {
    const input = el('input', { id, type: 'checkbox' });
    input.addEventListener('change', () => values.set(id, input.checked ? 'yes' : ''));
    return el('label', { class: 'check-field' }, input, el('span', {}, field.label), flag);
  }
  const input = el('input', { id, type: 'file', ...(field.kind === 'files' ? { multiple: '' } : {}) });
  const chosen = el('span', { class: 'chosen' }, field.optional ? '(optional)' : 'drop a file or choose');
  const zone = el('div', { class: 'drop' }, el('span', {}, field.label), flag, input, chosen);
  const take = (list: FileList | null) => {
    files.delete(id);
    const read: Promise<void> = readFiles(list)
      .catch(() => [])
      .then((got) => {
        if (reading.get(id) !== read) return; // a later choice replaced this one
        files.set(id, got);
        chosen.textContent = got.map((f) => `${f.name} (${f.bytes.length} B)`).join(', ') || '(none)';
      });
    reading.set(id, read);
  };
  input.addEventListener('change', () => take(input.files));
  zone.addEventListener('dragover', (e) => {
    e.preventDefault();
    zone.classList.add('over');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    take(e.dataTransfer?.files ?? null);
  });
  return zone;
}

/** Saves `text` as a file the browser downloads. */
function download(name: string, text: string): void {
  const a = el('a', {
    href: URL.createObjectURL(new Blob([text], { type: 'application/json' })),
    download: name,
  });
  document.body.append(a);
  a.click();
  a.remove();
}

function banner(panel: Panel, outcome: Outcome<unknown>): HTMLElement {
  const b = el(
    'div',
    {
      class: `banner ${outcome.ok ? 'ok' : 'fail'}`,
      id: `${panel.id}-banner`,
      'data-code': outcome.code ?? '',
    },
    el('strong', {}, outcome.ok ? 'VALID' : `INVALID ${outcome.code ?? ''}`),
    el('span', { class: 'detail' }, outcome.detail),
  );
  const json = outcome.json;
  if (json !== undefined) {
    const button = el('button', { type: 'button', id: `${panel.id}-export` }, 'Export verdict JSON');
    button.addEventListener('click', () => download(`${panel.id}-verdict.json`, json));
    b.append(
      button,
      el('details', {}, el('summary', {}, 'verdict JSON'), el('pre', { class: 'json' }, json)),
    );
  } else b.append(el('div', { class: 'no-json' }, 'refused before judging: the CLI prints no JSON either'));
  return b;
}

/** The place views show a picked item's fields. */
function picker(into: HTMLElement) {
  return (title: string, value: unknown) => {
    into.replaceChildren(fieldsView(title, value));
    into.scrollIntoView({ block: 'nearest' });
  };
}

const workerUrl = URL.createObjectURL(new Blob([workerSource], { type: 'text/javascript' }));
let worker: Worker | undefined;

/** Runs the audit bundle in the worker, with its progress bar. */
function verifyAudit(panel: Panel, result: HTMLElement): void {
  // One run at a time: a new Verify ends the previous run, whose messages are about other files.
  worker?.terminate();
  worker = undefined;
  const bundle = one('audit-bundle');
  const ak = one('audit-ak');
  if (bundle === undefined || ak === undefined) {
    result.replaceChildren(
      el('div', { class: 'banner fail', id: 'audit-banner' }, 'give the bundle and the AK'),
    );
    return;
  }
  const bar = el('progress', { id: 'audit-progress', max: '1', value: '0' });
  const status = el('span', {}, 'verifying…');
  result.replaceChildren(el('div', { class: 'progress' }, bar, status));
  const w = new Worker(workerUrl);
  worker = w;
  let updates = 0;
  w.onmessage = ({ data }) => {
    if (worker !== w) return;
    if (data.type === 'progress') {
      updates++;
      bar.max = Math.max(1, data.total);
      bar.value = data.verified;
      status.textContent = `verified ${data.verified} of ${data.total} entries`;
      return;
    }
    const outcome = data.outcome as Outcome;
    const view = data.view as AuditView;
    const b = banner(panel, outcome);
    b.setAttribute('data-ms', String(data.ms));
    b.setAttribute('data-progress-updates', String(updates));
    b.append(el('span', { class: 'timing' }, `verified in ${Math.round(data.ms)} ms`));
    // The verdict first: views of hostile evidence must never keep it from showing.
    result.replaceChildren(b);
    try {
      result.append(...auditViews(view));
    } catch (e) {
      result.append(el('p', { class: 'no-json' }, `the views failed: ${e instanceof Error ? e.message : e}`));
    }
  };
  // A worker that dies (out of memory, an uncaught error) gives no verdict message: say so, never VALID.
  const died = (why: string) => {
    if (worker !== w) return;
    worker = undefined;
    w.terminate();
    result.replaceChildren(
      banner(panel, { ok: false, code: 'E_INTERNAL', detail: `the verifier stopped: ${why}` }),
    );
  };
  w.onerror = (e) => {
    e.preventDefault();
    died(e.message || 'an error in the worker');
  };
  w.onmessageerror = () => died('a message from the worker could not be read');
  w.postMessage({ bundle, ak, strict: values.get('audit-strict') === 'yes' });
}

/** The timeline, the lineage and the fields of an audit bundle. */
function auditViews(view: AuditView): HTMLElement[] {
  const details = el('div', { class: 'picked' });
  const pick = (row: ShownRow) => picker(details)(`entry ${row.seq}`, row);
  const lanes = el('div', { class: 'timeline-slot' });
  let laneKey: LaneKey = 'reason';
  const draw = () => lanes.replaceChildren(timelineView(view, laneKey, pick));
  const toggle = el('button', { type: 'button', id: 'audit-lanes' }, 'lanes: by executable');
  toggle.addEventListener('click', () => {
    laneKey = laneKey === 'reason' ? 'exe' : 'reason';
    toggle.textContent = laneKey === 'reason' ? 'lanes: by executable' : 'lanes: by reason code';
    draw();
  });
  draw();
  const shown =
    view.total > view.rows.length ? ` (the first ${view.rows.length} of ${view.total} entries drawn)` : '';
  return [
    el('h3', {}, `Timeline${shown}`),
    toggle,
    lanes,
    el('h3', {}, 'Execution lineage'),
    el('div', { class: 'lineage-view', id: 'audit-lineage' }, lineageView(view.rows, pick)),
    el('h3', {}, 'Fields'),
    details,
  ];
}

async function verifyPanel(panel: Panel, result: HTMLElement): Promise<void> {
  if (panel.id === 'audit') return verifyAudit(panel, result);
  const details = el('div', { class: 'picked' });
  const pick = picker(details);
  const missing = (what: string): Outcome => ({ ok: false, code: 'E_USAGE', detail: `give the ${what}` });
  const v = (name: string) => values.get(`${panel.id}-${name}`) ?? '';
  const need = (name: string) => one(`${panel.id}-${name}`);
  let outcome: Outcome<unknown>;
  const views: HTMLElement[] = [];
  if (panel.id === 'artifact') {
    const artifact = need('artifact');
    const approvals = v('approvals');
    const out =
      artifact === undefined
        ? missing('artifact')
        : await runArtifact({
            artifact,
            trust: many('artifact-trust'),
            approvers: many('artifact-approvers'),
            ...(approvals === '' ? {} : { approvals }),
            revoked: many('artifact-revoked'),
            at: v('at'),
            skew: v('skew'),
          });
    outcome = out;
    if (out.json !== undefined) views.push(fieldsView('verdict', JSON.parse(out.json)));
  } else if (panel.id === 'quote') {
    const ak = need('ak');
    const bundle = need('bundle');
    const msg = need('msg');
    const sig = need('sig');
    const pcrs = need('pcrs');
    const out =
      ak === undefined
        ? missing('AK')
        : await runQuote({
            ak,
            nonce: v('nonce'),
            ...(bundle === undefined ? {} : { bundle }),
            ...(msg === undefined ? {} : { msg }),
            ...(sig === undefined ? {} : { sig }),
            ...(pcrs === undefined ? {} : { pcrs }),
          });
    outcome = out;
    if (out.view?.attest !== undefined) views.push(fieldsView('TPMS_ATTEST', out.view.attest));
  } else {
    const log = need('log');
    const quote = need('quote');
    const ak = need('ak');
    const reference = need('reference');
    const source = { nonce: v('nonce') };
    const out =
      log === undefined || quote === undefined || ak === undefined
        ? missing('event log, quote and AK')
        : panel.id === 'eventlog'
          ? await runEventLog({ ...source, log, quote, ak })
          : reference === undefined
            ? missing('reference-state document')
            : await runState({ ...source, log, quote, ak, reference });
    outcome = out;
    if (out.view !== undefined) views.push(pcrTableView(out.view, pick));
  }
  result.replaceChildren(banner(panel, outcome), ...views, el('h3', {}, 'Fields'), details);
}

function panelView(panel: Panel): HTMLElement {
  const result = el('div', { class: 'result', id: `${panel.id}-result` });
  const verify = el('button', { type: 'button', class: 'verify', id: `${panel.id}-verify` }, 'Verify');
  verify.addEventListener('click', () => {
    result.replaceChildren(el('div', { class: 'progress' }, 'verifying…'));
    void Promise.all(reading.values()).then(() => verifyPanel(panel, result));
  });
  return el(
    'section',
    { class: 'panel', id: panel.id },
    el('h2', {}, panel.title),
    el('p', { class: 'command' }, el('code', {}, panel.command)),
    el('div', { class: 'inputs' }, ...panel.fields.map((f) => fieldInput(panel, f))),
    verify,
    result,
  );
}

const nav = el('nav', {}, ...PANELS.map((p) => el('a', { href: `#${p.id}` }, p.title)));
document.querySelector('main')?.append(nav, ...PANELS.map(panelView));
document.body.setAttribute('data-ready', 'yes');
