// SPDX-License-Identifier: Apache-2.0
// What `execgate exec` does once a command is allowed, alone, for test/gate/run.test.ts: open and judge
// the executable, run it with our stdio and signals forwarded, and end as it ended. Run as
//   node --import tsx test/helpers/gate-runner.ts CMD ARGS…
// A refusal prints "denied CODE: message" on stderr and exits 126, as the gate would.
import { exitLikeChild } from '../../agent/cli/child-exit.js';
import { GateError } from '../../agent/gate/errors.js';
import { openExecutable } from '../../agent/gate/executable.js';
import { runOpened } from '../../agent/gate/run.js';

const argv = process.argv.slice(2);
const [command] = argv;
if (command === undefined) throw new Error('usage: gate-runner.ts CMD ARGS…');
try {
  const exe = await openExecutable(command, { cwd: process.cwd(), pathEnv: process.env.PATH });
  const outcome = await runOpened(exe, argv, { env: process.env, cwd: process.cwd() });
  await exe.close();
  exitLikeChild(outcome);
} catch (e) {
  if (!(e instanceof GateError)) throw e;
  process.stderr.write(`denied ${e.code}: ${e.message}\n`);
  process.exit(126);
}
