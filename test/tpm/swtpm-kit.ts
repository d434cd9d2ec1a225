// SPDX-License-Identifier: Apache-2.0
// Shared pieces of the swtpm integration tests (test/tpm/commands-*.test.ts, templates, pcrs-oracle):
// a Tpm on the file's swtpm, tpm2-tools as the oracle, flushing in `finally` (swtpm has only 3
// transient slots and no resource manager, SWTPM.md §4.2), and node:crypto views of TPM keys and
// signatures so that nothing the TPM returns is checked only by our own code.
import { execFile } from 'node:child_process';
import { createPublicKey, type KeyObject, verify } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'vitest';
import { hashAlgOf } from '../../agent/crypto/algorithms.js';
import { CreatePrimary, FlushContext, GetCapability } from '../../agent/tpm/commands.js';
import { TPM_ALG, TPM_CAP, TPM_ECC_CURVE } from '../../agent/tpm/constants.js';
import { isTpmError } from '../../agent/tpm/errors.js';
import { formatRc } from '../../agent/tpm/rc.js';
import type { TPMS_ECC_POINT, TPMT_PUBLIC, TPMT_SIGNATURE } from '../../agent/tpm/structures.js';
import { akRsa2048Template } from '../../agent/tpm/templates.js';
import { Tpm } from '../../agent/tpm/tpm.js';
import { openTransport } from '../../agent/tpm/transport/index.js';
import type { SwtpmInstance } from '../../swtpm/harness.js';

const run = promisify(execFile);

export const EMPTY = new Uint8Array(0);

/** A Tpm on this swtpm; one connection per command, so tpm2-tools can run in between. */
export function openTpm(instance: SwtpmInstance): Tpm {
  return new Tpm(openTransport(instance.tcti));
}

/** Runs a tpm2-tools command against this swtpm and returns its stdout. */
export async function tpm2(instance: SwtpmInstance, tool: string, args: readonly string[], cwd?: string) {
  const { stdout } = await run(tool, [...args], {
    env: { ...process.env, ...instance.env },
    encoding: 'utf8',
    ...(cwd === undefined ? {} : { cwd }),
  });
  return stdout;
}

/** Runs `fn` in a fresh temporary directory that is removed afterwards. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'execgate-tpm-test-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Handles of one type (TPM_CAP_HANDLES from `first`, Part 3 §30.2), following moreData. */
export async function handlesFrom(tpm: Tpm, first: number): Promise<number[]> {
  const out: number[] = [];
  let property = first;
  for (;;) {
    const rsp = await tpm.run(GetCapability, { capability: TPM_CAP.HANDLES, property, propertyCount: 254 });
    const page = rsp.capabilityData.data as number[];
    out.push(...page.filter((h) => h >>> 24 === first >>> 24));
    const last = page.at(-1);
    if (!rsp.moreData || last === undefined) return out;
    property = last + 1;
  }
}

/** The transient objects loaded now: tests assert this is empty after themselves. */
export function transientHandles(tpm: Tpm): Promise<number[]> {
  return handlesFrom(tpm, 0x80000000);
}

/** Flushes every loaded transient object (after tpm2-tools, which leaves its objects loaded). */
export async function flushAllTransient(tpm: Tpm): Promise<void> {
  for (const h of await transientHandles(tpm)) await tpm.run(FlushContext, { flushHandle: h });
}

/** CreatePrimary input with empty userAuth and no creation PCRs. */
export function primaryInput(hierarchy: number, inPublic: TPMT_PUBLIC, userAuth: Uint8Array = EMPTY) {
  return {
    primaryHandle: hierarchy,
    inSensitive: { userAuth, data: EMPTY },
    inPublic,
    outsideInfo: EMPTY,
    creationPCR: [],
  };
}

type Primary = Awaited<ReturnType<typeof createPrimary>>;

export function createPrimary(tpm: Tpm, hierarchy: number, inPublic: TPMT_PUBLIC, userAuth?: Uint8Array) {
  return tpm.run(CreatePrimary, primaryInput(hierarchy, inPublic, userAuth));
}

/**
 * A legacy AK: execgate's RSA AK template with RSASSA over SHA-1, as `tpm2_createak -g sha1 -s rsassa`
 * makes it. Its quotes are signed with SHA-1 and their pcrDigest is SHA-1 too.
 */
export function legacySha1AkTemplate(): TPMT_PUBLIC {
  const t = akRsa2048Template();
  return {
    ...t,
    parameters: { ...t.parameters, scheme: { scheme: TPM_ALG.RSASSA, details: { hashAlg: TPM_ALG.SHA1 } } },
  };
}

/** Creates a primary object, runs `fn` with it, and flushes it whatever happens. */
export async function withPrimary<T>(
  tpm: Tpm,
  hierarchy: number,
  inPublic: TPMT_PUBLIC,
  fn: (key: Primary) => Promise<T>,
  userAuth?: Uint8Array,
): Promise<T> {
  const key = await createPrimary(tpm, hierarchy, inPublic, userAuth);
  try {
    return await fn(key);
  } finally {
    await tpm.flush(key.objectHandle);
  }
}

/** Runs `fn` with a loaded object handle and flushes it whatever happens. */
export async function withLoaded<T>(
  tpm: Tpm,
  handle: number,
  fn: (handle: number) => Promise<T>,
): Promise<T> {
  try {
    return await fn(handle);
  } finally {
    await tpm.flush(handle);
  }
}

/** Awaits a promise that must reject with a TpmError carrying `rc` (index bits ignored). */
export async function expectRc(promise: Promise<unknown>, rc: number): Promise<void> {
  const err = await promise.then(
    () => new Error('resolved, expected a TpmError'),
    (e: unknown) => e,
  );
  expect(isTpmError(err, rc), `expected ${formatRc(rc)}, got ${String(err)}`).toBe(true);
}

const b64url = (b: Uint8Array) => Buffer.from(b).toString('base64url');

function curveName(curveID: number): 'P-256' | 'P-384' {
  if (curveID === TPM_ECC_CURVE.NIST_P256) return 'P-256';
  if (curveID === TPM_ECC_CURVE.NIST_P384) return 'P-384';
  throw new RangeError(`curve 0x${curveID.toString(16)} is not used in these tests`);
}

/** node:crypto's view of a TPM public key (Part 2 §12.2.4: RSA modulus in unique, ECC point in unique). */
export function publicKeyOf(pub: TPMT_PUBLIC): KeyObject {
  if (pub.type === TPM_ALG.RSA) {
    const parms = pub.parameters as { exponent: number };
    const e = parms.exponent === 0 ? 65537 : parms.exponent; // Part 2 §12.2.3.5: 0 means 2^16+1
    const eBytes = Uint8Array.from(Buffer.from(e.toString(16).padStart(6, '0'), 'hex'));
    return createPublicKey({
      key: { kty: 'RSA', n: b64url(pub.unique as Uint8Array), e: b64url(eBytes) },
      format: 'jwk',
    });
  }
  if (pub.type === TPM_ALG.ECC) {
    const { curveID } = pub.parameters as { curveID: number };
    const { x, y } = pub.unique as TPMS_ECC_POINT;
    return createPublicKey({
      key: { kty: 'EC', crv: curveName(curveID), x: b64url(x), y: b64url(y) },
      format: 'jwk',
    });
  }
  throw new RangeError(`object type 0x${pub.type.toString(16)} has no public key`);
}

function leftPad(b: Uint8Array, len: number): Uint8Array {
  const out = new Uint8Array(len);
  out.set(b, len - b.length);
  return out;
}

/**
 * Verifies a TPMT_SIGNATURE over `message` with node:crypto: RSASSA-PKCS1-v1_5, or ECDSA with r‖s each
 * left-padded to the curve size (IEEE P1363, SWTPM.md §4.1).
 */
export function verifySignature(pub: TPMT_PUBLIC, message: Uint8Array, sig: TPMT_SIGNATURE): boolean {
  const key = publicKeyOf(pub);
  if (sig.sigAlg === TPM_ALG.RSASSA) {
    const s = sig.signature as { hash: number; sig: Uint8Array };
    return verify(hashAlgOf(s.hash), message, key, s.sig);
  }
  if (sig.sigAlg === TPM_ALG.ECDSA) {
    const s = sig.signature as { hash: number; signatureR: Uint8Array; signatureS: Uint8Array };
    const size = curveName((pub.parameters as { curveID: number }).curveID) === 'P-256' ? 32 : 48;
    const p1363 = new Uint8Array([...leftPad(s.signatureR, size), ...leftPad(s.signatureS, size)]);
    return verify(hashAlgOf(s.hash), message, { key, dsaEncoding: 'ieee-p1363' }, p1363);
  }
  throw new RangeError(`signature algorithm 0x${sig.sigAlg.toString(16)} is not used in these tests`);
}

export const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
export const unhex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'));
