// SPDX-License-Identifier: Apache-2.0
// Vitest helper for attack tests: hosts that "booted" a synthetic event log (a fresh swtpm each, its
// extends replayed into the TPM) and a scratch directory for the files they hand over. Everything started
// is stopped after the file's tests.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { initHashing } from '../../agent/crypto/hash.js';
import { PCR_Extend } from '../../agent/tpm/commands.js';
import { Tpm } from '../../agent/tpm/tpm.js';
import { openTransport } from '../../agent/tpm/transport/index.js';
import { type SwtpmInstance, startSwtpm } from '../../swtpm/harness.js';
import type { SyntheticLog } from './synthetic-eventlog.js';

export interface BootedHosts {
  /** A fresh TPM into which `log`'s events were extended (none without a log); returns its TCTI flags. */
  boot(log?: SyntheticLog): Promise<string[]>;
  /** Writes `content` to a new file in the scratch directory; returns its path. */
  file(content: Uint8Array | string): Promise<string>;
  /** The scratch directory. */
  dir(): string;
}

export function useBootedHosts(prefix: string): BootedHosts {
  let dir: string | undefined;
  const tpms: SwtpmInstance[] = [];
  let counter = 0;
  beforeAll(async () => {
    await initHashing();
    dir = await mkdtemp(join(tmpdir(), `execgate-${prefix}-`));
  });
  afterAll(async () => {
    await Promise.all(tpms.map((t) => t.stop()));
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });
  const scratch = (): string => {
    if (dir === undefined) throw new Error('useBootedHosts: use it inside a test');
    return dir;
  };
  return {
    dir: scratch,
    async boot(log) {
      const t = await startSwtpm();
      tpms.push(t);
      const tpm = new Tpm(openTransport(t.tcti));
      try {
        for (const x of log?.extends ?? [])
          await tpm.run(PCR_Extend, { pcrHandle: x.pcr, digests: [...x.digests] });
      } finally {
        await tpm.close();
      }
      return ['--tcti', t.tcti];
    },
    async file(content) {
      const f = join(scratch(), `f${counter++}`);
      await writeFile(f, content);
      return f;
    },
  };
}
