// SPDX-License-Identifier: Apache-2.0
/**
 * Keeps SIGUSR1 from opening Node's inspector. Node answers a SIGUSR1 that no listener takes by starting
 * its inspector on 127.0.0.1:9229, without authentication: any local user who connects then runs code in
 * this process, which is root's (or the service user's that holds the TPM and the audit log), in the
 * middle of a verdict. And SIGUSR1 is a signal operators send `execgate exec` on purpose: it forwards it
 * to the command it runs (agent/gate/run.ts). main.ts imports this module first, so from then on the
 * signal is taken here (and ignored while no command runs to forward it to).
 *
 * Not covered: Node's own startup before this module runs (tens of ms); Node 22.14's --disable-sigusr1
 * would close that too, and Node 20 has no such flag.
 */
process.on('SIGUSR1', () => {});
