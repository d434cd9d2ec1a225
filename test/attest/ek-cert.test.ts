// SPDX-License-Identifier: Apache-2.0
// EK certificate validation (TCG EK Credential Profile §3) against swtpm_setup's private local CA, and
// against certificates made here with @peculiar/x509: another CA (even one with the same name), each
// tolerated vendor quirk by name, wrong key, wrong time, missing intermediate, garbage.
import { webcrypto } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type * as X509 from '@peculiar/x509';
import { beforeAll, describe, expect, it } from 'vitest';
import { type EkAlg, readEkCertificate, spkiDerOf, withEk } from '../../agent/attest/ek.js';
import { type EkCertQuirk, validateEkCertificate } from '../../agent/attest/ek-cert.js';
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
    extensions,
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
