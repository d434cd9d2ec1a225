// SPDX-License-Identifier: Apache-2.0
/**
 * The Attestation Key: a restricted signing key (RSA-2048 RSASSA-SHA256 or ECC P-256 ECDSA-SHA256) created
 * under the EK in the endorsement hierarchy, as tpm2-tools 5.4 `tpm2_createak` does it: TPM2_Create with the
 * EK as parent, authorized by a PolicySecret(TPM_RH_ENDORSEMENT) session (the default EK's PolicyA, EK
 * Credential Profile Annex B.3), then TPM2_Load with a fresh such session. In the endorsement hierarchy the
 * TPM does not obfuscate the clock, reset counters and firmware version of its quotes (Part 3 §18.1).
 *
 * The AK is kept either persistent (TPM2_EvictControl at a handle, default 0x81010002) or as its
 * TPM2B_PUBLIC/TPM2B_PRIVATE pair (the `-u`/`-r` files of tpm2_createak), which any later boot reloads
 * under the same EK (the EK is re-derived from the endorsement seed). The host's identity is the AK's
 * Name, nameAlg ‖ H_nameAlg(TPMT_PUBLIC) (Part 1 §16).
 */

import { hashAlgOf } from '../crypto/algorithms.js';
import { digest as hash } from '../crypto/hash.js';
import { equalBytes, toHex } from '../encoding/bytes.js';
import { ExecgateError } from '../errors.js';
import { Create, EvictControl, Load } from '../tpm/commands.js';
import { TPM_ALG, TPM_ECC_CURVE, TPM_RH } from '../tpm/constants.js';
import { objectName } from '../tpm/names.js';
import { policySecret } from '../tpm/policy.js';
import { marshal, unmarshal } from '../tpm/schema.js';
import { type AuthSession, startAuthSession } from '../tpm/sessions.js';
import {
  TPM2B_PRIVATE,
  TPM2B_PUBLIC,
  type TPMT_PUBLIC,
  TPMT_PUBLIC as TPMT_PUBLIC_SCHEMA,
} from '../tpm/structures.js';
import { akEccP256Template, akRsa2048Template } from '../tpm/templates.js';
import type { Tpm } from '../tpm/tpm.js';
import { type Ek, readPublicOrUndefined, samePublic, spkiPemOf, withEmptyUnique } from './ek.js';

export type AkAlg = 'rsa' | 'ecc';

/** Where execgate keeps the AK unless told otherwise (TCG handle registry: endorsement-range persistent). */
export const DEFAULT_AK_HANDLE = 0x81010002;

export type AkCode = 'E_AK_MISSING' | 'E_AK_INVALID' | 'E_AK_HANDLE' | 'E_AK_MISMATCH';

export class AkError extends ExecgateError<AkCode> {}

/** An AK as created: the pair to keep, its public area and Name. */
export interface AkPair {
  readonly public: TPMT_PUBLIC;
  /** TPM2B_PRIVATE contents (the TPM-wrapped sensitive area; useless outside this TPM). */
  readonly private: Uint8Array;
  readonly name: Uint8Array;
}

export function akTemplate(alg: AkAlg, nameAlg: number = TPM_ALG.SHA256): TPMT_PUBLIC {
  return alg === 'rsa' ? akRsa2048Template(nameAlg) : akEccP256Template(nameAlg);
}

/** 'rsa' or 'ecc' for a public area, else E_AK_INVALID. */
export function akAlgOf(pub: TPMT_PUBLIC): AkAlg {
  if (pub.type === TPM_ALG.RSA) return 'rsa';
  if (pub.type === TPM_ALG.ECC) return 'ecc';
  throw new AkError('E_AK_INVALID', `AK type 0x${pub.type.toString(16)} is neither RSA nor ECC`);
}

/**
 * Checks that `pub` is an AK as this module makes them: restricted, signing, not decrypting, fixedTPM,
 * fixedParent, sensitiveDataOrigin; RSA-2048 RSASSA-SHA256 or P-256 ECDSA-SHA256.
 */
export function checkAkPublic(pub: TPMT_PUBLIC): AkAlg {
  const alg = akAlgOf(pub);
  const a = pub.objectAttributes;
  if (!(a.restricted && a.sign && !a.decrypt && a.fixedTPM && a.fixedParent && a.sensitiveDataOrigin)) {
    throw new AkError('E_AK_INVALID', 'the key is not a restricted signing key fixed to this TPM');
  }
  const want = akTemplate(alg, pub.nameAlg);
  const params = (p: TPMT_PUBLIC) =>
    marshal(TPM2B_PUBLIC, {
      ...withEmptyUnique(p),
      objectAttributes: want.objectAttributes,
      authPolicy: new Uint8Array(0),
    });
  if (!equalBytes(params(pub), params(want))) {
    throw new AkError(
      'E_AK_INVALID',
      `the ${alg} key's parameters are not ${alg === 'rsa' ? 'RSA-2048 RSASSA-SHA256' : 'P-256 ECDSA-SHA256'}`,
    );
  }
  if (
    pub.type === TPM_ALG.ECC &&
    want.type === TPM_ALG.ECC &&
    pub.parameters.curveID !== want.parameters.curveID
  ) {
    throw new AkError('E_AK_INVALID', 'the ECC AK is not on P-256');
  }
  return alg;
}

/** Hashes an AK's Name and signing scheme may use: SHA-256 or better (SHA-1 only for a legacy AK, when allowed). */
const STRONG_HASHES: readonly number[] = [TPM_ALG.SHA256, TPM_ALG.SHA384, TPM_ALG.SHA512];

/**
 * The attestation-key policy for an AK public area handed over by someone else (enrolment, verification):
 * restricted signing key (sign set, decrypt clear), fixedTPM, fixedParent, sensitiveDataOrigin, no
 * symmetric algorithm; RSA ≥ 2048 with RSASSA or RSAPSS, or ECC P-256/P-384 with ECDSA; scheme hash and
 * nameAlg SHA-256, SHA-384 or SHA-512 (SHA-1 too with `allowSha1`). Wider than `checkAkPublic`, which
 * holds our own AKs to our templates: tpm2_createak's other AKs pass here. E_AK_INVALID, naming the first
 * failing property, otherwise.
 *
 * These attributes are what the key claims; only credential activation (or a quote's qualifiedSigner)
 * shows that a TPM holds a key with this Name. Anyone can write a TPMT_PUBLIC claiming them.
 */
export function checkAkAttributes(pub: TPMT_PUBLIC, opts: { allowSha1?: boolean } = {}): AkAlg {
  const alg = akAlgOf(pub);
  const bad = (why: string) => new AkError('E_AK_INVALID', `the key is not an attestation key: ${why}`);
  const a = pub.objectAttributes;
  if (!a.sign) throw bad('sign is clear (not a signing key)');
  if (a.decrypt) throw bad('decrypt is set (an AK must not decrypt)');
  if (!a.restricted) throw bad('restricted is clear (it could sign anything, e.g. a forged TPMS_ATTEST)');
  if (!a.fixedTPM) throw bad('fixedTPM is clear (it may be duplicated out of the TPM)');
  if (!a.fixedParent) throw bad('fixedParent is clear (it may be duplicated to another parent)');
  if (!a.sensitiveDataOrigin) throw bad('sensitiveDataOrigin is clear (its private key came from outside)');
  const hashes = opts.allowSha1 ? [TPM_ALG.SHA1, ...STRONG_HASHES] : STRONG_HASHES;
  const hashName = (h: number) => `0x${h.toString(16).padStart(4, '0')}`;
  if (!hashes.includes(pub.nameAlg)) throw bad(`nameAlg ${hashName(pub.nameAlg)} is not SHA-256 or better`);
  if (pub.type !== TPM_ALG.RSA && pub.type !== TPM_ALG.ECC) throw bad('neither RSA nor ECC');
  const p = pub.parameters;
  if (p.symmetric.algorithm !== TPM_ALG.NULL) throw bad('a signing key has no symmetric algorithm');
  const scheme = p.scheme;
  const allowed: readonly number[] =
    pub.type === TPM_ALG.RSA ? [TPM_ALG.RSASSA, TPM_ALG.RSAPSS] : [TPM_ALG.ECDSA];
  if (!allowed.includes(scheme.scheme))
    throw bad(
      `signing scheme 0x${scheme.scheme.toString(16)} is not ${pub.type === TPM_ALG.RSA ? 'RSASSA or RSAPSS' : 'ECDSA'}`,
    );
  const details = scheme.details as { hashAlg?: number } | null;
  const schemeHash = details?.hashAlg ?? TPM_ALG.NULL;
  if (!hashes.includes(schemeHash))
    throw bad(`the signing scheme's hash ${hashName(schemeHash)} is not SHA-256 or better`);
  if (pub.type === TPM_ALG.RSA && pub.parameters.keyBits < 2048)
    throw bad(`RSA-${pub.parameters.keyBits} is shorter than 2048 bits`);
  if (
    pub.type === TPM_ALG.ECC &&
    pub.parameters.curveID !== TPM_ECC_CURVE.NIST_P256 &&
    pub.parameters.curveID !== TPM_ECC_CURVE.NIST_P384
  )
    throw bad(`ECC curve 0x${pub.parameters.curveID.toString(16)} is not P-256 or P-384`);
  return alg;
}

/** An AK public area read from a file, its Name computed over the exact bytes. */
export interface AkPublic {
  readonly public: TPMT_PUBLIC;
  /** nameAlg ‖ H_nameAlg(TPMT_PUBLIC) (Part 1 §16). */
  readonly name: Uint8Array;
  readonly alg: AkAlg;
}

/**
 * Parses an AK public area given as TPM2B_PUBLIC (tpm2-tools' ak.pub, `host init --ak-save`) or as a bare
 * TPMT_PUBLIC, holds it to `checkAkAttributes` and computes its Name. E_AK_INVALID when it is neither
 * form (e.g. a PEM: a bare public key says nothing about where its private key lives) or not an AK.
 */
export function parseAkPublic(bytes: Uint8Array, opts: { allowSha1?: boolean } = {}): AkPublic {
  let tpmt: Uint8Array | undefined;
  if (bytes.length >= 2 && ((bytes[0] ?? 0) << 8) + (bytes[1] ?? 0) === bytes.length - 2)
    tpmt = bytes.subarray(2);
  let pub: TPMT_PUBLIC | undefined;
  for (const candidate of tpmt ? [tpmt, bytes] : [bytes]) {
    try {
      pub = unmarshal(TPMT_PUBLIC_SCHEMA, candidate);
      tpmt = candidate;
      break;
    } catch {
      // the other form
    }
  }
  if (pub === undefined || tpmt === undefined) {
    throw new AkError(
      'E_AK_INVALID',
      'the AK public is neither a TPM2B_PUBLIC nor a TPMT_PUBLIC (a PEM public key does not show that a TPM holds it)',
    );
  }
  if (!equalBytes(marshal(TPMT_PUBLIC_SCHEMA, pub), tpmt))
    throw new AkError('E_AK_INVALID', 'the AK public area does not re-marshal to its own bytes');
  const alg = checkAkAttributes(pub, opts);
  return { public: pub, name: objectName(pub), alg };
}

/**
 * A session authorizing the default EK in the USER or ADMIN role: PolicySecret(TPM_RH_ENDORSEMENT) salted
 * to the EK (Low Range templates, PolicyA), or undefined for the High Range EK (userWithAuth set, empty
 * authValue: a password session does). The caller flushes a returned session.
 */
export async function ekSession(
  tpm: Tpm,
  ek: Ek,
  opts: { readonly encrypt?: boolean } = {},
): Promise<AuthSession | undefined> {
  if (ek.public.objectAttributes.userWithAuth) return undefined;
  const session = await startAuthSession(tpm, {
    type: 'policy',
    hash: hashAlgOf(ek.public.nameAlg),
    salt: { handle: ek.handle, public: ek.public },
    ...(opts.encrypt ? { encrypt: true } : {}),
  });
  try {
    await policySecret(tpm, session, TPM_RH.ENDORSEMENT);
  } catch (e) {
    await tpm.flush(session.handle);
    throw e;
  }
  return session;
}

async function withEkSession<T>(
  tpm: Tpm,
  ek: Ek,
  fn: (s: AuthSession | undefined) => Promise<T>,
): Promise<T> {
  const session = await ekSession(tpm, ek);
  try {
    return await fn(session);
  } finally {
    if (session) await tpm.flush(session.handle);
  }
}

/** TPM2_Create of an AK under the loaded EK; nothing stays loaded. */
export async function createAk(tpm: Tpm, ek: Ek, alg: AkAlg): Promise<AkPair> {
  const out = await withEkSession(tpm, ek, (s) =>
    tpm.run(
      Create,
      {
        parentHandle: ek.handle,
        inSensitive: { userAuth: new Uint8Array(0), data: new Uint8Array(0) },
        inPublic: akTemplate(alg, ek.public.nameAlg),
        outsideInfo: new Uint8Array(0),
        creationPCR: [],
      },
      { sessions: [s] },
    ),
  );
  return { public: out.outPublic, private: out.outPrivate, name: objectName(out.outPublic) };
}

/** TPM2_Load of a saved AK pair under the loaded EK; returns the transient handle (flush it). */
export async function loadAk(tpm: Tpm, ek: Ek, pair: Pick<AkPair, 'public' | 'private'>): Promise<number> {
  const { objectHandle } = await withEkSession(tpm, ek, (s) =>
    tpm.run(
      Load,
      { parentHandle: ek.handle, inPrivate: pair.private, inPublic: pair.public },
      { sessions: [s] },
    ),
  );
  return objectHandle;
}

/** Makes a loaded AK persistent at `handle` (owner authorization, Part 3 §28.5). */
export async function persistAk(tpm: Tpm, transientHandle: number, handle: number): Promise<void> {
  checkPersistentHandle(handle);
  await tpm.run(EvictControl, {
    auth: TPM_RH.OWNER,
    objectHandle: transientHandle,
    persistentHandle: handle,
  });
}

/** Removes the persistent object at `handle` (owner authorization). */
export async function evictPersistent(tpm: Tpm, handle: number): Promise<void> {
  checkPersistentHandle(handle);
  await tpm.run(EvictControl, { auth: TPM_RH.OWNER, objectHandle: handle, persistentHandle: handle });
}

/** Part 2 §7.6: owner-authorized persistent handles are 0x81000000–0x817fffff. */
export function checkPersistentHandle(handle: number): void {
  if (!Number.isInteger(handle) || handle < 0x81000000 || handle > 0x817fffff) {
    throw new AkError(
      'E_AK_HANDLE',
      `0x${handle.toString(16)} is not an owner persistent handle (0x81000000–0x817fffff)`,
    );
  }
}

/** The AK's public area at a persistent (or loaded) handle, checked to be an AK; undefined when absent. */
export async function readAk(
  tpm: Tpm,
  handle: number,
): Promise<{ public: TPMT_PUBLIC; name: Uint8Array; qualifiedName: Uint8Array } | undefined> {
  const found = await readPublicOrUndefined(tpm, handle);
  if (!found) return undefined;
  checkAkPublic(found.outPublic);
  return { public: found.outPublic, name: found.name, qualifiedName: found.qualifiedName };
}

/** The AK `host init` pinned (host.json): the persistent handle it lives at and its public area. */
export interface AkPin {
  readonly handle: number;
  readonly public: TPMT_PUBLIC;
}

/**
 * Refuses (E_AK_MISMATCH) a public area reported for the pinned AK's handle that is not byte-equal to the
 * pinned one, `unique` included: an interposer on the bus, or another key evicted into the handle, must
 * not be believed to be this host's AK.
 */
export function checkAkPin(reported: TPMT_PUBLIC, pin: AkPin): void {
  if (!samePublic(reported, pin.public)) {
    throw new AkError(
      'E_AK_MISMATCH',
      `the key at 0x${pin.handle.toString(16)} (Name ${toHex(objectName(reported))}) is not the AK pinned at host init (Name ${toHex(objectName(pin.public))}): an interposer on the bus or a swapped key; if this TPM was re-provisioned, run "execgate host init --force"`,
    );
  }
}

/**
 * Reads the pinned AK's handle and holds the TPM's answer to the pin (checkAkPin); E_AK_MISSING when the
 * handle is empty. Only the public area is compared: a quote is then believed only when it verifies
 * under the pinned key, whatever the TPM said here.
 */
export async function confirmPinnedAk(tpm: Tpm, pin: AkPin): Promise<void> {
  const found = await readPublicOrUndefined(tpm, pin.handle);
  if (found === undefined) {
    throw new AkError(
      'E_AK_MISSING',
      `no AK at 0x${pin.handle.toString(16)}, where host init pinned it: re-provision with "execgate host init --force"`,
    );
  }
  checkAkPin(found.outPublic, pin);
}

/**
 * The qualified Name an AK created directly under `ek` has (Part 1 §16.5): QN(EK) = nameAlg ‖
 * H(TPM_RH_ENDORSEMENT ‖ Name(EK)), QN(AK) = nameAlg ‖ H(QN(EK) ‖ Name(AK)). ReadPublic's qualifiedName
 * equal to it proves the AK's parent is that EK.
 */
export function qualifiedNameUnder(ek: Pick<Ek, 'public' | 'name'>, akPublic: TPMT_PUBLIC): Uint8Array {
  const qn = (nameAlg: number, parentQn: Uint8Array, name: Uint8Array) => {
    const d = hash(hashAlgOf(nameAlg), Uint8Array.from([...parentQn, ...name]));
    return Uint8Array.from([nameAlg >>> 8, nameAlg & 0xff, ...d]);
  };
  const hierarchy = Uint8Array.from([0x40, 0x00, 0x00, 0x0b]);
  const qnEk = qn(ek.public.nameAlg, hierarchy, ek.name);
  return qn(akPublic.nameAlg, qnEk, objectName(akPublic));
}

/** The saved-pair form: TPM2B_PUBLIC and TPM2B_PRIVATE bytes, as tpm2_createak's `-u` and `-r` files. */
export function saveAkPair(pair: Pick<AkPair, 'public' | 'private'>): {
  public: Uint8Array;
  private: Uint8Array;
} {
  return { public: marshal(TPM2B_PUBLIC, pair.public), private: marshal(TPM2B_PRIVATE, pair.private) };
}

/** Parses a saved pair (throws E_TPM_PARSE on malformed bytes, E_AK_INVALID when it is not an AK). */
export function parseAkPair(saved: { public: Uint8Array; private: Uint8Array }): AkPair {
  const pub = unmarshal(TPM2B_PUBLIC, saved.public);
  checkAkPublic(pub);
  return { public: pub, private: unmarshal(TPM2B_PRIVATE, saved.private), name: objectName(pub) };
}

/** SubjectPublicKeyInfo PEM of the AK (the `ak.pem` of tpm2_createak -f pem). */
export function akPublicPem(pub: TPMT_PUBLIC): string {
  return spkiPemOf(pub);
}
