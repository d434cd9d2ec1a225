// SPDX-License-Identifier: Apache-2.0
// The swtpm harness: start and stop over TCP and unix sockets, cleanup, failures that say why, and EK
// manufacturing checked against tpm2-tools and openssl as independent oracles.
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { openTransport } from '../../agent/tpm/transport/open.js';
import { type SwtpmInstance, startSwtpm } from '../../swtpm/harness.js';
import { PORT_MAX, PORT_MIN } from '../../swtpm/ports.js';

const run = promisify(execFile);
const GET_RANDOM_8 = Uint8Array.from(Buffer.from('80010000000c0000017b0008', 'hex'));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function tcpRefused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

async function tools(swtpm: SwtpmInstance, cmd: string, args: string[]): Promise<string> {
  const { stdout } = await run(cmd, args, { env: { ...process.env, ...swtpm.env }, timeout: 20_000 });
  return stdout;
}

async function withSwtpm<T>(swtpm: SwtpmInstance, body: (s: SwtpmInstance) => Promise<T>): Promise<T> {
  try {
    return await body(swtpm);
  } finally {
    await swtpm.stop();
  }
}

describe('startSwtpm', () => {
  it('starts on a loopback TCP port pair and stops cleanly', async () => {
    const swtpm = await startSwtpm();
    const { port, ctrlPort, pid, stateDir } = swtpm;
    expect(swtpm.tcti).toBe(`swtpm:host=127.0.0.1,port=${port}`);
    expect(swtpm.host).toBe('127.0.0.1');
    expect(port).toBeGreaterThanOrEqual(PORT_MIN);
    expect(ctrlPort).toBe((port ?? 0) + 1);
    expect(ctrlPort).toBeLessThanOrEqual(PORT_MAX);
    expect(swtpm.env).toEqual({ TPM2TOOLS_TCTI: swtpm.tcti, EXECGATE_TCTI: swtpm.tcti });
    expect(alive(pid)).toBe(true);
    expect((await readFile(join(stateDir, 'swtpm.pid'), 'utf8')).trim()).toBe(String(pid));
    expect(await openTransport(swtpm.tcti).send(GET_RANDOM_8)).toHaveLength(20);
    expect(await tools(swtpm, 'tpm2_getrandom', ['--hex', '4'])).toMatch(/^[0-9a-f]{8}$/);

    await swtpm.stop();
    expect(alive(pid)).toBe(false);
    expect(existsSync(stateDir)).toBe(false);
    expect(await tcpRefused(port ?? 0)).toBe(true);
    expect(await tcpRefused(ctrlPort ?? 0)).toBe(true);
    await swtpm.stop(); // idempotent
  });

  it('starts on unix sockets in its state directory and removes them on stop', async () => {
    const swtpm = await startSwtpm({ transport: 'unix' });
    const { path, ctrlPath, stateDir } = swtpm;
    expect(path).toBe(join(stateDir, 'swtpm.sock'));
    expect(ctrlPath).toBe(`${path}.ctrl`);
    expect(swtpm.tcti).toBe(`swtpm:path=${path}`);
    expect(swtpm.port).toBeUndefined();
    expect(await tools(swtpm, 'tpm2_getrandom', ['--hex', '4'])).toMatch(/^[0-9a-f]{8}$/);
    await swtpm.stop();
    expect(alive(swtpm.pid)).toBe(false);
    expect(existsSync(stateDir)).toBe(false);
  });

  it('starts several at once on distinct ports', async () => {
    const all = await Promise.all([1, 2, 3, 4].map(() => startSwtpm()));
    try {
      expect(new Set(all.map((s) => s.port)).size).toBe(4);
      for (const swtpm of all) expect(await openTransport(swtpm.tcti).send(GET_RANDOM_8)).toHaveLength(20);
    } finally {
      await Promise.all(all.map((s) => s.stop()));
    }
    for (const swtpm of all) expect(alive(swtpm.pid)).toBe(false);
  });

  it('keeps a given state directory, and the TPM state in it, across restarts', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'execgate-test-state-'));
    try {
      await withSwtpm(await startSwtpm({ stateDir: dir, transport: 'unix' }), async (swtpm) => {
        // Define an NV index: persistent state that a restart on the same directory must keep.
        await tools(swtpm, 'tpm2_nvdefine', [
          '0x1500016',
          '-C',
          'o',
          '-s',
          '8',
          '-a',
          'ownerread|ownerwrite',
        ]);
      });
      expect(existsSync(join(dir, 'tpm2-00.permall'))).toBe(true);
      await withSwtpm(await startSwtpm({ stateDir: dir }), async (swtpm) => {
        expect(await tools(swtpm, 'tpm2_getcap', ['handles-nv-index'])).toContain('0x1500016');
      });
      expect(existsSync(dir)).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('kill() ends swtpm at once; stop() afterwards still cleans up', async () => {
    const swtpm = await startSwtpm();
    swtpm.kill();
    await swtpm.exited;
    expect(alive(swtpm.pid)).toBe(false);
    await swtpm.stop();
    expect(existsSync(swtpm.stateDir)).toBe(false);
  });

  it('fails with E_SWTPM_START and the tail of the log when swtpm cannot start', async () => {
    const first = await startSwtpm({ transport: 'unix' });
    try {
      // A second swtpm on the same state directory cannot take its lock; swtpm's log says so.
      const err = await startSwtpm({ stateDir: first.stateDir }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'E_SWTPM_START' });
      expect(String((err as Error).message)).toMatch(/lock/i);
      // On unix sockets the harness sees the live sockets before it runs anything.
      const unix = await startSwtpm({ transport: 'unix', stateDir: first.stateDir }).catch((e: unknown) => e);
      expect(unix).toMatchObject({ code: 'E_SWTPM_START' });
      expect(await openTransport(first.tcti).send(GET_RANDOM_8)).toHaveLength(20);
    } finally {
      await first.stop();
    }
    expect(alive(first.pid)).toBe(false);
  });

  it('fails with E_SWTPM_START when swtpm does not answer in time, and leaves nothing behind', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'execgate-test-state-'));
    try {
      // With no time at all the first readiness check is already too late: deterministic.
      const err = await startSwtpm({ stateDir: dir, readyTimeoutMs: 0 }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'E_SWTPM_START' });
      const pid = Number((await readFile(join(dir, 'swtpm.pid'), 'utf8').catch(() => '0')).trim());
      if (pid > 0) expect(alive(pid)).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rejects an unknown PCR bank before running anything', async () => {
    await expect(startSwtpm({ pcrBanks: ['md5'] })).rejects.toThrow(RangeError);
  });
});

describe('PCR banks', () => {
  async function banks(swtpm: SwtpmInstance): Promise<Record<string, boolean>> {
    const out = await tools(swtpm, 'tpm2_getcap', ['pcrs']);
    const active: Record<string, boolean> = {};
    for (const m of out.matchAll(/- (sha\d+): \[(.*)\]/g)) active[m[1] ?? ''] = (m[2] ?? '').trim() !== '';
    return active;
  }

  it('without setup, all four banks are allocated and there is no EK', async () => {
    await withSwtpm(await startSwtpm({ transport: 'unix' }), async (swtpm) => {
      expect(swtpm.caDir).toBeUndefined();
      expect(await banks(swtpm)).toEqual({ sha1: true, sha256: true, sha384: true, sha512: true });
      expect(await tools(swtpm, 'tpm2_getcap', ['handles-persistent'])).toBe('');
    });
  });

  it('pcrBanks alone sets the active banks without creating an EK', async () => {
    await withSwtpm(await startSwtpm({ transport: 'unix', pcrBanks: ['sha256'] }), async (swtpm) => {
      expect(await banks(swtpm)).toEqual({ sha1: false, sha256: true, sha384: false, sha512: false });
      expect(await tools(swtpm, 'tpm2_getcap', ['handles-persistent'])).toBe('');
      expect(swtpm.ca).toBeUndefined();
    });
  });
});

describe('ek: true', () => {
  it('manufactures EKs whose certificates are in NV and chain to the private CA', async () => {
    await withSwtpm(await startSwtpm({ ek: true }), async (swtpm) => {
      const { ca, caDir } = swtpm;
      if (!ca || !caDir) throw new Error('no CA files');
      expect(ca.dir).toBe(caDir);
      expect(await tools(swtpm, 'tpm2_getcap', ['handles-persistent'])).toMatch(
        /0x81010001[\s\S]*0x81010016/,
      );
      const work = await mkdtemp(join(tmpdir(), 'execgate-test-ek-'));
      try {
        for (const [index, file] of [
          ['0x01c00002', ca.ekCertRsa],
          ['0x01c00016', ca.ekCertEcc],
        ] as const) {
          const out = join(work, `${index}.der`);
          await tools(swtpm, 'tpm2_nvread', [index, '-o', out]);
          const fromNv = await readFile(out);
          expect(fromNv.equals(await readFile(file))).toBe(true);
          const pem = join(work, `${index}.pem`);
          await writeFile(pem, new X509Certificate(fromNv).toString());
          const { stdout } = await run('openssl', [
            'verify',
            '-CAfile',
            ca.rootCert,
            '-untrusted',
            ca.issuerCert,
            pem,
          ]);
          expect(stdout).toContain(': OK');
        }
        // The platform certificate is there too; the chain does not verify against another root.
        expect(await tools(swtpm, 'tpm2_nvreadpublic', ['0x01c08000'])).toContain('0x1c08000');
        const stranger = join(work, 'stranger.pem');
        await writeFile(stranger, await readFile(ca.issuerCert));
        const pem = join(work, '0x01c00002.pem');
        await expect(run('openssl', ['verify', '-CAfile', stranger, pem])).rejects.toThrow();
      } finally {
        await rm(work, { recursive: true, force: true });
      }
      const active = await tools(swtpm, 'tpm2_getcap', ['pcrs']);
      expect(active).toMatch(/sha1: \[ 0,/);
      expect(active).toMatch(/sha256: \[ 0,/);
      expect(active).toMatch(/sha384: \[ \]/);
    });
  });

  it('removes the private CA directory on stop and never uses the system CA', async () => {
    const swtpm = await startSwtpm({ ek: true, transport: 'unix', pcrBanks: ['sha256'] });
    const { caDir } = swtpm;
    expect(caDir && existsSync(join(caDir, 'swtpm-localca-rootca-cert.pem'))).toBe(true);
    await swtpm.stop();
    expect(caDir && existsSync(caDir)).toBe(false);
    expect(existsSync('/var/lib/swtpm-localca/issuercert.pem')).toBe(false);
  });
});
