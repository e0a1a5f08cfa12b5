import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runInit } from '../../../src/cli/commands/init.js';
import { PhaseComposeError } from '../../../src/util/errors.js';
import { parseEnvFile } from '../../../src/init/env-file.js';
import { composeSpecErrors } from '../compose-schema.js';

const capture = () => {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l), isTTY: false }, out, err };
};
const fresh = () => mkdtempSync(join(tmpdir(), 'pc-init-'));
const base = { template: 'phase', yes: true, tls: 'none' as const, composeVersion: '1.29.2', engineVersion: '20.10.24' };

describe('init', () => {
  it('writes spec, .env (0600, strong distinct secrets), compose file and nginx config', async () => {
    const dir = fresh();
    const { io, out } = capture();
    expect(await runInit({ ...base, dir, host: 'phase.example.com' }, io)).toEqual({ status: 'ok' });
    for (const f of ['phase-compose.yaml', '.env', 'docker-compose.yml', 'nginx/default.conf']) expect(existsSync(join(dir, f)), f).toBe(true);
    expect(statSync(join(dir, '.env')).mode & 0o777).toBe(0o600);
    const env = parseEnvFile(readFileSync(join(dir, '.env'), 'utf8'));
    const secrets = ['SECRET_KEY', 'SERVER_SECRET', 'DATABASE_PASSWORD', 'REDIS_PASSWORD'].map((k) => env[k]!);
    for (const s of secrets) expect(s).toMatch(/^[0-9a-f]{64}$/);
    expect(new Set(secrets).size).toBe(4);
    expect(env.HOST).toBe('phase.example.com');
    const compose = readFileSync(join(dir, 'docker-compose.yml'), 'utf8');
    for (const s of secrets) expect(compose).not.toContain(s);
    expect(composeSpecErrors(parse(compose))).toEqual([]);
    expect(readFileSync(join(dir, 'phase-compose.yaml'), 'utf8')).toMatch(/^# yaml-language-server: \$schema=.*schema\/phase-compose\.schema\.json\n/);
    expect(out.at(-1)).toMatch(/^Next: cd \S+ && \S.* up$/m);
  });

  it('has the services of Phase\'s official file, healthchecks, and no trust auth', async () => {
    const dir = fresh();
    await runInit({ ...base, dir }, capture().io);
    const compose = parse(readFileSync(join(dir, 'docker-compose.yml'), 'utf8')) as { services: Record<string, Record<string, unknown>> };
    expect(Object.keys(compose.services)).toEqual(['postgres', 'redis', 'migrations', 'backend', 'worker', 'frontend', 'nginx']);
    for (const s of ['postgres', 'redis', 'backend', 'frontend', 'nginx']) expect(compose.services[s]!.healthcheck, s).toBeDefined();
    expect(JSON.stringify(compose)).not.toMatch(/trust/i);
    expect(compose.services.redis!.command).toEqual(['redis-server', '--requirepass', '${REDIS_PASSWORD}']);
    expect(compose.services.migrations!.restart).toBe('no');
    expect(compose.services.backend!.depends_on).toMatchObject({ migrations: { condition: 'service_completed_successfully' } });
    expect((compose.services.backend!.environment as Record<string, string>).EXTERNAL_MIGRATION).toBe('true');
  });

  it('refuses to overwrite, names the files, writes nothing', async () => {
    const dir = fresh();
    writeFileSync(join(dir, '.env'), 'SECRET_KEY=keep\n');
    const err = await runInit({ ...base, dir }, capture().io).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PhaseComposeError);
    expect((err as PhaseComposeError).kind).toBe('problem');
    expect((err as PhaseComposeError).message).toMatch(/^refusing to overwrite existing file: .*\.env$/);
    expect(existsSync(join(dir, 'phase-compose.yaml'))).toBe(false);
    expect(readFileSync(join(dir, '.env'), 'utf8')).toBe('SECRET_KEY=keep\n');
  });

  it('with --force keeps a .bak of each file and keeps existing secrets', async () => {
    const dir = fresh();
    await runInit({ ...base, dir }, capture().io);
    const before = readFileSync(join(dir, '.env'), 'utf8');
    const { io, out } = capture();
    await runInit({ ...base, dir, force: true, host: 'other.example.com' }, io);
    expect(readFileSync(join(dir, '.env.bak'), 'utf8')).toBe(before);
    expect(existsSync(join(dir, 'docker-compose.yml.bak'))).toBe(true);
    const a = parseEnvFile(before);
    const b = parseEnvFile(readFileSync(join(dir, '.env'), 'utf8'));
    expect(b.DATABASE_PASSWORD).toBe(a.DATABASE_PASSWORD);
    expect(b.HOST).toBe('other.example.com');
    expect(out).toContain('kept existing secrets from .env: SECRET_KEY, SERVER_SECRET, DATABASE_PASSWORD, REDIS_PASSWORD');
  });

  it('with --force keeps a secret whose bare value holds a "#" (Compose reads it whole: the database has it)', async () => {
    // Until 2026-11-28 dotenv read DATABASE_PASSWORD=#Xk9pQ2wLm7 as empty, and init --force replaced it:
    // the app was locked out of a database initialised with the old value.
    const dir = fresh();
    await runInit({ ...base, dir }, capture().io);
    const env = join(dir, '.env');
    writeFileSync(env, readFileSync(env, 'utf8').replace(/^DATABASE_PASSWORD=.*$/m, 'DATABASE_PASSWORD=#Xk9pQ2wLm7').replace(/^SECRET_KEY=(.*)$/m, 'SECRET_KEY=ab#$1'));
    const secretKey = parseEnvFile(readFileSync(env, 'utf8')).SECRET_KEY!;
    const { io, out } = capture();
    await runInit({ ...base, dir, force: true }, io);
    const after = readFileSync(env, 'utf8');
    expect(after).toMatch(/^DATABASE_PASSWORD=#Xk9pQ2wLm7$/m);
    expect(parseEnvFile(after)).toMatchObject({ DATABASE_PASSWORD: '#Xk9pQ2wLm7', SECRET_KEY: secretKey });
    expect(secretKey).toMatch(/^ab#[0-9a-f]{64}$/);
    expect(out).toContain('kept existing secrets from .env: SECRET_KEY, SERVER_SECRET, DATABASE_PASSWORD, REDIS_PASSWORD');
  });

  it.each([
    ['cloudflare', {}, 'map $http_cf_connecting_ip $client_real_ip {'],
    ['header', { proxyHeader: 'X-Forwarded-For', trusted: ['10.0.0.0/8'] }, 'set_real_ip_from 10.0.0.0/8;\nreal_ip_header X-Forwarded-For;'],
    ['direct', {}, '# Direct: the client is the socket address'],
  ] as const)('writes nginx config for client IP mode %s', async (mode, extra, expected) => {
    const dir = fresh();
    await runInit({ ...base, dir, clientIp: mode, ...extra }, capture().io);
    expect(readFileSync(join(dir, 'nginx/default.conf'), 'utf8')).toContain(expected);
  });

  it('rejects header mode without trusted ranges', async () => {
    await expect(runInit({ ...base, dir: fresh(), clientIp: 'header' }, capture().io)).rejects.toThrow('--client-ip header needs --trusted');
  });
});
