import { describe, expect, it, vi } from 'vitest';
import { backupPlace } from '../../../src/cli/commands/backup.js';
import { specOf, y } from '../helpers.js';

/** A one-service spec with postgres, and `extra` (one line of YAML) at its top level. */
const demo = (extra: string) => specOf(y`
  name: demo
  data:
    postgres: { image: pg, database: app, user: app, password: "\${P}" }
  services:
    web: { image: app }
  ${extra}
`);
const withBackup = (backup: string) => demo(`migrations: { same_image_as: web, command: [migrate], before: [web], backup: ${backup} }`);
const without = demo('');
const level6 = demo('backups: { compress: 6 }');

describe('backup: one rule for where and how many', () => {
  it.each([
    ['migrations.backup: true keeps 5, as up does', {}, withBackup('true'), { dir: 'backups', keep: 5 }],
    ['the spec\'s dir and keep', {}, withBackup('{ dir: b, keep: 2 }'), { dir: 'b', keep: 2 }],
    ['the flags win', { dir: 'x', keep: 9 }, withBackup('{ dir: b, keep: 2 }'), { dir: 'x', keep: 9 }],
    ['without migrations.backup: ./backups, the newest 5 kept', {}, without, { dir: 'backups', keep: 5 }],
    ['backups: wins over migrations.backup', {}, specOf(y`
      name: demo
      data:
        postgres: { image: pg, database: app, user: app, password: "\${P}" }
      services:
        web: { image: app }
      migrations: { same_image_as: web, command: [migrate], before: [web], backup: { dir: b, keep: 2 } }
      backups: { dir: archives, keep: 7, env: [SECRET_KEY] }
    `), { dir: 'archives', keep: 7 }],
    ['the spec\'s zlib level', {}, level6, { dir: 'backups', keep: 5, compress: 6 }],
    ['--compress wins over backups.compress', { compress: 0 }, level6, { dir: 'backups', keep: 5, compress: 0 }],
    ['no level from either: left to pgDumpArgv', {}, without, { dir: 'backups', keep: 5 }],
  ])('%s', (_, args, spec, want) => expect(backupPlace(args, spec)).toStrictEqual(want));
});

describe('backup subcommands refuse backup\'s own options (yargs hands them down)', () => {
  it.each([
    [['backup', 'schedule', '--every', '6h', '--passphrase-file', '/k', '--out', 'x'], '--out is for `backup`, not `backup schedule`'],
    [['backup', 'verify', 'a.pcbak', '--keep', '3', '--no-encrypt'], '--keep, --no-encrypt are for `backup`, not `backup verify`'],
    [['backup', 'verify', 'a.pcbak', '--compress', '9'], '--compress is for `backup`, not `backup verify`'],
  ])('%j', async (argv, message) => {
    const { runCli } = await import('../../../src/cli/main.js');
    const err: string[] = [];
    const code = await runCli(argv, { out: () => {}, err: (l: string) => err.push(l), isTTY: false });
    expect(code).toBe(2);
    expect(err[0]).toBe(`phase-compose: ${message}`);
  });
});

describe('backup --compress: a zlib level, checked while parsing', () => {
  it.each([['10'], ['-1'], ['1.5'], ['fast']])('--compress %s is a usage error', async (level) => {
    const { runCli } = await import('../../../src/cli/main.js');
    const err: string[] = [];
    const code = await runCli(['-f', '/nonexistent/phase-compose.yaml', 'backup', '--compress', level], { out: () => {}, err: (l: string) => err.push(l), isTTY: false });
    expect(code).toBe(2);
    expect(err.join('\n')).toMatch(/--compress: expected a level from 0 \(none\) to 9 \(smallest\)/);
  });

  it('the help names the default pgDumpArgv uses', async () => {
    const { DUMP_COMPRESSION } = await import('../../../src/exec/postgres.js');
    const { runCli } = await import('../../../src/cli/main.js');
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      expect(await runCli(['backup', '--help'], { out: () => {}, err: () => {}, isTTY: false })).toBe(0);
      expect(log.mock.calls.join('\n').replace(/\s+/g, ' ')).toContain(`else ${DUMP_COMPRESSION}, the fastest that compresses`);
    } finally {
      log.mockRestore();
    }
  });
});
