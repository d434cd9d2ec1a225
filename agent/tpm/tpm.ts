// SPDX-License-Identifier: Apache-2.0
/**
 * The TPM handle the rest of the agent holds: a transport plus `run`, which executes a declared command
 * with default password authorization, and the Name lookups HMAC and policy sessions need.
 * One Tpm per transport; the transport serializes commands, so concurrent callers are safe.
 */

import type { Session } from './command.js';
import {
  type AnyCommand,
  type CommandInput,
  type CommandOutput,
  execute,
  type HandleRef,
  handleOf,
} from './command.js';
import { FlushContext, NV_ReadPublic, ReadPublic } from './commands.js';
import { handleType, TPM_HT } from './constants.js';
import { handleName } from './names.js';
import { passwordSession } from './password.js';
import type { Transport } from './transport/transport.js';

export interface RunOptions {
  /**
   * Sessions in authorization-area order. Entry i authorizes the command's i-th handle that needs
   * authorization; an absent entry there means a password session with the handle's `auth` (empty by
   * default). Entries past the authorized handles are encrypt/audit-only sessions.
   */
  readonly sessions?: readonly (Session | undefined)[];
}

export class Tpm {
  constructor(readonly transport: Transport) {}

  /** Executes `cmd` (Part 3) and returns its response handles and parameters. */
  run<C extends AnyCommand>(
    cmd: C,
    input: CommandInput<C>,
    opts: RunOptions = {},
  ): Promise<CommandOutput<C>> {
    const authCount = cmd.handles.filter((h) => h.auth).length;
    const given = opts.sessions ?? [];
    const sessions: Session[] = [];
    const rec = input as unknown as Record<string, HandleRef>;
    const authHandles = cmd.handles.filter((h) => h.auth);
    for (let i = 0; i < Math.max(authCount, given.length); i++) {
      const s = given[i];
      if (s) sessions.push(s);
      else {
        const spec = authHandles[i];
        if (!spec) throw new TypeError(`TPM2_${cmd.name}: session ${i} is empty`);
        const ref = rec[spec.name];
        sessions.push(passwordSession(typeof ref === 'object' ? ref.auth : undefined));
      }
    }
    return execute(this.transport, cmd, input, { sessions, nameOf: (ref) => this.nameOf(ref) });
  }

  /** The Name of a handle (Part 1 §16), read from the TPM for objects and NV indices unless given. */
  async nameOf(ref: HandleRef): Promise<Uint8Array> {
    if (typeof ref === 'object' && ref.name) return ref.name;
    const handle = handleOf(ref);
    const own = handleName(handle);
    if (own) return own;
    if (handleType(handle) === TPM_HT.NV_INDEX)
      return (await this.run(NV_ReadPublic, { nvIndex: handle })).nvName;
    return (await this.run(ReadPublic, { objectHandle: handle })).name;
  }

  /** Flushes a transient object or session (swtpm has no resource manager: leaks exhaust its 3 slots). */
  async flush(handle: number): Promise<void> {
    await this.run(FlushContext, { flushHandle: handle });
  }

  close(): Promise<void> {
    return this.transport.close();
  }
}
