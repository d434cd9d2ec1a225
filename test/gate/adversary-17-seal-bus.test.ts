// SPDX-License-Identifier: Apache-2.0
// Adversary review of issue 17: an interposer between execgate and swtpm that, while a secret is sealed,
// reports its own RSA key as the owner primary (the SRK: CreatePrimary's outPublic), unwraps the salt
// execgate then encrypts to it, re-wraps it to the real SRK so that the TPM goes along, derives the
// session key, and decrypts TPM2_Create's parameter-encrypted inSensitive: the secret and the object's
// authValue. The seal must salt to a key it can check (the EK pinned at host init), so the interposer
// recovers nothing, and must not record a key it was lied to about.
import {
  constants,
  createHash,
  createPublicKey,
  generateKeyPairSync,
  privateDecrypt,
  publicEncrypt,
} from 'node:crypto';
import { copyFile, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sessionKey } from '../../agent/tpm/hmac.js';
import { cfbDecrypt, cfbKeyIv } from '../../agent/tpm/paramcrypt.js';
import type { TPMT_PUBLIC } from '../../agent/tpm/structures.js';
import { cli } from '../cli/helpers.js';
import { upstreamOf, useSwtpm } from '../helpers/swtpm.js';
import { commandCode, startTpmProxy, swapOwnerPrimary } from '../helpers/tpm-proxy.js';
import { extendOn, type GateHost, sealOn, shareGateHost, trySeal } from './gate-host.js';

const swtpm = useSwtpm();
let h: GateHost;
shareGateHost(swtpm, (host) => {
  h = host;
});

const OAEP = {
  padding: constants.RSA_PKCS1_OAEP_PADDING,
  oaepHash: 'sha256',
  oaepLabel: Buffer.from('SECRET\0'),
};
const tpm2b = (b: Buffer, at: number) => b.subarray(at + 2, at + 2 + b.readUInt16BE(at));
const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);

/**
 * A response rewrite for PCR_Read of one SHA-256 PCR (the response ends with TPML_DIGEST { 1,
 * TPM2B_DIGEST(32) }): it reports the value that PCR takes once the attacker's state extends it with
 * `evil`.
 */
function lieAboutOnePcr(evil: Buffer, lied: () => void = () => {}) {
  return (rsp: Buffer, cmd: Buffer): Buffer => {
    const at = rsp.length - 38;
    if (commandCode(cmd) !== 0x17e || rsp.readUInt32BE(6) !== 0 || rsp.readUInt32BE(at) !== 1) return rsp;
    if (rsp.readUInt16BE(at + 4) !== 32) return rsp;
    lied();
    const bad = createHash('sha256')
      .update(rsp.subarray(at + 6))
      .update(evil)
      .digest();
    return Buffer.concat([rsp.subarray(0, at + 6), bad]);
  };
}

describe('sealing through a bus interposer', () => {
  it('an interposer posing as the owner primary recovers neither the secret nor its authValue', async () => {
    const attacker = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const modulus = Buffer.from(attacker.publicKey.export({ format: 'jwk' }).n as string, 'base64url');
    let srk: { handle: number; real: TPMT_PUBLIC } | undefined;
    let started: { salt: Buffer; nonceCaller: Buffer } | undefined;
    const keys = new Map<number, { key: Uint8Array; nonceTPM: Buffer }>();
    const recovered: Buffer[] = [];
    const swap = swapOwnerPrimary(modulus, (handle, real) => {
      srk = { handle, real };
    });
    const proxy = await startTpmProxy(upstreamOf(swtpm()), {
      onCommand(cmd) {
        const cc = commandCode(cmd);
        if (cc === 0x176 && srk !== undefined && cmd.readUInt32BE(10) === srk.handle) {
          // StartAuthSession salted to "the SRK": header, tpmKey, bind, nonceCaller, encryptedSalt, rest.
          const nonceCaller = tpm2b(cmd, 18);
          const at = 20 + nonceCaller.length;
          let salt: Buffer;
          try {
            salt = privateDecrypt({ key: attacker.privateKey, ...OAEP }, tpm2b(cmd, at));
          } catch {
            return cmd; // salted to the real key: nothing to learn
          }
          const real = createPublicKey({
            key: {
              kty: 'RSA',
              n: Buffer.from(srk.real.unique as Uint8Array).toString('base64url'),
              e: 'AQAB',
            },
            format: 'jwk',
          });
          const rewrapped = publicEncrypt({ key: real, ...OAEP }, salt);
          started = { salt, nonceCaller: Buffer.from(nonceCaller) };
          const out = Buffer.concat([
            cmd.subarray(0, at),
            u16(rewrapped.length),
            rewrapped,
            cmd.subarray(at + 2 + cmd.readUInt16BE(at)),
          ]);
          out.writeUInt32BE(out.length, 2);
          return out;
        }
        if (cc === 0x153) {
          // Create: header, parentHandle, authSize, session (handle, nonce, attrs, hmac), inSensitive.
          const s = keys.get(cmd.readUInt32BE(18));
          const nonceCaller = tpm2b(cmd, 22);
          const hmacAt = 24 + nonceCaller.length + 1;
          const paramsAt = 18 + cmd.readUInt32BE(14);
          if (s !== undefined && hmacAt < paramsAt) {
            const { key, iv } = cfbKeyIv('sha256', s.key, new Uint8Array(0), nonceCaller, s.nonceTPM);
            recovered.push(Buffer.from(cfbDecrypt(key, iv, tpm2b(cmd, paramsAt))));
          }
        }
        return cmd;
      },
      onResponse(original, cmd) {
        const rsp = swap(original, cmd);
        if (rsp.readUInt32BE(6) !== 0) return rsp;
        const cc = commandCode(cmd);
        if (cc === 0x176 && started !== undefined) {
          // StartAuthSession's response: header, sessionHandle, nonceTPM.
          const nonceTPM = Buffer.from(tpm2b(rsp, 14));
          keys.set(rsp.readUInt32BE(10), {
            key: sessionKey('sha256', started.salt, nonceTPM, started.nonceCaller),
            nonceTPM,
          });
          started = undefined;
        }
        return rsp;
      },
    });
    try {
      const secret = Buffer.from(`seal-bus-${'k'.repeat(40)}-${Date.now()}`);
      const r = await trySeal(h, 'bus', secret, [], proxy.tcti);
      expect(srk, 'the interposer saw the owner primary made').toBeDefined();
      for (const p of recovered) expect(p.includes(secret)).toBe(false);
      expect(recovered).toEqual([]);
      // Lied to about the owner primary, the seal fails and keeps nothing: no secret bound to a stand-in.
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(
        /^execgate: E_TPM_INTEGRITY: the TPM.s owner primary is not the key it reported/,
      );
      expect(await readdir(join(h.stateDir, 'secrets')).catch(() => [])).not.toContain('bus');
    } finally {
      await proxy.close();
    }
  });

  it('an interposer reporting PCR values of its choosing cannot have policy-sign approve its own state', async () => {
    const evil = createHash('sha256').update('evil-23').digest();
    const key = h.file('adv-policy.key');
    expect((await cli(['key', 'gen', '--alg', 'p256', '--out', key])).code).toBe(0);
    const secret = `keyed-lie-${Date.now()}-${'q'.repeat(20)}`;
    await sealOn(h, 'keyed-lie', secret, ['--policy-key', `${key}.pub`]);
    const out = h.file('lie.policy');
    const proxy = await startTpmProxy(upstreamOf(swtpm()), { onResponse: lieAboutOnePcr(evil) });
    let r: Awaited<ReturnType<typeof cli>>;
    try {
      r = await cli([
        '--tcti',
        proxy.tcti,
        'secret',
        'policy-sign',
        '--policy',
        h.policy,
        '--key',
        key,
        '--pcrs',
        'sha256:23',
        '--out',
        out,
      ]);
    } finally {
      await proxy.close();
    }
    // Whatever was signed is installed, then the attacker's state is reached.
    await mkdir(join(h.stateDir, 'secret-policies'), { recursive: true, mode: 0o700 });
    await copyFile(out, join(h.stateDir, 'secret-policies', 'lie.policy')).catch(() => undefined);
    await extendOn(h, 23, evil);
    const s = await h.script('keyed-lie-reader', 'cat <&"$EXECGATE_SECRET_KEYED_LIE_FD"');
    const f = await h.issue(s.path, '--secret', 'keyed-lie');
    const x = await h.exec(['--artifact', f, '--', s.path]);
    expect(x.stdout).not.toContain(secret);
    expect(r.code).not.toBe(0);
    // The quote signed by the pinned AK never matches the values the interposer reports.
    expect(r.stderr).toMatch(/^execgate: E_QUOTE_PCR_CHANGED: /);
  });

  // Last: it extends PCR 16 for the file.
  it('an interposer reporting PCR values of its choosing cannot seal a secret to its own state', async () => {
    const evil = createHash('sha256').update('evil').digest();
    let lied = false;
    const proxy = await startTpmProxy(upstreamOf(swtpm()), {
      onResponse: lieAboutOnePcr(evil, () => {
        lied = true;
      }),
    });
    const secret = Buffer.from(`pcr-lie-${Date.now()}-${'p'.repeat(20)}`);
    let r: Awaited<ReturnType<typeof trySeal>>;
    try {
      r = await trySeal(h, 'pcrs', secret, ['--pcrs', 'sha256:16'], proxy.tcti);
    } finally {
      await proxy.close();
    }
    expect(lied).toBe(true);
    // The attacker's state, reached without any interposer: it must not release the secret.
    await extendOn(h, 16, evil);
    const s = await h.script('pcrs-reader', 'cat <&"$EXECGATE_SECRET_PCRS_FD"');
    const f = await h.issue(s.path, '--secret', 'pcrs');
    const x = await h.exec(['--artifact', f, '--', s.path]);
    expect(x.stdout).not.toContain(secret.toString());
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/^execgate: E_TPM_INTEGRITY: the PCR values read .* not the TPM's/);
    expect(await readdir(join(h.stateDir, 'secrets')).catch(() => [])).not.toContain('pcrs');
  });
});
