// SPDX-License-Identifier: Apache-2.0
// Wycheproof RSA through the public verifier, on the SIMD and scalar builds, one item at a time and as
// one batch per file: RSASSA-PKCS1-v1_5 (2048 and 3072 bits with SHA-256/384/512) and RSASSA-PSS (the
// four single-parameter files and rsa_pss_misc_test.json). Every `valid` verifies and every `invalid`
// fails. Decisions (STYLE principle 8), each counted below:
// - `acceptable` (only the MissingNull flag, one per PKCS#1 file: a DigestInfo without the NULL
//   parameters): REJECTED. RFC 8017 §9.2 encodes the NULL, and we compare the whole encoded message
//   with the one we build, so an encoding without it cannot match. 6 cases, by tcId below.
// - rsa_pss_misc_test.json groups whose MGF1 hash differs from the message hash, or whose hash is SHA-224:
//   NOT RUN, because the API has one `hash` for both and no SHA-224 (126 of the 150, all `valid`). The
//   24 groups with one of our hashes for both are run.
import { describe, expect, test } from 'vitest';
import type { VerifyItem } from '../../wasm-core/verify/index.js';
import { apiHash, cores, fromHex, loadWycheproof } from './verify-harness.js';

const PKCS1 = [
  // [file, valid, acceptable, invalid]
  ['rsa_signature_2048_sha256_test.json', 9, 1, 249],
  ['rsa_signature_2048_sha384_test.json', 7, 1, 250],
  ['rsa_signature_2048_sha512_test.json', 8, 1, 250],
  ['rsa_signature_3072_sha256_test.json', 8, 1, 250],
  ['rsa_signature_3072_sha384_test.json', 7, 1, 251],
  ['rsa_signature_3072_sha512_test.json', 8, 1, 251],
] as const;

const PSS = [
  // [file, valid, invalid, tests not run]
  ['rsa_pss_2048_sha256_mgf1_32_test.json', 63, 45, 0],
  ['rsa_pss_2048_sha256_mgf1_0_test.json', 61, 42, 0],
  ['rsa_pss_2048_sha384_mgf1_48_test.json', 95, 46, 0],
  ['rsa_pss_3072_sha256_mgf1_32_test.json', 63, 45, 0],
  ['rsa_pss_misc_test.json', 24, 0, 126],
] as const;

/** The acceptable (MissingNull) cases we reject, by file and tcId. */
const REJECTED_ACCEPTABLE: Record<string, number[]> = {};

const all = await cores();

function run(
  verify: (item: VerifyItem) => boolean,
  batch: (items: VerifyItem[]) => boolean[],
  items: VerifyItem[],
): boolean[] {
  const single = items.map(verify);
  expect(batch(items), 'batch verdicts equal single verdicts').toEqual(single);
  return single;
}

describe.each(all)('Wycheproof RSA on wasm-core $name', ({ verifier }) => {
  const verify = (item: VerifyItem): boolean => verifier.verify(item);
  const batch = (items: VerifyItem[]): boolean[] => verifier.verifyBatch(items);

  test.each(PKCS1)('%s', (file, validCount, acceptableCount, invalidCount) => {
    const data = loadWycheproof(file);
    const items: VerifyItem[] = [];
    const tests = data.testGroups.flatMap((g) => {
      const hash = apiHash(g.sha);
      if (hash === undefined) throw new Error(`${file}: unexpected hash ${g.sha}`);
      const publicKey = fromHex(g.publicKeyDer);
      return g.tests.map((t) => {
        items.push({
          alg: 'rsa-pkcs1v15',
          hash,
          publicKey,
          message: fromHex(t.msg),
          signature: fromHex(t.sig),
        });
        return t;
      });
    });
    const verdicts = run(verify, batch, items);
    const counts = { valid: 0, invalid: 0, acceptable: 0 };
    const wrong: number[] = [];
    const acceptableAccepted: number[] = [];
    const acceptableRejected: number[] = [];
    tests.forEach((t, i) => {
      counts[t.result]++;
      if (t.result === 'acceptable') {
        expect(t.flags).toEqual(['MissingNull']);
        (verdicts[i] ? acceptableAccepted : acceptableRejected).push(t.tcId);
      } else if (verdicts[i] !== (t.result === 'valid')) {
        wrong.push(t.tcId);
      }
    });
    expect(counts).toEqual({ valid: validCount, acceptable: acceptableCount, invalid: invalidCount });
    expect(wrong, 'tcIds whose verdict differs from Wycheproof').toEqual([]);
    expect(acceptableAccepted).toEqual([]);
    expect(acceptableRejected).toHaveLength(acceptableCount);
    REJECTED_ACCEPTABLE[file] = acceptableRejected;
  });

  test.each(PSS)('%s', (file, validCount, invalidCount, notRun) => {
    const data = loadWycheproof(file);
    const items: VerifyItem[] = [];
    const expected: boolean[] = [];
    const ids: number[] = [];
    let skipped = 0;
    const counts = { valid: 0, invalid: 0, acceptable: 0 };
    for (const g of data.testGroups) {
      const hash = apiHash(g.sha);
      if (g.mgf !== 'MGF1' || hash === undefined || g.mgfSha !== g.sha) {
        skipped += g.tests.length;
        continue;
      }
      const publicKey = fromHex(g.publicKeyDer);
      for (const t of g.tests) {
        counts[t.result]++;
        items.push({
          alg: 'rsa-pss',
          hash,
          publicKey,
          message: fromHex(t.msg),
          signature: fromHex(t.sig),
          saltLength: g.sLen ?? -1,
        });
        expected.push(t.result === 'valid');
        ids.push(t.tcId);
      }
    }
    expect(skipped).toBe(notRun);
    expect(counts).toEqual({ valid: validCount, invalid: invalidCount, acceptable: 0 });
    const verdicts = run(verify, batch, items);
    expect(ids.filter((_, i) => verdicts[i] !== expected[i])).toEqual([]);
  });
});

test('the acceptable cases we reject, by tcId: MissingNull, tcId 8 of each PKCS#1 file (6 in all)', () => {
  expect(REJECTED_ACCEPTABLE).toEqual({
    'rsa_signature_2048_sha256_test.json': [8],
    'rsa_signature_2048_sha384_test.json': [8],
    'rsa_signature_2048_sha512_test.json': [8],
    'rsa_signature_3072_sha256_test.json': [8],
    'rsa_signature_3072_sha384_test.json': [8],
    'rsa_signature_3072_sha512_test.json': [8],
  });
});
