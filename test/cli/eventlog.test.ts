// SPDX-License-Identifier: Apache-2.0
// `execgate eventlog show | replay | verify`: real logs shown and replayed to their stated values, the
// securityfs default (present, absent), and verify against real swtpm quotes (fresh, and a bundle given
// with its AK and nonce) of a synthetic boot log whose digests were extended, then tampered with.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeBundle, makeQuote, spkiToPem } from '../../agent/attest/quote.js';
import { EXIT } from '../../agent/cli/exit.js';
import { EV, parseEventLog } from '../../agent/measure/eventlog.js';
import { PCR_Extend } from '../../agent/tpm/commands.js';
import { TPM_RH } from '../../agent/tpm/constants.js';
import { parseSelection } from '../../agent/tpm/pcr-selection.js';
import { Tpm } from '../../agent/tpm/tpm.js';
import { openTransport } from '../../agent/tpm/transport/index.js';
import { useSwtpm } from '../helpers/swtpm.js';
import { buildEventLog, uefiBootEvents } from '../helpers/synthetic-eventlog.js';
import { legacySha1AkTemplate, withPrimary } from '../tpm/swtpm-kit.js';
import { cli } from './helpers.js';

const swtpm = useSwtpm();
const REAL = join(import.meta.dirname, '../vectors/eventlog/keylime/binary_bios_measurements');
const EXPECTED = JSON.parse(
  await readFile(join(import.meta.dirname, '../vectors/eventlog/expected_pcrs.json'), 'utf8'),
) as Record<string, { helper_replay: Record<string, Record<string, string>> }>;

const LOG = buildEventLog({ banks: ['sha1', 'sha256'], events: uefiBootEvents() });
let dir: string;
const tcti = () => ['--tcti', swtpm().tcti];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'execgate-eventlog-'));
  await writeFile(join(dir, 'boot.log'), LOG.bytes);
  const tpm = new Tpm(openTransport(swtpm().tcti));
  try {
    for (const x of LOG.extends) await tpm.run(PCR_Extend, { pcrHandle: x.pcr, digests: [...x.digests] });
  } finally {
    await tpm.close();
  }
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The synthetic log with `edit` applied to a copy of its bytes, written to a new file. */
async function tampered(name: string, edit: (bytes: Uint8Array) => void): Promise<string> {
  const bytes = LOG.bytes.slice();
  edit(bytes);
  const file = join(dir, name);
  await writeFile(file, bytes);
  return file;
}

describe('eventlog show and replay', () => {
  it('show --json lists every event with decoded data and the log banks', async () => {
    const r = await cli(['eventlog', 'show', REAL, '--json']);
    expect(r.code, r.stderr).toBe(EXIT.OK);
    const doc = JSON.parse(r.stdout) as {
      format: string;
      algorithms: { alg: string }[];
      events: { index: number; type: string; data: { kind: string } }[];
      findings: unknown[];
    };
    const log = parseEventLog(new Uint8Array(await readFile(REAL)));
    expect(doc.format).toBe('crypto-agile');
    expect(doc.algorithms.map((a) => a.alg)).toEqual(['sha1', 'sha256']);
    expect(doc.events).toHaveLength(log.events.length);
    expect(doc.events[0]?.data.kind).toBe('TCG_EfiSpecIDEvent');
    expect(
      doc.events.some(
        (e) => e.type === 'EV_EFI_VARIABLE_DRIVER_CONFIG' && e.data.kind === 'UEFI_VARIABLE_DATA',
      ),
    ).toBe(true);
  });

  it('show prints one line per event and a findings summary', async () => {
    const r = await cli(['eventlog', 'show', REAL]);
    expect(r.code, r.stderr).toBe(EXIT.OK);
    expect(r.stdout).toMatch(/crypto-agile log, 121 events, banks sha1, sha256, StartupLocality 3/);
    // Decoded for people: this Lenovo logged SecureBoot = 00 (tpm2_eventlog shows the same byte).
    expect(r.stdout).toMatch(/SecureBoot \(8be4df61-93ca-11d2-aa0d-00e098032b8c\) = disabled/);
    expect(r.stdout).toMatch(
      /Boot0000 .* = "Fedora" HD\(1,GPT,[0-9a-f-]+,0x800,0x80000\)\/\\EFI\\fedora\\shimx64\.efi/,
    );
  });

  it('replay --json gives the stated values of every PCR the log extends, shaped like tpm pcrs --json', async () => {
    const r = await cli(['eventlog', 'replay', REAL, '--json']);
    expect(r.code, r.stderr).toBe(EXIT.OK);
    const doc = JSON.parse(r.stdout) as Record<string, Record<string, string>>;
    const want = EXPECTED['keylime/binary_bios_measurements']?.helper_replay ?? {};
    for (const bank of ['sha1', 'sha256']) {
      expect(Object.keys(doc[bank] ?? {}).length).toBeGreaterThan(0);
      for (const [pcr, value] of Object.entries(doc[bank] ?? {})) expect(value).toBe(want[bank]?.[pcr]);
    }
  });

  it('an unknown workaround is a usage error naming the known ones', async () => {
    const r = await cli(['eventlog', 'replay', REAL, '--workaround', 'nope']);
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.stderr).toMatch(/ebs-events-missing/);
  });

  it('a malformed log exits 7 with its code', async () => {
    const file = join(dir, 'truncated.log');
    await writeFile(file, LOG.bytes.subarray(0, LOG.bytes.length - 3));
    const r = await cli(['eventlog', 'replay', file]);
    expect(r.code).toBe(EXIT.EVIDENCE_INVALID);
    expect(r.stderr).toMatch(/E_EVENTLOG_TRUNCATED/);
  });
});

describe('eventlog without FILE reads securityfs', () => {
  it('reads tpm0/binary_bios_measurements under $EXECGATE_SECURITYFS', async () => {
    const root = join(dir, 'securityfs');
    await mkdir(join(root, 'tpm0'), { recursive: true });
    await writeFile(join(root, 'tpm0/binary_bios_measurements'), LOG.bytes);
    const r = await cli(['eventlog', 'replay', '--json'], { EXECGATE_SECURITYFS: root });
    expect(r.code, r.stderr).toBe(EXIT.OK);
    const fromFile = await cli(['eventlog', 'replay', join(dir, 'boot.log'), '--json']);
    expect(r.stdout).toBe(fromFile.stdout);
  });

  it('with no log there, exits 8 and says what is needed', async () => {
    const root = join(dir, 'empty');
    await mkdir(root, { recursive: true });
    const r = await cli(['eventlog', 'show'], { EXECGATE_SECURITYFS: root });
    expect(r.code).toBe(EXIT.NO_MEASUREMENT_LOG);
    expect(r.stderr).toMatch(/E_MEASURE_NO_LOG/);
    expect(r.stderr).toMatch(/binary_bios_measurements/);
    expect(r.stderr).toMatch(/mount -t securityfs/);
  });
});

describe('eventlog verify against swtpm', () => {
  it('the extended log matches a fresh quote', async () => {
    const r = await cli([...tcti(), 'eventlog', 'verify', join(dir, 'boot.log'), '--json']);
    expect(r.code, r.stdout + r.stderr).toBe(EXIT.OK);
    const doc = JSON.parse(r.stdout) as { ok: boolean; matched: { bank: string; pcr: number }[] };
    expect(doc.ok).toBe(true);
    // PCRs 0–9 in both banks.
    expect(doc.matched).toHaveLength(20);
  });

  it('one changed digest of a data-hashed event fails and names that event', async () => {
    const log = parseEventLog(LOG.bytes);
    const sep = log.events.find((e) => e.eventType === EV.SEPARATOR && e.pcrIndex === 3);
    if (sep === undefined) throw new Error('no separator in PCR 3');
    const sha256 = sep.digests[1]?.digest;
    if (sha256 === undefined) throw new Error('no sha256 digest');
    const at = sha256.byteOffset - LOG.bytes.byteOffset;
    const file = await tampered('digest.log', (b) => {
      b[at] = (b[at] ?? 0) ^ 1;
    });
    const r = await cli([...tcti(), 'eventlog', 'verify', file]);
    expect(r.code).toBe(EXIT.EVIDENCE_INVALID);
    expect(r.stderr).toMatch(/E_EVENTLOG_MISMATCH/);
    expect(r.stderr).toMatch(/sha256 PCR 3/);
    expect(r.stderr).toMatch(new RegExp(`event ${sep.index}\\b`));
  });

  it('an extended event retagged as EV_NO_ACTION is reported', async () => {
    const log = parseEventLog(LOG.bytes);
    const action = log.events.find((e) => e.eventType === EV.EFI_ACTION);
    if (action === undefined) throw new Error('no EV_EFI_ACTION');
    const file = await tampered('retag.log', (b) => {
      new DataView(b.buffer, b.byteOffset).setUint32(action.offset + 4, EV.NO_ACTION, true);
    });
    const r = await cli([...tcti(), 'eventlog', 'verify', file, '--json']);
    expect(r.code).toBe(EXIT.EVIDENCE_INVALID);
    const doc = JSON.parse(r.stdout) as { ok: boolean; findings: { index: number; code: string }[] };
    expect(doc.ok).toBe(false);
    expect(doc.findings).toContainEqual(expect.objectContaining({ index: action.index, code: 'retagged' }));
  });

  it('verifies against a quote bundle given with its AK and nonce', async () => {
    const init = await cli([...tcti(), 'host', 'init']);
    expect(init.code, init.stderr).toBe(EXIT.OK);
    const id = JSON.parse((await cli([...tcti(), 'host', 'identity', '--json'])).stdout) as {
      akPublicPem: string;
      akName: string;
      akQualifiedName: string;
    };
    const pem = join(dir, 'ak.pem');
    await writeFile(pem, id.akPublicPem);
    const bundle = join(dir, 'quote.cbor');
    const nonce = '0badc0de0badc0de';
    const q = await cli([...tcti(), 'quote', '--pcrs', 'sha256:0-9', '--nonce', nonce, '--out', bundle]);
    expect(q.code, q.stderr).toBe(EXIT.OK);
    const ok = await cli([
      'eventlog',
      'verify',
      join(dir, 'boot.log'),
      '--quote',
      bundle,
      '--ak',
      pem,
      '--nonce',
      nonce,
    ]);
    expect(ok.code, ok.stderr).toBe(EXIT.OK);
    expect(ok.stdout).toMatch(/10 PCR values/);
    const wrongNonce = await cli([
      'eventlog',
      'verify',
      join(dir, 'boot.log'),
      '--quote',
      bundle,
      '--ak',
      pem,
      '--nonce',
      '00',
    ]);
    expect(wrongNonce.code).toBe(EXIT.EVIDENCE_INVALID);
    expect(wrongNonce.stderr).toMatch(/E_QUOTE_NONCE/);
    const partial = await cli(['eventlog', 'verify', join(dir, 'boot.log'), '--quote', bundle, '--ak', pem]);
    expect(partial.code).toBe(EXIT.USAGE);
    // Pinned to the AK's qualified Name under the EK: the host AK passes, fresh or given; another Name
    // (here its plain Name) is E_QUOTE_SIGNER.
    const given = [
      'eventlog',
      'verify',
      join(dir, 'boot.log'),
      '--quote',
      bundle,
      '--ak',
      pem,
      '--nonce',
      nonce,
    ];
    expect((await cli([...given, '--ak-qualified-name', id.akQualifiedName])).code).toBe(EXIT.OK);
    const fresh = await cli([
      ...tcti(),
      'eventlog',
      'verify',
      join(dir, 'boot.log'),
      '--ak-qualified-name',
      id.akQualifiedName,
    ]);
    expect(fresh.code, fresh.stderr).toBe(EXIT.OK);
    const other = await cli([...given, '--ak-qualified-name', id.akName]);
    expect(other.code).toBe(EXIT.EVIDENCE_INVALID);
    expect(other.stderr).toMatch(/E_QUOTE_SIGNER/);
  });

  it('a bundle quoted by a legacy SHA-1 AK is refused (E_QUOTE_SIGNATURE_ALG) unless --allow-sha1-ak', async () => {
    const nonce = '5a15a15a15a15a1a';
    const bundle = join(dir, 'sha1-quote.cbor');
    const pem = join(dir, 'sha1-ak.pem');
    const tpm = new Tpm(openTransport(swtpm().tcti));
    try {
      await withPrimary(tpm, TPM_RH.ENDORSEMENT, legacySha1AkTemplate(), async (key) => {
        const ev = await makeQuote(
          tpm,
          { handle: key.objectHandle, public: key.outPublic },
          { selection: parseSelection('sha256:0-9'), nonce: Buffer.from(nonce, 'hex') },
        );
        await writeFile(bundle, encodeBundle(ev));
        await writeFile(pem, spkiToPem(ev.akSpki));
      });
    } finally {
      await tpm.close();
    }
    const args = [
      'eventlog',
      'verify',
      join(dir, 'boot.log'),
      '--quote',
      bundle,
      '--ak',
      pem,
      '--nonce',
      nonce,
    ];
    const refused = await cli(args);
    expect(refused.code).toBe(EXIT.EVIDENCE_INVALID);
    expect(refused.stderr).toMatch(/E_QUOTE_SIGNATURE_ALG/);
    const allowed = await cli([...args, '--allow-sha1-ak']);
    expect(allowed.code, allowed.stderr).toBe(EXIT.OK);
    expect(allowed.stdout).toMatch(/10 PCR values/);
  });
});
