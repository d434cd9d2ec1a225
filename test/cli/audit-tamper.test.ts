// SPDX-License-Identifier: Apache-2.0
// `execgate audit` against swtpm: entries appended through AuditStore, checkpoints made by `audit
// checkpoint`; each tamper kind refused by `audit verify` with its reason code (exit 7), on the database
// (with the TPM's certified counter) and on an exported bundle (`--bundle FILE --ak PEM`, no TPM); and
// `audit prove` output checked with verifyInclusionProofJson / verifyConsistencyProofJson (also from a
// process of its own).
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAk } from '../../agent/attest/ak.js';
import { decodeBundle, encodeBundle, spkiOfPublic, spkiToPem } from '../../agent/attest/quote.js';
import { parseCheckpointBody } from '../../agent/audit/checkpoint.js';
import { decodeVerdict, type EntryInput, encodeEntry } from '../../agent/audit/entry.js';
import { verifyConsistencyProofJson, verifyInclusionProofJson } from '../../agent/audit/proofs.js';
import { openDatabase } from '../../agent/audit/sqlite.js';
import { AUDIT_DB_FILE, AuditStore } from '../../agent/audit/store.js';
import { initHashing } from '../../agent/crypto/hash.js';
import { initVerification } from '../../agent/crypto/verify.js';
import { decodeCborSequence } from '../../agent/encoding/cbor.js';
import { runProcess } from '../gate/gate-host.js';
import { useSwtpm } from '../helpers/swtpm.js';
import { openTpm } from '../tpm/swtpm-kit.js';
import { cli } from './helpers.js';

const swtpm = useSwtpm();
const other = useSwtpm();
const AK = 0x81010002;
let work: string;
let akPem: string;

const T0 = 1_765_000_000_000;
const deny = (i: number): EntryInput => ({
  time: T0 + i,
  verdict: 'deny',
  reason: 'E_SIGNATURE',
  pid: 1000 + i,
});

beforeAll(async () => {
  await initHashing();
  await initVerification();
  work = await mkdtemp(join(tmpdir(), 'execgate-audit-cli-'));
  for (const t of [swtpm(), other()]) {
    const r = await cli(['--tcti', t.tcti, 'host', 'init']);
    expect(r.stderr).toBe('');
  }
  const ak = await readAk(openTpm(swtpm()), AK);
  if (!ak) throw new Error('no AK');
  akPem = join(work, 'ak.pem');
  await writeFile(akPem, spkiToPem(spkiOfPublic(ak.public)));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

let n = 0;
const tcti = () => swtpm().tcti;
const audit = (args: string[], t = tcti()) => cli(['--tcti', t, 'audit', ...args]);

async function append(dir: string, count: number): Promise<void> {
  const s = await AuditStore.open(dir);
  try {
    for (let i = 0; i < count; i++) s.append(deny(s.size()));
  } finally {
    s.close();
  }
}

async function checkpoint(dir: string, t = tcti()): Promise<void> {
  const r = await audit(['checkpoint', '--state-dir', dir], t);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
}

/** A log of `sizes` entries, checkpointed after each batch. */
async function log(...sizes: number[]): Promise<string> {
  const dir = join(work, `log${n++}`);
  for (const s of sizes) {
    await append(dir, s);
    await checkpoint(dir);
  }
  return dir;
}

function sql(dir: string, fn: (db: ReturnType<typeof openDatabase>) => void): void {
  const db = openDatabase(join(dir, AUDIT_DB_FILE), {});
  try {
    fn(db);
  } finally {
    db.close();
  }
}

async function verifyDb(dir: string): Promise<{ code: number; reason: string | undefined; stdout: string }> {
  const r = await audit(['verify', '--state-dir', dir]);
  return { code: r.code, reason: /execgate: (E_[A-Z_]+)/.exec(r.stderr)?.[1], stdout: r.stdout };
}

async function exportOf(dir: string): Promise<string> {
  const out = join(work, `bundle${n++}.cbor`);
  const r = await audit(['export', '--state-dir', dir, '--out', out, '--ak', akPem]);
  expect(r.stderr).toBe('');
  return out;
}

async function verifyBundleFile(file: string): Promise<{ code: number; reason: string | undefined }> {
  const r = await audit(['verify', '--bundle', file, '--ak', akPem]);
  return { code: r.code, reason: /execgate: (E_[A-Z_]+)/.exec(r.stderr)?.[1] };
}

async function both(dir: string): Promise<[string | undefined, string | undefined]> {
  const db = await verifyDb(dir);
  const bundle = await verifyBundleFile(await exportOf(dir));
  if (db.reason !== undefined) expect(db.code).toBe(7);
  if (bundle.reason !== undefined) expect(bundle.code).toBe(7);
  return [db.reason, bundle.reason];
}

describe('audit verify: an intact log', () => {
  it('verifies on the database (with the TPM counter) and as a bundle; show and --json', async () => {
    const dir = await log(3, 4);
    const r = await audit(['verify', '--state-dir', dir, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, size: 7, checkpoints: 2 });
    expect(await both(dir)).toEqual([undefined, undefined]);
    const strict = await audit(['verify', '--bundle', await exportOf(dir), '--ak', akPem, '--strict']);
    expect([strict.code, strict.stderr]).toEqual([0, '']);
    const s = await audit(['show', '--state-dir', dir, '--json', '--from', '5']);
    const doc = JSON.parse(s.stdout);
    expect(doc.size).toBe(7);
    expect(doc.entries.map((e: { seq: number }) => e.seq)).toEqual([5, 6]);
    expect(doc.entries[0].entry).toMatchObject({ seq: 5, verdict: 'deny', reason: 'E_SIGNATURE' });
    // Nothing new: no checkpoint made.
    const again = await audit(['checkpoint', '--state-dir', dir, '--json']);
    expect(JSON.parse(again.stdout)).toMatchObject({ made: false, size: 7 });
  });
});

describe('audit verify: tamper kinds', () => {
  it('one entry byte changed: E_AUDIT_ENTRY (bundle: ENTRY when malformed, ROOT when still an entry)', async () => {
    const dir = await log(5);
    sql(dir, (db) => {
      const row = db.prepare<{ bytes: Uint8Array }>('SELECT bytes FROM entries WHERE seq = 2').get();
      // Another well-formed entry (pid 1002 → 1003): only the stored leaf gives it away on the database.
      const e = decodeVerdict(Uint8Array.from(row?.bytes ?? []));
      const b = encodeEntry({ ...e, pid: (e.pid ?? 0) + 1 });
      db.prepare('UPDATE entries SET bytes = ? WHERE seq = 2').run(b);
    });
    expect(await both(dir)).toEqual(['E_AUDIT_ENTRY', 'E_AUDIT_ROOT']);
    sql(dir, (db) => {
      db.prepare("UPDATE entries SET bytes = x'ff' WHERE seq = 3").run();
    });
    expect((await verifyBundleFile(await exportOf(dir))).reason).toBe('E_AUDIT_ENTRY');
  });

  it('an entry deleted: E_AUDIT_ROOT inside the log, E_AUDIT_TRUNCATED at its end', async () => {
    const dir = await log(5);
    sql(dir, (db) => db.prepare('DELETE FROM entries WHERE seq = 1').run());
    expect(await both(dir)).toEqual(['E_AUDIT_ROOT', 'E_AUDIT_ROOT']);
    const end = await log(5);
    sql(end, (db) => db.prepare('DELETE FROM entries WHERE seq = 4').run());
    expect(await both(end)).toEqual(['E_AUDIT_TRUNCATED', 'E_AUDIT_TRUNCATED']);
  });

  it('two entries swapped: E_AUDIT_ROOT', async () => {
    const dir = await log(5);
    sql(dir, (db) => {
      const get = db.prepare<{ bytes: Uint8Array; leaf: Uint8Array }>(
        'SELECT bytes, leaf FROM entries WHERE seq = ?',
      );
      const a = get.get(1);
      const b = get.get(3);
      if (a === undefined || b === undefined) throw new Error('missing rows');
      const set = db.prepare('UPDATE entries SET bytes = ?, leaf = ? WHERE seq = ?');
      set.run(b.bytes, b.leaf, 1);
      set.run(a.bytes, a.leaf, 3);
    });
    expect(await both(dir)).toEqual(['E_AUDIT_ROOT', 'E_AUDIT_ROOT']);
  });

  it('the log truncated: E_AUDIT_TRUNCATED', async () => {
    const dir = await log(3, 3);
    sql(dir, (db) => db.prepare('DELETE FROM entries WHERE seq >= 4').run());
    expect(await both(dir)).toEqual(['E_AUDIT_TRUNCATED', 'E_AUDIT_TRUNCATED']);
  });

  it('a checkpoint signature changed: E_AUDIT_CHECKPOINT', async () => {
    const dir = await log(4);
    sql(dir, (db) => {
      const q = db.prepare<Uint8Array>('SELECT quote FROM checkpoints').pluck().get();
      const ev = decodeBundle(Uint8Array.from(q ?? []));
      const sig = Uint8Array.from(ev.signature);
      sig[sig.length - 1] = (sig[sig.length - 1] ?? 0) ^ 1;
      db.prepare('UPDATE checkpoints SET quote = ?').run(encodeBundle({ ...ev, signature: sig }));
    });
    expect(await both(dir)).toEqual(['E_AUDIT_CHECKPOINT', 'E_AUDIT_CHECKPOINT']);
  });

  it("a checkpoint from another TPM's AK: E_AUDIT_CHECKPOINT", async () => {
    const dir = join(work, `log${n++}`);
    await append(dir, 4);
    await checkpoint(dir, other().tcti);
    expect(await both(dir)).toEqual(['E_AUDIT_CHECKPOINT', 'E_AUDIT_CHECKPOINT']);
  });

  it('an older copy of the state directory restored: E_AUDIT_ROLLBACK (the NV counter); bundle: counters out of order', async () => {
    const dir = await log(3);
    const old = join(work, `old${n++}`);
    await cp(dir, old, { recursive: true });
    await append(dir, 2);
    await checkpoint(dir);
    const newer = await exportOf(dir);
    await rm(dir, { recursive: true });
    await cp(old, dir, { recursive: true });
    const v = await verifyDb(dir);
    expect([v.code, v.reason]).toEqual([7, 'E_AUDIT_ROLLBACK']);
    // Nor is the restored copy laundered by a fresh checkpoint.
    await append(dir, 3);
    const r = await audit(['checkpoint', '--state-dir', dir]);
    expect(r.stderr).toMatch(/E_AUDIT_ROLLBACK/);
    // A bundle has no TPM to ask: its counters must strictly increase, checkpoint by checkpoint.
    const items = [...decodeCborSequence(new Uint8Array(await readFile(newer)), { tags: [] })];
    const [header, c1, c2, ...entries] = items.map((i) => i.bytes);
    const swapped = join(work, `swapped${n++}.cbor`);
    await writeFile(swapped, Buffer.concat([header, c2, c1, ...entries] as Uint8Array[]));
    expect(await verifyBundleFile(swapped)).toEqual({ code: 7, reason: 'E_AUDIT_ROLLBACK' });
  });
});

describe('audit prove', () => {
  it('inclusion and consistency proofs verify against the newest checkpoint', async () => {
    const dir = await log(3, 6);
    const p = await audit(['prove', '--state-dir', dir, '--index', '4']);
    expect(p.stderr).toBe('');
    const doc = JSON.parse(p.stdout);
    const body = parseCheckpointBody(doc.checkpoint);
    expect(body.size).toBe(9);
    expect(verifyInclusionProofJson(doc, { size: body.size, root: body.root })).toBe(true);
    expect(verifyInclusionProofJson({ ...doc, index: 5 }, { size: body.size, root: body.root })).toBe(false);
    const c = JSON.parse((await audit(['prove', '--state-dir', dir, '--from-size', '3'])).stdout);
    expect(verifyConsistencyProofJson(c, { to: { size: body.size, root: body.root } })).toBe(true);
  });

  it('works as a process of its own, where no other command has started wasm-core', async () => {
    // In-process, this file's beforeAll has started it; `npm run demo` met the process that had not.
    const dir = await log(2);
    const p = await runProcess(['audit', 'prove', '--state-dir', dir, '--index', '1']);
    expect(p.stderr).toBe('');
    expect(p.code).toBe(0);
    const doc = JSON.parse(p.stdout);
    const body = parseCheckpointBody(doc.checkpoint);
    expect(verifyInclusionProofJson(doc, { size: body.size, root: body.root })).toBe(true);
  });
});

describe('audit: usage', () => {
  it('--bundle needs --ak; prove needs one of --index and --from-size; a missing log is E_AUDIT_STORE', async () => {
    const dir = await log(2);
    const b = await audit(['verify', '--bundle', join(work, 'none.cbor')]);
    expect([b.code, b.stderr]).toEqual([2, expect.stringMatching(/E_USAGE: --bundle needs --ak/)]);
    const p = await audit(['prove', '--state-dir', dir]);
    expect(p.code).toBe(2);
    const m = await audit(['show', '--state-dir', join(work, 'missing')]);
    expect([m.code, m.stderr]).toEqual([2, expect.stringMatching(/E_AUDIT_STORE/)]);
    const h = await cli(['audit', '--help']);
    expect(h.stdout).toMatch(/audit <command>/);
  });
});
