// SPDX-License-Identifier: Apache-2.0
/**
 * The auditor page's audit verification against the CLI's (issue 16): a bundle of ENTRIES realistic
 * verdict entries (bench/audit-e2e.bench.ts `realisticEntry`) with a swtpm checkpoint after every
 * 1,000 (a throw-away swtpm and `execgate host init`), verified
 * - by the CLI's code in this process: agent/audit/bundle.ts `verifyBundle` (`execgate audit verify
 *   --bundle F --ak PEM` without the process start), node:crypto where agent/crypto routes to it;
 * - by the page in Debian's Chromium (headless, playwright-core), from file://: the time its worker
 *   measures around the same `verifyBundle` (wasm-core for everything, agent/crypto/backend.browser.ts),
 *   and, beside it, from the click on Verify to the verdict on screen (the bundle copied to the
 *   worker, and the views' first 5,000 entries decoded and drawn).
 * Rounds alternate the two (sampleAsync's round-robin is not possible across a browser, so each round
 * is one CLI verify then one page verify). Prints a markdown table of medians and the page/CLI ratio.
 * `BENCH_WEB_ENTRIES=N` changes the size (default 100,000), `BENCH_WEB_ROUNDS=N` the rounds (default 5).
 */
import { execFileSync } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { spkiToPem } from '../agent/attest/quote.js';
import { exportBundle, verifyBundle } from '../agent/audit/bundle.js';
import { checkpointNow } from '../agent/audit/log.js';
import { AuditStore } from '../agent/audit/store.js';
import { initHashing } from '../agent/crypto/hash.js';
import { initVerification } from '../agent/crypto/verify.js';
import { type Host, NV_INDEX, realisticEntry, startHost, withHostAk } from './audit-e2e.bench.js';
import { formatNs, median, ratio, table } from './measure.js';

const ENTRIES = Number(process.env.BENCH_WEB_ENTRIES ?? 100_000);
const ROUNDS = Number(process.env.BENCH_WEB_ROUNDS ?? 5);
const GROUP = 1000;
const ROOT = join(import.meta.dirname, '..');

/** The bundle, built on a fresh swtpm host (its AK and NV counter) in the host's directory. */
async function buildBundle(host: Host): Promise<Uint8Array> {
  const store = await AuditStore.open(join(host.dir, 'log'));
  try {
    await withHostAk(host.swtpm.tcti, async (tpm, ak) => {
      for (let done = 0; done < ENTRIES; done += GROUP) {
        store.appendBatch(
          Array.from({ length: Math.min(GROUP, ENTRIES - done) }, (_, j) => realisticEntry(done + j)),
        );
        await checkpointNow(store, tpm, ak, { nvIndex: NV_INDEX });
      }
    });
    return exportBundle(store, host.akSpki);
  } finally {
    store.close();
  }
}

export async function main(): Promise<void> {
  await initHashing({ threads: 2 });
  await initVerification();
  const host = await startHost();
  const { dir, akSpki } = host;
  try {
    const bundle = await buildBundle(host);
    const bundleFile = join(dir, 'bundle.cbor');
    const akFile = join(dir, 'ak.pem');
    await writeFile(bundleFile, bundle);
    await writeFile(akFile, spkiToPem(akSpki));
    const web = join(dir, 'web');
    execFileSync(process.execPath, [join(ROOT, 'scripts', 'build-web.mjs'), web], { stdio: 'pipe' });

    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage();
      await page.goto(`file://${join(web, 'index.html')}`);
      await page.waitForSelector('body[data-ready=yes]');
      await page.setInputFiles('#audit-bundle', bundleFile);
      await page.setInputFiles('#audit-ak', akFile);
      /** Progress messages the page's bar took during the last verification. */
      let updates = 0;
      const onPage = async (): Promise<{ worker: number; click: number }> => {
        const t0 = process.hrtime.bigint();
        await page.click('#audit-verify');
        const banner = page.locator('#audit-banner');
        await banner.waitFor({ timeout: 600_000 });
        const click = Number(process.hrtime.bigint() - t0);
        if ((await banner.getAttribute('class'))?.includes(' ok') !== true)
          throw new Error(`the page refused the bundle: ${await banner.textContent()}`);
        updates = Number(await banner.getAttribute('data-progress-updates'));
        return { worker: Number(await banner.getAttribute('data-ms')) * 1e6, click };
      };
      const inCli = async (): Promise<number> => {
        const t0 = process.hrtime.bigint();
        const v = await verifyBundle(bundle, akSpki);
        if (!v.ok) throw new Error(`verifyBundle refused the bundle: ${v.code} ${v.detail}`);
        return Number(process.hrtime.bigint() - t0);
      };
      await inCli();
      await onPage();
      const cli: number[] = [];
      const worker: number[] = [];
      const click: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        cli.push(await inCli());
        const p = await onPage();
        worker.push(p.worker);
        click.push(p.click);
      }
      const c = median(cli);
      const w = median(worker);
      const k = median(click);
      table(
        `audit bundle verification, ${ENTRIES.toLocaleString('en')} entries, ${Math.ceil(ENTRIES / GROUP)} checkpoints (${(bundle.length / 1e6).toFixed(1)} MB); Chromium ${browser.version()}; medians of ${ROUNDS} rounds`,
        ['verifier', 'time', 'entries / s', 'vs the CLI'],
        [
          [
            'CLI: verifyBundle in Node (node:crypto + wasm-core)',
            formatNs(c),
            Math.round((ENTRIES / c) * 1e9).toLocaleString('en'),
            '1.00×',
          ],
          [
            '**page: verifyBundle in its worker (wasm-core)**',
            formatNs(w),
            Math.round((ENTRIES / w) * 1e9).toLocaleString('en'),
            `**${ratio(w, c)}**`,
          ],
          [
            `page: click to verdict on screen (copy to the worker, views; ${updates} progress updates)`,
            formatNs(k),
            Math.round((ENTRIES / k) * 1e9).toLocaleString('en'),
            ratio(k, c),
          ],
        ],
      );
    } finally {
      await browser.close();
    }
  } finally {
    await host.swtpm.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
