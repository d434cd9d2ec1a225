// SPDX-License-Identifier: Apache-2.0
// docs/formats.md "Artifact format" shows a worked example, in hex and in diagnostic notation. This test rebuilds
// it from its inputs (the RFC 8032 §7.1 TEST 1 Ed25519 key, fixed claims: Ed25519 signatures are
// deterministic) with the library, checks that both blocks in docs/formats.md are exactly what it makes, and
// that the example verifies. Run with EXECGATE_PRINT_EXAMPLE=1 to print the blocks after a format change.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeArtifact, issueArtifact, verifyArtifact } from '../../agent/artifact/index.js';
import { parsePublicKey, parseSigningKey } from '../../agent/crypto/keys.js';
import { initVerification } from '../../agent/crypto/verify.js';
import { fromHex, toHex } from '../../agent/encoding/bytes.js';
import { CborTag, type CborValue, decodeCbor } from '../../agent/encoding/cbor.js';

const RFC8032_TEST1_SECRET = '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60';
const PKCS8_ED25519_PREFIX = '302e020100300506032b657004220420';

function pem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  return `-----BEGIN ${label}-----\n${b64.replace(/.{1,64}/g, '$&\n')}-----END ${label}-----\n`;
}

const key = parseSigningKey(
  Buffer.from(pem('PRIVATE KEY', fromHex(PKCS8_ED25519_PREFIX + RFC8032_TEST1_SECRET))),
);
const IAT = 1_796_000_000; // 2026-11-29T23:33:20Z

function example(): Uint8Array {
  return issueArtifact(
    {
      iss: 'ops',
      sub: `000b${'5c'.repeat(32)}`,
      iat: IAT,
      exp: IAT + 600,
      cti: fromHex('000102030405060708090a0b0c0d0e0f'),
      scope: {
        exe: '/usr/bin/systemctl',
        sha256: fromHex('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'),
        argv: ['restart', 'nginx'],
      },
      gov: new Map([['ticket', 'CHG-1234']]),
    },
    key,
  );
}

/** RFC 8949 §8 diagnostic notation; byte strings that hold CBOR (the protected header, the payload) as <<…>>. */
function diag(v: CborValue, indent: string, embedded = false): string {
  const next = `${indent}  `;
  if (v instanceof Uint8Array) {
    if (embedded && v.length) return `<< ${diag(decodeCbor(v, { tags: [] }), indent)} >>`;
    return `h'${toHex(v)}'`;
  }
  if (v instanceof CborTag) {
    const [p, u, payload, sig] = v.value as CborValue[];
    return `${v.tag}([\n${next}${diag(p as CborValue, next, true)},\n${next}${diag(u as CborValue, next)},\n${next}${diag(payload as CborValue, next, true)},\n${next}${diag(sig as CborValue, next)}\n${indent}])`;
  }
  if (Array.isArray(v)) return `[${v.map((x) => diag(x, next)).join(', ')}]`;
  if (v instanceof Map) {
    if (v.size === 0) return '{}';
    const items = [...v].map(
      ([k, x]) => `${next}${typeof k === 'string' ? JSON.stringify(k) : String(k)}: ${diag(x, next)}`,
    );
    return `{\n${items.join(',\n')}\n${indent}}`;
  }
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

function blocks() {
  const bytes = example();
  const hex = toHex(bytes).replace(/.{1,96}/g, '$&\n');
  const d = `${diag(decodeCbor(bytes, { tags: [18] }), '')}\n`;
  return { bytes, hex, diag: d };
}

function readmeBlock(name: string): string {
  const readme = readFileSync(new URL('../../docs/formats.md', import.meta.url), 'utf8');
  const m = readme.match(
    new RegExp(`<!-- ${name} -->\\n\`\`\`[a-z]*\\n([\\s\\S]*?)\`\`\`\\n<!-- /${name} -->`),
  );
  if (!m) throw new Error(`docs/formats.md has no ${name} block`);
  return m[1] as string;
}

beforeAll(() => initVerification());

describe('docs/formats.md worked example', () => {
  it('the hex and diagnostic blocks are what the library makes, and the example verifies', () => {
    const b = blocks();
    if (process.env.EXECGATE_PRINT_EXAMPLE) console.log(`${b.hex}\n${b.diag}`);
    expect(readmeBlock('artifact-example-hex')).toBe(b.hex);
    expect(readmeBlock('artifact-example-diag')).toBe(b.diag);
    const trust = [parsePublicKey(key.spki)];
    expect(verifyArtifact(b.bytes, { trust, at: IAT + 1 })).toMatchObject({ ok: true });
    expect(toHex(decodeArtifact(b.bytes).kid)).toBe(toHex(key.kid));
  });
});
