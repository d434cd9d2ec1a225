// SPDX-License-Identifier: Apache-2.0
// agent/gate/wire.ts: requests and answers survive the trip exactly; anything else (random JSON, a valid
// message with one field wrong, a frame too long, short, late or followed by more) is a WireError, never
// another exception or a hang; an answer that would run a command it does not allow is refused.

import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GateError } from '../../agent/gate/errors.js';
import {
  decodeAnswer,
  decodeRequest,
  encodeAnswer,
  encodeRequest,
  frame,
  readFrame,
  WireError,
  type WireRequest,
} from '../../agent/gate/wire.js';

const noNul = fc.string({ maxLength: 24 }).filter((s) => !s.includes('\0'));
const request: fc.Arbitrary<WireRequest> = fc.record(
  {
    policy: noNul,
    tcti: fc.option(noNul),
    argv: fc.array(noNul, { minLength: 1, maxLength: 5 }),
    cwd: noNul,
    uid: fc.nat(),
    pid: fc.nat(),
    pidStart: fc.nat(),
    env: fc.dictionary(
      noNul.filter((k) => k !== '' && !k.includes('=') && k !== '__proto__'),
      noNul,
      { maxKeys: 3 },
    ),
    artifactFile: noNul,
    artifact: fc.uint8Array({ maxLength: 64 }),
    artifactError: noNul,
    exe: fc.oneof(
      fc.record({ realPath: noNul, sha256: fc.uint8Array({ minLength: 32, maxLength: 32 }) }),
      fc.tuple(noNul, noNul).map(([m, r]) => new GateError('E_SCOPE', m, r)),
    ),
  },
  { requiredKeys: ['policy', 'tcti', 'argv', 'cwd', 'uid', 'pid', 'pidStart', 'env', 'exe'] },
);

/** What crosses the socket: the message as JSON text, parsed back. */
const trip = (o: object): unknown => JSON.parse(JSON.stringify(o));

const comparable = (r: WireRequest) => ({
  ...r,
  env: { ...r.env },
  ...(r.artifact === undefined ? {} : { artifact: [...r.artifact] }),
  exe:
    r.exe instanceof GateError
      ? { code: r.exe.code, message: r.exe.message, remedy: r.exe.remedy }
      : { realPath: r.exe.realPath, sha256: [...r.exe.sha256] },
});

const verdict = {
  verdict: 'allow',
  reason: 'OK',
  detail: '',
  remedy: '',
  mode: 'enforce',
  run: true,
  artifact: { file: 'a.cose', digest: 'ab', cti: 'cd', issuer: 'ef' },
  exe: { path: '/bin/true', sha256: '00'.repeat(32) },
  audit: { seq: 3, entryHash: '11'.repeat(32) },
  parent: 2,
  env: ['PATH'],
} as const;

/** A minimal request as it arrives (JSON parsed). */
const sent = () =>
  trip(
    encodeRequest({
      policy: '/p',
      tcti: null,
      argv: ['/bin/true'],
      cwd: '/',
      uid: 0,
      pid: 1,
      pidStart: 1,
      env: {},
      exe: { realPath: '/bin/true', sha256: new Uint8Array(32) },
    }),
  ) as Record<string, unknown>;

describe('messages', () => {
  it('a request decodes to exactly what was encoded', () => {
    fc.assert(
      fc.property(request, (r) => {
        expect(comparable(decodeRequest(trip(encodeRequest(r))))).toEqual(comparable(r));
      }),
    );
  });

  it('random JSON and mutated requests are a WireError or a request, never another exception', () => {
    const valid = sent();
    const mutated = fc
      .tuple(fc.constantFrom(...Object.keys(valid), 'extra'), fc.jsonValue())
      .map(([k, v]) => ({ ...valid, [k]: v }));
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), mutated), (v) => {
        try {
          decodeRequest(v);
        } catch (e) {
          expect(e).toBeInstanceOf(WireError);
        }
      }),
    );
  });

  it('a request with an unknown field, a NUL in argv, a bad digest or an environment name with "=" is refused', () => {
    const base = sent();
    expect(() => decodeRequest(base)).not.toThrow();
    for (const bad of [
      { ...base, more: 1 },
      { ...base, argv: ['/bin/tr\0ue'] },
      { ...base, argv: [] },
      { ...base, exe: { path: '/bin/true', sha256: 'zz'.repeat(32) } },
      { ...base, env: { 'A=B': 'c' } },
      { ...base, uid: -1 },
      { ...base, v: 2 },
    ])
      expect(() => decodeRequest(bad)).toThrow(WireError);
  });

  it('an answer decodes to what was sent; one that would run a denial, or allow with a reason, is refused', () => {
    const a = decodeAnswer(trip(encodeAnswer({ kind: 'verdict', verdict })));
    expect(a).toEqual({ kind: 'verdict', verdict });
    expect(decodeAnswer(trip(encodeAnswer({ kind: 'decline', reason: 'busy' })))).toEqual({
      kind: 'decline',
      reason: 'busy',
    });
    const answer = (v: object) => ({ execgate: 'gate-answer', v: 1, verdict: { ...verdict, ...v } });
    for (const bad of [
      answer({ verdict: 'deny', reason: 'E_SCOPE', run: true }),
      answer({ reason: 'E_SCOPE' }),
      answer({ verdict: 'deny', reason: 'OK', run: false }),
      answer({ run: 'yes' }),
      answer({ audit: { seq: 1, entryHash: 'x' } }),
      answer({ breakglass: false }),
      answer({ surprise: 1 }),
    ])
      expect(() => decodeAnswer(bad)).toThrow(WireError);
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        try {
          decodeAnswer(v);
        } catch (e) {
          expect(e).toBeInstanceOf(WireError);
        }
      }),
    );
  });
});

describe('frames on a socket', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'execgate-wire-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** A server that writes `bytes` to each client (then ends, unless `hold`), and a client's readFrame. */
  async function receive(bytes: Buffer, opts: { max?: number; timeoutMs?: number; hold?: boolean } = {}) {
    const path = join(dir, `s${Math.random().toString(16).slice(2)}`);
    const server = createServer((c) => (opts.hold ? c.write(bytes) : c.end(bytes)));
    await new Promise<void>((r) => server.listen(path, r));
    const c: Socket = connect(path);
    try {
      return await readFrame(c, opts.max ?? 1024, opts.timeoutMs ?? 2000);
    } finally {
      c.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    }
  }

  it('reads one whole frame, however it is split', async () => {
    expect(await receive(frame({ a: 'b' }))).toEqual({ a: 'b' });
  });

  it('a frame over the limit, a short one, trailing bytes, non-JSON and a late one are WireErrors', async () => {
    const big = frame({ a: 'x'.repeat(2000) });
    await expect(receive(big)).rejects.toThrow(/over 1024/);
    await expect(receive(frame({ a: 'b' }).subarray(0, 8))).rejects.toThrow(/closed before a whole frame/);
    await expect(receive(Buffer.concat([frame({}), Buffer.from('x')]))).rejects.toThrow(/after the frame/);
    const notJson = Buffer.from([0, 0, 0, 2, 0x7b, 0xff]);
    await expect(receive(notJson)).rejects.toThrow(/not JSON/);
    await expect(receive(frame({ a: 'b' }).subarray(0, 6), { hold: true, timeoutMs: 100 })).rejects.toThrow(
      /within 100 ms/,
    );
  });
});
