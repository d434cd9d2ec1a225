// SPDX-License-Identifier: Apache-2.0
// Integration tests on swtpm for object commands: CreatePrimary (Part 3 §24.1), Create (§12.1), Load
// (§12.2), ReadPublic (§12.4), FlushContext (§28.4), ContextSave/ContextLoad (§28.2, §28.3) and
// EvictControl (§28.5). Names are checked against names.ts, Part 1 §16's qualified-name rule, and
// tpm2-tools' `tpm2_readpublic` as the oracle. swtpm has 3 transient slots: every test flushes what it
// loads, and afterEach checks that nothing is left.
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tpmProperties } from '../../agent/tpm/capability.js';
import {
  ContextLoad,
  ContextSave,
  Create,
  EvictControl,
  FlushContext,
  Load,
  ReadPublic,
  Sign,
} from '../../agent/tpm/commands.js';
import { TPM_ALG, TPM_PT, TPM_RH, TPM_ST } from '../../agent/tpm/constants.js';
import { handleName, objectName } from '../../agent/tpm/names.js';
import { TPM_RC } from '../../agent/tpm/rc.js';
import { marshal } from '../../agent/tpm/schema.js';
import { nullHashcheck, TPMS_CREATION_DATA, type TPMT_PUBLIC } from '../../agent/tpm/structures.js';
import {
  ekEccP256Template,
  ekRsa2048Template,
  signingEccP256Template,
  srkEccP256Template,
  srkRsa2048Template,
} from '../../agent/tpm/templates.js';
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
  verifySignature,
  withLoaded,
  withPrimary,
  withTempDir,
} from './swtpm-kit.js';

const swtpm = useSwtpm();

afterEach(async () => {
  expect(await transientHandles(openTpm(swtpm()))).toEqual([]);
});

const PERSISTENT = 0x81000010;

const sha256 = (...parts: Uint8Array[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};

/** Part 1 §16: QN(child) = nameAlg ‖ H(QN(parent) ‖ Name(child)); a hierarchy's QN is its handle. */
function qualifiedName(parentQn: Uint8Array, name: Uint8Array): Uint8Array {
  return Uint8Array.from([0x00, 0x0b, ...sha256(parentQn, name)]);
}

/** Creates an object under `parent` and loads it; the caller flushes `objectHandle`. */
async function createAndLoad(tpm: Tpm, parent: number, template: TPMT_PUBLIC, userAuth: Uint8Array = EMPTY) {
  const created = await tpm.run(Create, {
    parentHandle: parent,
    inSensitive: { userAuth, data: EMPTY },
    inPublic: template,
    outsideInfo: EMPTY,
    creationPCR: [],
  });
  const loaded = await tpm.run(Load, {
    parentHandle: parent,
    inPrivate: created.outPrivate,
    inPublic: created.outPublic,
  });
  return { ...created, ...loaded };
}

describe('TPM2_CreatePrimary', () => {
  const cases: [string, number, () => TPMT_PUBLIC][] = [
    ['RSA-2048 EK', TPM_RH.ENDORSEMENT, ekRsa2048Template],
    ['ECC P-256 EK', TPM_RH.ENDORSEMENT, ekEccP256Template],
    ['RSA-2048 SRK', TPM_RH.OWNER, srkRsa2048Template],
    ['ECC P-256 SRK', TPM_RH.OWNER, srkEccP256Template],
  ];
  it.each(cases)(
    '%s: outPublic is the template with the key filled in; name, creation data and ticket check out',
    async (_, hierarchy, template) => {
      const tpm = openTpm(swtpm());
      await withPrimary(tpm, hierarchy, template(), async (key) => {
        const t = template();
        expect({ ...key.outPublic, unique: null }).toEqual({ ...t, unique: null });
        if (t.type === TPM_ALG.RSA) expect((key.outPublic.unique as Uint8Array).length).toBe(256);
        else expect(key.outPublic.unique).toMatchObject({ x: { length: 32 }, y: { length: 32 } });
        expect(hex(key.name)).toBe(hex(objectName(key.outPublic)));
        // Part 2 §15.1: a primary's parent is its hierarchy, whose Name and qualified Name are its handle.
        const hierarchyName = handleName(hierarchy);
        expect(key.creationData.parentName).toEqual(hierarchyName);
        expect(key.creationData.parentQualifiedName).toEqual(hierarchyName);
        // Part 3 §24.1: creationHash = H_nameAlg(TPMS_CREATION_DATA), bound by the creation ticket.
        expect(hex(key.creationHash)).toBe(hex(sha256(marshal(TPMS_CREATION_DATA, key.creationData))));
        expect(key.creationTicket).toMatchObject({ tag: TPM_ST.CREATION, hierarchy });
        // ReadPublic agrees, and its qualified name follows Part 1 §16.
        const rp = await tpm.run(ReadPublic, { objectHandle: key.objectHandle });
        expect(rp.outPublic).toEqual(key.outPublic);
        expect(hex(rp.name)).toBe(hex(key.name));
        expect(hex(rp.qualifiedName)).toBe(hex(qualifiedName(hierarchyName ?? EMPTY, key.name)));
      });
    },
  );

  it('a TPMT_PUBLIC the TPM cannot honour is refused: a restricted decryption key without a symmetric algorithm', async () => {
    const tpm = openTpm(swtpm());
    const bad = srkRsa2048Template();
    bad.parameters = { ...bad.parameters, symmetric: { algorithm: TPM_ALG.NULL, keyBits: null, mode: null } };
    await expectRc(
      withPrimary(tpm, TPM_RH.OWNER, bad, async () => undefined),
      TPM_RC.SYMMETRIC,
    );
  });
});

describe('TPM2_Create + TPM2_Load + TPM2_ReadPublic under the SRK', () => {
  it('Load returns the Name names.ts computes, ReadPublic agrees, and qualified names chain per Part 1 §16', async () => {
    const tpm = openTpm(swtpm());
    await withPrimary(tpm, TPM_RH.OWNER, srkRsa2048Template(), async (srk) => {
      const key = await createAndLoad(tpm, srk.objectHandle, signingEccP256Template());
      await withLoaded(tpm, key.objectHandle, async (h) => {
        expect(hex(key.name)).toBe(hex(objectName(key.outPublic)));
        expect(key.creationData.parentName).toEqual(srk.name);
        const rp = await tpm.run(ReadPublic, { objectHandle: h });
        expect(rp.outPublic).toEqual(key.outPublic);
        expect(hex(rp.name)).toBe(hex(key.name));
        const srkQn = qualifiedName(handleName(TPM_RH.OWNER) ?? EMPTY, srk.name);
        expect(hex(rp.qualifiedName)).toBe(hex(qualifiedName(srkQn, key.name)));
      });
    });
  });

  it('a key loaded under a different parent fails its integrity check', async () => {
    const tpm = openTpm(swtpm());
    await withPrimary(tpm, TPM_RH.OWNER, srkRsa2048Template(), async (srk) => {
      const created = await tpm.run(Create, {
        parentHandle: srk.objectHandle,
        inSensitive: { userAuth: EMPTY, data: EMPTY },
        inPublic: signingEccP256Template(),
        outsideInfo: EMPTY,
        creationPCR: [],
      });
      await withPrimary(tpm, TPM_RH.OWNER, srkEccP256Template(), async (other) => {
        await expectRc(
          tpm.run(Load, {
            parentHandle: other.objectHandle,
            inPrivate: created.outPrivate,
            inPublic: created.outPublic,
          }),
          TPM_RC.INTEGRITY,
        );
      });
    });
  });
});

describe('TPM2_EvictControl, with tpm2_readpublic as the oracle for the Name', () => {
  it('persists a key at 0x81000010 (listed in TPM_CAP_HANDLES, same Name for tpm2-tools), then evicts it', async () => {
    const tpm = openTpm(swtpm());
    let name: Uint8Array = EMPTY;
    await withPrimary(tpm, TPM_RH.OWNER, srkRsa2048Template(), async (srk) => {
      const key = await createAndLoad(tpm, srk.objectHandle, signingEccP256Template());
      await withLoaded(tpm, key.objectHandle, async (h) => {
        name = key.name;
        await tpm.run(EvictControl, { auth: TPM_RH.OWNER, objectHandle: h, persistentHandle: PERSISTENT });
      });
    });
    try {
      // Only the persistent copy is left: no transient slot is in use while tpm2-tools runs.
      expect(await transientHandles(tpm)).toEqual([]);
      expect(await handlesFrom(tpm, 0x81000000)).toContain(PERSISTENT);
      expect(hex((await tpm.run(ReadPublic, { objectHandle: PERSISTENT })).name)).toBe(hex(name));
      await withTempDir(async (dir) => {
        await tpm2(swtpm(), 'tpm2_readpublic', ['-c', `0x${PERSISTENT.toString(16)}`, '-n', 'key.name'], dir);
        expect(hex(new Uint8Array(await readFile(join(dir, 'key.name'))))).toBe(hex(name));
      });
      // A persistent key is usable in place (Part 3 §28.5) and survives a flush of every transient slot.
      const digest = sha256(Uint8Array.of(1, 2, 3));
      const { signature } = await tpm.run(Sign, {
        keyHandle: PERSISTENT,
        digest,
        inScheme: { scheme: TPM_ALG.NULL, details: null },
        validation: nullHashcheck(),
      });
      const pub = (await tpm.run(ReadPublic, { objectHandle: PERSISTENT })).outPublic;
      expect(verifySignature(pub, Uint8Array.of(1, 2, 3), signature)).toBe(true);
      // Persisting twice at one handle is refused.
      await withPrimary(tpm, TPM_RH.OWNER, srkEccP256Template(), async (other) => {
        await expectRc(
          tpm.run(EvictControl, {
            auth: TPM_RH.OWNER,
            objectHandle: other.objectHandle,
            persistentHandle: PERSISTENT,
          }),
          TPM_RC.NV_DEFINED,
        );
      });
    } finally {
      // Evicting: EvictControl with the persistent handle as the object (Part 3 §28.5).
      await tpm.run(EvictControl, {
        auth: TPM_RH.OWNER,
        objectHandle: PERSISTENT,
        persistentHandle: PERSISTENT,
      });
    }
    expect(await handlesFrom(tpm, 0x81000000)).not.toContain(PERSISTENT);
    await expectRc(tpm.run(ReadPublic, { objectHandle: PERSISTENT }), TPM_RC.HANDLE);
  });
});

describe('TPM2_FlushContext', () => {
  it('frees the slot: the handle is gone from TPM_CAP_HANDLES and no longer usable; flushing it again fails', async () => {
    const tpm = openTpm(swtpm());
    const key = await withPrimary(tpm, TPM_RH.OWNER, srkEccP256Template(), async (k) => {
      expect(await transientHandles(tpm)).toEqual([k.objectHandle]);
      return k;
    });
    expect(await transientHandles(tpm)).toEqual([]);
    // Part 2 §6.6.3: a handle-area reference to an object that is not loaded is the warning REFERENCE_H0.
    await expectRc(tpm.run(ReadPublic, { objectHandle: key.objectHandle }), TPM_RC.REFERENCE_H0);
    await expectRc(tpm.run(FlushContext, { flushHandle: key.objectHandle }), TPM_RC.HANDLE);
  });

  it('swtpm holds 3 transient objects; a fourth is TPM_RC_OBJECT_MEMORY until one is flushed', async () => {
    const tpm = openTpm(swtpm());
    await withPrimary(tpm, TPM_RH.OWNER, srkEccP256Template(), async () =>
      withPrimary(tpm, TPM_RH.OWNER, srkEccP256Template(), async () =>
        withPrimary(tpm, TPM_RH.OWNER, srkEccP256Template(), async () => {
          const limits = await tpmProperties(tpm);
          expect(limits.get(TPM_PT.HR_TRANSIENT_MIN)).toBe(3);
          await expectRc(
            withPrimary(tpm, TPM_RH.OWNER, srkEccP256Template(), async () => undefined),
            TPM_RC.OBJECT_MEMORY,
          );
        }),
      ),
    );
  });
});

describe('TPM2_ContextSave + TPM2_ContextLoad', () => {
  it('saves a key, flushes it, loads it back under a new handle and signs with it', async () => {
    const tpm = openTpm(swtpm());
    const message = new Uint8Array(randomBytes(100));
    const { context, pub, name } = await withPrimary(
      tpm,
      TPM_RH.OWNER,
      signingEccP256Template(),
      async (key) => {
        const saved = await tpm.run(ContextSave, { saveHandle: key.objectHandle });
        return { context: saved.context, pub: key.outPublic, name: key.name };
      },
    );
    // Part 2 §14.5: a saved object context keeps the object's handle and hierarchy.
    expect(context.hierarchy).toBe(TPM_RH.OWNER);
    expect(await transientHandles(tpm)).toEqual([]);

    const { loadedHandle } = await tpm.run(ContextLoad, { context });
    await withLoaded(tpm, loadedHandle, async (h) => {
      expect(hex((await tpm.run(ReadPublic, { objectHandle: h })).name)).toBe(hex(name));
      const { signature } = await tpm.run(Sign, {
        keyHandle: h,
        digest: sha256(message),
        inScheme: { scheme: TPM_ALG.NULL, details: null },
        validation: nullHashcheck(),
      });
      expect(verifySignature(pub, message, signature)).toBe(true);
    });
  });

  it('a tampered context blob is refused (its integrity HMAC fails)', async () => {
    const tpm = openTpm(swtpm());
    const context = await withPrimary(
      tpm,
      TPM_RH.OWNER,
      srkEccP256Template(),
      async (key) => (await tpm.run(ContextSave, { saveHandle: key.objectHandle })).context,
    );
    const blob = new Uint8Array(context.contextBlob);
    blob[blob.length - 1] = (blob[blob.length - 1] ?? 0) ^ 1;
    await expectRc(tpm.run(ContextLoad, { context: { ...context, contextBlob: blob } }), TPM_RC.INTEGRITY);
  });
});

describe('authorization failures', () => {
  it('a wrong authValue for a DA-protected key is TPM_RC_AUTH_FAIL and counts toward lockout', async () => {
    const tpm = openTpm(swtpm());
    const secret = new TextEncoder().encode('correct horse');
    await withPrimary(
      tpm,
      TPM_RH.OWNER,
      signingEccP256Template(),
      async (key) => {
        const sign = (auth: Uint8Array) =>
          tpm.run(Sign, {
            keyHandle: { handle: key.objectHandle, auth },
            digest: sha256(EMPTY),
            inScheme: { scheme: TPM_ALG.NULL, details: null },
            validation: nullHashcheck(),
          });
        const before = (await tpmProperties(tpm, TPM_PT.PERMANENT)).get(TPM_PT.LOCKOUT_COUNTER);
        await expectRc(sign(new TextEncoder().encode('battery staple')), TPM_RC.AUTH_FAIL);
        const after = (await tpmProperties(tpm, TPM_PT.PERMANENT)).get(TPM_PT.LOCKOUT_COUNTER);
        expect(after).toBe((before ?? 0) + 1);
        // The right value still works (the TPM is not locked out after one failure).
        await expect(sign(secret)).resolves.toMatchObject({ signature: { sigAlg: TPM_ALG.ECDSA } });
      },
      secret,
    );
  });
});
