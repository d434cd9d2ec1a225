// SPDX-License-Identifier: Apache-2.0
// Adversary test of the auditor page's quote panel (issue 16), in Chromium, offline: a quote bundle whose
// "attest" is an indefinite-length byte string (RFC 8949 §3.2.3: chunks, then a break). cbor-x, the
// bundle's codec, reads it differently in its Node and browser builds: both refused it (E_QUOTE_PARSE),
// with other details ("Unexpected end of buffer reading string" on the CLI, "Indefinite length not
// supported…" on the page), so the verdict JSON differed. A bundle execgate writes has definite lengths
// only: both refuse such a bundle for that, with the same JSON. And an AK PEM longer than the CLI reads
// (INPUT_LIMITS.pem): the CLI refused it (E_INPUT_LIMIT), the page found the key in it and said valid.
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { encodeBundle } from '../../agent/attest/quote-evidence.js';
import { parsePcrs } from '../../agent/attest/tpm2-tools-pcrs.js';
import { concatBytes, fromHex } from '../../agent/encoding/bytes.js';
import { encodeCbor } from '../../agent/encoding/cbor.js';
import { INPUT_LIMITS } from '../../agent/fs/read-bounded.js';
import { cli } from '../cli/helpers.js';
import { useAuditorPage, verifyOnPage } from './page.js';

const auditor = useAuditorPage();
const KEYLIME = join(import.meta.dirname, '..', 'vectors', 'tpm', 'keylime');
const NONCE = (
  JSON.parse(readFileSync(join(KEYLIME, '..', 'expected.json'), 'utf8'))['keylime/'] as {
    attest: { extraData: string };
  }
).attest.extraData;
let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'execgate-web-adversary-quote-'));
}, 30_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

it('a quote bundle with an indefinite-length byte string: the same verdict as the CLI', async () => {
  const attest = new Uint8Array(readFileSync(join(KEYLIME, 'quote.out')));
  const pcrs = parsePcrs(new Uint8Array(readFileSync(join(KEYLIME, 'quotepcr.out'))));
  const definite = encodeBundle({
    attest,
    signature: new Uint8Array(readFileSync(join(KEYLIME, 'quotesig.out'))),
    selection: pcrs.selection,
    pcrValues: pcrs.values,
    nonce: fromHex(NONCE),
    akPublic: new Uint8Array(0),
    akSpki: new Uint8Array(0),
  });
  // The attest's byte string, cut in two chunks between 0x5f and a break (0xff).
  const head = encodeCbor(attest);
  const at = Buffer.from(definite).indexOf(Buffer.from(head));
  expect(at).toBeGreaterThan(0);
  const indefinite = concatBytes([
    definite.subarray(0, at),
    Uint8Array.of(0x5f),
    encodeCbor(attest.subarray(0, 10)),
    encodeCbor(attest.subarray(10)),
    Uint8Array.of(0xff),
    definite.subarray(at + head.length),
  ]);
  const file = join(work, 'indefinite.cbor');
  await writeFile(file, indefinite);
  const ak = join(KEYLIME, 'akpub.pem');
  const r = await cli(['--json', 'quote', 'verify', file, '--ak', ak, '--nonce', NONCE]);
  const page = await verifyOnPage(auditor(), 'quote', { bundle: file, ak, nonce: NONCE });
  expect(page).toEqual({ ok: false, code: 'E_QUOTE_PARSE', json: r.stdout.replace(`${work}/`, '') });
  expect(page.json).toContain('indefinite length');
  expect(r.stderr).toMatch(/^execgate: E_QUOTE_PARSE: /);
  expect(auditor().requests).toEqual([]);
});

it("an AK PEM over the CLI's input limit: refused on the page as by the CLI, not judged", async () => {
  // The keylime AK, after more text than the CLI reads of a PEM file: the page found the block and said valid.
  const ak = join(work, 'long-ak.pem');
  await writeFile(ak, `${'#'.repeat(INPUT_LIMITS.pem)}\n${readFileSync(join(KEYLIME, 'akpub.pem'), 'utf8')}`);
  const files = {
    msg: join(KEYLIME, 'quote.out'),
    sig: join(KEYLIME, 'quotesig.out'),
    pcrs: join(KEYLIME, 'quotepcr.out'),
  };
  const flags = {
    '--msg': files.msg,
    '--sig': files.sig,
    '--pcrs-values': files.pcrs,
    '--ak': ak,
    '--nonce': NONCE,
  };
  const r = await cli(['--json', 'quote', 'verify', ...Object.entries(flags).flat()]);
  expect(r.stdout).toBe('');
  expect(r.stderr).toMatch(/^execgate: E_INPUT_LIMIT: /);
  const page = await verifyOnPage(auditor(), 'quote', { ...files, bundle: undefined, ak, nonce: NONCE });
  expect(page).toEqual({ ok: false, code: 'E_INPUT_LIMIT', json: undefined });
});
