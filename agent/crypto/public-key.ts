// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/crypto/public-key
 *
 * Public keys of issuers, delegates and approvers: the part of keys.ts that verification needs, free of
 * node:crypto so that the auditor page runs it (docs/auditor.md). Three algorithms, the COSE ones
 * artifacts use: Ed25519 (EdDSA), ECDSA P-256 with SHA-256 (ES256), ECDSA P-384 with SHA-384 (ES384).
 * Public keys are DER SubjectPublicKeyInfo; whether one is usable is decided by wasm-core's strict SPKI
 * parser, the same one verification uses, so a key accepted here verifies there.
 *
 * kid = SHA-256 of the DER SubjectPublicKeyInfo (the whole structure, algorithm identifier included, so
 * a key's bytes under another algorithm have another kid). Each key has exactly one accepted SPKI (DER,
 * RFC 8410 / RFC 5480 namedCurve, EC points uncompressed only), so each key has exactly one kid.
 */
import { DerError, parseSpki } from '../../wasm-core/index.js';
import { fromBase64, latin1, toBase64 } from '../encoding/bytes.js';
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
export function pemBlocks(text: string, label: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const m of text.matchAll(PEM_BLOCK)) {
    if (m[1] === label) out.push(fromBase64((m[2] ?? '').replace(/\s+/g, '')));
  }
  return out;
}

/** A public key from an SPKI PEM ("PUBLIC KEY", exactly one block) or DER. */
export function parsePublicKey(bytes: Uint8Array, what = 'public key'): PublicKey {
  const text = latin1(bytes);
  if (!text.includes('-----BEGIN ')) return publicKeyOf(bytes, what);
  const blocks = pemBlocks(text, 'PUBLIC KEY');
  if (blocks.length !== 1)
    throw new KeyError(
      'E_KEY',
      `${what} must hold exactly one PEM "PUBLIC KEY" block, found ${blocks.length}`,
    );
  return publicKeyOf(blocks[0] as Uint8Array, what);
}

/** SPKI PEM of a public key. */
export function publicKeyPem(spki: Uint8Array): string {
  const b64 = toBase64(spki);
  return `-----BEGIN PUBLIC KEY-----\n${b64.replace(/.{1,64}/g, '$&\n')}-----END PUBLIC KEY-----\n`;
}
