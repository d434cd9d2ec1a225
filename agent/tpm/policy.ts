// SPDX-License-Identifier: Apache-2.0
/**
 * Policies (Part 1 §19.7): running policy commands in a policy or trial session, and computing the same
 * digests offline. The offline update of each command is derived from its declaration in commands.ts
 * (its command code and parameter schema), so the two cannot drift: tests compare the offline digest
 * with TPM2_PolicyGetDigest of a trial session on swtpm.
 */
import { digestByteLen, type HashAlgorithm } from '../crypto/algorithms.js';
import { createHasher } from '../crypto/hash.js';
import type { HandleRef } from './command.js';
import { PolicyAuthorize, PolicyAuthValue, PolicyGetDigest, PolicyPCR, PolicySecret } from './commands.js';
import { marshal } from './schema.js';
import type { AuthSession } from './sessions.js';
import { TPML_PCR_SELECTION, type TPMT_TK_VERIFIED } from './structures.js';
import type { Tpm } from './tpm.js';

function u32be(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}

/** The offline policy digest calculator (Part 1 §19.7.2: policyDigest starts as zeros of the hash size). */
export class PolicyCalculator {
  private value: Uint8Array;

  constructor(readonly hash: HashAlgorithm = 'sha256') {
    this.value = new Uint8Array(digestByteLen(hash));
  }

  get digest(): Uint8Array {
    return this.value.slice();
  }

  private extend(...parts: Uint8Array[]): void {
    const h = createHasher(this.hash).update(this.value);
    for (const p of parts) h.update(p);
    this.value = h.digest();
  }

  /** Part 3 §23.7: policyDigest' = H(policyDigest ‖ TPM_CC_PolicyPCR ‖ pcrs ‖ pcrDigest). */
  policyPCR(pcrs: TPML_PCR_SELECTION, pcrDigest: Uint8Array): this {
    this.extend(u32be(PolicyPCR.cc), marshal(TPML_PCR_SELECTION, pcrs), pcrDigest);
    return this;
  }

  /**
   * Part 3 §23.4 (PolicyUpdate of §23.2.3): policyDigest' = H(H(policyDigest ‖ TPM_CC_PolicySecret ‖
   * authName) ‖ policyRef).
   */
  policySecret(authName: Uint8Array, policyRef: Uint8Array = new Uint8Array(0)): this {
    this.extend(u32be(PolicySecret.cc), authName);
    this.extend(policyRef);
    return this;
  }

  /** Part 3 §23.18: policyDigest' = H(policyDigest ‖ TPM_CC_PolicyAuthValue). */
  policyAuthValue(): this {
    this.extend(u32be(PolicyAuthValue.cc));
    return this;
  }

  /**
   * Part 3 §23.16: the digest is reset to zeros, then policyDigest' = H(H(0…0 ‖ TPM_CC_PolicyAuthorize ‖
   * keySign) ‖ policyRef), where keySign is the Name of the key that signs approved policies.
   */
  policyAuthorize(keySign: Uint8Array, policyRef: Uint8Array = new Uint8Array(0)): this {
    this.value = new Uint8Array(digestByteLen(this.hash));
    this.extend(u32be(PolicyAuthorize.cc), keySign);
    this.extend(policyRef);
    return this;
  }
}

/** aHash of Part 3 §23.16: H(approvedPolicy ‖ policyRef), what the policy key signs. */
export function approvedPolicyHash(
  hash: HashAlgorithm,
  approvedPolicy: Uint8Array,
  policyRef: Uint8Array = new Uint8Array(0),
): Uint8Array {
  return createHasher(hash).update(approvedPolicy).update(policyRef).digest();
}

/** H(concatenated PCR values), the pcrDigest PolicyPCR and quotes use, with the policy's hash. */
export function pcrDigest(hash: HashAlgorithm, values: readonly Uint8Array[]): Uint8Array {
  const h = createHasher(hash);
  for (const v of values) h.update(v);
  return h.digest();
}

/**
 * TPM2_PolicyPCR in `session`. With an empty `pcrDigest` the TPM binds the current PCR values (useful in
 * trial sessions); otherwise it fails later if the PCRs differ.
 */
export async function policyPCR(
  tpm: Tpm,
  session: AuthSession,
  pcrs: TPML_PCR_SELECTION,
  digest: Uint8Array = new Uint8Array(0),
): Promise<void> {
  await tpm.run(PolicyPCR, { policySession: session.handle, pcrDigest: digest, pcrs });
}

/**
 * TPM2_PolicySecret in `session`: proves knowledge of `authHandle`'s authValue (its default password
 * session carries it; pass `auth` in the HandleRef). Binds to the session's nonceTPM so it cannot be
 * replayed into another session.
 */
export async function policySecret(
  tpm: Tpm,
  session: AuthSession,
  authHandle: HandleRef,
  policyRef: Uint8Array = new Uint8Array(0),
): Promise<void> {
  await tpm.run(PolicySecret, {
    authHandle,
    policySession: session.handle,
    nonceTPM: session.type === 'trial' ? new Uint8Array(0) : session.nonceTPM,
    cpHashA: new Uint8Array(0),
    policyRef,
    expiration: 0,
  });
}

/** TPM2_PolicyAuthValue in `session`: from now on the session's HMAC includes the entity's authValue. */
export async function policyAuthValue(tpm: Tpm, session: AuthSession): Promise<void> {
  await tpm.run(PolicyAuthValue, { policySession: session.handle });
  session.requireAuthValue();
}

/**
 * TPM2_PolicyAuthorize in `session`: the session's digest must be `approvedPolicy` now, and `ticket` (from
 * TPM2_VerifySignature with the key named `keySign`, loaded in a hierarchy other than NULL) must cover
 * approvedPolicyHash(approvedPolicy, policyRef).
 */
export async function policyAuthorize(
  tpm: Tpm,
  session: AuthSession,
  approved: {
    readonly approvedPolicy: Uint8Array;
    readonly policyRef: Uint8Array;
    readonly keySign: Uint8Array;
    readonly ticket: TPMT_TK_VERIFIED;
  },
): Promise<void> {
  await tpm.run(PolicyAuthorize, {
    policySession: session.handle,
    approvedPolicy: approved.approvedPolicy,
    policyRef: approved.policyRef,
    keySign: approved.keySign,
    checkTicket: approved.ticket,
  });
}

/** TPM2_PolicyGetDigest: the session's current policyDigest. */
export async function policyGetDigest(tpm: Tpm, session: AuthSession): Promise<Uint8Array> {
  return (await tpm.run(PolicyGetDigest, { policySession: session.handle })).policyDigest;
}
