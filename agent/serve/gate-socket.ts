// SPDX-License-Identifier: Apache-2.0
/**
 * @module agent/serve/gate-socket
 *
 * `execgate serve`'s side of agent/gate/wire.ts: a Unix socket in the state directory on which each
 * connection brings one request of `execgate exec` and gets one answer, the verdict of agent/gate/gate.ts
 * `decide` made with the service's warm state (policy and trust, audit store, its TPM access). Verdicts are made one at a time, in arrival order, in the service's turn (`ServedGate.turn`):
 * they share the TPM and the audit log with its heartbeats and checkpoints, and a verdict takes milliseconds.
 *
 * The service declines (and the client then judges in its own process, as without a service) a request
 * for another policy file or TPM than its own, one it cannot read (another version), and any past
 * MAX_WAITING waiting verdicts, one whose turn never began (the service stopped first), and one whose
 * artifact names sealed secrets (issue 17: the client unseals them in its own process, so the plaintext
 * never crosses this socket; the service recorded nothing). Otherwise, once it has begun a verdict it
 * answers with that verdict, whatever it is. At stop, a connection whose request has
 * not arrived is declined at once rather than waited for.
 *
 * Not covered: the number of connections is not bounded (each may buffer a request of up to
 * MAX_REQUEST_BYTES): only the state directory's owner can connect, and a connection refused after it
 * was accepted would look to its client like a lost answer (E_INTERNAL), not a decline.
 */
import { chmod, lstat, unlink } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { ConfigError } from '../config/errors.js';
import { errnoOf } from '../errors.js';
import { GateError, SecretsNotServed, unrecordedDenial } from '../gate/errors.js';
import { decide, type GateContext, type GateVerdict } from '../gate/gate.js';
import {
  decodeRequest,
  encodeAnswer,
  frame,
  MAX_REQUEST_BYTES,
  readFrame,
  type WireAnswer,
  type WireRequest,
} from '../gate/wire.js';

/** What the socket needs of the service. */
export interface ServedGate {
  /** The policy file the service judges under (absolute): requests naming another are declined. */
  readonly policyFile: string;
  /** The TPM it was told to use (--tcti, $EXECGATE_TCTI), or null for the policy's. */
  readonly tcti: string | null;
  /**
   * Runs `fn` in the service's turn (its TPM work and audit writes are one at a time) with what a
   * verdict is made with, current: the policy and trust as their files now are. A failure to get them
   * (a broken policy) is the verdict: a denial, never the previous policy's allow. Rejects with
   * TurnNotBegun when the turn did not begin.
   */
  turn<T>(fn: (ctx: Omit<GateContext, 'exe'>) => Promise<T>): Promise<T>;
  /** After each verdict (metrics; a checkpoint when one is due): must not throw or wait. */
  made?(verdict: GateVerdict, seconds: number): void;
}

/**
 * `ServedGate.turn`'s rejection when its turn never began (the service stopped first): nothing was
 * judged or recorded, so the socket declines and the client judges in its own process.
 */
export class TurnNotBegun extends Error {}

/** Events the service logs. */
export type GateSocketEvent =
  | { readonly event: 'gate-declined'; readonly reason: string }
  | { readonly event: 'gate-failed'; readonly error: string };

/** Verdicts waiting past this are declined: the clients judge them in their own processes. */
const MAX_WAITING = 256;
/** A client has this long to send its request (it sends it at once). */
const REQUEST_TIMEOUT_MS = 10_000;

export interface GateSocket {
  readonly path: string;
  /** Stops accepting, lets verdicts in progress answer, and removes the socket. */
  close(): Promise<void>;
}

/** Listens on `path` (module comment). */
export async function listenGate(
  path: string,
  served: ServedGate,
  log: (e: GateSocketEvent) => void,
): Promise<GateSocket> {
  await clearStale(path);
  let waiting = 0;
  const inFlight = new Set<Promise<void>>();

  const answer = async (req: WireRequest): Promise<WireAnswer> => {
    if (req.policy !== served.policyFile) return decline(`this service judges under ${served.policyFile}`);
    if (req.tcti !== served.tcti) return decline('this service uses another TPM');
    if (waiting >= MAX_WAITING) return decline(`${MAX_WAITING} verdicts are waiting`);
    waiting++;
    try {
      const verdict = await verdictOn(req, served);
      if (verdict instanceof SecretsNotServed)
        return decline('the artifact names sealed secrets: the client unseals them itself');
      return verdict instanceof TurnNotBegun
        ? decline(`the service did not begin the verdict: ${verdict.message}`)
        : { kind: 'verdict', verdict };
    } finally {
      waiting--;
    }
  };
  const decline = (reason: string): WireAnswer => {
    log({ event: 'gate-declined', reason });
    return { kind: 'decline', reason };
  };

  /** Connections whose request is still being read: at close, declined at once (not waited for). */
  const reading = new Set<Socket>();
  const answered = new WeakSet<Socket>();
  const send = (socket: Socket, a: WireAnswer) => {
    if (answered.has(socket) || socket.destroyed) return;
    answered.add(socket);
    // Closed once the answer is written, whatever the client does next (half-open sockets hold a stop).
    socket.end(frame(encodeAnswer(a)), () => socket.destroy());
  };
  const handle = async (socket: Socket): Promise<void> => {
    let a: WireAnswer;
    reading.add(socket);
    try {
      const req = decodeRequest(await readFrame(socket, MAX_REQUEST_BYTES, REQUEST_TIMEOUT_MS));
      reading.delete(socket);
      a = await answer(req);
    } catch (e) {
      a = decline(`unreadable request: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      reading.delete(socket);
    }
    send(socket, a);
  };

  const server: Server = createServer({ allowHalfOpen: true }, (socket) => {
    socket.on('error', (e) => log({ event: 'gate-failed', error: e.message }));
    const p = handle(socket).catch((e: unknown) =>
      log({ event: 'gate-failed', error: e instanceof Error ? e.message : String(e) }),
    );
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  });
  // Only the state directory's owner may connect: the socket is 0600 from its creation.
  const umask = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } finally {
    process.umask(umask);
  }
  await chmod(path, 0o600);
  const { ino } = await lstat(path);
  return {
    path,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // A connection that has not sent its request is not waited for: its client judges it itself.
      for (const socket of reading) send(socket, { kind: 'decline', reason: 'the service is stopping' });
      await closed;
      await Promise.all(inFlight);
      // Only our own socket: another service may have replaced it since.
      const now = await lstat(path).catch(() => undefined);
      if (now?.isSocket() && now.ino === ino) await unlink(path).catch(() => undefined);
    },
  };
}

/** The verdict on `req`; any failure to get the service's context is a denial, unless its turn never began. */
async function verdictOn(
  req: WireRequest,
  served: ServedGate,
): Promise<GateVerdict | TurnNotBegun | SecretsNotServed> {
  const start = performance.now();
  let verdict: GateVerdict;
  try {
    verdict = await served.turn((ctx) =>
      decide(
        {
          argv: req.argv,
          ...(req.artifactFile === undefined ? {} : { artifactFile: req.artifactFile }),
          ...(req.artifact === undefined ? {} : { artifactBytes: req.artifact }),
          ...(req.artifactError === undefined ? {} : { artifactError: req.artifactError }),
          cwd: req.cwd,
          uid: req.uid,
          env: req.env,
          pid: req.pid,
          pidStart: req.pidStart,
          consume: true,
          now: Date.now(),
        },
        { ...ctx, exe: req.exe },
      ),
    );
  } catch (e) {
    if (e instanceof TurnNotBegun || e instanceof SecretsNotServed) return e;
    const g =
      e instanceof GateError
        ? e
        : new GateError(
            'E_CONFIG',
            `the service cannot judge: ${e instanceof Error ? e.message : String(e)}`,
            'fix the host policy (execgate policy check --policy FILE); the service reads it again on the next request',
          );
    verdict = unrecordedDenial(g);
  }
  served.made?.(verdict, (performance.now() - start) / 1000);
  return verdict;
}

/**
 * Removes a socket left by a service that is gone; refuses to start beside one that answers, or over
 * anything that is not a socket.
 */
async function clearStale(path: string): Promise<void> {
  let st: Awaited<ReturnType<typeof lstat>>;
  try {
    st = await lstat(path);
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return;
    throw e;
  }
  if (!st.isSocket())
    throw new ConfigError(`${path} exists and is not a socket: remove it, it is not execgate's`);
  const live = await new Promise<boolean>((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
  if (live) throw new ConfigError(`another execgate serve answers on ${path}: stop it first`);
  await unlink(path);
}
