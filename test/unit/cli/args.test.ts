// Every argument is checked before anything touches Docker or the disk (#11 item 17), in-process.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runCli } from '../../../src/cli/main.js';
import pkg from '../../../package.json' with { type: 'json' };

const cli = async (argv: string[]) => {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { out: (l) => out.push(l), err: (l) => err.push(l), isTTY: false });
  return { code, out: out.join('\n'), err: err.join('\n') };
};

// A Docker that cannot be reached: a command that got that far would exit 3, not 2.
let saved: string | undefined;
beforeAll(() => {
  saved = process.env.DOCKER_HOST;
  process.env.DOCKER_HOST = `unix://${join(mkdtempSync(join(tmpdir(), 'pc-args-')), 'no-such.sock')}`;
});
afterAll(() => {
  if (saved === undefined) delete process.env.DOCKER_HOST;
  else process.env.DOCKER_HOST = saved;
});

describe('bad arguments are usage errors (exit 2), found before Docker or the disk', () => {
  it.each<[string[], string]>([
    [['validate', '-f'], 'Not enough arguments following: f'],
    [['generate', '-o'], 'Not enough arguments following: o'],
    [['init', '--dir'], 'Not enough arguments following: dir'],
    [['up', '--timeout', '-5'], '--timeout: not a duration: "-5"'],
    [['up', '--timeout', 'abc'], '--timeout: not a duration: "abc"'],
    [['up', '--timeout', '0'], '--timeout: must be more than zero, got "0"'],
    [['up', '--timeout'], 'Not enough arguments following: timeout'],
    [['migrate', '--timeout', '5 minutes'], '--timeout: not a duration'],
    [['exec', 'purge', 'Acme Inc', '--retain', 'abc'], '--retain: expected a whole number (0 or more)'],
    [['exec', 'purge', 'Acme Inc', '--retain', '-1'], '--retain: expected a whole number (0 or more)'],
    [['exec', 'purge', 'Acme Inc', '--retain', '1.5'], '--retain: expected a whole number (0 or more)'],
    [['exec', 'purge', 'Acme Inc', '--batch-size', 'x'], '--batch-size: expected a whole number'],
    [['exec', 'purge', 'Acme Inc', '--retain', '3000000000'], '--retain: at most 700000 (the app counts back from today in Python dates'],
    [['exec', 'purge', 'Acme Inc', '--retain', '700001'], '--retain: at most 700000'],
    [['exec', 'purge', 'Acme Inc', '--batch-size', '2147483648'], '--batch-size: at most 2147483647'],
    [['up', '--timeout', '99999999999999999999'], '--timeout: too long a duration: "99999999999999999999s" (at most 2562047h'],
    [['up', '--timeout', '2562048h'], '--timeout: too long a duration'],
    [['backup', '--keep', 'all'], '--keep: expected a whole number'],
    // 0 rows per batch: the app failed after Docker was asked (until 2026-11-29).
    [['exec', 'purge', 'Acme', '--batch-size', '0'], '--batch-size: expected a whole number (1 or more)'],
    [['exec', 'purge', 'Acme', '--org=B'], 'the organisation is given twice (as <organisation> and --org): give it once'],
    [['exec', 'purge', '--dry-run'], 'name the organisation: exec purge <organisation>, or --org=NAME'],
    [['exec', 'purge', '--org='], 'name the organisation: exec purge <organisation>, or --org=NAME'],
    [['-p', '', 'up'], '-p "": a Compose project name is lower-case letters, digits, "_" and "-", starting with a letter or digit'],
    [['-p', '../x', 'status'], '-p "../x": a Compose project name'],
    [['down', '-p', 'My Stack'], '-p "My Stack": a Compose project name'],
    [['exec', 'run', 'backend', '-p', '_x', '--', 'true'], '-p "_x": a Compose project name'],
    // Before --, yargs took -p out of the command: `psql -p 5432` ran as `psql` in project 5432 (until 2026-11-29).
    [['exec', 'run', 'backend', 'psql', '-p', '5432'], 'exec run: put the command after --, e.g. `exec run backend -- psql ...`'],
    [['exec', 'run', 'backend', 'apt-get', 'install', '-y', 'curl'], 'exec run: put the command after --'],
    // An option that takes one value, given twice (until 2026-11-29: a crash "Cannot redefine property: f",
    // exit 1 "a bug", or the values joined as "A,B" and acted on).
    [['-f', 'a.yaml', '-f', 'b.yaml', 'status'], '-f is given more than once: give it once'],
    [['exec', 'sso', '--org', 'A', '--org', 'B', '--show'], '--org is given more than once: give it once'],
    [['upgrade', '--to', '1', '--to=2'], '--to is given more than once: give it once'],
    [['-p'], 'Not enough arguments following: p'],
    [['up', '--bogus'], 'Unknown argument: bogus'],
    // --dir writes the archive's env files: there is nothing to ignore (the flag did not exist until 2026-11-29).
    [['restore', 'x.pcbak', '--dir', 'new', '--ignore-env'], '--ignore-env is for a restore into the running stack: --dir builds a new stack from the archive, its env values included'],
    [['restore', 'x.pcbak', '--dir', 'new', '--force'], '--force is for a restore into the running stack'],
    [[], 'Name a command'],
  ])('%j', async (argv, message) => {
    const r = await cli(argv);
    expect(r.err).toContain(message);
    expect(r.err).not.toContain('cannot reach the Docker Engine');
    expect(r.code).toBe(2);
  });

  it('a good project name passes the check (then the missing spec is reported)', async () => {
    const r = await cli(['-p', 'phase_staging-2', 'validate', '-f', '/nonexistent/phase-compose.yaml']);
    expect(r.err).toContain('no deployment spec at /nonexistent/phase-compose.yaml');
    expect(r.code).toBe(2);
  });

  it('restore of a missing backup is exit 2 before Docker is asked', async () => {
    const spec = join(import.meta.dirname, '../../../examples/phase-single-host/phase-compose.yaml');
    const r = await cli(['restore', '/nonexistent/x.dump', '-f', spec, '--yes']);
    expect(r.err).toContain('no backup file /nonexistent/x.dump');
    expect(r.code).toBe(2);
  });

  // Until 2026-11-29 both were accepted for a plain dump, where they lift nothing: no check of either kind runs there.
  it('restore of a plain pg_dump file with --force or --ignore-env is exit 2 before Docker is asked', async () => {
    const spec = join(import.meta.dirname, '../../../examples/phase-single-host/phase-compose.yaml');
    const dump = join(mkdtempSync(join(tmpdir(), 'pc-args-')), 'x.dump');
    writeFileSync(dump, Buffer.concat([Buffer.from('PGDMP'), Buffer.alloc(64)]));
    for (const flag of ['--force', '--ignore-env']) {
      const r = await cli(['restore', dump, '-f', spec, '--yes', flag]);
      expect(r.err).toContain(`${flag} is for an archive: ${dump} is a plain pg_dump file`);
      expect(r.err).not.toContain('cannot reach the Docker Engine');
      expect(r.code).toBe(2);
    }
    const both = await cli(['restore', dump, '-f', spec, '--yes', '--force', '--ignore-env']);
    expect(both.err).toContain(`--force and --ignore-env are for an archive: ${dump} is a plain pg_dump file`);
    expect(both.code).toBe(2);
  });

  it('restore of a directory or a FIFO is exit 2 before Docker is asked, naming what it is (a FIFO is never opened)', async () => {
    const spec = join(import.meta.dirname, '../../../examples/phase-single-host/phase-compose.yaml');
    const dir = mkdtempSync(join(tmpdir(), 'pc-args-'));
    expect(spawnSync('mkfifo', [join(dir, 'fifo.dump')]).status).toBe(0);
    const d = await cli(['restore', dir, '-f', spec, '--yes']);
    expect(d.err).toContain(`${dir} is a directory, not a backup file (a backup is a regular file)`);
    expect(d.code).toBe(2);
    const f = await cli(['restore', join(dir, 'fifo.dump'), '-f', spec, '--yes']);
    expect(f.err).toContain(`${join(dir, 'fifo.dump')} is a named pipe (FIFO), not a backup file`);
    expect(f.code).toBe(2);
  });

  it('backup --out onto an existing file is refused (exit 1) before Docker is asked', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pc-args-'));
    copyFileSync(join(import.meta.dirname, '../../../examples/phase-single-host/phase-compose.yaml'), join(dir, 'phase-compose.yaml'));
    writeFileSync(join(dir, 'mine.txt'), 'keep');
    // --out is read from the current directory (since 2026-11-29; from the spec's before).
    const r = await cli(['backup', '-f', join(dir, 'phase-compose.yaml'), '--out', join(dir, 'mine.txt')]);
    expect(r.err).toContain('refusing to overwrite');
    expect(r.code).toBe(1);
    expect(readFileSync(join(dir, 'mine.txt'), 'utf8')).toBe('keep');
  });

  it('generate -o with no value writes nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pc-args-'));
    expect((await cli(['generate', '-f', join(dir, 'phase-compose.yaml'), '-o'])).code).toBe(2);
    expect(existsSync(join(dir, 'docker-compose.yml'))).toBe(false);
  });
});

describe('--version and unexpected errors', () => {
  it('--version prints the package\'s version', async () => {
    // yargs prints the version itself, with console.log.
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      expect((await cli(['--version'])).code).toBe(0);
      expect(log.mock.calls).toEqual([[pkg.version]]);
    } finally {
      log.mockRestore();
    }
  });

  it('an error nobody foresaw exits 1 with the message and a request to report it, never 70', async () => {
    const { reportError } = await import('../../../src/cli/main.js');
    const err: string[] = [];
    const code = reportError(new TypeError('x is not a function'), { out: () => {}, err: (l) => err.push(l), isTTY: false });
    expect(code).toBe(1);
    expect(err[0]).toBe('phase-compose: unexpected error: x is not a function');
    expect(err.join('\n')).toContain('please report it');
  });
});
