// SPDX-License-Identifier: Apache-2.0
// docs/policy.md's example, as the tests that keep it true read it (test/config/policy.test.ts
// parses it; test/cli/policy-check.test.ts runs `policy check` on it with real files).
import { readFileSync } from 'node:fs';

/** The ```toml blocks of docs/policy.md (the host policy reference): the policy, then the policy.d fragment. */
export function readmePolicyBlocks(): { policy: string; fragment: string } {
  const doc = readFileSync('docs/policy.md', 'utf8');
  const [policy, fragment, ...more] = [...doc.matchAll(/```toml\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
  if (policy === undefined || fragment === undefined || more.length)
    throw new Error('docs/policy.md should have two ```toml blocks: the policy, a fragment');
  return { policy, fragment };
}
