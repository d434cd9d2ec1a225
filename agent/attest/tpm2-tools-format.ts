// SPDX-License-Identifier: Apache-2.0
/**
 * tpm2-tools' quote files (SWTPM.md §4.1) written into a directory; their formats and the in-memory
 * readers and writers are in ./tpm2-tools-pcrs.ts, re-exported here.
 */
import { join } from 'node:path';
import { concatBytes } from '../encoding/bytes.js';
import { checkWritable, ensureDir, writeFileSafe } from '../fs/atomic-write.js';
import { type QuoteEvidence, spkiToPem } from './quote-evidence.js';
import { serializePcrs } from './tpm2-tools-pcrs.js';

export { parsePcrs, serializePcrs, splitValues } from './tpm2-tools-pcrs.js';

export const TPM2_TOOLS_FILES = {
  msg: 'quote.msg',
  sig: 'quote.sig',
  pcrs: 'quote.pcrs',
  values: 'quote.pcrs.values',
  ak: 'ak.pem',
} as const;

const tpm2ToolsPath = (dir: string, k: keyof typeof TPM2_TOOLS_FILES): string =>
  join(dir, TPM2_TOOLS_FILES[k]);

/**
 * Checks before quoting that writeTpm2ToolsQuote(dir, …, opts) would not be refused (a symlinked or
 * foreign `dir`, a planted link, a file that exists without `replace`); the write checks again.
 */
export async function checkTpm2ToolsOut(dir: string, opts: { replace: boolean }): Promise<void> {
  for (const k of Object.keys(TPM2_TOOLS_FILES) as (keyof typeof TPM2_TOOLS_FILES)[])
    await checkWritable(tpm2ToolsPath(dir, k), { ...opts, makesDir: true });
}

/**
 * Writes the evidence as tpm2-tools files into `dir` (created if needed, 0755) with writeFileSafe;
 * existing files are replaced only with `replace`. Returns their paths.
 */
export async function writeTpm2ToolsQuote(
  dir: string,
  ev: QuoteEvidence,
  opts: { replace: boolean },
): Promise<Record<keyof typeof TPM2_TOOLS_FILES, string>> {
  await checkTpm2ToolsOut(dir, opts);
  await ensureDir(dir, { mode: 0o755 });
  const path = (k: keyof typeof TPM2_TOOLS_FILES) => tpm2ToolsPath(dir, k);
  const w = { mode: 0o644, replace: opts.replace };
  await writeFileSafe(path('msg'), ev.attest, w);
  await writeFileSafe(path('sig'), ev.signature, w);
  await writeFileSafe(path('pcrs'), serializePcrs(ev.selection, ev.pcrValues), w);
  // quote.pcrs.values: the digests concatenated.
  await writeFileSafe(path('values'), concatBytes(ev.pcrValues), w);
  await writeFileSafe(path('ak'), spkiToPem(ev.akSpki), w);
  return { msg: path('msg'), sig: path('sig'), pcrs: path('pcrs'), values: path('values'), ak: path('ak') };
}
