// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/cli/audit-tree
 *
 * `audit show`'s rows and `--tree`'s execution lineage, shared with the auditor page (web/, which draws
 * the same tree from a bundle). Browser-safe: no Node built-in here or below.
 */
import { decodeEntry } from '../audit/entry.js';
import { toHex } from '../encoding/bytes.js';

/** An entry's fields as JSON: bytes as hex. */
function entryJson(value: unknown): unknown {
  if (value instanceof Uint8Array) return toHex(value);
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map(entryJson);
  if (typeof value === 'object' && value !== null)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, entryJson(v)]));
  return value;
}

/** One row of `audit show`: the entry decoded (bytes as hex), or why it does not decode. */
export function shownRow(seq: number, bytes: Uint8Array, leaf: Uint8Array): ShownRow {
  let entry: unknown;
  try {
    entry = entryJson(decodeEntry(bytes));
  } catch (err) {
    entry = { malformed: err instanceof Error ? err.message : String(err) };
  }
  return { seq, leaf: toHex(leaf), entry };
}

const MAX_TREE_INDENT = 3 * 32;

export interface ShownRow {
  readonly seq: number;
  readonly leaf: string;
  readonly entry: unknown;
}
export interface TreeNode extends ShownRow {
  readonly children: TreeNode[];
}

/** A row in one line, as the tree prints it: "5 allow OK /usr/bin/x", "6 heartbeat sha256:0-7". */
export function rowLabel(row: ShownRow): string {
  const e = row.entry as {
    verdict?: string;
    reason?: string;
    exe?: string;
    malformed?: string;
    kind?: string;
    pcrs?: string;
  };
  const what =
    e.malformed !== undefined
      ? `malformed: ${e.malformed}`
      : e.kind === 'heartbeat'
        ? `heartbeat ${e.pcrs}`
        : `${e.verdict} ${e.reason} ${e.exe ?? '-'}`;
  return `${row.seq} ${what}`;
}

/**
 * The execution lineage of `rows` (`audit show --tree`): each entry under the verdict it ran under
 * (`parent`), the rest at the top; as nodes for JSON and as indented lines. Iterative: a chain may be
 * as long as the log.
 */
export function lineageTree(rows: readonly ShownRow[]): { roots: TreeNode[]; lines: string[] } {
  const nodes = new Map<number, TreeNode>(rows.map((r) => [r.seq, { ...r, children: [] }]));
  const roots: TreeNode[] = [];
  for (const node of nodes.values()) {
    const parent = (node.entry as { parent?: unknown }).parent;
    const up = typeof parent === 'number' ? nodes.get(parent) : undefined;
    // A parent is always an earlier entry (entry.ts), so this cannot make a cycle.
    if (up !== undefined && up.seq < node.seq) up.children.push(node);
    else roots.push(node);
  }
  const lines: string[] = [];
  const stack: { node: TreeNode; prefix: string; branch: string }[] = roots
    .map((node) => ({ node, prefix: '', branch: '' }))
    .reverse();
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const { node, prefix, branch } = item;
    lines.push(`${prefix}${branch}${rowLabel(node)}`);
    // Indentation stops growing 32 levels down: a long chain stays readable, and linear in size.
    const below =
      prefix.length >= MAX_TREE_INDENT
        ? prefix
        : prefix + (branch === '' ? '' : branch === '└─ ' ? '   ' : '│  ');
    node.children.forEach((child, i) => {
      stack.splice(stack.length - i, 0, {
        node: child,
        prefix: below,
        branch: i === node.children.length - 1 ? '└─ ' : '├─ ',
      });
    });
  }
  return { roots, lines };
}
