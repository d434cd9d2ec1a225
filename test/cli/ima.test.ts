// SPDX-License-Identifier: Apache-2.0
// `execgate ima show | replay | verify`: a real 826-entry ima-ng list shown and replayed to its stated
// aggregate, incremental replay through a checkpoint file, and verify against swtpm quotes after the
// first 500 entries' template hashes were extended into PCR 10 (the rest "arrived after the quote").
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../agent/cli/exit.js';
import { initHashing } from '../../agent/crypto/hash.js';
import { parseImaLog } from '../../agent/measure/ima/index.js';
import { PCR_Extend } from '../../agent/tpm/commands.js';
import { TPM_ALG } from '../../agent/tpm/constants.js';
import { Tpm } from '../../agent/tpm/tpm.js';
import { openTransport } from '../../agent/tpm/transport/index.js';
import { withBootAggregate } from '../helpers/ima-list.js';
import { useSwtpm } from '../helpers/swtpm.js';
import { cli } from './helpers.js';

const swtpm = useSwtpm();
const VECTORS = join(import.meta.dirname, '../vectors/ima');
const LIST = join(VECTORS, 'rust-keylime/ascii_runtime_measurements');
const STATED_SHA1 = '82231c67a69da98dc5b3aa10f6343d33109225fc'; // expected.json helper aggregate
const EXTENDED = 500;
const tcti = () => ['--tcti', swtpm().tcti];
let dir: string;
/** The list as this swtpm's host would have it: its boot_aggregate from the swtpm's PCRs 0–7 (zeros). */
let lines: string[];
let HOST: string;

beforeAll(async () => {
  await initHashing();
  dir = await mkdtemp(join(tmpdir(), 'execgate-ima-'));
  const real = (await readFile(LIST, 'utf8')).split('\n').filter((l) => l.length > 0);
  lines = withBootAggregate(
    real,
    Array.from({ length: 8 }, () => new Uint8Array(20)),
  );
  const text = `${lines.join('\n')}\n`;
  HOST = join(dir, 'host.list');
  await writeFile(HOST, text);
  // Extend the first EXTENDED entries as the kernel does: the SHA-1 template hash into sha1, and the
  // SHA-256 of the same template data into sha256 (Linux ≥ 5.8).
  const log = parseImaLog(new TextEncoder().encode(text));
  const tpm = new Tpm(openTransport(swtpm().tcti));
  try {
    for (const e of log.entries.slice(0, EXTENDED)) {
      const data = e.hashedData;
      if (data === undefined) throw new Error(`entry ${e.index} has no template data`);
      const zero = e.templateHash.every((b) => b === 0);
      const sha256 = zero ? new Uint8Array(32).fill(0xff) : createHash('sha256').update(data).digest();
      await tpm.run(PCR_Extend, {
        pcrHandle: 10,
        digests: [
          { hashAlg: TPM_ALG.SHA1, digest: zero ? new Uint8Array(20).fill(0xff) : e.templateHash },
          { hashAlg: TPM_ALG.SHA256, digest: new Uint8Array(sha256) },
        ],
      });
    }
  } finally {
    await tpm.close();
  }
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function write(name: string, text: string): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, text);
  return file;
}

describe('ima show and replay', () => {
  it('show --json lists every entry with its digest, path and template-hash check', async () => {
    const r = await cli(['ima', 'show', LIST, '--json']);
    expect(r.code, r.stderr).toBe(EXIT.OK);
    const doc = JSON.parse(r.stdout) as {
      format: string;
      entries: { index: number; path: string; digest: string; templateHashCheck: string }[];
    };
    expect(doc.format).toBe('ascii');
    expect(doc.entries).toHaveLength(lines.length);
    expect(doc.entries[1]).toMatchObject({ path: '/init', templateHashCheck: 'match' });
    expect(doc.entries[1]?.digest).toMatch(/^sha1:[0-9a-f]{40}$/);
    expect(doc.entries.every((e) => e.templateHashCheck === 'match')).toBe(true);
  });

  it('replay --json gives the stated PCR 10 aggregate', async () => {
    const r = await cli(['ima', 'replay', LIST, '--json']);
    expect(r.code, r.stderr).toBe(EXIT.OK);
    expect(JSON.parse(r.stdout)).toEqual({ sha1: { '10': STATED_SHA1 } });
  });

  it('a checkpoint file makes replay incremental and gives the same values', async () => {
    const checkpoint = join(dir, 'replay.checkpoint');
    const head = await write('head.list', `${lines.slice(0, 300).join('\n')}\n`);
    const first = await cli(['ima', 'replay', head, '--checkpoint', checkpoint, '--bank', 'sha256']);
    expect(first.code, first.stderr).toBe(EXIT.OK);
    expect(JSON.parse(await readFile(checkpoint, 'utf8'))).toMatchObject({ bank: 'sha256', entryCount: 300 });
    const resumed = await cli(['ima', 'replay', HOST, '--checkpoint', checkpoint, '--json']);
    expect(resumed.code, resumed.stderr).toBe(EXIT.OK);
    const whole = await cli(['ima', 'replay', HOST, '--bank', 'sha256', '--json']);
    expect(resumed.stdout).toBe(whole.stdout);
    expect(JSON.parse(await readFile(checkpoint, 'utf8'))).toMatchObject({ entryCount: lines.length });
  });

  it('a malformed list exits 7 naming the error', async () => {
    const bin = await readFile(join(VECTORS, 'tpm2-tss/sml-ima-ng-sha1-invalidated.bin'));
    const file = join(dir, 'bad.bin');
    await writeFile(file, bin);
    const r = await cli(['ima', 'show', file]);
    expect(r.code).toBe(EXIT.EVIDENCE_INVALID);
    expect(r.stderr).toMatch(/E_IMA_TRUNCATED/);
  });

  it('without FILE and without securityfs, exits 8', async () => {
    const root = join(dir, 'no-securityfs');
    await mkdir(root, { recursive: true });
    const r = await cli(['ima', 'show'], { EXECGATE_SECURITYFS: root });
    expect(r.code).toBe(EXIT.NO_MEASUREMENT_LOG);
    expect(r.stderr).toMatch(/binary_runtime_measurements/);
  });
});

describe('ima verify against swtpm', () => {
  it('finds the prefix the quote covers (sha1 bank, the list’s own)', async () => {
    const r = await cli([...tcti(), 'ima', 'verify', HOST, '--json']);
    expect(r.code, r.stdout + r.stderr).toBe(EXIT.OK);
    expect(JSON.parse(r.stdout)).toMatchObject({
      ok: true,
      covered: EXTENDED,
      entries: lines.length,
      bootAggregate: { status: 'match', pcrs: '0-7' },
    });
  });

  it('a list whose boot_aggregate is not of the quoted PCRs 0–7 fails (the real list: no TPM at boot)', async () => {
    const r = await cli([...tcti(), 'ima', 'verify', LIST, '--json']);
    expect(r.code).toBe(EXIT.EVIDENCE_INVALID);
    const doc = JSON.parse(r.stdout) as {
      covered: number;
      bootAggregate: { status: string };
      problems: string[];
    };
    expect(doc.bootAggregate.status).toBe('mismatch');
    // Entry 0 differs, so no prefix of the real list matches either; both are named.
    expect(doc.problems.join('\n')).toMatch(/boot_aggregate is sha1:0{40}/);
  });

  it('in the sha256 bank, by recomputing each template hash', async () => {
    const r = await cli([...tcti(), 'ima', 'verify', HOST, '--pcrs', 'sha256:10', '--json']);
    expect(r.code, r.stdout + r.stderr).toBe(EXIT.OK);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, covered: EXTENDED, derive: 'recompute' });
  });

  it('an entry whose path was changed inside the covered prefix fails and is named', async () => {
    const edited = [...lines];
    edited[42] = (edited[42] ?? '').replace(/ (\S+)$/, ' /usr/bin/not-what-ran');
    const file = await write('edited.list', `${edited.join('\n')}\n`);
    const r = await cli([...tcti(), 'ima', 'verify', file]);
    expect(r.code).toBe(EXIT.EVIDENCE_INVALID);
    expect(r.stderr).toMatch(/E_IMA_MISMATCH/);
    expect(r.stderr).toMatch(/entry 42 \(\/usr\/bin\/not-what-ran\)/);
  });

  it('a list missing entries the TPM saw matches no prefix', async () => {
    const file = await write('short.list', `${[...lines.slice(0, 100), ...lines.slice(101)].join('\n')}\n`);
    const r = await cli([...tcti(), 'ima', 'verify', file]);
    expect(r.code).toBe(EXIT.EVIDENCE_INVALID);
    expect(r.stderr).toMatch(/no prefix of the list replays to the quoted/);
  });

  it('with a checkpoint, verify hashes only what was added and saves the covered prefix', async () => {
    const checkpoint = join(dir, 'verify.checkpoint');
    const head = await write('head200.list', `${lines.slice(0, 200).join('\n')}\n`);
    expect((await cli(['ima', 'replay', head, '--checkpoint', checkpoint])).code).toBe(EXIT.OK);
    const r = await cli([...tcti(), 'ima', 'verify', HOST, '--checkpoint', checkpoint, '--json']);
    expect(r.code, r.stdout + r.stderr).toBe(EXIT.OK);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, covered: EXTENDED });
    expect(JSON.parse(await readFile(checkpoint, 'utf8'))).toMatchObject({ entryCount: EXTENDED });
  });
});
