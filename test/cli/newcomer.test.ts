// SPDX-License-Identifier: Apache-2.0
// Issue 15, "what a new user hit": each mistake a newcomer made on the CLI, run as a real process as a
// shell runs it (test/gate/gate-host.ts runProcess), with the exit code and the message it must give now.
// A file mistake names the flag and the path with a documented code (exit 2), never exit 1 with a stack
// trace; outputs are checked before any TPM work (shown by a TCTI where no TPM answers: the file error
// comes first). The README's swtpm snippet and worked quote example are run as they are written.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../agent/cli/exit.js';
import { run } from '../../agent/cli/run.js';
import { MAIN, type ProcessResult, runProcess } from '../gate/gate-host.js';
import { useSwtpm } from '../helpers/swtpm.js';

const ROOT = join(import.meta.dirname, '..', '..');
const execFileP = promisify(execFile);
const swtpm = useSwtpm();
/** A TCTI where nothing listens: a command that reached the TPM would fail with exit 3. */
const NO_TPM = 'swtpm:host=127.0.0.1,port=1';
const IMA_LIST = join(ROOT, 'test/vectors/ima/keylime/ima-log-sha1');
const EVENT_LOG = join(ROOT, 'test/vectors/eventlog/tpm2-tools/event-uefi-sha1-log.bin');

let dir: string;
let env: Record<string, string>;
/** execgate as a process, on this file's swtpm and state directory. */
const eg = (...argv: string[]) => runProcess(argv, { env, cwd: dir });

beforeAll(async () => {
  // Under the checkout, so that `node --import tsx` in the README snippet finds tsx as it would there.
  await mkdir(join(ROOT, '.tmp'), { recursive: true });
  dir = await mkdtemp(join(ROOT, '.tmp', 'newcomer-'));
  env = { EXECGATE_TCTI: swtpm().tcti, TPM2TOOLS_TCTI: swtpm().tcti, EXECGATE_STATE_DIR: join(dir, 'state') };
  const init = await eg('host', 'init');
  expect(init.code, init.stderr).toBe(0);
  const [id, saved] = await Promise.all([
    eg('host', 'identity', '--json'),
    eg('host', 'init', '--ak-save', join(dir, 'saved'), '--ek-alg', 'eccP256'),
  ]);
  expect(id.code, id.stderr).toBe(0);
  expect(saved.code, saved.stderr).toBe(0);
  const identity = JSON.parse(id.stdout) as { akPublicPem: string; ekPublicPem: string };
  await writeFile(join(dir, 'ak.pem'), identity.akPublicPem);
  await writeFile(join(dir, 'ek.pem'), identity.ekPublicPem);
  const q = await eg('quote', '--nonce', 'abcd', '--out', join(dir, 'q.cbor'));
  expect(q.code, q.stderr).toBe(0);
  const t = await eg('quote', '--nonce', 'abcd', '--format', 'tpm2-tools', '--out', join(dir, 't2'));
  expect(t.code, t.stderr).toBe(0);
}, 60_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Refused with `code` (exit 2), naming each of `names`, in one line and a hint at most: no stack trace. */
function expectFileError(r: ProcessResult, code: string, ...names: string[]): void {
  expect(r.code, r.stderr).toBe(EXIT.USAGE);
  expect(r.stderr).toMatch(new RegExp(`^execgate: ${code}: `));
  for (const n of names) expect(r.stderr).toContain(n);
  expect(r.stderr).not.toMatch(/^\s+at /m);
}

describe('nine file mistakes: the flag and path named, a documented code, checked before TPM work', () => {
  it('a missing or directory BUNDLE, and a missing --msg, --sig, --pcrs-values or --quote', async () => {
    const ak = join(dir, 'ak.pem');
    const t2 = (f: string) => join(dir, 't2', f);
    const files = { msg: t2('quote.msg'), sig: t2('quote.sig'), values: t2('quote.pcrs.values') };
    const verify = (...a: string[]) =>
      eg('--tcti', NO_TPM, 'quote', 'verify', ...a, '--ak', ak, '--nonce', 'abcd');
    /** quote verify from tpm2-tools files, one of them (`flag`) missing. */
    const withMissing = (flag: '--msg' | '--sig' | '--pcrs-values', path: string) => {
      const given = { '--msg': files.msg, '--sig': files.sig, '--pcrs-values': files.values, [flag]: path };
      return verify(...Object.entries(given).flat(), '--pcrs', 'sha256:0-7');
    };
    const [missing, directory, msg, sig, values, quote] = await Promise.all([
      verify(join(dir, 'nope.cbor')),
      verify(dir),
      withMissing('--msg', join(dir, 'no.msg')),
      withMissing('--sig', join(dir, 'no.sig')),
      withMissing('--pcrs-values', join(dir, 'no.values')),
      eg(
        ...['--tcti', NO_TPM, 'eventlog', 'verify', EVENT_LOG],
        ...['--quote', join(dir, 'no.cbor'), '--ak', ak, '--nonce', 'ab'],
      ),
    ]);
    expectFileError(missing, 'E_INPUT_READ', 'BUNDLE', join(dir, 'nope.cbor'), 'check the path');
    expectFileError(directory, 'E_INPUT_READ', 'BUNDLE', dir, 'give a file in it');
    expectFileError(msg, 'E_INPUT_READ', '--msg', join(dir, 'no.msg'));
    expectFileError(sig, 'E_INPUT_READ', '--sig', join(dir, 'no.sig'));
    expectFileError(values, 'E_INPUT_READ', '--pcrs-values', join(dir, 'no.values'));
    expectFileError(quote, 'E_INPUT_READ', '--quote', join(dir, 'no.cbor'));
  });

  it('--out into a missing directory or onto a directory, state capture --out, --checkpoint, credential make --out: before any TPM work', async () => {
    const nodir = join(dir, 'nodir');
    const [into, onto, tools, capture, checkpoint, credential] = await Promise.all([
      eg('--tcti', NO_TPM, 'quote', '--out', join(nodir, 'q.cbor')),
      eg('--tcti', NO_TPM, 'quote', '--out', dir),
      eg('--tcti', NO_TPM, 'quote', '--format', 'tpm2-tools', '--out', join(dir, 'q.cbor')),
      eg('--tcti', NO_TPM, 'state', 'capture', '--out', join(nodir, 'ref.json'), '--no-eventlog', '--no-ima'),
      eg('ima', 'replay', IMA_LIST, '--checkpoint', join(nodir, 'cp.json')),
      eg(
        ...[
          'credential',
          'make',
          '--ek-pub',
          join(dir, 'ek.pem'),
          '--ak-public',
          join(dir, 'saved', 'ak.pub'),
        ],
        ...['--secret', '00112233', '--out', join(nodir, 'cred')],
      ),
    ]);
    expectFileError(into, 'E_FILE_WRITE', '--out', nodir, 'mkdir -p');
    expectFileError(onto, 'E_FILE_UNSAFE', '--out', `${dir} is a directory`);
    expectFileError(capture, 'E_FILE_WRITE', '--out', nodir);
    expectFileError(checkpoint, 'E_FILE_WRITE', '--checkpoint', nodir);
    expectFileError(credential, 'E_FILE_WRITE', '--out', nodir);
    // tpm2-tools makes its directory: a regular file (the bundle above) there is refused before the quote.
    expect(tools.code, tools.stderr).toBe(EXIT.USAGE);
    expect(tools.stderr).toContain('--out');
  });

  it('a FILE argument that is a directory is the caller\'s mistake (exit 2), not "no measurement log"', async () => {
    expectFileError(await eg('eventlog', 'show', dir), 'E_INPUT_READ', 'FILE', dir);
  });
});

/** The fenced sh blocks README.md marks as run by this file, in order. */
async function readmeBlocks(): Promise<string[]> {
  const text = await readFile(join(ROOT, 'README.md'), 'utf8');
  return [
    ...text.matchAll(/<!-- test\/cli\/newcomer\.test\.ts runs this block -->\n```sh\n([\s\S]*?)```/g),
  ].map((m) => m[1] ?? '');
}

describe("README's first steps, run as written", () => {
  it('the swtpm snippet exports the TCTI to the shell, and execgate reaches that swtpm', async () => {
    const [snippet] = await readmeBlocks();
    expect(snippet).toContain('node dist/swtpm/main.js start');
    // The same programs from source: dist/ is npm run build's, not the tests'.
    const script = (snippet ?? '')
      .replaceAll('node dist/swtpm/main.js', `node --import tsx ${join(ROOT, 'swtpm/main.ts')}`)
      .replaceAll('node dist/execgate.cjs', `node ${MAIN[0]}`);
    const cwd = await mkdtemp(join(dir, 'snippet-'));
    const { stdout } = await execFileP('bash', ['-ec', `${script}\nwait`], {
      cwd,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cwd },
      timeout: 30_000,
    });
    expect(stdout).toMatch(/manufacturer/i);
  });

  it('the worked example: host init, the AK PEM, quote --nonce --out, quote verify', async () => {
    const [, example] = await readmeBlocks();
    expect(example).toMatch(/execgate quote verify/);
    const bin = join(dir, 'bin');
    await mkdir(bin, { recursive: true });
    await writeFile(join(bin, 'execgate'), `#!/bin/sh\nexec ${process.execPath} ${MAIN[0]} "$@"\n`, {
      mode: 0o755,
    });
    const cwd = await mkdtemp(join(dir, 'example-'));
    const { stdout } = await execFileP('bash', ['-ec', example ?? ''], {
      cwd,
      env: { ...env, PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`, HOME: cwd },
      timeout: 30_000,
    });
    expect(stdout).toMatch(/^OK: valid quote over sha256:0-7$/m);
  });
});

describe('quote and its files', () => {
  it('quote without --out: the base64 bundle on stdout, its nonce on stderr, and quote verify accepts both', async () => {
    const q = await eg('quote');
    expect(q.code, q.stderr).toBe(0);
    const nonce = /^nonce ([0-9a-f]{40}) /m.exec(q.stderr)?.[1];
    expect(nonce).toBeDefined();
    expect(q.stdout).toMatch(/^[A-Za-z0-9+/]+=*\n$/);
    await writeFile(join(dir, 'b64.txt'), q.stdout);
    const [ok, wrong] = await Promise.all([
      eg('quote', 'verify', join(dir, 'b64.txt'), '--ak', join(dir, 'ak.pem'), '--nonce', nonce ?? ''),
      eg('quote', 'verify', join(dir, 'b64.txt'), '--ak', join(dir, 'ak.pem'), '--nonce', '00'),
    ]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(wrong.stderr).toMatch(/^execgate: E_QUOTE_NONCE: /);
  });

  it("--pcrs-values takes tpm2_quote's default -o file, with its selection", async () => {
    const f = (n: string) => join(dir, n);
    await execFileP(
      'tpm2_quote',
      [
        '-c',
        '0x81010002',
        '-l',
        'sha256:0,1,7',
        '-q',
        '0102',
        '-m',
        f('m.bin'),
        '-s',
        f('s.bin'),
        '-o',
        f('o.bin'),
      ],
      { env: { ...process.env, TPM2TOOLS_TCTI: swtpm().tcti } },
    );
    const files = [
      '--msg',
      f('m.bin'),
      '--sig',
      f('s.bin'),
      '--pcrs-values',
      f('o.bin'),
      '--ak',
      f('ak.pem'),
    ];
    const [ok, other] = await Promise.all([
      eg('quote', 'verify', ...files, '--nonce', '0102'),
      eg('quote', 'verify', ...files, '--nonce', '0102', '--pcrs', 'sha256:0-7'),
    ]);
    expect(ok.stdout).toBe('OK: valid quote over sha256:0-1,7\n');
    expect(ok.code).toBe(0);
    expect(other.code).toBe(EXIT.USAGE);
    expect(other.stderr).toContain('leave --pcrs out');
  });
});

describe('messages that misled, now saying what was wrong and what to do', () => {
  it('odd-length hex, tpm pcrs --pcrs BANK:LIST, a forgotten or malformed --tcti, --version', async () => {
    // [argv, what the usage error (exit 2) must say]
    const cases: [string[], string][] = [
      [
        ['quote', 'verify', join(dir, 'q.cbor'), '--ak', join(dir, 'ak.pem'), '--nonce', 'abc'],
        'odd number of hex digits',
      ],
      [['tpm', 'pcrs', '--pcrs', 'sha256:0-7'], '--bank sha256 --pcrs 0-7'],
      [['--tcti', 'tpm', 'info'], '--tcti needs a value'],
      [['tpm', 'info', '--tcti'], '--tcti needs a value'],
      [['--tcti', 'swtpm:port=abc', 'tpm', 'info'], '--tcti: invalid TCTI'],
    ];
    const [version, ...results] = await Promise.all([eg('--version'), ...cases.map(([argv]) => eg(...argv))]);
    cases.forEach(([argv, says], i) => {
      expect(results[i], argv.join(' ')).toMatchObject({
        code: EXIT.USAGE,
        stderr: expect.stringContaining(says),
      });
    });
    expect(version).toMatchObject({ code: 0, stdout: expect.stringMatching(/^execgate \d+\.\d+\.\d+\n$/) });
  });

  it('TPM_RC_INTEGRITY loading a saved AK under another --ek-alg hints at --ek-alg', async () => {
    const saved = (f: string) => join(dir, 'saved', f);
    const r = await eg('quote', '--ak-public', saved('ak.pub'), '--ak-private', saved('ak.priv'));
    expect(r.code).toBe(EXIT.TPM_ERROR);
    expect(r.stderr).toMatch(/TPM_RC_INTEGRITY[^\n]*\n {2}hint: [^\n]*--ek-alg/);
    const ok = await eg(
      'quote',
      '--ak-public',
      saved('ak.pub'),
      '--ak-private',
      saved('ak.priv'),
      '--ek-alg',
      'eccP256',
    );
    expect(ok.code, ok.stderr).toBe(0);
  });

  it('an IMA list given to eventlog show suggests ima show', async () => {
    const r = await eg('eventlog', 'show', IMA_LIST);
    expect(r.code).toBe(EXIT.EVIDENCE_INVALID);
    expect(r.stderr).toContain(`looks like an IMA measurement list: run execgate ima show ${IMA_LIST}`);
  });

  it('a --json failure prints its JSON on stdout and its reason on stderr', async () => {
    const r = await eg(
      '--json',
      'quote',
      'verify',
      join(dir, 'q.cbor'),
      '--ak',
      join(dir, 'ak.pem'),
      '--nonce',
      'abce',
    );
    expect(r.code).toBe(EXIT.EVIDENCE_INVALID);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, code: 'E_QUOTE_NONCE' });
    expect(r.stderr).toMatch(/^execgate: E_QUOTE_NONCE: /);
  });

  it('an internal error (a bug) says so in one line and how to report it; --debug adds the stack', async () => {
    // In process: stdout that throws a plain Error is the one way to reach run()'s bug path from outside.
    const internal = async (...argv: string[]) => {
      let stderr = '';
      const code = await run(argv, {
        stdout: {
          write: () => {
            throw new Error('boom');
          },
        },
        stderr: { write: (t: string) => (stderr += t) },
        env: {},
      });
      return { code, stderr };
    };
    const [plain, debug] = await Promise.all([internal('--version'), internal('--debug', '--version')]);
    expect(plain).toEqual({
      code: EXIT.FAILURE,
      stderr:
        'execgate: internal error: boom\n  this is a bug: please report it with the output of the same command run with --debug\n',
    });
    expect(debug.code).toBe(EXIT.FAILURE);
    expect(debug.stderr).toMatch(/^execgate: internal error: Error: boom\n {4}at /);
  });

  it('no stack trace unless --debug', async () => {
    const argv = ['quote', 'verify', join(dir, 'nope'), '--ak', join(dir, 'ak.pem'), '--nonce', '00'];
    const [plain, debug] = await Promise.all([eg(...argv), eg('--debug', ...argv)]);
    expect(plain.stderr.split('\n').filter(Boolean)).toHaveLength(1);
    expect(plain.code).toBe(EXIT.USAGE);
    expect(debug.code).toBe(EXIT.USAGE);
    expect(debug.stderr).toMatch(/^ {4}at .*readBounded/m);
    expect(debug.stderr).toMatch(/^caused by: Error: ENOENT/m);
  });
});
