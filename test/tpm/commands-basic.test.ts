// SPDX-License-Identifier: Apache-2.0
// Integration tests on swtpm for the commands that need no keys: GetCapability (Part 3 §30.2),
// GetRandom (§16.1), ReadClock (§29.1), PCR_Read (§22.4) and PCR_Extend (§22.2). Expected values come
// from the spec, from node:crypto, or from SWTPM.md's measurements of swtpm 0.7.1 — never from the code
// under test.
import { createHash, randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { hashAlgOf } from '../../agent/crypto/algorithms.js';
import { tpmInfo, tpmProperties } from '../../agent/tpm/capability.js';
import {
  ALL_COMMANDS,
  GetCapability,
  GetRandom,
  PCR_Extend,
  PCR_Read,
  ReadClock,
} from '../../agent/tpm/commands.js';
import { TPM_ALG, TPM_CAP, TPM_ECC_CURVE, TPM_PT, TPM_RH } from '../../agent/tpm/constants.js';
import { allocatedBanks, readPcrs } from '../../agent/tpm/pcr.js';
import { TPM_RC } from '../../agent/tpm/rc.js';
import type { Infer } from '../../agent/tpm/schema.js';
import type { TPMA_ALGORITHM, TPMA_CC } from '../../agent/tpm/structures.js';
import { Tpm } from '../../agent/tpm/tpm.js';
import { openTransport } from '../../agent/tpm/transport/index.js';
import { useSwtpm } from '../helpers/swtpm.js';
import { expectRc, handlesFrom, openTpm, transientHandles } from './swtpm-kit.js';

const swtpm = useSwtpm();

afterEach(async () => {
  expect(await transientHandles(openTpm(swtpm()))).toEqual([]);
});

const BANKS = [TPM_ALG.SHA1, TPM_ALG.SHA256, TPM_ALG.SHA384, TPM_ALG.SHA512] as const;
const DIGEST_SIZE: Record<number, number> = {
  [TPM_ALG.SHA1]: 20,
  [TPM_ALG.SHA256]: 32,
  [TPM_ALG.SHA384]: 48,
  [TPM_ALG.SHA512]: 64,
};

function hashOf(alg: number, ...parts: Uint8Array[]): Uint8Array {
  const h = createHash(hashAlgOf(alg));
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

async function pcrValue(tpm: Tpm, hash: number, pcr: number): Promise<Uint8Array> {
  const v = (await readPcrs(tpm, [{ hash, pcrs: [pcr] }])).get(hash)?.get(pcr);
  if (!v) throw new Error(`no value for PCR ${pcr}`);
  return v;
}

/** Every entry of a paged capability (Part 3 §30.2: moreData set means ask again after the last one). */
async function allPages<T>(
  tpm: Tpm,
  capability: number,
  first: number,
  propertyCount: number,
  next: (last: T) => number,
): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  let property = first;
  for (let pages = 1; ; pages++) {
    const rsp = await tpm.run(GetCapability, { capability, property, propertyCount });
    expect(rsp.capabilityData.capability).toBe(capability);
    const page = rsp.capabilityData.data as T[];
    items.push(...page);
    const last = page.at(-1);
    if (!rsp.moreData || last === undefined) return { items, pages };
    property = next(last);
  }
}

type AlgProperty = { alg: number; algProperties: Infer<typeof TPMA_ALGORITHM> };
type CommandAttributes = Infer<typeof TPMA_CC>;
type TaggedProperty = { property: number; value: number };

describe('TPM2_GetCapability', () => {
  it('TPM_CAP_ALGS lists the algorithms execgate uses, with their classes, across pages of 4', async () => {
    const tpm = openTpm(swtpm());
    const { items, pages } = await allPages<AlgProperty>(tpm, TPM_CAP.ALGS, 0, 4, (l) => l.alg + 1);
    expect(pages).toBeGreaterThan(1);
    const byAlg = new Map(items.map((a) => [a.alg, a.algProperties]));
    expect(new Set(items.map((a) => a.alg)).size).toBe(items.length); // no page repeats an entry
    for (const h of BANKS) expect(byAlg.get(h)?.hash, `hash 0x${h.toString(16)}`).toBe(true);
    expect(byAlg.get(TPM_ALG.RSA)).toMatchObject({ asymmetric: true, object: true });
    expect(byAlg.get(TPM_ALG.ECC)).toMatchObject({ asymmetric: true, object: true });
    expect(byAlg.get(TPM_ALG.AES)).toMatchObject({ symmetric: true });
    expect(byAlg.get(TPM_ALG.RSASSA)).toMatchObject({ asymmetric: true, signing: true });
    expect(byAlg.get(TPM_ALG.ECDSA)).toMatchObject({ asymmetric: true, signing: true });
    expect(byAlg.has(TPM_ALG.CFB)).toBe(true);
  });

  it('TPM_CAP_COMMANDS lists every declared command, with the handle counts of our declarations', async () => {
    const tpm = openTpm(swtpm());
    const { items } = await allPages<CommandAttributes>(
      tpm,
      TPM_CAP.COMMANDS,
      0,
      254,
      (l) => l.commandIndex + 1,
    );
    const byCc = new Map(items.map((a) => [a.commandIndex, a]));
    for (const cmd of ALL_COMMANDS) {
      const a = byCc.get(cmd.cc);
      expect(a, `TPM2_${cmd.name} (0x${cmd.cc.toString(16)}) is not implemented`).toBeDefined();
      // Part 2 §8.9: cHandles is the size of the handle area and rHandle says a handle comes back; a
      // declaration that disagrees would marshal a handle as a parameter or the other way round.
      expect({ cmd: cmd.name, cHandles: a?.cHandles, rHandle: a?.rHandle, V: a?.V }).toEqual({
        cmd: cmd.name,
        cHandles: cmd.handles.length,
        rHandle: cmd.responseHandles.length > 0,
        V: false,
      });
    }
  });

  it('TPM_CAP_TPM_PROPERTIES paged 5 at a time gives what tpmProperties() reads, and tpmInfo() decodes swtpm', async () => {
    const tpm = openTpm(swtpm());
    const { items, pages } = await allPages<TaggedProperty>(
      tpm,
      TPM_CAP.TPM_PROPERTIES,
      TPM_PT.FAMILY_INDICATOR,
      5,
      (l) => l.property + 1,
    );
    expect(pages).toBeGreaterThan(1);
    const all = await tpmProperties(tpm);
    // Variable properties (0x200 group) move between reads; compare the fixed ones exactly.
    const fixed = (m: Iterable<[number, number]>) => [...m].filter(([p]) => p < TPM_PT.PERMANENT);
    expect(fixed(items.map((p) => [p.property, p.value]))).toEqual(fixed(all));

    const info = await tpmInfo(tpm);
    // SWTPM.md §2.1: swtpm 0.7.1 on libtpms 0.9.
    expect(info).toMatchObject({
      manufacturer: 'IBM',
      firmwareVersion: '2019102300163636',
      specFamily: '2.0',
      specRevision: '1.64',
      limits: {
        maxCommandSize: 4096,
        maxResponseSize: 4096,
        maxDigest: 64,
        inputBuffer: 1024,
        nvBufferMax: 1024,
        pcrCount: 24,
        transientObjects: 3,
        activeSessions: 64,
      },
    });
  });

  it('libtpms ends each property group (fixed 0x100…, variable 0x200…) with moreData = NO', async () => {
    const tpm = openTpm(swtpm());
    const fixed = await allPages<TaggedProperty>(
      tpm,
      TPM_CAP.TPM_PROPERTIES,
      TPM_PT.FAMILY_INDICATOR,
      5,
      (l) => l.property + 1,
    );
    expect(fixed.items.at(-1)?.property).toBe(TPM_PT.MAX_CAP_BUFFER);
    const variable = await allPages<TaggedProperty>(
      tpm,
      TPM_CAP.TPM_PROPERTIES,
      TPM_PT.PERMANENT,
      5,
      (l) => l.property + 1,
    );
    expect(variable.items.map((p) => p.property)).toContain(TPM_PT.LOCKOUT_COUNTER);
    expect((await tpmProperties(tpm, TPM_PT.PERMANENT)).has(TPM_PT.LOCKOUT_COUNTER)).toBe(true);
  });

  // Regression: libtpms ends the fixed group with moreData = NO, so a tpmProperties() that only follows
  // moreData never sees the variable properties (lockout counter, loaded handles, …); fixed in 5d1bcbd.
  it('tpmProperties() with the default `first` also returns the variable group (TPM_PT_LOCKOUT_COUNTER)', async () => {
    const tpm = openTpm(swtpm());
    expect((await tpmProperties(tpm)).has(TPM_PT.LOCKOUT_COUNTER)).toBe(true);
  });

  // Regression: trimming each 4-byte vendor word before joining them turned swtpm's "SW  " + " TPM"
  // (TPM_PT_VENDOR_STRING_1/2, Part 2 §6.13: one string in 4-byte pieces) into "SW TPM"; fixed in 5d1bcbd.
  it('tpmInfo().vendorString is TPM_PT_VENDOR_STRING_1…4 joined, then trimmed', async () => {
    const tpm = openTpm(swtpm());
    const rsp = await tpm.run(GetCapability, {
      capability: TPM_CAP.TPM_PROPERTIES,
      property: TPM_PT.VENDOR_STRING_1,
      propertyCount: 4,
    });
    const words = (rsp.capabilityData.data as TaggedProperty[]).map((p) => p.value);
    const raw = Buffer.concat(
      words.map((w) => {
        const b = Buffer.alloc(4);
        b.writeUInt32BE(w);
        return b;
      }),
    );
    const joined = raw.toString('latin1').replace(/\0/g, '').trimEnd();
    expect(joined).toBe('SW   TPM'); // SWTPM.md §2.1
    expect((await tpmInfo(tpm)).vendorString).toBe(joined);
  });

  it('TPM_CAP_PCRS: a fresh swtpm has all four banks with PCRs 0–23', async () => {
    const tpm = openTpm(swtpm());
    const all = Array.from({ length: 24 }, (_, i) => i);
    expect(await allocatedBanks(tpm)).toEqual(BANKS.map((hash) => ({ hash, pcrs: all })));
  });

  it('TPM_CAP_ECC_CURVES includes NIST P-256 and P-384', async () => {
    const tpm = openTpm(swtpm());
    const { items } = await allPages<number>(tpm, TPM_CAP.ECC_CURVES, 0, 508, (l) => l + 1);
    expect(items).toEqual(expect.arrayContaining([TPM_ECC_CURVE.NIST_P256, TPM_ECC_CURVE.NIST_P384]));
  });

  it('TPM_CAP_HANDLES: PCR handles 0–23, the permanent hierarchies, and no transient objects', async () => {
    const tpm = openTpm(swtpm());
    expect(await handlesFrom(tpm, 0)).toEqual(Array.from({ length: 24 }, (_, i) => i));
    expect(await handlesFrom(tpm, 0x40000000)).toEqual(
      expect.arrayContaining([
        TPM_RH.OWNER,
        TPM_RH.NULL,
        TPM_RH.LOCKOUT,
        TPM_RH.ENDORSEMENT,
        TPM_RH.PLATFORM,
      ]),
    );
    expect(await handlesFrom(tpm, 0x80000000)).toEqual([]);
    expect(await handlesFrom(tpm, 0x81000000)).toEqual([]); // no swtpm_setup: no persistent EK
  });

  it('an unknown capability is TPM_RC_VALUE', async () => {
    const tpm = openTpm(swtpm());
    await expectRc(tpm.run(GetCapability, { capability: 0x7f, property: 0, propertyCount: 1 }), TPM_RC.VALUE);
  });
});

describe('TPM2_GetRandom', () => {
  it('returns the bytes asked for, different each time', async () => {
    const tpm = openTpm(swtpm());
    const a = (await tpm.run(GetRandom, { bytesRequested: 32 })).randomBytes;
    const b = (await tpm.run(GetRandom, { bytesRequested: 32 })).randomBytes;
    expect(a.length).toBe(32);
    expect(b.length).toBe(32);
    expect(a).not.toEqual(b);
    expect((await tpm.run(GetRandom, { bytesRequested: 0 })).randomBytes.length).toBe(0);
  });

  it('caps a larger request at sizeof(TPMU_HA), 64 bytes (Part 3 §16.1)', async () => {
    const tpm = openTpm(swtpm());
    expect((await tpm.run(GetRandom, { bytesRequested: 1000 })).randomBytes.length).toBe(64);
  });
});

describe('TPM2_ReadClock', () => {
  it('returns a clock that does not go back, one reset since manufacture, no restart, and safe', async () => {
    const tpm = openTpm(swtpm());
    const a = (await tpm.run(ReadClock, {})).currentTime;
    const b = (await tpm.run(ReadClock, {})).currentTime;
    expect(b.clockInfo.clock >= a.clockInfo.clock).toBe(true);
    expect(b.time >= a.time).toBe(true);
    expect(b.clockInfo).toMatchObject({ resetCount: 1, restartCount: 0, safe: 1 });
  });
});

describe('TPM2_PCR_Read and readPcrs', () => {
  it('readPcrs reads all four banks × 24 PCRs, 8 digests per PCR_Read, in 12 calls', async () => {
    const inner = openTransport(swtpm().tcti);
    const commands: number[] = [];
    // A counting transport: every command passes through, and its command code is recorded.
    const tpm = new Tpm({
      send(command) {
        commands.push(new DataView(command.buffer, command.byteOffset).getUint32(6));
        return inner.send(command);
      },
      close: () => inner.close(),
    });
    const values = await readPcrs(tpm);
    expect([...values.keys()]).toEqual([...BANKS]);
    for (const hash of BANKS) {
      const bank = values.get(hash);
      expect([...(bank?.keys() ?? [])].sort((x, y) => x - y)).toEqual(
        Array.from({ length: 24 }, (_, i) => i),
      );
      for (const v of bank?.values() ?? []) expect(v.length).toBe(DIGEST_SIZE[hash]);
    }
    // 96 PCRs, and swtpm answers at most 8 per call (SWTPM.md §3.1).
    expect(commands.filter((cc) => cc === PCR_Read.cc).length).toBe(12);
  });

  it('PCR_Read answers a selection of 9 PCRs with the first 8 and says which (pcrSelectionOut)', async () => {
    const tpm = openTpm(swtpm());
    const rsp = await tpm.run(PCR_Read, {
      pcrSelectionIn: [{ hash: TPM_ALG.SHA256, pcrSelect: Uint8Array.of(0xff, 0x00, 0x01) }],
    });
    expect(rsp.pcrSelectionOut).toEqual([{ hash: TPM_ALG.SHA256, pcrSelect: Uint8Array.of(0xff, 0, 0) }]);
    expect(rsp.pcrValues.length).toBe(8);
  });

  it('asking readPcrs for PCR 24 is E_PCR_INDEX, before any PCR_Read', async () => {
    const tpm = openTpm(swtpm());
    await expect(readPcrs(tpm, [{ hash: TPM_ALG.SHA256, pcrs: [24] }])).rejects.toMatchObject({
      code: 'E_PCR_INDEX',
    });
  });
});

describe('TPM2_PCR_Extend', () => {
  it('sets PCR 16 to H(old ‖ digest) in the bank extended and leaves the other banks alone', async () => {
    const tpm = openTpm(swtpm());
    const before = await readPcrs(
      tpm,
      BANKS.map((hash) => ({ hash, pcrs: [16] })),
    );
    const digest = new Uint8Array(randomBytes(32));
    await tpm.run(PCR_Extend, { pcrHandle: 16, digests: [{ hashAlg: TPM_ALG.SHA256, digest }] });
    const after = await readPcrs(
      tpm,
      BANKS.map((hash) => ({ hash, pcrs: [16] })),
    );
    for (const hash of BANKS) {
      const old = before.get(hash)?.get(16) ?? new Uint8Array(0);
      const expected = hash === TPM_ALG.SHA256 ? hashOf(hash, old, digest) : old;
      expect(after.get(hash)?.get(16), `bank 0x${hash.toString(16)}`).toEqual(expected);
    }
  });

  it('extends all four banks of PCR 23 in one call, each with its own digest', async () => {
    const tpm = openTpm(swtpm());
    const old = await Promise.all(BANKS.map((h) => pcrValue(tpm, h, 23)));
    const digests = BANKS.map((hashAlg) => ({
      hashAlg,
      digest: new Uint8Array(randomBytes(DIGEST_SIZE[hashAlg] ?? 0)),
    }));
    await tpm.run(PCR_Extend, { pcrHandle: 23, digests });
    for (const [i, { hashAlg, digest }] of digests.entries()) {
      expect(await pcrValue(tpm, hashAlg, 23)).toEqual(hashOf(hashAlg, old[i] ?? new Uint8Array(0), digest));
    }
  });

  it('a chain of extends equals the chain computed with node:crypto', async () => {
    const tpm = openTpm(swtpm());
    let expected = await pcrValue(tpm, TPM_ALG.SHA384, 16);
    for (let i = 0; i < 5; i++) {
      const digest = new Uint8Array(randomBytes(48));
      await tpm.run(PCR_Extend, { pcrHandle: 16, digests: [{ hashAlg: TPM_ALG.SHA384, digest }] });
      expected = hashOf(TPM_ALG.SHA384, expected, digest);
    }
    expect(await pcrValue(tpm, TPM_ALG.SHA384, 16)).toEqual(expected);
  });

  it('a PCR handle past the last PCR is refused with TPM_RC_VALUE', async () => {
    const tpm = openTpm(swtpm());
    await expectRc(
      tpm.run(PCR_Extend, {
        pcrHandle: 24,
        digests: [{ hashAlg: TPM_ALG.SHA256, digest: new Uint8Array(32) }],
      }),
      TPM_RC.VALUE,
    );
  });

  it('a digest of the wrong size for its bank is caller misuse: RangeError before anything is sent', async () => {
    const tpm = openTpm(swtpm());
    await expect(
      tpm.run(PCR_Extend, {
        pcrHandle: 16,
        digests: [{ hashAlg: TPM_ALG.SHA256, digest: new Uint8Array(20) }],
      }),
    ).rejects.toBeInstanceOf(RangeError);
  });
});
