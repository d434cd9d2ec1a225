import { chmod, chown, mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHAIN_LABEL, chainEntry, decodeArtifact, withUnprotected } from '../../agent/artifact/artifact.js';
import { toHex } from '../../agent/encoding/bytes.js';
import { cli } from '../cli/helpers.js';
import { useSwtpm } from '../helpers/swtpm.js';
import { allowed, denialLine, denied, type GateHost, ran, shareGateHost } from './gate-host.js';

const swtpm = useSwtpm();
let h: GateHost;
/** The kid of the ops issuer key, as entries record it. */
let opsKid: string;

shareGateHost(swtpm, async (host) => {
  h = host;
  opsKid = (await cli(['key', 'id', `${h.issuerKey}.pub`])).stdout.trim();
});

const artifactOf = async (file: string) => decodeArtifact(new Uint8Array(await readFile(file)));
const ctiOf = async (file: string) => toHex((await artifactOf(file)).claims.cti);
const hex = (b: Uint8Array | undefined) => (b === undefined ? undefined : toHex(b));
const now = () => Math.floor(Date.now() / 1000);

describe('E_MISSING', () => {
  it('no --artifact and no [host] artifacts store: nothing runs, the denial is audited', async () => {
    const s = await h.script('missing');
    const e = await denied(h, 'E_MISSING', ['--', s.path], s.marker);
    expect(e.artifact).toBeUndefined();
    expect(e.exe).toBe(s.path);
  });

  it('an --artifact that cannot be read: no such file, a directory', async () => {
    const s = await h.script('unreadable');
    await denied(h, 'E_MISSING', ['--artifact', join(h.dir, 'no-such.cose'), '--', s.path], s.marker);
    const e = await denied(h, 'E_MISSING', ['--artifact', h.bin, '--', s.path], s.marker);
    expect(e.artifact).toBeUndefined();
  });
});

describe('the artifact itself', () => {
  it('E_FORMAT: not an artifact', async () => {
    const s = await h.script('format');
    const f = h.file('format.cose');
    await writeFile(f, 'not CBOR at all\n');
    const e = await denied(h, 'E_FORMAT', ['--artifact', f, '--', s.path], s.marker);
    expect(e.cti).toBeUndefined();
  });

  it('E_SIGNATURE: one flipped signature byte', async () => {
    const s = await h.script('signature');
    const f = await h.issue(s.path);
    const bytes = new Uint8Array(await readFile(f));
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 1;
    await writeFile(f, bytes);
    const e = await denied(h, 'E_SIGNATURE', ['--artifact', f, '--', s.path], s.marker);
    expect(hex(e.cti)).toBe(await ctiOf(f));
  });

  it('E_UNTRUSTED_ISSUER: signed by a key the policy does not name', async () => {
    const s = await h.script('untrusted');
    const f = await h.issueBy(await h.key('stranger'), 'ops', s.path);
    const e = await denied(h, 'E_UNTRUSTED_ISSUER', ['--artifact', f, '--', s.path], s.marker);
    expect(hex(e.cti)).toBe(await ctiOf(f));
  });

  it('E_LINEAGE: a delegated child whose chain was swapped for another root granting the same key', async () => {
    const s = await h.script('lineage');
    const del = await h.key('delegate');
    const grant = ['--delegate-key', `${del}.pub`, '--delegate-depth', '0'];
    const root1 = await h.issue(s.path, ...grant);
    const root2 = await h.issue(s.path, ...grant);
    const child = h.file('child.cose');
    const d = await cli([
      'artifact',
      'delegate',
      '--parent',
      root2,
      '--key',
      del,
      '--issuer',
      'team',
      '--exe',
      s.path,
      '--ttl',
      '5m',
      '--out',
      child,
    ]);
    expect(d.code, d.stderr).toBe(0);
    // The chain is unsigned (only the parent digest binds it): every signature stays valid.
    const swapped = h.file('swapped.cose');
    const c = await artifactOf(child);
    await writeFile(
      swapped,
      withUnprotected(c.cose, new Map([[CHAIN_LABEL, [chainEntry(await artifactOf(root1))]]])),
    );
    await denied(h, 'E_LINEAGE', ['--artifact', swapped, '--', s.path], s.marker);
    // The child as issued runs, recorded with its root's issuer.
    const e = await allowed(h, ['--artifact', child, '--', s.path], s.marker);
    expect(hex(e.issuer)).toBe(opsKid);
    // delegation = false: the issuer may not delegate at all.
    await h.writePolicy({ delegation: false });
    const p = await denied(h, 'E_POLICY', ['--artifact', root1, '--', s.path], s.marker);
    expect(hex(p.issuer)).toBe(opsKid);
  });
});

describe('E_POLICY: what the issuer may authorise', () => {
  it('an executable outside its exe rules', async () => {
    const s = await h.script('outside');
    const f = await h.issue(s.path);
    await h.writePolicy({ exe: [join(h.bin, 'only-this')] });
    const e = await denied(h, 'E_POLICY', ['--artifact', f, '--', s.path], s.marker);
    expect(hex(e.issuer)).toBe(opsKid);
    expect(hex(e.cti)).toBe(await ctiOf(f));
  });

  it('a lifetime over its max_ttl', async () => {
    const s = await h.script('ttl');
    const f = await h.issue(s.path, '--ttl', '2h');
    await denied(h, 'E_POLICY', ['--artifact', f, '--', s.path], s.marker);
    await h.writePolicy({ maxTtl: '3h' });
    await allowed(h, ['--artifact', f, '--', s.path], s.marker);
  });
});

describe('E_APPROVAL', () => {
  it('[[approval]] required = 2: one approval is denied, two run', async () => {
    const s = await h.script('approval');
    const alice = await h.key('alice');
    const bob = await h.key('bob');
    await h.writePolicy({
      extra: `[[approval]]\nexe = ["${h.bin}/"]\napprovers = ["keys/${basename(alice)}.pub", "keys/${basename(bob)}.pub"]\nrequired = 2\n`,
    });
    const f = await h.issue(s.path);
    const approve = async (key: string) => {
      const r = await cli(['artifact', 'approve', f, '--key', key]);
      expect(r.code, r.stderr).toBe(0);
    };
    await approve(alice);
    await denied(h, 'E_APPROVAL', ['--artifact', f, '--', s.path], s.marker);
    await approve(bob);
    await allowed(h, ['--artifact', f, '--', s.path], s.marker);
  });
});

describe('the validity window (clock_skew 30s)', () => {
  it('E_EXPIRED', async () => {
    const s = await h.script('expired');
    const f = await h.issue(s.path, '--not-before', `@${now() - 3600}`, '--not-after', `@${now() - 60}`);
    await denied(h, 'E_EXPIRED', ['--artifact', f, '--', s.path], s.marker);
  });

  it('E_NOT_YET_VALID', async () => {
    const s = await h.script('early');
    const f = await h.issue(s.path, '--not-before', `@${now() + 3600}`, '--ttl', '10m');
    await denied(h, 'E_NOT_YET_VALID', ['--artifact', f, '--', s.path], s.marker);
  });
});

describe('E_REVOKED: a revocation list of the policy', () => {
  it('an artifact whose cti is listed is denied; another of the same issuer runs', async () => {
    const s = await h.script('revoked');
    const f = await h.issue(s.path);
    const other = await h.issue(s.path);
    const list = join(h.dir, 'revoked.cose');
    const r = await cli([
      'revoke',
      '--key',
      h.issuerKey,
      '--issuer',
      'ops',
      '--cti',
      await ctiOf(f),
      '--out',
      list,
    ]);
    expect(r.code, r.stderr).toBe(0);
    await h.writePolicy({ extra: '[revocation]\nlists = ["revoked.cose"]\n' });
    const e = await denied(h, 'E_REVOKED', ['--artifact', f, '--', s.path], s.marker);
    expect(hex(e.cti)).toBe(await ctiOf(f));
    await allowed(h, ['--artifact', other, '--', s.path], s.marker);
  });
});

describe('E_HOST: sub names this host or one of its groups', () => {
  it("another TPM's AK Name, and group:other, are denied; group:web (the host's group) runs", async () => {
    const s = await h.script('host');
    const elsewhere = await h.issue(s.path, '--host', `000b${'cd'.repeat(32)}`);
    const e = await denied(h, 'E_HOST', ['--artifact', elsewhere, '--', s.path], s.marker);
    // Host identity is judged after the fresh quote: the entry records it.
    expect(e.quote?.length).toBe(32);
    const other = await h.issue(s.path, '--group', 'other');
    await denied(h, 'E_HOST', ['--artifact', other, '--', s.path], s.marker);
    const web = await h.issue(s.path, '--group', 'web');
    await allowed(h, ['--artifact', web, '--', s.path], s.marker);
  });
});

describe('E_CONFIG: a policy or state directory the gate cannot trust (not audited: no trusted log)', () => {
  it('a broken policy file denies every execution', async () => {
    const s = await h.script('config');
    const f = await h.issue(s.path);
    await writeFile(h.policy, `${await readFile(h.policy, 'utf8')}\n[host.extra]\nfoo = 1\n`);
    const before = (await h.entries()).length;
    const r = await h.exec(['--artifact', f, '--', s.path]);
    expect(r.stderr).toMatch(denialLine('E_CONFIG'));
    expect(r.code).toBe(126);
    expect(await ran(s.marker)).toBe(false);
    expect((await h.entries()).length).toBe(before);
  });

  it('a state directory owned by another user', async () => {
    const s = await h.script('owner');
    const f = await h.issue(s.path);
    const before = (await h.entries()).length;
    await chown(h.stateDir, 65534, 65534);
    try {
      const r = await h.exec(['--artifact', f, '--', s.path]);
      expect(r.stderr).toMatch(denialLine('E_CONFIG'));
      expect(r.stderr).toMatch(/belongs to uid 65534/);
      expect(r.code).toBe(126);
      expect(await ran(s.marker)).toBe(false);
    } finally {
      await chown(h.stateDir, 0, 0);
    }
    expect((await h.entries()).length).toBe(before);
    // The same artifact was not spent.
    await allowed(h, ['--artifact', f, '--', s.path], s.marker);
  });
});

describe('the artifact store ([host] artifacts) without --artifact', () => {
  it('finds the valid artifact for this executable that expires first, then the next; none left is E_MISSING', async () => {
    const s = await h.script('stored');
    const other = await h.script('other');
    const store = join(h.dir, 'artifacts.d');
    await mkdir(store, { mode: 0o700 });
    const later = await h.issue(s.path, '--ttl', '20m');
    const sooner = await h.issue(s.path, '--ttl', '5m');
    const expired = await h.issue(
      s.path,
      '--not-before',
      `@${now() - 3600}`,
      '--not-after',
      `@${now() - 60}`,
    );
    const elsewhere = await h.issue(s.path, '--host', `000b${'cd'.repeat(32)}`);
    const otherExe = await h.issue(other.path, '--ttl', '1m');
    for (const [name, f] of [
      ['a-later.cose', later],
      ['b-sooner.cose', sooner],
      ['c-expired.cose', expired],
      ['d-elsewhere.cose', elsewhere],
      ['e-other.cose', otherExe],
    ] as const)
      await writeFile(join(store, name), await readFile(f));
    await writeFile(join(store, 'f-garbage.cose'), 'not an artifact');
    await h.writePolicy({ host: 'artifacts = "artifacts.d"' });
    const first = await allowed(h, ['--', s.path], s.marker);
    expect(hex(first.cti)).toBe(await ctiOf(sooner));
    const second = await allowed(h, ['--', s.path], s.marker);
    expect(hex(second.cti)).toBe(await ctiOf(later));
    const none = await denied(h, 'E_MISSING', ['--', s.path], s.marker, { message: /artifacts\.d/ });
    expect(none.cti).toBeUndefined();
  });

  it("a store others may write to (where they could evict the operator's artifacts) is E_CONFIG", async () => {
    const s = await h.script('openstore');
    const store = join(h.dir, 'open.d');
    await mkdir(store, { mode: 0o700 });
    await writeFile(join(store, 'a.cose'), await readFile(await h.issue(s.path)));
    await chmod(store, 0o777);
    await h.writePolicy({ host: 'artifacts = "open.d"' });
    await denied(h, 'E_CONFIG', ['--', s.path], s.marker, { message: /artifact store: .*open\.d/ });
    await chmod(store, 0o700);
    await allowed(h, ['--', s.path], s.marker);
  });

  it('a store directory that does not exist is E_MISSING naming it', async () => {
    const s = await h.script('nostore');
    await h.writePolicy({ host: 'artifacts = "no-such.d"' });
    await denied(h, 'E_MISSING', ['--', s.path], s.marker, {
      message: /cannot read the artifact store .*no-such\.d/,
    });
  });
});
