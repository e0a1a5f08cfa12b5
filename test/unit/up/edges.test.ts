import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { attachedUp, composeArgv, createArgs } from '../../../src/docker/compose-cli.js';
import { jsonLines } from '../../../src/docker/events.js';
import { acquireLock, defaultLockDir, lockHolder, lockPath } from '../../../src/docker/lock.js';
import { healthcheckArgv } from '../../../src/docker/waiter.js';
import { demuxLogs } from '../../../src/up/engine.js';
import { downArgs } from '../../../src/cli/commands/down.js';
import { findComposeArgv } from '../../../src/docker/detect.js';

describe('compose argv', () => {
  const cli = { argv: ['docker-compose'], version: '1.29.2', v1: true };
  it.each([
    [createArgs(['backend', 'worker'], ['--scale', 'backend=2']), ['docker-compose', '-p', 'fx', '-f', '/s/c.yml', 'up', '--no-start', '--no-deps', '--scale', 'backend=2', 'backend', 'worker']],
    [downArgs(true), ['docker-compose', '-p', 'fx', '-f', '/s/c.yml', 'down', '--remove-orphans', '--volumes']],
    [downArgs(false), ['docker-compose', '-p', 'fx', '-f', '/s/c.yml', 'down', '--remove-orphans']],
  ])('%j', (args, want) => {
    expect(composeArgv({ cli, project: 'fx', file: '/s/c.yml' }, args)).toEqual(want);
  });
  it('a saved copy of the compose file resolves its relative paths in the stack directory', () => {
    expect(composeArgv({ cli, project: 'fx', file: '/s/.phase-compose/fx.previous-compose.yml', projectDir: '/s' }, ['config']))
      .toEqual(['docker-compose', '-p', 'fx', '-f', '/s/.phase-compose/fx.previous-compose.yml', '--project-directory', '/s', 'config']);
  });
});

describe('attachedUp: the Compose calls that must only ever be killed (v1 stops their services on SIGINT or SIGTERM)', () => {
  it.each<[string[], boolean]>([
    [createArgs(['backend', 'worker']), true],
    // upgrade's new replicas, and its in-place replacement
    [['up', '--no-start', '--no-deps', '--no-recreate', '--scale', 'backend=2', 'backend'], true],
    [['up', '-d', '--no-deps', '--force-recreate', '--scale', 'nginx=1', 'nginx'], false],
    [['up', '--detach', 'postgres'], false],
    [['config'], false],
    [downArgs(true), false],
  ])('%j: %s', (args, want) => expect(attachedUp(args)).toBe(want));
});

describe('healthcheckArgv', () => {
  it.each([
    [['CMD-SHELL', 'pg_isready -h 127.0.0.1'], ['/bin/sh', '-c', 'pg_isready -h 127.0.0.1']],
    [['CMD', 'redis-cli', 'ping'], ['redis-cli', 'ping']],
    [['NONE'], undefined],
    [undefined, undefined],
  ])('%j', (test, want) => expect(healthcheckArgv(test)).toEqual(want));
});

describe('jsonLines', () => {
  it('joins objects split across chunks', () => {
    const got: unknown[] = [];
    const feed = jsonLines((o) => got.push(o));
    feed('{"a":1}\n{"b"');
    feed(':2}\n\nnot json\n');
    expect(got).toEqual([{ a: 1 }, { b: 2 }]);
  });
});

describe('demuxLogs', () => {
  it('joins frames of both streams', () => {
    const frame = (t: number, s: string) => Buffer.concat([Buffer.from([t, 0, 0, 0, 0, 0, 0, Buffer.byteLength(s)]), Buffer.from(s)]);
    expect(demuxLogs(Buffer.concat([frame(1, 'out\n'), frame(2, 'err\n')]))).toBe('out\nerr\n');
    expect(demuxLogs(Buffer.from('plain text here'))).toBe('plain text here');
  });
});

describe('acquireLock', () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'pc-lock-')), 'locks');
  it('refuses a second holder while the first lives, names it, and frees on release', () => {
    const a = acquireLock('fx', 'up', { dir });
    expect(() => acquireLock('fx', 'upgrade', { dir })).toThrowError(expect.objectContaining({ kind: 'locked', message: `another phase-compose up (pid ${process.pid}, since ${JSON.parse(readFileSync(a.path, 'utf8')).started}) is running on project "fx"` }));
    a.release();
    a.release();
    acquireLock('fx', 'up', { dir }).release();
  });
  it('the data lock: shared by backups, held alone by a restore, apart from the project lock', () => {
    const data = (command: string, shared = false) => acquireLock('fx', command, { dir, kind: 'data', shared });
    const up = acquireLock('fx', 'up', { dir }); // the project's lock does not hold the data lock
    const b1 = data('backup', true);
    const b2 = data('backup', true);
    expect(b1.path).toBe(lockPath('fx', dir, 'data'));
    expect(b1.path).not.toBe(up.path);
    expect(() => data('restore')).toThrowError(expect.objectContaining({ kind: 'locked', message: expect.stringMatching(/^another phase-compose backup \(pid \d+, since .*\) is running on project "fx"$/) }));
    b1.release();
    expect(() => data('restore')).toThrowError(expect.objectContaining({ kind: 'locked' })); // b2 still reads
    b2.release();
    const r = data('restore');
    expect(() => data('backup', true)).toThrowError(expect.objectContaining({ kind: 'locked', message: expect.stringMatching(/^another phase-compose restore \(pid /) }));
    r.release();
    up.release();
  });
  it('keeps every lock out of $XDG_RUNTIME_DIR: a login shell and a systemd unit or cron job must meet', () => {
    // An upgrade from an ssh session (XDG_RUNTIME_DIR set) and an `up` from a unit or cron (unset), or the
    // scheduled backup's unit against a restore from a shell: one directory for both, or no lock holds.
    const shell = { XDG_RUNTIME_DIR: '/run/user/1000' };
    expect(defaultLockDir(shell, '/home/u')).toBe('/home/u/.local/state/phase-compose/locks');
    expect(defaultLockDir(shell, '/home/u')).toBe(defaultLockDir({}, '/home/u'));
    expect(defaultLockDir({ ...shell, XDG_STATE_HOME: '/s' }, '/home/u')).toBe('/s/phase-compose/locks');
  });
  it('lockHolder: the holder named in the lock file while the kernel says the lock is held; not this process, not after release', async () => {
    const file = lockPath('holder', dir);
    acquireLock('holder', 'up', { dir }).release(); // the file exists, released: nobody holds it
    expect(lockHolder('holder', dir)).toBeUndefined();
    // Another process holds it (util-linux flock, as a second phase-compose would), and names itself.
    const owner = { pid: process.ppid, command: 'upgrade', started: '2026-11-29T00:00:00Z' };
    writeFileSync(file, JSON.stringify(owner));
    const other = spawn('flock', ['--nonblock', file, 'sh', '-c', 'echo held; read x'], { stdio: ['pipe', 'pipe', 'inherit'] });
    await once(other.stdout!, 'data');
    expect(lockHolder('holder', dir)).toEqual(owner);
    // A command that could not be phase-compose's is not printed.
    writeFileSync(file, JSON.stringify({ ...owner, command: 'up\u001b]0;x' }));
    expect(lockHolder('holder', dir)).toBeUndefined();
    writeFileSync(file, JSON.stringify(owner));
    other.stdin!.end();
    await once(other, 'exit');
    // Released: the same live pid in the file no longer makes a holder (until review it did).
    expect(lockHolder('holder', dir)).toBeUndefined();
    // This process's own lock is not another's.
    const mine = acquireLock('holder', 'up', { dir });
    expect(lockHolder('holder', dir)).toBeUndefined();
    mine.release();
    // No /proc/locks to ask: unknown, so nobody.
    writeFileSync(file, JSON.stringify(owner));
    expect(lockHolder('holder', dir, join(dir, 'no-such-file'))).toBeUndefined();
  });
  it('keeps its directory private (0700) and the lock file 0600', () => {
    acquireLock('mode', 'up', { dir }).release();
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(lockPath('mode', dir)).mode & 0o777).toBe(0o600);
  });
  it('does not trust a pid in the file: a live pid written there holds nothing', () => {
    writeFileSync(lockPath('pid', dir), JSON.stringify({ pid: process.pid, command: 'up', started: 'x' }));
    const l = acquireLock('pid', 'migrate', { dir });
    expect(JSON.parse(readFileSync(l.path, 'utf8')).command).toBe('migrate');
    l.release();
  });
  /** A process that takes `project`'s lock (in `dir`, else its default directory under `env`) and keeps it. */
  const holder = async (project: string, opts: { dir?: string; env?: NodeJS.ProcessEnv }) => {
    const lockModule = new URL('../../../src/docker/lock.ts', import.meta.url).pathname;
    const where = opts.dir ? `{ dir: ${JSON.stringify(opts.dir)} }` : '{}';
    const script = `import { acquireLock } from ${JSON.stringify(lockModule)}; acquireLock(${JSON.stringify(project)}, 'up', ${where}); console.log('held'); setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'], ...(opts.env ? { env: opts.env } : {}) });
    await new Promise<void>((res, rej) => {
      child.stdout!.on('data', (b: Buffer) => b.toString().includes('held') && res());
      child.on('exit', (c) => rej(new Error(`child exited ${c}`)));
    });
    return child;
  };
  it('is one lock for a login shell and for a job outside any session (no $XDG_RUNTIME_DIR)', async () => {
    const home = mkdtempSync(join(tmpdir(), 'pc-lock-home-'));
    const { XDG_RUNTIME_DIR: _r, XDG_STATE_HOME: _s, ...rest } = process.env;
    const shell = await holder('session', { env: { ...rest, HOME: home, XDG_RUNTIME_DIR: join(home, 'run') } });
    try {
      // The same user's cron job or systemd unit: until 2026-11-28 it took its own lock beside the shell's.
      const job = { ...rest, HOME: home };
      const other = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', `import { acquireLock } from ${JSON.stringify(new URL('../../../src/docker/lock.ts', import.meta.url).pathname)}; try { acquireLock('session', 'upgrade'); console.log('took'); } catch (e) { console.log(e.kind); }`], { stdio: ['ignore', 'pipe', 'inherit'], env: job });
      let out = '';
      other.stdout!.on('data', (b: Buffer) => (out += b.toString()));
      await new Promise((res) => other.on('exit', res));
      expect(out.trim()).toBe('locked');
    } finally {
      shell.kill('SIGKILL');
    }
  });
  it('is released by the kernel when its holder is killed with SIGKILL', async () => {
    const child = await holder('killed', { dir });
    expect(() => acquireLock('killed', 'up', { dir })).toThrowError(expect.objectContaining({ kind: 'locked', message: expect.stringContaining(`(pid ${child.pid},`) }));
    const exited = new Promise((res) => child.on('exit', res));
    child.kill('SIGKILL');
    await exited;
    acquireLock('killed', 'up', { dir }).release();
  });
  it('refuses a lock directory that others may write', () => {
    const open = join(mkdtempSync(join(tmpdir(), 'pc-lock-')), 'open');
    mkdirSync(open, { mode: 0o777 });
    chmodSync(open, 0o777);
    expect(() => acquireLock('x', 'up', { dir: open })).toThrowError(expect.objectContaining({ kind: 'problem', message: `the lock directory ${open} is writable by others (mode 777)` }));
  });
  it('refuses a lock directory that is a symlink', () => {
    const base = mkdtempSync(join(tmpdir(), 'pc-lock-'));
    mkdirSync(join(base, 'real'), { mode: 0o700 });
    symlinkSync(join(base, 'real'), join(base, 'link'));
    expect(() => acquireLock('x', 'up', { dir: join(base, 'link') })).toThrowError(expect.objectContaining({ kind: 'problem', message: expect.stringContaining('is not a directory (a symlink?)') }));
  });
});

describe('findComposeArgv', () => {
  const env = { PATH: '/usr/local/bin:/usr/bin' };
  const files = (...ps: string[]) => (p: string) => ps.includes(p);
  it.each([
    ['the v2 plugin in the user config', files('/usr/bin/docker', '/home/u/.docker/cli-plugins/docker-compose', '/usr/bin/docker-compose'), ['docker', 'compose']],
    ['the v2 plugin in a system directory', files('/usr/local/bin/docker', '/usr/libexec/docker/cli-plugins/docker-compose'), ['docker', 'compose']],
    ['docker-compose v1 on PATH, no plugin', files('/usr/local/bin/docker', '/usr/bin/docker-compose'), ['docker-compose']],
    ['a plugin but no docker CLI', files('/home/u/.docker/cli-plugins/docker-compose', '/usr/bin/docker-compose'), ['docker-compose']],
    ['nothing', files('/usr/bin/docker'), undefined],
  ])('%s', (_name, isFile, want) => {
    expect(findComposeArgv(env, '/home/u', isFile)).toEqual(want);
  });
  it('honours DOCKER_CONFIG', () => {
    expect(findComposeArgv({ ...env, DOCKER_CONFIG: '/cfg' }, '/home/u', files('/usr/bin/docker', '/cfg/cli-plugins/docker-compose'))).toEqual(['docker', 'compose']);
  });
});
