// SPDX-License-Identifier: Apache-2.0
// Issue 14: `host init` pins the AK in host.json (handle, TPMT_PUBLIC, Name; RSA and ECC), with tpm2-tools
// as the oracle for what the TPM holds; --force replaces the pin; a host.json whose AK entry was edited
// is refused; a key swapped into the pinned handle after init is refused by withPinnedAk (E_AK_MISMATCH)
// and by the commands that use the pin (host init, host identity, audit checkpoint), and audit
// checkpoints are quotes by the pinned AK. `host init --policy` takes the state directory, the TCTI and
// the audit counter's index from the host policy, flags winning.
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AkError } from '../../agent/attest/ak.js';
import { hostInit } from '../../agent/attest/identity.js';
import { spkiOfPublic, spkiToPem } from '../../agent/attest/quote.js';
import { AuditStore } from '../../agent/audit/store.js';
import { EXIT } from '../../agent/cli/exit.js';
import { readHostState, withPinnedAk } from '../../agent/cli/host-state.js';
import { initHashing } from '../../agent/crypto/hash.js';
import { fromHex, toHex } from '../../agent/encoding/bytes.js';
import { TPM_ALG } from '../../agent/tpm/constants.js';
import { marshal, unmarshal } from '../../agent/tpm/schema.js';
import { TPMT_PUBLIC } from '../../agent/tpm/structures.js';
import { useSwtpm } from '../helpers/swtpm.js';
import { openTpm, tpm2, withTempDir } from '../tpm/swtpm-kit.js';
import { cli } from './helpers.js';

const swtpm = useSwtpm();
const tcti = () => ['--tcti', swtpm().tcti];

const hostJson = async (state: string) => JSON.parse(await readFile(join(state, 'host.json'), 'utf8'));

/** What the TPM holds at `handle`, as tpm2-tools reads it: TPMT_PUBLIC (the TPM2B's body) and Name. */
async function tpmHolds(handle: string, dir: string): Promise<{ public: string; name: string }> {
  await tpm2(swtpm(), 'tpm2_readpublic', [
    '-c',
    handle,
    '-o',
    join(dir, 'pub.bin'),
    '-n',
    join(dir, 'name.bin'),
  ]);
  return {
    public: (await readFile(join(dir, 'pub.bin'))).subarray(2).toString('hex'),
    name: (await readFile(join(dir, 'name.bin'))).toString('hex'),
  };
}

/** Another AK at `handle`, made by our client behind host.json's back (evict, create, persist). */
async function swapAk(handle: number, akAlg: 'rsa' | 'ecc'): Promise<void> {
  const tpm = openTpm(swtpm());
  try {
    await hostInit(tpm, { akAlg, akHandle: handle, force: true });
  } finally {
    await tpm.close();
  }
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'no error';
  } catch (e) {
    return e instanceof AkError ? e.code : String(e);
  }
}

describe('host init pins the AK in host.json', () => {
  it('pins the AK it made, RSA and ECC (tpm2_readpublic agrees); a second init keeps the pin; --force replaces it', async () => {
    await withTempDir(async (dir) => {
      for (const [alg, handle, type] of [
        ['rsa', '0x81010030', TPM_ALG.RSA],
        ['ecc', '0x81010031', TPM_ALG.ECC],
      ] as const) {
        const state = join(dir, alg);
        const at = ['--ak-handle', handle, '--state-dir', state];
        const r = await cli([...tcti(), 'host', 'init', ...at, '--ak-alg', alg, '--json']);
        expect(r.stderr).toBe('');
        const doc = JSON.parse(r.stdout);
        expect(doc.akPinned).toBe(true);
        const pin = (await hostJson(state)).ak;
        expect(Object.keys(pin)).toEqual(['handle', 'public', 'name']);
        expect(pin).toEqual({ handle, ...(await tpmHolds(handle, dir)) });
        expect(pin.name).toBe(doc.akName);
        expect(unmarshal(TPMT_PUBLIC, fromHex(pin.public)).type).toBe(type);

        const before = await stat(join(state, 'host.json'));
        expect((await cli([...tcti(), 'host', 'init', ...at])).code).toBe(EXIT.OK);
        expect((await stat(join(state, 'host.json'))).mtimeMs).toBe(before.mtimeMs); // nothing rewritten

        const forced = JSON.parse(
          (await cli([...tcti(), 'host', 'init', ...at, '--force', '--json'])).stdout,
        );
        const repinned = await hostJson(state);
        expect(repinned.ak.name).toBe(forced.akName);
        expect(repinned.ak.name).not.toBe(pin.name);
        expect(repinned.ak).toEqual({ handle, ...(await tpmHolds(handle, dir)) });
        expect(repinned.ek).toBeDefined();
      }
    });
  });

  it('--ak-save pins no AK and leaves a pin made before as it was', async () => {
    await withTempDir(async (dir) => {
      const state = join(dir, 'state');
      const saved = await cli([
        ...tcti(),
        'host',
        'init',
        '--ak-save',
        join(dir, 'a'),
        '--state-dir',
        state,
        '--json',
      ]);
      expect(saved.stderr).toBe('');
      expect(JSON.parse(saved.stdout).akPinned).toBe(false);
      expect((await hostJson(state)).ak).toBeUndefined();
      expect(
        await codeOf(
          readHostState(state).then((s) => withPinnedAk(openTpm(swtpm()), s, state, async () => 0)),
        ),
      ).toBe('E_AK_MISSING');

      expect(
        (await cli([...tcti(), 'host', 'init', '--ak-handle', '0x81010032', '--state-dir', state])).code,
      ).toBe(EXIT.OK);
      const pin = (await hostJson(state)).ak;
      expect(pin.handle).toBe('0x81010032');
      await cli([...tcti(), 'host', 'init', '--ak-save', join(dir, 'b'), '--state-dir', state]);
      expect((await hostJson(state)).ak).toEqual(pin);
    });
  });

  it('a host.json whose AK entry was edited is refused (exit 2) before the TPM is asked', async () => {
    await withTempDir(async (dir) => {
      const state = join(dir, 'state');
      const at = ['--ak-handle', '0x81010033', '--state-dir', state];
      expect((await cli([...tcti(), 'host', 'init', ...at])).code).toBe(EXIT.OK);
      const good = await hostJson(state);
      const pub = good.ak.public as string;
      const ekPin = Object.values(good.ek)[0] as { public: string; name: string };
      const cases: Record<string, object> = {
        // One byte of the key changed: its Name is no longer the pinned Name.
        '"ak.name" is not its Name': { public: `${pub.slice(0, -2)}${pub.endsWith('00') ? '01' : '00'}` },
        '"ak.public" is not a TPMT_PUBLIC': { public: `${pub}00` },
        'not an owner persistent handle': { handle: '0x01800100' },
        'is not a handle like': { handle: 2164326402 },
        // The EK, with its own Name: a well-formed public area that is no AK.
        'not a restricted signing key': { public: ekPin.public, name: ekPin.name },
      };
      for (const [why, edit] of Object.entries(cases)) {
        await writeFile(join(state, 'host.json'), JSON.stringify({ ...good, ak: { ...good.ak, ...edit } }));
        for (const argv of [
          [...tcti(), 'host', 'identity', ...at],
          ['--tcti', 'swtpm:host=127.0.0.1,port=1', 'host', 'init', ...at],
        ]) {
          const r = await cli(argv);
          expect(r.code, `${why}: ${argv.join(' ')}`).toBe(EXIT.USAGE);
          expect(r.stderr, why).toContain('host.json is not a host state file');
          expect(r.stderr, why).toContain(why);
        }
      }
    });
  });

  it('a key swapped into the pinned handle is refused: withPinnedAk (E_AK_MISMATCH), host identity, host init and audit checkpoint (exit 5), until init --force', async () => {
    await initHashing();
    await withTempDir(async (dir) => {
      const state = join(dir, 'state');
      const handle = 0x81010034;
      const at = ['--ak-handle', '0x81010034', '--state-dir', state];
      expect((await cli([...tcti(), 'host', 'init', ...at])).code).toBe(EXIT.OK);
      const pinned = await readHostState(state);
      const tpm = openTpm(swtpm());
      try {
        // The pinned AK: fn gets the pinned public area at the pinned handle.
        const seen = await withPinnedAk(tpm, pinned, state, async (ak) => ak);
        expect(seen.handle).toBe(handle);
        expect(toHex(marshal(TPMT_PUBLIC, seen.public))).toBe(pinned?.ak?.public);

        await swapAk(handle, 'ecc');
        let called = false;
        expect(
          await codeOf(
            withPinnedAk(tpm, pinned, state, async () => {
              called = true;
            }),
          ),
        ).toBe('E_AK_MISMATCH');
        expect(called).toBe(false);
      } finally {
        await tpm.close();
      }
      const before = await readFile(join(state, 'host.json'), 'utf8');
      for (const argv of [
        ['host', 'identity', ...at],
        ['host', 'init', ...at],
        ['audit', 'checkpoint', '--state-dir', state],
      ]) {
        const r = await cli([...tcti(), ...argv]);
        expect(r.stderr, argv.join(' ')).toMatch(/^execgate: E_AK_MISMATCH: .*host init --force/);
        expect(r.code, argv.join(' ')).toBe(EXIT.TPM_PROTOCOL);
      }
      expect(await readFile(join(state, 'host.json'), 'utf8')).toBe(before);

      // Evicted, with nothing in its place: E_AK_MISSING, and init without --force does not re-pin.
      await tpm2(swtpm(), 'tpm2_evictcontrol', ['-C', 'o', '-c', '0x81010034']);
      const gone = await cli([...tcti(), 'host', 'init', ...at]);
      expect(gone.stderr).toMatch(/^execgate: E_AK_MISSING: .*host init --force/);
      expect(await readFile(join(state, 'host.json'), 'utf8')).toBe(before);

      expect((await cli([...tcti(), 'host', 'init', ...at, '--force'])).code).toBe(EXIT.OK);
      const repinned = await readHostState(state);
      expect(repinned?.ak?.name).not.toBe(pinned?.ak?.name);
      const again = openTpm(swtpm());
      try {
        expect(await withPinnedAk(again, repinned, state, async (ak) => ak.handle)).toBe(handle);
      } finally {
        await again.close();
      }
    });
  });

  it('no host.json, or one from before AK pins (EK only): E_AK_MISSING naming host init', async () => {
    await withTempDir(async (dir) => {
      const tpm = openTpm(swtpm());
      try {
        const none = withPinnedAk(
          tpm,
          await readHostState(join(dir, 'none')),
          join(dir, 'none'),
          async () => 0,
        );
        await expect(none).rejects.toThrow(/no AK is pinned in .*none\/host\.json: run "execgate host init"/);
        await writeFile(join(dir, 'host.json'), JSON.stringify({ version: 1, ek: {} }));
        const old = await readHostState(dir);
        expect(old).toEqual({ version: 1, ek: {} });
        expect(await codeOf(withPinnedAk(tpm, old, dir, async () => 0))).toBe('E_AK_MISSING');
      } finally {
        await tpm.close();
      }
    });
  });
});

describe('audit commands use the pinned AK', () => {
  it('audit checkpoint quotes with the AK pinned in the state directory, not the one at 0x81010002', async () => {
    await initHashing();
    await withTempDir(async (dir) => {
      const state = join(dir, 'state');
      // Another AK at the default handle, pinned elsewhere: the one `execgate quote` would find.
      expect((await cli([...tcti(), 'host', 'init', '--state-dir', join(dir, 'other')])).code).toBe(EXIT.OK);
      expect(
        (await cli([...tcti(), 'host', 'init', '--ak-handle', '0x81010035', '--state-dir', state])).code,
      ).toBe(EXIT.OK);
      const pemOf = async (name: string, handle: string) => {
        const tpmPub = await tpmHolds(handle, dir);
        const file = join(dir, `${name}.pem`);
        await writeFile(file, spkiToPem(spkiOfPublic(unmarshal(TPMT_PUBLIC, fromHex(tpmPub.public)))));
        return file;
      };
      const pinnedPem = await pemOf('pinned', '0x81010035');
      const defaultPem = await pemOf('default', '0x81010002');

      const store = await AuditStore.open(state);
      try {
        store.append({ time: 1_765_000_000_000, verdict: 'deny', reason: 'E_SIGNATURE', pid: 1 });
      } finally {
        store.close();
      }
      const made = await cli([...tcti(), 'audit', 'checkpoint', '--state-dir', state]);
      expect(made.stderr).toBe('');
      expect(made.code).toBe(EXIT.OK);

      const offline = (pem: string) =>
        cli(['audit', 'verify', '--state-dir', state, '--offline', '--ak', pem, '--json']);
      expect((await offline(pinnedPem)).code).toBe(EXIT.OK);
      const wrong = await offline(defaultPem);
      expect(wrong.code).toBe(EXIT.EVIDENCE_INVALID);
      expect(wrong.stderr).toContain('E_AUDIT_CHECKPOINT');
      // On the host, without --ak: the pinned AK's key, and its certification of the counter.
      expect((await cli([...tcti(), 'audit', 'verify', '--state-dir', state])).code).toBe(EXIT.OK);
      // --ak-handle still names a key explicitly: the default handle's AK did not sign the checkpoint.
      const explicit = await cli([
        ...tcti(),
        'audit',
        'verify',
        '--state-dir',
        state,
        '--ak-handle',
        '0x81010002',
      ]);
      expect(explicit.code).toBe(EXIT.EVIDENCE_INVALID);

      const out = join(dir, 'log.bundle');
      expect((await cli([...tcti(), 'audit', 'export', '--state-dir', state, '--out', out])).code).toBe(
        EXIT.OK,
      );
      expect((await cli(['audit', 'verify', '--bundle', out, '--ak', pinnedPem])).code).toBe(EXIT.OK);
    });
  });
});

describe('host init --policy', () => {
  it('takes [host] state_dir and tcti and [audit] nv_counter_index from the policy; flags and $EXECGATE_TCTI win', async () => {
    await withTempDir(async (dir) => {
      const policy = join(dir, 'policy.toml');
      const write = (tctiLine: string) =>
        writeFile(
          policy,
          `[host]\nstate_dir = "state"\n${tctiLine}\n\n[audit]\nnv_counter_index = "0x01500193"\n`,
        );
      await write(`tcti = "${swtpm().tcti}"`);
      const r = await cli(['host', 'init', '--policy', policy, '--ak-handle', '0x81010036', '--json']);
      expect(r.stderr).toBe('');
      expect(JSON.parse(r.stdout).auditCounter.index).toBe('0x01500193');
      expect((await hostJson(join(dir, 'state'))).ak.handle).toBe('0x81010036');
      const id = await cli(['host', 'identity', '--policy', policy, '--ak-handle', '0x81010036', '--json']);
      expect(JSON.parse(id.stdout).akName).toBe(JSON.parse(r.stdout).akName);
      // The policy's TPM keeps the global flags: --tpm-deadline still bounds it.
      const late = await cli(['--tpm-deadline', '0.001', 'host', 'identity', '--policy', policy]);
      expect(late.stderr).toContain('E_TPM_TIMEOUT');

      const flags = await cli([
        'host',
        'init',
        '--policy',
        policy,
        '--ak-handle',
        '0x81010036',
        '--nv-counter-index',
        '0x01500194',
        '--state-dir',
        join(dir, 'flagged'),
        '--json',
      ]);
      expect(flags.stderr).toBe('');
      expect(JSON.parse(flags.stdout).auditCounter.index).toBe('0x01500194');
      expect((await hostJson(join(dir, 'flagged'))).ak.name).toBe(JSON.parse(r.stdout).akName);

      // The policy's TCTI goes nowhere; $EXECGATE_TCTI (and --tcti) stand before it.
      await write('tcti = "swtpm:host=127.0.0.1,port=1"');
      const viaPolicy = await cli(['host', 'identity', '--policy', policy, '--ak-handle', '0x81010036']);
      expect(viaPolicy.code).toBe(EXIT.TPM_UNAVAILABLE);
      const env = await cli(['host', 'identity', '--policy', policy, '--ak-handle', '0x81010036'], {
        EXECGATE_TCTI: swtpm().tcti,
      });
      expect(env.stderr).toBe('');
      expect(env.code).toBe(EXIT.OK);
    });
  });
});
