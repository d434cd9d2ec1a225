// SPDX-License-Identifier: Apache-2.0
// `execgate revoke`: a first list, the next one (cumulative, next sequence number, the old list verified
// under the same key first), and every flag's error path.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeRevocationList, verifyRevocationList } from '../../agent/artifact/revocation.js';
import { EXIT } from '../../agent/cli/exit.js';
import { parsePublicKey } from '../../agent/crypto/keys.js';
import { initVerification } from '../../agent/crypto/verify.js';
import { cli } from './helpers.js';

let dir: string;
let key: string;
let other: string;
const hex = (n: number) => randomBytes(n).toString('hex');
const list = async (f: string) => decodeRevocationList(new Uint8Array(await readFile(f))).list;

beforeAll(async () => {
  await initVerification();
  dir = await mkdtemp(join(tmpdir(), 'execgate-revoke-'));
  key = join(dir, 'ops.key');
  other = join(dir, 'other.key');
  expect((await cli(['key', 'gen', '--alg', 'ed25519', '--out', key])).code).toBe(EXIT.OK);
  expect((await cli(['key', 'gen', '--alg', 'p256', '--out', other])).code).toBe(EXIT.OK);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('execgate revoke', () => {
  it('a first list (seq 1, --issuer), then the next from --list: every old entry kept, seq + 1, issuer kept', async () => {
    const out = join(dir, 'r.cose');
    const [c1, k1] = [hex(16), hex(32)];
    const before = Math.floor(Date.now() / 1000);
    const first = await cli([
      'revoke',
      '--key',
      key,
      '--issuer',
      'ops',
      '--cti',
      c1,
      '--kid',
      k1,
      '--out',
      out,
    ]);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(EXIT.OK);
    expect(first.stdout).toMatch(/list 1 of ops, 1 ctis and 1 kids revoked/);
    expect((await stat(out)).mode & 0o777).toBe(0o644);
    const l1 = await list(out);
    expect(l1).toMatchObject({ iss: 'ops', seq: 1 });
    expect(l1.iat).toBeGreaterThanOrEqual(before);
    expect(l1.iat).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
    const trust = [parsePublicKey(await readFile(`${key}.pub`))];
    expect(verifyRevocationList(new Uint8Array(await readFile(out)), trust).seq).toBe(1);

    // The next list replaces the old file in place (--force), keeping its entries and issuer.
    const c2 = hex(64);
    const next = await cli([
      '--json',
      'revoke',
      '--key',
      key,
      '--list',
      out,
      '--cti',
      c2,
      '--cti',
      c1,
      '--out',
      out,
      '--force',
    ]);
    expect(next.code, next.stderr).toBe(EXIT.OK);
    const doc = JSON.parse(next.stdout);
    expect(doc).toMatchObject({ out, iss: 'ops', seq: 2, kids: [k1] });
    expect(doc.ctis).toEqual([c1, c2].sort());
    expect(doc.signer).toBe((await cli(['key', 'id', `${key}.pub`])).stdout.trim());
    // The same issuer given again is fine; another is refused.
    const same = join(dir, 'same.cose');
    expect(
      (await cli(['revoke', '--key', key, '--list', out, '--issuer', 'ops', '--kid', hex(32), '--out', same]))
        .code,
    ).toBe(EXIT.OK);
    expect((await list(same)).seq).toBe(3);
    const renamed = await cli([
      'revoke',
      '--key',
      key,
      '--list',
      out,
      '--issuer',
      'dev',
      '--kid',
      hex(32),
      '--out',
      join(dir, 'dev.cose'),
    ]);
    expect(renamed.code).toBe(EXIT.USAGE);
    expect(renamed.stderr).toMatch(/--issuer "dev" differs from the issuer "ops"/);
  });

  it('--list OLD must verify under --key: another key or garbage is E_REVOCATION_LIST (exit 7)', async () => {
    const old = join(dir, 'old.cose');
    expect(
      (await cli(['revoke', '--key', key, '--issuer', 'ops', '--cti', hex(16), '--out', old])).code,
    ).toBe(EXIT.OK);
    const r = await cli(['revoke', '--key', other, '--list', old, '--cti', hex(16), '--out', join(dir, 'x')]);
    expect(r.code).toBe(EXIT.EVIDENCE_INVALID);
    expect(r.stderr).toMatch(/E_REVOCATION_LIST: signed by kid [0-9a-f]{64}, not a trusted issuer key/);
    await writeFile(join(dir, 'garbage'), 'not cbor');
    const g = await cli([
      'revoke',
      '--key',
      key,
      '--list',
      join(dir, 'garbage'),
      '--cti',
      hex(16),
      '--out',
      join(dir, 'y'),
    ]);
    expect(g.code).toBe(EXIT.EVIDENCE_INVALID);
    expect(g.stderr).toMatch(/E_REVOCATION_LIST: not a revocation list/);
  });

  it('an existing --out is replaced only with --force', async () => {
    const out = join(dir, 'exists.cose');
    await writeFile(out, 'keep');
    const r = await cli(['revoke', '--key', key, '--issuer', 'ops', '--cti', hex(16), '--out', out]);
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toMatch(/E_FILE_EXISTS/);
    expect(await readFile(out, 'utf8')).toBe('keep');
    const f = await cli([
      'revoke',
      '--key',
      key,
      '--issuer',
      'ops',
      '--cti',
      hex(16),
      '--out',
      out,
      '--force',
    ]);
    expect(f.code).toBe(EXIT.OK);
    expect((await list(out)).seq).toBe(1);
  });

  it('flag errors: exit 2 naming the flag', async () => {
    const out = join(dir, 'never.cose');
    const cti = hex(16);
    const bad: [string[], RegExp][] = [
      [['--issuer', 'ops', '--cti', cti, '--out', out], /--key FILE is required/],
      [['--key', key, '--issuer', 'ops', '--cti', cti], /--out LIST is required/],
      [['--key', key, '--issuer', 'ops', '--out', out], /at least one --cti or --kid/],
      [['--key', key, '--cti', cti, '--out', out], /a first list needs --issuer NAME/],
      [['--key', key, '--issuer', '', '--cti', cti, '--out', out], /--issuer must have 1 to 256 characters/],
      [
        ['--key', key, '--issuer', 'ops', '--cti', hex(15), '--out', out],
        /--cti must be 16 to 64 bytes, got 15/,
      ],
      [
        ['--key', key, '--issuer', 'ops', '--cti', hex(65), '--out', out],
        /--cti must be 16 to 64 bytes, got 65/,
      ],
      [['--key', key, '--issuer', 'ops', '--cti', 'xyz', '--out', out], /--cti must be hex/],
      [['--key', key, '--issuer', 'ops', '--kid', hex(31), '--out', out], /--kid must be 32 bytes/],
      [['--key', key, '--issuer', 'ops', '--kid', 'zz', '--out', out], /--kid must be hex/],
      [
        ['stray', '--key', key, '--issuer', 'ops', '--cti', cti, '--out', out],
        /unknown command "revoke stray"/,
      ],
      [
        ['--key', `${key}.pub`, '--issuer', 'ops', '--cti', cti, '--out', out],
        /E_KEY: --key .*ops\.key\.pub must hold exactly one PEM "PRIVATE KEY"/,
      ],
      [['--key', key, '--issuer', 'ops', '--cti', cti, '--out', out, '--bogus'], /Unknown option '--bogus'/],
    ];
    for (const [argv, message] of bad) {
      const r = await cli(['revoke', ...argv]);
      expect(r.code, argv.join(' ')).toBe(EXIT.USAGE);
      expect(r.stderr, argv.join(' ')).toMatch(message);
    }
    await expect(stat(out)).rejects.toThrow();
  });

  it('revoke --help has an example', async () => {
    const r = await cli(['revoke', '--help']);
    expect(r.code).toBe(EXIT.OK);
    expect(r.stdout).toMatch(/Example:\n {2}execgate revoke --key/);
  });
});
