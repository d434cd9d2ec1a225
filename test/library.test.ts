// SPDX-License-Identifier: Apache-2.0
// The package entry (`execgate`) carries what an offline auditor needs: a real event log parsed, checked,
// replayed and compared with quoted values, an IMA list matched to a quoted PCR 10, and a reference state
// captured, digested and checked, and the shared encodings, through the public names only.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as execgate from '../agent/index.js';

const VECTORS = join(import.meta.dirname, 'vectors');

beforeAll(async () => {
  await execgate.initHashing();
});

describe('library entry', () => {
  it('event log: parse, check, replay, compare with quoted values, summarize', () => {
    const log = execgate.parseEventLog(
      new Uint8Array(readFileSync(join(VECTORS, 'eventlog/keylime/binary_bios_measurements'))),
    );
    expect(execgate.checkEvents(log)).toEqual([]);
    const replay = execgate.replayEventLog(log);
    const sha256 = replay.pcrs.get(execgate.TPM_ALG.SHA256);
    if (sha256 === undefined) throw new Error('no sha256 bank');
    // Quoted values equal to the replay, but PCR 7 one bit off: exactly that PCR mismatches.
    const quoted = new Map([[execgate.TPM_ALG.SHA256, new Map([...sha256].filter(([p]) => p < 10))]]);
    expect(execgate.compareWithQuote(log, replay, quoted).ok).toBe(true);
    const seven = Uint8Array.from(sha256.get(7) ?? []);
    seven[0] = (seven[0] ?? 0) ^ 1;
    quoted.get(execgate.TPM_ALG.SHA256)?.set(7, seven);
    const c = execgate.compareWithQuote(log, replay, quoted);
    expect(c.mismatches.map((m) => m.pcr)).toEqual([7]);
    expect(execgate.summarizeBoot(log).secureBoot).toBe('disabled');
  });

  it('IMA: the prefix matching a quoted PCR 10, and a reference state round trip', () => {
    const list = execgate.parseImaLog(
      new Uint8Array(readFileSync(join(VECTORS, 'ima/rust-keylime/ascii_runtime_measurements'))),
    );
    const prefix = execgate.replayImaLog({ ...list, entries: list.entries.slice(0, 300) });
    const quoted = prefix.pcrs.get(10);
    if (quoted === undefined) throw new Error('no PCR 10');
    expect(execgate.matchQuotedPrefix(list, 10, quoted)?.entryCount).toBe(300);

    const evidence: execgate.StateEvidence = {
      pcrs: new Map([['sha1', new Map([[10, quoted]])]]),
      ima: {
        entries: list.entries.slice(0, 300).map((e) => ({
          path: e.path ?? '',
          digestAlg: e.fileDigest?.algorithm ?? 'sha1',
          digest: Buffer.from(e.fileDigest?.digest ?? []).toString('hex'),
        })),
      },
    };
    const ref = execgate.captureReference(evidence);
    const again = execgate.parseReferenceState(JSON.stringify(ref, null, 3));
    expect(execgate.referenceDigest(again)).toEqual(execgate.referenceDigest(ref));
    expect(execgate.checkReference(again, evidence).ok).toBe(true);
  });

  it('encodings: hex, canonical JSON and deterministic CBOR (a COSE_Sign1-shaped item)', () => {
    expect(execgate.toHex(execgate.fromHex('00ff'))).toBe('00ff');
    expect(execgate.canonicalize(execgate.parseJson('{"b":1,"a":[true]}'))).toBe('{"a":[true],"b":1}');
    const sign1 = new execgate.CborTag(18, [execgate.fromHex('a10126'), new Map(), null, new Uint8Array(64)]);
    const bytes = execgate.encodeCbor(sign1);
    expect(execgate.decodeCbor(bytes, { tags: [18] })).toStrictEqual(sign1);
    expect(() => execgate.decodeCbor(bytes, { tags: [] })).toThrow(execgate.CborError);
  });

  it('artifacts: keys, issue, delegate, approve, revoke, inspect and verify through the entry', async () => {
    await execgate.initVerification();
    const load = (alg: execgate.SigningAlg) =>
      execgate.parseSigningKey(Buffer.from(execgate.generateSigningKey(alg).privatePem));
    const issuer = load('ed25519');
    const delegate = load('p384');
    const approver = load('p256');
    const at = 1_900_000_000;
    const claims = {
      iss: 'ops',
      sub: 'group:web',
      iat: at,
      exp: at + 60,
      cti: new Uint8Array(16).fill(1),
      scope: { exe: '/opt/app/bin/deploy', sha256: new Uint8Array(32) },
    };
    const root = execgate.issueArtifact(
      { ...claims, delegate: { key: delegate.spki, depth: 0, scope: { exe: '/opt/app/bin/' } } },
      issuer,
    );
    const child = execgate.approveArtifact(
      execgate.delegateArtifact(root, { ...claims, cti: new Uint8Array(16).fill(2) }, delegate),
      approver,
    );
    const inspected = execgate.decodeArtifact(child);
    expect(inspected.chain.length).toBe(1);
    expect(inspected.claims.parent).toEqual(execgate.decodeArtifact(root).digest);
    const trust = [execgate.parsePublicKey(issuer.spki)];
    const approvals = { approvers: [execgate.parsePublicKey(approver.spki)], required: 1 };
    expect(execgate.verifyArtifact(child, { trust, approvals, at })).toMatchObject({ ok: true });
    const state = new execgate.RevocationState();
    state.accept(
      execgate.verifyRevocationList(
        execgate.issueRevocationList({ iss: 'ops', seq: 1, iat: at, ctis: [claims.cti], kids: [] }, issuer),
        trust,
      ),
    );
    expect(execgate.verifyArtifact(child, { trust, at, revoked: state.revocations() })).toMatchObject({
      ok: false,
      code: 'E_REVOKED',
    });
  });
});
