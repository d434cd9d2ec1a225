// SPDX-License-Identifier: Apache-2.0
/**
 * Sealed secrets (issue 17) on swtpm: the cost of one unseal as agent/secrets/seal.ts makes it (owner
 * primary, Load, a policy session salted to it with PolicyPCR and PolicyAuthValue, Unseal with response
 * encryption, flushes), for a 32-byte secret (sealed directly), a 4 KiB one (AES-256-GCM envelope) and a
 * 32-byte one under a policy key (PolicyAuthorize: LoadExternal and VerifySignature too); and what one
 * secret adds to a gated execution: `execgate exec --artifact A -- /bin/true` as a whole process (the
 * built bin, as exec.bench.ts runs it) with an artifact naming no secret and one naming one, round-robin
 * and paired by round. BENCH_SECRETS_RUNS=N sets the rounds (default 30).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withEk } from '../agent/attest/ek.js';
import { generateSigningKey, parseSigningKey } from '../agent/crypto/keys.js';
import { policyKeyPublic, signPcrPolicy } from '../agent/secrets/policy-key.js';
import { sealSecret, selectionDigest, unsealSecret } from '../agent/secrets/seal.js';
import { readPcrs } from '../agent/tpm/pcr.js';
import { parseSelection } from '../agent/tpm/pcr-selection.js';
import { Tpm } from '../agent/tpm/tpm.js';
import { openTransport } from '../agent/tpm/transport/index.js';
import { startSwtpm } from '../swtpm/harness.js';
import { gatedHost } from './gated-host.js';
import { formatNs, median, sampleAsync, table } from './measure.js';

const ROUNDS = Number(process.env.BENCH_SECRETS_RUNS ?? 30);
const ROOT = join(import.meta.dirname, '..');

function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] ?? Number.NaN;
}

/** Runs `argv` with `env` in `cwd`; its wall time in ms; throws unless it exits 0. */
function timed(argv: readonly string[], env: NodeJS.ProcessEnv, cwd: string): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(argv[0] as string, argv.slice(1), { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status ?? r.signal}: ${r.stderr}`);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

async function unsealLatency(tcti: string): Promise<void> {
  const tpm = new Tpm(openTransport(tcti));
  try {
    const selection = parseSelection('sha256:0-7');
    const key = parseSigningKey(Buffer.from(generateSigningKey('p256').privatePem));
    // The EK as swtpm reports it: what host init would pin.
    const ek = { alg: 'rsa2048' as const, pinned: await withEk(tpm, 'rsa2048', async (e) => e.public) };
    const small = await sealSecret(tpm, { name: 'small', data: new Uint8Array(32).fill(1), selection, ek });
    const large = await sealSecret(tpm, { name: 'large', data: new Uint8Array(4096).fill(2), selection, ek });
    const keyed = await sealSecret(tpm, {
      name: 'keyed',
      data: new Uint8Array(32).fill(3),
      selection,
      ek,
      policyKey: policyKeyPublic(key),
    });
    const signed = [
      signPcrPolicy(key, selection, selectionDigest(selection, await readPcrs(tpm, selection))),
    ];
    const cases = [
      { name: 'unseal, 32 bytes, PolicyPCR', run: () => unsealSecret(tpm, small) },
      { name: 'unseal, 4 KiB (AES-256-GCM envelope), PolicyPCR', run: () => unsealSecret(tpm, large) },
      { name: 'unseal, 32 bytes, PolicyAuthorize (policy key)', run: () => unsealSecret(tpm, keyed, signed) },
      {
        name: 'seal, 32 bytes, PolicyPCR',
        run: () => sealSecret(tpm, { name: 'again', data: new Uint8Array(32), selection, ek }),
      },
    ];
    const samples = await sampleAsync(cases, ROUNDS, 2);
    table(
      `Sealed secrets in one process on swtpm, ${ROUNDS} round-robin rounds`,
      ['operation', 'median', 'p95'],
      cases.map((c, i) => [
        c.name,
        formatNs(median(samples[i] ?? [])),
        formatNs(quantile(samples[i] ?? [], 0.95)),
      ]),
    );
  } finally {
    await tpm.close();
  }
}

async function perExecution(tcti: string): Promise<void> {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: { execgate: string } };
  const bin = join(ROOT, pkg.bin.execgate);
  statSync(bin); // npm run build first
  const cli = [process.execPath, bin];
  const dir = mkdtempSync(join(tmpdir(), 'execgate-bench-secrets-'));
  try {
    const { env, policy, exe, setup, issue } = gatedHost(cli, tcti, dir);
    writeFileSync(join(dir, 'secret.in'), 'a deploy token of 32 bytes……', { mode: 0o600 });
    setup('secret', 'seal', '--policy', policy, '--name', 'token', '--in', join(dir, 'secret.in'));
    issue('plain.cose', ROUNDS + 3);
    issue('secret.cose', ROUNDS + 3, '--secret', 'token');
    const exec = (artifact: string) => [
      ...cli,
      'exec',
      '--policy',
      policy,
      '--artifact',
      join(dir, artifact),
      '--',
      exe,
    ];
    const cases = [
      { name: '`execgate exec --artifact A -- /bin/true`, no secret', argv: exec('plain.cose') },
      { name: 'the same, the artifact naming one sealed secret', argv: exec('secret.cose') },
    ];
    for (let r = 0; r < 3; r++) for (const c of cases) timed(c.argv, env, dir);
    const times = cases.map(() => [] as number[]);
    for (let r = 0; r < ROUNDS; r++)
      for (const [i, c] of cases.entries()) times[i]?.push(timed(c.argv, env, dir));
    const added = (times[1] ?? []).map((x, i) => x - (times[0]?.[i] ?? 0));
    table(
      `One sealed secret per gated execution, ${ROUNDS} round-robin rounds on swtpm (in-process gate, wall time per process)`,
      ['command', 'median', 'p95'],
      [
        ...cases.map((c, i) => [
          c.name,
          `${quantile(times[i] ?? [], 0.5).toFixed(1)} ms`,
          `${quantile(times[i] ?? [], 0.95).toFixed(1)} ms`,
        ]),
        [
          'added by the secret (paired by round)',
          `${quantile(added, 0.5).toFixed(1)} ms`,
          `${quantile(added, 0.95).toFixed(1)} ms`,
        ],
      ],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function main(): Promise<void> {
  const swtpm = await startSwtpm();
  try {
    await unsealLatency(swtpm.tcti);
    await perExecution(swtpm.tcti);
  } finally {
    await swtpm.stop();
  }
}
