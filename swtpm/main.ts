// SPDX-License-Identifier: Apache-2.0
/**
 * Dev/demo CLI: `node dist/swtpm/main.js start [--unix] [--ek] [--dir D]` starts a swtpm (harness.ts),
 * prints `export EXECGATE_TCTI=…` and `export TPM2TOOLS_TCTI=…` lines for a shell to eval, and keeps it
 * running until SIGINT or SIGTERM, then stops it cleanly. With `--dir D` the state in D is kept.
 * Output goes through process.stdout/stderr; the exit status is set through process.exitCode.
 */
import { parseArgs } from 'node:util';
import { startSwtpm } from './harness.js';

const USAGE = 'usage: node dist/swtpm/main.js start [--unix] [--ek] [--dir STATE_DIR]\n';

async function main(argv: readonly string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    return 2;
  }
  const { positionals, values } = parsed;
  if (positionals.length !== 1 || positionals[0] !== 'start') {
    process.stderr.write(USAGE);
    return 2;
  }
  const swtpm = await startSwtpm({
    transport: values.unix ? 'unix' : 'tcp',
    ek: values.ek ?? false,
    ...(values.dir === undefined ? {} : { stateDir: values.dir }),
  });
  for (const [name, value] of Object.entries(swtpm.env)) process.stdout.write(`export ${name}='${value}'\n`);
  if (swtpm.ca)
    process.stdout.write(
      `# EK certificates chain to ${swtpm.ca.rootCert} through ${swtpm.ca.issuerCert}: --ca needs both in one bundle\n`,
    );
  process.stdout.write(
    `# swtpm pid ${swtpm.pid}, state ${swtpm.stateDir}; stop with Ctrl-C or kill ${process.pid}\n`,
  );
  const signal = await Promise.race([
    new Promise<NodeJS.Signals>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    }),
    swtpm.exited.then(() => undefined),
  ]);
  await swtpm.stop();
  if (signal === undefined) {
    process.stderr.write(`swtpm exited on its own; see ${swtpm.stateDir}/swtpm.log\n`);
    return 1;
  }
  process.stderr.write(`swtpm stopped (${signal})\n`);
  return 0;
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: { unix: { type: 'boolean' }, ek: { type: 'boolean' }, dir: { type: 'string' } },
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
