// SPDX-License-Identifier: Apache-2.0
/**
 * Names of TPM entities (Part 1 §16): a handle's own bytes for PCRs, permanent handles and sessions;
 * nameAlg ‖ H(public area) for objects and NV indices. Names are what cpHash and policies bind to.
 */
import { hashAlgOf } from '../crypto/algorithms.js';
import { digest as hash } from '../crypto/hash.js';
import { handleType, TPM_HT } from './constants.js';
import { marshal } from './schema.js';
import { TPMS_NV_PUBLIC, TPMT_PUBLIC } from './structures.js';

function algName(nameAlg: number, area: Uint8Array): Uint8Array {
  const digest = hash(hashAlgOf(nameAlg), area);
  const name = new Uint8Array(2 + digest.length);
  name[0] = nameAlg >>> 8;
  name[1] = nameAlg & 0xff;
  name.set(digest, 2);
  return name;
}

/** Part 1 §16: an object's Name, nameAlg ‖ H_nameAlg(TPMT_PUBLIC). */
export function objectName(pub: TPMT_PUBLIC): Uint8Array {
  return algName(pub.nameAlg, marshal(TPMT_PUBLIC, pub));
}

/** Part 1 §16: an NV index's Name, nameAlg ‖ H_nameAlg(TPMS_NV_PUBLIC); it changes when WRITTEN is set. */
export function nvName(pub: TPMS_NV_PUBLIC): Uint8Array {
  return algName(pub.nameAlg, marshal(TPMS_NV_PUBLIC, pub));
}

/** The Name of a handle whose Name is the handle itself, or undefined for objects and NV indices. */
export function handleName(handle: number): Uint8Array | undefined {
  const ht = handleType(handle);
  if (ht === TPM_HT.TRANSIENT || ht === TPM_HT.PERSISTENT || ht === TPM_HT.NV_INDEX) return undefined;
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, handle);
  return out;
}
