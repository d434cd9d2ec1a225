// SPDX-License-Identifier: Apache-2.0
/**
 * Manufacturing a swtpm state with swtpm_setup (SWTPM.md §2.3): EK certificates signed by a private,
 * throw-away local CA, and the active PCR banks. The CA lives in a directory of its own, configured by
 * three small files, so nothing under /etc or /var/lib/swtpm-localca is read or written.
 *
 * After `ek: true` the TPM holds an RSA-2048 EK at 0x81010001 and an ECC P-384 EK at 0x81010016, their
 * DER certificates in NV 0x01c00002 and 0x01c00016, and a platform certificate in NV 0x01c08000, all
 * NV-locked. The CA directory then holds the files named in `CaFiles`.
 */
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SwtpmError } from './errors.js';

const run = promisify(execFile);

/** PCR banks libtpms 0.9 can allocate. */
export const PCR_BANKS = ['sha1', 'sha256', 'sha384', 'sha512'] as const;

/** Files of the private CA after an `ek: true` setup (names chosen by swtpm_localca and swtpm_setup). */
export interface CaFiles {
  readonly dir: string;
  /** Self-signed root, `CN=swtpm-localca-rootca` (PEM). */
  readonly rootCert: string;
  /** Intermediate that signs the EK certificates, `CN=swtpm-localca` (PEM). */
  readonly issuerCert: string;
  /** EK certificates as written to NV 0x01c00002 and 0x01c00016 (DER). */
  readonly ekCertRsa: string;
  readonly ekCertEcc: string;
}

export interface ManufactureOptions {
  readonly stateDir: string;
  readonly caDir: string;
  /** Create the EKs and their certificates (and a platform certificate), and lock their NV indices. */
  readonly ek: boolean;
  readonly pcrBanks: readonly string[];
}

/** Runs swtpm_setup on `stateDir`; returns the CA's files when `ek` is set. */
export async function manufacture(options: ManufactureOptions): Promise<CaFiles | undefined> {
  const { stateDir, caDir, ek } = options;
  const banks = checkBanks(options.pcrBanks);
  const certDir = join(caDir, 'certs');
  const config = join(caDir, 'swtpm_setup.conf');
  await writeFile(
    config,
    [
      'create_certs_tool = /usr/bin/swtpm_localca',
      `create_certs_tool_config = ${join(caDir, 'swtpm-localca.conf')}`,
      `create_certs_tool_options = ${join(caDir, 'swtpm-localca.options')}`,
      `active_pcr_banks = ${banks}`,
      '',
    ].join('\n'),
  );
  await writeFile(
    join(caDir, 'swtpm-localca.conf'),
    [
      `statedir = ${caDir}`,
      `signingkey = ${join(caDir, 'signkey.pem')}`,
      `issuercert = ${join(caDir, 'issuercert.pem')}`,
      `certserial = ${join(caDir, 'certserial')}`,
      '',
    ].join('\n'),
  );
  await writeFile(
    join(caDir, 'swtpm-localca.options'),
    ['--platform-manufacturer execgate', '--platform-version 2.1', '--platform-model swtpm-test', ''].join(
      '\n',
    ),
  );
  const args = ['--tpm2', '--tpmstate', stateDir, '--overwrite', '--config', config, '--pcr-banks', banks];
  if (ek) {
    await mkdir(certDir);
    args.push('--create-ek-cert', '--create-platform-cert', '--lock-nvram', '--write-ek-cert-files', certDir);
  }
  try {
    await run('swtpm_setup', args, { timeout: 60_000 });
  } catch (err) {
    const output =
      err instanceof Error
        ? ['stderr', 'stdout'].map((key) => (key in err ? String(Reflect.get(err, key)) : '')).join('')
        : '';
    throw new SwtpmError('E_SWTPM_SETUP', `swtpm_setup ${args.join(' ')} failed:\n${tail(output)}`, {
      cause: err,
    });
  }
  if (!ek) return undefined;
  return {
    dir: caDir,
    rootCert: join(caDir, 'swtpm-localca-rootca-cert.pem'),
    issuerCert: join(caDir, 'issuercert.pem'),
    ekCertRsa: join(certDir, 'ek-rsa2048.crt'),
    ekCertEcc: join(certDir, 'ek-secp384r1.crt'),
  };
}

function checkBanks(banks: readonly string[]): string {
  const known: readonly string[] = PCR_BANKS;
  if (banks.length === 0 || banks.some((bank) => !known.includes(bank))) {
    throw new RangeError(
      `pcrBanks must be a non-empty list of ${PCR_BANKS.join(', ')}, got [${banks.join(', ')}]`,
    );
  }
  return banks.join(',');
}

/** The last lines of a tool's output, for error messages. */
export function tail(text: string, lines = 20): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}
