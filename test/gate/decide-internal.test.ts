// SPDX-License-Identifier: Apache-2.0
// E_INTERNAL at the verdict's own level (agent/gate/gate.ts `decide`): an exception no check expects (a
// TypeError standing for a bug in a step) is a denial with E_INTERNAL, audited like any other, and never
// an allow. Through the real CLI, E_INTERNAL is tested in exec-run.test.ts (a --verdict file on a full
// filesystem); every other failure the CLI can be made to meet has a typed code of its own, so a thrown
// bug can only be planted here, through the GateContext the CLI builds.
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeEntry } from '../../agent/audit/entry.js';
import { AuditStore } from '../../agent/audit/store.js';
import { parsePolicy } from '../../agent/config/policy.js';
import { loadTrust } from '../../agent/config/trust.js';
import { initHashing } from '../../agent/crypto/hash.js';
import { initVerification } from '../../agent/crypto/verify.js';
import { type OpenedExecutable, openExecutable } from '../../agent/gate/executable.js';
import { decide, type GateContext, type GateTpm } from '../../agent/gate/gate.js';

let dir: string;
let store: AuditStore;
let exe: OpenedExecutable;

beforeAll(async () => {
  await initHashing();
  await initVerification();
  dir = await mkdtemp(join(tmpdir(), 'execgate-decide-'));
  store = await AuditStore.open(join(dir, 'state'));
  const path = join(dir, 'tool');
  await writeFile(path, '#!/bin/sh\n');
  await chmod(path, 0o700);
  exe = await openExecutable(path, { cwd: dir, pathEnv: undefined });
});
afterAll(async () => {
  await exe?.close();
  store?.close();
  await rm(dir, { recursive: true, force: true });
});

/** A TPM the verdict must not reach: the failure comes before it. */
const unreachable: GateTpm = {
  allocated: () => Promise.reject(new Error('not reached')),
  quote: () => Promise.reject(new Error('not reached')),
  counter: () => Promise.reject(new Error('not reached')),
  logs: () => Promise.reject(new Error('not reached')),
};

async function contextWith(mode: 'enforce' | 'audit'): Promise<GateContext> {
  const policy = parsePolicy(`[host]\nstate_dir = "state"\nartifacts = "store"\nmode = "${mode}"\n`, {
    file: join(dir, 'policy.toml'),
  });
  return {
    policy,
    trust: await loadTrust(policy),
    store,
    akName: new Uint8Array(34),
    tpm: unreachable,
    exe,
    // A bug in a step: the store search throws what no check expects.
    candidates: () => ({
      [Symbol.asyncIterator]: () => ({
        next: () => Promise.reject(new TypeError('a bug in the store search')),
      }),
    }),
  };
}

const request = {
  argv: ['tool'],
  cwd: '/',
  uid: 0,
  env: {},
  pid: process.pid,
  pidStart: 1,
  consume: true,
} as const;

describe('decide: an unexpected exception', () => {
  it('is E_INTERNAL: denied, audited, not run', async () => {
    const v = await decide({ ...request, now: Date.now() }, await contextWith('enforce'));
    expect(v).toMatchObject({ verdict: 'deny', reason: 'E_INTERNAL', run: false });
    expect(v.detail).toMatch(/unexpected error: a bug in the store search/);
    expect(v.remedy).toMatch(/report this as a bug/);
    const stored = store.entry(v.audit?.seq ?? -1);
    expect(stored && decodeEntry(stored.bytes)).toMatchObject({ verdict: 'deny', reason: 'E_INTERNAL' });
  });

  it('in audit mode is a "would deny" (which runs, as every audit-mode denial does)', async () => {
    const v = await decide({ ...request, now: Date.now() }, await contextWith('audit'));
    expect(v).toMatchObject({ verdict: 'would-deny', reason: 'E_INTERNAL', run: true, mode: 'audit' });
  });
});
