// Issue #15: the default-version manifests of every example pass two validators that see different
// faults: kubernetes-models' .validate() (types, required fields, enums) and a strict JSON Schema of
// Kubernetes 1.30 (every object additionalProperties: false, so an unknown or misspelt field fails).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import * as apps from 'kubernetes-models/apps/v1';
import * as batch from 'kubernetes-models/batch/v1';
import * as core from 'kubernetes-models/v1';
import * as discovery from 'kubernetes-models/discovery.k8s.io/v1';
import * as policy from 'kubernetes-models/policy/v1';
import * as rbac from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { generateKube, type KubeObject } from '../../../src/kube/manifests.js';
import { loadSpec } from '../../../src/spec/load.js';
import { specOf } from '../helpers.js';
import schema from '../../../schema/vendor/kubernetes-1.30-strict.schema.json' with { type: 'json' };

const ROOT = join(import.meta.dirname, '../../..');
const SCHEMA_FILE = join(ROOT, 'schema/vendor/kubernetes-1.30-strict.schema.json');
const specs = [
  ...readdirSync(join(ROOT, 'examples'), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => join('examples', d.name, 'phase-compose.yaml')),
  'test/fixtures/stack/phase-compose.yaml',
];

const ajv = new Ajv({ allErrors: true, strict: true });
ajv.addVocabulary(['kinds']);
ajv.addSchema(schema);
const kinds = schema.kinds as Record<string, string>;
/** Strict-schema errors of one object, as `path: message` lines. */
function strictErrors(o: KubeObject): string[] {
  const ref = kinds[`${o.apiVersion}/${o.kind}`];
  if (!ref) return [`no strict schema for ${o.apiVersion} ${o.kind}`];
  const v = ajv.getSchema(`${schema.$id}${ref}`)!;
  return v(o) ? [] : v.errors!.map((e: { instancePath: string; message?: string; params?: Record<string, unknown> }) => `${e.instancePath}: ${e.message}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : ''}`);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each model takes its own interface; the objects are checked at run time
type Model = new (o: any) => { validate(): void };
const MODELS: Record<string, Model> = {
  'v1/Namespace': core.Namespace, 'v1/ConfigMap': core.ConfigMap, 'v1/Secret': core.Secret, 'v1/Service': core.Service,
  'v1/ServiceAccount': core.ServiceAccount, 'apps/v1/Deployment': apps.Deployment, 'apps/v1/StatefulSet': apps.StatefulSet,
  'batch/v1/Job': batch.Job, 'batch/v1/CronJob': batch.CronJob, 'policy/v1/PodDisruptionBudget': policy.PodDisruptionBudget,
  'rbac.authorization.k8s.io/v1/Role': rbac.Role, 'rbac.authorization.k8s.io/v1/RoleBinding': rbac.RoleBinding,
  'discovery.k8s.io/v1/EndpointSlice': discovery.EndpointSlice,
};
/** kubernetes-models' verdict on one object: undefined when valid, else its message. */
function modelError(o: KubeObject): string | undefined {
  const M = MODELS[`${o.apiVersion}/${o.kind}`];
  if (!M) return `no model for ${o.apiVersion} ${o.kind}`;
  try {
    new M(JSON.parse(JSON.stringify(o))).validate();
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}
const objectsOf = (file: string, secrets = true) =>
  generateKube(loadSpec(join(ROOT, file)).spec, secrets ? { secretValues: { A: 'b' } } : {}).files.flatMap((f) => f.objects);

describe('default-version manifests of every example', () => {
  it('covers the examples and the fixture stack', () => {
    expect(specs.length).toBeGreaterThanOrEqual(5);
  });
  it.each(specs)('%s: kubernetes-models and the strict schema accept every object', (file) => {
    const objs = objectsOf(file);
    expect(objs.length).toBeGreaterThan(3);
    for (const o of objs) {
      expect([`${o.kind}/${o.metadata.name}`, modelError(o)]).toEqual([`${o.kind}/${o.metadata.name}`, undefined]);
      expect([`${o.kind}/${o.metadata.name}`, strictErrors(o)]).toEqual([`${o.kind}/${o.metadata.name}`, []]);
    }
  });
});

describe('default-version manifests of external data services (data.<name>.external)', () => {
  // The fixture stack with postgres at a DNS name (ExternalName) and redis at an IP (Service + EndpointSlice).
  const fixture = readFileSync(join(ROOT, 'test/fixtures/stack/phase-compose.yaml'), 'utf8')
    .replace('    volume: fixture-postgres-data\n', '    external: { host: db.example.com, port: 6432 }\n')
    .replace('    image: phase-compose-fixture-redis:latest\n', '    external: { host: "10.0.3.7" }\n');
  it('kubernetes-models and the strict schema accept every object', () => {
    const objs = generateKube(specOf(fixture)).files.flatMap((f) => f.objects);
    expect(objs.filter((o) => o.metadata.name === 'postgres' || o.metadata.name.startsWith('redis')).map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(['Service/postgres', 'Service/redis', 'EndpointSlice/redis-external']);
    for (const o of objs) {
      expect([`${o.kind}/${o.metadata.name}`, modelError(o)]).toEqual([`${o.kind}/${o.metadata.name}`, undefined]);
      expect([`${o.kind}/${o.metadata.name}`, strictErrors(o)]).toEqual([`${o.kind}/${o.metadata.name}`, []]);
    }
  });
});

describe('the two validators catch what they should', () => {
  const dep = () => objectsOf('test/fixtures/stack/phase-compose.yaml').find((o) => o.kind === 'Deployment')!;
  type PodSpec = { containers: Array<Record<string, unknown>> } & Record<string, unknown>;
  const pod = (o: KubeObject) => (o.spec as { template: { spec: PodSpec } }).template.spec;
  it('a misspelt field: the strict schema rejects it (kubernetes-models does not)', () => {
    const o = dep();
    pod(o).containers[0]!.imagePulPolicy = 'Always';
    expect(strictErrors(o)).toEqual(['/spec/template/spec/containers/0: must NOT have additional properties (imagePulPolicy)']);
    expect(modelError(o)).toBeUndefined();
  });
  it('a bad enum: kubernetes-models rejects it', () => {
    const o = dep();
    pod(o).restartPolicy = 'Sometimes';
    expect(modelError(o)).toMatch(/restartPolicy/);
  });
  it('a wrong type and a missing required field: both reject them', () => {
    const o = dep();
    (o.spec as Record<string, unknown>).replicas = 'two';
    expect(strictErrors(o)).toContain('/spec/replicas: must be number');
    expect(modelError(o)).toMatch(/replicas/);
    const p = dep();
    delete pod(p).containers[0]!.name;
    expect(strictErrors(p)).toContain("/spec/template/spec/containers/0: must have required property 'name'");
    expect(modelError(p)).toMatch(/name/);
  });
});

describe('the vendored strict schema', () => {
  it('is what scripts/gen-kube-schema.mjs makes from kubernetes-types, and its sha256 is the one in schema/vendor/README.md', () => {
    expect(execFileSync(process.execPath, [join(ROOT, 'scripts/gen-kube-schema.mjs'), '--check'], { encoding: 'utf8' })).toContain('is up to date');
    const sha = createHash('sha256').update(readFileSync(SCHEMA_FILE)).digest('hex');
    expect(readFileSync(join(ROOT, 'schema/vendor/README.md'), 'utf8')).toContain(sha);
  }, 60_000);
});
