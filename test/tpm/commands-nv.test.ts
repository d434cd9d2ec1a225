// SPDX-License-Identifier: Apache-2.0
// Integration tests on swtpm for the NV commands: NV_DefineSpace (Part 3 §31.3), NV_UndefineSpace
// (§31.4), NV_ReadPublic (§31.6), NV_Write (§31.7), NV_Increment (§31.8) and NV_Read (§31.13), on an
// ordinary and a counter index, with tpm2-tools' `tpm2_nvread` as the oracle for the data and names.ts
// for the Name. Every test undefines what it defines.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  NV_DefineSpace,
  NV_Increment,
  NV_Read,
  NV_ReadPublic,
  NV_UndefineSpace,
  NV_Write,
} from '../../agent/tpm/commands.js';
import { TPM_ALG, TPM_NT, TPM_RH } from '../../agent/tpm/constants.js';
import { nvName } from '../../agent/tpm/names.js';
import { TPM_RC } from '../../agent/tpm/rc.js';
import { attrs } from '../../agent/tpm/schema.js';
import { TPMA_NV, type TPMS_NV_PUBLIC } from '../../agent/tpm/structures.js';
import type { Tpm } from '../../agent/tpm/tpm.js';
import { useSwtpm } from '../helpers/swtpm.js';
import {
  EMPTY,
  expectRc,
  handlesFrom,
  hex,
  openTpm,
  tpm2,
  transientHandles,
  withTempDir,
} from './swtpm-kit.js';

const swtpm = useSwtpm();

afterEach(async () => {
  const tpm = openTpm(swtpm());
  expect(await transientHandles(tpm)).toEqual([]);
  expect(await handlesFrom(tpm, 0x01000000)).toEqual([]); // every test undefines its indices
});

const ORDINARY = 0x01500010;
const COUNTER = 0x01500011;
const AUTH = new TextEncoder().encode('nv secret');

function ordinaryPublic(dataSize: number): TPMS_NV_PUBLIC {
  return {
    nvIndex: ORDINARY,
    nameAlg: TPM_ALG.SHA256,
    // Writable and readable with the index's own authValue or the owner's; NO_DA so that the wrong-auth
    // test cannot lock the TPM out.
    attributes: attrs(TPMA_NV, {
      TPM_NT: TPM_NT.ORDINARY,
      AUTHWRITE: true,
      OWNERWRITE: true,
      AUTHREAD: true,
      OWNERREAD: true,
      NO_DA: true,
    }),
    authPolicy: EMPTY,
    dataSize,
  };
}

function counterPublic(): TPMS_NV_PUBLIC {
  return {
    nvIndex: COUNTER,
    nameAlg: TPM_ALG.SHA256,
    attributes: attrs(TPMA_NV, { TPM_NT: TPM_NT.COUNTER, AUTHWRITE: true, AUTHREAD: true, NO_DA: true }),
    authPolicy: EMPTY,
    dataSize: 8, // Part 2 §13.4: a counter is a UINT64
  };
}

/** Defines an index under the owner hierarchy, runs `fn`, and undefines it whatever happens. */
async function withIndex<T>(tpm: Tpm, publicInfo: TPMS_NV_PUBLIC, fn: () => Promise<T>): Promise<T> {
  await tpm.run(NV_DefineSpace, { authHandle: TPM_RH.OWNER, auth: AUTH, publicInfo });
  try {
    return await fn();
  } finally {
    await tpm.run(NV_UndefineSpace, { authHandle: TPM_RH.OWNER, nvIndex: publicInfo.nvIndex });
  }
}

const withAuth = (handle: number) => ({ handle, auth: AUTH });

describe('an ordinary NV index', () => {
  it('NV_ReadPublic returns what was defined, and its Name is nvName(); NV_Read before a write is NV_UNINITIALIZED', async () => {
    const tpm = openTpm(swtpm());
    const defined = ordinaryPublic(64);
    await withIndex(tpm, defined, async () => {
      const { nvPublic, nvName: name } = await tpm.run(NV_ReadPublic, { nvIndex: ORDINARY });
      expect(nvPublic).toEqual(defined);
      expect(hex(name)).toBe(hex(nvName(nvPublic)));
      expect(await handlesFrom(tpm, 0x01000000)).toEqual([ORDINARY]);
      await expectRc(
        tpm.run(NV_Read, { authHandle: withAuth(ORDINARY), nvIndex: ORDINARY, size: 8, offset: 0 }),
        TPM_RC.NV_UNINITIALIZED,
      );
    });
  });

  it('NV_Write then NV_Read round-trips (index auth and owner auth), sets WRITTEN and changes the Name; tpm2_nvread agrees', async () => {
    const tpm = openTpm(swtpm());
    const data = new Uint8Array(randomBytes(64));
    await withIndex(tpm, ordinaryPublic(64), async () => {
      const before = await tpm.run(NV_ReadPublic, { nvIndex: ORDINARY });
      await tpm.run(NV_Write, { authHandle: withAuth(ORDINARY), nvIndex: ORDINARY, data, offset: 0 });

      const after = await tpm.run(NV_ReadPublic, { nvIndex: ORDINARY });
      expect(before.nvPublic.attributes.WRITTEN).toBe(false);
      expect(after.nvPublic.attributes.WRITTEN).toBe(true);
      // Part 1 §16: the Name covers the attributes, so setting WRITTEN changes it.
      expect(hex(after.nvName)).not.toBe(hex(before.nvName));
      expect(hex(after.nvName)).toBe(hex(nvName(after.nvPublic)));

      const read = (
        authHandle: number | { handle: number; auth: Uint8Array },
        size: number,
        offset: number,
      ) => tpm.run(NV_Read, { authHandle, nvIndex: ORDINARY, size, offset });
      expect(hex((await read(withAuth(ORDINARY), 64, 0)).data)).toBe(hex(data));
      expect(hex((await read(TPM_RH.OWNER, 64, 0)).data)).toBe(hex(data));
      expect(hex((await read(withAuth(ORDINARY), 10, 50)).data)).toBe(hex(data.subarray(50, 60)));

      // A partial write changes only its bytes.
      const patch = Uint8Array.of(0xde, 0xad, 0xbe, 0xef);
      await tpm.run(NV_Write, { authHandle: TPM_RH.OWNER, nvIndex: ORDINARY, data: patch, offset: 20 });
      const expected = new Uint8Array(data);
      expected.set(patch, 20);
      const ours = (await read(TPM_RH.OWNER, 64, 0)).data;
      expect(hex(ours)).toBe(hex(expected));

      await withTempDir(async (dir) => {
        await tpm2(
          swtpm(),
          'tpm2_nvread',
          [`0x${ORDINARY.toString(16)}`, '-C', 'o', '-s', '64', '-o', 'nv.bin'],
          dir,
        );
        expect(hex(new Uint8Array(await readFile(join(dir, 'nv.bin'))))).toBe(hex(ours));
      });
    });
  });

  it('a write past the end of the index is TPM_RC_NV_RANGE', async () => {
    const tpm = openTpm(swtpm());
    await withIndex(tpm, ordinaryPublic(16), async () => {
      await expectRc(
        tpm.run(NV_Write, {
          authHandle: withAuth(ORDINARY),
          nvIndex: ORDINARY,
          data: new Uint8Array(8),
          offset: 12,
        }),
        TPM_RC.NV_RANGE,
      );
    });
  });

  it('a wrong authValue for a NO_DA index is TPM_RC_BAD_AUTH (no dictionary-attack count)', async () => {
    const tpm = openTpm(swtpm());
    await withIndex(tpm, ordinaryPublic(16), async () => {
      await expectRc(
        tpm.run(NV_Read, {
          authHandle: { handle: ORDINARY, auth: new TextEncoder().encode('not it') },
          nvIndex: ORDINARY,
          size: 16,
          offset: 0,
        }),
        TPM_RC.BAD_AUTH,
      );
    });
  });

  it('defining an index twice is TPM_RC_NV_DEFINED; after NV_UndefineSpace it is gone', async () => {
    const tpm = openTpm(swtpm());
    await withIndex(tpm, ordinaryPublic(16), async () => {
      await expectRc(
        tpm.run(NV_DefineSpace, { authHandle: TPM_RH.OWNER, auth: EMPTY, publicInfo: ordinaryPublic(16) }),
        TPM_RC.NV_DEFINED,
      );
    });
    await expectRc(tpm.run(NV_ReadPublic, { nvIndex: ORDINARY }), TPM_RC.HANDLE);
  });
});

describe('a counter NV index', () => {
  const value = (data: Uint8Array) =>
    new DataView(data.buffer, data.byteOffset, data.byteLength).getBigUint64(0);

  it('is unreadable until the first NV_Increment, then each NV_Increment adds exactly one', async () => {
    const tpm = openTpm(swtpm());
    await withIndex(tpm, counterPublic(), async () => {
      const read = async () =>
        value(
          (await tpm.run(NV_Read, { authHandle: withAuth(COUNTER), nvIndex: COUNTER, size: 8, offset: 0 }))
            .data,
        );
      await expectRc(read(), TPM_RC.NV_UNINITIALIZED);

      await tpm.run(NV_Increment, { authHandle: withAuth(COUNTER), nvIndex: COUNTER });
      // Part 3 §31.8: the first increment starts from the largest count any counter on this TPM has had.
      const first = await read();
      for (let i = 1n; i <= 3n; i++) {
        await tpm.run(NV_Increment, { authHandle: withAuth(COUNTER), nvIndex: COUNTER });
        expect(await read()).toBe(first + i);
      }
      const { nvPublic, nvName: name } = await tpm.run(NV_ReadPublic, { nvIndex: COUNTER });
      expect(nvPublic.attributes).toMatchObject({ TPM_NT: TPM_NT.COUNTER, WRITTEN: true });
      expect(hex(name)).toBe(hex(nvName(nvPublic)));
    });
  });

  it('refuses NV_Write (a counter only counts): TPM_RC_ATTRIBUTES', async () => {
    const tpm = openTpm(swtpm());
    await withIndex(tpm, counterPublic(), async () => {
      await expectRc(
        tpm.run(NV_Write, {
          authHandle: withAuth(COUNTER),
          nvIndex: COUNTER,
          data: new Uint8Array(8),
          offset: 0,
        }),
        TPM_RC.ATTRIBUTES,
      );
    });
  });

  it('NV_Increment on an ordinary index is TPM_RC_ATTRIBUTES', async () => {
    const tpm = openTpm(swtpm());
    await withIndex(tpm, ordinaryPublic(8), async () => {
      await expectRc(
        tpm.run(NV_Increment, { authHandle: withAuth(ORDINARY), nvIndex: ORDINARY }),
        TPM_RC.ATTRIBUTES,
      );
    });
  });
});
