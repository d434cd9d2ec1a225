// SPDX-License-Identifier: Apache-2.0
// `execgate host init | identity` on a swtpm with EK certificates, in-process (test/cli/helpers.ts):
// the identity document against tpm2_readpublic, EK certificate validation (--ca) against openssl's
// reading of swtpm_setup's certificates, the saved AK pair (--ak-save) loaded by tpm2_load, and the
// one handle parser all commands share.
import { execFile } from 'node:child_process';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ekPublicFromSpki } from '../../agent/attest/ek.js';
import { parseHandle } from '../../agent/cli/args.js';
import { EXIT, UsageError } from '../../agent/cli/exit.js';
import { toHex } from '../../agent/encoding/bytes.js';
import { EvictControl } from '../../agent/tpm/commands.js';
import { TPM_RH } from '../../agent/tpm/constants.js';
import { objectName } from '../../agent/tpm/names.js';
import { marshal } from '../../agent/tpm/schema.js';
import { TPMT_PUBLIC } from '../../agent/tpm/structures.js';
import { signingRsa2048Template } from '../../agent/tpm/templates.js';
import { useSwtpm, writeCaBundle } from '../helpers/swtpm.js';
import {
  createPrimary,
  flushAllTransient,
  openTpm,
  tpm2,
  transientHandles,
  withTempDir,
} from '../tpm/swtpm-kit.js';
import { cli } from './helpers.js';

const swtpm = useSwtpm({ ek: true });
const execFileP = promisify(execFile);

const KEYS = ['akName', 'akQualifiedName', 'akPublicPem', 'akAlg', 'ekPublicPem', 'ekCertificatePem', 'tpm'];

function ca() {
  const files = swtpm().ca;
  if (!files) throw new Error('swtpm without CA');
  return files;
}

/** swtpm_setup's root and intermediate, the bundle an operator of these TPMs would hold. */
const writeBundle = (dir: string) => writeCaBundle(swtpm(), dir);

/** openssl's reading of a certificate: the independent oracle for subjects and validity. */
async function openssl(file: string, inform: 'der' | 'pem') {
  const { stdout } = await execFileP('openssl', [
    'x509',
    '-in',
    file,
    '-inform',
    inform,
    '-noout',
    '-subject',
    '-startdate',
    '-enddate',
    '-nameopt',
    'RFC2253',
  ]);
  const field = (name: string) => new RegExp(`^${name}=(.*)$`, 'm').exec(stdout)?.[1] ?? '';
  return {
    subject: field('subject'),
    notBefore: new Date(field('notBefore')).toISOString(),
    notAfter: new Date(field('notAfter')).toISOString(),
  };
}

async function codeOf(fn: () => unknown): Promise<string> {
  try {
    await fn();
    return 'no error';
  } catch (e) {
    return e instanceof UsageError ? e.code : String(e);
  }
}

describe('execgate host', () => {
  it('host identity --json before init: exit 2 with E_AK_MISSING', async () => {
    const r = await cli(['--tcti', swtpm().tcti, 'host', 'identity', '--json']);
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toContain('E_AK_MISSING');
  });

  it('host init twice keeps the AK; --force makes a new one; identity --json has exactly the documented keys', async () => {
    const tcti = swtpm().tcti;
    const init1 = await cli(['--tcti', tcti, 'host', 'init']);
    expect(init1.stderr).toBe('');
    expect(init1.code).toBe(EXIT.OK);
    expect(init1.stdout).toMatch(/^created AK at 0x81010002\n/);
    const id1 = JSON.parse((await cli(['--tcti', tcti, 'host', 'identity', '--json'])).stdout);
    expect(Object.keys(id1)).toEqual(KEYS);
    expect(Object.keys(id1.tpm)).toEqual(['manufacturer', 'firmwareVersion']);
    expect(id1.akAlg).toBe('ecc'); // the default: the faster quote (BENCHMARKS.md)
    await withTempDir(async (dir) => {
      await tpm2(swtpm(), 'tpm2_readpublic', ['-c', '0x81010002', '-n', `${dir}/name`, '-q', `${dir}/qn`]);
      expect(id1.akName).toBe((await readFile(`${dir}/name`)).toString('hex'));
      expect(id1.akQualifiedName).toBe((await readFile(`${dir}/qn`)).toString('hex'));
    });

    const init2 = await cli(['--tcti', tcti, 'host', 'init', '--json']);
    expect(init2.code).toBe(EXIT.OK);
    expect(JSON.parse(init2.stdout)).toMatchObject({ created: false, akName: id1.akName });

    const forced = await cli(['--tcti', tcti, 'host', 'init', '--force', '--ak-alg', 'rsa', '--json']);
    expect(forced.code).toBe(EXIT.OK);
    const id3 = JSON.parse(forced.stdout);
    expect(id3).toMatchObject({ created: true, akAlg: 'rsa' });
    expect(id3.akName).not.toBe(id1.akName);
    const text = await cli(['--tcti', tcti, 'host', 'identity']);
    expect(text.stdout).toContain(`ak name:      ${id3.akName}`);
    expect(text.stdout).toContain(`ak qualified: ${id3.akQualifiedName}`);
  });

  it('--ak-handle places the AK elsewhere; EXECGATE_TCTI is honoured', async () => {
    const env = { EXECGATE_TCTI: swtpm().tcti };
    expect((await cli(['host', 'init', '--ak-handle', '0x81010020'], env)).code).toBe(EXIT.OK);
    const id = JSON.parse(
      (await cli(['host', 'identity', '--ak-handle', '0x81010020', '--json'], env)).stdout,
    );
    expect(id.akAlg).toBe('ecc');
  });

  it('bad flags: exit 2', async () => {
    const tcti = swtpm().tcti;
    for (const argv of [
      ['host', 'init', '--ak-alg', 'dsa'],
      ['host', 'init', '--ak-handle', 'zz'],
      ['host', 'init', '--ak-handle', '0x80000001'],
      ['host', 'init', '--ak-handle', '81010002'], // bare hex digits: decimal 0x04d40c12, not persistent
      ['host', 'init', '--ak-save', '/tmp', '--ak-handle', '0x81010002'],
      ['host', 'identity', 'extra'],
      ['host', 'identity', '--ek-quirk', 'no-eku'], // a quirk means nothing without --ca
      ['host', 'identity', '--ek-cert', 'x.der'],
      ['host', 'identity', '--ca', '/nonexistent.pem'],
      ['host', 'identity', '--ca', '/dev/null', '--ek-quirk', 'lenient'],
      ['host', 'frobnicate'],
    ]) {
      const r = await cli(['--tcti', tcti, ...argv]);
      expect(r.code, argv.join(' ')).toBe(EXIT.USAGE);
    }
  });

  it('execgate quote signs with the host AK of host init (default handle, --ak-handle); a non-AK or empty handle is refused', async () => {
    const tcti = swtpm().tcti;
    const nonce = '0011223344556677';
    expect(
      (await cli(['--tcti', tcti, 'host', 'init', '--ak-handle', '0x81010041', '--ak-alg', 'ecc'])).code,
    ).toBe(EXIT.OK);
    expect((await cli(['--tcti', tcti, 'host', 'init'])).code).toBe(EXIT.OK);
    await withTempDir(async (dir) => {
      for (const handle of [undefined, '0x81010041']) {
        const at = handle === undefined ? [] : ['--ak-handle', handle];
        const id = JSON.parse((await cli(['--tcti', tcti, 'host', 'identity', ...at, '--json'])).stdout);
        const ak = join(dir, 'ak.pem');
        await writeFile(ak, id.akPublicPem);
        // One bundle per AK: quote --out does not replace a file without --force.
        const bundle = join(dir, `q-${handle ?? 'default'}.cbor`);
        const made = await cli(['--tcti', tcti, 'quote', ...at, '--nonce', nonce, '--out', bundle]);
        expect(made.stderr).toBe('');
        expect(made.code).toBe(EXIT.OK);
        const v = await cli(['quote', 'verify', bundle, '--ak', ak, '--nonce', nonce, '--json']);
        expect(v.code, v.stdout).toBe(EXIT.OK);
        // The quote's qualifiedSigner is the AK's qualified Name under the EK, as the TPM reports it.
        await tpm2(swtpm(), 'tpm2_readpublic', ['-c', handle ?? '0x81010002', '-q', join(dir, 'qn')]);
        expect(JSON.parse(v.stdout).qualifiedSigner).toBe((await readFile(join(dir, 'qn'))).toString('hex'));
      }
    });
    // A persistent object that is not an AK (an unrestricted signing key), and an empty handle.
    const tpm = openTpm(swtpm());
    try {
      const key = await createPrimary(tpm, TPM_RH.OWNER, signingRsa2048Template());
      try {
        await tpm.run(EvictControl, {
          auth: TPM_RH.OWNER,
          objectHandle: key.objectHandle,
          persistentHandle: 0x81010042,
        });
      } finally {
        await tpm.flush(key.objectHandle);
      }
      const notAk = await cli(['--tcti', tcti, 'quote', '--ak-handle', '0x81010042']);
      expect(notAk.code).toBe(EXIT.USAGE);
      expect(notAk.stderr).toContain('E_AK_INVALID');
      const empty = await cli(['--tcti', tcti, 'quote', '--ak-handle', '0x81010043']);
      expect(empty.code).toBe(EXIT.USAGE);
      expect(empty.stderr).toContain('E_AK_MISSING');
      expect(await transientHandles(tpm)).toEqual([]);
    } finally {
      await tpm.close();
    }
  });
});

describe('one handle parser (host, quote, credential, evidence flags)', () => {
  it('0x-hex and decimal name the same persistent handle; anything else is a UsageError', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff_ffff }), (h) => {
        const forms = [`0x${h.toString(16)}`, `0x${h.toString(16).toUpperCase()}`, String(h)];
        for (const form of forms) {
          if (Math.floor(h / 0x100_0000) === 0x81) expect(parseHandle(form, '--h')).toBe(h);
          else expect(() => parseHandle(form, '--h')).toThrow(UsageError);
        }
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 14 }), (text) => {
        try {
          const h = parseHandle(text, '--h');
          // Accepted text reads back to the same number by the two spellings tpm2-tools takes.
          expect(text.startsWith('0x') ? Number.parseInt(text.slice(2), 16) : Number.parseInt(text, 10)).toBe(
            h,
          );
          expect(Math.floor(h / 0x100_0000)).toBe(0x81);
        } catch (e) {
          expect(e).toBeInstanceOf(UsageError);
        }
      }),
    );
  });

  it('refuses what tpm2-tools would read otherwise or what is not a handle', async () => {
    for (const bad of [
      '81010002',
      '081010002',
      '0x',
      '0x181010002',
      '4294967296',
      '0o2',
      ' 0x81010002',
      '-1',
      '',
    ])
      expect(await codeOf(() => parseHandle(bad, '--ak-handle')), bad).toBe('E_USAGE');
    expect(parseHandle('2164326402', '--ak-handle')).toBe(0x81010002);
  });

  it('host and quote both take a decimal handle and both refuse a transient one', async () => {
    const tcti = swtpm().tcti;
    const init = await cli(['--tcti', tcti, 'host', 'init', '--ak-handle', String(0x81010051), '--json']);
    expect(init.code, init.stderr).toBe(EXIT.OK);
    expect(JSON.parse(init.stdout).akHandle).toBe('0x81010051');
    const q = await cli(['--tcti', tcti, 'quote', '--ak-handle', String(0x81010051), '--pcrs', 'sha256:0']);
    expect(q.code, q.stderr).toBe(EXIT.OK);
    for (const group of [['host', 'identity'], ['quote'], ['credential', 'activate', '--in', 'x']]) {
      const r = await cli(['--tcti', tcti, ...group, '--ak-handle', '0x80000001']);
      expect(r.code, group.join(' ')).toBe(EXIT.USAGE);
      expect(r.stderr).toMatch(/^execgate: E_USAGE: --ak-handle must be a persistent handle/);
    }
  });
});

describe('host identity --ca: the EK certificate validated', () => {
  it("NV certificate against swtpm_setup's CA: its critical SAN quirk must be accepted by name; chain and validity as openssl reads them", async () => {
    const tcti = swtpm().tcti;
    expect((await cli(['--tcti', tcti, 'host', 'init'])).code).toBe(EXIT.OK);
    await withTempDir(async (dir) => {
      const bundle = await writeBundle(dir);
      // Not accepted: exit 7, the identity still printed, the quirk and the flag to accept it named.
      const strict = await cli(['--tcti', tcti, 'host', 'identity', '--ca', bundle]);
      expect(strict.code).toBe(EXIT.EVIDENCE_INVALID);
      expect(strict.stdout).toMatch(/^ak name: /);
      expect(strict.stderr).toMatch(
        /^execgate: E_EK_CERT_CHAIN: .*"critical-san-with-subject".*--ek-quirk critical-san-with-subject/,
      );
      const strictJson = await cli(['--tcti', tcti, 'host', 'identity', '--ca', bundle, '--json']);
      expect(strictJson.code).toBe(EXIT.EVIDENCE_INVALID);
      expect(JSON.parse(strictJson.stdout).ekCertificate).toMatchObject({
        valid: false,
        source: 'NV',
        code: 'E_EK_CERT_CHAIN',
      });

      const ok = await cli([
        ...['--tcti', tcti, 'host', 'identity', '--ca', bundle],
        ...['--ek-quirk', 'critical-san-with-subject', '--ek-quirk', 'no-eku', '--json'],
      ]);
      expect(ok.stderr).toBe('');
      expect(ok.code).toBe(EXIT.OK);
      const doc = JSON.parse(ok.stdout);
      expect(Object.keys(doc)).toEqual([...KEYS, 'ekCertificate']);
      expect(Object.keys(doc.ekCertificate)).toEqual(['valid', 'source', 'chain', 'quirks']);
      expect(doc.ekCertificate.quirks).toEqual(['critical-san-with-subject']);
      const leaf = await openssl(ca().ekCertRsa, 'der');
      const issuer = await openssl(ca().issuerCert, 'pem');
      const root = await openssl(ca().rootCert, 'pem');
      expect(doc.ekCertificate.chain).toEqual([
        { ...leaf, issuer: issuer.subject },
        { ...issuer, issuer: root.subject },
        { ...root, issuer: root.subject },
      ]);
      expect(leaf.subject).toBe('CN=unknown');

      const text = await cli([
        ...['--tcti', tcti, 'host', 'identity', '--ca', bundle],
        ...['--ek-quirk', 'critical-san-with-subject'],
      ]);
      expect(text.code).toBe(EXIT.OK);
      expect(text.stdout).toContain(
        'ek cert check: valid, from NV, quirks accepted: critical-san-with-subject\n  CN=unknown  ',
      );

      // The root alone is no path to the EK certificate (its intermediate is missing).
      const rootOnly = await cli([
        ...['--tcti', tcti, 'host', 'identity', '--ca', ca().rootCert],
        ...['--ek-quirk', 'critical-san-with-subject'],
      ]);
      expect(rootOnly.code).toBe(EXIT.EVIDENCE_INVALID);
      expect(rootOnly.stderr).toMatch(/^execgate: E_EK_CERT_CHAIN: no certificate in the CA bundle/);
    });
  });

  it("--ek-cert FILE (DER or PEM) instead of NV: still checked against this TPM's EK; garbage is E_EK_CERT_PARSE", async () => {
    const tcti = swtpm().tcti;
    expect((await cli(['--tcti', tcti, 'host', 'init'])).code).toBe(EXIT.OK);
    await withTempDir(async (dir) => {
      const bundle = await writeBundle(dir);
      const pem = join(dir, 'ek.pem');
      await execFileP('openssl', ['x509', '-in', ca().ekCertRsa, '-inform', 'der', '-out', pem]);
      const idWith = (...more: string[]) =>
        cli([
          '--tcti',
          tcti,
          'host',
          'identity',
          '--ca',
          bundle,
          '--ek-quirk',
          'critical-san-with-subject',
          ...more,
        ]);
      for (const file of [ca().ekCertRsa, pem]) {
        const r = await idWith('--ek-cert', file, '--json');
        expect(r.code, r.stdout).toBe(EXIT.OK);
        expect(JSON.parse(r.stdout).ekCertificate).toMatchObject({ valid: true, source: file });
      }
      // A valid certificate from the same CA, but of the P-384 EK: not this (RSA) EK's.
      const other = await idWith('--ek-cert', ca().ekCertEcc);
      expect(other.code).toBe(EXIT.EVIDENCE_INVALID);
      expect(other.stderr).toMatch(/^execgate: E_EK_CERT_KEY: /);
      await writeFile(join(dir, 'junk.der'), Buffer.from([0x30, 0x03, 0x02, 0x01, 0x00]));
      const junk = await idWith('--ek-cert', join(dir, 'junk.der'), '--json');
      expect(junk.code).toBe(EXIT.EVIDENCE_INVALID);
      expect(JSON.parse(junk.stdout).ekCertificate).toMatchObject({ valid: false, code: 'E_EK_CERT_PARSE' });
    });
  });

  it('a SHA-1-signed EK certificate: E_EK_CERT_ALG (exit 7) unless --ek-quirk sha1-signature names it', async () => {
    const tcti = swtpm().tcti;
    expect((await cli(['--tcti', tcti, 'host', 'init'])).code).toBe(EXIT.OK);
    await withTempDir(async (dir) => {
      const id = await cli(['--tcti', tcti, 'host', 'identity', '--json']);
      await writeFile(join(dir, 'ek.pub.pem'), JSON.parse(id.stdout).ekPublicPem);
      const ssl = (...args: string[]) => execFileP('openssl', args, { cwd: dir });
      // A legacy vendor CA (P-256 root) that signs this TPM's EK with SHA-1.
      await ssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'root.key');
      await writeFile(
        join(dir, 'ext'),
        [
          '[ca]',
          'basicConstraints = critical,CA:TRUE',
          'keyUsage = critical,keyCertSign',
          '[ek]',
          'basicConstraints = critical,CA:FALSE',
          'keyUsage = critical,keyEncipherment',
          'extendedKeyUsage = 2.23.133.8.1',
          '',
        ].join('\n'),
      );
      await ssl('req', '-new', '-key', 'root.key', '-subj', '/CN=legacy root', '-out', 'root.csr');
      await ssl(
        'x509',
        '-req',
        '-in',
        'root.csr',
        '-signkey',
        'root.key',
        '-days',
        '30',
        '-sha256',
        '-extfile',
        'ext',
        '-extensions',
        'ca',
        '-out',
        'root.pem',
      );
      await ssl('req', '-new', '-key', 'root.key', '-subj', '/CN=legacy EK', '-out', 'ek.csr');
      await ssl(
        'x509',
        '-req',
        '-in',
        'ek.csr',
        '-CA',
        'root.pem',
        '-CAkey',
        'root.key',
        '-set_serial',
        '7',
        '-force_pubkey',
        'ek.pub.pem',
        '-days',
        '30',
        '-sha1',
        '-extfile',
        'ext',
        '-extensions',
        'ek',
        '-out',
        'ek.pem',
      );
      const base = [
        '--tcti',
        tcti,
        'host',
        'identity',
        '--ca',
        join(dir, 'root.pem'),
        '--ek-cert',
        join(dir, 'ek.pem'),
      ];
      const refused = await cli(base);
      expect(refused.code).toBe(EXIT.EVIDENCE_INVALID);
      expect(refused.stderr).toMatch(
        /^execgate: E_EK_CERT_ALG: the EK certificate is signed with ecdsa-with-SHA1.*"sha1-signature"/,
      );
      const accepted = await cli([...base, '--ek-quirk', 'sha1-signature', '--json']);
      expect(accepted.code, accepted.stderr).toBe(EXIT.OK);
      expect(JSON.parse(accepted.stdout).ekCertificate).toMatchObject({
        valid: true,
        quirks: ['sha1-signature'],
      });
    });
  });

  it('no certificate in NV (the P-256 EK has none on swtpm): E_EK_CERT_MISSING pointing to --ek-cert', async () => {
    const tcti = swtpm().tcti;
    const at = ['--ak-handle', '0x81010052', '--ek-alg', 'eccP256'];
    expect((await cli(['--tcti', tcti, 'host', 'init', ...at, '--ak-alg', 'ecc'])).code).toBe(EXIT.OK);
    await withTempDir(async (dir) => {
      const bundle = await writeBundle(dir);
      const r = await cli(['--tcti', tcti, 'host', 'identity', ...at, '--ca', bundle]);
      expect(r.code).not.toBe(EXIT.OK);
      expect(r.stderr).toMatch(
        /^execgate: E_EK_CERT_MISSING: this TPM has no eccP256 EK certificate in NV.*--ek-cert FILE/,
      );
      const json = await cli(['--tcti', tcti, 'host', 'identity', ...at, '--ca', bundle, '--json']);
      expect(json.code).toBe(r.code);
      expect(JSON.parse(json.stdout).ekCertificate).toMatchObject({
        valid: false,
        code: 'E_EK_CERT_MISSING',
      });
    });
  });
});

describe('host init --ak-save DIR: the AK as a TPM2B_PUBLIC/TPM2B_PRIVATE pair', () => {
  it('tpm2_load loads the pair under the EK with the same Name and qualified Name; execgate quote uses it and flushes it', async () => {
    const tcti = swtpm().tcti;
    await withTempDir(async (dir) => {
      const save = join(dir, 'ak');
      const made = await cli([
        '--tcti',
        tcti,
        'host',
        'init',
        '--ak-save',
        save,
        '--ak-alg',
        'ecc',
        '--json',
      ]);
      expect(made.stderr).toBe('');
      expect(made.code).toBe(EXIT.OK);
      const doc = JSON.parse(made.stdout);
      expect(doc).toMatchObject({
        created: true,
        akAlg: 'ecc',
        ekAlg: 'rsa2048',
        akPublic: join(save, 'ak.pub'),
      });
      expect((await stat(join(save, 'ak.priv'))).mode & 0o777).toBe(0o600);
      expect((await readFile(join(save, 'ak.name'))).toString('hex')).toBe(doc.akName);
      expect(await readFile(join(save, 'ak.pem'), 'utf8')).toBe(doc.akPublicPem);

      // The oracle: tpm2-tools loads the files under the persistent RSA EK (PolicySecret(endorsement)).
      await tpm2(swtpm(), 'tpm2_startauthsession', ['--policy-session', '-S', 's.ctx'], dir);
      await tpm2(swtpm(), 'tpm2_policysecret', ['-S', 's.ctx', '-c', 'e'], dir);
      await tpm2(
        swtpm(),
        'tpm2_load',
        ['-C', '0x81010001', '-u', 'ak/ak.pub', '-r', 'ak/ak.priv', '-c', 'ak.ctx', '-P', 'session:s.ctx'],
        dir,
      );
      await tpm2(
        swtpm(),
        'tpm2_readpublic',
        ['-c', 'ak.ctx', '-n', 'name', '-q', 'qn', '-f', 'pem', '-o', 'their.pem'],
        dir,
      );
      expect((await readFile(join(dir, 'name'))).toString('hex')).toBe(doc.akName);
      expect((await readFile(join(dir, 'qn'))).toString('hex')).toBe(doc.akQualifiedName);
      expect(await readFile(join(dir, 'their.pem'), 'utf8')).toBe(doc.akPublicPem);
      const tpm = openTpm(swtpm());
      try {
        await tpm2(swtpm(), 'tpm2_flushcontext', ['-s'], dir);
        await flushAllTransient(tpm);

        const bundle = join(dir, 'q.cbor');
        const nonce = '0123456789abcdef';
        const q = await cli([
          ...[
            '--tcti',
            tcti,
            'quote',
            '--ak-public',
            join(save, 'ak.pub'),
            '--ak-private',
            join(save, 'ak.priv'),
          ],
          ...['--pcrs', 'sha256:0-7', '--nonce', nonce, '--out', bundle],
        ]);
        expect(q.stderr).toBe('');
        expect(q.code).toBe(EXIT.OK);
        expect(await transientHandles(tpm)).toEqual([]);
        const v = await cli([
          ...['quote', 'verify', bundle, '--ak', join(save, 'ak.pem'), '--nonce', nonce],
          ...['--ak-qualified-name', doc.akQualifiedName, '--json'],
        ]);
        expect(v.code, v.stdout).toBe(EXIT.OK);
        expect(JSON.parse(v.stdout).qualifiedSigner).toBe(doc.akQualifiedName);
      } finally {
        await tpm.close();
      }

      // Files are not replaced without --force; with it, a new AK.
      const again = await cli(['--tcti', tcti, 'host', 'init', '--ak-save', save]);
      expect(again.code).toBe(EXIT.USAGE);
      expect(again.stderr).toMatch(/ak\.pub exists; --force replaces it/);
      const forced = await cli(['--tcti', tcti, 'host', 'init', '--ak-save', save, '--force', '--json']);
      expect(forced.code).toBe(EXIT.OK);
      const doc2 = JSON.parse(forced.stdout);
      expect(doc2.akName).not.toBe(doc.akName);
      expect((await readFile(join(save, 'ak.name'))).toString('hex')).toBe(doc2.akName);
    });
  });
});

describe('host init pins the EK (host.json)', () => {
  it('records the EK; a different pin is refused by init and identity (E_EK_MISMATCH, exit 5) until init --force re-pins; a malformed file is a usage error', async () => {
    const tcti = swtpm().tcti;
    await withTempDir(async (dir) => {
      const state = join(dir, 'state');
      const base = ['--tcti', tcti, 'host'];
      const h = ['--ak-handle', '0x81010040', '--state-dir', state];
      const init = await cli([...base, 'init', ...h, '--json']);
      expect(init.stderr).toBe('');
      expect(init.code).toBe(EXIT.OK);
      const doc = JSON.parse(await readFile(join(state, 'host.json'), 'utf8'));
      const ek = ekPublicFromSpki(JSON.parse(init.stdout).ekPublicPem).public;
      expect(doc).toEqual({
        version: 1,
        ek: {
          rsa2048: {
            public: toHex(marshal(TPMT_PUBLIC, ek)),
            name: toHex(objectName(ek)),
            trust: 'first-use',
          },
        },
        // The AK, pinned in the same write (host-init-ak-pin.test.ts checks it in depth).
        ak: {
          handle: '0x81010040',
          public: expect.stringMatching(/^[0-9a-f]+$/),
          name: JSON.parse(init.stdout).akName,
        },
      });
      expect((await stat(join(state, 'host.json'))).mode & 0o777).toBe(0o644);
      const saved = await cli([...base, 'init', '--ak-save', join(dir, 'ak'), '--state-dir', state]);
      expect(saved.code).toBe(EXIT.OK);

      // Another RSA EK pinned (as if this TPM's answers came from an interposer):
      const other = { ...ek, unique: new Uint8Array(256).fill(7) } as typeof ek;
      doc.ek.rsa2048 = { public: toHex(marshal(TPMT_PUBLIC, other)), name: toHex(objectName(other)) };
      await writeFile(join(state, 'host.json'), JSON.stringify(doc));
      for (const argv of [
        [...base, 'init', ...h],
        [...base, 'identity', ...h],
        [...base, 'init', '--ak-save', join(dir, 'ak2'), '--state-dir', state],
        [
          '--tcti',
          tcti,
          'quote',
          '--ak-public',
          join(dir, 'ak', 'ak.pub'),
          '--ak-private',
          join(dir, 'ak', 'ak.priv'),
        ],
      ]) {
        const r = await cli(argv, { EXECGATE_STATE_DIR: state });
        expect(r.stderr, argv.join(' ')).toContain('E_EK_MISMATCH');
        expect(r.code, argv.join(' ')).toBe(EXIT.TPM_PROTOCOL);
      }
      // quote's --state-dir is read before EXECGATE_STATE_DIR (which names an empty directory here).
      const flagged = await cli(
        [
          ...['--tcti', tcti, 'quote', '--ak-public', join(dir, 'ak', 'ak.pub')],
          ...['--ak-private', join(dir, 'ak', 'ak.priv'), '--state-dir', state],
        ],
        { EXECGATE_STATE_DIR: join(dir, 'empty') },
      );
      expect(flagged.stderr).toContain('E_EK_MISMATCH');
      expect((await cli([...base, 'init', ...h, '--force'])).code).toBe(EXIT.OK);
      expect(JSON.parse(await readFile(join(state, 'host.json'), 'utf8')).ek.rsa2048.name).toBe(
        toHex(objectName(ek)),
      );
      expect((await cli([...base, 'identity', ...h])).code).toBe(EXIT.OK);
      const quoted = await cli(
        [
          '--tcti',
          tcti,
          'quote',
          '--ak-public',
          join(dir, 'ak', 'ak.pub'),
          '--ak-private',
          join(dir, 'ak', 'ak.priv'),
        ],
        { EXECGATE_STATE_DIR: state },
      );
      // Without --out the bundle goes to stdout and only its nonce to stderr (issue 15).
      expect(quoted.stderr).toMatch(/^nonce [0-9a-f]{40} \(quote verify BUNDLE --nonce [0-9a-f]{40}\)\n$/);
      expect(quoted.code).toBe(EXIT.OK);

      await writeFile(join(state, 'host.json'), '{"version":1,"ek":{"rsa2048":{"public":"00","name":"00"}}}');
      const bad = await cli([...base, 'identity', ...h]);
      expect(bad.code).toBe(EXIT.USAGE);
      expect(bad.stderr).toContain('host.json');
    });
  });
});
