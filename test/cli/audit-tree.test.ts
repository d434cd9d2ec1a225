// SPDX-License-Identifier: Apache-2.0
// `audit show --tree` (agent/cli/audit.ts lineageTree): each verdict under the one it ran under, in
// sequence order, with orphans (a parent outside the rows shown), malformed entries and heartbeats at
// the top.
import { describe, expect, it } from 'vitest';
import { lineageTree } from '../../agent/cli/audit.js';

const row = (seq: number, parent?: number, exe = `/bin/t${seq}`) => ({
  seq,
  leaf: '00',
  entry: { verdict: 'allow', reason: 'OK', exe, ...(parent === undefined ? {} : { parent }) },
});

describe('lineageTree', () => {
  it('draws chains and siblings in order', () => {
    const { lines, roots } = lineageTree([
      row(0),
      row(1, 0),
      row(2, 1),
      row(3, 0),
      row(4),
      row(5, 3),
      row(6, 99),
    ]);
    expect(lines).toEqual([
      '0 allow OK /bin/t0',
      '├─ 1 allow OK /bin/t1',
      '│  └─ 2 allow OK /bin/t2',
      '└─ 3 allow OK /bin/t3',
      '   └─ 5 allow OK /bin/t5',
      '4 allow OK /bin/t4',
      '6 allow OK /bin/t6',
    ]);
    expect(roots.map((r) => r.seq)).toEqual([0, 4, 6]);
    expect(roots[0]?.children.map((c) => c.seq)).toEqual([1, 3]);
  });

  it('a claimed parent that is not earlier is ignored, malformed entries and heartbeats are shown as such', () => {
    const { lines } = lineageTree([
      row(0, 1),
      row(1),
      { seq: 2, leaf: '00', entry: { malformed: 'bad CBOR' } },
      { seq: 3, leaf: '00', entry: { kind: 'heartbeat', pcrs: 'sha256:0-7' } },
    ]);
    expect(lines).toEqual([
      '0 allow OK /bin/t0',
      '1 allow OK /bin/t1',
      '2 malformed: bad CBOR',
      '3 heartbeat sha256:0-7',
    ]);
  });

  it('a chain as long as the log does not overflow the stack', () => {
    const rows = Array.from({ length: 50_000 }, (_, i) => row(i, i === 0 ? undefined : i - 1));
    const { lines } = lineageTree(rows);
    expect(lines.length).toBe(50_000);
    expect(lines[49_999]).toMatch(/└─ 49999 allow OK/);
  });
});
