import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { composeArgv, createArgs } from '../../../src/docker/compose-cli.js';
import { jsonLines } from '../../../src/docker/events.js';
import { acquireLock, lockPath } from '../../../src/docker/lock.js';
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
  const dir = mkdtempSync(join(tmpdir(), 'pc-lock-'));
  it('refuses a second holder while the first lives, names it, and frees on release', () => {
    const a = acquireLock('fx', 'up', { dir });
    expect(() => acquireLock('fx', 'up', { dir })).toThrowError(expect.objectContaining({ kind: 'locked', message: expect.stringContaining(`another phase-compose up is running on project "fx" (pid ${process.pid}`) }));
    a.release();
    acquireLock('fx', 'up', { dir }).release();
  });
  it('takes over a lock left by a dead process', () => {
    writeFileSync(lockPath('gone', dir), JSON.stringify({ pid: 2 ** 22 + 12345, command: 'up', started: 'x' }));
    const l = acquireLock('gone', 'migrate', { dir });
    expect(JSON.parse(readFileSync(l.path, 'utf8')).command).toBe('migrate');
    l.release();
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
