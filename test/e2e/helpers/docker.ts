// Docker / Compose helpers for the end-to-end tests. Every stack gets a unique project name and is torn down
// (containers, networks AND volumes) by composeDown(), which must run in afterAll/finally.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { composeArgv } from './compose.js';
import { mustRun, run, runAsync, type RunResult } from './run.js';

export const FIXTURE_IMAGES = [
  'phase-compose-fixture-postgres:latest',
  'phase-compose-fixture-redis:latest',
  'phase-compose-fixture-app:latest',
  'phase-compose-fixture-app:v1',
  'phase-compose-fixture-app:v2',
  'phase-compose-fixture-nginx:latest',
] as const;

/** All test projects share this prefix, so leftovers are easy to find: docker ps -a --filter label=com.docker.compose.project */
export const PROJECT_PREFIX = 'pce2e';

/** A compose project name unique to this test (Compose v1 keeps only [a-z0-9_-]). */
export function uniqueProject(label: string): string {
  const clean = label.toLowerCase().replace(/[^a-z0-9]/g, '').slice(0, 16) || 'stack';
  return `${PROJECT_PREFIX}-${clean}-${process.pid.toString(36)}${randomBytes(3).toString('hex')}`;
}

export interface Stack {
  project: string;
  /** directory holding the compose file and its .env (the Compose project directory) */
  dir: string;
  composeFile: string;
}

/** The Compose argv and options for `args` on the stack's project, its directory and its file. */
function composeCall(stack: Stack, args: readonly string[], extraEnv: NodeJS.ProcessEnv) {
  const [cmd, ...pre] = composeArgv();
  const argv = [...pre, '-p', stack.project, '-f', stack.composeFile, '--project-directory', stack.dir, ...args];
  return [cmd!, argv, { cwd: stack.dir, env: { ...process.env, ...extraEnv } }] as const;
}

/** <compose> -p <project> -f <file> --project-directory <dir> ...args; extraEnv is added to the environment. */
export function compose(stack: Stack, args: readonly string[], extraEnv: NodeJS.ProcessEnv = {}): RunResult {
  return run(...composeCall(stack, args, extraEnv));
}

/** compose(), without blocking the test worker (for `up -d` and anything else that can take a minute). */
export function composeAsync(stack: Stack, args: readonly string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  return runAsync(...composeCall(stack, args, extraEnv));
}

/**
 * Remove everything of a project: `docker-compose down -v`, then (in case the compose file is gone or compose
 * failed) every container, network and volume carrying the project's label. Never throws.
 */
export function composeDown(stack: Stack | string): void {
  const project = typeof stack === 'string' ? stack : stack.project;
  if (typeof stack !== 'string') {
    compose(stack, ['down', '--volumes', '--remove-orphans', '--timeout', '2']);
  }
  const label = `label=com.docker.compose.project=${project}`;
  const ids = (kind: string[], fmt: string[]): string[] =>
    run('docker', [...kind, '--filter', label, ...fmt]).stdout.split('\n').map((s) => s.trim()).filter(Boolean);
  const containers = ids(['ps', '-aq'], []);
  if (containers.length) run('docker', ['rm', '-f', '-v', ...containers]);
  const networks = ids(['network', 'ls', '-q'], []);
  if (networks.length) run('docker', ['network', 'rm', ...networks]);
  const volumes = ids(['volume', 'ls', '-q'], []);
  if (volumes.length) run('docker', ['volume', 'rm', '-f', ...volumes]);
}

/** Id of the (single) container of a compose service, running or exited. */
export function containerId(project: string, service: string): string {
  const r = mustRun('docker', [
    'ps', '-aq',
    '--filter', `label=com.docker.compose.project=${project}`,
    '--filter', `label=com.docker.compose.service=${service}`,
    '--filter', 'label=com.docker.compose.oneoff=False',
  ]);
  const ids = r.stdout.split('\n').map((s) => s.trim()).filter(Boolean);
  if (ids.length === 0) throw new Error(`no container for service "${service}" in project "${project}"`);
  return ids[0]!;
}

export interface ContainerState {
  Status: string;
  Running: boolean;
  ExitCode: number;
  StartedAt: string;
  FinishedAt: string;
  Health?: { Status: string };
}

export function inspectState(id: string): ContainerState {
  const r = mustRun('docker', ['inspect', '-f', '{{json .State}}', id]);
  return JSON.parse(r.stdout) as ContainerState;
}

/** Docker timestamps (RFC 3339 with up to 9 fractional digits) as nanoseconds since the epoch. */
export function dockerTimeNs(ts: string): bigint {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(ts);
  if (!m) throw new Error(`unparseable docker timestamp: ${ts}`);
  const secs = BigInt(Date.parse(`${m[1]}${m[3]}`)) / 1000n;
  const frac = BigInt((m[2] ?? '').padEnd(9, '0'));
  return secs * 1_000_000_000n + frac;
}

/** docker exec (no TTY, argv only) in a service's container. */
export function execIn(project: string, service: string, argv: readonly string[], input?: string): RunResult {
  const args = ['exec', ...(input !== undefined ? ['-i'] : []), containerId(project, service), ...argv];
  return run('docker', args, input !== undefined ? { input } : {});
}

/**
 * Run SQL in the project's postgres container (psql over the unix socket as $POSTGRES_USER on $POSTGRES_DB)
 * and return the rows of the last statement as arrays of strings.
 */
export function psql(project: string, sql: string, service = 'postgres'): string[][] {
  const r = execIn(
    project,
    service,
    ['sh', '-c', 'exec psql -X -q -At -F "\t" -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d "$POSTGRES_DB"'],
    sql,
  );
  if (r.code !== 0) throw new Error(`psql failed (exit ${r.code}): ${r.stderr}\nSQL: ${sql}`);
  return r.stdout
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => line.split('\t'));
}

/** Poll until fn() returns a truthy value or the deadline passes (then throw with the last value). */
export async function waitFor<T>(what: string, fn: () => T, timeoutMs = 120_000, stepMs = 500): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = fn();
  while (!last) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
    last = fn();
  }
  return last;
}

/**
 * Holds `table` exclusively in a transaction in the project's postgres (as a migration would), so that a
 * pg_dump waits for it before writing a byte; resolves once the lock is granted. `release` ends it.
 */
export async function lockTable(project: string, table: string): Promise<{ release: () => void }> {
  const sql = `BEGIN; LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(120); COMMIT;`;
  const locker = spawn('docker', ['exec', containerId(project, 'postgres'), 'sh', '-c', `exec psql -X -q -U "$POSTGRES_USER" -d "$POSTGRES_DB" -c '${sql}'`], { stdio: 'ignore' });
  const granted = `SELECT count(*) FROM pg_locks WHERE mode = 'AccessExclusiveLock' AND granted AND relation = '${table}'::regclass`;
  await waitFor(`the lock on ${table}`, () => psql(project, granted)[0]?.[0] === '1', 30_000, 100);
  return {
    release: () => {
      psql(project, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'BEGIN; LOCK TABLE ${table}%' AND pid <> pg_backend_pid()`);
      locker.kill();
    },
  };
}

/** How many pg_dump sessions the project's database has (only those waiting on a lock, with `waiting`). */
export function pgDumps(project: string, waiting = false): number {
  return Number(psql(project, `SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg_dump'${waiting ? " AND wait_event_type = 'Lock'" : ''}`)[0]?.[0]);
}
