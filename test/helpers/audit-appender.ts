// SPDX-License-Identifier: Apache-2.0
// A child process that appends audit entries and reports each one whose append returned, for the crash
// and concurrency tests (test/audit/crash.test.ts, concurrent.test.ts and their slow versions). Run as
//   node <this file bundled by audit-children.ts> '{"dir": …, "until": N | "count": N, …}'
// It opens the store, writes "ready", optionally waits for one line on stdin (so that several children
// start appending at the same moment), then appends until the log holds `until` entries or it has made
// `count` appends. Each returned append is reported as one line, "SEQ -" for a plain append, "SEQ a" or
// "SEQ d" for a verdict that consumed a use of `cti` (allowed) or found none left (denied). Lines are
// written with writeSync on fd 1, so a line the test reads is one whose append had returned before the
// process could be killed.
import { randomBytes } from 'node:crypto';
import { readSync, writeSync } from 'node:fs';
import { AuditStore } from '../../agent/audit/store.js';
import { fromHex } from '../../agent/encoding/bytes.js';

interface Options {
  readonly dir: string;
  readonly until?: number;
  readonly count?: number;
  readonly waitGo?: boolean;
  /** Every `verdictEvery`-th append is a verdict consuming a use of `cti` (hex), which allows `uses`. */
  readonly cti?: string;
  readonly uses?: number;
  readonly verdictEvery?: number;
}

function writeLine(line: string): void {
  const buf = Buffer.from(`${line}\n`);
  let off = 0;
  while (off < buf.length) {
    try {
      off += writeSync(1, buf, off);
    } catch (e) {
      // A non-blocking pipe that is full: wait for the reader.
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
    }
  }
}

const opts = JSON.parse(process.argv[2] ?? '{}') as Options;
const store = await AuditStore.open(opts.dir);
writeLine('ready');
if (opts.waitGo) readSync(0, Buffer.alloc(16));

const cti = opts.cti === undefined ? undefined : fromHex(opts.cti);
const every = opts.verdictEvery ?? 0;
const exe = '/usr/local/bin/deploy-some-service';
for (let i = 0; opts.count === undefined || i < opts.count; i++) {
  const time = Date.now();
  // A realistic entry: about 250 bytes with digests that differ from entry to entry.
  const entry = {
    time,
    verdict: 'allow',
    reason: 'OK',
    artifact: randomBytes(32),
    exe,
    exeSha256: randomBytes(32),
    argvSha256: randomBytes(32),
    uid: 0,
    pid: process.pid,
    mode: 'enforce',
  } as const;
  if (cti !== undefined && every > 0 && i % every === 0) {
    const r = store.appendVerdict({
      consume: { cti, uses: opts.uses ?? 1, exp: Math.floor(time / 1000) + 3600 },
      allow: { ...entry, cti },
      deny: { ...entry, cti, verdict: 'deny', reason: 'E_REPLAY' },
    });
    writeLine(`${r.seq} ${r.consumed ? 'a' : 'd'}`);
    if (opts.until !== undefined && r.seq + 1 >= opts.until) break;
  } else {
    const r = store.append(entry);
    writeLine(`${r.seq} -`);
    if (opts.until !== undefined && r.seq + 1 >= opts.until) break;
  }
}
store.close();
