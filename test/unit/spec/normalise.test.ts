import { describe, expect, it } from 'vitest';
import { normaliseSpec, type NormalisedSpec } from '../../../src/spec/normalise.js';
import type { DeploymentSpec } from '../../../src/spec/types.js';

const base: DeploymentSpec = {
  name: 'demo',
  data: { postgres: { image: 'pg', database: 'app', user: 'app', password: '${P}' }, redis: { image: 'redis' } },
  services: { web: { image: 'app', healthcheck: { http: { port: 80 } } }, once: { image: 'app', role: 'job' } },
  migrations: { command: ['migrate'], before: ['web'], external: true, backup: true },
  proxy: { image: 'nginx', config: 'nginx.conf', routes: [{ path: '/', to: 'web:80' }] },
};
const n = normaliseSpec(base);

// Each row: the spec changed (or not), and what one defaulted field reads after normalising.
const rows: Array<[string, DeploymentSpec, (s: NormalisedSpec) => unknown, unknown]> = [
  ['target: the default Compose and Engine', base, (s) => s.target, { compose: '2.20.2', engine: '20.10' }],
  ['target: a written Compose keeps the default Engine', { ...base, target: { compose: '1.29' } }, (s) => s.target, { compose: '1.29', engine: '20.10' }],
  ['output', base, (s) => s.output, 'docker-compose.yml'],
  ['output as written', { ...base, output: 'out/c.yml' }, (s) => s.output, 'out/c.yml'],
  ['role: service', base, (s) => s.services.web!.role, 'service'],
  ['role: job as written', base, (s) => s.services.once!.role, 'job'],
  ['restart of a service', base, (s) => s.services.web!.restart, 'unless-stopped'],
  ['restart of a job', base, (s) => s.services.once!.restart, 'no'],
  ['http probe host and path', base, (s) => s.services.web!.healthcheck!.http, { port: 80, host: '127.0.0.1', path: '/' }],
  ['tcp probe host', { ...base, services: { web: { image: 'a', healthcheck: { tcp: { port: 5 } } } } }, (s) => s.services.web!.healthcheck!.tcp, { port: 5, host: '127.0.0.1' }],
  ['healthcheck timing without start_interval (Engine 20.10)', base, (s) => s.services.web!.healthcheck, expect.not.objectContaining({ start_interval: expect.anything() })],
  ['healthcheck timing, Engine 20.10', base, (s) => s.data.postgres!.healthcheck, { interval: '2s', timeout: '5s', retries: 3, start_period: '120s' }],
  ['healthcheck timing, Engine 25', { ...base, target: { engine: '25' } }, (s) => s.data.redis!.healthcheck, { interval: '10s', timeout: '5s', retries: 3, start_period: '120s', start_interval: '1s' }],
  ['healthcheck timing as written', { ...base, services: { web: { image: 'a', healthcheck: { command: ['t'], interval: '7s', retries: 9 } } } }, (s) => s.services.web!.healthcheck, { command: ['t'], interval: '7s', timeout: '5s', retries: 9, start_period: '120s' }],
  ['postgres volume', base, (s) => s.data.postgres!.volume, 'demo-postgres-data'],
  ['migrations service name', base, (s) => s.migrations!.service, 'migrations'],
  ['external: true', base, (s) => s.migrations!.external, { variable: 'EXTERNAL_MIGRATION', value: 'true' }],
  ['external: a variable only', { ...base, migrations: { ...base.migrations!, external: { variable: 'SKIP' } } }, (s) => s.migrations!.external, { variable: 'SKIP', value: 'true' }],
  ['external: false', { ...base, migrations: { ...base.migrations!, external: false } }, (s) => s.migrations!.external, undefined],
  ['backup: true keeps 5 in ./backups', base, (s) => s.migrations!.backup, { dir: 'backups', keep: 5 }],
  ['backup: a dir only keeps 5', { ...base, migrations: { ...base.migrations!, backup: { dir: 'b' } } }, (s) => s.migrations!.backup, { dir: 'b', keep: 5 }],
  ['backup without postgres: none', { ...base, data: {}, migrations: { ...base.migrations!, backup: true } }, (s) => s.migrations!.backup, undefined],
  ['data: absent is empty', { name: 'x', services: {} }, (s) => s.data, {}],
  ['proxy service name', base, (s) => s.proxy!.service, 'nginx'],
  ['proxy client_ip: direct', base, (s) => s.proxy!.client_ip, { mode: 'direct' }],
  ['proxy client_ip: cloudflare trusts no range', { ...base, proxy: { ...base.proxy!, client_ip: { mode: 'cloudflare' } } }, (s) => s.proxy!.client_ip, { mode: 'cloudflare', trusted: [] }],
  ['maintenance: absent is empty', base, (s) => s.maintenance, {}],
  ['task params: absent are empty', { ...base, maintenance: { t: { service: 'web', argv: ['x'] } } }, (s) => s.maintenance.t!.params, {}],
  ['proxy healthcheck', base, (s) => s.proxy!.healthcheck.http, { port: 8080, path: '/nginx-health', host: '127.0.0.1' }],
];

describe('normaliseSpec fills every default once', () => {
  it.each(rows)('%s', (_, spec, field, want) => expect(field(normaliseSpec(spec))).toEqual(want));

  it('leaves its input alone and is idempotent', () => {
    const copy = structuredClone(base);
    expect(normaliseSpec(copy)).toEqual(n);
    expect(copy).toEqual(base);
    expect(normaliseSpec(n as unknown as DeploymentSpec)).toEqual(n);
  });
});
