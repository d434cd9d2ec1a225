// SPDX-License-Identifier: Apache-2.0
/**
 * A TPM command is a declaration (Part 3: command code, handle area, parameters, response handles and
 * parameters) plus one generic `execute` (STYLE.md principle 2, after go-tpm's tpm2.go). `execute`
 * builds the command of Part 1 §18, runs the sessions' authorization and parameter encryption
 * (sessions.ts), sends it through the transport, and decodes the response, throwing TpmError for a
 * non-success response code.
 */
import { concatBytes } from '../encoding/bytes.js';
import { TPM_ST } from './constants.js';
import { TpmError, TpmParseError } from './errors.js';
import { Reader, Writer } from './marshal.js';
import type { Schema } from './schema.js';
import type { TPMS_AUTH_COMMAND as AuthCommand, TPMS_AUTH_RESPONSE as AuthResponse } from './structures.js';
import { TPMS_AUTH_COMMAND, TPMS_AUTH_RESPONSE } from './structures.js';

/** Which authorization role a handle needs (Part 3 §4.3: USER, ADMIN, DUP); absent = no authorization. */
export type AuthRole = 'USER' | 'ADMIN' | 'DUP';

export interface HandleSpec {
  readonly name: string;
  readonly auth?: AuthRole;
}

export interface Command<H extends readonly HandleSpec[], P, RH extends readonly string[], R> {
  /** The Part 3 name without `TPM2_`, e.g. 'PCR_Read'. */
  readonly name: string;
  readonly cc: number;
  readonly handles: H;
  readonly params: Schema<P>;
  readonly responseHandles: RH;
  readonly response: Schema<R>;
}

// biome-ignore lint/suspicious/noExplicitAny: the parameter and response types vary per command.
export type AnyCommand = Command<readonly HandleSpec[], any, readonly string[], any>;

/** Declares a command; `const` keeps handle names literal so inputs and outputs are typed by name. */
export function command<const H extends readonly HandleSpec[], P, const RH extends readonly string[], R>(
  decl: Command<H, P, RH, R>,
): Command<H, P, RH, R> {
  return decl;
}

/**
 * A handle argument: a bare handle, or a handle with the entity's Name (needed for HMAC sessions; looked
 * up with ReadPublic/NV_ReadPublic when absent) and its authValue (used by the default password session
 * or mixed into an HMAC session's key).
 */
export type HandleRef =
  | number
  | { readonly handle: number; readonly name?: Uint8Array; readonly auth?: Uint8Array };

export type CommandInput<C> =
  C extends Command<infer H, infer P, readonly string[], unknown>
    ? P & { readonly [K in H[number]['name']]: HandleRef }
    : never;

export type CommandOutput<C> =
  C extends Command<readonly HandleSpec[], unknown, infer RH, infer R>
    ? R & { readonly [K in RH[number]]: number }
    : never;

export function handleOf(ref: HandleRef): number {
  return typeof ref === 'number' ? ref : ref.handle;
}

export function authOf(ref: HandleRef): Uint8Array {
  return typeof ref === 'number' ? new Uint8Array(0) : (ref.auth ?? new Uint8Array(0));
}

/** What a session sees of one command, to build its TPMS_AUTH_COMMAND (Part 1 §19.6). */
export interface CommandContext {
  readonly cc: number;
  /** Names of every handle in the handle area, in order (Part 1 §16). */
  readonly names: readonly Uint8Array[];
  /** The marshalled parameters, after parameter encryption: cpHash covers these bytes. */
  readonly parameters: Uint8Array;
}

export interface ResponseContext {
  readonly cc: number;
  readonly parameters: Uint8Array;
}

/**
 * A session in the authorization area. `execute` calls, in order: `begin` on every session (fresh
 * nonceCaller), `encryptParameter` on the decrypt session, `authorize` on every session, then after the
 * response `verify` on every session and `decryptParameter` on the encrypt session.
 */
export interface Session {
  readonly handle: number;
  /** Whether this session encrypts the first command parameter (TPMA_SESSION.decrypt). */
  readonly decrypt: boolean;
  /** Whether the TPM encrypts the first response parameter (TPMA_SESSION.encrypt). */
  readonly encrypt: boolean;
  /** Whether the session needs handle Names for cpHash (HMAC and policy sessions do). */
  readonly needsNames: boolean;
  begin(): void;
  encryptParameter(data: Uint8Array, auth: SessionUse): Uint8Array;
  /**
   * `crypt` says whether this session encrypts this command's first parameter (`decrypt`) and response
   * parameter (`encrypt`): only where the command has a TPM2B there (Part 1 §21.1), else the TPM
   * refuses the attribute.
   */
  authorize(
    ctx: CommandContext,
    use: SessionUse,
    extraNonces: Uint8Array,
    crypt: { readonly decrypt: boolean; readonly encrypt: boolean },
  ): AuthCommand;
  verify(ctx: ResponseContext, use: SessionUse, auth: AuthResponse): void;
  decryptParameter(data: Uint8Array, use: SessionUse): Uint8Array;
  /** The nonceTPM this session had for the command, for the first session's HMAC (Part 1 §19.6.5). */
  readonly nonceTPM: Uint8Array;
}

/** The entity a session authorizes in this command, if any. */
export interface SessionUse {
  /**
   * The authValue of the authorized entity; empty when the session only encrypts or audits. Besides the
   * HMAC it keys parameter encryption (Part 1 §21.1, bound or not, HMAC or policy session), so give it
   * only where the TPM can use it (the reference implementation's IsAuthValueAvailable: e.g. an NV index
   * with AUTHREAD for a read, an object with userWithAuth); otherwise the two sides derive different keys.
   */
  readonly authValue: Uint8Array;
  /** The Name of the authorized entity, or undefined for a session that authorizes nothing. */
  readonly entityName?: Uint8Array;
}

/** Sends one command and returns the raw response; the framing checks live in the transport. */
export interface CommandSender {
  send(command: Uint8Array): Promise<Uint8Array>;
}

export interface ExecuteOptions {
  /** Sessions in authorization order: session i authorizes auth handle i; extras only encrypt/audit. */
  readonly sessions: readonly Session[];
  /** Returns the Name of a handle (for HMAC/policy sessions); called only when a session needs it. */
  readonly nameOf: (ref: HandleRef) => Promise<Uint8Array>;
}

const HEADER_LEN = 10;

/**
 * Builds, sends and decodes one command (Part 1 §18.2 command/response structure). Throws TpmError for a
 * non-success TPM_RC, TpmParseError for a malformed response.
 */
export async function execute<C extends AnyCommand>(
  tpm: CommandSender,
  cmd: C,
  input: CommandInput<C>,
  opts: ExecuteOptions,
): Promise<CommandOutput<C>> {
  const rec = input as unknown as Record<string, unknown>;
  const refs = cmd.handles.map((h) => {
    const ref = rec[h.name];
    if (typeof ref !== 'number' && (typeof ref !== 'object' || ref === null || !('handle' in ref))) {
      throw new TypeError(`TPM2_${cmd.name}: handle ${h.name} is missing`);
    }
    return ref as HandleRef;
  });
  const authIdx = cmd.handles.flatMap((h, i) => (h.auth ? [i] : []));
  const sessions = [...opts.sessions];
  if (sessions.length < authIdx.length) {
    throw new TypeError(
      `TPM2_${cmd.name} needs ${authIdx.length} authorization session(s), got ${sessions.length}`,
    );
  }
  const uses: SessionUse[] = sessions.map((_, i) => {
    const hi = authIdx[i];
    if (hi === undefined) return { authValue: new Uint8Array(0) };
    const ref = refs[hi] as HandleRef;
    return { authValue: authOf(ref), entityName: new Uint8Array(0) };
  });

  let names: Uint8Array[] = [];
  if (sessions.some((s) => s.needsNames)) {
    names = await Promise.all(refs.map((r) => opts.nameOf(r)));
    authIdx.forEach((hi, i) => {
      const use = uses[i];
      const name = names[hi];
      if (use && name) uses[i] = { authValue: use.authValue, entityName: name };
    });
  }

  let params = marshalParams(cmd, input);
  for (const s of sessions) s.begin();
  // A session asked to encrypt does so where the command allows it (Part 1 §21.1) and stays quiet elsewhere.
  const decryptIdx = firstIsTpm2b(cmd.params) ? sessions.findIndex((s) => s.decrypt) : -1;
  const encryptIdx = firstIsTpm2b(cmd.response) ? sessions.findIndex((s) => s.encrypt) : -1;
  if (decryptIdx >= 0) {
    params = transformFirstParameter(cmd.name, params, (d) =>
      (sessions[decryptIdx] as Session).encryptParameter(d, uses[decryptIdx] as SessionUse),
    );
  }

  // Part 1 §19.6.5: the first session's HMAC also covers the nonceTPM of a decrypt or encrypt session
  // that is not itself.
  const extra: Uint8Array[] = [];
  if (decryptIdx > 0) extra.push((sessions[decryptIdx] as Session).nonceTPM);
  if (encryptIdx > 0 && encryptIdx !== decryptIdx) extra.push((sessions[encryptIdx] as Session).nonceTPM);
  const extraNonces = concatBytes(extra);

  const ctx: CommandContext = { cc: cmd.cc, names, parameters: params };
  const auths = sessions.map((s, i) =>
    s.authorize(ctx, uses[i] as SessionUse, i === 0 ? extraNonces : new Uint8Array(0), {
      decrypt: i === decryptIdx,
      encrypt: i === encryptIdx,
    }),
  );

  const w = new Writer();
  w.u16(sessions.length ? TPM_ST.SESSIONS : TPM_ST.NO_SESSIONS);
  w.u32(0); // commandSize, patched below
  w.u32(cmd.cc);
  for (const ref of refs) w.u32(handleOf(ref));
  if (sessions.length) {
    const at = w.length;
    w.u32(0);
    for (const a of auths) TPMS_AUTH_COMMAND.write(w, a);
    w.patchU32(at, w.length - at - 4);
  }
  w.bytes(params);
  w.patchU32(2, w.length);

  const rsp = await tpm.send(w.finish());
  const r = new Reader(rsp);
  const tag = r.u16('tag');
  r.u32('responseSize'); // checked against the bytes received by the transport
  const rc = r.u32('responseCode');
  if (rc !== 0) {
    if (rsp.length !== HEADER_LEN)
      throw new TpmParseError('an error response must be exactly 10 bytes', HEADER_LEN);
    throw new TpmError(rc, cmd.name);
  }
  const out: Record<string, unknown> = {};
  for (const name of cmd.responseHandles) out[name] = r.u32(`${cmd.name}.${name}`);

  let rspParams: Uint8Array;
  if (tag === TPM_ST.SESSIONS) {
    if (!sessions.length) throw new TpmParseError('response has sessions the command did not send', 0);
    const size = r.u32('parameterSize');
    rspParams = r.bytes(size, 'response parameters');
    const rctx: ResponseContext = { cc: cmd.cc, parameters: rspParams };
    for (const [i, s] of sessions.entries()) {
      s.verify(rctx, uses[i] as SessionUse, TPMS_AUTH_RESPONSE.read(r));
    }
    r.done('response authorization area');
  } else if (tag === TPM_ST.NO_SESSIONS) {
    if (sessions.length) throw new TpmParseError('response lacks the authorization area', 0);
    rspParams = r.bytes(r.remaining, 'response parameters');
  } else {
    throw new TpmParseError(`unexpected response tag 0x${tag.toString(16)}`, 0);
  }
  if (encryptIdx >= 0) {
    rspParams = transformFirstParameter(cmd.name, rspParams, (d) =>
      (sessions[encryptIdx] as Session).decryptParameter(d, uses[encryptIdx] as SessionUse),
    );
  }
  const pr = new Reader(rspParams);
  Object.assign(out, cmd.response.read(pr));
  pr.done(`TPM2_${cmd.name} response`);
  return out as CommandOutput<C>;
}

function marshalParams(cmd: AnyCommand, input: unknown): Uint8Array {
  const w = new Writer();
  cmd.params.write(w, input);
  return w.finish();
}

/** Part 1 §21.1: only a first parameter that is a TPM2B can be encrypted. */
function firstIsTpm2b(schema: Schema<unknown>): boolean {
  const first = schema.desc.kind === 'struct' ? schema.desc.fields[0]?.[1].desc : undefined;
  return first !== undefined && (first.kind === 'sized' || (first.kind === 'bytes' && first.prefixLen === 2));
}

/**
 * Applies `fn` to the contents of the first parameter, which must be a TPM2B (Part 1 §21.1: only a
 * first parameter that is a sized buffer can be encrypted).
 */
function transformFirstParameter(
  name: string,
  params: Uint8Array,
  fn: (data: Uint8Array) => Uint8Array,
): Uint8Array {
  if (params.length < 2) {
    throw new TypeError(`TPM2_${name}: parameter encryption needs a TPM2B first parameter`);
  }
  const size = (params[0] ?? 0) * 256 + (params[1] ?? 0);
  if (size + 2 > params.length) throw new TpmParseError('first parameter overruns the parameter area', 0);
  const out = params.slice();
  out.set(fn(params.subarray(2, 2 + size)), 2);
  return out;
}
