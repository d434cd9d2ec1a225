// SPDX-License-Identifier: Apache-2.0
// The vendored real event logs (test/vectors/eventlog) and tpm2_eventlog's YAML for them, shared by the
// measure tests that compare decoded fields with tpm2-tools.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type EventLog, parseEventLog } from '../../agent/measure/eventlog.js';

export const EVENTLOG_DIR = join(import.meta.dirname, '../vectors/eventlog');
/** tpm2-tools' fixtures decoded by an efivar-built tpm2_eventlog (vendored). */
export const PRETTY_DIR = join(EVENTLOG_DIR, 'tpm2-tools/event-pretty');

/** The real logs the parser accepts (the bogus keylime file and tpm2-tools' bad Spec ID copy are not logs). */
export const REAL_LOGS: readonly string[] = readdirSync(EVENTLOG_DIR, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .flatMap((d) =>
    readdirSync(join(EVENTLOG_DIR, d.name), { withFileTypes: true })
      .filter((f) => f.isFile() && !f.name.endsWith('.warn'))
      .map((f) => `${d.name}/${f.name}`),
  )
  .filter((n) => n !== 'keylime/binary_bios_measurements-bogus' && n !== 'tpm2-tools/specid-vendordata.bin')
  .sort();

export const loadEventLog = (name: string): EventLog =>
  parseEventLog(new Uint8Array(readFileSync(join(EVENTLOG_DIR, name))));

/** One event of tpm2_eventlog's YAML: header fields, digests, the `Event:` fields at four spaces, its text. */
export interface YamlEvent {
  readonly num: number;
  readonly pcr: number;
  readonly type: string;
  readonly digests: Readonly<Record<string, string>>;
  readonly fields: ReadonlyMap<string, string>;
  /** The `String:` value without quotes, `\0` kept as written. */
  readonly string?: string;
  readonly body: string;
}

export function parseTpm2EventlogYaml(text: string): YamlEvent[] {
  return text
    .split(/^- EventNum: /m)
    .slice(1)
    .map((body) => {
      const fields = new Map<string, string>();
      for (const m of body.matchAll(/^ {4}(\w+): (.*)$/gm)) {
        if (m[1] !== undefined && m[2] !== undefined && !fields.has(m[1])) fields.set(m[1], m[2]);
      }
      const digests = Object.fromEntries(
        [...body.matchAll(/AlgorithmId: (\w+)\n\s+Digest: "([0-9a-f]+)"/g)].map((m) => [m[1], m[2]]),
      );
      const str = /String: \|-\n\s+"(.*)"\n/.exec(body)?.[1];
      const e = {
        num: Number(body.split('\n')[0]),
        pcr: Number(/PCRIndex: (\d+)/.exec(body)?.[1]),
        type: /EventType: (\S+)/.exec(body)?.[1] ?? '',
        digests,
        fields,
        body,
      };
      return str === undefined ? e : { ...e, string: str };
    });
}

/** The installed tpm2_eventlog's YAML for a vendored log, or undefined when it fails (it segfaults on some). */
export function tpm2Eventlog(name: string): YamlEvent[] | undefined {
  const run = spawnSync('tpm2_eventlog', [join(EVENTLOG_DIR, name)], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return run.status === 0 ? parseTpm2EventlogYaml(run.stdout) : undefined;
}
