// SPDX-License-Identifier: Apache-2.0
/** The version `execgate --version` prints: package.json's (test/cli/newcomer.test.ts keeps them equal). */
export const EXECGATE_VERSION = '0.1.0';
