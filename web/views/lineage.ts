// SPDX-License-Identifier: Apache-2.0
/**
 * @module web/views/lineage
 *
 * The execution lineage of an audit bundle: `audit show --tree`'s tree (agent/cli/audit-tree.ts
 * lineageTree, the same nodes), each verdict under the one it ran under, as nested lists; a node opens
 * the entry's fields.
 */
import { lineageTree, rowLabel, type ShownRow, type TreeNode } from '../../agent/cli/audit-tree.js';
import { el } from './dom.js';

export function lineageView(rows: readonly ShownRow[], onPick: (row: ShownRow) => void): HTMLElement {
  const { roots } = lineageTree(rows);
  const top = el('ul', { class: 'lineage' });
  // Iterative, as lineageTree is: a chain may be as long as the log.
  const stack: { node: TreeNode; into: HTMLElement }[] = roots.map((node) => ({ node, into: top })).reverse();
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const { node, into } = item;
    const verdict = (node.entry as { verdict?: string }).verdict ?? 'other';
    const button = el('button', { class: `node ${verdict}`, type: 'button' }, rowLabel(node));
    button.addEventListener('click', () => onPick(node));
    const li = el('li', {}, button);
    into.append(li);
    if (node.children.length > 0) {
      const ul = el('ul');
      li.append(ul);
      for (let i = node.children.length - 1; i >= 0; i--) {
        const child = node.children[i];
        if (child !== undefined) stack.push({ node: child, into: ul });
      }
    }
  }
  return top;
}
