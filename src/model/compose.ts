// Spec → Compose model (a plain object in Compose Specification format). Pure and deterministic.
import { posix } from 'node:path';
import type { DependsCondition } from '../spec/types.js';
import type { InClusterPostgres, InClusterRedis, NormalisedService, NormalisedSpec, NormalisedTask } from '../spec/normalise.js';
import { parseDuration } from '../util/duration.js';
import { buildGraph, migrationsName, postMigrationsName, proxyName, scheduledName, type GraphNode } from '../spec/graph.js';
import { composeHealthcheck, timing, type ComposeHealthcheck } from './healthcheck.js';
import { features, type Features } from '../spec/target.js';
import { renderTaskArgv } from './task.js';
import { composeEscape } from '../util/shell.js';
import { PhaseComposeError } from '../util/errors.js';

export type ComposeService = {
  image?: string;
  command?: string[];
  entrypoint?: string[];
  working_dir?: string;
  user?: string;
  restart?: string;
  env_file?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: ComposeHealthcheck;
  deploy?: { replicas: number };
  labels?: Record<string, string>;
  networks?: string[];
};

export type ComposeFile = {
  name?: string;
  services: Record<string, ComposeService>;
  networks?: Record<string, Record<string, never>>;
  volumes?: Record<string, Record<string, never>>;
};

export type GenerateOptions = {
  /** Directory of the compose file relative to the spec's directory (POSIX), so paths can be rewritten. Default `.`. */
  outputDirFromSpec?: string;
  /**
   * The spec's directory (absolute, POSIX). Needed when the output climbs out of it (`../x`): relative
   * paths are resolved against it, never against the process's working directory.
   */
  specDir?: string;
  /**
   * The sha256 of the proxy config `generate` writes beside the compose file. It goes on the proxy's
   * container as a label, so a changed config is a changed service: the config is mounted as one file,
   * and a file written again (atomically: a new inode) never reaches a container that runs already.
   */
  proxyConfigSha256?: string;
};

/** Rewrites a spec-relative path for a compose file in `outDir` (both relative to `specDir`). */
export function relativeToOutput(p: string, outDir: string, specDir = '/spec'): string {
  if (posix.isAbsolute(p)) return p;
  const r = posix.relative(posix.resolve(specDir, outDir), posix.resolve(specDir, p)) || '.';
  return r.startsWith('.') || posix.isAbsolute(r) ? r : `./${r}`;
}

export type GenerateResult = { compose: ComposeFile; warnings: string[]; features: Features };

/** Label keys phase-compose puts on the services it generates. */
export const LABEL_ROLE = 'dev.phase-compose.role';
export const LABEL_PHASE = 'dev.phase-compose.phase';
/** On throwaway containers that run a migration check. */
export const LABEL_PROBE = 'dev.phase-compose.probe';
/** On the proxy's container: the sha256 of the config it was created with (see GenerateOptions). */
export const LABEL_PROXY_CONFIG = 'dev.phase-compose.proxy-config-sha256';
/** Where the proxy's container reads the spec's TLS certificate and key (each mounted as one file). */
export const TLS_CERT_IN_PROXY = '/etc/nginx/tls/cert.pem';
export const TLS_KEY_IN_PROXY = '/etc/nginx/tls/key.pem';
/** Names of the generated data services. */
export const POSTGRES_SERVICE = 'postgres';
export const REDIS_SERVICE = 'redis';

const CONDITION: Record<DependsCondition, string> = {
  started: 'service_started',
  healthy: 'service_healthy',
  completed: 'service_completed_successfully',
};

const toList = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
// Absent environment (of a spec section, or of no base service at all) adds no variables.
const envStrings = (e: Record<string, string | number | boolean> | undefined): Record<string, string> =>
  Object.fromEntries(Object.entries(e ?? {}).map(([k, v]) => [k, String(v)]));

/** A volume source is a named volume when it is not a path. */
export function namedVolume(v: string): string | undefined {
  const src = v.split(':')[0]!;
  return v.includes(':') && !/^[./~]/.test(src) && !src.includes('/') && !src.startsWith('$') ? src : undefined;
}

// `$` rule (README, "The deployment spec"): Compose-terms values (image, command, environment, ...) go out as written, so `${VAR}` interpolates; values phase-compose gives meaning to (task argv and params, files it writes) reach the container verbatim: `$` → `$$`.

/** A spec whose data services (if any) run in the stack: what Compose can run. */
export type ComposeSpec = NormalisedSpec & { data: { postgres?: InClusterPostgres; redis?: InClusterRedis } };

/**
 * Refuses a spec with an external data service (`data.<name>.external`): Compose runs postgres and redis
 * itself, and up, backup, restore and exec use their containers. Only `generate --target kubernetes`
 * takes a managed database, for now. A usage error (exit 2).
 */
export function assertComposeData(spec: NormalisedSpec): asserts spec is ComposeSpec {
  const external = (['postgres', 'redis'] as const).filter((n) => spec.data[n]?.external);
  if (!external.length) return;
  const keys = external.map((n) => `data.${n}.external`).join(' and ');
  throw new PhaseComposeError('usage', `${keys} ${external.length === 1 ? '(a managed database) is' : '(managed databases) are'} only for \`generate --target kubernetes\`, for now`, {
    details: [
      'Compose runs postgres and redis itself, and up, backup, restore and exec use their containers',
      `remove ${keys} to run the stack with Compose, or run \`phase-compose generate --target kubernetes\``,
    ],
  });
}

/** Generates the Compose model from a validated spec; a usage error for a spec with an external data service. */
export function generateCompose(spec: NormalisedSpec, opts: GenerateOptions = {}): GenerateResult {
  assertComposeData(spec);
  const f = features(spec.target);
  const warnings: string[] = [];
  const warn = (m: string) => warnings.push(m);
  const graph = buildGraph(spec);
  const outDir = opts.outputDirFromSpec ?? '.';
  // Paths in the spec are relative to the spec; Compose reads them relative to the compose file.
  const rel = (p: string) => relativeToOutput(p, outDir, opts.specDir);
  // Bind mounts from a relative path: rewrite the host side for the compose file's directory.
  const relMount = (v: string) => (/^\.{1,2}\//.test(v) ? `${rel(v.split(':')[0]!)}${v.slice(v.indexOf(':'))}` : v);
  const network = spec.network;
  const defaultEnvFiles = toList(spec.env_file);

  const dependsOn = (node: GraphNode | undefined) => {
    if (!node?.deps.length) return undefined;
    return Object.fromEntries(node.deps.map((d) => [d.on, { condition: CONDITION[d.condition] }]));
  };
  const finish = (name: string, s: ComposeService, role: string, phase?: string): ComposeService => {
    const out: ComposeService = { ...s };
    const dep = dependsOn(graph.nodes.get(name));
    if (dep) out.depends_on = dep;
    out.labels = { ...(s.labels ?? {}), [LABEL_ROLE]: role, ...(phase ? { [LABEL_PHASE]: phase } : {}) };
    if (network) out.networks = [network];
    return order(out);
  };

  const services: Record<string, ComposeService> = {};
  const data = spec.data;
  if (data.postgres) {
    const pg = data.postgres;
    services[POSTGRES_SERVICE] = finish(POSTGRES_SERVICE, {
      image: pg.image,
      restart: 'unless-stopped',
      environment: { POSTGRES_DB: pg.database, POSTGRES_USER: pg.user, POSTGRES_PASSWORD: pg.password },
      volumes: [`${pg.volume}:/var/lib/postgresql/data`],
      // Over TCP, so the image's temporary init server (socket only) is not mistaken for the real one.
      healthcheck: {
        test: ['CMD-SHELL', 'pg_isready -h 127.0.0.1 -U "$${POSTGRES_USER}" -d "$${POSTGRES_DB}"'],
        ...timing(pg.healthcheck, f, warn, 'data.postgres.healthcheck'),
      },
    }, 'data');
  }
  if (data.redis) {
    const r = data.redis;
    services[REDIS_SERVICE] = finish(REDIS_SERVICE, {
      image: r.image,
      ...(r.password ? { command: ['redis-server', '--requirepass', r.password] } : {}),
      restart: 'unless-stopped',
      ...(r.password ? { environment: { REDISCLI_AUTH: r.password } } : {}),
      ...(r.volume ? { volumes: [`${r.volume}:/data`] } : {}),
      healthcheck: {
        test: ['CMD-SHELL', 'redis-cli -h 127.0.0.1 ping | grep -q PONG'],
        ...timing(r.healthcheck, f, warn, 'data.redis.healthcheck'),
      },
    }, 'data');
  }

  const appService = (name: string, s: NormalisedService, extraEnv: Record<string, string> = {}): ComposeService => {
    const out: ComposeService = { image: s.image };
    if (s.command) out.command = s.command;
    if (s.entrypoint) out.entrypoint = s.entrypoint;
    if (s.working_dir) out.working_dir = s.working_dir;
    if (s.user) out.user = s.user;
    out.restart = s.restart;
    const envFiles = s.env_file !== undefined ? toList(s.env_file) : defaultEnvFiles;
    if (envFiles.length) out.env_file = envFiles.map(rel);
    const env = { ...envStrings(s.environment), ...extraEnv };
    if (Object.keys(env).length) out.environment = env;
    if (s.ports?.length) out.ports = s.ports.map(String);
    if (s.volumes?.length) out.volumes = s.volumes.map(relMount);
    const hc = composeHealthcheck(s.healthcheck, f, warn, `services.${name}.healthcheck`);
    if (hc) out.healthcheck = hc;
    if (s.replicas !== undefined) out.deploy = { replicas: s.replicas }; // as written: `scale` is the count
    if (s.labels) out.labels = s.labels;
    return out;
  };

  const mig = spec.migrations;
  const ext = mig?.external;
  const base = mig?.same_image_as ? spec.services[mig.same_image_as] : undefined;
  const migrationJob = (command: string[], phaseEnv: Record<string, string | number | boolean> | undefined): ComposeService => {
    // Not a default: same_image_as names another service's image, known only once semantic checked the name.
    const out: ComposeService = { image: mig!.image ?? base!.image, command, restart: 'no' };
    const envFiles = mig!.env_file !== undefined ? toList(mig!.env_file) : base?.env_file !== undefined ? toList(base.env_file) : defaultEnvFiles;
    if (envFiles.length) out.env_file = envFiles.map(rel);
    const env = { ...envStrings(base?.environment), ...envStrings(mig!.environment), ...envStrings(phaseEnv) };
    if (ext) delete env[ext.variable];
    if (Object.keys(env).length) out.environment = env;
    if (base?.volumes?.length) out.volumes = base.volumes.map(relMount);
    return out;
  };
  if (mig) {
    // Not a default: without a pre phase, migrations.command is it (semantic needs to see which one was written).
    const cmd = mig.pre?.command ?? mig.command!;
    services[migrationsName(spec)] = finish(migrationsName(spec), migrationJob(cmd, mig.pre?.environment), 'migrations', 'pre');
  }

  for (const [name, s] of Object.entries(spec.services)) {
    const gated = ext && mig?.before.includes(name);
    services[name] = finish(name, appService(name, s, gated ? { [ext.variable]: ext.value } : {}), s.role);
  }

  if (mig?.post) {
    const name = postMigrationsName(spec);
    services[name] = finish(name, migrationJob(mig.post.command, mig.post.environment), 'migrations', 'post');
  }

  if (spec.proxy) {
    const p = spec.proxy;
    const name = proxyName(spec);
    // The config file is the one `generate` writes; the TLS files are named the same way: mounted verbatim.
    const file = (path: string) => composeEscape(rel(path));
    const volumes = [`${file(p.config)}:/etc/nginx/conf.d/default.conf:ro`];
    if (p.tls) volumes.push(`${file(p.tls.cert)}:${TLS_CERT_IN_PROXY}:ro`, `${file(p.tls.key)}:${TLS_KEY_IN_PROXY}:ro`);
    const hc = composeHealthcheck(p.healthcheck, f, warn, 'proxy.healthcheck');
    services[name] = finish(name, {
      image: p.image,
      restart: 'unless-stopped',
      ...(p.ports?.length ? { ports: p.ports.map(String) } : {}),
      volumes,
      ...(hc ? { healthcheck: hc } : {}),
      ...(opts.proxyConfigSha256 ? { labels: { [LABEL_PROXY_CONFIG]: opts.proxyConfigSha256 } } : {}),
    }, 'proxy');
  }

  if (spec.retention) {
    const r = spec.retention;
    const task = spec.maintenance![r.task]!;
    const target = spec.services[task.service];
    const name = scheduledName(spec);
    const every = Math.max(1, Math.round(parseDuration(r.every) / 1000));
    const job = scheduledJob(task, r.params, every);
    services[name] = finish(name, {
      ...(target ? appService(task.service, { ...target, command: undefined, healthcheck: undefined, ports: undefined, replicas: undefined }) : { image: spec.data.postgres?.image ?? '' }),
      restart: 'unless-stopped',
      ...job,
    }, 'scheduled');
    delete services[name]!.deploy;
  }

  const volumes = new Set<string>();
  for (const s of Object.values(services)) for (const v of s.volumes ?? []) {
    const n = namedVolume(v);
    if (n) volumes.add(n);
  }
  const compose: ComposeFile = { name: spec.name, services };
  if (f.v1) {
    delete compose.name;
    warn(`top-level "name" left out: Compose ${f.compose} does not read it; pass -p ${spec.name} (phase-compose does) or set COMPOSE_PROJECT_NAME`);
  }
  if (network) compose.networks = { [network]: {} };
  if (volumes.size) compose.volumes = Object.fromEntries([...volumes].sort().map((v) => [v, {}]));
  return { compose, warnings, features: f };
}

/**
 * The scheduled retention service: runs the task's argv every N seconds, forever, without building a
 * shell string. The argv is `$`-escaped: it must reach the container exactly as `phase-compose exec` runs it.
 */
export function scheduledJob(task: NormalisedTask, params: Record<string, string | number | boolean>, everySeconds: number): Pick<ComposeService, 'entrypoint' | 'command'> {
  const argv = renderTaskArgv(task, params).map(composeEscape);
  // The loop script is fixed; the task's argv reaches it as "$@", word for word.
  const loop = `while :; do echo "[$$(date -u +%FT%TZ)] running: $$*"; "$$@" || echo "[$$(date -u +%FT%TZ)] exited with $$?"; sleep ${everySeconds}; done`;
  return { entrypoint: ['/bin/sh', '-c', loop, 'schedule'], command: argv };
}

const ORDER: Array<keyof ComposeService> = [
  'image', 'entrypoint', 'command', 'working_dir', 'user', 'restart', 'env_file', 'environment', 'ports', 'volumes',
  'depends_on', 'healthcheck', 'deploy', 'labels', 'networks',
];
function order(s: ComposeService): ComposeService {
  const out: Record<string, unknown> = {};
  for (const k of ORDER) if (s[k] !== undefined) out[k] = s[k];
  return out as ComposeService;
}

