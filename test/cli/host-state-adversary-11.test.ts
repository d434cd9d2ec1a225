// SPDX-License-Identifier: Apache-2.0
// Adversary review 11: host.json is the trust anchor of every salted session (the pinned EK), but it was
// read wherever the state directory pointed, through links, whoever owned it: a local user who made the
// state directory (a --state-dir or EXECGATE_STATE_DIR under /tmp, say) planted a pin of its own key,
// marked "ek-certificate", and an interposer reporting that key then got every salt. A FIFO there hung
// the command before its TPM deadline started. host.json is now read as the writer writes it: its
// directory (and those above) root's or ours, not a link, not writable by others unless sticky; the file
// not a link, a regular file, root's or ours, writable by no one else (E_FILE_UNSAFE, exit 2). An empty
// EXECGATE_STATE_DIR is unset (the default), as an empty EXECGATE_TCTI is, not the current directory.
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, chown, mkdir, open, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ekTemplate } from '../../agent/attest/ek.js';
import { EXIT } from '../../agent/cli/exit.js';
import { DEFAULT_STATE_DIR, stateDirOf } from '../../agent/cli/host-state.js';
import { toHex } from '../../agent/encoding/bytes.js';
import { objectName } from '../../agent/tpm/names.js';
import { marshal } from '../../agent/tpm/schema.js';
import { TPMT_PUBLIC } from '../../agent/tpm/structures.js';
import { useSwtpm } from '../helpers/swtpm.js';
import { startTpmProxy, stealRsaSalts, swapEkOnReadPublic, type TpmProxy } from '../helpers/tpm-proxy.js';
import { withTempDir } from '../tpm/swtpm-kit.js';
import { cli } from './helpers.js';

const NOBODY = 65534;
const swtpm = useSwtpm({ ek: true });
let proxy: TpmProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});

const attacker = generateKeyPairSync('rsa', { modulusLength: 2048 });
const attackerN = new Uint8Array(
  Buffer.from(attacker.publicKey.export({ format: 'jwk' }).n ?? '', 'base64url'),
);

/** A host.json pinning the attacker's key as the RSA EK, claimed certified. */
function plantedPin(): string {
  const pub = { ...ekTemplate('rsa2048'), unique: attackerN } as TPMT_PUBLIC;
  const ek = {
    public: toHex(marshal(TPMT_PUBLIC, pub)),
    name: toHex(objectName(pub)),
    trust: 'ek-certificate',
  };
  return JSON.stringify({ version: 1, ek: { rsa2048: ek } });
}

/** `tpm random --encrypt` with `stateDir`, through a proxy that reports the attacker's key as the EK. */
async function randomThroughInterposer(stateDir: string) {
  const { host, port, ctrlPort } = swtpm();
  if (host === undefined || port === undefined || ctrlPort === undefined) throw new Error('not tcp');
  const stolen: Buffer[] = [];
  proxy = await startTpmProxy(
    { host, port, ctrlPort },
    { onCommand: stealRsaSalts(attacker.privateKey, stolen), onResponse: swapEkOnReadPublic(attackerN) },
  );
  const r = await cli(['--tcti', proxy.tcti, 'tpm', 'random', '16', '--encrypt', '--state-dir', stateDir]);
  const sent = proxy.commands.length;
  await proxy.close();
  proxy = undefined;
  return { ...r, stolen, sent };
}

async function nobodyOwns(path: string, mode: number): Promise<void> {
  await chown(path, NOBODY, NOBODY);
  await chmod(path, mode);
}

describe('host.json is believed only where no one else could have written it', () => {
  it('a pin planted by another user (its directory, its file, a link to it, a group-writable file) is refused before the TPM is asked', async () => {
    await withTempDir(async (dir) => {
      const cases: Record<string, string> = {};

      // The local user's own state directory and pin (e.g. it created /tmp/execgate before root did).
      const theirs = join(dir, 'theirs');
      await mkdir(theirs);
      await writeFile(join(theirs, 'host.json'), plantedPin());
      await nobodyOwns(join(theirs, 'host.json'), 0o644);
      await nobodyOwns(theirs, 0o755);
      cases['directory and file of another user'] = theirs;

      // A directory of ours holding a file of theirs.
      const file = join(dir, 'file');
      await mkdir(file);
      await writeFile(join(file, 'host.json'), plantedPin());
      await nobodyOwns(join(file, 'host.json'), 0o644);
      cases['file of another user'] = file;

      // Ours, but anyone may rewrite it.
      const open666 = join(dir, 'open666');
      await mkdir(open666);
      await writeFile(join(open666, 'host.json'), plantedPin());
      await chmod(join(open666, 'host.json'), 0o666);
      cases['file writable by others'] = open666;

      // A link in our directory to their file.
      const linked = join(dir, 'linked');
      await mkdir(linked);
      await symlink(join(theirs, 'host.json'), join(linked, 'host.json'));
      cases['host.json a symbolic link'] = linked;

      // The state directory a link to theirs.
      await symlink(theirs, join(dir, 'dirlink'));
      cases['state directory a symbolic link'] = join(dir, 'dirlink');

      // Ours, but anyone may create and rename entries in it.
      const shared = join(dir, 'shared');
      await mkdir(shared);
      await writeFile(join(shared, 'host.json'), plantedPin());
      await chmod(shared, 0o777);
      cases['directory writable by others, not sticky'] = shared;

      for (const [what, stateDir] of Object.entries(cases)) {
        const r = await randomThroughInterposer(stateDir);
        expect(r.stolen, `${what}: a session salted to the planted key`).toEqual([]);
        expect(r.stdout, what).toBe('');
        expect(r.stderr, what).toMatch(/^execgate: E_FILE_UNSAFE: /);
        expect(r.code, what).toBe(EXIT.USAGE);
        expect(r.sent, `${what}: commands sent`).toBe(0);
      }
    });
  });

  it('a genuine pin of ours is still used (the interposer is refused with E_EK_MISMATCH)', async () => {
    await withTempDir(async (dir) => {
      const state = join(dir, 'state');
      const init = await cli(['--tcti', swtpm().tcti, 'host', 'init', '--state-dir', state]);
      expect(init.code, init.stderr).toBe(EXIT.OK);
      const direct = await cli([
        '--tcti',
        swtpm().tcti,
        'tpm',
        'random',
        '8',
        '--encrypt',
        '--state-dir',
        state,
      ]);
      expect(direct.stderr).toBe('');
      expect(direct.code).toBe(EXIT.OK);
      const r = await randomThroughInterposer(state);
      expect(r.stolen).toEqual([]);
      expect(r.stderr).toMatch(/^execgate: E_EK_MISMATCH: /);
    });
  });

  it('a FIFO at host.json is refused at once, not waited on', async () => {
    await withTempDir(async (dir) => {
      const state = join(dir, 'state');
      await mkdir(state);
      const fifo = join(state, 'host.json');
      execFileSync('mkfifo', [fifo]);
      const timedOut = Symbol('timed out');
      let timer: ReturnType<typeof setTimeout> | undefined;
      const result = await Promise.race([
        cli(['--tcti', swtpm().tcti, 'host', 'identity', '--state-dir', state]),
        new Promise<typeof timedOut>((resolve) => {
          timer = setTimeout(() => resolve(timedOut), 5000);
        }),
      ]);
      clearTimeout(timer);
      if (result === timedOut) {
        // Release the blocked open (a writer that closes at once) before failing.
        const w = await open(fifo, constants.O_WRONLY | constants.O_NONBLOCK).catch(() => undefined);
        await w?.close();
      }
      expect(result, 'execgate blocked opening the FIFO').not.toBe(timedOut);
      if (result === timedOut) return;
      expect(result.stderr).toMatch(/^execgate: E_FILE_UNSAFE: .*not a regular file/);
      expect(result.code).toBe(EXIT.USAGE);
    });
  });

  it('an empty EXECGATE_STATE_DIR is unset (the default directory), not the current directory', () => {
    expect(stateDirOf({ EXECGATE_STATE_DIR: '' })).toBe(DEFAULT_STATE_DIR);
    expect(stateDirOf({ EXECGATE_STATE_DIR: '/srv/state' })).toBe('/srv/state');
    expect(stateDirOf({ EXECGATE_STATE_DIR: '/srv/state' }, '/flag')).toBe('/flag');
  });
});
