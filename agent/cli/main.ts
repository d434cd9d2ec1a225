#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// First: until then a SIGUSR1 would open Node's inspector (no-inspector.ts).
import './no-inspector.js';
import { startTiming } from '../timing.js';
import { run } from './run.js';

// Stage timings for bench/exec.bench.ts (agent/timing.ts); off unless asked for.
if (process.env.EXECGATE_TRACE_TIMING === '1') startTiming();

// A reader that stops early (`execgate eventlog show | head`) closes the pipe: that is not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

// No top-level await: the bundle (scripts/bundle.mjs) is CommonJS, to be compiled with its code cache.
void run(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env }).then(
  (code) => {
    process.exitCode = code;
  },
);
