// SPDX-License-Identifier: Apache-2.0
/**
 * The policy's `[host] state_dir` alone, for `execgate exec` asking `execgate serve` (agent/cli/
 * exec-client.ts): the file is read as loadPolicy reads it (a trusted file: fs/trusted-file.ts) and parsed
 * as TOML, and the key read as the policy reads it (schema.ts `path`), without the rest of the policy's
 * checks, which the service makes on its own load of the same file. Anything this cannot read is
 * undefined: the client then judges in its own process, whose loadPolicy says what is wrong.
 */
import { dirname } from 'node:path';
import { parse } from 'smol-toml';
import { INPUT_LIMITS } from '../fs/read-bounded.js';
import { readTrusted } from '../fs/trusted-file.js';
import { DEFAULT_STATE_DIR } from './defaults.js';
import { path } from './schema.js';

export async function policyStateDir(file: string): Promise<string | undefined> {
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(
      await readTrusted(file, { maxBytes: INPUT_LIMITS.policy, what: 'policy' }),
    );
    const host = parse(text).host;
    if (host === undefined) return DEFAULT_STATE_DIR;
    if (typeof host !== 'object' || host === null || Array.isArray(host)) return undefined;
    const raw = (host as Record<string, unknown>).state_dir;
    if (raw === undefined) return DEFAULT_STATE_DIR;
    return path.read(raw as never, { dir: dirname(file) });
  } catch {
    return undefined;
  }
}
