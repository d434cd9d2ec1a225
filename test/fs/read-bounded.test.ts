// SPDX-License-Identifier: Apache-2.0
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_ARTIFACT_BYTES } from '../../agent/artifact/artifact.js';
import { MAX_REVOCATION_BYTES } from '../../agent/artifact/revocation.js';
import { MAX_BUNDLE_BYTES } from '../../agent/attest/quote.js';
import { INPUT_LIMITS, InputError, readBounded, streamFile } from '../../agent/fs/read-bounded.js';
import { REFERENCE_LIMITS } from '../../agent/measure/reference.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'execgate-read-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return (e as InputError).code;
  }
}

describe('readBounded', () => {
  it('reads a file up to and at its limit, byte for byte', async () => {
    const f = join(dir, 'f');
    const data = new Uint8Array(200_000).map((_, i) => i % 251);
    await writeFile(f, data);
    expect(await readBounded(f, { maxBytes: 200_000, what: 'test' })).toEqual(data);
    expect(await readBounded(f, { maxBytes: 1 << 20, what: 'test' })).toEqual(data);
    await writeFile(f, '');
    expect(await readBounded(f, { maxBytes: 0, what: 'test' })).toEqual(new Uint8Array(0));
  });

  it('one byte over the limit: E_INPUT_LIMIT naming the file and what it is', async () => {
    const f = join(dir, 'over');
    await writeFile(f, new Uint8Array(1001));
    await expect(readBounded(f, { maxBytes: 1000, what: '--in' })).rejects.toThrow(
      /--in: ".*over" is longer than 1000 bytes/,
    );
    expect(await codeOf(readBounded(f, { maxBytes: 1000, what: 'x' }))).toBe('E_INPUT_LIMIT');
  });

  it('/dev/zero: E_INPUT_LIMIT at once, without reading past the limit', async () => {
    const before = process.memoryUsage().rss;
    const t0 = Date.now();
    expect(await codeOf(readBounded('/dev/zero', { maxBytes: 16 * 1024 * 1024, what: 'x' }))).toBe(
      'E_INPUT_LIMIT',
    );
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 1024 * 1024);
  });

  it('a FIFO and a /proc file (size 0 to stat) are read to EOF', async () => {
    expect(
      new TextDecoder().decode(await readBounded('/proc/self/status', { maxBytes: 1 << 20, what: 'x' })),
    ).toMatch(/^Name:/);
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const writer = writeFile(fifo, 'x'.repeat(100_000));
    expect((await readBounded(fifo, { maxBytes: 100_000, what: 'x' })).length).toBe(100_000);
    await writer;
  });

  it('missing file, a directory: E_INPUT_READ with the errno as cause', async () => {
    expect(await codeOf(readBounded(join(dir, 'absent'), { maxBytes: 10, what: 'x' }))).toBe('E_INPUT_READ');
    await mkdir(join(dir, 'd'));
    expect(await codeOf(readBounded(join(dir, 'd'), { maxBytes: 10, what: 'x' }))).toBe('E_INPUT_READ');
  });

  it('limits match their parsers', () => {
    expect(INPUT_LIMITS.quoteBundle).toBe(MAX_BUNDLE_BYTES);
    expect(INPUT_LIMITS.reference).toBe(REFERENCE_LIMITS.maxDocumentBytes);
    expect(INPUT_LIMITS.artifact).toBe(MAX_ARTIFACT_BYTES);
    expect(INPUT_LIMITS.revocationList).toBe(MAX_REVOCATION_BYTES);
  });
});

describe('streamFile', () => {
  it('feeds a regular file to EOF in chunks, whatever its length', async () => {
    const f = join(dir, 'big');
    const data = randomBytes(3 * 1024 * 1024 + 5);
    await writeFile(f, data);
    const seen: Uint8Array[] = [];
    await streamFile(f, '--exe', (c) => seen.push(c.slice()));
    expect(seen.length).toBeGreaterThan(1);
    // Buffer.equals, not toEqual: a deep comparison of 3 MiB byte by byte takes seconds.
    expect(Buffer.concat(seen).equals(data)).toBe(true);
  });

  it('refuses what is not a regular file (it may never end) and a missing file: E_INPUT_READ', async () => {
    const code = (p: string) =>
      streamFile(p, '--exe', () => undefined).then(
        () => undefined,
        (e: InputError) => e.code,
      );
    expect(await code('/dev/zero')).toBe('E_INPUT_READ');
    expect(await code(dir)).toBe('E_INPUT_READ');
    expect(await code(join(dir, 'absent'))).toBe('E_INPUT_READ');
  });
});
