// SPDX-License-Identifier: Apache-2.0
// agent/serve/gate-socket.ts on its own (the verdicts it serves are test/gate/exec-serve.test.ts's): a
// connection that never sends its request does not hold the service's stop (it is declined at once, so its
// client would judge in its own process), and a request for another policy is declined without a turn.
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeAnswer, encodeRequest, frame, MAX_ANSWER_BYTES, readFrame } from '../../agent/gate/wire.js';
import { listenGate, type ServedGate } from '../../agent/serve/gate-socket.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'execgate-gate-socket-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const turns: string[] = [];
const served: ServedGate = {
  policyFile: '/etc/execgate/policy.toml',
  tcti: null,
  turn() {
    turns.push('turn');
    throw new Error('no verdict is made in these tests');
  },
};

async function open(path: string): Promise<Socket> {
  const c = connect(path);
  await new Promise<void>((resolve, reject) => c.once('connect', resolve).once('error', reject));
  return c;
}

describe('the gate socket', () => {
  it('stops at once beside a connection that never sends its request, which is declined', async () => {
    const gate = await listenGate(join(dir, 'idle.sock'), served, () => {});
    const idle = await open(gate.path);
    const answer = readFrame(idle, MAX_ANSWER_BYTES, 20_000);
    await gate.close();
    expect(decodeAnswer(await answer)).toEqual({ kind: 'decline', reason: 'the service is stopping' });
    idle.destroy();
    expect(turns).toEqual([]);
  });

  it('declines a request for another policy file without taking a turn', async () => {
    const gate = await listenGate(join(dir, 'other.sock'), served, () => {});
    try {
      const c = await open(gate.path);
      c.write(
        frame(
          encodeRequest({
            policy: '/elsewhere/policy.toml',
            tcti: null,
            argv: ['/bin/true'],
            cwd: '/',
            uid: 0,
            pid: process.pid,
            pidStart: 1,
            env: {},
            exe: { realPath: '/bin/true', sha256: new Uint8Array(32) },
          }),
        ),
      );
      expect(decodeAnswer(await readFrame(c, MAX_ANSWER_BYTES, 20_000))).toEqual({
        kind: 'decline',
        reason: 'this service judges under /etc/execgate/policy.toml',
      });
      c.destroy();
      expect(turns).toEqual([]);
    } finally {
      await gate.close();
    }
  });
});
