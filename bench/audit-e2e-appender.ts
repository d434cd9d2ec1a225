// SPDX-License-Identifier: Apache-2.0
/**
 * One of bench/audit-e2e.bench.ts's concurrent appenders, appending as an `execgate exec` process will:
 * one transaction per entry, then (with `checkpoints`) `checkpointIfDue` with the [audit] schedule. The
 * TPM is opened only when a checkpoint is due and closed right after (swtpm serves one connection at a
 * time); of several processes that find one due, the first makes it and the others find it made under
 * the write lock.
 *   node --import tsx bench/audit-e2e-appender.ts '{"dir": …, "tcti": …, "count": N, "checkpoints": true}'
 * Prints "ready", waits for a line on stdin, appends, then prints {"made": checkpoints it made}.
 */
import { readSync } from 'node:fs';
import { checkpointDue, checkpointIfDue } from '../agent/audit/log.js';
import { AuditStore } from '../agent/audit/store.js';
import { NV_INDEX, realisticEntry, SCHEDULE, withHostAk } from './audit-e2e.bench.js';

const { dir, tcti, count, checkpoints } = JSON.parse(process.argv[2] ?? '{}') as {
  dir: string;
  tcti: string;
  count: number;
  checkpoints: boolean;
};
const store = await AuditStore.open(dir);
process.stdout.write('ready\n');
readSync(0, Buffer.alloc(16));
let made = 0;
for (let i = 0; i < count; i++) {
  store.append(realisticEntry(i));
  if (!checkpoints || !checkpointDue(store, SCHEDULE)) continue;
  const r = await withHostAk(tcti, (tpm, ak) =>
    checkpointIfDue(store, tpm, ak, { nvIndex: NV_INDEX, schedule: SCHEDULE }),
  );
  if (r.made) made++;
}
store.close();
process.stdout.write(`${JSON.stringify({ made })}\n`);
