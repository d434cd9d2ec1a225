// SPDX-License-Identifier: Apache-2.0
// `execgate quote` and `execgate quote verify`, with tpm2-tools as the other side (SWTPM.md §4):
// tpm2_quote's files verify with `execgate quote verify`, and `execgate quote --format tpm2-tools`
// passes tpm2_checkquote, for RSA and ECC AKs and single- and multi-bank selections; --ak-qualified-name
// against tpm2_readpublic's qualified Names of two AKs under the EK and of a primary; a tpm2_createak pair
// quoted with --ak-public/--ak-private.
import { execFile } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePcrs } from '../../agent/attest/tpm2-tools-format.js';
import { EXIT } from '../../agent/cli/exit.js';
import { bankName } from '../../agent/crypto/algorithms.js';
import { EvictControl } from '../../agent/tpm/commands.js';
import { TPM_RH } from '../../agent/tpm/constants.js';
import { parseSelection } from '../../agent/tpm/pcr-selection.js';
import { akEccP256Template, akRsa2048Template } from '../../agent/tpm/templates.js';
import { useSwtpm } from '../helpers/swtpm.js';
import {
  createPrimary,
  flushAllTransient,
  legacySha1AkTemplate,
  openTpm,
  transientHandles,
  withTempDir,
} from '../tpm/swtpm-kit.js';
import { cli } from './helpers.js';

const swtpm = useSwtpm();
const execFileP = promisify(execFile);
const NONCE = '00112233445566778899aabbccddeeff';
const AKS = { rsa: '0x81010002', ecc: '0x81010003' } as const;
const SELECTIONS = ['sha256:0-7,16', 'sha1:0,23+sha256:0-7,16'];

/** The selection with ranges spelled out: tpm2-tools 5.4 takes lists only (`sha256:0,1,2`). */
function listed(sel: string): string {
  return parseSelection(sel)
    .map((b) => `${bankName(b.hash)}:${b.pcrs.join(',')}`)
    .join('+');
}

/** Runs a tpm2-tools command on the swtpm; resolves with its exit code and output (never rejects). */
async function tool(args: string[], cwd: string): Promise<{ code: number; out: string }> {
  const [cmd, ...rest] = args;
  try {
    const { stdout, stderr } = await execFileP(cmd ?? '', rest, {
      cwd,
      env: { ...process.env, ...swtpm().env },
    });
    return { code: 0, out: stdout + stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof err.code === 'number' ? err.code : 1,
      out: `${err.stdout ?? ''}${err.stderr ?? ''}`,
    };
  }
}

async function must(args: string[], cwd: string): Promise<string> {
  const r = await tool(args, cwd);
  expect(r.code, `${args.join(' ')}: ${r.out}`).toBe(0);
  return r.out;
}

beforeAll(async () => {
  // Two AKs made by execgate's templates in the endorsement hierarchy, persisted for tpm2-tools.
  const tpm = openTpm(swtpm());
  try {
    for (const [alg, handle] of Object.entries(AKS)) {
      const key = await createPrimary(
        tpm,
        TPM_RH.ENDORSEMENT,
        alg === 'rsa' ? akRsa2048Template() : akEccP256Template(),
      );
      try {
        await tpm.run(EvictControl, {
          auth: TPM_RH.OWNER,
          objectHandle: key.objectHandle,
          persistentHandle: Number(handle),
        });
      } finally {
        await tpm.flush(key.objectHandle);
      }
    }
    // PCR16 not all zero, so a wrong value would show.
    await must(['tpm2_pcrextend', `16:sha256=${'01'.padStart(64, '0')},sha1=${'02'.padStart(40, '0')}`], '.');
  } finally {
    await tpm.close();
  }
});

afterAll(async () => {
  const tpm = openTpm(swtpm());
  try {
    await flushAllTransient(tpm);
    expect(await transientHandles(tpm)).toEqual([]);
  } finally {
    await tpm.close();
  }
});

function tcti(): string[] {
  return ['--tcti', swtpm().tcti];
}

describe('tpm2_quote → execgate quote verify', () => {
  for (const [alg, handle] of Object.entries(AKS)) {
    for (const sel of SELECTIONS) {
      it(`${alg} AK, ${sel}`, async () => {
        await withTempDir(async (dir) => {
          await must(['tpm2_readpublic', '-c', handle, '-f', 'pem', '-o', 'ak.pem'], dir);
          await must(
            [
              'tpm2_quote',
              '-c',
              handle,
              '-l',
              listed(sel),
              '-q',
              NONCE,
              '-m',
              'quote.msg',
              '-s',
              'quote.sig',
              '-o',
              'quote.pcrs',
              '-g',
              'sha256',
            ],
            dir,
          );
          await must(['tpm2_pcrread', listed(sel), '-o', 'values.bin'], dir);
          const args = [
            ...tcti(),
            'quote',
            'verify',
            '--msg',
            join(dir, 'quote.msg'),
            '--sig',
            join(dir, 'quote.sig'),
            '--pcrs-values',
            join(dir, 'values.bin'),
            '--pcrs',
            sel,
            '--ak',
            join(dir, 'ak.pem'),
          ];
          const ok = await cli([...args, '--nonce', NONCE]);
          expect(ok.stderr).toBe('');
          expect(ok.code).toBe(EXIT.OK);
          expect(ok.stdout).toMatch(/^OK: valid quote/);
          // tpm2_quote's serialized quote.pcrs holds the same values as tpm2_pcrread's.
          const parsed = parsePcrs(new Uint8Array(await readFile(join(dir, 'quote.pcrs'))));
          expect(Buffer.concat(parsed.values)).toEqual(await readFile(join(dir, 'values.bin')));
          const wrong = await cli([...args, '--nonce', `${NONCE.slice(0, -2)}00`]);
          expect(wrong.code).toBe(EXIT.EVIDENCE_INVALID);
          expect(wrong.stderr).toMatch(/E_QUOTE_NONCE/);
          const narrowed = await cli([
            ...args.slice(0, -4),
            '--pcrs',
            'sha256:0-7',
            '--ak',
            join(dir, 'ak.pem'),
            '--nonce',
            NONCE,
          ]);
          expect(narrowed.code).toBe(EXIT.EVIDENCE_INVALID);
        });
      });
    }
  }
});

describe('execgate quote --format tpm2-tools → tpm2_checkquote', () => {
  for (const [alg, handle] of Object.entries(AKS)) {
    for (const sel of SELECTIONS) {
      it(`${alg} AK, ${sel}`, async () => {
        await withTempDir(async (dir) => {
          const out = join(dir, 'q');
          const r = await cli([
            ...tcti(),
            'quote',
            '--ak-handle',
            handle,
            '--pcrs',
            sel,
            '--nonce',
            NONCE,
            '--format',
            'tpm2-tools',
            '--out',
            out,
          ]);
          expect(r.stderr).toBe('');
          expect(r.code).toBe(EXIT.OK);
          const check = [
            'tpm2_checkquote',
            '-u',
            'ak.pem',
            '-m',
            'quote.msg',
            '-s',
            'quote.sig',
            '-f',
            'quote.pcrs',
            '-g',
            'sha256',
          ];
          await must([...check, '-q', NONCE], out);
          expect((await tool([...check, '-q', `${NONCE.slice(0, -2)}00`], out)).code).not.toBe(0);
          // A changed PCR value in quote.pcrs makes tpm2_checkquote fail: it does check the values.
          const pcrs = await readFile(join(out, 'quote.pcrs'));
          pcrs[132 + 4 + 4 + 2] = (pcrs[132 + 4 + 4 + 2] ?? 0) ^ 1;
          await writeFile(join(out, 'quote.pcrs'), pcrs);
          expect((await tool([...check, '-q', NONCE], out)).code).not.toBe(0);
          // Our own verifier on the written files agrees.
          const v = await cli([
            ...tcti(),
            'quote',
            'verify',
            '--msg',
            join(out, 'quote.msg'),
            '--sig',
            join(out, 'quote.sig'),
            '--pcrs-values',
            join(out, 'quote.pcrs.values'),
            '--pcrs',
            sel,
            '--ak',
            join(out, 'ak.pem'),
            '--nonce',
            NONCE,
          ]);
          expect(v.code).toBe(EXIT.OK);
          // ak.pem equals what tpm2-tools reads from the TPM.
          await must(['tpm2_readpublic', '-c', handle, '-f', 'pem', '-o', 'theirs.pem'], dir);
          expect(await readFile(join(out, 'ak.pem'), 'utf8')).toBe(
            await readFile(join(dir, 'theirs.pem'), 'utf8'),
          );
        });
      });
    }
  }
});

describe('evidence bundle on the command line', () => {
  it('quote --out BUNDLE (default AK 0x81010002) verifies; wrong nonce, garbage, wrong AK give exit 7 with the code', async () => {
    await withTempDir(async (dir) => {
      const bundle = join(dir, 'q.cbor');
      const made = await cli([
        ...tcti(),
        'quote',
        '--pcrs',
        'sha1:0,23+sha256:0-7,16',
        '--nonce',
        NONCE,
        '--out',
        bundle,
      ]);
      expect(made.stderr).toBe('');
      expect(made.code).toBe(EXIT.OK);
      await must(['tpm2_readpublic', '-c', AKS.rsa, '-f', 'pem', '-o', 'rsa.pem'], dir);
      await must(['tpm2_readpublic', '-c', AKS.ecc, '-f', 'pem', '-o', 'ecc.pem'], dir);
      const ok = await cli([
        'quote',
        'verify',
        bundle,
        '--ak',
        join(dir, 'rsa.pem'),
        '--nonce',
        NONCE,
        '--json',
      ]);
      expect(ok.code).toBe(EXIT.OK);
      const doc = JSON.parse(ok.stdout);
      expect(doc).toMatchObject({ ok: true, safe: 1 });
      expect(doc.resetCount).toBeTypeOf('number');

      const nonce = await cli(['quote', 'verify', bundle, '--ak', join(dir, 'rsa.pem'), '--nonce', '00']);
      expect(nonce.code).toBe(EXIT.EVIDENCE_INVALID);
      expect(nonce.stderr).toMatch(/^execgate: E_QUOTE_NONCE: /);
      const other = await cli([
        'quote',
        'verify',
        bundle,
        '--ak',
        join(dir, 'ecc.pem'),
        '--nonce',
        NONCE,
        '--json',
      ]);
      expect(other.code).toBe(EXIT.EVIDENCE_INVALID);
      expect(JSON.parse(other.stdout)).toMatchObject({ ok: false, code: 'E_QUOTE_SIGNATURE' });
      const narrowed = await cli([
        'quote',
        'verify',
        bundle,
        '--pcrs',
        'sha256:0-7,16',
        '--ak',
        join(dir, 'rsa.pem'),
        '--nonce',
        NONCE,
      ]);
      expect(narrowed.code).toBe(EXIT.EVIDENCE_INVALID);
      expect(narrowed.stderr).toMatch(/E_QUOTE_SELECTION/);
      await writeFile(join(dir, 'junk'), 'not a bundle');
      const junk = await cli([
        'quote',
        'verify',
        join(dir, 'junk'),
        '--ak',
        join(dir, 'rsa.pem'),
        '--nonce',
        NONCE,
      ]);
      expect(junk.code).toBe(EXIT.EVIDENCE_INVALID);
      expect(junk.stderr).toMatch(/E_QUOTE_PARSE/);
    });
  });

  it('--save-clock then --last-clock: an older quote after a newer one gives E_QUOTE_CLOCK, exit 7', async () => {
    await withTempDir(async (dir) => {
      const quote = async (name: string) => {
        const r = await cli([
          ...tcti(),
          'quote',
          '--pcrs',
          'sha256:0-7',
          '--nonce',
          NONCE,
          '--out',
          join(dir, name),
        ]);
        expect(r.code, r.stderr).toBe(EXIT.OK);
        return join(dir, name);
      };
      const older = await quote('older.cbor');
      await new Promise((resolve) => setTimeout(resolve, 50)); // the TPM clock counts milliseconds
      const newer = await quote('newer.cbor');
      await must(['tpm2_readpublic', '-c', AKS.rsa, '-f', 'pem', '-o', 'rsa.pem'], dir);
      const verify = (bundle: string, ...more: string[]) =>
        cli(['quote', 'verify', bundle, '--ak', join(dir, 'rsa.pem'), '--nonce', NONCE, ...more]);
      const state = join(dir, 'clock.json');

      // No state yet: --last-clock on a missing file is refused rather than silently skipped.
      expect((await verify(newer, '--last-clock', state)).code).toBe(EXIT.USAGE);
      const saved = await verify(newer, '--save-clock', state, '--json');
      expect(saved.code).toBe(EXIT.OK);
      const clock = JSON.parse(await readFile(state, 'utf8'));
      const printed = JSON.parse(saved.stdout);
      expect(clock).toEqual({
        clock: printed.clock,
        resetCount: printed.resetCount,
        restartCount: printed.restartCount,
        safe: 1,
      });
      expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);

      // The same quote, and the newer clock itself, pass; the older quote does not.
      expect((await verify(newer, '--last-clock', state)).code).toBe(EXIT.OK);
      const back = await verify(older, '--last-clock', state, '--save-clock', state);
      expect(back.code).toBe(EXIT.EVIDENCE_INVALID);
      expect(back.stderr).toMatch(/^execgate: E_QUOTE_CLOCK: clock went back/);
      // A failed verification does not overwrite the saved clock.
      expect(JSON.parse(await readFile(state, 'utf8'))).toEqual(clock);
      // The JSON inline, as `quote verify --json` prints it (extra keys ignored).
      const inline = await verify(older, '--last-clock', saved.stdout, '--json');
      expect(inline.code).toBe(EXIT.EVIDENCE_INVALID);
      expect(JSON.parse(inline.stdout)).toMatchObject({ ok: false, code: 'E_QUOTE_CLOCK' });
      const reset = JSON.stringify({ ...clock, clock: '0', resetCount: clock.resetCount + 1 });
      expect((await verify(newer, '--last-clock', reset)).stderr).toMatch(
        /E_QUOTE_CLOCK: resetCount went back/,
      );
      expect((await verify(older, '--last-clock', JSON.stringify({ ...clock, clock: '0' }))).code).toBe(
        EXIT.OK,
      );
      for (const bad of ['{"clock":-1,"resetCount":0,"restartCount":0}', '{"clock":"1"}', '[]', '{x']) {
        expect((await verify(newer, '--last-clock', bad)).code, bad).toBe(EXIT.USAGE);
      }
      expect((await verify(newer, '--save-clock', join(dir, 'no', 'such', 'dir.json'))).code).toBe(
        EXIT.USAGE,
      );
    });
  });

  it('a primary AK is made and flushed when the default handle is empty (--ak-alg ecc), bundle on stdout', async () => {
    const tpm = openTpm(swtpm());
    try {
      await tpm.run(EvictControl, {
        auth: TPM_RH.OWNER,
        objectHandle: Number(AKS.rsa),
        persistentHandle: Number(AKS.rsa),
      });
      const r = await cli([
        ...tcti(),
        'quote',
        '--ak-alg',
        'ecc',
        '--pcrs',
        'sha256:16',
        '--nonce',
        NONCE,
        '--json',
      ]);
      expect(r.code).toBe(EXIT.OK);
      expect(JSON.parse(r.stdout).bundle).toMatch(/^[A-Za-z0-9+/]+=*$/);
      expect(await transientHandles(tpm)).toEqual([]);
    } finally {
      await tpm.close();
    }
  });

  it('usage errors exit 2', async () => {
    for (const argv of [
      ['quote', '--pcrs', 'sha256:0-99'],
      ['quote', '--format', 'xml'],
      ['quote', '--ak-handle', '0x01000000'],
      ['quote', 'verify', '--nonce', '00'],
      ['quote', 'verify', 'b.cbor', '--msg', 'm', '--ak', 'a', '--nonce', '00'],
      ['quote', 'verify', 'b.cbor', '--ak', '/nonexistent.pem', '--nonce', '00'],
      ['quote', 'frobnicate'],
    ]) {
      const r = await cli(argv);
      expect(r.code, argv.join(' ')).toBe(EXIT.USAGE);
    }
    expect((await cli(['quote', '--help'])).code).toBe(EXIT.OK);
  });
});

/** The AK's qualified Name as tpm2_readpublic -q reports it (hex), and its PEM, for `quote verify`. */
async function readPublic(handle: string, dir: string, name: string): Promise<{ qn: string; pem: string }> {
  await must(['tpm2_readpublic', '-c', handle, '-q', `${name}.qn`, '-f', 'pem', '-o', `${name}.pem`], dir);
  return { qn: (await readFile(join(dir, `${name}.qn`))).toString('hex'), pem: join(dir, `${name}.pem`) };
}

describe('quote verify --ak-qualified-name: the AK under the expected EK', () => {
  it("two AKs under the EK and a primary: only the signing AK's own qualified Name passes; others give E_QUOTE_SIGNER", async () => {
    const handles = { a: '0x81010060', b: '0x81010061' };
    for (const [alg, handle] of [
      ['rsa', handles.a],
      ['ecc', handles.b],
    ] as const) {
      const r = await cli([...tcti(), 'host', 'init', '--ak-handle', handle, '--ak-alg', alg]);
      expect(r.code, r.stderr).toBe(EXIT.OK);
    }
    await withTempDir(async (dir) => {
      const a = await readPublic(handles.a, dir, 'a');
      const b = await readPublic(handles.b, dir, 'b');
      const primary = await readPublic(AKS.ecc, dir, 'primary'); // a primary AK: not under the EK
      expect(new Set([a.qn, b.qn, primary.qn]).size).toBe(3);
      // host identity --json prints what tpm2-tools reads, so an operator can pin it from there.
      const id = await cli([...tcti(), 'host', 'identity', '--ak-handle', handles.b, '--json']);
      expect(JSON.parse(id.stdout).akQualifiedName).toBe(b.qn);

      const quoteWith = async (handle: string, name: string) => {
        const out = join(dir, name);
        const r = await cli([
          ...tcti(),
          'quote',
          '--ak-handle',
          handle,
          '--pcrs',
          'sha256:0-7',
          '--nonce',
          NONCE,
          '--out',
          out,
        ]);
        expect(r.code, r.stderr).toBe(EXIT.OK);
        return out;
      };
      const verify = (bundle: string, pem: string, qn: string, ...more: string[]) =>
        cli(['quote', 'verify', bundle, '--ak', pem, '--nonce', NONCE, '--ak-qualified-name', qn, ...more]);

      const byB = await quoteWith(handles.b, 'b.cbor');
      expect((await verify(byB, b.pem, b.qn)).code).toBe(EXIT.OK);
      // The key is right, the pinned AK is another one under the same EK.
      const wrong = await verify(byB, b.pem, a.qn, '--json');
      expect(wrong.code).toBe(EXIT.EVIDENCE_INVALID);
      expect(JSON.parse(wrong.stdout)).toMatchObject({
        ok: false,
        code: 'E_QUOTE_SIGNER',
        qualifiedSigner: b.qn,
      });
      expect((await verify(byB, b.pem, a.qn)).stderr).toMatch(/^execgate: E_QUOTE_SIGNER: qualifiedSigner /);
      // A key the verifier trusts, that signs real quotes, but is a primary, not the pinned AK under the EK.
      const byPrimary = await quoteWith(AKS.ecc, 'p.cbor');
      expect((await verify(byPrimary, primary.pem, primary.qn)).code).toBe(EXIT.OK);
      const notUnder = await verify(byPrimary, primary.pem, b.qn);
      expect(notUnder.code).toBe(EXIT.EVIDENCE_INVALID);
      expect(notUnder.stderr).toMatch(/E_QUOTE_SIGNER/);
      // The signature is still checked first: the pinned Name does not stand in for the key.
      const otherKey = await verify(byB, a.pem, b.qn, '--json');
      expect(JSON.parse(otherKey.stdout)).toMatchObject({ ok: false, code: 'E_QUOTE_SIGNATURE' });

      for (const bad of ['00', 'zz', `000b${'00'.repeat(31)}`, `0099${'00'.repeat(32)}`, '']) {
        expect((await verify(byB, b.pem, bad)).code, bad).toBe(EXIT.USAGE);
      }
    });
  });
});

describe('quote --ak-public F --ak-private F: a saved AK pair', () => {
  for (const alg of ['rsa', 'ecc'] as const) {
    it(`a tpm2_createak ${alg} pair is loaded under the EK, quotes, verifies with tpm2-tools' PEM and qualified Name, and is flushed`, async () => {
      await withTempDir(async (dir) => {
        // tpm2-tools leaves its objects loaded (no resource manager): flush after each step.
        const tpm = openTpm(swtpm());
        try {
          const step = async (args: string[]) => {
            await must(args, dir);
            await flushAllTransient(tpm);
          };
          await step(['tpm2_createek', '-c', 'ek.ctx', '-G', 'rsa', '-u', 'ek.pub']);
          await step([
            ...['tpm2_createak', '-C', 'ek.ctx', '-c', 'ak.ctx', '-G', alg, '-g', 'sha256'],
            ...['-s', alg === 'rsa' ? 'rsassa' : 'ecdsa', '-u', 'ak.pub', '-r', 'ak.priv'],
          ]);
          const theirs = await readPublic('ak.ctx', dir, 'ak');
          await flushAllTransient(tpm);
          const files = ['--ak-public', join(dir, 'ak.pub'), '--ak-private', join(dir, 'ak.priv')];
          const out = join(dir, 'q.cbor');
          const q = await cli([
            ...tcti(),
            'quote',
            ...files,
            '--pcrs',
            'sha1:0+sha256:0-7,16',
            '--nonce',
            NONCE,
            '--out',
            out,
          ]);
          expect(q.stderr).toBe('');
          expect(q.code).toBe(EXIT.OK);
          expect(await transientHandles(tpm)).toEqual([]);
          const v = await cli([
            'quote',
            'verify',
            out,
            '--ak',
            theirs.pem,
            '--nonce',
            NONCE,
            '--ak-qualified-name',
            theirs.qn,
          ]);
          expect(v.code, v.stderr).toBe(EXIT.OK);

          // Under another EK the TPM refuses the pair (its private part is wrapped to the RSA EK); the
          // AK handle is not left behind either way.
          const wrongEk = await cli([...tcti(), 'quote', ...files, '--ek-alg', 'eccP256', '--nonce', NONCE]);
          expect(wrongEk.code).toBe(EXIT.TPM_ERROR);
          expect(wrongEk.stderr).toMatch(/^execgate: E_TPM_RC: TPM2_Load failed: TPM_RC_INTEGRITY/);
          expect(await transientHandles(tpm)).toEqual([]);
        } finally {
          await tpm.close();
        }
      });
    });
  }

  it('usage: both files, not with --ak-handle/--ak-alg, and parseable pairs only', async () => {
    await withTempDir(async (dir) => {
      await writeFile(join(dir, 'junk'), Buffer.from([0, 4, 1, 2, 3, 4]));
      for (const argv of [
        ['quote', '--ak-public', join(dir, 'junk')],
        ['quote', '--ak-private', join(dir, 'junk')],
        ['quote', '--ek-alg', 'eccP256'],
        ['quote', '--ak-public', 'p', '--ak-private', 'q', '--ak-handle', '0x81010002'],
        ['quote', '--ak-public', 'p', '--ak-private', 'q', '--ak-alg', 'ecc'],
        ['quote', '--ak-public', join(dir, 'nonexistent'), '--ak-private', join(dir, 'junk')],
        ['quote', '--ak-public', join(dir, 'junk'), '--ak-private', join(dir, 'junk')],
      ]) {
        const r = await cli([...tcti(), ...argv]);
        expect(r.code, `${argv.join(' ')}: ${r.stderr}`).toBe(EXIT.USAGE);
      }
    });
  });
});

describe('quote verify --allow-sha1-ak: a legacy AK (RSASSA-SHA1)', () => {
  it('tpm2_quote -g sha1 by a SHA-1 AK gives E_QUOTE_SIGNATURE_ALG (exit 7) unless --allow-sha1-ak', async () => {
    const handle = '0x81010070';
    const tpm = openTpm(swtpm());
    try {
      const key = await createPrimary(tpm, TPM_RH.ENDORSEMENT, legacySha1AkTemplate());
      try {
        await tpm.run(EvictControl, {
          auth: TPM_RH.OWNER,
          objectHandle: key.objectHandle,
          persistentHandle: Number(handle),
        });
      } finally {
        await tpm.flush(key.objectHandle);
      }
    } finally {
      await tpm.close();
    }
    await withTempDir(async (dir) => {
      await must(['tpm2_readpublic', '-c', handle, '-f', 'pem', '-o', 'ak.pem'], dir);
      await must(
        [
          'tpm2_quote',
          '-c',
          handle,
          '-l',
          'sha256:0,1,2,3,4,5,6,7',
          '-q',
          NONCE,
          '-m',
          'quote.msg',
          '-s',
          'quote.sig',
          '-g',
          'sha1',
        ],
        dir,
      );
      await must(['tpm2_pcrread', 'sha256:0,1,2,3,4,5,6,7', '-o', 'values.bin'], dir);
      const args = [
        'quote',
        'verify',
        '--msg',
        join(dir, 'quote.msg'),
        '--sig',
        join(dir, 'quote.sig'),
        '--pcrs-values',
        join(dir, 'values.bin'),
        '--pcrs',
        'sha256:0-7',
        '--ak',
        join(dir, 'ak.pem'),
        '--nonce',
        NONCE,
      ];
      const refused = await cli(args);
      expect(refused.code).toBe(EXIT.EVIDENCE_INVALID);
      expect(refused.stderr).toMatch(/^execgate: E_QUOTE_SIGNATURE_ALG: /);
      expect(JSON.parse((await cli([...args, '--json'])).stdout)).toMatchObject({
        ok: false,
        code: 'E_QUOTE_SIGNATURE_ALG',
      });
      const allowed = await cli([...args, '--allow-sha1-ak']);
      expect(allowed.stderr).toBe('');
      expect(allowed.code).toBe(EXIT.OK);
      expect(allowed.stdout).toMatch(/^OK: valid quote/);
    });
    await must(['tpm2_evictcontrol', '-C', 'o', '-c', handle], '.');
  });
});
