// SPDX-License-Identifier: Apache-2.0
// `execgate key gen | id`: the key files (modes, never replaced, both checked before either is written)
// and the kid, checked against node:crypto's own SPKI export.
import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../agent/cli/exit.js';
import { parseSigningKey, signWith } from '../../agent/crypto/keys.js';
import { cli } from './helpers.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'execgate-key-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const mode = async (f: string) => (await stat(f)).mode & 0o7777;
const exists = (f: string) =>
  stat(f).then(
    () => true,
    () => false,
  );

describe('execgate key gen', () => {
  for (const alg of ['ed25519', 'p256', 'p384'] as const) {
    it(`${alg}: FILE (PKCS#8, 0600) and FILE.pub (SPKI, 0644); the kid is SHA-256 of the SPKI DER`, async () => {
      const out = join(dir, `${alg}.key`);
      const r = await cli(['key', 'gen', '--alg', alg, '--out', out]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(EXIT.OK);
      expect(await mode(out)).toBe(0o600);
      expect(await mode(`${out}.pub`)).toBe(0o644);
      const priv = await readFile(out, 'utf8');
      expect(priv).toMatch(/^-----BEGIN PRIVATE KEY-----/);
      const key = parseSigningKey(Buffer.from(priv));
      expect(key.alg).toBe(alg);
      // The public file is the private key's public half, and the kid printed is its SPKI's SHA-256.
      const der = createPublicKey(await readFile(`${out}.pub`, 'utf8')).export({
        type: 'spki',
        format: 'der',
      });
      expect(Buffer.from(key.spki)).toEqual(der);
      const kid = createHash('sha256').update(der).digest('hex');
      expect(r.stdout).toContain(`kid ${kid}`);
      const id = await cli(['key', 'id', `${out}.pub`]);
      expect(id.stdout.trim()).toBe(kid);
      expect(signWith(key, new Uint8Array(8)).length).toBe(alg === 'ed25519' ? 64 : alg === 'p256' ? 64 : 96);
    });
  }

  it('--json prints alg, key, pub and kid', async () => {
    const out = join(dir, 'json.key');
    const r = await cli(['--json', 'key', 'gen', '--alg', 'p256', '--out', out]);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ alg: 'p256', key: out, pub: `${out}.pub` });
    expect(doc.kid).toBe((await cli(['key', 'id', `${out}.pub`])).stdout.trim());
  });

  it('never replaces FILE or FILE.pub (E_FILE_EXISTS, exit 2), and writes neither when one exists', async () => {
    const out = join(dir, 'keep.key');
    expect((await cli(['key', 'gen', '--alg', 'ed25519', '--out', out])).code).toBe(EXIT.OK);
    const before = await readFile(out);
    const again = await cli(['key', 'gen', '--alg', 'ed25519', '--out', out]);
    expect(again.code).toBe(EXIT.USAGE);
    expect(again.stderr).toMatch(/E_FILE_EXISTS: .*keep\.key exists: key gen never replaces a key/);
    expect(again.stderr).not.toMatch(/--force replaces/);
    expect(await readFile(out)).toEqual(before);
    // Only the .pub is there: the secret is not written either.
    const lone = join(dir, 'lone.key');
    await writeFile(`${lone}.pub`, 'x');
    const r = await cli(['key', 'gen', '--alg', 'ed25519', '--out', lone]);
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toMatch(/E_FILE_EXISTS/);
    expect(await exists(lone)).toBe(false);
    // There is no --force.
    expect((await cli(['key', 'gen', '--alg', 'ed25519', '--out', out, '--force'])).stderr).toMatch(
      /E_USAGE: Unknown option '--force'/,
    );
  });

  it('flag errors: exit 2 naming the flag', async () => {
    const bad: [string[], RegExp][] = [
      [['key', 'gen', '--out', join(dir, 'x.key')], /--alg must be ed25519, p256 or p384, got none/],
      [['key', 'gen', '--alg', 'rsa', '--out', join(dir, 'x.key')], /--alg .* got "rsa"/],
      [['key', 'gen', '--alg', 'p256'], /--out FILE is required/],
      [['key', 'gen', 'extra', '--alg', 'p256', '--out', join(dir, 'x.key')], /unknown argument "extra"/],
    ];
    for (const [argv, message] of bad) {
      const r = await cli(argv);
      expect(r.code, argv.join(' ')).toBe(EXIT.USAGE);
      expect(r.stderr).toMatch(message);
    }
    expect(await exists(join(dir, 'x.key'))).toBe(false);
  });
});

describe('execgate key id', () => {
  it('takes a DER SubjectPublicKeyInfo too, and --json prints alg and kid', async () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const der = publicKey.export({ type: 'spki', format: 'der' });
    await writeFile(join(dir, 'p384.der'), der);
    const r = await cli(['--json', 'key', 'id', join(dir, 'p384.der')]);
    expect(JSON.parse(r.stdout)).toEqual({
      alg: 'p384',
      kid: createHash('sha256').update(der).digest('hex'),
    });
  });

  it('refuses a private key (E_USAGE), a key of another algorithm (E_KEY) and a missing file (E_INPUT_READ)', async () => {
    const out = join(dir, 'secret.key');
    await cli(['key', 'gen', '--alg', 'ed25519', '--out', out]);
    const priv = await cli(['key', 'id', out]);
    expect(priv.code).toBe(EXIT.USAGE);
    expect(priv.stderr).toMatch(/E_USAGE: key id .*secret\.key holds a private key/);
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await writeFile(join(dir, 'rsa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
    const rsa = await cli(['key', 'id', join(dir, 'rsa.pub')]);
    expect(rsa.code).toBe(EXIT.USAGE);
    expect(rsa.stderr).toMatch(/E_KEY: .*rsa: use Ed25519, P-256 or P-384/);
    const missing = await cli(['key', 'id', join(dir, 'absent.pub')]);
    expect(missing.code).toBe(EXIT.USAGE);
    expect(missing.stderr).toMatch(/E_INPUT_READ/);
    for (const argv of [
      ['key', 'id'],
      ['key', 'id', out, out],
    ]) {
      const r = await cli(argv);
      expect(r.code).toBe(EXIT.USAGE);
      expect(r.stderr).toMatch(/one public key file/);
    }
  });

  it('key --help has an example', async () => {
    const r = await cli(['key', '--help']);
    expect(r.code).toBe(EXIT.OK);
    expect(r.stdout).toMatch(/Example:\n {2}execgate key gen/);
  });
});
