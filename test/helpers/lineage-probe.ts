// SPDX-License-Identifier: Apache-2.0
// Asks isAncestor from a real descendant, for test/gate/lineage.test.ts. Run as
//   node --import tsx test/helpers/lineage-probe.ts '[[PID, "STARTTIME"], …]'
// and prints one JSON array of booleans, one per pair.
import { isAncestor } from '../../agent/gate/lineage.js';

const pairs = JSON.parse(process.argv[2] ?? '[]') as [number, string][];
const answers: boolean[] = [];
for (const [pid, start] of pairs) answers.push(await isAncestor(pid, BigInt(start)));
process.stdout.write(`${JSON.stringify(answers)}\n`);
