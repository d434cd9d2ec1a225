// SPDX-License-Identifier: Apache-2.0
// A loopback interposer between execgate and swtpm (the bus attacker of issue 11 finding 2): it listens on
// a port pair like swtpm's (data P, control P+1), frames each command and response by its header size,
// records both, and lets a test rewrite either before passing it on. The control channel is piped as is.
import { constants, type KeyObject, privateDecrypt } from 'node:crypto';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { objectName } from '../../agent/tpm/names.js';
import { marshal, unmarshal } from '../../agent/tpm/schema.js';
import { TPM2B_NAME, TPMT_PUBLIC } from '../../agent/tpm/structures.js';
import { pickPortPair } from '../../swtpm/ports.js';

/** Rewrites one command or response (return it unchanged to pass it on). */
export type Rewrite = (bytes: Buffer, command: Buffer) => Buffer;

export interface TpmProxy {
  /** TCTI that goes through the proxy. */
  readonly tcti: string;
  /** Every command (as sent upstream) and response (as sent back), in order. */
  readonly commands: Buffer[];
  readonly responses: Buffer[];
  close(): Promise<void>;
}

export interface ProxyOptions {
  readonly onCommand?: (command: Buffer) => Buffer;
  readonly onResponse?: Rewrite;
}

/** Collects whole frames (a TPM command or response: u16 tag, u32 size, …) from a byte stream. */
function framer(onFrame: (frame: Buffer) => void): (chunk: Buffer) => void {
  let pending = Buffer.alloc(0);
  return (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 10) {
      const size = pending.readUInt32BE(2);
      if (pending.length < size) return;
      onFrame(pending.subarray(0, size));
      pending = pending.subarray(size);
    }
  };
}

export async function startTpmProxy(
  upstream: { host: string; port: number; ctrlPort: number },
  options: ProxyOptions = {},
): Promise<TpmProxy> {
  const commands: Buffer[] = [];
  const responses: Buffer[] = [];
  const sockets = new Set<Socket>();
  const track = (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
  };
  const data: Server = createServer((client) => {
    track(client);
    const up = createConnection({ host: upstream.host, port: upstream.port });
    track(up);
    let last: Buffer = Buffer.alloc(0);
    client.on(
      'data',
      framer((frame) => {
        const cmd = options.onCommand ? options.onCommand(Buffer.from(frame)) : Buffer.from(frame);
        last = cmd;
        commands.push(cmd);
        up.write(cmd); // one write: swtpm reads a command with a single read()
      }),
    );
    up.on(
      'data',
      framer((frame) => {
        const rsp = options.onResponse ? options.onResponse(Buffer.from(frame), last) : Buffer.from(frame);
        responses.push(rsp);
        client.write(rsp);
      }),
    );
    client.on('close', () => up.destroy());
    up.on('close', () => client.destroy());
  });
  const ctrl: Server = createServer((client) => {
    track(client);
    const up = createConnection({ host: upstream.host, port: upstream.ctrlPort });
    track(up);
    client.pipe(up);
    up.pipe(client);
    client.on('close', () => up.destroy());
    up.on('close', () => client.destroy());
  });
  const host = '127.0.0.1';
  const port = await pickPortPair(host);
  await new Promise<void>((resolve, reject) => {
    data.once('error', reject);
    data.listen({ host, port, exclusive: true }, resolve);
  });
  await new Promise<void>((resolve, reject) => {
    ctrl.once('error', reject);
    ctrl.listen({ host, port: port + 1, exclusive: true }, resolve);
  });
  return {
    tcti: `swtpm:host=${host},port=${port}`,
    commands,
    responses,
    async close() {
      for (const s of sockets) s.destroy();
      await Promise.all([
        new Promise<void>((r) => data.close(() => r())),
        new Promise<void>((r) => ctrl.close(() => r())),
      ]);
    },
  };
}

/** The command code of a command frame. */
export const commandCode = (command: Buffer): number => command.readUInt32BE(6);

/**
 * A response rewrite for ReadPublic of the persistent EK at `ekHandle`: reports `unique` (the attacker's
 * RSA modulus) instead of the EK's, with the Name recomputed so that the response is self-consistent.
 * `seen` gets the real public area.
 */
export function swapEkOnReadPublic(
  unique: Uint8Array,
  seen: (real: TPMT_PUBLIC) => void = () => {},
  ekHandle = 0x81010001,
): Rewrite {
  return (rsp, cmd) => {
    if (commandCode(cmd) !== 0x173 || cmd.readUInt32BE(10) !== ekHandle || rsp.readUInt32BE(6) !== 0)
      return rsp;
    const pubLen = rsp.readUInt16BE(10);
    const pub = unmarshal(TPMT_PUBLIC, rsp.subarray(12, 12 + pubLen));
    seen(pub);
    const fake = { ...pub, unique } as TPMT_PUBLIC;
    const fakeBytes = marshal(TPMT_PUBLIC, fake);
    const nameAt = 12 + pubLen;
    const qualified = rsp.subarray(nameAt + 2 + rsp.readUInt16BE(nameAt));
    const body = Buffer.concat([
      Buffer.from([fakeBytes.length >> 8, fakeBytes.length & 0xff]),
      fakeBytes,
      marshal(TPM2B_NAME, objectName(fake)),
      qualified,
    ]);
    const head = Buffer.from(rsp.subarray(0, 10));
    head.writeUInt32BE(10 + body.length, 2);
    return Buffer.concat([head, body]);
  };
}

/**
 * A command rewrite that passes every command on and, for StartAuthSession salted to the key at
 * `ekHandle`, records the salt whenever the attacker's RSA `privateKey` unwraps it (OAEP-SHA256, label
 * "SECRET": Part 1 §B.10.3): a session salted to the attacker's key, whose session key it can now derive.
 */
export function stealRsaSalts(privateKey: KeyObject, stolen: Buffer[], ekHandle = 0x81010001) {
  return (cmd: Buffer): Buffer => {
    if (commandCode(cmd) !== 0x176 || cmd.readUInt32BE(10) !== ekHandle) return cmd;
    const at = 20 + cmd.readUInt16BE(18); // header 10, tpmKey, bind, nonceCaller
    const wrapped = cmd.subarray(at + 2, at + 2 + cmd.readUInt16BE(at));
    const oaep = {
      padding: constants.RSA_PKCS1_OAEP_PADDING,
      oaepHash: 'sha256',
      oaepLabel: Buffer.from('SECRET\0'),
    };
    try {
      stolen.push(privateDecrypt({ key: privateKey, ...oaep }, wrapped));
    } catch {
      // salted to another key
    }
    return cmd;
  };
}

/**
 * A response rewrite for CreatePrimary under the owner hierarchy (the SRK execgate's sealed secrets live
 * under): reports `unique` (the attacker's RSA modulus, of the real one's size) instead of the new
 * primary's, the rest as it was. `seen` gets the primary's handle and its real public area.
 */
export function swapOwnerPrimary(
  unique: Uint8Array,
  seen: (handle: number, real: TPMT_PUBLIC) => void = () => {},
): Rewrite {
  return (rsp, cmd) => {
    if (commandCode(cmd) !== 0x131 || cmd.readUInt32BE(10) !== 0x40000001 || rsp.readUInt32BE(6) !== 0)
      return rsp;
    // header, objectHandle, parameterSize, outPublic (TPM2B), the rest.
    const pubLen = rsp.readUInt16BE(18);
    const real = unmarshal(TPMT_PUBLIC, rsp.subarray(20, 20 + pubLen));
    seen(rsp.readUInt32BE(10), real);
    const fake = marshal(TPMT_PUBLIC, { ...real, unique } as TPMT_PUBLIC);
    if (fake.length !== pubLen) throw new Error('swapOwnerPrimary: the stand-in key is not of the real size');
    return Buffer.concat([rsp.subarray(0, 20), fake, rsp.subarray(20 + pubLen)]);
  };
}
