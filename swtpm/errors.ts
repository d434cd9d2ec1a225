// SPDX-License-Identifier: Apache-2.0
/** Errors of the swtpm harness (STYLE.md principle 4): the emulator could not be set up or started. */
import { ExecgateError } from '../agent/errors.js';

export type SwtpmCode = 'E_SWTPM_SETUP' | 'E_SWTPM_START';

/** swtpm_setup failed (`E_SWTPM_SETUP`), or swtpm did not start or answer (`E_SWTPM_START`). */
export class SwtpmError extends ExecgateError<SwtpmCode> {}
