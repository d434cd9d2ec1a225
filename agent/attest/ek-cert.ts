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
 * - `sha1-signature`: a certificate on the path is signed with SHA-1 (legacy vendor CAs). Unlike the
 *   profile quirks above, which are reported for the caller to decide, this one is refused
 *   (E_EK_CERT_ALG) unless the caller accepts it up front (`accept`).
 *
 * Algorithm and constraint policy, at every level of the path (E_EK_CERT_ALG for the algorithms,
 * E_EK_CERT_CHAIN for the rest):
 * - keys: RSA of 2048 bits or more, or EC on P-256 or P-384; this covers the roots and the EK itself;
 * - signatures: sha256/384/512WithRSAEncryption or ecdsa-with-SHA256/384/512 (SHA-1 only by the quirk;
 *   RSASSA-PSS, MD5 and anything else refused); the self-signature of the root is not relied on, so not
 *   checked;
 * - the signature algorithm inside the TBSCertificate equals the outer one, byte for byte (RFC 5280
 *   §4.1.1.2);
 * - basicConstraints pathLenConstraint is honoured (RFC 5280 §4.2.1.9): at most that many CA
 *   certificates follow a CA on the way to the leaf;
 * - critical extensions are checked on every certificate, not only the leaf: basicConstraints and
 *   keyUsage everywhere, extendedKeyUsage on the leaf; the quirks above apply at every level;
 * - the EK certificate has keyUsage with keyEncipherment (RSA EK) or keyAgreement (ECC EK), §3.2.7.
 *
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

export type EkCertCode = 'E_EK_CERT_ALG' | 'E_EK_CERT_CHAIN' | 'E_EK_CERT_KEY' | 'E_EK_CERT_PARSE';

export class EkCertError extends ExecgateError<EkCertCode> {}

export type EkCertQuirk =
  | 'critical-san-with-subject'
  | 'critical-tcg-extension'
  | 'no-eku'
  | 'sha1-signature';

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
const PROCESSED_LEAF = new Set<string>([OID.keyUsage, OID.basicConstraints, OID.extKeyUsage]);
const PROCESSED_CA = new Set<string>([OID.keyUsage, OID.basicConstraints]);

/** Signature algorithms by OID: accepted, or SHA-1 (only with the quirk). */
const SIGNATURE_ALGS: ReadonlyMap<string, { readonly name: string; readonly sha1: boolean }> = new Map([
  ['1.2.840.113549.1.1.11', { name: 'sha256WithRSAEncryption', sha1: false }],
  ['1.2.840.113549.1.1.12', { name: 'sha384WithRSAEncryption', sha1: false }],
  ['1.2.840.113549.1.1.13', { name: 'sha512WithRSAEncryption', sha1: false }],
  ['1.2.840.10045.4.3.2', { name: 'ecdsa-with-SHA256', sha1: false }],
  ['1.2.840.10045.4.3.3', { name: 'ecdsa-with-SHA384', sha1: false }],
  ['1.2.840.10045.4.3.4', { name: 'ecdsa-with-SHA512', sha1: false }],
  ['1.2.840.113549.1.1.5', { name: 'sha1WithRSAEncryption', sha1: true }],
  ['1.2.840.10045.4.1', { name: 'ecdsa-with-SHA1', sha1: true }],
]);
const MIN_RSA_BITS = 2048;
/** node:crypto's names of P-256 and P-384. */
const CURVES = new Set(['prime256v1', 'secp384r1']);
/** Extensions the TCG EK profile defines that are informational here. */
const TCG_DEFINED = new Set<string>([OID.subjectDirectoryAttributes, OID.certificatePolicies]);

const MAX_DEPTH = 8;

export interface EkCertValidation {
  /** Leaf first, root last. */
  readonly chain: readonly X509.X509Certificate[];
  /** The tolerated deviations found on the path. */
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
  /**
   * Quirks accepted up front. Only `sha1-signature` needs it (refused otherwise); the profile quirks are
   * reported in `quirks` whether listed here or not.
   */
  readonly accept?: readonly EkCertQuirk[];
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

  const accept = new Set(opts.accept ?? []);
  const quirks = new Set<EkCertQuirk>();
  const chain = [leaf];
  let current = leaf;
  for (let depth = 0; ; depth++) {
    const what = depth === 0 ? 'the EK certificate' : `CA certificate "${current.subject}"`;
    checkValidity(current, now, what);
    const root = depth > 0 && (await current.isSelfSigned());
    checkAlgorithms(current, what, root, accept, quirks);
    criticalExtensions(current, depth === 0 ? PROCESSED_LEAF : PROCESSED_CA, what, quirks);
    if (depth === 0) leafChecks(leaf, quirks);
    else checkCa(current, depth);
    if (root) break;
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
  return { chain, quirks: [...quirks] };
}

/** What `inspectEkCertificate` found: the certificate's names and validity. */
export interface EkCertSummary {
  readonly subject: string;
  readonly issuer: string;
  readonly notAfter: Date;
}

/**
 * The EK certificate's own checks, without a CA bundle: it parses, is within its validity period at
 * `now`, and certifies `ekPublic` (E_EK_CERT_PARSE, E_EK_CERT_CHAIN, E_EK_CERT_KEY). It says nothing about
 * who issued it: only `validateEkCertificate` with the maker's CA bundle does.
 */
export function inspectEkCertificate(
  certificate: Uint8Array | string,
  ekPublic: TPMT_PUBLIC,
  now: Date = new Date(),
): EkCertSummary {
  const leaf = parse(certificate, 'the EK certificate');
  checkValidity(leaf, now, 'the EK certificate');
  checkKey(leaf, ekPublic);
  return { subject: leaf.subject, issuer: leaf.issuer, notAfter: leaf.notAfter };
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

/** `depth`: the certificate's place on the path, 1 for the EK certificate's issuer. */
function checkCa(cert: X509.X509Certificate, depth: number): void {
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  if (!bc?.ca) throw new EkCertError('E_EK_CERT_CHAIN', `"${cert.subject}" is not a CA (basicConstraints)`);
  // RFC 5280 §4.2.1.9: the CA certificates between this one and the leaf number at most pathLen.
  if (bc.pathLength !== undefined && depth - 1 > bc.pathLength) {
    throw new EkCertError(
      'E_EK_CERT_CHAIN',
      `"${cert.subject}" allows ${bc.pathLength} CA certificate(s) below it (pathLenConstraint), the path has ${depth - 1}`,
    );
  }
  const ku = cert.getExtension(x509.KeyUsagesExtension);
  if (ku && (ku.usages & x509.KeyUsageFlags.keyCertSign) === 0) {
    throw new EkCertError('E_EK_CERT_CHAIN', `"${cert.subject}" may not sign certificates (keyUsage)`);
  }
}

function criticalExtensions(
  cert: X509.X509Certificate,
  processed: ReadonlySet<string>,
  what: string,
  quirks: Set<EkCertQuirk>,
): void {
  for (const ext of cert.extensions) {
    if (!ext.critical || processed.has(ext.type)) continue;
    if (ext.type === OID.subjectAltName) {
      if (cert.subject !== '') quirks.add('critical-san-with-subject');
    } else if (TCG_DEFINED.has(ext.type) || ext.type.startsWith('2.23.133.')) {
      quirks.add('critical-tcg-extension');
    } else {
      throw new EkCertError('E_EK_CERT_CHAIN', `${what} has an unknown critical extension ${ext.type}`);
    }
  }
}

function leafChecks(leaf: X509.X509Certificate, quirks: Set<EkCertQuirk>): void {
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
  // §3.2.7: an RSA EK decrypts (keyEncipherment), an ECC EK does ECDH (keyAgreement).
  const rsa = publicKeyOf(leaf, 'the EK certificate').asymmetricKeyType === 'rsa';
  const [flag, name] = rsa
    ? [x509.KeyUsageFlags.keyEncipherment, 'keyEncipherment']
    : [x509.KeyUsageFlags.keyAgreement, 'keyAgreement'];
  const ku = leaf.getExtension(x509.KeyUsagesExtension);
  if (!ku || (ku.usages & flag) === 0) {
    throw new EkCertError(
      'E_EK_CERT_CHAIN',
      `the EK certificate's keyUsage ${ku ? 'lacks' : 'is absent, it must hold'} ${name} (${rsa ? 'RSA' : 'ECC'} EK)`,
    );
  }
}

function publicKeyOf(cert: X509.X509Certificate, what: string) {
  try {
    return createPublicKey({ key: Buffer.from(cert.publicKey.rawData), format: 'der', type: 'spki' });
  } catch (e) {
    throw new EkCertError('E_EK_CERT_PARSE', `the public key of ${what} cannot be read`, { cause: e });
  }
}

/** Key size and curve, signature algorithm (not for the root's self-signature), TBS = outer algorithm. */
function checkAlgorithms(
  cert: X509.X509Certificate,
  what: string,
  root: boolean,
  accept: ReadonlySet<EkCertQuirk>,
  quirks: Set<EkCertQuirk>,
): void {
  const key = publicKeyOf(cert, what);
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa') {
    const bits = details.modulusLength ?? 0;
    if (bits < MIN_RSA_BITS) {
      throw new EkCertError(
        'E_EK_CERT_ALG',
        `${what} has an RSA-${bits} key; at least ${MIN_RSA_BITS} bits are required`,
      );
    }
  } else if (key.asymmetricKeyType === 'ec') {
    if (!CURVES.has(details.namedCurve ?? '')) {
      throw new EkCertError(
        'E_EK_CERT_ALG',
        `${what} has an EC key on ${details.namedCurve ?? 'an unnamed curve'}; P-256 or P-384 is required`,
      );
    }
  } else {
    throw new EkCertError(
      'E_EK_CERT_ALG',
      `${what} has a ${key.asymmetricKeyType ?? 'unknown'} key; RSA or EC is required`,
    );
  }
  const { inner, outer } = signatureAlgorithms(new Uint8Array(cert.rawData), what);
  if (Buffer.compare(inner, outer) !== 0) {
    throw new EkCertError(
      'E_EK_CERT_CHAIN',
      `${what}: the signature algorithm in the TBSCertificate (${algorithmOid(inner, what)}) differs from the outer one (${algorithmOid(outer, what)})`,
    );
  }
  if (root) return;
  const oid = algorithmOid(outer, what);
  const alg = SIGNATURE_ALGS.get(oid);
  if (!alg)
    throw new EkCertError('E_EK_CERT_ALG', `${what} is signed with ${oid}, not an accepted algorithm`);
  if (alg.sha1) {
    if (!accept.has('sha1-signature')) {
      throw new EkCertError(
        'E_EK_CERT_ALG',
        `${what} is signed with ${alg.name}: SHA-1 is refused unless quirk "sha1-signature" is accepted`,
      );
    }
    quirks.add('sha1-signature');
  }
}

// ── Just enough DER to find the two signature AlgorithmIdentifiers of a Certificate ───────────────────
interface Tlv {
  readonly tag: number;
  /** Offset of the tag. */
  readonly start: number;
  /** Offset of the contents. */
  readonly body: number;
  /** Offset after the contents. */
  readonly end: number;
}

function readTlv(der: Uint8Array, at: number, limit: number): Tlv {
  const tag = der[at];
  let len = der[at + 1];
  let body = at + 2;
  if (tag === undefined || len === undefined || (tag & 0x1f) === 0x1f) throw new RangeError('bad DER header');
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 3 || body + n > limit) throw new RangeError('bad DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (der[body + i] ?? 0);
    body += n;
  }
  if (body + len > limit) throw new RangeError('DER element overruns its parent');
  return { tag, start: at, body, end: body + len };
}

function childrenOf(der: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.body; at < parent.end; ) {
    const t = readTlv(der, at, parent.end);
    out.push(t);
    at = t.end;
  }
  return out;
}

/** Certificate ::= SEQUENCE { tbs SEQUENCE { [0] version OPTIONAL, serial, signature, … }, algorithm, … } */
/** The dotted OID of an AlgorithmIdentifier ::= SEQUENCE { algorithm OBJECT IDENTIFIER, parameters ANY }. */
function algorithmOid(alg: Uint8Array, what: string): string {
  try {
    const oid = childrenOf(alg, readTlv(alg, 0, alg.length))[0];
    if (oid?.tag !== 0x06 || oid.end === oid.body) throw new RangeError('no OBJECT IDENTIFIER');
    const arcs: number[] = [];
    let arc = 0;
    for (let i = oid.body; i < oid.end; i++) {
      const b = alg[i] ?? 0;
      arc = arc * 128 + (b & 0x7f);
      if (arc > Number.MAX_SAFE_INTEGER / 128) throw new RangeError('OID arc too large');
      if ((b & 0x80) === 0) {
        if (arcs.length === 0) arcs.push(arc < 80 ? Math.floor(arc / 40) : 2, arc < 80 ? arc % 40 : arc - 80);
        else arcs.push(arc);
        arc = 0;
      }
    }
    if (((alg[oid.end - 1] ?? 0) & 0x80) !== 0) throw new RangeError('OID ends inside an arc');
    return arcs.join('.');
  } catch (e) {
    throw new EkCertError('E_EK_CERT_PARSE', `${what}: its signature algorithm cannot be read`, { cause: e });
  }
}

function signatureAlgorithms(der: Uint8Array, what: string): { inner: Uint8Array; outer: Uint8Array } {
  try {
    const [tbs, outer] = childrenOf(der, readTlv(der, 0, der.length));
    if (!tbs || !outer) throw new RangeError('too few elements in Certificate');
    const fields = childrenOf(der, tbs);
    const inner = fields[fields[0]?.tag === 0xa0 ? 2 : 1];
    if (inner?.tag !== 0x30 || outer.tag !== 0x30) throw new RangeError('no AlgorithmIdentifier');
    return { inner: der.subarray(inner.start, inner.end), outer: der.subarray(outer.start, outer.end) };
  } catch (e) {
    throw new EkCertError('E_EK_CERT_PARSE', `${what}: its signature algorithms cannot be read`, {
      cause: e,
    });
  }
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
