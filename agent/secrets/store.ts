// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/secrets/store
 *
 * Sealed secrets on disk (issue 17): one JSON file per secret at state_dir/secrets/NAME (mode 0600, in a
 * 0700 directory, written atomically by agent/fs/atomic-write.ts), and signed PCR policies for the
 * PolicyAuthorize path at state_dir/secret-policies/*.policy. Nothing here is plaintext: `private` is
 * the TPM's blob, encrypted under the SRK, and `envelope` is AES-256-GCM under a key only the TPM
 * unseals. The object's authValue is here, in the clear: it binds the secret to whoever may read the
 * state directory (the gate), so a user without it cannot unseal, even in the good state.
 *
 * Every file is parsed as hostile: bounded, each field typed and sized, unknown fields refused
 * (E_SECRET_FORMAT).
 */
import { readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { fromHex, isHex, toHex } from '../encoding/bytes.js';
import { errnoOf } from '../errors.js';
import { ensureDir, writeFileSafe } from '../fs/atomic-write.js';
import { INPUT_LIMITS, InputError, readRegularFile } from '../fs/read-bounded.js';
import { formatSelection, type PcrSelection, parseSelection } from '../tpm/pcr-selection.js';
import { unmarshal } from '../tpm/schema.js';
import { TPMT_PUBLIC } from '../tpm/structures.js';
import { SecretError } from './errors.js';
import { isSecretName } from './name.js';

/** The largest secret execgate seals: what a pipe holds without a reader (Linux's default 64 KiB). */
export const MAX_SECRET_BYTES = INPUT_LIMITS.secret;

/** A secret as sealed (module comment). Byte fields are the TPM's marshalled structures' contents. */
export interface SealedSecret {
  readonly name: string;
  /** When it was sealed (ISO 8601). */
  readonly created: string;
  /** The plaintext's length. */
  readonly size: number;
  /** The Name of the SRK it was sealed under (tpm2-tools' default owner primary). */
  readonly srkName: Uint8Array;
  /** PolicyPCR's selection (the PCR path), or the selection the signed policies are expected over. */
  readonly pcrs: PcrSelection;
  /** With --policy-key: the policy key's TPMT_PUBLIC (marshalled); PolicyAuthorize names it. */
  readonly policyKey?: Uint8Array;
  /** The sealed object's authValue (PolicyAuthValue): what binds it to the state directory. */
  readonly authValue: Uint8Array;
  /** TPM2B_PUBLIC and TPM2B_PRIVATE contents of the sealed-data object. */
  readonly public: Uint8Array;
  readonly private: Uint8Array;
  /** Over 128 bytes: the plaintext under AES-256-GCM with the sealed 32-byte key, AAD the name. */
  readonly envelope?: { readonly iv: Uint8Array; readonly ciphertext: Uint8Array; readonly tag: Uint8Array };
}

/** A PCR policy signed by a policy key (execgate secret policy-sign), for PolicyAuthorize. */
export interface SignedPolicy {
  readonly pcrs: PcrSelection;
  /** H(the PCR values) the policy approves (PolicyPCR's pcrDigest, SHA-256). */
  readonly pcrDigest: Uint8Array;
  /** The Name of the key that signed it. */
  readonly keyName: Uint8Array;
  /** TPMT_SIGNATURE, marshalled. */
  readonly signature: Uint8Array;
}

export const secretsDir = (stateDir: string): string => join(stateDir, 'secrets');
export const signedPoliciesDir = (stateDir: string): string => join(stateDir, 'secret-policies');

function requireName(name: string): void {
  if (!isSecretName(name))
    throw new SecretError(
      'E_SECRET_NAME',
      `"${name.slice(0, 80)}" is not a secret name: use 1 to 64 of a-z, 0-9, _ and -`,
    );
}

const SEALED_FIELDS = [
  'execgate',
  'v',
  'name',
  'created',
  'size',
  'srkName',
  'pcrs',
  'policyKey',
  'authValue',
  'public',
  'private',
  'envelope',
];

/** The JSON of a sealed secret. */
export function encodeSealed(s: SealedSecret): string {
  const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
  return `${JSON.stringify({
    execgate: 'sealed-secret',
    v: 1,
    name: s.name,
    created: s.created,
    size: s.size,
    srkName: toHex(s.srkName),
    pcrs: formatSelection(s.pcrs),
    ...(s.policyKey === undefined ? {} : { policyKey: b64(s.policyKey) }),
    authValue: toHex(s.authValue),
    public: b64(s.public),
    private: b64(s.private),
    ...(s.envelope === undefined
      ? {}
      : {
          envelope: {
            iv: toHex(s.envelope.iv),
            ciphertext: b64(s.envelope.ciphertext),
            tag: toHex(s.envelope.tag),
          },
        }),
  })}\n`;
}

/** Field readers that refuse anything but the expected type and size. */
class Fields {
  constructor(
    private readonly o: Record<string, unknown>,
    private readonly what: string,
  ) {}

  bad(msg: string): never {
    throw new SecretError('E_SECRET_FORMAT', `${this.what}: ${msg}`);
  }

  text(key: string, max: number): string {
    const v = this.o[key];
    if (typeof v !== 'string' || v.length === 0 || v.length > max) this.bad(`${key} must be a string`);
    return v;
  }

  hex(key: string, min: number, max: number): Uint8Array {
    const v = this.text(key, 2 * max);
    if (!isHex(v) || v.length % 2 !== 0 || v.length < 2 * min) this.bad(`${key} must be hex`);
    return fromHex(v);
  }

  base64(key: string, max: number): Uint8Array {
    const v = this.text(key, Math.ceil(max / 3) * 4);
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(v)) this.bad(`${key} must be base64`);
    return new Uint8Array(Buffer.from(v, 'base64'));
  }

  /**
   * A marshalled TPMT_PUBLIC, parsed here: a file whose structures do not parse is refused when the gate
   * checks the secret is sealed, before an allow spends a use, not at the unseal after it.
   */
  tpmtPublic(key: string): Uint8Array {
    const b = this.base64(key, 1024);
    try {
      unmarshal(TPMT_PUBLIC, b);
    } catch (e) {
      this.bad(`${key} is not a TPMT_PUBLIC: ${e instanceof Error ? e.message : String(e)}`);
    }
    return b;
  }

  selection(key: string): PcrSelection {
    try {
      return parseSelection(this.text(key, 256));
    } catch (e) {
      return this.bad(`${key}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}

function object(text: string, what: string, kind: string, allowed: readonly string[]): Fields {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch (e) {
    throw new SecretError('E_SECRET_FORMAT', `${what} is not JSON: ${(e as Error).message}`);
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o))
    throw new SecretError('E_SECRET_FORMAT', `${what} is not a JSON object`);
  const rec = o as Record<string, unknown>;
  const f = new Fields(rec, what);
  for (const k of Object.keys(rec)) if (!allowed.includes(k)) f.bad(`unknown field ${k}`);
  if (rec.execgate !== kind || rec.v !== 1) f.bad(`not an execgate ${kind} file of version 1`);
  return f;
}

/** Parses a sealed secret's JSON (module comment: hostile input). */
export function decodeSealed(text: string, what = 'sealed secret'): SealedSecret {
  const f = object(text, what, 'sealed-secret', SEALED_FIELDS);
  const o = JSON.parse(text) as Record<string, unknown>;
  const name = f.text('name', 64);
  if (!isSecretName(name)) f.bad('name is not a secret name');
  const size = o.size;
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 1 || size > MAX_SECRET_BYTES)
    return f.bad(`size must be an integer from 1 to ${MAX_SECRET_BYTES}`);
  let envelope: SealedSecret['envelope'];
  const env = o.envelope;
  if (env !== undefined) {
    if (typeof env !== 'object' || env === null || Array.isArray(env))
      return f.bad('envelope must be an object');
    const e = new Fields(env as Record<string, unknown>, `${what} envelope`);
    for (const k of Object.keys(env))
      if (!['iv', 'ciphertext', 'tag'].includes(k)) e.bad(`unknown field ${k}`);
    envelope = {
      iv: e.hex('iv', 12, 12),
      ciphertext: e.base64('ciphertext', MAX_SECRET_BYTES),
      tag: e.hex('tag', 16, 16),
    };
    if (envelope.ciphertext.length !== size) f.bad('the envelope does not hold size bytes');
  }
  return {
    name,
    created: f.text('created', 64),
    size,
    srkName: f.hex('srkName', 34, 34),
    pcrs: f.selection('pcrs'),
    ...(o.policyKey === undefined ? {} : { policyKey: f.tpmtPublic('policyKey') }),
    authValue: f.hex('authValue', 32, 32),
    public: f.tpmtPublic('public'),
    private: f.base64('private', 2048),
    ...(envelope === undefined ? {} : { envelope }),
  };
}

/** The JSON of a signed PCR policy. */
export function encodeSignedPolicy(p: SignedPolicy): string {
  return `${JSON.stringify({
    execgate: 'signed-pcr-policy',
    v: 1,
    pcrs: formatSelection(p.pcrs),
    pcrDigest: toHex(p.pcrDigest),
    keyName: toHex(p.keyName),
    signature: toHex(p.signature),
  })}\n`;
}

export function decodeSignedPolicy(text: string, what = 'signed policy'): SignedPolicy {
  const f = object(text, what, 'signed-pcr-policy', [
    'execgate',
    'v',
    'pcrs',
    'pcrDigest',
    'keyName',
    'signature',
  ]);
  return {
    pcrs: f.selection('pcrs'),
    pcrDigest: f.hex('pcrDigest', 32, 32),
    keyName: f.hex('keyName', 34, 50),
    signature: f.hex('signature', 8, 1024),
  };
}

/** A regular file only: a FIFO planted here would hold open(2), and the gate with it, forever. */
async function readText(path: string, what: string): Promise<string> {
  const bytes = await readRegularFile(path, { maxBytes: INPUT_LIMITS.sealedSecret, what });
  return Buffer.from(bytes).toString('utf8');
}

/** The sealed secret `name` of this state directory; E_SECRET_MISSING when there is none. */
export async function readSealed(stateDir: string, name: string): Promise<SealedSecret> {
  requireName(name);
  const path = join(secretsDir(stateDir), name);
  let text: string;
  try {
    text = await readText(path, 'sealed secret');
  } catch (e) {
    if (e instanceof InputError && errnoOf(e.cause) === 'ENOENT')
      throw new SecretError('E_SECRET_MISSING', `no secret "${name}" is sealed on this host (${path})`, {
        cause: e,
      });
    throw e;
  }
  const s = decodeSealed(text, path);
  if (s.name !== name) throw new SecretError('E_SECRET_FORMAT', `${path} holds the secret "${s.name}"`);
  return s;
}

/** Writes a sealed secret (0600, atomically); an existing one only with `replace`. */
export async function writeSealed(stateDir: string, s: SealedSecret, replace: boolean): Promise<string> {
  requireName(s.name);
  const dir = secretsDir(stateDir);
  await ensureDir(dir, { mode: 0o700 });
  const path = join(dir, s.name);
  await writeFileSafe(path, encodeSealed(s), { mode: 0o600, replace });
  return path;
}

/** The names sealed in this state directory, sorted (files whose names are not secret names are skipped). */
export async function listSealed(stateDir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(secretsDir(stateDir));
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return [];
    throw e;
  }
  return names.filter(isSecretName).sort();
}

/** Removes the sealed secret `name`; E_SECRET_MISSING when there is none. */
export async function removeSealed(stateDir: string, name: string): Promise<void> {
  requireName(name);
  const path = join(secretsDir(stateDir), name);
  try {
    await unlink(path);
  } catch (e) {
    if (errnoOf(e) === 'ENOENT')
      throw new SecretError('E_SECRET_MISSING', `no secret "${name}" is sealed on this host (${path})`);
    throw e;
  }
}

/** The signed PCR policies installed in this state directory (unreadable or malformed ones skipped). */
export async function readSignedPolicies(stateDir: string): Promise<SignedPolicy[]> {
  const dir = signedPoliciesDir(stateDir);
  let files: string[];
  try {
    files = (await readdir(dir)).filter((f) => f.endsWith('.policy')).sort();
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return [];
    throw e;
  }
  const out: SignedPolicy[] = [];
  for (const f of files.slice(0, 256)) {
    try {
      out.push(decodeSignedPolicy(await readText(join(dir, f), 'signed policy'), join(dir, f)));
    } catch {
      // One bad file does not hide the others; the TPM refuses what does not verify anyway.
    }
  }
  return out;
}
