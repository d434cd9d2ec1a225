// SPDX-License-Identifier: Apache-2.0
// Adversary tests of the auditor page (issue 16), in Chromium, offline, on evidence made to mislead it:
// - a second Verify while the worker still has the first bundle: the banner must only ever show the
//   verdict of the files it was asked about (a long valid bundle's VALID was shown for a truncated one);
// - Verify clicked before the page has read the file just chosen: the previous file was judged (VALID)
//   while the new one's name stood beside the input;
// - an entry whose time is out of Date's range (the schema allows up to 2^53 − 1): the views must not
//   keep the verdict from showing (the timeline threw, and the page stayed at "verifying…");
// - markup in an executable path and in a file name: shown as text, never parsed (no element, no script);
// - the Content-Security-Policy that keeps the page offline and script-free stays in place.
// The bundles have no checkpoint, so no TPM is needed: entries past the newest checkpoint are only
// decoded and hashed (valid when there are as many as the header says), and a header claiming an entry
// the bundle lacks is E_AUDIT_TRUNCATED.
import { generateKeyPairSync } from 'node:crypto';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLE_FORMAT, BUNDLE_VERSION } from '../../agent/audit/bundle.js';
import { encodeEntry } from '../../agent/audit/entry.js';
import { concatBytes } from '../../agent/encoding/bytes.js';
import { type CborValue, encodeCbor } from '../../agent/encoding/cbor.js';
import { cli } from '../cli/helpers.js';
import { useAuditorPage, verifyOnPage } from './page.js';

const auditor = useAuditorPage();
let work: string;
let cwd: string;
const at = (f: string) => join(work, f);

const spki = new Uint8Array(
  generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' }),
);

/** A bundle without checkpoints: its header claiming `size` entries, then `entries`. */
function bundle(size: number, entries: Uint8Array[] = []): Uint8Array {
  const header = new Map<string, CborValue>([
    ['format', BUNDLE_FORMAT],
    ['version', BUNDLE_VERSION],
    ['ak', spki],
    ['size', size],
    ['checkpoints', 0],
  ]);
  return concatBytes([encodeCbor(header), ...entries]);
}

const HOSTILE_EXE = '/usr/bin/<img src=x onerror="document.body.dataset.pwned=1">';

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'execgate-web-adversary-'));
  cwd = process.cwd();
  process.chdir(work);
  await writeFile(
    'ak.pem',
    generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }),
  );
  // Long enough for its verification to be under way when Verify is clicked again (a few hundred ms).
  const LONG = 100_000;
  await writeFile(
    'long.cbor',
    bundle(
      LONG,
      Array.from({ length: LONG }, (_, seq) =>
        encodeEntry({ seq, time: seq, verdict: 'allow', reason: 'OK', exe: '/bin/a', pid: 1 }),
      ),
    ),
  );
  await writeFile('truncated.cbor', bundle(1));
  const entry = (seq: number, time: number, exe: string) =>
    encodeEntry({ seq, time, verdict: 'deny', reason: 'E_SIGNATURE', exe, pid: 1 });
  await writeFile(
    'far-future.cbor',
    bundle(2, [entry(0, 0, '/bin/a'), entry(1, Number.MAX_SAFE_INTEGER, '/bin/b')]),
  );
  await writeFile('markup.cbor', bundle(1, [entry(0, 1_765_000_000_000, HOSTILE_EXE)]));
});

afterAll(async () => {
  process.chdir(cwd);
  await rm(work, { recursive: true, force: true });
});

/** Gives the audit panel `file` as its bundle, and waits until the page has read it. */
async function choose(file: string): Promise<void> {
  const { page } = auditor();
  await page.setInputFiles('#audit-bundle', at(file));
  await page.locator('#audit .drop:has(#audit-bundle) .chosen', { hasText: file }).waitFor();
}

/** Records every audit banner the page shows (class and code), from now on, in the page. */
async function recordBanners(): Promise<() => Promise<string[]>> {
  const { page } = auditor();
  await page.evaluate(() => {
    // In the page: the DOM's document and MutationObserver (this file is typed for Node).
    type Element = {
      getAttribute(n: string): string | null;
      setAttribute(n: string, v: string): void;
      className: string;
    };
    const w = globalThis as unknown as {
      shown: string[];
      document: { querySelector(s: string): Element | null };
      MutationObserver: new (f: () => void) => { observe(e: Element, o: object): void };
    };
    w.shown = [];
    const result = w.document.querySelector('#audit-result');
    if (result === null) throw new Error('no #audit-result');
    new w.MutationObserver(() => {
      const b = w.document.querySelector('#audit-banner');
      if (b !== null && b.getAttribute('data-seen') === null) {
        b.setAttribute('data-seen', 'yes');
        w.shown.push(`${b.className} ${b.getAttribute('data-code')}`);
      }
    }).observe(result, { childList: true, subtree: true });
  });
  return () => page.evaluate(() => (globalThis as unknown as { shown: string[] }).shown);
}

describe('the auditor page against misleading evidence', () => {
  it('shows only the verdict of the files asked about, when Verify is clicked again mid-run', async () => {
    const { page } = auditor();
    // The CLI on each: the long bundle is valid, the truncated one is not.
    expect((await cli(['audit', 'verify', '--bundle', 'long.cbor', '--ak', 'ak.pem'])).code).toBe(0);
    expect((await cli(['audit', 'verify', '--bundle', 'truncated.cbor', '--ak', 'ak.pem'])).code).toBe(7);
    await page.setInputFiles('#audit-ak', at('ak.pem'));
    await choose('long.cbor');
    await page.click('#audit-verify');
    await page.locator('#audit-result', { hasText: /verified [1-9]\d* of/ }).waitFor();
    // The long bundle is being verified; the auditor turns to the truncated one.
    await choose('truncated.cbor');
    const shown = await recordBanners();
    await page.click('#audit-verify');
    await page.locator('#audit-banner[data-code=E_AUDIT_TRUNCATED]').waitFor();
    // Until the long bundle's run would have ended: nothing of it may be drawn for the truncated one.
    await page.waitForTimeout(2000);
    expect(await shown()).toEqual(['banner fail E_AUDIT_TRUNCATED']);
  });

  it('judges the file just chosen, even when Verify is clicked before the page has read it', async () => {
    const { page } = auditor();
    await page.setInputFiles('#audit-ak', at('ak.pem'));
    await choose('long.cbor');
    const bytes = [...(await readFile('truncated.cbor'))];
    // In one task of the page: the truncated bundle chosen, and Verify clicked at once.
    await page.evaluate((data) => {
      // In the page: the DOM's DataTransfer, File and elements (this file is typed for Node).
      const dom = globalThis as unknown as {
        DataTransfer: new () => { items: { add(file: unknown): void }; files: unknown };
        File: new (parts: Uint8Array[], name: string) => unknown;
        document: {
          querySelector(s: string): { files: unknown; dispatchEvent(e: Event): void; click(): void };
        };
      };
      const dt = new dom.DataTransfer();
      dt.items.add(new dom.File([new Uint8Array(data)], 'truncated.cbor'));
      const input = dom.document.querySelector('#audit-bundle');
      input.files = dt.files;
      input.dispatchEvent(new Event('change'));
      dom.document.querySelector('#audit-verify').click();
    }, bytes);
    const banner = page.locator('#audit-banner');
    await banner.waitFor();
    expect(await banner.getAttribute('data-code')).toBe('E_AUDIT_TRUNCATED');
  });

  it('shows the verdict when an entry is timed beyond what a Date holds', async () => {
    const r = await cli(['--json', 'audit', 'verify', '--bundle', 'far-future.cbor', '--ak', 'ak.pem']);
    const page = await verifyOnPage(auditor(), 'audit', { bundle: at('far-future.cbor'), ak: at('ak.pem') });
    expect(r.code).toBe(0);
    expect(page).toEqual({ ok: true, code: '', json: r.stdout });
    expect(await auditor().page.locator('#audit .timeline .dot').count()).toBe(2);
  });

  it('shows markup in an executable path and in a file name as text', async () => {
    const { page } = auditor();
    const name = '<img src=x onerror="document.body.dataset.pwned=1">.cbor';
    await copyFile('markup.cbor', name);
    await verifyOnPage(auditor(), 'audit', { bundle: at(name), ak: at('ak.pem') });
    await page.locator('#audit-lineage button').first().click();
    expect(await page.locator('#audit .picked').textContent()).toContain(JSON.stringify(HOSTILE_EXE));
    expect(await page.locator('#audit .drop .chosen', { hasText: name }).count()).toBe(1);
    expect(await page.locator('#audit-lineage button').first().textContent()).toContain(HOSTILE_EXE);
    expect(await page.locator('main img').count()).toBe(0);
    expect(await page.getAttribute('body', 'data-pwned')).toBeNull();
  });

  it('keeps its Content-Security-Policy: nothing from elsewhere, no inline script, no eval', async () => {
    const csp = await auditor().page.getAttribute('meta[http-equiv=Content-Security-Policy]', 'content');
    const directives = new Map(
      (csp ?? '').split(';').map((d) => {
        const [name = '', ...sources] = d.trim().split(/\s+/);
        return [name, sources] as const;
      }),
    );
    expect(directives.get('default-src')).toEqual(["'none'"]);
    expect(directives.get('connect-src')).toEqual(["'none'"]);
    expect(directives.get('script-src')).toEqual(["'self'", "'wasm-unsafe-eval'"]);
    expect(directives.get('worker-src')).toEqual(['blob:']);
    expect(auditor().requests).toEqual([]);
  });
});
