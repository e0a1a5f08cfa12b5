// What an upgrade replaces, from what runs and what Compose would create now. Pure.
import { describe, expect, it } from 'vitest';
import { normaliseSpec } from '../../../src/spec/normalise.js';
import type { DeploymentSpec } from '../../../src/spec/types.js';
import { LABEL_PROXY_CONFIG } from '../../../src/model/compose.js';
import { dataChangeRefusal, differences, fileChanges, fixedHostPort, planLines, withFileChanges, upgradePlan, type RunningContainer, type Wanted } from '../../../src/upgrade/plan.js';

const spec = normaliseSpec({
  name: 'fx',
  data: { postgres: { image: 'pg', database: '${D}', user: '${U}', password: '${P}' } },
  services: {
    backend: { image: 'app:${V}', replicas: 2, healthcheck: { http: { port: 8000, path: '/health/' } } },
    worker: { image: 'app:${V}', command: ['rq'] },
    once: { image: 'app:${V}', role: 'job' },
  },
  migrations: { same_image_as: 'backend', command: ['migrate'], before: ['backend', 'worker'] },
  proxy: { image: 'nginx', config: 'nginx.conf', ports: ['80:80'], routes: [{ path: '/', to: 'backend:8000' }] },
} as DeploymentSpec);

const c = (service: string, n: number, imageId: string, env: string[] = []): RunningContainer => ({ id: `${service}${n}`, name: `fx-${service}-${n}`, service, imageId, env });
const running = [c('postgres', 1, 'sha256:pg'), c('backend', 1, 'sha256:v1'), c('backend', 2, 'sha256:v1'), c('worker', 1, 'sha256:v1'), c('nginx', 1, 'sha256:ngx')];
const want = (image: string, imageId?: string, environment: Record<string, string> = {}): Wanted => ({ image, ...(imageId ? { imageId } : {}), environment });
const v2: Record<string, Wanted> = { postgres: want('pg', 'sha256:pg'), backend: want('app:v2', 'sha256:v2'), worker: want('app:v2', 'sha256:v2', {}), once: want('app:v2', 'sha256:v2'), nginx: want('nginx', 'sha256:ngx') };

describe('upgradePlan', () => {
  it('replaces the changed long-running services, healthchecked ones first, and leaves the rest', () => {
    const p = upgradePlan(spec, running, v2);
    expect(p.replace.map((r) => [r.service, r.readyWhen, r.replicas, r.old.map((o) => o.id), r.why, r.inPlace])).toEqual([
      ['backend', 'healthy', 2, ['backend1', 'backend2'], ['image'], false],
      ['worker', 'running', 1, ['worker1'], ['image'], false],
    ]);
    expect(p.unchanged).toEqual(['postgres', 'nginx']);
    expect(p).toMatchObject({ dataChanged: [], missingImages: [], notRunning: [] });
  });
  it('a changed data service is reported, never replaced; a missing image and a stopped service are named', () => {
    const p = upgradePlan(spec, running.filter((x) => x.service !== 'worker'), { ...v2, postgres: want('pg:16', 'sha256:pg16'), backend: want('app:v1', 'sha256:v1') });
    expect(p.replace.map((r) => r.service)).toEqual([]);
    expect(p).toMatchObject({ dataChanged: ['postgres'], notRunning: ['worker'], unchanged: ['backend', 'nginx'] });
    const q = upgradePlan(spec, running, { ...v2, backend: want('app:v3', undefined, { X: '1' }) });
    expect(q.missingImages).toEqual(['app:v3']);
    expect(q.replace[0]!.toImage).toBe('app:v3 (not on this host)');
  });
  it('a changed data service refuses the upgrade when migration phases run (they would recreate it)', () => {
    const p = upgradePlan(spec, running, { ...v2, postgres: want('pg:16', 'sha256:pg16') });
    const e = dataChangeRefusal(spec, p);
    expect(spec.migrations).toBeDefined();
    expect(e).toMatchObject({ kind: 'problem', message: 'the spec changes postgres: an upgrade never restarts a data service, and its migration phase would recreate it' });
    expect(e!.details).toContain('nothing was changed');
    expect(dataChangeRefusal(spec, upgradePlan(spec, running, v2))).toBeUndefined();
    expect(dataChangeRefusal({ migrations: undefined }, p)).toBeUndefined(); // no Compose call touches it then
  });
  it('a proxy whose healthcheck is disabled is waited on as running, not as healthy', () => {
    const off = { ...spec, proxy: { ...spec.proxy!, healthcheck: { ...spec.proxy!.healthcheck, disable: true } } };
    const p = upgradePlan(off, running, { ...v2, nginx: want('nginx:2', 'sha256:ngx2') });
    expect(p.replace.find((r) => r.service === 'nginx')?.readyWhen).toBe('running');
    expect(upgradePlan(spec, running, { ...v2, nginx: want('nginx:2', 'sha256:ngx2') }).replace.find((r) => r.service === 'nginx')?.readyWhen).toBe('healthy');
  });
  it('a scheduled task (retention) running the app image is replaced too, in place (never two schedulers at once)', () => {
    // Until 2026-11-29 it stayed on the old code against the migrated schema, named nowhere in the plan.
    const withRetention = normaliseSpec({
      name: 'fx',
      services: { backend: { image: 'app:${V}', healthcheck: { http: { port: 8000 } } } },
      maintenance: { purge: { service: 'backend', argv: ['purge'] } },
      retention: { task: 'purge', every: '24h', params: {} },
    } as DeploymentSpec);
    const sched = 'purge-schedule';
    const p = upgradePlan(withRetention, [c('backend', 1, 'sha256:v1'), c(sched, 1, 'sha256:v1')], { backend: want('app:v2', 'sha256:v2'), [sched]: want('app:v2', 'sha256:v2') });
    expect(p.replace.map((r) => [r.service, r.inPlace, r.readyWhen])).toEqual([['backend', false, 'healthy'], ['purge-schedule', true, 'running']]);
  });
  it('the proxy, with a fixed host port, goes last and in place', () => {
    const p = upgradePlan(spec, running, { ...v2, nginx: want('nginx:2', 'sha256:ngx2') });
    expect(p.replace.map((r) => [r.service, r.inPlace])).toEqual([['backend', false], ['worker', false], ['nginx', true]]);
  });
  it('says what it will do', () => {
    expect(planLines(upgradePlan(spec, running, v2), { pre: true, post: false }, 'backup: taken before the migrations run, into backups/')).toEqual([
      'replace backend (image changed): v1 -> app:v2 (v2); rolling: 2 new beside 2 old, each new one healthy before the old ones drain',
      'replace worker (image changed): v1 -> app:v2 (v2); rolling: 1 new beside 1 old, each new one running before the old ones drain',
      'unchanged, not touched: postgres, nginx',
      'migrations (checked with the new image against the live database): pre-deploy pending, post-deploy nothing pending',
      'backup: taken before the migrations run, into backups/',
    ]);
  });
  it('says so when the proxy routes to a service it cannot tell is serving (no healthcheck)', () => {
    const routedWorker = normaliseSpec({ ...spec, proxy: { ...spec.proxy!, routes: [{ path: '/', to: 'backend:8000' }, { path: '/jobs/', to: 'worker:9000' }] } } as unknown as DeploymentSpec);
    const lines = planLines(upgradePlan(routedWorker, running, v2), {}, undefined);
    expect(lines.filter((l) => l.includes('no healthcheck'))).toEqual([
      '  worker has no healthcheck, and the proxy routes to it: each new one takes requests once it has run 3 s, answering or not, so some may fail; give it a healthcheck',
    ]);
    expect(planLines(upgradePlan(spec, running, v2), {}, undefined).filter((l) => l.includes('no healthcheck'))).toEqual([]);
  });
});

describe('differences', () => {
  const base = c('backend', 1, 'sha256:v1', ['A=1', 'PATH=/bin']);
  it.each([
    ['nothing', want('app', 'sha256:v1', { A: '1' }), []],
    ['an image', want('app', 'sha256:v2', { A: '1' }), ['image']],
    ['an environment value', want('app', 'sha256:v1', { A: '2' }), ['environment']],
    ['a command', { ...want('app', 'sha256:v1'), command: ['x'] }, ['command']],
    // Until 2026-11-29 it was not, and a new tag not pulled yet was "nothing to upgrade", exit 0.
    ['an image not on this host (a new tag not pulled yet) is not the one that runs', want('app', undefined, { A: '1' }), ['image']],
    ['what the compose files say changed', { ...want('app', 'sha256:v1', { A: '1' }), fileChanges: ['healthcheck', 'image'] }, ['healthcheck', 'image']],
    ["the proxy's config (its hash label)", { ...want('app', 'sha256:v1', { A: '1' }), labels: { [LABEL_PROXY_CONFIG]: 'new' } }, ['config']],
    ['the same config hash', { ...want('app', 'sha256:v1', { A: '1' }), labels: { [LABEL_PROXY_CONFIG]: 'old', other: 'x' } }, []],
  ])('%s', (_, w, why) => {
    expect(differences({ ...base, cmd: ['y'], labels: { [LABEL_PROXY_CONFIG]: 'old' } }, w as Wanted)).toEqual(why);
  });
  it.each([
    ['a certificate file replaced on the host (renewed)', 'renewed', 'old', ['certificate']],
    ['the same certificate', 'old', 'old', []],
    ['a container whose certificate could not be read: unknown, not a difference', 'renewed', undefined, []],
    ['a certificate file that cannot be read on the host: unknown', undefined, 'old', []],
  ])('%s', (_, onHost, inContainer, why) => {
    const w = { ...want('app', 'sha256:v1', { A: '1' }), ...(onHost ? { tlsCertSha256: onHost } : {}) } as Wanted;
    expect(differences({ ...base, ...(inContainer ? { tlsCertSha256: inContainer } : {}) }, w)).toEqual(why);
  });
  it('a proxy created before the hash label existed may read an older config: a difference', () => {
    expect(differences({ ...base, cmd: ['y'] }, { ...want('app', 'sha256:v1', { A: '1' }), labels: { [LABEL_PROXY_CONFIG]: 'h' } } as Wanted)).toEqual(['config']);
  });
});

describe('a new tag not on this host', () => {
  it('is an upgrade that names the missing image, not "nothing to upgrade"', () => {
    const p = upgradePlan(spec, running, { ...v2, backend: want('app:v3'), worker: want('app:v1', 'sha256:v1') });
    expect(p.replace.map((r) => [r.service, r.why])).toEqual([['backend', ['image']]]);
    expect(p.missingImages).toEqual(['app:v3']);
  });
});

describe("the migrations' image", () => {
  it('is what Compose would run them with now, own image or not; one not on this host is said apart (a rollback runs no migrations)', () => {
    expect(upgradePlan(spec, running, { ...v2, migrations: want('app:v2', 'sha256:v2') })).toMatchObject({ migrationsImage: 'app:v2', missingImages: [] });
    expect(upgradePlan(spec, running, { ...v2, migrations: want('app:v2', 'sha256:v2') }).migrationsImageMissing).toBeUndefined();
    expect(upgradePlan(spec, running, { ...v2, migrations: want('mig:v2') })).toMatchObject({ migrationsImage: 'mig:v2', migrationsImageMissing: true, missingImages: [] });
    expect(upgradePlan(spec, running, v2).migrationsImage).toBeUndefined();
  });
});

describe('fileChanges', () => {
  const file = (backend: string, postgres = '    healthcheck: { test: [CMD, pg_isready] }') =>
    `services:\n  postgres:\n    image: pg\n${postgres}\n  backend:\n${backend}\n  nginx:\n    image: nginx\n    labels: { ${LABEL_PROXY_CONFIG}: "h1" }\n`;
  const was = file('    image: "app:${V}"\n    user: "1000"\n    environment: { A: "1", B: "2" }\n    volumes: [data:/d]\n    deploy: { replicas: 2 }\n    depends_on: { migrations: { condition: service_completed_successfully } }');
  it('names the keys a container inspect cannot tell reliably: a removed key, a volume, a user, a healthcheck', () => {
    const now = file('    image: "app:${V}"\n    environment: { A: "1" }\n    volumes: [data:/e]\n    deploy: { replicas: 2 }\n    depends_on: { migrations: { condition: service_completed_successfully } }', '    healthcheck: { test: [CMD, pg_isready, -q] }');
    expect(fileChanges(was, now)).toEqual({ backend: ['environment', 'user', 'volumes'], postgres: ['healthcheck'] });
  });
  it('leaves out key order, the replica count, depends_on, the proxy config label (compared on the container), and a service new in the file', () => {
    const now = `services:\n  extra:\n    image: x\n${file('    depends_on: {}\n    deploy: { replicas: 5 }\n    volumes: [data:/d]\n    environment: { B: "2", A: "1" }\n    user: "1000"\n    image: "app:${V}"').slice('services:\n'.length).replace('"h1"', '"h2"')}`;
    expect(fileChanges(was, now)).toEqual({});
  });
  it('knows nothing without a record, or from a record that does not parse', () => {
    expect(fileChanges(undefined, was)).toEqual({});
    expect(fileChanges('services: [', was)).toEqual({});
    expect(fileChanges('- a list', was)).toEqual({});
  });
  it('withFileChanges marks only the services named', () => {
    const now = was.replace('user: "1000"', 'user: "0"');
    expect(withFileChanges({ backend: want('app', 'sha256:v1') }, was, now, ['worker']).backend!.fileChanges).toBeUndefined();
    expect(withFileChanges({ backend: want('app', 'sha256:v1') }, was, now).backend!.fileChanges).toEqual(['user']);
  });
});

describe('fixedHostPort', () => {
  it.each([['80:80', true], ['127.0.0.1:8080:80', true], ['127.0.0.1::80', false], ['80', false], [8000, false], ['8080:80/udp', true]])('%s', (p, fixed) => {
    expect(fixedHostPort(p)).toBe(fixed);
  });
});
