// SPDX-License-Identifier: Apache-2.0
// Issue 11 finding 2, on the bus: a loopback proxy between execgate and swtpm records every command and
// response of `credential activate`; the released secret must not cross it in clear. An active proxy that
// reports its own key as the EK (ReadPublic of the persistent EK, its Name recomputed) and re-wraps the
// salt to the real EK must learn no salt: execgate refuses an EK that is not the one host init pinned.
import { constants, generateKeyPairSync, privateDecrypt, publicEncrypt, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { publicKeyOf } from '../../agent/attest/ek.js';
import { EXIT } from '../../agent/cli/exit.js';
import { objectName } from '../../agent/tpm/names.js';
import { marshal, unmarshal } from '../../agent/tpm/schema.js';
import { TPMT_PUBLIC } from '../../agent/tpm/structures.js';
import { upstreamOf, useSwtpm } from '../helpers/swtpm.js';
import { startTpmProxy, swapEkOnReadPublic, type TpmProxy } from '../helpers/tpm-proxy.js';
import { withTempDir } from '../tpm/swtpm-kit.js';
import { cli, stateDirFor } from './helpers.js';

const swtpm = useSwtpm({ ek: true });
let proxy: TpmProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});

const upstream = () => upstreamOf(swtpm());

async function identity(tcti: string) {
  expect((await cli(['--tcti', tcti, 'host', 'init'])).code).toBe(EXIT.OK);
  return JSON.parse((await cli(['--tcti', tcti, 'host', 'identity', '--json'])).stdout);
}

async function makeCredential(dir: string, id: { ekPublicPem: string; akName: string }, secret: Buffer) {
  await writeFile(`${dir}/ek.pem`, id.ekPublicPem);
  const made = await cli([
    'credential',
    'make',
    '--ek-pub',
    `${dir}/ek.pem`,
    '--ak-name',
    id.akName,
    '--unverified-ak-name',
    '--secret',
    secret.toString('hex'),
    '--out',
    `${dir}/cred`,
  ]);
  expect(made.code).toBe(EXIT.OK);
}

describe('credential activate on a recorded bus', () => {
  it('the released secret never crosses the bus in clear (ActivateCredential encrypts certInfo)', async () => {
    const id = await identity(swtpm().tcti);
    const secret = randomBytes(32);
    await withTempDir(async (dir) => {
      await makeCredential(dir, id, secret);
      proxy = await startTpmProxy(upstream());
      const r = await cli(['--tcti', proxy.tcti, 'credential', 'activate', '--in', `${dir}/cred`], {
        EXECGATE_STATE_DIR: stateDirFor(swtpm().tcti),
      });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(EXIT.OK);
      expect(r.stdout.trim()).toBe(secret.toString('hex'));
      expect(proxy.responses.length).toBeGreaterThan(3);
      // ActivateCredential went through the proxy, and its response carries no plaintext secret.
      expect(proxy.commands.some((c) => c.readUInt32BE(6) === 0x147)).toBe(true);
      for (const frame of [...proxy.responses, ...proxy.commands])
        expect(frame.includes(secret), frame.toString('hex')).toBe(false);
    });
  });

  it('a proxy that swaps the EK public and re-wraps the salt gets E_EK_MISMATCH and no salt', async () => {
    const id = await identity(swtpm().tcti); // provisioning on the direct bus pins the EK
    const secret = randomBytes(32);
    const attacker = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const attackerN = Buffer.from(attacker.publicKey.export({ format: 'jwk' }).n ?? '', 'base64url');
    let realEk: TPMT_PUBLIC | undefined;
    const stolenSalts: Buffer[] = [];
    const label = Buffer.from('SECRET\0');
    await withTempDir(async (dir) => {
      await makeCredential(dir, id, secret);
      proxy = await startTpmProxy(upstream(), {
        onCommand(cmd) {
          // StartAuthSession salted to the EK: unwrap the salt with the attacker's key, re-wrap it to the
          // real EK so that the TPM accepts the session (Part 3 §11.1: tpmKey, bind, nonceCaller, salt).
          if (cmd.readUInt32BE(6) !== 0x176 || cmd.readUInt32BE(10) !== 0x81010001 || !realEk) return cmd;
          const nonceLen = cmd.readUInt16BE(18);
          const at = 20 + nonceLen;
          const saltLen = cmd.readUInt16BE(at);
          const wrapped = cmd.subarray(at + 2, at + 2 + saltLen);
          const opts = { padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256', oaepLabel: label };
          const salt = privateDecrypt({ key: attacker.privateKey, ...opts }, wrapped);
          stolenSalts.push(salt);
          const rewrapped = publicEncrypt({ key: publicKeyOf(realEk), ...opts }, salt);
          return Buffer.concat([cmd.subarray(0, at + 2), rewrapped, cmd.subarray(at + 2 + saltLen)]);
        },
        // ReadPublic of the persistent EK: report the attacker's modulus, with its Name.
        onResponse: swapEkOnReadPublic(new Uint8Array(attackerN), (real) => {
          realEk = real;
        }),
      });
      const r = await cli(['--tcti', proxy.tcti, 'credential', 'activate', '--in', `${dir}/cred`], {
        EXECGATE_STATE_DIR: stateDirFor(swtpm().tcti),
      });
      expect(realEk, 'the proxy saw the EK being read').toBeDefined();
      expect(stolenSalts, 'no session was salted to the swapped EK').toEqual([]);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain('E_EK_MISMATCH');
      expect(r.code).toBe(EXIT.TPM_PROTOCOL);
    });
  });

  it('CreatePrimary path (P-256 EK, created each time): a swapped outPublic with its Name recomputed gets E_EK_MISMATCH, no session salted to it', async () => {
    const tcti = swtpm().tcti;
    const h = ['--ek-alg', 'eccP256', '--ak-handle', '0x81010050'];
    expect((await cli(['--tcti', tcti, 'host', 'init', ...h])).code).toBe(EXIT.OK);
    const id = JSON.parse((await cli(['--tcti', tcti, 'host', 'identity', ...h, '--json'])).stdout);
    const attacker = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
    const created = new Set<number>();
    const saltedTo: number[] = [];
    await withTempDir(async (dir) => {
      await makeCredential(dir, id, randomBytes(32));
      proxy = await startTpmProxy(upstream(), {
        onCommand(cmd) {
          if (cmd.readUInt32BE(6) === 0x176 && created.has(cmd.readUInt32BE(10)))
            saltedTo.push(cmd.readUInt32BE(10));
          return cmd;
        },
        onResponse(rsp, cmd) {
          // CreatePrimary(TPM_RH_ENDORSEMENT): objectHandle, parameterSize, TPM2B_PUBLIC outPublic, …, name.
          if (
            cmd.readUInt32BE(6) !== 0x131 ||
            cmd.readUInt32BE(10) !== 0x4000000b ||
            rsp.readUInt32BE(6) !== 0
          )
            return rsp;
          created.add(rsp.readUInt32BE(10));
          const pubLen = rsp.readUInt16BE(18);
          const pub = unmarshal(TPMT_PUBLIC, rsp.subarray(20, 20 + pubLen));
          if (pub.type !== 0x0023) return rsp;
          const fake = {
            ...pub,
            unique: {
              x: new Uint8Array(Buffer.from(attacker.x ?? '', 'base64url')),
              y: new Uint8Array(Buffer.from(attacker.y ?? '', 'base64url')),
            },
          } as TPMT_PUBLIC;
          const fakeBytes = Buffer.from(marshal(TPMT_PUBLIC, fake));
          expect(fakeBytes.length).toBe(pubLen);
          const out = Buffer.from(rsp);
          fakeBytes.copy(out, 20);
          const realName = Buffer.from(objectName(pub));
          const at = out.indexOf(realName, 20 + pubLen);
          expect(at).toBeGreaterThan(0);
          Buffer.from(objectName(fake)).copy(out, at);
          return out;
        },
      });
      const r = await cli(['--tcti', proxy.tcti, 'credential', 'activate', '--in', `${dir}/cred`, ...h], {
        EXECGATE_STATE_DIR: stateDirFor(tcti),
      });
      expect(created.size, 'the proxy saw the EK being created').toBeGreaterThan(0);
      expect(saltedTo).toEqual([]);
      expect(r.stderr).toContain('E_EK_MISMATCH');
      expect(r.code).toBe(EXIT.TPM_PROTOCOL);
    });
  });

  it('activate with no EK pinned (no host init in this state directory) is refused: E_EK_MISMATCH', async () => {
    const id = await identity(swtpm().tcti);
    await withTempDir(async (dir) => {
      await makeCredential(dir, id, randomBytes(16));
      const r = await cli(['--tcti', swtpm().tcti, 'credential', 'activate', '--in', `${dir}/cred`], {
        EXECGATE_STATE_DIR: `${dir}/empty-state`,
      });
      expect(r.stderr).toContain('E_EK_MISMATCH');
      expect(r.stderr).toContain('host init');
      expect(r.code).toBe(EXIT.TPM_PROTOCOL);
    });
  });
});
