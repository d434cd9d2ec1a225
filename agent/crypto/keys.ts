// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/crypto/keys
 *
 * Signing keys of issuers, delegates and approvers (DESIGN §2: secrets stay in node:crypto): generation,
 * PEM loading, signing, and the key id every artifact names its signer by. Three algorithms, the COSE
 * ones artifacts use: Ed25519 (EdDSA), ECDSA P-256 with SHA-256 (ES256), ECDSA P-384 with SHA-384
 * (ES384). Public keys are DER SubjectPublicKeyInfo; whether one is usable is decided by wasm-core's
 * strict SPKI parser, the same one verification uses, so a key accepted here verifies there.
 *
 * kid = SHA-256 of the DER SubjectPublicKeyInfo (the whole structure, algorithm identifier included, so
 * a key's bytes under another algorithm have another kid). Each key has exactly one accepted SPKI (DER,
 * RFC 8410 / RFC 5480 namedCurve, EC points uncompressed only), so each key has exactly one kid.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { DerError, parseSpki } from '../../wasm-core/index.js';
import { ExecgateError } from '../errors.js';
import { sha256 } from './hash.js';

export type SigningAlg = 'ed25519' | 'p256' | 'p384';
export const SIGNING_ALGS: readonly SigningAlg[] = ['ed25519', 'p256', 'p384'];

/** A key file that is not a usable key of a supported algorithm. */
export class KeyError extends ExecgateError<'E_KEY'> {}

export interface PublicKey {
  readonly alg: SigningAlg;
  /** DER SubjectPublicKeyInfo. */
  readonly spki: Uint8Array;
  /** SHA-256 of `spki`. */
  readonly kid: Uint8Array;
}

export interface SigningKey extends PublicKey {
  readonly privateKey: KeyObject;
}

/** SHA-256 of a DER SubjectPublicKeyInfo: the kid. */
export function keyId(spki: Uint8Array): Uint8Array {
  return sha256(spki);
}

/** The algorithm of a DER SubjectPublicKeyInfo, or E_KEY naming what it is instead. */
export function publicKeyOf(spki: Uint8Array, what = 'public key'): PublicKey {
  let info: ReturnType<typeof parseSpki>;
  try {
    info = parseSpki(spki);
  } catch (e) {
    if (e instanceof DerError)
      throw new KeyError('E_KEY', `${what} is not a DER SubjectPublicKeyInfo: ${e.message}`);
    throw e;
  }
  let alg: SigningAlg;
  if (info.kind === 'ed25519') alg = 'ed25519';
  else if (info.kind === 'ec' && info.curve === 'P-256') alg = 'p256';
  else if (info.kind === 'ec' && info.curve === 'P-384') alg = 'p384';
  else
    throw new KeyError(
      'E_KEY',
      `${what} is ${info.kind === 'ec' ? `EC ${info.curve}` : info.kind}: use Ed25519, P-256 or P-384`,
    );
  // One key, one SPKI, one kid: a compressed point (02/03 ‖ x) is the same key as the uncompressed one
  // under another kid, which would let one approver count twice or a key escape its kid's revocation.
  if (info.kind === 'ec' && (info.point[0] !== 4 || info.point.length !== (alg === 'p256' ? 65 : 97)))
    throw new KeyError(
      'E_KEY',
      `${what} is not an uncompressed EC point (04 ‖ x ‖ y): a compressed or hybrid point is the same key under another kid`,
    );
  return { alg, spki: new Uint8Array(spki), kid: keyId(spki) };
}

const PEM_BLOCK = /-----BEGIN ([A-Z ]+)-----([A-Za-z0-9+/=\s]*)-----END \1-----/g;

/** The PEM blocks of `text` with `label`, as DER. */
function pemBlocks(text: string, label: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const m of text.matchAll(PEM_BLOCK)) {
    if (m[1] === label) out.push(new Uint8Array(Buffer.from((m[2] ?? '').replace(/\s+/g, ''), 'base64')));
  }
  return out;
}

/** A public key from an SPKI PEM ("PUBLIC KEY", exactly one block) or DER. */
export function parsePublicKey(bytes: Uint8Array, what = 'public key'): PublicKey {
  const text = Buffer.from(bytes).toString('latin1');
  if (!text.includes('-----BEGIN ')) return publicKeyOf(bytes, what);
  const blocks = pemBlocks(text, 'PUBLIC KEY');
  if (blocks.length !== 1)
    throw new KeyError(
      'E_KEY',
      `${what} must hold exactly one PEM "PUBLIC KEY" block, found ${blocks.length}`,
    );
  return publicKeyOf(blocks[0] as Uint8Array, what);
}

/** A signing key from a PKCS#8 PEM ("PRIVATE KEY"). */
export function parseSigningKey(bytes: Uint8Array, what = 'signing key'): SigningKey {
  const blocks = pemBlocks(Buffer.from(bytes).toString('latin1'), 'PRIVATE KEY');
  if (blocks.length !== 1)
    throw new KeyError(
      'E_KEY',
      `${what} must hold exactly one PEM "PRIVATE KEY" (PKCS#8) block, found ${blocks.length}`,
    );
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({
      key: Buffer.from(blocks[0] as Uint8Array),
      format: 'der',
      type: 'pkcs8',
    });
  } catch (e) {
    throw new KeyError('E_KEY', `${what} is not a PKCS#8 private key: ${(e as Error).message}`);
  }
  // The public half derived from the private key: the pair cannot disagree.
  const spki = new Uint8Array(createPublicKey(privateKey).export({ format: 'der', type: 'spki' }));
  return { ...publicKeyOf(spki, what), privateKey };
}

/** A new key pair: PKCS#8 PEM (secret) and SPKI PEM. */
export function generateSigningKey(alg: SigningAlg): { privatePem: string; publicPem: string } {
  const pair =
    alg === 'ed25519'
      ? generateKeyPairSync('ed25519')
      : generateKeyPairSync('ec', { namedCurve: alg === 'p256' ? 'P-256' : 'P-384' });
  return {
    privatePem: pair.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicPem: pair.publicKey.export({ format: 'pem', type: 'spki' }).toString(),
  };
}

/** SPKI PEM of a public key. */
export function publicKeyPem(spki: Uint8Array): string {
  const b64 = Buffer.from(spki).toString('base64');
  return `-----BEGIN PUBLIC KEY-----\n${b64.replace(/.{1,64}/g, '$&\n')}-----END PUBLIC KEY-----\n`;
}

/** The signature of `message`: Ed25519 (64 bytes), or ECDSA as r‖s (RFC 9053 §2.1) with the curve's hash. */
export function signWith(key: SigningKey, message: Uint8Array): Uint8Array {
  const sig =
    key.alg === 'ed25519'
      ? sign(null, message, key.privateKey)
      : sign(key.alg === 'p256' ? 'sha256' : 'sha384', message, {
          key: key.privateKey,
          dsaEncoding: 'ieee-p1363',
        });
  return new Uint8Array(sig);
}
