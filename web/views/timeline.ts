// SPDX-License-Identifier: Apache-2.0
/**
 * @module web/views/timeline
 *
 * An audit bundle's verdicts over time: one lane per reason code (or per executable), a dot per entry
 * coloured by its verdict (allow, deny, would-deny; heartbeats grey), each checkpoint a dashed line at
 * the time of the last entry it covers; under it the counts per lane. A dot opens the entry's fields.
 */
import type { ShownRow } from '../../agent/cli/audit-tree.js';
import type { AuditView } from '../audit.js';
import { el, svg } from './dom.js';

export type LaneKey = 'reason' | 'exe';

interface Shown {
  readonly verdict?: string;
  readonly reason?: string;
  readonly exe?: string;
  readonly kind?: string;
  readonly time?: number;
  readonly malformed?: string;
}

const WIDTH = 960;
const LANE = 22;
const LEFT = 220;
const RIGHT = 20;
const TOP = 26;

/** The lane of an entry: its reason code or executable; heartbeats and malformed entries have their own. */
function laneOf(e: Shown, key: LaneKey): string {
  if (e.malformed !== undefined) return '(malformed)';
  if (e.kind === 'heartbeat') return '(heartbeat)';
  return (key === 'reason' ? e.reason : e.exe) ?? '-';
}

function verdictClass(e: Shown): string {
  if (e.malformed !== undefined) return 'malformed';
  if (e.kind === 'heartbeat') return 'heartbeat';
  return e.verdict ?? 'malformed';
}

/** Milliseconds since the epoch in ISO 8601; beyond a Date's range (an entry's time may be up to 2^53 − 1), as a number. */
function isoTime(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? `${ms} ms` : d.toISOString();
}

export function timelineView(view: AuditView, key: LaneKey, onPick: (row: ShownRow) => void): HTMLElement {
  const rows = view.rows;
  const entries = rows.map((r) => r.entry as Shown);
  const lanes = [...new Set(entries.map((e) => laneOf(e, key)))].sort();
  const times = entries.map((e) => (typeof e.time === 'number' ? e.time : 0));
  const t0 = Math.min(...times, Number.POSITIVE_INFINITY);
  const t1 = Math.max(...times, Number.NEGATIVE_INFINITY);
  const x = (t: number) => LEFT + (t1 > t0 ? ((t - t0) / (t1 - t0)) * (WIDTH - LEFT - RIGHT) : 0);
  const height = TOP + lanes.length * LANE + 10;
  const plot = svg('svg', { width: WIDTH, height, class: 'timeline', role: 'img' });
  lanes.forEach((lane, i) => {
    const y = TOP + i * LANE + LANE / 2;
    plot.append(svg('line', { x1: LEFT, x2: WIDTH - RIGHT, y1: y, y2: y, class: 'lane' }));
    const label = svg('text', { x: LEFT - 8, y: y + 4, 'text-anchor': 'end' });
    label.textContent = lane.length > 32 ? `…${lane.slice(-31)}` : lane;
    plot.append(label);
  });
  view.checkpoints.forEach((c, i) => {
    const last = rows[c.size - 1];
    if (last === undefined) return;
    const cx = x(times[c.size - 1] ?? t0);
    plot.append(svg('line', { x1: cx, x2: cx, y1: 12, y2: height - 4, class: 'checkpoint' }));
    // Labels right of their line, or left of it in the right half (so that they stay in the plot).
    const right = cx > (LEFT + WIDTH) / 2;
    const t = svg('text', {
      x: right ? cx - 3 : cx + 3,
      y: 12,
      class: 'checkpoint-label',
      'text-anchor': right ? 'end' : 'start',
    });
    t.textContent = `checkpoint ${i + 1} (size ${c.size}, counter ${c.counter})`;
    plot.append(t);
  });
  rows.forEach((row, i) => {
    const e = entries[i] as Shown;
    const y = TOP + lanes.indexOf(laneOf(e, key)) * LANE + LANE / 2;
    const dot = svg('circle', { cx: x(times[i] ?? t0), cy: y, r: 4, class: `dot ${verdictClass(e)}` });
    const title = svg('title');
    title.textContent = `#${row.seq} ${verdictClass(e)} ${e.reason ?? ''} ${e.exe ?? ''}`;
    dot.append(title);
    dot.addEventListener('click', () => onPick(row));
    plot.append(dot);
  });
  const span = t1 >= t0 ? `${isoTime(t0)} … ${isoTime(t1)}` : 'no entries to draw';
  return el(
    'div',
    { class: 'timeline-view' },
    el('div', { class: 'axis' }, span),
    plot,
    countsTable(entries, lanes, key),
  );
}

/** allow / deny / would-deny / other counts per lane. */
function countsTable(entries: readonly Shown[], lanes: readonly string[], key: LaneKey): HTMLElement {
  const kinds = ['allow', 'deny', 'would-deny', 'heartbeat', 'malformed'];
  const counts = new Map(lanes.map((l) => [l, new Map(kinds.map((k) => [k, 0]))]));
  for (const e of entries) {
    const m = counts.get(laneOf(e, key));
    const k = verdictClass(e);
    m?.set(k, (m.get(k) ?? 0) + 1);
  }
  const table = el(
    'table',
    { class: 'counts' },
    el(
      'tr',
      {},
      el('th', {}, key === 'reason' ? 'reason code' : 'executable'),
      ...kinds.map((k) => el('th', {}, k)),
    ),
  );
  for (const l of lanes)
    table.append(
      el('tr', {}, el('td', {}, l), ...kinds.map((k) => el('td', {}, String(counts.get(l)?.get(k) ?? 0)))),
    );
  return table;
}
