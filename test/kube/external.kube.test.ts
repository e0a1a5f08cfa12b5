// `data.<name>.external` (issue #15) against a real Kubernetes 1.20.2 (scripts/kube-testbed.sh): the API
// server accepts the ExternalName Service and the Service + EndpointSlice, and on a node the app runs
// against a database it does not run. Namespace A runs only postgres and redis, from the normal manifests;
// namespace B reaches them by DNS name (ExternalName), namespace C reaches A's postgres by IP address
// (Service + EndpointSlice). Nothing in B or C runs a database, so what they write can only land in A's.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BED, CI, HAVE_API, HAVE_NODE, ROOT, START, build, generate, json, kubectl, kubectlAsync, ok, okAsync, postgresVolume, readyAt, sh, until, type Job, type Pod } from './helpers.js';

const FIXTURE = readFileSync(join(ROOT, 'test/fixtures/stack/phase-compose.yaml'), 'utf8');
/** The fixture stack with postgres and/or redis external (their volume and image lines replaced). */
const externalSpec = (pgHost: string, redisHost?: string) => {
  let s = FIXTURE.replace('    volume: fixture-postgres-data\n', `    external: { host: "${pgHost}" }\n`);
  if (redisHost) s = s.replace('    image: phase-compose-fixture-redis:latest\n', `    external: { host: "${redisHost}" }\n`);
  if (s === FIXTURE) throw new Error('the fixture spec changed: externalSpec replaced nothing');
  return s;
};
const writeSpec = (dir: string, text: string) => {
  writeFileSync(join(dir, 'phase-compose.yaml'), text);
  return join(dir, 'phase-compose.yaml');
};

describe.runIf(HAVE_API || CI)('data.<name>.external: the Kubernetes 1.20.2 API server accepts the objects (dry run)', () => {
  const ns = `pc-extdry-${process.pid}`;
  beforeAll(async () => {
    if (!HAVE_API) throw new Error(`CI=true but the Kubernetes test bed is not running: ${START}`);
    await build();
  });
  afterAll(() => {
    if (HAVE_API) kubectl('delete', 'namespace', ns, '--wait=false');
  });

  it.each([
    ['a DNS name (ExternalName)', externalSpec('db.example.com', 'cache.example.com'), ['service/postgres', 'service/redis']],
    ['an IP address (Service + EndpointSlice)', externalSpec('10.0.3.7', '2001:db8::5'), ['service/postgres', 'endpointslice.discovery.k8s.io/postgres-external', 'service/redis', 'endpointslice.discovery.k8s.io/redis-external']],
  ])('%s', async (_, text, want) => {
    const work = mkdtempSync(join(tmpdir(), 'pc-kube-extdry-'));
    const dir = join(work, 'k8s');
    await generate(writeSpec(work, text), dir, '--kube-version', '1.20', '--namespace', ns);
    ok(kubectl('apply', '-f', join(dir, 'namespace.yaml')), 'create the namespace');
    const r = await kubectlAsync('apply', '--dry-run=server', '-k', dir);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const lines = r.stdout.split('\n').filter(Boolean);
    expect(lines.every((l) => / (created|configured|unchanged) \(server dry run\)$/.test(l))).toBe(true);
    expect(lines.filter((l) => /^(service|endpointslice[^/]*)\/(postgres|redis)/.test(l)).map((l) => l.split(' ')[0]).sort()).toEqual(want.sort());
    expect(lines.some((l) => l.startsWith('statefulset'))).toBe(false);
    rmSync(work, { recursive: true, force: true });
  });
});

describe.runIf(HAVE_NODE || CI)('data.<name>.external on a single-node Kubernetes 1.20.2', () => {
  const pid = process.pid;
  const nsA = `pc-db-${pid}`;
  const nsB = `pc-extdns-${pid}`;
  const nsC = `pc-extip-${pid}`;
  const work = mkdtempSync(join(tmpdir(), 'pc-kube-ext-'));
  const netns = BED.PHASE_COMPOSE_KUBE_NETNS ?? 'pckube';
  let dropVolume = () => {};

  const apply = async (ns: string, text: string) => {
    const dir = join(work, ns);
    const spec = writeSpec(mkdtempSync(join(work, `${ns}-`)), text);
    writeFileSync(join(spec, '../.env'), readFileSync(join(work, '.env')));
    await generate(spec, dir, '--kube-version', '1.20', '--namespace', ns, '--with-secrets');
    return dir;
  };
  const podsOf = (ns: string, name: string) => json<{ items: Pod[] }>('-n', ns, 'get', 'pods', '-l', `app.kubernetes.io/name=${name}`).items;
  const preJob = (ns: string) => json<{ items: Job[] }>('-n', ns, 'get', 'jobs').items.find((j) => /^migrations-[0-9a-f]{10}$/.test(j.metadata.name));
  /** The backend's pods, once all are Ready and the rollout is done. */
  const backendReady = (ns: string) => {
    const d = json<{ spec: { replicas: number }; status: { availableReplicas?: number; updatedReplicas?: number } }>('-n', ns, 'get', 'deployment', 'backend');
    const ps = podsOf(ns, 'backend');
    return d.status.availableReplicas === d.spec.replicas && d.status.updatedReplicas === d.spec.replicas && ps.length && ps.every(readyAt) ? ps : undefined;
  };
  /** GET through the backend's Service, from inside the node (Host: backend, as ALLOWED_HOSTS wants). */
  const viaService = (ns: string, path: string) => {
    const ip = json<{ spec: { clusterIP: string } }>('-n', ns, 'get', 'service', 'backend').spec.clusterIP;
    return ok(sh('nsenter', [`--net=/run/netns/${netns}`, 'curl', '-fsS', '--max-time', '10', '-H', 'Host: backend', `http://${ip}:8000${path}`]), `GET ${path} in ${ns}`);
  };
  /** SQL in A's database, as its own user. */
  const psqlA = (sql: string) => ok(kubectl('-n', nsA, 'exec', 'postgres-0', '--', 'sh', '-c', 'psql -U "$POSTGRES_USER" -d "$POSTGRES_DB" -tAc "$1"', 'psql', sql), `psql ${sql}`).trim();

  /**
   * Applies a namespace's stack and checks: its migration Job completes, and no backend pod was Ready before
   * the migrations were in A's database; no database of its own.
   */
  async function installAgainstA(ns: string, text: string): Promise<{ job: Job; firstReady: number }> {
    const dir = await apply(ns, text);
    await okAsync(kubectlAsync('apply', '-k', dir), `kubectl apply -k (${ns})`);
    const job = await until(`the migration Job in ${ns} completes`, 240, () => (preJob(ns)?.status.completionTime ? preJob(ns) : undefined));
    const ready = await until(`backend Ready in ${ns}`, 240, () => backendReady(ns));
    const firstReady = Math.min(...ready.map((p) => readyAt(p)!));
    // What the gate promises: it runs the migration check against the database, so no pod is Ready before
    // the migrations are there. Not "after the Job": its controller records the completion only after the
    // migration committed and its pod exited (a CI run saw a pod Ready 1 s before that), and C's Job finds
    // nothing pending at all (B migrated A's database). Kubernetes' times are whole seconds.
    const migrated = Number(psqlA('SELECT floor(extract(epoch FROM max(applied))) FROM django_migrations')) * 1000;
    expect(migrated).toBeGreaterThan(0);
    expect(firstReady).toBeGreaterThanOrEqual(migrated);
    expect(json<{ items: Array<{ metadata: { name: string } }> }>('-n', ns, 'get', 'statefulsets').items.map((s) => s.metadata.name)).not.toContain('postgres');
    expect(podsOf(ns, 'postgres')).toEqual([]);
    return { job, firstReady };
  }

  beforeAll(async () => {
    if (!HAVE_NODE) throw new Error(`CI=true but the Kubernetes test bed runs no node: ${START}`);
    await build();
    writeFileSync(join(work, '.env'), 'DATABASE_NAME=fixture\nDATABASE_USER=fixture\nDATABASE_PASSWORD=kube-ext-pw\nREDIS_PASSWORD=kube-ext-redis-pw\nDATABASE_HOST=postgres\nREDIS_HOST=redis\nSECRET_KEY=kube-ext-key\n');
    dropVolume = postgresVolume(nsA);
  });
  afterAll(() => {
    if (!HAVE_NODE) return;
    for (const ns of [nsC, nsB, nsA]) kubectl('delete', 'namespace', ns, '--wait=false');
    dropVolume();
    rmSync(work, { recursive: true, force: true });
  });

  it('namespace A runs only postgres and redis, from the normal manifests', async () => {
    const dir = await apply(nsA, FIXTURE);
    await okAsync(kubectlAsync('apply', ...['namespace', 'secret', 'env-defaults', 'postgres', 'redis'].flatMap((f) => ['-f', join(dir, `${f}.yaml`)])), 'kubectl apply (A: data services)');
    await until('postgres-0 and redis-0 Ready in A', 240, () => ['postgres', 'redis'].every((n) => podsOf(nsA, n).some((p) => readyAt(p))));
    expect(psqlA("SELECT count(*) FROM pg_tables WHERE tablename = 'django_migrations'")).toBe('0');
  });

  it('namespace B, by DNS name (ExternalName): its migration Job migrates A\'s database, then its backend is Ready and writes there', async () => {
    const t0 = Date.now();
    const { job, firstReady } = await installAgainstA(nsB, externalSpec(`postgres.${nsA}.svc.cluster.local`, `redis.${nsA}.svc.cluster.local`));
    for (const name of ['postgres', 'redis']) {
      expect(json<{ spec: { type: string; externalName: string } }>('-n', nsB, 'get', 'service', name).spec).toMatchObject({ type: 'ExternalName', externalName: `${name}.${nsA}.svc.cluster.local` });
    }
    const applied = Number(psqlA("SELECT count(*) FROM django_migrations WHERE app = 'api'"));
    expect(applied).toBeGreaterThan(0);
    expect(json<{ items: unknown[] }>('-n', nsB, 'get', 'statefulsets').items).toEqual([]);
    const load = JSON.parse(viaService(nsB, '/load/')) as { host: string };
    expect(psqlA(`SELECT count(*) FROM load_probe WHERE legacy_note = 'written by v1 on ${load.host}'`)).toBe('1');
    console.log(`external by DNS name: migration Job ${job.metadata.name} completed ${((Date.parse(job.status.completionTime!) - t0) / 1000).toFixed(1)} s after the apply (${applied} api migrations now in A's database); first backend pod Ready ${((firstReady - Date.parse(job.status.completionTime!)) / 1000).toFixed(1)} s after the Job; its /load/ row is in A's database`);
  });

  it('namespace C, by IP address (Service + EndpointSlice): its backend is Ready and reads and writes A\'s database', async () => {
    const ip = json<{ status: { podIP: string } }>('-n', nsA, 'get', 'pod', 'postgres-0').status.podIP;
    expect(ip).toMatch(/^10\.244\./);
    const t0 = Date.now();
    const { job } = await installAgainstA(nsC, externalSpec(ip));
    expect(json<{ spec: { type: string; selector?: unknown } }>('-n', nsC, 'get', 'service', 'postgres').spec).toMatchObject({ type: 'ClusterIP' });
    expect(json<{ addressType: string; endpoints: Array<{ addresses: string[] }> }>('-n', nsC, 'get', 'endpointslice', 'postgres-external')).toMatchObject({ addressType: 'IPv4', endpoints: [{ addresses: [ip] }] });
    // C runs its own redis (one of each kind): only postgres is external here.
    expect(json<{ items: Array<{ metadata: { name: string } }> }>('-n', nsC, 'get', 'statefulsets').items.map((s) => s.metadata.name)).toEqual(['redis']);
    const db = JSON.parse(viaService(nsC, '/db/')) as { migrations: string[] };
    expect(db.migrations.filter((m) => m.startsWith('api.')).length).toBe(Number(psqlA("SELECT count(*) FROM django_migrations WHERE app = 'api'")));
    const load = JSON.parse(viaService(nsC, '/load/')) as { host: string };
    expect(psqlA(`SELECT count(*) FROM load_probe WHERE legacy_note = 'written by v1 on ${load.host}'`)).toBe('1');
    console.log(`external by IP address ${ip}: migration Job ${job.metadata.name} (nothing pending) completed ${((Date.parse(job.status.completionTime!) - t0) / 1000).toFixed(1)} s after the apply; /db/ lists A's migrations; its /load/ row is in A's database`);
  });
});
