// SPDX-License-Identifier: Apache-2.0
// Adversary test of the byte codecs' portable path (agent/encoding/bytes.ts, what the auditor page runs):
// base64 text with characters beyond ASCII decodes to the bytes Node's Buffer gives the CLI. Buffer reads
// each UTF-16 code unit by its low byte ("Ł", U+0141, is an "A" to it, U+013D an "="); the portable loop
// skipped them, so the same text could be other bytes, and another verdict, on the page than in the CLI.
// The module is imported afresh with no Buffer global, as in a browser.
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';

async function portableBytes() {
  vi.stubGlobal('Buffer', undefined);
  vi.resetModules();
  try {
    return await import('../../agent/encoding/bytes.js');
  } finally {
    vi.unstubAllGlobals();
  }
}

describe('portable base64 decoding of any UTF-16 text', () => {
  it('gives what Buffer gives', async () => {
    const portable = await portableBytes();
    expect(Array.from(portable.fromBase64('QUFBŁŁŁŁ'))).toEqual(
      Array.from(Buffer.from('QUFBŁŁŁŁ', 'base64')),
    );
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (s) => {
        expect(Array.from(portable.fromBase64(s))).toEqual(Array.from(Buffer.from(s, 'base64')));
      }),
    );
  });
});
