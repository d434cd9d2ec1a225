// SPDX-License-Identifier: Apache-2.0
// A stand-in for /dev/tpmrm0: a pseudo-terminal in raw mode. util-linux `script` allocates it and runs
// `stty raw` plus `tty` on its slave side, then `sleep` to hold it; the transport under test opens the
// slave path (a character device, like /dev/tpmrm0) read-write, and this helper plays the TPM on the
// master side through script's stdin and stdout. Each command is collected by its header size and given
// to a handler. Ending the sleep (by its pid) makes script exit and hang the pty up.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';

export type DeviceHandler = (command: Buffer, reply: (bytes: Uint8Array) => void) => void | Promise<void>;

export interface FakeDevice {
  /** The pty slave, e.g. /dev/pts/3. */
  readonly path: string;
  readonly commands: Buffer[];
  /** Hangs the pty up: reads on the slave then fail with EIO. */
  close(): Promise<void>;
}

export async function startFakeDevice(handler: DeviceHandler): Promise<FakeDevice> {
  const child: ChildProcessWithoutNullStreams = spawn(
    'script',
    [
      '--quiet',
      '--echo',
      'never',
      '--command',
      'stty raw -echo -iexten; echo "$(tty) $$"; exec sleep 3600',
      '/dev/null',
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  child.stderr.resume(); // script's own notices, not needed
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const commands: Buffer[] = [];
  const reply = (bytes: Uint8Array): void => {
    child.stdin.write(bytes);
  };
  const [path, holder] = await new Promise<[string, number]>((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer): void => {
      text += chunk.toString('latin1');
      const newline = text.indexOf('\n');
      if (newline < 0) return;
      child.stdout.off('data', onData);
      const [tty = '', pid = ''] = text.slice(0, newline).trim().split(' ');
      resolve([tty, Number(pid)]);
    };
    child.stdout.on('data', onData);
    child.once('error', reject);
    child.once('exit', () => reject(new Error('script exited before printing the tty name')));
  });
  let pending = Buffer.alloc(0);
  child.stdout.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 10 && pending.length >= pending.readUInt32BE(2)) {
      const size = pending.readUInt32BE(2);
      const command = pending.subarray(0, size);
      pending = pending.subarray(size);
      commands.push(command);
      void handler(command, reply);
    }
  });
  return {
    path,
    commands,
    close: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        process.kill(holder, 'SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}
