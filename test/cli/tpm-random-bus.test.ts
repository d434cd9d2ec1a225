// SPDX-License-Identifier: Apache-2.0
// `tpm random --encrypt` on a recorded bus (issue 11 finding 2, "every command returning a secret"): the
// bytes it prints never appear on the wire, a proxy that alters the GetRandom response is caught by the
// session HMAC (E_TPM_INTEGRITY), and without a pinned EK it refuses rather than fall back to clear.
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT } from '../../agent/cli/exit.js';
import { upstreamOf, useSwtpm } from '../helpers/swtpm.js';
import { commandCode, startTpmProxy, type TpmProxy } from '../helpers/tpm-proxy.js';
import { withTempDir } from '../tpm/swtpm-kit.js';
import { cli, stateDirFor } from './helpers.js';

const swtpm = useSwtpm({ ek: true });
let proxy: TpmProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});

const GET_RANDOM = 0x17b;

const upstream = () => upstreamOf(swtpm());

async function pinned(): Promise<Record<string, string>> {
  expect((await cli(['--tcti', swtpm().tcti, 'host', 'init'])).code).toBe(EXIT.OK);
  return { EXECGATE_STATE_DIR: stateDirFor(swtpm().tcti) };
}

describe('tpm random on a recorded bus', () => {
  it('plain: the bytes cross the bus as they are printed (the documented nonce use)', async () => {
    proxy = await startTpmProxy(upstream());
    const r = await cli(['--tcti', proxy.tcti, 'tpm', 'random', '32']);
    expect(r.code).toBe(EXIT.OK);
    const wire = Buffer.concat(proxy.responses);
    expect(wire.includes(Buffer.from(r.stdout.trim(), 'hex'))).toBe(true);
  });

  it('--encrypt: 200 bytes, none of their 8-byte windows on the wire', async () => {
    const env = await pinned();
    proxy = await startTpmProxy(upstream());
    const r = await cli(['--tcti', proxy.tcti, 'tpm', 'random', '200', '--encrypt'], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(EXIT.OK);
    const bytes = Buffer.from(r.stdout.trim(), 'hex');
    expect(bytes.length).toBe(200);
    expect(proxy.commands.filter((c) => commandCode(c) === GET_RANDOM).length).toBeGreaterThanOrEqual(4);
    const wire = Buffer.concat([...proxy.responses, ...proxy.commands]);
    for (let i = 0; i + 8 <= bytes.length; i++)
      expect(wire.includes(bytes.subarray(i, i + 8)), `at ${i}`).toBe(false);
  });

  it('--encrypt: a flipped byte in the response is E_TPM_INTEGRITY, nothing printed', async () => {
    const env = await pinned();
    proxy = await startTpmProxy(upstream(), {
      onResponse(rsp, cmd) {
        if (commandCode(cmd) !== GET_RANDOM || rsp.readUInt32BE(6) !== 0) return rsp;
        const out = Buffer.from(rsp);
        out[20] = (out[20] ?? 0) ^ 1; // inside randomBytes (header 10, parameterSize 4, size 2)
        return out;
      },
    });
    const r = await cli(['--tcti', proxy.tcti, 'tpm', 'random', '16', '--encrypt'], env);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('E_TPM_INTEGRITY');
    expect(r.code).not.toBe(EXIT.OK);
  });

  it('--encrypt without a pinned EK is refused (E_EK_MISMATCH naming host init), never sent in clear', async () => {
    await withTempDir(async (dir) => {
      proxy = await startTpmProxy(upstream());
      const r = await cli(['--tcti', proxy.tcti, 'tpm', 'random', '16', '--encrypt'], {
        EXECGATE_STATE_DIR: `${dir}/none`,
      });
      expect(r.stderr).toContain('E_EK_MISMATCH');
      expect(r.stderr).toContain('host init');
      expect(r.code).toBe(EXIT.TPM_PROTOCOL);
      expect(proxy.commands.filter((c) => commandCode(c) === GET_RANDOM)).toEqual([]);
    });
  });

  it('--ek-alg and --state-dir only with --encrypt', async () => {
    const r = await cli(['--tcti', swtpm().tcti, 'tpm', 'random', '4', '--ek-alg', 'eccP256']);
    expect(r.code).toBe(EXIT.USAGE);
  });
});
