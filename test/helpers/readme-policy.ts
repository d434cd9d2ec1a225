// SPDX-License-Identifier: Apache-2.0
// README.md's "Host policy" example, as the tests that keep it true read it (test/config/policy.test.ts
// parses it; test/cli/policy-check.test.ts runs `policy check` on it with real files).
import { readFileSync } from 'node:fs';

/** The ```toml blocks of README.md's "Host policy" section: the policy, then the policy.d fragment. */
export function readmePolicyBlocks(): { policy: string; fragment: string } {
  const readme = readFileSync('README.md', 'utf8');
  const at = readme.indexOf('\n### Host policy\n');
  if (at < 0) throw new Error('README.md has no "### Host policy" section');
  const section = readme.slice(at, readme.indexOf('\n### ', at + 1));
  const [policy, fragment, ...more] = [...section.matchAll(/```toml\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
  if (policy === undefined || fragment === undefined || more.length)
    throw new Error('README.md "Host policy" should have two ```toml blocks: the policy, a fragment');
  return { policy, fragment };
}
