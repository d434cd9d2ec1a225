#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// The `execgate` command (package.json `bin`; scripts/bundle.mjs copies this file to dist/execgate.cjs):
// runs the CLI bundle, dist/execgate-bundle.cjs, compiled with the V8 code cache that the build made for
// it (dist/execgate-bundle.cjs.cache), so that a process that lives for one command does not parse 1.5 MB
// of JavaScript first (BENCHMARKS.md, "The gate"). V8 checks the cache against the source, its own
// version and its flags, and compiles from source when it does not fit (another Node, NODE_OPTIONS): the
// same program, started slower. The cache is code: the build makes it beside the bundle, with the same
// ownership, and nothing here ever writes it.
// `execgate exec` first tries dist/execgate-exec.cjs, the small client of a running `execgate serve`
// (agent/cli/exec-main.ts); when no service judges it, the whole CLI does, in this process.
'use strict';
const { readFileSync, stat } = require('node:fs');

// A first asynchronous file operation starts libuv's thread pool; started now, it comes up while the
// bundle below compiles and runs, instead of in front of the command's first read (the policy): 5 ms
// of a gated command's start measured (BENCHMARKS.md, "With execgate serve").
stat(__dirname, () => {});
const { createRequire, wrap } = require('node:module');
const { join } = require('node:path');
const { constants, Script } = require('node:vm');

/** Runs the bundle NAME beside this file with its code cache; returns its module.exports. */
function load(name) {
  const file = join(__dirname, name);
  let cachedData;
  try {
    cachedData = readFileSync(`${file}.cache`);
  } catch {
    // No cache: compile from source.
  }
  const script = new Script(wrap(readFileSync(file, 'utf8')), {
    filename: file,
    cachedData,
    importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  const bundle = { exports: {} };
  script.runInThisContext()(bundle.exports, createRequire(file), bundle, file, __dirname);
  return bundle.exports;
}

const argv = process.argv.slice(2);
const end = argv.indexOf('--');
if ((end < 0 ? argv : argv.slice(0, end)).includes('exec')) {
  load('execgate-exec.cjs')
    .main(argv)
    .then(
      (code) => {
        if (code === undefined) load('execgate-bundle.cjs');
        else process.exitCode = code;
      },
      (e) => {
        process.stderr.write(`execgate: internal error: ${e?.stack || e}\n`);
        process.exitCode = 1;
      },
    );
} else load('execgate-bundle.cjs');
