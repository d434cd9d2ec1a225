// SPDX-License-Identifier: Apache-2.0
// The auditor page on artifacts, quotes, event logs and reference states, in Chromium, offline; for
// each input the verdict JSON the page exports equals the CLI's `--json` stdout byte for byte (and the
// page has none where the CLI prints none), with the CLI's code:
// - artifacts made by the CLI: valid (a root, a delegated child with an approval), and each denial of
//   the artifact issue (E_SIGNATURE, E_UNTRUSTED_ISSUER, E_NOT_YET_VALID, E_EXPIRED, E_APPROVAL,
//   E_REVOKED, E_FORMAT, E_LINEAGE), and a revocation list by an untrusted key (refused before judging);
// - the real keylime quote of test/vectors (tpm2-tools files), with its nonce and with another one;
// - a synthetic UEFI boot log extended into swtpm and quoted there: `eventlog verify` on it and on a
//   log with one event changed (the first diverging event highlighted), and `state check` against the
//   reference `state capture` made of it.
// Screenshots of each view go to test-results/web/.
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeArtifact } from '../../agent/artifact/artifact.js';
import { encodeBundle, makeQuote, spkiToPem, withAk } from '../../agent/attest/quote.js';
import { initHashing } from '../../agent/crypto/hash.js';
import { parseSigningKey } from '../../agent/crypto/keys.js';
import { initVerification } from '../../agent/crypto/verify.js';
import { toHex } from '../../agent/encoding/bytes.js';
import { EV } from '../../agent/measure/eventlog.js';
import { PCR_Extend } from '../../agent/tpm/commands.js';
import { parseSelection } from '../../agent/tpm/pcr-selection.js';
import { Tpm } from '../../agent/tpm/tpm.js';
import { openTransport } from '../../agent/tpm/transport/index.js';
import { cli } from '../cli/helpers.js';
import { forgeChild } from '../helpers/artifact-forge.js';
import { useSwtpm } from '../helpers/swtpm.js';
import { ascii, buildEventLog, uefiBootEvents } from '../helpers/synthetic-eventlog.js';
import { type PanelInputs, screenshot, useAuditorPage, verifyOnPage } from './page.js';

const swtpm = useSwtpm();
const auditor = useAuditorPage();
const VECTORS = join(import.meta.dirname, '..', 'vectors', 'tpm');
let work: string;
let cwd: string;
const at = (f: string) => join(work, f);

/** Runs the CLI with `--json` and the page on the same inputs; both must agree, with `code`. */
async function agree(
  panel: string,
  argv: string[],
  inputs: PanelInputs,
  code: string | undefined,
  shot: string | undefined,
): Promise<string> {
  const r = await cli(['--json', ...argv]);
  const page = await verifyOnPage(auditor(), panel, inputs);
  if (shot !== undefined) await screenshot(auditor(), panel, shot);
  expect(
    page.ok,
    `${r.stderr} | page: ${await auditor().page.locator(`#${panel}-banner`).textContent()}`,
  ).toBe(code === undefined);
  expect(page.code).toBe(code ?? '');
  if (code !== undefined) expect(r.stderr).toMatch(new RegExp(`^execgate: ${code}: `));
  expect(page.json ?? '').toBe(r.stdout);
  return r.stdout;
}

beforeAll(async () => {
  await initHashing();
  await initVerification();
  work = await mkdtemp(join(tmpdir(), 'execgate-web-evidence-'));
  cwd = process.cwd();
  // The CLI is given the names the page shows (the file's name): run it where the files are.
  process.chdir(work);
}, 30_000);

afterAll(async () => {
  process.chdir(cwd);
  await rm(work, { recursive: true, force: true });
});

describe('artifacts', () => {
  const T = 2_000_000_000;
  const ok = async (argv: string[]) => {
    const r = await cli(argv);
    expect(r.stderr).toBe('');
  };
  beforeAll(async () => {
    for (const [k, alg] of [
      ['iss', 'ed25519'],
      ['del', 'p256'],
      ['appr', 'p384'],
      ['other', 'ed25519'],
    ])
      await ok(['key', 'gen', '--alg', alg as string, '--out', `${k}.key`]);
    await writeFile('tool', 'a tool\n');
    // Issued by ops for this host and tool, valid for an hour from T.
    const issue = (out: string, ...extra: string[]) =>
      ok([
        'artifact',
        'issue',
        '--key',
        'iss.key',
        '--issuer',
        'ops',
        '--host',
        `000b${'ab'.repeat(32)}`,
        '--exe',
        at('tool'),
        '--not-before',
        `@${T}`,
        '--ttl',
        '1h',
        ...extra,
        '--out',
        out,
      ]);
    await issue('root.cose');
    await issue('parent.cose', '--delegate-key', 'del.key.pub', '--delegate-depth', '0');
    await ok([
      'artifact',
      'delegate',
      '--parent',
      'parent.cose',
      '--key',
      'del.key',
      '--issuer',
      'team',
      '--exe',
      at('tool'),
      '--not-before',
      `@${T}`,
      '--ttl',
      '30m',
      '--out',
      'child.cose',
    ]);
    await ok(['artifact', 'approve', 'child.cose', '--key', 'appr.key']);
    const bad = new Uint8Array(await readFile('root.cose'));
    bad[bad.length - 1] = (bad[bad.length - 1] ?? 0) ^ 1;
    await writeFile('bad-signature.cose', bad);
    await writeFile('junk.cose', ascii('not an artifact'));
    // A child wider in time than its parent's window, signed by the delegate key: E_LINEAGE.
    const parent = new Uint8Array(await readFile('parent.cose'));
    const child = decodeArtifact(new Uint8Array(await readFile('child.cose'))).claims;
    const { parent: _p, ...claims } = child;
    const delKey = parseSigningKey(new Uint8Array(await readFile('del.key')));
    await writeFile('wider.cose', forgeChild(parent, { ...claims, exp: T + 7200 }, delKey));
    const cti = toHex(decodeArtifact(new Uint8Array(await readFile('root.cose'))).claims.cti);
    await ok(['revoke', '--key', 'iss.key', '--issuer', 'ops', '--cti', cti, '--out', 'revoked.cose']);
    await ok(['revoke', '--key', 'other.key', '--issuer', 'x', '--cti', cti, '--out', 'foreign-list.cose']);
  }, 30_000);

  /** artifact verify FILE --trust TRUST --at AT [extra] on both sides. */
  const CASES: [string, string, string, Record<string, string | string[]>, string | undefined][] = [
    ['valid', 'root.cose', '@2000001000', {}, undefined],
    [
      'valid-chain-approved',
      'child.cose',
      '@2000001000',
      { approvers: ['appr.key.pub'], approvals: '1' },
      undefined,
    ],
    ['signature', 'bad-signature.cose', '@2000001000', {}, 'E_SIGNATURE'],
    ['untrusted', 'root.cose', '@2000001000', { trust: ['other.key.pub'] }, 'E_UNTRUSTED_ISSUER'],
    ['not-yet-valid', 'root.cose', '@1999999999', {}, 'E_NOT_YET_VALID'],
    ['expired', 'root.cose', '@2000003601', {}, 'E_EXPIRED'],
    ['approval', 'root.cose', '@2000001000', { approvers: ['appr.key.pub'], approvals: '1' }, 'E_APPROVAL'],
    ['revoked', 'root.cose', '@2000001000', { revoked: ['revoked.cose'] }, 'E_REVOKED'],
    ['format', 'junk.cose', '@2000001000', {}, 'E_FORMAT'],
    ['lineage', 'wider.cose', '@2000001000', {}, 'E_LINEAGE'],
    [
      'foreign-revocation-list',
      'root.cose',
      '@2000001000',
      { revoked: ['foreign-list.cose'] },
      'E_REVOCATION_LIST',
    ],
  ];
  for (const [name, file, time, extra, code] of CASES) {
    it(`${name}: ${code ?? 'valid'}, the same JSON as artifact verify --json`, async () => {
      const trust = (extra.trust as string[] | undefined) ?? ['iss.key.pub'];
      const approvers = (extra.approvers as string[] | undefined) ?? [];
      const revoked = (extra.revoked as string[] | undefined) ?? [];
      const argv = ['artifact', 'verify', file, '--at', time];
      for (const t of trust) argv.push('--trust', t);
      for (const a of approvers) argv.push('--approver', a);
      if (typeof extra.approvals === 'string') argv.push('--approvals', extra.approvals);
      for (const l of revoked) argv.push('--revoked', l);
      await agree(
        'artifact',
        argv,
        {
          artifact: at(file),
          trust: trust.map(at),
          approvers: approvers.map(at),
          approvals: typeof extra.approvals === 'string' ? extra.approvals : undefined,
          revoked: revoked.map(at),
          at: time,
          skew: undefined,
        },
        code,
        name === 'valid-chain-approved' || name === 'revoked' ? `artifact-${name}` : undefined,
      );
    });
  }
});

describe('quotes', () => {
  const nonce = () =>
    (
      JSON.parse(readFileSync(join(VECTORS, 'expected.json'), 'utf8'))['keylime/'] as {
        attest: { extraData: string };
      }
    ).attest.extraData;
  const files = {
    msg: join(VECTORS, 'keylime', 'quote.out'),
    sig: join(VECTORS, 'keylime', 'quotesig.out'),
    pcrs: join(VECTORS, 'keylime', 'quotepcr.out'),
    ak: join(VECTORS, 'keylime', 'akpub.pem'),
  };
  const argv = (n: string) => [
    'quote',
    'verify',
    '--msg',
    files.msg,
    '--sig',
    files.sig,
    '--pcrs-values',
    files.pcrs,
    '--ak',
    files.ak,
    '--nonce',
    n,
  ];
  it('the keylime vector (tpm2_quote files) verifies, as on the CLI', async () => {
    const out = await agree(
      'quote',
      argv(nonce()),
      { ...files, bundle: undefined, nonce: nonce() },
      undefined,
      'quote-valid',
    );
    expect(JSON.parse(out)).toMatchObject({ ok: true });
  });
  it('another nonce: E_QUOTE_NONCE, as on the CLI', async () => {
    await agree(
      'quote',
      argv('00'.repeat(20)),
      { ...files, bundle: undefined, nonce: '00'.repeat(20) },
      'E_QUOTE_NONCE',
      'quote-nonce',
    );
  });
  it('a malformed nonce is refused before judging: no JSON on either side', async () => {
    await agree(
      'quote',
      argv('xyz'),
      { ...files, bundle: undefined, nonce: 'xyz' },
      'E_USAGE',
      'quote-usage',
    );
  });
});

describe('event log and reference state against a swtpm quote', () => {
  const SELECTION = parseSelection('sha256:0-9');
  const NONCE = '5eed5eed5eed5eed';
  beforeAll(async () => {
    const events = uefiBootEvents();
    const log = buildEventLog({ banks: ['sha256'], events });
    await writeFile('boot.bin', log.bytes);
    // One event more in PCR 4 than the TPM saw: the events before it still replay to the quoted value,
    // so the comparison names it as the first diverging event.
    const k = events.map((e) => e.pcr).lastIndexOf(4);
    const extra = { pcr: 4, type: EV.EFI_ACTION, data: ascii('an application the TPM never measured') };
    const changed = [...events.slice(0, k + 1), extra, ...events.slice(k + 1)];
    await writeFile('changed.bin', buildEventLog({ banks: ['sha256'], events: changed }).bytes);
    const tpm = new Tpm(openTransport(swtpm().tcti));
    try {
      for (const x of log.extends) await tpm.run(PCR_Extend, { pcrHandle: x.pcr, digests: [...x.digests] });
      const ev = await withAk(tpm, { kind: 'primary', alg: 'ecc' }, (ak) =>
        makeQuote(tpm, ak, { selection: SELECTION, nonce: Buffer.from(NONCE, 'hex') }),
      );
      await writeFile('quote.cbor', encodeBundle(ev));
      await writeFile('ak.pem', spkiToPem(ev.akSpki));
    } finally {
      await tpm.close();
    }
    const quote = ['--quote', 'quote.cbor', '--ak', 'ak.pem', '--nonce', NONCE];
    const r = await cli([
      'state',
      'capture',
      '--eventlog',
      'boot.bin',
      ...quote,
      '--no-ima',
      '--out',
      'ref.json',
    ]);
    expect(r.stderr).toBe('');
  }, 30_000);

  const source = (log: string) => ({ log: at(log), quote: at('quote.cbor'), ak: at('ak.pem'), nonce: NONCE });
  const quoteFlags = ['--quote', 'quote.cbor', '--ak', 'ak.pem', '--nonce', NONCE];

  it('eventlog verify: the log replays to the quote, as on the CLI', async () => {
    await agree(
      'eventlog',
      ['eventlog', 'verify', 'boot.bin', ...quoteFlags],
      source('boot.bin'),
      undefined,
      'eventlog-valid',
    );
    expect(await auditor().page.locator('#eventlog table.pcrs tr.match').count()).toBe(10);
  });

  it('eventlog verify: a changed event is E_EVENTLOG_MISMATCH, its PCR and first diverging event highlighted', async () => {
    const out = await agree(
      'eventlog',
      ['eventlog', 'verify', 'changed.bin', ...quoteFlags],
      source('changed.bin'),
      'E_EVENTLOG_MISMATCH',
      'eventlog-mismatch',
    );
    const doc = JSON.parse(out) as { mismatches: { pcr: number; divergence?: { index: number } }[] };
    const { page } = auditor();
    expect(await page.locator('#eventlog table.pcrs tr.mismatch td:nth-child(2)').allTextContents()).toEqual(
      doc.mismatches.map((m) => String(m.pcr)),
    );
    const diverging = doc.mismatches.flatMap((m) => (m.divergence ? [String(m.divergence.index)] : []));
    expect(diverging.length).toBe(1);
    expect(
      await page.locator('#eventlog table.events tr.diverging td:first-child').allTextContents(),
    ).toEqual(diverging);
    // An event's decoded fields on click.
    await page.locator('#eventlog table.events tr').nth(1).click();
    expect(await page.locator('#eventlog .picked').textContent()).toContain('type: "EV_NO_ACTION"');
  });

  it('state check: the reference captured from it matches; the changed log does not', async () => {
    await agree(
      'state',
      ['state', 'check', 'ref.json', '--eventlog', 'boot.bin', ...quoteFlags, '--no-ima'],
      { ...source('boot.bin'), reference: at('ref.json') },
      undefined,
      'state-valid',
    );
    await agree(
      'state',
      ['state', 'check', 'ref.json', '--eventlog', 'changed.bin', ...quoteFlags, '--no-ima'],
      { ...source('changed.bin'), reference: at('ref.json') },
      'E_STATE_MISMATCH',
      'state-mismatch',
    );
  });

  it('works offline: nothing was requested after load', () => {
    expect(auditor().requests).toEqual([]);
  });
});
