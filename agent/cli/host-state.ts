// SPDX-License-Identifier: Apache-2.0
/**
 * The host's state file, STATE_DIR/host.json: what `host init` learnt about this host's TPM while it was
 * provisioned, trusted afterwards. The EK public areas (issue 11 finding 2): every session execgate
 * salts to the EK is salted only to an EK whose public area equals the pinned one (E_EK_MISMATCH
 * otherwise), so an interposer on the bus that reports its own key as the EK learns no salt. And the AK
 * (issue 14): the host's identity, whose quotes are believed only under the pinned public key, and only
 * from a handle where the TPM reports that same key (withPinnedAk, E_AK_MISMATCH otherwise).
 *
 * STATE_DIR: `--state-dir DIR`, else EXECGATE_STATE_DIR, else /var/lib/execgate.
 *
 *   { "version": 1, "ek": { "rsa2048": { "public": TPMT_PUBLIC hex, "name": Name hex, "trust": T }, … },
 *     "ak": { "handle": "0x81010002", "public": TPMT_PUBLIC hex, "name": Name hex } }
 *
 * "ak" is optional and the version stays 1: a file written before it reads as "no AK pinned" (the audit
 * commands then find the AK as before, the gate asks for `host init`), and an older execgate reading a
 * newer file ignores the key instead of refusing the EK pins it needs. Only a persistent AK is pinned:
 * `host init --ak-save` (the AK as files) leaves "ak" as it was.
 *
 * T says why the pin was believed: "first-use" (the EK as the TPM reported it when host init ran: an
 * interposer present at that moment would have been pinned) or "ek-certificate" (host init --ca found
 * the EK certificate chaining to the operator's CA bundle and certifying exactly this public area).
 * A file written before "trust" existed reads as "first-use".
 *
 * The file is read only where no one but root and us could have written it, as writeFileSafe writes it
 * (E_FILE_UNSAFE otherwise): a pin another user planted, or could swap, would hand its key every salt.
 */

import { type FileHandle, lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { AkError, type AkPin, checkAkPublic, checkPersistentHandle, confirmPinnedAk } from '../attest/ak.js';
import { type EkAlg, EkError } from '../attest/ek.js';
import type { LoadedAk } from '../attest/quote.js';
import { DEFAULT_STATE_DIR } from '../config/defaults.js';
import { equalBytes, fromHex, isHex, toHex } from '../encoding/bytes.js';
import { JsonError, parseJsonObject } from '../encoding/canonical-json.js';
import { errnoOf } from '../errors.js';
import { ensureDir, FileWriteError, writeFileSafe } from '../fs/atomic-write.js';
import { InputError, readToLimit } from '../fs/read-bounded.js';
import { openTrusted } from '../fs/trusted-file.js';
import { objectName } from '../tpm/names.js';
import { marshal, unmarshal } from '../tpm/schema.js';
import { TPMT_PUBLIC } from '../tpm/structures.js';
import type { Tpm } from '../tpm/tpm.js';
import { UsageError } from './exit.js';

// The default is the policy's (`[host] state_dir`), declared once in agent/config.
export { DEFAULT_STATE_DIR };

export const HOST_STATE_FILE = 'host.json';
const MAX_HOST_STATE = 64 * 1024;

/** Why a pinned EK is believed: see the file comment. */
export type EkTrust = 'first-use' | 'ek-certificate';

export interface PinnedEk {
  readonly public: string;
  readonly name: string;
  readonly trust: EkTrust;
}

/** The AK pin as host.json holds it: handle as "0x" and 8 hex digits, public area and Name as hex. */
export interface PinnedAkRecord {
  readonly handle: string;
  readonly public: string;
  readonly name: string;
}

export interface HostState {
  readonly version: 1;
  readonly ek: Readonly<Partial<Record<EkAlg, PinnedEk>>>;
  readonly ak?: PinnedAkRecord;
}

/** `--state-dir`, else EXECGATE_STATE_DIR (unless empty, as an empty EXECGATE_TCTI), else the default. */
export function stateDirOf(env: Readonly<Record<string, string | undefined>>, flag?: string): string {
  return flag ?? (env.EXECGATE_STATE_DIR || DEFAULT_STATE_DIR);
}

export const hostStatePath = (dir: string) => join(dir, HOST_STATE_FILE);

/**
 * Opens the state file, or undefined when there is none, refusing (E_FILE_UNSAFE) what another user could
 * have written, as fs/trusted-file.ts does: a file that is a link, not a regular file, another user's or
 * writable by others; a directory that checkDir refuses.
 */
async function openHostState(dir: string, path: string): Promise<FileHandle | undefined> {
  try {
    await lstat(dir);
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return undefined;
    throw new UsageError(`cannot read ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  try {
    return await openTrusted(path, 'host state file');
  } catch (e) {
    if (e instanceof InputError) {
      if (errnoOf(e.cause) === 'ENOENT') return undefined;
      throw new UsageError(e.message, { cause: e });
    }
    if (e instanceof FileWriteError && e.code === 'E_FILE_UNSAFE')
      throw new FileWriteError(
        'E_FILE_UNSAFE',
        `${e.message}: the pinned EK is believed only from a file no other user could have written`,
        { cause: e },
      );
    throw e;
  }
}

/**
 * The state file, or undefined when there is none; a malformed or oversized one is a usage error, one
 * that another user could have written is E_FILE_UNSAFE (openHostState).
 */
export async function readHostState(dir: string): Promise<HostState | undefined> {
  const path = hostStatePath(dir);
  const fh = await openHostState(dir, path);
  if (fh === undefined) return undefined;
  let bytes: Uint8Array;
  try {
    // The agent's one bounded read loop (fs/read-bounded.ts), on the handle openHostState checked.
    bytes = await readToLimit(
      async (chunk) => (await fh.read(chunk, 0, chunk.length, null)).bytesRead,
      MAX_HOST_STATE,
      {
        tooLong: () => new UsageError(`${path} is larger than ${MAX_HOST_STATE} bytes`),
        failed: (e) => new UsageError(`cannot read ${path}: ${e instanceof Error ? e.message : String(e)}`),
      },
    );
  } finally {
    await fh.close();
  }
  const text = Buffer.from(bytes).toString('utf8');
  const bad = (why: string) => new UsageError(`${path} is not a host state file: ${why}`);
  let o: Readonly<Record<string, unknown>>;
  try {
    o = parseJsonObject(text);
  } catch (e) {
    if (e instanceof JsonError) throw bad(e.message);
    throw e;
  }
  if (o.version !== 1) throw bad('"version" is not 1');
  if (typeof o.ek !== 'object' || o.ek === null || Array.isArray(o.ek)) throw bad('"ek" is not an object');
  const ek: Partial<Record<EkAlg, PinnedEk>> = {};
  for (const [alg, v] of Object.entries(o.ek as Record<string, unknown>)) {
    if (alg !== 'rsa2048' && alg !== 'eccP256' && alg !== 'eccP384') throw bad(`unknown EK "${alg}"`);
    const p = v as Record<string, unknown> | null;
    if (typeof p?.public !== 'string' || !isHex(p.public) || typeof p.name !== 'string' || !isHex(p.name))
      throw bad(`"ek.${alg}" needs hex "public" and "name"`);
    let pub: TPMT_PUBLIC;
    try {
      pub = unmarshal(TPMT_PUBLIC, fromHex(p.public));
    } catch {
      throw bad(`"ek.${alg}.public" is not a TPMT_PUBLIC`);
    }
    if (!equalBytes(objectName(pub), fromHex(p.name))) throw bad(`"ek.${alg}.name" is not its Name`);
    const trust = p.trust ?? 'first-use';
    if (trust !== 'first-use' && trust !== 'ek-certificate')
      throw bad(`"ek.${alg}.trust" is neither "first-use" nor "ek-certificate"`);
    ek[alg] = { public: p.public, name: p.name, trust };
  }
  const ak = o.ak === undefined ? undefined : readAkRecord(o.ak, bad);
  return { version: 1, ek, ...(ak ? { ak } : {}) };
}

/**
 * The "ak" entry, held to what host init pins: a persistent handle, a TPMT_PUBLIC whose Name is "name",
 * an AK as execgate makes them (attest/ak.ts checkAkPublic: restricted signing key fixed to its TPM).
 */
function readAkRecord(v: unknown, bad: (why: string) => UsageError): PinnedAkRecord {
  const p = v as Record<string, unknown> | null;
  if (typeof p?.handle !== 'string' || !/^0x[0-9a-f]{8}$/.test(p.handle))
    throw bad('"ak.handle" is not a handle like "0x81010002"');
  if (typeof p.public !== 'string' || !isHex(p.public) || typeof p.name !== 'string' || !isHex(p.name))
    throw bad('"ak" needs hex "public" and "name"');
  let pub: TPMT_PUBLIC;
  try {
    checkPersistentHandle(Number(p.handle));
    pub = unmarshal(TPMT_PUBLIC, fromHex(p.public));
    checkAkPublic(pub);
  } catch (e) {
    if (e instanceof AkError) throw bad(`"ak": ${e.message}`);
    throw bad('"ak.public" is not a TPMT_PUBLIC');
  }
  if (!equalBytes(objectName(pub), fromHex(p.name))) throw bad('"ak.name" is not its Name');
  return { handle: p.handle, public: p.public, name: p.name };
}

/** The EK public area pinned for `alg`, or undefined. */
export function pinnedEk(state: HostState | undefined, alg: EkAlg): TPMT_PUBLIC | undefined {
  const p = state?.ek[alg];
  return p === undefined ? undefined : unmarshal(TPMT_PUBLIC, fromHex(p.public));
}

/** The pinned EK of `alg`, or E_EK_MISMATCH: a command that salts a session to the EK needs one. */
export function requirePinnedEk(state: HostState | undefined, alg: EkAlg, dir: string): TPMT_PUBLIC {
  const pub = pinnedEk(state, alg);
  if (pub === undefined) {
    throw new EkError(
      'E_EK_MISMATCH',
      `no ${alg} EK is pinned in ${hostStatePath(dir)}: run "execgate host init --ek-alg ${alg}" on this host first (state directory: --state-dir, EXECGATE_STATE_DIR, default ${DEFAULT_STATE_DIR})`,
    );
  }
  return pub;
}

/** `state` with `pub` pinned as the EK of `alg`, the other EKs and the AK kept. */
export function setEkPin(
  state: HostState | undefined,
  alg: EkAlg,
  pub: TPMT_PUBLIC,
  trust: EkTrust,
): HostState {
  const ek = { public: toHex(marshal(TPMT_PUBLIC, pub)), name: toHex(objectName(pub)), trust };
  return { ...(state ?? { version: 1 }), ek: { ...(state?.ek ?? {}), [alg]: ek } };
}

/** `state` with `pin` as the AK (replacing any other), the EKs kept. */
export function setAkPin(state: HostState | undefined, pin: AkPin): HostState {
  const ak = {
    handle: `0x${pin.handle.toString(16).padStart(8, '0')}`,
    public: toHex(marshal(TPMT_PUBLIC, pin.public)),
    name: toHex(objectName(pin.public)),
  };
  return { version: 1, ek: state?.ek ?? {}, ak };
}

/** Writes the state file atomically (writeFileSafe: temporary file, fsync, rename). */
export async function writeHostState(dir: string, state: HostState): Promise<void> {
  await ensureDir(dir, { mode: 0o700 });
  await writeFileSafe(hostStatePath(dir), `${JSON.stringify(state, null, 2)}\n`, {
    mode: 0o644,
    replace: true,
  });
}

/** The pinned AK: where it lives, its public area and Name. */
export interface PinnedAk extends AkPin {
  readonly name: Uint8Array;
}

/** The AK pinned in `state`, or undefined. */
export function pinnedAk(state: HostState | undefined): PinnedAk | undefined {
  const p = state?.ak;
  if (p === undefined) return undefined;
  return {
    handle: Number(p.handle),
    public: unmarshal(TPMT_PUBLIC, fromHex(p.public)),
    name: fromHex(p.name),
  };
}

/** The pinned AK, or E_AK_MISSING naming the command that pins one. */
export function requirePinnedAk(state: HostState | undefined, dir: string): PinnedAk {
  const pin = pinnedAk(state);
  if (pin === undefined) {
    throw new AkError(
      'E_AK_MISSING',
      `no AK is pinned in ${hostStatePath(dir)}: run "execgate host init" on this host first (an AK kept as files with --ak-save is not pinned; state directory: --state-dir, the policy's [host] state_dir, EXECGATE_STATE_DIR, default ${DEFAULT_STATE_DIR})`,
    );
  }
  return pin;
}

/**
 * Runs `fn` with the pinned AK: its handle, and the PINNED public area, so that spkiOfPublic(ak.public)
 * is the key quotes are verified against, whatever the TPM reports. Before, the TPM's public area at the
 * handle must be byte-equal to the pin (E_AK_MISMATCH: an interposer or a swapped key; E_AK_MISSING when
 * the handle is empty, or when nothing is pinned).
 */
export async function withPinnedAk<T>(
  tpm: Tpm,
  state: HostState | undefined,
  dir: string,
  fn: (ak: LoadedAk) => Promise<T>,
): Promise<T> {
  const pin = requirePinnedAk(state, dir);
  await confirmPinnedAk(tpm, pin);
  return fn({ handle: pin.handle, public: pin.public });
}
