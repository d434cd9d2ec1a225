// SPDX-License-Identifier: Apache-2.0
// Adversary review of the gate (issue 14): the replay counter against another signer's artifact.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeArtifact } from '../../agent/artifact/artifact.js';
import { parseSigningKey } from '../../agent/crypto/keys.js';
import { cli } from '../cli/helpers.js';
import { forgeRoot } from '../helpers/artifact-forge.js';
import { useSwtpm } from '../helpers/swtpm.js';
import { SLOW, sha256File, useGateHost } from './adversary-14-helpers.js';

const newHost = useGateHost(useSwtpm());

describe('adversary 14: replay', () => {
  it(
    "another issuer's artifact with the same cti does not refill a single-use artifact's uses",
    async () => {
      const h = await newHost();
      // A second, narrow issuer: it may authorise only bin/ci-tool.
      const ciKey = join(h.dir, 'keys', 'ci.key');
      expect((await cli(['key', 'gen', '--alg', 'ed25519', '--out', ciKey])).code).toBe(0);
      const ciTool = await h.script('ci-tool');
      await h.writePolicy({
        extra: `[[issuer]]\nname = "ci"\nkey = "keys/ci.key.pub"\nexe = ["${ciTool.path}"]\n`,
      });
      // ops issues ONE use of bin/reboot; the ci key's holder has seen it (a cti is no secret).
      const reboot = await h.script('reboot');
      const once = await h.issue(reboot.path, join(h.dir, 'reboot.cose'));
      const cti = decodeArtifact(new Uint8Array(await readFile(once))).claims.cti;
      // ci signs an artifact of its own, for its own tool, with that cti and 1000 uses, and runs it first.
      const now = Math.floor(Date.now() / 1000);
      const forged = forgeRoot(
        {
          iss: 'ci',
          sub: h.akName,
          iat: now,
          exp: now + 600,
          cti,
          scope: { exe: ciTool.path, sha256: await sha256File(ciTool.path), argv: [], uses: 1000 },
        },
        parseSigningKey(await readFile(ciKey)),
      );
      const ciArt = join(h.dir, 'ci.cose');
      await writeFile(ciArt, forged);
      expect((await h.exec(['--artifact', ciArt, '--', ciTool.path])).code).toBe(0);
      // The single-use artifact runs once, and never again.
      expect((await h.exec(['--artifact', once, '--', reboot.path])).code).toBe(0);
      const again = await h.exec(['--artifact', once, '--', reboot.path]);
      expect(again.code).toBe(126);
      expect(again.stderr).toContain('E_REPLAY');
      expect((await h.entries()).map((e) => e.reason)).toEqual(['OK', 'OK', 'E_REPLAY']);
    },
    SLOW,
  );
});
