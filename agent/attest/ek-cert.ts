// SPDX-License-Identifier: Apache-2.0
/**
 * EK certificate validation (TCG EK Credential Profile for TPM Family 2.0, §3 "EK Certificate"): the
 * certificate must chain, signature by signature, to a self-signed root in the caller's CA bundle (the
 * TPM maker's roots and intermediates), every certificate on the path must be within its validity period,
 * every issuer must be a CA (basicConstraints cA), the EKU, when present, must include
 * tcg-kp-EKCertificate 2.23.133.8.1 (§3.2.16), and the certified key must be the TPM's EK public key.
 *
 * RFC 5280 §4.2 says a certificate with a critical extension the verifier does not process is rejected.
 * Real EK certificates break that in known ways; each tolerated deviation is named (`EkCertQuirk`), returned
 * to the caller, and covered by a test:
 * - `critical-san-with-subject`: the subjectAltName holding the TPM manufacturer, model and version
 *   (dirName with 2.23.133.2.1/2/3, §3.2.9) is critical although the subject is not empty (swtpm_setup,
 *   which writes subject CN=unknown). The profile wants it critical only for an empty subject.
 * - `critical-tcg-extension`: a critical extension the TCG profile defines but execgate does not act on
 *   (subjectDirectoryAttributes 2.5.29.9 with the TPM specification, §3.2.10; certificatePolicies
 *   2.5.29.32, §3.2.8; any 2.23.133.* extension). Other unknown critical extensions are rejected.
 * - `no-eku`: no extendedKeyUsage at all (several vendors' older EK certificates).
 *
 * Not covered: revocation (CRL distribution points and OCSP are not fetched), name constraints and policy
 * mapping on CA certificates, certificates with non-DER encodings that @peculiar/x509 cannot parse.
 */
import { createPublicKey } from 'node:crypto';
import type * as X509 from '@peculiar/x509';
import { ExecgateError } from '../errors.js';
import type { TPMT_PUBLIC } from '../tpm/structures.js';
import { pemBlocks, spkiDerOf } from './ek.js';
import { x509 } from './x509.js';

export type EkCertCode = 'E_EK_CERT_CHAIN' | 'E_EK_CERT_KEY' | 'E_EK_CERT_PARSE';

export class EkCertError extends ExecgateError<EkCertCode> {}

export type EkCertQuirk = 'critical-san-with-subject' | 'critical-tcg-extension' | 'no-eku';

/** tcg-kp-EKCertificate, EK Credential Profile §3.2.16. */
export const OID_TCG_KP_EK_CERTIFICATE = '2.23.133.8.1';

const OID = {
  subjectDirectoryAttributes: '2.5.29.9',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  crlDistributionPoints: '2.5.29.31',
  certificatePolicies: '2.5.29.32',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  authorityInfoAccess: '1.3.6.1.5.5.7.1.1',
} as const;

/** Extensions this module checks (so they may be critical). SAN is processed (parsed) but see the quirk. */
const PROCESSED = new Set<string>([OID.keyUsage, OID.basicConstraints, OID.extKeyUsage]);
/** Extensions the TCG EK profile defines that are informational here. */
const TCG_DEFINED = new Set<string>([OID.subjectDirectoryAttributes, OID.certificatePolicies]);

const MAX_DEPTH = 8;

export interface EkCertValidation {
  /** Leaf first, root last. */
  readonly chain: readonly X509.X509Certificate[];
  /** The tolerated deviations found on the leaf. */
  readonly quirks: readonly EkCertQuirk[];
}

export interface ValidateOptions {
  /** The EK certificate, DER or PEM. */
  readonly certificate: Uint8Array | string;
  /** The CA bundle: PEM text with one or more certificates, or DER certificates. */
  readonly bundle: string | readonly Uint8Array[];
  /** The TPM's EK public area; the certified key must equal it. */
  readonly ekPublic?: TPMT_PUBLIC;
  /** The time of validation (default now). */
  readonly now?: Date;
}

function parse(data: Uint8Array | string, what: string): X509.X509Certificate {
  try {
    return new x509.X509Certificate(typeof data === 'string' ? data : Uint8Array.from(data));
  } catch (e) {
    throw new EkCertError('E_EK_CERT_PARSE', `${what} is not an X.509 certificate`, { cause: e });
  }
}

/** Validates an EK certificate; see the module comment. Throws EkCertError. */
export async function validateEkCertificate(opts: ValidateOptions): Promise<EkCertValidation> {
  const now = opts.now ?? new Date();
  const leaf = parse(opts.certificate, 'the EK certificate');
  const bundleDer = typeof opts.bundle === 'string' ? pemBlocks(opts.bundle) : opts.bundle;
  if (bundleDer.length === 0) throw new EkCertError('E_EK_CERT_PARSE', 'the CA bundle holds no certificate');
  const bundle = bundleDer.map((d, i) => parse(d, `CA bundle certificate ${i + 1}`));

  const quirks = leafChecks(leaf);
  const chain = [leaf];
  let current = leaf;
  for (let depth = 0; ; depth++) {
    checkValidity(current, now, depth === 0 ? 'the EK certificate' : `CA certificate "${current.subject}"`);
    if (depth > 0) checkCa(current);
    if (depth > 0 && (await current.isSelfSigned())) break;
    if (depth >= MAX_DEPTH)
      throw new EkCertError('E_EK_CERT_CHAIN', `no root within ${MAX_DEPTH} certificates`);
    const issuer = await findIssuer(current, bundle);
    if (!issuer) {
      throw new EkCertError(
        'E_EK_CERT_CHAIN',
        `no certificate in the CA bundle named "${current.issuer}" verifies the signature of "${current.subject}"`,
      );
    }
    chain.push(issuer);
    current = issuer;
  }
  if (opts.ekPublic) checkKey(leaf, opts.ekPublic);
  return { chain, quirks };
}

async function findIssuer(cert: X509.X509Certificate, bundle: readonly X509.X509Certificate[]) {
  for (const candidate of bundle) {
    if (candidate.subject !== cert.issuer) continue;
    const ok = await cert.verify({ publicKey: candidate.publicKey, signatureOnly: true }).catch(() => false);
    if (ok) return candidate;
  }
  return undefined;
}

function checkValidity(cert: X509.X509Certificate, now: Date, what: string): void {
  if (now < cert.notBefore || now > cert.notAfter) {
    throw new EkCertError(
      'E_EK_CERT_CHAIN',
      `${what} is valid ${cert.notBefore.toISOString()}..${cert.notAfter.toISOString()}, not at ${now.toISOString()}`,
    );
  }
}

function checkCa(cert: X509.X509Certificate): void {
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  if (!bc?.ca) throw new EkCertError('E_EK_CERT_CHAIN', `"${cert.subject}" is not a CA (basicConstraints)`);
  const ku = cert.getExtension(x509.KeyUsagesExtension);
  if (ku && (ku.usages & x509.KeyUsageFlags.keyCertSign) === 0) {
    throw new EkCertError('E_EK_CERT_CHAIN', `"${cert.subject}" may not sign certificates (keyUsage)`);
  }
}

function leafChecks(leaf: X509.X509Certificate): EkCertQuirk[] {
  const quirks = new Set<EkCertQuirk>();
  for (const ext of leaf.extensions) {
    if (!ext.critical || PROCESSED.has(ext.type)) continue;
    if (ext.type === OID.subjectAltName) {
      if (leaf.subject !== '') quirks.add('critical-san-with-subject');
    } else if (TCG_DEFINED.has(ext.type) || ext.type.startsWith('2.23.133.')) {
      quirks.add('critical-tcg-extension');
    } else {
      throw new EkCertError(
        'E_EK_CERT_CHAIN',
        `the EK certificate has an unknown critical extension ${ext.type}`,
      );
    }
  }
  const eku = leaf.getExtension(x509.ExtendedKeyUsageExtension);
  if (!eku) quirks.add('no-eku');
  else if (!eku.usages.map(String).includes(OID_TCG_KP_EK_CERTIFICATE)) {
    throw new EkCertError(
      'E_EK_CERT_CHAIN',
      `the EK certificate's extendedKeyUsage lacks ${OID_TCG_KP_EK_CERTIFICATE}`,
    );
  }
  const bc = leaf.getExtension(x509.BasicConstraintsExtension);
  if (bc?.ca) throw new EkCertError('E_EK_CERT_CHAIN', 'the EK certificate is a CA certificate');
  return [...quirks];
}

function checkKey(leaf: X509.X509Certificate, ekPublic: TPMT_PUBLIC): void {
  const jwk = (der: Uint8Array) => {
    const j = createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' }).export({
      format: 'jwk',
    });
    return JSON.stringify([j.kty, j.n, j.e, j.crv, j.x, j.y]);
  };
  let certified: string;
  try {
    certified = jwk(new Uint8Array(leaf.publicKey.rawData));
  } catch (e) {
    throw new EkCertError('E_EK_CERT_PARSE', 'the EK certificate public key cannot be read', { cause: e });
  }
  if (certified !== jwk(spkiDerOf(ekPublic))) {
    throw new EkCertError('E_EK_CERT_KEY', "the EK certificate certifies another key than this TPM's EK");
  }
}
