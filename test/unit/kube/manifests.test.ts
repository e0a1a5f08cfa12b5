// The Kubernetes generator (issue #15): pure spec -> manifests, asserted as objects.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { annotationKeyProblem, cronSchedule, mutableTag, containerPort, generateKube, jobName, GATE_SCRIPT, FAILURE_REPORT_SCRIPT, ROLLOUT_WAIT_SCRIPT, type KubeObject } from '../../../src/kube/manifests.js';
import { renderKube } from '../../../src/kube/render.js';
import { kubeApis } from '../../../src/kube/versions.js';
import { kubeImage, toKube } from '../../../src/kube/values.js';
import { specOf, y } from '../helpers.js';
import type { PhaseComposeError } from '../../../src/util/errors.js';

const SPEC = y`
  name: demo
  env_file: .env
  data:
    postgres: { image: "postgres:16", database: "\${DB_NAME}", user: "\${DB_USER}", password: "\${DB_PASSWORD}" }
    redis: { image: "redis:7", password: "\${REDIS_PASSWORD}" }
  services:
    backend:
      image: "app:\${APP_TAG:-1.0}"
      replicas: 2
      ports: ["8000"]
      environment: { ALLOWED_HOSTS: "backend", PRICE: "$$5", GREETING: "\${GREETING:-hello}" }
      healthcheck: { http: { port: 8000, path: /health/ }, interval: 5s, start_period: 60s }
    worker:
      image: "app:\${APP_TAG:-1.0}"
      command: [python, manage.py, rqworker]
  migrations:
    same_image_as: backend
    before: [backend, worker]
    external: true
    pre: { command: [python, manage.py, migrate], check: [python, manage.py, migrate, --check] }
    post: { command: [python, manage.py, migrate_post], after: [backend] }
  maintenance:
    purge: { service: backend, argv: [python, manage.py, purge, "{org}"], params: { org: { type: string, required: true } } }
  retention: { task: purge, every: 24h, params: { org: "Acme $ Inc" } }
`;
const spec = specOf(SPEC);
const all = (r = generateKube(spec)) => r.files.flatMap((f) => f.objects);
const find = (objs: KubeObject[], kind: string, name: string | RegExp) =>
  objs.find((o) => o.kind === kind && (typeof name === 'string' ? o.metadata.name === name : name.test(o.metadata.name)))!;
type Pod = { initContainers?: Array<Record<string, unknown>>; containers: Array<Record<string, unknown>> } & Record<string, unknown>;
const podOf = (o: KubeObject) => (o.spec as { template: { spec: Pod } }).template.spec;

describe('values: Compose ${VAR} -> Kubernetes $(VAR)', () => {
  it('converts references, keeps $$ as the escape, collects defaults', () => {
    expect(toKube('a ${X} $Y $$Z ${D:-dflt} ${E-e} ${R:?must}', 'w')).toEqual({
      value: 'a $(X) $(Y) $$Z $(D) $(E) $(R)',
      vars: ['X', 'Y', 'D', 'E', 'R'],
      defaults: { D: 'dflt', E: 'e' },
      required: ['R'],
    });
  });
  it('refuses what Kubernetes cannot express', () => {
    expect(() => toKube('${X:+set}', 'services.a.environment.X')).toThrow('services.a.environment.X: "${X:+set}" cannot be written for Kubernetes: "${X:+...}" (Kubernetes has no "use this when set")');
    expect(() => toKube('${X:-${Y}}', 'w')).toThrow('a variable inside the default of ${X}');
  });
  it('fills an image from its defaults; an image variable without a default is refused', () => {
    expect(kubeImage('reg/app:${TAG:-2.1}', 'w')).toEqual({ image: 'reg/app:2.1', replaced: ['TAG'] });
    expect(() => kubeImage('reg/app:${TAG}', 'services.web.image')).toThrow('services.web.image: the image "reg/app:${TAG}" uses ${TAG} without a default; Kubernetes cannot fill an image from variables');
  });
});

describe('--kube-version', () => {
  it('picks policy/v1 and batch/v1 by default, the v1beta1 APIs for 1.20', () => {
    expect(kubeApis()).toEqual({ version: '1.30', pdb: 'policy/v1', cronJob: 'batch/v1', endpointSlice: 'discovery.k8s.io/v1' });
    expect(kubeApis('1.20')).toEqual({ version: '1.20', pdb: 'policy/v1beta1', cronJob: 'batch/v1beta1', endpointSlice: 'discovery.k8s.io/v1beta1' });
    expect(kubeApis('v1.21.3')).toEqual({ version: '1.21.3', pdb: 'policy/v1', cronJob: 'batch/v1', endpointSlice: 'discovery.k8s.io/v1' });
    expect(() => kubeApis('1.19')).toThrow('--kube-version 1.19 is too old: the manifests need Kubernetes 1.20 or later (startup probes)');
    expect(() => kubeApis('latest')).toThrow('--kube-version "latest" is not a Kubernetes version: write it like 1.20 or 1.30.2');
  });
  it('writes those versions into the PDB and the CronJob', () => {
    for (const [v, pdb, cron] of [[undefined, 'policy/v1', 'batch/v1'], ['1.20', 'policy/v1beta1', 'batch/v1beta1']] as const) {
      const objs = all(generateKube(spec, { kubeVersion: v }));
      expect(find(objs, 'PodDisruptionBudget', 'backend').apiVersion).toBe(pdb);
      expect(find(objs, 'CronJob', 'purge-schedule').apiVersion).toBe(cron);
    }
  });
});

describe('a long-running service', () => {
  const objs = all();
  const dep = find(objs, 'Deployment', 'backend');
  it('is a Deployment that never goes below its replicas during a rollout', () => {
    expect((dep.spec as Record<string, unknown>).strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
    expect((dep.spec as Record<string, unknown>).replicas).toBe(2);
  });
  it('gets readiness and startup probes from its healthcheck', () => {
    const c = podOf(dep).containers[0]!;
    // The Host header is the one Compose's healthcheck sends (until 2026-11-29 the kubelet's pod IP, which
    // an app checking ALLOWED_HOSTS answers with 400: the pod never turned Ready).
    const httpGet = { path: '/health/', port: 8000, httpHeaders: [{ name: 'Host', value: '127.0.0.1:8000' }] };
    expect(c.readinessProbe).toEqual({ httpGet, periodSeconds: 5, timeoutSeconds: 5, failureThreshold: 3 });
    // start_period 60s at one probe every 2s, plus the retries.
    expect(c.startupProbe).toEqual({ httpGet, periodSeconds: 2, timeoutSeconds: 5, failureThreshold: 33 });
  });

  it('sends the healthcheck\'s own host as Host, and says when that host is not the container itself', () => {
    const withHost = (host: string) => specOf(y`
      name: demo
      services:
        web:
          image: app:1
          healthcheck: { http: { port: 8000, path: /h, host: "${host}" } }
    `);
    const probe = (host: string) => {
      const r = generateKube(withHost(host));
      const c = podOf(find(all(r), 'Deployment', 'web')).containers[0]!;
      return { header: (c.readinessProbe as { httpGet: { httpHeaders: Array<{ value: string }> } }).httpGet.httpHeaders[0]!.value, warnings: r.warnings };
    };
    expect(probe('localhost')).toEqual({ header: 'localhost:8000', warnings: [] });
    expect(probe('::1')).toEqual({ header: '[::1]:8000', warnings: [] });
    expect(probe('sidecar').header).toBe('sidecar:8000');
    expect(probe('sidecar').warnings).toEqual([expect.stringContaining("services.web.healthcheck.http.host sidecar: the kubelet probes the pod's own address")]);
  });
  it('takes its env from the Secret and the defaults ConfigMap, with $(VAR) references and EXTERNAL_MIGRATION', () => {
    const c = podOf(dep).containers[0]!;
    expect(c.envFrom).toEqual([{ configMapRef: { name: 'demo-env-defaults' } }, { secretRef: { name: 'demo-env' } }]);
    expect(c.env).toEqual([
      { name: 'ALLOWED_HOSTS', value: 'backend' },
      { name: 'PRICE', value: '$$5' },
      { name: 'GREETING', value: '$(GREETING)' },
      { name: 'EXTERNAL_MIGRATION', value: 'true' },
    ]);
    expect(c.image).toBe('app:1.0');
    expect(find(objs, 'ConfigMap', 'demo-env-defaults').data).toEqual({ GREETING: 'hello' }); // image defaults are resolved, not looked up
  });
  it('has a Service for its port and a PDB from 2 replicas; a worker with 1 replica and no port has neither', () => {
    expect(find(objs, 'Service', 'backend').spec).toEqual({
      selector: { 'app.kubernetes.io/name': 'backend', 'app.kubernetes.io/instance': 'demo' },
      ports: [{ name: 'tcp-8000', port: 8000, targetPort: 8000, protocol: 'TCP' }],
    });
    expect(find(objs, 'PodDisruptionBudget', 'backend').spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: { 'app.kubernetes.io/name': 'backend', 'app.kubernetes.io/instance': 'demo' } } });
    expect(find(objs, 'Service', 'worker')).toBeUndefined();
    expect(find(objs, 'PodDisruptionBudget', 'worker')).toBeUndefined();
    expect(podOf(find(objs, 'Deployment', 'worker')).containers[0]!.args).toEqual(['python', 'manage.py', 'rqworker']);
    // Behind a Service, a pod keeps serving while it leaves the endpoints; without one it stops at once.
    expect(podOf(dep).containers[0]!.lifecycle).toEqual({ preStop: { exec: { command: ['sleep', '5'] } } });
    expect(podOf(find(objs, 'Deployment', 'worker')).containers[0]!.lifecycle).toBeUndefined();
  });
});

describe('the migration gate', () => {
  const objs = all();
  it('is an initContainer on every gated pod running the check with the migration image and env until it passes', () => {
    for (const name of ['backend', 'worker']) {
      const init = podOf(find(objs, 'Deployment', name)).initContainers!;
      expect(init.map((c) => c.name)).toEqual(['wait-for-migrations']);
      expect(init[0]!.image).toBe('app:1.0');
      expect((init[0]!.command as string[]).slice(3)).toEqual(['phase-compose-gate', '1200', 'python', 'manage.py', 'migrate', '--check']);
      expect((init[0]!.command as string[])[2]).toBe(GATE_SCRIPT.replace(/\$/g, '$$$$'));
      // The app's env minus EXTERNAL_MIGRATION, as the migration Job has it.
      expect(init[0]!.env).toEqual(podOf(find(objs, 'Job', /^migrations-[0-9a-f]{10}$/)).containers[0]!.env);
    }
  });
  it('holds everything Compose starts after the migrations: a depends_on on them, the post Job (pre first), the CronJob', () => {
    // Until 2026-11-28 only migrations.before was gated: `indexer` below, the post Job and the CronJob ran
    // at once, the post phase (dropping columns) possibly before the pre phase.
    const withMore = SPEC.replace('\nmigrations:\n', '\n  indexer:\n    image: "app:1.0"\n    depends_on: { migrations: completed }\n  reports:\n    image: "app:1.0"\n    depends_on: [indexer]\nmigrations:\n');
    expect(withMore).not.toBe(SPEC);
    const s = specOf(withMore);
    const o = all(generateKube(s));
    const inits = (obj: KubeObject) => (podOf(obj).initContainers ?? []).map((c) => c.name);
    expect(inits(find(o, 'Deployment', 'indexer'))).toEqual(['wait-for-migrations']);
    expect(inits(find(o, 'Deployment', 'reports'))).toEqual(['wait-for-migrations']); // through indexer
    expect(inits(find(o, 'Job', /^migrations-post-/))).toEqual(['wait-for-postgres', 'wait-for-migrations', 'wait-for-rollout']);
    const cron = find(o, 'CronJob', 'purge-schedule');
    const cronPod = (cron.spec as { jobTemplate: { spec: { template: { spec: Pod } } } }).jobTemplate.spec.template.spec;
    expect((cronPod.initContainers ?? []).map((c) => c.name)).toEqual(['wait-for-migrations']);
    // Nothing the migrations themselves wait for is gated.
    expect(inits(find(o, 'Job', /^migrations-[0-9a-f]{10}$/))).toEqual(['wait-for-postgres']);
    expect(podOf(find(o, 'StatefulSet', 'postgres')).initContainers).toBeUndefined();
  });
  it('holds what Compose starts after the post phase until the post check passes too', () => {
    // Until 2026-11-29 `auditor` below passed the pre check alone: it ran before the post phase did.
    const withPost = SPEC.replace('\nmigrations:\n', '\n  auditor:\n    image: "app:1.0"\n    depends_on: { migrations-post: completed }\nmigrations:\n')
      .replace('post: { command: [python, manage.py, migrate_post], after: [backend] }', 'post: { command: [python, manage.py, migrate_post], check: [python, manage.py, migrate_post, --check], after: [backend], environment: { PHASE: post } }');
    expect(withPost).toContain('auditor');
    expect(withPost).toContain('migrate_post, --check');
    const o = all(generateKube(specOf(withPost)));
    const init = podOf(find(o, 'Deployment', 'auditor')).initContainers!;
    expect(init.map((c) => c.name)).toEqual(['wait-for-migrations', 'wait-for-post-migrations']);
    // The post check passes only once the post Job ran, which may take its whole limit (2940 s by default).
    expect((init[1]!.command as string[]).slice(3)).toEqual(['phase-compose-gate', '2940', 'python', 'manage.py', 'migrate_post', '--check']);
    expect((find(o, 'Deployment', 'auditor').spec as { progressDeadlineSeconds: number }).progressDeadlineSeconds).toBe(1200 + 2940);
    // The post check runs with the post Job's env.
    expect(init[1]!.env).toEqual(podOf(find(o, 'Job', /^migrations-post-/)).containers[0]!.env);
    // Nothing else waits for the post phase: not backend (the post Job waits for its rollout), not the post Job itself.
    expect(podOf(find(o, 'Deployment', 'backend')).initContainers!.map((c) => c.name)).toEqual(['wait-for-migrations']);
    expect(podOf(find(o, 'Job', /^migrations-post-/)).initContainers!.map((c) => c.name)).toEqual(['wait-for-postgres', 'wait-for-migrations', 'wait-for-rollout']);
    // Without a post check it cannot be held, and the warning says so.
    const unchecked = generateKube(specOf(withPost.replace(' check: [python, manage.py, migrate_post, --check],', '')));
    expect(unchecked.warnings).toContain('migrations.post: auditor starts after the post phase in Compose, but without migrations.post.check it is not gated on it here: add migrations.post.check (e.g. [python, manage.py, migrate, --check])');
    expect(podOf(find(all(unchecked), 'Deployment', 'auditor')).initContainers!.map((c) => c.name)).toEqual(['wait-for-migrations']);
  });
  it('without a check nothing can be gated, and the warning says the post Job may overtake the pre Job', () => {
    const r = generateKube(specOf(SPEC.replace(', check: [python, manage.py, migrate, --check]', '')));
    expect(r.warnings).toContain('migrations: no check command, so app pods are not gated on migrations, and the post Job may run before the pre Job ends: add migrations.pre.check (e.g. [python, manage.py, migrate, --check])');
    const pods = all(r).filter((o) => ['Deployment', 'Job', 'StatefulSet'].includes(o.kind)).map(podOf);
    expect(pods.length).toBeGreaterThan(3);
    expect(pods.flatMap((p) => p.initContainers ?? []).map((c) => c.name)).not.toContain('wait-for-migrations');
  });
  it('the gate script loops until the check exits 0 or the deadline passes', () => {
    expect(GATE_SCRIPT).toContain('until "$@"; do');
    expect(GATE_SCRIPT).toContain('exit 1');
  });
});

const REPORTER_RULES = [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }, { apiGroups: [''], resources: ['events'], verbs: ['create'] }];

describe('migration Jobs', () => {
  const objs = all();
  const pre = find(objs, 'Job', /^migrations-[0-9a-f]{10}$/);
  it('run once, with a deadline, a small backoffLimit and a TTL, after postgres answers', () => {
    expect(pre.spec).toMatchObject({ backoffLimit: 2, activeDeadlineSeconds: 900, ttlSecondsAfterFinished: 86400 });
    // The post Job's limit covers its waits (the gate, then the rollout) and its own run: until 2026-11-29
    // it was 900 s, less than the waits alone, and a slow pre phase plus a rollout killed it before it ran.
    const post = find(objs, 'Job', /^migrations-post-/);
    const waits = podOf(post).initContainers!.flatMap((c) => (c as { command?: string[] }).command ?? []);
    const gateS = Number(waits[waits.indexOf('phase-compose-gate') + 1]);
    const rollout = podOf(post).initContainers!.find((c) => c.name === 'wait-for-rollout') as { command: string[] };
    const rolloutS = Number(rollout.command[3]);
    expect([gateS, rolloutS]).toEqual([1200, 840]);
    expect((post.spec as { activeDeadlineSeconds: number }).activeDeadlineSeconds).toBe(gateS + rolloutS + 900);
    expect(podOf(pre).restartPolicy).toBe('Never');
    expect(podOf(pre).initContainers!.map((c) => c.name)).toEqual(['wait-for-postgres']);
    expect(podOf(pre).containers[0]!.args).toEqual(['python', 'manage.py', 'migrate']);
    expect((podOf(pre).containers[0]!.env as Array<{ name: string }>).map((e) => e.name)).not.toContain('EXTERNAL_MIGRATION');
  });
  it('migrations.deadline sets the Jobs\' limit, and every wait for them follows it', () => {
    // Until 2026-11-29 a migration Job was stopped after 900 s whatever it migrated, and a gated job
    // service's 900 s counted its wait at the gate: a slow migration left it no time to run.
    const withJob = SPEC.replace('\nmigrations:\n', '\n  seed:\n    image: "app:1.0"\n    role: job\n    depends_on: { migrations: completed }\n  reindex:\n    image: "app:1.0"\n    role: job\n    depends_on: { migrations-post: completed }\nmigrations:\n')
      .replace('post: { command: [python, manage.py, migrate_post], after: [backend] }', 'post: { command: [python, manage.py, migrate_post], check: [python, manage.py, migrate_post, --check], after: [backend] }');
    const withDeadline = withJob.replace('  same_image_as: backend\n', '  same_image_as: backend\n  deadline: 1h\n');
    expect(withDeadline).toContain('\n  deadline: 1h\n');
    expect(withJob).toContain('\n  seed:\n');
    const o = all(generateKube(specOf(withDeadline)));
    const deadline = (obj: KubeObject) => (obj.spec as { activeDeadlineSeconds: number }).activeDeadlineSeconds;
    const gateOf = (pod: Pod) => Number((pod.initContainers!.find((c) => c.name === 'wait-for-migrations')!.command as string[])[4]);
    expect(deadline(find(o, 'Job', /^migrations-[0-9a-f]{10}$/))).toBe(3600);
    const gate = 3600 + 300; // the pre Job's limit, and 5 minutes to spare
    expect(gateOf(podOf(find(o, 'Deployment', 'backend')))).toBe(gate);
    expect((find(o, 'Deployment', 'backend').spec as { progressDeadlineSeconds: number }).progressDeadlineSeconds).toBe(gate);
    const post = find(o, 'Job', /^migrations-post-/);
    expect(gateOf(podOf(post))).toBe(gate);
    expect(deadline(post)).toBe(gate + 840 + 3600);
    const seed = find(o, 'Job', /^seed/);
    expect(gateOf(podOf(seed))).toBe(gate);
    expect(deadline(seed)).toBe(gate + 900);
    // A job after the post phase waits at both gates in turn: the post one as long as the post Job may run.
    const reindex = find(o, 'Job', /^reindex/);
    const reindexGates = podOf(reindex).initContainers!.map((c) => [c.name, Number((c.command as string[])[4])]);
    expect(reindexGates).toEqual([['wait-for-migrations', gate], ['wait-for-post-migrations', gate + 840 + 3600]]);
    expect(deadline(reindex)).toBe(gate + (gate + 840 + 3600) + 900);
    // Without one: 900 s, the gate 1200 s; a gated job still gets its run time after the gate.
    const d = all(generateKube(specOf(withJob)));
    expect(deadline(find(d, 'Job', /^migrations-[0-9a-f]{10}$/))).toBe(900);
    expect(gateOf(podOf(find(d, 'Deployment', 'backend')))).toBe(1200);
    expect(deadline(find(d, 'Job', /^seed/))).toBe(1200 + 900);
  });
  it('report a failed migration on the Job itself, with a token mounted only in the reporter', () => {
    for (const job of [pre, find(objs, 'Job', /^migrations-post-/)]) {
      const pod = podOf(job);
      expect(pod.containers.map((c) => c.name)).toEqual(['migrate', 'report-failure']);
      const [migrate, reporter] = pod.containers as [Record<string, unknown>, Record<string, unknown>];
      expect(migrate.terminationMessagePolicy).toBe('FallbackToLogsOnError');
      expect(reporter.command).toEqual(['python3', '-c', FAILURE_REPORT_SCRIPT]);
      expect(reporter.env).toEqual([{ name: 'PHASE_COMPOSE_POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }]);
      // No automatic token: the migration's own container (and the database wait) cannot call the API.
      expect(pod.automountServiceAccountToken).toBe(false);
      expect(migrate.volumeMounts).toBeUndefined();
      expect(reporter.volumeMounts).toEqual([{ name: 'api-access', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true }]);
      expect((pod.initContainers ?? []).filter((c) => c.volumeMounts).map((c) => c.name)).toEqual(job === pre ? [] : ['wait-for-rollout']);
    }
    expect(podOf(pre).serviceAccountName).toBe('migrations-reporter');
    expect(find(objs, 'Role', 'migrations-reporter').rules).toEqual(REPORTER_RULES);
    expect(find(objs, 'RoleBinding', 'migrations-reporter').subjects).toEqual([{ kind: 'ServiceAccount', name: 'migrations-reporter', namespace: 'demo' }]);
  });
  it('the reporter posts a Warning Event on the Job that owns its pod, and never fails the Job', () => {
    expect(FAILURE_REPORT_SCRIPT).toContain("'involvedObject': {'apiVersion': 'batch/v1', 'kind': 'Job'");
    expect(FAILURE_REPORT_SCRIPT).toContain("'type': 'Warning'");
    expect(FAILURE_REPORT_SCRIPT).not.toContain('sys.exit(1)');
    expect(FAILURE_REPORT_SCRIPT).not.toContain('$(');
  });
  it('the reporter gives up after a minute of an unreachable API, exits 0, and says so (virtual clock)', () => {
    // The script as shipped, with its service-account directory moved to a temp dir, and a prelude that
    // makes time virtual (sleep advances it), counts the API calls and ignores the CA file.
    const sa = mkdtempSync(join(tmpdir(), 'pc-sa-'));
    writeFileSync(join(sa, 'namespace'), 'demo\n');
    writeFileSync(join(sa, 'token'), 'not-a-token\n');
    const prelude = [
      'import atexit, ssl, time, urllib.request',
      'now, calls = [1.7e9], [0]',
      'time.time = lambda: now[0]',
      'time.sleep = lambda s: now.__setitem__(0, now[0] + s)',
      '_urlopen = urllib.request.urlopen',
      'def counted(*a, **k):',
      '    calls[0] += 1',
      '    return _urlopen(*a, **k)',
      'urllib.request.urlopen = counted',
      '_ctx = ssl.create_default_context',
      'ssl.create_default_context = lambda cafile=None, **k: _ctx(**k)',
      "atexit.register(lambda: print('calls %d, virtual seconds %d' % (calls[0], now[0] - 1.7e9)))",
    ].join('\n');
    const script = FAILURE_REPORT_SCRIPT.replace("SA = '/var/run/secrets/kubernetes.io/serviceaccount/'", `SA = '${sa}/'`);
    expect(script).not.toBe(FAILURE_REPORT_SCRIPT);
    const r = spawnSync('python3', ['-c', `${prelude}\n${script}`], {
      encoding: 'utf8',
      timeout: 30_000,
      env: { PATH: process.env.PATH, PHASE_COMPOSE_POD: 'migrations-x', KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: '1' },
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^phase-compose: cannot read this pod \(.*\); not reporting$/m);
    const [, calls, secs] = /calls (\d+), virtual seconds (\d+)/.exec(r.stdout) ?? [];
    expect(Number(calls)).toBe(32); // at 0, 2, ... 62 s: one every 2 s until it has failed for more than 60 s
    expect(Number(secs)).toBe(62);
  });
  it('the scripts run in the image are valid Python', () => {
    for (const script of [FAILURE_REPORT_SCRIPT, ROLLOUT_WAIT_SCRIPT]) {
      expect(() => execFileSync('python3', ['-c', 'import ast, sys; ast.parse(sys.argv[1])', script], { stdio: 'pipe' })).not.toThrow();
    }
    expect(() => execFileSync('python3', ['-c', 'import ast, sys; ast.parse(sys.argv[1])', 'if x'], { stdio: 'pipe' })).toThrow();
  });
  it('carry a hash of their whole spec in their name: any change (not only the image) is a new Job', () => {
    expect(pre.metadata.name).toBe(jobName('migrations', pre.spec));
    expect(pre.metadata.name).toMatch(/^migrations-[0-9a-f]{10}$/);
    const nameWith = (from: string, to: string) => {
      const changed = SPEC.replace(from, to);
      expect(changed).not.toBe(SPEC);
      return find(all(generateKube(specOf(changed))), 'Job', /^migrations-[0-9a-f]{10}$/).metadata.name;
    };
    // Until 2026-11-28 these kept the name, and kubectl apply refused the changed Job while the old one lived.
    expect(nameWith('app:${APP_TAG:-1.0}', 'app:${APP_TAG:-1.1}')).not.toBe(pre.metadata.name);
    expect(nameWith('[python, manage.py, migrate]', '[python, manage.py, migrate, --noinput]')).not.toBe(pre.metadata.name);
    expect(nameWith('pre: { command:', 'pre: { environment: { DEBUG: "1" }, command:')).not.toBe(pre.metadata.name);
    expect(nameWith('image: "postgres:16"', 'image: "postgres:16.4"')).not.toBe(pre.metadata.name); // its database wait
    expect(find(all(generateKube(specOf(SPEC))), 'Job', /^migrations-[0-9a-f]{10}$/).metadata.name).toBe(pre.metadata.name);
    // Two long base names cut to the same 52 characters stay apart.
    const long = 'seed-the-database-with-fixtures-for-the-demo-tenant-x';
    expect(jobName(`${long}-one`, {})).not.toBe(jobName(`${long}-two`, {}));
    expect(jobName('m'.repeat(80), {})).toHaveLength(63);
  });
  it('the post Job waits for the rollout with a Role that can only read the named Deployments', () => {
    expect(find(objs, 'Role', 'migrations-post-rollout-reader').rules).toEqual([{ apiGroups: ['apps'], resources: ['deployments'], resourceNames: ['backend'], verbs: ['get'] }, ...REPORTER_RULES]);
    expect(find(objs, 'RoleBinding', 'migrations-post-rollout-reader').subjects).toEqual([{ kind: 'ServiceAccount', name: 'migrations-post-rollout-reader', namespace: 'demo' }]);
    const post = podOf(find(objs, 'Job', /^migrations-post-/));
    expect(post.serviceAccountName).toBe('migrations-post-rollout-reader');
    const wait = post.initContainers!.find((c) => c.name === 'wait-for-rollout')!;
    expect((wait.command as string[]).slice(3)).toEqual(['840', 'backend=app:1.0']);
    // App pods get no API token at all.
    expect(podOf(find(objs, 'Deployment', 'backend')).automountServiceAccountToken).toBe(false);
    // No Service environment variables: REDIS_PORT=tcp://... would shadow the app's own REDIS_PORT.
    expect(podOf(find(objs, 'Deployment', 'backend')).enableServiceLinks).toBe(false);
  });
});

describe('data services, retention, secrets', () => {
  const objs = all();
  it('postgres is a StatefulSet with a PVC, its password from the Secret', () => {
    const ss = find(objs, 'StatefulSet', 'postgres');
    expect(podOf(ss).containers[0]!.env).toContainEqual({ name: 'POSTGRES_PASSWORD', value: '$(DB_PASSWORD)' });
    expect((ss.spec as { volumeClaimTemplates: unknown[] }).volumeClaimTemplates).toEqual([
      { metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '10Gi' } } } },
    ]);
    expect(podOf(find(objs, 'StatefulSet', 'redis')).containers[0]!.args).toEqual(['redis-server', '--requirepass', '$(REDIS_PASSWORD)']);
  });
  it('retention is a CronJob that never overlaps, its task argv verbatim', () => {
    const cj = find(objs, 'CronJob', 'purge-schedule');
    expect(cj.spec).toMatchObject({ schedule: '0 0 * * *', concurrencyPolicy: 'Forbid' });
    // A run that hangs is stopped when the next is due: under Forbid it would hold back every later run.
    expect((cj.spec as { jobTemplate: { spec: { activeDeadlineSeconds: number } } }).jobTemplate.spec.activeDeadlineSeconds).toBe(86400);
    const c = (cj.spec as { jobTemplate: { spec: { template: { spec: Pod } } } }).jobTemplate.spec.template.spec.containers[0]!;
    // As `command`, so the image's ENTRYPOINT is replaced: the argv runs as `phase-compose exec` and the
    // Compose schedule run it (until 2026-11-29 it was `args`, handed to the ENTRYPOINT as arguments).
    expect(c.command).toEqual(['python', 'manage.py', 'purge', 'Acme $$ Inc']);
    expect(c.args).toBeUndefined();
  });
  it('--with-secrets: a variable the env file lacks is written empty and said; one the spec requires is refused', () => {
    // Before: the Secret held only the env file's keys, and the kubelet passed "$(DB_USER)" on as it is
    // (Compose passes an empty string); ${X:?msg} was read as ${X}.
    const values = { DB_NAME: 'n', DB_PASSWORD: 'p', REDIS_PASSWORD: 'r' };
    const r = renderKube(spec, 'phase-compose.yaml', { secretValues: values });
    const secret = parseAllDocuments(r.files.find((f) => f.name === 'secret.yaml')!.content)[0]!.toJS() as { stringData: Record<string, string> };
    expect(secret.stringData).toEqual({ DB_NAME: 'n', DB_PASSWORD: 'p', DB_USER: '', REDIS_PASSWORD: 'r' });
    expect(Object.keys(secret.stringData)).toEqual(['DB_NAME', 'DB_PASSWORD', 'DB_USER', 'REDIS_PASSWORD']);
    expect(r.warnings.filter((w) => w.includes('not defined in the env file'))).toEqual([
      'data.postgres.POSTGRES_USER: ${DB_USER} is not defined in the env file: written into the Secret empty, as Compose passes it (the kubelet would pass "$(DB_USER)" on as it is)',
    ]);
    expect(values).toEqual({ DB_NAME: 'n', DB_PASSWORD: 'p', REDIS_PASSWORD: 'r' }); // the caller's object is left as it was
    // A variable with a default in the spec is the ConfigMap's: not added.
    expect(secret.stringData).not.toHaveProperty('GREETING');
    const required = specOf(SPEC.replace('ALLOWED_HOSTS: "backend"', 'ALLOWED_HOSTS: "${HOSTS:?set HOSTS}"'));
    expect(() => renderKube(required, 'phase-compose.yaml', { secretValues: { ...values, DB_USER: 'u' } })).toThrowError(expect.objectContaining({
      kind: 'problem',
      message: '--with-secrets: the env file does not define HOSTS, which the spec requires',
    }));
    // Without --with-secrets the Secret is the user's: nothing is said about it.
    expect(renderKube(required, 'phase-compose.yaml').warnings.filter((w) => w.includes('env file'))).toEqual([]);
  });
  it('secret values appear only in secret.yaml, and only with --with-secrets', () => {
    const plain = renderKube(spec, 'phase-compose.yaml');
    expect(plain.files.map((f) => f.name)).not.toContain('secret.yaml');
    const r = renderKube(spec, 'phase-compose.yaml', { secretValues: { DB_PASSWORD: 's3cr3t-value' } });
    for (const f of r.files) expect(f.content.includes('s3cr3t-value')).toBe(f.name === 'secret.yaml');
    expect(r.files.find((f) => f.name === 'secret.yaml')!.secret).toBe(true);
  });
});

describe('rendered files', () => {
  it('are deterministic, headed, alias-free, and listed in kustomization.yaml', () => {
    const a = renderKube(spec, 'phase-compose.yaml');
    expect(renderKube(specOf(SPEC), 'phase-compose.yaml')).toEqual(a);
    for (const f of a.files) {
      expect(f.content.startsWith('# Generated by phase-compose from phase-compose.yaml.')).toBe(true);
      expect(f.content).not.toMatch(/[&*]a[0-9]/);
      for (const d of parseAllDocuments(f.content)) expect(d.errors).toEqual([]);
    }
    const k = parseAllDocuments(a.files.at(-1)!.content)[0]!.toJS();
    expect(k).toEqual({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: a.files.slice(0, -1).map((f) => f.name) });
    expect(a.files.map((f) => f.name)).toEqual(['namespace.yaml', 'env-defaults.yaml', 'postgres.yaml', 'redis.yaml', 'migrations.yaml', 'backend.yaml', 'worker.yaml', 'migrations-post.yaml', 'purge-schedule.yaml', 'kustomization.yaml']);
  });
});

describe('fields Kubernetes does not expand (exec probes, workingDir)', () => {
  const one = (extra: string) => specOf(`name: shop\nservices:\n  web:\n    image: "x:1"\n${extra}`);
  it('take the value Compose would pass: $$ is a literal $ (a shell then reads $HOSTNAME, not its own PID $$)', () => {
    const o = all(generateKube(one('    working_dir: "/srv/a$$b"\n    healthcheck: { command: [sh, -c, "test -f /tmp/ready-$${HOSTNAME}"] }\n')));
    const c = podOf(find(o, 'Deployment', 'web')).containers[0]!;
    expect((c.readinessProbe as { exec: { command: string[] } }).exec.command).toEqual(['sh', '-c', 'test -f /tmp/ready-${HOSTNAME}']);
    expect((c.startupProbe as { exec: { command: string[] } }).exec.command).toEqual(['sh', '-c', 'test -f /tmp/ready-${HOSTNAME}']);
    expect(c.workingDir).toBe('/srv/a$b');
  });
  it('refuse a variable, which nothing would fill there', () => {
    expect(() => generateKube(one('    healthcheck: { command: [check, "${PORT}"] }\n'))).toThrowError(expect.objectContaining({
      kind: 'usage',
      message: 'services.web.healthcheck.command[1]: "${PORT}" cannot be written for Kubernetes: it uses ${PORT}, and Kubernetes expands no variable in an exec probe',
    }));
    expect(() => generateKube(one('    working_dir: "${APP_DIR:-/app}"\n'))).toThrowError(/services\.web\.working_dir: .* Kubernetes expands no variable in workingDir/);
  });
});

describe('names Kubernetes refuses', () => {
  it('are refused before anything is written, each named with its rule (until 2026-11-28 kubectl apply failed on them)', () => {
    const s = specOf('name: my_shop\nservices:\n  web_app: { image: "x:1" }\n  9web: { image: "x:1", ports: ["81"] }\n  ok: { image: "x:1" }\n');
    let e: PhaseComposeError | undefined;
    try {
      generateKube(s);
    } catch (x) {
      e = x as PhaseComposeError;
    }
    expect(e).toMatchObject({ kind: 'usage', message: '4 name(s) that Kubernetes refuses' });
    expect(e!.details).toEqual([
      '"my_shop" (the namespace): not lowercase letters, digits and "-" (starting and ending with a letter or digit)',
      '"my_shop-env-defaults" (a ConfigMap\'s name): not lowercase letters, digits and "-" (starting and ending with a letter or digit)',
      '"web_app" (a Deployment\'s name): not lowercase letters, digits and "-" (starting and ending with a letter or digit)',
      '"9web" (a Service\'s name): not lowercase letters, digits and "-" (starting and ending with a letter or digit, a letter first)',
      'rename them in the spec (services, data, migrations.service, name) or pass --namespace; nothing was written',
    ]);
    // A CronJob's name leaves room for its Jobs' suffix: 52 characters at most.
    const long = 't'.repeat(44);
    const cron = specOf(`name: shop\nservices:\n  web: { image: "x:1" }\nmaintenance:\n  ${long}: { service: web, argv: [purge] }\nretention: { task: ${long}, every: 24h, params: {} }\n`);
    expect(() => generateKube(cron)).toThrowError(expect.objectContaining({ details: expect.arrayContaining([`"${long}-schedule" (a CronJob's name): longer than 52 characters`]) }));
    expect(() => generateKube(specOf('name: shop\nservices:\n  web: { image: "x:1" }\n'))).not.toThrow();
  });
});

describe('file names', () => {
  it.each(['namespace', 'secret', 'env-defaults', 'kustomization'])('a service named %s is refused: it would be written over a fixed file, or that file over it', (name) => {
    // Until 2026-11-28: namespace.yaml and secret.yaml held Deployments, the Namespace and the Secret were lost.
    const s = specOf(`name: shop\nservices:\n  ${name}: { image: "x:1" }\n  web: { image: "x:1" }\n`);
    expect(() => renderKube(s, 'phase-compose.yaml', { secretValues: { A: 'b' } })).toThrowError(expect.objectContaining({
      kind: 'problem',
      message: `two manifests would be written to ${name}.yaml: a service (or data service, or migrations.service) has the name of a file phase-compose writes for Kubernetes`,
    }));
    expect(renderKube(specOf('name: shop\nservices:\n  web: { image: "x:1" }\n'), 'phase-compose.yaml', { secretValues: { A: 'b' } }).files.map((f) => f.name))
      .toEqual(['namespace.yaml', 'env-defaults.yaml', 'secret.yaml', 'web.yaml', 'kustomization.yaml']);
  });
});

describe('helpers', () => {
  it('cron schedules', () => {
    const w: string[] = [];
    expect([cronSchedule('15m', (m) => w.push(m)), cronSchedule('1h', (m) => w.push(m)), cronSchedule('6h', (m) => w.push(m)), cronSchedule('7d', (m) => w.push(m))]).toEqual(['*/15 * * * *', '0 * * * *', '0 */6 * * *', '0 0 * * 0']);
    expect(w).toEqual([]);
    expect(cronSchedule('7m', (m) => w.push(m))).toBe('*/6 * * * *');
    expect(w).toEqual(['retention.every 7m: cron cannot repeat every 7 minutes evenly; the CronJob runs every 6 minutes']);
    // Days count from each month's 1st again: said (until 2026-11-29 14d ran on the 1st, 15th and 29th, unsaid).
    const d: string[] = [];
    expect([cronSchedule('1d', (m) => d.push(m)), cronSchedule('14d', (m) => d.push(m)), cronSchedule('30d', (m) => d.push(m))]).toEqual(['0 0 * * *', '0 0 */14 * *', '0 0 */30 * *']);
    expect(d).toEqual([
      'retention.every 14d: cron counts days from each month\'s 1st, so the CronJob runs at midnight (UTC) on days 1, 15, 29 of each month, not exactly every 14 days across months',
      'retention.every 30d: cron counts days from each month\'s 1st, so the CronJob runs at midnight (UTC) on days 1, 31 of each month, not exactly every 30 days across months',
    ]);
  });
  it('container ports of Compose port entries', () => {
    expect(['8000', 80, '127.0.0.1:80:8000', '53:53/udp', '8000-8010'].map(containerPort)).toEqual([
      { port: 8000, protocol: 'TCP' }, { port: 80, protocol: 'TCP' }, { port: 8000, protocol: 'TCP' }, { port: 53, protocol: 'UDP' }, undefined,
    ]);
  });
});

describe('a namespace every cluster has', () => {
  it('is not written as this stack\'s (deleting the manifests would delete it), and the warning says so', () => {
    // Until 2026-11-29 `--namespace default` wrote namespace.yaml with a Namespace "default" labelled as ours.
    for (const ns of ['default', 'kube-system']) {
      const r = generateKube(spec, { namespace: ns });
      expect(r.files.map((f) => f.name)).not.toContain('namespace.yaml');
      expect(all(r).filter((o) => o.kind === 'Namespace')).toEqual([]);
      expect(r.warnings).toContain(`namespace "${ns}" exists in every cluster: no namespace.yaml is written for it (deleting these manifests must never delete it)`);
    }
    expect(generateKube(spec, { namespace: 'phase' }).files.map((f) => f.name)).toContain('namespace.yaml');
  });
});

describe('annotation keys (a service\'s labels)', () => {
  it.each([
    ['com.example/team', undefined],
    ['team', undefined],
    ['a.b_c-d', undefined],
    ['traefik.http.services.phase-backend-service.loadbalancer.server.port', 'its name (after any "/") must be 1 to 63'],
    ['Has Space', 'its name (after any "/") must be 1 to 63'],
    ['Example.com/x', 'its prefix (before "/") must be a DNS subdomain'],
    ['a/b/c', 'a key has at most one "/"'],
    ['/x', 'its prefix (before "/") must be a DNS subdomain'],
    ['x/', 'its name (after any "/") must be 1 to 63'],
  ])('%s', (key, why) => {
    const got = annotationKeyProblem(key);
    if (why === undefined) expect(got).toBeUndefined();
    else expect(got).toContain(why);
  });

  it('one the API server refuses is left out with a warning; the rest are kept (until 2026-11-29 all were written, and kubectl apply failed)', () => {
    const withLabels = specOf(SPEC.replace(/^( *)replicas: 2$/m, (line, indent: string) => `${line}\n${indent}labels: { "traefik.http.services.phase-backend-service.loadbalancer.server.port": "8000", "com.example/team": "core" }`));
    expect(withLabels.services.backend!.labels).toBeDefined();
    const r = generateKube(withLabels);
    const backend = all(r).find((o) => o.kind === 'Deployment' && o.metadata.name === 'backend')!;
    expect(backend.metadata.annotations).toEqual({ 'com.example/team': 'core' });
    expect(r.warnings.some((w) => w.includes('"traefik.http.services.phase-backend-service.loadbalancer.server.port" is left out of the annotations'))).toBe(true);
  });
});

describe('mutable image tags', () => {
  it.each([
    ['app:latest', 'latest'],
    ['app', 'none, so latest'],
    ['registry:5000/team/app', 'none, so latest'],
    ['registry:5000/team/app:1.2', undefined],
    ['app:1.0', undefined],
    ['app@sha256:0123', undefined],
    ['app:latest@sha256:0123', undefined],
  ])('%s', (ref, tag) => {
    expect(mutableTag(ref)).toBe(tag);
  });

  it('are warned about once per image (until 2026-11-29 nothing was said, and other warnings came once per use)', () => {
    const r = generateKube(specOf(SPEC.replaceAll('app:\${APP_TAG:-1.0}', 'app:latest')));
    expect(r.warnings.filter((w) => w.includes('the image app:latest has a mutable tag (latest)'))).toHaveLength(1);
    expect(generateKube(spec).warnings.filter((w) => w.includes('mutable tag'))).toEqual([]);
  });
});

describe('what Compose does with migrations and Kubernetes does not', () => {
  it('a backup before migrations, and run: always, are said, not dropped without a word (until 2026-11-29)', () => {
    const r = generateKube(specOf(SPEC.replace(/^( *)same_image_as: backend$/m, (line, indent: string) => `${line}\n${indent}backup: true\n${indent}run: always`)));
    expect(r.warnings).toContain('migrations.backup: no backup is taken before the migration Job on Kubernetes; back the database up before you apply a new version');
    expect(r.warnings).toContain('migrations.run always: on Kubernetes the migration Job runs once per version (its name follows its spec), not on every start');
    expect(generateKube(spec).warnings.filter((w) => w.startsWith('migrations.backup') || w.startsWith('migrations.run'))).toEqual([]);
  });
});
