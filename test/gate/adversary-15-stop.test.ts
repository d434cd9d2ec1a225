// SPDX-License-Identifier: Apache-2.0
// Adversary (issue 15): a request the service took but whose turn comes after it began to stop (its TPM
// access closed by `Service.stop`, agent/serve/tpm-access.ts). Nothing was judged or recorded, so the
// service must decline, and the client judge in its own process as without a service, not be denied
// with "fix the host policy".
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TpmAccess } from '../../agent/serve/tpm-access.js';
import { useSwtpm } from '../helpers/swtpm.js';
import { allowed, type GateHost, shareGateHost } from './gate-host.js';
import { type ServedHost, serveHost } from './served-host.js';

const swtpm = useSwtpm();
let h: GateHost;
shareGateHost(swtpm, (host) => {
  h = host;
});

let served: ServedHost;

beforeAll(async () => {
  served = await serveHost(h, (ctx) => {
    const access = new TpmAccess(() => ctx.openTpm());
    void access.close(); // the service is stopping
    return (fn) => access.run(fn);
  });
});

afterAll(async () => {
  await served?.close();
});

describe('a request whose turn comes after the service began to stop', () => {
  it('is declined: the client judges it itself, and an allowed command runs', async () => {
    const s = await h.script('stopping');
    const f = await h.issue(s.path);
    await allowed(h, ['--artifact', f, '--', s.path], s.marker);
    expect(served.made).toEqual([]);
    expect(served.declined).toEqual(['the service did not begin the verdict: the service is stopping']);
  });
});
