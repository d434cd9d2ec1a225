// SPDX-License-Identifier: Apache-2.0
// The host policy (agent/config): defaults, every key of every table, relative paths, docs/policy.md's example
// and fragment, and every refusal as E_CONFIG naming the TOML path: unknown tables and keys, missing and
// malformed values, TOML syntax, an unreadable, oversized or non-UTF-8 file. The declaration machinery
// (schema.ts) is also tried on test-only documents: each table kind, lists, required keys, table rules.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'smol-toml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  addressText,
  boolean,
  ConfigError,
  DEFAULT_AUDIT_NV_INDEX,
  defaultPolicy,
  durationSeconds,
  durationText,
  integer,
  key,
  list,
  loadPolicy,
  oneOf,
  optionalTable,
  parseFragment,
  parsePolicy,
  path,
  readDocument,
  servePcrs,
  table,
  tableArray,
  text,
} from '../../agent/config/index.js';
import { TPM_ALG } from '../../agent/tpm/constants.js';
import { readmePolicyBlocks } from '../helpers/readme-policy.js';
import { thrown } from '../helpers/thrown.js';

const FILE = '/etc/execgate/policy.toml';

function refusal(toml: string): ConfigError {
  const e = thrown(ConfigError, () => parsePolicy(toml, { file: FILE }));
  expect(e.code).toBe('E_CONFIG');
  expect(e.file).toBe(FILE);
  return e;
}

describe('defaults', () => {
  it('an empty file is every default', () => {
    const p = parsePolicy('', { file: FILE });
    expect(p).toEqual({
      file: FILE,
      fragments: [],
      host: {
        stateDir: '/var/lib/execgate',
        tcti: undefined,
        groups: [],
        clockSkewSeconds: 30,
        reference: undefined,
        mode: 'enforce',
        artifacts: undefined,
      },
      audit: {
        checkpointEntries: 1000,
        checkpointIntervalSeconds: 600,
        pcrs: [{ hash: TPM_ALG.SHA256, pcrs: [0, 1, 2, 3, 4, 5, 6, 7] }],
        nvCounterIndex: 0x0180_0100,
      },
      breakglass: undefined,
      issuers: [],
      approvals: [],
      revocation: undefined,
      serve: { heartbeatSeconds: 60, metrics: undefined, pcrs: undefined },
    });
    expect(defaultPolicy()).toEqual({ ...p, file: undefined });
  });

  it('the default NV counter index is an NV index handle in the owner range', () => {
    expect(DEFAULT_AUDIT_NV_INDEX >>> 24).toBe(0x01);
    expect(DEFAULT_AUDIT_NV_INDEX).toBeGreaterThanOrEqual(0x0180_0000);
    expect(DEFAULT_AUDIT_NV_INDEX).toBeLessThanOrEqual(0x01bf_ffff);
  });
});

describe('docs/policy.md', () => {
  it('the host policy example parses to what its comments say', () => {
    const p = parsePolicy(readmePolicyBlocks().policy, { file: FILE });
    expect(p.host).toEqual({
      stateDir: '/var/lib/execgate',
      tcti: 'device:/dev/tpmrm0',
      groups: ['web'],
      clockSkewSeconds: 30,
      reference: '/etc/execgate/reference.json',
      mode: 'enforce',
      artifacts: '/etc/execgate/artifacts.d',
    });
    // The [audit] values it shows are the defaults.
    expect(p.audit).toEqual(defaultPolicy().audit);
    expect(p.breakglass).toEqual({ key: '/etc/execgate/keys/breakglass.pub', maxTtlSeconds: 900 });
    expect(p.issuers).toEqual([
      {
        name: 'ops',
        key: '/etc/execgate/keys/ops.pub',
        exe: ['/usr/bin/', '/opt/app/bin/deploy'],
        maxTtlSeconds: 3600,
        delegation: false,
        origin: { file: FILE, at: 'issuer[0]' },
      },
    ]);
    expect(p.approvals).toEqual([
      {
        exe: ['/usr/sbin/'],
        approvers: ['alice', 'bob', 'carol'].map((n) => `/etc/execgate/keys/${n}.pub`),
        required: 2,
        origin: { file: FILE, at: 'approval[0]' },
      },
    ]);
    expect(p.revocation).toEqual({ lists: ['/etc/execgate/revoked.cbor'], epochNvIndex: 0x0180_0101 });
    expect(p.serve).toEqual({
      heartbeatSeconds: 60,
      metrics: { host: '127.0.0.1', port: 9464 },
      pcrs: undefined,
    });
  });

  it('the fragment example parses, its paths relative to policy.d', () => {
    const file = '/etc/execgate/policy.d/20-ci.toml';
    expect(parseFragment(readmePolicyBlocks().fragment, file)).toEqual({
      issuers: [
        {
          name: 'ci',
          key: '/etc/execgate/policy.d/keys/ci.pub',
          exe: ['/srv/ci/bin/'],
          maxTtlSeconds: 1800,
          delegation: true,
          origin: { file, at: 'issuer[0]' },
        },
      ],
      approvals: [
        {
          exe: ['/srv/ci/bin/release'],
          approvers: ['/etc/execgate/policy.d/keys/alice.pub', '/etc/execgate/keys/bob.pub'],
          required: 2,
          origin: { file, at: 'approval[0]' },
        },
      ],
    });
  });
});

describe('every key', () => {
  it('types each value from its declaration', () => {
    const p = parsePolicy('');
    const stateDir: string = p.host.stateDir;
    const tcti: string | undefined = p.host.tcti;
    const entries: number = p.audit.checkpointEntries;
    // @ts-expect-error a key without a default may be undefined
    const notOptional: string = p.host.tcti;
    expect([stateDir, tcti, entries, notOptional]).toEqual(['/var/lib/execgate', undefined, 1000, undefined]);
  });

  it('reads [host] and [audit]', () => {
    const p = parsePolicy(
      `
      [host]
      state_dir = "/srv/execgate/"
      tcti = "swtpm:host=127.0.0.1,port=2321"

      [audit]
      checkpoint_entries = 50
      checkpoint_interval = "90s"
      pcrs = "sha256:0-7,16+sha1:0"
      nv_counter_index = "0x01800200"
      `,
      { file: FILE },
    );
    expect(p.host).toMatchObject({ stateDir: '/srv/execgate', tcti: 'swtpm:host=127.0.0.1,port=2321' });
    expect(p.audit).toEqual({
      checkpointEntries: 50,
      checkpointIntervalSeconds: 90,
      pcrs: [
        { hash: TPM_ALG.SHA256, pcrs: [0, 1, 2, 3, 4, 5, 6, 7, 16] },
        { hash: TPM_ALG.SHA1, pcrs: [0] },
      ],
      nvCounterIndex: 0x0180_0200,
    });
  });

  it.each([
    ['"2h"', 7200],
    ['"1d"', 86_400],
    ['"45"', 45],
  ])('checkpoint_interval = %s is %i seconds', (v, seconds) => {
    expect(parsePolicy(`[audit]\ncheckpoint_interval = ${v}`).audit.checkpointIntervalSeconds).toBe(seconds);
  });

  it('takes the NV index as a TOML hex integer too', () => {
    expect(parsePolicy('[audit]\nnv_counter_index = 0x01800101').audit.nvCounterIndex).toBe(0x0180_0101);
  });

  it('resolves a relative state_dir against the policy file directory', () => {
    expect(
      parsePolicy('[host]\nstate_dir = "state"', { file: '/etc/execgate/policy.toml' }).host.stateDir,
    ).toBe('/etc/execgate/state');
    expect(
      parsePolicy('[host]\nstate_dir = "../lib/x/./y"', { file: '/etc/execgate/p.toml' }).host.stateDir,
    ).toBe('/etc/lib/x/y');
    expect(parsePolicy('[host]\nstate_dir = "/var//lib/../lib/eg"').host.stateDir).toBe('/var/lib/eg');
  });
});

describe('refusals name the TOML path (E_CONFIG)', () => {
  it.each([
    ['[audit]\ncheckpoint_entries = 0', 'audit.checkpoint_entries must be a positive integer'],
    ['[audit]\ncheckpoint_entries = -5', 'audit.checkpoint_entries must be a positive integer'],
    ['[audit]\ncheckpoint_entries = 1000.0', 'audit.checkpoint_entries must be a positive integer'],
    ['[audit]\ncheckpoint_entries = "1000"', 'audit.checkpoint_entries must be a positive integer'],
    ['[audit]\ncheckpoint_entries = 9007199254740992', 'audit.checkpoint_entries must be a positive integer'],
    ['[audit]\ncheckpoint_interval = "10x"', 'audit.checkpoint_interval must be a duration'],
    ['[audit]\ncheckpoint_interval = "0s"', 'audit.checkpoint_interval must be a duration'],
    ['[audit]\ncheckpoint_interval = 600', 'audit.checkpoint_interval must be a duration'],
    ['[audit]\ncheckpoint_interval = "-1m"', 'audit.checkpoint_interval must be a duration'],
    ['[audit]\npcrs = "sha256:0-24"', 'audit.pcrs must be a PCR selection'],
    ['[audit]\npcrs = "md5:0"', 'audit.pcrs must be a PCR selection'],
    ['[audit]\npcrs = ""', 'audit.pcrs must be a PCR selection'],
    ['[audit]\npcrs = ["sha256:0"]', 'audit.pcrs must be a PCR selection'],
    ['[audit]\nnv_counter_index = "0x81000001"', 'audit.nv_counter_index must be an NV index handle'],
    ['[audit]\nnv_counter_index = "0x1800100"', 'audit.nv_counter_index must be an NV index handle'],
    ['[audit]\nnv_counter_index = "01800100"', 'audit.nv_counter_index must be an NV index handle'],
    ['[audit]\nnv_counter_index = 0x81000000', 'audit.nv_counter_index must be an NV index handle'],
    ['[audit]\nnv_counter_index = 25166080.0', 'audit.nv_counter_index must be an NV index handle'],
    ['[host]\nstate_dir = 5', 'host.state_dir must be a path'],
    ['[host]\nstate_dir = ""', 'host.state_dir must be a path'],
    [
      '[host]\nstate_dir = "a\\u0000b"',
      'host.state_dir must be a path (text; relative paths are relative to',
    ],
    ['[host]\ntcti = "carrier-pigeon:"', 'host.tcti must be a TCTI'],
    ['[host]\ntcti = "swtpm:port=99999"', 'host.tcti must be a TCTI'],
    ['[host]\ntcti = true', 'host.tcti must be a TCTI'],
  ])('%s', (toml, message) => {
    const e = refusal(toml);
    expect(e.message).toContain(`policy ${FILE}: ${message}`);
    expect(e.at).toBe(message.split(' ')[0]);
  });

  it('says why a value of the right type is refused', () => {
    expect(refusal('[audit]\npcrs = "sha256:0-24"').message).toMatch(/PCR 24 is out of range/);
    expect(refusal('[host]\ntcti = "carrier-pigeon:"').message).toMatch(/unknown TCTI "carrier-pigeon"/);
    expect(refusal('[audit]\ncheckpoint_entries = 0').message).toMatch(/, got 0$/);
  });

  it('an unknown key in a table', () => {
    const e = refusal('[audit]\ncheckpoint_entrys = 10');
    expect(e.message).toMatch(
      /audit\.checkpoint_entrys is not a known key \(audit takes checkpoint_entries, /,
    );
    expect(e.at).toBe('audit.checkpoint_entrys');
  });

  it('an unknown table, an unknown top-level key, a table of the wrong kind', () => {
    expect(refusal('[hots]\nstate_dir = "/x"').message).toMatch(
      /\[hots\] is not a known table \(the policy has \[host\], \[audit\], \[breakglass\], \[\[issuer\]\], \[\[approval\]\], \[revocation\], \[serve\]\)/,
    );
    expect(refusal('[[issuers]]\nname = "x"').message).toMatch(/\[issuers\] is not a known table/);
    expect(refusal('state_dir = "/x"').message).toMatch(
      /state_dir is not a known key: keys belong in a table/,
    );
    expect(refusal('host = 5').message).toMatch(/host must be a table \(\[host\]\)/);
    expect(refusal('[[host]]\nstate_dir = "/x"').message).toMatch(/host must be a table/);
    expect(refusal('[host.sub]\nx = 1').message).toMatch(/host\.sub is not a known key/);
  });

  it('TOML syntax, with line and column', () => {
    const e = refusal('[host]\nstate_dir = "/x"\nstate_dir = "/y"\n');
    expect(e.message).toMatch(/^policy \/etc\/execgate\/policy\.toml: not valid TOML at line 3, column 1: /);
    expect(e.message).not.toContain('\n');
    expect(refusal('[host\n').message).toMatch(/not valid TOML at line 1/);
  });

  it('a __proto__ key is refused, not merged into an object', () => {
    expect(refusal('[host]\n__proto__ = "x"').message).toMatch(/not valid TOML|not a known key/);
    expect(refusal('[__proto__]\nx = 1').message).toMatch(/not valid TOML|not a known table/);
  });
});

describe('loadPolicy', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'execgate-policy-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a file; relative paths are relative to its directory', async () => {
    const file = join(dir, 'policy.toml');
    await writeFile(file, '[host]\nstate_dir = "state"\n[audit]\ncheckpoint_entries = 7\n');
    const p = await loadPolicy(file);
    expect(p.file).toBe(file);
    expect(p.host.stateDir).toBe(join(dir, 'state'));
    expect(p.audit.checkpointEntries).toBe(7);
  });

  it('a missing file is E_CONFIG, or the defaults with missingOk', async () => {
    const file = join(dir, 'absent.toml');
    const e = await loadPolicy(file).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).message).toMatch(/absent\.toml/);
    expect((e as ConfigError).file).toBe(file);
    expect(await loadPolicy(file, { missingOk: true })).toEqual(defaultPolicy());
  });

  it('a directory, a file over 1 MiB, and bytes that are not UTF-8 are E_CONFIG', async () => {
    const big = join(dir, 'big.toml');
    await writeFile(big, `# ${'x'.repeat(1024 * 1024)}\n`);
    const bad = join(dir, 'latin1.toml');
    await writeFile(bad, Buffer.from([0x23, 0xe9, 0x0a]));
    for (const file of [dir, big, bad]) {
      const e = await loadPolicy(file, { missingOk: true }).catch((err: unknown) => err);
      expect(e, file).toBeInstanceOf(ConfigError);
    }
  });

  it('the file named in an error is the one given', async () => {
    const file = join(dir, 'p.toml');
    await writeFile(file, '[audit]\npcrs = "sha256:99"\n');
    const e = await loadPolicy(file).catch((err: unknown) => err);
    expect((e as ConfigError).message).toBe(
      `policy ${file}: audit.pcrs must be a PCR selection like "sha256:0-7" (sha256:99: PCR 99 is out of range 0..23), got "sha256:99"`,
    );
  });
});

describe('the declaration machinery (tables issue 14 will add)', () => {
  // A test-only document with every table kind and the value types the gate's tables need.
  const DOC = {
    host: table('host', {
      mode: key('mode', oneOf('enforce', 'audit'), { default: 'enforce' }),
      groups: key('groups', list(text(64), 4), { default: [] }),
    }),
    breakglass: optionalTable('breakglass', {
      key: key('key', path),
      maxTtl: key('max_ttl', integer(1, 3600), {
        check: (n) => (n % 60 === 0 ? undefined : 'must be whole minutes'),
      }),
    }),
    issuers: tableArray('issuer', {
      name: key('name', text(64)),
      delegation: key('delegation', boolean, { default: false }),
    }),
  };
  const read = (toml: string) =>
    readDocument(DOC, parse(toml, { integersAsBigInt: true }), { dir: '/etc/execgate' });

  it('fills defaults; an absent optional table is undefined, an absent array []', () => {
    expect(read('')).toEqual({ host: { mode: 'enforce', groups: [] }, breakglass: undefined, issuers: [] });
  });

  it('reads each kind', () => {
    const v = read(`
      [host]
      mode = "audit"
      groups = ["web", "db"]
      [breakglass]
      key = "keys/bg.pub"
      max_ttl = 900
      [[issuer]]
      name = "ops"
      [[issuer]]
      name = "ci"
      delegation = true
    `);
    expect(v).toEqual({
      host: { mode: 'audit', groups: ['web', 'db'] },
      breakglass: { key: '/etc/execgate/keys/bg.pub', maxTtl: 900 },
      issuers: [
        { name: 'ops', delegation: false },
        { name: 'ci', delegation: true },
      ],
    });
  });

  it.each([
    ['[host]\nmode = "permissive"', 'host.mode must be one of "enforce", "audit", got "permissive"'],
    [
      '[host]\ngroups = ["a", 5]',
      'host.groups must be an array of at most 4 items, each text of 1 to 64 characters (item 1 is 5)',
    ],
    ['[host]\ngroups = ["a", "b", "c", "d", "e"]', 'host.groups must be an array of at most 4 items'],
    ['[breakglass]\nmax_ttl = 90', 'breakglass.max_ttl must be whole minutes, got 90'],
    ['[breakglass]\nmax_ttl = 7200', 'breakglass.max_ttl must be an integer from 1 to 3600'],
    [
      '[[issuer]]\nname = "a"\n[[issuer]]\nname = "b"\ndelegate = true',
      'issuer[1].delegate is not a known key',
    ],
    ['[[issuer]]\nname = "a"\ndelegation = "yes"', 'issuer[0].delegation must be true or false'],
    ['[issuer]\nname = "a"', 'issuer must be an array of tables ([[issuer]])'],
    ['issuer = [1, 2]', 'issuer must be an array of tables ([[issuer]])'],
  ])('%s', (toml, message) => {
    expect(thrown(ConfigError, () => read(toml)).message).toContain(message);
  });
});

describe('required keys and rules across keys (schema.ts)', () => {
  const DOC = {
    rules: tableArray(
      'rule',
      {
        name: key('name', text(8), { required: true }),
        low: key('low', integer(0, 9), { default: 0n }),
        high: key('high', integer(0, 9), { required: true }),
      },
      {
        check: (r) => (r.low > r.high ? { key: 'high', why: `must be at least low (${r.low})` } : undefined),
      },
    ),
  };
  const read = (toml: string) =>
    readDocument(DOC, parse(toml, { integersAsBigInt: true }), { dir: '/etc/execgate' });

  it('a required key is typed as always present, and read', () => {
    const v = read('[[rule]]\nname = "a"\nhigh = 3');
    const name: string = v.rules[0]?.name ?? '';
    expect([name, v.rules]).toEqual(['a', [{ name: 'a', low: 0, high: 3 }]]);
  });

  it.each([
    ['[[rule]]\nhigh = 3', 'rule[0].name is required: text of 1 to 8 characters', 'rule[0].name'],
    ['[[rule]]\nname = "a"\nhigh = 3\n[[rule]]\nname = "b"', 'rule[1].high is required', 'rule[1].high'],
    ['[[rule]]\nname = "a"\nlow = 5\nhigh = 3', 'rule[0].high must be at least low (5)', 'rule[0].high'],
  ])('%s', (toml, message, at) => {
    const e = thrown(ConfigError, () => read(toml));
    expect(e.message).toContain(message);
    expect(e.at).toBe(at);
  });
});

describe('the gate tables (issue 14): [host], [breakglass], [[issuer]], [[approval]], [revocation]', () => {
  it('reads every key; relative paths against the policy directory, executables never', () => {
    const p = parsePolicy(
      `
      [host]
      groups = ["web", "db-1", "eu.west_2"]
      clock_skew = "0s"
      reference = "reference.json"
      mode = "audit"
      artifacts = "/srv/artifacts/"

      [breakglass]
      key = "keys/bg.pub"

      [[issuer]]
      name = "ops"
      key = "keys/ops.pub"
      exe = ["/usr/bin/", "/opt/app/bin/deploy", "/"]
      [[issuer]]
      name = "ci"
      key = "/etc/keys/ci.pub"
      exe = ["/srv/ci/"]
      max_ttl = "2d"
      delegation = true

      [[approval]]
      exe = ["/usr/sbin/"]
      approvers = ["keys/a.pub", "keys/b.pub", "keys/c.pub"]
      required = 3

      [revocation]
      lists = ["revoked.cbor", "/var/lib/execgate/fleet.cbor"]
      epoch_nv_index = "0x01800101"
      `,
      { file: FILE },
    );
    expect(p.host).toEqual({
      stateDir: '/var/lib/execgate',
      tcti: undefined,
      groups: ['web', 'db-1', 'eu.west_2'],
      clockSkewSeconds: 0,
      reference: '/etc/execgate/reference.json',
      mode: 'audit',
      artifacts: '/srv/artifacts',
    });
    expect(p.breakglass).toEqual({ key: '/etc/execgate/keys/bg.pub', maxTtlSeconds: 900 });
    expect(p.issuers).toEqual([
      {
        name: 'ops',
        key: '/etc/execgate/keys/ops.pub',
        exe: ['/usr/bin/', '/opt/app/bin/deploy', '/'],
        maxTtlSeconds: 3600,
        delegation: false,
        origin: { file: FILE, at: 'issuer[0]' },
      },
      {
        name: 'ci',
        key: '/etc/keys/ci.pub',
        exe: ['/srv/ci/'],
        maxTtlSeconds: 2 * 86_400,
        delegation: true,
        origin: { file: FILE, at: 'issuer[1]' },
      },
    ]);
    expect(p.approvals).toEqual([
      {
        exe: ['/usr/sbin/'],
        approvers: ['/etc/execgate/keys/a.pub', '/etc/execgate/keys/b.pub', '/etc/execgate/keys/c.pub'],
        required: 3,
        origin: { file: FILE, at: 'approval[0]' },
      },
    ]);
    expect(p.revocation).toEqual({
      lists: ['/etc/execgate/revoked.cbor', '/var/lib/execgate/fleet.cbor'],
      epochNvIndex: 0x0180_0101,
    });
  });

  it('an empty [revocation] has no lists and no epoch; clock_skew may be up to 1h', () => {
    expect(parsePolicy('[revocation]').revocation).toEqual({ lists: [], epochNvIndex: undefined });
    expect(parsePolicy('[host]\nclock_skew = "1h"').host.clockSkewSeconds).toBe(3600);
    expect(parsePolicy('[host]\nclock_skew = "3600"').host.clockSkewSeconds).toBe(3600);
  });

  const ISSUER = '[[issuer]]\nname = "ops"\nkey = "k.pub"\nexe = ["/usr/bin/"]\n';
  const APPROVAL = '[[approval]]\nexe = ["/usr/sbin/"]\napprovers = ["a.pub", "b.pub"]\n';

  it.each([
    [
      '[host]\ngroups = "web"',
      'host.groups must be an array of at most 256 items, each a name',
      'host.groups',
    ],
    ['[host]\ngroups = ["Web"]', 'host.groups must be an array', 'host.groups'],
    ['[host]\ngroups = ["group:web"]', 'host.groups must be an array', 'host.groups'],
    ['[host]\ngroups = [""]', 'host.groups must be an array', 'host.groups'],
    [`[host]\ngroups = ["${'a'.repeat(65)}"]`, 'host.groups must be an array', 'host.groups'],
    ['[host]\ngroups = ["web", "db", "web"]', 'host.groups names "web" twice', 'host.groups'],
    [
      '[host]\nclock_skew = "61m"',
      'host.clock_skew must be a duration like 90s, 10m, 2h or 1d, at most 1h',
      'host.clock_skew',
    ],
    ['[host]\nclock_skew = 30', 'host.clock_skew must be a duration', 'host.clock_skew'],
    ['[host]\nclock_skew = "-1s"', 'host.clock_skew must be a duration', 'host.clock_skew'],
    [
      '[host]\nmode = "permissive"',
      'host.mode must be one of "enforce", "audit", got "permissive"',
      'host.mode',
    ],
    ['[host]\nmode = "Enforce"', 'host.mode must be one of', 'host.mode'],
    ['[host]\nreference = 5', 'host.reference must be a path', 'host.reference'],
    ['[host]\nartifacts = ""', 'host.artifacts must be a path', 'host.artifacts'],
    ['[breakglass]\nmax_ttl = "1m"', 'breakglass.key is required: a path', 'breakglass.key'],
    [
      '[breakglass]\nkey = "bg.pub"\nmax_ttl = "0s"',
      'breakglass.max_ttl must be a duration',
      'breakglass.max_ttl',
    ],
    [
      '[breakglass]\nkey = "bg.pub"\nmaxttl = "1m"',
      'breakglass.maxttl is not a known key',
      'breakglass.maxttl',
    ],
    ['[[issuer]]\nkey = "k.pub"\nexe = ["/x"]', 'issuer[0].name is required', 'issuer[0].name'],
    [
      '[[issuer]]\nname = "Ops Team"\nkey = "k.pub"\nexe = ["/x"]',
      'issuer[0].name must be a name of 1 to 64',
      'issuer[0].name',
    ],
    ['[[issuer]]\nname = "ops"\nexe = ["/x"]', 'issuer[0].key is required', 'issuer[0].key'],
    ['[[issuer]]\nname = "ops"\nkey = "k.pub"', 'issuer[0].exe is required', 'issuer[0].exe'],
    ['[[issuer]]\nname = "ops"\nkey = "k.pub"\nexe = []', 'issuer[0].exe must not be empty', 'issuer[0].exe'],
    [
      '[[issuer]]\nname = "ops"\nkey = "k.pub"\nexe = "/usr/bin/"',
      'issuer[0].exe must be an array',
      'issuer[0].exe',
    ],
    [
      '[[issuer]]\nname = "ops"\nkey = "k.pub"\nexe = ["usr/bin/"]',
      'item 0 is "usr/bin/": the path must be an absolute path',
      'issuer[0].exe',
    ],
    [
      '[[issuer]]\nname = "ops"\nkey = "k.pub"\nexe = ["/usr//bin/"]',
      'is not a normalised path',
      'issuer[0].exe',
    ],
    [
      '[[issuer]]\nname = "ops"\nkey = "k.pub"\nexe = ["/usr/bin/../sbin/"]',
      'is not a normalised path',
      'issuer[0].exe',
    ],
    [
      '[[issuer]]\nname = "ops"\nkey = "k.pub"\nexe = ["/usr/./bin"]',
      'is not a normalised path',
      'issuer[0].exe',
    ],
    [
      '[[issuer]]\nname = "ops"\nkey = "k.pub"\nexe = ["/x", ""]',
      'issuer[0].exe must be an array',
      'issuer[0].exe',
    ],
    ['[[issuer]]\nname = "ops"\nkey = "k.pub"\nexe = ["/x\\u0000y"]', 'it contains NUL', 'issuer[0].exe'],
    [`${ISSUER}max_ttl = "forever"`, 'issuer[0].max_ttl must be a duration', 'issuer[0].max_ttl'],
    [`${ISSUER}max_ttl = "0m"`, 'issuer[0].max_ttl must be a duration', 'issuer[0].max_ttl'],
    [`${ISSUER}delegation = "yes"`, 'issuer[0].delegation must be true or false', 'issuer[0].delegation'],
    [`${ISSUER}${ISSUER}delegate = true`, 'issuer[1].delegate is not a known key', 'issuer[1].delegate'],
    ['[issuer]\nname = "ops"', 'issuer must be an array of tables ([[issuer]])', 'issuer'],
    [`${APPROVAL}`, 'approval[0].required is required: a positive integer', 'approval[0].required'],
    [`${APPROVAL}required = 0`, 'approval[0].required must be a positive integer', 'approval[0].required'],
    [
      `${APPROVAL}required = 3`,
      'approval[0].required must be at most the number of approvers (2), got 3',
      'approval[0].required',
    ],
    [`${APPROVAL}required = 1.0`, 'approval[0].required must be a positive integer', 'approval[0].required'],
    [
      '[[approval]]\nexe = ["/x"]\napprovers = []\nrequired = 1',
      'approval[0].approvers must not be empty',
      'approval[0].approvers',
    ],
    ['[[approval]]\napprovers = ["a.pub"]\nrequired = 1', 'approval[0].exe is required', 'approval[0].exe'],
    [
      '[[approval]]\nexe = ["./x"]\napprovers = ["a.pub"]\nrequired = 1',
      'approval[0].exe must be an array',
      'approval[0].exe',
    ],
    [
      '[revocation]\nlists = "revoked.cbor"',
      'revocation.lists must be an array of at most 256 items, each a path',
      'revocation.lists',
    ],
    ['[revocation]\nlists = [""]', 'revocation.lists must be an array', 'revocation.lists'],
    [
      '[revocation]\nepoch_nv_index = "0x81000000"',
      'revocation.epoch_nv_index must be an NV index handle',
      'revocation.epoch_nv_index',
    ],
    [
      '[revocation]\nepoch_nv_index = "1800101"',
      'revocation.epoch_nv_index must be an NV index handle',
      'revocation.epoch_nv_index',
    ],
    ['[revocation]\nepoch = "0x01800101"', 'revocation.epoch is not a known key', 'revocation.epoch'],
    [
      '[revocation]\nepoch_nv_index = "0x01800100"',
      'revocation.epoch_nv_index must differ from audit.nv_counter_index (0x01800100)',
      'revocation.epoch_nv_index',
    ],
  ])('%s', (toml, message, at) => {
    const e = refusal(toml);
    expect(e.message.startsWith(`policy ${FILE}: ${at} `)).toBe(true);
    expect(e.message).toContain(message);
    expect(e.message).not.toContain('\n');
    expect(e.at).toBe(at);
  });
});

describe('[serve] (issue 15)', () => {
  it('reads heartbeat, metrics and pcrs; the heartbeat quotes [audit] pcrs unless given', () => {
    const p = parsePolicy(
      '[audit]\npcrs = "sha1:0"\n[serve]\nheartbeat = "90s"\nmetrics = "127.0.0.1:9464"',
      {
        file: FILE,
      },
    );
    expect(p.serve).toEqual({
      heartbeatSeconds: 90,
      metrics: { host: '127.0.0.1', port: 9464 },
      pcrs: undefined,
    });
    expect(servePcrs(p)).toEqual([{ hash: TPM_ALG.SHA1, pcrs: [0] }]);
    const q = parsePolicy('[serve]\nmetrics = "[::1]:1"\npcrs = "sha256:7"', { file: FILE });
    expect(q.serve.metrics).toEqual({ host: '::1', port: 1 });
    expect(addressText(q.serve.metrics ?? { host: '', port: 0 })).toBe('[::1]:1');
    expect(servePcrs(q)).toEqual([{ hash: TPM_ALG.SHA256, pcrs: [7] }]);
    expect(parsePolicy('[serve]\nmetrics = "127.8.9.10:65535"').serve.metrics?.host).toBe('127.8.9.10');
  });

  it.each([
    ['heartbeat = "0s"', 'serve.heartbeat must be a duration'],
    ['heartbeat = "2d"', 'serve.heartbeat must be a duration'],
    ['heartbeat = 60', 'serve.heartbeat must be a duration'],
    ['metrics = "0.0.0.0:9464"', 'serve.metrics must be a loopback address'],
    ['metrics = "10.1.2.3:9464"', 'serve.metrics must be a loopback address'],
    ['metrics = "[::]:9464"', 'serve.metrics must be a loopback address'],
    ['metrics = "localhost:9464"', 'serve.metrics must be a loopback address'],
    ['metrics = "127.0.0.1"', 'serve.metrics must be a loopback address'],
    ['metrics = "127.0.0.1:0"', 'serve.metrics must be a loopback address'],
    ['metrics = "127.0.0.1:65536"', 'serve.metrics must be a loopback address'],
    ['metrics = 9464', 'serve.metrics must be a loopback address'],
    ['pcrs = "sha256:99"', 'serve.pcrs must be a PCR selection'],
    ['metric = "127.0.0.1:9464"', 'serve.metric'],
  ])('[serve] %s', (line, message) => {
    const e = refusal(`[serve]\n${line}`);
    expect(e.message).toContain(`policy ${FILE}: ${message}`);
  });

  it('says why a non-loopback metrics address is refused', () => {
    expect(refusal('[serve]\nmetrics = "192.168.1.5:9464"').message).toMatch(/no authentication/);
  });
});

describe('durationText', () => {
  it.each([
    [30, '30s'],
    [90, '90s'],
    [600, '10m'],
    [3600, '1h'],
    [5400, '90m'],
    [172_800, '2d'],
    [0, '0s'],
  ])('%i seconds is "%s", which reads back as the same', (seconds, text) => {
    expect(durationText(seconds)).toBe(text);
    expect(durationSeconds(text)).toBe(seconds);
  });
});
