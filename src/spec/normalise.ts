// The one place spec defaults are filled. Pure: runs once, right after the schema accepts the spec and
// before the semantic rules, so everything downstream reads a NormalisedSpec whose defaulted fields are
// required: nobody writes `?? default` for a spec field again (the compiler refuses a missing one).
import { features } from './target.js';
import type {
  BackupsSpec, ClientIpSpec, DeploymentSpec, ExternalDataSpec, HealthcheckSpec, MigrationsSpec, PostgresSpec, ProxySpec, RedisSpec, ServiceSpec, TargetSpec, TaskParamSpec, TaskSpec,
} from './types.js';

/** Target versions assumed when the spec names none (and `init` cannot detect them). */
export const DEFAULT_COMPOSE = '2.20.2';
export const DEFAULT_ENGINE = '20.10';
/** Where backups go when neither the spec nor `--dir` says. */
export const DEFAULT_BACKUP_DIR = 'backups';
/** Stamped backups kept when `migrations.backup` is on and names no `keep`. */
export const DEFAULT_BACKUP_KEEP = 5;
export const DEFAULT_EXTERNAL_MIGRATION = { variable: 'EXTERNAL_MIGRATION', value: 'true' };

/** Healthcheck timing; start_interval is filled only when the target supports it. */
export type Timing = Required<Pick<HealthcheckSpec, 'interval' | 'timeout' | 'retries' | 'start_period'>> & Pick<HealthcheckSpec, 'start_interval'>;
/** A healthcheck with its probe's host/path and its timing filled. */
export type NormalisedHealthcheck = Omit<HealthcheckSpec, 'http' | 'tcp'> & Timing & {
  http?: { port: number; path: string; host: string };
  tcp?: { port: number; host: string };
};
export type NormalisedService = Omit<ServiceSpec, 'role' | 'restart' | 'healthcheck'> & {
  role: NonNullable<ServiceSpec['role']>;
  /** How many containers run: `replicas`, 1 when the spec says nothing (`replicas` itself stays as written: the compose file gets `deploy:` only then). */
  scale: number;
  restart: NonNullable<ServiceSpec['restart']>;
  healthcheck?: NormalisedHealthcheck;
};
export type NormalisedMigrations = Omit<MigrationsSpec, 'service' | 'external' | 'backup' | 'run'> & {
  service: string;
  run: NonNullable<MigrationsSpec['run']>;
  /** Set on the `before` services; undefined when `external` is off. */
  external?: { variable: string; value: string };
  /** Undefined when no backup is taken before migrations. */
  backup?: { dir: string; keep: number };
};
/** The standard ports, the default of `data.<name>.external.port`. */
export const DATA_PORTS = { postgres: 5432, redis: 6379 } as const;
/** `data.<name>.external` with its port filled. */
export type NormalisedExternal = { host: string; port: number };
/** A database the stack runs. */
export type InClusterPostgres = Omit<PostgresSpec, 'image' | 'volume' | 'healthcheck' | 'external'> & { external?: undefined; image: string; volume: string; healthcheck: Timing };
/** A managed database: `volume` and `healthcheck` stay as written (the semantic rules refuse them). */
export type ExternalPostgres = Omit<PostgresSpec, 'external'> & { external: NormalisedExternal };
export type NormalisedPostgres = InClusterPostgres | ExternalPostgres;
export type InClusterRedis = Omit<RedisSpec, 'image' | 'healthcheck' | 'external'> & { external?: undefined; image: string; healthcheck: Timing };
export type ExternalRedis = Omit<RedisSpec, 'external'> & { external: NormalisedExternal };
export type NormalisedRedis = InClusterRedis | ExternalRedis;
/** Client IP mode, with `trusted` always a list (empty: trust nobody's header). */
export type NormalisedClientIp = { mode: 'direct' } | { mode: 'cloudflare'; trusted: string[] } | { mode: 'header'; header: string; trusted: string[] };
export type NormalisedProxy = Omit<ProxySpec, 'service' | 'healthcheck' | 'client_ip'> & { service: string; healthcheck: NormalisedHealthcheck; client_ip: NormalisedClientIp };
/** `backups`, always present: `env` undefined means the whole env files travel with the archive. */
export type NormalisedBackups = Omit<BackupsSpec, 'dir' | 'keep'> & { dir: string; keep: number };
export type NormalisedTask = Omit<TaskSpec, 'params'> & { params: Record<string, TaskParamSpec> };

export type NormalisedSpec = Omit<DeploymentSpec, 'target' | 'output' | 'services' | 'migrations' | 'data' | 'proxy' | 'maintenance' | 'backups'> & {
  target: Required<TargetSpec>;
  output: string;
  services: Record<string, NormalisedService>;
  migrations?: NormalisedMigrations;
  data: { postgres?: NormalisedPostgres; redis?: NormalisedRedis };
  proxy?: NormalisedProxy;
  maintenance: Record<string, NormalisedTask>;
  backups: NormalisedBackups;
};

const mapValues = <T, U>(o: Record<string, T>, f: (v: T) => U): Record<string, U> =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)]));

/** Fills every default of a spec the schema accepted. Returns a new object; the input is not changed. */
export function normaliseSpec(spec: DeploymentSpec): NormalisedSpec {
  const target = { compose: spec.target?.compose ?? DEFAULT_COMPOSE, engine: spec.target?.engine ?? DEFAULT_ENGINE };
  const { startInterval } = features(target);
  // With start_interval, probe every 1s while starting (and 10s after); without it, a short interval throughout.
  const timing = (t: Partial<Timing> = {}): Timing => ({
    ...t,
    interval: t.interval ?? (startInterval ? '10s' : '2s'),
    timeout: t.timeout ?? '5s',
    retries: t.retries ?? 3,
    start_period: t.start_period ?? '120s',
    ...(startInterval ? { start_interval: t.start_interval ?? '1s' } : {}),
  });
  const healthcheck = ({ http, tcp, ...hc }: HealthcheckSpec): NormalisedHealthcheck => {
    const out: NormalisedHealthcheck = { ...hc, ...timing(hc) };
    if (http) out.http = { ...http, host: http.host ?? '127.0.0.1', path: http.path ?? '/' };
    if (tcp) out.tcp = { ...tcp, host: tcp.host ?? '127.0.0.1' };
    return out;
  };
  const service = ({ healthcheck: hc, ...s }: ServiceSpec): NormalisedService => {
    const role = s.role ?? 'service';
    const out: NormalisedService = { ...s, role, restart: s.restart ?? (role === 'job' ? 'no' : 'unless-stopped'), scale: s.replicas ?? 1 };
    if (hc) out.healthcheck = healthcheck(hc);
    return out;
  };
  const migrations = (m: MigrationsSpec): NormalisedMigrations => {
    const { external: ext, backup: b, ...rest } = m;
    const out: NormalisedMigrations = { ...rest, service: m.service ?? 'migrations', run: m.run ?? 'when-pending' };
    if (ext) out.external = { ...DEFAULT_EXTERNAL_MIGRATION, ...(typeof ext === 'object' ? ext : {}) };
    // Only a database can be backed up: without data.postgres the setting has nothing to act on.
    if (b && spec.data?.postgres) out.backup = { dir: DEFAULT_BACKUP_DIR, keep: DEFAULT_BACKUP_KEEP, ...(b === true ? {} : b) };
    return out;
  };
  const clientIp = (c: ClientIpSpec = { mode: 'direct' }): NormalisedClientIp => (c.mode === 'direct' ? c : { ...c, trusted: c.trusted ?? [] });
  const { migrations: m, proxy: p, data: d, maintenance, backups: bk, ...rest } = spec;
  const out: NormalisedSpec = {
    ...rest,
    target,
    output: spec.output ?? 'docker-compose.yml',
    services: mapValues(spec.services, service),
    data: {},
    maintenance: mapValues(maintenance ?? {}, (t) => ({ ...t, params: t.params ?? {} })),
    // Plain `backup` rotates like the pre-migration backup: migrations.backup's place unless backups names its own.
    backups: {
      ...bk,
      dir: bk?.dir ?? (typeof m?.backup === 'object' ? m.backup.dir : undefined) ?? DEFAULT_BACKUP_DIR,
      keep: bk?.keep ?? (typeof m?.backup === 'object' ? m.backup.keep : undefined) ?? DEFAULT_BACKUP_KEEP,
    },
  };
  // Without `external` the schema requires `image`.
  const external = (e: ExternalDataSpec, name: keyof typeof DATA_PORTS): NormalisedExternal => ({ host: e.host, port: e.port ?? DATA_PORTS[name] });
  const pg = d?.postgres;
  if (pg) {
    out.data.postgres = pg.external
      ? { ...pg, external: external(pg.external, 'postgres') }
      : { ...pg, external: undefined, image: pg.image!, volume: pg.volume ?? `${spec.name}-postgres-data`, healthcheck: timing(pg.healthcheck) };
  }
  const r = d?.redis;
  if (r) out.data.redis = r.external ? { ...r, external: external(r.external, 'redis') } : { ...r, external: undefined, image: r.image!, healthcheck: timing(r.healthcheck) };
  if (m) out.migrations = migrations(m);
  if (p) out.proxy = { ...p, service: p.service ?? 'nginx', client_ip: clientIp(p.client_ip), healthcheck: healthcheck(p.healthcheck ?? { http: { port: 8080, path: '/nginx-health' } }) };
  return out;
}
