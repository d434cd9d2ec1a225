// SPDX-License-Identifier: Apache-2.0
// Wycheproof ECDSA (P-256/SHA-256 and P-384/SHA-384, DER and IEEE P1363; also P-384/SHA-256) through the
// public verifier, on the SIMD and scalar builds, three ways: one item at a time in file order (a key's
// first verifications take the wNAF path, then its cached comb table takes over), one at a time with the
// keys interleaved (never the same key twice in a row: always the wNAF path), and as one batch per file
// (same-key groups through the comb-table path). Every `valid` verifies, every `invalid` fails; these
// files have no `acceptable` case, and the suite asserts that too (STYLE principle 8).
import { describe, expect, test } from 'vitest';
import type { VerifyItem } from '../../wasm-core/verify/index.js';
import { apiHash, cores, fromHex, loadWycheproof } from './verify-harness.js';

const FILES = [
  // [file, encoding, valid, invalid] — counts as test/vectors/SOURCES.md states them.
  ['ecdsa_secp256r1_sha256_test.json', 'der', 174, 310],
  ['ecdsa_secp256r1_sha256_p1363_test.json', 'p1363', 173, 89],
  ['ecdsa_secp384r1_sha384_test.json', 'der', 194, 310],
  ['ecdsa_secp384r1_sha384_p1363_test.json', 'p1363', 193, 87],
  ['ecdsa_secp384r1_sha256_test.json', 'der', 162, 310],
] as const;

const all = await cores();

describe.each(all)('Wycheproof ECDSA on wasm-core $name', ({ verifier }) => {
  test.each(FILES)('%s', (file, encoding, validCount, invalidCount) => {
    const data = loadWycheproof(file);
    const items: VerifyItem[] = [];
    const expected: boolean[] = [];
    const ids: number[] = [];
    const rank: number[] = [];
    const counts = { valid: 0, invalid: 0, acceptable: 0 };
    for (const g of data.testGroups) {
      const hash = apiHash(g.sha);
      if (hash === undefined) throw new Error(`${file}: unexpected hash ${g.sha}`);
      const publicKey = fromHex(g.publicKeyDer);
      g.tests.forEach((_, j) => {
        rank.push(j);
      });
      for (const t of g.tests) {
        counts[t.result]++;
        items.push({
          alg: 'ecdsa',
          hash,
          publicKey,
          message: fromHex(t.msg),
          signature: fromHex(t.sig),
          sigEncoding: encoding,
        });
        expected.push(t.result === 'valid');
        ids.push(t.tcId);
      }
    }
    expect(counts).toEqual({ valid: validCount, invalid: invalidCount, acceptable: 0 });
    const single = items.map((item) => verifier.verify(item));
    const wrong = ids.filter((_, i) => single[i] !== expected[i]);
    expect(wrong, 'tcIds whose single verdict differs from Wycheproof').toEqual([]);
    // Interleaved: item j of every group, then item j + 1 of every group, and so on.
    const order = items.map((_, i) => i).sort((a, b) => (rank[a] ?? 0) - (rank[b] ?? 0) || a - b);
    const interleaved = new Array<boolean>(items.length);
    for (const i of order) interleaved[i] = verifier.verify(items[i] as VerifyItem);
    expect(
      ids.filter((_, i) => interleaved[i] !== expected[i]),
      'interleaved single verdicts',
    ).toEqual([]);
    const batch = verifier.verifyBatch(items);
    const wrongBatch = ids.filter((_, i) => batch[i] !== expected[i]);
    expect(wrongBatch, 'tcIds whose batch verdict differs from Wycheproof').toEqual([]);
  });
});
