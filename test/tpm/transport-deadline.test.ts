// SPDX-License-Identifier: Apache-2.0
// DeadlineTransport: one overall deadline for a sequence of commands over a transport that answers slowly.
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { DeadlineTransport } from '../../agent/tpm/transport/deadline.js';
import type { Transport } from '../../agent/tpm/transport/transport.js';

/** Answers each command with itself after `ms`; counts commands and closes. */
function slow(ms: number) {
  const state = { sent: 0, closed: 0 };
  const transport: Transport = {
    async send(command) {
      state.sent++;
      await sleep(ms);
      return command;
    },
    async close() {
      state.closed++;
    },
  };
  return { transport, state };
}

const CMD = Uint8Array.of(0x80, 0x01, 0, 0, 0, 10, 0, 0, 1, 0x7b);

describe('DeadlineTransport', () => {
  it('passes commands through until the overall deadline, then fails the one in flight and all later ones', async () => {
    const { transport, state } = slow(100);
    const t = new DeadlineTransport(transport, { ms: 250, source: 'TEST_DEADLINE' });
    expect(await t.send(CMD)).toEqual(CMD);
    expect(await t.send(CMD)).toEqual(CMD);
    const t0 = Date.now();
    const third = t.send(CMD);
    await expect(third).rejects.toMatchObject({
      code: 'E_TPM_TIMEOUT',
      message: expect.stringMatching(/overall deadline of 250 ms \(set by TEST_DEADLINE\)/),
    });
    // Cut at the deadline (~50 ms in), not when the slow answer would have come.
    expect(Date.now() - t0).toBeLessThan(95);
    const sentBefore = state.sent;
    await expect(t.send(CMD)).rejects.toMatchObject({ code: 'E_TPM_TIMEOUT' });
    expect(state.sent).toBe(sentBefore + 1);
    await t.close();
    expect(state.closed).toBe(1);
  });

  it('each command within its own bound still adds up: 10 commands of 30 ms against 100 ms', async () => {
    const { transport, state } = slow(30);
    const t = new DeadlineTransport(transport, { ms: 100 });
    let err: unknown;
    try {
      for (let i = 0; i < 10; i++) await t.send(CMD);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'E_TPM_TIMEOUT' });
    expect(state.sent).toBeLessThan(5);
    await t.close();
  });

  it('close clears the deadline; a bad deadline is a RangeError', async () => {
    const { transport } = slow(1);
    const t = new DeadlineTransport(transport, { ms: 50 });
    await t.close();
    await sleep(60); // no unhandled rejection, no timer left behind
    for (const ms of [0, -1, 1.5, Number.NaN]) {
      expect(() => new DeadlineTransport(transport, { ms })).toThrow(RangeError);
    }
  });
});
