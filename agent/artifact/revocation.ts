// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/artifact/revocation
 *
 * Revocation lists: a COSE_Sign1 signed by a trusted issuer key, naming revoked artifact ids (cti) and
 * revoked key ids (kid: every artifact signed by that key, and every descendant of one, is revoked). A
 * list is cumulative: each new one from the same key carries everything still revoked and a higher
 * sequence number, and a list with a lower number than one already seen never replaces it
 * (RevocationState), so an attacker replaying an old list cannot un-revoke.
 *
 *   protected = { 1: alg, 3: "application/execgate-revocation+cbor", 4: kid }   (content type 3 keeps
 *               a list from ever reading as an artifact, whose protected header has no label 3)
 *   payload   = { 1: iss, 6: iat, "seq": uint, "cti": [* bstr], "kid": [* bstr .size 32] }
 *               (both arrays ascending bytewise, without duplicates)
 */
import { type PublicKey, type SigningKey, signWith } from '../crypto/keys.js';
import { verifySignature } from '../crypto/verify.js';
import { compareBytes, equalBytes, toHex } from '../encoding/bytes.js';
import { CborError, type CborKey, type CborValue, decodeCbor, encodeCbor } from '../encoding/cbor.js';
import { signerOf } from './artifact.js';
import { LIMITS } from './claims.js';
import {
  COSE_ALG,
  COSE_SIGN1_TAG,
  coseSign1FromValue,
  encodeCoseSign1,
  encodeProtected,
  HEADER,
  sigStructure1,
  verifyItemFor,
} from './cose.js';
import { ArtifactError } from './errors.js';
import type { Revocations } from './verify.js';

export const REVOCATION_CONTENT_TYPE = 'application/execgate-revocation+cbor';
export const MAX_REVOCATION_BYTES = 4 * 1024 * 1024;
const MAX_ENTRIES = 65_536;

export interface RevocationContent {
  readonly iss: string;
  readonly seq: number;
  readonly iat: number;
  readonly ctis: readonly Uint8Array[];
  readonly kids: readonly Uint8Array[];
}

export interface RevocationList extends RevocationContent {
  /** kid of the key that signed the list. */
  readonly signer: Uint8Array;
}

const bad = (what: string, cause?: unknown): never => {
  throw new ArtifactError('E_REVOCATION_LIST', what, cause === undefined ? undefined : { cause });
};

/** Sorted bytewise, duplicates dropped: the one order a list is written in. */
export function sortedUnique(list: readonly Uint8Array[]): Uint8Array[] {
  const out = [...list].sort(compareBytes);
  return out.filter((x, i) => i === 0 || compareBytes(out[i - 1] as Uint8Array, x) !== 0);
}

const PROTECTED_EXTRA = new Map<number, CborValue>([[HEADER.contentType, REVOCATION_CONTENT_TYPE]]);

/** A signed list. */
export function issueRevocationList(content: RevocationContent, key: SigningKey): Uint8Array {
  const payload = encodeCbor(
    new Map<CborKey, CborValue>([
      [1, content.iss],
      [6, content.iat],
      ['seq', content.seq],
      ['cti', sortedUnique(content.ctis)],
      ['kid', sortedUnique(content.kids)],
    ]),
  );
  const protectedBytes = encodeProtected(
    new Map<CborKey, CborValue>([
      [HEADER.alg, COSE_ALG[key.alg]],
      [HEADER.contentType, REVOCATION_CONTENT_TYPE],
      [HEADER.kid, key.kid],
    ]),
  );
  const signature = signWith(key, sigStructure1(protectedBytes, payload));
  const bytes = encodeCoseSign1({
    protectedBytes,
    protectedHeader: new Map(),
    unprotected: new Map(),
    payload,
    signature,
  });
  decodeRevocationList(bytes);
  return bytes;
}

function byteList(v: CborValue | undefined, what: string, size?: number): Uint8Array[] {
  if (!Array.isArray(v)) return bad(`"${what}" is not an array`);
  if (v.length > MAX_ENTRIES) bad(`"${what}" has more than ${MAX_ENTRIES} entries`);
  const out = v.map((x, i) => {
    if (!(x instanceof Uint8Array)) return bad(`"${what}"[${i}] is not a byte string`);
    if (size !== undefined ? x.length !== size : x.length < LIMITS.ctiMin || x.length > LIMITS.ctiMax)
      bad(`"${what}"[${i}] has ${x.length} bytes`);
    return x;
  });
  for (let i = 1; i < out.length; i++)
    if (compareBytes(out[i - 1] as Uint8Array, out[i] as Uint8Array) >= 0)
      bad(`"${what}" is not ascending and unique`);
  return out;
}

/** The list and what its signature covers, decoded strictly and not verified. */
export function decodeRevocationList(bytes: Uint8Array): {
  list: RevocationList;
  signed: Uint8Array;
  signature: Uint8Array;
  alg: PublicKey['alg'];
} {
  if (bytes.length > MAX_REVOCATION_BYTES) bad(`${bytes.length} bytes, more than ${MAX_REVOCATION_BYTES}`);
  let value: CborValue;
  let payload: CborValue;
  try {
    value = decodeCbor(bytes, {
      tags: [COSE_SIGN1_TAG],
      maxBytes: MAX_REVOCATION_BYTES,
      maxItems: MAX_ENTRIES * 2 + 64,
    });
  } catch (e) {
    if (e instanceof CborError) return bad(`not a revocation list: ${e.code}: ${e.message}`, e);
    throw e;
  }
  let cose: ReturnType<typeof coseSign1FromValue>;
  let signer: ReturnType<typeof signerOf>;
  try {
    cose = coseSign1FromValue(value, 'revocation list');
    signer = signerOf(cose.protectedHeader, 'revocation list', PROTECTED_EXTRA);
    payload = decodeCbor(cose.payload, {
      tags: [],
      maxBytes: MAX_REVOCATION_BYTES,
      maxItems: MAX_ENTRIES * 2 + 64,
    });
  } catch (e) {
    if (e instanceof ArtifactError || e instanceof CborError)
      return bad(`not a revocation list: ${e.message}`, e);
    throw e;
  }
  if (cose.unprotected.size) bad('the unprotected header must be empty');
  if (!(payload instanceof Map)) return bad('the payload is not a map');
  for (const k of payload.keys())
    if (![1, 6, 'seq', 'cti', 'kid'].includes(k as never)) bad(`unknown field ${JSON.stringify(String(k))}`);
  const iss = payload.get(1);
  const iat = payload.get(6);
  const seq = payload.get('seq');
  if (typeof iss !== 'string' || iss.length === 0 || iss.length > 256)
    bad('iss is not text of 1 to 256 characters');
  if (typeof iat !== 'number' || !Number.isSafeInteger(iat) || iat < 0) bad('iat is not a time');
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) bad('seq is not a positive integer');
  return {
    list: {
      iss: iss as string,
      iat: iat as number,
      seq: seq as number,
      ctis: byteList(payload.get('cti'), 'cti'),
      kids: byteList(payload.get('kid'), 'kid', 32),
      signer: signer.kid,
    },
    signed: sigStructure1(cose.protectedBytes, cose.payload),
    signature: cose.signature,
    alg: signer.alg,
  };
}

/** A list signed by one of `trust` (call `initVerification()` first); E_REVOCATION_LIST otherwise. */
export function verifyRevocationList(bytes: Uint8Array, trust: readonly PublicKey[]): RevocationList {
  const d = decodeRevocationList(bytes);
  const key = trust.find((k) => equalBytes(k.kid, d.list.signer));
  if (!key) return bad(`signed by kid ${toHex(d.list.signer)}, not a trusted issuer key`);
  if (key.alg !== d.alg || !verifySignature(verifyItemFor(key.alg, key.spki, d.signed, d.signature)))
    bad('the signature does not verify');
  return d.list;
}

/**
 * The newest list seen from each issuer key. `accept` refuses a list older than the one held
 * (E_REVOCATION_LIST), and a different list under the same number; an equal one is a no-op.
 */
export class RevocationState {
  private readonly newest = new Map<string, { list: RevocationList; fingerprint: string }>();

  /** The sequence number held for a signer (hex kid), if any. */
  seqOf(signerKid: string): number | undefined {
    return this.newest.get(signerKid)?.list.seq;
  }

  accept(list: RevocationList): void {
    const signer = toHex(list.signer);
    const fingerprint = [list.seq, ...list.ctis.map(toHex), '/', ...list.kids.map(toHex)].join(',');
    const held = this.newest.get(signer);
    if (held) {
      if (list.seq < held.list.seq)
        bad(
          `list ${list.seq} from ${signer} is older than list ${held.list.seq} already seen: it never replaces it`,
        );
      if (list.seq === held.list.seq) {
        if (held.fingerprint !== fingerprint) bad(`two different lists numbered ${list.seq} from ${signer}`);
        return;
      }
    }
    this.newest.set(signer, { list, fingerprint });
  }

  /** Everything revoked by the newest list of each issuer. */
  revocations(): Revocations {
    const ctis = new Set<string>();
    const kids = new Set<string>();
    for (const { list } of this.newest.values()) {
      for (const c of list.ctis) ctis.add(toHex(c));
      for (const k of list.kids) kids.add(toHex(k));
    }
    return { ctis, kids };
  }
}
