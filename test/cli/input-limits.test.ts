// SPDX-License-Identifier: Apache-2.0
// Issue 11, finding 6: every input file is read as a stream with a byte limit. A file that never ends
// (/dev/zero) fails fast with E_INPUT_LIMIT (exit 2) in bounded memory, whatever command reads it.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../agent/cli/exit.js';
import { INPUT_LIMITS } from '../../agent/fs/read-bounded.js';
import { cli } from './helpers.js';

const NONCE = '00112233445566778899aabbccddeeff';
// Unreachable TPM: a command must fail on its input before it opens the TPM.
const ENV = { EXECGATE_TCTI: 'swtpm:host=127.0.0.1,port=1' };
let dir: string;
let akPem: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'execgate-limits-'));
  akPem = join(dir, 'ak.pem');
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  await writeFile(akPem, publicKey.export({ type: 'spki', format: 'pem' }));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/**
 * Runs the CLI and checks it failed with E_INPUT_LIMIT, exit 2, growing the process by no more than
 * `bound` (default 64 MiB; a file is held up to its limit, so a reference document may take 64 MiB more).
 */
async function expectLimit(argv: string[], bound = 64 * 1024 * 1024): Promise<void> {
  const before = process.memoryUsage().rss;
  const r = await cli(argv, ENV);
  const grown = process.memoryUsage().rss - before;
  expect(r.stderr).toMatch(/E_INPUT_LIMIT/);
  expect(r.code).toBe(EXIT.USAGE);
  expect(grown).toBeLessThan(bound);
}

describe('input files are read with a byte limit (issue 11, finding 6)', () => {
  it('quote verify /dev/zero: E_INPUT_LIMIT, exit 2, fast and in bounded memory', async () => {
    await expectLimit(['quote', 'verify', '/dev/zero', '--ak', akPem, '--nonce', NONCE]);
  });

  it('quote verify --ak /dev/zero and the tpm2-tools files: E_INPUT_LIMIT', async () => {
    await expectLimit(['quote', 'verify', '/dev/zero', '--ak', '/dev/zero', '--nonce', NONCE]);
    const msg = ['--msg', '/dev/zero', '--sig', '/dev/zero', '--pcrs-values', '/dev/zero'];
    await expectLimit(['quote', 'verify', ...msg, '--pcrs', 'sha256:0', '--ak', akPem, '--nonce', NONCE]);
  });

  it('credential activate --in /dev/zero: E_INPUT_LIMIT before the TPM is opened', async () => {
    await expectLimit(['credential', 'activate', '--in', '/dev/zero']);
  });

  it('credential make --ek-pub /dev/zero: E_INPUT_LIMIT', async () => {
    await expectLimit([
      'credential',
      'make',
      '--ek-pub',
      '/dev/zero',
      '--ak-name',
      `000b${'00'.repeat(32)}`,
      '--unverified-ak-name',
      '--secret',
      '00',
    ]);
  });

  it('state digest with a reference of /dev/zero: E_INPUT_LIMIT', async () => {
    await expectLimit(['state', 'digest', '/dev/zero'], INPUT_LIMITS.reference + 64 * 1024 * 1024);
  });

  it('ima replay --checkpoint /dev/zero and quote verify --last-clock /dev/zero: E_INPUT_LIMIT', async () => {
    await expectLimit(['ima', 'replay', '--checkpoint', '/dev/zero']);
    await expectLimit([
      'quote',
      'verify',
      '/dev/zero',
      '--ak',
      akPem,
      '--nonce',
      NONCE,
      '--last-clock',
      '/dev/zero',
    ]);
  });

  it('artifacts, revocation lists, keys and host identity JSON: E_INPUT_LIMIT', async () => {
    const keyDir = await mkdtemp(join(dir, 'keys-'));
    const key = join(keyDir, 'k');
    expect((await cli(['key', 'gen', '--alg', 'ed25519', '--out', key])).code).toBe(EXIT.OK);
    const pub = `${key}.pub`;
    await expectLimit(['artifact', 'verify', '/dev/zero', '--trust', pub]);
    await expectLimit(['artifact', 'inspect', '/dev/zero']);
    await expectLimit(['artifact', 'approve', '/dev/zero', '--key', key]);
    await expectLimit(['artifact', 'verify', '/dev/zero', '--trust', '/dev/zero']);
    await expectLimit(['key', 'id', '/dev/zero']);
    await expectLimit([
      'revoke',
      '--key',
      '/dev/zero',
      '--issuer',
      'x',
      '--cti',
      '00'.repeat(16),
      '--out',
      join(keyDir, 'l'),
    ]);
    await expectLimit([
      'revoke',
      '--key',
      key,
      '--list',
      '/dev/zero',
      '--cti',
      '00'.repeat(16),
      '--out',
      join(keyDir, 'l'),
    ]);
    const issue = [
      'artifact',
      'issue',
      '--key',
      key,
      '--issuer',
      'x',
      '--exe',
      '/bin/sh',
      '--sha256',
      '00'.repeat(32),
      '--ttl',
      '1m',
    ];
    await expectLimit([...issue, '--host-identity', '/dev/zero', '--out', join(keyDir, 'a')]);
    await expectLimit([
      ...issue,
      '--group',
      'g',
      '--delegate-key',
      '/dev/zero',
      '--delegate-depth',
      '0',
      '--out',
      join(keyDir, 'a'),
    ]);
    await expectLimit(
      [...issue, '--group', 'g', '--state-ref', '/dev/zero', '--out', join(keyDir, 'a')],
      INPUT_LIMITS.reference + 64 * 1024 * 1024,
    );
    // A revocation list is verified only after the artifact is read: give a real artifact.
    const art = join(keyDir, 'a');
    expect((await cli([...issue, '--group', 'g', '--out', art])).code).toBe(EXIT.OK);
    await expectLimit(['artifact', 'verify', art, '--trust', pub, '--revoked', '/dev/zero']);
    await expectLimit([
      'artifact',
      'delegate',
      '--parent',
      '/dev/zero',
      '--key',
      key,
      '--issuer',
      'x',
      '--exe',
      '/bin/sh',
      '--ttl',
      '1m',
      '--out',
      join(keyDir, 'c'),
    ]);
  });

  it('a missing input file: E_INPUT_READ, exit 2, naming the file', async () => {
    const r = await cli(['credential', 'activate', '--in', join(dir, 'absent')], ENV);
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toMatch(/E_INPUT_READ/);
    expect(r.stderr).toContain(join(dir, 'absent'));
  });
});
