// SPDX-License-Identifier: Apache-2.0
// EK certificate validation (TCG EK Credential Profile §3) against swtpm_setup's private local CA, and
// against certificates made here with @peculiar/x509: another CA (even one with the same name), each
// tolerated vendor quirk by name, wrong key, wrong time, missing intermediate, garbage; and the algorithm
// and constraint policy (key sizes, curves, SHA-1, pathLen, critical extensions at every level, leaf
// keyUsage, TBS signature algorithm) against chains made with openssl.
import { execFile } from 'node:child_process';
import { createPrivateKey, sign, webcrypto } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type * as X509 from '@peculiar/x509';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EkAlg, readEkCertificate, spkiDerOf, withEk } from '../../agent/attest/ek.js';
import { type EkCertQuirk, inspectEkCertificate, validateEkCertificate } from '../../agent/attest/ek-cert.js';
import { x509 } from '../../agent/attest/x509.js';
import { ExecgateError } from '../../agent/errors.js';
import type { TPMT_PUBLIC } from '../../agent/tpm/structures.js';
import { useSwtpm } from '../helpers/swtpm.js';
import { openTpm } from '../tpm/swtpm-kit.js';

const swtpm = useSwtpm({ ek: true });

interface TpmFacts {
  bundle: string;
  cert: Record<'rsa2048' | 'eccP384', Uint8Array>;
  ek: Record<'rsa2048' | 'eccP384', TPMT_PUBLIC>;
}
let facts: TpmFacts;

beforeAll(async () => {
  const tpm = openTpm(swtpm());
  const ca = swtpm().ca;
  if (!ca) throw new Error('swtpm without CA');
  const read = async (alg: EkAlg) => {
    const c = await readEkCertificate(tpm, alg);
    if (!c) throw new Error(`no ${alg} EK certificate`);
    return c;
  };
  const pub = (alg: EkAlg) => withEk(tpm, alg, async (ek) => ek.public);
  facts = {
    bundle: (await readFile(ca.rootCert, 'utf8')) + (await readFile(ca.issuerCert, 'utf8')),
    cert: { rsa2048: await read('rsa2048'), eccP384: await read('eccP384') },
    ek: { rsa2048: await pub('rsa2048'), eccP384: await pub('eccP384') },
  };
});

async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  const err = await p.then(
    () => new Error('resolved, expected a rejection'),
    (e: unknown) => e,
  );
  expect(err instanceof ExecgateError ? err.code : String(err)).toBe(code);
}

// ── A CA of our own ─────────────────────────────────────────────────────────────────────────────────
const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const DAY = 86_400_000;
const notBefore = new Date(Date.now() - DAY);
const notAfter = new Date(Date.now() + 365 * DAY);

async function makeCa(name: string) {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name,
    keys,
    notBefore,
    notAfter,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    ],
  });
  return { keys, cert };
}

type Ca = Awaited<ReturnType<typeof makeCa>>;

async function issue(ca: Ca, spki: Uint8Array, extensions: X509.Extension[], subject = 'CN=test EK') {
  return x509.X509CertificateGenerator.create({
    subject,
    issuer: ca.cert.subject,
    notBefore,
    notAfter,
    signingAlgorithm: ALG,
    publicKey: Uint8Array.from(spki),
    signingKey: ca.keys.privateKey,
    // The EK is RSA here: keyEncipherment (§3.2.7), which validation requires of every EK certificate.
    extensions: [new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyEncipherment, true), ...extensions],
  });
}

const ekEku = () => new x509.ExtendedKeyUsageExtension(['2.23.133.8.1'], false);
const der = (c: X509.X509Certificate) => new Uint8Array(c.rawData);

describe("swtpm_setup's local CA", () => {
  it.each(['rsa2048', 'eccP384'] as const)(
    'the %s EK certificate from NV validates against root + intermediate and certifies the TPM EK',
    async (alg) => {
      const r = await validateEkCertificate({
        certificate: facts.cert[alg],
        bundle: facts.bundle,
        ekPublic: facts.ek[alg],
      });
      expect(r.chain.map((c) => c.subject)).toEqual([
        'CN=unknown',
        'CN=swtpm-localca',
        'CN=swtpm-localca-rootca',
      ]);
    },
  );

  it('quirk "critical-san-with-subject": swtpm_setup marks its TPM-model SAN critical with subject CN=unknown', async () => {
    const cert = new x509.X509Certificate(Uint8Array.from(facts.cert.rsa2048));
    const san = cert.extensions.find((e) => e.type === '2.5.29.17');
    expect(san?.critical).toBe(true);
    expect(cert.subject).not.toBe('');
    const r = await validateEkCertificate({ certificate: facts.cert.rsa2048, bundle: facts.bundle });
    expect(r.quirks).toEqual(['critical-san-with-subject'] satisfies EkCertQuirk[]);
  });

  it("the RSA EK's certificate does not certify the P-384 EK: E_EK_CERT_KEY", async () => {
    await expectCode(
      validateEkCertificate({
        certificate: facts.cert.rsa2048,
        bundle: facts.bundle,
        ekPublic: facts.ek.eccP384,
      }),
      'E_EK_CERT_KEY',
    );
  });

  it('without the intermediate in the bundle there is no path: E_EK_CERT_CHAIN', async () => {
    const ca = swtpm().ca;
    if (!ca) throw new Error('swtpm without CA');
    await expectCode(
      validateEkCertificate({ certificate: facts.cert.rsa2048, bundle: await readFile(ca.rootCert, 'utf8') }),
      'E_EK_CERT_CHAIN',
    );
  });

  it('before the certificate is valid: E_EK_CERT_CHAIN', async () => {
    await expectCode(
      validateEkCertificate({
        certificate: facts.cert.rsa2048,
        bundle: facts.bundle,
        now: new Date('2000-01-01'),
      }),
      'E_EK_CERT_CHAIN',
    );
  });

  it('a flipped signature bit: E_EK_CERT_CHAIN', async () => {
    const bad = Uint8Array.from(facts.cert.rsa2048);
    bad[bad.length - 1] = (bad[bad.length - 1] ?? 0) ^ 1;
    await expectCode(validateEkCertificate({ certificate: bad, bundle: facts.bundle }), 'E_EK_CERT_CHAIN');
  });

  it('garbage as the certificate or the bundle: E_EK_CERT_PARSE', async () => {
    await expectCode(
      validateEkCertificate({ certificate: new Uint8Array([0x30, 1, 2]), bundle: facts.bundle }),
      'E_EK_CERT_PARSE',
    );
    await expectCode(
      validateEkCertificate({ certificate: facts.cert.rsa2048, bundle: 'no PEM here' }),
      'E_EK_CERT_PARSE',
    );
  });
});

describe('inspectEkCertificate (execgate doctor, no CA bundle)', () => {
  const inspect = (cert: Uint8Array, ek: TPMT_PUBLIC, now?: Date) =>
    Promise.resolve().then(() => inspectEkCertificate(cert, ek, now));

  it("the NV certificate of this TPM's EK: its names and end of validity", () => {
    const c = inspectEkCertificate(facts.cert.rsa2048, facts.ek.rsa2048);
    expect(c).toMatchObject({ subject: 'CN=unknown', issuer: 'CN=swtpm-localca' });
    expect(c.notAfter.getTime()).toBeGreaterThan(Date.now());
  });

  it('another EK, another time, garbage: E_EK_CERT_KEY, E_EK_CERT_CHAIN, E_EK_CERT_PARSE', async () => {
    await expectCode(inspect(facts.cert.rsa2048, facts.ek.eccP384), 'E_EK_CERT_KEY');
    await expectCode(
      inspect(facts.cert.rsa2048, facts.ek.rsa2048, new Date('2000-01-01')),
      'E_EK_CERT_CHAIN',
    );
    await expectCode(inspect(new Uint8Array([0x30, 1, 2]), facts.ek.rsa2048), 'E_EK_CERT_PARSE');
  });
});

describe('another CA', () => {
  it('a certificate of the same EK from another CA (named like the real intermediate) does not validate against the swtpm bundle', async () => {
    const other = await makeCa('CN=swtpm-localca');
    const forged = await issue(other, spkiDerOf(facts.ek.rsa2048), [ekEku()]);
    expect(forged.issuer).toBe('CN=swtpm-localca');
    await expectCode(
      validateEkCertificate({ certificate: der(forged), bundle: facts.bundle, ekPublic: facts.ek.rsa2048 }),
      'E_EK_CERT_CHAIN',
    );
    // ... while it does validate against its own CA: the rejection is about the chain only.
    const own = await validateEkCertificate({
      certificate: der(forged),
      bundle: [der(other.cert)],
      ekPublic: facts.ek.rsa2048,
    });
    expect(own.chain).toHaveLength(2);
    expect(own.quirks).toEqual([]);
  });

  it("the swtpm EK certificate does not validate against another CA's bundle", async () => {
    const other = await makeCa('CN=other root');
    await expectCode(
      validateEkCertificate({ certificate: facts.cert.rsa2048, bundle: [der(other.cert)] }),
      'E_EK_CERT_CHAIN',
    );
  });

  it('an issuer that is not a CA (no basicConstraints cA) is refused: E_EK_CERT_CHAIN', async () => {
    const keys = (await webcrypto.subtle.generateKey(ALG, true, [
      'sign',
      'verify',
    ])) as webcrypto.CryptoKeyPair;
    const notCa = await x509.X509CertificateGenerator.createSelfSigned({
      name: 'CN=not a CA',
      keys,
      notBefore,
      notAfter,
      signingAlgorithm: ALG,
    });
    const leaf = await issue({ keys, cert: notCa }, spkiDerOf(facts.ek.rsa2048), [ekEku()]);
    await expectCode(
      validateEkCertificate({ certificate: der(leaf), bundle: [der(notCa)] }),
      'E_EK_CERT_CHAIN',
    );
  });
});

describe('tolerated quirks, each by name, and what stays refused', () => {
  let ca: Ca;
  beforeAll(async () => {
    ca = await makeCa('CN=vendor root');
  });
  const validate = (c: X509.X509Certificate) =>
    validateEkCertificate({ certificate: der(c), bundle: [der(ca.cert)], ekPublic: facts.ek.rsa2048 });

  it('quirk "critical-tcg-extension": a critical subjectDirectoryAttributes (TCG profile §3.2.10) is tolerated', async () => {
    const sda = new x509.Extension('2.5.29.9', true, new Uint8Array([0x30, 0x00]));
    const r = await validate(await issue(ca, spkiDerOf(facts.ek.rsa2048), [ekEku(), sda]));
    expect(r.quirks).toEqual(['critical-tcg-extension']);
  });

  it('an unknown critical extension outside the TCG profile is refused: E_EK_CERT_CHAIN', async () => {
    const odd = new x509.Extension('1.3.6.1.4.1.99999.1', true, new Uint8Array([0x05, 0x00]));
    await expectCode(
      validate(await issue(ca, spkiDerOf(facts.ek.rsa2048), [ekEku(), odd])),
      'E_EK_CERT_CHAIN',
    );
  });

  it('quirk "no-eku": a certificate without extendedKeyUsage is tolerated', async () => {
    const r = await validate(await issue(ca, spkiDerOf(facts.ek.rsa2048), []));
    expect(r.quirks).toEqual(['no-eku']);
  });

  it('an extendedKeyUsage without tcg-kp-EKCertificate is refused: E_EK_CERT_CHAIN', async () => {
    const serverAuth = new x509.ExtendedKeyUsageExtension(['1.3.6.1.5.5.7.3.1'], false);
    await expectCode(validate(await issue(ca, spkiDerOf(facts.ek.rsa2048), [serverAuth])), 'E_EK_CERT_CHAIN');
  });
});

// ── The algorithm and constraint policy, against chains made with openssl ───────────────────────────
const run = promisify(execFile);

type KeySpec = 'rsa1024' | 'rsa2048' | 'p256' | 'p384';
interface Made {
  readonly name: string;
  readonly pem: string;
}

/** A certificate authority workshop in a temporary directory, driven by the openssl command. */
class Openssl {
  private constructor(readonly dir: string) {}
  static async open(): Promise<Openssl> {
    return new Openssl(await mkdtemp(join(tmpdir(), 'execgate-ek-cert-')));
  }
  private serial = 1;
  private async openssl(...args: string[]): Promise<void> {
    await run('openssl', args, { cwd: this.dir });
  }
  private async key(name: string, spec: KeySpec): Promise<void> {
    const opts =
      spec === 'rsa1024' || spec === 'rsa2048'
        ? ['-algorithm', 'RSA', '-pkeyopt', `rsa_keygen_bits:${spec.slice(3)}`]
        : ['-algorithm', 'EC', '-pkeyopt', `ec_paramgen_curve:${spec === 'p256' ? 'P-256' : 'P-384'}`];
    await this.openssl('genpkey', ...opts, '-out', `${name}.key`);
  }
  /** Makes `name` (key `spec`, subject CN=name) with the extension lines `ext`, signed by `issuer` or itself. */
  async cert(
    name: string,
    spec: KeySpec,
    ext: readonly string[],
    issuer?: Made,
    digest: 'sha1' | 'sha256' = 'sha256',
  ): Promise<Made> {
    await this.key(name, spec);
    await writeFile(join(this.dir, `${name}.ext`), ['[v3]', ...ext, ''].join('\n'));
    await this.openssl('req', '-new', '-key', `${name}.key`, '-subj', `/CN=${name}`, '-out', `${name}.csr`);
    const signer = issuer
      ? ['-CA', `${issuer.name}.pem`, '-CAkey', `${issuer.name}.key`]
      : ['-signkey', `${name}.key`];
    await this.openssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      ...signer,
      '-set_serial',
      String(this.serial++),
      '-days',
      '30',
      `-${digest}`,
      '-extfile',
      `${name}.ext`,
      '-extensions',
      'v3',
      '-out',
      `${name}.pem`,
    );
    return { name, pem: await readFile(join(this.dir, `${name}.pem`), 'utf8') };
  }
  async privateKey(made: Made) {
    return createPrivateKey(await readFile(join(this.dir, `${made.name}.key`), 'utf8'));
  }
  async close(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

const CA_EXT = ['basicConstraints = critical,CA:TRUE', 'keyUsage = critical,keyCertSign,cRLSign'];
const RSA_EK_EXT = [
  'basicConstraints = critical,CA:FALSE',
  'keyUsage = critical,keyEncipherment',
  'extendedKeyUsage = 2.23.133.8.1',
];
const ECC_EK_EXT = [
  'basicConstraints = critical,CA:FALSE',
  'keyUsage = critical,keyAgreement',
  'extendedKeyUsage = 2.23.133.8.1',
];
/** A minute ahead: openssl sets notBefore to the second it signs. */
const soon = () => new Date(Date.now() + 60_000);

describe('algorithm and constraint policy (chains made by openssl)', () => {
  let ssl: Openssl;
  let root: Made;
  let inter: Made;
  beforeAll(async () => {
    ssl = await Openssl.open();
    root = await ssl.cert('root', 'p256', CA_EXT);
    inter = await ssl.cert('inter', 'p256', CA_EXT, root);
  });
  afterAll(async () => {
    await ssl.close();
  });
  const check = (leaf: Made, cas: readonly Made[], accept?: readonly EkCertQuirk[]) =>
    validateEkCertificate({
      certificate: leaf.pem,
      bundle: cas.map((c) => c.pem).join(''),
      now: soon(),
      ...(accept ? { accept } : {}),
    });

  it('a conforming chain validates: RSA-2048 EK with keyEncipherment, P-256 EK with keyAgreement, P-384 CA', async () => {
    const rsa = await ssl.cert('ok-rsa', 'rsa2048', RSA_EK_EXT, inter);
    expect((await check(rsa, [root, inter])).chain.map((c) => c.subject)).toEqual([
      'CN=ok-rsa',
      'CN=inter',
      'CN=root',
    ]);
    const p384 = await ssl.cert('ok-p384-ca', 'p384', CA_EXT, root);
    const ecc = await ssl.cert('ok-ecc', 'p256', ECC_EK_EXT, p384);
    expect((await check(ecc, [root, p384])).quirks).toEqual([]);
  });

  it('an RSA-1024 intermediate: E_EK_CERT_ALG', async () => {
    const weak = await ssl.cert('rsa1024-ca', 'rsa1024', CA_EXT, root);
    const leaf = await ssl.cert('under-rsa1024', 'rsa2048', RSA_EK_EXT, weak);
    await expectCode(check(leaf, [root, weak]), 'E_EK_CERT_ALG');
  });

  it('an RSA-1024 EK: E_EK_CERT_ALG', async () => {
    await expectCode(
      check(await ssl.cert('rsa1024-ek', 'rsa1024', RSA_EK_EXT, inter), [root, inter]),
      'E_EK_CERT_ALG',
    );
  });

  it('a SHA-1-signed EK certificate: E_EK_CERT_ALG, unless quirk "sha1-signature" is accepted', async () => {
    const leaf = await ssl.cert('sha1-ek', 'rsa2048', RSA_EK_EXT, inter, 'sha1');
    await expectCode(check(leaf, [root, inter]), 'E_EK_CERT_ALG');
    expect((await check(leaf, [root, inter], ['sha1-signature'])).quirks).toEqual(['sha1-signature']);
  });

  it('a SHA-1-signed intermediate: E_EK_CERT_ALG', async () => {
    const sha1Ca = await ssl.cert('sha1-ca', 'p256', CA_EXT, root, 'sha1');
    const leaf = await ssl.cert('under-sha1-ca', 'rsa2048', RSA_EK_EXT, sha1Ca);
    await expectCode(check(leaf, [root, sha1Ca]), 'E_EK_CERT_ALG');
  });

  it('an intermediate with pathLen 0 followed by another CA: E_EK_CERT_CHAIN; pathLen 1 passes', async () => {
    const zero = await ssl.cert(
      'pathlen0',
      'p256',
      ['basicConstraints = critical,CA:TRUE,pathlen:0', CA_EXT[1] ?? ''],
      root,
    );
    const below = await ssl.cert('below-pathlen0', 'p256', CA_EXT, zero);
    const leaf = await ssl.cert('under-pathlen0', 'rsa2048', RSA_EK_EXT, below);
    await expectCode(check(leaf, [root, zero, below]), 'E_EK_CERT_CHAIN');
    const one = await ssl.cert(
      'pathlen1',
      'p256',
      ['basicConstraints = critical,CA:TRUE,pathlen:1', CA_EXT[1] ?? ''],
      root,
    );
    const below1 = await ssl.cert('below-pathlen1', 'p256', CA_EXT, one);
    const leaf1 = await ssl.cert('under-pathlen1', 'rsa2048', RSA_EK_EXT, below1);
    expect((await check(leaf1, [root, one, below1])).chain).toHaveLength(4);
  });

  it('an unknown critical extension on the intermediate or the root: E_EK_CERT_CHAIN', async () => {
    const oddExt = '1.3.6.1.4.1.99999.1 = critical,ASN1:NULL';
    const oddCa = await ssl.cert('odd-ca', 'p256', [...CA_EXT, oddExt], root);
    await expectCode(
      check(await ssl.cert('under-odd-ca', 'rsa2048', RSA_EK_EXT, oddCa), [root, oddCa]),
      'E_EK_CERT_CHAIN',
    );
    const oddRoot = await ssl.cert('odd-root', 'p256', [...CA_EXT, oddExt]);
    await expectCode(
      check(await ssl.cert('under-odd-root', 'rsa2048', RSA_EK_EXT, oddRoot), [oddRoot]),
      'E_EK_CERT_CHAIN',
    );
  });

  it('an RSA EK certificate without keyEncipherment, an ECC one without keyAgreement, one without keyUsage: E_EK_CERT_CHAIN', async () => {
    const signOnly = [
      'basicConstraints = critical,CA:FALSE',
      'keyUsage = critical,digitalSignature',
      'extendedKeyUsage = 2.23.133.8.1',
    ];
    await expectCode(
      check(await ssl.cert('rsa-sign-only', 'rsa2048', signOnly, inter), [root, inter]),
      'E_EK_CERT_CHAIN',
    );
    await expectCode(
      check(await ssl.cert('ecc-encipher', 'p256', RSA_EK_EXT, inter), [root, inter]),
      'E_EK_CERT_CHAIN',
    );
    const noKu = ['basicConstraints = critical,CA:FALSE', 'extendedKeyUsage = 2.23.133.8.1'];
    await expectCode(
      check(await ssl.cert('rsa-no-ku', 'rsa2048', noKu, inter), [root, inter]),
      'E_EK_CERT_CHAIN',
    );
  });

  it('a certificate whose TBS signature algorithm differs from the outer one (re-signed after the edit): E_EK_CERT_CHAIN', async () => {
    const rsaCa = await ssl.cert('rsa-ca', 'rsa2048', CA_EXT, root);
    const leaf = await ssl.cert('tbs-edit', 'rsa2048', RSA_EK_EXT, rsaCa);
    const der = pemToDerBytes(leaf.pem);
    // sha256WithRSAEncryption 1.2.840.113549.1.1.11; its first occurrence is the TBS signature field.
    const sha256Rsa = Buffer.from('06092a864886f70d01010b', 'hex');
    const at = der.indexOf(sha256Rsa);
    expect(at).toBeGreaterThan(0);
    expect(der.indexOf(sha256Rsa, at + 1)).toBeGreaterThan(at); // the outer one is still there
    der[at + sha256Rsa.length - 1] = 0x0c; // sha384WithRSAEncryption in the TBS only
    // Certificate ::= 30 82 LLLL { tbs 30 82 LLLL …, algorithm, BIT STRING 03 82 0101 00 ‖ 256 bytes }
    const tbsLen = der.readUInt16BE(6);
    const tbs = der.subarray(4, 8 + tbsLen);
    const signature = sign('sha256', tbs, await ssl.privateKey(rsaCa));
    expect(signature).toHaveLength(256);
    signature.copy(der, der.length - 256);
    const edited = { name: 'tbs-edited', pem: derToPem(der) };
    // The edited certificate's signature is good: only the algorithm mismatch is wrong with it.
    const parsed = new x509.X509Certificate(Uint8Array.from(der));
    const ca = new x509.X509Certificate(rsaCa.pem);
    expect(await parsed.verify({ publicKey: ca.publicKey, signatureOnly: true })).toBe(true);
    await expectCode(check(edited, [root, rsaCa]), 'E_EK_CERT_CHAIN');
  });
});

function pemToDerBytes(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');
}

function derToPem(der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN CERTIFICATE-----\n${b64.trimEnd()}\n-----END CERTIFICATE-----\n`;
}
