// SPDX-License-Identifier: Apache-2.0
// The bundled command line that package.json's `bin` names (scripts/bundle.mjs), built from source into
// .tmp/ and run as a process on swtpm, as an operator's shell runs it: the gate allows a command (it runs,
// its verdict is audited through the external better-sqlite3) and denies another (nothing runs); with
// EXECGATE_TRACE_TIMING=1 it prints its stage times as one JSON line (their names, never their values).
// V8 takes the code cache made beside the bundle when it compiles it as the loader does.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import Module from 'node:module';
import { join } from 'node:path';
import { constants, Script } from 'node:vm';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type GateHost, gateHost, type ProcessResult, ran } from '../gate/gate-host.js';
import { useSwtpm } from '../helpers/swtpm.js';

const ROOT = join(import.meta.dirname, '..', '..');
const swtpm = useSwtpm();
let out: string;
let host: GateHost;

beforeAll(async () => {
  // Under the repository, so that the bundle finds node_modules (better-sqlite3) as dist/ does.
  out = await mkdtemp(join(ROOT, '.tmp', 'bundle-'));
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'bundle.mjs'), out]);
  expect(r.status, r.stderr.toString()).toBe(0);
  host = await gateHost(swtpm());
}, 60_000);

afterAll(async () => {
  await host?.cleanup();
  await rm(out, { recursive: true, force: true });
});

function bundled(args: readonly string[], env: Record<string, string> = {}): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(out, 'execgate.cjs'), ...args], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: host.dir, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

describe('the bundled CLI (dist/execgate.cjs)', () => {
  // The exec client's cache is made after a warm-up run of the bundle (scripts/bundle.mjs): V8 takes it all the same.
  test.each(['execgate-bundle.cjs', 'execgate-exec.cjs'])('its code cache fits %s', async (name) => {
    const file = join(out, name);
    const script = new Script(Module.wrap(await readFile(file, 'utf8')), {
      filename: file,
      cachedData: await readFile(`${file}.cache`),
      importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
    });
    expect(script.cachedDataRejected).toBe(false);
  });

  test('allows, runs and audits; denies and runs nothing; traces its stages when asked', async () => {
    const ok = await host.script('ok');
    const other = await host.script('other');
    const artifact = await host.issue(ok.path, join(host.dir, 'ok.cose'), '--uses', '2');
    const gate = ['--tcti', host.tcti, 'exec', '--policy', host.policy, '--artifact', artifact, '--'];

    const allowed = await bundled([...gate, ok.path]);
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(await ran(ok.marker)).toBe(true);

    const denied = await bundled([...gate, other.path]);
    expect(denied.code).toBe(126);
    expect(denied.stderr).toMatch(/^execgate: denied: E_SCOPE: /);
    expect(await ran(other.marker)).toBe(false);

    const traced = await bundled([...gate, ok.path], { EXECGATE_TRACE_TIMING: '1' });
    expect(traced.code, traced.stderr).toBe(0);
    const line = JSON.parse(traced.stderr.trim()) as { execgate: string; ms: Record<string, number> };
    expect(line.execgate).toBe('timing');
    expect(Object.keys(line.ms)).toEqual(
      expect.arrayContaining(['node', 'load', 'policy', 'artifact', 'quote', 'audit append', 'spawn']),
    );

    expect((await host.entries()).map((e) => [e.verdict, e.reason])).toEqual([
      ['allow', 'OK'],
      ['deny', 'E_SCOPE'],
      ['allow', 'OK'],
    ]);
  }, 60_000);
});
