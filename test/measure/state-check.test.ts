// SPDX-License-Identifier: Apache-2.0
// Reference capture and check (agent/measure/state/capture.ts, check.ts) on hand-built evidence: capture →
// JSON → parse → check round trips, one failure per single mutation of the evidence, and the coverage
// rules: an allowlist judges every event extended into its PCRs by digest, whatever its type or label, and a
// rule whose PCRs the verified quote does not cover fails.
import { beforeAll, describe, expect, it } from 'vitest';
import { initHashing } from '../../agent/crypto/hash.js';
import {
  parseReferenceState,
  type ReferenceState,
  ReferenceStateError,
  referenceDigest,
  stringifyReferenceState,
} from '../../agent/measure/reference.js';
import { captureReference } from '../../agent/measure/state/capture.js';
import { checkReference } from '../../agent/measure/state/check.js';
import type { StateEvidence } from '../../agent/measure/state/evidence.js';
import type { StateFailure } from '../../agent/measure/state/failure.js';
import {
  AK_NAME,
  BOOT_PCRS,
  boot,
  bytes,
  capture,
  digestsOf,
  event,
  GRUB,
  GRUB_CFG,
  HOST_EVENTS,
  hostEvidence,
  INITRD,
  imaEntry,
  KERNEL,
  SHIM,
  sha,
} from '../helpers/state-evidence.js';
import { thrown } from '../helpers/thrown.js';

beforeAll(async () => {
  await initHashing();
});

const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const byCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The one failure of checking `evidence` against `doc`; fails the test unless there is exactly one. */
function onlyFailure(doc: ReferenceState, evidence: StateEvidence): StateFailure {
  const verdict = checkReference(doc, evidence);
  expect(verdict.failures).toHaveLength(1);
  const [failure] = verdict.failures;
  if (failure === undefined) throw new Error('unreachable');
  return failure;
}

/** HOST_EVENTS with the event of `index` replaced. */
const replaced = (index: number, e: (typeof HOST_EVENTS)[number]) =>
  HOST_EVENTS.map((x) => (x.index === index ? e : x));

describe('captureReference', () => {
  it('records the exact PCRs, deduplicated sorted allowlists per PCR, Secure Boot and the boot chain', () => {
    const doc = capture();
    expect(doc.execgate).toBe('reference-state');
    expect(doc.created).toBe('2026-11-29T10:24:12.000Z');
    expect(doc.host).toEqual({ akName: AK_NAME, note: 'golden image 2026-11' });
    expect(Object.keys(doc.pcrs)).toEqual(['sha1', 'sha256']);
    expect(doc.pcrs.sha256?.['5']).toBe(sha('sha256', 'pcr 5'));
    expect(doc.rules.secureBoot).toBe('required');
    // shim twice + GRUB → two applications × two banks, sorted by bank then digest, noted with the label.
    const expectedApps = [SHIM, GRUB]
      .flatMap((p) => [
        { bank: 'sha1', digest: sha('sha1', p), note: p },
        { bank: 'sha256', digest: sha('sha256', p), note: p },
      ])
      .sort((x, y) => byCodeUnits(x.bank, y.bank) || byCodeUnits(x.digest, y.digest));
    expect(doc.rules.bootApplications).toEqual(expectedApps);
    expect(doc.rules.kernels?.map((r) => r.digest)).toEqual([sha('sha1', KERNEL), sha('sha256', KERNEL)]);
    expect(doc.rules.initrds?.map((r) => r.note)).toEqual([INITRD, INITRD]);
    expect(doc.rules.loaderFiles?.map((r) => r.note)).toEqual([GRUB_CFG, GRUB_CFG]);
    expect(doc.rules.ima?.allowlist).toEqual([
      { path: '/usr/bin/ZZ-legacy', digest: `sha1:${sha('sha1', 'legacy')}` },
      { path: '/usr/bin/bash', digest: `sha256:${sha('sha256', 'bash 5.2')}` },
      ...[`sha256:${sha('sha256', 'python 3.11.2')}`, `sha256:${sha('sha256', 'python 3.11.4')}`]
        .sort()
        .map((digest) => ({ path: '/usr/bin/python3', digest })),
      { path: '/usr/lib/x86_64-linux-gnu/libc.so.6', digest: `sha256:${sha('sha256', 'libc 2.36')}` },
    ]);
    expect(doc.bootChain?.bootApplications.map((c) => c.path)).toEqual([SHIM, GRUB, SHIM]);
    expect(doc.bootChain?.kernelCmdline).toContain('root=/dev/mapper/vg-root');
  });

  it('Secure Boot is required only when it was enabled, unless forced either way', () => {
    const e = hostEvidence();
    const disabled = { ...e, boot: boot(HOST_EVENTS, { secureBoot: 'disabled' }) };
    expect(capture(disabled).rules.secureBoot).toBe('any');
    expect(captureReference(disabled, { secureBoot: 'required' }).rules.secureBoot).toBe('required');
    expect(captureReference(e, { secureBoot: 'any' }).rules.secureBoot).toBe('any');
  });

  it('rules exist exactly for the evidence given', () => {
    const doc = capture({ pcrs: hostEvidence().pcrs });
    expect(doc.rules).toEqual({ secureBoot: 'any' });
    expect(doc.bootChain).toBeUndefined();
  });

  it('refuses evidence that cannot make a valid document, naming the field', () => {
    const e = hostEvidence();
    const pcr24 = new Map([['sha256', new Map([[24, bytes(sha('sha256', 'x'))]])]]);
    expect(thrown(ReferenceStateError, () => capture({ pcrs: pcr24 })).path).toBe('$.pcrs.sha256["24"]');
    const md5Bank = new Map([['md5', new Map([[0, new Uint8Array(16)]])]]);
    expect(thrown(ReferenceStateError, () => capture({ pcrs: md5Bank })).path).toBe('$.pcrs.md5');
    const oddAlg = { entries: [imaEntry('/bin/x', 'x'), { ...imaEntry('/bin/y', 'y'), digestAlg: 'md5' }] };
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
    expect(checkReference(parsed, e)).toEqual({ ok: true, failures: [] });
    expect(hexOf(referenceDigest(parsed))).toBe(hexOf(referenceDigest(doc)));
    expect(hexOf(referenceDigest(parsed))).toBe(
      hexOf(referenceDigest(parseReferenceState(JSON.stringify(JSON.parse(text), null, 3)))),
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
  });

  it('a listed PCR missing from the quote', () => {
    const e = hostEvidence();
    e.pcrs.get('sha1')?.delete(4);
    const f = onlyFailure(doc, e);
    expect([f.rule, f.code, f.detail.bank, f.detail.pcr]).toEqual(['pcr', 'pcr-missing', 'sha1', 4]);
  });

  it('Secure Boot disabled, or unknown', () => {
    for (const state of ['disabled', 'unknown'] as const) {
      const f = onlyFailure(doc, { ...hostEvidence(), boot: boot(HOST_EVENTS, { secureBoot: state }) });
      expect([f.rule, f.code, f.detail.state]).toEqual(['secure-boot', 'secure-boot-not-enabled', state]);
    }
  });

  it('one boot application digest', () => {
    const evil = sha('sha256', 'evil grub');
    const grub = event(5, 4, GRUB, { digests: { ...digestsOf(GRUB), sha256: evil } });
    const f = onlyFailure(doc, { ...hostEvidence(), boot: boot(replaced(5, grub)) });
    expect([f.rule, f.code]).toEqual(['boot-application', 'digest-not-allowed']);
    expect(f.detail).toMatchObject({ index: 5, pcr: 4, bank: 'sha256', digest: evil, path: GRUB });
    expect(f.message).toContain(GRUB);
    expect(f.message).toContain(evil);
  });

  it('one kernel digest, one initrd digest', () => {
    const other = event(22, 9, KERNEL, {
      role: 'kernel',
      digests: { ...digestsOf(KERNEL), sha256: sha('sha256', 'x') },
    });
    const k = onlyFailure(doc, { ...hostEvidence(), boot: boot(replaced(22, other)) });
    expect([k.rule, k.code, k.detail.bank, k.detail.digest]).toEqual([
      'kernel',
      'digest-not-allowed',
      'sha256',
      sha('sha256', 'x'),
    ]);
    // A kernel different in both banks is reported once per bank.
    const both = checkReference(doc, {
      ...hostEvidence(),
      boot: boot(replaced(22, event(22, 9, KERNEL, { role: 'kernel', content: 'other kernel' }))),
    });
    expect(both.failures.map((f) => [f.rule, f.detail.bank])).toEqual([
      ['kernel', 'sha1'],
      ['kernel', 'sha256'],
    ]);
    const initrd = event(24, 9, INITRD, {
      role: 'initrd',
      digests: { ...digestsOf(INITRD), sha1: sha('sha1', 'x') },
    });
    const i = onlyFailure(doc, { ...hostEvidence(), boot: boot(replaced(24, initrd)) });
    expect([i.rule, i.code, i.detail.path]).toEqual(['initrd', 'digest-not-allowed', INITRD]);
  });

  it('an allowed loader file named as the kernel is judged by the kernels list (names narrow, never widen)', () => {
    const relabelled = event(20, 9, KERNEL, { role: 'kernel', content: GRUB_CFG });
    const f = checkReference(doc, { ...hostEvidence(), boot: boot(replaced(20, relabelled)) });
    expect(f.failures.map((x) => [x.rule, x.code])).toEqual([
      ['kernel', 'digest-not-allowed'],
      ['kernel', 'digest-not-allowed'],
    ]);
  });

  it('a boot application without a digest in a bank the list names', () => {
    const shim = event(3, 4, SHIM, { digests: { sha256: sha('sha256', SHIM) } });
    const f = onlyFailure(doc, { ...hostEvidence(), boot: boot(replaced(3, shim)) });
    expect([f.rule, f.code, f.detail.bank]).toEqual(['boot-application', 'bank-missing', 'sha1']);
  });

  it('an unlisted IMA file', () => {
    const e = hostEvidence();
    const rootkit = imaEntry('/tmp/.x/rootkit', 'rootkit');
    e.ima.entries.push(rootkit);
    const f = onlyFailure(doc, e);
    expect([f.rule, f.code]).toEqual(['ima', 'ima-unlisted']);
    expect(f.detail).toEqual({ index: 7, path: '/tmp/.x/rootkit', digest: `sha256:${rootkit.digest}` });
  });

  it('a changed digest for a listed path; the same digest under another algorithm name', () => {
    const e = hostEvidence();
    e.ima.entries[2] = imaEntry('/usr/lib/x86_64-linux-gnu/libc.so.6', 'patched libc');
    const f = onlyFailure(doc, e);
    expect([f.rule, f.code, f.detail.index]).toEqual(['ima', 'ima-digest-mismatch', 2]);
    expect(f.detail.allowed).toEqual([`sha256:${sha('sha256', 'libc 2.36')}`]);
    const e2 = hostEvidence();
    e2.ima.entries[1] = { ...imaEntry('/usr/bin/bash', 'bash 5.2'), digestAlg: 'sm3' };
    expect(onlyFailure(doc, e2).code).toBe('ima-digest-mismatch');
  });

  it('missing IMA evidence fails closed; missing boot evidence fails every boot rule', () => {
    const { pcrs, boot: b, ima } = hostEvidence();
    expect([onlyFailure(doc, { pcrs, boot: b }).rule, onlyFailure(doc, { pcrs, boot: b }).code]).toEqual([
      'ima',
      'evidence-missing',
    ]);
    expect(checkReference(doc, { pcrs, ima }).failures.map((f) => [f.rule, f.code])).toEqual([
      ['secure-boot', 'evidence-missing'],
      ['boot-application', 'evidence-missing'],
      ['kernel', 'evidence-missing'],
      ['initrd', 'evidence-missing'],
      ['loader-file', 'evidence-missing'],
      ['boot-command', 'evidence-missing'],
    ]);
  });

  it('a violation entry fails unless the document allows violations', () => {
    const e = hostEvidence();
    const zeros = '0'.repeat(64);
    e.ima.entries.push({ path: '/var/log/app.log', digestAlg: 'sha256', digest: zeros, templateHash: zeros });
    expect(onlyFailure(doc, e).code).toBe('ima-violation');
    const lenient = captureReference(hostEvidence(), { allowImaViolations: true });
    expect(checkReference(lenient, e).ok).toBe(true);
    expect(
      captureReference(e, { allowImaViolations: true }).rules.ima?.allowlist.some(
        (a) => a.path === '/var/log/app.log',
      ),
    ).toBe(false);
  });

  it('boot_aggregate: skipped as the first entry, checked when listed', () => {
    const e = hostEvidence();
    e.ima.entries[0] = imaEntry('boot_aggregate', 'after a firmware update');
    expect(checkReference(doc, e).ok).toBe(true);
    e.ima.entries.push(imaEntry('boot_aggregate', 'a second one'));
    expect(onlyFailure(doc, e).code).toBe('ima-unlisted');
    const allowlist = [
      ...(doc.rules.ima?.allowlist ?? []),
      { path: 'boot_aggregate', digest: `sha256:${sha('sha256', 'aggregate')}` },
    ];
    const listed: ReferenceState = {
      ...doc,
      rules: { ...doc.rules, ima: { mode: 'enforce-listed', allowViolations: false, allowlist } },
    };
    const e2 = hostEvidence();
    expect(checkReference(listed, e2).ok).toBe(true);
    e2.ima.entries[0] = imaEntry('boot_aggregate', 'after a firmware update');
    expect(onlyFailure(listed, e2).code).toBe('ima-digest-mismatch');
  });

  it('an empty list allows none; a non-empty list fails when the evidence shows no such component', () => {
    const noKernel = HOST_EVENTS.filter((x) => x.role !== 'kernel');
    const none = captureReference({ ...hostEvidence(), boot: boot(noKernel) });
    expect(none.rules.kernels).toEqual([]);
    // The kernel's digest is then allowed by no list of PCRs 8–9 (kernels judges an event named as one).
    const f = onlyFailure(none, hostEvidence());
    expect([f.rule, f.code, f.detail.path]).toEqual(['kernel', 'digest-not-allowed', KERNEL]);
    const g = onlyFailure(doc, { ...hostEvidence(), boot: boot(noKernel) });
    expect([g.rule, g.code]).toEqual(['kernel', 'component-missing']);
  });

  it('rules absent from the document are not checked', () => {
    const e = hostEvidence();
    const pcrOnly = capture({ pcrs: e.pcrs });
    const wild = {
      ...e,
      boot: boot([event(9, 4, 'evil.efi'), event(10, 9, '/boot/evil', { role: 'kernel' })], {
        secureBoot: 'disabled',
      }),
    };
    expect(checkReference(pcrOnly, { ...wild, ima: { entries: [imaEntry('/tmp/evil', 'evil')] } }).ok).toBe(
      true,
    );
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

describe('an allowlist covers every event extended into its PCRs, judged by digest', () => {
  const doc = capture();

  it('a boot application retagged to another type (EV_POST_CODE, 0x80000099, …) is still judged', () => {
    for (const typeName of ['EV_POST_CODE', 'EV_EFI_BOOT_SERVICES_DRIVER', 'unknown (0x80000099)']) {
      const evil = event(30, 4, '', { typeName, content: 'evil loader' });
      const v = checkReference(doc, { ...hostEvidence(), boot: boot([...HOST_EVENTS, evil]) });
      expect(v.failures.map((f) => [f.rule, f.code, f.detail.index, f.detail.type, f.detail.bank])).toEqual([
        ['boot-application', 'digest-not-allowed', 30, typeName, 'sha1'],
        ['boot-application', 'digest-not-allowed', 30, typeName, 'sha256'],
      ]);
    }
  });

  it('a PCR 9 file whose path text names another file is judged by its digest', () => {
    // An unlisted kernel whose logged path says it is grub's environment block: not a kernel by name, yet
    // its digest must be on a list of PCRs 8–9.
    const hidden = event(22, 9, '/boot/grub/grubenv', { content: 'unlisted kernel' });
    const v = checkReference(doc, { ...hostEvidence(), boot: boot(replaced(22, hidden)) });
    expect(v.failures.map((f) => [f.rule, f.code])).toEqual([
      ['kernel', 'component-missing'],
      ['loader-file', 'digest-not-allowed'],
      ['loader-file', 'digest-not-allowed'],
    ]);
  });

  it('digests only count in banks verified for their PCR', () => {
    // The quote covered sha256 only: the log's sha1 digests are the host's word.
    const verified = new Map([['sha256', new Set(BOOT_PCRS)]]);
    const sha256Only = HOST_EVENTS.map((e) => ({ ...e, digests: { sha256: e.digests.sha256 ?? '' } }));
    const sha1Rules: ReferenceState = {
      ...doc,
      rules: {
        secureBoot: 'any',
        bootApplications: (doc.rules.bootApplications ?? []).filter((r) => r.bank === 'sha1'),
      },
    };
    const v = checkReference(sha1Rules, { pcrs: hostEvidence().pcrs, boot: boot(sha256Only, { verified }) });
    expect(v.failures.map((f) => [f.rule, f.code, f.detail.bank])).toEqual([
      ['boot-application', 'not-quoted', 'sha1'],
    ]);
  });

  it('a rule whose PCRs the verified quote lacks fails: PCR 7 for Secure Boot, 8–9 for kernels', () => {
    const no7 = new Map([
      ['sha1', new Set([0, 1, 2, 3, 4, 5, 6, 8, 9])],
      ['sha256', new Set([0, 1, 2, 3, 4, 5, 6, 8, 9])],
    ]);
    const f = onlyFailure(doc, { ...hostEvidence(), boot: boot(HOST_EVENTS, { verified: no7 }) });
    expect([f.rule, f.code]).toEqual(['secure-boot', 'not-quoted']);
    const firmwareOnly = new Map([
      ['sha1', new Set([0, 1, 2, 3, 4, 5, 6, 7])],
      ['sha256', new Set([0, 1, 2, 3, 4, 5, 6, 7])],
    ]);
    const v = checkReference(doc, {
      ...hostEvidence(),
      boot: boot(
        HOST_EVENTS.filter((e) => e.pcr === 4),
        { verified: firmwareOnly },
      ),
    });
    expect(new Set(v.failures.map((x) => `${x.rule}:${x.code}`))).toEqual(
      new Set([
        'kernel:not-quoted',
        'initrd:not-quoted',
        'loader-file:not-quoted',
        'boot-command:not-quoted',
      ]),
    );
  });

  it('checking is linear: 5,000 events against 5,000 allowed digests', () => {
    const many = Array.from({ length: 5_000 }, (_, i) => event(100 + i, 9, `/boot/grub/mod${i}.mod`));
    const e = { ...hostEvidence(), boot: boot([...HOST_EVENTS, ...many]) };
    const big = capture(e);
    expect(big.rules.loaderFiles).toHaveLength(2 * 5_001);
    expect(checkReference(big, e).ok).toBe(true);
  });
});
