// SPDX-License-Identifier: Apache-2.0
/** `execgate tpm info | pcrs | extend | random`: direct TPM access for operators and tests. */

import { withEk } from '../attest/ek.js';
import {
  BANK_NAMES,
  bankName,
  digestByteLen,
  type HashAlgId,
  hashAlgOf,
  hashByName,
} from '../crypto/algorithms.js';
import { ExecgateError } from '../errors.js';
import { tpmInfo } from '../tpm/capability.js';
import { GetRandom, PCR_Extend } from '../tpm/commands.js';
import { allocatedBanks, readPcrs } from '../tpm/pcr.js';
import type { PcrBankSelection } from '../tpm/pcr-selection.js';
import { startAuthSession } from '../tpm/sessions.js';
import type { Tpm } from '../tpm/tpm.js';
import { parseEkAlg, parseFlags, parseHex, parseIndex, parseIndexList, toHex } from './args.js';
import type { CliContext } from './context.js';
import { EXIT, UsageError } from './exit.js';
import { readHostState, requirePinnedEk, stateDirOf } from './host-state.js';

export const TPM_HELP = `Usage: execgate tpm <command> [flags]

Commands:
  info [--json]                               manufacturer, firmware, spec level, PCR banks, limits
  pcrs [--bank ALG] [--pcrs LIST] [--json]    read PCRs (every allocated bank unless --bank)
  extend PCR --bank ALG --digest HEX          extend one PCR of one bank
  random N [--encrypt [--ek-alg A]]           N random bytes from the TPM, as hex. They cross the bus in
                                              clear, fit for nonces; --encrypt (for key material) gets
                                              them through a session salted to the EK host init pinned,
                                              encrypted and HMAC-checked (E_TPM_INTEGRITY if altered)

Examples:
  execgate tpm info --json
  execgate --tcti swtpm:host=127.0.0.1,port=2321 tpm pcrs --bank sha256 --pcrs 0-7,16 --json
  execgate tpm extend 16 --bank sha256 --digest $(printf x | sha256sum | cut -c1-64)
  execgate tpm random 32 --encrypt                  # after host init pinned the EK`;

function bankAlg(name: string): HashAlgId {
  const alg = hashByName(name.toLowerCase())?.tpmAlg;
  if (alg === undefined) {
    throw new UsageError(`unknown PCR bank "${name}"; use one of ${BANK_NAMES.join(', ')}`);
  }
  return alg;
}

async function info(argv: string[], ctx: CliContext): Promise<number> {
  const { positionals } = parseFlags(argv, {}, 'Usage: execgate tpm info [--json]');
  if (positionals.length) throw new UsageError(`tpm info takes no arguments, got "${positionals.join(' ')}"`);
  const i = await ctx.withTpm(tpmInfo);
  if (ctx.json) {
    ctx.out(JSON.stringify(i, null, 2));
    return EXIT.OK;
  }
  ctx.out(`manufacturer:     ${i.manufacturer} (0x${i.manufacturerId.toString(16).padStart(8, '0')})`);
  ctx.out(`vendor:           ${i.vendorString}`);
  ctx.out(`firmware:         ${i.firmwareVersion}`);
  ctx.out(
    `spec:             TPM ${i.specFamily} level ${i.specLevel} revision ${i.specRevision} (${i.specDate})`,
  );
  for (const b of i.pcrBanks) ctx.out(`pcr bank:         ${b.bank} (${b.pcrs.length} PCRs)`);
  const l = i.limits;
  ctx.out(`max command:      ${l.maxCommandSize} bytes; max response ${l.maxResponseSize} bytes`);
  ctx.out(
    `input buffer:     ${l.inputBuffer} bytes; NV buffer ${l.nvBufferMax} bytes; max digest ${l.maxDigest}`,
  );
  ctx.out(`objects/sessions: ${l.transientObjects} transient slots; ${l.activeSessions} active sessions`);
  return EXIT.OK;
}

async function pcrs(argv: string[], ctx: CliContext): Promise<number> {
  const usage = 'Usage: execgate tpm pcrs [--bank ALG] [--pcrs LIST] [--json]';
  const { values, positionals } = parseFlags(
    argv,
    { bank: { type: 'string' }, pcrs: { type: 'string' } },
    usage,
  );
  if (positionals.length)
    throw new UsageError(`tpm pcrs takes no arguments, got "${positionals.join(' ')}"\n${usage}`);
  // tpm2-tools' BANK:LIST (quote --pcrs takes it) is --bank BANK --pcrs LIST here: say so.
  const bankList = /^([a-z0-9_]+):([^+]*)$/.exec(values.pcrs ?? '');
  if (bankList && values.bank === undefined)
    throw new UsageError(
      `--pcrs takes PCR indices only, got "${values.pcrs}": write --bank ${bankList[1]} --pcrs ${bankList[2]}\n${usage}`,
    );
  const only = values.pcrs === undefined ? undefined : parseIndexList(values.pcrs, '--pcrs', 255);
  const bank = values.bank === undefined ? undefined : bankAlg(values.bank);
  const result = await ctx.withTpm(async (tpm) => {
    const banks = await allocatedBanks(tpm);
    const selection: PcrBankSelection[] =
      bank !== undefined
        ? [{ hash: bank, pcrs: only ?? banks.find((b) => b.hash === bank)?.pcrs ?? [] }]
        : banks.map((b) => ({ hash: b.hash, pcrs: only ?? b.pcrs }));
    return readPcrs(tpm, selection);
  });
  const doc: Record<string, Record<string, string>> = {};
  for (const [alg, values] of result) {
    const byIndex: Record<string, string> = {};
    for (const [pcr, v] of [...values].sort((a, b) => a[0] - b[0])) byIndex[String(pcr)] = toHex(v);
    doc[bankName(alg)] = byIndex;
  }
  if (ctx.json) {
    ctx.out(JSON.stringify(doc));
    return EXIT.OK;
  }
  for (const [name, values] of Object.entries(doc)) {
    ctx.out(`${name}:`);
    for (const [pcr, v] of Object.entries(values)) ctx.out(`  ${pcr.padStart(2)} : 0x${v.toUpperCase()}`);
  }
  return EXIT.OK;
}

async function extend(argv: string[], ctx: CliContext): Promise<number> {
  const usage = 'Usage: execgate tpm extend PCR --bank ALG --digest HEX';
  const { values, positionals } = parseFlags(
    argv,
    { bank: { type: 'string' }, digest: { type: 'string' } },
    usage,
  );
  if (positionals.length !== 1 || values.bank === undefined || values.digest === undefined) {
    throw new UsageError(`tpm extend needs a PCR index, --bank and --digest\n${usage}`);
  }
  const pcr = parseIndex(positionals[0] ?? '', 'PCR', 23);
  const alg = bankAlg(values.bank);
  const digest = parseHex(values.digest, '--digest');
  const want = digestByteLen(hashAlgOf(alg));
  if (digest.length !== want) {
    throw new UsageError(
      `--digest for ${values.bank} must be ${want} bytes (${2 * want} hex digits), got ${digest.length}`,
    );
  }
  await ctx.withTpm((tpm) => tpm.run(PCR_Extend, { pcrHandle: pcr, digests: [{ hashAlg: alg, digest }] }));
  if (ctx.json) ctx.out(JSON.stringify({ pcr, bank: bankName(alg), extended: toHex(digest) }));
  return EXIT.OK;
}

const MAX_RANDOM = 65536;

/** N bytes of TPM2_GetRandom, which returns at most one digest's worth per call (Part 3 §16.1): loop. */
async function getRandom(tpm: Tpm, n: number, sessions: Parameters<Tpm['run']>[2]): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  for (let at = 0; at < n; ) {
    const { randomBytes } = await tpm.run(GetRandom, { bytesRequested: Math.min(n - at, 64) }, sessions);
    // Part 3 §16.1: at least one byte per call; an empty answer would loop forever.
    if (randomBytes.length === 0)
      throw new ExecgateError('E_TPM_PROTOCOL', 'the TPM answered GetRandom with no bytes');
    out.set(randomBytes.subarray(0, n - at), at);
    at += randomBytes.length;
  }
  return out;
}

async function random(argv: string[], ctx: CliContext): Promise<number> {
  const usage = 'Usage: execgate tpm random N [--encrypt [--ek-alg A] [--state-dir DIR]]';
  const { values, positionals } = parseFlags(
    argv,
    { encrypt: { type: 'boolean' }, 'ek-alg': { type: 'string' }, 'state-dir': { type: 'string' } },
    usage,
  );
  if (positionals.length !== 1) throw new UsageError(`tpm random needs a byte count\n${usage}`);
  const n = parseIndex(positionals[0] ?? '', 'N', MAX_RANDOM);
  if (!values.encrypt && (values['ek-alg'] !== undefined || values['state-dir'] !== undefined))
    throw new UsageError(`--ek-alg and --state-dir choose the EK of --encrypt\n${usage}`);
  let bytes: Uint8Array;
  if (values.encrypt) {
    const ekAlg = parseEkAlg(values['ek-alg']);
    const stateDir = stateDirOf(ctx.env, values['state-dir']);
    const pinned = requirePinnedEk(await readHostState(stateDir), ekAlg, stateDir);
    // An encrypt-only session (GetRandom authorizes nothing) salted to the pinned EK: the response is
    // encrypted under a key an interposer cannot derive, and its HMAC fails if the bytes are altered.
    bytes = await ctx.withTpm((tpm) =>
      withEk(
        tpm,
        ekAlg,
        async (ek) => {
          const session = await startAuthSession(tpm, {
            salt: { handle: ek.handle, public: ek.public },
            encrypt: true,
          });
          try {
            return await getRandom(tpm, n, { sessions: [session] });
          } finally {
            await tpm.flush(session.handle);
          }
        },
        { pinned },
      ),
    );
  } else {
    bytes = await ctx.withTpm((tpm) => getRandom(tpm, n, {}));
  }
  ctx.out(ctx.json ? JSON.stringify({ random: toHex(bytes) }) : toHex(bytes));
  return EXIT.OK;
}

export const TPM_COMMANDS: Readonly<Record<string, (argv: string[], ctx: CliContext) => Promise<number>>> = {
  info,
  pcrs,
  extend,
  random,
};
