// SPDX-License-Identifier: Apache-2.0
/**
 * Loopback TCP port pairs for swtpm: data port P and control port P+1 (tpm2-tss's swtpm TCTI hard-codes
 * port+1). Chosen at random in 20000–31999, below Linux's ephemeral range (32768–60999) so that outgoing
 * connections do not take them (SWTPM.md §2.2). A pair found free can still be taken before swtpm binds
 * it: the caller retries with another pair when swtpm reports "Address already in use".
 */
import { randomInt } from 'node:crypto';
import { createServer } from 'node:net';
import { SwtpmError } from './errors.js';

export const PORT_MIN = 20000;
export const PORT_MAX = 31999;

/** A data port P with P and P+1 both free on 127.0.0.1 just now. */
export async function pickPortPair(host = '127.0.0.1', attempts = 50): Promise<number> {
  for (let i = 0; i < attempts; i++) {
    const port = randomInt(PORT_MIN, PORT_MAX); // upper bound exclusive: P+1 <= PORT_MAX
    if ((await isFree(host, port)) && (await isFree(host, port + 1))) return port;
  }
  throw new SwtpmError(
    'E_SWTPM_START',
    `no free port pair in ${PORT_MIN}-${PORT_MAX} after ${attempts} tries`,
  );
}

function isFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}
