// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/secrets/seal
 *
 * Sealing a secret to this TPM and unsealing it (issue 17). The secret is a sealed-data object (Part 1
 * §25.2.2) under tpm2-tools' default owner primary (the SRK: re-created on each use, same seed, same
 * key), fixedTPM and fixedParent, with userWithAuth clear, so only its policy releases it:
 *
 *   PCR path:        PolicyPCR(selection, the values at sealing) ‖ PolicyAuthValue
 *   --policy-key:    PolicyAuthorize(key) ‖ PolicyAuthValue, where a PCR policy signed by the key
 *                    (execgate secret policy-sign) is what PolicyAuthorize approves: a new signed policy
 *                    restores access after an update, as systemd-measure/pcrlock do.
 *
 * PolicyAuthValue binds it to the object's authValue, which only the state directory holds
 * (store.ts). Sealing and unsealing run in salted sessions with parameter encryption: the plaintext is
 * encrypted in TPM2_Create's command and TPM2_Unseal's response, so a bus observer sees neither. Sealing
 * salts to the EK pinned at host init (E_EK_MISMATCH for another): the SRK's public area comes from the
 * bus, and an interposer reporting its own key as the SRK would unwrap a salt encrypted to it and
 * decrypt the secret and its authValue out of TPM2_Create. Create's HMAC covers the SRK's Name as
 * computed here, so the TPM refuses a seal under a stand-in's Name. That Name is kept, and unsealing
 * salts to the SRK only once its Name is the kept one (the key under Unseal's response encryption also
 * mixes in the authValue, which never crosses the bus). The PCR values the policy is computed from are
 * read in clear, so Create also reports the TPM's digest of them (creationPCR), under the response HMAC:
 * a seal to values an interposer made up is refused.
 *
 * Secrets over 128 bytes (MAX_SYM_DATA) are encrypted with AES-256-GCM under a random key, and the key
 * is what the TPM seals.
 *
 * The TPM's refusals (a policy that does not hold, another TPM, a changed SRK) are E_SECRET_REFUSED;
 * a TPM that cannot be reached keeps its transport error. Not covered: PCR banks other than those the
 * TPM has allocated; a signed policy over another bank than the sealed selection's.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { type EkAlg, withEk } from '../attest/ek.js';
import { equalBytes, toHex } from '../encoding/bytes.js';
import { Create, CreatePrimary, Load, LoadExternal, Unseal, VerifySignature } from '../tpm/commands.js';
import { TPM_ALG, TPM_RH } from '../tpm/constants.js';
import { TpmError } from '../tpm/errors.js';
import { objectName } from '../tpm/names.js';
import { readPcrs } from '../tpm/pcr.js';
import { type PcrSelection, type PcrValues, toTpml } from '../tpm/pcr-selection.js';
import {
  approvedPolicyHash,
  PolicyCalculator,
  pcrDigest,
  policyAuthorize,
  policyAuthValue,
  policyPCR,
} from '../tpm/policy.js';
import { TPM_RC } from '../tpm/rc.js';
import { marshal, unmarshal } from '../tpm/schema.js';
import { type AuthSession, startAuthSession, TpmIntegrityError } from '../tpm/sessions.js';
import { TPMT_PUBLIC, TPMT_SIGNATURE } from '../tpm/structures.js';
import { ownerPrimaryTemplate, sealedDataTemplate } from '../tpm/templates.js';
import type { Tpm } from '../tpm/tpm.js';
import { SecretError } from './errors.js';
import { MAX_SECRET_BYTES, type SealedSecret, type SignedPolicy } from './store.js';

/** MAX_SYM_DATA (Part 2 §10.4.3, 128 on every TPM we know): the most a sealed object holds. */
const MAX_SYM_DATA = 128;

interface Srk {
  readonly handle: number;
  readonly public: TPMT_PUBLIC;
  readonly name: Uint8Array;
}

async function withSrk<T>(tpm: Tpm, fn: (srk: Srk) => Promise<T>): Promise<T> {
  const p = await tpm.run(CreatePrimary, {
    primaryHandle: TPM_RH.OWNER,
    inSensitive: { userAuth: new Uint8Array(0), data: new Uint8Array(0) },
    inPublic: ownerPrimaryTemplate(),
    outsideInfo: new Uint8Array(0),
    creationPCR: [],
  });
  try {
    // The Name from the public area we received, not the TPM's word for it.
    return await fn({ handle: p.objectHandle, public: p.outPublic, name: objectName(p.outPublic) });
  } finally {
    await tpm.flush(p.objectHandle);
  }
}

async function withSession<T>(
  tpm: Tpm,
  s: Promise<AuthSession>,
  fn: (s: AuthSession) => Promise<T>,
): Promise<T> {
  const session = await s;
  try {
    return await fn(session);
  } finally {
    await tpm.flush(session.handle).catch(() => undefined);
  }
}

/** The sealed object's authPolicy (module comment). */
export function sealPolicy(
  o:
    | { readonly selection: PcrSelection; readonly pcrDigest: Uint8Array }
    | { readonly policyKeyName: Uint8Array },
): Uint8Array {
  const calc = new PolicyCalculator('sha256');
  if ('policyKeyName' in o) calc.policyAuthorize(o.policyKeyName);
  else calc.policyPCR(toTpml(o.selection), o.pcrDigest);
  return calc.policyAuthValue().digest;
}

/** The digest a signed PCR policy approves: PolicyPCR(selection, pcrDigest) from zeros. */
export function approvedPcrPolicy(selection: PcrSelection, digest: Uint8Array): Uint8Array {
  return new PolicyCalculator('sha256').policyPCR(toTpml(selection), digest).digest;
}

/** SHA-256 of the selected PCR values in TPML_PCR_SELECTION order (bank by bank, PCR ascending). */
export function selectionDigest(selection: PcrSelection, values: PcrValues): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const b of toTpml(selection)) {
    const bank = values.get(b.hash);
    for (let i = 0; i < b.pcrSelect.length * 8; i++) {
      if (((b.pcrSelect[i >> 3] ?? 0) >> (i & 7)) & 1) {
        const v = bank?.get(i);
        if (v === undefined) throw new RangeError(`PCR ${i} of bank 0x${b.hash.toString(16)} was not read`);
        parts.push(v);
      }
    }
  }
  return pcrDigest('sha256', parts);
}

export interface SealOptions {
  readonly name: string;
  readonly data: Uint8Array;
  /** PolicyPCR's selection (also recorded with --policy-key, for policy-sign's default). */
  readonly selection: PcrSelection;
  /** With --policy-key: the key's public area (policyKeyPublic). */
  readonly policyKey?: TPMT_PUBLIC;
  /** The EK pinned at host init (host.json): the Create session is salted to it, nothing else (module comment). */
  readonly ek: { readonly alg: EkAlg; readonly pinned: TPMT_PUBLIC };
  readonly now?: Date;
}

/** Seals `data` to this TPM (module comment); the result is for store.ts writeSealed. */
export async function sealSecret(tpm: Tpm, o: SealOptions): Promise<SealedSecret> {
  if (o.data.length === 0 || o.data.length > MAX_SECRET_BYTES)
    throw new SecretError(
      'E_SECRET_SIZE',
      `a secret must hold 1 to ${MAX_SECRET_BYTES} bytes; this one has ${o.data.length}`,
    );
  const authValue = new Uint8Array(randomBytes(32));
  let sealedData = o.data;
  let envelope: SealedSecret['envelope'];
  if (o.data.length > MAX_SYM_DATA) {
    const key = new Uint8Array(randomBytes(32));
    const iv = new Uint8Array(randomBytes(12));
    const c = createCipheriv('aes-256-gcm', key, iv);
    c.setAAD(Buffer.from(o.name));
    const ciphertext = new Uint8Array(Buffer.concat([c.update(o.data), c.final()]));
    envelope = { iv, ciphertext, tag: new Uint8Array(c.getAuthTag()) };
    sealedData = key;
  }
  // PCR_Read's answer is not authenticated: Create's creation data, under the response HMAC, checks it.
  const sealedPcrs =
    o.policyKey === undefined ? selectionDigest(o.selection, await readPcrs(tpm, o.selection)) : undefined;
  const authPolicy =
    sealedPcrs === undefined
      ? sealPolicy({ policyKeyName: objectName(o.policyKey as TPMT_PUBLIC) })
      : sealPolicy({ selection: o.selection, pcrDigest: sealedPcrs });
  try {
    return await withSrk(tpm, (srk) =>
      withEk(
        tpm,
        o.ek.alg,
        (ek) =>
          withSession(
            tpm,
            startAuthSession(tpm, { salt: { handle: ek.handle, public: ek.public }, decrypt: true }),
            async (session) => {
              const created = await tpm
                .run(
                  Create,
                  {
                    // The Name computed here, not the TPM's: the HMAC fails under a stand-in's public area.
                    parentHandle: { handle: srk.handle, name: srk.name },
                    inSensitive: { userAuth: authValue, data: sealedData },
                    inPublic: sealedDataTemplate({ authPolicy, noDA: true }),
                    outsideInfo: new Uint8Array(0),
                    creationPCR: sealedPcrs === undefined ? [] : toTpml(o.selection),
                  },
                  { sessions: [session] },
                )
                .catch((e: unknown) => {
                  if (e instanceof TpmError && e.is(TPM_RC.AUTH_FAIL))
                    throw new TpmIntegrityError(
                      `the TPM's owner primary is not the key it reported (Name ${toHex(srk.name)}): an interposer on the TPM bus? Nothing was sealed`,
                    );
                  throw e;
                });
              if (sealedPcrs !== undefined && !equalBytes(created.creationData.pcrDigest, sealedPcrs))
                throw new TpmIntegrityError(
                  `the PCR values read (digest ${toHex(sealedPcrs)}) are not the TPM's (${toHex(created.creationData.pcrDigest)}): an interposer on the TPM bus, or a PCR extended meanwhile? Nothing was sealed`,
                );
              return {
                name: o.name,
                created: (o.now ?? new Date()).toISOString(),
                size: o.data.length,
                srkName: srk.name,
                pcrs: o.selection,
                ...(o.policyKey === undefined ? {} : { policyKey: marshal(TPMT_PUBLIC, o.policyKey) }),
                authValue,
                public: marshal(TPMT_PUBLIC, created.outPublic),
                private: created.outPrivate,
                ...(envelope === undefined ? {} : { envelope }),
              };
            },
          ),
        { pinned: o.ek.pinned },
      ),
    );
  } finally {
    if (sealedData !== o.data) sealedData.fill(0);
  }
}

/**
 * Whether `s`'s policy holds for the PCR values `read` returns (for `execgate secret list --check`): its
 * object's authPolicy is the one those values give, or (policy key) an installed signed policy of its key
 * approves them. A forecast from values read in clear, not a proof: only the TPM's unseal decides.
 */
export async function policyHoldsNow(
  s: SealedSecret,
  signed: readonly SignedPolicy[],
  read: (selection: PcrSelection) => Promise<PcrValues>,
): Promise<boolean> {
  if (s.policyKey === undefined) {
    const want = unmarshal(TPMT_PUBLIC, s.public).authPolicy;
    return equalBytes(
      want,
      sealPolicy({ selection: s.pcrs, pcrDigest: selectionDigest(s.pcrs, await read(s.pcrs)) }),
    );
  }
  const keyName = objectName(unmarshal(TPMT_PUBLIC, s.policyKey));
  for (const p of signed)
    if (
      equalBytes(p.keyName, keyName) &&
      equalBytes(p.pcrDigest, selectionDigest(p.pcrs, await read(p.pcrs)))
    )
      return true;
  return false;
}

/** TPM response codes that mean "the TPM will not release this here": E_SECRET_REFUSED. */
const REFUSALS = [
  TPM_RC.POLICY_FAIL,
  TPM_RC.VALUE,
  TPM_RC.INTEGRITY,
  TPM_RC.PCR_CHANGED,
  TPM_RC.AUTH_FAIL,
  TPM_RC.SIGNATURE,
  TPM_RC.TICKET,
  TPM_RC.BAD_AUTH,
];

function refused(name: string, why: string, cause?: unknown): SecretError {
  return new SecretError('E_SECRET_REFUSED', `the TPM refuses to unseal "${name}": ${why}`, { cause });
}

/**
 * Unseals `s` (module comment). `signed` are the installed signed PCR policies (store.ts
 * readSignedPolicies), used for a secret sealed with --policy-key: the one by its key whose digest is
 * the PCRs' now, else the first by its key (which the TPM then refuses). The caller zeroes the result
 * when done with it.
 */
export async function unsealSecret(
  tpm: Tpm,
  s: SealedSecret,
  signed: readonly SignedPolicy[] = [],
): Promise<Uint8Array> {
  const [data] = await unsealSecrets(tpm, [s], signed);
  return data as Uint8Array;
}

/** `unsealSecret` of each of `list`, in order, under one owner primary (made once: 24 ms on swtpm). */
export async function unsealSecrets(
  tpm: Tpm,
  list: readonly SealedSecret[],
  signed: readonly SignedPolicy[] = [],
): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  try {
    await withSrk(tpm, async (srk) => {
      for (const s of list) out.push(opened(s, await unsealUnder(tpm, srk, s, signed)));
    });
  } catch (e) {
    for (const d of out) d.fill(0);
    throw e;
  }
  return out;
}

/** The sealed data of `s`, unsealed under `srk`; the TPM's refusals as E_SECRET_REFUSED. */
async function unsealUnder(
  tpm: Tpm,
  srk: Srk,
  s: SealedSecret,
  signed: readonly SignedPolicy[],
): Promise<Uint8Array> {
  if (!equalBytes(srk.name, s.srkName))
    throw refused(
      s.name,
      "this TPM's owner primary is not the one it was sealed under (another TPM, or the owner hierarchy was cleared)",
    );
  try {
    const loaded = await tpm.run(Load, {
      parentHandle: srk.handle,
      inPrivate: s.private,
      inPublic: unmarshal(TPMT_PUBLIC, s.public),
    });
    try {
      return await withSession(
        tpm,
        startAuthSession(tpm, {
          type: 'policy',
          salt: { handle: srk.handle, public: srk.public },
          encrypt: true,
        }),
        async (session) => {
          await satisfyPolicy(tpm, session, s, signed);
          await policyAuthValue(tpm, session);
          const out = await tpm.run(
            Unseal,
            { itemHandle: { handle: loaded.objectHandle, name: loaded.name, auth: s.authValue } },
            { sessions: [session] },
          );
          return out.outData;
        },
      );
    } finally {
      await tpm.flush(loaded.objectHandle);
    }
  } catch (e) {
    if (e instanceof TpmError && REFUSALS.some((rc) => e.is(rc)))
      throw refused(
        s.name,
        `${e.message} (the PCRs are not in the sealed state, or no signed policy approves them)`,
        e,
      );
    throw e;
  }
}

/** The plaintext of `s` from its sealed data: the data itself, or the envelope opened with it (zeroed after). */
function opened(s: SealedSecret, data: Uint8Array): Uint8Array {
  if (s.envelope === undefined) {
    if (data.length === s.size) return data;
    data.fill(0);
    throw refused(s.name, `it released ${data.length} bytes, not ${s.size}`);
  }
  try {
    const d = createDecipheriv('aes-256-gcm', data, s.envelope.iv);
    d.setAAD(Buffer.from(s.name));
    d.setAuthTag(s.envelope.tag);
    return new Uint8Array(Buffer.concat([d.update(s.envelope.ciphertext), d.final()]));
  } catch (e) {
    throw new SecretError(
      'E_SECRET_FORMAT',
      `the envelope of "${s.name}" does not decrypt: the file was altered`,
      {
        cause: e,
      },
    );
  } finally {
    data.fill(0);
  }
}

/** The PCR part of the policy: PolicyPCR, or PolicyPCR approved by PolicyAuthorize. */
async function satisfyPolicy(
  tpm: Tpm,
  session: AuthSession,
  s: SealedSecret,
  signed: readonly SignedPolicy[],
): Promise<void> {
  if (s.policyKey === undefined) {
    // An empty pcrDigest: the TPM takes the PCRs' current values, and Unseal refuses if they are not sealed ones.
    await policyPCR(tpm, session, toTpml(s.pcrs));
    return;
  }
  const key = unmarshal(TPMT_PUBLIC, s.policyKey);
  const keyName = objectName(key);
  const mine = signed.filter((p) => equalBytes(p.keyName, keyName));
  if (mine.length === 0)
    throw refused(
      s.name,
      'no signed PCR policy of its policy key is installed (execgate secret policy-sign)',
    );
  let chosen = mine[0] as SignedPolicy;
  for (const p of mine) {
    const values = await readPcrs(tpm, p.pcrs);
    if (equalBytes(selectionDigest(p.pcrs, values), p.pcrDigest)) {
      chosen = p;
      break;
    }
  }
  await policyPCR(tpm, session, toTpml(chosen.pcrs));
  const approvedPolicy = approvedPcrPolicy(chosen.pcrs, chosen.pcrDigest);
  const loaded = await tpm.run(LoadExternal, {
    inPrivate: new Uint8Array(0),
    inPublic: key,
    hierarchy: TPM_RH.OWNER,
  });
  let ticket: Awaited<ReturnType<typeof verifyTicket>>;
  try {
    ticket = await verifyTicket(tpm, loaded.objectHandle, key, approvedPolicy, chosen.signature);
  } finally {
    await tpm.flush(loaded.objectHandle);
  }
  await policyAuthorize(tpm, session, {
    approvedPolicy,
    policyRef: new Uint8Array(0),
    keySign: keyName,
    ticket,
  });
}

async function verifyTicket(
  tpm: Tpm,
  handle: number,
  key: TPMT_PUBLIC,
  approvedPolicy: Uint8Array,
  signature: Uint8Array,
) {
  const hash = key.nameAlg === TPM_ALG.SHA384 ? 'sha384' : 'sha256';
  const out = await tpm.run(VerifySignature, {
    keyHandle: handle,
    digest: approvedPolicyHash(hash, approvedPolicy),
    signature: unmarshal(TPMT_SIGNATURE, signature),
  });
  return out.validation;
}
