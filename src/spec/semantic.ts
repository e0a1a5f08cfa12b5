// Semantic rules beyond the schema: references, cycles, health conditions, ports, env names, secrets.
import { buildGraph, findCycle, migrationsName, postMigrationsName, proxyName, scheduledName } from './graph.js';
import type { HealthcheckSpec } from './types.js';
import type { NormalisedSpec, NormalisedTask } from './normalise.js';
import { durationProblem, parseDuration } from '../util/duration.js';
import { closest, listSome } from './schema-errors.js';
import { interpolatedStrings, interpolationProblem } from './interpolation.js';
import { features } from './target.js';
import { CIDR_HINT, EXTERNAL_HOST_HINT, externalHostProblem, isCidr } from './values.js';

/** A problem whose place is a key path (mapped to line:col by the loader). */
export type RawProblem = {
  severity: 'error' | 'warning';
  keys: Array<string | number>;
  message: string;
  hint?: string;
};

export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** `${VAR}`, `${VAR:-default}`, `${VAR?err}` and friends: a reference, not a value. */
export const ENV_REF = /^\$\{[A-Za-z_][A-Za-z0-9_]*(:?[-?+][^}]*)?\}$/;
const SECRET_NAME = /(PASSWORD|SECRET|TOKEN|PRIVATE_KEY|API_KEY|_KEY$|^KEY$)/i;

const keysOf = (dotted: string): Array<string | number> =>
  dotted.split(/\.|\[(\d+)\]/).filter((s) => s !== undefined && s !== '').map((s) => (/^\d+$/.test(s) ? Number(s) : s));

/** Placeholders `{name}` in a template string. */
export function placeholders(s: string): string[] {
  return [...s.matchAll(/\{([a-z][a-z0-9_]*)\}/g)].map((m) => m[1]!);
}

/** A published port, parsed: host and container sides as inclusive ranges (no host side: `host` undefined). */
export type PublishedPort = { ip: string; host?: [number, number]; container: [number, number]; proto: string };

/** At most this many published-port entries are checked for clashes (ranges count once): the check is quadratic. */
export const MAX_PORT_ENTRIES = 1000;

const portRange = (s: string, side: string): [number, number] | string => {
  const [a, b = a] = s.split('-').map(Number) as [number, number?];
  for (const n of [a, b!]) if (!(n >= 1 && n <= 65535)) return `${side} port ${n} is out of range (1-65535)`;
  if (a > b!) return `${side} port range ${s} runs backwards`;
  return [a, b!];
};

/**
 * Parses a published port (`[IP:][HOST:]CONTAINER[/PROTO]` or `IP::CONTAINER[/PROTO]`, each side a port or a range) arithmetically,
 * without expanding ranges; returns a message when Compose would reject it.
 */
export function parsePublishedPort(p: string | number): PublishedPort | string {
  if (typeof p === 'number') return { ip: '0.0.0.0', container: [p, p], proto: 'tcp' };
  const [spec, proto = 'tcp'] = p.split('/');
  const parts = spec!.split(':');
  const container = portRange(parts[parts.length - 1]!, 'container');
  if (typeof container === 'string') return container;
  if (parts.length < 2) return { ip: '0.0.0.0', container, proto };
  // IP::CONTAINER: bound on that address, at a host port the Engine picks (Compose's short syntax).
  if (parts.length === 3 && parts[1] === '') return { ip: parts[0]!, container, proto };
  const host = portRange(parts[parts.length - 2]!, 'host');
  if (typeof host === 'string') return host;
  if (container[0] !== container[1] && host[1] - host[0] !== container[1] - container[0]) {
    return `host range ${host.join('-')} and container range ${container.join('-')} differ in size`;
  }
  return { ip: parts.length === 3 ? parts[0]! : '0.0.0.0', host, container, proto };
}

const HEALTH_KINDS = ['http', 'tcp', 'command', 'disable'] as const;
/** The shortest `retention.every`. */
export const MIN_RETENTION_EVERY_MS = 60_000;
/** The shortest `migrations.deadline`. */
export const MIN_MIGRATION_DEADLINE_MS = 60_000;

/** Runs every semantic rule and returns all problems found. */
export function semanticProblems(spec: NormalisedSpec): RawProblem[] {
  const out: RawProblem[] = [];
  const err = (keys: Array<string | number>, message: string, hint?: string) => out.push({ severity: 'error', keys, message, hint });
  const warn = (keys: Array<string | number>, message: string, hint?: string) => out.push({ severity: 'warning', keys, message, hint });

  const graph = buildGraph(spec);
  const names = [...graph.nodes.keys()];
  const mig = spec.migrations;

  // Generated names must not clash with declared services.
  const generated: Array<[string, string]> = [];
  for (const d of Object.keys(spec.data)) generated.push([d, `data.${d}`]);
  if (mig) generated.push([migrationsName(spec), 'migrations']);
  if (mig?.post) generated.push([postMigrationsName(spec), 'migrations.post']);
  if (spec.proxy) generated.push([proxyName(spec), 'proxy']);
  if (spec.retention) generated.push([scheduledName(spec), 'retention']);
  for (const [g, from] of generated) {
    if (spec.services[g]) err(['services', g], `service "${g}" clashes with the service generated from ${from}`, `rename the service, or rename the generated one`);
  }

  const unknown = (keys: Array<string | number>, ref: string, what = 'service') => {
    const guess = closest(ref, names);
    err(keys, `${what} "${ref}" is not defined`, guess ? `did you mean "${guess}"?` : `defined services: ${listSome(names)}`);
  };

  // References and conditions, from the graph (explicit dependencies only: implicit ones point at names we made).
  for (const node of graph.nodes.values()) {
    for (const d of node.deps) {
      const target = graph.nodes.get(d.on);
      const keys = keysOf(d.from);
      if (!target) {
        if (!d.implicit) unknown(keys, d.on);
        continue;
      }
      if (d.on === node.name) {
        err(keys, `"${node.name}" depends on itself`, 'remove this dependency');
        continue;
      }
      if (d.condition === 'healthy' && !target.hasHealthcheck) {
        err(
          keys,
          `waits for "${d.on}" to be healthy, but "${d.on}" has no healthcheck`,
          target.role === 'job'
            ? `"${d.on}" is a job: wait for it with "completed"`
            : `add a healthcheck to "${d.on}" (http, tcp or command), or wait with "started"`,
        );
      }
      if (d.condition === 'completed' && target.role !== 'job') {
        err(keys, `waits for "${d.on}" to complete, but "${d.on}" is a long-running service and never completes`, `wait with "healthy" or "started", or give "${d.on}" role: job`);
      }
    }
  }
  const cycle = findCycle(graph);
  if (cycle) {
    const first = graph.nodes.get(cycle[0]!)!;
    err(keysOf(first.path), `dependency cycle: ${cycle.join(' -> ')}`, 'remove one of these dependencies to break the cycle');
  }

  // Migrations.
  if (mig) {
    if (!mig.image && !mig.same_image_as) err(['migrations'], 'has neither "image" nor "same_image_as"', 'add image: <image>, or same_image_as: <service running the app>');
    if (mig.image && mig.same_image_as) err(['migrations', 'same_image_as'], 'give "image" or "same_image_as", not both', 'remove one of them');
    if (mig.same_image_as && !spec.services[mig.same_image_as]) unknown(['migrations', 'same_image_as'], mig.same_image_as);
    if (!mig.command && !mig.pre) err(['migrations'], 'has no command', 'add command: [python, manage.py, migrate] (or a pre: phase)');
    if (mig.command && mig.pre) warn(['migrations', 'command'], 'is ignored: the pre phase\'s command runs instead', 'remove migrations.command, or drop the pre phase');
    mig.before.forEach((b, i) => {
      if (!spec.services[b]) unknown(['migrations', 'before', i], b);
    });
    if (mig.post) {
      if (!mig.post.after && graph.nodes.get(postMigrationsName(spec))?.deps.length === 1) {
        err(['migrations', 'post'], 'the post phase has nothing healthy to wait for: none of migrations.before has a healthcheck', 'add a healthcheck to the app service, or list services in migrations.post.after');
      }
    }
    if (mig.external) {
      const { variable } = mig.external;
      for (const b of mig.before) {
        const v = spec.services[b]?.environment?.[variable];
        if (v !== undefined) warn(['services', b, 'environment', variable], `is set here and by migrations.external; the generated value wins`, `remove ${variable} from services.${b}.environment`);
      }
    }
  }

  // Healthchecks: exactly one kind of check.
  const checkHealth = (hc: HealthcheckSpec | undefined, keys: Array<string | number>) => {
    if (!hc) return;
    const kinds = HEALTH_KINDS.filter((k) => hc[k] !== undefined);
    if (kinds.length > 1) err([...keys, kinds[1]!], `gives ${kinds.join(' and ')}: a healthcheck runs one check`, `keep one of ${kinds.join(', ')}`);
    if (!kinds.length) err(keys, 'has no check', 'add http: { port: N }, tcp: { port: N } or command: [...], or disable: true');
  };
  for (const [name, s] of Object.entries(spec.services)) checkHealth(s.healthcheck, ['services', name, 'healthcheck']);
  checkHealth(spec.proxy?.healthcheck, ['proxy', 'healthcheck']);

  // Values Compose interpolates must follow the target Compose's ${...} rules.
  const f = features(spec.target);
  for (const [keys, value] of interpolatedStrings(spec as unknown as Record<string, unknown>)) {
    const why = interpolationProblem(value, f.v1);
    if (why) err(keys, `Compose ${f.compose} cannot interpolate this value: ${why}`, 'write $$ for a literal $; a reference is ${VAR}, ${VAR:-default} or ${VAR:?error}');
  }

  // Environment: names and secrets.
  const checkEnv = (env: Record<string, unknown> | undefined, base: Array<string | number>) => {
    for (const [k, v] of Object.entries(env ?? {})) { // an absent map has nothing to check
      if (!ENV_NAME.test(k)) err([...base, k], `"${k}" is not a valid environment variable name`, 'use letters, digits and _, not starting with a digit');
      else if (SECRET_NAME.test(k) && typeof v === 'string' && v !== '' && !v.includes('${')) {
        err([...base, k], `looks like a secret written as a value`, `put it in your env file and write "\${${k}}" here`);
      }
    }
  };
  for (const [name, s] of Object.entries(spec.services)) checkEnv(s.environment, ['services', name, 'environment']);
  if (mig) {
    checkEnv(mig.environment, ['migrations', 'environment']);
    checkEnv(mig.pre?.environment, ['migrations', 'pre', 'environment']);
    checkEnv(mig.post?.environment, ['migrations', 'post', 'environment']);
  }
  checkExternalData(spec, err, warn);
  const pg = spec.data.postgres;
  if (pg && !ENV_REF.test(pg.password)) err(['data', 'postgres', 'password'], 'must be a ${VAR} reference, not the password itself', 'write password: ${DATABASE_PASSWORD} and put the value in your env file');
  const redis = spec.data.redis;
  if (redis?.password !== undefined && !ENV_REF.test(redis.password)) err(['data', 'redis', 'password'], 'must be a ${VAR} reference, not the password itself', 'write password: ${REDIS_PASSWORD} and put the value in your env file');

  // Published ports: in range; no host port twice; no fixed host port on a replicated service. Ranges are
  // compared arithmetically (never expanded), and the pairwise clash check is bounded by MAX_PORT_ENTRIES.
  const taken: Array<PublishedPort & { host: [number, number]; owner: string }> = [];
  let entries = 0;
  const checkPorts = (ports: Array<string | number> | undefined, base: Array<string | number>, replicas = 1) => {
    (ports ?? []).forEach((p, i) => { // an absent list has nothing to check
      const parsed = parsePublishedPort(p);
      if (typeof parsed === 'string') return err([...base, i], parsed, 'ports are 1-65535; a range is FROM-TO, e.g. "8000-8010:8000-8010"');
      if (!parsed.host) return;
      if (replicas > 1) err([...base, i], `publishes host port ${String(p)} but has ${replicas} replicas: only one container can bind it`, 'publish only the container port (e.g. "8000"), or put the service behind the proxy');
      if (++entries > MAX_PORT_ENTRIES) {
        if (entries === MAX_PORT_ENTRIES + 1) err([...base, i], `more than ${MAX_PORT_ENTRIES} published host ports`, 'publish a range ("8000-8100:8000-8100") instead of one entry per port');
        return;
      }
      const [lo, hi] = parsed.host;
      const clash = taken.find((t) => t.proto === parsed.proto && t.host[0] <= hi && lo <= t.host[1] && (t.ip === parsed.ip || t.ip === '0.0.0.0' || parsed.ip === '0.0.0.0'));
      if (clash) err([...base, i], `host port ${Math.max(lo, clash.host[0])}/${parsed.proto} is already published by ${clash.owner}`, 'pick another host port');
      else taken.push({ ...parsed, host: parsed.host, owner: base.join('.').replace(/\.ports$/, '') });
    });
  };
  for (const [name, s] of Object.entries(spec.services)) checkPorts(s.ports, ['services', name, 'ports'], s.scale);
  if (spec.proxy) checkPorts(spec.proxy.ports, ['proxy', 'ports']);

  // Two routes of one path: nginx refuses the config ("duplicate location"), so the proxy would never start
  // (until 2026-11-28 only nginx said so, at deploy time).
  const firstRoute = new Map<string, number>();
  spec.proxy?.routes.forEach((r, i) => {
    const first = firstRoute.get(r.path);
    if (first !== undefined) err(['proxy', 'routes', i, 'path'], `path "${r.path}" is routed twice (also proxy.routes[${first}])`, 'nginx refuses two locations of one path: keep one route per path');
    else firstRoute.set(r.path, i);
    const escaped = routeEscapeProblem(r.path);
    if (escaped) err(['proxy', 'routes', i, 'path'], escaped.message, escaped.hint);
    const port = /:([0-9]+)$/.exec(r.to)?.[1];
    if (!(Number(port) >= 1 && Number(port) <= 65535)) err(['proxy', 'routes', i, 'to'], `port ${port ?? '?'} in "${r.to}" is not a TCP port`, 'a port is 1 to 65535');
  });

  // Values written into the nginx config (route paths and header names are checked by the schema).
  const ci = spec.proxy?.client_ip;
  if (ci && ci.mode !== 'direct') {
    ci.trusted.forEach((c, i) => {
      if (!isCidr(c)) err(['proxy', 'client_ip', 'trusted', i], `${JSON.stringify(c)} is not a CIDR range`, CIDR_HINT);
    });
    if (ci.mode === 'cloudflare' && !ci.trusted.length) {
      warn(['proxy', 'client_ip'], 'cloudflare mode without trusted ranges: nginx takes CF-Connecting-IP from anyone who reaches it, so clients can forge their IP', 'list Cloudflare\'s ranges (https://www.cloudflare.com/ips/) in trusted, or accept connections from Cloudflare alone');
    }
  }

  // Jobs nothing waits for.
  const waitedFor = new Set([...graph.nodes.values()].flatMap((n) => n.deps.map((d) => d.on)));
  for (const node of graph.nodes.values()) {
    if (node.kind !== 'job') continue;
    if (!waitedFor.has(node.name)) warn(keysOf(node.path), `job "${node.name}" runs but nothing waits for it`, 'if it must finish before something starts, add it to that service\'s depends_on');
  }

  // Durations past what Compose reads (the schema checks only their form).
  const durations: Array<[Array<string | number>, string | undefined]> = [
    [['retention', 'every'], spec.retention?.every],
    [['backups', 'every'], spec.backups?.every],
    [['migrations', 'deadline'], spec.migrations?.deadline],
  ];
  const timings: Array<[Array<string | number>, object | undefined]> = [
    ...Object.entries(spec.services).map(([n, s]): [Array<string | number>, object | undefined] => [['services', n, 'healthcheck'], s.healthcheck]),
    [['data', 'postgres', 'healthcheck'], spec.data.postgres?.healthcheck],
    [['data', 'redis', 'healthcheck'], spec.data.redis?.healthcheck],
    [['proxy', 'healthcheck'], spec.proxy?.healthcheck],
  ];
  for (const [keys, hc] of timings) {
    for (const k of ['interval', 'timeout', 'start_period', 'start_interval']) durations.push([[...keys, k], (hc as Record<string, string | undefined> | undefined)?.[k]]);
  }
  const badDuration = new Set<string>();
  for (const [keys, d] of durations) {
    const problem = d === undefined ? undefined : durationProblem(d);
    if (problem) {
      err(keys, problem, 'a healthcheck timing or a period is seconds to days: e.g. 30s, 24h');
      badDuration.add(keys.join('.'));
    }
  }

  if (mig?.deadline !== undefined && !badDuration.has('migrations.deadline') && parseDuration(mig.deadline) < MIN_MIGRATION_DEADLINE_MS) {
    err(['migrations', 'deadline'], `stops a migration after ${mig.deadline}: at least 1m`, 'the deadline counts the wait for the database too; a migration of a large table takes minutes: e.g. deadline: 1h');
  }

  // Maintenance tasks and retention.
  for (const [tname, task] of Object.entries(spec.maintenance)) checkTask(tname, task, spec, err, unknown);
  if (spec.retention) {
    const r = spec.retention;
    if (!badDuration.has('retention.every') && parseDuration(r.every) < MIN_RETENTION_EVERY_MS) {
      err(['retention', 'every'], `runs the task every ${r.every}: at least 1m between runs`, 'each run scans and deletes rows and holds locks on the table: a purge runs every few hours, e.g. every: 24h');
    }
    const task = spec.maintenance[r.task];
    if (!task) {
      const guess = closest(r.task, Object.keys(spec.maintenance));
      err(['retention', 'task'], `task "${r.task}" is not defined in maintenance`, guess ? `did you mean "${guess}"?` : 'add the task under maintenance:');
    } else {
      for (const [k, v] of Object.entries(r.params)) {
        const p = task.params[k];
        if (!p) err(['retention', 'params', k], `task "${r.task}" has no parameter "${k}"`, `parameters: ${listSome(Object.keys(task.params)) || '(none)'}`);
        else if (p.type === 'integer' ? !Number.isInteger(v) : typeof v !== p.type) err(['retention', 'params', k], `expected ${p.type}, got ${JSON.stringify(v)}`);
      }
      for (const [k, p] of Object.entries(task.params)) {
        if (p.required && r.params[k] === undefined) err(['retention', 'params'], `missing required parameter "${k}" of task "${r.task}"`, `add ${k}: <value>`);
      }
    }
  }
  return out;
}

/** `data.<name>.external`: a reachable host; nothing that only a database the stack runs would use. */
function checkExternalData(spec: NormalisedSpec, err: Report, warn: Report): void {
  for (const name of ['postgres', 'redis'] as const) {
    const d = spec.data[name];
    if (!d?.external) continue;
    const base = ['data', name];
    const why = externalHostProblem(d.external.host);
    if (why) err([...base, 'external', 'host'], `${JSON.stringify(d.external.host.length > 80 ? `${d.external.host.slice(0, 80)}...` : d.external.host)} ${why}`, EXTERNAL_HOST_HINT);
    const unused = 'the managed database is not run by the stack';
    if (d.volume !== undefined) err([...base, 'volume'], `is not used with external: ${unused}, so it keeps its own storage`, `remove data.${name}.volume`);
    if (d.healthcheck !== undefined) err([...base, 'healthcheck'], `is not used with external: ${unused}, so nothing probes it`, `remove data.${name}.healthcheck`);
    if (name === 'redis' && d.image !== undefined) warn([...base, 'image'], `is not used with external: ${unused}`, 'remove data.redis.image');
  }
  const pg = spec.data.postgres;
  if (pg?.external && pg.image === undefined) {
    for (const [tname, task] of Object.entries(spec.maintenance)) {
      if (task.service === 'postgres') err(['maintenance', tname, 'service'], 'runs in data.postgres, which is external and has no image to run the task in', 'add data.postgres.image (its client tools run the task), or run the task in an app service');
    }
  }
}

type Report = (keys: Array<string | number>, message: string, hint?: string) => void;

/** The options `exec <task>` keeps for itself (global ones, exec's own), as flags. */
const CLI_OPTIONS = new Set(['help', 'h', 'version', 'file', 'f', 'project-name', 'p', 'yes', 'y']);

function checkTask(
  tname: string,
  task: NormalisedTask,
  spec: NormalisedSpec,
  err: (keys: Array<string | number>, message: string, hint?: string) => void,
  unknown: (keys: Array<string | number>, ref: string, what?: string) => void,
): void {
  const base = ['maintenance', tname];
  const runnable = new Set([...Object.keys(spec.services), ...Object.keys(spec.data)]);
  if (!runnable.has(task.service)) unknown([...base, 'service'], task.service);
  const params = task.params;
  // `exec <task> --name value`: a name the CLI takes for itself never reaches the task (until 2026-11-28
  // `exec pin --version 2.10` printed phase-compose's version and exited 0, the task not run).
  for (const name of Object.keys(params)) {
    const flag = name.replace(/_/g, '-');
    if (CLI_OPTIONS.has(flag)) err([...base, 'params', name], `parameter "${name}" is read as phase-compose's own --${flag}, never the task's`, 'rename the parameter');
  }
  task.argv.forEach((item, i) => {
    const strings = typeof item === 'string' ? [item] : item.args;
    if (typeof item !== 'string' && !params[item.if]) err([...base, 'argv', i, 'if'], `parameter "${item.if}" is not declared`, `declare it under maintenance.${tname}.params`);
    for (const s of strings) {
      for (const ph of placeholders(s)) {
        if (!params[ph]) err([...base, 'argv', i], `placeholder {${ph}} is not a declared parameter`, `declare it under maintenance.${tname}.params`);
        else if (typeof item === 'string' && !params[ph]!.required && params[ph]!.default === undefined) {
          err([...base, 'argv', i], `placeholder {${ph}} is optional but used outside an "if" group`, `make it required, give it a default, or wrap it: { if: ${ph}, args: [...] }`);
        }
      }
    }
  });
}

/** Characters a route path may hold as themselves (the schema's set, without `%`). */
const ROUTE_CHAR = /^[A-Za-z0-9._~!&()*+,=:@/-]$/;

/**
 * A route path with `%XX` escapes never matches: nginx compares locations (and the strip rewrite) with
 * the decoded URI, so `location /a%41` waits for a literal "%41" no client sends. Pure.
 */
export function routeEscapeProblem(path: string): { message: string; hint: string } | undefined {
  if (!/%[0-9A-Fa-f]{2}/.test(path)) return undefined;
  const chars = path.replace(/%([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
  const message = `path "${path}" holds %XX escapes: nginx matches the decoded path, so this route would never match`;
  const bad = [...chars].find((c) => !ROUTE_CHAR.test(c));
  return bad === undefined
    ? { message, hint: `write it decoded: "${chars}"` }
    : { message, hint: `it decodes to ${JSON.stringify(bad)}, which a route path cannot hold; route a path without it` };
}
