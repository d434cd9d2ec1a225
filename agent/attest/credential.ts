// SPDX-License-Identifier: Apache-2.0
/**
 * Credential activation (TCG TPM 2.0 Library Part 1 §24 "Credential Protection", Part 3 §12.5/§12.6): the
 * verifier proves that an AK lives in the same TPM as an EK. It seals a secret to the EK and the AK's
 * Name in software (`makeCredential`, no TPM needed); only that TPM, holding both keys, releases it
 * (`activateCredential`, TPM2_ActivateCredential).
 *
 * makeCredential (Part 1 §24.4–§24.5, the TPM's own CryptMakeCredential):
 *   seed       = secret sharing to the EK with label "IDENTITY" (seed.ts: RSA-OAEP, or ECDH + KDFe)
 *   symKey     = KDFa(nameAlg, seed, "STORAGE", Name(AK), ∅, EK symmetric keyBits)
 *   encIdentity = AES-CFB(symKey, IV = 0, TPM2B_DIGEST(credential))
 *   HMACkey    = KDFa(nameAlg, seed, "INTEGRITY", ∅, ∅, 8·digestByteLen(nameAlg))
 *   outerHMAC  = HMAC_nameAlg(HMACkey, encIdentity ‖ Name(AK))
 *   TPM2B_ID_OBJECT = TPM2B_DIGEST(outerHMAC) ‖ encIdentity;  TPM2B_ENCRYPTED_SECRET = the seed's ciphertext
 * nameAlg and the symmetric definition are the EK's (L-1/L-2: SHA-256, AES-128; H-3: SHA-384, AES-256).
 *
 * The seed and derived keys live only in node:crypto calls; our copies are zeroed after use.
 *
 * The file format (`encodeCredentialFile`) is tpm2-tools' `tpm2_makecredential -o`: magic 0xBADCC0DE,
 * version 1, TPM2B_ID_OBJECT, TPM2B_ENCRYPTED_SECRET (all big-endian).
 */

import { createHmac } from 'node:crypto';
import { digestByteLen, hashAlgOf } from '../crypto/algorithms.js';
import { equalBytes, fromHex, isHex, toHex } from '../encoding/bytes.js';
import { JsonError, parseJsonObject } from '../encoding/canonical-json.js';
import { ExecgateError } from '../errors.js';
import { ActivateCredential } from '../tpm/commands.js';
import { TPM_ALG } from '../tpm/constants.js';
import { isTpmError } from '../tpm/errors.js';
import { kdfa } from '../tpm/kdf.js';
import { objectName } from '../tpm/names.js';
import { cfbEncrypt } from '../tpm/paramcrypt.js';
import { TPM_RC } from '../tpm/rc.js';
import { marshal, unmarshal } from '../tpm/schema.js';
import { createSeed, type RandomBytes } from '../tpm/seed.js';
import { seedTargetOf, startAuthSession } from '../tpm/sessions.js';
import {
  TPM2B_DIGEST,
  TPM2B_ENCRYPTED_SECRET,
  TPM2B_ID_OBJECT,
  TPM2B_PUBLIC,
  TPMS_ECC_POINT,
  type TPMT_PUBLIC,
} from '../tpm/structures.js';
import type { Tpm } from '../tpm/tpm.js';
import {
  type AkAlg,
  type AkPublic,
  akPublicPem,
  ekSession,
  parseAkPublic,
  qualifiedNameUnder,
} from './ak.js';
import { type EkAlg, type EkOptions, withEk } from './ek.js';

export type CredentialCode = 'E_CREDENTIAL_INPUT' | 'E_CREDENTIAL_REJECTED';

/** Bad input to make/activate (E_CREDENTIAL_INPUT), or the TPM refused to release the credential. */
export class CredentialError extends ExecgateError<CredentialCode> {}

/** The two outputs of TPM2_MakeCredential, as buffers (without their TPM2B size prefixes). */
export interface CredentialBlob {
  /** TPM2B_ID_OBJECT.credential: TPM2B_DIGEST(outerHMAC) ‖ encIdentity. */
  readonly credentialBlob: Uint8Array;
  /** TPM2B_ENCRYPTED_SECRET.secret: the OAEP ciphertext, or a marshalled TPMS_ECC_POINT. */
  readonly secret: Uint8Array;
}

function symKeyBits(ek: TPMT_PUBLIC): number {
  const sym = ek.type === TPM_ALG.RSA || ek.type === TPM_ALG.ECC ? ek.parameters.symmetric : undefined;
  if (sym?.algorithm !== TPM_ALG.AES || sym.mode !== TPM_ALG.CFB) {
    throw new CredentialError(
      'E_CREDENTIAL_INPUT',
      'the EK is not a storage key with AES-CFB (Part 1 §24.4)',
    );
  }
  return sym.keyBits;
}

/** Part 1 §24: TPM2_MakeCredential computed in software for `ekPublic` and the AK's Name. */
export function makeCredential(
  ekPublic: TPMT_PUBLIC,
  akName: Uint8Array,
  credential: Uint8Array,
  randomBytes?: RandomBytes,
): CredentialBlob {
  const nameAlg = hashAlgOf(ekPublic.nameAlg);
  const a = ekPublic.objectAttributes;
  if (!(a.restricted && a.decrypt && !a.sign)) {
    throw new CredentialError('E_CREDENTIAL_INPUT', 'the EK must be a restricted decryption key');
  }
  if (credential.length === 0 || credential.length > digestByteLen(nameAlg)) {
    // Part 3 §12.6: TPM_RC_SIZE when the credential is larger than the EK nameAlg's digest.
    throw new CredentialError(
      'E_CREDENTIAL_INPUT',
      `the secret must be 1..${digestByteLen(nameAlg)} bytes, got ${credential.length}`,
    );
  }
  if (
    akName.length < 2 ||
    akName.length !== 2 + digestByteLen(hashAlgOf(((akName[0] ?? 0) << 8) | (akName[1] ?? 0)))
  ) {
    throw new CredentialError('E_CREDENTIAL_INPUT', 'the AK name must be nameAlg ‖ digest');
  }
  const bits = symKeyBits(ekPublic);
  const target = seedTargetOf(ekPublic);
  const made = createSeed(target, 'IDENTITY', ...(randomBytes ? [randomBytes] : []));
  const secret = 'encryptedSeed' in made ? made.encryptedSeed : marshal(TPMS_ECC_POINT, made.ephemeral);
  const seed = made.seed;
  const symKey = kdfa(nameAlg, seed, 'STORAGE', akName, new Uint8Array(0), bits);
  const hmacKey = kdfa(
    nameAlg,
    seed,
    'INTEGRITY',
    new Uint8Array(0),
    new Uint8Array(0),
    8 * digestByteLen(nameAlg),
  );
  try {
    const encIdentity = cfbEncrypt(symKey, new Uint8Array(16), marshal(TPM2B_DIGEST, credential));
    const outerHmac = new Uint8Array(
      createHmac(nameAlg, hmacKey).update(encIdentity).update(akName).digest(),
    );
    const credentialBlob = new Uint8Array([...marshal(TPM2B_DIGEST, outerHmac), ...encIdentity]);
    return { credentialBlob, secret };
  } finally {
    seed.fill(0);
    symKey.fill(0);
    hmacKey.fill(0);
  }
}

/**
 * TPM2_ActivateCredential with the AK at `akHandle` and the default EK of `ekAlg` (persistent, or
 * recreated and flushed), authorized by a PolicySecret(TPM_RH_ENDORSEMENT) session salted to the EK that
 * also encrypts the response (certInfo), so the secret does not cross the bus in clear. `opts.pinned`: the
 * EK must be the one pinned at provisioning (E_EK_MISMATCH), so that no interposer learns the salt.
 * Returns the credential; a blob made for another TPM or another AK gives E_CREDENTIAL_REJECTED.
 */
export async function activateCredential(
  tpm: Tpm,
  akHandle: number,
  blob: CredentialBlob,
  ekAlg: EkAlg = 'rsa2048',
  opts: EkOptions = {},
): Promise<Uint8Array> {
  return withEk(
    tpm,
    ekAlg,
    async (ek) => {
      // encrypt: the TPM returns certInfo (the secret) encrypted under a session salted to the EK (Part 1
      // §21), so it never crosses the bus in clear. The High Range EK (userWithAuth) is authorized by a
      // password, so an extra encrypt-only HMAC session does that there.
      const auth = await ekSession(tpm, ek, { encrypt: true });
      const session =
        auth ??
        (await startAuthSession(tpm, {
          type: 'hmac',
          hash: hashAlgOf(ek.public.nameAlg),
          salt: { handle: ek.handle, public: ek.public },
          encrypt: true,
        }));
      try {
        const { certInfo } = await tpm.run(
          ActivateCredential,
          { activateHandle: akHandle, keyHandle: ek.handle, ...blob },
          { sessions: auth ? [undefined, auth] : [undefined, undefined, session] },
        );
        return certInfo;
      } catch (e) {
        // Part 3 §12.5: INTEGRITY (wrong Name or seed), VALUE/FAILURE (libtpms on an OAEP failure), SIZE.
        if (
          isTpmError(e) &&
          [TPM_RC.INTEGRITY, TPM_RC.VALUE, TPM_RC.FAILURE, TPM_RC.SIZE, TPM_RC.ECC_POINT].some((rc) =>
            e.is(rc),
          )
        ) {
          throw new CredentialError('E_CREDENTIAL_REJECTED', `the TPM refused the credential: ${e.message}`, {
            cause: e,
          });
        }
        throw e;
      } finally {
        await tpm.flush(session.handle);
      }
    },
    opts,
  );
}

const MAGIC = 0xbadcc0de;

/** tpm2-tools' credential file: magic, version 1, TPM2B_ID_OBJECT, TPM2B_ENCRYPTED_SECRET. */
export function encodeCredentialFile(blob: CredentialBlob): Uint8Array {
  const head = new Uint8Array(8);
  const v = new DataView(head.buffer);
  v.setUint32(0, MAGIC);
  v.setUint32(4, 1);
  return new Uint8Array([
    ...head,
    ...marshal(TPM2B_ID_OBJECT, blob.credentialBlob),
    ...marshal(TPM2B_ENCRYPTED_SECRET, blob.secret),
  ]);
}

/** Parses `encodeCredentialFile`'s format; E_CREDENTIAL_INPUT when malformed. */
export function decodeCredentialFile(bytes: Uint8Array): CredentialBlob {
  const bad = (why: string, cause?: unknown) =>
    new CredentialError(
      'E_CREDENTIAL_INPUT',
      `not a credential file: ${why}`,
      cause === undefined ? {} : { cause },
    );
  if (bytes.length < 12) throw bad('too short');
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (v.getUint32(0) !== MAGIC) throw bad('bad magic');
  if (v.getUint32(4) !== 1) throw bad(`version ${v.getUint32(4)}`);
  const idLen = v.getUint16(8);
  const idEnd = 10 + idLen;
  if (idEnd + 2 > bytes.length) throw bad('truncated');
  try {
    const credentialBlob = unmarshal(TPM2B_ID_OBJECT, bytes.subarray(8, idEnd));
    const secret = unmarshal(TPM2B_ENCRYPTED_SECRET, bytes.subarray(idEnd));
    return { credentialBlob, secret };
  } catch (e) {
    throw bad('malformed TPM2B', e);
  }
}

// ── Enrolment record ──────────────────────────────────────────────────────────────────────────────────

/**
 * What the verifier records at `credential make --ak-public` and trusts once the secret comes back: the
 * AK public area it checked (attributes, Name computed here), its Name, its SubjectPublicKeyInfo PEM and
 * its qualified Name under the EK the credential was sealed to. Activation proves that the TPM holding
 * that EK has loaded an object of this Name; fixedTPM and fixedParent (checked) keep it there. The
 * qualified Name assumes the AK is a child of the EK (host init, tpm2_createak); the TPM signs it into
 * every quote as qualifiedSigner, so a quote made by this AK elsewhere in the hierarchy is refused.
 */
export interface AkEnrolment {
  readonly akBinding: 'ak-public';
  readonly akName: string;
  readonly akQualifiedName: string;
  readonly akAlg: AkAlg;
  /** TPM2B_PUBLIC, hex. */
  readonly akPublic: string;
  readonly akPublicPem: string;
}

export function akEnrolment(ekPublic: TPMT_PUBLIC, ak: AkPublic): AkEnrolment {
  const ek = { public: ekPublic, name: objectName(ekPublic) };
  return {
    akBinding: 'ak-public',
    akName: toHex(ak.name),
    akQualifiedName: toHex(qualifiedNameUnder(ek, ak.public)),
    akAlg: ak.alg,
    akPublic: toHex(marshal(TPM2B_PUBLIC, ak.public)),
    akPublicPem: akPublicPem(ak.public),
  };
}

/**
 * Reads an enrolment record (akEnrolment as JSON) back: the AK public area is checked again and must
 * have the recorded Name. E_CREDENTIAL_INPUT when the record is malformed or inconsistent.
 */
export function parseAkEnrolment(
  text: string,
  opts: { allowSha1?: boolean } = {},
): AkPublic & { qualifiedName: Uint8Array } {
  const bad = (why: string) =>
    new CredentialError('E_CREDENTIAL_INPUT', `not an AK enrolment record: ${why}`);
  let o: Readonly<Record<string, unknown>>;
  try {
    o = parseJsonObject(text);
  } catch (e) {
    if (e instanceof JsonError) throw bad(e.message);
    throw e;
  }
  const hexField = (k: string): Uint8Array => {
    const v = o[k];
    if (typeof v !== 'string' || !isHex(v) || v.length === 0) throw bad(`"${k}" must be hex`);
    return fromHex(v);
  };
  if (o.akBinding !== 'ak-public') throw bad('"akBinding" is not "ak-public"');
  const ak = parseAkPublic(hexField('akPublic'), opts);
  if (!equalBytes(ak.name, hexField('akName'))) throw bad('"akName" is not the Name of "akPublic"');
  const qualifiedName = hexField('akQualifiedName');
  if (qualifiedName.length !== ak.name.length)
    throw bad('"akQualifiedName" is not a Name of the AK\'s nameAlg');
  return { ...ak, qualifiedName };
}
