// SPDX-License-Identifier: Apache-2.0
// NIST CAVP SigVer ECDSA vectors and ring's edge cases, in ring's format (test/vectors/sigver), P-256
// with SHA-256 and P-384 with SHA-384, DER (asn1) and fixed-width (r‖s) signatures, on both builds. Our
// verdict equals ring's `Result` on every record.
import { describe, expect, test } from 'vitest';
import { cores, loadRing, ringBytes, spkiFromEcPoint } from './verify-harness.js';

const FILES = [
  // [file, encoding, records, P]
  ['ecdsa_verify_asn1_tests.txt', 'der', 90, 36],
  ['ecdsa_verify_fixed_tests.txt', 'p1363', 26, 16],
] as const;

const all = await cores();

describe.each(all)('ring SigVer ECDSA on wasm-core $name', ({ verifier }) => {
  test.each(FILES)('%s', (file, sigEncoding, recordCount, passCount) => {
    const records = loadRing(file);
    let pass = 0;
    const differ: number[] = [];
    for (const r of records) {
      const curve = r.fields.Curve;
      if (curve !== 'P-256' && curve !== 'P-384')
        throw new Error(`${file}:${r.line}: curve ${String(curve)}`);
      const hash =
        r.fields.Digest === 'SHA256' ? 'sha256' : r.fields.Digest === 'SHA384' ? 'sha384' : undefined;
      if (hash === undefined) throw new Error(`${file}:${r.line}: digest ${String(r.fields.Digest)}`);
      const want = (r.fields.Result ?? '').startsWith('P');
      if (want) pass++;
      const ok = verifier.verify({
        alg: 'ecdsa',
        hash,
        sigEncoding,
        publicKey: spkiFromEcPoint(curve, ringBytes(r.fields.Q)),
        message: ringBytes(r.fields.Msg),
        signature: ringBytes(r.fields.Sig),
      });
      if (ok !== want) differ.push(r.line);
    }
    expect([records.length, pass]).toEqual([recordCount, passCount]);
    expect(differ).toEqual([]);
  });
});
