// init never loses the user's data (#11 items 8, 9, 16): backups, .env entries, prompts, bad --dir.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runInit } from '../../../src/cli/commands/init.js';
import { parseEnvFile } from '../../../src/init/env-file.js';
import { PhaseComposeError } from '../../../src/util/errors.js';

const capture = (isTTY = false) => {
  const out: string[] = [];
  return { io: { out: (l: string) => out.push(l), err: () => {}, isTTY }, out };
};
const fresh = () => mkdtempSync(join(tmpdir(), 'pc-init-'));
const base = { template: 'phase', yes: true, tls: 'none' as const, composeVersion: '1.29.2', engineVersion: '20.10.24' };
const failure = async (p: Promise<unknown>) => {
  const e = await p.then(() => undefined, (x: unknown) => x);
  expect(e).toBeInstanceOf(PhaseComposeError);
  return e as PhaseComposeError;
};
const tree = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? tree(join(dir, e.name)).map((f) => `${e.name}/${f}`) : [e.name])).sort();

describe('init --force keeps the user\'s data', () => {
  it('a target it cannot write (a directory where the compose file goes) is found before the first write: nothing is written or backed up', async () => {
    // Until 2026-11-29 the spec and .env were backed up and written first, then docker-compose.yml failed.
    const dir = fresh();
    await runInit({ ...base, dir }, capture().io);
    const before = tree(dir);
    const spec = readFileSync(join(dir, 'phase-compose.yaml'), 'utf8');
    const compose = join(dir, 'docker-compose.yml');
    rmSync(compose);
    mkdirSync(compose);
    const e = await failure(runInit({ ...base, dir, force: true, host: 'two.example.com' }, capture().io));
    expect(tree(dir)).toEqual(before.filter((f) => f !== 'docker-compose.yml'));
    expect(readFileSync(join(dir, 'phase-compose.yaml'), 'utf8')).toBe(spec);
    expect(e.message).toContain(`${compose} is a directory, not a file`);
    expect(e.details).toContain('nothing was written');
  });

  it('a second --force keeps the first backup: .bak, then .bak.1', async () => {
    const dir = fresh();
    await runInit({ ...base, dir }, capture().io);
    const first = readFileSync(join(dir, '.env'), 'utf8');
    await runInit({ ...base, dir, force: true, host: 'two.example.com' }, capture().io);
    const second = readFileSync(join(dir, '.env'), 'utf8');
    await runInit({ ...base, dir, force: true, host: 'three.example.com' }, capture().io);
    expect(readFileSync(join(dir, '.env.bak'), 'utf8')).toBe(first);
    expect(readFileSync(join(dir, '.env.bak.1'), 'utf8')).toBe(second);
    for (const f of ['.env.bak', '.env.bak.1']) expect(statSync(join(dir, f)).mode & 0o777, f).toBe(0o600);
    expect(existsSync(join(dir, 'docker-compose.yml.bak.1'))).toBe(true);
  });

  it('keeps extra entries, the user\'s HOST, comments, and reads export/quoted secrets', async () => {
    const dir = fresh();
    const env = [
      '# my notes',
      'export DATABASE_PASSWORD="db pass#1"',
      "SECRET_KEY='sk'",
      'HOST=phase.mine.example',
      'GOOGLE_CLIENT_SECRET=oauth-secret # comment',
      '',
    ].join('\n');
    writeFileSync(join(dir, '.env'), env, { mode: 0o600 });
    const { io, out } = capture();
    await runInit({ ...base, dir, force: true }, io);
    const text = readFileSync(join(dir, '.env'), 'utf8');
    const e = parseEnvFile(text);
    expect(e.DATABASE_PASSWORD).toBe('db pass#1');
    expect(e.SECRET_KEY).toBe('sk');
    expect(e.HOST).toBe('phase.mine.example');
    expect(e.GOOGLE_CLIENT_SECRET).toBe('oauth-secret');
    expect(e.SERVER_SECRET).toMatch(/^[0-9a-f]{64}$/);
    expect(e.HTTP_PROTOCOL).toBe('http://');
    expect(text.startsWith(env)).toBe(true); // every line kept as written
    expect(statSync(join(dir, '.env')).mode & 0o777).toBe(0o600);
    expect(out).toContain('kept existing secrets from .env: SECRET_KEY, DATABASE_PASSWORD');
    // The spec's compose file reads the same values (Compose reads .env beside it).
    expect(readFileSync(join(dir, 'phase-compose.yaml'), 'utf8')).not.toContain('db pass');
  });

  it('--host replaces HOST; an empty secret gets a new one', async () => {
    const dir = fresh();
    writeFileSync(join(dir, '.env'), 'HOST=old.example\nREDIS_PASSWORD=\n');
    await runInit({ ...base, dir, force: true, host: 'new.example' }, capture().io);
    const e = parseEnvFile(readFileSync(join(dir, '.env'), 'utf8'));
    expect(e.HOST).toBe('new.example');
    expect(e.REDIS_PASSWORD).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('init leaves nothing behind and never crashes', () => {
  it('a HOST in .env that is not a host name is named as such (exit 2)', async () => {
    const dir = fresh();
    writeFileSync(join(dir, '.env'), 'HOST="a b"\n');
    const e = await failure(runInit({ ...base, dir, force: true }, capture().io));
    expect(e.kind).toBe('usage');
    expect(e.message).toMatch(/^HOST in .*\.env "a b" is not a host name$/);
  });

  it('--dir naming a file is a usage error (exit 2), nothing written', async () => {
    const dir = fresh();
    writeFileSync(join(dir, 'f'), 'x');
    const e = await failure(runInit({ ...base, dir: join(dir, 'f') }, capture().io));
    expect(e.kind).toBe('usage');
    expect(e.message).toMatch(/^--dir .*f is not a directory$/);
    expect((await failure(runInit({ ...base, dir: join(dir, 'f', 'sub') }, capture().io))).kind).toBe('usage');
    expect(tree(dir)).toEqual(['f']);
  });

  it('a directory that cannot be written is exit 1 with the reason, and no temp file remains', async () => {
    // A file where init needs a directory: the nginx config cannot be written.
    const target = fresh();
    writeFileSync(join(target, 'nginx'), 'not a directory');
    const e = await failure(runInit({ ...base, dir: target, force: true }, capture().io));
    expect(e.kind).toBe('problem');
    expect(e.message).toMatch(/^cannot write every file: .*\/nginx is a regular file, not a directory \(for .*nginx\/default\.conf\)$/);
    expect(tree(target)).toEqual(['nginx']); // found before the first write: nothing else is there
  });

  it('a dangling symlink where a directory goes is found before the first write', async () => {
    // Before: statSync failed on it as on a missing directory, the check passed, and init wrote the
    // spec and .env before mkdir failed (EEXIST) on the link.
    const target = fresh();
    symlinkSync(join(target, 'gone'), join(target, 'nginx'));
    const e = await failure(runInit({ ...base, dir: target, force: true }, capture().io));
    expect(e.kind).toBe('problem');
    expect(e.message).toMatch(/^cannot write every file: .*\/nginx is a symbolic link to .*\/gone, which does not exist \(for .*nginx\/default\.conf\)$/);
    expect(tree(target)).toEqual(['nginx']);
  });

  it('a directory it may not write is exit 1 with the reason', async () => {
    // root writes through mode bits, so as root the place is /sys, which refuses new entries to anyone.
    const root = process.getuid?.() === 0;
    const dir = root ? '/sys' : fresh();
    if (!root) chmodSync(dir, 0o500);
    const e = await failure(runInit({ ...base, dir: join(dir, 'pc-init-test', 'stack') }, capture().io));
    expect(e.kind).toBe('problem');
    expect(e.message).toMatch(root ? /operation not permitted|permission denied/ : /permission denied/);
  });

  it('under umask 000 the directories it creates are 0755, .env 0600', async () => {
    const dir = join(fresh(), 'a', 'stack');
    const old = process.umask(0);
    try {
      await runInit({ ...base, dir }, capture().io);
    } finally {
      process.umask(old);
    }
    for (const d of [join(dir, '..'), dir, join(dir, 'nginx')]) expect(statSync(d).mode & 0o777, d).toBe(0o755);
    expect(statSync(join(dir, '.env')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'docker-compose.yml')).mode & 0o777).toBe(0o644);
  });

  it.each([
    ['Ctrl-D (end of input)', (input: PassThrough) => input.end()],
    ['Ctrl-C', (input: PassThrough) => input.write('\x03')],
  ])('%s at a prompt exits 130 and writes nothing', async (_, key) => {
    const dir = join(fresh(), 'stack');
    const input = new PassThrough() as PassThrough & { isTTY?: boolean; setRawMode?: () => void };
    input.isTTY = true;
    input.setRawMode = () => {};
    const output = new PassThrough();
    output.resume();
    const run = runInit({ ...base, yes: false, dir }, capture(true).io, { input, output });
    setImmediate(() => key(input));
    const e = await failure(run);
    expect(e.kind).toBe('interrupted');
    expect(existsSync(dir)).toBe(false);
  });

  it('answers at the prompts are used; the default host is the one in .env', async () => {
    const dir = fresh();
    writeFileSync(join(dir, '.env'), 'HOST=kept.example\n');
    const input = new PassThrough();
    const output = new PassThrough();
    const prompts: string[] = [];
    // Answer each prompt when it appears: the host's default, then the client IP mode.
    output.on('data', (c: Buffer) => {
      prompts.push(c.toString());
      input.write(c.toString().startsWith('Host name') ? '\n' : 'direct\n');
    });
    const run = runInit({ ...base, yes: false, force: true, dir }, capture(true).io, { input, output });
    expect(await run).toEqual({ status: 'ok' });
    expect(prompts.join('')).toContain('[kept.example]');
    expect(parseEnvFile(readFileSync(join(dir, '.env'), 'utf8')).HOST).toBe('kept.example');
  });

  it('a host typed at the prompt goes into .env, as --host does (and the certificate names it too)', async () => {
    const dir = fresh();
    writeFileSync(join(dir, '.env'), 'HOST=old.example\n');
    const input = new PassThrough();
    const output = new PassThrough();
    output.on('data', (c: Buffer) => input.write(c.toString().startsWith('Host name') ? 'new.example\n' : 'direct\n'));
    expect(await runInit({ ...base, yes: false, force: true, dir, tls: 'self-signed' }, capture(true).io, { input, output })).toEqual({ status: 'ok' });
    expect(parseEnvFile(readFileSync(join(dir, '.env'), 'utf8')).HOST).toBe('new.example');
    const subject = spawnSync('openssl', ['x509', '-noout', '-subject', '-in', join(dir, 'nginx/tls/cert.pem')], { encoding: 'utf8' }).stdout;
    expect(subject).toMatch(/CN ?= ?new\.example/);
  });
});
