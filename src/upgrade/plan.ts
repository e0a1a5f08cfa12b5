// What an upgrade (or a rollback) changes, from what runs and what Compose would now create. Pure.
import { parse } from 'yaml';
import { buildGraph, migrationsName, waves, type NodeKind } from '../spec/graph.js';
import { LABEL_PROXY_CONFIG } from '../model/compose.js';
import type { NormalisedSpec } from '../spec/normalise.js';
import { PhaseComposeError } from '../util/errors.js';
import { STABLE_MS } from './rolling.js';

/** A running container of the project: its image and the parts of its config an upgrade changes. */
export type RunningContainer = {
  id: string; name: string; service: string; imageId: string; env: string[]; cmd?: string[]; entrypoint?: string[]; labels?: Record<string, string>;
  /** The proxy's: the sha256 of the TLS certificate its container reads (undefined: not looked at, or none). */
  tlsCertSha256?: string;
};

/**
 * What Compose would create now, per service (from `compose config`, interpolated): image name, that
 * image's ID here (undefined: not on this host), environment, command and entrypoint.
 */
export type Wanted = {
  image: string; imageId?: string; environment: Record<string, string>; command?: string[]; entrypoint?: string[]; labels?: Record<string, string>;
  /** The proxy's: the sha256 of the certificate file the compose file mounts, as it is on the host now. */
  tlsCertSha256?: string;
  /** The keys of the service's definition that differ between the compose file its containers were created from and this one (fileChanges()). */
  fileChanges?: string[];
};

/**
 * Keys of a generated service that never call for a new container: `deploy` (its replica count: Compose
 * adds or removes containers) and `depends_on` (the start order, which a running container never reads).
 */
const NOT_RECREATING = new Set(['deploy', 'depends_on']);

/** A value with its object keys in code-point order: equal definitions give equal JSON whatever the key order. */
const canonical = (v: unknown): unknown =>
  Array.isArray(v) ? v.map(canonical)
  : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]))
  : v;

const servicesOf = (text: string): Record<string, Record<string, unknown>> => {
  const doc = parse(text, { maxAliasCount: 100 }) as { services?: unknown } | null;
  const s = doc?.services;
  return s && typeof s === 'object' && !Array.isArray(s) ? (s as Record<string, Record<string, unknown>>) : {};
};

/**
 * Per service of `now`, the keys of its definition that differ from `before` (both compose files'
 * texts, as generated: variables not interpolated), leaving out NOT_RECREATING and the proxy's config
 * label (compared as \`config\` on the containers). What a container's inspect cannot tell reliably: a
 * healthcheck, a volume, a user or a port changed or removed, an environment key removed. A service new
 * in `now` is left out (nothing of it runs). Undefined `before`: nothing known (no record). Pure.
 */
export function fileChanges(before: string | undefined, now: string): Record<string, string[]> {
  if (before === undefined) return {};
  let was: Record<string, Record<string, unknown>>;
  let is: Record<string, Record<string, unknown>>;
  try {
    was = servicesOf(before);
    is = servicesOf(now);
  } catch {
    return {}; // a record that does not parse tells nothing; the containers are still compared
  }
  const out: Record<string, string[]> = {};
  for (const [name, def] of Object.entries(is)) {
    const old = was[name];
    if (!old || typeof old !== 'object' || !def || typeof def !== 'object') continue;
    const keys = [...new Set([...Object.keys(old), ...Object.keys(def)])].filter((k) => !NOT_RECREATING.has(k)).sort();
    const strip = (k: string, v: unknown) => (k === 'labels' && v && typeof v === 'object' ? { ...(v as Record<string, unknown>), [LABEL_PROXY_CONFIG]: undefined } : v);
    const changed = keys.filter((k) => JSON.stringify(canonical(strip(k, old[k])) ?? null) !== JSON.stringify(canonical(strip(k, def[k])) ?? null));
    if (changed.length) out[name] = changed;
  }
  return out;
}

/** `wanted` with each service's fileChanges() between `before` and `now` (only `only`'s, when given). */
export function withFileChanges(wanted: Record<string, Wanted>, before: string | undefined, now: string | undefined, only?: readonly string[]): Record<string, Wanted> {
  if (now === undefined) return wanted;
  for (const [service, keys] of Object.entries(fileChanges(before, now))) {
    const w = wanted[service];
    if (w && (!only || only.includes(service))) w.fileChanges = keys;
  }
  return wanted;
}

const sameArgv = (want: string[] | undefined, have: string[] | undefined) => want === undefined || JSON.stringify(want) === JSON.stringify(have ?? []);

/**
 * Why a container differs from what is wanted: `image`, `environment`, `command`, `config` (the proxy's
 * generated config, by its hash label: the running one still reads the config it was created with), or
 * `certificate` (the proxy's TLS certificate file was replaced on the host, e.g. renewed by a tool that
 * writes a new file and renames it: a file mounted on its own is pinned to the file it was when the
 * container was created, so that nginx never sees the new one, even when reloaded). Empty: it does not.
 */
export function differences(c: RunningContainer, w: Wanted): string[] {
  const why: string[] = [];
  // An image not on this host is not the one that runs (until 2026-11-29 it was no difference: a new tag not
  // pulled yet was "nothing to upgrade", exit 0; now the plan says it is missing).
  if (!w.imageId || c.imageId !== w.imageId) why.push('image');
  const env = new Set(c.env);
  if (Object.entries(w.environment).some(([k, v]) => !env.has(`${k}=${v}`))) why.push('environment');
  if (!sameArgv(w.command, c.cmd) || !sameArgv(w.entrypoint, c.entrypoint)) why.push('command');
  const config = w.labels?.[LABEL_PROXY_CONFIG];
  if (config !== undefined && c.labels?.[LABEL_PROXY_CONFIG] !== config) why.push('config');
  if (w.tlsCertSha256 !== undefined && c.tlsCertSha256 !== undefined && c.tlsCertSha256 !== w.tlsCertSha256) why.push('certificate');
  for (const k of w.fileChanges ?? []) if (!why.includes(k)) why.push(k);
  return why;
}

/** One service to replace: its old containers, how many new ones, and how readiness is judged. */
export type Replacement = {
  service: string;
  /** `healthy`: waits for the healthcheck; `running`: a service without one (a worker) must stay up. */
  readyWhen: 'healthy' | 'running';
  /** A published fixed host port is held by one container at a time: it cannot run old and new side by side. */
  inPlace: boolean;
  old: RunningContainer[];
  replicas: number;
  why: string[];
  fromImage: string;
  toImage: string;
  /** The proxy routes requests to it. */
  routed?: boolean;
};

export type UpgradePlan = {
  replace: Replacement[];
  unchanged: string[];
  /** Data services whose config changed: never restarted by an upgrade (that is downtime). */
  dataChanged: string[];
  /** Images the change needs that are not on this host. */
  missingImages: string[];
  /** Long-running services with no running container: the stack is not (fully) up. */
  notRunning: string[];
  /** The image the migrations would run now (what their pending check must run): undefined without migrations. */
  migrationsImage?: string;
  /** That image is not on this host: an upgrade (which runs them) needs it; a rollback (which does not) does not. */
  migrationsImageMissing?: boolean;
};

const short = (id: string) => id.replace(/^sha256:/, '').slice(0, 12);

/** A fixed host port (`8080:80`, `127.0.0.1:8080:80`); `127.0.0.1::80` and `80` are ephemeral. */
export function fixedHostPort(p: string | number): boolean {
  const parts = String(p).split('/')[0]!.split(':');
  return parts.length >= 2 && parts[parts.length - 2] !== '';
}

/**
 * Compares what runs with what is wanted. Long-running services (app services with role `service`, and
 * the proxy) are replaced when a container's config hash or image differs; jobs and migrations are left
 * to their own runs. Order: services in dependency order, those with a healthcheck first, the proxy last.
 */
export function upgradePlan(spec: NormalisedSpec, running: RunningContainer[], wanted: Record<string, Wanted>): UpgradePlan {
  const graph = buildGraph(spec);
  const kind = (s: string): NodeKind | undefined => graph.nodes.get(s)?.kind;
  const order = waves(graph).flat();
  const plan: UpgradePlan = { replace: [], unchanged: [], dataChanged: [], missingImages: [], notRunning: [] };
  const later: Replacement[] = [];
  for (const service of order) {
    const k = kind(service);
    const w = wanted[service];
    // A scheduled task (retention's `<task>-schedule`) runs the app's image too: before 2026-11-29 it was
    // left on the old code against the migrated schema, and named nowhere in the plan.
    if (!w || (k !== 'service' && k !== 'proxy' && k !== 'data' && k !== 'scheduled')) continue;
    const old = running.filter((c) => c.service === service);
    const why = new Set<string>();
    for (const c of old) for (const d of differences(c, w)) why.add(d);
    if (!old.length) {
      if (k !== 'data') plan.notRunning.push(service);
      continue;
    }
    if (!why.size) {
      plan.unchanged.push(service);
      continue;
    }
    if (k === 'data') {
      plan.dataChanged.push(service);
      continue;
    }
    if (!w.imageId) plan.missingImages.push(w.image);
    const s = spec.services[service];
    // The proxy has a healthcheck unless its spec disables it (before 2026-11-29 it was always waited on as
    // healthy: a proxy with healthcheck.disable was never seen healthy, and the upgrade timed out).
    const hasHealth = k === 'proxy' ? !spec.proxy?.healthcheck.disable : !!s?.healthcheck && !s.healthcheck.disable;
    const ports = k === 'proxy' ? spec.proxy?.ports ?? [] : s?.ports ?? [];
    const r: Replacement = {
      service,
      readyWhen: hasHealth ? 'healthy' : 'running',
      // A scheduler is replaced in place: two side by side could run the task twice at once.
      inPlace: k === 'scheduled' || ports.some(fixedHostPort),
      old,
      replicas: s?.scale ?? 1, // the proxy is not in spec.services: it runs one
      why: [...why].sort(),
      fromImage: [...new Set(old.map((c) => short(c.imageId)))].join(','),
      toImage: w.imageId ? `${w.image} (${short(w.imageId)})` : `${w.image} (not on this host)`,
      ...(spec.proxy?.routes.some((rt) => rt.to.slice(0, rt.to.lastIndexOf(':')) === service) ? { routed: true } : {}),
    };
    (hasHealth && k !== 'proxy' ? plan.replace : later).push(r);
  }
  plan.replace.push(...later.filter((r) => kind(r.service) !== 'proxy'), ...later.filter((r) => kind(r.service) === 'proxy'));
  // The migrations' own image (migrations.image) too: until 2026-11-29 only same_image_as's service's new
  // image was known, and with an image of their own the pending check ran the old one.
  const m = spec.migrations ? wanted[migrationsName(spec)] : undefined;
  if (m?.image) {
    plan.migrationsImage = m.image;
    if (!m.imageId) plan.migrationsImageMissing = true;
  }
  return plan;
}

/**
 * The migration phases run Compose on the data services with the migrations: a data service whose config
 * changed would be recreated there (stopped, removed, created again) while the old app serves, against
 * what the plan says. Refused, nothing changed (until 2026-11-29 the plan printed "an upgrade never
 * restarts a data service" and went on). Without migrations no Compose call touches them. Pure.
 */
export function dataChangeRefusal(spec: Pick<NormalisedSpec, 'migrations'>, plan: Pick<UpgradePlan, 'dataChanged'>): PhaseComposeError | undefined {
  if (!spec.migrations || !plan.dataChanged.length) return undefined;
  const them = plan.dataChanged.length === 1 ? 'it' : 'them';
  return new PhaseComposeError('problem', `the spec changes ${plan.dataChanged.join(', ')}: an upgrade never restarts a data service, and its migration phase would recreate ${them}`, {
    details: ['upgrade with the data services as they run now, and apply their change in a maintenance window with `phase-compose up --recreate`', 'nothing was changed'],
  });
}

/** The plan as lines for the user. */
export function planLines(p: UpgradePlan, pending: { pre?: boolean; post?: boolean }, backup: string | undefined): string[] {
  const out: string[] = [];
  if (!p.replace.length) out.push('no long-running service changes');
  for (const r of p.replace) {
    const how = r.inPlace
      ? 'in place: it publishes a fixed host port, which one container holds at a time (a short gap)'
      : `rolling: ${r.replicas} new beside ${r.old.length} old, ${r.readyWhen === 'healthy' ? 'each new one healthy' : 'each new one running'} before the old ones drain`;
    out.push(`replace ${r.service} (${r.why.join(' and ')} changed): ${r.fromImage} -> ${r.toImage}; ${how}`);
    // Said, not fixed: nothing tells when such a replica answers (until 2026-11-29 not even said).
    if (r.routed && r.readyWhen === 'running') out.push(`  ${r.service} has no healthcheck, and the proxy routes to it: each new one takes requests once it has run ${STABLE_MS / 1000} s, answering or not, so some may fail; give it a healthcheck`);
  }
  if (p.unchanged.length) out.push(`unchanged, not touched: ${p.unchanged.join(', ')}`);
  for (const d of p.dataChanged) out.push(`${d}: its config changed, but an upgrade never restarts a data service (that is downtime); do it in a maintenance window with \`phase-compose up --recreate\``);
  const say = (v: boolean | undefined) => (v === undefined ? 'unknown until it runs' : v ? 'pending' : 'nothing pending');
  if (pending.pre !== undefined || pending.post !== undefined) out.push(`migrations (checked with the new image against the live database): pre-deploy ${say(pending.pre)}, post-deploy ${say(pending.post)}`);
  out.push(backup ?? 'backup: none (the spec asks for no backup before migrations)');
  return out;
}
