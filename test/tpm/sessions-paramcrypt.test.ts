// SPDX-License-Identifier: Apache-2.0
// Parameter encryption through sessions that also authorize the entity (issue 11, finding 3), on swtpm
// with tpm2-tools as the oracle. Part 1 §21.1: "If a session is also being used for authorization,
// sessionValue is sessionKey || authValue. The binding of the session is ignored." — unlike the HMAC key
// (§19.6.5), which leaves out the authValue of the entity the session is bound to. NOTE 1 there: a policy
// session used for parameter encryption uses the authValue even without TPM2_PolicyAuthValue. The
// reference implementation does the same (SessionProcess.c, ParseSessionBuffer/BuildResponseSession:
// "authValue is concatenated with sessionKey … no matter if the handle is the session bound entity or
// not", when IsAuthValueAvailable).
//
// Each case: a value written by one side (execgate or tpm2-tools) through an encrypting session is read
// by the other, bound and unbound, command (decrypt) and response (encrypt) direction; the wire carries
// no plaintext.
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { NV_Read, NV_UndefineSpace, NV_Write, PCR_Read } from '../../agent/tpm/commands.js';
import { TPM_ALG, TPM_RH } from '../../agent/tpm/constants.js';
import { PolicyCalculator, pcrDigest, policyPCR } from '../../agent/tpm/policy.js';
import { type AuthSession, startAuthSession } from '../../agent/tpm/sessions.js';
import { Tpm } from '../../agent/tpm/tpm.js';
import { openTransport, type Transport } from '../../agent/tpm/transport/index.js';
import { useSwtpm } from '../helpers/swtpm.js';
import { handlesFrom, hex, tpm2, withTempDir } from './swtpm-kit.js';

const swtpm = useSwtpm();

const INDEX = 0x01500030;
const INDEX_HEX = `0x${INDEX.toString(16)}`;
const AUTH_TEXT = 'nv bound secret';
const AUTH = new TextEncoder().encode(AUTH_TEXT);
const SIZE = 32;

/** Records every command and response, so that a test can look for plaintext on the wire. */
class RecordingTransport implements Transport {
  readonly wire: Uint8Array[] = [];
  constructor(private readonly inner: Transport) {}
  async send(cmd: Uint8Array): Promise<Uint8Array> {
    this.wire.push(cmd);
    const rsp = await this.inner.send(cmd);
    this.wire.push(rsp);
    return rsp;
  }
  close(): Promise<void> {
    return this.inner.close();
  }
  carries(needle: Uint8Array): boolean {
    return this.wire.some((b) => Buffer.from(b).includes(Buffer.from(needle)));
  }
}

function open(): { tpm: Tpm; rec: RecordingTransport } {
  const rec = new RecordingTransport(openTransport(swtpm().tcti));
  return { tpm: new Tpm(rec), rec };
}

afterEach(async () => {
  const { tpm } = open();
  // Every test undefines its index and flushes its sessions (tpm2-tools' too).
  expect(await handlesFrom(tpm, 0x01000000)).toEqual([]);
  expect(await handlesFrom(tpm, 0x02000000)).toEqual([]);
  expect(await handlesFrom(tpm, 0x03000000)).toEqual([]);
});

/**
 * Defines the index with tpm2-tools (authValue AUTH unless `auth` gives a tpm2-tools auth string; by
 * default readable and writable with it), runs `fn`, undefines it.
 */
async function withIndex<T>(
  dir: string,
  fn: () => Promise<T>,
  opts: { readonly nvAttrs?: string; readonly auth?: string; readonly extra?: readonly string[] } = {},
): Promise<T> {
  const { nvAttrs = 'authread|authwrite|no_da', auth = AUTH_TEXT, extra = [] } = opts;
  await tpm2(
    swtpm(),
    'tpm2_nvdefine',
    [INDEX_HEX, '-C', 'o', '-s', String(SIZE), '-a', nvAttrs, '-p', auth, ...extra],
    dir,
  );
  try {
    return await fn();
  } finally {
    const { tpm } = open();
    await tpm.run(NV_UndefineSpace, { authHandle: TPM_RH.OWNER, nvIndex: INDEX });
  }
}

type Binding = 'bound to the index' | 'unbound';
const BINDINGS: readonly Binding[] = ['bound to the index', 'unbound'];

async function execgateSession(tpm: Tpm, binding: Binding, crypt: { decrypt?: boolean; encrypt?: boolean }) {
  return startAuthSession(tpm, {
    ...crypt,
    ...(binding === 'unbound' ? {} : { bind: { handle: INDEX, auth: AUTH } }),
  });
}

/** tpm2-tools' own HMAC session, bound or not, with encrypt or decrypt set; returns its `-P` argument. */
async function toolsSession(dir: string, binding: Binding, crypt: '--enable-encrypt' | '--enable-decrypt') {
  const bind = binding === 'unbound' ? [] : ['--bind-context', INDEX_HEX, '--bind-auth', AUTH_TEXT];
  await tpm2(swtpm(), 'tpm2_startauthsession', ['--hmac-session', '-S', 's.ctx', ...bind], dir);
  await tpm2(swtpm(), 'tpm2_sessionconfig', ['s.ctx', crypt], dir);
  // `session:FILE+AUTH`: the session authorizes the index and the tool knows the index's authValue.
  return `session:s.ctx+${AUTH_TEXT}`;
}

async function toolsWrite(dir: string, data: Uint8Array, auth: string) {
  await writeFile(join(dir, 'in.bin'), data);
  await tpm2(swtpm(), 'tpm2_nvwrite', [INDEX_HEX, '-P', auth, '-i', 'in.bin'], dir);
}

async function toolsRead(dir: string, auth: string): Promise<Uint8Array> {
  await tpm2(swtpm(), 'tpm2_nvread', [INDEX_HEX, '-P', auth, '-s', String(SIZE), '-o', 'out.bin'], dir);
  return new Uint8Array(await readFile(join(dir, 'out.bin')));
}

const ref = { handle: INDEX, auth: AUTH };

async function flushing<T>(tpm: Tpm, s: AuthSession, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } finally {
    await tpm.flush(s.handle);
  }
}

describe('parameter encryption in a session that authorizes the NV index (Part 1 §21.1)', () => {
  for (const binding of BINDINGS) {
    it(`NV_Read through an execgate HMAC session ${binding} with encrypt returns what tpm2_nvwrite stored`, async () => {
      await withTempDir(async (dir) => {
        await withIndex(dir, async () => {
          const data = new Uint8Array(randomBytes(SIZE));
          await toolsWrite(dir, data, AUTH_TEXT);
          const { tpm, rec } = open();
          const s = await execgateSession(tpm, binding, { encrypt: true });
          const back = await flushing(tpm, s, () =>
            tpm.run(NV_Read, { authHandle: ref, nvIndex: INDEX, size: SIZE, offset: 0 }, { sessions: [s] }),
          );
          expect(hex(back.data)).toBe(hex(data));
          expect(rec.carries(data)).toBe(false);
        });
      });
    });

    it(`NV_Write through an execgate HMAC session ${binding} with decrypt stores what tpm2_nvread reads`, async () => {
      await withTempDir(async (dir) => {
        await withIndex(dir, async () => {
          const data = new Uint8Array(randomBytes(SIZE));
          const { tpm, rec } = open();
          const s = await execgateSession(tpm, binding, { decrypt: true });
          await flushing(tpm, s, () =>
            tpm.run(NV_Write, { authHandle: ref, nvIndex: INDEX, data, offset: 0 }, { sessions: [s] }),
          );
          expect(rec.carries(data)).toBe(false);
          expect(hex(await toolsRead(dir, AUTH_TEXT))).toBe(hex(data));
        });
      });
    });

    it(`tpm2-tools' own session ${binding} agrees both ways: its encrypted read sees execgate's encrypted write, and the reverse`, async () => {
      await withTempDir(async (dir) => {
        await withIndex(dir, async () => {
          const { tpm } = open();
          // execgate writes through a decrypt session; tpm2_nvread reads through its encrypt session.
          const ours = new Uint8Array(randomBytes(SIZE));
          const w = await execgateSession(tpm, binding, { decrypt: true });
          await flushing(tpm, w, () =>
            tpm.run(NV_Write, { authHandle: ref, nvIndex: INDEX, data: ours, offset: 0 }, { sessions: [w] }),
          );
          const readAuth = await toolsSession(dir, binding, '--enable-encrypt');
          try {
            expect(hex(await toolsRead(dir, readAuth))).toBe(hex(ours));
          } finally {
            await tpm2(swtpm(), 'tpm2_flushcontext', ['s.ctx'], dir);
          }
          // tpm2_nvwrite writes through its decrypt session; execgate reads through an encrypt session.
          const theirs = new Uint8Array(randomBytes(SIZE));
          const writeAuth = await toolsSession(dir, binding, '--enable-decrypt');
          try {
            await toolsWrite(dir, theirs, writeAuth);
          } finally {
            await tpm2(swtpm(), 'tpm2_flushcontext', ['s.ctx'], dir);
          }
          const r = await execgateSession(tpm, binding, { encrypt: true });
          const back = await flushing(tpm, r, () =>
            tpm.run(NV_Read, { authHandle: ref, nvIndex: INDEX, size: SIZE, offset: 0 }, { sessions: [r] }),
          );
          expect(hex(back.data)).toBe(hex(theirs));
        });
      });
    });
  }

  it('a session bound to the index that encrypts and decrypts round-trips several commands (nonces roll)', async () => {
    await withTempDir(async (dir) => {
      await withIndex(dir, async () => {
        const { tpm } = open();
        const s = await execgateSession(tpm, 'bound to the index', { decrypt: true, encrypt: true });
        await flushing(tpm, s, async () => {
          for (let i = 0; i < 3; i++) {
            const data = new Uint8Array(randomBytes(SIZE));
            await tpm.run(NV_Write, { authHandle: ref, nvIndex: INDEX, data, offset: 0 }, { sessions: [s] });
            const back = await tpm.run(
              NV_Read,
              { authHandle: ref, nvIndex: INDEX, size: SIZE, offset: 0 },
              { sessions: [s] },
            );
            expect(hex(back.data)).toBe(hex(data));
          }
        });
        expect(hex(await toolsRead(dir, AUTH_TEXT)).length).toBe(2 * SIZE);
      });
    });
  });

  it('an authValue with trailing zeros keys a bound encrypting session as the TPM stores it (zeros removed)', async () => {
    const padded = new Uint8Array([...AUTH, 0, 0]);
    await withTempDir(async (dir) => {
      await withIndex(
        dir,
        async () => {
          const data = new Uint8Array(randomBytes(SIZE));
          await toolsWrite(dir, data, AUTH_TEXT); // the TPM compares without the trailing zeros
          const { tpm } = open();
          const s = await startAuthSession(tpm, { bind: { handle: INDEX, auth: padded }, encrypt: true });
          const back = await flushing(tpm, s, () =>
            tpm.run(
              NV_Read,
              { authHandle: { handle: INDEX, auth: padded }, nvIndex: INDEX, size: SIZE, offset: 0 },
              { sessions: [s] },
            ),
          );
          expect(hex(back.data)).toBe(hex(data));
        },
        { auth: `hex:${hex(padded)}` },
      );
    });
  });

  it('a policy session that encrypts uses the authValue without PolicyAuthValue (Part 1 §21.1 NOTE 1)', async () => {
    const { tpm } = open();
    const pcrs = [{ hash: TPM_ALG.SHA256, pcrSelect: new Uint8Array([0, 0, 0x80]) }]; // PCR 23
    const digest = pcrDigest('sha256', (await tpm.run(PCR_Read, { pcrSelectionIn: pcrs })).pcrValues);
    const policy = new PolicyCalculator().policyPCR(pcrs, digest).digest;
    await withTempDir(async (dir) => {
      await writeFile(join(dir, 'policy.bin'), policy);
      // AUTHREAD as well as POLICYREAD, so the index's authValue is available to the TPM for the key
      // (the reference implementation's IsAuthValueAvailable).
      const nvAttrs = 'authread|authwrite|policyread|no_da';
      await withIndex(
        dir,
        async () => {
          const data = new Uint8Array(randomBytes(SIZE));
          await toolsWrite(dir, data, AUTH_TEXT);
          const s = await startAuthSession(tpm, { type: 'policy', encrypt: true });
          const back = await flushing(tpm, s, async () => {
            await policyPCR(tpm, s, pcrs, digest);
            const input = { authHandle: ref, nvIndex: INDEX, size: SIZE, offset: 0 };
            return tpm.run(NV_Read, input, { sessions: [s] });
          });
          expect(hex(back.data)).toBe(hex(data));
        },
        { nvAttrs, extra: ['-L', 'policy.bin'] },
      );
    });
  });
});
