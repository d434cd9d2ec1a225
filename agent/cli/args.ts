// SPDX-License-Identifier: Apache-2.0
/**
 * Flag parsing shared by the commands: node:util parseArgs in strict mode, errors as UsageError; the
 * flags' values are read by ./values.ts, re-exported here.
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { UsageError } from './exit-codes.js';

export * from './values.js';

type Options = NonNullable<ParseArgsConfig['options']>;

type Parsed<O extends Options> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O; allowPositionals: true; strict: true }>
>;

/**
 * `execgate GROUP COMMAND --help`: run.ts calls the command with `--help` alone, and parseFlags answers
 * with the command's usage and the flags it really parses, so a command's help cannot omit a flag.
 */
export class HelpRequest {
  constructor(
    readonly usage: string,
    readonly flags: readonly string[],
  ) {}
}

export function parseFlags<O extends Options>(argv: string[], options: O, usage: string): Parsed<O> {
  if (argv.length === 1 && argv[0] === '--help' && !Object.hasOwn(options, 'help'))
    throw new HelpRequest(
      usage,
      Object.keys(options).map((k) => `--${k}`),
    );
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(`${e instanceof Error ? e.message : String(e)}\n${usage}`);
  }
}
