// SPDX-License-Identifier: Apache-2.0
/**
 * The password pseudo-session TPM_RS_PW (Part 1 §19.8.4): the authValue travels in clear in the hmac
 * field. Use it only where a bus observer may learn the value; HMAC sessions (hmac-session.ts) do not
 * reveal it.
 */
import type { Session } from './command.js';
import { TPM_RH } from './constants.js';
import { TpmParseError } from './errors.js';
import { attrs } from './schema.js';
import { TPMA_SESSION } from './structures.js';

const EMPTY = new Uint8Array(0);

export function passwordSession(auth: Uint8Array = EMPTY): Session {
  return {
    handle: TPM_RH.PW,
    decrypt: false,
    encrypt: false,
    needsNames: false,
    nonceTPM: EMPTY,
    begin() {},
    encryptParameter() {
      throw new TypeError('a password session cannot encrypt parameters');
    },
    decryptParameter() {
      throw new TypeError('a password session cannot encrypt parameters');
    },
    authorize() {
      return {
        sessionHandle: TPM_RH.PW,
        nonce: EMPTY,
        sessionAttributes: attrs(TPMA_SESSION, { continueSession: true }),
        hmac: auth,
      };
    },
    verify(_ctx, _use, rsp) {
      // Part 1 §19.8.4: the TPM answers with an empty nonce and hmac.
      if (rsp.nonce.length !== 0 || rsp.hmac.length !== 0) {
        throw new TpmParseError('password session response carries a nonce or hmac', 0);
      }
    },
  };
}
