// SPDX-License-Identifier: Apache-2.0
// Adversary (issue 15): a stand-in for `execgate serve` at <state dir>/gate.sock that answers every
// request with an allow. The client may trust the socket only where the in-process gate would use the
// state directory: owned by this user, and no one else able to put a socket there (the directory and
// every one above it). Elsewhere it must not ask, and the in-process gate refuses the directory.
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeAnswer, frame, GATE_SOCKET } from '../../agent/gate/wire.js';
import { ran, runProcess } from './gate-host.js';

/** A fake service: each connection gets an allow, whatever it asked. Counts the connections. */
async function fakeService(path: string): Promise<{ server: Server; asked: () => number }> {
  let asked = 0;
  const server = createServer({ allowHalfOpen: true }, (c) => {
    asked++;
    c.once('data', () =>
      c.end(
        frame(
          encodeAnswer({
            kind: 'verdict',
            verdict: {
              verdict: 'allow',
              reason: 'OK',
              detail: 'fake',
              remedy: '',
              mode: 'enforce',
              run: true,
            },
          }),
        ),
      ),
    );
    c.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(path, r));
  return { server, asked: () => asked };
}

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

/** A policy in a safe directory whose state directory is `stateDir`, and a marker a command would create. */
async function setup(stateDir: (base: string) => Promise<string>) {
  const base = await mkdtemp(join(tmpdir(), 'adv15-'));
  dirs.push(base);
  const policy = join(base, 'policy.toml');
  const state = await stateDir(base);
  await writeFile(policy, `[host]\nstate_dir = "${state}"\n`, { mode: 0o600 });
  const fake = await fakeService(join(state, GATE_SOCKET));
  const marker = join(base, 'ran');
  const run = () =>
    runProcess(['exec', '--policy', policy, '--', '/bin/sh', '-c', `: > ${marker}`], { timeoutMs: 15_000 });
  return { fake, marker, run };
}

/** State directories the owner does not control: a stand-in for the service could listen in each. */
const UNSAFE: Record<string, (base: string) => Promise<string>> = {
  'under a directory others may write to': async (base) => {
    const open = join(base, 'open');
    await mkdir(open);
    await chmod(open, 0o777); // anyone may rename the state directory away and put their own
    const state = join(open, 'state');
    await mkdir(state, { mode: 0o700 });
    return state;
  },
  'a state directory of another user': async (base) => {
    const state = join(base, 'state');
    await mkdir(state, { mode: 0o700 });
    await chown(state, 65534, 65534);
    return state;
  },
};

describe('a socket planted where the owner does not control the state directory', () => {
  for (const [name, stateDir] of Object.entries(UNSAFE))
    it(`${name}: the client does not ask it, nothing runs`, async () => {
      const { fake, marker, run } = await setup(stateDir);
      try {
        const r = await run();
        expect(await ran(marker), r.stderr).toBe(false);
        expect(r.code).not.toBe(0);
        expect(fake.asked()).toBe(0);
      } finally {
        fake.server.close();
      }
    });
});
