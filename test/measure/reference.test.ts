// SPDX-License-Identifier: Apache-2.0
// Reference state: capture → JSON → parse → check round trips, one failure per single mutation of the
// evidence, rejection of malformed documents, and digest invariance properties.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { initHashing } from '../../agent/crypto/hash.js';
import { JsonError, type JsonValue } from '../../agent/encoding/canonical-json.js';
import {
  type BootComponentEvidence,
  captureReference,
  checkReference,
  parseReferenceState,
  type ReferenceState,
  ReferenceStateError,
  referenceDigest,
  type StateEvidence,
  type StateFailure,
  stringifyReferenceState,
} from '../../agent/measure/reference.js';
import { jcsOracle } from '../helpers/jcs-oracle.js';

beforeAll(async () => {
  await initHashing();
});

const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const sha = (alg: string, label: string): string => createHash(alg).update(label).digest('hex');
const bytes = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));

/** Calls `fn`; returns the error of class `cls` it throws, failing on success or any other exception. */
function thrown<E extends Error>(cls: new (...args: never[]) => E, fn: () => unknown): E {
  try {
    fn();
  } catch (e) {
    if (e instanceof cls) return e;
    throw e;
  }
  throw new Error(`expected a ${cls.name}, got a value`);
}

// ---------------------------------------------------------------------------------------------------------
// Reference state

const SHIM = '\\EFI\\BOOT\\BOOTX64.EFI';
const GRUB = '\\EFI\\debian\\grubx64.efi';
const KERNEL = '/boot/vmlinuz-6.1.0-18-amd64';
const INITRD = '/boot/initrd.img-6.1.0-18-amd64';
const NOW = new Date('2026-11-29T10:24:12.000Z');
const AK_NAME = `000b${sha('sha256', 'ak')}`;

const component = (path: string, label = path): BootComponentEvidence => ({
  path,
  digests: { sha1: sha('sha1', label), sha256: sha('sha256', label) },
});

interface ImaEntry {
  path: string;
  digestAlg: string;
  digest: string;
  templateHash?: string;
}
const imaEntry = (path: string, label: string, digestAlg = 'sha256'): ImaEntry => ({
  path,
  digestAlg,
  digest: sha(digestAlg, label),
  templateHash: sha('sha256', `template ${path} ${label}`),
});

/** A host: two banks of PCRs 0–7, shim (measured twice) and GRUB, a kernel and initrd, and an IMA log. */
function hostEvidence(): {
  pcrs: Map<string, Map<number, Uint8Array>>;
  boot: NonNullable<StateEvidence['boot']>;
  ima: { entries: ImaEntry[] };
} {
  const pcrs = new Map<string, Map<number, Uint8Array>>();
  for (const bank of ['sha1', 'sha256']) {
    pcrs.set(bank, new Map([0, 1, 2, 3, 4, 5, 6, 7].map((i) => [i, bytes(sha(bank, `pcr ${i}`))])));
  }
  return {
    pcrs,
    boot: {
      secureBoot: 'enabled',
      bootApplications: [component(SHIM), component(GRUB), component(SHIM)],
      kernels: [component(KERNEL)],
      initrds: [component(INITRD)],
      kernelCmdline: `BOOT_IMAGE=${KERNEL} root=/dev/mapper/vg-root ro quiet`,
    },
    ima: {
      entries: [
        imaEntry('boot_aggregate', 'aggregate'),
        imaEntry('/usr/bin/bash', 'bash 5.2'),
        imaEntry('/usr/lib/x86_64-linux-gnu/libc.so.6', 'libc 2.36'),
        imaEntry('/usr/bin/python3', 'python 3.11.2'),
        imaEntry('/usr/bin/bash', 'bash 5.2'),
        imaEntry('/usr/bin/python3', 'python 3.11.4'),
        imaEntry('/usr/bin/ZZ-legacy', 'legacy', 'sha1'),
      ],
    },
  };
}

const capture = (evidence: StateEvidence = hostEvidence()): ReferenceState =>
  captureReference(evidence, { now: NOW, host: { akName: bytes(AK_NAME), note: 'golden image 2026-11' } });

/** The one failure of checking `evidence` against `doc`; fails the test unless there is exactly one. */
function onlyFailure(doc: ReferenceState, evidence: StateEvidence): StateFailure {
  const verdict = checkReference(doc, evidence);
  expect(verdict.ok).toBe(false);
  expect(verdict.failures).toHaveLength(1);
  const [failure] = verdict.failures;
  if (failure === undefined) throw new Error('unreachable');
  return failure;
}

const byCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

describe('captureReference', () => {
  it('records the exact PCRs, deduplicated sorted allowlists, Secure Boot and the boot chain', () => {
    const doc = capture();
    expect(doc.execgate).toBe('reference-state');
    expect(doc.version).toBe(1);
    expect(doc.created).toBe('2026-11-29T10:24:12.000Z');
    expect(doc.host).toEqual({ akName: AK_NAME, note: 'golden image 2026-11' });
    expect(Object.keys(doc.pcrs)).toEqual(['sha1', 'sha256']);
    expect(doc.pcrs.sha256?.['5']).toBe(sha('sha256', 'pcr 5'));
    expect(Object.keys(doc.pcrs.sha1 ?? {})).toHaveLength(8);
    expect(doc.rules.secureBoot).toBe('required');

    // shim twice + GRUB → two applications × two banks, sorted by bank then digest.
    const apps = doc.rules.bootApplications ?? [];
    expect(apps).toHaveLength(4);
    const expectedApps = [SHIM, GRUB]
      .flatMap((p) => [
        { bank: 'sha1', digest: sha('sha1', p), note: p },
        { bank: 'sha256', digest: sha('sha256', p), note: p },
      ])
      .sort((x, y) => byCodeUnits(x.bank, y.bank) || byCodeUnits(x.digest, y.digest));
    expect(apps).toEqual(expectedApps);
    expect(doc.rules.kernels?.map((r) => r.digest)).toEqual([sha('sha1', KERNEL), sha('sha256', KERNEL)]);

    // boot_aggregate left out, bash once, both python3 digests, uppercase paths sort first (UTF-16 order).
    expect(doc.rules.ima).toEqual({
      mode: 'enforce-listed',
      allowViolations: false,
      allowlist: [
        { path: '/usr/bin/ZZ-legacy', digest: `sha1:${sha('sha1', 'legacy')}` },
        { path: '/usr/bin/bash', digest: `sha256:${sha('sha256', 'bash 5.2')}` },
        ...[`sha256:${sha('sha256', 'python 3.11.2')}`, `sha256:${sha('sha256', 'python 3.11.4')}`]
          .sort()
          .map((digest) => ({ path: '/usr/bin/python3', digest })),
        { path: '/usr/lib/x86_64-linux-gnu/libc.so.6', digest: `sha256:${sha('sha256', 'libc 2.36')}` },
      ],
    });
    expect(doc.bootChain?.bootApplications.map((c) => c.path)).toEqual([SHIM, GRUB, SHIM]);
    expect(doc.bootChain?.kernelCmdline).toContain('root=/dev/mapper/vg-root');
  });

  it('Secure Boot is required only when it was enabled, unless forced either way', () => {
    const e = hostEvidence();
    const disabled = { ...e, boot: { ...e.boot, secureBoot: 'disabled' as const } };
    expect(capture(disabled).rules.secureBoot).toBe('any');
    expect(captureReference(disabled, { secureBoot: 'required' }).rules.secureBoot).toBe('required');
    expect(captureReference(e, { secureBoot: 'any' }).rules.secureBoot).toBe('any');
  });

  it('rules exist exactly for the evidence given', () => {
    const doc = capture({ pcrs: hostEvidence().pcrs });
    expect(doc.rules).toEqual({ secureBoot: 'any' });
    expect(doc.bootChain).toBeUndefined();
  });

  it('normalizes hex case from the evidence', () => {
    const e = hostEvidence();
    const upper = {
      ...e,
      boot: {
        ...e.boot,
        kernels: [{ path: KERNEL, digests: { sha256: sha('sha256', KERNEL).toUpperCase() } }],
      },
    };
    expect(capture(upper).rules.kernels).toEqual([
      { bank: 'sha256', digest: sha('sha256', KERNEL), note: KERNEL },
    ]);
  });

  it('refuses evidence that cannot make a valid document, naming the field', () => {
    const e = hostEvidence();
    const pcr24 = new Map([['sha256', new Map([[24, bytes(sha('sha256', 'x'))]])]]);
    expect(thrown(ReferenceStateError, () => capture({ pcrs: pcr24 })).path).toBe('$.pcrs.sha256["24"]');
    const md5Bank = new Map([['md5', new Map([[0, new Uint8Array(16)]])]]);
    expect(thrown(ReferenceStateError, () => capture({ pcrs: md5Bank })).path).toBe('$.pcrs.md5');
    const shortPcr = new Map([['sha256', new Map([[0, new Uint8Array(20)]])]]);
    expect(thrown(ReferenceStateError, () => capture({ pcrs: shortPcr })).path).toBe('$.pcrs.sha256["0"]');
    const oddAlg = {
      entries: [imaEntry('/bin/x', 'x', 'sha256'), { ...imaEntry('/bin/y', 'y'), digestAlg: 'md5' }],
    };
    expect(thrown(ReferenceStateError, () => capture({ ...e, ima: oddAlg })).path).toBe(
      '$.rules.ima.allowlist[1].digest',
    );
    const nothing = thrown(ReferenceStateError, () => capture({ pcrs: new Map() }));
    expect([nothing.code, nothing.path]).toEqual(['E_REFERENCE_FORMAT', '$']);
  });
});

describe('round trip: capture → JSON → parse → check', () => {
  it('passes, and the digest survives formatting', () => {
    const e = hostEvidence();
    const doc = capture(e);
    const text = stringifyReferenceState(doc);
    const parsed = parseReferenceState(text);
    expect(parsed).toEqual(doc);
    expect(parseReferenceState(new TextEncoder().encode(text))).toEqual(doc);
    expect(checkReference(parsed, e)).toEqual({ ok: true, failures: [] });
    const d = referenceDigest(parsed);
    expect(hexOf(d)).toBe(hexOf(referenceDigest(doc)));
    expect(hexOf(referenceDigest(parseReferenceState(JSON.stringify(doc))))).toBe(hexOf(d));
    // SHA-256 (node:crypto) over the independent canonicalization.
    expect(hexOf(d)).toBe(
      createHash('sha256')
        .update(jcsOracle(JSON.parse(text) as JsonValue), 'utf8')
        .digest('hex'),
    );
  });
});

describe('checkReference: each single mutation of the evidence fails with its rule', () => {
  const doc = capture();

  it('one PCR byte', () => {
    const e = hostEvidence();
    const value = e.pcrs.get('sha256')?.get(7) ?? new Uint8Array(0);
    const flipped = value.slice();
    flipped[31] = (flipped[31] ?? 0) ^ 0x01;
    e.pcrs.get('sha256')?.set(7, flipped);
    const f = onlyFailure(doc, e);
    expect([f.rule, f.code]).toEqual(['pcr', 'pcr-mismatch']);
    expect(f.detail).toEqual({ bank: 'sha256', pcr: 7, expected: hexOf(value), actual: hexOf(flipped) });
    expect(f.message).toContain('sha256 PCR 7');
    expect(f.message).toContain(hexOf(flipped));
  });

  it('a listed PCR missing from the evidence', () => {
    const e = hostEvidence();
    e.pcrs.get('sha1')?.delete(4);
    const f = onlyFailure(doc, e);
    expect([f.rule, f.code, f.detail.bank, f.detail.pcr]).toEqual(['pcr', 'pcr-missing', 'sha1', 4]);
  });

  it('Secure Boot disabled, or unknown', () => {
    for (const state of ['disabled', 'unknown'] as const) {
      const e = hostEvidence();
      const f = onlyFailure(doc, { ...e, boot: { ...e.boot, secureBoot: state } });
      expect([f.rule, f.code, f.detail.state]).toEqual(['secure-boot', 'secure-boot-not-enabled', state]);
      expect(f.message).toContain(state);
    }
  });

  it('one boot application digest', () => {
    const e = hostEvidence();
    const evil = sha('sha256', 'evil grub');
    const grub = { path: GRUB, digests: { sha1: sha('sha1', GRUB), sha256: evil } };
    const f = onlyFailure(doc, { ...e, boot: { ...e.boot, bootApplications: [component(SHIM), grub] } });
    expect([f.rule, f.code]).toEqual(['boot-application', 'digest-not-allowed']);
    expect(f.detail).toEqual({ index: 1, bank: 'sha256', digest: evil, path: GRUB });
    expect(f.message).toContain(GRUB);
    expect(f.message).toContain(evil);
  });

  it('one kernel digest, one initrd digest', () => {
    const e = hostEvidence();
    const other = {
      path: KERNEL,
      digests: { ...component(KERNEL).digests, sha256: sha('sha256', 'other kernel') },
    };
    const k = onlyFailure(doc, { ...e, boot: { ...e.boot, kernels: [other] } });
    expect([k.rule, k.code, k.detail.bank, k.detail.digest]).toEqual([
      'kernel',
      'digest-not-allowed',
      'sha256',
      sha('sha256', 'other kernel'),
    ]);
    // A kernel different in both banks is reported once per bank.
    const both = checkReference(doc, {
      ...e,
      boot: { ...e.boot, kernels: [component(KERNEL, 'other kernel')] },
    });
    expect(both.failures.map((f) => [f.rule, f.detail.bank])).toEqual([
      ['kernel', 'sha1'],
      ['kernel', 'sha256'],
    ]);
    const e2 = hostEvidence();
    const i = onlyFailure(doc, {
      ...e2,
      boot: {
        ...e2.boot,
        initrds: [{ path: INITRD, digests: { ...component(INITRD).digests, sha1: sha('sha1', 'x') } }],
      },
    });
    expect([i.rule, i.code, i.detail.path]).toEqual(['initrd', 'digest-not-allowed', INITRD]);
  });

  it('a boot application without a digest in a bank the list names', () => {
    const e = hostEvidence();
    const shimSha256Only = { path: SHIM, digests: { sha256: sha('sha256', SHIM) } };
    const f = onlyFailure(doc, { ...e, boot: { ...e.boot, bootApplications: [shimSha256Only] } });
    expect([f.rule, f.code, f.detail.bank]).toEqual(['boot-application', 'bank-missing', 'sha1']);
  });

  it('an unlisted IMA file', () => {
    const e = hostEvidence();
    const rootkit = imaEntry('/tmp/.x/rootkit', 'rootkit');
    e.ima.entries.push(rootkit);
    const f = onlyFailure(doc, e);
    expect([f.rule, f.code]).toEqual(['ima', 'ima-unlisted']);
    expect(f.detail).toEqual({ index: 7, path: '/tmp/.x/rootkit', digest: `sha256:${rootkit.digest}` });
    expect(f.message).toContain('/tmp/.x/rootkit');
  });

  it('a changed digest for a listed path', () => {
    const e = hostEvidence();
    e.ima.entries[2] = imaEntry('/usr/lib/x86_64-linux-gnu/libc.so.6', 'patched libc');
    const f = onlyFailure(doc, e);
    expect([f.rule, f.code, f.detail.index]).toEqual(['ima', 'ima-digest-mismatch', 2]);
    expect(f.detail.allowed).toEqual([`sha256:${sha('sha256', 'libc 2.36')}`]);
    expect(f.message).toContain(sha('sha256', 'patched libc'));
  });

  it('the same digest under another algorithm name is a different digest', () => {
    const e = hostEvidence();
    e.ima.entries[1] = { ...imaEntry('/usr/bin/bash', 'bash 5.2'), digestAlg: 'sm3' };
    expect(onlyFailure(doc, e).code).toBe('ima-digest-mismatch');
  });

  it('missing IMA evidence fails closed', () => {
    const { pcrs, boot } = hostEvidence();
    const f = onlyFailure(doc, { pcrs, boot });
    expect([f.rule, f.code]).toEqual(['ima', 'evidence-missing']);
    expect(f.message).toContain('no IMA log');
  });

  it('missing boot evidence fails every boot rule', () => {
    const { pcrs, ima } = hostEvidence();
    const v = checkReference(doc, { pcrs, ima });
    expect(v.failures.map((f) => [f.rule, f.code])).toEqual([
      ['secure-boot', 'evidence-missing'],
      ['boot-application', 'evidence-missing'],
      ['kernel', 'evidence-missing'],
      ['initrd', 'evidence-missing'],
    ]);
  });

  it('a violation entry fails unless the document allows violations', () => {
    const e = hostEvidence();
    const zeros = '0'.repeat(64);
    e.ima.entries.push({ path: '/var/log/app.log', digestAlg: 'sha256', digest: zeros, templateHash: zeros });
    const f = onlyFailure(doc, e);
    expect([f.rule, f.code, f.detail.path]).toEqual(['ima', 'ima-violation', '/var/log/app.log']);
    const lenient = captureReference(hostEvidence(), { allowImaViolations: true });
    expect(lenient.rules.ima?.allowViolations).toBe(true);
    expect(checkReference(lenient, e).ok).toBe(true);
    // Capture never lists a violation's zero digest.
    expect(
      captureReference(e, { allowImaViolations: true }).rules.ima?.allowlist.some(
        (a) => a.path === '/var/log/app.log',
      ),
    ).toBe(false);
  });

  it('boot_aggregate: skipped as the first entry, checked elsewhere or when listed', () => {
    const e = hostEvidence();
    e.ima.entries[0] = imaEntry('boot_aggregate', 'after a firmware update');
    expect(checkReference(doc, e).ok).toBe(true);
    e.ima.entries.push(imaEntry('boot_aggregate', 'a second one'));
    expect(onlyFailure(doc, e).code).toBe('ima-unlisted');

    const listed: ReferenceState = {
      ...doc,
      rules: {
        ...doc.rules,
        ima: {
          mode: 'enforce-listed',
          allowViolations: false,
          allowlist: [
            ...(doc.rules.ima?.allowlist ?? []),
            { path: 'boot_aggregate', digest: `sha256:${sha('sha256', 'aggregate')}` },
          ],
        },
      },
    };
    const e2 = hostEvidence();
    expect(checkReference(listed, e2).ok).toBe(true);
    e2.ima.entries[0] = imaEntry('boot_aggregate', 'after a firmware update');
    expect(onlyFailure(listed, e2).code).toBe('ima-digest-mismatch');
  });

  it('an empty list allows no component', () => {
    const e = hostEvidence();
    const noKernels = captureReference({ ...e, boot: { ...e.boot, kernels: [] } });
    expect(noKernels.rules.kernels).toEqual([]);
    const f = onlyFailure(noKernels, e);
    expect([f.rule, f.code, f.detail.path]).toEqual(['kernel', 'digest-not-allowed', KERNEL]);
  });

  it('a non-empty list fails when the evidence shows no such component (no vacuous pass)', () => {
    const e = hostEvidence();
    const f = onlyFailure(doc, { ...e, boot: { ...e.boot, kernels: [] } });
    expect([f.rule, f.code]).toEqual(['kernel', 'component-missing']);
  });

  it('rules absent from the document are not checked', () => {
    const e = hostEvidence();
    const pcrOnly = capture({ pcrs: e.pcrs });
    const wild = {
      ...e,
      boot: { ...e.boot, secureBoot: 'disabled' as const, kernels: [component('/boot/evil')] },
    };
    expect(checkReference(pcrOnly, { ...wild, ima: { entries: [imaEntry('/tmp/evil', 'evil')] } }).ok).toBe(
      true,
    );
    expect(checkReference(pcrOnly, { pcrs: e.pcrs }).ok).toBe(true);
  });

  it('reports every difference, not only the first', () => {
    const e = hostEvidence();
    e.pcrs.set('sha1', new Map());
    e.ima.entries.push(imaEntry('/a', 'a'), imaEntry('/b', 'b'));
    const v = checkReference(doc, e);
    expect(v.failures.filter((f) => f.code === 'pcr-missing')).toHaveLength(8);
    expect(v.failures.filter((f) => f.code === 'ima-unlisted').map((f) => f.detail.path)).toEqual([
      '/a',
      '/b',
    ]);
  });
});

// biome-ignore lint/suspicious/noExplicitAny: tests edit a plain JSON copy of the document freely.
type Doc = any;
const plain = (): Doc => JSON.parse(stringifyReferenceState(capture()));

describe('parseReferenceState rejects malformed documents, naming the field', () => {
  const hex64 = 'ab'.repeat(32);
  const cases: readonly (readonly [string, (d: Doc) => void, string])[] = [
    ['an unknown top-level member', (d) => Object.assign(d, { extra: 1 }), '$.extra'],
    ['an unknown rule', (d) => Object.assign(d.rules, { firmware: [] }), '$.rules.firmware'],
    [
      'an unknown member in a list entry',
      (d) => Object.assign(d.rules.kernels[0], { path: '/x' }),
      '$.rules.kernels[0].path',
    ],
    ['a missing member', (d) => delete d.created, '$.created'],
    ['a missing rules.secureBoot', (d) => delete d.rules.secureBoot, '$.rules.secureBoot'],
    ['another document type', (d) => Object.assign(d, { execgate: 'trust-policy' }), '$.execgate'],
    ['version 2', (d) => Object.assign(d, { version: 2 }), '$.version'],
    ['version as a string', (d) => Object.assign(d, { version: '1' }), '$.version'],
    ['created 30 February', (d) => Object.assign(d, { created: '2026-02-30T00:00:00Z' }), '$.created'],
    [
      'created with an offset',
      (d) => Object.assign(d, { created: '2026-11-29T10:24:12+01:00' }),
      '$.created',
    ],
    ['host as an array', (d) => Object.assign(d, { host: [] }), '$.host'],
    [
      'an akName one byte short',
      (d) => Object.assign(d.host, { akName: `000b${'ab'.repeat(31)}` }),
      '$.host.akName',
    ],
    [
      'an akName with an unknown nameAlg',
      (d) => Object.assign(d.host, { akName: `0099${hex64}` }),
      '$.host.akName',
    ],
    ['an unknown bank', (d) => Object.assign(d.pcrs, { md5: { '0': 'ab'.repeat(16) } }), '$.pcrs.md5'],
    ['PCR 24', (d) => Object.assign(d.pcrs.sha256, { '24': hex64 }), '$.pcrs.sha256["24"]'],
    [
      'PCR index with a leading zero',
      (d) => Object.assign(d.pcrs.sha256, { '07': hex64 }),
      '$.pcrs.sha256["07"]',
    ],
    ['PCR index -1', (d) => Object.assign(d.pcrs.sha256, { '-1': hex64 }), '$.pcrs.sha256["-1"]'],
    ['uppercase hex', (d) => Object.assign(d.pcrs.sha256, { '0': 'AB'.repeat(32) }), '$.pcrs.sha256["0"]'],
    [
      'a SHA-256-sized value in the sha1 bank',
      (d) => Object.assign(d.pcrs.sha1, { '0': hex64 }),
      '$.pcrs.sha1["0"]',
    ],
    ['a PCR value as a number', (d) => Object.assign(d.pcrs.sha1, { '0': 0 }), '$.pcrs.sha1["0"]'],
    ['an empty bank', (d) => Object.assign(d.pcrs, { sha384: {} }), '$.pcrs.sha384'],
    [
      'a sha256 rule with a SHA-1-sized digest',
      (d) => Object.assign(d.rules.bootApplications[2], { digest: 'ab'.repeat(20) }),
      '$.rules.bootApplications[2].digest',
    ],
    [
      'a rule with an unknown bank',
      (d) => Object.assign(d.rules.initrds[0], { bank: 'sha3_256' }),
      '$.rules.initrds[0].bank',
    ],
    ['a list that is null', (d) => Object.assign(d.rules, { kernels: null }), '$.rules.kernels'],
    ['secureBoot "yes"', (d) => Object.assign(d.rules, { secureBoot: 'yes' }), '$.rules.secureBoot'],
    [
      'an IMA digest with an unknown algorithm',
      (d) => Object.assign(d.rules.ima.allowlist[1], { digest: `md5:${'ab'.repeat(16)}` }),
      '$.rules.ima.allowlist[1].digest',
    ],
    [
      'an IMA digest without its algorithm',
      (d) => Object.assign(d.rules.ima.allowlist[1], { digest: hex64 }),
      '$.rules.ima.allowlist[1].digest',
    ],
    [
      'an IMA digest of the wrong length',
      (d) => Object.assign(d.rules.ima.allowlist[1], { digest: `sha256:${'ab'.repeat(20)}` }),
      '$.rules.ima.allowlist[1].digest',
    ],
    [
      'an empty IMA path',
      (d) => Object.assign(d.rules.ima.allowlist[0], { path: '' }),
      '$.rules.ima.allowlist[0].path',
    ],
    ['another IMA mode', (d) => Object.assign(d.rules.ima, { mode: 'log-only' }), '$.rules.ima.mode'],
    [
      'allowViolations as a string',
      (d) => Object.assign(d.rules.ima, { allowViolations: 'false' }),
      '$.rules.ima.allowViolations',
    ],
    [
      'bootChain.secureBoot "on"',
      (d) => Object.assign(d.bootChain, { secureBoot: 'on' }),
      '$.bootChain.secureBoot',
    ],
    [
      'a bootChain digest in an unknown bank',
      (d) => Object.assign(d.bootChain.kernels[0].digests, { crc32: '00' }),
      '$.bootChain.kernels[0].digests.crc32',
    ],
    [
      'a document that constrains nothing',
      (d) => {
        d.pcrs = {};
        d.rules = { secureBoot: 'any' };
      },
      '$',
    ],
  ];
  for (const [name, mutate, path] of cases) {
    it(name, () => {
      const d = plain();
      mutate(d);
      const e = thrown(ReferenceStateError, () => parseReferenceState(JSON.stringify(d)));
      expect([e.code, e.path]).toEqual(['E_REFERENCE_FORMAT', path]);
      expect(e.message).toContain(path);
    });
  }

  const text = stringifyReferenceState(capture());
  const textCases: readonly (readonly [
    string,
    string | Uint8Array,
    'E_REFERENCE_FORMAT' | 'E_REFERENCE_LIMIT',
  ])[] = [
    [
      'a duplicate member (JSON.parse would keep the last)',
      text.replace('"version": 1', '"version": 1, "version": 1'),
      'E_REFERENCE_FORMAT',
    ],
    [
      'a lone surrogate in a note',
      text.replace('golden image', 'golden \\udc00 image'),
      'E_REFERENCE_FORMAT',
    ],
    [
      'invalid UTF-8',
      Buffer.concat([Buffer.from(text.slice(0, 40)), Buffer.from([0xff]), Buffer.from(text.slice(40))]),
      'E_REFERENCE_FORMAT',
    ],
    ['trailing text', `${text}x`, 'E_REFERENCE_FORMAT'],
    [
      'nesting beyond maxJsonDepth',
      text.replace('"golden image 2026-11"', `${'['.repeat(20)}${']'.repeat(20)}`),
      'E_REFERENCE_LIMIT',
    ],
    ['not JSON at all', 'execgate reference-state v1', 'E_REFERENCE_FORMAT'],
  ];
  for (const [name, input, code] of textCases) {
    it(name, () => {
      const e = thrown(ReferenceStateError, () => parseReferenceState(input));
      expect([e.code, e.path]).toEqual([code, '$']);
      expect(e.cause).toBeInstanceOf(JsonError);
    });
  }

  it('limits: document size, IMA entries, boot entries, text length', () => {
    const size = thrown(ReferenceStateError, () =>
      parseReferenceState(text, { limits: { maxDocumentBytes: text.length - 1 } }),
    );
    expect([size.code, size.path]).toEqual(['E_REFERENCE_LIMIT', '$']);
    expect(parseReferenceState(text, { limits: { maxDocumentBytes: Buffer.byteLength(text) } })).toEqual(
      capture(),
    );
    const ima = thrown(ReferenceStateError, () =>
      parseReferenceState(text, { limits: { maxImaEntries: 4 } }),
    );
    expect([ima.code, ima.path]).toEqual(['E_REFERENCE_LIMIT', '$.rules.ima.allowlist']);
    const boot = thrown(ReferenceStateError, () =>
      parseReferenceState(text, { limits: { maxBootEntries: 2 } }),
    );
    expect([boot.code, boot.path]).toEqual(['E_REFERENCE_LIMIT', '$.rules.bootApplications']);
    const chars = thrown(ReferenceStateError, () =>
      parseReferenceState(text, { limits: { maxTextChars: 19 } }),
    );
    expect([chars.code, chars.path]).toEqual(['E_REFERENCE_LIMIT', '$.host.note']);
  });
});

/** Every path to a leaf (string, number, boolean) of a JSON value. */
function leaves(v: unknown, path: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(v)) return v.flatMap((x, i) => leaves(x, [...path, i]));
  if (v !== null && typeof v === 'object')
    return Object.entries(v).flatMap(([k, x]) => leaves(x, [...path, k]));
  return [path];
}

function setAt(root: Doc, path: readonly (string | number)[], f: (old: unknown) => unknown): void {
  let node = root;
  for (const key of path.slice(0, -1)) node = node[key];
  const last = path[path.length - 1] as string | number;
  node[last] = f(node[last]);
}

/** Rebuilds `v` with each object's members in an order drawn from `next`. */
function shuffleKeys(v: unknown, next: () => number): unknown {
  if (Array.isArray(v)) return v.map((x) => shuffleKeys(x, next));
  if (v === null || typeof v !== 'object') return v;
  const entries = Object.entries(v);
  for (let i = entries.length - 1; i > 0; i--) {
    const j = next() % (i + 1);
    [entries[i], entries[j]] = [entries[j] as [string, unknown], entries[i] as [string, unknown]];
  }
  return Object.fromEntries(entries.map(([k, x]) => [k, shuffleKeys(x, next)]));
}

describe('referenceDigest', () => {
  const base = capture();
  const baseDigest = hexOf(referenceDigest(base));

  it('is invariant under member order and whitespace', () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat(), { minLength: 1, maxLength: 64 }),
        fc.constantFrom(0, 1, 2, 4, '\t'),
        (seeds, indent) => {
          let k = 0;
          const shuffled = shuffleKeys(
            JSON.parse(JSON.stringify(base)),
            () => seeds[k++ % seeds.length] ?? 0,
          );
          const text = JSON.stringify(shuffled, null, indent);
          expect(hexOf(referenceDigest(parseReferenceState(text)))).toBe(baseDigest);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('changes when any single value changes', () => {
    const paths = leaves(JSON.parse(JSON.stringify(base)));
    expect(paths.length).toBeGreaterThan(40);
    const seen = new Set([baseDigest]);
    for (const path of paths) {
      const d = plain();
      setAt(d, path, (old) =>
        typeof old === 'boolean' ? !old : typeof old === 'number' ? old + 1 : `${String(old)}0`,
      );
      const digest = hexOf(referenceDigest(d as ReferenceState));
      expect(seen.has(digest), path.join('.')).toBe(false);
      seen.add(digest);
    }
  });
});

describe('hostile documents', () => {
  /** Parses; a value must round-trip, and anything thrown must be a ReferenceStateError. */
  function parseOrRefuse(input: string | Uint8Array): void {
    let doc: ReferenceState;
    try {
      doc = parseReferenceState(input);
    } catch (e) {
      if (e instanceof ReferenceStateError) return;
      throw e;
    }
    expect(parseReferenceState(stringifyReferenceState(doc))).toEqual(doc);
    checkReference(doc, hostEvidence());
  }

  it('arbitrary JSON values', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => parseOrRefuse(JSON.stringify(v))),
      { numRuns: 1000 },
    );
  });

  it('arbitrary bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), parseOrRefuse), { numRuns: 1000 });
  });

  it('a valid document with one value replaced, removed or added', () => {
    const paths = leaves(plain());
    fc.assert(
      fc.property(
        fc.constantFrom(...paths),
        fc.oneof(
          fc.jsonValue({ maxDepth: 2 }).map((x) => ({ op: 'set' as const, x })),
          fc.constant({ op: 'delete' as const }),
          fc.string({ maxLength: 8 }).map((name) => ({ op: 'add' as const, name })),
        ),
        (path, edit) => {
          const d = plain();
          let parent = d;
          for (const key of path.slice(0, -1)) parent = parent[key];
          const key = path[path.length - 1] as string | number;
          if (edit.op === 'set') parent[key] = edit.x;
          else if (edit.op === 'add') parent[Array.isArray(parent) ? parent.length : edit.name] = 1;
          else if (Array.isArray(parent)) parent.splice(key as number, 1);
          else delete parent[key];
          parseOrRefuse(JSON.stringify(d));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('a valid document with random bytes overwritten', () => {
    const text = new TextEncoder().encode(stringifyReferenceState(capture()));
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat({ max: text.length - 1 }), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 4,
        }),
        (edits) => {
          const b = text.slice();
          for (const [at, value] of edits) b[at] = value;
          parseOrRefuse(b);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
