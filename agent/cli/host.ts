// SPDX-License-Identifier: Apache-2.0
/** `execgate host init | identity`: the host's attestation identity (AK under the EK), DESIGN.md §3. */
import { type AkAlg, DEFAULT_AK_HANDLE } from '../attest/ak.js';
import type { EkAlg } from '../attest/ek.js';
import { type HostIdentity, hostIdentity, hostInit } from '../attest/identity.js';
import { parseFlags } from './args.js';
import type { CliContext } from './context.js';
import { EXIT, UsageError } from './exit.js';

export const HOST_HELP = `Usage: execgate host <command> [flags]

Commands:
  init [--ak-alg rsa|ecc] [--ak-handle H] [--ek-alg A] [--force]
                             create the AK (restricted signing key under the EK, endorsement hierarchy)
                             and persist it at H (default 0x81010002); an existing AK is kept unless --force
  identity [--ak-handle H] [--ek-alg A] [--json]
                             AK name, AK and EK public keys (PEM), EK certificate from NV, TPM maker/firmware

  --ek-alg: rsa2048 (default), eccP256 or eccP384: the TCG default EK the AK lives under.

Examples:
  execgate host init --ak-alg ecc
  execgate host identity --json`;

export function parseHandle(value: string, what: string): number {
  if (!/^(0x)?[0-9a-fA-F]{1,8}$/.test(value))
    throw new UsageError(`${what} must be a hex handle like 0x81010002, got "${value}"`);
  return Number.parseInt(value.replace(/^0x/, ''), 16);
}

export function parseEkAlg(value: string | undefined): EkAlg {
  if (value === undefined) return 'rsa2048';
  if (value === 'rsa2048' || value === 'eccP256' || value === 'eccP384') return value;
  throw new UsageError(`--ek-alg must be rsa2048, eccP256 or eccP384, got "${value}"`);
}

function parseAkAlg(value: string | undefined): AkAlg {
  if (value === undefined) return 'rsa';
  if (value === 'rsa' || value === 'ecc') return value;
  throw new UsageError(`--ak-alg must be rsa or ecc, got "${value}"`);
}

function printIdentity(ctx: CliContext, id: HostIdentity): void {
  ctx.out(`ak name:      ${id.akName}`);
  ctx.out(`ak alg:       ${id.akAlg}`);
  ctx.out(`tpm:          ${id.tpm.manufacturer}, firmware ${id.tpm.firmwareVersion}`);
  ctx.out(`ek cert:      ${id.ekCertificatePem ? 'present in NV' : 'none'}`);
  ctx.out(`ak public key:\n${id.akPublicPem.trimEnd()}`);
  ctx.out(`ek public key:\n${id.ekPublicPem.trimEnd()}`);
}

async function init(argv: string[], ctx: CliContext): Promise<number> {
  const usage = 'Usage: execgate host init [--ak-alg rsa|ecc] [--ak-handle H] [--ek-alg A] [--force]';
  const { values, positionals } = parseFlags(
    argv,
    {
      'ak-alg': { type: 'string' },
      'ak-handle': { type: 'string' },
      'ek-alg': { type: 'string' },
      force: { type: 'boolean' },
    },
    usage,
  );
  if (positionals.length) throw new UsageError(`host init takes no arguments\n${usage}`);
  const akAlg = parseAkAlg(values['ak-alg']);
  const akHandle =
    values['ak-handle'] === undefined ? DEFAULT_AK_HANDLE : parseHandle(values['ak-handle'], '--ak-handle');
  const ekAlg = parseEkAlg(values['ek-alg']);
  const r = await ctx.withTpm((tpm) =>
    hostInit(tpm, { akAlg, akHandle, ekAlg, force: values.force === true }),
  );
  if (ctx.json) {
    ctx.out(JSON.stringify({ created: r.created, akHandle: `0x${akHandle.toString(16)}`, ...r.identity }));
    return EXIT.OK;
  }
  ctx.out(`${r.created ? 'created' : 'kept existing'} AK at 0x${akHandle.toString(16)}`);
  printIdentity(ctx, r.identity);
  return EXIT.OK;
}

async function identity(argv: string[], ctx: CliContext): Promise<number> {
  const usage = 'Usage: execgate host identity [--ak-handle H] [--ek-alg A] [--json]';
  const { values, positionals } = parseFlags(
    argv,
    { 'ak-handle': { type: 'string' }, 'ek-alg': { type: 'string' } },
    usage,
  );
  if (positionals.length) throw new UsageError(`host identity takes no arguments\n${usage}`);
  const akHandle =
    values['ak-handle'] === undefined ? DEFAULT_AK_HANDLE : parseHandle(values['ak-handle'], '--ak-handle');
  const ekAlg = parseEkAlg(values['ek-alg']);
  const id = await ctx.withTpm((tpm) => hostIdentity(tpm, { akHandle, ekAlg }));
  if (ctx.json) {
    ctx.out(JSON.stringify(id));
    return EXIT.OK;
  }
  printIdentity(ctx, id);
  return EXIT.OK;
}

export const HOST_COMMANDS: Readonly<Record<string, (argv: string[], ctx: CliContext) => Promise<number>>> = {
  init,
  identity,
};
