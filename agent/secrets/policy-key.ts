// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/secrets/policy-key
 *
 * The policy key of the PolicyAuthorize path (issue 17): an ECDSA P-256 or P-384 key of `execgate key
 * gen` (Ed25519 is not a TPM algorithm), loaded into the TPM as a public key only. Its TPMT_PUBLIC here
 * is what the sealed object's policy names (by its Name), and `signPcrPolicy` makes the signature the TPM
 * checks with TPM2_VerifySignature: ECDSA over H(approvedPolicy ‖ policyRef), with the key's nameAlg
 * (Part 3 §23.16 hashes aHash with it), SHA-256 for P-256 and SHA-384 for P-384.
 */
import { sign } from 'node:crypto';
import type { PublicKey, SigningKey } from '../crypto/keys.js';
import { TPM_ALG, TPM_ECC_CURVE } from '../tpm/constants.js';
import { objectName } from '../tpm/names.js';
import type { PcrSelection } from '../tpm/pcr-selection.js';
import { attrs, marshal } from '../tpm/schema.js';
import { TPMA_OBJECT, TPMT_SIGNATURE } from '../tpm/structures.js';
import type { EccPublic } from '../tpm/templates.js';
import { SecretError } from './errors.js';
import { approvedPcrPolicy } from './seal.js';
import type { SignedPolicy } from './store.js';

/** The TPMT_PUBLIC of a P-256 or P-384 public key, to load with TPM2_LoadExternal. */
export function policyKeyPublic(key: PublicKey): EccPublic {
  if (key.alg === 'ed25519')
    throw new SecretError(
      'E_SECRET_FORMAT',
      'a policy key must be ECDSA P-256 or P-384 (execgate key gen --alg p256): TPMs do not verify Ed25519',
    );
  const size = key.alg === 'p256' ? 32 : 48;
  const point = key.spki.subarray(key.spki.length - (2 * size + 1));
  const hash = key.alg === 'p256' ? TPM_ALG.SHA256 : TPM_ALG.SHA384;
  return {
    type: TPM_ALG.ECC,
    nameAlg: hash,
    objectAttributes: attrs(TPMA_OBJECT, { userWithAuth: true, sign: true }),
    authPolicy: new Uint8Array(0),
    parameters: {
      symmetric: { algorithm: TPM_ALG.NULL, keyBits: null, mode: null },
      scheme: { scheme: TPM_ALG.ECDSA, details: { hashAlg: hash } },
      curveID: key.alg === 'p256' ? TPM_ECC_CURVE.NIST_P256 : TPM_ECC_CURVE.NIST_P384,
      kdf: { scheme: TPM_ALG.NULL, details: null },
    },
    unique: { x: point.slice(1, 1 + size), y: point.slice(1 + size) },
  };
}

/** A PCR policy (the PCRs `selection` at `pcrDigest`) signed by `key` for PolicyAuthorize. */
export function signPcrPolicy(key: SigningKey, selection: PcrSelection, pcrDigest: Uint8Array): SignedPolicy {
  const pub = policyKeyPublic(key);
  const hash = key.alg === 'p256' ? 'sha256' : 'sha384';
  const size = key.alg === 'p256' ? 32 : 48;
  // aHash = H(approvedPolicy ‖ policyRef), policyRef empty: node:crypto hashes the message with `hash`.
  const sig = sign(hash, approvedPcrPolicy(selection, pcrDigest), {
    key: key.privateKey,
    dsaEncoding: 'ieee-p1363',
  });
  const signature = marshal(TPMT_SIGNATURE, {
    sigAlg: TPM_ALG.ECDSA,
    signature: {
      hash: hash === 'sha256' ? TPM_ALG.SHA256 : TPM_ALG.SHA384,
      signatureR: new Uint8Array(sig.subarray(0, size)),
      signatureS: new Uint8Array(sig.subarray(size)),
    },
  });
  return { pcrs: selection, pcrDigest, keyName: objectName(pub), signature };
}
