// SPDX-License-Identifier: Apache-2.0
/**
 * TCTI strings as tpm2-tools 5.4 / tpm2-tss 3.2 spell them (`NAME[:CONF]`, tss2-tctildr), for the TCTIs
 * execgate speaks (DESIGN.md §3):
 * - `device`, `device:` or `device:PATH` — a TPM character device, default /dev/tpmrm0;
 * - `swtpm:host=H,port=P` or `swtpm:path=SOCK` — swtpm's data channel (TCP or unix socket), defaults
 *   host 127.0.0.1 and port 2321; its control channel is port+1 or SOCK.ctrl;
 * - `mssim:host=H,port=P` — the Microsoft/IBM simulator framing, same defaults.
 * Anything else, including unknown or repeated keys, is an `E_TPM_UNAVAILABLE` error that says what is
 * wrong and shows a valid string. Not checked: whether the host resolves or the path exists.
 */
import { TpmTransportError } from '../errors.js';
import type { SocketEndpoint } from './socket.js';

/** A TCP endpoint (the only kind the mssim TCTI of tpm2-tss 3.2 takes). */
export type TcpEndpoint = { readonly host: string; readonly port: number };

/** A parsed TCTI string. */
export type ParsedTcti =
  | { readonly kind: 'device'; readonly path: string }
  | { readonly kind: 'swtpm'; readonly endpoint: SocketEndpoint }
  | { readonly kind: 'mssim'; readonly endpoint: TcpEndpoint };

/** tpm2-tss tcti-device default (the kernel's resource manager). */
export const DEFAULT_DEVICE = '/dev/tpmrm0';
/** tpm2-tss swtpm/mssim default host. */
export const DEFAULT_HOST = '127.0.0.1';
/** tpm2-tss swtpm/mssim default data port; the control (platform) port is the next one. */
export const DEFAULT_PORT = 2321;

const EXAMPLES =
  'e.g. device:/dev/tpmrm0, swtpm:host=127.0.0.1,port=2321, swtpm:path=/run/swtpm/sock or mssim:host=127.0.0.1,port=2321';

function malformed(tcti: string, what: string): TpmTransportError {
  return new TpmTransportError(
    'E_TPM_UNAVAILABLE',
    `invalid TCTI ${JSON.stringify(tcti)}: ${what} (${EXAMPLES})`,
  );
}

/** Parses a TCTI string; see the module comment for the accepted forms. */
export function parseTcti(tcti: string): ParsedTcti {
  const colon = tcti.indexOf(':');
  const name = colon < 0 ? tcti : tcti.slice(0, colon);
  const conf = colon < 0 ? '' : tcti.slice(colon + 1);
  switch (name) {
    case 'device':
      if (conf.includes('\0')) throw malformed(tcti, 'the device path contains a NUL byte');
      return { kind: 'device', path: conf === '' ? DEFAULT_DEVICE : conf };
    case 'swtpm': {
      const keys = parseConf(tcti, conf, ['host', 'port', 'path']);
      if (keys.path !== undefined) {
        if (keys.host !== undefined || keys.port !== undefined) {
          throw malformed(tcti, 'give either path= or host=/port=, not both');
        }
        return { kind: 'swtpm', endpoint: { path: keys.path } };
      }
      return { kind: 'swtpm', endpoint: tcpEndpoint(tcti, keys) };
    }
    case 'mssim':
      return { kind: 'mssim', endpoint: tcpEndpoint(tcti, parseConf(tcti, conf, ['host', 'port'])) };
    case '':
      throw malformed(tcti, 'it is empty or has no TCTI name before ":"');
    default:
      throw malformed(tcti, `unknown TCTI "${name}"; execgate speaks device, swtpm and mssim`);
  }
}

/** The canonical string of a parsed TCTI; `parseTcti(formatTcti(t))` equals `t`. */
export function formatTcti(tcti: ParsedTcti): string {
  if (tcti.kind === 'device') return `device:${tcti.path}`;
  const { endpoint } = tcti;
  return 'path' in endpoint
    ? `${tcti.kind}:path=${endpoint.path}`
    : `${tcti.kind}:host=${endpoint.host},port=${endpoint.port}`;
}

/**
 * Which TCTI to use (DESIGN.md §3): the `--tcti` flag, else EXECGATE_TCTI, else TPM2TOOLS_TCTI, else
 * `device:/dev/tpmrm0`. Empty environment variables count as unset; an empty flag does not (it fails to parse).
 */
export function resolveTcti(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (flag !== undefined) return flag;
  for (const name of ['EXECGATE_TCTI', 'TPM2TOOLS_TCTI'] as const) {
    const value = env[name];
    if (value !== undefined && value !== '') return value;
  }
  return `device:${DEFAULT_DEVICE}`;
}

type Keys<K extends string> = { [key in K]?: string };

/** `key=value` pairs separated by commas (tpm2-tss tcti-common key/value parsing). */
function parseConf<K extends string>(tcti: string, conf: string, allowed: readonly K[]): Keys<K> {
  const keys: Keys<K> = {};
  if (conf === '') return keys;
  for (const pair of conf.split(',')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw malformed(tcti, `"${pair}" is not key=value`);
    const key = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    if (!isAllowed(key, allowed))
      throw malformed(tcti, `unknown key "${key}" (allowed: ${allowed.join(', ')})`);
    if (keys[key] !== undefined) throw malformed(tcti, `key "${key}" given twice`);
    if (value === '') throw malformed(tcti, `key "${key}" has no value`);
    keys[key] = value;
  }
  return keys;
}

function isAllowed<K extends string>(key: string, allowed: readonly K[]): key is K {
  return (allowed as readonly string[]).includes(key);
}

function tcpEndpoint(tcti: string, keys: { host?: string; port?: string }): TcpEndpoint {
  const port = keys.port === undefined ? DEFAULT_PORT : Number(keys.port);
  // The next port carries the control (swtpm) or platform (mssim) channel, so it must exist too.
  if (!/^\d{1,5}$/.test(keys.port ?? '0') || !Number.isInteger(port) || port < 1 || port > 65534) {
    throw malformed(tcti, `port must be a decimal number from 1 to 65534, got "${keys.port}"`);
  }
  return { host: keys.host ?? DEFAULT_HOST, port };
}
