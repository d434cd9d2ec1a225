// SPDX-License-Identifier: Apache-2.0
// `execgate exec` as a client of a service's gate socket (agent/gate/wire.ts): the real CLI process asks
// a socket served from this test process by agent/serve/gate-socket.ts with the pieces `execgate serve`
// gives it (served-gate.ts: a warm audit store, the pinned AK, one TPM connection to swtpm, wasm-core).
// Each verdict's path is checked, not assumed: the service counts the verdicts it made.
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initVerification } from '../../agent/crypto/verify.js';
import type { GateVerdict } from '../../agent/gate/gate.js';
import { ownStartTime } from '../../agent/gate/lineage.js';
import {
  decodeAnswer,
  encodeRequest,
  frame,
  GATE_SOCKET,
  MAX_ANSWER_BYTES,
  readFrame,
  type WireAnswer,
  type WireRequest,
} from '../../agent/gate/wire.js';
import type { GateSocket } from '../../agent/serve/gate-socket.js';
import type { Tpm } from '../../agent/tpm/tpm.js';
import { useSwtpm } from '../helpers/swtpm.js';
import { allowed, denialLine, denied, type GateHost, ran, sealOn, shareGateHost } from './gate-host.js';
import { type ServedHost, serveHost } from './served-host.js';

const swtpm = useSwtpm();
let h: GateHost;
shareGateHost(swtpm, (host) => {
  h = host;
});

let served: ServedHost;
let socket: GateSocket;
let tpm: Tpm | undefined;
let made: GateVerdict[];
let declined: string[];

beforeAll(async () => {
  await initVerification();
  let turn: Promise<unknown> = Promise.resolve();
  served = await serveHost(h, (ctx) => {
    const connection = ctx.openTpm();
    tpm = connection;
    return <T>(fn: (t: Tpm) => Promise<T>): Promise<T> => {
      const p = turn.then(() => fn(connection));
      turn = p.catch(() => undefined);
      return p;
    };
  });
  ({ socket, made, declined } = served);
});

afterAll(async () => {
  await served?.close();
  await tpm?.close();
});

/** Runs `fn` and returns the verdicts the service made meanwhile. */
async function through<T>(fn: () => Promise<T>): Promise<{ result: T; verdicts: GateVerdict[] }> {
  const before = made.length;
  const result = await fn();
  return { result, verdicts: made.slice(before) };
}

describe('execgate exec through the service', () => {
  it('an allow is the service’s, recorded once, and the command runs with its verdict variable', async () => {
    const s = await h.script('served', 'echo "$EXECGATE_VERDICT"');
    const f = await h.issue(s.path);
    const before = (await h.entries()).length;
    const { result, verdicts } = await through(() => h.exec(['--artifact', f, '--', s.path]));
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(await ran(s.marker)).toBe(true);
    expect(verdicts.map((v) => v.reason)).toEqual(['OK']);
    const added = (await h.entries()).slice(before);
    expect(added.map((e) => [e.verdict, e.pid])).toEqual([['allow', expect.any(Number)]]);
    expect(added[0]?.pid).not.toBe(process.pid);
    expect(result.stdout.trim()).toBe(`${verdicts[0]?.audit?.seq}:${verdicts[0]?.audit?.entryHash}`);
  });

  it('the same single-use artifact again is E_REPLAY from the service', async () => {
    const s = await h.script('served-replay');
    const f = await h.issue(s.path);
    await allowed(h, ['--artifact', f, '--', s.path], s.marker);
    const { verdicts } = await through(() =>
      denied(h, 'E_REPLAY', ['--artifact', f, '--', s.path], s.marker),
    );
    expect(verdicts.map((v) => v.reason)).toEqual(['E_REPLAY']);
  });

  it('a denial is the service’s and is audited: a tampered artifact, an unreadable one, an unsafe command', async () => {
    const s = await h.script('served-deny');
    const f = await h.issue(s.path);
    const bytes = await readFile(f);
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 1;
    const tampered = h.file('tampered');
    await writeFile(tampered, bytes);
    const a = await through(() => denied(h, 'E_SIGNATURE', ['--artifact', tampered, '--', s.path], s.marker));
    const b = await through(() =>
      denied(h, 'E_MISSING', ['--artifact', join(h.dir, 'none.cose'), '--', s.path], s.marker),
    );
    const c = await through(() =>
      denied(h, 'E_SCOPE', ['--artifact', f, '--', join(h.dir, 'no-such-command')], s.marker),
    );
    expect([...a.verdicts, ...b.verdicts, ...c.verdicts].map((v) => v.reason)).toEqual([
      'E_SIGNATURE',
      'E_MISSING',
      'E_SCOPE',
    ]);
    expect(b.verdicts[0]?.detail).toMatch(/none\.cose/);
  });

  it('a nested gate under an allowed parent passes lineage: the service walks the client’s ancestry', async () => {
    const inner = await h.script('served-inner');
    const fi = await h.issue(inner.path, '--caller', join(h.bin, 'served-outer'));
    const cmd = `'${process.execPath}' ${(await import('./gate-host.js')).MAIN.map((m) => `'${m}'`).join(' ')}`;
    const outer = await h.script(
      'served-outer',
      `exec ${cmd} --tcti '${h.tcti}' exec --policy '${h.policy}' --artifact '${fi}' -- '${inner.path}'`,
    );
    const fo = await h.issue(outer.path);
    const { result, verdicts } = await through(() => h.exec(['--artifact', fo, '--', outer.path]));
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(await ran(inner.marker)).toBe(true);
    expect(verdicts.map((v) => v.reason)).toEqual(['OK', 'OK']);
    expect(verdicts[1]?.parent).toBe(verdicts[0]?.audit?.seq);
  });

  it('a forged parent verdict (an allow of another process tree) is E_LINEAGE from the service', async () => {
    const s = await h.script('served-forged');
    const f = await h.issue(s.path);
    const first = await through(() => allowed(h, ['--artifact', f, '--', s.path], s.marker));
    const v = first.verdicts[0]?.audit;
    const s2 = await h.script('served-forged-2');
    const f2 = await h.issue(s2.path);
    const { verdicts } = await through(() =>
      denied(h, 'E_LINEAGE', ['--artifact', f2, '--', s2.path], s2.marker, {
        env: { EXECGATE_VERDICT: `${v?.seq}:${v?.entryHash}` },
      }),
    );
    expect(verdicts.map((x) => x.reason)).toEqual(['E_LINEAGE']);
  });

  it('a policy broken after the service started is E_CONFIG from it, never the old policy’s allow', async () => {
    const s = await h.script('served-broken');
    const f = await h.issue(s.path);
    await writeFile(h.policy, '[host\n', { mode: 0o600 });
    try {
      // Asked directly (a client that read the policy before it broke).
      const answer = await ask({
        policy: h.policy,
        tcti: h.tcti,
        argv: [s.path],
        cwd: h.dir,
        uid: 0,
        pid: process.pid,
        pidStart: Number(await ownStartTime()),
        env: {},
        artifactFile: f,
        artifact: await readFile(f),
        exe: {
          realPath: s.path,
          sha256: createHash('sha256')
            .update(await readFile(s.path))
            .digest(),
        },
      });
      expect(answer).toMatchObject({
        kind: 'verdict',
        verdict: { verdict: 'deny', reason: 'E_CONFIG', run: false },
      });
    } finally {
      await h.writePolicy();
    }
  });
});

/** The same swtpm under another TCTI string (its keys in the other order). */
function sameTpmOtherName(tcti: string): string {
  const [kind, params] = tcti.split(':') as [string, string];
  return `${kind}:${params.split(',').reverse().join(',')}`;
}

/** One request to the service's socket, as the client sends it. */
async function ask(req: WireRequest): Promise<WireAnswer> {
  const c = connect(socket.path);
  await new Promise<void>((r, j) => c.once('connect', r).once('error', j));
  c.write(frame(encodeRequest(req)));
  return decodeAnswer(await readFrame(c, MAX_ANSWER_BYTES, 10_000));
}

describe('when the service does not judge', () => {
  it('another TPM named by the caller: declined, and the client judges itself (same verdict)', async () => {
    const s = await h.script('served-other-tcti');
    const f = await h.issue(s.path);
    const before = declined.length;
    const { verdicts } = await through(() =>
      allowed(h, ['--artifact', f, '--', s.path], s.marker, { tcti: sameTpmOtherName(h.tcti) }),
    );
    expect(verdicts).toEqual([]);
    expect(declined.slice(before)).toEqual(['this service uses another TPM']);
  });

  it('an artifact naming sealed secrets: declined with nothing recorded, and the client unseals them itself', async () => {
    await sealOn(h, 'served', 'served secret');
    const s = await h.script('served-secret', 'cat <&"$EXECGATE_SECRET_SERVED_FD"');
    const f = await h.issue(s.path, '--secret', 'served');
    const before = declined.length;
    const entries = (await h.entries()).length;
    const { result, verdicts } = await through(() => h.exec(['--artifact', f, '--', s.path]));
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe('served secret');
    expect(verdicts).toEqual([]);
    expect(declined.slice(before)).toEqual([
      'the artifact names sealed secrets: the client unseals them itself',
    ]);
    expect((await h.entries()).slice(entries)).toMatchObject([{ verdict: 'allow', secrets: ['served'] }]);
  });

  it('a service that takes the request and dies: E_INTERNAL, nothing runs', async () => {
    // A stand-in at the socket that reads the request and closes without an answer.
    await socket.close();
    const path = join(h.stateDir, GATE_SOCKET);
    const dying = createServer((c) => c.once('data', () => c.destroy()));
    await new Promise<void>((r) => dying.listen(path, r));
    try {
      const s = await h.script('served-dies');
      const f = await h.issue(s.path);
      const r = await h.exec(['--artifact', f, '--', s.path]);
      expect(r.code).toBe(126);
      expect(r.stderr).toMatch(denialLine('E_INTERNAL'));
      expect(r.stderr).toMatch(/execgate serve gave no verdict/);
      expect(await ran(s.marker)).toBe(false);
    } finally {
      await new Promise<void>((r) => dying.close(() => r()));
    }
  });
});
