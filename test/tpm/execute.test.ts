// SPDX-License-Identifier: Apache-2.0
// Hostile responses: for every declared command, whatever bytes come back, `Tpm.run` returns a value or
// throws one of the TPM layer's typed errors — never another exception, never a hang.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ExecgateError } from '../../agent/errors.js';
import type { AnyCommand } from '../../agent/tpm/command.js';
import { ALL_COMMANDS, GetRandom } from '../../agent/tpm/commands.js';
import { TpmError, TpmParseError } from '../../agent/tpm/errors.js';
import { Tpm } from '../../agent/tpm/tpm.js';
import { arbitraryOf } from '../helpers/arbitrary.js';

const TYPED = new Set(['E_TPM_RC', 'E_TPM_PARSE', 'E_TPM_PROTOCOL', 'E_TPM_INTEGRITY']);

/** A transport that answers every command with the given bytes. */
function answering(bytes: Uint8Array) {
  return { send: async () => bytes, close: async () => {} };
}

/** A random input for a command: handles as plain numbers, parameters from the schema. */
function inputOf(cmd: AnyCommand): fc.Arbitrary<Record<string, unknown>> {
  const handles = Object.fromEntries(
    cmd.handles.map((h) => [h.name, fc.constantFrom(0x40000001, 0x81000001, 16, 0x01500000)]),
  );
  return fc
    .tuple(fc.record(handles), arbitraryOf(cmd.params) as fc.Arbitrary<Record<string, unknown>>)
    .map(([h, p]) => ({ ...p, ...h }));
}

/** A response header + body that gets past the header checks more often than random bytes do. */
const plausibleResponse = fc
  .tuple(
    fc.constantFrom(0x8001, 0x8002),
    fc.constantFrom(0, 0x101, 0x922, 0x1c4),
    fc.uint8Array({ maxLength: 120 }),
  )
  .map(([tag, rc, body]) => {
    const b = Buffer.alloc(10 + body.length);
    b.writeUInt16BE(tag, 0);
    b.writeUInt32BE(b.length, 2);
    b.writeUInt32BE(rc, 6);
    b.set(body, 10);
    return new Uint8Array(b);
  });

async function outcome(cmd: AnyCommand, input: Record<string, unknown>, rsp: Uint8Array): Promise<string> {
  try {
    await new Tpm(answering(rsp)).run(cmd, input as never);
    return 'ok';
  } catch (e) {
    if (e instanceof ExecgateError && TYPED.has(e.code)) return e.code;
    throw e;
  }
}

describe('execute: hostile responses', () => {
  for (const cmd of ALL_COMMANDS as readonly AnyCommand[]) {
    it(`TPM2_${cmd.name}: arbitrary and plausible responses give a value or a typed error`, async () => {
      await fc.assert(
        fc.asyncProperty(
          inputOf(cmd),
          fc.oneof(fc.uint8Array({ maxLength: 200 }), plausibleResponse),
          async (input, rsp) => {
            expect(['ok', ...TYPED]).toContain(await outcome(cmd, input, rsp));
          },
        ),
        { numRuns: 150 },
      );
    });
  }

  it('every truncation of a valid GetRandom response is a TpmParseError', async () => {
    const ok = Uint8Array.from(Buffer.from(`80010000001c000000000010${'ab'.repeat(16)}`, 'hex'));
    const tpm = (b: Uint8Array) => new Tpm(answering(b));
    expect((await tpm(ok).run(GetRandom, { bytesRequested: 16 })).randomBytes).toEqual(
      new Uint8Array(16).fill(0xab),
    );
    for (let n = 0; n < ok.length; n++) {
      await expect(tpm(ok.subarray(0, n)).run(GetRandom, { bytesRequested: 16 })).rejects.toBeInstanceOf(
        TpmParseError,
      );
    }
  });

  it('an error response decodes to TpmError with the command name and rc', async () => {
    const rsp = Uint8Array.from(Buffer.from('80010000000a000001c4', 'hex'));
    const err = await new Tpm(answering(rsp)).run(GetRandom, { bytesRequested: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TpmError);
    expect((err as TpmError).rc).toBe(0x1c4);
    expect((err as TpmError).command).toBe('GetRandom');
  });
});
