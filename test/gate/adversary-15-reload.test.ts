// SPDX-License-Identifier: Apache-2.0
// Adversary (issue 15): the service's verdicts use the policy as its files are now (service.ts
// `current`). A file written while a reload reads the others (the policy edited again while the trust
// loads: a revocation list or a second edit landing mid-reload) must be read at the next verdict, not
// taken as already loaded. The write is made at that moment by wrapping loadTrust, the read after the
// policy file's.
import { openSync } from 'node:fs';
import { chmod, mkdtemp, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AuditStore } from '../../agent/audit/store.js';
import type { HostPolicy } from '../../agent/config/policy.js';
import { loadPolicy } from '../../agent/config/policy.js';
import { loadTrust } from '../../agent/config/trust.js';
import { serveLogger } from '../../agent/serve/log.js';
import { fingerprints, watchedFiles } from '../../agent/serve/reload.js';
import { Service } from '../../agent/serve/service.js';

/** Runs once, after the next loadTrust has read its files (set by a test). */
const hook = vi.hoisted(() => ({ afterLoad: undefined as (() => Promise<void>) | undefined }));
vi.mock('../../agent/config/trust.js', async (actual) => {
  const m = await actual<typeof import('../../agent/config/trust.js')>();
  return {
    ...m,
    async loadTrust(policy: HostPolicy) {
      const t = await m.loadTrust(policy);
      const f = hook.afterLoad;
      hook.afterLoad = undefined;
      await f?.();
      return t;
    },
  };
});

let dir: string;
let file: string;
const services: Service[] = [];
const policyText = (mode: string) => `[host]\nmode = "${mode}"\nstate_dir = "${join(dir, 'state')}"\n`;

/**
 * A service on the policy as loaded now. No TPM: its ticks fail and are logged, and retry (each tick
 * reloads too, like a verdict: either may be the reload a test writes into).
 */
async function start(prints?: ReadonlyMap<string, string>): Promise<Service> {
  const policy = await loadPolicy(file);
  const s = await Service.start({
    policy,
    trust: await loadTrust(policy),
    policyFile: file,
    ...(prints === undefined ? {} : { prints }),
    store: await AuditStore.open(policy.host.stateDir),
    akName: new Uint8Array(34),
    openTpm: () => {
      throw new Error('no TPM in this test');
    },
    withPinnedAk: () => Promise.reject(new Error('no TPM in this test')),
    log: serveLogger('error', openSync('/dev/null', 'w')),
    tickMs: 3_600_000,
  });
  services.push(s);
  return s;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'adv15-reload-'));
  file = join(dir, 'policy.toml');
  await writeFile(file, policyText('enforce'), { mode: 0o600 });
});

afterAll(async () => {
  for (const s of services) await s.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('a policy written while it loads', () => {
  it('during a reload: the next verdict uses it', async () => {
    const service = await start();
    await writeFile(file, policyText('audit'));
    // While this reload loads the trust, the policy is set back to enforce.
    hook.afterLoad = () => writeFile(file, policyText('enforce'));
    await service.current(); // audit, or enforce when the service's own tick began this reload
    expect(hook.afterLoad).toBeUndefined();
    expect((await service.current()).policy.host.mode).toBe('enforce');
    await service.stop();
  });

  it('during a reload already in flight: a verdict that comes after the write uses it', async () => {
    const service = await start();
    await writeFile(file, policyText('audit'));
    let later: Promise<Awaited<ReturnType<Service['current']>>> | undefined;
    // The reload of "audit" is reading the trust when enforce is written and then a verdict comes.
    hook.afterLoad = async () => {
      await writeFile(file, policyText('enforce'));
      later = service.current();
    };
    await service.current();
    expect((await later)?.policy.host.mode).toBe('enforce');
    await service.stop();
  });

  it('while the service starts (serve.ts: fingerprints from before the read): the first verdict uses it', async () => {
    await writeFile(file, policyText('audit'));
    const before = await fingerprints(watchedFiles(await loadPolicy(file)));
    hook.afterLoad = () => writeFile(file, policyText('enforce'));
    const service = await start(before);
    expect((await service.current()).policy.host.mode).toBe('enforce');
    await service.stop();
  });
});

describe('a change that keeps the size and mtime', () => {
  // chmod changes neither, nor does an edit whose mtime is set back (touch -r): both change the ctime,
  // and the mode decides whether the file may be trusted at all (fs/trusted-file.ts).
  it('the policy made group-writable: the next verdict is E_CONFIG, not the old policy', async () => {
    await writeFile(file, policyText('enforce'), { mode: 0o600 });
    await chmod(file, 0o600);
    const service = await start();
    expect((await service.current()).policy.host.mode).toBe('enforce');
    await chmod(file, 0o620);
    await expect(service.current()).rejects.toMatchObject({ code: 'E_CONFIG' });
    await chmod(file, 0o600);
    expect((await service.current()).policy.host.mode).toBe('enforce');
    await service.stop();
  });

  it('an edit of the same size with its mtime set back: the next verdict uses it', async () => {
    const then = new Date(1_700_000_000_000); // whole seconds: utimes sets them back exactly
    await writeFile(file, policyText('enforce'));
    await chmod(file, 0o600);
    await utimes(file, then, then);
    const service = await start();
    await writeFile(file, policyText('audit').replace('"audit"', '"audit"  '));
    await utimes(file, then, then);
    expect((await stat(file)).size).toBe(policyText('enforce').length);
    expect((await service.current()).policy.host.mode).toBe('audit');
    await service.stop();
  });
});
