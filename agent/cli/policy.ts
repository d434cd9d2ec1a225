// SPDX-License-Identifier: Apache-2.0
/**
 * `execgate policy check`: loads the host policy as the gate does (the file, its policy.d fragments, every
 * key, revocation list and reference they name: agent/config) and prints the effective trust, so an
 * operator can test a policy before it gates anything. Anything wrong is E_CONFIG (exit 2), one line
 * naming the file and TOML path.
 */
import { DEFAULT_POLICY_FILE } from '../config/defaults.js';
import { durationText } from '../config/duration.js';
import { addressText, hexIndex, loadPolicy, servePcrs } from '../config/policy.js';
import { type HostTrust, type KeyFile, loadTrust } from '../config/trust.js';
import { equalBytes } from '../encoding/bytes.js';
import { formatSelection } from '../tpm/pcr-selection.js';
import { parseFlags, toHex } from './args.js';
import type { CliContext } from './context.js';
import { EXIT, UsageError } from './exit.js';

export const POLICY_HELP = `Usage: execgate policy check [--policy FILE] [--json]

Commands:
  check          load the host policy (default ${DEFAULT_POLICY_FILE}) with its policy.d/*.toml
                 fragments, every key file, revocation list and reference state it names, and print the
                 effective trust: mode, state_dir, groups, clock_skew, each issuer (name, kid, algorithm,
                 executables, max_ttl, delegation, the file it came from), approval rules, break-glass,
                 revocation lists (signer, sequence, issue time, counts), the reference. Exit 0 when it
                 all loads; otherwise E_CONFIG (exit 2) with the file and TOML path of the problem, e.g. a
                 key file others may write to, a duplicate issuer key, a list no trusted key signed.
  --policy FILE  the policy to check
  --json         the same as one JSON object (durations in seconds, kids as hex)

docs/policy.md describes every table.

Example:
  execgate policy check --policy /etc/execgate/policy.toml`;

const keyJson = (key: KeyFile) => ({ kid: toHex(key.kid), alg: key.alg, keyFile: key.file });

/** Who signed a revocation list: an issuer's name, or "breakglass". */
function signerName(trust: HostTrust, kid: Uint8Array): string {
  const issuer = trust.issuers.find((i) => equalBytes(i.key.kid, kid));
  return issuer?.name ?? 'breakglass';
}

/** The effective trust as JSON: absent settings are null, so every field is always there. */
function trustJson(trust: HostTrust) {
  const { policy } = trust;
  return {
    policy: policy.file,
    fragments: policy.fragments,
    mode: policy.host.mode,
    stateDir: policy.host.stateDir,
    tcti: policy.host.tcti ?? null,
    groups: policy.host.groups,
    clockSkewSeconds: policy.host.clockSkewSeconds,
    reference: trust.reference?.file ?? null,
    artifacts: policy.host.artifacts ?? null,
    issuers: trust.issuers.map((i) => ({
      name: i.name,
      ...keyJson(i.key),
      exe: i.exe,
      maxTtlSeconds: i.maxTtlSeconds,
      delegation: i.delegation,
      file: i.origin.file,
      at: i.origin.at,
    })),
    approvals: trust.approvals.map((a) => ({
      exe: a.exe,
      required: a.required,
      approvers: a.approvers.map(keyJson),
      file: a.origin.file,
      at: a.origin.at,
    })),
    breakglass: trust.breakglass
      ? { ...keyJson(trust.breakglass.key), maxTtlSeconds: trust.breakglass.maxTtlSeconds }
      : null,
    revocation: {
      epochNvIndex:
        policy.revocation?.epochNvIndex === undefined ? null : hexIndex(policy.revocation.epochNvIndex),
      lists: trust.revocationLists.map(({ file, list }) => ({
        file,
        iss: list.iss,
        signer: signerName(trust, list.signer),
        signerKid: toHex(list.signer),
        seq: list.seq,
        iat: list.iat,
        issued: new Date(list.iat * 1000).toISOString(),
        ctis: list.ctis.length,
        kids: list.kids.length,
      })),
      revoked: { ctis: trust.revoked.ctis.size, kids: trust.revoked.kids.size },
    },
    serve: {
      heartbeatSeconds: policy.serve.heartbeatSeconds,
      metrics: policy.serve.metrics === undefined ? null : addressText(policy.serve.metrics),
      pcrs: formatSelection(servePcrs(policy)),
    },
  };
}

/** The same facts for a person, one per line. */
function trustText(t: ReturnType<typeof trustJson>): string[] {
  const key = (k: { kid: string; alg: string; keyFile: string }) => `kid ${k.kid} (${k.alg}) ${k.keyFile}`;
  const lines = [
    `policy      ${t.policy}`,
    ...t.fragments.map((f) => `fragment    ${f}`),
    `mode        ${t.mode}`,
    `state_dir   ${t.stateDir}`,
    `tcti        ${t.tcti ?? '(--tcti, $EXECGATE_TCTI, else device:/dev/tpmrm0)'}`,
    `groups      ${t.groups.length ? t.groups.join(', ') : '(none)'}`,
    `clock_skew  ${durationText(t.clockSkewSeconds)}`,
    `reference   ${t.reference ?? '(none)'}`,
    `artifacts   ${t.artifacts ?? '(none: --artifact is needed)'}`,
  ];
  for (const i of t.issuers)
    lines.push(
      `issuer      ${i.name}: ${key(i)}`,
      `  exe       ${i.exe.join(', ')}`,
      `  max_ttl   ${durationText(i.maxTtlSeconds)}, delegation ${i.delegation ? 'allowed' : 'not allowed'}`,
      `  from      ${i.file} ${i.at}`,
    );
  for (const a of t.approvals)
    lines.push(
      `approval    ${a.required} of ${a.approvers.length} for ${a.exe.join(', ')}`,
      ...a.approvers.map((k) => `  approver  ${key(k)}`),
      `  from      ${a.file} ${a.at}`,
    );
  lines.push(
    t.breakglass
      ? `breakglass  ${key(t.breakglass)}, max_ttl ${durationText(t.breakglass.maxTtlSeconds)}`
      : 'breakglass  (none)',
  );
  for (const l of t.revocation.lists)
    lines.push(
      `revocation  ${l.file}: list ${l.seq} of "${l.iss}", signed by ${l.signer} (kid ${l.signerKid}), issued ${l.issued}, ${l.ctis} ctis and ${l.kids} kids`,
    );
  lines.push(
    `revoked     ${t.revocation.revoked.ctis} ctis and ${t.revocation.revoked.kids} kids (newest list of each signer)`,
    `epoch       ${t.revocation.epochNvIndex === null ? '(none)' : `NV index ${t.revocation.epochNvIndex}`}`,
    `serve       heartbeat every ${durationText(t.serve.heartbeatSeconds)} quoting ${t.serve.pcrs}, metrics ${t.serve.metrics ?? '(none)'}`,
  );
  return lines;
}

async function check(argv: string[], ctx: CliContext): Promise<number> {
  const usage = 'Usage: execgate policy check [--policy FILE] [--json]';
  const { values, positionals } = parseFlags(argv, { policy: { type: 'string' } }, usage);
  if (positionals.length) throw new UsageError(`unknown argument "${positionals[0]}"\n${usage}`);
  const trust = await loadTrust(await loadPolicy(values.policy ?? DEFAULT_POLICY_FILE));
  const json = trustJson(trust);
  if (ctx.json) ctx.out(JSON.stringify(json));
  else for (const line of trustText(json)) ctx.out(line);
  return EXIT.OK;
}

export const POLICY_COMMANDS: Readonly<Record<string, (argv: string[], ctx: CliContext) => Promise<number>>> =
  {
    check,
  };
