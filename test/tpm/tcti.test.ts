// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from 'vitest';
import { TpmTransportError } from '../../agent/tpm/errors.js';
import { formatTcti, type ParsedTcti, parseTcti, resolveTcti } from '../../agent/tpm/transport/tcti.js';

describe('parseTcti', () => {
  const valid: [string, ParsedTcti][] = [
    ['device', { kind: 'device', path: '/dev/tpmrm0' }],
    ['device:', { kind: 'device', path: '/dev/tpmrm0' }],
    ['device:/dev/tpmrm0', { kind: 'device', path: '/dev/tpmrm0' }],
    ['device:/dev/tpm0', { kind: 'device', path: '/dev/tpm0' }],
    ['swtpm', { kind: 'swtpm', endpoint: { host: '127.0.0.1', port: 2321 } }],
    ['swtpm:', { kind: 'swtpm', endpoint: { host: '127.0.0.1', port: 2321 } }],
    ['swtpm:host=127.0.0.1,port=20000', { kind: 'swtpm', endpoint: { host: '127.0.0.1', port: 20000 } }],
    ['swtpm:port=2400', { kind: 'swtpm', endpoint: { host: '127.0.0.1', port: 2400 } }],
    ['swtpm:host=localhost', { kind: 'swtpm', endpoint: { host: 'localhost', port: 2321 } }],
    ['swtpm:port=1,host=::1', { kind: 'swtpm', endpoint: { host: '::1', port: 1 } }],
    ['swtpm:path=/run/swtpm/sock', { kind: 'swtpm', endpoint: { path: '/run/swtpm/sock' } }],
    ['mssim', { kind: 'mssim', endpoint: { host: '127.0.0.1', port: 2321 } }],
    ['mssim:host=10.0.0.2,port=65534', { kind: 'mssim', endpoint: { host: '10.0.0.2', port: 65534 } }],
  ];
  it.each(valid)('parses %j', (tcti, expected) => {
    expect(parseTcti(tcti)).toEqual(expected);
  });

  const malformed = [
    '',
    ':',
    ':port=1',
    'tabrmd',
    'tabrmd:bus_name=com.intel.tss2.Tabrmd',
    'libtpms',
    'Device:/dev/tpmrm0',
    'device:/dev/tpm\0rm0',
    'swtpm:host',
    'swtpm:=1',
    'swtpm:host=',
    'swtpm:port=',
    'swtpm:port=0',
    'swtpm:port=65535',
    'swtpm:port=99999',
    'swtpm:port=-1',
    'swtpm:port=0x10',
    'swtpm:port=1e3',
    'swtpm:port= 2321',
    'swtpm:port=2321,port=2322',
    'swtpm:host=a,,port=1',
    'swtpm:host=a,',
    'swtpm:path=/s,port=2321',
    'swtpm:path=/s,host=h',
    'swtpm:socket=/s',
    'swtpm:PORT=2321',
    'mssim:path=/s',
    'mssim:host=h,port=2321,extra=1',
    'mssim:port=abc',
  ];
  it.each(malformed)('rejects %j with E_TPM_UNAVAILABLE', (tcti) => {
    let caught: unknown;
    try {
      parseTcti(tcti);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(TpmTransportError);
    expect(caught).toMatchObject({ code: 'E_TPM_UNAVAILABLE' });
  });

  it('formatTcti gives a string that parses back to the same TCTI', () => {
    for (const [, parsed] of valid) expect(parseTcti(formatTcti(parsed))).toEqual(parsed);
  });
});

describe('resolveTcti', () => {
  const both = { EXECGATE_TCTI: 'swtpm:port=1000', TPM2TOOLS_TCTI: 'mssim:port=2000' };
  it.each([
    ['--tcti wins over both variables', 'device:/dev/tpm0', both, 'device:/dev/tpm0'],
    ['EXECGATE_TCTI wins over TPM2TOOLS_TCTI', undefined, both, 'swtpm:port=1000'],
    [
      'TPM2TOOLS_TCTI when EXECGATE_TCTI is unset',
      undefined,
      { TPM2TOOLS_TCTI: 'mssim:port=2000' },
      'mssim:port=2000',
    ],
    ['an empty EXECGATE_TCTI counts as unset', undefined, { ...both, EXECGATE_TCTI: '' }, 'mssim:port=2000'],
    ['the kernel device when nothing is set', undefined, {}, 'device:/dev/tpmrm0'],
    ['an empty flag is kept (and fails to parse)', '', both, ''],
  ] as const)('%s', (_name, flag, env, expected) => {
    expect(resolveTcti(flag, env)).toBe(expected);
  });

  it('reads process.env by default', () => {
    const saved = process.env.EXECGATE_TCTI;
    try {
      process.env.EXECGATE_TCTI = 'swtpm:port=4242';
      expect(resolveTcti()).toBe('swtpm:port=4242');
    } finally {
      if (saved === undefined) delete process.env.EXECGATE_TCTI;
      else process.env.EXECGATE_TCTI = saved;
    }
  });
});
