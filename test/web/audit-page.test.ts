// SPDX-License-Identifier: Apache-2.0
// The auditor page on audit bundles, in Chromium, offline: a log of verdicts (allow and deny under
// several reason codes and executables, children under the verdict they ran under) checkpointed twice
// on swtpm and exported by the CLI, then each tamper kind of test/cli/audit-tamper.test.ts done to the
// exported bundle (an entry changed, made malformed, deleted inside and at the end, two swapped, the log
// truncated, a checkpoint's signature changed, another AK, checkpoints out of order). For each, the
// verdict JSON the page exports equals `execgate audit verify --bundle F --ak PEM --json`'s stdout
// byte for byte, and the code is the tamper's; inputs also arrive by drag and drop. Screenshots of the views
// go to test-results/web/.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAk } from '../../agent/attest/ak.js';
import { decodeBundle, encodeBundle, spkiOfPublic, spkiToPem } from '../../agent/attest/quote.js';
import { decodeVerdict, type EntryInput, encodeEntry } from '../../agent/audit/entry.js';
import { AuditStore } from '../../agent/audit/store.js';
import { initHashing } from '../../agent/crypto/hash.js';
import { initVerification } from '../../agent/crypto/verify.js';
import { concatBytes } from '../../agent/encoding/bytes.js';
import { type CborValue, decodeCbor, decodeCborSequence, encodeCbor } from '../../agent/encoding/cbor.js';
import { cli } from '../cli/helpers.js';
import { useSwtpm } from '../helpers/swtpm.js';
import { openTpm } from '../tpm/swtpm-kit.js';
import { screenshot, useAuditorPage, verifyOnPage } from './page.js';

const swtpm = useSwtpm();
const auditor = useAuditorPage();
const AK = 0x81010002;
const T0 = 1_765_000_000_000;
let work: string;
let cwd: string;
/** The bundle's items: header, 2 checkpoints, entries. */
let items: Uint8Array[];

/** A run of verdicts: allows and denies of a few executables, each child under its parent's verdict. */
function verdicts(from: number, count: number): EntryInput[] {
  const exes = ['/usr/bin/backup', '/usr/bin/curl', '/usr/local/bin/deploy'];
  const reasons = ['E_SIGNATURE', 'E_EXPIRED', 'E_REVOKED'];
  return Array.from({ length: count }, (_, k) => {
    const i = from + k;
    const allow = i % 3 !== 1;
    return {
      time: T0 + i * 60_000,
      verdict: allow ? 'allow' : 'deny',
      reason: allow ? 'OK' : (reasons[i % reasons.length] ?? 'E_SIGNATURE'),
      exe: exes[i % exes.length] ?? '/usr/bin/backup',
      pid: 1000 + i,
      ...(i > 0 && i % 4 !== 0 ? { parent: Math.floor((i - 1) / 2) } : {}),
    };
  });
}

beforeAll(async () => {
  await initHashing();
  await initVerification();
  work = await mkdtemp(join(tmpdir(), 'execgate-web-audit-'));
  cwd = process.cwd();
  // The CLI is given the names the page shows (the file's name): run it where the files are.
  process.chdir(work);
  const t = swtpm().tcti;
  expect((await cli(['--tcti', t, 'host', 'init'])).stderr).toBe('');
  const ak = await readAk(openTpm(swtpm()), AK);
  if (!ak) throw new Error('no AK');
  await writeFile('ak.pem', spkiToPem(spkiOfPublic(ak.public)));
  const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
  await writeFile('other-ak.pem', other.export({ type: 'spki', format: 'pem' }));
  const dir = join(work, 'state');
  let n = 0;
  for (const count of [6, 5, 3]) {
    const store = await AuditStore.open(dir);
    try {
      for (const e of verdicts(n, count)) store.append(e);
    } finally {
      store.close();
    }
    n += count;
    // Two checkpoints; the last 3 entries come after the newest.
    if (n < 14) expect((await cli(['--tcti', t, 'audit', 'checkpoint', '--state-dir', dir])).stderr).toBe('');
  }
  const r = await cli([
    '--tcti',
    t,
    'audit',
    'export',
    '--state-dir',
    dir,
    '--out',
    'valid.cbor',
    '--ak',
    'ak.pem',
  ]);
  expect(r.stderr).toBe('');
  items = [...decodeCborSequence(new Uint8Array(await readFile('valid.cbor')), { tags: [] })].map((i) =>
    Uint8Array.from(i.bytes),
  );
  expect(items.length).toBe(1 + 2 + 14);
}, 60_000);

afterAll(async () => {
  process.chdir(cwd);
  await rm(work, { recursive: true, force: true });
});

/** The bundle with its entries (items after the checkpoints) edited by `edit`. */
function withEntries(edit: (entries: Uint8Array[]) => Uint8Array[]): Uint8Array {
  return concatBytes([...items.slice(0, 3), ...edit(items.slice(3))]);
}

/** The checkpoint item with its quote's signature changed in one bit. */
function badSignature(item: Uint8Array): Uint8Array {
  const [size, counter, body, quote, certificate] = decodeCbor(item, { tags: [] }) as CborValue[];
  const ev = decodeBundle(quote as Uint8Array);
  const sig = Uint8Array.from(ev.signature);
  sig[sig.length - 1] = (sig[sig.length - 1] ?? 0) ^ 1;
  return encodeCbor([size, counter, body, encodeBundle({ ...ev, signature: sig }), certificate] as CborValue);
}

const swap = <T>(a: T[], i: number, j: number): T[] => {
  const out = [...a];
  [out[i], out[j]] = [a[j] as T, a[i] as T];
  return out;
};

const header = () => items[0] as Uint8Array;
const c1 = () => items[1] as Uint8Array;
const c2 = () => items[2] as Uint8Array;

/** name → [bundle bytes, AK file, the code the CLI and the page must both give]. */
const CASES: Record<string, () => [Uint8Array, string, string | undefined]> = {
  valid: () => [concatBytes(items), 'ak.pem', undefined],
  'entry-changed': () => [
    withEntries((e) => {
      const v = decodeVerdict(e[2] as Uint8Array);
      return [...e.slice(0, 2), encodeEntry({ ...v, pid: (v.pid ?? 0) + 1 }), ...e.slice(3)];
    }),
    'ak.pem',
    'E_AUDIT_ROOT',
  ],
  'entry-malformed': () => [
    withEntries((e) => [...e.slice(0, 3), new Uint8Array([0xff]), ...e.slice(4)]),
    'ak.pem',
    'E_AUDIT_ENTRY',
  ],
  'entry-deleted': () => [withEntries((e) => [...e.slice(0, 1), ...e.slice(2)]), 'ak.pem', 'E_AUDIT_ROOT'],
  'last-entry-deleted': () => [withEntries((e) => e.slice(0, -1)), 'ak.pem', 'E_AUDIT_TRUNCATED'],
  swapped: () => [withEntries((e) => swap(e, 1, 3)), 'ak.pem', 'E_AUDIT_ROOT'],
  truncated: () => [withEntries((e) => e.slice(0, 8)), 'ak.pem', 'E_AUDIT_TRUNCATED'],
  'checkpoint-signature': () => [
    concatBytes([header(), badSignature(c1()), c2(), ...items.slice(3)]),
    'ak.pem',
    'E_AUDIT_CHECKPOINT',
  ],
  'other-ak': () => [concatBytes(items), 'other-ak.pem', 'E_AUDIT_CHECKPOINT'],
  'checkpoints-out-of-order': () => [
    concatBytes([header(), c2(), c1(), ...items.slice(3)]),
    'ak.pem',
    'E_AUDIT_ROLLBACK',
  ],
};

describe('audit bundle verification on the page', () => {
  for (const [name, make] of Object.entries(CASES)) {
    it(`${name}: the page's verdict JSON is the CLI's, byte for byte`, async () => {
      const [bytes, ak, code] = make();
      const file = `${name}.cbor`;
      await writeFile(file, bytes);
      const r = await cli(['audit', 'verify', '--bundle', file, '--ak', ak, '--json']);
      expect(r.code).toBe(code === undefined ? 0 : 7);
      const page = await verifyOnPage(auditor(), 'audit', { bundle: join(work, file), ak: join(work, ak) });
      expect(page).toEqual({ ok: code === undefined, code: code ?? '', json: r.stdout });
      if (name === 'valid' || name === 'entry-changed') await screenshot(auditor(), 'audit', `audit-${name}`);
    });
  }

  it('draws the timeline (checkpoints marked) and the lineage tree, and shows an entry on click', async () => {
    const { page } = auditor();
    await verifyOnPage(auditor(), 'audit', { bundle: join(work, 'valid.cbor'), ak: join(work, 'ak.pem') });
    expect(await page.locator('#audit .timeline .dot').count()).toBe(14);
    expect(await page.locator('#audit .timeline line.checkpoint').count()).toBe(2);
    // The lineage is `audit show --tree`'s: the same lines, as nested buttons.
    const shown = await cli([
      '--tcti',
      swtpm().tcti,
      'audit',
      'show',
      '--state-dir',
      join(work, 'state'),
      '--tree',
    ]);
    const labels = await page.locator('#audit-lineage button').allTextContents();
    expect(labels.length).toBe(14);
    expect(
      shown.stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => l.replace(/^[│├└─ ]+/, '')),
    ).toEqual(labels);
    await page.locator('#audit-lineage button', { hasText: /^5 allow/ }).click();
    const picked = await page.locator('#audit .picked').textContent();
    expect(picked).toContain('exe: "/usr/local/bin/deploy"');
    expect(picked).toContain('pid: 1005');
    await page.click('#audit-lanes');
    expect(await page.locator('#audit .counts td').first().textContent()).toBe('/usr/bin/backup');
    await screenshot(auditor(), 'audit', 'audit-views');
  });

  it('takes its inputs by drag and drop too', async () => {
    const { page } = auditor();
    for (const [field, file] of [
      ['bundle', 'valid.cbor'],
      ['ak', 'ak.pem'],
    ] as const) {
      const bytes = [...(await readFile(join(work, file)))];
      const dataTransfer = await page.evaluateHandle(
        ([name, data]) => {
          // In the page: the DOM's DataTransfer and File (this file is typed for Node).
          const dom = globalThis as unknown as {
            DataTransfer: new () => { items: { add(file: unknown): void } };
            File: new (parts: Uint8Array[], name: string) => unknown;
          };
          const dt = new dom.DataTransfer();
          dt.items.add(new dom.File([new Uint8Array(data)], name));
          return dt;
        },
        [file, bytes] as const,
      );
      await page.dispatchEvent(`#audit-${field}`, 'drop', { dataTransfer });
      await page.locator(`#audit .drop:has(#audit-${field}) .chosen`, { hasText: file }).waitFor();
    }
    await page.click('#audit-verify');
    const banner = page.locator('#audit-banner');
    await banner.waitFor();
    expect(await banner.getAttribute('class')).toContain(' ok');
  });

  it('works offline: nothing was requested after load', () => {
    expect(auditor().requests).toEqual([]);
  });
});
