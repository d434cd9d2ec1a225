#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// First: until then a SIGUSR1 would open Node's inspector (no-inspector.ts).
import './no-inspector.js';
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
