// SPDX-License-Identifier: Apache-2.0
/**
 * The gate's overhead (issue 14): `execgate exec --artifact A -- /bin/true` as a whole process, against
 * `node -e 0` and `/bin/true`, on swtpm. The CLI runs as the built JavaScript that package.json's `bin`
 * names (`npm run build` makes it: the bundle of scripts/bundle.mjs), as an operator's shell starts it;
 * through tsx it would measure the TypeScript transpiler, not the product. tsc's unbundled output
 * (dist/agent/cli/main.js) runs beside it. The cases are sampled round-robin (node, true, exec, …) after
 * a warm-up, so that load from other processes lands on all of them alike; each time is the wall time
 * from spawn to exit as this process sees it, and an overhead is the difference within one round
 * (paired), whose median and p95 are reported. Every process gets a minimal environment (PATH, HOME):
 * a variable such as NODE_EXTRA_CA_CERTS would add its cost to every Node process alike.
 *
 * The host is set up as an operator would (test/gate/gate-host.ts does the same for the tests): an
 * Ed25519 issuer key, a policy trusting it for /bin/true's directory, `host init` with its default AK,
 * and one artifact with a use for every run. "exec, traced" runs with EXECGATE_TRACE_TIMING=1: the gate
 * prints its stage times (agent/timing.ts) as one JSON line on stderr, tabled here as medians and p95;
 * "exec" runs without it, to show that the trace costs nothing measurable. BENCH_EXEC_RUNS=N sets the
 * number of rounds (default 60). The last table is the floor under all of it: the same verdict in one warm
 * process (agent/cli/run.ts's `execgate check`, 200 times after a warm-up: no process start, no module
 * loading, no cold code; no audit append and no spawn either). BENCH_EXEC_EXTRA='[["name", "argv0", …], …]' adds commands that run the
 * CLI another way (a startup variant under trial) to the rounds, each given the exec arguments after its
 * own (BENCHMARKS.md lists the ones tried).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { run as runCli } from '../agent/cli/run.js';
import { startSwtpm } from '../swtpm/harness.js';
import { gatedHost } from './gated-host.js';
import { table } from './measure.js';

const ROUNDS = Number(process.env.BENCH_EXEC_RUNS ?? 60);
const WARMUP = 5;
const ROOT = join(import.meta.dirname, '..');

/** `file` as Node runs it; refuses a missing build, or one older than agent/. */
function built(file: string): string[] {
  let mtime: number;
  try {
    mtime = statSync(file).mtimeMs;
  } catch {
    throw new Error(`${file} is missing: run npm run build first`);
  }
  if (newestSource(join(ROOT, 'agent')) > mtime)
    throw new Error(`${file} is older than agent/: run npm run build first`);
  return [process.execPath, file];
}

function newestSource(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestSource(p) : statSync(p).mtimeMs);
  }
  return newest;
}

interface Run {
  readonly ms: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `argv` to its end with `env`; throws unless it exits 0. */
function run(argv: readonly string[], env: NodeJS.ProcessEnv, cwd: string): Run {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(argv[0] as string, argv.slice(1), { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0)
    throw new Error(`${argv.join(' ')} exited ${r.status ?? r.signal}: ${r.stderr.toString().trim()}`);
  return { ms, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

/**
 * The same exec with `execgate serve` running on the host: the gate's client asks the service for its
 * verdict (agent/cli/exec-client.ts) and loads only its own small bundle. Round-robin with `node -e 0`
 * and `/bin/true` again, paired within each round; the service is stopped after.
 */
async function served(
  cli: readonly string[],
  policy: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  traced: NodeJS.ProcessEnv,
  dir: string,
): Promise<void> {
  const service = spawn(cli[0] as string, [...cli.slice(1), 'serve', '--policy', policy], {
    env,
    cwd: dir,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const socket = join(dir, 'state', 'gate.sock');
  for (let i = 0; i < 200 && !existsSync(socket); i++) await sleep(25);
  if (!existsSync(socket)) throw new Error('execgate serve did not open its gate socket');
  try {
    const cases = [
      { name: '`node -e 0`', argv: [process.execPath, '-e', '0'], env },
      { name: '`/bin/true`', argv: ['/bin/true'], env },
      { name: '`execgate exec --artifact A -- /bin/true`, served', argv: [...cli, ...args], env },
      { name: 'the same, EXECGATE_TRACE_TIMING=1', argv: [...cli, ...args], env: traced },
    ];
    for (let r = 0; r < WARMUP; r++) for (const c of cases) run(c.argv, c.env, dir);
    const times = cases.map(() => [] as number[]);
    const traces: Record<string, number>[] = [];
    for (let r = 0; r < ROUNDS; r++)
      cases.forEach((c, i) => {
        const t = run(c.argv, c.env, dir);
        times[i]?.push(t.ms);
        if (c.env === traced) traces.push(stages(t.stderr));
      });
    overheads(
      `execgate exec with execgate serve running, ${ROUNDS} round-robin rounds on swtpm`,
      cases,
      times,
    );
    const names = [...new Set(traces.flatMap((t) => Object.keys(t)))];
    table(
      `Stages of the served, traced runs (the client's; \`verdict\` is the round trip to the service), median and p95 of ${ROUNDS}`,
      ['stage', 'median, p95'],
      [...names, 'sum'].map((n) => {
        const xs = traces.map((t) =>
          n === 'sum' ? Object.values(t).reduce((a, b) => a + b, 0) : (t[n] ?? 0),
        );
        return [n, `${ms(quantile(xs, 0.5))}, ${ms(quantile(xs, 0.95))}`];
      }),
    );
  } finally {
    service.kill('SIGTERM');
    await new Promise((resolve) => service.once('close', resolve));
  }
}

/** The table of each case's wall time and its overhead over the first two (`node -e 0`, `/bin/true`), paired by round. */
function overheads(title: string, cases: readonly { name: string }[], times: readonly number[][]): void {
  const [node = [], bare = []] = times;
  const paired = (xs: readonly number[], base: readonly number[]) => xs.map((x, i) => x - (base[i] ?? 0));
  table(
    title,
    ['command', 'median', 'p95', 'over `node -e 0`: median, p95', 'over `/bin/true`: median, p95'],
    cases.map((c, i) => {
      const xs = times[i] ?? [];
      const overNode = paired(xs, node);
      const overTrue = paired(xs, bare);
      return [
        c.name,
        ms(quantile(xs, 0.5)),
        ms(quantile(xs, 0.95)),
        `${ms(quantile(overNode, 0.5))}, ${ms(quantile(overNode, 0.95))}`,
        `${ms(quantile(overTrue, 0.5))}, ${ms(quantile(overTrue, 0.95))}`,
      ];
    }),
  );
}

function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] ?? Number.NaN;
}

const ms = (x: number) => `${x.toFixed(1)} ms`;

/** The stage times of a traced run: the JSON line agent/timing.ts's report prints. */
function stages(stderr: string): Record<string, number> {
  const line = stderr.split('\n').find((l) => l.startsWith('{"execgate":"timing"'));
  if (line === undefined) throw new Error(`no timing line in the gate's stderr: ${stderr}`);
  return (JSON.parse(line) as { ms: Record<string, number> }).ms;
}

export async function main(): Promise<void> {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: { execgate: string } };
  const cli = built(join(ROOT, pkg.bin.execgate));
  const unbundled = built(join(ROOT, 'dist', 'agent', 'cli', 'main.js'));
  const extra = JSON.parse(process.env.BENCH_EXEC_EXTRA ?? '[]') as [string, ...string[]][];
  const swtpm = await startSwtpm();
  const dir = mkdtempSync(join(tmpdir(), 'execgate-bench-exec-'));
  try {
    const { env, policy, issue } = gatedHost(cli, swtpm.tcti, dir);
    // A use for every exec run (three cases and the extra ones per round), and one left for `check`.
    const artifact = issue('true.cose', (5 + extra.length) * (ROUNDS + WARMUP) + 1);
    const args = ['exec', '--policy', policy, '--artifact', artifact, '--', '/bin/true'];
    const traced = { ...env, EXECGATE_TRACE_TIMING: '1' };
    const cases = [
      { name: '`node -e 0`', argv: [process.execPath, '-e', '0'], env },
      { name: '`/bin/true`', argv: ['/bin/true'], env },
      { name: '`execgate exec --artifact A -- /bin/true`', argv: [...cli, ...args], env },
      { name: 'the same, EXECGATE_TRACE_TIMING=1', argv: [...cli, ...args], env: traced },
      { name: 'tsc output unbundled, traced', argv: [...unbundled, ...args], env: traced },
      ...extra.map(([name, ...argv]) => ({ name, argv: [...argv, ...args], env: traced })),
    ];
    process.stdout.write(`\nload average at start: ${readFileSync('/proc/loadavg', 'utf8').trim()}\n`);
    process.stdout.write(`cli: ${cli.join(' ')}\n`);
    for (let r = 0; r < WARMUP; r++) for (const c of cases) run(c.argv, c.env, dir);
    const times = cases.map(() => [] as number[]);
    const traces = cases.map(() => [] as Record<string, number>[]);
    for (let r = 0; r < ROUNDS; r++) {
      cases.forEach((c, i) => {
        const t = run(c.argv, c.env, dir);
        times[i]?.push(t.ms);
        if (c.env === traced) traces[i]?.push(stages(t.stderr));
      });
    }
    overheads(`execgate exec, ${ROUNDS} round-robin rounds on swtpm (wall time per process)`, cases, times);
    // One column pair (median, p95) per traced case; `node` and `load` are agent/timing.ts's first laps.
    const tracedCases = cases.flatMap((c, i) => (c.env === traced ? [{ c, runs: traces[i] ?? [] }] : []));
    const names = [...new Set(tracedCases.flatMap(({ runs }) => runs.flatMap((t) => Object.keys(t))))];
    table(
      `Stages of the traced runs (agent/timing.ts), median and p95 of ${ROUNDS} runs each`,
      ['stage', ...tracedCases.map(({ c }) => c.name)],
      [...names, 'sum'].map((n) => [
        n,
        ...tracedCases.map(({ runs }) => {
          const xs = runs.map((t) =>
            n === 'sum' ? Object.values(t).reduce((a, b) => a + b, 0) : (t[n] ?? 0),
          );
          return `${ms(quantile(xs, 0.5))}, ${ms(quantile(xs, 0.95))}`;
        }),
      ]),
    );
    const check = ['check', '--policy', policy, '--artifact', artifact, '--', '/bin/true'];
    let denial = '';
    const io = { stdout: { write: () => true }, stderr: { write: (x: string) => (denial += x) }, env };
    const warm: number[] = [];
    for (let i = 0; i < 250; i++) {
      const t0 = process.hrtime.bigint();
      if ((await runCli(check, io)) !== 0) throw new Error(`execgate check denied in process: ${denial}`);
      if (i >= 50) warm.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    table(
      'The same verdict in one warm process (`execgate check` through agent/cli/run.ts, 200 runs)',
      ['median', 'p95'],
      [[ms(quantile(warm, 0.5)), ms(quantile(warm, 0.95))]],
    );
    await served(cli, policy, args, env, traced, dir);
    process.stdout.write(`load average at end: ${readFileSync('/proc/loadavg', 'utf8').trim()}\n`);
  } finally {
    await swtpm.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
