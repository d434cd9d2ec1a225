// SPDX-License-Identifier: Apache-2.0
// Reading measurement logs the way securityfs serves them: files whose stat size is 0 (a named pipe and
// /proc stand in for securityfs, which this machine's kernel lacks), byte limits, absent logs, and files
// that cannot be read (tests run as root, so EACCES comes through the injected opener).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { initHashing } from '../../agent/crypto/hash.js';
import { EVENTLOG_LIMITS, parseEventLog } from '../../agent/measure/eventlog.js';
import {
  type MeasurementFile,
  measurementPaths,
  type OpenFile,
  readMeasurementList,
  readToEnd,
  SECURITYFS_LIMITS,
  SECURITYFS_ROOT,
  SecurityfsError,
} from '../../agent/measure/securityfs.js';
import { TPM_ALG } from '../../agent/tpm/constants.js';
import { buildEventLog, uefiBootEvents } from '../helpers/synthetic-eventlog.js';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'execgate-securityfs-'));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

async function securityfsError(p: Promise<unknown>): Promise<SecurityfsError> {
  const e = await p.then(
    () => new Error('resolved, expected a SecurityfsError'),
    (err: unknown) => err,
  );
  if (e instanceof SecurityfsError) return e;
  throw e;
}

function mkfifo(path: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const r = spawnSync('mkfifo', [path]);
  if (r.status !== 0) throw new Error(`mkfifo failed: ${r.stderr.toString()}`);
}

/** Writes `bytes` into a FIFO in `pieces` writes, then closes it (EPIPE, when the reader gives up, is fine). */
async function feed(path: string, bytes: Uint8Array, pieces: number): Promise<void> {
  const fh = await open(path, 'w');
  try {
    const step = Math.ceil(bytes.length / pieces);
    for (let at = 0; at < bytes.length; at += step) await fh.write(bytes.subarray(at, at + step));
  } catch (e) {
    if ((e as { code?: string }).code !== 'EPIPE') throw e;
  } finally {
    await fh.close();
  }
}

const pattern = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + 7) & 0xff);

const errno = (code: string) => Object.assign(new Error(`${code}: injected`), { code });

/** An opener serving `content` `chunk` bytes per read, recording closes and failing as told. */
function fakeOpener(
  content: Uint8Array,
  opts: { chunk?: number; failOpen?: Record<string, string>; failReadAt?: number } = {},
) {
  const state = { opened: [] as string[], closed: 0 };
  const openFile: OpenFile = async (path) => {
    state.opened.push(path);
    const fail = opts.failOpen?.[path];
    if (fail !== undefined) throw errno(fail);
    let pos = 0;
    const file: MeasurementFile = {
      read: async (buffer, offset, length) => {
        if (opts.failReadAt !== undefined && pos >= opts.failReadAt) throw errno('EIO');
        const n = Math.min(length, opts.chunk ?? length, content.length - pos);
        buffer.set(content.subarray(pos, pos + n), offset);
        pos += n;
        return n;
      },
      close: async () => {
        state.closed++;
      },
    };
    return file;
  };
  return { openFile, state };
}

describe('measurementPaths', () => {
  it('names the kernel paths, per-bank IMA lists first, both IMA directories', () => {
    expect(SECURITYFS_ROOT).toBe('/sys/kernel/security');
    expect(measurementPaths('tcg')).toEqual(['/sys/kernel/security/tpm0/binary_bios_measurements']);
    expect(measurementPaths('ima-ascii')).toEqual([
      '/sys/kernel/security/ima/ascii_runtime_measurements',
      '/sys/kernel/security/integrity/ima/ascii_runtime_measurements',
    ]);
    expect(measurementPaths('ima-binary', { bank: TPM_ALG.SHA256, root: '/r' })).toEqual([
      '/r/ima/binary_runtime_measurements_sha256',
      '/r/integrity/ima/binary_runtime_measurements_sha256',
      '/r/ima/binary_runtime_measurements',
      '/r/integrity/ima/binary_runtime_measurements',
    ]);
    // ima_fs.c: hash_algo_name ("sm3" for SM3_256), else tpm_alg_<hex>.
    expect(measurementPaths('ima-ascii', { bank: TPM_ALG.SM3_256, root: '/r' })[0]).toBe(
      '/r/ima/ascii_runtime_measurements_sm3',
    );
    expect(measurementPaths('ima-ascii', { bank: 0x27, root: '/r' })[0]).toBe(
      '/r/ima/ascii_runtime_measurements_tpm_alg_27',
    );
    expect(() => measurementPaths('ima-ascii', { bank: 0x10000 })).toThrow(RangeError);
  });
});

describe('readToEnd', () => {
  it('reads a named pipe (stat size 0) to EOF across many writes', async () => {
    const path = join(root, 'fifo');
    mkfifo(path);
    expect(statSync(path).size).toBe(0);
    const bytes = pattern(300_000);
    const [got] = await Promise.all([readToEnd(path), feed(path, bytes, 37)]);
    expect(Buffer.from(got).equals(Buffer.from(bytes))).toBe(true);
  });

  it('reads a /proc file whose stat size is 0', async () => {
    expect(statSync('/proc/version').size).toBe(0);
    const got = await readToEnd('/proc/version');
    expect(Buffer.from(got).toString()).toMatch(/^Linux version /);
    expect(Buffer.from(got).equals(readFileSync('/proc/version'))).toBe(true);
  });

  it('accepts a file of exactly maxBytes and rejects one byte more with E_MEASURE_LIMIT', async () => {
    const path = join(root, 'log');
    writeFileSync(path, pattern(1000));
    expect((await readToEnd(path, { maxBytes: 1000 })).length).toBe(1000);
    const e = await securityfsError(readToEnd(path, { maxBytes: 999 }));
    expect(e.code).toBe('E_MEASURE_LIMIT');
    expect(e.paths).toEqual([path]);
  });

  it('stops a pipe that streams past the limit', async () => {
    const path = join(root, 'fifo');
    mkfifo(path);
    const [e] = await Promise.all([
      securityfsError(readToEnd(path, { maxBytes: 100_000 })),
      feed(path, pattern(400_000), 40),
    ]);
    expect(e.code).toBe('E_MEASURE_LIMIT');
  });

  it('short reads are joined; a read error is E_MEASURE_UNREADABLE and the file is closed', async () => {
    const content = pattern(5000);
    const slow = fakeOpener(content, { chunk: 1 });
    expect(await readToEnd('/x', { open: slow.openFile })).toEqual(content);
    expect(slow.state.closed).toBe(1);
    const broken = fakeOpener(content, { chunk: 100, failReadAt: 300 });
    const e = await securityfsError(readToEnd('/x', { open: broken.openFile }));
    expect(e.code).toBe('E_MEASURE_UNREADABLE');
    expect(e.message).toContain('EIO');
    expect(broken.state.closed).toBe(1);
  });

  it('a directory is E_MEASURE_UNREADABLE (EISDIR)', async () => {
    const e = await securityfsError(readToEnd(root));
    expect(e.code).toBe('E_MEASURE_UNREADABLE');
    expect((e.cause as { code?: string }).code).toBe('EISDIR');
  });

  it('rejects a bad limit as misuse', async () => {
    await expect(readToEnd('/proc/version', { maxBytes: -1 })).rejects.toThrow(RangeError);
  });
});

describe('readMeasurementList', () => {
  it('reads and parses a TCG log served through a pipe at tpm0/binary_bios_measurements', async () => {
    await initHashing();
    const { bytes } = buildEventLog({ banks: ['sha1', 'sha256'], events: uefiBootEvents() });
    const [path] = measurementPaths('tcg', { root });
    mkfifo(path ?? '');
    const [got] = await Promise.all([readMeasurementList('tcg', { root }), feed(path ?? '', bytes, 5)]);
    expect(got.path).toBe(path);
    expect(got.bytes).toEqual(bytes);
    expect(parseEventLog(got.bytes).events.length).toBe(uefiBootEvents().length + 1);
  });

  it('stops an endless TCG log at the event-log parser limit by default', async () => {
    expect(SECURITYFS_LIMITS.tcg).toBe(EVENTLOG_LIMITS.maxLogBytes);
    let served = 0;
    const endless: OpenFile = async () => ({
      read: async (_buffer, _offset, length) => {
        served += length;
        return length;
      },
      close: async () => {},
    });
    const e = await securityfsError(readMeasurementList('tcg', { root, open: endless }));
    expect(e.code).toBe('E_MEASURE_LIMIT');
    expect(e.message).toContain(`${EVENTLOG_LIMITS.maxLogBytes}-byte limit`);
    expect(served).toBe(EVENTLOG_LIMITS.maxLogBytes + 1);
  });

  it('falls back from the per-bank list to the plain one, and from ima/ to integrity/ima/', async () => {
    const plain = join(root, 'integrity/ima/ascii_runtime_measurements');
    mkdirSync(dirname(plain), { recursive: true });
    writeFileSync(plain, '10 abc ima-ng sha256:00 /init\n');
    const got = await readMeasurementList('ima-ascii', { root, bank: TPM_ALG.SHA256 });
    expect(got.path).toBe(plain);
    expect(Buffer.from(got.bytes).toString()).toBe('10 abc ima-ng sha256:00 /init\n');

    const perBank = join(root, 'ima/ascii_runtime_measurements_sha256');
    mkdirSync(dirname(perBank), { recursive: true });
    writeFileSync(perBank, 'per-bank');
    expect((await readMeasurementList('ima-ascii', { root, bank: TPM_ALG.SHA256 })).path).toBe(perBank);
    expect((await readMeasurementList('ima-ascii', { root })).path).toBe(plain);
  });

  it('absent everywhere: E_MEASURE_NO_LOG with every path tried and what the kernel needs', async () => {
    writeFileSync(join(root, 'lsm'), 'capability'); // a mounted securityfs is not empty
    const e = await securityfsError(readMeasurementList('ima-binary', { root, bank: TPM_ALG.SHA384 }));
    expect(e.code).toBe('E_MEASURE_NO_LOG');
    expect(e.paths).toEqual(measurementPaths('ima-binary', { root, bank: TPM_ALG.SHA384 }));
    for (const p of e.paths) expect(e.message).toContain(p);
    expect(e.message).toContain(`mount -t securityfs securityfs ${root}`);
    expect(e.message).toContain('CONFIG_IMA');
    expect(e.message).toContain('needs root');
    expect(e.message).not.toContain('not mounted');

    const tcg = await securityfsError(readMeasurementList('tcg', { root }));
    expect(tcg.code).toBe('E_MEASURE_NO_LOG');
    expect(tcg.message).toContain('CONFIG_TCG_TPM');
    expect(tcg.message).toContain('needs root');
  });

  it('says when the mount point is empty (securityfs not mounted) or missing', async () => {
    const empty = await securityfsError(readMeasurementList('tcg', { root }));
    expect(empty.message).toContain(`${root} is empty: securityfs is not mounted there`);
    const missing = join(root, 'nope');
    const gone = await securityfsError(readMeasurementList('tcg', { root: missing }));
    expect(gone.message).toContain(`${missing} does not exist`);
  });

  it('permission denied: E_MEASURE_UNREADABLE telling to run as root, without trying further paths', async () => {
    const paths = measurementPaths('ima-ascii', { root });
    for (const code of ['EACCES', 'EPERM']) {
      const fake = fakeOpener(new Uint8Array(0), { failOpen: { [paths[0] ?? '']: code } });
      const e = await securityfsError(readMeasurementList('ima-ascii', { root, open: fake.openFile }));
      expect(e.code).toBe('E_MEASURE_UNREADABLE');
      expect(e.message).toContain('run as root');
      expect(e.paths).toEqual([paths[0]]);
      expect(fake.state.opened).toEqual([paths[0]]);
    }
  });

  it('an existing but unreadable path (a directory) is reported, not skipped', async () => {
    const [path] = measurementPaths('tcg', { root });
    mkdirSync(path ?? '', { recursive: true });
    const e = await securityfsError(readMeasurementList('tcg', { root }));
    expect(e.code).toBe('E_MEASURE_UNREADABLE');
    expect(e.message).not.toContain('run as root');
  });

  it('over the limit: E_MEASURE_LIMIT, the file closed', async () => {
    const fake = fakeOpener(pattern(10_000), { chunk: 999 });
    const e = await securityfsError(
      readMeasurementList('tcg', { root, maxBytes: 9_999, open: fake.openFile }),
    );
    expect(e.code).toBe('E_MEASURE_LIMIT');
    expect(fake.state.closed).toBe(1);
  });
});
