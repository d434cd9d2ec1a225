// SPDX-License-Identifier: Apache-2.0
// The auditor page in a real browser for test/web/*.test.ts: the page built into a folder of the test
// file's own (scripts/build-web.mjs, a second or two), Debian's Chromium driven by playwright-core (one
// browser per file), the page opened from file:// and then cut off from every network (each request
// after load is aborted and recorded, the context is offline); a panel's inputs given as files and
// text, its verdict read from the banner and from the file "Export verdict JSON" downloads; and a
// screenshot of each view under test-results/web/ (gitignored: kept as an artifact of the run).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
export const SCREENSHOTS = join(ROOT, 'test-results', 'web');
const CHROMIUM = '/usr/bin/chromium';

export interface AuditorPage {
  readonly page: Page;
  /** Requests the page made after load (each aborted): none, when it works offline. */
  readonly requests: string[];
}

/** Builds the page, starts Chromium and opens the page offline, once for the file. */
export function useAuditorPage(): () => AuditorPage {
  let browser: Browser | undefined;
  let opened: AuditorPage | undefined;
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'execgate-web-'));
    execFileSync(process.execPath, [join(ROOT, 'scripts', 'build-web.mjs'), dir], { stdio: 'pipe' });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    const context = await browser.newContext({
      acceptDownloads: true,
      viewport: { width: 1100, height: 900 },
    });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`file://${join(dir, 'index.html')}`);
    await page.waitForSelector('body[data-ready=yes]');
    if (errors.length > 0) throw new Error(`the page failed to load: ${errors.join('; ')}`);
    // From here on: nothing may be fetched, and nothing can be.
    const requests: string[] = [];
    await context.route('**/*', (route) => {
      requests.push(route.request().url());
      return route.abort();
    });
    await context.setOffline(true);
    mkdirSync(SCREENSHOTS, { recursive: true });
    opened = { page, requests };
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });
  return () => {
    if (opened === undefined) throw new Error('useAuditorPage: the page is not open (use it inside a test)');
    return opened;
  };
}

/** A panel's inputs: files (paths) by field name, text by field name, a checkbox by `true`. */
export type PanelInputs = Record<string, string | readonly string[] | boolean | undefined>;

export interface PageVerdict {
  readonly ok: boolean;
  readonly code: string;
  /** The exported verdict JSON, or undefined when the page (as the CLI) has none for these inputs. */
  readonly json: string | undefined;
}

/** Gives `panel` its inputs (the others cleared), verifies, and reads the verdict. */
export async function verifyOnPage(p: AuditorPage, panel: string, inputs: PanelInputs): Promise<PageVerdict> {
  const { page } = p;
  for (const [name, value] of Object.entries(inputs)) {
    const id = `#${panel}-${name}`;
    if (typeof value === 'boolean') await page.setChecked(id, value);
    else if (value === undefined) {
      if ((await page.getAttribute(id, 'type')) === 'file') await page.setInputFiles(id, []);
      else await page.fill(id, '');
    } else if (typeof value === 'string' && (await page.getAttribute(id, 'type')) === 'text')
      await page.fill(id, value);
    else await page.setInputFiles(id, typeof value === 'string' ? [value] : [...value]);
  }
  await page.click(`#${panel}-verify`);
  const banner = page.locator(`#${panel}-banner`);
  await banner.waitFor({ timeout: 30_000 });
  const ok = (await banner.getAttribute('class'))?.includes(' ok') === true;
  const code = (await banner.getAttribute('data-code')) ?? '';
  const exportButton = page.locator(`#${panel}-export`);
  if ((await exportButton.count()) === 0) return { ok, code, json: undefined };
  const [download] = await Promise.all([page.waitForEvent('download'), exportButton.click()]);
  const path = await download.path();
  return { ok, code, json: readFileSync(path, 'utf8') };
}

/** A screenshot of `panel`'s section, as test-results/web/NAME.png. */
export async function screenshot(p: AuditorPage, panel: string, name: string): Promise<void> {
  await p.page.locator(`#${panel}`).screenshot({ path: join(SCREENSHOTS, `${name}.png`) });
}
