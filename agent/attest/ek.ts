// SPDX-License-Identifier: Apache-2.0
/**
 * The Endorsement Key: read the persistent EK or create it from the TCG default templates (TCG EK
 * Credential Profile 2.0 Annex B.3 L-1 RSA-2048, B.3 L-2 ECC P-256, B.4 H-3 ECC P-384), and read its
 * certificate from the NV index the profile assigns (§2.2.1.4 Low Range: 0x01c00002 RSA-2048,
 * 0x01c0000a ECC P-256; §2.2.1.5 High Range: 0x01c00016 ECC P-384). Also the PEM/DER and SubjectPublicKeyInfo
 * views of TPM public areas that the rest of attestation uses.
 *
 * A created (transient) EK must be released with `releaseEk` (swtpm has 3 object slots, no resource
 * manager). Persistent handles follow the TCG Provisioning Guidance (§7.8: 0x81010001 RSA EK) and swtpm_setup
 * (0x81010016 P-384 EK); a persistent object is used only when its public area matches the template.
 *
 * Not covered: EK templates or nonces stored in NV by a manufacturer (0x01c00003/4, 0x01c0000b/c), RSA-3072
 * and larger EKs, and certificates split over several indices (H-range chains at 0x01c00100+).
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { equalBytes, fromHex, toHex } from '../encoding/bytes.js';
import { ExecgateError } from '../errors.js';
import { CreatePrimary, NV_Read, NV_ReadPublic, ReadPublic } from '../tpm/commands.js';
import { TPM_ALG, TPM_ECC_CURVE, TPM_RH } from '../tpm/constants.js';
import { isTpmError } from '../tpm/errors.js';
import { objectName } from '../tpm/names.js';
import { TPM_RC } from '../tpm/rc.js';
import { marshal } from '../tpm/schema.js';
import type { TPMT_PUBLIC } from '../tpm/structures.js';
import { TPMT_PUBLIC as TPMT_PUBLIC_SCHEMA } from '../tpm/structures.js';
import { ekEccP256Template, ekEccP384Template, ekRsa2048Template } from '../tpm/templates.js';
import type { Tpm } from '../tpm/tpm.js';

export type EkAlg = 'rsa2048' | 'eccP256' | 'eccP384';

/** EK Credential Profile §2.2.1.4/§2.2.1.5: where each default EK's certificate lives. */
export const EK_CERT_NV_INDEX: Readonly<Record<EkAlg, number>> = {
  rsa2048: 0x01c00002,
  eccP256: 0x01c0000a,
  eccP384: 0x01c00016,
};

/**
 * Persistent handles an EK is looked for at (Provisioning Guidance §7.8 for RSA; swtpm_setup for P-384).
 * P-256 has none here: its conventional 0x81010002 is where execgate keeps the AK by default.
 */
export const EK_PERSISTENT_HANDLE: Readonly<Partial<Record<EkAlg, number>>> = {
  rsa2048: 0x81010001,
  eccP384: 0x81010016,
};

const TEMPLATES: Readonly<Record<EkAlg, () => TPMT_PUBLIC>> = {
  rsa2048: ekRsa2048Template,
  eccP256: ekEccP256Template,
  eccP384: ekEccP384Template,
};

export function ekTemplate(alg: EkAlg): TPMT_PUBLIC {
  return TEMPLATES[alg]();
}

export type EkCode = 'E_EK_KEY' | 'E_EK_NV' | 'E_EK_MISMATCH';

/** The EK (or its NV certificate) could not be obtained or does not have the expected shape. */
export class EkError extends ExecgateError<EkCode> {}

/** An EK loaded in the TPM: persistent (leave it) or transient (created here: release it). */
export interface Ek {
  readonly alg: EkAlg;
  readonly handle: number;
  readonly public: TPMT_PUBLIC;
  readonly name: Uint8Array;
  readonly transient: boolean;
}

/**
 * What the EK must be. `pinned`: the EK public area recorded when the host was provisioned (`host init`,
 * host.json): the TPM's answer must equal it byte for byte, `unique` included, or E_EK_MISMATCH. Without a
 * pin the EK is whatever key of the template's shape the TPM reports: an interposer on the bus can swap
 * its `unique` and read every salt encrypted to it (issue 11 finding 2).
 */
export interface EkOptions {
  readonly pinned?: TPMT_PUBLIC;
}

/** The full public areas, `unique` included, are equal. */
export function samePublic(a: TPMT_PUBLIC, b: TPMT_PUBLIC): boolean {
  return equalBytes(marshal(TPMT_PUBLIC_SCHEMA, a), marshal(TPMT_PUBLIC_SCHEMA, b));
}

/**
 * Refuses an EK whose reported Name is not the Name of its reported public area, that has not the
 * template's shape, or that differs from the pinned one.
 */
function checkEk(alg: EkAlg, pub: TPMT_PUBLIC, name: Uint8Array, opts: EkOptions): void {
  const mismatch = (why: string) => new EkError('E_EK_MISMATCH', `the ${alg} EK the TPM reported ${why}`);
  if (!equalBytes(name, objectName(pub)))
    throw mismatch('has a Name that is not the Name of its public area');
  if (!matchesTemplate(pub, ekTemplate(alg))) throw mismatch('does not have the default EK template');
  if (!isKeyOfItsTemplate(pub)) throw mismatch('has a unique that is not a key of its template');
  if (opts.pinned && !samePublic(pub, opts.pinned)) {
    throw mismatch(
      `is not the EK pinned at host init (Name ${toHex(name)}, pinned ${toHex(objectName(opts.pinned))}): refusing to salt a session to it`,
    );
  }
}

/** The coordinate size of the EK curves. */
const EK_CURVE_BYTES: Readonly<Record<number, number>> = {
  [TPM_ECC_CURVE.NIST_P256]: 32,
  [TPM_ECC_CURVE.NIST_P384]: 48,
};

/**
 * Is `unique` a public key the template's parameters describe: an RSA modulus of exactly keyBits bits, an
 * ECC point with coordinates of the curve's size, on the curve? (matchesTemplate leaves `unique` aside.)
 */
function isKeyOfItsTemplate(pub: TPMT_PUBLIC): boolean {
  if (pub.type === TPM_ALG.RSA) {
    if (pub.unique.length * 8 !== pub.parameters.keyBits || (pub.unique[0] ?? 0) < 0x80) return false;
  } else if (pub.type === TPM_ALG.ECC) {
    const size = EK_CURVE_BYTES[pub.parameters.curveID];
    if (size === undefined || pub.unique.x.length !== size || pub.unique.y.length !== size) return false;
  } else return false;
  try {
    publicKeyOf(pub);
    return true;
  } catch {
    return false;
  }
}

/** Does `pub` carry the template's type, nameAlg, attributes, policy and parameters (`unique` aside)? */
export function matchesTemplate(pub: TPMT_PUBLIC, template: TPMT_PUBLIC): boolean {
  const strip = (p: TPMT_PUBLIC): Uint8Array => marshal(TPMT_PUBLIC_SCHEMA, withEmptyUnique(p));
  return equalBytes(strip(pub), strip(template));
}

/** `pub` with an empty `unique` of the shape its type selects (TPMS_ECC_POINT or a TPM2B). */
export function withEmptyUnique(pub: TPMT_PUBLIC): TPMT_PUBLIC {
  return pub.type === TPM_ALG.ECC
    ? { ...pub, unique: { x: new Uint8Array(0), y: new Uint8Array(0) } }
    : { ...pub, unique: new Uint8Array(0) };
}

/**
 * The EK of `alg`: the persistent one when its handle holds a key of the default template, else a new
 * transient primary from the template in the endorsement hierarchy (deterministic: the same key as the
 * certified one). Release it with `releaseEk`.
 */
export async function loadEk(tpm: Tpm, alg: EkAlg = 'rsa2048', opts: EkOptions = {}): Promise<Ek> {
  const template = ekTemplate(alg);
  const persistent = EK_PERSISTENT_HANDLE[alg];
  if (persistent !== undefined) {
    const found = await readPublicOrUndefined(tpm, persistent);
    if (found && matchesTemplate(found.outPublic, template)) {
      checkEk(alg, found.outPublic, found.name, opts);
      return { alg, handle: persistent, public: found.outPublic, name: found.name, transient: false };
    }
  }
  const created = await tpm.run(CreatePrimary, {
    primaryHandle: TPM_RH.ENDORSEMENT,
    inSensitive: { userAuth: new Uint8Array(0), data: new Uint8Array(0) },
    inPublic: template,
    outsideInfo: new Uint8Array(0),
    creationPCR: [],
  });
  try {
    checkEk(alg, created.outPublic, created.name, opts);
  } catch (e) {
    await tpm.flush(created.objectHandle);
    throw e;
  }
  return {
    alg,
    handle: created.objectHandle,
    public: created.outPublic,
    name: created.name,
    transient: true,
  };
}

/** Flushes the EK if `loadEk` created it. */
export async function releaseEk(tpm: Tpm, ek: Ek): Promise<void> {
  if (ek.transient) await tpm.flush(ek.handle);
}

/** Runs `fn` with the EK loaded, releasing it afterwards whatever happens. */
export async function withEk<T>(
  tpm: Tpm,
  alg: EkAlg,
  fn: (ek: Ek) => Promise<T>,
  opts: EkOptions = {},
): Promise<T> {
  const ek = await loadEk(tpm, alg, opts);
  try {
    return await fn(ek);
  } finally {
    await releaseEk(tpm, ek);
  }
}

/**
 * ReadPublic of a handle, or undefined when there is no such object: TPM_RC_HANDLE for a persistent
 * handle, TPM_RC_REFERENCE_H0 for a transient one that is not loaded.
 */
export async function readPublicOrUndefined(tpm: Tpm, handle: number) {
  try {
    return await tpm.run(ReadPublic, { objectHandle: handle });
  } catch (e) {
    if (isTpmError(e, TPM_RC.HANDLE) || isTpmError(e, TPM_RC.REFERENCE_H0)) return undefined;
    throw e;
  }
}

/** The largest NV_Read chunk used: TPM_PT_NV_BUFFER_MAX is 1024 on swtpm and most TPMs (PTP §3.6). */
export const NV_CHUNK = 1024;

/**
 * The contents of an NV index, read in chunks of at most NV_CHUNK bytes (Part 3 §31.13), authorized by the
 * index itself with an empty password (EK certificate indices have AUTHREAD, Provisioning Guidance §7.8),
 * or undefined when the index is not defined.
 */
export async function readNvIndex(tpm: Tpm, nvIndex: number): Promise<Uint8Array | undefined> {
  let size: number;
  try {
    size = (await tpm.run(NV_ReadPublic, { nvIndex })).nvPublic.dataSize;
  } catch (e) {
    if (isTpmError(e, TPM_RC.HANDLE)) return undefined;
    throw e;
  }
  const out = new Uint8Array(size);
  for (let offset = 0; offset < size; ) {
    const want = Math.min(NV_CHUNK, size - offset);
    const { data } = await tpm.run(NV_Read, { authHandle: nvIndex, nvIndex, size: want, offset });
    if (data.length !== want) {
      throw new EkError(
        'E_EK_NV',
        `NV index 0x${nvIndex.toString(16)}: asked ${want} bytes, got ${data.length}`,
      );
    }
    out.set(data, offset);
    offset += want;
  }
  return out;
}

/** The DER EK certificate of `alg` from its NV index, or undefined when the TPM has none. */
export function readEkCertificate(tpm: Tpm, alg: EkAlg = 'rsa2048'): Promise<Uint8Array | undefined> {
  return readNvIndex(tpm, EK_CERT_NV_INDEX[alg]);
}

// ── PEM, DER and SubjectPublicKeyInfo ───────────────────────────────────────────────────────────────

/** RFC 7468 PEM of DER bytes, 64 columns. */
export function derToPem(der: Uint8Array, label: string): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** The DER bytes of the first PEM block with `label`, or undefined when there is none. */
export function pemToDer(pem: string, label: string): Uint8Array | undefined {
  const re = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]*)-----END ${label}-----`);
  const m = re.exec(pem);
  if (!m?.[1]) return undefined;
  return Uint8Array.from(Buffer.from(m[1].replace(/\s+/g, ''), 'base64'));
}

/** Every PEM block with `label` in `text` (a CA bundle), as DER. */
export function pemBlocks(text: string, label = 'CERTIFICATE'): Uint8Array[] {
  const re = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]*)-----END ${label}-----`, 'g');
  return [...text.matchAll(re)].map((m) =>
    Uint8Array.from(Buffer.from((m[1] ?? '').replace(/\s+/g, ''), 'base64')),
  );
}

const b64url = (b: Uint8Array) => Buffer.from(b).toString('base64url');

const JWK_CURVES: Readonly<Record<number, string>> = {
  [TPM_ECC_CURVE.NIST_P256]: 'P-256',
  [TPM_ECC_CURVE.NIST_P384]: 'P-384',
  [TPM_ECC_CURVE.NIST_P521]: 'P-521',
};

/** node:crypto's view of a TPM RSA or ECC public area (Part 2 §12.2.3.5: exponent 0 means 65537). */
export function publicKeyOf(pub: TPMT_PUBLIC): KeyObject {
  if (pub.type === TPM_ALG.RSA) {
    const { exponent } = pub.parameters;
    const e = exponent === 0 ? 65537 : exponent;
    const eHex = e.toString(16);
    const eBytes = fromHex(eHex.length % 2 ? `0${eHex}` : eHex);
    return createPublicKey({
      key: { kty: 'RSA', n: b64url(pub.unique), e: b64url(eBytes) },
      format: 'jwk',
    });
  }
  if (pub.type === TPM_ALG.ECC) {
    const { curveID } = pub.parameters;
    const crv = JWK_CURVES[curveID];
    if (!crv) throw new EkError('E_EK_KEY', `ECC curve 0x${curveID.toString(16)} is not supported`);
    const { x, y } = pub.unique;
    return createPublicKey({ key: { kty: 'EC', crv, x: b64url(x), y: b64url(y) }, format: 'jwk' });
  }
  throw new EkError('E_EK_KEY', `object type 0x${pub.type.toString(16)} has no public key`);
}

/** SubjectPublicKeyInfo DER of a TPM public area. */
export function spkiDerOf(pub: TPMT_PUBLIC): Uint8Array {
  return new Uint8Array(publicKeyOf(pub).export({ format: 'der', type: 'spki' }));
}

/** SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`), as `tpm2_createek -f pem` writes it. */
export function spkiPemOf(pub: TPMT_PUBLIC): string {
  return derToPem(spkiDerOf(pub), 'PUBLIC KEY');
}

/**
 * The TPMT_PUBLIC of a default-template EK from its SubjectPublicKeyInfo (PEM or DER): the verifier's
 * input to MakeCredential. The key's type and size pick the template (RSA-2048 → L-1, P-256 → L-2,
 * P-384 → H-3), whose nameAlg and symmetric definition the credential protection depends on.
 */
export function ekPublicFromSpki(spki: string | Uint8Array): { alg: EkAlg; public: TPMT_PUBLIC } {
  let key: KeyObject;
  try {
    key =
      typeof spki === 'string'
        ? createPublicKey({ key: spki, format: 'pem' })
        : createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  } catch (e) {
    throw new EkError('E_EK_KEY', 'the EK public key is not a SubjectPublicKeyInfo', { cause: e });
  }
  const jwk = key.export({ format: 'jwk' });
  const bytes = (s: string | undefined) => Uint8Array.from(Buffer.from(s ?? '', 'base64url'));
  if (jwk.kty === 'RSA') {
    const n = bytes(jwk.n);
    const e = Number.parseInt(toHex(bytes(jwk.e)) || '0', 16);
    if (n.length !== 256 || e !== 65537) {
      throw new EkError(
        'E_EK_KEY',
        `RSA EK must be 2048-bit with exponent 65537 (got ${8 * n.length} bits, e=${e})`,
      );
    }
    return { alg: 'rsa2048', public: { ...ekRsa2048Template(), unique: n } };
  }
  if (jwk.kty === 'EC' && (jwk.crv === 'P-256' || jwk.crv === 'P-384')) {
    const alg: EkAlg = jwk.crv === 'P-256' ? 'eccP256' : 'eccP384';
    const template = alg === 'eccP256' ? ekEccP256Template() : ekEccP384Template();
    return { alg, public: { ...template, unique: { x: bytes(jwk.x), y: bytes(jwk.y) } } };
  }
  throw new EkError('E_EK_KEY', `EK key type ${jwk.kty ?? '?'} ${jwk.crv ?? ''} is not a default EK type`);
}
