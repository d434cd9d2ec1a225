// SPDX-License-Identifier: Apache-2.0
// The ECDSA and RSA vectors as VerifyItems, for the suites that hold agent/crypto/verify.ts's node:crypto
// routes to wasm-core's verdicts (verify-facade.test.ts, test/crypto/verify-one-shot.test.ts): every
// Wycheproof ECDSA and RSA group whose hashes the API has, and every ring SigVer record.
import type { VerifyItem } from '../../wasm-core/verify/index.js';
import {
  apiHash,
  fromHex,
  loadRing,
  loadWycheproof,
  ringBytes,
  spkiFromEcPoint,
  spkiFromRsaPublicKey,
} from './verify-harness.js';

export function wycheproofItems(): VerifyItem[] {
  const items: VerifyItem[] = [];
  const files: [string, VerifyItem['alg'], 'der' | 'p1363' | undefined][] = [
    ['ecdsa_secp256r1_sha256_test.json', 'ecdsa', 'der'],
    ['ecdsa_secp256r1_sha256_p1363_test.json', 'ecdsa', 'p1363'],
    ['ecdsa_secp384r1_sha384_test.json', 'ecdsa', 'der'],
    ['ecdsa_secp384r1_sha384_p1363_test.json', 'ecdsa', 'p1363'],
    ['ecdsa_secp384r1_sha256_test.json', 'ecdsa', 'der'],
    ['rsa_signature_2048_sha256_test.json', 'rsa-pkcs1v15', undefined],
    ['rsa_signature_2048_sha384_test.json', 'rsa-pkcs1v15', undefined],
    ['rsa_signature_2048_sha512_test.json', 'rsa-pkcs1v15', undefined],
    ['rsa_signature_3072_sha256_test.json', 'rsa-pkcs1v15', undefined],
    ['rsa_signature_3072_sha384_test.json', 'rsa-pkcs1v15', undefined],
    ['rsa_signature_3072_sha512_test.json', 'rsa-pkcs1v15', undefined],
    ['rsa_pss_2048_sha256_mgf1_32_test.json', 'rsa-pss', undefined],
    ['rsa_pss_2048_sha256_mgf1_0_test.json', 'rsa-pss', undefined],
    ['rsa_pss_2048_sha384_mgf1_48_test.json', 'rsa-pss', undefined],
    ['rsa_pss_3072_sha256_mgf1_32_test.json', 'rsa-pss', undefined],
    ['rsa_pss_misc_test.json', 'rsa-pss', undefined],
  ];
  for (const [file, alg, sigEncoding] of files) {
    for (const g of loadWycheproof(file).testGroups) {
      const hash = apiHash(g.sha);
      if (hash === undefined || (g.mgfSha !== undefined && g.mgfSha !== g.sha)) continue;
      const publicKey = fromHex(g.publicKeyDer);
      for (const t of g.tests) {
        const base = { alg, hash, publicKey, message: fromHex(t.msg), signature: fromHex(t.sig) };
        if (sigEncoding !== undefined) items.push({ ...base, sigEncoding });
        else if (alg === 'rsa-pss') items.push({ ...base, saltLength: g.sLen ?? 0 });
        else items.push(base);
      }
    }
  }
  return items;
}

export function ringItems(): VerifyItem[] {
  const items: VerifyItem[] = [];
  const hashOf = (d: string | undefined) => (d === undefined ? 'sha256' : (d.toLowerCase() as 'sha256'));
  for (const [file, alg] of [
    ['rsa_pkcs1_verify_tests.txt', 'rsa-pkcs1v15'],
    ['rsa_pss_verify_tests.txt', 'rsa-pss'],
  ] as const) {
    for (const r of loadRing(file)) {
      items.push({
        alg,
        hash: hashOf(r.fields.Digest),
        publicKey: spkiFromRsaPublicKey(ringBytes(r.fields.Key)),
        message: ringBytes(r.fields.Msg),
        signature: ringBytes(r.fields.Sig),
      });
    }
  }
  for (const [file, sigEncoding] of [
    ['ecdsa_verify_asn1_tests.txt', 'der'],
    ['ecdsa_verify_fixed_tests.txt', 'p1363'],
  ] as const) {
    for (const r of loadRing(file)) {
      items.push({
        alg: 'ecdsa',
        hash: hashOf(r.fields.Digest),
        sigEncoding,
        publicKey: spkiFromEcPoint(r.fields.Curve as 'P-256', ringBytes(r.fields.Q)),
        message: ringBytes(r.fields.Msg),
        signature: ringBytes(r.fields.Sig),
      });
    }
  }
  return items;
}
