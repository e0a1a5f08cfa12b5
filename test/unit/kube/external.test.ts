// `data.<name>.external` (issue #15): a managed database becomes a Service of the same name that points at
// it (ExternalName for a DNS name, a selector-less Service + EndpointSlice for an IP), never a StatefulSet.
import { describe, expect, it } from 'vitest';
import { generateKube, type KubeObject } from '../../../src/kube/manifests.js';
import { renderKube } from '../../../src/kube/render.js';
import { specOf, y } from '../helpers.js';

/** The stack of manifests.test.ts's shape, its data services given as YAML. */
const specWith = (data: string, extra = '') => specOf(y`
  name: demo
  env_file: .env
  data:
${data}
  services:
    backend:
      image: "app:1.0"
      ports: ["8000"]
      healthcheck: { http: { port: 8000, path: /health/ } }
  migrations:
    same_image_as: backend
    before: [backend]
    pre: { command: [python, manage.py, migrate], check: [python, manage.py, migrate, --check] }
${extra}
`);
const PG = 'database: "${DB}", user: "${DB_USER}", password: "${DB_PASSWORD}"';
const objects = (r: ReturnType<typeof generateKube>) => r.files.flatMap((f) => f.objects);
const byKind = (objs: KubeObject[], kind: string) => objs.filter((o) => o.kind === kind).map((o) => o.metadata.name);
type Pod = { initContainers?: Array<{ name: string; image: string; command: string[] }> };
const migrationPod = (objs: KubeObject[]) => (objs.find((o) => o.kind === 'Job' && /^migrations-/.test(o.metadata.name))!.spec as { template: { spec: Pod } }).template.spec;
const labels = (name: string) => ({ 'app.kubernetes.io/name': name, 'app.kubernetes.io/instance': 'demo', 'app.kubernetes.io/managed-by': 'phase-compose' });

describe('an external database with a DNS name', () => {
  const spec = specWith(`    postgres: { image: "postgres:16", ${PG}, external: { host: db.example.com, port: 6432 } }\n    redis: { external: { host: cache.example.com } }`);
  const r = generateKube(spec);
  const objs = objects(r);

  it('is an ExternalName Service of the same name, with the real port; no StatefulSet, no PVC', () => {
    expect(r.files.find((f) => f.name === 'postgres.yaml')!.objects).toEqual([{
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'postgres', namespace: 'demo', labels: labels('postgres') },
      spec: { type: 'ExternalName', externalName: 'db.example.com', ports: [{ name: 'main', port: 6432, protocol: 'TCP' }] },
    }]);
    expect(r.files.find((f) => f.name === 'redis.yaml')!.objects).toEqual([{
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'redis', namespace: 'demo', labels: labels('redis') },
      spec: { type: 'ExternalName', externalName: 'cache.example.com', ports: [{ name: 'main', port: 6379, protocol: 'TCP' }] },
    }]);
    expect(byKind(objs, 'StatefulSet')).toEqual([]);
    expect(JSON.stringify(objs)).not.toContain('volumeClaimTemplates');
    expect(r.warnings).toEqual([]);
  });

  it('the migration Job still waits for it, through the Service and on its port, with the image\'s pg_isready', () => {
    const wait = migrationPod(objs).initContainers!;
    expect(wait.map((c) => [c.name, c.image])).toEqual([['wait-for-postgres', 'postgres:16']]);
    expect(wait[0]!.command[2]).toBe('until pg_isready -q -h postgres -p 6432; do echo "waiting for postgres"; sleep 2; done');
  });

  it('the app is gated as before: its gate runs the check with the app\'s env (the Service keeps DATABASE_HOST=postgres working)', () => {
    const dep = objs.find((o) => o.kind === 'Deployment' && o.metadata.name === 'backend')!;
    const gate = (dep.spec as { template: { spec: Pod } }).template.spec.initContainers!;
    expect(gate.map((c) => c.name)).toEqual(['wait-for-migrations']);
  });

  it('is deterministic', () => {
    expect(renderKube(spec, 'phase-compose.yaml')).toEqual(renderKube(specWith(`    postgres: { image: "postgres:16", ${PG}, external: { host: db.example.com, port: 6432 } }\n    redis: { external: { host: cache.example.com } }`), 'phase-compose.yaml'));
  });
});

describe('an external database with an IP address', () => {
  const spec = specWith(`    postgres: { ${PG}, external: { host: 10.20.30.40 } }\n    redis: { image: "redis:7", external: { host: "fd00::6", port: 16379 } }`);

  it('is a selector-less Service plus an EndpointSlice that holds the address (ExternalName cannot be an IP)', () => {
    const r = generateKube(spec);
    expect(r.files.find((f) => f.name === 'postgres.yaml')!.objects).toEqual([
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'postgres', namespace: 'demo', labels: labels('postgres') },
        spec: { ports: [{ name: 'main', port: 5432, protocol: 'TCP', targetPort: 5432 }] },
      },
      {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: { name: 'postgres-external', namespace: 'demo', labels: { ...labels('postgres'), 'kubernetes.io/service-name': 'postgres', 'endpointslice.kubernetes.io/managed-by': 'phase-compose' } },
        addressType: 'IPv4',
        endpoints: [{ addresses: ['10.20.30.40'] }],
        ports: [{ name: 'main', port: 5432, protocol: 'TCP' }],
      },
    ]);
    const redis = r.files.find((f) => f.name === 'redis.yaml')!.objects;
    expect(redis.map((o) => o.kind)).toEqual(['Service', 'EndpointSlice']);
    expect(redis[1]).toMatchObject({ addressType: 'IPv6', endpoints: [{ addresses: ['fd00::6'] }], ports: [{ name: 'main', port: 16379, protocol: 'TCP' }] });
    expect(byKind(objects(r), 'StatefulSet')).toEqual([]);
  });

  it('writes discovery.k8s.io/v1beta1 for Kubernetes 1.20', () => {
    expect(objects(generateKube(spec, { kubeVersion: '1.20' })).filter((o) => o.kind === 'EndpointSlice').map((o) => o.apiVersion)).toEqual(['discovery.k8s.io/v1beta1', 'discovery.k8s.io/v1beta1']);
  });

  it('without a postgres image the migration Job cannot wait for it, and says so', () => {
    const r = generateKube(spec);
    expect(migrationPod(objects(r)).initContainers).toBeUndefined();
    expect(r.warnings).toEqual(['data.postgres.external has no image: the migration Job does not wait for the database (add data.postgres.image, e.g. postgres:16, to wait with its pg_isready)']);
  });
});

describe('one external, one in the stack', () => {
  it('only the external one loses its StatefulSet', () => {
    const objs = objects(generateKube(specWith(`    postgres: { image: "postgres:16", ${PG} }\n    redis: { external: { host: cache.example.com } }`)));
    expect(byKind(objs, 'StatefulSet')).toEqual(['postgres']);
    expect(objs.filter((o) => o.kind === 'Service').map((o) => [o.metadata.name, (o.spec as { type?: string }).type])).toEqual([
      ['postgres', undefined], ['redis', 'ExternalName'], ['backend', undefined],
    ]);
    expect(migrationPod(objs).initContainers![0]!.command[2]).toContain('-p 5432;');
  });
});
