// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/gate/wire
 *
 * How `execgate exec` asks a running `execgate serve` for its verdict (issue 14's start-up target, issue
 * 15's service): one request and one answer on a Unix stream socket in the state directory, each a frame
 * of a 4-byte big-endian length and a JSON object, checked field by field on receipt.
 *
 * Who may ask: the socket is `<state dir>/gate.sock`, mode 0600 in a 0700 directory, so only the state
 * directory's owner (who may run the gate in-process anyway) can connect; what such a client says of
 * itself (uid, pid, environment, working directory) is what the in-process gate reads of itself. Node
 * has no SO_PEERCRED, so the service cannot check it: the socket's mode is the boundary. The other way,
 * the client asks only in a state directory that is its own and that no other user may change
 * (agent/cli/exec-client.ts): elsewhere whoever listens at gate.sock need not be the owner's service.
 *
 * What the client does itself: it resolves, opens and hashes the executable (it runs that descriptor:
 * agent/gate/executable.ts) and reads the --artifact file (a service under ProtectHome and PrivateTmp
 * does not see the caller's files); the service judges everything else with its warm policy, trust,
 * audit store, wasm-core and TPM connection.
 *
 * JSON rather than CBOR: the client loads no CBOR code, and the one binary field (the artifact, at most
 * 256 KiB) is base64.
 */
import type { Socket } from 'node:net';
import { isHex } from '../encoding/bytes.js';
import { ExecgateError } from '../errors.js';
import { GateError } from './errors.js';
import type { JudgedExecutable } from './executable.js';
import type { GateVerdict } from './gate.js';

/** The socket's name in the state directory. */
export const GATE_SOCKET = 'gate.sock';

/** A request: argv and environment as large as Linux allows (ARG_MAX is a quarter of an 8 MiB stack), escaped. */
export const MAX_REQUEST_BYTES = 16 * 1024 * 1024;
/** An answer: a verdict (its detail names at most a few paths). */
export const MAX_ANSWER_BYTES = 1024 * 1024;

const VERSION = 1;

/** What `execgate exec` tells the service (everything agent/gate/gate.ts `GateRequest` needs, and the executable). */
export interface WireRequest {
  /** The policy file the client read, as an absolute path: the service answers only for its own. */
  readonly policy: string;
  /** The TPM the client was told to use (--tcti, $EXECGATE_TCTI), or null for the policy's. */
  readonly tcti: string | null;
  readonly argv: readonly string[];
  readonly cwd: string;
  readonly uid: number;
  readonly pid: number;
  readonly pidStart: number;
  readonly env: Readonly<Record<string, string>>;
  readonly artifactFile?: string;
  readonly artifact?: Uint8Array;
  readonly artifactError?: string;
  /** The executable as opened and hashed by the client, or why it could not be (E_SCOPE). */
  readonly exe: JudgedExecutable | GateError;
}

/** The service's answer: its verdict, or that it will not judge this request (the client judges it itself). */
export type WireAnswer =
  | { readonly kind: 'verdict'; readonly verdict: GateVerdict }
  | { readonly kind: 'decline'; readonly reason: string };

/** A malformed frame or message. */
export class WireError extends ExecgateError<'E_WIRE'> {
  constructor(message: string) {
    super('E_WIRE', message);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** `message` as a frame. */
export function frame(message: object): Buffer {
  const body = Buffer.from(JSON.stringify(message), 'utf8');
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length);
  return Buffer.concat([head, body]);
}

/**
 * The next frame's body from `socket`, parsed; at most `maxBytes`, within `timeoutMs`. The socket is
 * destroyed on any failure (an oversized, short or late frame).
 */
export function readFrame(socket: Socket, maxBytes: number, timeoutMs: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let have = 0;
    let want = -1;
    const done = (err: Error | undefined, value?: unknown) => {
      clearTimeout(timer);
      socket.off('data', onData).off('end', onEnd).off('error', onError).off('close', onEnd);
      if (err === undefined) resolve(value);
      else {
        socket.destroy();
        reject(err);
      }
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      have += chunk.length;
      if (want < 0 && have >= 4) {
        want = Buffer.concat(chunks).readUInt32BE(0);
        if (want > maxBytes) return done(new WireError(`a frame of ${want} bytes is over ${maxBytes}`));
      }
      if (want < 0 || have < 4 + want) return;
      if (have > 4 + want) return done(new WireError('bytes after the frame'));
      const body = Buffer.concat(chunks).subarray(4);
      let value: unknown;
      try {
        value = JSON.parse(utf8.decode(body));
      } catch (e) {
        return done(new WireError(`the frame is not JSON: ${e instanceof Error ? e.message : String(e)}`));
      }
      done(undefined, value);
    };
    const onEnd = () => done(new WireError('the connection closed before a whole frame'));
    const onError = (e: Error) => done(e);
    const timer = setTimeout(() => done(new WireError(`no whole frame within ${timeoutMs} ms`)), timeoutMs);
    socket.on('data', onData).on('end', onEnd).on('error', onError).on('close', onEnd);
  });
}

/** The request as sent. */
export function encodeRequest(r: WireRequest): object {
  return {
    execgate: 'gate-request',
    v: VERSION,
    policy: r.policy,
    tcti: r.tcti,
    argv: r.argv,
    cwd: r.cwd,
    uid: r.uid,
    pid: r.pid,
    pidStart: r.pidStart,
    env: r.env,
    ...(r.artifactFile === undefined ? {} : { artifactFile: r.artifactFile }),
    ...(r.artifact === undefined ? {} : { artifact: Buffer.from(r.artifact).toString('base64') }),
    ...(r.artifactError === undefined ? {} : { artifactError: r.artifactError }),
    exe:
      r.exe instanceof GateError
        ? { error: r.exe.message, remedy: r.exe.remedy }
        : { path: r.exe.realPath, sha256: Buffer.from(r.exe.sha256).toString('hex') },
  };
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** The fields of `o`, refusing any other key (a newer client's field is not silently dropped). */
function fields(o: unknown, what: string, allowed: readonly string[]): Json {
  if (!isObject(o)) throw new WireError(`${what} is not an object`);
  for (const k of Object.keys(o))
    if (!allowed.includes(k)) throw new WireError(`${what} has an unknown field "${k}"`);
  return o;
}

function text(o: Json, k: string, opts: { optional?: boolean } = {}): string | undefined {
  const v = o[k];
  if (v === undefined && opts.optional) return undefined;
  if (typeof v !== 'string' || v.includes('\0')) throw new WireError(`"${k}" is not a string without NUL`);
  return v;
}

function count(o: Json, k: string): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    throw new WireError(`"${k}" is not a non-negative integer`);
  return v;
}

/** A request as received, checked (WireError when it is not one this version reads). */
export function decodeRequest(value: unknown): WireRequest {
  const o = fields(value, 'the request', [
    'execgate',
    'v',
    'policy',
    'tcti',
    'argv',
    'cwd',
    'uid',
    'pid',
    'pidStart',
    'env',
    'artifactFile',
    'artifact',
    'artifactError',
    'exe',
  ]);
  if (o.execgate !== 'gate-request' || o.v !== VERSION)
    throw new WireError(`not a version ${VERSION} gate request`);
  const policy = text(o, 'policy') as string;
  const tcti = o.tcti === null ? null : (text(o, 'tcti') as string);
  const argv = o.argv;
  if (
    !Array.isArray(argv) ||
    argv.length === 0 ||
    argv.some((a) => typeof a !== 'string' || a.includes('\0'))
  )
    throw new WireError('"argv" is not a non-empty array of strings without NUL');
  if (!isObject(o.env)) throw new WireError('"env" is not an object');
  const envIn = o.env;
  const env: Record<string, string> = Object.create(null);
  for (const [k, v] of Object.entries(envIn)) {
    if (k === '' || k.includes('=') || k.includes('\0') || typeof v !== 'string' || v.includes('\0'))
      throw new WireError('"env" holds a variable that no environment can');
    env[k] = v;
  }
  const artifactFile = text(o, 'artifactFile', { optional: true });
  const artifactError = text(o, 'artifactError', { optional: true });
  const artifactText = text(o, 'artifact', { optional: true });
  if (artifactText !== undefined && !BASE64.test(artifactText))
    throw new WireError('"artifact" is not base64');
  const exeIn = o.exe;
  let exe: WireRequest['exe'];
  if (isObject(exeIn) && 'error' in exeIn) {
    const e = fields(exeIn, '"exe"', ['error', 'remedy']);
    exe = new GateError('E_SCOPE', text(e, 'error') as string, text(e, 'remedy') as string);
  } else {
    const e = fields(exeIn, '"exe"', ['path', 'sha256']);
    const sha = text(e, 'sha256') as string;
    if (sha.length !== 64 || !isHex(sha)) throw new WireError('"exe.sha256" is not 64 hex digits');
    exe = { realPath: text(e, 'path') as string, sha256: Uint8Array.from(Buffer.from(sha, 'hex')) };
  }
  return {
    policy,
    tcti,
    argv: argv as string[],
    cwd: text(o, 'cwd') as string,
    uid: count(o, 'uid'),
    pid: count(o, 'pid'),
    pidStart: count(o, 'pidStart'),
    env,
    ...(artifactFile === undefined ? {} : { artifactFile }),
    ...(artifactText === undefined ? {} : { artifact: Uint8Array.from(Buffer.from(artifactText, 'base64')) }),
    ...(artifactError === undefined ? {} : { artifactError }),
    exe,
  };
}

/** The answer as sent. */
export function encodeAnswer(a: WireAnswer): object {
  return a.kind === 'verdict'
    ? { execgate: 'gate-answer', v: VERSION, verdict: a.verdict }
    : { execgate: 'gate-answer', v: VERSION, decline: a.reason };
}

const REASON = /^(OK|E_[A-Z0-9_]{1,40})$/;

/**
 * An answer as received, checked: the client acts on it (runs the command on an allow), so a verdict
 * whose fields are not what agent/gate/gate.ts makes is refused whole (WireError).
 */
export function decodeAnswer(value: unknown): WireAnswer {
  const o = fields(value, 'the answer', ['execgate', 'v', 'verdict', 'decline']);
  if (o.execgate !== 'gate-answer' || o.v !== VERSION)
    throw new WireError(`not a version ${VERSION} gate answer`);
  if (o.decline !== undefined) return { kind: 'decline', reason: text(o, 'decline') as string };
  const v = fields(o.verdict, '"verdict"', [
    'verdict',
    'reason',
    'detail',
    'remedy',
    'mode',
    'run',
    'artifact',
    'exe',
    'breakglass',
    'audit',
    'auditError',
    'parent',
    'env',
  ]);
  const verdict = v.verdict;
  if (verdict !== 'allow' && verdict !== 'deny' && verdict !== 'would-deny')
    throw new WireError('"verdict" is not allow, deny or would-deny');
  const reason = text(v, 'reason') as string;
  if (!REASON.test(reason) || (verdict === 'allow') !== (reason === 'OK'))
    throw new WireError(`"reason" ${JSON.stringify(reason)} does not go with ${verdict}`);
  if (v.mode !== 'enforce' && v.mode !== 'audit') throw new WireError('"mode" is not enforce or audit');
  if (typeof v.run !== 'boolean' || (verdict === 'deny' && v.run))
    throw new WireError('"run" is not a boolean, or a denial runs');
  if (v.breakglass !== undefined && v.breakglass !== true) throw new WireError('"breakglass" is not true');
  let audit: GateVerdict['audit'];
  if (v.audit !== undefined) {
    const a = fields(v.audit, '"audit"', ['seq', 'entryHash']);
    const entryHash = text(a, 'entryHash') as string;
    if (entryHash.length !== 64 || !isHex(entryHash))
      throw new WireError('"audit.entryHash" is not 64 hex digits');
    audit = { seq: count(a, 'seq'), entryHash };
  }
  let env: string[] | undefined;
  if (v.env !== undefined) {
    if (!Array.isArray(v.env) || v.env.some((k) => typeof k !== 'string'))
      throw new WireError('"env" is not an array of names');
    env = v.env as string[];
  }
  let artifact: GateVerdict['artifact'];
  if (v.artifact !== undefined) {
    const a = fields(v.artifact, '"artifact"', ['file', 'digest', 'cti', 'issuer']);
    const file = text(a, 'file', { optional: true });
    artifact = {
      ...(file === undefined ? {} : { file }),
      digest: text(a, 'digest') as string,
      cti: text(a, 'cti') as string,
      issuer: text(a, 'issuer') as string,
    };
  }
  let exe: GateVerdict['exe'];
  if (v.exe !== undefined) {
    const e = fields(v.exe, '"exe"', ['path', 'sha256']);
    exe = { path: text(e, 'path') as string, sha256: text(e, 'sha256') as string };
  }
  const auditError = text(v, 'auditError', { optional: true });
  return {
    kind: 'verdict',
    verdict: {
      verdict,
      reason: reason as GateVerdict['reason'],
      detail: text(v, 'detail') as string,
      remedy: text(v, 'remedy') as string,
      mode: v.mode,
      run: v.run,
      ...(artifact === undefined ? {} : { artifact }),
      ...(exe === undefined ? {} : { exe }),
      ...(v.breakglass === true ? { breakglass: true as const } : {}),
      ...(audit === undefined ? {} : { audit }),
      ...(auditError === undefined ? {} : { auditError }),
      ...(v.parent === undefined ? {} : { parent: count(v, 'parent') }),
      ...(env === undefined ? {} : { env }),
    },
  };
}
