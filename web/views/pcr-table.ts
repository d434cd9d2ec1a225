// SPDX-License-Identifier: Apache-2.0
/**
 * @module web/views/pcr-table
 *
 * An event log against a quote: the PCR table (each quoted bank and PCR: what the log replays to, what
 * the TPM quoted, matched or not), and the log's events with the first diverging event of each
 * mismatched PCR highlighted (agent/measure/compare.ts `divergence`). An event opens its decoded
 * fields (agent/measure/event-data).
 */
import { bankName } from '../../agent/crypto/algorithms.js';
import { toHex } from '../../agent/encoding/bytes.js';
import { decodeEventData } from '../../agent/measure/event-data/index.js';
import type { TcgEvent } from '../../agent/measure/eventlog.js';
import type { EventLogView } from '../run.js';
import { el } from './dom.js';

/** Events listed at most (a log has hundreds; a hostile one could have many more). */
const MAX_EVENTS = 3000;

const short = (hex: string) => (hex.length > 24 ? `${hex.slice(0, 12)}…${hex.slice(-8)}` : hex);

export function pcrTableView(
  view: EventLogView,
  onPick: (title: string, value: unknown) => void,
): HTMLElement {
  const { log, replay, quoted, verdict } = view;
  const c = verdict.comparison;
  const mismatch = new Map(c.mismatches.map((m) => [`${m.algId}:${m.pcr}`, m]));
  const diverging = new Set(
    c.mismatches.flatMap((m) => (m.divergence === undefined ? [] : [m.divergence.index])),
  );
  const table = el(
    'table',
    { class: 'pcrs' },
    el(
      'tr',
      {},
      ...['bank', 'PCR', 'log replays to', 'quoted', 'verdict', 'first diverging event'].map((h) =>
        el('th', {}, h),
      ),
    ),
  );
  for (const [alg, values] of quoted) {
    for (const [pcr, q] of [...values].sort((a, b) => a[0] - b[0])) {
      const m = mismatch.get(`${alg}:${pcr}`);
      const expected = replay.pcrs.get(alg)?.get(pcr);
      const row = el(
        'tr',
        { class: m === undefined ? 'match' : 'mismatch' },
        el('td', {}, bankName(alg)),
        el('td', {}, String(pcr)),
        el('td', {}, el('code', {}, expected === undefined ? '—' : short(toHex(expected)))),
        el('td', {}, el('code', {}, short(toHex(q)))),
        el('td', {}, m === undefined ? 'match' : `mismatch: ${m.kind}`),
        el('td', {}, m?.divergence === undefined ? '' : `#${m.divergence.index} ${m.divergence.typeName}`),
      );
      if (m !== undefined) row.addEventListener('click', () => onPick(`${bankName(alg)} PCR ${pcr}`, m));
      table.append(row);
    }
  }
  const events = el(
    'table',
    { class: 'events' },
    el('tr', {}, ...['#', 'PCR', 'type', 'digests'].map((h) => el('th', {}, h))),
  );
  for (const e of log.events.slice(0, MAX_EVENTS)) {
    const row = el(
      'tr',
      { class: diverging.has(e.index) ? 'diverging' : '' },
      el('td', {}, String(e.index)),
      el('td', {}, String(e.pcrIndex)),
      el('td', {}, e.typeName),
      el(
        'td',
        {},
        el('code', {}, e.digests.map((d) => `${bankName(d.algId)}:${short(toHex(d.digest))}`).join(' ')),
      ),
    );
    row.addEventListener('click', () => onPick(`event ${e.index}`, eventFields(e, view)));
    events.append(row);
  }
  const more =
    log.events.length > MAX_EVENTS
      ? el('p', {}, `… ${log.events.length - MAX_EVENTS} more events`)
      : undefined;
  return el(
    'div',
    { class: 'pcr-view' },
    el('h3', {}, 'PCRs'),
    table,
    el('h3', {}, `Events (${log.events.length})`),
    events,
    more,
  );
}

function eventFields(e: TcgEvent, view: EventLogView) {
  let data: unknown;
  try {
    data = decodeEventData(e, view.log);
  } catch (err) {
    data = { undecodable: err instanceof Error ? err.message : String(err) };
  }
  return {
    index: e.index,
    offset: e.offset,
    pcr: e.pcrIndex,
    type: e.typeName,
    eventType: e.eventType,
    digests: Object.fromEntries(e.digests.map((d) => [bankName(d.algId), d.digest])),
    data,
    findings: view.verdict.findings.filter((f) => f.index === e.index),
  };
}
