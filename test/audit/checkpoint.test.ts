// SPDX-License-Identifier: Apache-2.0
// Audit checkpoints (agent/audit/checkpoint.ts) on swtpm, with the host's AK and counter as `execgate host
// init` makes them: made and verified; the quote checked by tpm2_checkquote with SHA-256(body) as the
// qualification and the counter read by tpm2_nvread; every tamper kind refused with E_AUDIT_CHECKPOINT;
// rollback (an older copy against the TPM, counters out of order) with E_AUDIT_ROLLBACK; the crash
// windows of the counter protocol; and a bus interposer that drops NV_Increment and lies on NV_Read,
// caught by the AK's certification of the counter.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readAk } from '../../agent/attest/ak.js';
import {
  DEFAULT_AUDIT_COUNTER_INDEX,
  readCounter,
  readCounterCertified,
} from '../../agent/attest/nv-counter.js';
import { decodeBundle, encodeBundle, type LoadedAk, spkiOfPublic, withAk } from '../../agent/attest/quote.js';
import {
  bodyDigest,
  type Checkpoint,
  checkCounters,
  checkTpmCounter,
  completeCheckpoint,
  decodeCounterCertificate,
  encodeCounterCertificate,
  formatCheckpointBody,
  makeCheckpoint,
  originOf,
  parseCheckpointBody,
  verifyCheckpoint,
} from '../../agent/audit/checkpoint.js';
import { initVerification } from '../../agent/crypto/verify.js';
import { parseSelection } from '../../agent/tpm/pcr-selection.js';
import { Tpm } from '../../agent/tpm/tpm.js';
import { openTransport } from '../../agent/tpm/transport/index.js';
import type { Transport } from '../../agent/tpm/transport/transport.js';
import { cli } from '../cli/helpers.js';
import { checkquote } from '../helpers/checkquote.js';
import { useSwtpm } from '../helpers/swtpm.js';
import { hex, openTpm, tpm2, transientHandles, withTempDir } from '../tpm/swtpm-kit.js';

const swtpm = useSwtpm();
const INDEX = DEFAULT_AUDIT_COUNTER_INDEX;
const AK_RSA = 0x81010002;
const AK_ECC = 0x81010003;

beforeAll(async () => {
  await initVerification();
  for (const [alg, handle] of [
    ['rsa', AK_RSA],
    ['ecc', AK_ECC],
  ] as const) {
    const r = await cli([
      '--tcti',
      swtpm().tcti,
      'host',
      'init',
      '--ak-alg',
      alg,
      '--ak-handle',
      `0x${handle.toString(16)}`,
    ]);
    expect(r.stderr).toBe('');
  }
});

/** The host AK at `handle` as `execgate quote` uses it (withAk, persistent). */
function withHostAk<T>(tpm: Tpm, handle: number, fn: (ak: LoadedAk) => Promise<T>): Promise<T> {
  return withAk(tpm, { kind: 'persistent', handle }, fn);
}

async function akFacts(handle: number) {
  const ak = await readAk(openTpm(swtpm()), handle);
  if (!ak) throw new Error('no AK');
  return { spki: spkiOfPublic(ak.public), name: ak.name };
}

const root = (fill: number) => new Uint8Array(32).fill(fill);

/** Makes and completes one checkpoint on top of `previous` (as the store would: commit between). */
async function checkpoint(
  tpm: Tpm,
  size: number,
  previous: bigint | undefined,
  handle = AK_RSA,
): Promise<Checkpoint> {
  const c = await withHostAk(tpm, handle, (ak) =>
    makeCheckpoint(tpm, ak, { size, root: root(size & 0xff), nvIndex: INDEX, previousCounter: previous }),
  );
  await completeCheckpoint(tpm, INDEX, c.counter);
  return c;
}

async function codeOf(fn: () => unknown): Promise<string> {
  try {
    await fn();
    return 'no error';
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
}

describe('makeCheckpoint / verifyCheckpoint', () => {
  for (const [alg, handle] of [
    ['rsa', AK_RSA],
    ['ecc', AK_ECC],
  ] as const) {
    it(`${alg} AK: the body takes the next counter value, the quote and the certificate verify; complete brings the TPM to it`, async () => {
      const tpm = openTpm(swtpm());
      const { spki, name } = await akFacts(handle);
      const before = await readCounter(tpm, INDEX);
      const c = await withHostAk(tpm, handle, (ak) =>
        makeCheckpoint(tpm, ak, {
          akName: name,
          size: 5,
          root: root(7),
          nvIndex: INDEX,
          previousCounter: before,
        }),
      );
      expect(c.counter).toBe(before + 1n);
      expect(c.body).toBe(
        `${originOf(name)}\n5\n${Buffer.from(root(7)).toString('base64')}\nnv-counter ${before + 1n}\n`,
      );
      expect(originOf(name)).toBe(`execgate/${hex(name).slice(0, 16)}`);
      // Until the caller has committed it and completes, the TPM stays one below.
      expect(await readCounter(tpm, INDEX)).toBe(before);
      const v = verifyCheckpoint(c, spki, {
        akName: name,
        nvIndex: INDEX,
        selection: parseSelection('sha256:0-7'),
      });
      expect(v).toMatchObject({ size: 5, counter: before + 1n, counterCertified: true, nvIndex: INDEX });
      expect(hex(v.root)).toBe(hex(root(7)));
      expect(v.clockInfo.safe).toBe(1);
      expect(v.pcrValues).toHaveLength(8);

      expect(await completeCheckpoint(tpm, INDEX, c.counter)).toBe(c.counter);
      expect(await completeCheckpoint(tpm, INDEX, c.counter)).toBe(c.counter); // idempotent
      await withTempDir(async (dir) => {
        await tpm2(swtpm(), 'tpm2_nvread', [`0x${INDEX.toString(16)}`, '-s', '8', '-o', 'v.bin'], dir);
        expect((await readFile(join(dir, 'v.bin'))).readBigUInt64BE(0)).toBe(c.counter);
      });
      expect(await transientHandles(tpm)).toEqual([]);
    });
  }

  it('tpm2_checkquote accepts the quote with SHA-256(body) as the qualification, and refuses another body’s', async () => {
    const tpm = openTpm(swtpm());
    const c = await checkpoint(tpm, 11, await readCounter(tpm, INDEX));
    const ev = decodeBundle(c.quote);
    await withTempDir(async (dir) => {
      const check = await checkquote(dir, ev);
      expect(await check(hex(bodyDigest(c.body)))).toBe(0);
      const other = c.body.replace(/^11$/m, '12');
      expect(other).not.toBe(c.body);
      expect(await check(hex(bodyDigest(other)))).not.toBe(0);
    });
  });

  it('tampering is E_AUDIT_CHECKPOINT: body edits, another AK, a flipped signature, a swapped or missing counter certificate, a foreign origin', async () => {
    const tpm = openTpm(swtpm());
    const { spki, name } = await akFacts(AK_RSA);
    const ecc = await akFacts(AK_ECC);
    const c1 = await checkpoint(tpm, 20, await readCounter(tpm, INDEX));
    const c2 = await checkpoint(tpm, 21, c1.counter);
    const ok = (c: Partial<Checkpoint> & Pick<Checkpoint, 'body' | 'quote'>, key = spki, opts = {}) =>
      codeOf(() => verifyCheckpoint(c, key, opts));
    expect(await ok(c1)).toBe('no error');

    const body = parseCheckpointBody(c1.body);
    const edits = [
      { ...body, size: body.size + 1 },
      { ...body, size: body.size - 1 },
      { ...body, root: root(0xee) },
      { ...body, counter: body.counter + 1n },
      { ...body, counter: body.counter - 1n },
      { ...body, origin: originOf(ecc.name) },
    ];
    for (const e of edits)
      expect(await ok({ ...c1, body: formatCheckpointBody(e) })).toBe('E_AUDIT_CHECKPOINT');
    // Not even a re-spelling passes: a body that does not parse strictly.
    expect(await ok({ ...c1, body: c1.body.replace('\n', '\r\n') })).toBe('E_AUDIT_CHECKPOINT');

    // Another TPM's AK (here: another AK of this TPM).
    expect(await ok(c1, ecc.spki)).toBe('E_AUDIT_CHECKPOINT');
    // The quote's signature, one bit.
    const ev = decodeBundle(c1.quote);
    const sig = Uint8Array.from(ev.signature);
    sig[sig.length - 3] = (sig[sig.length - 3] ?? 0) ^ 0x10;
    expect(await ok({ ...c1, quote: encodeBundle({ ...ev, signature: sig }) })).toBe('E_AUDIT_CHECKPOINT');
    // Another checkpoint's quote.
    expect(await ok({ ...c1, quote: c2.quote })).toBe('E_AUDIT_CHECKPOINT');
    expect(await ok({ ...c1, quote: new Uint8Array([0xa0]) })).toBe('E_AUDIT_CHECKPOINT');
    // The counter certificate: another checkpoint's, a flipped signature bit, absent, garbage.
    expect(await ok({ ...c1, counterCertificate: c2.counterCertificate })).toBe('E_AUDIT_CHECKPOINT');
    const cert = decodeCounterCertificate(c1.counterCertificate);
    const csig = Uint8Array.from(cert.signature);
    csig[csig.length - 3] = (csig[csig.length - 3] ?? 0) ^ 0x10;
    expect(
      await ok({ ...c1, counterCertificate: encodeCounterCertificate({ ...cert, signature: csig }) }),
    ).toBe('E_AUDIT_CHECKPOINT');
    expect(await ok({ body: c1.body, quote: c1.quote })).toBe('E_AUDIT_CHECKPOINT');
    expect(await ok({ body: c1.body, quote: c1.quote }, spki, { allowUncertifiedCounter: true })).toBe(
      'no error',
    );
    expect(await ok({ ...c1, counterCertificate: Uint8Array.of(1, 2, 3) })).toBe('E_AUDIT_CHECKPOINT');
    expect(await ok(c1, spki, { nvIndex: INDEX + 1 })).toBe('E_AUDIT_CHECKPOINT');
    // The origin pinned to the AK: a checkpoint of this AK claimed for another AK's log.
    expect(await ok(c1, spki, { akName: ecc.name })).toBe('E_AUDIT_CHECKPOINT');
    expect(await ok(c1, spki, { akName: name })).toBe('no error');
    // Another PCR selection than the verifier requires.
    expect(await ok(c1, spki, { selection: parseSelection('sha256:0-8') })).toBe('E_AUDIT_CHECKPOINT');
  });
});

describe('rollback', () => {
  it('counters strictly increase over checkpoints; out of order or repeated is E_AUDIT_ROLLBACK', async () => {
    const tpm = openTpm(swtpm());
    const { spki } = await akFacts(AK_RSA);
    const a = await checkpoint(tpm, 30, await readCounter(tpm, INDEX));
    const b = await checkpoint(tpm, 31, a.counter);
    const c = await checkpoint(tpm, 32, b.counter);
    const [va, vb, vc] = [a, b, c].map((x) => verifyCheckpoint(x, spki));
    if (!va || !vb || !vc) throw new Error('unreachable');
    expect(() => checkCounters([va, vb, vc])).not.toThrow();
    expect(await codeOf(() => checkCounters([va, vc, vb]))).toBe('E_AUDIT_ROLLBACK');
    expect(await codeOf(() => checkCounters([va, vb, vb]))).toBe('E_AUDIT_ROLLBACK');
    expect(() => checkTpmCounter(vc, c.counter)).not.toThrow();
  });

  it('an older copy of the log: the TPM (read certified) is ahead of its newest checkpoint, E_AUDIT_ROLLBACK; makeCheckpoint refuses to checkpoint it', async () => {
    const tpm = openTpm(swtpm());
    const { spki } = await akFacts(AK_RSA);
    const old = await checkpoint(tpm, 40, await readCounter(tpm, INDEX)); // the copy is taken here
    const newer = await checkpoint(tpm, 50, old.counter); // more appends and a checkpoint afterwards
    const tpmValue = await withHostAk(tpm, AK_RSA, (ak) => readCounterCertified(tpm, ak, spki, INDEX));
    expect(tpmValue).toBe(newer.counter);
    expect(() => checkTpmCounter(verifyCheckpoint(newer, spki), tpmValue)).not.toThrow();
    expect(await codeOf(() => checkTpmCounter(verifyCheckpoint(old, spki), tpmValue))).toBe(
      'E_AUDIT_ROLLBACK',
    );
    // The restored copy cannot launder itself with a fresh checkpoint.
    expect(
      await codeOf(() =>
        withHostAk(tpm, AK_RSA, (ak) =>
          makeCheckpoint(tpm, ak, { size: 41, root: root(1), nvIndex: INDEX, previousCounter: old.counter }),
        ),
      ),
    ).toBe('E_AUDIT_ROLLBACK');
    expect(await readCounter(tpm, INDEX)).toBe(newer.counter); // nothing was incremented
    // A checkpoint claiming a counter this TPM never reached: not its counter.
    expect(await codeOf(() => checkTpmCounter({ counter: tpmValue + 2n }, tpmValue))).toBe(
      'E_AUDIT_CHECKPOINT',
    );
    expect(await codeOf(() => completeCheckpoint(tpm, INDEX, tpmValue + 5n))).toBe('E_AUDIT_CHECKPOINT');
    expect(await codeOf(() => completeCheckpoint(tpm, INDEX, tpmValue - 1n))).toBe('E_AUDIT_ROLLBACK');
  });

  it('crash windows: before the commit the counter is reused; after the commit (no complete) the TPM is one behind, accepted, and levelled by the next checkpoint', async () => {
    const tpm = openTpm(swtpm());
    const { spki } = await akFacts(AK_RSA);
    const base = await checkpoint(tpm, 60, await readCounter(tpm, INDEX));
    // A crash before the commit: the checkpoint is lost, the TPM untouched, the next one takes the same value.
    const lost = await withHostAk(tpm, AK_RSA, (ak) =>
      makeCheckpoint(tpm, ak, { size: 61, root: root(1), nvIndex: INDEX, previousCounter: base.counter }),
    );
    expect(await readCounter(tpm, INDEX)).toBe(base.counter);
    // A crash after the commit, before completeCheckpoint: the log's newest is one ahead of the TPM.
    const committed = await withHostAk(tpm, AK_RSA, (ak) =>
      makeCheckpoint(tpm, ak, { size: 62, root: root(2), nvIndex: INDEX, previousCounter: base.counter }),
    );
    expect(committed.counter).toBe(lost.counter);
    const tpmValue = await readCounter(tpm, INDEX);
    expect(tpmValue).toBe(committed.counter - 1n);
    expect(() => checkTpmCounter(verifyCheckpoint(committed, spki), tpmValue)).not.toThrow();
    // The next checkpoint levels the TPM first, then takes the value after.
    const next = await checkpoint(tpm, 63, committed.counter);
    expect(next.counter).toBe(committed.counter + 1n);
    expect(await readCounter(tpm, INDEX)).toBe(next.counter);
    const all = [base, committed, next].map((x) => verifyCheckpoint(x, spki));
    expect(() => checkCounters(all)).not.toThrow();
  });
});

describe('an interposer on the bus', () => {
  /**
   * A transport that drops every NV_Increment (answering success, as a password-session response looks)
   * and adds the number dropped to every NV_Read of the counter, so that plain reads look right.
   */
  function droppingIncrements(inner: Transport): Transport & { dropped: () => number } {
    let dropped = 0;
    return {
      dropped: () => dropped,
      close: () => inner.close(),
      async send(cmd: Uint8Array): Promise<Uint8Array> {
        const cc = Buffer.from(cmd).readUInt32BE(6);
        if (cc === 0x134) {
          dropped++;
          return Uint8Array.from(Buffer.from('80020000001300000000000000000000010000', 'hex'));
        }
        const rsp = await inner.send(cmd);
        if (cc === 0x14e && Buffer.from(rsp).readUInt32BE(6) === 0) {
          // tag, size, rc, parameterSize, TPM2B (size 8, value)
          const out = Buffer.from(rsp);
          out.writeBigUInt64BE(out.readBigUInt64BE(16) + BigInt(dropped), 16);
          return Uint8Array.from(out);
        }
        return rsp;
      },
    };
  }

  it('dropped increments fool a plain read but not the AK: the next checkpoint fails with E_AUDIT_CHECKPOINT, the certified read shows the truth', async () => {
    const honest = openTpm(swtpm());
    const { spki } = await akFacts(AK_RSA);
    const start = await readCounter(honest, INDEX);
    const bus = droppingIncrements(openTransport(swtpm().tcti));
    const tpm = new Tpm(bus);
    const first = await checkpoint(tpm, 70, start); // made honestly; its increment is dropped
    expect(bus.dropped()).toBe(1);
    expect(await readCounter(tpm, INDEX)).toBe(first.counter); // the lie
    expect(await readCounter(honest, INDEX)).toBe(start); // the truth
    const certified = await withHostAk(tpm, AK_RSA, (ak) => readCounterCertified(tpm, ak, spki, INDEX));
    expect(certified).toBe(start);
    expect(
      await codeOf(() =>
        withHostAk(tpm, AK_RSA, (ak) =>
          makeCheckpoint(tpm, ak, {
            size: 71,
            root: root(3),
            nvIndex: INDEX,
            previousCounter: first.counter,
          }),
        ),
      ),
    ).toBe('E_AUDIT_CHECKPOINT');
    // Honest again: the log completes its last checkpoint and goes on.
    expect(await completeCheckpoint(honest, INDEX, first.counter)).toBe(first.counter);
    await checkpoint(honest, 72, first.counter);
  });
});
