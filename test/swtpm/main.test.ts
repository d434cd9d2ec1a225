// SPDX-License-Identifier: Apache-2.0
// The dev/demo CLI swtpm/main.ts, run as a child process (through tsx, as `node dist/swtpm/main.js` would).
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openTransport } from '../../agent/tpm/transport/open.js';

const MAIN = join(import.meta.dirname, '../../swtpm/main.ts');
const GET_RANDOM_8 = Uint8Array.from(Buffer.from('80010000000c0000017b0008', 'hex'));

function cli(args: string[]): {
  child: ChildProcessWithoutNullStreams;
  exit: Promise<number | null>;
  out: () => string;
} {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exit, out: () => out };
}

async function started(out: () => string, exit: Promise<number | null>): Promise<Record<string, string>> {
  await Promise.race([
    expect.poll(() => out(), { timeout: 20_000 }).toMatch(/# swtpm pid \d+/),
    exit.then((code) => {
      throw new Error(`main.ts exited early (${code}): ${out()}`);
    }),
  ]);
  return Object.fromEntries(
    [...out().matchAll(/^(?:export (\w+)='([^']*)'|# swtpm pid (\d+))/gm)].map((m) =>
      m[3] ? ['pid', m[3]] : [m[1] ?? '', m[2] ?? ''],
    ),
  );
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('swtpm/main.ts', () => {
  it.each([['SIGTERM'], ['SIGINT']] as const)(
    'start --unix prints the TCTI, serves it, and stops on %s',
    async (signal) => {
      const { child, exit, out } = cli(['start', '--unix']);
      try {
        const vars = await started(out, exit);
        expect(vars.EXECGATE_TCTI).toMatch(/^swtpm:path=\/.*swtpm\.sock$/);
        expect(vars.TPM2TOOLS_TCTI).toBe(vars.EXECGATE_TCTI);
        expect(await openTransport(vars.EXECGATE_TCTI ?? '').send(GET_RANDOM_8)).toHaveLength(20);
        child.kill(signal);
        expect(await exit).toBe(0);
        expect(alive(Number(vars.pid))).toBe(false);
        expect(existsSync((vars.EXECGATE_TCTI ?? '').replace('swtpm:path=', ''))).toBe(false);
      } finally {
        child.kill('SIGKILL');
      }
    },
  );

  it('start --dir keeps the state directory; TCP by default', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'execgate-test-main-'));
    const { child, exit, out } = cli(['start', '--dir', dir]);
    try {
      const vars = await started(out, exit);
      expect(vars.EXECGATE_TCTI).toMatch(/^swtpm:host=127\.0\.0\.1,port=\d+$/);
      child.kill('SIGTERM');
      expect(await exit).toBe(0);
      expect(existsSync(join(dir, 'tpm2-00.permall'))).toBe(true);
    } finally {
      child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  });

  it.each([[[]], [['stop']], [['start', '--bogus']]])('exits 2 with usage for %j', async (args) => {
    const { exit, out } = cli(args);
    expect(await exit).toBe(2);
    expect(out()).toContain('usage:');
  });
});
