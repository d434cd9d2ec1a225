#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
import { run } from './run.js';

// A reader that stops early (`execgate eventlog show | head`) closes the pipe: that is not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

process.exitCode = await run(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
});
