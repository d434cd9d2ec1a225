// SPDX-License-Identifier: Apache-2.0
// Types of scripts/browser-bundle.mjs, for the tests that bundle with it.
import type { BuildOptions, Plugin } from 'esbuild';

export const root: string;
export function isNodeBuiltin(spec: string): boolean;
export const browserSeam: Plugin;
export const browserOptions: BuildOptions;
/** The modules of the verification path the auditor page runs (entry points of its browser-safety test). */
export const VERIFICATION_ENTRIES: readonly string[];
