// SPDX-License-Identifier: Apache-2.0
/**
 * @module web/views/fields
 *
 * Every decoded field of a value, as a tree the auditor opens field by field: objects and arrays as
 * <details> (closed below the first level), bytes as hex and bigints as decimal (agent/cli/json.ts, as
 * the CLI prints them).
 */
import { jsonSafe } from '../../agent/cli/json.js';
import { el } from './dom.js';

/** Arrays longer than this show their first elements and say how many are left out. */
const MAX_ITEMS = 500;

function node(key: string, value: unknown, depth: number): HTMLElement {
  if (value !== null && typeof value === 'object') {
    const entries = Array.isArray(value)
      ? value.slice(0, MAX_ITEMS).map((v, i) => [String(i), v] as const)
      : Object.entries(value);
    const size = Array.isArray(value) ? `[${value.length}]` : `{${entries.length}}`;
    const d = el('details', depth === 0 ? { open: '' } : {}, el('summary', {}, el('b', {}, key), ` ${size}`));
    for (const [k, v] of entries) d.append(node(k, v, depth + 1));
    if (Array.isArray(value) && value.length > MAX_ITEMS)
      d.append(el('div', { class: 'more' }, `… ${value.length - MAX_ITEMS} more`));
    return d;
  }
  return el('div', { class: 'field' }, el('b', {}, key), ': ', el('code', {}, JSON.stringify(value) ?? ''));
}

/** The fields panel of `value`, titled `title`. */
export function fieldsView(title: string, value: unknown): HTMLElement {
  return el('div', { class: 'fields' }, node(title, jsonSafe(value), 0));
}
