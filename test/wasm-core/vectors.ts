// SPDX-License-Identifier: Apache-2.0
// Typed loader for the vendored SHA vectors (test/vectors/sha/, provenance in test/vectors/SOURCES.md):
// NIST CAVS 11.0 SHAVS byte-oriented .rsp files and the FIPS 180 example messages.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export type ShaAlgorithm = 'sha1' | 'sha256' | 'sha384' | 'sha512';
export const SHA_ALGORITHMS: readonly ShaAlgorithm[] = ['sha1', 'sha256', 'sha384', 'sha512'];

export interface ShaVector {
  /** Where the record came from, for failure messages: file and record number. */
  readonly id: string;
  readonly msg: Uint8Array;
  readonly md: Uint8Array;
}

const DIR = join(import.meta.dirname, '..', 'vectors', 'sha');
const FILE_PREFIX: Record<ShaAlgorithm, string> = {
  sha1: 'SHA1',
  sha256: 'SHA256',
  sha384: 'SHA384',
  sha512: 'SHA512',
};

function hex(text: string, what: string): Uint8Array {
  if (!/^(?:[0-9a-f]{2})*$/i.test(text)) throw new Error(`${what}: not hex`);
  return Uint8Array.from(Buffer.from(text, 'hex'));
}

/**
 * One SHAVS response file: records of `Len = <bits>`, `Msg = <hex>`, `MD = <hex>`. Len is in bits and a
 * whole number of bytes (byte-oriented files); for Len = 0 the file writes Msg = 00, which is not part of
 * the message.
 */
export function loadShavs(alg: ShaAlgorithm, kind: 'ShortMsg' | 'LongMsg'): ShaVector[] {
  const file = `${FILE_PREFIX[alg]}${kind}.rsp`;
  const out: ShaVector[] = [];
  let bitLen: number | undefined;
  let msg: Uint8Array | undefined;
  for (const raw of readFileSync(join(DIR, file), 'utf8').split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('[')) continue;
    const m = /^(Len|Msg|MD) = ([0-9a-fA-F]*)$/.exec(line);
    if (m === null) throw new Error(`${file}: unexpected line ${JSON.stringify(line)}`);
    const [, key, value = ''] = m;
    if (key === 'Len') {
      bitLen = Number(value);
      if (!Number.isInteger(bitLen) || bitLen % 8 !== 0)
        throw new Error(`${file}: Len ${value} is not whole bytes`);
    } else if (key === 'Msg') {
      if (bitLen === undefined) throw new Error(`${file}: Msg before Len`);
      msg = hex(value, file).subarray(0, bitLen / 8);
      if (msg.length !== bitLen / 8) throw new Error(`${file}: Msg shorter than Len`);
    } else {
      if (msg === undefined) throw new Error(`${file}: MD before Msg`);
      out.push({ id: `${file}#${out.length}`, msg, md: hex(value, file) });
      bitLen = undefined;
      msg = undefined;
    }
  }
  return out;
}

interface FipsRecord {
  name: string;
  msg_ascii: string | null;
  msg_repeat: { char: string; count: number } | null;
  sha1: string;
  sha256: string;
  sha384: string;
  sha512: string;
}

/** The FIPS 180 example messages ("abc", the 448- and 896-bit messages, one million "a", empty). */
export function loadFips180Examples(alg: ShaAlgorithm): ShaVector[] {
  const doc = JSON.parse(readFileSync(join(DIR, 'fips180_examples.json'), 'utf8')) as {
    vectors: FipsRecord[];
  };
  return doc.vectors.map((v) => {
    let text: string;
    if (v.msg_ascii !== null) text = v.msg_ascii;
    else if (v.msg_repeat !== null) text = v.msg_repeat.char.repeat(v.msg_repeat.count);
    else throw new Error(`fips180_examples.json: ${v.name} has no message`);
    return {
      id: `fips180_examples.json ${v.name}`,
      msg: new TextEncoder().encode(text),
      md: hex(v[alg], v.name),
    };
  });
}
