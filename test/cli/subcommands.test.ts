// SPDX-License-Identifier: Apache-2.0
// Issue 15 acceptance: every subcommand runs as the real CLI process (test/gate/gate-host.ts runProcess),
// its flags parsed, its exit code and the shape of its output checked, on one gated host on swtpm. Other
// files test each command's behaviour in depth, in process; this one is the process-level floor for all
// of them. The commands come from agent/cli/run.ts GROUPS: one that is in neither RAN below nor
// ELSEWHERE fails the first test, so a new command cannot go without a process test.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../agent/cli/exit.js';
import { GROUPS } from '../../agent/cli/run.js';
import { PCR_Extend } from '../../agent/tpm/commands.js';
import { Tpm } from '../../agent/tpm/tpm.js';
import { openTransport } from '../../agent/tpm/transport/index.js';
import { type GateHost, type ProcessResult, ran, runProcess, shareGateHost } from '../gate/gate-host.js';
import { useSwtpm } from '../helpers/swtpm.js';
import { buildEventLog, uefiBootEvents } from '../helpers/synthetic-eventlog.js';

/** Commands a process test of another file covers (the file named), e.g. long-running ones. */
const ELSEWHERE: Readonly<Record<string, string>> = {
  doctor: 'test/doctor/doctor.test.ts',
  serve: 'test/serve/serve.test.ts',
};

const swtpm = useSwtpm();
let h: GateHost;
shareGateHost(swtpm, (host) => {
  h = host;
});

/** Every command this file has run, as "group" or "group command". */
const RAN = new Set<string>();

/** `execgate ARGV` as a process on the host's TPM, from the host's directory; recorded in RAN. */
async function eg(argv: readonly string[], opts: { json?: boolean } = {}): Promise<ProcessResult> {
  const [group, second] = argv;
  const g = group === undefined ? undefined : await GROUPS[group]?.();
  RAN.add(
    second !== undefined && g !== undefined && Object.hasOwn(g.commands, second)
      ? `${group} ${second}`
      : `${group}`,
  );
  return runProcess(['--tcti', h.tcti, ...(opts.json ? ['--json'] : []), ...argv], { cwd: h.dir });
}

/** Exit 0, nothing on stderr, and stdout parsed as one JSON document. */
function json(r: ProcessResult): Record<string, unknown> {
  expect(r.stderr).toBe('');
  expect(r.code).toBe(EXIT.OK);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

const HEX = /^[0-9a-f]+$/;
const f = (name: string) => join(h.dir, name);

describe('every subcommand as a process', () => {
  it('tpm, key, policy: info, pcrs, extend, random, gen, id, check', async () => {
    const [info, pcrs, random, encrypted, gen, id, policy] = await Promise.all([
      eg(['tpm', 'info'], { json: true }),
      eg(['tpm', 'pcrs', '--bank', 'sha256', '--pcrs', '0-7'], { json: true }),
      eg(['tpm', 'random', '16']),
      eg(['tpm', 'random', '8', '--encrypt', '--state-dir', h.stateDir], { json: true }),
      eg(['key', 'gen', '--alg', 'p256', '--out', f('approver.key')]),
      eg(['key', 'id', `${h.issuerKey}.pub`]),
      eg(['policy', 'check', '--policy', h.policy], { json: true }),
    ]);
    expect(json(info)).toMatchObject({ manufacturer: expect.any(String) });
    expect(Object.keys(json(pcrs).sha256 as object)).toEqual(['0', '1', '2', '3', '4', '5', '6', '7']);
    expect(random).toMatchObject({ code: 0, stderr: '', stdout: expect.stringMatching(/^[0-9a-f]{32}\n$/) });
    expect(json(encrypted).random).toMatch(/^[0-9a-f]{16}$/);
    expect(gen.code, gen.stderr).toBe(0);
    expect(await readFile(f('approver.key.pub'), 'utf8')).toContain('BEGIN PUBLIC KEY');
    expect(id).toMatchObject({ code: 0, stdout: expect.stringMatching(/^[0-9a-f]{64}\n$/) });
    expect(json(policy)).toMatchObject({ issuers: expect.any(Array) });
    const extend = await eg(['tpm', 'extend', '16', '--bank', 'sha256', '--digest', 'ab'.repeat(32)], {
      json: true,
    });
    expect(json(extend)).toEqual({ pcr: 16, bank: 'sha256', extended: 'ab'.repeat(32) });
  });

  it('host, quote, credential: init, identity, quote, verify, make, activate', async () => {
    const [init, identity] = await Promise.all([
      eg(['host', 'init', '--policy', h.policy], { json: true }),
      eg(['host', 'identity', '--policy', h.policy], { json: true }),
    ]);
    expect(json(init)).toMatchObject({ created: false, akHandle: '0x81010002' });
    const id = json(identity) as {
      akName: string;
      akQualifiedName: string;
      akPublicPem: string;
      ekPublicPem: string;
    };
    expect(id.akName).toMatch(HEX);
    await writeFile(f('ak.pem'), id.akPublicPem);
    await writeFile(f('ek.pem'), id.ekPublicPem);
    const [quote, made] = await Promise.all([
      eg(['quote', '--nonce', '0badcafe', '--out', f('q.cbor')], { json: true }),
      eg([
        ...['credential', 'make', '--ek-pub', f('ek.pem'), '--ak-name', id.akName, '--unverified-ak-name'],
        ...['--secret', '0123', '--out', f('cred')],
      ]),
    ]);
    expect(json(quote)).toEqual({ nonce: '0badcafe', out: f('q.cbor') });
    expect(made.code, made.stderr).toBe(0);
    const [verify, activate] = await Promise.all([
      eg(
        [
          'quote',
          'verify',
          f('q.cbor'),
          '--ak',
          f('ak.pem'),
          '--nonce',
          '0badcafe',
          '--ak-qualified-name',
          id.akQualifiedName,
        ],
        {
          json: true,
        },
      ),
      eg(['credential', 'activate', '--in', f('cred'), '--state-dir', h.stateDir]),
    ]);
    expect(json(verify)).toMatchObject({ ok: true, qualifiedSigner: id.akQualifiedName });
    expect(activate).toMatchObject({ code: 0, stderr: '', stdout: '0123\n' });
  });

  it('eventlog, ima, state: show, replay, verify, capture, check, digest (logs extended into the TPM)', async () => {
    // A synthetic UEFI boot log in PCRs 0–7 and three IMA entries in PCR 10, as firmware and kernel would.
    const log = buildEventLog({ banks: ['sha1', 'sha256'], events: uefiBootEvents() });
    await writeFile(f('boot.log'), log.bytes);
    const imaLines = (
      await readFile(
        join(import.meta.dirname, '../vectors/ima/rust-keylime/ascii_runtime_measurements'),
        'utf8',
      )
    )
      .split('\n')
      .slice(1, 4);
    await writeFile(f('ima.list'), `${imaLines.join('\n')}\n`);
    const tpm = new Tpm(openTransport(h.tcti));
    try {
      for (const x of log.extends) await tpm.run(PCR_Extend, { pcrHandle: x.pcr, digests: [...x.digests] });
    } finally {
      await tpm.close();
    }
    for (const line of imaLines) {
      const r = await eg(['tpm', 'extend', '10', '--bank', 'sha1', '--digest', line.split(' ')[1] ?? '']);
      expect(r.code, r.stderr).toBe(0);
    }
    const [show, replay, verify, imaShow, imaReplay, imaVerify, capture] = await Promise.all([
      eg(['eventlog', 'show', f('boot.log')], { json: true }),
      eg(['eventlog', 'replay', f('boot.log')], { json: true }),
      eg(['eventlog', 'verify', f('boot.log'), '--pcrs', 'sha256:0-7'], { json: true }),
      eg(['ima', 'show', f('ima.list')], { json: true }),
      eg(['ima', 'replay', f('ima.list')], { json: true }),
      eg(['ima', 'verify', f('ima.list'), '--pcrs', 'sha1:10'], { json: true }),
      eg(
        [
          'state',
          'capture',
          '--out',
          f('ref.json'),
          '--eventlog',
          f('boot.log'),
          '--no-ima',
          '--pcrs',
          'sha256:0-9',
        ],
        {
          json: true,
        },
      ),
    ]);
    // Every extend the log records, and its Spec ID header (an EV_NO_ACTION that extends nothing).
    expect((json(show).events as { type: string }[]).map((e) => e.type)).toHaveLength(log.extends.length + 1);
    expect(Object.keys(json(replay).sha256 as object)).toEqual(expect.arrayContaining(['0', '7']));
    expect(json(verify)).toMatchObject({ ok: true, mismatches: [] });
    expect(json(imaShow)).toMatchObject({ entries: expect.any(Array) });
    expect(json(imaReplay)).toMatchObject({ sha1: { '10': expect.stringMatching(HEX) } });
    expect(json(imaVerify)).toMatchObject({ ok: true, covered: 3 });
    const digest = (json(capture) as { digest: string }).digest;
    const [check, digestCmd] = await Promise.all([
      eg(['state', 'check', f('ref.json'), '--eventlog', f('boot.log'), '--no-ima', '--pcrs', 'sha256:0-9'], {
        json: true,
      }),
      eg(['state', 'digest', f('ref.json')]),
    ]);
    expect(json(check)).toMatchObject({ ok: true, digest });
    expect(digestCmd).toMatchObject({ code: 0, stdout: expect.stringContaining(digest) });
  });

  it('artifact, revoke, exec, check, audit: the gate and its log', async () => {
    const run = await h.script('run-me');
    const team = await h.key('team');
    const issued = await eg([
      ...['artifact', 'issue', '--key', h.issuerKey, '--issuer', 'ops', '--host-identity', h.identity],
      ...['--exe', run.path, '--ttl', '10m', '--uses', '2', '--out', f('a.cose')],
      ...['--delegate-key', `${team}.pub`, '--delegate-depth', '0', '--delegate-exe-prefix', `${h.bin}/`],
    ]);
    expect(issued.code, issued.stderr).toBe(0);
    const [delegated, approved] = await Promise.all([
      eg([
        ...['artifact', 'delegate', '--parent', f('a.cose'), '--key', team, '--issuer', 'team'],
        ...['--exe', run.path, '--host-identity', h.identity, '--ttl', '5m', '--out', f('child.cose')],
      ]),
      eg(['artifact', 'approve', f('a.cose'), '--key', f('approver.key')]),
    ]);
    expect(delegated.code, delegated.stderr).toBe(0);
    expect(approved.code, approved.stderr).toBe(0);
    const [inspect, verify] = await Promise.all([
      eg(['artifact', 'inspect', f('a.cose')], { json: true }),
      eg(['artifact', 'verify', f('child.cose'), '--trust', `${h.issuerKey}.pub`], { json: true }),
    ]);
    const { cti } = (json(inspect) as { claims: { cti: string } }).claims;
    expect(cti).toMatch(HEX);
    expect(json(verify)).toMatchObject({ verdict: 'valid', chain: [expect.anything()] });
    const [revoke, check] = await Promise.all([
      eg(['revoke', '--key', h.issuerKey, '--issuer', 'ops', '--cti', cti, '--out', f('revoked.cose')]),
      eg(['check', '--policy', h.policy, '--artifact', f('a.cose'), '--', run.path]),
    ]);
    expect(revoke.code, revoke.stderr).toBe(0);
    expect(check).toMatchObject({ code: 0 });
    expect(await ran(run.marker)).toBe(false);
    const exec = await eg(['exec', '--policy', h.policy, '--artifact', f('a.cose'), '--', run.path]);
    expect(exec.code, exec.stderr).toBe(0);
    expect(await ran(run.marker)).toBe(true);
    const audit = ['--policy', h.policy];
    const checkpoint = await eg(['audit', 'checkpoint', ...audit]);
    expect(checkpoint.code, checkpoint.stderr).toBe(0);
    const [show, averify, prove, exported] = await Promise.all([
      eg(['audit', 'show', ...audit], { json: true }),
      eg(['audit', 'verify', ...audit], { json: true }),
      eg(['audit', 'prove', ...audit, '--index', '0']),
      eg(['audit', 'export', ...audit, '--out', f('audit.bundle')]),
    ]);
    expect((json(show) as { entries: unknown[] }).entries.length).toBeGreaterThan(0);
    expect(json(averify)).toMatchObject({ ok: true, checkpoints: expect.any(Number) });
    expect(json(prove)).toMatchObject({ index: 0 });
    expect(exported.code, exported.stderr).toBe(0);
    expect((await readFile(f('audit.bundle'))).length).toBeGreaterThan(0);
  });

  it('secret: seal, list, policy-sign, rm (the gate hands them out in test/gate/exec-secrets.test.ts)', async () => {
    await writeFile(f('secret.in'), 'abc', { mode: 0o600 });
    const keyed = await eg(['key', 'gen', '--alg', 'p256', '--out', f('policy.key')]);
    expect(keyed.code, keyed.stderr).toBe(0);
    const seal = await eg(
      [
        'secret',
        'seal',
        '--policy',
        h.policy,
        '--name',
        'cli',
        '--in',
        f('secret.in'),
        '--pcrs',
        'sha256:0,7',
      ],
      { json: true },
    );
    expect(json(seal)).toMatchObject({ name: 'cli', size: 3, pcrs: 'sha256:0,7', policyKey: false });
    const again = await eg(['secret', 'seal', '--policy', h.policy, '--name', 'cli', '--in', f('secret.in')]);
    expect(again.code).toBe(EXIT.USAGE);
    expect(again.stderr).toMatch(/^execgate: E_SECRET_EXISTS: /);
    const keyedSeal = await eg([
      'secret',
      'seal',
      '--policy',
      h.policy,
      '--name',
      'cli-keyed',
      '--in',
      f('secret.in'),
      '--policy-key',
      f('policy.key.pub'),
    ]);
    expect(keyedSeal.code, keyedSeal.stderr).toBe(0);
    const signed = await eg(
      [
        'secret',
        'policy-sign',
        '--policy',
        h.policy,
        '--key',
        f('policy.key'),
        '--pcrs',
        'sha256:0-7',
        '--out',
        f('now.policy'),
      ],
      {
        json: true,
      },
    );
    expect(json(signed)).toMatchObject({
      pcrs: 'sha256:0-7',
      pcrDigest: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    const list = await eg(['secret', 'list', '--policy', h.policy], { json: true });
    expect(json(list).secrets).toMatchObject([
      { name: 'cli', size: 3, pcrs: 'sha256:0,7', policyKey: false },
      { name: 'cli-keyed', size: 3, policyKey: true },
    ]);
    const rm = await eg(['secret', 'rm', 'cli', '--policy', h.policy]);
    expect(rm).toMatchObject({ code: 0, stdout: 'removed "cli"\n' });
    const gone = await eg(['secret', 'rm', 'cli', '--policy', h.policy]);
    expect(gone.code).toBe(EXIT.USAGE);
    expect(gone.stderr).toMatch(/^execgate: E_SECRET_MISSING: /);
  });

  it('no command goes without a process test (run here, or named in ELSEWHERE)', async () => {
    const all: string[] = [];
    for (const [group, load] of Object.entries(GROUPS)) {
      const g = await load();
      if (g.default) all.push(group);
      for (const name of Object.keys(g.commands)) all.push(`${group} ${name}`);
    }
    expect(all.filter((c) => !RAN.has(c) && !Object.hasOwn(ELSEWHERE, c))).toEqual([]);
  });
});
