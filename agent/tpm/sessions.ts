// SPDX-License-Identifier: Apache-2.0
/**
 * HMAC and policy sessions (Part 1 §19.6, §19.7), optionally salted and bound, with AES-CFB parameter
 * encryption (Part 1 §21). A salted session derives its key from a secret encrypted to a TPM key, so a
 * bus observer sees neither authValues nor encrypted parameters. The password pseudo-session is in
 * password.ts.
 *
 * Not covered: XOR parameter obfuscation, audit sessions, and sessions whose authHash is not one of
 * SHA-1/256/384/512.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { digestByteLen, type HashAlgorithm, hashAlgOf, tpmAlgOf } from '../crypto/algorithms.js';
import { concatBytes, equalBytes } from '../encoding/bytes.js';
import { ExecgateError } from '../errors.js';
import type { CommandContext, HandleRef, ResponseContext, Session, SessionUse } from './command.js';
import { StartAuthSession } from './commands.js';
import { TPM_ALG, TPM_ECC_CURVE, TPM_RH, TPM_SE } from './constants.js';
import { commandHmac, cpHash, responseHmac, rpHash, sessionKey, stripTrailingZeros } from './hmac.js';
import { cfbDecrypt, cfbEncrypt, cfbKeyIv } from './paramcrypt.js';
import { attrs, marshal } from './schema.js';
import { createSeed, type EccCurve, type SeedTarget } from './seed.js';
import { TPMA_SESSION, type TPMS_AUTH_RESPONSE, TPMS_ECC_POINT, type TPMT_PUBLIC } from './structures.js';
import type { Tpm } from './tpm.js';

/** A response whose HMAC does not verify: tampered in transit, or the wrong authValue was used. */
export class TpmIntegrityError extends ExecgateError<'E_TPM_INTEGRITY'> {
  constructor(message: string) {
    super('E_TPM_INTEGRITY', message);
  }
}

export interface StartSessionOptions {
  /** 'hmac' (default), 'policy', or 'trial' (a policy session that only computes a digest). */
  readonly type?: 'hmac' | 'policy' | 'trial';
  /** The session's authHash (default sha256). */
  readonly hash?: HashAlgorithm;
  /** Salt the session with a secret encrypted to this loaded key (RSA: OAEP; ECC: ECDH), Part 1 §19.6.13. */
  readonly salt?: { readonly handle: number; readonly public: TPMT_PUBLIC };
  /** Bind the session to an entity; its authValue enters the session key. */
  readonly bind?: HandleRef;
  /** Encrypt the first command parameter (TPMA_SESSION.decrypt). Needs a salted or bound session to be secret. */
  readonly decrypt?: boolean;
  /** Have the TPM encrypt the first response parameter (TPMA_SESSION.encrypt). */
  readonly encrypt?: boolean;
  /** Keep the session after each command (default true); flush it with `Tpm.flush(session.handle)`. */
  readonly continueSession?: boolean;
}

const CURVES: Readonly<Record<number, EccCurve>> = {
  [TPM_ECC_CURVE.NIST_P256]: 'p256',
  [TPM_ECC_CURVE.NIST_P384]: 'p384',
  [TPM_ECC_CURVE.NIST_P521]: 'p521',
};

/** The salt target of a loaded key's public area (an RSA or ECC decryption key). */
export function seedTargetOf(pub: TPMT_PUBLIC): SeedTarget {
  const nameAlg = hashAlgOf(pub.nameAlg);
  if (pub.type === TPM_ALG.RSA) {
    return { type: 'rsa', nameAlg, modulus: pub.unique, exponent: pub.parameters.exponent };
  }
  if (pub.type === TPM_ALG.ECC) {
    const { curveID } = pub.parameters;
    const curve = CURVES[curveID];
    if (!curve) throw new RangeError(`salt key curve 0x${curveID.toString(16)} is not supported`);
    return { type: 'ecc', nameAlg, curve, x: pub.unique.x, y: pub.unique.y };
  }
  throw new RangeError(`salt key type 0x${pub.type.toString(16)} is neither RSA nor ECC`);
}

/**
 * An HMAC or policy session (Part 1 §19.6/§19.7). Created by `startAuthSession`; pass it in
 * `Tpm.run(…, { sessions })`.
 */
export class AuthSession implements Session {
  readonly needsNames = true;
  private nonceCaller: Uint8Array;
  private tpmNonce: Uint8Array;
  /** Set by PolicyAuthValue: the entity's authValue enters the HMAC (Part 1 §19.7.9). */
  private authValueNeeded = false;
  /** Set by PolicyPassword: the authValue travels in clear in the hmac field (Part 3 §23.18). */
  private passwordNeeded = false;

  constructor(
    readonly handle: number,
    readonly type: 'hmac' | 'policy' | 'trial',
    readonly hash: HashAlgorithm,
    private readonly key: Uint8Array,
    private readonly bindName: Uint8Array | undefined,
    nonceCaller: Uint8Array,
    nonceTPM: Uint8Array,
    readonly decrypt: boolean,
    readonly encrypt: boolean,
    readonly continueSession: boolean,
  ) {
    this.nonceCaller = nonceCaller;
    this.tpmNonce = nonceTPM;
  }

  get nonceTPM(): Uint8Array {
    return this.tpmNonce;
  }

  /** Marks that PolicyAuthValue ran: the authValue is now part of every HMAC. */
  requireAuthValue(): void {
    this.authValueNeeded = true;
  }

  /** Marks that PolicyPassword ran: the authValue is now sent in clear. */
  requirePassword(): void {
    this.passwordNeeded = true;
  }

  /**
   * sessionKey ‖ authValue (Part 1 §19.6.5), where the authValue is left out when an HMAC session is bound
   * to the very entity it authorizes (it is in the session key already) and, for a policy session, unless
   * PolicyAuthValue ran.
   */
  private hmacKey(use: SessionUse): Uint8Array {
    let auth = stripTrailingZeros(use.authValue);
    if (this.type === 'hmac') {
      const boundToEntity = this.bindName && use.entityName && equalBytes(this.bindName, use.entityName);
      if (boundToEntity) auth = new Uint8Array(0);
    } else if (!this.authValueNeeded) auth = new Uint8Array(0);
    return concatBytes([this.key, auth]);
  }

  begin(): void {
    this.nonceCaller = new Uint8Array(randomBytes(digestByteLen(this.hash)));
  }

  encryptParameter(data: Uint8Array, use: SessionUse): Uint8Array {
    const { key, iv } = cfbKeyIv(this.hash, this.key, this.paramAuth(use), this.nonceCaller, this.tpmNonce);
    return cfbEncrypt(key, iv, data);
  }

  decryptParameter(data: Uint8Array, use: SessionUse): Uint8Array {
    const { key, iv } = cfbKeyIv(this.hash, this.key, this.paramAuth(use), this.tpmNonce, this.nonceCaller);
    return cfbDecrypt(key, iv, data);
  }

  /**
   * The authValue part of the parameter-encryption key, sessionValue = sessionKey ‖ authValue (Part 1
   * §21.1): the authValue of the entity this session authorizes, trailing zeros removed, and empty for a
   * session that authorizes nothing. Unlike the HMAC key (`hmacKey`) the binding is ignored, and a policy
   * session includes it even without PolicyAuthValue (§21.1 NOTE 1); the reference implementation's
   * ParseSessionBuffer/BuildResponseSession (SessionProcess.c) and tpm2-tss's sessionValue vs.
   * sizeHmacValue (esys_iutil.c) do the same.
   */
  private paramAuth(use: SessionUse): Uint8Array {
    return stripTrailingZeros(use.authValue);
  }

  authorize(
    ctx: CommandContext,
    use: SessionUse,
    extraNonces: Uint8Array,
    crypt: { readonly decrypt: boolean; readonly encrypt: boolean },
  ) {
    const sessionAttributes = attrs(TPMA_SESSION, { continueSession: this.continueSession, ...crypt });
    const attrByte = marshal(TPMA_SESSION, sessionAttributes)[0] ?? 0;
    let hmac: Uint8Array;
    const key = this.hmacKey(use);
    if (this.passwordNeeded) hmac = use.authValue;
    else if (this.type !== 'hmac' && key.length === 0) hmac = new Uint8Array(0);
    else {
      const cp = cpHash(this.hash, ctx.cc, ctx.names, ctx.parameters);
      hmac = commandHmac(
        this.hash,
        key,
        cp,
        this.nonceCaller,
        this.tpmNonce,
        extraNonces,
        new Uint8Array(0),
        attrByte,
      );
    }
    return { sessionHandle: this.handle, nonce: this.nonceCaller, sessionAttributes, hmac };
  }

  verify(ctx: ResponseContext, use: SessionUse, rsp: TPMS_AUTH_RESPONSE): void {
    if (rsp.nonce.length !== digestByteLen(this.hash)) {
      throw new TpmIntegrityError(`session 0x${this.handle.toString(16)}: response nonce has the wrong size`);
    }
    this.tpmNonce = rsp.nonce;
    const key = this.hmacKey(use);
    const attrByte = marshal(TPMA_SESSION, rsp.sessionAttributes)[0] ?? 0;
    const expected =
      this.passwordNeeded || (this.type !== 'hmac' && key.length === 0)
        ? new Uint8Array(0)
        : responseHmac(
            this.hash,
            key,
            rpHash(this.hash, 0, ctx.cc, ctx.parameters),
            rsp.nonce,
            this.nonceCaller,
            attrByte,
          );
    if (expected.length !== rsp.hmac.length || !timingSafeEqual(expected, rsp.hmac)) {
      throw new TpmIntegrityError(
        `session 0x${this.handle.toString(16)}: the response HMAC does not verify (tampered response or wrong authValue)`,
      );
    }
  }
}

/**
 * TPM2_StartAuthSession (Part 3 §11.1) with the salt and bind options above; symmetric AES-128-CFB when
 * the session encrypts parameters, otherwise TPM_ALG_NULL.
 */
export async function startAuthSession(tpm: Tpm, opts: StartSessionOptions = {}): Promise<AuthSession> {
  const type = opts.type ?? 'hmac';
  const hash = opts.hash ?? 'sha256';
  const nonceCaller = new Uint8Array(randomBytes(digestByteLen(hash)));
  let salt: Uint8Array = new Uint8Array(0);
  let encryptedSalt: Uint8Array = new Uint8Array(0);
  if (opts.salt) {
    const target = seedTargetOf(opts.salt.public);
    const seed = createSeed(target, 'SECRET');
    salt = seed.seed;
    encryptedSalt = 'encryptedSeed' in seed ? seed.encryptedSeed : marshal(TPMS_ECC_POINT, seed.ephemeral);
  }
  const bindAuth = opts.bind === undefined || typeof opts.bind === 'number' ? undefined : opts.bind.auth;
  const bindName = opts.bind === undefined ? undefined : await tpm.nameOf(opts.bind);
  const crypt = opts.decrypt === true || opts.encrypt === true;
  const rsp = await tpm.run(StartAuthSession, {
    tpmKey: opts.salt?.handle ?? TPM_RH.NULL,
    bind: opts.bind ?? TPM_RH.NULL,
    nonceCaller,
    encryptedSalt,
    sessionType: type === 'hmac' ? TPM_SE.HMAC : type === 'policy' ? TPM_SE.POLICY : TPM_SE.TRIAL,
    symmetric: crypt
      ? { algorithm: TPM_ALG.AES, keyBits: 128, mode: TPM_ALG.CFB }
      : { algorithm: TPM_ALG.NULL, keyBits: null, mode: null },
    authHash: tpmAlgOf(hash),
  });
  const hmacKey = concatBytes([stripTrailingZeros(bindAuth ?? new Uint8Array(0)), salt]);
  const key = sessionKey(hash, hmacKey, rsp.nonceTPM, nonceCaller, { bound: opts.bind !== undefined });
  return new AuthSession(
    rsp.sessionHandle,
    type,
    hash,
    key,
    bindName,
    nonceCaller,
    rsp.nonceTPM,
    opts.decrypt === true,
    opts.encrypt === true,
    opts.continueSession ?? true,
  );
}
