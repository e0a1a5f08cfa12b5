// Issue #15 against a real Kubernetes 1.20.2 (scripts/kube-testbed.sh): the API server accepts every
// example's manifests (--kube-version 1.20), and, when the test bed runs a node, the migration gate holds
// on first install, on an upgrade, and when the migration fails; Phase's own gate is measured beside it.
// The test bed's environment and the shared runners: ./helpers.ts.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BED, CI, HAVE_API, HAVE_NODE, ROOT, START, build, generate, json, kubectl, kubectlAsync, ok, okAsync, postgresVolume, readyAt, sh, shAsync, sleep, until, type Job, type Pod } from './helpers.js';

describe.runIf(HAVE_API || CI)('Kubernetes 1.20.2 API server (kubectl apply --dry-run=server)', () => {
  beforeAll(async () => {
    if (!HAVE_API) throw new Error(`CI=true but the Kubernetes test bed is not running: ${START}`);
    await build();
  });
  const specs = [
    ...readdirSync(join(ROOT, 'examples'), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => join(ROOT, 'examples', d.name, 'phase-compose.yaml')),
    join(ROOT, 'test/fixtures/stack/phase-compose.yaml'),
  ];
  const ns = `pc-dry-${process.pid}`;
  afterAll(() => {
    if (HAVE_API) kubectl('delete', 'namespace', ns, '--wait=false');
  });

  it.each(specs)('accepts every object of %s generated with --kube-version 1.20', async (spec) => {
    const dir = mkdtempSync(join(tmpdir(), 'pc-kube-dry-'));
    await generate(spec, dir, '--kube-version', '1.20', '--namespace', ns);
    ok(kubectl('apply', '-f', join(dir, 'namespace.yaml')), 'create the namespace'); // a dry run cannot create it
    const r = await kubectlAsync('apply', '--dry-run=server', '-k', dir);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const kinds = r.stdout.split('\n').filter(Boolean);
    expect(kinds.every((l) => / (created|configured|unchanged) \(server dry run\)$/.test(l))).toBe(true);
    expect(kinds.some((l) => l.startsWith('deployment.apps/'))).toBe(true);
    expect(kinds.some((l) => l.startsWith('job.batch/') || !readFileSync(spec, 'utf8').includes('migrations:'))).toBe(true);
  });

  it('rejects a broken manifest (the dry run can fail)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pc-kube-dry-'));
    await generate(specs.at(-1)!, dir, '--kube-version', '1.20', '--namespace', ns);
    const f = join(dir, 'backend.yaml');
    writeFileSync(f, readFileSync(f, 'utf8').replace('maxSurge: 1', 'maxSurge: -3'));
    const r = kubectl('apply', '--dry-run=server', '-f', f);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('The Deployment "backend" is invalid: spec.strategy.rollingUpdate.maxSurge: Invalid value: -3: must be greater than or equal to 0');
  });
});

// ---------------------------------------------------------------------------------------------------------
// A node that runs pods: the fixture stack, installed, upgraded twice and broken once.

describe.runIf(HAVE_NODE || CI)('the migration gate on a single-node Kubernetes 1.20.2', () => {
  const ns = `pc-gate-${process.pid}`;
  const work = mkdtempSync(join(tmpdir(), 'pc-kube-node-'));
  const spec = join(work, 'phase-compose.yaml');
  const manifests = join(work, 'k8s');
  const netns = BED.PHASE_COMPOSE_KUBE_NETNS ?? 'pckube';
  const tags: string[] = [];
  let serviceIp = '';
  let dropVolume = () => {};

  /** A test-only app image with one more migration (sleeping `slow` seconds, or failing), imported into the node. */
  async function appImage(tag: string, migration: string, prev: string, body: string): Promise<string> {
    const ctx = join(work, `img-${tag}`);
    mkdirSync(ctx, { recursive: true });
    writeFileSync(join(ctx, `${migration}.py`), [
      'import sys, time', 'from django.db import migrations', '',
      `def run(apps, schema_editor):\n    ${body}`, '',
      'class Migration(migrations.Migration):',
      `    dependencies = [("api", "${prev}")]`,
      '    operations = [migrations.RunPython(run, migrations.RunPython.noop)]', '',
    ].join('\n'));
    writeFileSync(join(ctx, 'Dockerfile'), `FROM ${tags.at(-1) ?? 'phase-compose-fixture-app:latest'}\nCOPY ${migration}.py /app/api/migrations/${migration}.py\n`);
    const image = `phase-compose-kube-test-app:${tag}`;
    await okAsync(shAsync('docker', ['build', '--network', 'none', '-q', '-t', image, ctx]), `docker build ${image}`);
    tags.push(image);
    // docker save | ctr import, streamed (the image is hundreds of MB); argv only, no shell string built.
    const imp = await shAsync('bash', ['-c', 'set -o pipefail; docker save "$1" | ctr -a "$2" -n k8s.io images import -', 'import', image, BED.PHASE_COMPOSE_KUBE_CTRD ?? '']);
    if (imp.status !== 0) throw new Error(`docker save | ctr images import ${image} failed: ${imp.stderr}`);
    return image;
  }
  const writeSpec = (image: string) =>
    writeFileSync(spec, readFileSync(join(ROOT, 'test/fixtures/stack/phase-compose.yaml'), 'utf8').replaceAll('image: phase-compose-fixture-app:latest', `image: ${image}`));
  const apply = async (image: string) => {
    writeSpec(image);
    await generate(spec, manifests, '--kube-version', '1.20', '--namespace', ns, '--with-secrets');
    await okAsync(shAsync(BED.PHASE_COMPOSE_KUBECTL!, ['--kubeconfig', BED.PHASE_COMPOSE_KUBE!, 'apply', '-k', manifests]), 'kubectl apply -k');
  };
  const jobs = () => json<{ items: Job[] }>('-n', ns, 'get', 'jobs').items;
  const pods = (name: string) => json<{ items: Pod[] }>('-n', ns, 'get', 'pods', '-l', `app.kubernetes.io/name=${name}`).items;
  const preJob = (image: string) => jobs().find((j) => j.metadata.name === jobNameFor(image));
  const jobNameFor = (image: string) => {
    const f = readFileSync(join(manifests, 'migrations.yaml'), 'utf8');
    if (!f.includes(`image: "${image}"`)) throw new Error(`migrations.yaml is not for ${image}`);
    return /name: "(migrations-[0-9a-f]{10})"/.exec(f)![1]!;
  };
  const rolledOut = (image: string) => {
    const d = json<{ metadata: { generation: number }; spec: { replicas: number }; status: { observedGeneration?: number; updatedReplicas?: number; availableReplicas?: number; replicas?: number } }>('-n', ns, 'get', 'deployment', 'backend');
    const imgs = pods('backend').filter((p) => readyAt(p)).map((p) => p.spec.containers[0]!.image);
    return d.status.observedGeneration === d.metadata.generation && d.status.updatedReplicas === d.spec.replicas && d.status.availableReplicas === d.spec.replicas && d.status.replicas === d.spec.replicas && imgs.every((i) => i === image);
  };

  /** Requests through the backend's Service, from inside the node, until stopped: counts ok and failed. */
  function load(): { stop: () => Promise<{ ok: number; failed: number; errors: string[] }> } {
    // A new connection per request (agent: false), as a client behind a proxy would open.
    const script = `
      const http = require('node:http');
      let ok = 0, failed = 0, stop = false; const errors = [];
      process.on('SIGTERM', () => { stop = true; });
      const once = () => new Promise((resolve) => {
        const req = http.get({ host: '${serviceIp}', port: 8000, path: '/health/', agent: false, timeout: 5000 }, (res) => {
          res.resume();
          res.on('end', () => { if (res.statusCode === 200) ok++; else { failed++; errors.push('HTTP ' + res.statusCode); } resolve(); });
        });
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.on('error', (e) => { failed++; errors.push(String(e.message)); resolve(); });
      });
      (async () => {
        while (!stop) { await once(); await new Promise((r) => setTimeout(r, 100)); }
        console.log(JSON.stringify({ ok, failed, errors: errors.slice(0, 5) }));
      })();`;
    const child = spawn('nsenter', [`--net=/run/netns/${netns}`, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    return {
      stop: () => new Promise((resolve) => {
        child.on('exit', () => resolve(JSON.parse(out)));
        child.kill('SIGTERM');
      }),
    };
  }

  beforeAll(async () => {
    if (!HAVE_NODE) throw new Error(`CI=true but the Kubernetes test bed runs no node: ${START}`);
    await build();
    writeFileSync(join(work, '.env'), 'DATABASE_NAME=fixture\nDATABASE_USER=fixture\nDATABASE_PASSWORD=kube-test-pw\nREDIS_PASSWORD=kube-redis-pw\nDATABASE_HOST=postgres\nREDIS_HOST=redis\nSECRET_KEY=kube-test-key\n');
    // No storage provisioner in the test bed: a hostPath volume bound to the StatefulSet's claim.
    dropVolume = postgresVolume(ns);
  });
  afterAll(() => {
    if (!HAVE_NODE) return;
    kubectl('delete', 'namespace', ns, '--wait=false');
    dropVolume();
    for (const t of tags) {
      sh('docker', ['rmi', t]);
      sh('ctr', ['-a', BED.PHASE_COMPOSE_KUBE_CTRD ?? '', '-n', 'k8s.io', 'images', 'rm', `docker.io/library/${t}`]);
    }
    rmSync(work, { recursive: true, force: true });
  });

  it('first install: the migration Job completes before any backend pod is Ready; the backend answers through its Service', async () => {
    const v1 = 'phase-compose-fixture-app:latest';
    await apply(v1);
    const job = await until('the v1 migration Job completes', 300, () => (preJob(v1)?.status.completionTime ? preJob(v1) : undefined));
    const ready = await until('backend Ready', 300, () => rolledOut(v1) && pods('backend'));
    const firstReady = Math.min(...ready.map((p) => readyAt(p)!));
    console.log(`first install: migration Job ${job.metadata.name} completed ${job.status.completionTime}; first backend pod Ready ${new Date(firstReady).toISOString()}`);
    expect(firstReady).toBeGreaterThanOrEqual(Date.parse(job.status.completionTime!));
    serviceIp = json<{ spec: { clusterIP: string } }>('-n', ns, 'get', 'service', 'backend').spec.clusterIP;
    const r = sh('nsenter', [`--net=/run/netns/${netns}`, 'curl', '-fsS', '--max-time', '5', `http://${serviceIp}:8000/health/`]);
    expect(r.stdout).toContain('alive');
    // The post phase ran after the rollout, waiting through the API.
    await until('the v1 post-migration Job completes', 300, () => jobs().some((j) => j.metadata.name.startsWith('migrations-post-') && j.status.succeeded));
  });

  it('upgrade to v2 with a new migration: no v2 pod Ready before the v2 Job completed, 0 failed requests', async () => {
    const v2 = await appImage('v2', '0004_kube_v2', '0003_fixture_faults', 'print("v2 migration: 15 s", file=sys.stderr, flush=True); time.sleep(15)');
    const traffic = load();
    await sleep(2000);
    const t0 = Date.now();
    await apply(v2);
    const job = await until('the v2 migration Job completes', 300, () => (preJob(v2)?.status.completionTime ? preJob(v2) : undefined));
    await until('the v2 rollout completes', 300, () => rolledOut(v2));
    await sleep(2000);
    const counts = await traffic.stop();
    const v2Ready = pods('backend').filter((p) => p.spec.containers[0]!.image === v2).map((p) => readyAt(p)!);
    const done = Date.parse(job.status.completionTime!);
    console.log(`upgrade with phase-compose's gate: v2 Job completed ${((done - t0) / 1000).toFixed(1)} s after the apply; first v2 pod Ready ${((Math.min(...v2Ready) - done) / 1000).toFixed(1)} s after the Job completed; requests ok ${counts.ok}, failed ${counts.failed}`);
    expect(Math.min(...v2Ready)).toBeGreaterThanOrEqual(done);
    expect(counts.failed).toBe(0);
    expect(counts.ok).toBeGreaterThan(50);
  });

  it("for comparison, Phase's gate (SELECT 1 FROM django_migrations) lets v3 pods become Ready before the v3 migration ran", async () => {
    const v3 = await appImage('v3', '0005_kube_v3', '0004_kube_v2', 'print("v3 migration: 25 s", file=sys.stderr, flush=True); time.sleep(25)');
    writeSpec(v3);
    await generate(spec, manifests, '--kube-version', '1.20', '--namespace', ns, '--with-secrets');
    // Replace the gate's check with the Helm chart's query, run with the same image and env.
    const phaseCheck = ['python', 'manage.py', 'shell', '-c', "from django.db import connection; connection.cursor().execute('SELECT 1 FROM django_migrations LIMIT 1')"];
    const f = join(manifests, 'backend.yaml');
    const text = readFileSync(f, 'utf8').replace(/- "1200"\n(\s+)- "python"\n\s+- "manage.py"\n\s+- "migrate_phase"\n\s+- "pre"\n\s+- "--check"\n/, (_m, ind: string) => `- "1200"\n${phaseCheck.map((a) => `${ind}- ${JSON.stringify(a)}`).join('\n')}\n`);
    expect(text).not.toContain('"--check"');
    writeFileSync(f, text);
    const t0 = Date.now();
    await okAsync(shAsync(BED.PHASE_COMPOSE_KUBECTL!, ['--kubeconfig', BED.PHASE_COMPOSE_KUBE!, 'apply', '-k', manifests]), 'kubectl apply -k (Phase gate)');
    const job = await until('the v3 migration Job completes', 300, () => (preJob(v3)?.status.completionTime ? preJob(v3) : undefined));
    await until('the v3 rollout completes', 300, () => rolledOut(v3));
    const v3Ready = pods('backend').filter((p) => p.spec.containers[0]!.image === v3).map((p) => readyAt(p)!);
    const done = Date.parse(job.status.completionTime!);
    const early = (done - Math.min(...v3Ready)) / 1000;
    console.log(`upgrade with Phase's gate: first v3 pod Ready ${early.toFixed(1)} s BEFORE the v3 migration Job completed (${((done - t0) / 1000).toFixed(1)} s after the apply)`);
    expect(Math.min(...v3Ready)).toBeLessThan(done);
  });

  it('a failing migration: the new pods stay gated, the old ones keep serving, and describe shows the migration\'s error on the pod and on the Job', async () => {
    const v4 = await appImage('v4', '0006_kube_v4', '0005_kube_v3', 'print("v4 migration: failing on purpose", file=sys.stderr, flush=True); raise RuntimeError("kube test: v4 migration failed on purpose")');
    const traffic = load();
    await apply(v4);
    const job = await until('the v4 migration Job fails', 400, () => (preJob(v4)?.status.conditions?.some((c) => c.type === 'Failed' && c.status === 'True') ? preJob(v4) : undefined));
    await sleep(5000);
    const counts = await traffic.stop();
    const byImage = (img: string) => pods('backend').filter((p) => p.spec.containers[0]!.image === img);
    const v4Pods = byImage(v4);
    console.log(`failing migration: Job ${job.metadata.name} ${job.status.conditions?.map((c) => c.reason).join(',')}; v4 pods ${v4Pods.map((p) => `${p.status.phase}/${readyAt(p) ? 'Ready' : 'not Ready'}`).join(' ')}; requests ok ${counts.ok}, failed ${counts.failed}`);
    expect(job.status.conditions?.find((c) => c.type === 'Failed')?.reason).toBe('BackoffLimitExceeded');
    expect(v4Pods.length).toBeGreaterThan(0);
    expect(v4Pods.every((p) => !readyAt(p))).toBe(true);
    expect(byImage(tags[1]!).some((p) => readyAt(p))).toBe(true); // v3 still serving
    expect(counts.failed).toBe(0);
    const describe = ok(kubectl('-n', ns, 'describe', 'pods', '-l', `job-name=${job.metadata.name}`), 'describe the Job\'s pods');
    expect(describe).toContain('kube test: v4 migration failed on purpose');
    // The Job itself shows the migration's own error: its pods' reporter posted it as a Warning Event.
    const describeJob = ok(kubectl('-n', ns, 'describe', 'job', job.metadata.name), 'describe job');
    console.log(`kubectl describe job ${job.metadata.name}, its events:\n${describeJob.slice(describeJob.indexOf('Events:'))}`);
    expect(describeJob).toContain('BackoffLimitExceeded');
    expect(describeJob).toContain('MigrationFailed');
    expect(describeJob).toContain('kube test: v4 migration failed on purpose');
  });
});
