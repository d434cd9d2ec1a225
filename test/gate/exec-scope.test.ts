// SPDX-License-Identifier: Apache-2.0
// `execgate exec` end to end on swtpm (issue 14 acceptance), the execution itself: E_SCOPE (the
// executable replaced after issue, other arguments, a writable directory above it, the cwd and uid
// claims, scope.caller), a file swapped between `check` and `exec` and while the gate runs (what ran is
// always the file whose digest was checked), E_REPLAY and a 3-use artifact run at once, and execution
// lineage: a nested `execgate exec` under an allowed parent is recorded with `parent`, a forged
// EXECGATE_VERDICT is E_LINEAGE. Each through the real CLI process, with its marker file and audit entry.
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, copyFile, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../agent/audit/sqlite.js';
import { toHex } from '../../agent/encoding/bytes.js';
import { useSwtpm } from '../helpers/swtpm.js';
import { allowed, denialLine, denied, type GateHost, MAIN, ran, shareGateHost } from './gate-host.js';

const swtpm = useSwtpm();
let h: GateHost;
shareGateHost(swtpm, (host) => {
  h = host;
});

const sha256 = (b: string | Uint8Array) => createHash('sha256').update(b).digest('hex');
const hex = (b: Uint8Array | undefined) => (b === undefined ? undefined : toHex(b));

/** A script at `path` that writes `text` to `marker` (appending with `append`). */
async function writeScript(path: string, marker: string, text: string, append = false): Promise<string> {
  const content = `#!/bin/sh\necho ${text} ${append ? '>>' : '>'} '${marker}'\n`;
  await writeFile(path, content, { mode: 0o700 });
  await chmod(path, 0o700);
  return content;
}

describe('E_SCOPE', () => {
  it('the executable replaced after the artifact was issued', async () => {
    const s = await h.script('replaced');
    const f = await h.issue(s.path);
    const content = await writeScript(s.path, s.marker, 'replaced');
    const e = await denied(h, 'E_SCOPE', ['--artifact', f, '--', s.path], s.marker);
    expect(hex(e.exeSha256)).toBe(sha256(content));
  });

  it('arguments other than the artifact names', async () => {
    const s = await h.script('argv');
    const f = await h.issue(s.path, '--arg', 'one', '--uses', '2');
    await denied(h, 'E_SCOPE', ['--artifact', f, '--', s.path, 'two'], s.marker);
    await denied(h, 'E_SCOPE', ['--artifact', f, '--', s.path], s.marker);
    await denied(h, 'E_SCOPE', ['--artifact', f, '--', s.path, 'one', 'two'], s.marker);
    const before = (await h.entries()).length;
    const r = await h.exec(['--artifact', f, '--', s.path, 'one']);
    expect(r.code).toBe(0);
    expect(await readFile(s.marker, 'utf8')).toBe('one\n');
    expect((await h.entries())[before]).toMatchObject({
      verdict: 'allow',
      argvSha256: expect.any(Uint8Array),
    });
  });

  it('a directory above the executable writable by others; sticky and root-owned is safe', async () => {
    const sub = join(h.bin, 'shared');
    await mkdir(sub, { mode: 0o755 });
    const path = join(sub, 'tool');
    const marker = join(h.dir, 'marker-shared');
    await writeScript(path, marker, 'ran');
    const f = await h.issue(path, '--uses', '2');
    await chmod(sub, 0o777);
    const e = await denied(h, 'E_SCOPE', ['--artifact', f, '--', path], marker, { message: /shared/ });
    // The executable was refused before it was opened: the entry names none.
    expect(e.exe).toBeUndefined();
    await chmod(sub, 0o1777);
    await allowed(h, ['--artifact', f, '--', path], marker);
  });

  it('the cwd claim', async () => {
    const s = await h.script('cwd');
    const f = await h.issue(s.path, '--cwd', h.dir, '--uses', '2');
    await denied(h, 'E_SCOPE', ['--artifact', f, '--', s.path], s.marker, { cwd: '/', message: /cd / });
    await allowed(h, ['--artifact', f, '--', s.path], s.marker, { cwd: h.dir });
  });

  it('the uid claim', async () => {
    const s = await h.script('uid');
    const f = await h.issue(s.path, '--uid', '1000');
    const e = await denied(h, 'E_SCOPE', ['--artifact', f, '--', s.path], s.marker, { message: /uid 1000/ });
    expect(e.uid).toBe(0);
  });
});

describe('a script whose #! interpreter does not exist', () => {
  // The interpreter is judged with the executable (adversary 14): refused before the verdict is an allow,
  // so no use is spent. A file the kernel refuses only after the allow is adversary-14-denial's case.
  it('is an E_SCOPE denial (line, or JSON with --json), exit 126, recorded, no use spent', async () => {
    const path = join(h.bin, 'no-interpreter');
    await writeFile(path, '#!/nonexistent/sh\necho never\n', { mode: 0o700 });
    const f = await h.issue(path, '--uses', '2');
    const before = (await h.entries()).length;
    const r = await h.exec(['--artifact', f, '--', path]);
    expect(r.stderr).toMatch(denialLine('E_SCOPE'));
    expect(r.stderr).toMatch(/its #! interpreter \/nonexistent\/sh/);
    expect(r.code).toBe(126);
    const j = await h.exec(['--json', '--artifact', f, '--', path]);
    expect(j.code).toBe(126);
    expect(JSON.parse(j.stderr)).toMatchObject({ execgate: 'verdict', verdict: 'deny', reason: 'E_SCOPE' });
    expect((await h.entries()).slice(before).map((e) => [e.verdict, e.reason])).toEqual([
      ['deny', 'E_SCOPE'],
      ['deny', 'E_SCOPE'],
    ]);
  });
});

describe('the file that ran is the file whose digest was checked', () => {
  it('swapped between check and exec: check allows A, exec judges (and refuses) B', async () => {
    const path = join(h.bin, 'swapped');
    const marker = join(h.dir, 'marker-swapped');
    await writeScript(path, marker, 'A');
    const f = await h.issue(path);
    const c = await h.check(['--artifact', f, '--', path]);
    expect(c.code, c.stderr).toBe(0);
    const b = join(h.bin, 'swapped.b');
    const contentB = await writeScript(b, marker, 'B');
    await rename(b, path);
    const e = await denied(h, 'E_SCOPE', ['--artifact', f, '--', path], marker);
    expect(hex(e.exeSha256)).toBe(sha256(contentB));
  });

  it('swapped back and forth while gates run: each run is denied, or runs A, the digested file; never B', async () => {
    const path = join(h.bin, 'flipping');
    const marker = join(h.dir, 'marker-flipping');
    const a = join(h.bin, 'flip.a');
    const b = join(h.bin, 'flip.b');
    const contentA = await writeScript(a, marker, 'A');
    await writeScript(b, marker, 'B');
    await copyFile(a, path);
    const runs = 8;
    const f = await h.issue(path, '--uses', String(runs));
    // A separate process renames a fresh copy of A or B over the path every 15 ms (our event loop does not
    // pace it): a gate opens either, or sees the file replaced while it measures it.
    const swapper: ChildProcess = spawn(
      process.execPath,
      [
        '-e',
        `const fs = require('fs'); const [a, b, p] = process.argv.slice(1); let i = 0;
         const pause = new Int32Array(new SharedArrayBuffer(4));
         for (;;) { const t = p + '.tmp'; fs.copyFileSync(i++ % 2 ? b : a, t); fs.renameSync(t, p); Atomics.wait(pause, 0, 0, 15); }`,
        a,
        b,
        path,
      ],
      { stdio: 'ignore' },
    );
    const outcomes = { ranA: 0, denied: 0 };
    try {
      for (let i = 0; i < runs; i++) {
        await rm(marker, { force: true });
        const before = (await h.entries()).length;
        const r = await h.exec(['--artifact', f, '--', path]);
        const entry = (await h.entries())[before];
        if (r.code === 0) {
          expect(await readFile(marker, 'utf8')).toBe('A\n');
          expect(entry).toMatchObject({ verdict: 'allow' });
          expect(hex(entry?.exeSha256)).toBe(sha256(contentA));
          outcomes.ranA++;
        } else {
          expect(r.stderr).toMatch(/^execgate: denied: E_SCOPE: /);
          expect(r.code).toBe(126);
          expect(await ran(marker)).toBe(false);
          expect(entry).toMatchObject({ verdict: 'deny', reason: 'E_SCOPE' });
          outcomes.denied++;
        }
      }
    } finally {
      swapper.kill('SIGKILL');
    }
    console.log(`swapped while gating: ${outcomes.ranA} ran A, ${outcomes.denied} denied, of ${runs}`);
    expect(outcomes.ranA + outcomes.denied).toBe(runs);
  });
});

describe('replay: uses are counted in the audit transaction', () => {
  it('E_REPLAY: a single-use artifact the second time', async () => {
    const s = await h.script('once');
    const f = await h.issue(s.path);
    const first = await allowed(h, ['--artifact', f, '--', s.path], s.marker);
    const second = await denied(h, 'E_REPLAY', ['--artifact', f, '--', s.path], s.marker);
    expect(hex(second.cti)).toBe(hex(first.cti));
  });

  it('a 3-use artifact started 5 times at once runs exactly 3 times', async () => {
    const path = join(h.bin, 'thrice');
    const marker = join(h.dir, 'marker-thrice');
    await writeScript(path, marker, 'ran', true);
    const f = await h.issue(path, '--uses', '3');
    const before = (await h.entries()).length;
    const results = await Promise.all(Array.from({ length: 5 }, () => h.exec(['--artifact', f, '--', path])));
    expect(results.map((r) => r.code).sort()).toEqual([0, 0, 0, 126, 126]);
    for (const r of results) if (r.code === 126) expect(r.stderr).toMatch(/^execgate: denied: E_REPLAY: /);
    expect(await readFile(marker, 'utf8')).toBe('ran\nran\nran\n');
    const added = (await h.entries()).slice(before);
    expect(added.map((e) => e.reason).sort()).toEqual(['E_REPLAY', 'E_REPLAY', 'OK', 'OK', 'OK']);
  });
});

describe('execution lineage (EXECGATE_VERDICT)', () => {
  /** A gated outer script that runs `execgate exec --artifact INNER -- INNER_EXE` itself. */
  function outerRunning(inner: string, innerExe: string, before = '') {
    const gate = [process.execPath, ...MAIN, '--tcti', h.tcti, 'exec', '--policy', h.policy];
    const nested = [...gate, '--artifact', inner, '--', innerExe].map((a) => `'${a}'`).join(' ');
    return h.script('outer', `${before}${nested}`);
  }

  it('a nested execgate exec under an allowed parent is recorded with parent; scope.caller holds', async () => {
    const inner = await h.script('inner');
    const innerArtifact = await h.issue(inner.path, '--caller', join(h.bin, 'outer'));
    const outer = await outerRunning(innerArtifact, inner.path);
    const outerArtifact = await h.issue(outer.path);
    const verdict = h.file('outer-verdict.json');
    const before = (await h.entries()).length;
    const r = await h.exec(['--artifact', outerArtifact, '--verdict', verdict, '--', outer.path]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(await ran(outer.marker)).toBe(true);
    expect(await ran(inner.marker)).toBe(true);
    const [parent, child] = (await h.entries()).slice(before);
    expect(parent).toMatchObject({ verdict: 'allow', exe: outer.path });
    expect(child).toMatchObject({ verdict: 'allow', exe: inner.path, parent: parent?.seq });
    const v = JSON.parse(await readFile(verdict, 'utf8'));
    expect(v.audit.seq).toBe(parent?.seq);
  });

  it('a parent entry damaged in the audit log (its bytes, not its stored hash) is E_LINEAGE, naming audit verify', async () => {
    const inner = await h.script('inner-damaged');
    const saved = join(h.dir, 'saved-entry');
    // The outer command damages its own verdict's entry (saving the bytes), then starts the nested gate.
    const damage = `const [v, db, saved] = process.argv.slice(1); const seq = Number(v.split(':')[0]);
      const d = new (require('${join(import.meta.dirname, '../../node_modules/better-sqlite3')}'))(db);
      const row = d.prepare('SELECT bytes FROM entries WHERE seq = ?').get(seq);
      require('fs').writeFileSync(saved, row.bytes);
      d.prepare('UPDATE entries SET bytes = ? WHERE seq = ?').run(Buffer.from([0xa0]), seq); d.close();`;
    const outer = await outerRunning(
      await h.issue(inner.path),
      inner.path,
      `'${process.execPath}' -e "${damage}" "$EXECGATE_VERDICT" '${join(h.stateDir, 'audit.db')}' '${saved}' || exit 9\n`,
    );
    const before = (await h.entries()).length;
    const r = await h.exec(['--artifact', await h.issue(outer.path), '--', outer.path]);
    // Put the entry back, so that the log decodes again.
    const db = openDatabase(join(h.stateDir, 'audit.db'), {});
    db.prepare('UPDATE entries SET bytes = ? WHERE seq = ?').run(await readFile(saved), before);
    db.close();
    expect(r.stderr).toMatch(denialLine('E_LINEAGE'));
    expect(r.stderr).toMatch(/execgate audit verify/);
    expect(r.code).toBe(126);
    expect(await ran(inner.marker)).toBe(false);
    expect((await h.entries()).slice(before)).toMatchObject([
      { verdict: 'allow', exe: outer.path },
      { verdict: 'deny', reason: 'E_LINEAGE', exe: inner.path },
    ]);
  });

  it('scope.caller without a gated parent is E_SCOPE', async () => {
    const s = await h.script('needs-caller');
    const f = await h.issue(s.path, '--caller', join(h.bin, 'outer'));
    const e = await denied(h, 'E_SCOPE', ['--artifact', f, '--', s.path], s.marker, {
      message: /no parent verdict/,
    });
    expect(e.parent).toBeUndefined();
  });

  it('a forged EXECGATE_VERDICT (a real entry whose gate is not an ancestor; malformed; unknown) is E_LINEAGE', async () => {
    const first = await h.script('first');
    const verdict = h.file('first-verdict.json');
    await allowed(
      h,
      ['--artifact', await h.issue(first.path), '--verdict', verdict, '--', first.path],
      first.marker,
    );
    const { seq, entryHash } = JSON.parse(await readFile(verdict, 'utf8')).audit;
    const s = await h.script('forged');
    const f = await h.issue(s.path, '--uses', '4');
    for (const forged of [`${seq}:${entryHash}`, 'not-a-verdict', `${seq + 1000}:${entryHash}`]) {
      const e = await denied(h, 'E_LINEAGE', ['--artifact', f, '--', s.path], s.marker, {
        env: { EXECGATE_VERDICT: forged },
      });
      expect(e.parent).toBeUndefined();
    }
    // Uses were not spent by the refusals.
    await allowed(h, ['--artifact', f, '--', s.path], s.marker);
  });
});
