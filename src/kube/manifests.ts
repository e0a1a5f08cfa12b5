// Spec → Kubernetes manifests (plain objects, grouped by file). Pure and deterministic.
//
// The shape (issue #15):
// - each long-running service: a Deployment (readiness + startup probes from its healthcheck,
//   RollingUpdate with maxUnavailable 0), a Service when it has a port, a PodDisruptionBudget from 2 replicas;
// - each migration phase: a Job whose name carries a hash of its image and command (Jobs are immutable:
//   a new version gets a new Job), restartPolicy Never, a small backoffLimit, a deadline and a TTL;
// - the gate: every pod Compose starts after the migrations (migrations.before, a depends_on on them,
//   directly or not, the post Job, the CronJob) first runs the migration *check* (e.g.
//   `migrate --check`) in an initContainer until it exits 0 (or a deadline passes, and the pod retries).
//   It asks "is anything pending?", so it holds on upgrades too: Phase's chart asks "does the
//   django_migrations table exist?", which is true at once on an upgrade. A pod Compose starts after the
//   post phase also runs the post check (`migrations.post.check`) in a second initContainer;
// - the post phase: a Job that passes the gate, then waits, through the API with a read-only Role on the named
//   Deployments, until their rollout to this version is complete. Nothing outside the cluster waits,
//   so no `helm --wait`-style deadlock is possible;
// - data services: a StatefulSet (+ PVC) and a Service, or for `data.<name>.external` (a managed
//   database) only a Service of the same name that points at it; `retention:` a CronJob (concurrencyPolicy Forbid).
// Values from the env file are never written here: containers take them from a Secret (envFrom).
import { createHash } from 'node:crypto';
import { buildGraph, dependentsOf, migrationsName, postMigrationsName, postPhaseAfter, proxyName, scheduledName } from '../spec/graph.js';
import { DATA_PORTS, type NormalisedExternal, type NormalisedHealthcheck, type NormalisedService, type NormalisedSpec, type Timing } from '../spec/normalise.js';
import { hostKind } from '../spec/values.js';
import { parseDuration } from '../util/duration.js';
import { renderTaskArgv } from '../model/task.js';
import { kubeApis, type KubeApis } from './versions.js';
import { kubeEscape, kubeImage, kubeLiteral, toKube } from './values.js';
import { LOOPBACK_HOSTS } from '../spec/values.js';
import { byCodePoint } from '../util/compare.js';
import { PhaseComposeError } from '../util/errors.js';

export type KubeObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> } } & Record<string, unknown>;
/** One file of the output: a name (no directory) and the objects it holds, in order. */
export type KubeFile = { name: string; objects: KubeObject[] };

export type KubeOptions = {
  /** `--kube-version` (default: a currently supported Kubernetes). */
  kubeVersion?: string;
  /** Namespace of every object (default: the spec's name). */
  namespace?: string;
  /** The env file's values: given only with `--with-secrets`, then written into the Secret's own file. */
  secretValues?: Record<string, string>;
};

export type KubeResult = { files: KubeFile[]; warnings: string[]; apis: KubeApis; namespace: string; secretName: string };

/** Seconds a migration Job may run (waiting for the database included). */
export const JOB_DEADLINE_S = 900;
/** How long a gate checks before it exits 1 (the kubelet then restarts it, with back-off). */
export const GATE_DEADLINE_S = 1200;
const QUALIFIED_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/** Why Kubernetes refuses `key` as an annotation (or label) key, a qualified name: undefined when it takes it. Pure. */
export function annotationKeyProblem(key: string): string | undefined {
  const parts = key.split('/');
  if (parts.length > 2) return 'a key has at most one "/"';
  const [prefix, name] = parts.length === 2 ? parts : [undefined, parts[0]];
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) return 'its prefix (before "/") must be a DNS subdomain of at most 253 characters';
  if (!name || name.length > 63 || !QUALIFIED_NAME.test(name)) return 'its name (after any "/") must be 1 to 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit';
  return undefined;
}

/**
 * The tag of an image reference that names no fixed version: `latest`, or none (which is `latest`);
 * undefined for a digest or any other tag. Pure.
 */
export function mutableTag(ref: string): string | undefined {
  if (ref.includes('@')) return undefined;
  const last = ref.slice(ref.lastIndexOf('/') + 1);
  const colon = last.lastIndexOf(':');
  if (colon < 0) return 'none, so latest';
  return last.slice(colon + 1) === 'latest' ? 'latest' : undefined;
}

/** Namespaces every cluster has (Kubernetes creates them): never written as this stack's. */
export const SYSTEM_NAMESPACES: ReadonlySet<string> = new Set(['default', 'kube-system', 'kube-public', 'kube-node-lease']);
/** How long the post Job waits for the rollout of the services it follows. */
export const ROLLOUT_WAIT_S = JOB_DEADLINE_S - 60;
/**
 * The limits that follow from how long one migration phase may run (`migrations.deadline`, else
 * JOB_DEADLINE_S): a gate waits until the pre Job's deadline has passed, with 5 minutes to spare, so a
 * Job that waits at its gate (the post Job, a gated job) never gives up before the migration's own
 * deadline; such a Job's own limit adds its waits to its run. `post` is the post Job's: its gate, then
 * the rollout, then its own run (until 2026-11-29 it had the pre Job's 900 s, less than its waits alone:
 * a 10-minute pre migration and a 6-minute rollout had it killed before the post migration ran). Pure.
 */
export function migrationDeadlines(deadlineS = JOB_DEADLINE_S): { job: number; gate: number; post: number } {
  const gate = Math.max(GATE_DEADLINE_S, deadlineS + 300);
  return { job: deadlineS, gate, post: gate + ROLLOUT_WAIT_S + deadlineS };
}
/** Finished Jobs are removed after a day (re-applying then creates the same Job again: migrate is idempotent). */
export const JOB_TTL_S = 86_400;
export const JOB_BACKOFF_LIMIT = 2;
/** Seconds a pod behind a Service keeps serving once it is told to stop (preStop). */
export const PRESTOP_S = 5;
const PULL = 'IfNotPresent';
/**
 * On every pod: no API token (only the post Job's wait gets one), and no Service environment variables:
 * Kubernetes would set e.g. REDIS_PORT=tcp://10.0.0.5:6379 for a Service named redis, which Phase's
 * backend (and the fixture) read as the port number. Compose sets no such variables either.
 */
const POD_DEFAULTS = { automountServiceAccountToken: false, enableServiceLinks: false } as const;
const MANAGED_BY = 'phase-compose';

/** The initContainer of every gated pod: the migration check, again and again until it passes. */
export const GATE_SCRIPT = [
  'deadline=$(( $(date +%s) + $1 )); shift; n=0',
  'until "$@"; do',
  '  n=$((n + 1))',
  '  if [ "$(date +%s)" -ge "$deadline" ]; then echo "phase-compose gate: migrations still pending after $n checks; giving up (the pod restarts and checks again)" >&2; exit 1; fi',
  '  echo "phase-compose gate: migrations pending or database not reachable (check $n); next check in 3s" >&2; sleep 3',
  'done',
  'echo "phase-compose gate: no migrations pending"',
].join('\n');

/**
 * What both API scripts start with: `api(prefix)` gives the pod's namespace and `call(path, body=None)`, a GET
 * (or a POST of `body`) under `prefix` in that namespace, with the mounted token and CA, bounded at 10 s.
 */
const API_PRELUDE = [
  'import json, os, ssl, sys, time, urllib.request',
  "SA = '/var/run/secrets/kubernetes.io/serviceaccount/'",
  'def api(prefix):',
  "    ns = open(SA + 'namespace').read().strip()",
  "    host = os.environ['KUBERNETES_SERVICE_HOST']",
  "    host = '[' + host + ']' if ':' in host else host",
  "    base = 'https://%s:%s%s/namespaces/%s/' % (host, os.environ['KUBERNETES_SERVICE_PORT'], prefix, ns)",
  "    ctx = ssl.create_default_context(cafile=SA + 'ca.crt')",
  '    def call(path, body=None):',
  "        token = open(SA + 'token').read().strip()",
  "        data = json.dumps(body).encode() if body is not None else None",
  "        req = urllib.request.Request(base + path, data=data, method='POST' if data else 'GET', headers={'Authorization': 'Bearer ' + token, 'Content-Type': 'application/json'})",
  '        return json.load(urllib.request.urlopen(req, context=ctx, timeout=10))',
  '    return ns, call',
];

/** The post phase's wait: polls the named Deployments (read-only) until each runs the wanted image, fully rolled out. */
export const ROLLOUT_WAIT_SCRIPT = [
  ...API_PRELUDE,
  "ns, call = api('/apis/apps/v1')",
  'deadline = time.time() + int(sys.argv[1])',
  'def pending(name, image):',
  "    d = call('deployments/' + name)",
  "    spec, st, want = d['spec'], d.get('status', {}), d['spec'].get('replicas', 1)",
  "    images = [c['image'] for c in spec['template']['spec']['containers']]",
  '    if image not in images:',
  "        return 'it runs %s, not %s yet' % (', '.join(images), image)",
  "    if st.get('observedGeneration', 0) < d['metadata']['generation']:",
  "        return 'its controller has not seen the change yet'",
  "    if st.get('updatedReplicas', 0) < want or st.get('availableReplicas', 0) < want:",
  "        return '%d of %d new replicas available' % (min(st.get('updatedReplicas', 0), st.get('availableReplicas', 0)), want)",
  "    if st.get('replicas', 0) > st.get('updatedReplicas', 0):",
  "        return '%d old replicas still running' % (st['replicas'] - st.get('updatedReplicas', 0))",
  '    return None',
  'for arg in sys.argv[2:]:',
  "    name, image = arg.split('=', 1)",
  '    while True:',
  '        try:',
  '            why = pending(name, image)',
  '        except Exception as e:',
  "            why = 'cannot read it: %s' % e",
  '        if why is None:',
  "            print('phase-compose: rollout of deployment %s to %s is complete' % (name, image), flush=True)",
  '            break',
  '        if time.time() > deadline:',
  "            print('phase-compose: gave up waiting for deployment %s: %s' % (name, why), file=sys.stderr)",
  '            sys.exit(1)',
  "        print('phase-compose: waiting for deployment %s: %s' % (name, why), flush=True)",
  '        time.sleep(3)',
].join('\n');

/**
 * A second container of each migration Job's pod: waits for the `migrate` container to end and, if it
 * failed, posts a Warning Event on the Job with the migration's last output lines (its termination
 * message), so `kubectl describe job` shows the error itself, not only BackoffLimitExceeded.
 * It reads only its own pod (its name comes from the downward API) and always exits 0: a report that
 * cannot be made never fails the Job, and if the API stays unreachable for a minute it gives up.
 */
export const FAILURE_REPORT_SCRIPT = [
  ...API_PRELUDE,
  'def main():',
  "    ns, call = api('/api/v1')",
  "    me, failing_since = os.environ['PHASE_COMPOSE_POD'], None",
  '    while True:',
  '        try:',
  "            pod = call('pods/' + me)",
  '            failing_since = None',
  '        except Exception as e:',
  '            failing_since = failing_since or time.time()',
  '            if time.time() - failing_since > 60:',
  "                print('phase-compose: cannot read this pod (%s); not reporting' % e, file=sys.stderr)",
  '                return',
  '            time.sleep(2)',
  '            continue',
  "        st = [c for c in pod.get('status', {}).get('containerStatuses', []) if c['name'] == 'migrate']",
  "        ended = st and st[0].get('state', {}).get('terminated')",
  '        if ended:',
  '            break',
  '        time.sleep(1)',
  "    if ended.get('exitCode') == 0:",
  '        return',
  "    jobs = [o for o in pod['metadata'].get('ownerReferences', []) if o.get('kind') == 'Job']",
  '    if not jobs:',
  '        return',
  "    tail = (ended.get('message') or '').strip().splitlines()[-15:]",
  "    text = 'migration failed (exit code %s) in pod %s; its last output:\\n%s' % (ended.get('exitCode'), me, '\\n'.join(tail) or '(none)')",
  "    now = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())",
  "    call('events', {'metadata': {'generateName': jobs[0]['name'] + '.'},",
  "        'involvedObject': {'apiVersion': 'batch/v1', 'kind': 'Job', 'name': jobs[0]['name'], 'namespace': ns, 'uid': jobs[0]['uid']},",
  "        'reason': 'MigrationFailed', 'message': text[-3000:], 'type': 'Warning', 'source': {'component': 'phase-compose'},",
  "        'firstTimestamp': now, 'lastTimestamp': now, 'count': 1})",
  "    print('phase-compose: reported the failed migration on job %s' % jobs[0]['name'])",
  'try:',
  '    main()',
  'except Exception as e:',
  "    print('phase-compose: could not report the failed migration: %s' % e, file=sys.stderr)",
].join('\n');

const seconds = (d: string) => Math.max(1, Math.ceil(parseDuration(d) / 1000));

/**
 * A Job name: its base name and a hash of the base and of everything in the Job's spec (at most 63
 * characters). A Job's pod template cannot be changed, so any change (image, command, env, the
 * database's image in its wait) must make a new Job. Until 2026-11-28 only the image and the command
 * were hashed: a changed env kept the name, and `kubectl apply` refused the changed Job ("field is
 * immutable") while the old one lived (its TTL is a day); two long base names cut to the same 52
 * characters with the same image and command made one name.
 */
export function jobName(base: string, spec: unknown): string {
  const hash = createHash('sha256').update(JSON.stringify([base, spec])).digest('hex').slice(0, 10);
  return `${base.slice(0, 52).replace(/-+$/, '')}-${hash}`;
}

/** `job` with its name: jobName of its base and its spec. */
const named = (job: KubeObject, base: string): KubeObject => ({ ...job, metadata: { ...job.metadata, name: jobName(base, job.spec) } });

/** `cron` for `every`: exact when the period divides an hour or a day, else the nearest such period (with a warning). */
export function cronSchedule(every: string, warn: (m: string) => void): string {
  const minutes = Math.max(1, Math.round(parseDuration(every) / 60_000));
  if (minutes < 60) {
    const m = [1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30].filter((x) => x <= minutes).pop()!;
    if (m !== minutes) warn(`retention.every ${every}: cron cannot repeat every ${minutes} minutes evenly; the CronJob runs every ${m} minutes`);
    return m === 1 ? '* * * * *' : `*/${m} * * * *`;
  }
  const hours = Math.round(minutes / 60);
  if (hours < 24) {
    const h = [1, 2, 3, 4, 6, 8, 12].filter((x) => x <= hours).pop()!;
    if (h * 60 !== minutes) warn(`retention.every ${every}: cron cannot repeat every ${minutes} minutes evenly; the CronJob runs every ${h} hours`);
    return h === 1 ? '0 * * * *' : `0 */${h} * * *`;
  }
  const days = Math.round(hours / 24);
  if (days * 1440 !== minutes) warn(`retention.every ${every}: the CronJob runs every ${days} days, at midnight (UTC)`);
  if (days === 7) return '0 0 * * 0';
  if (days === 1) return '0 0 * * *';
  // `*/N` in the day-of-month field counts from the 1st of each month again: days 1, 1+N, ... (until
  // 2026-11-29 said nowhere: 14d ran on the 1st, 15th and 29th, one or two days apart at a month's end).
  const on = Array.from({ length: Math.ceil(31 / days) }, (_, i) => 1 + i * days);
  warn(`retention.every ${every}: cron counts days from each month's 1st, so the CronJob runs at midnight (UTC) on day${on.length > 1 ? 's' : ''} ${on.join(', ')} of each month${on.length > 1 ? ', not exactly every ' + days + ' days across months' : ''}`);
  return `0 0 */${days} * *`;
}

/** The container port of a Compose port entry (`8000`, `80:8000`, `127.0.0.1:80:8000/tcp`); undefined for a range. */
export function containerPort(p: string | number): { port: number; protocol: 'TCP' | 'UDP' } | undefined {
  const [spec, proto] = String(p).split('/');
  const last = spec!.split(':').pop()!;
  if (!/^[0-9]+$/.test(last)) return undefined;
  return { port: Number(last), protocol: proto === 'udp' ? 'UDP' : 'TCP' };
}

/** Generates the manifests of a validated, normalised spec. */
export function generateKube(spec: NormalisedSpec, opts: KubeOptions = {}): KubeResult {
  const apis = kubeApis(opts.kubeVersion);
  const warnings: string[] = [];
  const warn = (m: string) => warnings.push(m);
  const namespace = opts.namespace ?? spec.name;
  const secretName = `${spec.name}-env`;
  const defaultsName = `${spec.name}-env-defaults`;
  const defaults: Record<string, string> = {};
  /** Each variable the manifests refer to, where first, and whether Compose requires it (`${VAR:?msg}`). */
  const referenced = new Map<string, { where: string; required: boolean }>();
  const graph = buildGraph(spec);

  const meta = (name: string, component: string, extra: Record<string, string> = {}) => ({
    name,
    namespace,
    labels: { ...selector(component), 'app.kubernetes.io/managed-by': MANAGED_BY, ...extra },
  });
  const selector = (component: string) => ({ 'app.kubernetes.io/name': component, 'app.kubernetes.io/instance': spec.name });

  // Compose-terms strings → $(VAR) form, their defaults collected for the defaults ConfigMap.
  const conv = (s: string, where: string): string => {
    const c = toKube(s, where);
    for (const v of c.vars) {
      const was = referenced.get(v);
      referenced.set(v, { where: was?.where ?? where, required: (was?.required ?? false) || c.required.includes(v) });
    }
    for (const [k, v] of Object.entries(c.defaults)) {
      if (defaults[k] !== undefined && defaults[k] !== v) warn(`${where}: \${${k}} has two different defaults in the spec; the manifests use ${JSON.stringify(defaults[k])}`);
      else defaults[k] = v;
    }
    return c.value;
  };
  const convArgv = (argv: readonly string[] | undefined, where: string) => argv?.map((a, i) => conv(a, `${where}[${i}]`));
  // Each image is warned about once (until 2026-11-29 once per use: three times for a backend image).
  const warnedImages = new Set<string>();
  const image = (s: string, where: string) => {
    const r = kubeImage(s, where);
    if (warnedImages.has(r.image)) return r.image;
    warnedImages.add(r.image);
    if (r.replaced.length) warn(`${where}: ${r.replaced.map((v) => `\${${v}}`).join(', ')} in the image replaced by the default (${r.image}); to change it, change the spec and generate again (the migration Job's name follows its spec: \`kustomize edit set image\` would keep it, and Kubernetes refuses a changed Job of the same name)`);
    const tag = mutableTag(r.image);
    if (tag) warn(`${where}: the image ${r.image} has a mutable tag (${tag}): nodes keep the image they pulled (imagePullPolicy IfNotPresent), and a new image under the same tag changes no Job's name, so no migration runs for it; pin a version or a digest`);
    return r.image;
  };
  const envList = (env: Record<string, string | number | boolean>, where: string) =>
    Object.entries(env).map(([name, v]) => ({ name, value: conv(String(v), `${where}.${name}`) }));
  const envFrom = () => [{ configMapRef: { name: defaultsName } }, { secretRef: { name: secretName } }];
  const withEnv = (env: Array<{ name: string; value: string }>) => ({ envFrom: envFrom(), ...(env.length ? { env } : {}) });

  const securityContext = (user: string | undefined, where: string) => {
    if (!user) return {};
    const m = /^([0-9]+)(?::([0-9]+))?$/.exec(user);
    if (!m) {
      warn(`${where}: user ${JSON.stringify(user)} left out: Kubernetes takes only numeric ids (runAsUser), write e.g. "10001" or "10001:10001"`);
      return {};
    }
    return { securityContext: { runAsUser: Number(m[1]), ...(m[2] ? { runAsGroup: Number(m[2]) } : {}) } };
  };

  const probes = (hc: NormalisedHealthcheck | undefined, where: string) => {
    if (!hc || hc.disable) return {};
    let handler: Record<string, unknown>;
    if (hc.http) {
      // The Host header the Compose healthcheck's client sends (curl's `host:port`), so an app that
      // checks it (Django's ALLOWED_HOSTS) answers the kubelet as it answers Compose: without it, the
      // kubelet sends the pod IP, and such a pod never turned Ready.
      const host = hc.http.host.includes(':') && !hc.http.host.startsWith('[') ? `[${hc.http.host}]` : hc.http.host;
      handler = { httpGet: { path: hc.http.path, port: hc.http.port, httpHeaders: [{ name: 'Host', value: `${host}:${hc.http.port}` }] } };
      if (!LOOPBACK_HOSTS.has(hc.http.host)) warn(`${where}.healthcheck.http.host ${hc.http.host}: the kubelet probes the pod's own address (sending Host: ${host}:${hc.http.port}), not that host`);
    } else if (hc.tcp) {
      handler = { tcpSocket: { port: hc.tcp.port } };
      if (!LOOPBACK_HOSTS.has(hc.tcp.host)) warn(`${where}.healthcheck.tcp.host ${hc.tcp.host}: the kubelet connects to the pod's own address, not that host`);
    }
    else if (hc.command) handler = { exec: { command: hc.command.map((a, i) => kubeLiteral(a, `${where}.healthcheck.command[${i}]`, 'an exec probe')) } };
    else return {};
    return probePair(handler, hc);
  };

  const files: KubeFile[] = [];
  // A namespace every cluster has is not written as ours: `kubectl delete -k` (or a GitOps prune) would
  // delete it with everything in it (until 2026-11-29 `--namespace default` wrote it, labelled as ours).
  if (SYSTEM_NAMESPACES.has(namespace)) warn(`namespace "${namespace}" exists in every cluster: no namespace.yaml is written for it (deleting these manifests must never delete it)`);
  else files.push({ name: 'namespace.yaml', objects: [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace, labels: { 'app.kubernetes.io/managed-by': MANAGED_BY } } }] });
  const defaultsFile: KubeFile = { name: 'env-defaults.yaml', objects: [] };
  files.push(defaultsFile);
  // The Secret's data, completed once every value was converted (fillSecretGaps()).
  const secretData: Record<string, string> | undefined = opts.secretValues ? { ...opts.secretValues } : undefined;
  if (secretData) {
    files.push({
      name: 'secret.yaml',
      objects: [{ apiVersion: 'v1', kind: 'Secret', metadata: meta(secretName, 'env'), type: 'Opaque', stringData: secretData }],
    });
  }

  // ---- data services
  const data = spec.data;
  const dataSet = (name: string, container: Record<string, unknown>, port: number, volume: boolean): KubeFile => ({
    name: `${name}.yaml`,
    objects: [
      { apiVersion: 'v1', kind: 'Service', metadata: meta(name, name), spec: { selector: selector(name), ports: [{ name: 'main', port, targetPort: port }] } },
      {
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: meta(name, name),
        spec: {
          serviceName: name,
          replicas: 1,
          selector: { matchLabels: selector(name) },
          template: {
            metadata: { labels: selector(name) },
            spec: {
              ...POD_DEFAULTS,
              containers: [{ name, imagePullPolicy: PULL, ...container, ports: [{ name: 'main', containerPort: port }], ...(volume ? { volumeMounts: [{ name: 'data', mountPath: name === 'postgres' ? '/var/lib/postgresql/data' : '/data' }] } : {}) }],
            },
          },
          ...(volume ? { volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '10Gi' } } } }] } : {}),
        },
      },
    ],
  });
  // A managed database: a Service of the same name, so the app's host name (e.g. DATABASE_HOST=postgres)
  // keeps working. A DNS name becomes an ExternalName Service: cluster DNS answers with a CNAME, and
  // nothing proxies, so no port is mapped (the app must use the real port; the Service lists it for
  // readers). An IP address cannot be an ExternalName: a selector-less Service with an EndpointSlice
  // that holds the address, which kube-proxy routes to like any endpoint.
  const externalData = (name: 'postgres' | 'redis', ext: NormalisedExternal): KubeFile => {
    const kind = hostKind(ext.host);
    const ports = [{ name: 'main', port: ext.port, protocol: 'TCP' }];
    if (kind === 'FQDN') {
      return { name: `${name}.yaml`, objects: [{ apiVersion: 'v1', kind: 'Service', metadata: meta(name, name), spec: { type: 'ExternalName', externalName: ext.host, ports } }] };
    }
    return {
      name: `${name}.yaml`,
      objects: [
        { apiVersion: 'v1', kind: 'Service', metadata: meta(name, name), spec: { ports: ports.map((p) => ({ ...p, targetPort: ext.port })) } },
        {
          apiVersion: apis.endpointSlice,
          kind: 'EndpointSlice',
          // Not managed by the EndpointSlice controller (it manages only Services with a selector).
          metadata: meta(`${name}-external`, name, { 'kubernetes.io/service-name': name, 'endpointslice.kubernetes.io/managed-by': MANAGED_BY }),
          addressType: kind,
          endpoints: [{ addresses: [ext.host] }],
          ports,
        },
      ],
    };
  };
  if (data.postgres?.external) files.push(externalData('postgres', data.postgres.external));
  else if (data.postgres) {
    const pg = data.postgres;
    files.push(dataSet('postgres', {
      image: image(pg.image, 'data.postgres.image'),
      ...withEnv([
        ...envList({ POSTGRES_DB: pg.database, POSTGRES_USER: pg.user, POSTGRES_PASSWORD: pg.password }, 'data.postgres'),
        // A subdirectory: a fresh volume's root may hold lost+found, which initdb refuses.
        { name: 'PGDATA', value: '/var/lib/postgresql/data/pgdata' },
      ]),
      // Over TCP, so the image's temporary init server (socket only) is not mistaken for the real one.
      ...probePair({ exec: { command: ['/bin/sh', '-c', 'pg_isready -h 127.0.0.1 -U "$POSTGRES_USER" -d "$POSTGRES_DB"'] } }, pg.healthcheck),
    }, DATA_PORTS.postgres, true));
  }
  if (data.redis?.external) files.push(externalData('redis', data.redis.external));
  else if (data.redis) {
    const r = data.redis;
    const pw = r.password ? conv(r.password, 'data.redis.password') : undefined;
    files.push(dataSet('redis', {
      image: image(r.image, 'data.redis.image'),
      ...(pw ? { args: ['redis-server', '--requirepass', pw] } : {}),
      ...withEnv(pw ? [{ name: 'REDISCLI_AUTH', value: pw }] : []),
      ...probePair({ exec: { command: ['/bin/sh', '-c', 'redis-cli -h 127.0.0.1 ping | grep -q PONG'] } }, r.healthcheck),
    }, DATA_PORTS.redis, !!r.volume));
  }

  // ---- migrations: image, env, the Jobs and the gate
  const mig = spec.migrations;
  const base = mig?.same_image_as ? spec.services[mig.same_image_as] : undefined;
  const migImage = mig ? image(mig.image ?? base!.image, 'migrations.image') : '';
  const migEnv = (phaseEnv: Record<string, string | number | boolean> | undefined) => {
    const env = { ...(base?.environment ?? {}), ...(mig!.environment ?? {}), ...(phaseEnv ?? {}) };
    if (mig!.external) delete env[mig!.external.variable];
    return envList(env, 'migrations.environment');
  };
  if (mig && (mig.env_file !== undefined || base?.env_file !== undefined)) {
    warn('migrations: env_file of its own is not kept apart: every container takes the one env Secret');
  }
  // The migration Job waits for the database with pg_isready from the postgres image, through the
  // Service `postgres` (an external database too, on its own port). An external one without an image: no wait.
  const postgres = data.postgres;
  if (postgres?.external && postgres.image === undefined && mig) {
    warn('data.postgres.external has no image: the migration Job does not wait for the database (add data.postgres.image, e.g. postgres:16, to wait with its pg_isready)');
  }
  const dataWaits = (node: string) => {
    const deps = graph.nodes.get(node)?.deps ?? [];
    return postgres?.image !== undefined && deps.some((d) => d.on === 'postgres')
      ? [{
          name: 'wait-for-postgres',
          image: image(postgres.image, 'data.postgres.image'),
          imagePullPolicy: PULL,
          command: ['/bin/sh', '-c', kubeEscape(`until pg_isready -q -h postgres -p ${postgres.external?.port ?? DATA_PORTS.postgres}; do echo "waiting for postgres"; sleep 2; done`)],
        }]
      : [];
  };
  /** Where a container that calls the API finds its token (the projected volume of jobAccount below). */
  const apiAccess = { volumeMounts: [{ name: 'api-access', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true }] };
  const limits = migrationDeadlines(mig?.deadline !== undefined ? Math.round(parseDuration(mig.deadline) / 1000) : undefined);
  const job = (name: string, component: string, phase: string, command: string[], phaseEnv: Record<string, string | number | boolean> | undefined, where: string, extraInit: unknown[] = [], pod: Record<string, unknown> = {}, deadline = limits.job): KubeObject => named({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: meta(name, component, { 'phase-compose.dev/phase': phase }),
    spec: {
      backoffLimit: JOB_BACKOFF_LIMIT,
      activeDeadlineSeconds: deadline,
      ttlSecondsAfterFinished: JOB_TTL_S,
      template: {
        metadata: { labels: { ...selector(component), 'phase-compose.dev/phase': phase } },
        spec: {
          restartPolicy: 'Never',
          ...POD_DEFAULTS,
          ...pod,
          initContainers: [...dataWaits(migrationsName(spec)), ...extraInit],
          containers: [
            // The migration's last log lines become the pod's termination message (kubectl describe pod
            // shows them), and the reporter posts them on the Job as an Event (kubectl describe job).
            { name: 'migrate', image: migImage, imagePullPolicy: PULL, args: convArgv(command, `${where}.command`), ...withEnv(migEnv(phaseEnv)), terminationMessagePolicy: 'FallbackToLogsOnError' },
            {
              name: 'report-failure',
              image: migImage,
              imagePullPolicy: PULL,
              command: ['python3', '-c', kubeEscape(FAILURE_REPORT_SCRIPT)],
              env: [{ name: 'PHASE_COMPOSE_POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
              ...apiAccess,
            },
          ],
        },
      },
    },
  }, name);
  // The account of a migration Job's pod: its reporter reads that pod and posts Events; the post
  // phase's wait also reads the Deployments it waits for. The token is mounted in these pods only.
  const jobAccount = (account: string, component: string, extraRules: unknown[] = []) => ({
    objects: [
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(account, component), automountServiceAccountToken: false },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: meta(account, component),
        rules: [...extraRules, { apiGroups: [''], resources: ['pods'], verbs: ['get'] }, { apiGroups: [''], resources: ['events'], verbs: ['create'] }],
      },
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: meta(account, component), roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: account }, subjects: [{ kind: 'ServiceAccount', name: account, namespace }] },
    ] as KubeObject[],
    // The token is mounted only where it is used (the reporter, the rollout wait), not in the migration's
    // own container: the same projected volume that Kubernetes >= 1.21 mounts by itself.
    pod: {
      serviceAccountName: account,
      automountServiceAccountToken: false,
      volumes: [{
        name: 'api-access',
        projected: {
          sources: [
            { serviceAccountToken: { path: 'token', expirationSeconds: 3600 } },
            { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
            { downwardAPI: { items: [{ path: 'namespace', fieldRef: { fieldPath: 'metadata.namespace' } }] } },
          ],
        },
      }],
    },
  });
  if (mig) {
    const name = migrationsName(spec);
    // What Compose does and these manifests do not: said (until 2026-11-29 dropped without a word).
    if (mig.backup) warn('migrations.backup: no backup is taken before the migration Job on Kubernetes; back the database up before you apply a new version');
    if (mig.run === 'always') warn('migrations.run always: on Kubernetes the migration Job runs once per version (its name follows its spec), not on every start');
    const account = jobAccount(`${name}-reporter`, name);
    const j = job(name, name, 'pre', mig.pre?.command ?? mig.command!, mig.pre?.environment, mig.pre ? 'migrations.pre' : 'migrations', [], account.pod);
    const spec0 = j.spec as { template: { spec: { initContainers: unknown[] } } };
    if (!spec0.template.spec.initContainers.length) delete (spec0.template.spec as Record<string, unknown>).initContainers;
    files.push({ name: `${name}.yaml`, objects: [...account.objects, j] });
  }
  const check = mig ? (mig.pre?.check ?? mig.check) : undefined;
  if (mig && !check) {
    warn(`migrations: no check command, so app pods are not gated on migrations${mig.post ? ', and the post Job may run before the pre Job ends' : ''}: add migrations.${mig.pre ? 'pre.' : ''}check (e.g. [python, manage.py, migrate, --check])`);
  }
  // Gated: everything Compose starts only after the migrations completed, directly or through another
  // service (migrations.before, a depends_on on them, the post Job, the retention CronJob). Until
  // 2026-11-28 only migrations.before was: a depends_on on the migrations, the post Job and the
  // CronJob ran at once, the post phase possibly before the pre phase.
  const afterMigrations = mig ? dependentsOf(graph, migrationsName(spec)) : new Set<string>();
  // What Compose starts only after the post phase completed (a depends_on on migrations-post, directly
  // or not) also waits for the post check: until 2026-11-29 it passed the pre check alone, and ran the
  // new code before the post phase (which drops what the old code used) had run.
  const postName = mig?.post ? postMigrationsName(spec) : undefined;
  const afterPost = postName ? dependentsOf(graph, postName) : new Set<string>();
  if (mig?.post && afterPost.size && !mig.post.check) {
    warn(`migrations.post: ${[...afterPost].sort(byCodePoint).join(', ')} ${afterPost.size === 1 ? 'starts' : 'start'} after the post phase in Compose, but without migrations.post.check ${afterPost.size === 1 ? 'it is' : 'they are'} not gated on it here: add migrations.post.check (e.g. [python, manage.py, migrate, --check])`);
  }
  const gateContainer = (name: string, argv: readonly string[], where: string, env: Record<string, string | number | boolean> | undefined, deadline: number) => ({
    name,
    image: migImage,
    imagePullPolicy: PULL,
    command: ['/bin/sh', '-c', kubeEscape(GATE_SCRIPT), 'phase-compose-gate', String(deadline), ...convArgv(argv, where)!],
    ...withEnv(migEnv(env)),
  });
  const preGated = (service: string) => !!(mig && check && afterMigrations.has(service));
  const postGated = (service: string) => !!(mig?.post?.check && afterPost.has(service));
  // The post check passes only once the post Job has run, which may take it its whole limit (its gate,
  // the rollout, its run): that gate waits as long.
  const gate = (service: string) => [
    ...(preGated(service) ? [gateContainer('wait-for-migrations', check!, mig!.pre?.check ? 'migrations.pre.check' : 'migrations.check', mig!.pre?.environment, limits.gate)] : []),
    ...(postGated(service) ? [gateContainer('wait-for-post-migrations', mig!.post!.check!, 'migrations.post.check', mig!.post!.environment, limits.post)] : []),
  ];
  /** How long a pod of `service` may wait at its gates, one after the other. */
  const gateWait = (service: string) => (preGated(service) ? limits.gate : 0) + (postGated(service) ? limits.post : 0);

  // ---- app services
  const container = (name: string, s: NormalisedService, where: string, extraEnv: Record<string, string> = {}) => ({
    name,
    image: image(s.image, `${where}.image`),
    imagePullPolicy: PULL,
    ...(s.entrypoint ? { command: convArgv(s.entrypoint, `${where}.entrypoint`) } : {}),
    ...(s.command ? { args: convArgv(s.command, `${where}.command`) } : {}),
    ...(s.working_dir ? { workingDir: kubeLiteral(s.working_dir, `${where}.working_dir`, 'workingDir') } : {}),
    ...withEnv(envList({ ...(s.environment ?? {}), ...extraEnv }, `${where}.environment`)),
    ...securityContext(s.user, `${where}.user`),
  });
  const ports = (s: NormalisedService) => {
    const out = new Map<string, { port: number; protocol: 'TCP' | 'UDP' }>();
    for (const p of s.ports ?? []) {
      const c = containerPort(p);
      if (c) out.set(`${c.port}/${c.protocol}`, c);
    }
    const hcPort = s.healthcheck?.http?.port ?? s.healthcheck?.tcp?.port;
    if (hcPort) out.set(`${hcPort}/TCP`, { port: hcPort, protocol: 'TCP' });
    return [...out.values()].sort((a, b) => a.port - b.port || byCodePoint(a.protocol, b.protocol));
  };
  for (const [name, s] of Object.entries(spec.services)) {
    const where = `services.${name}`;
    if (s.volumes?.length) warn(`${where}.volumes left out: a Compose volume shared between containers has no direct Kubernetes form; mount a PersistentVolumeClaim with a kustomize patch`);
    if (s.role === 'job') {
      const c = container(name, s, where);
      files.push({
        name: `${name}.yaml`,
        objects: [named({
          apiVersion: 'batch/v1',
          kind: 'Job',
          metadata: meta(name, name),
          spec: {
            backoffLimit: JOB_BACKOFF_LIMIT,
            // A gated job's limit counts its wait at the gate too (until 2026-11-29 it was 900 s in all,
            // so a slow migration left it too little time to run, or none).
            activeDeadlineSeconds: gateWait(name) + JOB_DEADLINE_S,
            ttlSecondsAfterFinished: JOB_TTL_S,
            template: { metadata: { labels: selector(name) }, spec: { restartPolicy: 'Never', ...POD_DEFAULTS, ...initContainers(gate(name)), containers: [c] } },
          },
        }, name)],
      });
      continue;
    }
    const gated = !!mig?.external && mig.before.includes(name);
    const c = container(name, s, where, gated ? { [mig!.external!.variable]: mig!.external!.value } : {});
    const ps = ports(s);
    const replicas = s.replicas ?? 1;
    // The service's labels become the Deployment's annotations, each key a qualified name: one the API
    // server refuses (a Traefik label of 68 characters) is left out with a warning (until 2026-11-29 it was
    // written, and `kubectl apply` failed).
    const annotations = Object.fromEntries(Object.entries(s.labels ?? {}).filter(([k]) => {
      const why = annotationKeyProblem(k);
      if (why) warn(`${where}.labels: ${JSON.stringify(k)} is left out of the annotations: ${why}`);
      return !why;
    }));
    const objects: KubeObject[] = [{
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { ...meta(name, name), ...(Object.keys(annotations).length ? { annotations } : {}) },
      spec: {
        replicas,
        selector: { matchLabels: selector(name) },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
        // Gated pods may wait for a migration Job: give the rollout as long as the gate.
        progressDeadlineSeconds: Math.max(limits.gate, gateWait(name)),
        template: {
          metadata: { labels: selector(name) },
          spec: {
            ...POD_DEFAULTS,
            ...initContainers(gate(name)),
            containers: [{
              ...c,
              ...(ps.length ? { ports: ps.map((p) => ({ containerPort: p.port, protocol: p.protocol })) } : {}),
              ...probes(s.healthcheck, where),
              // Behind a Service: keep serving a few seconds after the pod is marked for deletion, while
              // kube-proxy removes it from the endpoints, so a rollout drops no request.
              ...(ps.length ? { lifecycle: { preStop: { exec: { command: ['sleep', String(PRESTOP_S)] } } } } : {}),
            }],
          },
        },
      },
    }];
    if (ps.length) {
      objects.push({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: meta(name, name),
        spec: { selector: selector(name), ports: ps.map((p) => ({ name: `${p.protocol.toLowerCase()}-${p.port}`, port: p.port, targetPort: p.port, protocol: p.protocol })) },
      });
    }
    if (replicas >= 2) {
      objects.push({ apiVersion: apis.pdb, kind: 'PodDisruptionBudget', metadata: meta(name, name), spec: { maxUnavailable: 1, selector: { matchLabels: selector(name) } } });
    }
    if (s.ports?.some((p) => /:/.test(String(p)))) warn(`${where}.ports: published ports become the Service's ports (ClusterIP); expose them with an Ingress or a LoadBalancer Service`);
    files.push({ name: `${name}.yaml`, objects });
  }

  // ---- post phase: waits in the cluster for the rollout, with a Role that can read only those Deployments
  if (mig?.post) {
    const name = postMigrationsName(spec);
    const after = postPhaseAfter(spec).filter((a) => spec.services[a]?.role === 'service');
    const waitFor = after.map((a) => `${a}=${image(spec.services[a]!.image, `services.${a}.image`)}`);
    const account = after.length
      ? jobAccount(`${name}-rollout-reader`, name, [{ apiGroups: ['apps'], resources: ['deployments'], resourceNames: after, verbs: ['get'] }])
      : jobAccount(`${name}-reporter`, name);
    const objects: KubeObject[] = [...account.objects];
    // The pre phase first (the gate), then the rollout of the services it follows.
    const extraInit: unknown[] = [...gate(name)];
    if (after.length) {
      extraInit.push({
        name: 'wait-for-rollout',
        image: migImage,
        imagePullPolicy: PULL,
        command: ['python3', '-c', kubeEscape(ROLLOUT_WAIT_SCRIPT), String(ROLLOUT_WAIT_S), ...waitFor.map(kubeEscape)],
        ...apiAccess,
      });
    } else warn('migrations.post: no long-running service to wait for; the post Job runs at once');
    objects.push(job(name, name, 'post', mig.post.command, mig.post.environment, 'migrations.post', extraInit, account.pod, limits.post));
    files.push({ name: `${name}.yaml`, objects });
  }

  if (spec.proxy) warn(`proxy "${proxyName(spec)}" left out: in Kubernetes, route to the Services with your cluster's Ingress controller`);

  // ---- retention: a CronJob that never overlaps itself
  if (spec.retention) {
    const r = spec.retention;
    const task = spec.maintenance[r.task]!;
    const target = spec.services[task.service];
    const name = scheduledName(spec);
    const argv = renderTaskArgv(task, r.params).map(kubeEscape);
    // The argv as `command`: it replaces the image's ENTRYPOINT, as in `phase-compose exec` and in the
    // Compose schedule (until 2026-11-29 it was `args`, and an ENTRYPOINT got it as its arguments).
    const c = target
      ? { ...container('task', { ...target, command: undefined, entrypoint: undefined }, `services.${task.service}`), command: argv }
      // The semantic rules make sure an external postgres that runs a task has an image.
      : { name: 'task', image: image(data.postgres!.image!, 'data.postgres.image'), imagePullPolicy: PULL, command: argv, ...withEnv([]) };
    files.push({
      name: `${name}.yaml`,
      objects: [{
        apiVersion: apis.cronJob,
        kind: 'CronJob',
        metadata: meta(name, name),
        spec: {
          schedule: cronSchedule(r.every, warn),
          concurrencyPolicy: 'Forbid',
          startingDeadlineSeconds: 300,
          successfulJobsHistoryLimit: 3,
          failedJobsHistoryLimit: 3,
          jobTemplate: {
            spec: {
              backoffLimit: 1,
              // A run that hangs (a lock it waits on forever) would, under Forbid, hold back every later
              // run: it is stopped when the next one is due (until 2026-11-29 it had no deadline).
              activeDeadlineSeconds: Math.max(60, Math.round(parseDuration(r.every) / 1000)),
              template: { metadata: { labels: selector(name) }, spec: { restartPolicy: 'Never', ...POD_DEFAULTS, ...initContainers(gate(name)), containers: [c] } },
            },
          },
        },
      }],
    });
  }

  if (secretData) fillSecretGaps(secretData, referenced, defaults, warn);
  defaultsFile.objects.push({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: meta(defaultsName, 'env'),
    data: Object.fromEntries(Object.keys(defaults).sort().map((k) => [k, defaults[k]!])),
  });
  refuseInvalidNames(files, namespace);
  return { files, warnings, apis, namespace, secretName };
}

/**
 * With `--with-secrets`: a variable the manifests refer to that neither the env file nor a default in the
 * spec defines. The kubelet would pass `$(VAR)` on literally, where Compose passes an empty string (with a
 * warning): it is written into the Secret empty, and said. One Compose requires (`${VAR:?msg}`) is
 * refused, as Compose refuses to start without it. `data` is completed in place, keys in order.
 */
export function fillSecretGaps(data: Record<string, string>, referenced: ReadonlyMap<string, { where: string; required: boolean }>, defaults: Readonly<Record<string, string>>, warn: (m: string) => void): void {
  const gaps = [...referenced].filter(([v]) => !Object.hasOwn(data, v) && !Object.hasOwn(defaults, v)).sort(([a], [b]) => byCodePoint(a, b));
  const required = gaps.filter(([, r]) => r.required);
  if (required.length) {
    throw new PhaseComposeError('problem', `--with-secrets: the env file does not define ${required.map(([v]) => v).join(', ')}, which the spec requires`, {
      details: [...required.map(([v, r]) => `\${${v}:?...} in ${r.where}`), 'define each in the env file (Compose refuses to start without them too); nothing was written'],
    });
  }
  for (const [v, r] of gaps) {
    warn(`${r.where}: \${${v}} is not defined in the env file: written into the Secret empty, as Compose passes it (the kubelet would pass "$(${v})" on as it is)`);
    data[v] = '';
  }
  const sorted = Object.keys(data).sort(byCodePoint);
  const copy = { ...data };
  for (const k of sorted) delete data[k];
  for (const k of sorted) data[k] = copy[k]!;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Why the API server would refuse `name` as the name of a `kind`, or undefined. */
function nameProblem(kind: string, name: string): string | undefined {
  // Services: DNS-1035 labels (a letter first); namespaces and a pod's containers: DNS-1123 labels;
  // a CronJob's name gets 11 characters of suffix in its Jobs; the rest: DNS-1123 subdomains.
  const [re, max, what] = kind === 'Service' ? [/^[a-z]([-a-z0-9]*[a-z0-9])?$/, 63, 'a letter first'] as const
    : kind === 'Namespace' || kind === 'container' ? [DNS_LABEL, 63, ''] as const
    : kind === 'CronJob' ? [DNS_SUBDOMAIN, 52, ''] as const
    : [DNS_SUBDOMAIN, 253, ''] as const;
  if (name.length > max) return `longer than ${max} characters`;
  if (!re.test(name)) return `not lowercase letters, digits and "-" (starting and ending with a letter or digit${what ? `, ${what}` : ''})`;
  return undefined;
}

/**
 * Refuses names the API server would refuse (spec names allow "_", capitals and a digit first, as Compose
 * does): every object's name, its label values and its pods' container names. Until 2026-11-28 they were
 * written as they were, and `kubectl apply` failed on them.
 */
function refuseInvalidNames(files: KubeFile[], namespace: string): void {
  const problems: string[] = [];
  const check = (kind: string, name: string, what: string) => {
    const why = nameProblem(kind, name);
    if (why && !problems.some((p) => p.startsWith(`${JSON.stringify(name)} `))) problems.push(`${JSON.stringify(name)} (${what}): ${why}`);
  };
  check('Namespace', namespace, 'the namespace');
  for (const o of files.flatMap((f) => f.objects)) {
    check(o.kind, o.metadata.name, `a ${o.kind}'s name`);
    for (const v of Object.values(o.metadata.labels ?? {})) if (v.length > 63 || !LABEL_VALUE.test(v)) problems.push(`${JSON.stringify(v)} (a label value of ${o.kind} ${o.metadata.name}): longer than 63 characters, or not letters, digits, "-", "_" and "."`);
    const spec = o.spec as { template?: { spec?: Record<string, unknown> }; jobTemplate?: { spec?: { template?: { spec?: Record<string, unknown> } } } } | undefined;
    const pod = spec?.template?.spec ?? spec?.jobTemplate?.spec?.template?.spec;
    for (const c of [...((pod?.initContainers as Array<{ name: string }>) ?? []), ...((pod?.containers as Array<{ name: string }>) ?? [])]) check('container', c.name, `a container of ${o.kind} ${o.metadata.name}`);
  }
  if (problems.length) {
    throw new PhaseComposeError('usage', `${problems.length} name(s) that Kubernetes refuses`, {
      details: [...problems.slice(0, 10), ...(problems.length > 10 ? [`and ${problems.length - 10} more`] : []), 'rename them in the spec (services, data, migrations.service, name) or pass --namespace; nothing was written'],
    });
  }
}

const initContainers = (list: unknown[]) => (list.length ? { initContainers: list } : {});

/** Readiness and startup probes from a healthcheck's timing: startup allows start_period, readiness `retries` misses. */
function probePair(handler: Record<string, unknown>, t: Timing): Record<string, unknown> {
  const period = seconds(t.interval);
  const timeout = seconds(t.timeout);
  const startPeriod = Math.min(period, seconds(t.start_interval ?? '2s'));
  return {
    readinessProbe: { ...handler, periodSeconds: period, timeoutSeconds: timeout, failureThreshold: t.retries },
    startupProbe: { ...handler, periodSeconds: startPeriod, timeoutSeconds: timeout, failureThreshold: Math.ceil(seconds(t.start_period) / startPeriod) + t.retries },
  };
}
