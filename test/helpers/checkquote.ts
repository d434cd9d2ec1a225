// SPDX-License-Identifier: Apache-2.0
// tpm2_checkquote, the oracle for our quotes (STYLE principle 14): the quote's files written into a
// directory as tpm2-tools names them, then checked with a qualification (nonce).
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { spkiToPem } from '../../agent/attest/quote.js';
import { serializePcrs } from '../../agent/attest/tpm2-tools-format.js';
import type { PcrSelection } from '../../agent/tpm/pcr-selection.js';

const run = promisify(execFile);

/** A quote as tpm2_checkquote reads it: TPMS_ATTEST, TPMT_SIGNATURE, the PCR values and the AK. */
export interface QuoteFiles {
  readonly attest: Uint8Array;
  readonly signature: Uint8Array;
  readonly selection: PcrSelection;
  readonly pcrValues: readonly Uint8Array[];
  readonly akSpki: Uint8Array;
}

/**
 * Writes `q` into `dir` (quote.msg, quote.sig, quote.pcrs, ak.pem) and returns a check: tpm2_checkquote's
 * exit status with `-q` the given qualification (lowercase hex), 0 when it accepts the quote.
 */
export async function checkquote(
  dir: string,
  q: QuoteFiles,
): Promise<(qualification: string) => Promise<number>> {
  await writeFile(join(dir, 'quote.msg'), q.attest);
  await writeFile(join(dir, 'quote.sig'), q.signature);
  await writeFile(join(dir, 'quote.pcrs'), serializePcrs(q.selection, q.pcrValues));
  await writeFile(join(dir, 'ak.pem'), spkiToPem(q.akSpki));
  const args = ['-u', 'ak.pem', '-m', 'quote.msg', '-s', 'quote.sig', '-f', 'quote.pcrs', '-g', 'sha256'];
  return (qualification) =>
    run('tpm2_checkquote', [...args, '-q', qualification], { cwd: dir }).then(
      () => 0,
      (e: { code?: number }) => e.code ?? 1,
    );
}
