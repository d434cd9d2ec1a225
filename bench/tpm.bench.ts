// SPDX-License-Identifier: Apache-2.0
/**
 * TPM round trips on swtpm over loopback TCP: execgate's client (connection per command, as it runs by
 * default, and with keepAlive) against the same command through tpm2-tools, which starts a process per
 * call. Both quote with the same persisted AK, so the TPM work is identical; the ratio is the client cost.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreatePrimary, EvictControl, PCR_Read, Quote } from '../agent/tpm/commands.js';
import { TPM_ALG, TPM_RH } from '../agent/tpm/constants.js';
import { akRsa2048Template } from '../agent/tpm/templates.js';
import { Tpm } from '../agent/tpm/tpm.js';
import { openTransport } from '../agent/tpm/transport/index.js';
import { startSwtpm } from '../swtpm/harness.js';

const AK_HANDLE = 0x81010002;
const SELECTION = [{ hash: TPM_ALG.SHA256, pcrSelect: new Uint8Array([0xff, 0, 0]) }]; // sha256:0-7

export interface Row {
  name: string;
  ours: number;
  oursKeepAlive: number;
  tools: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

async function timeEach(n: number, fn: () => Promise<unknown> | unknown): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await fn();
    ms.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return median(ms);
}

export async function benchTpm(): Promise<Row[]> {
  const swtpm = await startSwtpm();
  const out = mkdtempSync(join(tmpdir(), 'execgate-bench-'));
  const env = { ...process.env, ...swtpm.env };
  try {
    const tpm = new Tpm(openTransport(swtpm.tcti));
    const ak = await tpm.run(CreatePrimary, {
      primaryHandle: TPM_RH.ENDORSEMENT,
      inSensitive: { userAuth: new Uint8Array(0), data: new Uint8Array(0) },
      inPublic: akRsa2048Template(),
      outsideInfo: new Uint8Array(0),
      creationPCR: [],
    });
    await tpm.run(EvictControl, {
      auth: TPM_RH.OWNER,
      objectHandle: ak.objectHandle,
      persistentHandle: AK_HANDLE,
    });
    await tpm.flush(ak.objectHandle);

    const quote = (t: Tpm) => () =>
      t.run(Quote, {
        signHandle: AK_HANDLE,
        qualifyingData: randomBytes(16),
        inScheme: { scheme: TPM_ALG.NULL, details: null },
        PCRselect: SELECTION,
      });
    const read = (t: Tpm) => () => t.run(PCR_Read, { pcrSelectionIn: SELECTION });
    const tool = (args: string[]) => () =>
      execFileSync(args[0] ?? '', args.slice(1), { env, stdio: 'ignore' });

    const rows: Row[] = [];
    for (const [name, ours, tools, n] of [
      ['PCR_Read sha256:0-7', read, tool(['tpm2_pcrread', 'sha256:0,1,2,3,4,5,6,7']), 500],
      [
        'Quote RSA-2048 sha256:0-7',
        quote,
        tool([
          'tpm2_quote',
          '-c',
          `0x${AK_HANDLE.toString(16)}`,
          '-l',
          'sha256:0,1,2,3,4,5,6,7',
          '-q',
          randomBytes(16).toString('hex'),
          '-m',
          join(out, 'q.msg'),
          '-s',
          join(out, 'q.sig'),
        ]),
        100,
      ],
    ] as const) {
      await timeEach(20, ours(tpm)); // warm-up
      // swtpm serves one data connection at a time: close the kept-alive one before tpm2-tools runs.
      const kept = new Tpm(openTransport(swtpm.tcti, { keepAlive: true }));
      const oursKeepAlive = await timeEach(n, ours(kept));
      await kept.close();
      rows.push({
        name,
        ours: await timeEach(n, ours(tpm)),
        oursKeepAlive,
        tools: await timeEach(30, tools),
      });
    }
    await tpm.close();
    return rows;
  } finally {
    await swtpm.stop();
    rmSync(out, { recursive: true, force: true });
  }
}

/** Prints the table `npm run bench` shows and BENCHMARKS.md records. */
export async function main(): Promise<void> {
  const rows = await benchTpm();
  const f = (ms: number) => `${ms.toFixed(3)} ms`;
  process.stdout.write('\nTPM round trips (swtpm, loopback TCP; medians)\n');
  process.stdout.write(
    '| command | execgate | execgate keepAlive | tpm2-tools (process per call) | tools / execgate | tools / keepAlive |\n',
  );
  process.stdout.write('| --- | --- | --- | --- | --- | --- |\n');
  for (const r of rows) {
    process.stdout.write(
      `| ${r.name} | ${f(r.ours)} | ${f(r.oursKeepAlive)} | ${f(r.tools)} | ${(r.tools / r.ours).toFixed(1)}× | ${(r.tools / r.oursKeepAlive).toFixed(1)}× |\n`,
    );
  }
}
