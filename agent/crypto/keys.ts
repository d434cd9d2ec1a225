// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/crypto/keys
 *
 * Signing keys of issuers, delegates and approvers (DESIGN §2: secrets stay in node:crypto): generation,
 * PKCS#8 PEM loading and signing. Public keys, key ids and their parsing are in ./public-key.ts
 * (browser-safe, what verification needs), re-exported here. node:crypto comes through ./backend.ts, so
 * that a browser bundle of a module that can also sign (artifact/revocation.ts) still builds; there,
 * these functions throw E_KEY.
 */
import type { KeyObject } from 'node:crypto';
import { latin1 } from '../encoding/bytes.js';
import { native } from './backend.js';
import { KeyError, type PublicKey, pemBlocks, publicKeyOf, type SigningAlg } from './public-key.js';

export {
  KeyError,
  keyId,
  type PublicKey,
  parsePublicKey,
  publicKeyOf,
  publicKeyPem,
  SIGNING_ALGS,
  type SigningAlg,
} from './public-key.js';

export interface SigningKey extends PublicKey {
  readonly privateKey: KeyObject;
}

/** node:crypto, which holds every secret key; E_KEY where there is none (a browser). */
function secretKeys(): NonNullable<typeof native> {
  if (native === undefined) throw new KeyError('E_KEY', 'signing keys need node:crypto: not in a browser');
  return native;
}

/** A signing key from a PKCS#8 PEM ("PRIVATE KEY"). */
export function parseSigningKey(bytes: Uint8Array, what = 'signing key'): SigningKey {
  const blocks = pemBlocks(latin1(bytes), 'PRIVATE KEY');
  if (blocks.length !== 1)
    throw new KeyError(
      'E_KEY',
      `${what} must hold exactly one PEM "PRIVATE KEY" (PKCS#8) block, found ${blocks.length}`,
    );
  const node = secretKeys();
  let privateKey: KeyObject;
  try {
    privateKey = node.createPrivateKey({
      key: Buffer.from(blocks[0] as Uint8Array),
      format: 'der',
      type: 'pkcs8',
    });
  } catch (e) {
    throw new KeyError('E_KEY', `${what} is not a PKCS#8 private key: ${(e as Error).message}`);
  }
  // The public half derived from the private key: the pair cannot disagree.
  const spki = new Uint8Array(node.createPublicKey(privateKey).export({ format: 'der', type: 'spki' }));
  return { ...publicKeyOf(spki, what), privateKey };
}

/** A new key pair: PKCS#8 PEM (secret) and SPKI PEM. */
export function generateSigningKey(alg: SigningAlg): { privatePem: string; publicPem: string } {
  const { generateKeyPairSync } = secretKeys();
  const pair =
    alg === 'ed25519'
      ? generateKeyPairSync('ed25519')
      : generateKeyPairSync('ec', { namedCurve: alg === 'p256' ? 'P-256' : 'P-384' });
  return {
    privatePem: pair.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicPem: pair.publicKey.export({ format: 'pem', type: 'spki' }).toString(),
  };
}

/** The signature of `message`: Ed25519 (64 bytes), or ECDSA as r‖s (RFC 9053 §2.1) with the curve's hash. */
export function signWith(key: SigningKey, message: Uint8Array): Uint8Array {
  const { sign } = secretKeys();
  const sig =
    key.alg === 'ed25519'
      ? sign(null, message, key.privateKey)
      : sign(key.alg === 'p256' ? 'sha256' : 'sha384', message, {
          key: key.privateKey,
          dsaEncoding: 'ieee-p1363',
        });
  return new Uint8Array(sig);
}
