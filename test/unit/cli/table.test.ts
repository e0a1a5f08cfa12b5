// The command table: every command has its help (examples and the exit-code table), and arguments reach
// the implementations camel-cased, as yargs parses them.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CommandDef } from '../../../src/cli/command.js';
import { helpTable } from '../../../src/cli/exit-codes.js';
import { runCli } from '../../../src/cli/main.js';
import { COMMANDS } from '../../../src/cli/table/index.js';

const ok = { status: 'ok' } as const;
const calls: Array<[string, unknown]> = [];
const record = (name: string) => async (args: unknown) => (calls.push([name, args]), ok);
vi.mock('../../../src/cli/commands/init.js', () => ({ runInit: record('init') }));
vi.mock('../../../src/cli/commands/generate.js', () => ({ runGenerate: record('generate') }));
vi.mock('../../../src/cli/commands/validate.js', () => ({ runValidate: record('validate') }));
vi.mock('../../../src/cli/commands/backup.js', () => ({ runBackup: record('backup') }));
vi.mock('../../../src/cli/commands/restore.js', () => ({ runRestore: record('restore') }));
vi.mock('../../../src/cli/commands/down.js', () => ({ runDown: record('down') }));
vi.mock('../../../src/cli/commands/status.js', () => ({ runStatus: record('status') }));
vi.mock('../../../src/cli/commands/up.js', () => ({ runUpCommand: record('up'), runMigrateCommand: record('migrate') }));
vi.mock('../../../src/cli/commands/upgrade.js', () => ({ runUpgrade: record('upgrade'), runRollback: record('rollback') }));
vi.mock('../../../src/cli/commands/exec.js', () => ({
  runExecPurge: record('purge'),
  runExecSso: record('sso'),
  runExecReset: record('reset'),
  runExecRun: record('run'),
  runExecShell: record('shell'),
  runExecTask: record('task'),
}));

const io = () => {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l), isTTY: false } };
};

/** Runs the CLI and returns what reached the one implementation called. */
const parsed = async (argv: string[]) => {
  calls.length = 0;
  const c = io();
  const code = await runCli(argv, c.io);
  expect(c.err).toEqual([]);
  expect(code).toBe(0);
  expect(calls).toHaveLength(1);
  return calls[0]!;
};

afterEach(() => vi.restoreAllMocks());

/** Every command path in the table, `exec purge` and the like included; exec's default `<task>` has exec's help. */
const paths = (defs: readonly CommandDef[], prefix: string[] = []): string[][] =>
  defs.flatMap((d) => {
    const name = d.command.split(' ')[0]!;
    if (name === '$0') return [];
    return [[...prefix, name], ...paths(d.commands ?? [], [...prefix, name])];
  });

describe('every command in the table', () => {
  it.each(paths(COMMANDS).map((p) => [p.join(' '), p]))('%s --help shows examples and the exit codes', async (_, path) => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const c = io();
    expect(await runCli([...path, '--help'], c.io)).toBe(0);
    const help = log.mock.calls.map((a) => a.join(' ')).join('\n');
    expect(help).toContain(`phase-compose ${path.join(' ')}`);
    expect(help).toMatch(/\nExamples:\n {2}phase-compose /);
    expect(help).toContain(helpTable());
    expect(calls).toEqual([]);
  });

  it('covers every command the top-level help lists', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    await runCli(['--help'], io().io);
    const listed = [...log.mock.calls.join('\n').matchAll(/^ {2}phase-compose ([a-z-]+)/gm)].map((m) => m[1]);
    expect(listed).toEqual(COMMANDS.map((d) => d.command.split(' ')[0]));
  });
});

describe('arguments reach the implementations camel-cased', () => {
  it('init', async () => {
    const [name, a] = await parsed(['init', '-d', 'x', '--client-ip', 'header', '--proxy-header', 'X-Real-IP', '--trusted', '10.0.0.0/8', '--compose-version', '2.26', '--engine-version', '26.1', '--tls', 'none', '-y']);
    expect(name).toBe('init');
    expect(a).toMatchObject({ dir: 'x', template: 'phase', clientIp: 'header', proxyHeader: 'X-Real-IP', trusted: ['10.0.0.0/8'], composeVersion: '2.26', engineVersion: '26.1', tls: 'none', yes: true, force: false });
  });

  it('generate', async () => {
    expect(await parsed(['generate', '-f', 'a/spec.yaml', '-o', 'out.yml', '--allow-outside', '--check', '-q', '--force'])).toEqual([
      'generate',
      expect.objectContaining({ file: 'a/spec.yaml', output: 'out.yml', allowOutside: true, check: true, quiet: true, force: true }),
    ]);
  });

  it('up, migrate, down, status, backup, restore', async () => {
    expect(await parsed(['-p', 'stage', 'up', 'backend', '--timeout', '90s', '--force-migrations', '--json', '--recreate'])).toEqual([
      'up',
      { file: 'phase-compose.yaml', projectName: 'stage', services: ['backend'], timeout: '90s', forceMigrations: true, json: true, recreate: true },
    ]);
    expect(await parsed(['upgrade', '--to', '2.74.0', '--dry-run', '--skip-post', '-y', '--timeout', '2m'])).toEqual([
      'upgrade',
      { file: 'phase-compose.yaml', projectName: undefined, to: '2.74.0', dryRun: true, skipPost: true, yes: true, timeout: '2m', json: false, isTTY: false },
    ]);
    expect(await parsed(['rollback', '--yes'])).toEqual(['rollback', { file: 'phase-compose.yaml', projectName: undefined, dryRun: false, yes: true, timeout: '5m', isTTY: false }]);
    expect(await parsed(['migrate', '--phase', 'post', '--force'])).toEqual([
      'migrate',
      { file: 'phase-compose.yaml', projectName: undefined, phase: 'post', timeout: '10m', forceMigrations: true, json: false },
    ]);
    expect(await parsed(['down', '-v', '-p', 'x'])).toEqual(['down', expect.objectContaining({ file: 'phase-compose.yaml', projectName: 'x', volumes: true })]);
    expect(await parsed(['status', '--no-check-migrations', '--json'])).toEqual(['status', expect.objectContaining({ json: true, checkMigrations: false })]);
    expect(await parsed(['backup', '--out', 'b.dump', '--dir', 'bk', '--keep', '3'])).toEqual(['backup', expect.objectContaining({ out: 'b.dump', dir: 'bk', keep: 3 })]);
    expect(await parsed(['backup', '--compress', '0'])).toEqual(['backup', expect.objectContaining({ compress: 0 })]);
    expect(await parsed(['backup'])).toEqual(['backup', expect.objectContaining({ compress: undefined })]);
    expect(await parsed(['restore', 'b.dump', '-y'])).toEqual(['restore', expect.objectContaining({ backup: 'b.dump', yes: true, force: false, ignoreEnv: false })]);
    // Two refusals, two flags: --force (an archive older than the database) no longer lifts the env one.
    expect(await parsed(['restore', 'b.pcbak', '--force'])).toEqual(['restore', expect.objectContaining({ force: true, ignoreEnv: false })]);
    expect(await parsed(['restore', 'b.pcbak', '--ignore-env'])).toEqual(['restore', expect.objectContaining({ force: false, ignoreEnv: true })]);
  });

  it('exec and its subcommands', async () => {
    expect(await parsed(['exec', 'purge', 'Acme; Inc', '--retain', '90', '--app-id', 'a1', '--batch-size', '10', '--sleep-ms', '0', '--dry-run', '-y'])).toEqual([
      'purge',
      expect.objectContaining({ org: 'Acme; Inc', retain: 90, appId: 'a1', batchSize: 10, sleepMs: 0, dryRun: true, vacuum: false, vacuumFull: false, yes: true }),
    ]);
    // An organisation that starts with - (yargs reads a positional -Acme as options): as --org=NAME, from 2026-11-29.
    expect(await parsed(['exec', 'purge', '--org=-Acme', '--dry-run'])).toEqual(['purge', expect.objectContaining({ org: '-Acme', dryRun: true })]);
    expect(await parsed(['exec', 'purge', '--org=--settings=x'])).toEqual(['purge', expect.objectContaining({ org: '--settings=x' })]);
    expect(await parsed(['exec', 'sso', '--org', 'Acme', '--disable-enforcement', '--delete-providers'])).toEqual([
      'sso',
      expect.objectContaining({ org: 'Acme', disableEnforcement: true, deleteProviders: true, yes: false }),
    ]);
    expect(await parsed(['exec', 'reset-network-policies', '--service', 'backend'])).toEqual(['reset', expect.objectContaining({ service: 'backend', yes: false })]);
    expect(await parsed(['exec', 'run', 'backend', '--', 'python', '-c', 'print(1)'])).toEqual(['run', expect.objectContaining({ service: 'backend', argv: ['python', '-c', 'print(1)'] })]);
    expect(await parsed(['exec', 'shell', 'postgres', '--shell', 'bash'])).toEqual(['shell', expect.objectContaining({ service: 'postgres', shell: 'bash' })]);
    expect(await parsed(['exec', 'mytask', 'first', '--days', '3', '--', '-x'])).toEqual(['task', expect.objectContaining({ task: 'mytask', words: ['first', '--days', '3', '--', '-x'], yes: false })]);
    // Words stay as typed: until 2026-11-28 yargs made numbers of them (0x10 ran as 16, a tag 1.10 as 1.1).
    const typed = ['0x10', '1e3', '1.50', '5.', '007', '1.10', '-0'];
    expect(await parsed(['exec', 'run', 'backend', '--', 'echo', ...typed])).toEqual(['run', expect.objectContaining({ argv: ['echo', ...typed] })]);
    // Words before -- are refused (yargs took -p, -f, -y out of them): see args.test.ts.
    expect(await parsed(['exec', 'run', 'backend', '--', 'echo', '1.10', '0x10'])).toEqual(['run', expect.objectContaining({ argv: ['echo', '1.10', '0x10'] })]);
    expect(await parsed(['exec', 'pin', '1.10', '--to', '2.10', '--', '0x10'])).toEqual(['task', expect.objectContaining({ words: ['1.10', '--to', '2.10', '--', '0x10'] })]);
  });
});
