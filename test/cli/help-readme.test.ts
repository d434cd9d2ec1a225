// SPDX-License-Identifier: Apache-2.0
// Issue 15: every command has its own --help with an example, and docs/cli.md's command reference names
// every flag the command parses and none it does not. The commands are those of agent/cli/run.ts GROUPS,
// so a new group or command is checked without changing this file. Each --help runs as a real process.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type CommandGroup, GROUPS } from '../../agent/cli/run.js';
import { type ProcessResult, runProcess } from '../gate/gate-host.js';

/** Flags every command takes (run.ts parseGlobal), documented once at the top of docs/cli.md. */
const GLOBAL = new Set(['--tcti', '--tpm-deadline', '--json', '--debug', '--help', '--version']);

const README = readFileSync('README.md', 'utf8');
const ROWS = readFileSync('docs/cli.md', 'utf8')
  .split('\n')
  .filter((l) => l.startsWith('| `execgate '));

interface Command {
  readonly group: string;
  /** undefined for a group's default command (`execgate quote`, `execgate exec`). */
  readonly name: string | undefined;
  readonly g: CommandGroup;
}

const groups = await Promise.all(
  Object.entries(GROUPS).map(async ([group, load]) => ({ group, g: await load() })),
);
const commands: Command[] = groups.flatMap(({ group, g }) => [
  ...(g.default ? [{ group, name: undefined, g }] : []),
  ...Object.keys(g.commands).map((name) => ({ group, name, g })),
]);
const title = (c: Command) => `execgate ${c.group}${c.name === undefined ? '' : ` ${c.name}`}`;

/** docs/cli.md's row for a command: the table row whose first cell starts with its name. */
function rowOf(c: Command): string | undefined {
  return ROWS.find((r) => {
    const cell = r.slice(3, r.indexOf('` |'));
    const words = cell.split(' ');
    if (words[1] !== c.group) return false;
    const next = words[2];
    return c.name === undefined ? next === undefined || !Object.hasOwn(c.g.commands, next) : next === c.name;
  });
}

/** The rows a row refers to for shared flags: "as `state capture`", "as `artifact issue`". */
function referencedRows(c: Command, row: string): string[] {
  return Object.keys(c.g.commands)
    .filter((n) => n !== c.name && row.includes(`\`${c.group} ${n}\``))
    .map((n) => rowOf({ group: c.group, name: n, g: c.g }) ?? '');
}

const mentions = (text: string, flag: string) => new RegExp(`${flag}(?![\\w-])`).test(text);

/** `--help` of every command, run at once (each a process of its own). */
const helps = new Map<Command, ProcessResult>(
  await Promise.all(
    commands.map(async (c) => {
      const argv = c.name === undefined ? [c.group, '--help'] : [c.group, c.name, '--help'];
      return [c, await runProcess(argv)] as const;
    }),
  ),
);

function flagsOf(help: string): string[] {
  const line = /^Flags: (.*)$/m.exec(help)?.[1] ?? '';
  return line.split(' ').filter((f) => f.startsWith('--'));
}

describe('execgate --help', () => {
  it('finds the commands (guards the enumeration itself)', () => {
    expect(commands.length).toBeGreaterThan(30);
    expect(commands.map(title)).toEqual(expect.arrayContaining(['execgate quote', 'execgate quote verify']));
  });

  it('lists every group, exits 0, and --version prints the package version', async () => {
    const [help, version] = await Promise.all([runProcess(['--help']), runProcess(['--version'])]);
    expect(help.code).toBe(0);
    for (const { group } of groups) expect(help.stdout).toMatch(new RegExp(`^  ${group}\\s`, 'm'));
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    expect(version).toMatchObject({ code: 0, stdout: `execgate ${pkg.version}\n`, stderr: '' });
  });

  it('README says how to get execgate on PATH: package.json bin, npm link, the install script', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { bin: Record<string, string> };
    expect(pkg.bin.execgate).toBe('dist/execgate.cjs');
    expect(README).toContain('`npm link`');
    expect(README).toContain('`scripts/install.sh`');
  });

  for (const c of commands) {
    describe(title(c), () => {
      it('--help exits 0 with its usage, the flags it parses and an example that runs it', () => {
        const r = helps.get(c);
        expect(r?.stderr).toBe('');
        expect(r?.code).toBe(0);
        const out = r?.stdout ?? '';
        expect(out).toContain(`Usage: ${title(c)}`);
        expect(out).toMatch(/^Flags: /m);
        const examples = /^Examples?:\n((?: {2}.*\n?)+)/m.exec(out)?.[1] ?? '';
        // The example runs this very command (global flags may stand before the group).
        const runs = new RegExp(
          `execgate(?: --\\S+(?: (?!-)\\S+)?)* ${c.group}${c.name === undefined ? '(?: -| [^a-z]|$)' : ` ${c.name}\\b`}`,
          'm',
        );
        expect(examples).toMatch(runs);
      });

      it("docs/cli.md's row names every flag --help lists, and only flags it parses", () => {
        const row = rowOf(c);
        expect(row, `docs/cli.md has no row for ${title(c)}`).toBeDefined();
        const text = [row ?? '', ...referencedRows(c, row ?? '')].join('\n');
        const flags = flagsOf(helps.get(c)?.stdout ?? '');
        expect(flags.filter((f) => !mentions(text, f))).toEqual([]);
        const synopsis = (row ?? '').slice(0, (row ?? '').indexOf('` |'));
        const documented = new Set(synopsis.match(/--[a-z][\w-]*/g) ?? []);
        expect([...documented].filter((f) => !flags.includes(f) && !GLOBAL.has(f))).toEqual([]);
      });
    });
  }
});
