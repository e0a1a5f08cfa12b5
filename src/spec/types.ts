// The deployment spec (`phase-compose.yaml`) as TypeScript types. The JSON Schema in
// `schema/phase-compose.schema.json` is the source of truth for validation; these types mirror it.

/** A duration such as `5s`, `500ms`, `2m`, `1h30m`. */
export type Duration = string;

/** An argv array: every element is one argument, never parsed by a shell. */
export type Argv = string[];

export type HealthcheckSpec = {
  /** HTTP GET that must answer 2xx/3xx. */
  http?: { port: number; path?: string; host?: string };
  /** TCP connect. */
  tcp?: { port: number; host?: string };
  /** Any command (argv); exit 0 means healthy. */
  command?: Argv;
  /** Disable any image healthcheck. */
  disable?: boolean;
  interval?: Duration;
  timeout?: Duration;
  retries?: number;
  start_period?: Duration;
  start_interval?: Duration;
};

export type DependsCondition = 'started' | 'healthy' | 'completed';

export type ServiceSpec = {
  /** `service` is long-running (default); `job` runs once and exits. */
  role?: 'service' | 'job';
  image: string;
  command?: Argv;
  entrypoint?: Argv;
  env_file?: string | string[];
  environment?: Record<string, string | number | boolean>;
  ports?: Array<string | number>;
  volumes?: string[];
  replicas?: number;
  restart?: 'no' | 'always' | 'on-failure' | 'unless-stopped';
  healthcheck?: HealthcheckSpec;
  /** Other services (or data services) this one waits for. A list means "healthy if it has a healthcheck, else started". */
  depends_on?: string[] | Record<string, DependsCondition>;
  working_dir?: string;
  user?: string;
  labels?: Record<string, string>;
};

export type MigrationPhaseSpec = {
  command: Argv;
  /** Exits non-zero when migrations of this phase are pending. */
  check?: Argv;
  environment?: Record<string, string | number | boolean>;
};

export type PostMigrationPhaseSpec = MigrationPhaseSpec & {
  /** Services that must be healthy before the post phase runs (default: migrations.before). */
  after?: string[];
};

export type MigrationsSpec = {
  /** Name of the generated service (default `migrations`); the post phase is `<name>-post`. */
  service?: string;
  image?: string;
  /** Reuse image, env_file and environment of this service. */
  same_image_as?: string;
  /** The migration command (the pre-deploy phase when `pre` is absent). */
  command?: Argv;
  /** Exits non-zero when migrations are pending (e.g. `python manage.py migrate --check`). */
  check?: Argv;
  /** Services that must not start until migrations completed successfully. */
  before: string[];
  /** Set `<variable>=<value>` on the `before` services so they skip their own migrate. */
  external?: boolean | { variable?: string; value?: string };
  environment?: Record<string, string | number | boolean>;
  env_file?: string | string[];
  /** What migrations wait for (default: every data service, healthy). */
  depends_on?: string[] | Record<string, DependsCondition>;
  pre?: MigrationPhaseSpec;
  post?: PostMigrationPhaseSpec;
  /** `when-pending` (default): skip a phase whose check finds nothing pending; `always`: run it on every start. */
  run?: 'always' | 'when-pending';
  /** Take a database backup before pending migrations run. */
  backup?: boolean | { dir?: string; keep?: number };
  /** Kubernetes: how long one migration phase's Job may run (activeDeadlineSeconds; default 15m). */
  deadline?: Duration;
};

/** A managed database outside the stack (`generate --target kubernetes` only, for now). */
export type ExternalDataSpec = {
  /** A lower-case, fully qualified DNS name, or an IPv4/IPv6 address. */
  host: string;
  /** The port the database listens on, which the app must use (default: the service's standard port). */
  port?: number;
};

export type PostgresSpec = {
  /** Required unless `external` (the schema says so); with `external`, only its `pg_isready` is used. */
  image?: string;
  /** `${VAR}` references: the value must never be written into the spec. */
  database: string;
  user: string;
  password: string;
  volume?: string;
  healthcheck?: Omit<HealthcheckSpec, 'http' | 'tcp' | 'command' | 'disable'>;
  /** Use this database instead of running one: no volume, no healthcheck. */
  external?: ExternalDataSpec;
};

export type RedisSpec = {
  /** Required unless `external` (the schema says so). */
  image?: string;
  password?: string;
  volume?: string;
  healthcheck?: Omit<HealthcheckSpec, 'http' | 'tcp' | 'command' | 'disable'>;
  /** Use this redis instead of running one: no image, volume or healthcheck. */
  external?: ExternalDataSpec;
};

export type ProxyRoute = {
  path: string;
  /** `service:port` */
  to: string;
  /** Strip the path prefix before proxying. */
  strip?: boolean;
};

export type ClientIpSpec =
  | { mode: 'direct' }
  | { mode: 'cloudflare'; trusted?: string[] }
  | { mode: 'header'; header: string; trusted: string[] };

export type ProxySpec = {
  service?: string;
  image: string;
  /** Path (relative to the spec) of the nginx config that `init` writes and the service mounts. */
  config: string;
  ports?: Array<string | number>;
  routes: ProxyRoute[];
  client_ip?: ClientIpSpec;
  tls?: { cert: string; key: string };
  healthcheck?: HealthcheckSpec;
};

export type TaskParamSpec = {
  type: 'string' | 'integer' | 'boolean';
  required?: boolean;
  default?: string | number | boolean;
  description?: string;
};

/** An argv template element: a string with `{param}` placeholders, or a group kept only when `if` is set. */
export type ArgvTemplateItem = string | { if: string; args: string[] };

export type TaskSpec = {
  description?: string;
  service: string;
  /** Enables `phase-compose exec`'s extra checks for Phase's own commands. */
  kind?: 'phase-purge' | 'phase-sso' | 'phase-reset-network-policies';
  /** Table (in data.postgres) whose size is reported before and after the task. */
  report?: { table: string };
  argv: ArgvTemplateItem[];
  params?: Record<string, TaskParamSpec>;
};

export type RetentionSpec = {
  task: string;
  every: Duration;
  params: Record<string, string | number | boolean>;
};

/** Whole-instance backups (`phase-compose backup`). */
export type BackupsSpec = {
  /** Directory for stamped archives (relative to the spec). */
  dir?: string;
  /** Keep the newest N stamped archives. */
  keep?: number;
  /** Only these keys of the env file(s) go into the archive (default: the whole files). */
  env?: string[];
  /** The period `phase-compose backup schedule` gives the host's timer (default: the --every flag). */
  every?: Duration;
  /** pg_dump's zlib level, 0-9, for every backup of the stack (default: the tool's, 1). */
  compress?: number;
};

export type TargetSpec = {
  /** Compose version the file is for: `1.29` (docker-compose v1) or a v2+ version like `2.20.2`. */
  compose?: string;
  /** Docker Engine version, needed to decide on healthcheck `start_interval` (>= 25). */
  engine?: string;
};

export type DeploymentSpec = {
  name: string;
  target?: TargetSpec;
  /** Compose file written by `generate` (relative to the spec). */
  output?: string;
  /** Default env file(s) for app services. */
  env_file?: string | string[];
  network?: string;
  data?: { postgres?: PostgresSpec; redis?: RedisSpec };
  services: Record<string, ServiceSpec>;
  migrations?: MigrationsSpec;
  proxy?: ProxySpec;
  maintenance?: Record<string, TaskSpec>;
  retention?: RetentionSpec;
  backups?: BackupsSpec;
};
