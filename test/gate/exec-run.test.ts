// SPDX-License-Identifier: Apache-2.0
// `execgate exec` end to end on swtpm (issue 14 acceptance), how a verdict is delivered and a command run: 50
// concurrent gates of one single-use artifact (exactly one runs), audit mode ("would deny", and the command
// runs), --verdict FILE (written before the command starts, allow and deny), --json, E_INTERNAL (the verdict
// file cannot be written), and `execgate check` (exit 0 or 126, nothing recorded or consumed); and what
// passes through an allowed command: stdin, stdout, stderr, its exit status, its death by SIGTERM, and a
// SIGUSR1 sent to execgate.
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { toHex } from '../../agent/encoding/bytes.js';
import { useSwtpm } from '../helpers/swtpm.js';
import { allowed, denialLine, type GateHost, ran, shareGateHost } from './gate-host.js';

const swtpm = useSwtpm();
let h: GateHost;
shareGateHost(swtpm, (host) => {
  h = host;
});

describe('one single-use artifact, 50 gates at once', () => {
  it('exactly one runs; the other 49 are E_REPLAY, each audited', async () => {
    const s = await h.script('fifty', `echo ran >> '${join(h.dir, 'fifty-runs')}'`);
    const f = await h.issue(s.path);
    const before = (await h.entries()).length;
    const results = await Promise.all(
      Array.from({ length: 50 }, () => h.exec(['--artifact', f, '--', s.path], { timeoutMs: 60_000 })),
    );
    const ok = results.filter((r) => r.code === 0);
    expect(ok.length).toBe(1);
    for (const r of results.filter((x) => x.code !== 0)) {
      expect(r.stderr).toMatch(denialLine('E_REPLAY'));
      expect(r.code).toBe(126);
    }
    expect(await readFile(join(h.dir, 'fifty-runs'), 'utf8')).toBe('ran\n');
    const added = (await h.entries()).slice(before);
    expect(added.length).toBe(50);
    expect(added.filter((e) => e.verdict === 'allow').length).toBe(1);
    expect(added.filter((e) => e.verdict === 'deny' && e.reason === 'E_REPLAY').length).toBe(49);
    // Sequence numbers stay dense under contention.
    expect(added.map((e) => e.seq)).toEqual(added.map((_, i) => before + i));
  });
});

describe('audit mode ([host] mode = "audit")', () => {
  it('a denied command runs, printed and recorded as "would deny"', async () => {
    await h.writePolicy({ host: 'mode = "audit"' });
    const s = await h.script('audit-mode', 'exit 5');
    const f = await h.issue(s.path, '--arg', 'allowed');
    const before = (await h.entries()).length;
    const r = await h.exec(['--artifact', f, '--', s.path, 'other']);
    expect(r.stderr).toMatch(/^execgate: would deny \(audit mode, running anyway\): E_SCOPE: [^\n]+\n$/);
    expect(r.code).toBe(5);
    expect(await readFile(s.marker, 'utf8')).toBe('other\n');
    const [e] = (await h.entries()).slice(before);
    expect(e).toMatchObject({ verdict: 'would-deny', reason: 'E_SCOPE', mode: 'audit' });
    // An allowed command in audit mode is an allow.
    await rm(s.marker);
    const ok = await h.exec(['--artifact', f, '--', s.path, 'allowed']);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(5);
    expect((await h.entries()).at(-1)).toMatchObject({ verdict: 'allow', reason: 'OK', mode: 'audit' });
  });
});

describe('--verdict FILE and --json', () => {
  it('allow: the verdict is written before the command starts, which sees it as EXECGATE_VERDICT', async () => {
    const verdict = h.file('verdict.json');
    const seen = join(h.dir, 'verdict-seen');
    const s = await h.script(
      'verdict',
      `cat '${verdict}' > '${seen}'; echo "$EXECGATE_VERDICT" >> '${seen}'`,
    );
    const f = await h.issue(s.path);
    const e = await allowed(h, ['--artifact', f, '--verdict', verdict, '--', s.path], s.marker);
    const text = await readFile(verdict, 'utf8');
    const v = JSON.parse(text);
    expect(v).toMatchObject({
      execgate: 'verdict',
      verdict: 'allow',
      reason: 'OK',
      mode: 'enforce',
      artifact: { file: f, cti: toHex(e.cti ?? new Uint8Array()) },
      exe: { path: s.path },
      audit: { seq: e.seq },
    });
    expect(v.run).toBeUndefined();
    expect(await readFile(seen, 'utf8')).toBe(`${text}${v.audit.seq}:${v.audit.entryHash}\n`);
  });

  it('deny: the verdict file and the --json line carry the reason, detail and remedy; nothing runs', async () => {
    const s = await h.script('verdict-deny');
    const f = await h.issue(s.path, '--uid', '4242');
    const verdict = h.file('verdict-deny.json');
    const before = (await h.entries()).length;
    const r = await h.exec(['--artifact', f, '--verdict', verdict, '--', s.path]);
    expect(r.stderr).toMatch(denialLine('E_SCOPE'));
    expect(r.code).toBe(126);
    const v = JSON.parse(await readFile(verdict, 'utf8'));
    expect(v).toMatchObject({
      execgate: 'verdict',
      verdict: 'deny',
      reason: 'E_SCOPE',
      audit: { seq: before },
    });
    expect(v.detail).toMatch(/uid 4242/);
    expect(v.remedy).toMatch(/run it as uid 4242/);
    const j = await h.exec(['--json', '--artifact', f, '--', s.path]);
    expect(j.code).toBe(126);
    expect(j.stderr.endsWith('\n')).toBe(true);
    expect(j.stderr.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(j.stderr)).toMatchObject({
      execgate: 'verdict',
      verdict: 'deny',
      reason: 'E_SCOPE',
      detail: v.detail,
      remedy: v.remedy,
      audit: { seq: before + 1 },
    });
    expect(await ran(s.marker)).toBe(false);
    expect((await h.entries()).slice(before).map((e) => e.reason)).toEqual(['E_SCOPE', 'E_SCOPE']);
  });
});

describe('E_INTERNAL: a step that fails unexpectedly', () => {
  it('--verdict FILE on a full filesystem (a 16 KiB tmpfs, filled, in a private mount namespace): nothing runs', async () => {
    const s = await h.script('full');
    const f = await h.issue(s.path);
    const full = join(h.dir, 'full');
    await mkdir(full, { mode: 0o700 });
    const before = (await h.entries()).length;
    const r = await h.exec(['--artifact', f, '--verdict', join(full, 'verdict.json'), '--', s.path], {
      wrap: [
        'unshare',
        '--mount',
        'sh',
        '-c',
        'mount -t tmpfs -o size=16k,mode=0700 tmpfs "$0" && (cat /dev/zero > "$0/fill") 2>/dev/null; exec "$@"',
        full,
      ],
    });
    expect(r.stderr).toMatch(denialLine('E_INTERNAL'));
    expect(r.stderr).toMatch(/cannot write --verdict/);
    expect(r.code).toBe(126);
    expect(await ran(s.marker)).toBe(false);
    // The allow was recorded (and its use spent) before the verdict file could not be written: it says so.
    const added = (await h.entries()).slice(before);
    expect(added).toMatchObject([{ verdict: 'allow' }]);
    expect(r.stderr).toMatch(new RegExp(`audit entry ${before}\\b`));
  });
});

describe('execgate check', () => {
  it('exit 0 or 126; records nothing, consumes nothing, runs nothing', async () => {
    const s = await h.script('check');
    const f = await h.issue(s.path);
    const before = (await h.entries()).length;
    const ok = await h.check(['--artifact', f, '--', s.path]);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    const no = await h.check(['--artifact', f, '--', s.path, 'other']);
    expect(no.stderr).toMatch(denialLine('E_SCOPE'));
    expect(no.code).toBe(126);
    expect(await ran(s.marker)).toBe(false);
    expect((await h.entries()).length).toBe(before);
    // Its one use is still there; once spent, check says so.
    await allowed(h, ['--artifact', f, '--', s.path], s.marker);
    const spent = await h.check(['--artifact', f, '--', s.path]);
    expect(spent.stderr).toMatch(denialLine('E_REPLAY'));
    expect(spent.code).toBe(126);
    expect((await h.entries()).length).toBe(before + 1);
  });
});

describe('an allowed command gets our stdio, and we end as it ended', () => {
  it('stdin, stdout and stderr pass through', async () => {
    const s = await h.script('stdio', `cat >> '${join(h.dir, 'stdin-seen')}'; echo out; echo err >&2`);
    const f = await h.issue(s.path);
    const r = await h.exec(['--artifact', f, '--', s.path], { stdin: 'piped in\n' });
    expect(r).toMatchObject({ code: 0, signal: null, stdout: 'out\n', stderr: 'err\n' });
    expect(await readFile(join(h.dir, 'stdin-seen'), 'utf8')).toBe('piped in\n');
  });

  it("the command's exit status", async () => {
    const s = await h.script('three', 'exit 3');
    const e = await h.issue(s.path);
    const r = await h.exec(['--artifact', e, '--', s.path]);
    expect(r.code).toBe(3);
    expect(await ran(s.marker)).toBe(true);
  });

  it('a command that kills itself with SIGTERM: execgate dies of SIGTERM', async () => {
    const s = await h.script('sigterm', 'kill -TERM $$');
    const r = await h.exec(['--artifact', await h.issue(s.path), '--', s.path]);
    expect(r).toMatchObject({ code: null, signal: 'SIGTERM' });
    expect(await ran(s.marker)).toBe(true);
  });

  it('SIGUSR1 sent to execgate reaches the command', async () => {
    const ready = join(h.dir, 'usr1-ready');
    const got = join(h.dir, 'usr1-got');
    const s = await h.script(
      'usr1',
      `trap 'echo USR1 > "${got}"; exit 7' USR1\necho > '${ready}'\nwhile :; do sleep 0.05; done`,
    );
    const f = await h.issue(s.path);
    let gate: { kill(signal: NodeJS.Signals): boolean } | undefined;
    const run = h.exec(['--artifact', f, '--', s.path], { onSpawn: (c) => (gate = c) });
    for (let i = 0; i < 400 && !(await ran(ready)); i++) await sleep(25);
    expect(await ran(ready)).toBe(true);
    gate?.kill('SIGUSR1');
    const r = await run;
    expect(r.stderr).toBe('');
    expect(r).toMatchObject({ code: 7, signal: null });
    expect(await readFile(got, 'utf8')).toBe('USR1\n');
  });
});
