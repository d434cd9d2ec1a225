// SPDX-License-Identifier: Apache-2.0
/**
 * The global flags (--tcti, --tpm-deadline, --json, --debug, --help, --version), which may stand anywhere before "--", apart
 * from the group table: `execgate exec`'s client (agent/cli/exec-main.ts) reads them without loading it.
 */
import { parseFlags } from './args.js';

/** Splits the global flags (--tcti, --tpm-deadline, --json, --debug, --help, --version) from everything else, wherever they stand. */
export function parseGlobal(argv: string[], usage: string) {
  const globals: string[] = [];
  const others: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a === '--') {
      others.push(...argv.slice(i));
      break;
    }
    if (['--json', '--help', '-h', '--debug', '--version'].includes(a) || /^--(tcti|tpm-deadline)=/.test(a))
      globals.push(a);
    else if (a === '--tcti' || a === '--tpm-deadline') globals.push(a, argv[++i] ?? '');
    else others.push(a);
  }
  const { values } = parseFlags(
    globals,
    {
      tcti: { type: 'string' },
      'tpm-deadline': { type: 'string' },
      json: { type: 'boolean' },
      debug: { type: 'boolean' },
      version: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    usage,
  );
  // The group and command names lead; what follows is the command's own, flags included.
  let k = 0;
  while (k < others.length && k < 2 && !(others[k] ?? '').startsWith('-')) k++;
  return { values, positionals: others.slice(0, k), rest: others.slice(k) };
}
