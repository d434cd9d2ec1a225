// SPDX-License-Identifier: Apache-2.0
/**
 * Quote verification: real quotes made on a throw-away swtpm by an RSA-2048 (RSASSA-SHA256) and an ECC
 * P-256 (ECDSA-SHA256) AK, verified by agent/attest/verify-quote.ts `verifyQuote` one at a time and
 * `verifyQuotes` as a batch (one `verifySignatures` call), against a straightforward node:crypto verifier
 * written here: the TPMT_SIGNATURE and TPMS_ATTEST parsed by hand, `crypto.verify` with the AK's
 * KeyObject (created once), and the same checks (magic, type, nonce, signed selection, pcrDigest =
 * SHA-256 of the values). Each run verifies a rotation of 64 distinct quotes by one AK, all valid.
 * Prints markdown tables for BENCHMARKS.md; asserts nothing beyond every verifier accepting them.
 *
 * Then the AK kind for the gate (issue 14): an RSA-2048 and an ECC P-256 AK made as `host init` makes
 * them (under the EK, persisted), TPM2_Quote over sha256:0-7 with a fresh nonce timed alternately, and
 * the verification of one such quote the way a one-shot `execgate exec` meets it: a key not seen
 * before (KeyObject made per quote; verifyQuote past its key caches, with keys signed here in software).
 */
import {
  createHash,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign as nodeSign,
  verify as nodeVerify,
  randomBytes,
} from 'node:crypto';
import { hostInit } from '../agent/attest/identity.js';
import { makeQuote, withAk } from '../agent/attest/quote.js';
import { type VerifyQuoteInput, verifyQuote, verifyQuotes } from '../agent/attest/verify-quote.js';
import { initVerification } from '../agent/crypto/verify.js';
import { Quote } from '../agent/tpm/commands.js';
import { TPM_ALG } from '../agent/tpm/constants.js';
import { type PcrSelection, parseSelection, toTpml } from '../agent/tpm/pcr-selection.js';
import { marshal } from '../agent/tpm/schema.js';
import { TPMT_SIGNATURE } from '../agent/tpm/structures.js';
import { Tpm } from '../agent/tpm/tpm.js';
import { openTransport } from '../agent/tpm/transport/index.js';
import { startSwtpm } from '../swtpm/harness.js';
import { type Case, compare, formatNs, ratio, table } from './measure.js';

const QUOTES = 64;
const SELECTION_TEXT = 'sha256:0-7,16';

// ── The node:crypto verifier ────────────────────────────────────────────────────────────────────────

const TPM_ALG_RSASSA = 0x0014;
const TPM_ALG_ECDSA = 0x0018;
const TPM_ALG_SHA256 = 0x000b;

class Reader {
  at = 0;
  constructor(readonly b: Uint8Array) {}
  u8(): number {
    const v = this.b[this.at];
    if (v === undefined) throw new Error('truncated');
    this.at++;
    return v;
  }
  u16(): number {
    return (this.u8() << 8) | this.u8();
  }
  u32(): number {
    return ((this.u16() << 16) >>> 0) + this.u16();
  }
  bytes(n: number): Uint8Array {
    if (this.at + n > this.b.length) throw new Error('truncated');
    const v = this.b.subarray(this.at, this.at + n);
    this.at += n;
    return v;
  }
  sized(): Uint8Array {
    return this.bytes(this.u16());
  }
}

function pad(v: Uint8Array, n: number): Uint8Array | undefined {
  let x = v;
  while (x.length > n && x[0] === 0) x = x.subarray(1);
  if (x.length > n) return undefined;
  const out = new Uint8Array(n);
  out.set(x, n - x.length);
  return out;
}

const sameBytes = (a: Uint8Array, b: Uint8Array) => Buffer.compare(a, b) === 0;

/** Straightforward verification with node:crypto: true when the quote is valid, as verifyQuote's ok. */
function nodeVerifyQuote(input: VerifyQuoteInput, key: KeyObject, selection: PcrSelection): boolean {
  try {
    const s = new Reader(input.signature);
    const sigAlg = s.u16();
    if (s.u16() !== TPM_ALG_SHA256) return false;
    let ok: boolean;
    if (sigAlg === TPM_ALG_RSASSA) {
      ok = nodeVerify('sha256', input.attest, key, s.sized());
    } else if (sigAlg === TPM_ALG_ECDSA) {
      const r = pad(s.sized(), 32);
      const ss = pad(s.sized(), 32);
      if (r === undefined || ss === undefined) return false;
      ok = nodeVerify('sha256', input.attest, { key, dsaEncoding: 'ieee-p1363' }, Buffer.concat([r, ss]));
    } else return false;
    if (!ok) return false;
    const a = new Reader(input.attest);
    if (a.u32() !== 0xff544347 || a.u16() !== 0x8018) return false;
    a.sized(); // qualifiedSigner
    if (!sameBytes(a.sized(), input.nonce)) return false;
    a.bytes(17 + 8); // clockInfo, firmwareVersion
    const banks = a.u32();
    if (banks !== selection.length) return false;
    for (const want of selection) {
      if (a.u16() !== want.hash) return false;
      const bitmap = a.bytes(a.u8());
      const pcrs: number[] = [];
      bitmap.forEach((byte, i) => {
        for (let bit = 0; bit < 8; bit++) if (byte & (1 << bit)) pcrs.push(i * 8 + bit);
      });
      if (pcrs.length !== want.pcrs.length || pcrs.some((p, i) => p !== want.pcrs[i])) return false;
    }
    const pcrDigest = a.sized();
    if (a.at !== input.attest.length) return false;
    const h = createHash('sha256');
    for (const v of input.pcrValues) h.update(v);
    return sameBytes(h.digest(), pcrDigest);
  } catch {
    return false;
  }
}

// ── Measurement ─────────────────────────────────────────────────────────────────────────────────────

interface Quotes {
  readonly alg: 'rsa' | 'ecc';
  readonly inputs: readonly VerifyQuoteInput[];
  readonly key: KeyObject;
}

async function makeQuotes(): Promise<Quotes[]> {
  const swtpm = await startSwtpm();
  try {
    const tpm = new Tpm(openTransport(swtpm.tcti));
    const selection = parseSelection(SELECTION_TEXT);
    const out: Quotes[] = [];
    try {
      for (const alg of ['rsa', 'ecc'] as const) {
        const inputs = await withAk(tpm, { kind: 'primary', alg }, async (ak) => {
          const list: VerifyQuoteInput[] = [];
          for (let i = 0; i < QUOTES; i++) {
            const nonce = new Uint8Array(randomBytes(20));
            const ev = await makeQuote(tpm, ak, { selection, nonce });
            list.push({
              attest: ev.attest,
              signature: ev.signature,
              akPublicKey: ev.akSpki,
              nonce,
              selection,
              pcrValues: ev.pcrValues,
            });
          }
          return list;
        });
        const first = inputs[0];
        if (first === undefined) throw new Error('no quotes');
        const key = createPublicKey({ key: Buffer.from(first.akPublicKey), format: 'der', type: 'spki' });
        out.push({ alg, inputs, key });
      }
    } finally {
      await tpm.close();
    }
    return out;
  } finally {
    await swtpm.stop();
  }
}

export async function main(): Promise<void> {
  await initVerification();
  await akKinds();
  const selection = parseSelection(SELECTION_TEXT);
  for (const q of await makeQuotes()) {
    const n = q.inputs.length;
    let k = 0;
    const next = (): VerifyQuoteInput => q.inputs[k++ % n] as VerifyQuoteInput;
    const every = (verdicts: readonly boolean[]) => verdicts.length === n && verdicts.every((v) => v);
    if (!every(q.inputs.map((i) => verifyQuote(i).ok)))
      throw new Error(`${q.alg}: verifyQuote rejected a quote`);
    if (!every(verifyQuotes(q.inputs).map((v) => v.ok)))
      throw new Error(`${q.alg}: verifyQuotes rejected a quote`);
    if (!every(q.inputs.map((i) => nodeVerifyQuote(i, q.key, selection))))
      throw new Error(`${q.alg}: the node:crypto verifier rejected a quote`);
    const cases: Case[] = [
      { name: 'execgate `verifyQuote`, one at a time', run: () => verifyQuote(next()).ok, reps: n },
      { name: `execgate \`verifyQuotes\`, batch of ${n}`, run: () => verifyQuotes(q.inputs), reps: 1 },
      {
        name: 'node:crypto verifier (KeyObject once), one at a time',
        run: () => nodeVerifyQuote(next(), q.key, selection),
        reps: n,
      },
    ];
    const [single = Number.NaN, batch = Number.NaN, node = Number.NaN] = compare(cases, 15);
    const perQuote = [single, batch / n, node];
    table(
      `${q.alg === 'rsa' ? 'RSA-2048 RSASSA-SHA256' : 'ECC P-256 ECDSA-SHA256'} AK, ${SELECTION_TEXT}, ${n} distinct quotes`,
      ['verifier', 'per quote', 'quotes/s', 'vs node:crypto'],
      cases.map((c, i) => {
        const ns = perQuote[i] ?? Number.NaN;
        return [c.name, formatNs(ns), (1e9 / ns).toFixed(0), ratio(node, ns)];
      }),
    );
  }
}

// ── The AK kind for the gate (issue 14) ─────────────────────────────────────────────────────────────

const GATE_SELECTION = 'sha256:0-7';
const QUOTE_SAMPLES = 50;
/** More distinct keys than verify.ts keeps parsed (64), so that every verification meets a new one. */
const COLD_KEYS = 80;

const KINDS = [
  { alg: 'rsa', name: 'RSA-2048 RSASSA-SHA256', handle: 0x81010002 },
  { alg: 'ecc', name: 'ECC P-256 ECDSA-SHA256', handle: 0x81010003 },
] as const;

function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? Number.NaN;
}

/**
 * The quote of `q` re-signed by each of `COLD_KEYS` software keys of its kind: valid quotes under keys
 * no cache has seen (verifyQuote only checks that the signature is the AK's; who holds the key is the
 * pin's business).
 */
function underNewKeys(alg: 'rsa' | 'ecc', q: VerifyQuoteInput): VerifyQuoteInput[] {
  return Array.from({ length: COLD_KEYS }, () => {
    const pair =
      alg === 'rsa'
        ? generateKeyPairSync('rsa', { modulusLength: 2048 })
        : generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const spki = new Uint8Array(pair.publicKey.export({ type: 'spki', format: 'der' }));
    const signature =
      alg === 'rsa'
        ? marshal(TPMT_SIGNATURE, {
            sigAlg: TPM_ALG.RSASSA,
            signature: {
              hash: TPM_ALG.SHA256,
              sig: new Uint8Array(nodeSign('sha256', q.attest, pair.privateKey)),
            },
          })
        : (() => {
            const rs = nodeSign('sha256', q.attest, { key: pair.privateKey, dsaEncoding: 'ieee-p1363' });
            return marshal(TPMT_SIGNATURE, {
              sigAlg: TPM_ALG.ECDSA,
              signature: {
                hash: TPM_ALG.SHA256,
                signatureR: new Uint8Array(rs.subarray(0, 32)),
                signatureS: new Uint8Array(rs.subarray(32)),
              },
            });
          })();
    return { ...q, akPublicKey: spki, signature };
  });
}

async function akKinds(): Promise<void> {
  const swtpm = await startSwtpm();
  const selection = parseSelection(GATE_SELECTION);
  const ms: Record<'rsa' | 'ecc', number[]> = { rsa: [], ecc: [] };
  const quotes: Record<'rsa' | 'ecc', VerifyQuoteInput[]> = { rsa: [], ecc: [] };
  try {
    const tpm = new Tpm(openTransport(swtpm.tcti));
    try {
      for (const k of KINDS) await hostInit(tpm, { akAlg: k.alg, akHandle: k.handle });
      const quote = async (k: (typeof KINDS)[number]) => {
        const nonce = new Uint8Array(randomBytes(20));
        const t = process.hrtime.bigint();
        const rsp = await tpm.run(Quote, {
          signHandle: k.handle,
          qualifyingData: nonce,
          inScheme: { scheme: TPM_ALG.NULL, details: null },
          PCRselect: toTpml(selection),
        });
        return { ms: Number(process.hrtime.bigint() - t) / 1e6, rsp, nonce };
      };
      for (const k of KINDS) for (let i = 0; i < 5; i++) await quote(k); // warm-up
      // Alternating, so that load from other processes lands on both kinds alike.
      for (let i = 0; i < QUOTE_SAMPLES; i++) {
        for (const k of KINDS) {
          const q = await quote(k);
          ms[k.alg].push(q.ms);
          if (quotes[k.alg].length === 0) {
            const ev = await withAk(tpm, { kind: 'persistent', handle: k.handle }, async (ak) =>
              makeQuote(tpm, ak, { selection, nonce: q.nonce }),
            );
            quotes[k.alg].push({ ...ev, akPublicKey: ev.akSpki, nonce: q.nonce, selection });
          }
        }
      }
    } finally {
      await tpm.close();
    }
  } finally {
    await swtpm.stop();
  }
  const rows: string[][] = [];
  for (const k of KINDS) {
    const real = quotes[k.alg][0];
    if (real === undefined) throw new Error('no quote');
    const cold = underNewKeys(k.alg, real);
    if (!cold.every((c) => verifyQuote(c).ok) || !verifyQuote(real).ok)
      throw new Error(`${k.alg}: verifyQuote rejected a quote`);
    const keyOf = (c: VerifyQuoteInput) =>
      createPublicKey({ key: Buffer.from(c.akPublicKey), format: 'der', type: 'spki' });
    if (!cold.every((c) => nodeVerifyQuote(c, keyOf(c), selection)))
      throw new Error(`${k.alg}: the node:crypto verifier rejected a quote`);
    let i = 0;
    const next = () => cold[i++ % cold.length] as VerifyQuoteInput;
    const realKey = keyOf(real);
    const [
      execgateCold = Number.NaN,
      nodeCold = Number.NaN,
      execgateWarm = Number.NaN,
      nodeWarm = Number.NaN,
    ] = compare(
      [
        { name: 'verifyQuote, new key', run: () => verifyQuote(next()).ok, reps: COLD_KEYS },
        {
          name: 'node:crypto, new key',
          run: () => {
            const c = next();
            return nodeVerifyQuote(c, keyOf(c), selection);
          },
          reps: COLD_KEYS,
        },
        { name: 'verifyQuote, same key', run: () => verifyQuote(real).ok, reps: 64 },
        { name: 'node:crypto, same key', run: () => nodeVerifyQuote(real, realKey, selection), reps: 64 },
      ],
      15,
    );
    const q = ms[k.alg];
    rows.push([
      k.name,
      `${percentile(q, 0.5).toFixed(2)} ms`,
      `${percentile(q, 0.95).toFixed(2)} ms`,
      `${formatNs(execgateCold)} / ${formatNs(nodeCold)}`,
      `${formatNs(execgateWarm)} / ${formatNs(nodeWarm)}`,
    ]);
  }
  table(
    `AK kind for the gate: TPM2_Quote over ${GATE_SELECTION}, fresh 20-byte nonce, ${QUOTE_SAMPLES} per kind alternating; verification of one quote`,
    [
      'AK',
      'Quote median',
      'Quote p95',
      'verify, new key: verifyQuote / node:crypto',
      'verify, same key: verifyQuote / node:crypto',
    ],
    rows,
  );
}
