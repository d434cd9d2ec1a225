// SPDX-License-Identifier: Apache-2.0
// Vitest helper: one throw-away swtpm per test file (files run in parallel, tests in a file share it).
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { type StartSwtpmOptions, type SwtpmInstance, startSwtpm } from '../../swtpm/harness.js';

/**
 * Starts a swtpm before the file's tests and stops it after them, failed or not. Returns an accessor that
 * is valid inside tests and hooks that run after this one's beforeAll.
 */
export function useSwtpm(options: StartSwtpmOptions = {}): () => SwtpmInstance {
  let instance: SwtpmInstance | undefined;
  beforeAll(async () => {
    instance = await startSwtpm(options);
  });
  afterAll(async () => {
    await instance?.stop();
  });
  return () => {
    if (!instance) throw new Error('useSwtpm: swtpm is not running (use the accessor inside a test)');
    return instance;
  };
}

/** The TCP ports of a swtpm, for a loopback proxy in front of it (tpm-proxy.ts). */
export function upstreamOf(s: SwtpmInstance): { host: string; port: number; ctrlPort: number } {
  const { host, port, ctrlPort } = s;
  if (host === undefined || port === undefined || ctrlPort === undefined)
    throw new Error('swtpm is not on TCP');
  return { host, port, ctrlPort };
}

/** DIR/bundle.pem: the swtpm CA's root and intermediate, as an operator's `--ca` bundle. */
export async function writeCaBundle(s: SwtpmInstance, dir: string): Promise<string> {
  if (!s.ca) throw new Error('swtpm started without ek: no CA');
  const path = join(dir, 'bundle.pem');
  await writeFile(path, (await readFile(s.ca.rootCert, 'utf8')) + (await readFile(s.ca.issuerCert, 'utf8')));
  return path;
}
