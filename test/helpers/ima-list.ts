// SPDX-License-Identifier: Apache-2.0
// An ASCII IMA list's first line rewritten as the kernel would have written it on a host whose PCRs 0–7
// (SHA-1 bank) held `pcrs`: an ima-ng boot_aggregate entry with its template hash, computed here with
// node:crypto independently of agent/measure.
import { createHash } from 'node:crypto';

const sha1 = (data: Uint8Array) => new Uint8Array(createHash('sha1').update(data).digest());

function field(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + bytes.length);
  new DataView(out.buffer).setUint32(0, bytes.length, true);
  out.set(bytes, 4);
  return out;
}

/**
 * The ima-ng boot_aggregate line whose digest is `alg` over `pcrs` concatenated (the kernel: SHA-1 over
 * PCRs 0–7, other algorithms over 0–9), in a classic (SHA-1 template hash) list.
 */
export function bootAggregateLine(pcrs: readonly Uint8Array[], alg = 'sha1'): string {
  const aggregate = new Uint8Array(createHash(alg).update(Buffer.concat(pcrs)).digest());
  const d = Buffer.concat([Buffer.from(`${alg}:\0`), aggregate]);
  const n = Buffer.from('boot_aggregate\0');
  const templateHash = sha1(Buffer.concat([field(d), field(n)]));
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
  return `10 ${hex(templateHash)} ima-ng ${alg}:${hex(aggregate)} boot_aggregate`;
}

/** `lines` with the first replaced by the boot_aggregate line for `pcrs`. */
export function withBootAggregate(lines: readonly string[], pcrs: readonly Uint8Array[]): string[] {
  return [bootAggregateLine(pcrs.slice(0, 8)), ...lines.slice(1)];
}
