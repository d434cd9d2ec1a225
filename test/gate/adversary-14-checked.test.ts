// SPDX-License-Identifier: Apache-2.0
// Adversary review of the gate (issue 14): attacks that were checked and found refused. They pass as the
// code stood; kept as regression tests: a bus interposer replaying a quote, rewriting PCR values or
// swapping the AK; a replay of an ECDSA artifact re-encoded with the other valid signature (s → n − s);
// EXECGATE_VERDICT naming a real allow of another process tree.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { p256 } from '@noble/curves/nist.js';
import { describe, expect, it } from 'vitest';
import { decodeArtifact } from '../../agent/artifact/artifact.js';
import { encodeCoseSign1 } from '../../agent/artifact/cose.js';
import { cli } from '../cli/helpers.js';
import { upstreamOf, useSwtpm } from '../helpers/swtpm.js';
import { commandCode, startTpmProxy } from '../helpers/tpm-proxy.js';
import { SLOW, useGateHost } from './adversary-14-helpers.js';
import { ran, runProcess } from './gate-host.js';

const swtpm = useSwtpm();
const newHost = useGateHost(swtpm);

const TPM_CC_QUOTE = 0x158;
const TPM_CC_PCR_READ = 0x17e;
const TPM_CC_READ_PUBLIC = 0x173;

describe('adversary 14: checked and refused', () => {
  it(
    'an interposer that replays an old quote, rewrites PCR values or swaps the AK gets a denial',
    async () => {
      const h = await newHost();
      let mode: 'record' | 'replay' | 'pcr' | 'ak' = 'record';
      let oldQuote: Buffer | undefined;
      const proxy = await startTpmProxy(upstreamOf(swtpm()), {
        onResponse: (rsp, cmd) => {
          const cc = commandCode(cmd);
          if (cc === TPM_CC_QUOTE && mode === 'record') oldQuote ??= Buffer.from(rsp);
          if (cc === TPM_CC_QUOTE && mode === 'replay' && oldQuote) return oldQuote;
          if (cc === TPM_CC_PCR_READ && mode === 'pcr') {
            const out = Buffer.from(rsp); // the last PCR value's last byte
            out[out.length - 1] = (out[out.length - 1] ?? 0) ^ 1;
            return out;
          }
          if (cc === TPM_CC_READ_PUBLIC && mode === 'ak' && rsp.readUInt32BE(6) === 0) {
            const out = Buffer.from(rsp); // the last byte of outPublic: another key's unique
            const end = 12 + out.readUInt16BE(10) - 1;
            out[end] = (out[end] ?? 0) ^ 1;
            return out;
          }
          return rsp;
        },
      });
      try {
        const s = await h.script('cmd');
        const exec = (a: string) =>
          runProcess(['--tcti', proxy.tcti, 'exec', '--policy', h.policy, '--artifact', a, '--', s.path]);
        expect((await exec(await h.issue(s.path, join(h.dir, 'a0.cose'), '--uses', '9'))).code).toBe(0);
        expect(oldQuote).toBeDefined();
        for (const m of ['replay', 'pcr', 'ak'] as const) {
          mode = m;
          const r = await exec(await h.issue(s.path, join(h.dir, `${m}.cose`)));
          expect(r.code, m).toBe(126);
          expect(r.stderr, m).toContain('E_TPM_UNAVAILABLE');
        }
        const reasons = (await h.entries()).map((e) => e.reason);
        expect(reasons).toEqual(['OK', 'E_TPM_UNAVAILABLE', 'E_TPM_UNAVAILABLE', 'E_TPM_UNAVAILABLE']);
      } finally {
        await proxy.close();
      }
    },
    SLOW,
  );

  it(
    'an ECDSA artifact re-encoded with s → n − s is the same use: E_REPLAY, not a second run',
    async () => {
      const h = await newHost();
      const key = join(h.dir, 'keys', 'p.key');
      expect((await cli(['key', 'gen', '--alg', 'p256', '--out', key])).code).toBe(0);
      await h.writePolicy({ extra: `[[issuer]]\nname = "p"\nkey = "keys/p.key.pub"\nexe = ["${h.bin}/"]\n` });
      const s = await h.script('cmd');
      const a = join(h.dir, 'p.cose');
      const issued = await cli([
        'artifact',
        'issue',
        '--key',
        key,
        '--issuer',
        'p',
        '--host-identity',
        h.identity,
        '--exe',
        s.path,
        '--ttl',
        '10m',
        '--out',
        a,
      ]);
      expect(issued.code, issued.stderr).toBe(0);
      const cose = decodeArtifact(new Uint8Array(await readFile(a))).cose;
      const n = p256.Point.CURVE().n;
      const sig = Buffer.from(cose.signature);
      const high = (n - BigInt(`0x${sig.subarray(32).toString('hex')}`)).toString(16).padStart(64, '0');
      const malleated = join(h.dir, 'malleated.cose');
      await writeFile(
        malleated,
        encodeCoseSign1({
          ...cose,
          signature: Buffer.concat([sig.subarray(0, 32), Buffer.from(high, 'hex')]),
        }),
      );
      expect((await h.exec(['--artifact', a, '--', s.path])).code).toBe(0);
      const r = await h.exec(['--artifact', malleated, '--', s.path]);
      expect(r.code).toBe(126);
      expect(r.stderr).toContain('E_REPLAY'); // the high-S signature verifies: the replay key holds
    },
    SLOW,
  );

  it(
    'EXECGATE_VERDICT naming a real allow of another process tree is E_LINEAGE',
    async () => {
      const h = await newHost();
      const s = await h.script('cmd');
      const v = join(h.dir, 'verdict.json');
      const first = await h.exec([
        '--verdict',
        v,
        '--artifact',
        await h.issue(s.path, join(h.dir, 'a.cose')),
        '--',
        s.path,
      ]);
      expect(first.code).toBe(0);
      const { audit } = JSON.parse(await readFile(v, 'utf8')) as {
        audit: { seq: number; entryHash: string };
      };
      const other = await h.script('other');
      const r = await h.exec(
        ['--artifact', await h.issue(other.path, join(h.dir, 'b.cose')), '--', other.path],
        {
          env: { EXECGATE_VERDICT: `${audit.seq}:${audit.entryHash}` },
        },
      );
      expect(r.code).toBe(126);
      expect(r.stderr).toContain('E_LINEAGE');
      expect(await ran(other.marker)).toBe(false);
    },
    SLOW,
  );
});
