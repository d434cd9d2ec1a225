#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// `npm run demo`: execgate's main job end to end, narrated (issue 15). On /dev/tpmrm0 when it is there and
// answers, else on a private swtpm started here and stopped at the end: `host init` with a host policy,
// an issuer's keys and the policy trusting them, artifacts for real commands bound to this host's AK and
// to its PCRs as a verified quote shows them, `execgate exec` allowing and denying (replay, tampering,
// approvals, a changed PCR), then the audit log verified on the host, proved, and exported to an auditor.
// Ends with a table of verdicts, expected and got; exit 0 only when every one was as expected, 1 when
// not (or a step failed), 2 for a usage error.
//
// Everything it writes is under one temporary directory (state directory, policy, keys, artifacts, the
// swtpm's state), removed at the end, and it leaves no process running. On a hardware TPM it leaves PCR 16
// extended (until the next boot), the AK host init persists, and its own audit counter (NV_COUNTER).
//   node scripts/demo.mjs [--swtpm] [--json FILE]
//   --swtpm      never use /dev/tpmrm0
//   --json FILE  also write the summary as JSON to FILE
// For tests, from sources: EXECGATE_BIN (the CLI, a JS file run by this Node; default dist/execgate.cjs)
// and EXECGATE_SWTPM_MAIN (the swtpm helper; default dist/swtpm/main.js).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = resolve(process.env.EXECGATE_BIN || join(ROOT, 'dist', 'execgate.cjs'));
const SWTPM_MAIN = resolve(process.env.EXECGATE_SWTPM_MAIN || join(ROOT, 'dist', 'swtpm', 'main.js'));
const DEVICE = '/dev/tpmrm0';
// The demo's own audit counter, not the default 0x01800100: on a hardware TPM its checkpoints must never
// advance the counter of a real execgate log on the host (that log would then read as rolled back).
const NV_COUNTER = '0x018001de';
// The debug PCR: the demo extends it to change the measured state.
const PCR = 16;
const SELECTION = `sha256:0-7,${PCR}`;
const USAGE = 'usage: node scripts/demo.mjs [--swtpm] [--json FILE]';

/** A step whose failure ends the demo (a setup command, not a verdict). */
class DemoError extends Error {}

const out = (s = '') => process.stdout.write(`${s}\n`);
const say = (...lines) => {
  out();
  for (const l of lines) out(`# ${l}`);
};

/** The words of `line`, split at single spaces (so no word of it may hold a path: pass those apart). */
const words = (line) => line.split(' ');

/** A shell word: as it is when it needs no quoting, else single-quoted. */
function word(s) {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`;
}

function parse(argv) {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { swtpm: { type: 'boolean' }, json: { type: 'string' }, help: { type: 'boolean' } },
    });
    if (positionals.length) throw new Error(`unknown argument "${positionals[0]}"`);
    return values;
  } catch (e) {
    process.stderr.write(`demo: ${e.message}\n${USAGE}\n`);
    process.exit(2);
  }
}

/** Runs `node FILE ARGS` in `cwd` with `env`; resolves with its exit status and output. */
function node(file, args, { cwd, env }) {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [file, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', fail);
    child.on('close', (code, signal) => done({ code: code ?? 128, signal, stdout, stderr }));
  });
}

/** Prints a command's output, indented: at most `max` lines of it, each cut at `width` characters. */
function show(text, max = 14, width = 150) {
  if (text === '') return;
  const lines = text.replace(/\n$/, '').split('\n');
  for (const l of lines.slice(0, max)) out(`  ${l.length > width ? `${l.slice(0, width - 1)}…` : l}`);
  if (lines.length > max) out(`  … (${lines.length - max} more lines)`);
}

/** The demo's world: its directory, the TPM it uses, and the swtpm it may have started. */
class Demo {
  constructor(dir) {
    this.dir = dir;
    this.env = { ...process.env, EXECGATE_STATE_DIR: join(dir, 'state') };
    delete this.env.EXECGATE_TCTI;
    delete this.env.TPM2TOOLS_TCTI;
    /** @type {{step: string, expected: object, got: object, ok: boolean}[]} */
    this.verdicts = [];
    this.swtpm = undefined;
  }

  /** `execgate ARGS` as printed: the demo's directory shown as $DEMO. */
  printed(args, suffix = '') {
    const shown = args.map((a) => (a.includes(this.dir) ? `"${a.replaceAll(this.dir, '$DEMO')}"` : word(a)));
    out(`$ execgate ${shown.join(' ')}${suffix}`);
  }

  /** Runs `execgate ARGS` in the demo's directory, printing it and its output. */
  async run(args, { suffix = '', quiet = false, max = 14, env = this.env, cwd = this.dir } = {}) {
    this.printed(args, suffix);
    const r = await node(BIN, args, { cwd, env });
    if (!quiet) show(r.stdout, max);
    show(r.stderr, 14, Number.POSITIVE_INFINITY); // a denial's line whole: what failed, what to do
    return r;
  }

  /** As `run`, and a failure ends the demo. */
  async must(args, opts) {
    const r = await this.run(args, opts);
    if (r.code !== 0) throw new DemoError(`execgate ${args[0]} ${args[1] ?? ''} failed (exit ${r.code})`);
    return r;
  }

  /** Records a verdict row of the summary. */
  record(step, expected, got) {
    const ok = expected.verdict === got.verdict && expected.reason === got.reason;
    this.verdicts.push({ step, expected, got, ok });
    out(
      `  -> ${got.verdict}${got.reason ? ` (${got.reason})` : ''}${ok ? '' : `   UNEXPECTED: expected ${expected.verdict} (${expected.reason})`}`,
    );
  }

  /**
   * `execgate exec` of `command` under `artifact`: the verdict as the gate wrote it (--verdict FILE),
   * checked against its exit status (126 for a denial; an allowed command's own status otherwise).
   */
  async gate(step, artifact, command, expected) {
    const verdictFile = join(this.dir, 'verdicts', `${this.verdicts.length + 1}.json`);
    const args = ['exec', '--policy', 'policy.toml', '--artifact', artifact, '--verdict', verdictFile];
    const r = await this.run([...args, '--', ...command]);
    let got;
    try {
      const v = JSON.parse(await readFile(verdictFile, 'utf8'));
      const consistent = v.verdict === 'allow' ? r.code === 0 : r.code === 126;
      got = consistent
        ? { verdict: v.verdict, reason: v.reason }
        : { verdict: `${v.verdict}, exit ${r.code}`, reason: v.reason };
    } catch {
      got = { verdict: `no verdict, exit ${r.code}`, reason: '' };
    }
    this.record(step, expected, got);
  }

  /** A check of the audit log: `fn` says whether it passed, and why not. */
  async check(step, fn) {
    let got;
    try {
      const { pass, reason } = await fn();
      got = { verdict: pass ? 'pass' : 'fail', reason };
    } catch (e) {
      if (!(e instanceof DemoError)) throw e;
      got = { verdict: 'fail', reason: e.message };
    }
    this.record(step, { verdict: 'pass', reason: 'OK' }, got);
  }
}

/** The TCTI of /dev/tpmrm0 when it is there and answers `tpm info`; else why not. */
async function probeDevice(demo) {
  if (!existsSync(DEVICE)) return { why: `there is no ${DEVICE} here` };
  const tcti = `device:${DEVICE}`;
  const r = await node(BIN, ['--tcti', tcti, '--tpm-deadline', '10', 'tpm', 'info'], {
    cwd: demo.dir,
    env: demo.env,
  });
  if (r.code !== 0) return { why: `${DEVICE} does not answer (${r.stderr.trim().split('\n')[0]})` };
  return { tcti };
}

/**
 * Starts the swtpm helper (node SWTPM_MAIN start) with its temporary files in the demo's directory;
 * resolves with its TCTI and swtpm's pid once it prints them. Not `start --ek`: swtpm_setup, which makes
 * the EK certificates, writes a pidfile in /tmp whatever TMPDIR says, and host init makes the EK anyway.
 */
async function startSwtpm(demo) {
  const child = spawn(process.execPath, [SWTPM_MAIN, 'start'], {
    env: { ...demo.env, TMPDIR: demo.dir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  demo.swtpm = { child, exited: new Promise((done) => child.on('close', done)) };
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((done, fail) => {
    child.stdout.on('data', (d) => {
      stdout += d;
      const tcti = /^export EXECGATE_TCTI='([^']+)'$/m.exec(stdout)?.[1];
      const pid = /^# swtpm pid (\d+),/m.exec(stdout)?.[1];
      if (tcti !== undefined && pid !== undefined) {
        demo.swtpm.pid = Number(pid);
        done(tcti);
      }
    });
    demo.swtpm.exited.then(() => fail(new DemoError(`swtpm did not start: ${stderr.trim()}`)));
  });
}

/** Stops the swtpm helper (it stops swtpm and removes its files) and waits for it. */
async function stopSwtpm(demo) {
  if (demo.swtpm === undefined) return;
  const { child, exited } = demo.swtpm;
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** RFC 9162 §2.1.3.2: the root that `leaf` at `index` and its inclusion `proof` give for a tree of `size`. */
function inclusionRoot(index, size, leaf, proof) {
  const node = (l, r) =>
    createHash('sha256')
      .update(Buffer.from([1]))
      .update(l)
      .update(r)
      .digest();
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return undefined;
    if (fn % 2 === 1 || fn === sn) {
      r = node(p, r);
      while (fn % 2 === 0 && fn !== 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else r = node(r, p);
    fn >>= 1;
    sn >>= 1;
  }
  return sn === 0 ? r : undefined;
}

/** A copy of the artifact at `from` with its argv claim "-u" changed to "-R": the signature no longer fits. */
async function tamper(from, to) {
  const bytes = await readFile(from);
  // The text "argv", then an array of one item, the two-character text "-u" (deterministic CBOR).
  const claim = Buffer.from([0x64, ...Buffer.from('argv'), 0x81, 0x62, ...Buffer.from('-u')]);
  const at = bytes.indexOf(claim);
  if (at < 0) throw new DemoError('the artifact has no argv ["-u"] claim to tamper with');
  bytes[at + claim.length - 1] = 'R'.charCodeAt(0);
  await writeFile(to, bytes);
}

async function main(demo, flags) {
  const { dir } = demo;
  out(`execgate demo: the gate end to end. Working directory (removed at the end):`);
  out(`  DEMO=${dir}`);

  const device = flags.swtpm ? { why: '--swtpm was given' } : await probeDevice(demo);
  if (device.tcti !== undefined) {
    demo.tpm = 'device';
    demo.env.EXECGATE_TCTI = device.tcti;
    say(
      `Using this host's TPM, ${DEVICE}. The demo changes it: PCR ${PCR} stays extended until the next boot,`,
      `and host init leaves its AK at 0x81010002 and the demo's audit counter at ${NV_COUNTER} defined.`,
    );
  } else {
    demo.tpm = 'swtpm';
    say(
      `Not using a hardware TPM: ${device.why}.`,
      'Starting a private software TPM (swtpm) for this demo; it is stopped at the end.',
    );
    out('$ node dist/swtpm/main.js start &');
    demo.env.EXECGATE_TCTI = await startSwtpm(demo);
    out(`  swtpm pid ${demo.swtpm.pid}`);
  }
  out(`$ export EXECGATE_TCTI=${word(demo.env.EXECGATE_TCTI)} EXECGATE_STATE_DIR="$DEMO/state"; cd "$DEMO"`);

  say(
    'The host policy: where the host keeps its state (audit log, replay counts, pinned identity) and its',
    'audit counter. No issuer is trusted yet.',
  );
  const hostPolicy = `[host]\nstate_dir = "state"\nclock_skew = "30s"\n\n[audit]\npcrs = "sha256:0-7"\nnv_counter_index = "${NV_COUNTER}"\n`;
  await writeFile(join(dir, 'policy.toml'), hostPolicy, { mode: 0o600 });
  out('$ cat policy.toml');
  show(hostPolicy);

  say(
    "Provision the host: pin the TPM's endorsement key, create the attestation key (AK) that signs every",
    'quote the gate relies on, and define the audit log’s rollback counter.',
  );
  await demo.must(words('host init --policy policy.toml'), { max: 5 });
  say('The host identity the issuer needs: the AK Name (the artifact’s subject) and the AK public key.');
  const id = await demo.must(words('host identity --policy policy.toml --json'), {
    suffix: ' > identity.json',
    quiet: true,
  });
  const identity = JSON.parse(id.stdout);
  await writeFile(join(dir, 'identity.json'), id.stdout);
  await writeFile(join(dir, 'ak.pem'), identity.akPublicPem);
  out(`  akName ${identity.akName}`);
  out('$ jq -r .akPublicPem identity.json > ak.pem');

  say(
    'The issuer (on its own machine in real life) makes its signing key, a key it delegates to a team,',
    'and two approvers’ keys.',
  );
  await mkdir(join(dir, 'keys'), { mode: 0o700 });
  await demo.must(words('key gen --alg ed25519 --out keys/ops.key'));
  await demo.must(words('key gen --alg p256 --out keys/team.key'));
  await demo.must(words('key gen --alg ed25519 --out keys/alice.key'));
  await demo.must(words('key gen --alg p384 --out keys/bob.key'));

  // A maintenance script for the delegated artifact, in a directory only we may write.
  const bin = join(dir, 'bin');
  await mkdir(bin, { mode: 0o700 });
  const script = join(bin, 'rotate-logs');
  await writeFile(script, '#!/bin/sh\necho "rotate-logs: rotated (arguments: $*)"\n', { mode: 0o700 });
  await chmod(script, 0o700);

  say(
    'The host trusts the issuer "ops" for /usr/bin/date and the scripts in $DEMO/bin/, lets it delegate,',
    'and requires two approvals (alice, bob) for anything in $DEMO/bin/.',
  );
  const trust =
    `\n[[issuer]]\nname = "ops"\nkey = "keys/ops.key.pub"\nexe = ["/usr/bin/date", "${bin}/"]\nmax_ttl = "1h"\ndelegation = true\n` +
    `\n[[approval]]\nexe = ["${bin}/"]\napprovers = ["keys/alice.key.pub", "keys/bob.key.pub"]\nrequired = 2\n`;
  await writeFile(join(dir, 'policy.toml'), hostPolicy + trust, { mode: 0o600 });
  out('$ cat >> policy.toml <<EOF');
  show(trust.replaceAll(dir, '$DEMO').slice(1));
  out('EOF');
  await demo.must(words('policy check --policy policy.toml'), { quiet: true });
  out('  (policy check: it loads, every key included)');

  say(
    "The issuer asks the host for a quote: the TPM signs, with the AK, the host's current PCR values and",
    'a fresh nonce, so the issuer sees the state the host is in now, not numbers typed by hand.',
  );
  const nonce = (await demo.must(words('tpm random 16'))).stdout.trim();
  await demo.must(['quote', '--pcrs', SELECTION, '--nonce', nonce, '--out', 'quote.cbor']);

  say(
    'It issues artifacts for `date -u`, each good for one run in the next 10 minutes, on this host only',
    '(its AK Name) and in this state only: artifact issue verifies the quote (the AK’s signature, the',
    'nonce) and binds the digest of the quoted PCR values.',
  );
  const bound = words(
    `--host-identity identity.json --pcrs ${SELECTION} --quote quote.cbor --ak ak.pem --nonce ${nonce}`,
  );
  const opsIssues = words('artifact issue --key keys/ops.key --issuer ops --exe');
  const issue = (outFile, ticket) =>
    demo.must([
      ...opsIssues,
      ...words(`/usr/bin/date --arg=-u --ttl 10m --gov ticket=${ticket} --out ${outFile}`),
      ...bound,
    ]);
  await issue('date.cose', 'DEMO-1');
  await issue('date-later.cose', 'DEMO-2');

  const allow = { verdict: 'allow', reason: 'OK' };
  const deny = (reason) => ({ verdict: 'deny', reason });
  say(
    '1. The gate runs `date -u` under its artifact: signature, host, a fresh quote of the state, scope,',
    '   one use consumed and the verdict audited, all before date starts.',
  );
  await demo.gate('date -u, its artifact fresh', 'date.cose', ['/usr/bin/date', '-u'], allow);

  say('2. The same artifact again: its one use is spent.');
  await demo.gate('the same artifact again', 'date.cose', ['/usr/bin/date', '-u'], deny('E_REPLAY'));

  say(
    '3. A copy of an unused artifact, edited to allow `date -R` instead: the issuer’s signature no longer fits.',
  );
  await tamper(join(dir, 'date-later.cose'), join(dir, 'date-tampered.cose'));
  out('$ # date-tampered.cose: a copy of date-later.cose with its argv claim "-u" changed to "-R"');
  await demo.gate('a tampered artifact', 'date-tampered.cose', ['/usr/bin/date', '-R'], deny('E_SIGNATURE'));

  say(
    'Delegation: ops grants the team key the right to issue artifacts for scripts in $DEMO/bin/, in the',
    'same state; the team issues a narrower child for `rotate-logs --now`, its chain included.',
  );
  const grant = words('--delegate-key keys/team.key.pub --delegate-depth 0 --delegate-exe-prefix');
  await demo.must([
    ...opsIssues,
    script,
    ...words('--any-args --ttl 30m --out team-grant.cose'),
    ...bound,
    ...grant,
    `${bin}/`,
  ]);
  const delegate = words(
    'artifact delegate --parent team-grant.cose --key keys/team.key --issuer team --exe',
  );
  await demo.must([
    ...delegate,
    script,
    ...words('--arg=--now --ttl 10m --gov ticket=DEMO-4 --out rotate.cose'),
  ]);
  await demo.must(words('artifact approve rotate.cose --key keys/alice.key'));

  say('4. The child with one approval: the policy wants two.');
  await demo.gate('delegated child, 1 of 2 approvals', 'rotate.cose', [script, '--now'], deny('E_APPROVAL'));

  say('5. Bob approves too: the child runs.');
  await demo.must(words('artifact approve rotate.cose --key keys/bob.key'));
  await demo.gate('delegated child, 2 of 2 approvals', 'rotate.cose', [script, '--now'], allow);

  say(
    `6. The measured state changes: something is measured into PCR ${PCR}. An unused artifact bound to the`,
    '   old state no longer runs.',
  );
  const digest = createHash('sha256').update('execgate demo').digest('hex');
  await demo.must(['tpm', 'extend', String(PCR), '--bank', 'sha256', '--digest', digest]);
  await demo.gate(
    `date -u after PCR ${PCR} changed`,
    'date-later.cose',
    ['/usr/bin/date', '-u'],
    deny('E_STATE'),
  );

  say(
    'The audit log holds every verdict above, allows and denials. A checkpoint anchors it in the TPM: a',
    'quote over the Merkle root, with the AK’s certification of the audit counter, then the counter bumped.',
  );
  await demo.must(words('audit show --policy policy.toml'));
  await demo.must(words('audit checkpoint --policy policy.toml'));

  say('7. The host verifies its log: every leaf, the tree, every checkpoint, the TPM’s counter.');
  await demo.check('audit verify on the host', async () => {
    const r = await demo.run(words('audit verify --policy policy.toml'));
    return { pass: r.code === 0, reason: r.code === 0 ? 'OK' : `exit ${r.code}` };
  });

  say(
    '8. An inclusion proof of the first entry (the allowed date -u), checked here with SHA-256 alone',
    '   (RFC 9162): the path from its leaf must lead to the root the checkpoint signed.',
  );
  await demo.check('audit prove --index 0, checked', async () => {
    const r = await demo.must(words('audit prove --policy policy.toml --index 0'));
    const p = JSON.parse(r.stdout);
    const hex = (h) => Buffer.from(h, 'hex');
    const root = inclusionRoot(p.index, p.size, hex(p.leaf), p.proof.map(hex));
    // The checkpoint note: origin, size, base64 root (C2SP tlog-checkpoint).
    const [, size, root64] = String(p.checkpoint).split('\n');
    const signedRoot = Buffer.from(root64 ?? '', 'base64');
    const pass = root?.equals(hex(p.root)) === true && root.equals(signedRoot) && Number(size) === p.size;
    out(
      `  recomputed root ${root?.toString('hex') ?? '(none)'}: ${pass ? 'the checkpoint’s' : 'NOT the checkpoint’s'}`,
    );
    return { pass, reason: pass ? 'OK' : 'root differs' };
  });

  say('9. The log exported for an auditor, who verifies it elsewhere with only the AK public key: no TPM.');
  await demo.must(words('audit export --policy policy.toml --out audit.cbor'));
  const auditor = join(dir, 'auditor');
  await mkdir(auditor, { mode: 0o700 });
  await writeFile(join(auditor, 'audit.cbor'), await readFile(join(dir, 'audit.cbor')));
  await writeFile(join(auditor, 'ak.pem'), identity.akPublicPem);
  out('$ cd auditor   # a copy of audit.cbor and ak.pem, no state directory, and no TPM at the TCTI:');
  out('$ export EXECGATE_TCTI=swtpm:host=127.0.0.1,port=1 EXECGATE_STATE_DIR="$DEMO/auditor/none"');
  const auditorEnv = {
    ...demo.env,
    EXECGATE_TCTI: 'swtpm:host=127.0.0.1,port=1',
    EXECGATE_STATE_DIR: join(auditor, 'none'),
  };
  await demo.check('auditor: audit verify --bundle', async () => {
    const r = await demo.run(words('audit verify --bundle audit.cbor --ak ak.pem'), {
      cwd: auditor,
      env: auditorEnv,
    });
    return { pass: r.code === 0, reason: r.code === 0 ? 'OK' : `exit ${r.code}` };
  });
}

/** The summary table (markdown), and whether every verdict was as expected. */
function summary(demo, failure) {
  out();
  out('Summary');
  const rows = [['#', 'step', 'expected', 'got', 'reason code']];
  demo.verdicts.forEach((v, i) => {
    rows.push([
      String(i + 1),
      v.step,
      v.expected.verdict,
      `${v.got.verdict}${v.ok ? '' : ' (UNEXPECTED)'}`,
      v.got.reason,
    ]);
  });
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r) => `| ${r.map((cell, c) => cell.padEnd(widths[c])).join(' | ')} |`;
  out(line(rows[0]));
  out(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows.slice(1)) out(line(r));
  const ok = failure === undefined && demo.verdicts.every((v) => v.ok);
  out();
  if (failure !== undefined) out(`demo: stopped early: ${failure}`);
  out(ok ? 'demo: every verdict as expected.' : 'demo: FAILED: not every verdict was as expected.');
  return ok;
}

const flags = parse(process.argv.slice(2));
if (flags.help) {
  out(USAGE);
  process.exit(0);
}
if (!existsSync(BIN)) {
  process.stderr.write(`demo: ${BIN} is missing: run ./scripts/setup.sh (or npm run build) first\n`);
  process.exit(1);
}
const demo = new Demo(await mkdtemp(join(tmpdir(), 'execgate-demo-')));
await mkdir(join(demo.dir, 'verdicts'), { mode: 0o700 });
let cleaning;
const cleanup = () => {
  cleaning ??= stopSwtpm(demo).finally(() => rm(demo.dir, { recursive: true, force: true }));
  return cleaning;
};
for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
  ['SIGHUP', 129],
])
  process.on(signal, () => cleanup().finally(() => process.exit(code)));

let failure;
try {
  await main(demo, flags);
} catch (e) {
  failure = e instanceof DemoError ? e.message : (e?.stack ?? String(e));
}
await stopSwtpm(demo);
if (demo.swtpm !== undefined) out(`\nswtpm stopped.`);
const ok = summary(demo, failure);
if (flags.json !== undefined)
  await writeFile(
    flags.json,
    `${JSON.stringify({ ok, tpm: demo.tpm, dir: demo.dir, swtpmPid: demo.swtpm?.pid ?? null, failure: failure ?? null, verdicts: demo.verdicts }, null, 2)}\n`,
  );
await cleanup();
process.exitCode = ok ? 0 : 1;
